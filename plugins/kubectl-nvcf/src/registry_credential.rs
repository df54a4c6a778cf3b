//! `registry-credential`: credentials NVCF uses to pull images, charts, models and resources.

use crate::api::Api;
use clap::Subcommand;
use nvcf_shared::Result;
use nvcf_shared::base::output::OutputArgs;
use nvcf_shared::operations::api::registry::{self, Add, Password};

#[derive(Subcommand, Debug)]
pub enum RegistryCommand {
    /// List registry credentials
    List {
        /// CONTAINER, HELM, MODEL or RESOURCE (comma-separated)
        #[arg(long, value_delimiter = ',')]
        artifact_type: Vec<String>,
        /// SYSTEM or USER (comma-separated)
        #[arg(long, value_delimiter = ',')]
        provisioned_by: Vec<String>,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Add a credential for a registry host
    Add {
        /// Registry hostname, e.g. nvcr.io
        #[arg(long)]
        hostname: String,
        #[arg(long)]
        username: Option<String>,
        /// Password or token (prefer --password-stdin: flags show in `ps`)
        #[arg(long)]
        password: Option<String>,
        /// Read the password from stdin
        #[arg(long, conflicts_with = "password")]
        password_stdin: bool,
        /// `username:password` in one value, instead of --username/--password
        #[arg(long)]
        secret: Option<String>,
        /// CONTAINER, HELM, MODEL or RESOURCE (comma-separated, required)
        #[arg(long, value_delimiter = ',', required = true)]
        artifact_type: Vec<String>,
        #[arg(long)]
        description: Option<String>,
        /// Tags, comma-separated
        #[arg(long = "tag", value_delimiter = ',')]
        tags: Vec<String>,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Show one credential
    Get {
        id: String,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Replace the secret and/or add artifact types
    Update {
        id: String,
        #[arg(long)]
        username: Option<String>,
        #[arg(long)]
        password: Option<String>,
        #[arg(long, conflicts_with = "password")]
        password_stdin: bool,
        /// Artifact types to add (comma-separated)
        #[arg(long, value_delimiter = ',')]
        artifact_type: Vec<String>,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Delete a credential (asks unless --yes)
    Delete {
        id: String,
        /// Confirm without asking
        #[arg(short = 'y', long, alias = "force")]
        yes: bool,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Registries NVCF recognises
    ListRecognized(OutputArgs),
}

pub async fn run(api: &Api<'_>, cmd: RegistryCommand) -> Result<()> {
    let session = api.session()?;
    let (view, output) = match cmd {
        RegistryCommand::List {
            artifact_type,
            provisioned_by,
            output,
        } => {
            let view = registry::list(&session, &artifact_type, &provisioned_by).await?;
            (view, output)
        }
        RegistryCommand::Add {
            hostname,
            username,
            password,
            password_stdin,
            secret,
            artifact_type,
            description,
            tags,
            output,
        } => {
            let add = Add {
                hostname,
                username,
                password: Password {
                    given: password,
                    from_stdin: password_stdin,
                },
                secret,
                artifact_type,
                description,
                tags,
            };
            (registry::add(&session, add).await?, output)
        }
        RegistryCommand::Get { id, output } => (registry::get(&session, &id).await?, output),
        RegistryCommand::Update {
            id,
            username,
            password,
            password_stdin,
            artifact_type,
            output,
        } => {
            let password = Password {
                given: password,
                from_stdin: password_stdin,
            };
            let view = registry::update(&session, &id, username, password, &artifact_type).await?;
            (view, output)
        }
        RegistryCommand::Delete { id, yes, output } => {
            let env = &api.ctx.env;
            (registry::delete(&session, &id, yes, env).await?, output)
        }
        RegistryCommand::ListRecognized(output) => {
            (registry::list_recognized(&session).await?, output)
        }
    };
    api.print(&view, output.output)
}
