//! `up`, `install` and `add-compute-plane`: argument parsing and target resolution; the
//! phases themselves live in `nvcf_shared::operations::planes`.

use crate::api::Api;
use nvcf_shared::base::confirm::confirm;
use nvcf_shared::base::events::{Event, Final, Ts};
use nvcf_shared::base::output::OutputFormat;
use nvcf_shared::base::output::{OutputArgs, render, write_out};
use nvcf_shared::clients::helm::Helm;
use nvcf_shared::clients::nvcf::Session;
use nvcf_shared::model::handoff::register_values::{self, RegisterValues};
use nvcf_shared::model::settings::{EnvLookup, Overlaid};
use nvcf_shared::model::stack::catalog::{Catalog, Plane};
use nvcf_shared::model::stack::inputs::{Inputs, StackArgs};
use nvcf_shared::model::target::{KubeSelection, PlaneArgs, Target};
use nvcf_shared::operations::planes::{self, ComputeSource, PlaneTarget, Request, Scope, repair};
use nvcf_shared::operations::stack::render::{ChartSource, Planes, render_stream};
use nvcf_shared::{Error, Result};
use std::collections::HashMap;

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

/// The process environment with `--icms-url` on top (the `icms_url` setting reads it).
fn with_icms<'a>(base: &'a dyn EnvLookup, icms: Option<&str>) -> Overlaid<'a> {
    let mut on_top = HashMap::new();
    if let Some(url) = icms.filter(|u| !u.is_empty()) {
        on_top.insert("NVCF_ICMS_URL".to_owned(), url.to_owned());
    }
    Overlaid { base, on_top }
}

fn open_session(api: &Api<'_>, env: &dyn EnvLookup) -> Result<Session> {
    Session::open(
        api.connect,
        &api.common.profile,
        api.sel,
        env,
        api.ctx.plugin,
    )
}

async fn resolve(api: &Api<'_>, sel: &KubeSelection) -> Result<PlaneTarget> {
    let target = Target::resolve(sel, &api.ctx.env)?;
    let client = target.client(&api.ctx.plugin.user_agent()).await?;
    let helm = Helm::from_env(&api.ctx.env, target.context.clone())
        .await?
        .with_kubeconfig(sel.kubeconfig.clone());
    Ok(PlaneTarget {
        label: target
            .context
            .clone()
            .unwrap_or_else(|| target.cluster.clone()),
        client,
        server: target.server,
        helm,
    })
}

fn selections(sel: &KubeSelection, planes: &PlaneArgs) -> (KubeSelection, KubeSelection, bool) {
    let control = sel.with_context(planes.control_plane_context.as_deref());
    let compute = sel.with_context(planes.compute_plane_context.as_deref());
    let split = control.context != compute.context;
    (control, compute, split)
}

fn source_of(flags: &StackFlags, inputs: &Inputs) -> Result<ChartSource> {
    match &flags.chart_source {
        Some(s) => ChartSource::parse(s),
        None => ChartSource::from_config(&inputs.config),
    }
}

fn source_text(flags: &StackFlags, inputs: &Inputs) -> String {
    flags
        .chart_source
        .clone()
        .or_else(|| inputs.config.chart_source.clone())
        .unwrap_or_else(|| {
            format!(
                "oci://{}/{}",
                inputs.config.registry, inputs.config.repository
            )
        })
}

fn check_cluster_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 63
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !name.starts_with('-')
        && !name.ends_with('-');
    if ok {
        Ok(())
    } else {
        Err(
            Error::usage(format!("--cluster-name {name:?} is not an RFC 1123 label")).hint(
                "use lower-case letters, digits and '-', at most 63 characters, e.g. gpu-east-1",
            ),
        )
    }
}

