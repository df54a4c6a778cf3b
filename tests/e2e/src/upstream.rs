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
/// for the charts upstream does not publish (`tests/tools/stack-charts.sh`, the one list).
/// Lives in `into`; the real directory is never modified.
pub fn prepared_stack(real: &Path, into: &Path) -> PathBuf {
    let out = into.join("charts");
    let script = repo_root().join("tests/tools/stack-charts.sh");
    let status = Command::new("bash")
        .arg(&script)
        .arg(&out)
        .env(CHARTS_VAR, real)
        .stdout(std::process::Stdio::null())
        .status()
        .expect("run stack-charts.sh");
    assert!(status.success(), "{} failed", script.display());
    out
}

/// The prepared stack ([`prepared_stack`]) shared by every test of this process, made
/// once; `None` after saying loudly why `test` skips (no real charts here).
pub fn stack(test: &str) -> Option<PathBuf> {
    static STACK: std::sync::OnceLock<Option<(tempfile::TempDir, PathBuf)>> =
        std::sync::OnceLock::new();
    let real = charts(test)?;
    let prepared = STACK.get_or_init(|| {
        let dir = tempfile::tempdir().expect("a temporary directory for the stack");
        let out = prepared_stack(&real, dir.path());
        Some((dir, out))
    });
    prepared.as_ref().map(|(_, path)| path.clone())
}

/// One chart of the prepared stack, for tests that install a single release with helm.
pub fn stack_chart(test: &str, chart: &str) -> Option<PathBuf> {
    stack(test).map(|dir| dir.join(chart))
}

/// `helm nvcf values --release RELEASE` for the local test stack
/// (`tests/helm_nvcf_data/local.yaml`), written under `home` for `helm -f`: what the stack
/// gives the real chart when a test installs one release by hand.
pub fn release_values(home: &Path, release: &str) -> PathBuf {
    let config = repo_root().join("tests/e2e/tests/helm_nvcf_data/local.yaml");
    let out = Command::new(crate::bin("helm-nvcf"))
        .args(["values", "--release", release, "--stack-config"])
        .arg(config)
        .env("HOME", home)
        .env("NVCF_TEST_REGISTRY_KEY", "registry-key-for-tests")
        .output()
        .expect("run helm-nvcf values");
    assert!(
        out.status.success(),
        "helm nvcf values --release {release}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let file = home.join(format!("{release}-values.yaml"));
    std::fs::write(&file, out.stdout).unwrap();
    file
}

/// Upstream's golden output of its compute-plane helmfile for its test environment
/// (`stacks/nvcf-compute-plane/testdata/golden/local`), as the objects an install applies:
/// delete-, upgrade- and test-only hooks left out, namespaced objects in their release's
/// namespace (`namespaces`: release -> namespace).
pub fn golden_objects(golden: &Path, namespaces: &[(&str, &str)]) -> Vec<ObjectRow> {
    let mut rows = Vec::new();
    for entry in std::fs::read_dir(golden).expect("the golden directory") {
        let dir = entry.unwrap().path();
        if !dir.is_dir() {
            continue;
        }
        // "01-dependencies.yaml-kai-scheduler" -> "kai-scheduler"
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        let release = name
            .split_once(".yaml-")
            .map_or(name.as_str(), |(_, r)| r)
            .to_owned();
        let namespace = namespaces.iter().find(|(r, _)| *r == release).map_or_else(
            || panic!("no namespace for {release}"),
            |(_, n)| (*n).to_owned(),
        );
        let mut files = Vec::new();
        collect_yaml(&dir, &mut files);
        for file in files {
            let text = std::fs::read_to_string(&file).unwrap();
            for chunk in text.split("\n---") {
                let Ok(doc) = serde_saphyr::from_str::<Value>(chunk) else {
                    continue;
                };
                let Some(kind) = doc["kind"].as_str() else {
                    continue;
                };
                // A chart's own Namespace objects lead our stream under "chart namespace".
                if kind == "Namespace" {
                    continue;
                }
                if let Some(hook) = doc["metadata"]["annotations"]["helm.sh/hook"].as_str()
                    && !hook.contains("-install")
                {
                    continue;
                }
                rows.push(object_row(&release, &doc, &namespace));
            }
        }
    }
    rows
}

fn collect_yaml(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            collect_yaml(&path, out);
        } else if path.extension().is_some_and(|e| e == "yaml") {
            out.push(path);
        }
    }
}

/// `doc` as a row of `release`; a namespaced object without a namespace is in `default_ns`.
fn object_row(release: &str, doc: &Value, default_ns: &str) -> ObjectRow {
    let kind = doc["kind"].as_str().unwrap_or("-");
    let namespace = if CLUSTER_SCOPED.contains(&kind) {
        "-"
    } else {
        doc["metadata"]["namespace"].as_str().unwrap_or(default_ns)
    };
    let mut images = Vec::new();
    container_images(doc, &mut images);
    images.sort();
    (
        release.to_owned(),
        doc["apiVersion"].as_str().unwrap_or("-").to_owned(),
        kind.to_owned(),
        namespace.to_owned(),
        doc["metadata"]["name"].as_str().unwrap_or("-").to_owned(),
        if images.is_empty() {
            "-".to_owned()
        } else {
            images.join(",")
        },
    )
}

/// Kinds that are cluster-scoped in what these charts render.
const CLUSTER_SCOPED: [&str; 12] = [
    "ClusterRole",
    "ClusterRoleBinding",
    "CustomResourceDefinition",
    "MutatingWebhookConfiguration",
    "ValidatingWebhookConfiguration",
    "ClusterIssuer",
    "PriorityClass",
    "Namespace",
    // KAI's and Grove's cluster-wide custom resources.
    "Queue",
    "SchedulingShard",
    "Topology",
    "ClusterTopologyBinding",
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
        if doc["kind"].is_string() {
            rows.push(object_row(release, &doc, "-"));
        }
    }
    rows
}

/// Every (chart, version) the stack catalog pins.
pub fn catalog_pins() -> std::collections::BTreeSet<(String, String)> {
    let catalog: Value = serde_saphyr::from_str(
        &std::fs::read_to_string(repo_root().join("shared/stack/catalog.yaml")).unwrap(),
    )
    .unwrap();
    catalog["releases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["chart"].as_str().unwrap().to_owned(),
                r["version"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// A copy of `charts` in `into` with each chart's Chart.yaml at the version the catalog
/// pins, as publishing sets it (the source tree says 0.0.0); `overrides` pin others.
pub fn at_versions(charts: &Path, into: &Path, overrides: &[(&str, &str)]) -> PathBuf {
    let status = Command::new("cp")
        .arg("-R")
        .arg(charts)
        .arg(into)
        .status()
        .expect("copy the charts");
    assert!(status.success(), "copying {}", charts.display());
    let mut pins: std::collections::BTreeMap<String, String> = catalog_pins().into_iter().collect();
    pins.extend(
        overrides
            .iter()
            .map(|(c, v)| ((*c).to_owned(), (*v).to_owned())),
    );
    for (chart, version) in pins {
        let file = into.join(&chart).join("Chart.yaml");
        let Ok(text) = std::fs::read_to_string(&file) else {
            continue;
        };
        let text: String = text
            .lines()
            .map(|l| {
                if l.starts_with("version:") {
                    format!("version: {version}\n")
                } else {
                    format!("{l}\n")
                }
            })
            .collect();
        std::fs::write(&file, text).unwrap();
    }
    into.to_path_buf()
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
    let mut pins = catalog_pins();
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
