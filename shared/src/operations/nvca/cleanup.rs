//! `kubectl nvca cleanup`: strip the NVCA finalizers that keep objects and namespaces from
//! going away, then finalize namespaces still stuck in Terminating. A plan is built from
//! reads alone, so `--dry-run` writes nothing.

use super::{FINALIZERS, NAMESPACES};
use crate::base::confirm::Gate;
use crate::base::env::EnvLookup;
use crate::base::error::Result;
use crate::base::output::{Report, column_table};
use crate::clients::kube::{
    FinalizedObject, Objects, finalize_namespace, list_with_finalizers, strip_finalizers,
};
use k8s_openapi::api::core::v1::Namespace;
use serde::Serialize;
use std::time::{Duration, Instant};

#[derive(Debug, Clone)]
pub struct Plan {
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
pub async fn plan(client: &kube::Client, namespaces: Vec<String>) -> Result<Plan> {
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
    Ok(Plan {
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

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CleanupReport {
    pub dry_run: bool,
    pub namespaces: Vec<String>,
    pub finalizers_removed: Vec<FinalizedObject>,
    pub stuck_namespaces: Vec<NamespaceAction>,
}

impl CleanupReport {
    pub fn from_plan(plan: Plan) -> Self {
        CleanupReport {
            dry_run: true,
            namespaces: plan.namespaces,
            finalizers_removed: plan.objects,
            stuck_namespaces: plan
                .stuck_namespaces
                .into_iter()
                .map(|name| NamespaceAction {
                    name,
                    outcome: NamespaceOutcome::WouldFinalize,
                })
                .collect(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.finalizers_removed.is_empty() && self.stuck_namespaces.is_empty()
    }
}

/// Carries out `plan`. A stuck namespace gets `wait` to finish on its own once its
/// finalizers are gone; only then is it finalized by force.
pub async fn execute(client: &kube::Client, plan: Plan, wait: Duration) -> Result<CleanupReport> {
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
    Ok(CleanupReport {
        dry_run: false,
        namespaces: plan.namespaces,
        finalizers_removed: plan.objects,
        stuck_namespaces: stuck,
    })
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
        let verb = |done: &str, would: &str| {
            if self.dry_run {
                would.to_owned()
            } else {
                done.to_owned()
            }
        };
        let mut rows = Vec::new();
        for obj in &self.finalizers_removed {
            let mut row = vec![
                verb("removed finalizers", "would remove finalizers"),
                obj.object.kubectl_name(),
                obj.object.namespace.clone().unwrap_or_else(|| "-".into()),
                obj.matching.join(","),
            ];
            if wide {
                row.push(obj.finalizers.join(","));
            }
            rows.push(row);
        }
        for ns in &self.stuck_namespaces {
            let action = match ns.outcome {
                NamespaceOutcome::WouldFinalize => "would finalize if still stuck",
                NamespaceOutcome::Deleted => "deleted",
                NamespaceOutcome::Finalized => "finalized",
            };
            let mut row = vec![
                action.to_owned(),
                format!("namespace/{}", ns.name),
                "-".into(),
                "kubernetes".into(),
            ];
            if wide {
                row.push(String::new());
            }
            rows.push(row);
        }
        let header: &[&str] = if wide {
            &[
                "action",
                "object",
                "namespace",
                "finalizers",
                "all finalizers",
            ]
        } else {
            &["action", "object", "namespace", "finalizers"]
        };
        column_table(header, rows)
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
