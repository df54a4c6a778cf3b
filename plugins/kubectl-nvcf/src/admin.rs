//! `admin`: account management for super-admins. Hidden, and refused unless
//! `NVCF_CLI_ENABLE_ADMIN` is set, as upstream.

use crate::api::Api;
use clap::Subcommand;
use nvcf_shared::Result;
use nvcf_shared::base::output::OutputArgs;
use nvcf_shared::operations::api::admin::{self, AccountUpdate, SecretsOf};
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

pub async fn run(api: &Api<'_>, cmd: AdminCommand) -> Result<()> {
    admin::require_enabled(&api.ctx.env)?;
    let session = api.session()?;
    let (view, output) = match cmd {
        AdminCommand::Accounts(AccountsCommand::List(output)) => {
            (admin::list_accounts(&session).await?, output)
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
            let update = AccountUpdate {
                name,
                max_functions,
                max_tasks,
                max_telemetries,
                max_registry_credentials,
            };
            (
                admin::update_account(&session, &nca_id, update).await?,
                output,
            )
        }
        AdminCommand::Secrets(cmd) => {
            let (of, payload, output) = secrets_of(&cmd);
            let file = payload.input_file.as_deref();
            let inline = payload.secrets.as_deref();
            let view = admin::update_secrets(&session, of, file, inline).await?;
            return api.print(&view, output.output);
        }
        AdminCommand::Queues(QueuesCommand::Function {
            nca_id,
            function_id,
            output,
        }) => (
            admin::queues(&session, &nca_id, &function_id, None).await?,
            output,
        ),
        AdminCommand::Queues(QueuesCommand::Version {
            nca_id,
            function_id,
            version_id,
            output,
        }) => {
            let version = Some(version_id.as_str());
            (
                admin::queues(&session, &nca_id, &function_id, version).await?,
                output,
            )
        }
    };
    api.print(&view, output.output)
}

fn secrets_of(cmd: &SecretsCommand) -> (SecretsOf<'_>, &SecretsPayload, &OutputArgs) {
    match cmd {
        SecretsCommand::UpdateFunction {
            nca_id,
            function_id,
            version_id,
            payload,
            output,
        } => {
            let of = SecretsOf::Function {
                nca_id,
                function_id,
                version_id,
            };
            (of, payload, output)
        }
        SecretsCommand::UpdateTelemetry {
            nca_id,
            telemetry_id,
            payload,
            output,
        } => {
            let of = SecretsOf::Telemetry {
                nca_id,
                telemetry_id,
            };
            (of, payload, output)
        }
    }
}
