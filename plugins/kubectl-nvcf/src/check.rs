//! `kubectl nvcf check`: its arguments, turned into the request
//! `nvcf_shared::operations::checks` runs.

use crate::api::Api;
use nvcf_shared::Result;
use nvcf_shared::base::checks::CheckOutputArgs;
use nvcf_shared::model::target::PlaneArgs;
use nvcf_shared::operations::checks::{CheckRequest, run_checks};

/// Pre-flight checks: local tools, then each cluster's prerequisites
#[derive(clap::Args, Debug)]
pub struct CheckArgs {
    /// Run the pre-flight checks
    #[arg(long)]
    pub pre: bool,
    /// Check the installed control plane: every release healthy
    #[arg(long)]
    pub control_plane: bool,
    /// Check the installed compute plane: every release healthy, NVCFBackends healthy
    #[arg(long)]
    pub compute_plane: bool,
    /// The pre-flight checks and both planes' health
    #[arg(long)]
    pub all: bool,
    /// Check only this machine's tools
    #[arg(long)]
    pub local_only: bool,
    /// Also check this image pull secret on the compute plane (NAMESPACE/NAME): it exists,
    /// decodes, and its credentials log in to each registry
    #[arg(long, value_name = "NAMESPACE/NAME")]
    pub pull_secret: Option<String>,
    /// A registry the stack pulls from: the pull secret must have an entry for it that logs
    /// in (repeatable; default: every registry the secret names)
    #[arg(long = "registry", value_name = "HOST", requires = "pull_secret")]
    pub registries: Vec<String>,
    /// The charts' OCI registry (oci://HOST/PATH): helm's saved credentials must log in to it
    #[arg(long, value_name = "oci://HOST/PATH")]
    pub chart_source: Option<String>,
    /// Re-run every 5 s until no error-severity check fails, for at most this long (exit 5
    /// when they still fail), e.g. 2m
    #[arg(long, value_name = "DURATION")]
    pub wait: Option<String>,
    #[command(flatten)]
    pub output: CheckOutputArgs,
}

pub async fn run(api: &Api<'_>, planes: &PlaneArgs, args: CheckArgs) -> Result<()> {
    let common = api.common;
    let req = CheckRequest {
        pre: args.pre,
        control_plane: args.control_plane,
        compute_plane: args.compute_plane,
        all: args.all,
        local_only: args.local_only,
        pull_secret: args.pull_secret,
        registries: args.registries,
        chart_source: args.chart_source,
        wait: args.wait,
        streaming: common.json || common.plain || common.accessible,
    };
    let checked = run_checks(&api.reach(planes), req).await?;
    checked.print(args.output.output, &mut api.ctx.stdout())
}
