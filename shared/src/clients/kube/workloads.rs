//! Deployments and their pods: restart as `kubectl rollout restart` does, wait for the
//! rollout as `kubectl rollout status` does, and summarize pods with their containers.

use super::from_kube;
use crate::base::error::Result;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams, Patch, PatchParams};
use serde::Serialize;
use std::time::{Duration, Instant};

/// The annotation `kubectl rollout restart` stamps on the pod template.
pub const RESTARTED_AT: &str = "kubectl.kubernetes.io/restartedAt";

pub fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

pub async fn get_deployment(
    client: &kube::Client,
    namespace: &str,
    name: &str,
) -> Result<Option<Deployment>> {
    Api::<Deployment>::namespaced(client.clone(), namespace)
        .get_opt(name)
        .await
        .map_err(|e| from_kube(e, &format!("read Deployment {namespace}/{name}")))
}

/// Stamps a new `restartedAt` on the pod template, so every pod is replaced.
pub async fn restart(client: &kube::Client, namespace: &str, name: &str) -> Result<()> {
    let patch = serde_json::json!({
        "spec": {"template": {"metadata": {"annotations": {RESTARTED_AT: now_rfc3339()}}}}
    });
    Api::<Deployment>::namespaced(client.clone(), namespace)
        .patch(name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .map_err(|e| from_kube(e, &format!("restart Deployment {namespace}/{name}")))?;
    Ok(())
}

/// Whether the Deployment's latest template is fully rolled out: observed, every replica
/// updated and available, and no old replica left.
pub fn rolled_out(d: &Deployment) -> bool {
    let want = d.spec.replicas.unwrap_or(1);
    let Some(st) = &d.status else {
        return false;
    };
    st.observed_generation.unwrap_or(0) >= d.metadata.generation.unwrap_or(0)
        && st.updated_replicas.unwrap_or(0) == want
        && st.replicas.unwrap_or(0) == want
        && st.available_replicas.unwrap_or(0) == want
}

/// Waits for [`rolled_out`]; `false` when `timeout` passed first.
pub async fn wait_rollout(
    client: &kube::Client,
    namespace: &str,
    name: &str,
    timeout: Duration,
) -> Result<bool> {
    let deadline = Instant::now() + timeout;
    loop {
        if get_deployment(client, namespace, name)
            .await?
            .is_some_and(|d| rolled_out(&d))
        {
            return Ok(true);
        }
        if Instant::now() >= deadline {
            return Ok(false);
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ContainerState {
    pub name: String,
    pub ready: bool,
    /// `running`, `waiting: CrashLoopBackOff`, `terminated: Error` …
    pub state: String,
    pub restarts: i32,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PodSummary {
    pub name: String,
    pub phase: String,
    pub ready: bool,
    pub created: String,
    pub containers: Vec<ContainerState>,
}

impl PodSummary {
    pub fn of(pod: &Pod) -> PodSummary {
        let status = pod.status.clone().unwrap_or_default();
        let statuses = status.container_statuses.unwrap_or_default();
        let declared: Vec<String> = pod
            .spec
            .as_ref()
            .map(|s| s.containers.iter().map(|c| c.name.clone()).collect())
            .unwrap_or_default();
        let containers: Vec<ContainerState> = declared
            .iter()
            .map(|name| match statuses.iter().find(|s| &s.name == name) {
                Some(s) => ContainerState {
                    name: name.clone(),
                    ready: s.ready,
                    state: describe_state(s.state.as_ref()),
                    restarts: s.restart_count,
                },
                None => ContainerState {
                    name: name.clone(),
                    ready: false,
                    state: "not started".into(),
                    restarts: 0,
                },
            })
            .collect();
        PodSummary {
            name: pod.metadata.name.clone().unwrap_or_default(),
            phase: status.phase.unwrap_or_else(|| "Unknown".into()),
            ready: !containers.is_empty() && containers.iter().all(|c| c.ready),
            created: pod
                .metadata
                .creation_timestamp
                .as_ref()
                .map(|t| t.0.to_string())
                .unwrap_or_default(),
            containers,
        }
    }

    /// `2/3`, as `kubectl get pods` prints READY.
    pub fn ready_count(&self) -> String {
        format!(
            "{}/{}",
            self.containers.iter().filter(|c| c.ready).count(),
            self.containers.len()
        )
    }
}

fn describe_state(state: Option<&k8s_openapi::api::core::v1::ContainerState>) -> String {
    let Some(s) = state else {
        return "unknown".into();
    };
    if s.running.is_some() {
        "running".into()
    } else if let Some(w) = &s.waiting {
        format!("waiting: {}", w.reason.clone().unwrap_or_default())
    } else if let Some(t) = &s.terminated {
        format!("terminated: {}", t.reason.clone().unwrap_or_default())
    } else {
        "unknown".into()
    }
}

/// Pods in `namespace` matching `selector` (a label selector; empty for all), oldest first.
pub async fn pods(
    client: &kube::Client,
    namespace: &str,
    selector: &str,
) -> Result<Vec<(Pod, PodSummary)>> {
    let mut lp = ListParams::default();
    if !selector.is_empty() {
        lp = lp.labels(selector);
    }
    let list = Api::<Pod>::namespaced(client.clone(), namespace)
        .list(&lp)
        .await
        .map_err(|e| from_kube(e, &format!("list pods in {namespace}")))?;
    let mut out: Vec<(Pod, PodSummary)> = list
        .items
        .into_iter()
        .filter(|p| p.metadata.deletion_timestamp.is_none())
        .map(|p| {
            let s = PodSummary::of(&p);
            (p, s)
        })
        .collect();
    out.sort_by(|a, b| {
        a.0.metadata
            .creation_timestamp
            .cmp(&b.0.metadata.creation_timestamp)
    });
    Ok(out)
}

/// Waits until a pod matching `selector` in `namespace` has every container ready.
pub async fn wait_ready_pod(
    client: &kube::Client,
    namespace: &str,
    selector: &str,
    timeout: Duration,
) -> Result<Option<PodSummary>> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some((_, s)) = pods(client, namespace, selector)
            .await?
            .into_iter()
            .find(|(_, s)| s.ready)
        {
            return Ok(Some(s));
        }
        if Instant::now() >= deadline {
            return Ok(None);
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}
