//! `kubectl nvca cleanup`.

use nvcf_shared::Result;
use nvcf_shared::base::output::{OutputArgs, render};
use nvcf_shared::cli::runtime::Ctx;
use nvcf_shared::model::target::{KubeSelection, Target, parse_duration};
use nvcf_shared::operations::nvca::cleanup::{self, CleanupReport};

/// Remove NVCA finalizers and finalize namespaces stuck in Terminating (after `uninstall`)
#[derive(clap::Args, Debug)]
pub struct CleanupArgs {
    /// List what would be touched; make no change
    #[arg(long)]
    pub dry_run: bool,
    /// Confirm the changes (finalizers are removed without the operator's own cleanup)
    #[arg(short = 'y', long)]
    pub yes: bool,
    /// How long a stuck namespace may take to go away by itself before it is finalized
    #[arg(long, value_name = "DURATION", default_value = "30s")]
    pub wait: String,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// Scope: `-n NS` when given, otherwise NVCA's own namespaces.
pub async fn run(args: CleanupArgs, sel: &KubeSelection, ctx: &Ctx) -> Result<()> {
    let wait = parse_duration("--wait", &args.wait)?;
    let target = Target::resolve(sel, &ctx.env)?;
    let client = target.client(&ctx.plugin.user_agent()).await?;
    let scope = sel.namespace.iter().cloned().collect();
    let plan = cleanup::plan(&client, scope).await?;
    let report = if args.dry_run {
        CleanupReport::from_plan(plan)
    } else {
        let preview = CleanupReport::from_plan(plan.clone());
        if let Err(refusal) = cleanup::confirm(&preview, args.yes, &ctx.env) {
            render(&preview, args.output.output, &mut ctx.stdout())?;
            return Err(refusal);
        }
        cleanup::execute(&client, plan, wait).await?
    };
    render(&report, args.output.output, &mut ctx.stdout())
}
