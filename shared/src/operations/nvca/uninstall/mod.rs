//! `kubectl nvca uninstall`: seed 001's ordered removal, as six phases with events.
//!
//! 1. delete the NVCFBackends (the operator then removes the agent);
//! 2. wait for `nvca-system` to empty;
//! 3. `helm uninstall` the operator (its pre-delete hook drains and cleans up);
//! 4. keep the `nvca-cluster-registration` ConfigMap (reinstalls reuse the ids) unless purging;
//! 5. delete the CRDs;
//! 6. delete the namespaces (`nvca-operator` only when purging: it holds the kept ConfigMap).

mod events;
mod steps;

use super::NAMESPACES;
use crate::base::error::Result;
use crate::base::events::{Emitter, Event, Final, Ts};
use crate::base::output::Report;
use crate::base::plan::{Plan, Step, StepState};
use crate::clients::helm::Helm;
use events::Phases;
use serde::Serialize;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub const RELEASE: &str = "nvca-operator";
pub const OPERATOR_NAMESPACE: &str = "nvca-operator";
pub const REGISTRATION_CONFIGMAP: &str = "nvca-cluster-registration";
pub const CRDS: [&str; 3] = [
    "nvcfbackends.nvcf.nvidia.io",
    "miniservices.nvca.nvcf.nvidia.io",
    "storagerequests.nvca.nvcf.nvidia.io",
];

#[derive(Debug, Clone)]
pub struct Options {
    pub purge: bool,
    pub force: bool,
    pub timeout: Duration,
}

/// The six steps, planned or as they ran, and whether `--purge` was asked.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UninstallReport {
    #[serde(flatten)]
    pub plan: Plan,
    pub purge: bool,
}

fn namespaces_to_delete(purge: bool) -> Vec<&'static str> {
    NAMESPACES
        .iter()
        .copied()
        .filter(|ns| purge || *ns != OPERATOR_NAMESPACE)
        .collect()
}

/// Step 4: the registration ConfigMap deleted with `purge`; otherwise kept, a `skipped`
/// step with no command and why in its detail.
fn registration_step(purge: bool) -> Step {
    let step = Step::new(
        format!("configmap/{REGISTRATION_CONFIGMAP} -n {OPERATOR_NAMESPACE}"),
        StepState::Planned,
    )
    .phase(4, "registration-configmap");
    if purge {
        step.command(format!(
            "kubectl delete configmap {REGISTRATION_CONFIGMAP} -n {OPERATOR_NAMESPACE}"
        ))
    } else {
        Step {
            state: StepState::Skipped,
            ..step
        }
        .detail("kept: a reinstall reuses its cluster IDs (--purge deletes it)")
    }
}

/// The six steps, as they would run: what `--dry-run` prints.
pub fn plan(opts: &Options) -> Plan {
    let step = |n: u32, phase: &str, target: String, command: String| {
        Step::new(target, StepState::Planned)
            .phase(n, phase)
            .command(command)
    };
    let steps = vec![
        step(
            1,
            "delete-nvcfbackends",
            format!("nvcfbackends -n {OPERATOR_NAMESPACE}"),
            format!("kubectl delete nvcfbackends --all -n {OPERATOR_NAMESPACE}"),
        ),
        step(
            2,
            "wait-agent-gone",
            "pods -n nvca-system".into(),
            "wait until kubectl get pods -n nvca-system lists none".into(),
        ),
        step(
            3,
            "helm-uninstall",
            format!("release/{RELEASE} -n {OPERATOR_NAMESPACE}"),
            format!("helm uninstall {RELEASE} -n {OPERATOR_NAMESPACE}"),
        ),
        registration_step(opts.purge),
        step(
            5,
            "delete-crds",
            format!("crd/{}", CRDS.join(", crd/")),
            format!("kubectl delete crd {}", CRDS.join(" ")),
        ),
        step(
            6,
            "delete-namespaces",
            format!(
                "namespace/{}",
                namespaces_to_delete(opts.purge).join(", namespace/")
            ),
            format!(
                "kubectl delete namespace {}",
                namespaces_to_delete(opts.purge).join(" ")
            ),
        ),
    ];
    Plan {
        steps,
        ..Plan::new("uninstall the NVCA operator, its agent and its CRDs", true)
    }
}

/// Runs the steps in order; the first failure stops the run (a `phase_failed` event, then
/// `final`), so re-running after fixing it continues where it stopped.
pub async fn run(
    client: &kube::Client,
    helm: &Helm,
    opts: &Options,
    events: Arc<Emitter>,
) -> Result<UninstallReport> {
    let started = Instant::now();
    let mut phases = Phases::new(&events);
    let mut plan = plan(opts);
    plan.dry_run = false;
    for step in plan.steps.iter_mut() {
        phases.start(step);
        match steps::run_step(step, client, helm, opts).await {
            Ok(result) => {
                // Without --purge the registration ConfigMap stays for a reinstall.
                step.state = if step.phase_num == Some(4) && !opts.purge {
                    StepState::Skipped
                } else {
                    StepState::Done
                };
                step.detail = result;
                phases.done(step);
            }
            Err(err) => {
                phases.failed(step, &err);
                events.emit(Event::Final(Final::new(
                    Ts::now(),
                    false,
                    started.elapsed(),
                )));
                return Err(err);
            }
        }
    }
    events.emit(Event::Final(Final::new(Ts::now(), true, started.elapsed())));
    Ok(UninstallReport {
        plan,
        purge: opts.purge,
    })
}

impl Report for UninstallReport {
    fn table(&self, wide: bool) -> String {
        self.plan.table(wide)
    }
    fn names(&self) -> Vec<String> {
        self.plan
            .steps
            .iter()
            .map(|s| format!("step/{}", s.phase.as_deref().unwrap_or(&s.step)))
            .collect()
    }
}
