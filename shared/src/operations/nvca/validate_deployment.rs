//! `kubectl nvca validate-deployment <fid> [vid]`: one function's health on this cluster,
//! as upstream's `cluster agent validate-deployment`: its pods ready, queue health from the
//! ICMSRequest's phase, GPU utilization from the NVCFBackend's `status.gpuUsage`.
//!
//! The function's pods are the pods in its ICMSRequest's namespace (`nvcf-backend`, where
//! NVCA runs function and task pods) that the request owns or that carry the function id
//! as a label value: the agent labels its workloads with the id, under keys that differ
//! between NVCA releases, so the value is what is matched.

use super::functions::{self, Function, Phase};
use crate::base::checks::{Runner, Spec, Verdict, spec};
use crate::base::error::Result;
use crate::base::events::Severity;
use crate::clients::kube::probes::custom_objects;
use crate::clients::kube::workloads::{self, PodSummary};
use k8s_openapi::api::core::v1::Pod;
use std::collections::BTreeMap;

const PODS: Spec = spec(
    "pod-readiness",
    "function's pods ready",
    "see why: kubectl describe pod POD -n NAMESPACE (names in the message); kubectl logs -n nvca-system deployment/nvca",
);
const PODS_PENDING: Spec = Spec {
    severity: Severity::Warning,
    ..PODS
};
const QUEUE: Spec = spec(
    "queue-health",
    "function's ICMSRequest is ACTIVE",
    "see what the agent reports: {nvca} functions get FUNCTION_ID -o yaml; kubectl logs -n nvca-system deployment/nvca",
);
const QUEUE_PENDING: Spec = Spec {
    severity: Severity::Warning,
    ..QUEUE
};
const GPU_UTIL: Spec = Spec {
    severity: Severity::Warning,
    ..spec(
        "gpu-utilization",
        "GPU allocation at or below 90%",
        "add GPU nodes or drain functions you do not need: {nvca} functions list",
    )
};

/// Whether `pod` belongs to `f`: owned by its ICMSRequest, or labelled with its id (and,
/// when a label names a version, with its version).
pub fn belongs(pod: &Pod, f: &Function) -> bool {
    let owned = pod
        .metadata
        .owner_references
        .iter()
        .flatten()
        .any(|o| !f.uid.is_empty() && o.uid == f.uid);
    let labels = pod.metadata.labels.clone().unwrap_or_default();
    let has = |v: &str| !v.is_empty() && labels.values().any(|l| l == v);
    owned
        || (has(&f.function_id)
            && (f.function_version_id.is_empty() || !names_other_version(&labels, f)))
}

/// A label whose key speaks of a version and whose value is not this version.
fn names_other_version(labels: &BTreeMap<String, String>, f: &Function) -> bool {
    labels.iter().any(|(k, v)| {
        let k = k.to_ascii_lowercase();
        k.contains("version") && k.contains("function") && *v != f.function_version_id
    })
}

/// The readiness verdict, and whether a shortfall is only a warning (the function is
/// still deploying, so pods may be on their way).
pub fn pods_verdict(f: &Function, pods: &[PodSummary]) -> (Verdict, bool) {
    let deploying = matches!(f.phase, Phase::Deploying);
    if pods.is_empty() {
        let seen = format!("no pod of function {} in {}", f.function_id, f.namespace);
        return (Verdict::fail(seen), deploying);
    }
    let ready = pods.iter().filter(|p| p.ready).count();
    let not_ready: Vec<String> = pods
        .iter()
        .filter(|p| !p.ready)
        .map(|p| {
            let why: Vec<String> = p
                .containers
                .iter()
                .filter(|c| !c.ready)
                .map(|c| format!("{} {}", c.name, c.state))
                .collect();
            format!(
                "{}/{} ({}; {})",
                f.namespace,
                p.name,
                p.phase,
                why.join(", ")
            )
        })
        .collect();
    let seen = format!("{ready}/{} pod(s) ready", pods.len());
    if not_ready.is_empty() {
        (Verdict::pass(seen), false)
    } else {
        (
            Verdict::fail(format!("{seen}; not ready: {}", not_ready.join("; "))),
            deploying,
        )
    }
}

/// The GPU utilization verdict from `(capacity, allocated)` totals.
pub fn gpu_verdict(capacity: i64, allocated: i64) -> Verdict {
    if capacity <= 0 {
        return Verdict::skip("the NVCFBackend reports no GPU capacity");
    }
    let pct = allocated * 100 / capacity;
    let seen = format!("{allocated}/{capacity} GPUs allocated ({pct}%)");
    if pct > 90 {
        Verdict::fail(seen)
    } else {
        Verdict::pass(seen)
    }
}

