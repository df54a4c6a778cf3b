//! Rollout restart and rollout status through the API, exactly as `kubectl rollout` does
//! them (runbooks.md §2.1, §2.2): the restart is the `kubectl.kubernetes.io/restartedAt`
//! pod-template annotation, and "done" is kubectl's own status arithmetic.

use super::services::{Kind, Service};
use crate::base::error::{Category, Error, Result};
use crate::clients::kube::Objects;
use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use serde::Serialize;
use std::time::{Duration, Instant};

pub const RESTARTED_AT: &str = "kubectl.kubernetes.io/restartedAt";

/// A workload's rollout state, read from its status.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct RolloutState {
    pub generation: i64,
    pub observed_generation: i64,
    pub desired: i32,
    pub current: i32,
    pub updated: i32,
    pub ready: i32,
    pub available: i32,
    /// Set when the rollout is complete.
    pub done: bool,
    /// Set when the rollout cannot finish (Deployment `ProgressDeadlineExceeded`, or a
    /// StatefulSet strategy that never replaces pods by itself).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stuck: Option<String>,
    /// A StatefulSet's `currentRevision == updateRevision`.
    #[serde(skip)]
    pub revisions_match: bool,
}

impl RolloutState {
    pub fn summary(&self) -> String {
        format!(
            "{}/{} updated, {} ready, {} available, {} total",
            self.updated, self.desired, self.ready, self.available, self.current
        )
    }
}

pub fn deployment_state(d: &Deployment) -> RolloutState {
    let generation = d.metadata.generation.unwrap_or(0);
    let desired = d.spec.replicas.unwrap_or(1);
    let st = d.status.clone().unwrap_or_default();
    let observed_generation = st.observed_generation.unwrap_or(0);
    let updated = st.updated_replicas.unwrap_or(0);
    let current = st.replicas.unwrap_or(0);
    let available = st.available_replicas.unwrap_or(0);
    let stuck = st
        .conditions
        .unwrap_or_default()
        .into_iter()
        .find(|c| {
            c.type_.as_deref() == Some("Progressing")
                && c.reason.as_deref() == Some("ProgressDeadlineExceeded")
        })
        .map(|c| {
            format!(
                "progress deadline exceeded: {}",
                c.message.unwrap_or_default()
            )
        });
    // kubectl's DeploymentStatusViewer.
    let done = observed_generation >= generation
        && updated >= desired
        && current <= updated
        && available >= updated;
    RolloutState {
        generation,
        observed_generation,
        desired,
        current,
        updated,
        ready: st.ready_replicas.unwrap_or(0),
        available,
        done,
        stuck,
        revisions_match: true,
    }
}

pub fn statefulset_state(s: &StatefulSet) -> RolloutState {
    let generation = s.metadata.generation.unwrap_or(0);
    let spec = s.spec.clone();
    let desired = spec.replicas.unwrap_or(1);
    let st = s.status.clone().unwrap_or_default();
    let observed_generation = st.observed_generation.unwrap_or(0);
    let strategy = spec.update_strategy.unwrap_or_default();
    let partition = strategy
        .rolling_update
        .as_ref()
        .and_then(|r| r.partition)
        .unwrap_or(0);
    let stuck = match strategy.type_.as_deref() {
        Some("OnDelete") => Some(
            "updateStrategy is OnDelete: the controller replaces no pod until it is deleted".into(),
        ),
        _ if partition > 0 => Some(format!(
            "rollingUpdate.partition is {partition}: pods below that ordinal are never replaced"
        )),
        _ => None,
    };
    let revisions_match = st.update_revision.is_some() && st.current_revision == st.update_revision;
    let updated = st.updated_replicas.unwrap_or(0);
    let ready = st.ready_replicas.unwrap_or(0);
    // kubectl's StatefulSetStatusViewer for RollingUpdate without a partition.
    let done = observed_generation >= generation
        && ready >= desired
        && updated >= desired
        && revisions_match;
    RolloutState {
        generation,
        observed_generation,
        desired,
        current: st.replicas,
        updated,
        ready,
        available: st.available_replicas.unwrap_or(ready),
        done,
        stuck,
        revisions_match,
    }
}

/// Reads the current rollout state of `svc`.
pub async fn state(client: &kube::Client, svc: &Service) -> Result<RolloutState> {
    match svc.kind {
        Kind::Deployment => Objects::<Deployment>::namespaced(client, &svc.namespace)
            .get(&svc.resource)
            .await
            .map(|d| deployment_state(&d)),
        Kind::StatefulSet => Objects::<StatefulSet>::namespaced(client, &svc.namespace)
            .get(&svc.resource)
            .await
            .map(|s| statefulset_state(&s)),
    }
    .map_err(|e| not_found_hint(e, svc))
}

