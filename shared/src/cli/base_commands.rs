//! The commands every plugin has: `version`, `context`, `completion` and kubectl's hidden
//! `__complete`. Each plugin flattens [`BaseCommand`] into its own command enum.

use crate::base::error::Result;
use crate::base::output::{OutputArgs, render, write_out};
use crate::cli::completion::{CompletionArgs, cobra_complete, write_script};
use crate::cli::context::ContextReport;
use crate::cli::version::version_report;
use crate::model::profile::ProfileArgs;
use crate::model::target::{KubeSelection, PlaneArgs};
use crate::{base::plugin::Plugin, cli::runtime::Ctx};
use std::path::PathBuf;

#[derive(clap::Subcommand, Debug)]
pub enum BaseCommand {
    /// Print the plugin's version and the kubectl and helm it will drive
    Version(OutputArgs),
    /// Show which cluster, context, namespace and profile commands act on (contacts nothing)
    Context(OutputArgs),
    /// Print a shell completion script
    Completion(CompletionArgs),
    /// Write man pages and completion scripts generated from the command model into DIR
    #[command(name = "__docs", hide = true)]
    Docs { dir: PathBuf },
    /// kubectl's plugin-completion protocol (what kubectl_complete-<plugin> answers)
    #[command(name = "__complete", hide = true)]
    Complete {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        words: Vec<String>,
    },
}

/// Where a plugin runs from, for the base commands.
pub struct Scope<'a> {
    pub plugin: Plugin,
    pub command: clap::Command,
    pub selection: &'a KubeSelection,
    pub planes: Option<&'a PlaneArgs>,
    pub profile: &'a ProfileArgs,
    /// `$HELM_BIN` when running as a helm plugin.
    pub helm_bin: Option<PathBuf>,
}

pub async fn run(cmd: BaseCommand, scope: Scope<'_>, ctx: &Ctx) -> Result<()> {
    let mut out = ctx.stdout();
    match cmd {
        BaseCommand::Version(o) => {
            let report = version_report(scope.plugin, scope.helm_bin, &ctx.env).await;
            render(&report, o.output, &mut out)
        }
        BaseCommand::Context(o) => {
            let report =
                ContextReport::resolve(scope.selection, scope.planes, scope.profile, &ctx.env)?;
            render(&report, o.output, &mut out)
        }
        BaseCommand::Completion(args) => {
            write_script(args.shell, scope.command, scope.plugin.binary, &mut out)
        }
        BaseCommand::Docs { dir } => {
            let written =
                crate::cli::docs::write_reference(scope.command, scope.plugin.binary, &dir)?;
            write_out(&mut out, &written.join("\n"))
        }
        BaseCommand::Complete { words } => {
            write_out(&mut out, &cobra_complete(scope.command, &words, &ctx.env))
        }
    }
}
