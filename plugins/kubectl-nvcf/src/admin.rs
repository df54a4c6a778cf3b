//! `admin`: account management for super-admins. Hidden, and refused unless
//! `NVCF_CLI_ENABLE_ADMIN` is set, as upstream.

use crate::api::Api;
use clap::Subcommand;
use nvcf_shared::nvcf::accounts::{Accounts, ENABLE_ENV};
use nvcf_shared::nvcf::view::{View, field};
use nvcf_shared::output::OutputArgs;
use nvcf_shared::settings::EnvLookup;
use nvcf_shared::{Error, Result};
use serde_json::{Map, Value, json};

#[derive(Subcommand, Debug)]
pub enum AdminCommand {
    /// Cloud accounts
    #[command(subcommand)]
    Accounts(AccountsCommand),
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
    }
}
