//! `ops`: seed 002's service table, health, restart and scale.

use nvcf_shared::base::checks::{CheckOutputArgs, Runner};
use nvcf_shared::base::confirm::Consent;
use nvcf_shared::base::output::{OutputArgs, render};
use nvcf_shared::cli::runtime::{CommonArgs, Ctx};
use nvcf_shared::clients::kube::Client;
use nvcf_shared::model::stack::catalog::Catalog;
use nvcf_shared::model::target::{KubeSelection, Target, parse_duration};
use nvcf_shared::operations::ops::{self, ServiceTable, restart};
use nvcf_shared::{Error, Result};

#[derive(clap::Subcommand, Debug)]
pub enum OpsCommand {
    /// The service reference table: namespace, service, resource and kind of every workload the stack installs
    Services(OutputArgs),
    /// Health of the control plane: workload rollouts by namespace, OpenBao seal status per pod, NATS routes, Cassandra nodes
    Health(CheckOutputArgs),
    /// Rollout-restart a service (or every Deployment and StatefulSet in -n NAMESPACE) and wait for the new pods
    #[command(after_help = "Waits 120s for a Deployment, 300s for a StatefulSet \
(--timeout overrides). StatefulSets restart one at a time, pods highest ordinal first; \
afterwards quorum is checked, and for OpenBao every pod's seal status (a sealed pod still reports Ready).")]
    Restart(RestartArgs),
    /// Scale a service; scaling an infrastructure StatefulSet (NATS, OpenBao, Cassandra) to zero needs typed confirmation
    Scale(ScaleArgs),
}

#[derive(clap::Args, Debug)]
pub struct RestartArgs {
    /// Services by name (see `ops services`: resource, release or service name) or as KIND/NAME; none with -n restarts the whole namespace
    #[arg(value_name = "SERVICE")]
    pub services: Vec<String>,
    /// How long to wait for each rollout (default: 120s for Deployments, 300s for StatefulSets)
    #[arg(long, value_name = "DURATION")]
    pub timeout: Option<String>,
    /// Show what would be restarted and checked; change nothing
    #[arg(long = "dry-run", visible_alias = "plan-only")]
    pub dry_run: bool,
    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(clap::Args, Debug)]
pub struct ScaleArgs {
    /// The service (see `ops services`) or KIND/NAME
    #[arg(value_name = "SERVICE")]
    pub service: String,
    /// The replica count to set
    #[arg(long, value_name = "N")]
    pub replicas: i32,
    /// Confirms scaling an infrastructure StatefulSet to zero: type its name (e.g. cassandra)
    #[arg(long, value_name = "NAME")]
    pub confirm_outage: Option<String>,
    /// How long to wait for the new replica count (default: 120s Deployment, 300s StatefulSet)
    #[arg(long, value_name = "DURATION")]
    pub timeout: Option<String>,
    /// Show the change and its consequences; change nothing
    #[arg(long = "dry-run", visible_alias = "plan-only")]
    pub dry_run: bool,
    #[command(flatten)]
    pub output: OutputArgs,
}

async fn client(sel: &KubeSelection, ctx: &Ctx) -> Result<Client> {
    Target::resolve(sel, &ctx.env)?
        .client(&ctx.plugin.user_agent())
        .await
}

fn timeout(text: Option<&str>) -> Result<Option<std::time::Duration>> {
    text.map(|t| parse_duration("--timeout", t)).transpose()
}

pub async fn run(
    cmd: OpsCommand,
    common: &CommonArgs,
    sel: &KubeSelection,
    explicit_ns: Option<&str>,
    ctx: &Ctx,
) -> Result<()> {
    match cmd {
        OpsCommand::Services(o) => render(
            &ServiceTable {
                services: ops::services(Catalog::embedded()),
            },
            o.output,
            &mut ctx.stdout(),
        ),
        OpsCommand::Health(args) => {
            let streaming = common.json || common.plain || common.accessible;
            let mut runner = Runner::new(streaming.then(|| ctx.events()));
            let client = client(sel, ctx).await?;
            ops::health::run(&mut runner, &client).await;
            runner
                .finish()
                .print_as("health checks", args.output, &mut ctx.stdout())
        }
        OpsCommand::Restart(args) => {
            let limit = timeout(args.timeout.as_deref())?;
            let catalog = Catalog::embedded();
            let client = client(sel, ctx).await?;
            let targets = if args.services.is_empty() {
                let ns = explicit_ns.ok_or_else(|| {
                    Error::usage("ops restart needs a SERVICE or -n NAMESPACE")
                        .hint("name services (kubectl nvcf ops services lists them), or pass -n NAMESPACE to restart everything in it")
                })?;
                ops::services::in_namespace(&client, Catalog::embedded(), ns).await?
            } else {
                args.services
                    .iter()
                    .map(|s| ops::resolve(catalog, s, explicit_ns))
                    .collect::<Result<Vec<_>>>()?
            };
            let report = restart::restart(
                &client,
                &targets,
                restart::Options {
                    plan_only: args.dry_run,
                    timeout: limit,
                },
            )
            .await?;
            render(&report, args.output.output, &mut ctx.stdout())
        }
        OpsCommand::Scale(args) => {
            let limit = timeout(args.timeout.as_deref())?;
            let svc = ops::resolve(Catalog::embedded(), &args.service, explicit_ns)?;
            let client = client(sel, ctx).await?;
            let report = ops::scale::scale(
                &client,
                &svc,
                args.replicas,
                args.dry_run,
                limit,
                args.confirm_outage,
                &mut Consent::from_env(false, &ctx.env),
            )
            .await?;
            render(&report, args.output.output, &mut ctx.stdout())
        }
    }
}
