//! `helm nvcf` on real helm 3 and real helm 4: install, run, and helm's own flags.

use nvcf_e2e::{Home, Run, bin};
use nvcf_testenv::tools;
use std::path::{Path, PathBuf};

fn source_plugin_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../plugins/helm-nvcf")
}

/// A copy of the plugin directory with the binary in `bin/`, as a release archive has it.
fn packaged_plugin(home: &Home) -> PathBuf {
    let dir = home.path().join("helm-nvcf");
    std::fs::create_dir_all(dir.join("bin")).unwrap();
    std::fs::create_dir_all(dir.join("scripts")).unwrap();
    for file in ["plugin.yaml", "scripts/install.sh"] {
        std::fs::copy(source_plugin_dir().join(file), dir.join(file)).unwrap();
    }
    std::fs::copy(bin("helm-nvcf"), dir.join("bin/helm-nvcf")).unwrap();
    dir
}

fn helm(home: &Home, helm: &Path) -> std::process::Command {
    let mut cmd = home.command(helm);
    cmd.env("HELM_DATA_HOME", home.path().join("helm/data"))
        .env("HELM_CONFIG_HOME", home.path().join("helm/config"))
        .env("HELM_CACHE_HOME", home.path().join("helm/cache"));
    cmd
}

fn install(home: &Home, helm_bin: &Path, plugin: &Path) -> Run {
    let mut cmd = helm(home, helm_bin);
    cmd.args(["plugin", "install"]).arg(plugin);
    if helm_bin == tools::helm4() {
        // helm 4 verifies signatures by default; a local directory cannot be signed.
        cmd.arg("--verify=false");
    }
    Run::of(&mut cmd)
}

fn check_helm(helm_bin: PathBuf, want_major: &str) {
    let home = Home::new();
    install(&home, &helm_bin, &packaged_plugin(&home)).expect_success();

    let run = Run::of(helm(&home, &helm_bin).args(["nvcf", "version", "-o", "json"]));
    run.expect_success();
    let v: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(v["plugin"], "helm nvcf");
    let helm_version = v["helm"]["version"].as_str().unwrap_or_default();
    assert!(
        helm_version.starts_with(want_major),
        "reports the helm that ran it: {v}"
    );

    let kubeconfig = home.kubeconfig(&["ctx-a", "ctx-b"]);
    let run = Run::of(
        helm(&home, &helm_bin)
            .arg("--kubeconfig")
            .arg(&kubeconfig)
            .args([
                "--kube-context",
                "ctx-b",
                "-n",
                "nvcf-ns",
                "nvcf",
                "context",
                "-o",
                "json",
            ]),
    );
    run.expect_success();
    let v: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(v["context"], "ctx-b", "{run:#?}");
    assert_eq!(v["namespace"], "nvcf-ns", "{run:#?}");

    // Without --kube-context the kubeconfig's current context applies.
    let run = Run::of(
        helm(&home, &helm_bin)
            .arg("nvcf")
            .args(["context", "-o", "name"])
            .env("KUBECONFIG", &kubeconfig),
    );
    run.expect_success();
    assert_eq!(run.stdout, "context/ctx-a\n");

    // The plugin's exit code survives helm.
    let run = Run::of(
        helm(&home, &helm_bin)
            .args(["--kube-context", "missing", "nvcf", "context"])
            .env("KUBECONFIG", &kubeconfig),
    );
    assert_eq!(run.code, Some(78), "{run:#?}");
    assert!(
        run.stderr.contains("context \"missing\" not found"),
        "{run:#?}"
    );
}

#[test]
fn helm3_installs_and_runs_the_plugin() {
    check_helm(tools::helm3(), "v3.");
}

#[test]
fn helm4_installs_and_runs_the_plugin() {
    check_helm(tools::helm4(), "v4.");
}

/// `helm plugin install plugins/helm-nvcf` from a source checkout: the install hook links
/// the binary cargo built, on both helm majors.
#[test]
fn install_from_the_source_tree_works_on_both_helms() {
    // The hook looks for cargo's output; tell it where this build put it.
    let built = bin("helm-nvcf");
    let target_dir = built.parent().and_then(Path::parent).unwrap().to_path_buf();
    for helm_bin in [tools::helm3(), tools::helm4()] {
        let home = Home::new();
        let mut cmd = helm(&home, &helm_bin);
        cmd.args(["plugin", "install"])
            .arg(source_plugin_dir())
            .env("CARGO_TARGET_DIR", &target_dir);
        if helm_bin == tools::helm4() {
            cmd.arg("--verify=false");
        }
        Run::of(&mut cmd).expect_success();
        let run = Run::of(helm(&home, &helm_bin).args(["nvcf", "version", "-o", "name"]));
        run.expect_success();
        assert_eq!(
            run.stdout,
            format!("helm-nvcf/{}\n", env!("CARGO_PKG_VERSION"))
        );
    }
}
