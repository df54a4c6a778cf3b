//! `down` and `uninstall`: drain the NVCA agent (maintenance mode), uninstall the compute
//! plane in reverse dependency order, delete the cluster's SIS registration, and (for
//! `--all` or `uninstall --control-plane`) the control plane; then check nothing is left.

mod commands;
mod guard;
pub mod plan;
mod prepare;

pub use commands::{DownRequest, Outcome, UninstallRequest, down, uninstall};
pub use plan::{DownPlan, PlanInput, Shape, build};
pub use prepare::TeardownChoice;

use crate::base::error::{Category, Error, Result};
use crate::base::events::{Emitter, Event, PhaseCompleted, PhaseFailed, PhaseStarted, Ts};
use crate::base::output::Report;
use crate::base::plan::{Plan, Step, StepState};
use crate::clients::helm::Helm;
use crate::clients::nvcf::sis::Sis;
use crate::model::stack::catalog::Plane;
use crate::operations::nvca::maintenance;
use crate::operations::stack::status::helm_releases;
use crate::operations::stack::teardown;
use serde::Serialize;
use std::time::{Duration, Instant};

/// One plane's cluster: its context, a client and a helm aimed at it.
pub struct Side {
    pub context: String,
    pub client: kube::Client,
    pub helm: Helm,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DownReport {
    pub cluster: String,
    /// Each step with its phase, and what stays.
    #[serde(flatten)]
    pub plan: Plan,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub drain: Option<maintenance::DrainResult>,
}

impl Report for DownReport {
    fn table(&self, wide: bool) -> String {
        self.plan.table(wide)
    }

    fn names(&self) -> Vec<String> {
        self.plan.names()
    }
}

pub struct Run<'a> {
    pub plan: &'a DownPlan,
    pub control: &'a Side,
    pub compute: &'a Side,
    /// Needed when the plan deletes registration rows.
    pub sis: Option<&'a Sis<'a>>,
    pub remove_persistent: bool,
    pub drain_timeout: Duration,
    pub helm_timeout: &'a str,
    pub events: &'a Emitter,
}

struct Phases<'a> {
    events: &'a Emitter,
    total: u32,
}

impl Phases<'_> {
    async fn run<T>(
        &self,
        p: (u32, &str, u64),
        context: &str,
        work: impl std::future::Future<Output = Result<T>>,
    ) -> Result<T> {
        let started = Instant::now();
        self.events.emit(Event::PhaseStarted(PhaseStarted {
            ts: Ts::now(),
            phase_num: p.0,
            phase: p.1.into(),
            total_phases: self.total,
            context: Some(context.to_owned()),
            started_at: None,
        }));
        match work.await {
            Ok(v) => {
                self.events.emit(Event::PhaseCompleted(PhaseCompleted {
                    ts: Ts::now(),
                    phase_num: p.0,
                    phase: p.1.into(),
                    duration_sec: started.elapsed(),
                    context: Some(context.to_owned()),
                }));
                Ok(v)
            }
            Err(e) => {
                let mut failed =
                    PhaseFailed::from_error(Ts::now(), p.0, p.1, started.elapsed(), &e);
                failed.context = Some(context.to_owned());
                self.events.emit(Event::PhaseFailed(failed));
                Err(e)
            }
        }
    }
}

/// A step of phase `p` that ran.
fn in_phase(p: (u32, &str, u64), object: impl Into<String>) -> Step {
    Step::new(object, StepState::Done).phase(p.0, p.1)
}

fn phase_in(plan: &DownPlan, p: (u32, &str, u64)) -> bool {
    plan.phases.iter().any(|x| x.phase == p.1)
}

