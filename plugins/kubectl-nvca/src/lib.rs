//! `kubectl nvca`: the argument model and the dispatch to the shared crate.

use clap::{CommandFactory, Parser, Subcommand};
use nvcf_shared::Result;
use nvcf_shared::cli::base_commands::{self, BaseCommand, Scope};
use nvcf_shared::model::target::{KubeArgs, KubeSelection};
use nvcf_shared::{
    base::plugin::Plugin,
    cli::runtime::{CommonArgs, Ctx, HasCommon},
};

mod backend;
mod cleanup;
mod functions;
mod kill;
mod operator;
mod registration;
mod uninstall;
mod validate;

pub const PLUGIN: Plugin = nvcf_shared::base::plugin::NVCA;

/// Operate the NVCA agent of a self-hosted NVIDIA Cloud Functions compute plane.
#[derive(Parser, Debug)]
#[command(
    name = "kubectl-nvca",
    bin_name = "kubectl nvca",
    version,
    propagate_version = true
)]
pub struct Cli {
    #[command(flatten)]
    pub common: CommonArgs,
    #[command(flatten)]
    pub kube: KubeArgs,
    #[command(flatten)]
    pub nvcf: nvcf_shared::clients::nvcf::ConnectArgs,
    #[command(subcommand)]
    pub command: Command,
}

impl HasCommon for Cli {
    fn common(&self) -> &CommonArgs {
        &self.common
    }
}

#[derive(Subcommand, Debug)]
pub enum Command {
    Values(operator::ValuesArgs),
    Bootstrap(operator::BootstrapArgs),
    Doctor(operator::DoctorArgs),
    Status(operator::StatusArgs),
    // Upstream spells it `cluster agent cordon-and-drain` (alias `drain`).
    #[command(visible_alias = "cordon-and-drain")]
    Drain(operator::MaintenanceArgs),
    /// Take the NVCA agent out of maintenance: it takes work again
    #[command(visible_alias = "undrain")]
    Uncordon(operator::MaintenanceArgs),
    #[command(flatten)]
    Registration(registration::RegistrationCommand),
    #[command(subcommand)]
    Functions(functions::FunctionsCommand),
    KillFunction(kill::KillFunctionArgs),
    KillAll(kill::KillAllArgs),
    Validate(validate::ValidateArgs),
    ValidateDeployment(validate::ValidateDeploymentArgs),
    Uninstall(uninstall::UninstallArgs),
    Cleanup(cleanup::CleanupArgs),
    #[command(flatten)]
    Base(BaseCommand),
}

pub async fn dispatch(cli: Cli, ctx: Ctx) -> Result<()> {
    let sel = KubeSelection::from_args(&cli.kube)?;
    match cli.command {
        Command::Values(args) => operator::values(args, &cli.common, &sel, &ctx),
        Command::Drain(args) => operator::maintenance(true, args, &sel, &ctx).await,
        Command::Uncordon(args) => operator::maintenance(false, args, &sel, &ctx).await,
        Command::Status(args) => operator::status(args, &cli.common, &cli.nvcf, &sel, &ctx).await,
        Command::Doctor(args) => operator::doctor(args, &cli.common, &cli.nvcf, &sel, &ctx).await,
        Command::Bootstrap(args) => {
            operator::bootstrap(args, &cli.common, &cli.nvcf, &sel, &ctx).await
        }
        Command::Registration(cmd) => {
            registration::run(cmd, &cli.common, &cli.nvcf, &sel, &ctx).await
        }
        Command::Functions(cmd) => functions::run(cmd, &sel, &ctx).await,
        Command::KillFunction(args) => kill::kill_function(args, &sel, &ctx).await,
        Command::KillAll(args) => kill::kill_all(args, &sel, &ctx).await,
        Command::Validate(args) => {
            validate::run(validate::Validation::Agent(args), &cli.common, &sel, &ctx).await
        }
        Command::ValidateDeployment(args) => {
            let v = validate::Validation::Deployment(args);
            validate::run(v, &cli.common, &sel, &ctx).await
        }
        Command::Uninstall(args) => uninstall::run(args, &sel, &ctx).await,
        Command::Cleanup(args) => cleanup::run(args, &sel, &ctx).await,
        Command::Base(cmd) => {
            let scope = Scope {
                plugin: PLUGIN,
                command: Cli::command(),
                selection: &sel,
                planes: None,
                profile: &cli.common.profile,
                helm_bin: None,
            };
            base_commands::run(cmd, scope, &ctx).await
        }
    }
}
