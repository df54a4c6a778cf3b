//! What the `kubectl nvcf repair` end-to-end tests share: breaking a migration Job the way
//! the job controller fails one, and reading repair's plan.

#![allow(
    dead_code,
    reason = "each test crate uses a different part of the support"
)]

use nvcf_e2e::Run;
use nvcf_testenv::Env;
use serde_json::Value;
use std::time::{Duration, Instant};

/// Replaces Job `ns/name` with one that cannot run (no node matches) and gives up after a
/// second: a Job the job controller marks Failed (DeadlineExceeded), as a migration whose
/// pod never got going is.
pub fn fail_job(env: &Env, ns: &str, name: &str) {
    env.kubectl_run(&["delete", "job", name, "-n", ns, "--wait"])
        .unwrap();
    let job = serde_json::json!({
        "apiVersion": "batch/v1", "kind": "Job",
        "metadata": {"name": name, "namespace": ns},
        "spec": {"backoffLimit": 0, "activeDeadlineSeconds": 1,
            "template": {"spec": {"restartPolicy": "Never",
                "nodeSelector": {"e2e.nvcf/none": "true"},
                "containers": [{"name": "migrate", "image": "registry.example.com/migrate:1"}]}}},
    });
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), job.to_string()).unwrap();
    env.kubectl_run(&["apply", "-f", file.path().to_str().unwrap()])
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let failed = env
            .kubectl_run(&[
                "get",
                "job",
                name,
                "-n",
                ns,
                "-o",
                "jsonpath={.status.conditions[?(@.type==\"Failed\")].status}",
            ])
            .unwrap_or_default();
        if failed.trim() == "True" {
            return;
        }
        assert!(Instant::now() < deadline, "Job {ns}/{name} never failed");
        std::thread::sleep(Duration::from_millis(250));
    }
}

pub fn findings(run: &Run) -> Vec<(String, String)> {
    let plan: Value = serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}: {run:#?}"));
    plan["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["release"].as_str().unwrap().to_owned(),
                f["action"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

pub fn job_succeeded(env: &Env, ns: &str, name: &str) -> bool {
    env.kubectl_run(&[
        "get",
        "job",
        name,
        "-n",
        ns,
        "-o",
        "jsonpath={.status.succeeded}",
    ])
    .is_ok_and(|s| s.trim() == "1")
}