pub async fn up(api: &Api<'_>, planes_args: &PlaneArgs, args: UpArgs) -> Result<()> {
    check_cluster_name(&args.cluster_name)?;
    if args.refresh_token && api.connect.token.as_deref().is_some_and(|t| !t.is_empty()) {
        return Err(Error::usage(
            "--refresh-token mints a new admin token, --token gives one: use one of them",
        )
        .hint("drop --token to mint a fresh token, or drop --refresh-token to use the one given"));
    }
    let (control_sel, compute_sel, _) = selections(api.sel, planes_args);
    if args.dry_run {
        // The plan needs no passwords and no cluster: nothing is read but the config.
        let inputs = args.flags.stack.load(&api.ctx.env, false)?;
        let source = source_of(&args.flags, &inputs)?;
        let name = |s: &KubeSelection| {
            Target::resolve(s, &api.ctx.env)
                .ok()
                .and_then(|t| t.context)
                .unwrap_or_else(|| "current".into())
        };
        let plan = planes::plan::build(
            &inputs,
            Scope::All,
            &source,
            &planes::plan::PlanInput {
                cluster: &args.cluster_name,
                control_plane_context: &name(&control_sel),
                compute_plane_context: &name(&compute_sel),
                chart_source: &source_text(&args.flags, &inputs),
            },
        )?;
        let events = api.ctx.events();
        events.emit(Event::Planned(plan.planned_event()));
        let mut done = Final::new(Ts::now(), true, api.ctx.elapsed());
        done.plan_only = true;
        events.emit(Event::Final(done));
        return render(&plan, args.flags.output.output, &mut api.ctx.stdout());
    }
    let inputs = args.flags.stack.load(&api.ctx.env, true)?;
    let report = run_up(
        api,
        planes_args,
        &args.cluster_name,
        args.icms_url.as_deref(),
        &args.flags,
        inputs,
    )
    .await?;
    render(&report, args.flags.output.output, &mut api.ctx.stdout())
}

/// The control plane's cluster, and the compute plane's when it is another (`split`).
async fn both_targets(
    api: &Api<'_>,
    planes_args: &PlaneArgs,
) -> Result<(PlaneTarget, Option<PlaneTarget>, bool)> {
    let (control_sel, compute_sel, split) = selections(api.sel, planes_args);
    let control = resolve(api, &control_sel).await?;
    let compute = if split {
        Some(resolve(api, &compute_sel).await?)
    } else {
        None
    };
    Ok((control, compute, split))
}

