//! `kubectl nvca validate`: the agent's health as checks; exit 2 on any failure.

use nvcf_shared::Result;
use nvcf_shared::base::checks::{CheckOutputArgs, Runner};
use nvcf_shared::cli::runtime::{CommonArgs, Ctx};
use nvcf_shared::model::target::{KubeSelection, Target};
use nvcf_shared::operations::nvca::uninstall::OPERATOR_NAMESPACE;
use nvcf_shared::operations::nvca::validate::{self, Check};

/// Check the NVCA agent: deployment ready, GPUs allocatable, NATS reachable, pull secrets present, TLS certificates valid
#[derive(clap::Args, Debug)]
pub struct ValidateArgs {
    /// Run only this check (repeatable; default: all)
    #[arg(long = "check", value_enum, value_name = "CHECK")]
    pub checks: Vec<Check>,
    /// Stop at the first failed check
    #[arg(long)]
    pub fail_fast: bool,
    /// The agent's HTTP address (e.g. a port-forward): nvca-reachable also probes its /livez and /version
    #[arg(long, value_name = "URL")]
    pub nvca_url: Option<String>,
    /// The namespace of the operator's NVCFBackend and cluster config
    #[arg(long, value_name = "NS", default_value = OPERATOR_NAMESPACE)]
    pub backend_namespace: String,
    #[command(flatten)]
    pub output: CheckOutputArgs,
}

/// Check one function here: its pods ready, its ICMSRequest ACTIVE, GPU allocation at or below 90%
#[derive(clap::Args, Debug)]
pub struct ValidateDeploymentArgs {
    /// Function ID
    pub function_id: String,
    /// Function version ID (default: the first version found)
    pub version_id: Option<String>,
    /// The namespace of the operator's NVCFBackend (GPU usage)
    #[arg(long, value_name = "NS", default_value = OPERATOR_NAMESPACE)]
    pub backend_namespace: String,
    #[command(flatten)]
    pub output: CheckOutputArgs,
}

pub enum Validation {
    Agent(ValidateArgs),
    Deployment(ValidateDeploymentArgs),
}

pub async fn run(v: Validation, common: &CommonArgs, sel: &KubeSelection, ctx: &Ctx) -> Result<()> {
    let streaming = common.json || common.plain || common.accessible;
    let mut runner = Runner::new(streaming.then(|| ctx.events()));
    let client = Target::resolve(sel, &ctx.env)?
        .client(&ctx.plugin.user_agent())
        .await?;
    let (what, output) = match v {
        Validation::Agent(args) => {
            let opts = validate::Options {
                checks: args.checks,
                fail_fast: args.fail_fast,
                backend_namespace: args.backend_namespace,
                nvca_url: args.nvca_url,
            };
            validate::run(&mut runner, &client, &opts).await;
            ("NVCA validate", args.output.output)
        }
        Validation::Deployment(args) => {
            nvcf_shared::operations::nvca::validate_deployment::run(
                &mut runner,
                &client,
                &args.function_id,
                args.version_id.as_deref(),
                &args.backend_namespace,
            )
            .await?;
            ("NVCA validate-deployment", args.output.output)
        }
    };
    runner.finish().print_as(what, output, &mut ctx.stdout())
}
