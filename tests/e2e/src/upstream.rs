//! The real upstream NVCF charts, the test contract wherever a real chart exists.
//!
//! Found through one setting, `NVCF_UPSTREAM_CHARTS` (a directory holding one chart per
//! chart name), defaulting to `../shared/upstream/charts` beside the repository, which CI
//! has. Where neither exists, as on a fresh clone, the tests that need them say loudly that
//! they were skipped and why.

use serde_json::Value;
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

/// Upstream's helmfile stacks, beside the charts (`<charts>/../stacks`), or `None` after
/// saying why the caller skips.
pub fn stacks(test: &str, charts: &Path) -> Option<PathBuf> {
    let dir = charts.join("../stacks");
    if dir.join("self-managed/global.yaml.gotmpl").is_file() {
        return Some(dir.canonicalize().unwrap_or(dir));
    }
    eprintln!(
        "\n*** SKIPPED {test}: upstream's helmfile stacks are not at {} (beside {CHARTS_VAR}) ***\n",
        dir.display()
    );
    None
}

/// One object as the equivalence with upstream's installer is judged: its release,
/// apiVersion, kind, namespace (`-` when cluster-scoped), name and sorted images.
pub type ObjectRow = (String, String, String, String, String, String);

/// `tests/tools/helmfile-template.sh ENV --with-release --as-installed` on upstream's
/// real helmfile (built from its Go module) and charts: the objects an install applies.
pub fn helmfile_objects(
    charts: &Path,
    env_file: &Path,
    secrets_file: Option<&Path>,
) -> Vec<ObjectRow> {
    let script = repo_root().join("tests/tools/helmfile-template.sh");
    let mut cmd = Command::new("bash");
    cmd.arg(&script)
        .args([
            "equivalence",
            "--with-release",
            "--as-installed",
            "--env-file",
        ])
        .arg(env_file)
        .env("NVCF_UPSTREAM_DIR", charts.join(".."));
    if let Some(secrets) = secrets_file {
        cmd.arg("--secrets-file").arg(secrets);
    }
    let out = cmd.output().expect("run helmfile-template.sh");
    assert!(
        out.status.success(),
        "helmfile-template.sh failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| {
            let c: Vec<&str> = l.split('\t').collect();
            assert_eq!(c.len(), 6, "{l}");
            let release = c[5].rsplit('/').next().unwrap_or_default();
            (
                release.to_owned(),
                c[0].to_owned(),
                c[1].to_owned(),
                c[2].to_owned(),
                c[3].to_owned(),
                c[4].to_owned(),
            )
        })
        .collect()
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
        .stdout(std::process::Stdio::null())
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

/// Kinds that are cluster-scoped in what these charts render.
const CLUSTER_SCOPED: [&str; 7] = [
    "ClusterRole",
    "ClusterRoleBinding",
    "CustomResourceDefinition",
    "MutatingWebhookConfiguration",
    "ValidatingWebhookConfiguration",
    "ClusterIssuer",
    "PriorityClass",
];

fn container_images(node: &Value, found: &mut Vec<String>) {
    match node {
        Value::Object(map) => {
            for (key, value) in map {
                if matches!(
                    key.as_str(),
                    "containers" | "initContainers" | "ephemeralContainers"
                ) && let Value::Array(list) = value
                {
                    found.extend(
                        list.iter()
                            .filter_map(|c| c["image"].as_str().map(str::to_owned)),
                    );
                }
                container_images(value, found);
            }
        }
        Value::Array(items) => items.iter().for_each(|i| container_images(i, found)),
        _ => {}
    }
}

/// Our stream's objects, attributed to releases by their origin comments; the
/// namespaces and pull secrets we generate ourselves are not the charts'.
pub fn our_objects(stream: &str) -> Vec<ObjectRow> {
    let mut rows = Vec::new();
    // Every document starts `---`, then its origin comment; a block scalar may hold `---`.
    let text = format!("\n{stream}");
    for chunk in text.split("\n---\n# ").skip(1) {
        let origin = chunk.lines().next().unwrap_or_default();
        let release = origin
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .trim_end_matches(':');
        if release == "helm-nvcf" || release == "chart" {
            continue;
        }
        let options = serde_saphyr::options! { legacy_octal_numbers: true };
        let doc: Value = serde_saphyr::from_str_with_options(&format!("# {chunk}"), options)
            .expect("our stream parses");
        let Some(kind) = doc["kind"].as_str() else {
            continue;
        };
        let namespace = if CLUSTER_SCOPED.contains(&kind) {
            "-".to_owned()
        } else {
            doc["metadata"]["namespace"]
                .as_str()
                .unwrap_or("-")
                .to_owned()
        };
        let mut images = Vec::new();
        container_images(&doc, &mut images);
        images.sort();
        rows.push((
            release.to_owned(),
            doc["apiVersion"].as_str().unwrap_or("-").to_owned(),
            kind.to_owned(),
            namespace,
            doc["metadata"]["name"].as_str().unwrap_or("-").to_owned(),
            if images.is_empty() {
                "-".to_owned()
            } else {
                images.join(",")
            },
        ));
    }
    rows
}

/// Each chart of the catalog, packaged from `charts` at the version the catalog pins (the
/// source tree's Chart.yaml says 0.0.0, set at publish time) and pushed to `registry`
/// under `nvcf/`, as a site mirroring the stack does. `extra` adds (chart, version) pairs,
/// for upgrade tests. Returns the `--chart-source`.
pub fn push_stack(
    home: &Path,
    charts: &Path,
    registry: &crate::registry::Registry,
    extra: &[(&str, &str)],
) -> String {
    let catalog: Value = serde_saphyr::from_str(
        &std::fs::read_to_string(repo_root().join("shared/stack/catalog.yaml")).unwrap(),
    )
    .unwrap();
    let mut pins: std::collections::BTreeSet<(String, String)> = catalog["releases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["chart"].as_str().unwrap().to_owned(),
                r["version"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    pins.extend(
        extra
            .iter()
            .map(|(c, v)| ((*c).to_owned(), (*v).to_owned())),
    );
    let packages = home.join("packages");
    std::fs::create_dir_all(&packages).unwrap();
    let helm = |args: &[&str]| {
        let out = Command::new(nvcf_testenv::tools::helm3())
            .args(args)
            .env("HELM_CONFIG_HOME", home.join("helm/config"))
            .env("HELM_CACHE_HOME", home.join("helm/cache"))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "helm {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    for (chart, version) in &pins {
        let dir = charts.join(chart);
        if !dir.join("Chart.yaml").is_file() {
            continue;
        }
        helm(&[
            "package",
            dir.to_str().unwrap(),
            "--version",
            version,
            "--destination",
            packages.to_str().unwrap(),
        ]);
        let tgz = packages.join(format!("{chart}-{version}.tgz"));
        helm(&[
            "push",
            tgz.to_str().unwrap(),
            &format!("oci://{}/nvcf", registry.addr),
            "--plain-http",
        ]);
    }
    format!("oci+http://{}/nvcf", registry.addr)
}
