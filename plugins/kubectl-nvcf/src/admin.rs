//! `admin`: account management for super-admins. Hidden, and refused unless
//! `NVCF_CLI_ENABLE_ADMIN` is set, as upstream.

use crate::api::Api;
use clap::Subcommand;
use nvcf_shared::base::output::OutputArgs;
use nvcf_shared::clients::nvcf::accounts::{Accounts, ENABLE_ENV, secrets_payload};
use nvcf_shared::clients::nvcf::view::{View, field};
use nvcf_shared::model::settings::EnvLookup;
use nvcf_shared::{Error, Result};
use serde_json::{Map, Value, json};
use std::path::PathBuf;

#[derive(Subcommand, Debug)]
pub enum AdminCommand {
    /// Cloud accounts
    #[command(subcommand)]
    Accounts(AccountsCommand),
    /// Replace the secrets of another account's function version or telemetry
    #[command(subcommand)]
    Secrets(SecretsCommand),
    /// Queue depths of another account's function
    #[command(subcommand)]
    Queues(QueuesCommand),
}

#[derive(Subcommand, Debug)]
pub enum SecretsCommand {
    /// A function version's secrets
    UpdateFunction {
        #[arg(long)]
        nca_id: String,
        #[arg(long)]
        function_id: String,
        #[arg(long)]
        version_id: String,
        #[command(flatten)]
        payload: SecretsPayload,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// A telemetry endpoint's secrets
    UpdateTelemetry {
        #[arg(long)]
        nca_id: String,
        #[arg(long)]
        telemetry_id: String,
        #[command(flatten)]
        payload: SecretsPayload,
        #[command(flatten)]
        output: OutputArgs,
    },
}

#[derive(clap::Args, Debug)]
pub struct SecretsPayload {
    /// JSON file: {"secrets": [{"name": …, "value": …}]}
    #[arg(long, short = 'f', value_name = "FILE", conflicts_with = "secrets")]
    input_file: Option<PathBuf>,
    /// The same JSON inline (it stays in your shell history: prefer --input-file)
    #[arg(long, value_name = "JSON")]
    secrets: Option<String>,
}

#[derive(Subcommand, Debug)]
pub enum QueuesCommand {
    /// Every version of the function
    Function {
        #[arg(long)]
        nca_id: String,
        #[arg(long)]
        function_id: String,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// One version
    Version {
        #[arg(long)]
        nca_id: String,
        #[arg(long)]
        function_id: String,
        #[arg(long)]
        version_id: String,
        #[command(flatten)]
        output: OutputArgs,
    },
}

#[derive(Subcommand, Debug)]
pub enum AccountsCommand {
    /// List accounts and their limits
    List(OutputArgs),
    /// Change an account's name or limits
    Update {
        #[arg(long)]
        nca_id: String,
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        max_functions: Option<u32>,
        #[arg(long)]
        max_tasks: Option<u32>,
        /// At most 50
        #[arg(long, value_parser = clap::value_parser!(u32).range(0..=50))]
        max_telemetries: Option<u32>,
        /// At most 50
        #[arg(long, value_parser = clap::value_parser!(u32).range(0..=50))]
        max_registry_credentials: Option<u32>,
        #[command(flatten)]
        output: OutputArgs,
    },
}

fn account_rows(list: &[Value]) -> Vec<Vec<String>> {
    list.iter()
        .map(|a| {
            vec![
                field(a, "ncaId"),
                field(a, "name"),
                field(a, "maxFunctionsAllowed"),
                field(a, "maxTasksAllowed"),
                field(a, "maxTelemetriesAllowed"),
                field(a, "maxRegistryCredentialsAllowed"),
            ]
        })
        .collect()
}

const HEADER: [&str; 6] = [
    "nca id",
    "name",
    "max functions",
    "max tasks",
    "max telemetries",
    "max registry credentials",
];

pub async fn run(api: &Api<'_>, cmd: AdminCommand) -> Result<()> {
    if api.ctx.env.get(ENABLE_ENV).is_none_or(|v| v.is_empty()) {
        return Err(
            Error::usage("the admin commands are disabled").hint(format!(
                "set {ENABLE_ENV}=1 to use them, as with upstream nvcf-cli"
            )),
        );
    }
    let session = api.session()?;
    let accounts = Accounts {
        client: &session.client,
    };
    match cmd {
        AdminCommand::Accounts(AccountsCommand::List(output)) => {
            let v = accounts.list().await?;
            let list = v["cloudAccounts"].as_array().cloned().unwrap_or_default();
            let view = View::new(&v)
                .columns(&HEADER, account_rows(&list), "No accounts.")
                .names(
                    list.iter()
                        .map(|a| format!("account/{}", field(a, "ncaId")))
                        .collect(),
                );
            api.print(&view, output.output)
        }
        AdminCommand::Accounts(AccountsCommand::Update {
            nca_id,
            name,
            max_functions,
            max_tasks,
            max_telemetries,
            max_registry_credentials,
            output,
        }) => {
            let mut body = Map::new();
            if let Some(n) = name {
                body.insert("name".into(), json!(n));
            }
            for (k, v) in [
                ("maxFunctionsAllowed", max_functions),
                ("maxTasksAllowed", max_tasks),
                ("maxTelemetriesAllowed", max_telemetries),
                ("maxRegistryCredentialsAllowed", max_registry_credentials),
            ] {
                if let Some(v) = v {
                    body.insert(k.into(), json!(v));
                }
            }
            if body.is_empty() {
                return Err(Error::usage("nothing to update").hint(
                    "pass --name, --max-functions, --max-tasks, --max-telemetries or --max-registry-credentials",
                ));
            }
            let a = accounts.update(&nca_id, &Value::Object(body)).await?;
            let view = View::new(&a).columns(&HEADER, account_rows(std::slice::from_ref(&a)), "");
            api.print(&view, output.output)
        }
        AdminCommand::Secrets(cmd) => {
            let (payload, output) = match &cmd {
                SecretsCommand::UpdateFunction {
                    payload, output, ..
                }
                | SecretsCommand::UpdateTelemetry {
                    payload, output, ..
                } => (payload, output.output),
            };
            if payload.secrets.is_some() {
                api.note("warning: --secrets puts secret values in your shell history; prefer --input-file");
            }
            let body = secrets_payload(payload.input_file.as_deref(), payload.secrets.as_deref())?;
            let names: Vec<String> = body["secrets"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|s| field(s, "name"))
                .collect();
            let envelope = match &cmd {
                SecretsCommand::UpdateFunction {
                    nca_id,
                    function_id,
                    version_id,
                    ..
                } => {
                    accounts
                        .update_function_secrets(nca_id, function_id, version_id, &body)
                        .await?;
                    json!({"status": "ok", "ncaId": nca_id, "functionId": function_id, "versionId": version_id})
                }
                SecretsCommand::UpdateTelemetry {
                    nca_id,
                    telemetry_id,
                    ..
                } => {
                    accounts
                        .update_telemetry_secrets(nca_id, telemetry_id, &body)
                        .await?;
                    json!({"status": "ok", "ncaId": nca_id, "telemetryId": telemetry_id})
                }
            };
            let view = View::new(&envelope).text(format!("secrets {} updated", names.join(", ")));
            api.print(&view, output)
        }
        AdminCommand::Queues(cmd) => {
            let (nca_id, function_id, version_id, output) = match cmd {
                QueuesCommand::Function {
                    nca_id,
                    function_id,
                    output,
                } => (nca_id, function_id, None, output),
                QueuesCommand::Version {
                    nca_id,
                    function_id,
                    version_id,
                    output,
                } => (nca_id, function_id, Some(version_id), output),
            };
            let v = accounts
                .queues(&nca_id, &function_id, version_id.as_deref())
                .await?;
            let queues = v["queues"].as_array().cloned().unwrap_or_default();
            let rows = queues
                .iter()
                .map(|q| {
                    vec![
                        field(q, "functionVersionId"),
                        field(q, "functionName"),
                        field(q, "functionStatus"),
                        field(q, "queueDepth"),
                    ]
                })
                .collect();
            let view = View::new(&v).columns(
                &["version", "name", "status", "queue depth"],
                rows,
                "No queues.",
            );
            api.print(&view, output.output)
        }
    }
}
