//! What the `helm nvcf` end-to-end tests share: the stand-in charts, test data, and the
//! Gateway API prerequisites the stack's routes need on the test cluster.

#![allow(
    dead_code,
    reason = "each test crate uses a different part of the support"
)]

use nvcf_testenv::Env;
use std::path::{Path, PathBuf};

/// The stand-in charts, one per catalog chart.
pub fn charts_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures/charts")
        .canonicalize()
        .expect("tests/fixtures/charts exists")
}

/// `--chart-source` for the stand-in charts.
pub fn charts() -> String {
    format!("dir:{}", charts_dir().display())
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
