//! Rotating an `OnDelete` StatefulSet's pods after its chart changed: `helm upgrade` alone
//! restarts none. One pod at a time, highest ordinal first (OpenBao's upgrade runbook:
//! 2, 1, 0), each back Ready (and, for OpenBao, unsealed) before the next goes.
//!
//! Progress lives in the cluster: a pod is outdated while its `controller-revision-hash`
//! differs from the StatefulSet's `status.updateRevision`, so a rotation cut off anywhere
//! continues on the next run where it stopped.

use crate::base::error::{Category, Error, Result};
use crate::clients::kube::Objects;
use crate::model::stack::catalog::Workload;
use crate::operations::stack::openbao::{self, SealState};
use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::Pod;
use serde::Serialize;
use std::time::{Duration, Instant};

const REVISION_LABEL: &str = "controller-revision-hash";
const POLL: Duration = Duration::from_secs(1);

/// The pods of one StatefulSet still on an old revision, in rotation order.
#[derive(Debug, Clone, Serialize)]
pub struct Outdated {
    pub statefulset: String,
    pub namespace: String,
    pub update_revision: String,
    pub pods: Vec<String>,
}

/// How long each rotated pod gets to come back Ready, then unsealed.
#[derive(Debug, Clone, Copy)]
pub struct Waits {
    pub ready: Duration,
    pub unseal: Duration,
}

impl Waits {
    /// Look once, wait for nothing.
    pub const NONE: Waits = Waits {
        ready: Duration::ZERO,
        unseal: Duration::ZERO,
    };
}

fn ordinal(pod: &str) -> u32 {
    pod.rsplit('-')
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

fn is_ready(pod: &Pod) -> bool {
    pod.metadata.deletion_timestamp.is_none()
        && pod
            .status
            .as_ref()
            .and_then(|s| s.conditions.as_ref())
            .is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}

fn revision(pod: &Pod) -> Option<&str> {
    pod.metadata
        .labels
        .as_ref()?
        .get(REVISION_LABEL)
        .map(String::as_str)
}

/// The StatefulSet once its controller has seen its latest spec; `None` if it is absent.
async fn observed(client: &kube::Client, ns: &str, name: &str) -> Result<Option<StatefulSet>> {
    let api = Objects::<StatefulSet>::namespaced(client, ns);
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let sts = api.get_opt(name).await?;
        let Some(sts) = sts else { return Ok(None) };
        let generation = sts.metadata.generation.unwrap_or(0);
        let seen = sts
            .status
            .as_ref()
            .and_then(|s| s.observed_generation)
            .unwrap_or(0);
        if seen >= generation || Instant::now() > deadline {
            return Ok(Some(sts));
        }
        tokio::time::sleep(POLL).await;
    }
}

/// The outdated pods of StatefulSet `ns/name`; `None` when it does not exist.
pub async fn outdated(client: &kube::Client, ns: &str, name: &str) -> Result<Option<Outdated>> {
    let Some(sts) = observed(client, ns, name).await? else {
        return Ok(None);
    };
    let update_revision = sts
        .status
        .and_then(|s| s.update_revision)
        .unwrap_or_default();
    let pods = crate::clients::kube::objects::statefulset_pods(client, ns, name)
        .await?
        .unwrap_or_default();
    let mut stale: Vec<String> = pods
        .iter()
        .filter(|p| !update_revision.is_empty() && revision(p) != Some(update_revision.as_str()))
        .filter_map(|p| p.metadata.name.clone())
        .collect();
    stale.sort_by_key(|p| std::cmp::Reverse(ordinal(p)));
    Ok(Some(Outdated {
        statefulset: name.to_owned(),
        namespace: ns.to_owned(),
        update_revision,
        pods: stale,
    }))
}

