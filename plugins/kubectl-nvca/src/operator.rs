//! `kubectl nvca values | bootstrap`: installing the operator self-managed.

use nvcf_shared::Result;
use nvcf_shared::base::checks::{CheckOutputArgs, Runner};
use nvcf_shared::base::output::{OutputArgs, render};
use nvcf_shared::cli::runtime::{CommonArgs, Ctx};
use nvcf_shared::clients::nvcf::sis::Sis;
use nvcf_shared::clients::nvcf::{ConnectArgs, Session};
use nvcf_shared::model::stack::inputs::{Inputs, profile_registration};
use nvcf_shared::model::target::{KubeSelection, Target, parse_duration};
use nvcf_shared::operations::nvca::{agent, bootstrap, doctor, values};
use std::path::PathBuf;

/// Print nvca-operator-values.yaml for the NVCA operator chart, from the stack config
#[derive(clap::Args, Debug)]
pub struct ValuesArgs {
    /// The stack config file (registry, repository, imagePullSecrets, nodeSelectors.compute, compute.*)
    #[arg(long, value_name = "FILE", env = "NVCF_STACK_CONFIG")]
    pub stack_config: Option<PathBuf>,
    /// Override one value: nvca-operator:PATH=VALUE (repeatable)
    #[arg(long = "set", value_name = "nvca-operator:PATH=VALUE")]
    pub set: Vec<String>,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// Register the cluster from its nvcfbackend-self-managed ConfigMap, write the IDs for the operator, restart it and wait for the agent
#[derive(clap::Args, Debug)]
pub struct BootstrapArgs {
    /// Read the cluster's keys from this SPIRE OIDC discovery provider instead of the cluster
    #[arg(long, value_name = "URL")]
    pub spire_oidc_url: Option<String>,
    /// How long the operator's rollout and the agent pod may each take
    #[arg(long, value_name = "DURATION", default_value = "5m")]
    pub timeout: String,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// Once the cluster is registered (`register` or `bootstrap`), the values carry its IDs.
pub fn values(args: ValuesArgs, common: &CommonArgs, sel: &KubeSelection, ctx: &Ctx) -> Result<()> {
    let inputs = Inputs::load(
        args.stack_config.as_deref(),
        &[],
        &args.set,
        &ctx.env,
        &mut std::io::stderr(),
        false,
    )?
    .with_registration(profile_registration(&common.profile, sel, &ctx.env)?)?;
    let report = values::render(&inputs)?;
    // The default (table) view is the values file itself, with a header saying how to use it.
    render(&report, args.output.output, &mut ctx.stdout())
}

pub async fn bootstrap(
    args: BootstrapArgs,
    common: &CommonArgs,
    connect: &ConnectArgs,
    sel: &KubeSelection,
    ctx: &Ctx,
) -> Result<()> {
    let timeout = parse_duration("--timeout", &args.timeout)?;
    let session = Session::open(connect, &common.profile, sel, &ctx.env, ctx.plugin)?;
    let sis = Sis {
        client: &session.client,
    };
    let target = Target::resolve(sel, &ctx.env)?;
    let client = target.client(&ctx.plugin.user_agent()).await?;
    let opts = bootstrap::Options {
        default_nca_id: session.settings.get("client_id").to_owned(),
        spire_oidc: args.spire_oidc_url,
        timeout,
    };
    let events = ctx.events();
    let report = bootstrap::run(
        &sis,
        &session.profile,
        &client,
        &target.server,
        &opts,
        Some(&events),
    )
    .await?;
    render(&report, args.output.output, &mut ctx.stdout())
}

/// Check the NVCA troubleshooting list on this cluster: each failure with its evidence and fix
#[derive(clap::Args, Debug)]
pub struct DoctorArgs {
    #[command(flatten)]
    pub output: CheckOutputArgs,
}

pub async fn doctor(
    args: DoctorArgs,
    common: &CommonArgs,
    connect: &ConnectArgs,
    sel: &KubeSelection,
    ctx: &Ctx,
) -> Result<()> {
    let streaming = common.json || common.plain || common.accessible;
    let mut runner = Runner::new(streaming.then(|| ctx.events()));
    let (client, server) = match Target::resolve(sel, &ctx.env) {
        Ok(t) => (t.client(&ctx.plugin.user_agent()).await, t.server.clone()),
        Err(e) => (Err(e), String::new()),
    };
    match Session::open(connect, &common.profile, sel, &ctx.env, ctx.plugin) {
        Ok(session) => {
            let sis = Sis {
                client: &session.client,
            };
            let state = session.profile.read_state().unwrap_or_default();
            let view = doctor::SisView {
                sis: &sis,
                default_nca_id: session.settings.get("client_id").to_owned(),
                remembered: state.registration,
                api_server: server,
                saved_token: state.token,
            };
            doctor::run(&mut runner, client, Ok(view)).await;
        }
        Err(e) => doctor::run(&mut runner, client, Err(e)).await,
    }
    runner
        .finish()
        .print_as("NVCA doctor checks", args.output.output, &mut ctx.stdout())
}

/// The operator and agent pods, the NVCFBackend (version, health, GPU usage), the registration IDs and SIS's view
#[derive(clap::Args, Debug)]
pub struct StatusArgs {
    /// Do not ask SIS for its view of the cluster
    #[arg(long)]
    pub no_control_plane: bool,
    #[command(flatten)]
    pub output: OutputArgs,
}

pub async fn status(
    args: StatusArgs,
    common: &CommonArgs,
    connect: &ConnectArgs,
    sel: &KubeSelection,
    ctx: &Ctx,
) -> Result<()> {
    let target = Target::resolve(sel, &ctx.env)?;
    let client = target.client(&ctx.plugin.user_agent()).await?;
    // SIS's view is extra: without a usable profile the status still prints.
    let session = (!args.no_control_plane)
        .then(|| Session::open(connect, &common.profile, sel, &ctx.env, ctx.plugin).ok())
        .flatten();
    let sis = session.as_ref().map(|s| Sis { client: &s.client });
    let account = session
        .as_ref()
        .map(|s| {
            s.profile
                .read_state()
                .ok()
                .and_then(|st| st.registration)
                .map(|r| r.nca_id)
                .unwrap_or_else(|| s.settings.get("client_id").to_owned())
        })
        .unwrap_or_default();
    let report = agent::status(&client, sis.as_ref().map(|s| (s, account))).await?;
    render(&report, args.output.output, &mut ctx.stdout())
}

/// Put the NVCA agent in maintenance (CordonAndDrain): it takes no new work and drains what runs
#[derive(clap::Args, Debug)]
pub struct MaintenanceArgs {
    /// Skip the confirmation
    #[arg(short = 'y', long)]
    pub yes: bool,
    /// Say what would change; change nothing
    #[arg(long)]
    pub dry_run: bool,
    /// How long the agent's restart may take (reported, not an error)
    #[arg(long, value_name = "DURATION", default_value = "5m")]
    pub timeout: String,
    #[command(flatten)]
    pub backend: crate::backend::BackendArgs,
    #[command(flatten)]
    pub output: OutputArgs,
}

pub async fn maintenance(
    on: bool,
    args: MaintenanceArgs,
    sel: &KubeSelection,
    ctx: &Ctx,
) -> Result<()> {
    let timeout = parse_duration("--timeout", &args.timeout)?;
    let (client, identity) = args.backend.guarded(sel, ctx).await?;
    let cluster = &identity.cluster_name;
    let what = if on {
        format!(
            "put the NVCA agent of cluster {cluster} in maintenance (it takes no new work and drains its functions)"
        )
    } else {
        format!("take the NVCA agent of cluster {cluster} out of maintenance (it takes work again)")
    };
    if !args.dry_run {
        nvcf_shared::base::confirm::Gate::proceed(what)
            .reviewable()
            .check(args.yes, &ctx.env)?;
    }
    let result = if on {
        nvcf_shared::operations::nvca::maintenance::drain(&client, timeout, args.dry_run).await?
    } else {
        nvcf_shared::operations::nvca::uncordon::uncordon(&client, timeout, args.dry_run).await?
    }
    .on(&identity);
    render(&result, args.output.output, &mut ctx.stdout())
}
