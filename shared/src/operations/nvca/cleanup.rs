//! `kubectl nvca cleanup`: strip the NVCA finalizers that keep objects and namespaces from
//! going away, then finalize namespaces still stuck in Terminating. A plan is built from
//! reads alone, so `--dry-run` writes nothing.

use super::{FINALIZERS, NAMESPACES};
use crate::base::confirm::Gate;
use crate::base::env::EnvLookup;
use crate::base::error::Result;
use crate::base::output::Report;
use crate::base::plan::{Plan, Step, StepState};
use crate::clients::kube::{
    FinalizedObject, Objects, finalize_namespace, list_with_finalizers, strip_finalizers,
};
use k8s_openapi::api::core::v1::Namespace;
use serde::Serialize;
use std::time::{Duration, Instant};

/// What cleanup found to do, from reads alone; [`execute`] carries it out.
#[derive(Debug, Clone)]
pub struct Found {
    pub namespaces: Vec<String>,
    pub objects: Vec<FinalizedObject>,
    pub stuck_namespaces: Vec<String>,
}

/// Cluster-scoped kinds worth scanning: NVCA's own API groups, and the operator's
/// ClusterRole and ClusterRoleBinding (the real chart puts its cleanup finalizer on both).
fn nvca_cluster_kind(r: &kube::discovery::ApiResource) -> bool {
    r.group.ends_with("nvidia.io")
        || (r.group == "rbac.authorization.k8s.io"
            && matches!(r.kind.as_str(), "ClusterRole" | "ClusterRoleBinding"))
}

/// `namespaces` defaults to NVCA's own when empty.
pub async fn plan(client: &kube::Client, namespaces: Vec<String>) -> Result<Found> {
    let namespaces = if namespaces.is_empty() {
        NAMESPACES.iter().map(|s| s.to_string()).collect()
    } else {
        namespaces
    };
    let objects = list_with_finalizers(client, &namespaces, nvca_cluster_kind, |f| {
        FINALIZERS.contains(&f)
    })
    .await?;
    let all = Objects::<Namespace>::cluster(client);
    let mut stuck_namespaces = Vec::new();
    for name in &namespaces {
        let ns = all.get_opt(name).await?;
        if ns.and_then(|n| n.status).and_then(|s| s.phase).as_deref() == Some("Terminating") {
            stuck_namespaces.push(name.clone());
        }
    }
    Ok(Found {
        namespaces,
        objects,
        stuck_namespaces,
    })
}

#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum NamespaceOutcome {
    /// Dry run: it would be waited for, then finalized if still there.
    WouldFinalize,
    /// It went away by itself once the finalizers were gone.
    Deleted,
    /// Still there after the wait: its `spec.finalizers` were cleared.
    Finalized,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NamespaceAction {
    pub name: String,
    pub outcome: NamespaceOutcome,
}

/// What cleanup did (or would do): a step an object or namespace, in the shared plan shape,
/// and the objects with their finalizers.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CleanupReport {
    #[serde(flatten)]
    pub plan: Plan,
    pub namespaces: Vec<String>,
    pub finalizers_removed: Vec<FinalizedObject>,
    pub stuck_namespaces: Vec<NamespaceAction>,
}

impl CleanupReport {
    fn new(
        dry_run: bool,
        namespaces: Vec<String>,
        objects: Vec<FinalizedObject>,
        stuck: Vec<NamespaceAction>,
    ) -> Self {
        let mut plan = Plan::new(
            "remove NVCA finalizers and finalize namespaces stuck in Terminating",
            dry_run,
        );
        let will = plan.will();
        plan.steps = objects
            .iter()
            .map(|o| object_step(o, will))
            .chain(stuck.iter().map(namespace_step))
            .collect();
        CleanupReport {
            plan,
            namespaces,
            finalizers_removed: objects,
            stuck_namespaces: stuck,
        }
    }

    pub fn from_plan(found: Found) -> Self {
        let stuck = found
            .stuck_namespaces
            .into_iter()
            .map(|name| NamespaceAction {
                name,
                outcome: NamespaceOutcome::WouldFinalize,
            })
            .collect();
        CleanupReport::new(true, found.namespaces, found.objects, stuck)
    }

