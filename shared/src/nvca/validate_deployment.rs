//! `kubectl nvca validate-deployment <fid> [vid]`: one function's health on this cluster,
//! as upstream's `cluster agent validate-deployment` (queue health from the ICMSRequest's
//! phase, GPU utilization from the NVCFBackend's `status.gpuUsage`).

use super::doctor::spec;
use super::functions::{self, Function, Phase};
use super::uninstall::OPERATOR_NAMESPACE;
use crate::checks::{Runner, Spec, Verdict};
use crate::error::Result;
use crate::events::Severity;
use crate::kube::probes::custom_objects;

const QUEUE: Spec = spec(
    "queue-health",
    "function's ICMSRequest is ACTIVE",
    "see what the agent reports: kubectl nvca functions get FUNCTION_ID -o yaml; kubectl logs -n nvca-system deployment/nvca",
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
        "add GPU nodes or drain functions you do not need: kubectl nvca functions list",
    )
};

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
) -> Result<Function> {
    let f = functions::get(client, fid, vid).await?;
    runner.begin_category(&format!(
        "function {} {}",
        f.function_id, f.function_version_id
    ));
    let seen = format!("{} ({}/{})", f.phase.as_str(), f.namespace, f.name);
    let (spec, verdict) = match f.phase {
        Phase::Active => (QUEUE, Verdict::pass(seen)),
        Phase::Failed => (QUEUE, Verdict::fail(seen)),
        _ => (QUEUE_PENDING, Verdict::fail(seen)),
    };
    runner.check(spec, async { verdict }).await;
    let verdict = match custom_objects(
        client,
        "nvcf.nvidia.io",
        "v1",
        "NVCFBackend",
        "nvcfbackends",
    )
    .await
    {
        Err(e) => Verdict::fail(e.to_string()),
        Ok(backends) => {
            let usage = backends
                .iter()
                .filter(|b| b.metadata.namespace.as_deref() == Some(OPERATOR_NAMESPACE))
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
    use crate::checks::Status;

    #[test]
    fn gpu_utilization_warns_above_90_percent_and_skips_without_capacity() {
        assert_eq!(gpu_verdict(0, 0).status, Status::Skipped);
        assert_eq!(gpu_verdict(10, 9).status, Status::Passed);
        assert_eq!(gpu_verdict(10, 10).status, Status::Failed);
    }
}
