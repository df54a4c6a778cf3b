//! `kubectl nvcf check --pre`.

use nvcf_shared::base::error::Category;
use nvcf_shared::cli::runtime::{CommonArgs, Ctx};
use nvcf_shared::model::stack::catalog::Plane as StackPlane;
use nvcf_shared::model::target::{KubeSelection, PlaneArgs, Target};
use nvcf_shared::operations::stack::status::Clusters;
use nvcf_shared::{Error, Result};
use nvcf_shared::{
    base::checks::{CheckOutputArgs, CheckReport, Runner, until_passing},
    operations::checks::{
        Plane, chart_registry_credentials, cluster_checks, local_checks, registry_credentials,
        stack_health,
    },
};

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

pub async fn run(
    args: CheckArgs,
    common: &CommonArgs,
    sel: &KubeSelection,
    planes: &PlaneArgs,
    ctx: &Ctx,
) -> Result<()> {
    if !(args.pre || args.control_plane || args.compute_plane || args.all) {
        return Err(Error::usage(
            "check needs --pre, --control-plane, --compute-plane or --all",
        )
        .hint("run `kubectl nvcf check --pre` before installing, `kubectl nvcf check --all` after"));
    }
    let pull_secret = args
        .pull_secret
        .as_deref()
        .map(|s| {
            s.split_once('/')
                .filter(|(ns, name)| !ns.is_empty() && !name.is_empty())
                .map(|(ns, name)| (ns.to_owned(), name.to_owned()))
                .ok_or_else(|| {
                    Error::usage(format!("invalid --pull-secret {s:?}"))
                        .hint("write it as NAMESPACE/NAME, e.g. nvca-operator/nvcr-pull-secret")
                })
        })
        .transpose()?;
    let wait = args
        .wait
        .as_deref()
        .map(|w| nvcf_shared::model::target::parse_duration("--wait", w))
        .transpose()?;
    let (report, timed_out) = until_passing(wait, || {
        run_once(&args, pull_secret.as_ref(), common, sel, planes, ctx)
    })
    .await;
    let what = if args.control_plane || args.compute_plane || args.all {
        "checks"
    } else {
        "pre-flight checks"
    };
    let printed = report.print_as(what, args.output.output, &mut ctx.stdout());
    if !timed_out {
        return printed;
    }
    Err(Error::new(
        Category::Timeout,
        format!(
            "wait timeout: checks still failing after {}",
            args.wait.as_deref().unwrap_or_default()
        ),
    )
    .hint("fix the failures listed above, or give --wait longer"))
}

async fn run_once(
    args: &CheckArgs,
    pull_secret: Option<&(String, String)>,
    common: &CommonArgs,
    sel: &KubeSelection,
    planes: &PlaneArgs,
    ctx: &Ctx,
) -> CheckReport {
    // Events stream only when a mode was asked for; otherwise the report says it all.
    let streaming = common.json || common.plain || common.accessible;
    let mut runner = Runner::new(streaming.then(|| ctx.events()));
    let pre = args.pre || args.all;
    if pre {
        local_checks(&mut runner, &ctx.env, None).await;
        if let Some(source) = args
            .chart_source
            .as_deref()
            .filter(|s| s.starts_with("oci"))
        {
            chart_registry_credentials(&mut runner, &ctx.env, source).await;
        }
    }
    let mut health_planes = Vec::new();
    if args.control_plane || args.all {
        health_planes.push(StackPlane::Control);
    }
    if args.compute_plane || args.all {
        health_planes.push(StackPlane::Compute);
    }
    if !health_planes.is_empty() && !args.local_only {
        let clusters = Clusters::resolve(sel, planes, &ctx.env, &ctx.plugin.user_agent()).await;
        stack_health(&mut runner, clusters, &health_planes).await;
    }
    if pre && !args.local_only {
        let split =
            planes.control_plane_context.is_some() || planes.compute_plane_context.is_some();
        let targets: Vec<(Option<&String>, Plane)> = if split {
            [
                (planes.control_plane_context.as_ref(), Plane::Control),
                (planes.compute_plane_context.as_ref(), Plane::Compute),
            ]
            .into_iter()
            .filter(|(c, _)| c.is_some())
            .collect()
        } else {
            vec![(None, Plane::Both)]
        };
        for (context, plane) in targets {
            let selection = sel.with_context(context.map(String::as_str));
            let (label, client) = match Target::resolve(&selection, &ctx.env) {
                Ok(t) => (
                    t.context.clone().unwrap_or_else(|| t.cluster.clone()),
                    t.client(&ctx.plugin.user_agent()).await,
                ),
                Err(e) => (context.cloned().unwrap_or_else(|| "current".into()), Err(e)),
            };
            let secret = if plane == Plane::Control {
                None
            } else {
                pull_secret.cloned()
            };
            let reachable = client.as_ref().ok().cloned();
            cluster_checks(&mut runner, client, &label, plane, secret.clone()).await;
            if let Some((ns, name)) = &secret {
                registry_credentials(&mut runner, reachable.as_ref(), ns, name, &args.registries)
                    .await;
            }
        }
    }
    runner.finish()
}