    pub fn is_empty(&self) -> bool {
        self.finalizers_removed.is_empty() && self.stuck_namespaces.is_empty()
    }
}

fn object_step(o: &FinalizedObject, state: StepState) -> Step {
    let name = o.object.kubectl_name();
    let ns = o
        .object
        .namespace
        .as_ref()
        .map(|n| format!(" -n {n}"))
        .unwrap_or_default();
    let keep: Vec<&String> = o
        .finalizers
        .iter()
        .filter(|f| !o.matching.contains(f))
        .collect();
    let keep = serde_json::to_string(&keep).unwrap_or_else(|_| "[]".into());
    Step::new(format!("{name}{ns}"), state)
        .command(format!(
            "kubectl patch {name}{ns} --type=merge -p '{{\"metadata\":{{\"finalizers\":{keep}}}}}'"
        ))
        .detail(format!("finalizers {}", o.matching.join(",")))
}

fn namespace_step(ns: &NamespaceAction) -> Step {
    let (state, detail) = match ns.outcome {
        NamespaceOutcome::WouldFinalize => (StepState::Planned, "finalize if still stuck"),
        NamespaceOutcome::Deleted => (StepState::Done, "deleted"),
        NamespaceOutcome::Finalized => (StepState::Done, "finalized"),
    };
    Step::new(format!("namespace/{}", ns.name), state)
        .command(format!(
            "kubectl get namespace {n} -o json | jq '.spec.finalizers=[]' | kubectl replace --raw /api/v1/namespaces/{n}/finalize -f -",
            n = ns.name
        ))
        .detail(detail)
}

/// Carries out `plan`. A stuck namespace gets `wait` to finish on its own once its
/// finalizers are gone; only then is it finalized by force.
pub async fn execute(client: &kube::Client, plan: Found, wait: Duration) -> Result<CleanupReport> {
    for obj in &plan.objects {
        strip_finalizers(client, obj).await?;
    }
    let all = Objects::<Namespace>::cluster(client);
    let deadline = Instant::now() + wait;
    let mut stuck = Vec::new();
    for name in &plan.stuck_namespaces {
        let outcome = loop {
            let present = all.get_opt(name).await?.is_some();
            if !present {
                break NamespaceOutcome::Deleted;
            }
            if Instant::now() >= deadline {
                break if finalize_namespace(client, name).await? {
                    NamespaceOutcome::Finalized
                } else {
                    NamespaceOutcome::Deleted
                };
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        };
        stuck.push(NamespaceAction {
            name: name.clone(),
            outcome,
        });
    }
    Ok(CleanupReport::new(
        false,
        plan.namespaces,
        plan.objects,
        stuck,
    ))
}

/// Cleanup bypasses the operator's own cleanup, so a real run is confirmed first.
pub fn confirm(report: &CleanupReport, yes: bool, env: &dyn EnvLookup) -> Result<()> {
    if report.is_empty() {
        return Ok(());
    }
    Gate::proceed(format!(
        "remove finalizers from {} object(s) and finalize {} namespace(s), bypassing the operator's own cleanup",
        report.finalizers_removed.len(),
        report.stuck_namespaces.len()
    ))
    .showing([format!(
        "try `{}` first: it lets the operator clean up after itself",
        crate::base::plugin::nvca("uninstall")
    )])
    .reviewable()
    .check(yes, env)
}

impl Report for CleanupReport {
    fn table(&self, wide: bool) -> String {
        if self.is_empty() {
            return format!(
                "Nothing to clean up in {}: no NVCA finalizers and no namespace stuck in Terminating.\n",
                self.namespaces.join(", ")
            );
        }
        self.plan.table(wide)
    }

    fn names(&self) -> Vec<String> {
        self.finalizers_removed
            .iter()
            .map(|o| o.object.kubectl_name())
            .chain(
                self.stuck_namespaces
                    .iter()
                    .map(|n| format!("namespace/{}", n.name)),
            )
            .collect()
    }
}
