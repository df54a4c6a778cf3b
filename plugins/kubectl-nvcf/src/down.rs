//! `down` and `uninstall`: their arguments, turned into the requests
//! `nvcf_shared::operations::stack::down` plans and runs.

use crate::api::Api;
use nvcf_shared::Result;
use nvcf_shared::base::output::{OutputArgs, OutputFormat, render, write_out};
use nvcf_shared::model::target::PlaneArgs;
use nvcf_shared::operations::stack::down::{
    DownRequest, Outcome, TeardownChoice, UninstallRequest, down as take_down,
    uninstall as uninstall_plane,
};
use std::path::PathBuf;

/// Flags `down` and `uninstall` share.
#[derive(clap::Args, Debug)]
pub struct TeardownFlags {
    /// The stack config `up` installed from (its add-ons and namespaces decide what is removed)
    #[arg(long, value_name = "FILE", env = "NVCF_STACK_CONFIG")]
    pub stack_config: Option<PathBuf>,
    /// Also delete persistent state: PVCs, OpenBao's unseal/root-token Secrets, Cassandra data and their namespaces
    #[arg(long)]
    pub remove_persistent: bool,
    /// Account (NCA id) the clusters are registered under (default: the profile's registration, then its client_id)
    #[arg(long)]
    pub nca_id: Option<String>,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// Tear down: drain the NVCA agent (maintenance mode), uninstall the compute plane, delete the cluster's registration; with --all also every registration and the control plane
#[derive(clap::Args, Debug)]
#[command(group(clap::ArgGroup::new("which").required(true).args(["cluster_name", "all"])))]
pub struct DownArgs {
    /// The cluster to take down (its compute plane and its SIS registration)
    #[arg(long, value_name = "NAME")]
    pub cluster_name: Option<String>,
    /// Every registered cluster of the account, then the control plane
    #[arg(long)]
    pub all: bool,
    /// Required to change anything (review first with --plan-only)
    #[arg(long)]
    pub confirm: bool,
    /// Print the phases, releases, registration rows, ETAs and commands; change nothing
    #[arg(long = "dry-run", visible_alias = "plan-only")]
    pub dry_run: bool,
    /// How long to wait for the agent to restart into maintenance mode
    #[arg(long, value_name = "DURATION", default_value = "5m")]
    pub drain_timeout: String,
    #[command(flatten)]
    pub flags: TeardownFlags,
}

/// Uninstall one plane (reverse dependency order), or print its delete YAML (--no-apply)
#[derive(clap::Args, Debug)]
#[command(group(clap::ArgGroup::new("plane").required(true).args(["control_plane", "compute_plane"])))]
pub struct UninstallArgs {
    /// The control plane's releases (refused while clusters are registered)
    #[arg(long)]
    pub control_plane: bool,
    /// The compute plane's releases (refused while this cluster is registered: `down` also deregisters)
    #[arg(long)]
    pub compute_plane: bool,
    /// Print the delete YAML (from `helm get manifest`) for `kubectl delete -f -`; change nothing
    #[arg(long = "dry-run", visible_alias = "no-apply")]
    pub dry_run: bool,
    /// Uninstall even though clusters are still registered with SIS
    #[arg(long)]
    pub force_with_registered_clusters: bool,
    /// Do not ask for confirmation
    #[arg(long, short = 'y')]
    pub yes: bool,
    #[command(flatten)]
    pub flags: TeardownFlags,
}

impl TeardownFlags {
    fn choice(self) -> TeardownChoice {
        TeardownChoice {
            stack_config: self.stack_config,
            remove_persistent: self.remove_persistent,
            nca_id: self.nca_id,
        }
    }
}

fn show(api: &Api<'_>, outcome: Outcome, format: OutputFormat) -> Result<()> {
    let out = &mut api.ctx.stdout();
    match outcome {
        Outcome::Plan(plan) => render(&plan, format, out),
        Outcome::Yaml(yaml) => write_out(out, &yaml),
        Outcome::Done(report) => render(&report, format, out),
    }
}

/// `--json` (global) means `-o json`.
fn format(api: &Api<'_>, flags: &TeardownFlags) -> OutputFormat {
    if api.common.json {
        OutputFormat::Json
    } else {
        flags.output.output
    }
}

pub async fn down(api: &Api<'_>, planes: &PlaneArgs, args: DownArgs) -> Result<()> {
    let format = format(api, &args.flags);
    let req = DownRequest {
        cluster_name: args.cluster_name,
        all: args.all,
        confirm: args.confirm,
        dry_run: args.dry_run,
        drain_timeout: args.drain_timeout,
        choice: args.flags.choice(),
    };
    let outcome = take_down(&api.reach(planes), req).await?;
    show(api, outcome, format)
}

pub async fn uninstall(api: &Api<'_>, planes: &PlaneArgs, args: UninstallArgs) -> Result<()> {
    let format = format(api, &args.flags);
    let req = UninstallRequest {
        control_plane: args.control_plane,
        dry_run: args.dry_run,
        force_with_registered_clusters: args.force_with_registered_clusters,
        yes: args.yes,
        choice: args.flags.choice(),
    };
    let outcome = uninstall_plane(&api.reach(planes), req).await?;
    show(api, outcome, format)
}