/// Finds the function (not found is an error, before any check) and judges it.
pub async fn run(
    runner: &mut Runner,
    client: &kube::Client,
    fid: &str,
    vid: Option<&str>,
    backend_namespace: &str,
) -> Result<Function> {
    let f = functions::get(client, fid, vid).await?;
    runner.begin_category(&format!(
        "function {} {}",
        f.function_id, f.function_version_id
    ));
    let pods: Vec<PodSummary> = workloads::pods(client, &f.namespace, "")
        .await?
        .into_iter()
        .filter(|(p, _)| belongs(p, &f))
        .map(|(_, s)| s)
        .collect();
    let (verdict, only_warn) = pods_verdict(&f, &pods);
    let spec = if only_warn { PODS_PENDING } else { PODS };
    runner.check(spec, async { verdict }).await;

    let seen = format!("{} ({}/{})", f.phase.as_str(), f.namespace, f.name);
    let (spec, verdict) = match f.phase {
        Phase::Active => (QUEUE, Verdict::pass(seen)),
        Phase::Failed => (QUEUE, Verdict::fail(seen)),
        _ => (QUEUE_PENDING, Verdict::fail(seen)),
    };
    runner.check(spec, async { verdict }).await;
    let verdict = match custom_objects(
        client,
        super::backend::GROUP,
        super::backend::VERSION,
        super::backend::KIND,
        super::backend::PLURAL,
    )
    .await
    {
        Err(e) => Verdict::fail(e.to_string()),
        Ok(backends) => {
            let usage = backends
                .iter()
                .filter(|b| b.metadata.namespace.as_deref() == Some(backend_namespace))
                .flat_map(|b| {
                    b.data["status"]["gpuUsage"]
                        .as_array()
                        .cloned()
                        .unwrap_or_default()
                });
            let (cap, alloc) = usage.fold((0, 0), |(c, a), g| {
                (
                    c + g["capacity"].as_i64().unwrap_or(0),
                    a + g["allocated"].as_i64().unwrap_or(0),
                )
            });
            gpu_verdict(cap, alloc)
        }
    };
    runner.check(GPU_UTIL, async { verdict }).await;
    Ok(f)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::base::checks::Status;

    fn function(phase: Phase) -> Function {
        Function {
            namespace: "nvcf-backend".into(),
            name: "req".into(),
            function_id: "fn-1".into(),
            function_version_id: "v1".into(),
            phase,
            status: String::new(),
            action: String::new(),
            instances: Vec::new(),
            uid: "uid-1".into(),
        }
    }

    fn pod(labels: serde_json::Value, owner: Option<&str>) -> Pod {
        let owners: Vec<serde_json::Value> = owner
            .into_iter()
            .map(|uid| serde_json::json!({"apiVersion": "nvca.nvcf.nvidia.io/v2beta1", "kind": "ICMSRequest", "name": "req", "uid": uid}))
            .collect();
        serde_json::from_value(serde_json::json!({
            "metadata": {"name": "p", "labels": labels, "ownerReferences": owners},
        }))
        .unwrap()
    }

    #[test]
    fn a_pod_belongs_by_owner_or_by_the_function_id_in_a_label() {
        let f = function(Phase::Active);
        assert!(belongs(&pod(serde_json::json!({}), Some("uid-1")), &f));
        assert!(!belongs(&pod(serde_json::json!({}), Some("uid-2")), &f));
        assert!(belongs(
            &pod(serde_json::json!({"FUNCTION_ID": "fn-1"}), None),
            &f
        ));
        assert!(belongs(
            &pod(
                serde_json::json!({"function-id": "fn-1", "function-version-id": "v1"}),
                None
            ),
            &f
        ));
        assert!(!belongs(
            &pod(
                serde_json::json!({"function-id": "fn-1", "function-version-id": "v2"}),
                None
            ),
            &f
        ));
        assert!(!belongs(&pod(serde_json::json!({"app": "fn-2"}), None), &f));
    }

    #[test]
    fn no_pod_fails_an_active_function_and_warns_a_deploying_one() {
        let (v, warn) = pods_verdict(&function(Phase::Active), &[]);
        assert_eq!((v.status, warn), (Status::Failed, false));
        let (v, warn) = pods_verdict(&function(Phase::Deploying), &[]);
        assert_eq!((v.status, warn), (Status::Failed, true));
    }

    #[test]
    fn gpu_utilization_warns_above_90_percent_and_skips_without_capacity() {
        assert_eq!(gpu_verdict(0, 0).status, Status::Skipped);
        assert_eq!(gpu_verdict(10, 9).status, Status::Passed);
        assert_eq!(gpu_verdict(10, 10).status, Status::Failed);
    }
}
