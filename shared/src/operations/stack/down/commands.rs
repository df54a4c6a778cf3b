//! `down` and `uninstall` from their requests: the plan, or its delete YAML, or the run.

use super::guard::registered_guard;
use super::plan::{DownPlan, Shape};
use super::prepare::{Prepared, Scope, TeardownChoice, prepare};
use super::{DownReport, Run, execute};
use crate::base::confirm::Gate;
use crate::base::error::{Error, Result};
use crate::base::events::{Event, Final, Ts};
use crate::clients::nvcf::sis::Sis;
use crate::model::stack::catalog::Catalog;
use crate::model::target::parse_duration;
use crate::operations::reach::Reach;
use crate::operations::stack::teardown;
use std::time::Duration;

pub enum Outcome {
    /// `--dry-run`: what would be done.
    Plan(DownPlan),
    /// `uninstall --dry-run`: the delete YAML for `kubectl delete -f -`.
    Yaml(String),
    Done(DownReport),
}

pub struct DownRequest {
    pub cluster_name: Option<String>,
    /// Every registered cluster of the account, then the control plane.
    pub all: bool,
    pub confirm: bool,
    pub dry_run: bool,
    /// How long to wait for the agent to restart into maintenance mode.
    pub drain_timeout: String,
    pub choice: TeardownChoice,
}

pub async fn down(reach: &Reach<'_>, req: DownRequest) -> Result<Outcome> {
    let drain_timeout = parse_duration("--drain-timeout", &req.drain_timeout)?;
    if !req.dry_run {
        let what = match (&req.cluster_name, req.all) {
            (Some(name), _) => format!("cluster {name}"),
            (None, _) => "every registered cluster and the control plane".to_owned(),
        };
        Gate::proceed(format!(
            "take down {what}: uninstall its releases and delete its SIS registration"
        ))
        .granted_with("--confirm")
        .reviewable()
        .check(req.confirm, reach.env)?;
    }
    let shape = |control| Shape {
        drain: true,
        compute: true,
        rows: true,
        control,
    };
    let mut scope = match (&req.cluster_name, req.all) {
        (Some(name), false) => Scope {
            shape: shape(false),
            cluster: name.clone(),
            rows: Some(Some(name.as_str())),
            notes: Vec::new(),
        },
        (None, true) => Scope {
            shape: shape(true),
            cluster: "all".to_owned(),
            rows: Some(None),
            notes: Vec::new(),
        },
        _ => {
            return Err(Error::usage("pass exactly one of --cluster-name NAME and --all")
                .hint("--cluster-name takes one GPU cluster down; --all removes every registration and the control plane"));
        }
    };
    if !req.all {
        scope.notes.push(
            "the control plane is kept (other clusters may use it): `down --all` removes it".into(),
        );
    }
    let p = prepare(reach, &req.choice, scope).await?;
    if req.dry_run {
        return Ok(Outcome::Plan(p.plan));
    }
    run_plan(reach, p, &req.choice, drain_timeout).await
}

pub struct UninstallRequest {
    /// The control plane's releases; otherwise the compute plane's.
    pub control_plane: bool,
    pub dry_run: bool,
    pub force_with_registered_clusters: bool,
    /// Do not ask for confirmation.
    pub yes: bool,
    pub choice: TeardownChoice,
}

pub async fn uninstall(reach: &Reach<'_>, req: UninstallRequest) -> Result<Outcome> {
    let control = req.control_plane;
    let plane_name = if control {
        "control-plane"
    } else {
        "compute-plane"
    };
    let scope = Scope {
        shape: Shape {
            drain: false,
            compute: !control,
            rows: false,
            control,
        },
        cluster: plane_name.into(),
        rows: Some(None),
        notes: Vec::new(),
    };
    let p = prepare(reach, &req.choice, scope).await?;
    let remove_persistent = req.choice.remove_persistent;
    if req.dry_run {
        let mut yaml = String::new();
        for (_, t, inventory) in &p.plan.teardown {
            let side = if control { &p.control } else { &p.compute };
            yaml.push_str(
                &teardown::delete_yaml(&side.helm, t, inventory, remove_persistent).await?,
            );
        }
        return Ok(Outcome::Yaml(yaml));
    }
    if !req.force_with_registered_clusters {
        registered_guard(control, &p).await?;
    }
    let mut what: Vec<String> = p
        .plan
        .releases
        .iter()
        .filter(|r| r.installed)
        .map(|r| format!("uninstall release {} -n {}", r.release, r.namespace))
        .collect();
    if remove_persistent {
        what.push("and DESTROY this persistent state:".into());
        what.extend(p.plan.remove_persistent.iter().map(|o| format!("  {o}")));
    }
    teardown::confirm(&what, plane_name, req.yes, reach.env)?;
    run_plan(reach, p, &req.choice, Duration::ZERO).await
}

async fn run_plan(
    reach: &Reach<'_>,
    p: Prepared,
    choice: &TeardownChoice,
    drain_timeout: Duration,
) -> Result<Outcome> {
    let sis = p.session.as_ref().map(|s| Sis { client: &s.client });
    let catalog = Catalog::embedded();
    let events = reach.run.events();
    let report = execute(Run {
        plan: &p.plan,
        control: &p.control,
        compute: &p.compute,
        sis: sis.as_ref(),
        remove_persistent: choice.remove_persistent,
        drain_timeout,
        helm_timeout: &catalog.helm.timeout,
        events: &events,
    })
    .await;
    // Upstream's stream ends with `final` however the run ends.
    events.emit(Event::Final(Final::new(
        Ts::now(),
        report.is_ok(),
        reach.run.elapsed(),
    )));
    events.finish();
    Ok(Outcome::Done(report?))
}