/// Rotates every outdated pod of `w` in `ns`; the pods rotated, in order. `note` hears
/// each step; `rotated` hears each pod once it is back (a step boundary).
pub async fn rotate(
    client: &kube::Client,
    ns: &str,
    w: &Workload,
    waits: Waits,
    note: &(dyn Fn(&str) + Sync),
    rotated_one: &(dyn Fn(&str) + Sync),
) -> Result<Vec<String>> {
    let mut rotated = Vec::new();
    loop {
        // A pod deleted by a run that was cut off comes back first.
        all_ready(client, ns, &w.name, waits.ready).await?;
        let Some(stale) = outdated(client, ns, &w.name).await? else {
            return Ok(rotated);
        };
        let Some(pod) = stale.pods.first() else {
            return Ok(rotated);
        };
        note(&format!(
            "rotating {ns}/{pod} to revision {}",
            stale.update_revision
        ));
        Objects::<Pod>::namespaced(client, ns).delete(pod).await?;
        wait_replaced(client, ns, pod, &stale.update_revision, waits.ready).await?;
        if w.health == "openbaoUnsealed" {
            wait_pod_unsealed(client, ns, &w.name, pod, waits.unseal).await?;
        }
        rotated_one(pod);
        rotated.push(pod.clone());
    }
}

/// Waits until StatefulSet `ns/name` has all its replicas Ready.
async fn all_ready(client: &kube::Client, ns: &str, name: &str, timeout: Duration) -> Result<()> {
    let deadline = Instant::now() + timeout;
    loop {
        let Some((ready, want)) =
            crate::clients::kube::objects::ready_replicas(client, "StatefulSet", ns, name).await?
        else {
            return Ok(());
        };
        if ready >= want {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(timed_out(
                format!(
                    "StatefulSet {ns}/{name} has {ready}/{want} pods Ready; no pod is rotated while one is down"
                ),
                ns,
            ));
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Waits until pod `ns/pod` is back on `revision` and Ready.
async fn wait_replaced(
    client: &kube::Client,
    ns: &str,
    pod: &str,
    revision_want: &str,
    timeout: Duration,
) -> Result<()> {
    let api = Objects::<Pod>::namespaced(client, ns);
    let deadline = Instant::now() + timeout;
    loop {
        let p = api.get_opt(pod).await?;
        if p.as_ref()
            .is_some_and(|p| revision(p) == Some(revision_want) && is_ready(p))
        {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(timed_out(
                format!("pod {ns}/{pod} did not come back Ready on revision {revision_want}"),
                ns,
            ));
        }
        tokio::time::sleep(POLL).await;
    }
}

async fn wait_pod_unsealed(
    client: &kube::Client,
    ns: &str,
    sts: &str,
    pod: &str,
    timeout: Duration,
) -> Result<()> {
    let deadline = Instant::now() + timeout;
    loop {
        let report = openbao::seal_report(client, ns, sts).await?;
        let state = report.pods.iter().find(|(p, _)| p == pod).map(|(_, s)| s);
        if state == Some(&SealState::Unsealed) {
            return Ok(());
        }
        if Instant::now() > deadline {
            let only = openbao::SealReport {
                pods: report.pods.into_iter().filter(|(p, _)| p == pod).collect(),
            };
            return Err(Error::new(
                Category::ChecksFailed,
                format!(
                    "{pod} came back Ready but not unsealed: {}; the rotation stopped there",
                    only.detail()
                ),
            )
            .hint(only.fix(ns))
            .hint(
                "run the same upgrade again once it is unsealed: it continues with the next pod",
            ));
        }
        tokio::time::sleep(POLL).await;
    }
}

fn timed_out(message: String, ns: &str) -> Error {
    Error::new(Category::Timeout, message).hint(format!(
        "kubectl get pods -n {ns} shows why; run the same upgrade again to continue"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pods_rotate_highest_ordinal_first() {
        let mut pods = vec!["openbao-server-0", "openbao-server-2", "openbao-server-10"];
        pods.sort_by_key(|p| std::cmp::Reverse(ordinal(p)));
        assert_eq!(
            pods,
            ["openbao-server-10", "openbao-server-2", "openbao-server-0"]
        );
    }
}