/// Runs the plan's phases in order; a re-run after a failure picks up where it stopped
/// (uninstalls and deletes of what is already gone are no-ops).
pub async fn execute(run: Run<'_>) -> Result<DownReport> {
    let plan = run.plan;
    let phases = Phases {
        events: run.events,
        total: plan.phases.last().map_or(0, |p| p.phase_num),
    };
    let mut report = DownReport {
        cluster: plan.cluster.clone(),
        plan: Plan::default(),
        drain: None,
    };
    if phase_in(plan, plan::DRAIN) {
        let d = phases
            .run(
                plan::DRAIN,
                &run.compute.context,
                maintenance::drain(&run.compute.client, run.drain_timeout, false),
            )
            .await?;
        report.plan.steps.push(
            in_phase(
                plan::DRAIN,
                format!(
                    "configmap/{} -n {}",
                    maintenance::AGENT_CONFIG,
                    maintenance::SYSTEM_NAMESPACE
                ),
            )
            .detail(d.message.clone()),
        );
        report.drain = Some(d);
    }
    for (plane, t, inventory) in &plan.teardown {
        let (p, side) = match plane {
            Plane::Compute => (plan::UNINSTALL_COMPUTE, run.compute),
            Plane::Control => (plan::UNINSTALL_CONTROL, run.control),
        };
        if *plane == Plane::Control && phase_in(plan, plan::REMOVE_ROWS) {
            remove_rows(&run, &phases, &mut report).await?;
        }
        let r = phases
            .run(
                p,
                &side.context,
                teardown::execute(
                    &side.helm,
                    &side.client,
                    t,
                    inventory,
                    run.remove_persistent,
                    run.helm_timeout,
                ),
            )
            .await?;
        report
            .plan
            .steps
            .extend(r.steps.into_iter().map(|s| s.phase(p.0, p.1)));
        report.plan.kept.extend(r.kept);
    }
    if phase_in(plan, plan::REMOVE_ROWS)
        && !report
            .plan
            .steps
            .iter()
            .any(|s| s.phase.as_deref() == Some(plan::REMOVE_ROWS.1))
    {
        remove_rows(&run, &phases, &mut report).await?;
    }
    phases
        .run(plan::VERIFY, &run.control.context, verify(&run))
        .await?;
    report
        .plan
        .steps
        .push(in_phase(plan::VERIFY, "helm releases").detail("none of the plan's releases remain"));
    Ok(report)
}

async fn remove_rows(run: &Run<'_>, phases: &Phases<'_>, report: &mut DownReport) -> Result<()> {
    let rows = &run.plan.registration_rows;
    let deleted = phases
        .run(plan::REMOVE_ROWS, "sis", async {
            let Some(sis) = run.sis else {
                return Err(Error::config(
                    "deleting the cluster's registration needs SIS credentials",
                )
                .hint(format!(
                    "run `{nvcf_cmd0}` for this profile (or pass --token), then re-run down",
                    nvcf_cmd0 = crate::base::plugin::nvcf("init")
                )));
            };
            let mut out = Vec::new();
            for r in rows {
                match sis.delete(&r.nca_id, &r.cluster_id).await {
                    Ok(()) => out.push((r, "deleted")),
                    Err(e) if e.category() == Category::NotFound => out.push((r, "already gone")),
                    Err(e) => return Err(e),
                }
            }
            Ok(out)
        })
        .await?;
    for (r, action) in deleted {
        let mut step = in_phase(
            plan::REMOVE_ROWS,
            format!("cluster/{} ({})", r.cluster_name, r.cluster_id),
        )
        .detail(action);
        if action == "already gone" {
            step.state = StepState::Unchanged;
        }
        report.plan.steps.push(step);
    }
    Ok(())
}

/// Every release the plan uninstalls is gone from its cluster.
async fn verify(run: &Run<'_>) -> Result<()> {
    let mut left = Vec::new();
    for (plane, t, _) in &run.plan.teardown {
        let side = match plane {
            Plane::Compute => run.compute,
            Plane::Control => run.control,
        };
        let installed = helm_releases(&side.client).await?;
        left.extend(
            t.releases
                .iter()
                .filter(|(r, ns)| installed.contains(&(ns.clone(), r.clone())))
                .map(|(r, ns)| format!("{r} -n {ns}")),
        );
    }
    if left.is_empty() {
        Ok(())
    } else {
        Err(Error::new(
            Category::ClusterState,
            format!(
                "releases still installed after uninstall: {}",
                left.join(", ")
            ),
        )
        .hint("run the same command again; if a release stays, look at `helm status` for it"))
    }
}

/// Both futures at once (plugins have no async runtime crate of their own).
pub async fn join<A, B>(
    a: impl std::future::Future<Output = A>,
    b: impl std::future::Future<Output = B>,
) -> (A, B) {
    futures_util::future::join(a, b).await
}