/// Both planes, as `up` installs them: what `up` and `repair` run.
async fn run_up(
    api: &Api<'_>,
    planes_args: &PlaneArgs,
    cluster_name: &str,
    icms_url: Option<&str>,
    flags: &StackFlags,
    inputs: Inputs,
) -> Result<planes::UpReport> {
    let source = source_of(flags, &inputs)?;
    let env = with_icms(&api.ctx.env, icms_url);
    let session = open_session(api, &env)?;
    let (control, compute, split) = both_targets(api, planes_args).await?;
    let req = Request {
        scope: Scope::All,
        cluster_name: cluster_name.to_owned(),
        nca_id: flags.nca_id.clone(),
        region: flags.region.clone(),
        inputs,
        source,
        control: Some(&control),
        compute: Some(compute.as_ref().unwrap_or(&control)),
        session: Some(&session),
        token_given: api.connect.token.as_deref().is_some_and(|t| !t.is_empty()),
        compute_source: ComputeSource::Config,
        split,
        env: &api.ctx.env,
    };
    planes::run(req, api.ctx.events()).await
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
    check_cluster_name(&args.cluster_name)?;
    let inputs = args.flags.stack.load(&api.ctx.env, !args.dry_run)?;
    let releases = repair::stack_releases(Catalog::embedded(), &inputs.config)?;
    let then = nvcf_shared::base::plugin::nvcf(&format!("up --cluster-name {}", args.cluster_name));
    let (control, compute, split) = both_targets(api, planes_args).await?;
    // On one cluster both planes are read there; split, each plane on its own cluster.
    let on = |plane: Plane| {
        releases
            .iter()
            .filter(|(r, _)| !split || r.plane == plane)
            .cloned()
            .collect::<Vec<_>>()
    };
    let mut plan = repair::diagnose(&control.client, &on(Plane::Control), then.clone()).await?;
    if let Some(compute) = &compute {
        let more = repair::diagnose(&compute.client, &on(Plane::Compute), then).await?;
        plan.findings.extend(more.findings);
    }
    let format = args.flags.output.output;
    if plan.is_empty() || args.dry_run {
        return render(&plan, format, &mut api.ctx.stdout());
    }
    let by_hand: Vec<String> = plan.by_hand().iter().map(|f| f.release.clone()).collect();
    if !by_hand.is_empty() {
        // `up` would stop at them anyway; change nothing until a person has looked.
        render(&plan, format, &mut api.ctx.stdout())?;
        return Err(Error::new(
            nvcf_shared::base::error::Category::ClusterState,
            format!(
                "{} need a person first: {}",
                by_hand.len(),
                by_hand.join(", ")
            ),
        )
        .hint("do what FOUND says for each, then run repair again; nothing was changed"));
    }
    if format == OutputFormat::Table {
        render(&plan, format, &mut api.ctx.stdout())?;
    }
    confirm(
        &format!("repair {} release(s), then re-run up", plan.findings.len()),
        args.yes,
        &api.ctx.env,
    )?;
    for (target, plane) in [
        (Some(&control), Plane::Control),
        (compute.as_ref(), Plane::Compute),
    ] {
        let Some(target) = target else { continue };
        let mine = repair::RepairPlan {
            findings: plan
                .findings
                .iter()
                .filter(|f| !split || f.plane == plane)
                .cloned()
                .collect(),
            ..plan.clone()
        };
        repair::clear(&mine, &target.client, &target.helm, "5m").await?;
        if !split {
            break;
        }
    }
    run_up(
        api,
        planes_args,
        &args.cluster_name,
        args.icms_url.as_deref(),
        &args.flags,
        inputs,
    )
    .await?;
    plan.done = Some(true);
    match format {
        OutputFormat::Table => write_out(
            &mut api.ctx.stdout(),
            &format!(
                "repaired: {}",
                plan.findings
                    .iter()
                    .map(|f| f.release.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ),
        _ => render(&plan, format, &mut api.ctx.stdout()),
    }
}

pub async fn install(api: &Api<'_>, planes_args: &PlaneArgs, mut args: InstallArgs) -> Result<()> {
    let (control_sel, compute_sel, _) = selections(api.sel, planes_args);
    // Upstream's `compute-plane install --values FILE`: the registration values file a
    // split install hands over. The cluster is registered already.
    let handoff = if args.compute_plane {
        register_values::take_from(&mut args.flags.stack.values)?
    } else {
        None
    };
    let from_file = handoff.as_ref().and_then(|(path, v)| {
        Some(v.cluster_name.clone())
            .filter(|n| !n.is_empty())
            .or_else(|| register_values::cluster_from_file_name(path))
    });
    let cluster_name = match (args.cluster_name.clone().or(from_file), args.compute_plane) {
        (Some(n), _) => {
            check_cluster_name(&n)?;
            n
        }
        (None, true) => {
            return Err(Error::usage("install --compute-plane needs --cluster-name")
                .hint("pass --cluster-name NAME: the GPU cluster's name in SIS"));
        }
        (None, false) => String::new(),
    };
    let nca_id = handoff
        .as_ref()
        .map(|(_, v)| v.nca_id.clone())
        .filter(|n| !n.is_empty())
        .or(args.flags.nca_id.clone());
    let inputs = args.flags.stack.load(&api.ctx.env, true)?;
    let source = source_of(&args.flags, &inputs)?;
    if args.dry_run {
        return print_yaml(api, &args, inputs, &cluster_name, handoff.map(|(_, v)| v)).await;
    }
    let (scope, sel) = if args.control_plane {
        (Scope::ControlPlane, control_sel)
    } else {
        (Scope::ComputePlane, compute_sel)
    };
    let target = resolve(api, &sel).await?;
    let env = with_icms(&api.ctx.env, args.icms_url.as_deref());
    let session = if scope == Scope::ComputePlane && handoff.is_none() {
        Some(open_session(api, &env)?)
    } else {
        None
    };
    let req = Request {
        scope,
        cluster_name,
        nca_id,
        region: args.flags.region.clone(),
        inputs,
        source,
        control: (scope == Scope::ControlPlane).then_some(&target),
        compute: (scope == Scope::ComputePlane).then_some(&target),
        session: session.as_ref(),
        token_given: api.connect.token.as_deref().is_some_and(|t| !t.is_empty()),
        compute_source: match handoff {
            Some((_, values)) => ComputeSource::Handoff(Box::new(values)),
            None => ComputeSource::Config,
        },
        split: false,
        env: &api.ctx.env,
    };
    let report = planes::run(req, api.ctx.events()).await?;
    render(&report, args.flags.output.output, &mut api.ctx.stdout())
}

/// `install --no-apply`: the plane's YAML, rendered offline. The compute plane carries the
/// registration this profile remembers for the cluster, if any; nothing is registered.
async fn print_yaml(
    api: &Api<'_>,
    args: &InstallArgs,
    mut inputs: Inputs,
    cluster: &str,
    handoff: Option<RegisterValues>,
) -> Result<()> {
    let planes = if args.control_plane {
        Planes::Control
    } else {
        Planes::Compute
    };
    if let Some(values) = &handoff {
        inputs.config.compute.cluster_name = cluster.to_owned();
        values.apply_to(&mut inputs);
        inputs.registration = values.registration(cluster);
    } else if args.compute_plane {
        inputs.config.compute.cluster_name = cluster.to_owned();
        let profile =
            nvcf_shared::model::profile::view::current(&api.common.profile, api.sel, &api.ctx.env)?;
        let remembered = profile
            .read_state()?
            .registration
            .filter(|r| r.cluster_name == cluster);
        match remembered {
            Some(r) => inputs.registration = Some(r),
            None => api.note(&format!(
                "note: cluster {cluster} is not registered in profile {}; the YAML carries no cluster id (`kubectl nvcf install --compute-plane` without --no-apply registers it)",
                profile.name
            )),
        }
    }
    let helm = Helm::from_env(&api.ctx.env, None).await?;
    let yaml = render_stream(
        &inputs,
        planes,
        args.flags.chart_source.as_deref(),
        &helm,
        None,
    )
    .await?;
    for note in &yaml.notes {
        api.note(note);
    }
    write_out(&mut api.ctx.stdout(), yaml.yaml.trim_end())
}

pub async fn add_compute_plane(
    api: &Api<'_>,
    planes_args: &PlaneArgs,
    args: AddComputePlaneArgs,
) -> Result<()> {
    check_cluster_name(&args.cluster_name)?;
    if api.connect.token.as_deref().is_none_or(str::is_empty) {
        return Err(Error::usage("add-compute-plane needs --token")
            .hint("pass --token JWT: an admin token of the control plane (`kubectl nvcf init` on a machine that reaches it mints one)"));
    }
    let (_, compute_sel, _) = selections(api.sel, planes_args);
    let inputs = args.flags.stack.load(&api.ctx.env, true)?;
    let source = source_of(&args.flags, &inputs)?;
    let env = with_icms(&api.ctx.env, args.icms_url.as_deref());
    let session = open_session(api, &env)?;
    let target = resolve(api, &compute_sel).await?;
    let req = Request {
        scope: Scope::ComputePlane,
        cluster_name: args.cluster_name.clone(),
        nca_id: args.flags.nca_id.clone(),
        region: args.flags.region.clone(),
        inputs,
        source,
        control: None,
        compute: Some(&target),
        session: Some(&session),
        token_given: true,
        compute_source: ComputeSource::public(
            &session,
            args.reval_url.clone(),
            args.nats_url.clone(),
        ),
        split: false,
        env: &api.ctx.env,
    };
    let report = planes::run(req, api.ctx.events()).await?;
    render(&report, args.flags.output.output, &mut api.ctx.stdout())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cluster_names_are_rfc1123_labels() {
        assert!(check_cluster_name("gpu-east-1").is_ok());
        assert!(check_cluster_name("GPU").is_err());
        assert!(check_cluster_name("-a").is_err());
        assert!(check_cluster_name("").is_err());
    }
}
