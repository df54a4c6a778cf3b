//! What the `helm nvcf` end-to-end tests share: the real stack's charts, test data, and the
//! Gateway API prerequisites the stack's routes need on the test cluster.

#![allow(
    dead_code,
    reason = "each test crate uses a different part of the support"
)]

use nvcf_testenv::Env;
use std::path::{Path, PathBuf};

/// The stack's charts: the real upstream charts (with placeholder subcharts) and the
/// third-party stand-ins, prepared once per test process; `None` after saying loudly why
/// `test` skips.
pub fn charts_dir(test: &str) -> Option<PathBuf> {
    nvcf_e2e::upstream::stack(test)
}

/// `--chart-source` for [`charts_dir`].
pub fn charts(test: &str) -> Option<String> {
    charts_dir(test).map(|dir| format!("dir:{}", dir.display()))
}

/// A file under `tests/helm_nvcf_data`.
pub fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/helm_nvcf_data")
        .join(name)
}

/// Gateway API CRDs and the testenv Gateway, plus the TCPRoute and ReferenceGrant kinds
/// the stack's routes use beyond the standard channel.
pub fn install_gateway_prerequisites(env: &Env) {
    env.install_fixture("gateway-api").unwrap();
    let crds = data("gateway-experimental-crds.yaml");
    env.kubectl_run(&[
        "apply",
        "--server-side",
        "--force-conflicts",
        "-f",
        crds.to_str().unwrap(),
    ])
    .unwrap();
    env.kubectl_run(&[
        "wait",
        "--for=condition=Established",
        "crd",
        "--all",
        "--timeout=60s",
    ])
    .unwrap();
}

/// Every JSONL event on stderr; other lines (a confirmation list) are skipped.
pub fn events(stderr: &str) -> Vec<serde_json::Value> {
    stderr
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .collect()
}

/// The phases a run started, checking each completed in turn and the run ended in a
/// successful `final` with the advertised phase count.
pub fn completed_phases(stderr: &str) -> Vec<String> {
    let evs = events(stderr);
    assert_eq!(evs[0]["event"], "schemaVersion", "{stderr}");
    let last = evs.last().unwrap();
    assert_eq!(last["event"], "final", "{stderr}");
    assert_eq!(last["success"], true, "{stderr}");
    let started: Vec<&serde_json::Value> = evs
        .iter()
        .filter(|e| e["event"] == "phase_started")
        .collect();
    let done: Vec<&str> = evs
        .iter()
        .filter(|e| e["event"] == "phase_completed")
        .map(|e| e["phase"].as_str().unwrap())
        .collect();
    let names: Vec<String> = started
        .iter()
        .map(|e| e["phase"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(names, done, "every phase completes, in order: {stderr}");
    for (i, e) in started.iter().enumerate() {
        assert_eq!(e["phaseNum"], i + 1);
        assert_eq!(e["totalPhases"], started.len());
    }
    names
}
