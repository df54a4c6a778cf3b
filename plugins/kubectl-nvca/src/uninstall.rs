//! `kubectl nvca uninstall`.

use nvcf_shared::Result;
use nvcf_shared::base::confirm::Gate;
use nvcf_shared::base::output::{OutputArgs, render};
use nvcf_shared::cli::runtime::Ctx;
use nvcf_shared::clients::helm::Helm;
use nvcf_shared::model::target::{KubeSelection, Target, parse_duration};
use nvcf_shared::operations::nvca::uninstall::{self, Options, UninstallReport};

/// Remove the NVCA operator in dependency order (NVCFBackends, agent, release, CRDs, namespaces)
#[derive(clap::Args, Debug)]
pub struct UninstallArgs {
    /// Show the steps; change nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Confirm the uninstall
    #[arg(short = 'y', long)]
    pub yes: bool,
    /// Also delete the nvca-cluster-registration ConfigMap and the nvca-operator namespace
    #[arg(long)]
    pub purge: bool,
    /// Uninstall even while function pods still run in nvcf-backend
    #[arg(long)]
    pub force: bool,
    /// How long each wait (agent gone, helm uninstall) may take
    #[arg(long, value_name = "DURATION", default_value = "5m")]
    pub timeout: String,
    #[command(flatten)]
    pub output: OutputArgs,
}

pub async fn run(args: UninstallArgs, sel: &KubeSelection, ctx: &Ctx) -> Result<()> {
    let opts = Options {
        purge: args.purge,
        force: args.force,
        timeout: parse_duration("--timeout", &args.timeout)?,
    };
    if args.dry_run {
        let report = UninstallReport {
            plan: uninstall::plan(&opts),
            purge: opts.purge,
        };
        return render(&report, args.output.output, &mut ctx.stdout());
    }
    Gate::proceed("remove the NVCA operator, its agent and its CRDs from this cluster")
        .reviewable()
        .check(args.yes, &ctx.env)?;
    let target = Target::resolve(sel, &ctx.env)?;
    let client = target.client(&ctx.plugin.user_agent()).await?;
    let helm = Helm::from_env(&ctx.env, target.context.clone())
        .await?
        .with_kubeconfig(sel.kubeconfig.clone());
    let report = uninstall::run(&client, &helm, &opts, ctx.events()).await?;
    render(&report, args.output.output, &mut ctx.stdout())
}
