//! The real upstream NVCF charts, the test contract wherever a real chart exists.
//!
//! Found through one setting, `NVCF_UPSTREAM_CHARTS` (a directory holding one chart per
//! chart name), defaulting to `../shared/upstream/charts` beside the repository, which CI
//! has. Where neither exists, as on a fresh clone, the tests that need them say loudly that
//! they were skipped and why.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The variable naming the real charts' directory.
pub const CHARTS_VAR: &str = "NVCF_UPSTREAM_CHARTS";

/// Third-party charts upstream's helmfiles pull from public repositories, and NVCF charts
/// that are not published in the upstream repository: our stand-ins answer for these only.
pub const STAND_INS: [&str; 7] = [
    "kai-scheduler",
    "grove-charts",
    "dynamo-platform",
    "prometheus-operator-crds",
    "opentelemetry-operator",
    "victoria-metrics-single",
    "helm-nvcf-state-metrics",
];

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The real charts' directory, or `None` after saying on stderr why the caller skips.
pub fn charts(test: &str) -> Option<PathBuf> {
    let dir = std::env::var_os(CHARTS_VAR)
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("../shared/upstream/charts"));
    if dir.join("helm-nvcf-api/Chart.yaml").is_file() {
        return Some(dir.canonicalize().unwrap_or(dir));
    }
    eprintln!(
        "\n*** SKIPPED {test}: the real upstream NVCF charts are not at {} ***\n\
         *** set {CHARTS_VAR}=DIR to a copy of upstream's charts/ directory to run it ***\n",
        dir.display()
    );
    None
}

/// The stack as an operator would install it from this machine: a copy of the real charts
/// with a placeholder for each subchart the source tree does not vendor, plus our stand-ins
/// for the third-party charts. Lives in `into`; the real directory is never modified.
pub fn prepared_stack(real: &Path, into: &Path) -> PathBuf {
    let out = into.join("charts");
    let script = repo_root().join("tests/tools/placeholder-subcharts.sh");
    let status = Command::new("bash")
        .arg(&script)
        .arg(real)
        .arg(&out)
        .status()
        .expect("run placeholder-subcharts.sh");
    assert!(status.success(), "{} failed", script.display());
    let fixtures = repo_root().join("tests/fixtures/charts");
    for name in STAND_INS {
        let status = Command::new("cp")
            .arg("-R")
            .arg(fixtures.join(name))
            .arg(out.join(name))
            .status()
            .expect("copy a stand-in chart");
        assert!(status.success(), "copying stand-in {name}");
    }
    out
}
