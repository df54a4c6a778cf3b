//! `helm nvcf`: the argument model and the dispatch to the shared crate.
//!
//! helm consumes `--kube-context`, `-n` and `--kubeconfig` itself and passes them as
//! `HELM_KUBECONTEXT`, `HELM_NAMESPACE` and `KUBECONFIG`, so this plugin defines no
//! connection flags of its own.

use clap::{CommandFactory, Parser, Subcommand};
use nvcf_shared::Result;
use nvcf_shared::base_commands::{self, BaseCommand, Scope};
use nvcf_shared::cli::{CommonArgs, Ctx, HasCommon, Plugin};
use nvcf_shared::settings::EnvLookup;
use nvcf_shared::target::KubeSelection;
use std::path::PathBuf;

pub const PLUGIN: Plugin = Plugin {
    display: "helm nvcf",
    binary: "helm-nvcf",
};

/// Render, bundle, upgrade and tear down the self-hosted NVIDIA Cloud Functions stack.
///
/// Cluster selection comes from helm's own flags: helm --kube-context NAME -n NS nvcf ...
#[derive(Parser, Debug)]
#[command(
    name = "helm-nvcf",
    bin_name = "helm nvcf",
    version,
    propagate_version = true
)]
pub struct Cli {
    #[command(flatten)]
    pub common: CommonArgs,
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
    #[command(flatten)]
    Base(BaseCommand),
}

pub async fn dispatch(cli: Cli, ctx: Ctx) -> Result<()> {
    let sel = KubeSelection::from_helm_env(&ctx.env);
    let helm_bin = ctx
        .env
        .get("HELM_BIN")
        .filter(|b| !b.is_empty())
        .map(PathBuf::from);
    match cli.command {
        Command::Base(cmd) => {
            let scope = Scope {
                plugin: PLUGIN,
                command: Cli::command(),
                selection: &sel,
                planes: None,
                profile: &cli.common.profile,
                helm_bin,
            };
            base_commands::run(cmd, scope, &ctx).await
        }
    }
}