fn not_found_hint(e: Error, svc: &Service) -> Error {
    if e.category() == Category::NotFound {
        e.hint(format!(
            "is the stack installed here? check with kubectl get {} -n {}",
            svc.kind.as_str().to_ascii_lowercase(),
            svc.namespace
        ))
    } else {
        e
    }
}

/// Stamps the restart annotation, as `kubectl rollout restart` does.
pub async fn restart(client: &kube::Client, svc: &Service, at: &str) -> Result<()> {
    let patch = serde_json::json!({
        "spec": {"template": {"metadata": {"annotations": {RESTARTED_AT: at}}}}
    });
    match svc.kind {
        Kind::Deployment => Objects::<Deployment>::namespaced(client, &svc.namespace)
            .merge_patch(&svc.resource, &patch)
            .await
            .map(drop),
        Kind::StatefulSet => Objects::<StatefulSet>::namespaced(client, &svc.namespace)
            .merge_patch(&svc.resource, &patch)
            .await
            .map(drop),
    }
}

/// What a finished wait saw.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Waited {
    pub state: RolloutState,
    pub seconds: f64,
    /// The fewest ready replicas seen while waiting (quorum evidence for StatefulSets).
    pub min_ready: i32,
}

/// Polls until the rollout of `svc` is done, it is stuck, or `timeout` passes.
pub async fn wait(client: &kube::Client, svc: &Service, timeout: Duration) -> Result<Waited> {
    let started = Instant::now();
    let mut min_ready = i32::MAX;
    loop {
        let st = state(client, svc).await?;
        min_ready = min_ready.min(st.ready);
        if st.done {
            return Ok(Waited {
                seconds: (started.elapsed().as_secs_f64() * 10.0).round() / 10.0,
                min_ready,
                state: st,
            });
        }
        if let Some(why) = &st.stuck {
            return Err(Error::new(
                Category::ClusterState,
                format!("the rollout of {} cannot finish: {why}", svc.reference()),
            )
            .hint(format!(
                "look at the new pods: kubectl describe {} {} -n {}",
                svc.kind.as_str().to_ascii_lowercase(),
                svc.resource,
                svc.namespace
            )));
        }
        if started.elapsed() >= timeout {
            return Err(Error::new(
                Category::Timeout,
                format!(
                    "the rollout of {} did not finish within {}s: {}",
                    svc.reference(),
                    timeout.as_secs(),
                    st.summary()
                ),
            )
            .hint(format!(
                "see why the new pods are not ready: kubectl get pods -n {} and kubectl describe {} {} -n {}; the restart itself was applied, so re-running only waits again once fixed (or raise --timeout)",
                svc.namespace,
                svc.kind.as_str().to_ascii_lowercase(),
                svc.resource,
                svc.namespace
            )));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deployment(generation: i64, status: serde_json::Value) -> Deployment {
        serde_json::from_value(serde_json::json!({
            "metadata": {"name": "d", "generation": generation},
            "spec": {"replicas": 2, "selector": {}, "template": {}},
            "status": status,
        }))
        .unwrap()
    }

    #[test]
    fn a_deployment_is_done_only_when_no_old_pod_remains() {
        let rolling = deployment(
            3,
            serde_json::json!({"observedGeneration": 3, "replicas": 3, "updatedReplicas": 2, "availableReplicas": 2}),
        );
        assert!(!deployment_state(&rolling).done);
        let done = deployment(
            3,
            serde_json::json!({"observedGeneration": 3, "replicas": 2, "updatedReplicas": 2, "availableReplicas": 2}),
        );
        assert!(deployment_state(&done).done);
        let unobserved = deployment(
            4,
            serde_json::json!({"observedGeneration": 3, "replicas": 2, "updatedReplicas": 2, "availableReplicas": 2}),
        );
        assert!(!deployment_state(&unobserved).done);
        let stuck = deployment(
            3,
            serde_json::json!({"observedGeneration": 3, "conditions": [{"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded", "message": "ReplicaSet d-1 has timed out"}]}),
        );
        assert!(
            deployment_state(&stuck)
                .stuck
                .unwrap()
                .contains("timed out")
        );
    }

    #[test]
    fn a_statefulset_is_done_when_every_pod_runs_the_update_revision() {
        let sts = |current: &str| -> StatefulSet {
            serde_json::from_value(serde_json::json!({
                "metadata": {"name": "s", "generation": 2},
                "spec": {"replicas": 3, "selector": {}, "template": {}, "serviceName": "s"},
                "status": {"observedGeneration": 2, "replicas": 3, "readyReplicas": 3, "updatedReplicas": 3,
                           "currentRevision": current, "updateRevision": "s-2"},
            }))
            .unwrap()
        };
        assert!(!statefulset_state(&sts("s-1")).done);
        assert!(statefulset_state(&sts("s-2")).done);
    }
}
