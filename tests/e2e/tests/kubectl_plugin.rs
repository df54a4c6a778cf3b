//! The plugins as kubectl sees them: discovery, invocation and completion, with real kubectl.

use nvcf_e2e::{Home, Run, plugin_path_dir};
use nvcf_testenv::tools;

fn path_with_kubectl(plugins: &std::path::Path) -> String {
    let kubectl = tools::kubectl();
    format!(
        "{}:{}",
        plugins.display(),
        kubectl.parent().unwrap().display()
    )
}

#[test]
fn kubectl_plugin_list_shows_both_plugins_without_warnings() {
    let home = Home::new();
    let plugins = plugin_path_dir();
    let run = Run::of(
        home.command(tools::kubectl())
            .args(["plugin", "list"])
            .env("PATH", path_with_kubectl(plugins.path())),
    );
    run.expect_success();
    assert!(run.stdout.contains("/kubectl-nvcf\n"), "{run:#?}");
    assert!(run.stdout.contains("/kubectl-nvca\n"), "{run:#?}");
    assert!(!run.all().to_lowercase().contains("warning"), "{run:#?}");
}

#[test]
fn kubectl_nvcf_version_prints_valid_json() {
    let home = Home::new();
    let plugins = plugin_path_dir();
    let run = Run::of(
        home.command(tools::kubectl())
            .args(["nvcf", "version", "-o", "json"])
            .env("PATH", path_with_kubectl(plugins.path())),
    );
    run.expect_success();
    let v: serde_json::Value = serde_json::from_str(&run.stdout).expect("stdout is JSON");
    assert_eq!(v["plugin"], "kubectl nvcf");
    assert_eq!(v["version"], env!("CARGO_PKG_VERSION"));
    let kubectl_version = v["kubectl"]["version"].as_str().unwrap_or_default();
    assert!(
        kubectl_version.starts_with("v1."),
        "detected kubectl version: {v}"
    );
}

#[test]
fn kubectl_completes_plugin_commands_and_contexts() {
    let home = Home::new();
    let plugins = plugin_path_dir();
    let kubeconfig = home.kubeconfig(&["prod-east", "dev"]);
    let path = path_with_kubectl(plugins.path());
    let run = Run::of(
        home.command(tools::kubectl())
            .args(["__complete", "nvcf", "ver"])
            .env("PATH", &path),
    );
    run.expect_success();
    assert!(
        run.stdout.lines().any(|l| l.starts_with("version")),
        "{run:#?}"
    );
    let run = Run::of(
        home.command(tools::kubectl())
            .args(["__complete", "nvca", "context", "--context", "pr"])
            .env("PATH", &path)
            .env("KUBECONFIG", &kubeconfig),
    );
    run.expect_success();
    assert!(run.stdout.lines().any(|l| l == "prod-east"), "{run:#?}");
    assert!(!run.stdout.lines().any(|l| l == "dev"), "{run:#?}");
}

#[test]
fn context_follows_kubectl_flags_after_the_plugin_name() {
    let home = Home::new();
    let plugins = plugin_path_dir();
    let kubeconfig = home.kubeconfig(&["alpha", "beta"]);
    let run = Run::of(
        home.command(tools::kubectl())
            .args([
                "nvca",
                "context",
                "-o",
                "json",
                "--context",
                "beta",
                "-n",
                "gpu-ns",
            ])
            .arg(format!("--kubeconfig={}", kubeconfig.display()))
            .env("PATH", path_with_kubectl(plugins.path())),
    );
    run.expect_success();
    let v: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(v["context"], "beta");
    assert_eq!(v["namespace"], "gpu-ns");
    assert_eq!(v["namespaceSource"], "flag");
    assert_eq!(v["profile"]["name"], "beta");
}
