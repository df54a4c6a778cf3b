//! Setting workload status by hand where KWOK's stages do not produce the state a test
//! needs (failed or crash-looping Pods, conditions of custom resources).
//!
//! KWOK only moves Pods forward from Pending and Job Pods to Succeeded; it does not touch
//! a Pod again once it has an IP, so a status written here stays.

use anyhow::{Context, Result};
use serde_json::{Value, json};

use crate::env::Env;

impl Env {
    /// Merge-patches the `status` subresource of `resource` (e.g. `pods`,
    /// `deployments.apps`, `clusterpolicies.nvidia.com`); `namespace` is None for
    /// cluster-scoped objects.
    pub fn patch_status(
        &self,
        resource: &str,
        namespace: Option<&str>,
        name: &str,
        status: &Value,
    ) -> Result<()> {
        let patch = json!({ "status": status }).to_string();
        let target = format!("{resource}/{name}");
        let mut args = vec![
            "patch",
            &target,
            "--subresource=status",
            "--type=merge",
            "-p",
            &patch,
        ];
        if let Some(ns) = namespace {
            args.extend(["-n", ns]);
        }
        self.kubectl_run(&args).map(drop)
    }

    /// Marks a Pod Failed, its containers terminated with `exit_code` and `reason`.
    pub fn fail_pod(
        &self,
        namespace: &str,
        name: &str,
        reason: &str,
        exit_code: i32,
    ) -> Result<()> {
        let state = json!({ "terminated": { "exitCode": exit_code, "reason": reason } });
        self.set_pod_state(namespace, name, "Failed", state)
    }

    /// Leaves a Pod Running but its containers waiting with `reason` (e.g.
    /// `CrashLoopBackOff`, `ImagePullBackOff`) and not ready, as a kubelet reports them.
    pub fn set_pod_waiting(&self, namespace: &str, name: &str, reason: &str) -> Result<()> {
        let state = json!({ "waiting": { "reason": reason } });
        self.set_pod_state(namespace, name, "Running", state)
    }

    fn set_pod_state(&self, namespace: &str, name: &str, phase: &str, state: Value) -> Result<()> {
        let pod: Value = serde_json::from_str(
            &self.kubectl_run(&["get", "pod", name, "-n", namespace, "-o", "json"])?,
        )?;
        let containers = pod["spec"]["containers"]
            .as_array()
            .context("pod has no containers")?;
        let statuses: Vec<Value> = containers
            .iter()
            .map(|c| {
                json!({
                    "name": c["name"], "image": c["image"], "imageID": "", "ready": false,
                    "restartCount": if phase == "Running" { 5 } else { 0 }, "state": state,
                })
            })
            .collect();
        let status = json!({
            "phase": phase,
            "containerStatuses": statuses,
            "conditions": [
                { "type": "Ready", "status": "False" },
                { "type": "ContainersReady", "status": "False" },
                { "type": "PodScheduled", "status": "True" },
            ],
        });
        self.patch_status("pods", Some(namespace), name, &status)
    }
}
