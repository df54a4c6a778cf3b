//! `kubectl nvca kill-function | kill-all`: delete the agent's ICMSRequests, confirmed.

use crate::backend::BackendArgs;
use nvcf_shared::base::confirm::Gate;
use nvcf_shared::base::output::{OutputArgs, render};
use nvcf_shared::cli::runtime::Ctx;
use nvcf_shared::model::target::KubeSelection;
use nvcf_shared::operations::nvca::kill::{self, KillResult, REQUESTS_NAMESPACE};
use nvcf_shared::{Error, Result};

#[derive(clap::Args, Debug)]
pub struct KillOptions {
    /// Why (recorded in the result)
    #[arg(long, value_name = "TEXT", default_value = "")]
    pub reason: String,
    /// List what would be deleted; delete nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Strip the requests' finalizers so they go even when the agent does not clean up
    #[arg(long)]
    pub force: bool,
    /// The namespace holding the agent's ICMSRequests
    #[arg(long, value_name = "NS", default_value = REQUESTS_NAMESPACE)]
    pub requests_namespace: String,
    #[command(flatten)]
    pub backend: BackendArgs,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// Delete the ICMSRequests of one function (or one version): the agent tears it down
#[derive(clap::Args, Debug)]
pub struct KillFunctionArgs {
    /// Function ID
    pub function_id: String,
    /// Function version ID (default: every version)
    pub version_id: Option<String>,
    /// Skip the confirmation (required without a terminal)
    #[arg(short = 'y', long)]
    pub yes: bool,
    #[command(flatten)]
    pub opts: KillOptions,
}

/// Delete every ICMSRequest on this cluster: confirmed by typing the cluster name
#[derive(clap::Args, Debug)]
pub struct KillAllArgs {
    /// The cluster name, as confirmation when not typed at the prompt (with --yes)
    #[arg(long, value_name = "CLUSTER_NAME")]
    pub confirm: Option<String>,
    /// Do not prompt; requires --confirm CLUSTER_NAME
    #[arg(short = 'y', long)]
    pub yes: bool,
    #[command(flatten)]
    pub opts: KillOptions,
}

async fn planned(
    sel: &KubeSelection,
    ctx: &Ctx,
    opts: &KillOptions,
    fid: Option<&str>,
    vid: Option<&str>,
) -> Result<kill::Kill> {
    let (client, identity) = opts.backend.guarded(sel, ctx).await?;
    kill::plan(
        &client,
        identity,
        &opts.requests_namespace,
        fid,
        vid,
        &opts.reason,
        opts.dry_run,
    )
    .await
}

fn finish(result: &KillResult, opts: &KillOptions, ctx: &Ctx) -> Result<()> {
    render(result, opts.output.output, &mut ctx.stdout())?;
    if result.failed_count > 0 {
        return Err(Error::new(
            nvcf_shared::base::error::Category::ClusterState,
            format!(
                "{} ICMSRequest(s) could not be deleted",
                result.failed_count
            ),
        )
        .hint("retry with --force to strip their finalizers"));
    }
    Ok(())
}

pub async fn kill_function(args: KillFunctionArgs, sel: &KubeSelection, ctx: &Ctx) -> Result<()> {
    let fid = args.function_id.as_str();
    let plan = planned(sel, ctx, &args.opts, Some(fid), args.version_id.as_deref()).await?;
    if plan.result.affected.is_empty() {
        return Err(Error::not_found(format!(
            "function {fid} has no ICMSRequest in namespace {}",
            args.opts.requests_namespace
        ))
        .hint("list what runs here: kubectl nvca functions list"));
    }
    if !args.opts.dry_run {
        Gate::proceed(format!(
            "delete {} ICMSRequest(s) of function {fid} on cluster {}",
            plan.result.affected.len(),
            plan.result.cluster_name
        ))
        .reviewable()
        .check(args.yes, &ctx.env)?;
    }
    let result = kill::execute(plan, args.opts.force).await;
    finish(&result, &args.opts, ctx)
}

pub async fn kill_all(args: KillAllArgs, sel: &KubeSelection, ctx: &Ctx) -> Result<()> {
    let plan = planned(sel, ctx, &args.opts, None, None).await?;
    let name = plan.result.cluster_name.clone();
    if args.opts.dry_run || plan.result.affected.is_empty() {
        let result = kill::execute(plan, args.opts.force).await;
        return finish(&result, &args.opts, ctx);
    }
    // The list goes to stderr so the question reads with it and stdout keeps the result.
    let listed = nvcf_shared::base::output::Report::table(&plan.result, false);
    Gate::type_name(
        format!(
            "delete these {} ICMSRequest(s) on cluster {name}",
            plan.result.affected.len()
        ),
        &name,
    )
    .name_flag("--confirm", args.confirm.clone())
    .showing([listed.trim_end().to_owned()])
    .reviewable()
    .check(args.yes, &ctx.env)?;
    let result = kill::execute(plan, args.opts.force).await;
    finish(&result, &args.opts, ctx)
}
