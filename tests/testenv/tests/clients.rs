//! The real helm 3 and helm 4 install, list and uninstall a chart; krew runs.

use std::path::Path;
use std::process::Command;

use anyhow::Result;
use nvcf_testenv::{Env, fixtures_dir, run, tools};
use serde_json::Value;

fn helm_round_trip(helm: &Path, expected_version: &str) -> Result<()> {
    let env = Env::shared();
    let ns = env.fresh_namespace("helm")?;
    let home = tempfile::tempdir()?;
    let helm_cmd = || tools::helm_command(helm, env.kubeconfig(), home.path());

    let version = run(helm_cmd().args(["version", "--template", "{{.Version}}"]))?;
    assert!(version.starts_with(expected_version), "{version}");

    let chart = fixtures_dir().join("charts/testenv-smoke");
    let chart = chart.to_str().unwrap();
    run(helm_cmd().args([
        "install",
        "smoke",
        chart,
        "-n",
        &ns,
        "--set",
        "message=hi",
        "--wait",
        "--timeout",
        "60s",
    ]))?;

    let list: Value =
        serde_json::from_str(&run(helm_cmd().args(["list", "-n", &ns, "-o", "json"]))?)?;
    let releases = list.as_array().unwrap();
    assert_eq!(releases.len(), 1, "{list:#}");
    assert_eq!(releases[0]["name"], "smoke");
    assert_eq!(releases[0]["status"], "deployed");
    let data = env.kubectl_run(&[
        "get",
        "configmap",
        "smoke-config",
        "-n",
        &ns,
        "-o",
        "jsonpath={.data.message}",
    ])?;
    assert_eq!(data, "hi");

    run(helm_cmd().args(["uninstall", "smoke", "-n", &ns, "--wait"]))?;
    let list: Value =
        serde_json::from_str(&run(helm_cmd().args(["list", "-n", &ns, "-o", "json"]))?)?;
    assert_eq!(list.as_array().unwrap().len(), 0, "{list:#}");
    let left = env.kubectl_run(&[
        "get",
        "configmaps,deployments",
        "-n",
        &ns,
        "-l",
        "app.kubernetes.io/instance=smoke",
        "-o",
        "name",
    ])?;
    assert_eq!(left.trim(), "", "uninstall left {left}");
    Ok(())
}

#[test]
fn helm3_installs_lists_and_uninstalls_a_chart() -> Result<()> {
    helm_round_trip(&tools::helm3(), "v3.")
}

#[test]
fn helm4_installs_lists_and_uninstalls_a_chart() -> Result<()> {
    helm_round_trip(&tools::helm4(), "v4.")
}

#[test]
fn kubectl_matches_the_server_minor_version() -> Result<()> {
    let env = Env::shared();
    let version: Value = serde_json::from_str(&env.kubectl_run(&["version", "-o", "json"])?)?;
    let client = version["clientVersion"]["minor"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        version["serverVersion"]["minor"],
        client.as_str(),
        "{version:#}"
    );
    assert!(
        version["serverVersion"]["gitVersion"]
            .as_str()
            .unwrap()
            .starts_with("v1."),
        "{version:#}"
    );
    Ok(())
}

#[test]
fn krew_runs_with_its_own_root() -> Result<()> {
    let root = tempfile::tempdir()?;
    let out = run(Command::new(tools::krew())
        .env("KREW_ROOT", root.path())
        .arg("version"))?;
    assert!(out.contains("GitTag") && out.contains("v0."), "{out}");
    Ok(())
}
