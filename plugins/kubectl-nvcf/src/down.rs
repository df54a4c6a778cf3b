//! `down` and `uninstall`: argument checks, target resolution and rendering; the plan and
//! its phases live in `nvcf_shared::operations::stack::down`.

use crate::api::Api;
use nvcf_shared::base::events::{Event, Final, Ts};
use nvcf_shared::base::output::{OutputArgs, OutputFormat, render, write_out};
use nvcf_shared::clients::helm::Helm;
use nvcf_shared::clients::nvcf::sis::{Cluster, Sis};
use nvcf_shared::model::stack::catalog::Catalog;
use nvcf_shared::model::stack::inputs::Inputs;
use nvcf_shared::model::target::{PlaneArgs, parse_duration};
use nvcf_shared::operations::stack::down::{self, DownPlan, PlanInput, Shape, Side};
use nvcf_shared::operations::stack::render::Planes;
use nvcf_shared::operations::stack::status::{Clusters, helm_releases};
use nvcf_shared::operations::stack::teardown;
use nvcf_shared::{Error, Result};
use std::collections::BTreeSet;
use std::path::PathBuf;

/// Flags `down` and `uninstall` share.
#[derive(clap::Args, Debug)]
pub struct TeardownFlags {
    /// The stack config `up` installed from (its add-ons and namespaces decide what is removed)
    #[arg(long, value_name = "FILE", env = "NVCF_STACK_CONFIG")]
    pub stack_config: Option<PathBuf>,
    /// Also delete persistent state: PVCs, OpenBao's unseal/root-token Secrets, Cassandra data and their namespaces
    #[arg(long)]
    pub remove_persistent: bool,
    /// Account (NCA id) the clusters are registered under (default: the profile's registration, then its client_id)
    #[arg(long)]
    pub nca_id: Option<String>,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// Tear down: drain the NVCA agent (maintenance mode), uninstall the compute plane, delete the cluster's registration; with --all also every registration and the control plane
#[derive(clap::Args, Debug)]
#[command(group(clap::ArgGroup::new("which").required(true).args(["cluster_name", "all"])))]
pub struct DownArgs {
    /// The cluster to take down (its compute plane and its SIS registration)
    #[arg(long, value_name = "NAME")]
    pub cluster_name: Option<String>,
    /// Every registered cluster of the account, then the control plane
    #[arg(long)]
    pub all: bool,
    /// Required to change anything (review first with --plan-only)
    #[arg(long)]
    pub confirm: bool,
    /// Print the phases, releases, registration rows, ETAs and commands; change nothing
    #[arg(long = "dry-run", visible_alias = "plan-only")]
    pub dry_run: bool,
    /// How long to wait for the agent to restart into maintenance mode
    #[arg(long, value_name = "DURATION", default_value = "5m")]
    pub drain_timeout: String,
    #[command(flatten)]
    pub flags: TeardownFlags,
}

/// Uninstall one plane (reverse dependency order), or print its delete YAML (--no-apply)
#[derive(clap::Args, Debug)]
#[command(group(clap::ArgGroup::new("plane").required(true).args(["control_plane", "compute_plane"])))]
pub struct UninstallArgs {
    /// The control plane's releases (refused while clusters are registered)
    #[arg(long)]
    pub control_plane: bool,
    /// The compute plane's releases (refused while this cluster is registered: `down` also deregisters)
    #[arg(long)]
    pub compute_plane: bool,
    /// Print the delete YAML (from `helm get manifest`) for `kubectl delete -f -`; change nothing
    #[arg(long = "dry-run", visible_alias = "no-apply")]
    pub dry_run: bool,
    /// Uninstall even though clusters are still registered with SIS
    #[arg(long)]
    pub force_with_registered_clusters: bool,
    /// Do not ask for confirmation
    #[arg(long, short = 'y')]
    pub yes: bool,
    #[command(flatten)]
    pub flags: TeardownFlags,
}

fn format(api: &Api<'_>, flags: &TeardownFlags) -> OutputFormat {
    if api.common.json {
        OutputFormat::Json
    } else {
        flags.output.output
    }
}

fn load_inputs(api: &Api<'_>, flags: &TeardownFlags) -> Result<Inputs> {
    Inputs::load(
        flags.stack_config.as_deref(),
        &[],
        &[],
        &api.ctx.env,
        &mut std::io::stderr(),
        false,
    )
}

async fn sides(api: &Api<'_>, planes: &PlaneArgs) -> Result<(Side, Side)> {
    let clusters =
        Clusters::resolve(api.sel, planes, &api.ctx.env, &api.ctx.plugin.user_agent()).await?;
    let side = |c: &nvcf_shared::operations::stack::status::PlaneCluster| {
        let context = c.context.clone();
        let client = c.client.clone();
        let kubeconfig = api.sel.kubeconfig.clone();
        async move {
            let helm = Helm::from_env(&api.ctx.env, Some(context.clone()))
                .await?
                .with_kubeconfig(kubeconfig);
            Ok::<_, Error>(Side {
                context,
                client,
                helm,
            })
        }
    };
    let control = side(&clusters.control).await?;
    let compute = side(clusters.compute.as_ref().unwrap_or(&clusters.control)).await?;
    Ok((control, compute))
}

/// The account to act under: the flag, the profile's registration, its client_id.
fn nca_id(
    flags: &TeardownFlags,
    session: Option<&nvcf_shared::clients::nvcf::Session>,
) -> Option<String> {
    flags
        .nca_id
        .clone()
        .or_else(|| {
            session
                .and_then(|s| s.profile.read_state().ok())
                .and_then(|s| s.registration)
                .map(|r| r.nca_id)
                .filter(|n| !n.is_empty())
        })
        .or_else(|| {
            session
                .map(|s| s.settings.get("client_id").to_owned())
                .filter(|n| !n.is_empty())
        })
}

/// SIS rows for `name` (or all rows), falling back to the profile's own registration when
/// SIS cannot be asked (plans only: the run needs SIS anyway).
async fn rows(
    session: Option<&nvcf_shared::clients::nvcf::Session>,
    nca: &str,
    name: Option<&str>,
    notes: &mut Vec<String>,
) -> Result<Vec<Cluster>> {
    let listed = match session {
        Some(s) => Sis { client: &s.client }.list(nca).await,
        None => Err(Error::config("no NVCF session for this profile")),
    };
    match listed {
        Ok(all) => Ok(all
            .into_iter()
            .filter(|c| name.is_none_or(|n| c.cluster_name == n || c.cluster_id == n))
            .collect()),
        Err(e) => {
            notes.push(format!(
                "SIS could not be read ({}); rows come from the profile",
                e.message()
            ));
            let saved = session
                .and_then(|s| s.profile.read_state().ok())
                .and_then(|s| s.registration)
                .filter(|r| name.is_none_or(|n| r.cluster_name == n));
            Ok(saved
                .map(|r| {
                    serde_json::from_value(serde_json::json!({
                        "clusterId": r.cluster_id,
                        "clusterName": r.cluster_name,
                        "clusterGroupId": r.cluster_group_id,
                    }))
                })
                .transpose()
                .map_err(|e| Error::internal(format!("registration row: {e}")))?
                .into_iter()
                .collect())
        }
    }
}

struct Prepared {
    plan: DownPlan,
    control: Side,
    compute: Side,
    session: Option<nvcf_shared::clients::nvcf::Session>,
}

async fn prepare(
    api: &Api<'_>,
    planes: &PlaneArgs,
    flags: &TeardownFlags,
    shape: Shape,
    cluster: String,
    row_filter: Option<Option<&str>>,
    mut notes: Vec<String>,
) -> Result<Prepared> {
    let catalog = Catalog::embedded();
    let inputs = load_inputs(api, flags)?;
    let (control, compute) = sides(api, planes).await?;
    let session = api.session().ok();
    let (installed_control, installed_compute) = futures_join(
        helm_releases(&control.client),
        helm_releases(&compute.client),
    )
    .await;
    let (installed_control, installed_compute) = (installed_control?, installed_compute?);
    let nca = nca_id(flags, session.as_ref()).unwrap_or_else(|| "nvcf-default".into());
    let found = match row_filter {
        Some(name) => rows(session.as_ref(), &nca, name, &mut notes).await?,
        None => Vec::new(),
    };
    let inventory = |plane: Planes, side: &Side| {
        let plan = teardown::plan(catalog, &inputs, plane);
        let client = side.client.clone();
        async move { teardown::persistent_inventory(&client, &plan?).await }
    };
    let inventory_control = if shape.control {
        inventory(Planes::Control, &control).await?
    } else {
        Vec::new()
    };
    let inventory_compute = if shape.compute {
        inventory(Planes::Compute, &compute).await?
    } else {
        Vec::new()
    };
    let functions = if shape.compute {
        teardown::function_workloads(&compute.client).await?
    } else {
        Vec::new()
    };
    let plan = down::build(PlanInput {
        catalog,
        functions,
        inputs: &inputs,
        shape,
        cluster,
        control_context: &control.context,
        compute_context: &compute.context,
        installed_control: &installed_control,
        installed_compute: &installed_compute,
        rows: found,
        nca_id: &nca,
        remove_persistent: flags.remove_persistent,
        inventory_control,
        inventory_compute,
        timeout: &catalog.helm.timeout,
        notes,
    })?;
    Ok(Prepared {
        plan,
        control,
        compute,
        session,
    })
}

async fn futures_join<A, B>(
    a: impl std::future::Future<Output = A>,
    b: impl std::future::Future<Output = B>,
) -> (A, B) {
    nvcf_shared::operations::stack::down::join(a, b).await
}

async fn run_plan(
    api: &Api<'_>,
    p: Prepared,
    flags: &TeardownFlags,
    drain_timeout: std::time::Duration,
) -> Result<()> {
    let sis = p.session.as_ref().map(|s| Sis { client: &s.client });
    let catalog = Catalog::embedded();
    let events = api.ctx.events();
    let report = down::execute(down::Run {
        plan: &p.plan,
        control: &p.control,
        compute: &p.compute,
        sis: sis.as_ref(),
        remove_persistent: flags.remove_persistent,
        drain_timeout,
        helm_timeout: &catalog.helm.timeout,
        events: &events,
    })
    .await;
    // Upstream's stream ends with `final` however the run ends.
    events.emit(Event::Final(Final::new(
        Ts::now(),
        report.is_ok(),
        api.ctx.elapsed(),
    )));
    events.finish();
    render(&report?, format(api, flags), &mut api.ctx.stdout())
}

pub async fn down(api: &Api<'_>, planes: &PlaneArgs, args: DownArgs) -> Result<()> {
    let drain_timeout = parse_duration("--drain-timeout", &args.drain_timeout)?;
    if !args.dry_run && !args.confirm {
        return Err(Error::usage(
            "down uninstalls releases and deletes the cluster's SIS registration: it needs --confirm",
        )
        .hint("review what it does with --plan-only, then re-run with --confirm"));
    }
    let (shape, cluster, filter) = match (&args.cluster_name, args.all) {
        (Some(name), false) => (
            Shape {
                drain: true,
                compute: true,
                rows: true,
                control: false,
            },
            name.clone(),
            Some(name.as_str()),
        ),
        (None, true) => (
            Shape {
                drain: true,
                compute: true,
                rows: true,
                control: true,
            },
            "all".to_owned(),
            None,
        ),
        _ => {
            return Err(Error::usage("pass exactly one of --cluster-name NAME and --all")
                .hint("--cluster-name takes one GPU cluster down; --all removes every registration and the control plane"));
        }
    };
    let mut notes = Vec::new();
    if !args.all {
        notes.push(
            "the control plane is kept (other clusters may use it): `down --all` removes it".into(),
        );
    }
    let p = prepare(
        api,
        planes,
        &args.flags,
        shape,
        cluster,
        Some(filter),
        notes,
    )
    .await?;
    if args.dry_run {
        return render(&p.plan, format(api, &args.flags), &mut api.ctx.stdout());
    }
    run_plan(api, p, &args.flags, drain_timeout).await
}

pub async fn uninstall(api: &Api<'_>, planes: &PlaneArgs, args: UninstallArgs) -> Result<()> {
    let control = args.control_plane;
    let shape = Shape {
        drain: false,
        compute: !control,
        rows: false,
        control,
    };
    let plane_name = if control {
        "control-plane"
    } else {
        "compute-plane"
    };
    let p = prepare(
        api,
        planes,
        &args.flags,
        shape,
        plane_name.into(),
        Some(None),
        Vec::new(),
    )
    .await?;
    if args.dry_run {
        let mut yaml = String::new();
        for (_, t, inventory) in &p.plan.teardown {
            let side = if control { &p.control } else { &p.compute };
            yaml.push_str(
                &teardown::delete_yaml(&side.helm, t, inventory, args.flags.remove_persistent)
                    .await?,
            );
        }
        return write_out(&mut api.ctx.stdout(), &yaml);
    }
    if !args.force_with_registered_clusters {
        registered_guard(control, &p).await?;
    }
    let mut what: Vec<String> = p
        .plan
        .releases
        .iter()
        .filter(|r| r.installed)
        .map(|r| format!("uninstall release {} -n {}", r.release, r.namespace))
        .collect();
    if args.flags.remove_persistent {
        what.push("and DESTROY this persistent state:".into());
        what.extend(p.plan.remove_persistent.iter().map(|o| format!("  {o}")));
    }
    teardown::confirm(&what, plane_name, args.yes, &api.ctx.env)?;
    run_plan(api, p, &args.flags, std::time::Duration::ZERO).await
}

/// Registered clusters would lose their control plane (or their agent, for the compute
/// plane) without being told: refuse unless forced.
async fn registered_guard(control: bool, p: &Prepared) -> Result<()> {
    let mut unknown = None;
    let registered: BTreeSet<String> =
        if control {
            let listed: Vec<String> = match &p.session {
                Some(s) => match (Sis { client: &s.client }).list(&nca_of(s)).await {
                    Ok(all) => all.into_iter().map(|c| c.cluster_name).collect(),
                    Err(e) => {
                        unknown = Some(e.message());
                        Vec::new()
                    }
                },
                None => Vec::new(),
            };
            let compute_here = helm_releases(&p.compute.client)
                .await?
                .iter()
                .any(|(_, r)| r == "nvca-operator");
            listed
                .into_iter()
                .chain(compute_here.then(|| {
                    "this cluster's compute plane (nvca-operator is installed)".to_owned()
                }))
                .collect()
        } else {
            p.session
                .as_ref()
                .and_then(|s| s.profile.read_state().ok())
                .and_then(|s| s.registration)
                .map(|r| format!("{} ({})", r.cluster_name, r.cluster_id))
                .into_iter()
                .collect()
        };
    if let (true, Some(why)) = (registered.is_empty(), unknown) {
        return Err(Error::new(
            nvcf_shared::base::error::Category::Register,
            format!("cannot tell whether clusters are registered: {why}"),
        )
        .hint("fix SIS access (kubectl nvcf init), or pass --force-with-registered-clusters"));
    }
    if registered.is_empty() {
        return Ok(());
    }
    let list: Vec<String> = registered.into_iter().collect();
    Err(Error::new(
        nvcf_shared::base::error::Category::Conflict,
        format!("still registered: {}", list.join(", ")),
    )
    .hint(if control {
        "take the clusters down first (`kubectl nvcf down --cluster-name NAME --confirm`), or pass --force-with-registered-clusters"
    } else {
        "`kubectl nvcf down --cluster-name NAME --confirm` also deletes the registration; or pass --force-with-registered-clusters"
    }))
}

fn nca_of(s: &nvcf_shared::clients::nvcf::Session) -> String {
    s.profile
        .read_state()
        .ok()
        .and_then(|st| st.registration)
        .map(|r| r.nca_id)
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| s.settings.get("client_id").to_owned())
}
