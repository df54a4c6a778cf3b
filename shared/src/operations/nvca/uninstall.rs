//! `kubectl nvca uninstall`: seed 001's ordered removal, as six phases with events.
//!
//! 1. delete the NVCFBackends (the operator then removes the agent);
//! 2. wait for `nvca-system` to empty;
//! 3. `helm uninstall` the operator (its pre-delete hook drains and cleans up);
//! 4. keep the `nvca-cluster-registration` ConfigMap (reinstalls reuse the ids) unless purging;
//! 5. delete the CRDs;
//! 6. delete the namespaces (`nvca-operator` only when purging: it holds the kept ConfigMap).

use super::NAMESPACES;
use crate::base::error::{Category, Error, ExitCode, Result};
use crate::base::events::{Emitter, Event, Final, PhaseCompleted, PhaseFailed, PhaseStarted, Ts};
use crate::base::output::Report;
use crate::base::plan::{Plan, Step, StepState};
use crate::clients::helm::Helm;
use crate::clients::kube::delete;
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
        step(
            4,
            "registration-configmap",
            format!("configmap/{REGISTRATION_CONFIGMAP} -n {OPERATOR_NAMESPACE}"),
            if opts.purge {
                format!("kubectl delete configmap {REGISTRATION_CONFIGMAP} -n {OPERATOR_NAMESPACE}")
            } else {
                format!(
                    "keep configmap {OPERATOR_NAMESPACE}/{REGISTRATION_CONFIGMAP} (--purge deletes it)"
                )
            },
        ),
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

const TOTAL: u32 = 6;

struct Phases<'a> {
    events: &'a Emitter,
    started: Instant,
}

impl Phases<'_> {
    fn start(&mut self, step: &Step) {
        self.started = Instant::now();
        self.events.emit(Event::PhaseStarted(PhaseStarted {
            ts: Ts::now(),
            phase_num: step.phase_num.unwrap_or(0),
            phase: step.phase.clone().unwrap_or_default(),
            total_phases: TOTAL,
            context: None,
            started_at: Some(Ts::now()),
        }));
    }
    fn done(&self, step: &Step) {
        self.events.emit(Event::PhaseCompleted(PhaseCompleted {
            ts: Ts::now(),
            phase_num: step.phase_num.unwrap_or(0),
            phase: step.phase.clone().unwrap_or_default(),
            duration_sec: self.started.elapsed(),
            context: None,
        }));
    }
    fn failed(&self, step: &Step, err: &Error) {
        self.events.emit(Event::PhaseFailed(PhaseFailed::from_error(
            Ts::now(),
            step.phase_num.unwrap_or(0),
            step.phase.clone().unwrap_or_default(),
            self.started.elapsed(),
            err,
        )));
    }
}

/// Step 1: the NVCFBackends, refused while function pods still run (unless `force`).
async fn delete_backends(client: &kube::Client, opts: &Options) -> Result<String> {
    let function_pods = delete::live_pods(client, "nvcf-backend").await?;
    if !function_pods.is_empty() && !opts.force {
        return Err(Error::new(
            Category::Conflict,
            format!(
                "{} function pod(s) still run in nvcf-backend ({})",
                function_pods.len(),
                function_pods.join(", ")
            ),
        )
        .hint(format!(
            "undeploy the functions first ({nvcf_cmd0} …), or pass --force to uninstall anyway",
            nvcf_cmd0 = crate::base::plugin::nvcf("function deploy remove")
        ))
        .exit_code_override(ExitCode::Conflict));
    }
    let deleted =
        delete::delete_all_custom(client, &super::backend::resource(), OPERATOR_NAMESPACE).await?;
    Ok(if deleted.is_empty() {
        "no NVCFBackend found".into()
    } else {
        format!("deleted NVCFBackend {}", deleted.join(", "))
    })
}

/// Step 3: the operator's release, releasing the cleanup finalizers no operator will clear.
async fn uninstall_release(client: &kube::Client, helm: &Helm, opts: &Options) -> Result<String> {
    let timeout = format!("{}s", opts.timeout.as_secs().max(1));
    let Some(manifest) = helm.get_manifest(RELEASE, OPERATOR_NAMESPACE).await? else {
        return Ok(format!("release {RELEASE} not installed"));
    };
    let released = super::orphans::uninstall_releasing_orphans(
        helm,
        client,
        RELEASE,
        OPERATOR_NAMESPACE,
        &manifest,
        &timeout,
    )
    .await?;
    Ok(if released.is_empty() {
        format!("release {RELEASE} uninstalled")
    } else {
        format!(
            "release {RELEASE} uninstalled; no operator ran to clear its cleanup \
             finalizers, released on {}",
            released.join(", ")
        )
    })
}

/// Step 4: the registration ConfigMap, deleted with `purge` and kept otherwise.
async fn registration_configmap(client: &kube::Client, opts: &Options) -> Result<String> {
    if opts.purge {
        let gone =
            delete::delete_configmap(client, OPERATOR_NAMESPACE, REGISTRATION_CONFIGMAP).await?;
        Ok(if gone {
            "deleted".into()
        } else {
            "was not there".into()
        })
    } else if delete::configmap_exists(client, OPERATOR_NAMESPACE, REGISTRATION_CONFIGMAP).await? {
        Ok("kept for a reinstall".into())
    } else {
        Ok("none to keep".into())
    }
}

async fn run_step(
    step: &Step,
    client: &kube::Client,
    helm: &Helm,
    opts: &Options,
) -> Result<String> {
    match step.phase_num.unwrap_or(0) {
        1 => delete_backends(client, opts).await,
        2 => {
            if delete::wait_no_pods(client, "nvca-system", opts.timeout).await? {
                Ok("nvca-system has no pods".into())
            } else {
                Err(Error::new(Category::Timeout, format!("pods still run in nvca-system after {:?}", opts.timeout))
                    .hint(format!("check the operator's logs (kubectl logs -n nvca-operator deploy/nvca-operator); if it is gone, {nvca_cmd0}", nvca_cmd0 = crate::base::plugin::nvca("cleanup removes what it left"))))
            }
        }
        3 => uninstall_release(client, helm, opts).await,
        4 => registration_configmap(client, opts).await,
        5 => {
            let mut deleted = Vec::new();
            for crd in CRDS {
                if delete::delete_crd(client, crd).await? {
                    deleted.push(crd);
                }
            }
            Ok(format!("deleted {} CRD(s)", deleted.len()))
        }
        _ => {
            let mut deleted = Vec::new();
            for ns in namespaces_to_delete(opts.purge) {
                if delete::delete_namespace(client, ns).await? {
                    deleted.push(ns);
                }
            }
            Ok(if deleted.is_empty() {
                "no namespace to delete".into()
            } else {
                format!("deleting {}", deleted.join(", "))
            })
        }
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
    let mut phases = Phases {
        events: &events,
        started,
    };
    let mut plan = plan(opts);
    plan.dry_run = false;
    for step in plan.steps.iter_mut() {
        phases.start(step);
        match run_step(step, client, helm, opts).await {
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
