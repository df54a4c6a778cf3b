//! `function deploy create|update|get|remove`.

use crate::api::Api;
use clap::Subcommand;
use nvcf_shared::base::confirm::confirm;
use nvcf_shared::base::output::OutputArgs;
use nvcf_shared::clients::nvcf::function_ids::Ids;
use nvcf_shared::clients::nvcf::function_spec::DeploySpecArgs;
use nvcf_shared::clients::nvcf::functions::{Deployment, Functions};
use nvcf_shared::clients::nvcf::view::{View, field};
use nvcf_shared::clients::nvcf::wait::until_active;
use nvcf_shared::{Error, Result};
use serde_json::json;
use std::time::Duration;

#[derive(Subcommand, Debug)]
pub enum DeployCommand {
    /// Deploy a version and wait until it is ACTIVE (shows the plan first)
    Create {
        #[command(flatten)]
        ids: Ids,
        #[command(flatten)]
        spec: Box<DeploySpecArgs>,
        /// Seconds to wait for ACTIVE
        #[arg(long, default_value_t = 900)]
        timeout: u64,
        /// Seconds between status checks while waiting
        #[arg(long, default_value_t = 5, hide = true)]
        poll_interval: u64,
        /// Return once the deployment is accepted
        #[arg(long)]
        no_wait: bool,
        /// Print the planned request and stop
        #[arg(long)]
        dry_run: bool,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Change the instance counts of one GPU specification
    Update {
        #[command(flatten)]
        ids: Ids,
        /// GPU of the specification to change
        #[arg(long)]
        gpu: String,
        /// Instance type of the specification to change
        #[arg(long)]
        instance_type: String,
        #[arg(long)]
        min_instances: Option<u32>,
        #[arg(long)]
        max_instances: Option<u32>,
        /// CUSTOM_CONFIGURATION or PLATFORM_CONFIGURATION
        #[arg(long)]
        autoscaling_policy: Option<String>,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Show a version's deployment
    Get {
        #[command(flatten)]
        ids: Ids,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Remove a version's deployment (asks unless --yes)
    Remove {
        #[command(flatten)]
        ids: Ids,
        /// Let queued requests drain first
        #[arg(long)]
        graceful: bool,
        /// Confirm without asking
        #[arg(short = 'y', long)]
        yes: bool,
        #[command(flatten)]
        output: OutputArgs,
    },
}

fn deployment_view(d: &Deployment) -> View {
    let rows = d
        .deployment_specifications
        .iter()
        .map(|s| {
            vec![
                field(s, "gpu"),
                field(s, "instanceType"),
                field(s, "minInstances"),
                field(s, "maxInstances"),
                field(s, "gpuSpecificationId"),
            ]
        })
        .collect::<Vec<_>>();
    let mut table = nvcf_shared::base::output::key_value_table(&[
        ("FUNCTION", d.function_id.clone()),
        ("VERSION", d.function_version_id.clone()),
        ("DEPLOYMENT", d.deployment_id.clone()),
        ("STATUS", d.function_status.clone()),
    ]);
    table.push('\n');
    table.push_str(&nvcf_shared::base::output::column_table(
        &["gpu", "instance type", "min", "max", "spec id"],
        rows,
    ));
    View::new(d)
        .text(table)
        .names(vec![format!("deployment/{}", d.deployment_id)])
}

pub async fn run(api: &Api<'_>, cmd: DeployCommand) -> Result<()> {
    let session = api.session()?;
    let fns = Functions {
        client: &session.client,
    };
    match cmd {
        DeployCommand::Create {
            ids,
            spec,
            timeout,
            poll_interval,
            no_wait,
            dry_run,
            output,
        } => {
            if spec.gpu_name.is_some() {
                api.note("warning: --gpu-name is deprecated; use --gpu");
            }
            let (specs, ffid, fvid) = spec.specs()?;
            let (fid, vid) = ids.resolve(&session, (ffid, fvid)).await?;
            let name = if dry_run {
                String::new()
            } else {
                fns.get(&fid, &vid, false).await?.name
            };
            for s in &specs {
                api.note(&format!(
                    "Plan: deploy function {name:?} ({fid}, version {vid}) on {} x {} ({}..{} instances{})",
                    field(s, "gpu"),
                    field(s, "instanceType"),
                    field(s, "minInstances"),
                    field(s, "maxInstances"),
                    s["backend"].as_str().map(|b| format!(", backend {b}")).unwrap_or_default(),
                ));
            }
            if dry_run {
                let body =
                    json!({"functionId": fid, "versionId": vid, "deploymentSpecifications": specs});
                return api.print(&View::preview(&body), output.output);
            }
            let d = fns.deploy(&fid, &vid, &specs).await?;
            if no_wait || d.function_status == "ACTIVE" {
                return api.print(&deployment_view(&d), output.output);
            }
            let events = api.ctx.events();
            until_active(
                &session.client,
                &fid,
                &vid,
                Duration::from_secs(timeout),
                Duration::from_secs(poll_interval.max(1)),
                &events,
            )
            .await?;
            let d = fns.deployment(&fid, &vid).await?;
            api.print(&deployment_view(&d), output.output)
        }
        DeployCommand::Update {
            ids,
            gpu,
            instance_type,
            min_instances,
            max_instances,
            autoscaling_policy,
            output,
        } => {
            let (fid, vid) = ids.resolve(&session, (None, None)).await?;
            let mut body = serde_json::Map::new();
            if let Some(m) = min_instances {
                body.insert("minInstances".into(), json!(m));
            }
            if let Some(m) = max_instances {
                body.insert("maxInstances".into(), json!(m));
            }
            if let Some(p) = autoscaling_policy {
                body.insert(
                    "autoscalingConfigurationPolicy".into(),
                    json!(p.to_ascii_uppercase()),
                );
            }
            if body.is_empty() {
                return Err(Error::usage("nothing to update")
                    .hint("pass --min-instances, --max-instances or --autoscaling-policy"));
            }
            if let (Some(min), Some(max)) = (min_instances, max_instances)
                && (max == 0 || min > max)
            {
                return Err(Error::usage(format!(
                    "need 0 <= --min-instances ({min}) <= --max-instances ({max}) and --max-instances > 0"
                )));
            }
            let d = fns.deployment(&fid, &vid).await?;
            let matching: Vec<_> = d
                .deployment_specifications
                .iter()
                .filter(|s| {
                    field(s, "gpu").eq_ignore_ascii_case(&gpu)
                        && field(s, "instanceType").eq_ignore_ascii_case(&instance_type)
                })
                .collect();
            let spec = match matching.as_slice() {
                [one] => field(one, "gpuSpecificationId"),
                _ => {
                    return Err(Error::not_found(format!(
                        "deployment of {fid} has {} specifications for {gpu}/{instance_type}",
                        matching.len()
                    ))
                    .hint(
                        "check the GPU and instance type with `kubectl nvcf function deploy get`",
                    ));
                }
            };
            let updated = fns
                .update_gpu_spec(&d.deployment_id, &spec, &serde_json::Value::Object(body))
                .await?;
            let view = View::new(&updated).pairs(&[
                ("SPEC", spec.clone()),
                ("GPU", field(&updated, "gpu")),
                ("INSTANCE TYPE", field(&updated, "instanceType")),
                ("MIN", field(&updated, "minInstances")),
                ("MAX", field(&updated, "maxInstances")),
            ]);
            api.print(&view, output.output)
        }
        DeployCommand::Get { ids, output } => {
            let (fid, vid) = ids.resolve(&session, (None, None)).await?;
            api.print(
                &deployment_view(&fns.deployment(&fid, &vid).await?),
                output.output,
            )
        }
        DeployCommand::Remove {
            ids,
            graceful,
            yes,
            output,
        } => {
            let (fid, vid) = ids.resolve(&session, (None, None)).await?;
            confirm(
                &format!("remove the deployment of function {fid} version {vid}"),
                yes,
                &api.ctx.env,
            )?;
            let f = fns.undeploy(&fid, &vid, graceful).await?;
            let view = View::new(&f)
                .text(format!(
                    "deployment of {} ({fid}, version {vid}) removed; status {}",
                    f.name, f.status
                ))
                .names(vec![format!("function/{fid}")]);
            api.print(&view, output.output)
        }
    }
}
