//! `function`: create, update, list, get, versions, delete, queue — and the `deploy` and
//! `invoke` groups in their own modules.

use crate::api::Api;
use crate::{function_deploy, function_invoke};
use clap::Subcommand;
use nvcf_shared::base::confirm::confirm;
use nvcf_shared::base::output::OutputArgs;
use nvcf_shared::clients::nvcf::function_ids::Ids;
use nvcf_shared::clients::nvcf::function_spec::{FunctionSpecArgs, FunctionUpdateArgs};
use nvcf_shared::clients::nvcf::functions::{Function, Functions};
use nvcf_shared::clients::nvcf::view::{View, artifact, field};
use nvcf_shared::{Error, Result};
use serde_json::json;

#[derive(Subcommand, Debug)]
pub enum FunctionCommand {
    /// Create a function (or, with --function-id, a new version of one); shows the plan first
    Create {
        #[command(flatten)]
        spec: FunctionSpecArgs,
        /// Add a version to this function instead of creating a new one
        #[arg(long)]
        function_id: Option<String>,
        /// Print the planned request and stop
        #[arg(long)]
        dry_run: bool,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Update tags, LLM model settings, rate limits or invocation priority of a version
    Update {
        #[command(flatten)]
        ids: Ids,
        #[command(flatten)]
        spec: FunctionUpdateArgs,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// List functions
    List {
        /// authorized, private, public (comma-separated; default all)
        #[arg(long, value_delimiter = ',')]
        visibility: Vec<String>,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// List the ids of every function you may see (upstream's `list-ids`)
    ListIds {
        /// authorized, private, public (comma-separated; default all)
        #[arg(long, value_delimiter = ',')]
        visibility: Vec<String>,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Show one function version (default: the current function)
    Get {
        #[command(flatten)]
        ids: Ids,
        /// Include secret names
        #[arg(long)]
        include_secrets: bool,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// List the versions of a function
    #[command(visible_alias = "list-versions")]
    Versions {
        /// Function id (default: the current function)
        function_id: Option<String>,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Delete a function version and its deployment (asks unless --yes)
    Delete {
        #[command(flatten)]
        ids: Ids,
        /// Remove only the deployment, keep the function
        #[arg(long)]
        deployment_only: bool,
        /// With --deployment-only: let queued requests drain first
        #[arg(long)]
        graceful: bool,
        /// Confirm without asking
        #[arg(short = 'y', long)]
        yes: bool,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Deploy a function version on GPUs
    #[command(subcommand)]
    Deploy(function_deploy::DeployCommand),
    /// Call a function: HTTP (polling on 202) or LLM (chat, responses, embeddings; --stream)
    Invoke(function_invoke::InvokeArgs),
    /// Queue depth and request positions
    #[command(subcommand)]
    Queue(QueueCommand),
}

#[derive(Subcommand, Debug)]
pub enum QueueCommand {
    /// Queue depth of a function's versions
    Status {
        function_id: Option<String>,
        version_id: Option<String>,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Position of an invocation request in its queue
    Position {
        request_id: String,
        #[command(flatten)]
        output: OutputArgs,
    },
}

pub fn function_rows(list: &[Function], wide: bool) -> Vec<Vec<String>> {
    list.iter()
        .map(|f| {
            let mut row = vec![
                f.name.clone(),
                f.id.clone(),
                f.version_id.clone(),
                f.status.clone(),
                f.function_type.clone().unwrap_or_default(),
            ];
            if wide {
                row.push(
                    f.container_image
                        .clone()
                        .or_else(|| f.helm_chart.clone())
                        .unwrap_or_default(),
                );
                row.push(f.inference_url.clone().unwrap_or_default());
                row.push(f.created_at.clone().unwrap_or_default());
            }
            row
        })
        .collect()
}

const HEADER: [&str; 5] = ["name", "function id", "version id", "status", "type"];
const WIDE: [&str; 8] = [
    "name",
    "function id",
    "version id",
    "status",
    "type",
    "image/chart",
    "inference url",
    "created",
];

pub fn function_view(data: serde_json::Value, list: &[Function], empty: &str) -> View {
    View::new(data)
        .columns(&HEADER, function_rows(list, false), empty)
        .wide_columns(&WIDE, function_rows(list, true))
        .names(list.iter().map(|f| format!("function/{}", f.id)).collect())
}

/// What a create will do, for people, before it is sent.
fn plan(body: &serde_json::Value, new_version_of: Option<&str>) -> String {
    let what = artifact(body).unwrap_or_else(|| "models only".into());
    let models: Vec<String> = body["models"]
        .as_array()
        .map(|m| m.iter().map(|m| field(m, "name")).collect())
        .unwrap_or_default();
    format!(
        "Plan: create {} {:?} ({}, {} type, inference {}{}){}",
        if new_version_of.is_some() {
            "a new version of function"
        } else {
            "function"
        },
        field(body, "name"),
        what,
        body["functionType"].as_str().unwrap_or("DEFAULT"),
        field(body, "inferenceUrl"),
        if models.is_empty() {
            String::new()
        } else {
            format!(", models {}", models.join(", "))
        },
        new_version_of
            .map(|f| format!(" under {f}"))
            .unwrap_or_default(),
    )
}

pub async fn run(api: &Api<'_>, cmd: FunctionCommand) -> Result<()> {
    match cmd {
        FunctionCommand::Deploy(d) => return function_deploy::run(api, d).await,
        FunctionCommand::Invoke(i) => return function_invoke::run(api, i).await,
        _ => {}
    }
    let session = api.session()?;
    let fns = Functions {
        client: &session.client,
    };
    match cmd {
        FunctionCommand::Create {
            spec,
            function_id,
            dry_run,
            output,
        } => {
            let body = spec.body()?;
            api.note(&plan(&body, function_id.as_deref()));
            if dry_run {
                return api.print(&View::preview(&body), output.output);
            }
            let f = fns.create(&body, function_id.as_deref()).await?;
            session.profile.update_state(|s| {
                s.function_id = Some(f.id.clone());
                s.version_id = Some(f.version_id.clone());
                s.function_name = Some(f.name.clone());
                Ok(())
            })?;
            let list = [f.clone()];
            api.print(&function_view(json!(f), &list, ""), output.output)
        }
        FunctionCommand::Update { ids, spec, output } => {
            let (body, ffid, fvid) = spec.body()?;
            let (fid, vid) = ids.resolve(&session, (ffid, fvid)).await?;
            let f = fns.update(&fid, &vid, &body).await?;
            let list = [f.clone()];
            api.print(&function_view(json!(f), &list, ""), output.output)
        }
        FunctionCommand::List { visibility, output } => {
            let list = fns.list(&visibility).await?;
            api.print(
                &function_view(json!({"functions": list}), &list, "No functions."),
                output.output,
            )
        }
        FunctionCommand::ListIds { visibility, output } => {
            let ids = fns.ids(&visibility).await?;
            let rows = ids.iter().map(|id| vec![id.clone()]).collect();
            let view = View::new(json!({"functionIds": ids}))
                .columns(&["FUNCTION ID"], rows, "No functions.")
                .names(ids.iter().map(|id| format!("function/{id}")).collect());
            api.print(&view, output.output)
        }
        FunctionCommand::Get {
            ids,
            include_secrets,
            output,
        } => {
            let (fid, vid) = ids.resolve(&session, (None, None)).await?;
            let f = fns.get(&fid, &vid, include_secrets).await?;
            let list = [f.clone()];
            api.print(&function_view(json!(f), &list, ""), output.output)
        }
        FunctionCommand::Versions {
            function_id,
            output,
        } => {
            let fid = match function_id {
                Some(f) => f,
                None => session.profile.read_state()?.function_id.ok_or_else(|| {
                    Error::usage("no function given and no current function")
                        .hint("pass the function id")
                })?,
            };
            let list = fns.versions(&fid).await?;
            api.print(
                &function_view(json!({"functions": list}), &list, "No versions."),
                output.output,
            )
        }
        FunctionCommand::Delete {
            ids,
            deployment_only,
            graceful,
            yes,
            output,
        } => {
            let (fid, vid) = ids.resolve(&session, (None, None)).await?;
            let name = fns.get(&fid, &vid, false).await?.name;
            let what = if deployment_only {
                format!("remove the deployment of function {name:?} ({fid}, version {vid})")
            } else {
                format!("delete function {name:?} ({fid}, version {vid}) and any deployment")
            };
            confirm(&what, yes, &api.ctx.env)?;
            if deployment_only {
                fns.undeploy(&fid, &vid, graceful).await?;
            } else {
                fns.delete(&fid, &vid).await?;
                session.profile.update_state(|s| {
                    if s.function_id.as_deref() == Some(&fid)
                        && s.version_id.as_deref() == Some(&vid)
                    {
                        s.function_id = None;
                        s.version_id = None;
                        s.function_name = None;
                    }
                    Ok(())
                })?;
            }
            let status = if deployment_only {
                "deployment removed"
            } else {
                "deleted"
            };
            let view = View::new(
                json!({"status": status, "functionId": fid, "versionId": vid, "name": name}),
            )
            .text(format!("function {name} ({fid}, version {vid}) {status}"))
            .names(vec![format!("function/{fid}")]);
            api.print(&view, output.output)
        }
        FunctionCommand::Queue(QueueCommand::Status {
            function_id,
            version_id,
            output,
        }) => {
            let state = session.profile.read_state()?;
            let fid = function_id.or(state.function_id).ok_or_else(|| {
                Error::usage("no function given and no current function")
                    .hint("pass the function id")
            })?;
            let q = fns.queue(&fid, version_id.as_deref()).await?;
            let rows = q["queues"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .map(|r| {
                            vec![
                                field(r, "functionName"),
                                field(r, "functionVersionId"),
                                field(r, "functionStatus"),
                                field(r, "queueDepth"),
                            ]
                        })
                        .collect()
                })
                .unwrap_or_default();
            let view = View::new(&q).columns(
                &["name", "version id", "status", "queue depth"],
                rows,
                "No queues.",
            );
            api.print(&view, output.output)
        }
        FunctionCommand::Queue(QueueCommand::Position { request_id, output }) => {
            let p = fns.queue_position(&request_id).await?;
            let view = View::new(&p).pairs(&[
                ("REQUEST", request_id.clone()),
                ("FUNCTION", field(&p, "functionId")),
                ("VERSION", field(&p, "functionVersionId")),
                ("POSITION", field(&p, "positionInQueue")),
            ]);
            api.print(&view, output.output)
        }
        FunctionCommand::Deploy(_) | FunctionCommand::Invoke(_) => unreachable!("handled above"),
    }
}
