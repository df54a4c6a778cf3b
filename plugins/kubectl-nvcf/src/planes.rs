//! `up`, `install`, `add-compute-plane` and `repair`: their arguments, turned into the
//! requests `nvcf_shared::operations::planes` runs.

use crate::api::Api;
use nvcf_shared::Result;
use nvcf_shared::base::output::{OutputArgs, render, write_out};
use nvcf_shared::model::stack::inputs::StackArgs;
use nvcf_shared::model::target::PlaneArgs;
use nvcf_shared::operations::planes::{self, Installed, StackChoice};

/// Flags `up`, `install` and `add-compute-plane` share.
#[derive(clap::Args, Debug)]
pub struct StackFlags {
    /// Where charts come from: oci://REGISTRY/REPOSITORY or dir:PATH (default: the stack config's)
    #[arg(long, value_name = "SOURCE")]
    pub chart_source: Option<String>,
    /// Account (NCA id) the cluster is registered under (default: the profile's client_id)
    #[arg(long)]
    pub nca_id: Option<String>,
    /// Region SIS files the cluster under
    #[arg(long, default_value = "us-west-1")]
    pub region: String,
    #[command(flatten)]
    pub stack: StackArgs,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// Install both planes: preflight, render and apply the control plane, admin token, register the cluster, render and apply the compute plane, verify
#[derive(clap::Args, Debug)]
pub struct UpArgs {
    /// The GPU cluster's name in SIS (RFC 1123)
    #[arg(long)]
    pub cluster_name: String,
    /// ICMS/SIS base URL used for the registration (default: the profile's icms_url)
    #[arg(long, value_name = "URL")]
    pub icms_url: Option<String>,
    /// Print the phases, releases and ETAs; take no lock, pull nothing, change nothing
    #[arg(long = "dry-run", visible_alias = "plan-only")]
    pub dry_run: bool,
    /// Mint a fresh admin token in the admin-token phase, whatever the profile holds
    /// (upstream's flag; `up` always mints one, so this only refuses --token)
    #[arg(long)]
    pub refresh_token: bool,
    #[command(flatten)]
    pub flags: StackFlags,
}

/// Install one plane, or print it as YAML for `kubectl apply` (--no-apply)
#[derive(clap::Args, Debug)]
#[command(group(clap::ArgGroup::new("plane").required(true).args(["control_plane", "compute_plane"])))]
pub struct InstallArgs {
    /// The control plane's releases
    #[arg(long)]
    pub control_plane: bool,
    /// The compute plane's releases (registers the cluster first, unless --no-apply)
    #[arg(long)]
    pub compute_plane: bool,
    /// Print the YAML instead of installing; registers nothing and contacts no cluster
    #[arg(long = "dry-run", visible_alias = "no-apply")]
    pub dry_run: bool,
    /// The GPU cluster's name in SIS (required for --compute-plane, unless a registration
    /// values file given with --values names it). A --values file holding `clusterID`
    /// (written by `kubectl nvca register --values-out`) installs the NVCA operator of a
    /// cluster registered already, with no NVCF API access
    #[arg(long)]
    pub cluster_name: Option<String>,
    /// ICMS/SIS base URL used for the registration (default: the profile's icms_url)
    #[arg(long, value_name = "URL")]
    pub icms_url: Option<String>,
    #[command(flatten)]
    pub flags: StackFlags,
}

/// Attach another GPU cluster to a running control plane through its public routes, with --token and no access to the control plane's cluster
#[derive(clap::Args, Debug)]
pub struct AddComputePlaneArgs {
    /// The GPU cluster's name in SIS (RFC 1123)
    #[arg(long)]
    pub cluster_name: String,
    /// ICMS/SIS public URL (default: the profile's icms_url, or sis.DOMAIN of --gateway)
    #[arg(long, value_name = "URL")]
    pub icms_url: Option<String>,
    /// ReVal URL the NVCA reaches (default: the SIS URL's host with reval. for sis.)
    #[arg(long, value_name = "URL")]
    pub reval_url: Option<String>,
    /// NATS URL the NVCA reaches (default: nats://nats.DOMAIN:4222 from the SIS host)
    #[arg(long, value_name = "URL")]
    pub nats_url: Option<String>,
    #[command(flatten)]
    pub flags: StackFlags,
}

impl StackFlags {
    fn choice(self) -> StackChoice {
        StackChoice {
            chart_source: self.chart_source,
            nca_id: self.nca_id,
            region: self.region,
            stack: self.stack,
        }
    }
}

pub async fn up(api: &Api<'_>, planes_args: &PlaneArgs, args: UpArgs) -> Result<()> {
    let format = args.flags.output.output;
    let req = planes::UpRequest {
        cluster_name: args.cluster_name,
        icms_url: args.icms_url,
        refresh_token: args.refresh_token,
        choice: args.flags.choice(),
    };
    let reach = api.reach(planes_args);
    if args.dry_run {
        let plan = planes::plan_up(&reach, &req)?;
        return render(&plan, format, &mut api.ctx.stdout());
    }
    let report = planes::up(&reach, &req).await?;
    render(&report, format, &mut api.ctx.stdout())
}

/// Put a half-failed install right: releases whose install failed or was cut off, and Jobs
/// that failed or never ran, cleared so their hooks run again; then `up`
#[derive(clap::Args, Debug)]
pub struct RepairArgs {
    /// The GPU cluster's name in SIS, as `up` was given it
    #[arg(long)]
    pub cluster_name: String,
    /// ICMS/SIS base URL used for the registration (default: the profile's icms_url)
    #[arg(long, value_name = "URL")]
    pub icms_url: Option<String>,
    /// Show what would be repaired, and how; change nothing
    #[arg(long, visible_alias = "plan-only")]
    pub dry_run: bool,
    /// Repair without asking
    #[arg(short = 'y', long)]
    pub yes: bool,
    #[command(flatten)]
    pub flags: StackFlags,
}

pub async fn repair(api: &Api<'_>, planes_args: &PlaneArgs, args: RepairArgs) -> Result<()> {
    let format = args.flags.output.output;
    let req = planes::RepairRequest {
        cluster_name: args.cluster_name,
        icms_url: args.icms_url,
        dry_run: args.dry_run,
        yes: args.yes,
        choice: args.flags.choice(),
    };
    let reach = api.reach(planes_args);
    planes::repair_then_up(&reach, req, format, &mut std::io::stdout()).await
}

pub async fn install(api: &Api<'_>, planes_args: &PlaneArgs, args: InstallArgs) -> Result<()> {
    let format = args.flags.output.output;
    let req = planes::InstallRequest {
        control_plane: args.control_plane,
        dry_run: args.dry_run,
        cluster_name: args.cluster_name,
        icms_url: args.icms_url,
        choice: args.flags.choice(),
    };
    match planes::install(&api.reach(planes_args), req).await? {
        Installed::Report(report) => render(&report, format, &mut api.ctx.stdout()),
        Installed::Yaml(yaml) => write_out(&mut api.ctx.stdout(), &yaml),
    }
}

pub async fn add_compute_plane(
    api: &Api<'_>,
    planes_args: &PlaneArgs,
    args: AddComputePlaneArgs,
) -> Result<()> {
    let format = args.flags.output.output;
    let req = planes::AddComputePlane {
        cluster_name: args.cluster_name,
        icms_url: args.icms_url,
        reval_url: args.reval_url,
        nats_url: args.nats_url,
        choice: args.flags.choice(),
    };
    let report = planes::add_compute_plane(&api.reach(planes_args), req).await?;
    render(&report, format, &mut api.ctx.stdout())
}
