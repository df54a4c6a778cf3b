//! Seed 002's spot upgrade, rollback and history through `helm nvcf`, on real helm 3 and
//! helm 4 against the test cluster.

mod helm_nvcf_support;

use helm_nvcf_support::{charts_dir, completed_phases, data, events};
use nvcf_e2e::{Home, Run, bin};
use nvcf_testenv::{Env, tools};
use std::path::{Path, PathBuf};
use std::process::Command;

/// A copy of the stack's charts at their published versions, `versions` overriding.
fn charts_at(home: &Home, charts: &Path, versions: &[(&str, &str)]) -> PathBuf {
    let tag: Vec<&str> = versions.iter().map(|(_, v)| *v).collect();
    let dir = home.path().join(format!("charts-{}", tag.join("-")));
    nvcf_e2e::upstream::at_versions(charts, &dir, versions)
}

#[test]
fn upgrade_backs_up_values_then_rollback_and_history_follow_the_runbook() {
    let Some(charts) =
        charts_dir("upgrade_backs_up_values_then_rollback_and_history_follow_the_runbook")
    else {
        return;
    };
    let env = Env::shared();
    let home = Home::new();
    let cfg = data("local.yaml");
    let nvcf = |helm: &Path| {
        let mut cmd = home.command(bin("helm-nvcf"));
        cmd.current_dir(home.path())
            .env("HELM_BIN", helm)
            .env("KUBECONFIG", env.kubeconfig())
            .env("HELM_DATA_HOME", home.path().join("helm/data"))
            .env("HELM_CONFIG_HOME", home.path().join("helm/config"))
            .env("HELM_CACHE_HOME", home.path().join("helm/cache"))
            .env("NVCF_STACK_CONFIG", &cfg)
            .env("NVCF_TEST_REGISTRY_KEY", "registry-key-for-tests");
        cmd
    };
    // Install api-keys 1.6.0 the way a bundle does.
    let bundle = home.path().join("bundle");
    Run::of(
        nvcf(&tools::helm3())
            .args(["bundle", "-o"])
            .arg(&bundle)
            .arg("--chart-source")
            .arg(format!(
                "dir:{}",
                charts_at(&home, &charts, &[("helm-nvcf-api-keys", "1.6.0")]).display()
            )),
    )
    .expect_success();
    Run::of(
        Command::new(bundle.join("005-api-keys/install.sh"))
            .env("HELM_BIN", tools::helm3())
            .env("KUBECONFIG", env.kubeconfig())
            .args(["--timeout", "120s"]),
    )
    .expect_success();

    let newer = charts_at(&home, &charts, &[("helm-nvcf-api-keys", "1.6.1")]);
    let source = format!("dir:{}", newer.display());
    let wrong = Run::of(nvcf(&tools::helm4()).args([
        "upgrade",
        "api-keys",
        "--version",
        "9.9.9",
        "--chart-source",
        &source,
    ]));
    assert_eq!(wrong.code, Some(65), "{wrong:#?}");
    assert!(
        wrong
            .stderr
            .contains("is version 1.6.1, not the requested 9.9.9")
    );

    let up = Run::of(nvcf(&tools::helm4()).args([
        "--json",
        "upgrade",
        "api-keys",
        "--version",
        "1.6.1",
        "--chart-source",
        &source,
        "-o",
        "json",
    ]));
    up.expect_success();
    assert_eq!(
        completed_phases(&up.stderr),
        ["resolve", "backup-values", "helm-upgrade", "post-checks"]
    );
    let report: serde_json::Value = serde_json::from_str(&up.stdout).unwrap();
    assert_eq!(report["revision"], 2, "{report}");
    assert_eq!(report["chart"], "helm-nvcf-api-keys-1.6.1");
    assert_eq!(report["checks"][0]["what"], "Deployment/api-keys ready");
    assert_eq!(report["checks"][0]["ok"], true, "{report}");
    let backup = home.path().join("api-keys-values-backup-rev1.yaml");
    let saved = std::fs::read_to_string(&backup).unwrap();
    assert!(
        saved.contains("repository: acme/nvcf/nvcf-api-keys-service"),
        "{saved}"
    );

    let back =
        Run::of(nvcf(&tools::helm3()).args(["--json", "rollback", "api-keys", "-o", "json"]));
    back.expect_success();
    assert_eq!(
        completed_phases(&back.stderr),
        ["helm-rollback", "post-checks"]
    );
    let report: serde_json::Value = serde_json::from_str(&back.stdout).unwrap();
    assert_eq!(report["revision"], 3, "{report}");
    assert_eq!(report["chart"], "helm-nvcf-api-keys-1.6.0");

    for helm in [tools::helm3(), tools::helm4()] {
        let history = Run::of(nvcf(&helm).args(["history", "api-keys", "-o", "json"]));
        history.expect_success();
        let h: serde_json::Value = serde_json::from_str(&history.stdout).unwrap();
        let charts: Vec<&str> = h["revisions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["chart"].as_str().unwrap())
            .collect();
        assert_eq!(
            charts,
            [
                "helm-nvcf-api-keys-1.6.0",
                "helm-nvcf-api-keys-1.6.1",
                "helm-nvcf-api-keys-1.6.0"
            ]
        );
    }
    let table = Run::of(nvcf(&tools::helm4()).args(["history", "api-keys"]));
    table.expect_success();
    assert!(table.stdout.starts_with("REVISION"), "{}", table.stdout);

    let missing = Run::of(nvcf(&tools::helm4()).args(["history", "no-such-release"]));
    assert_eq!(missing.code, Some(4), "{missing:#?}");
}

/// Statically provisioned volumes for OpenBao's claims: the testenv has no provisioner.
fn persistent_volumes(env: &Env, home: &Home) {
    let text: String = (0..3)
        .map(|i| {
            format!(
                "---\napiVersion: v1\nkind: PersistentVolume\nmetadata:\n  name: upgrade-pv-{i}\n\
                 spec:\n  capacity: {{storage: 10Gi}}\n  accessModes: [ReadWriteOnce]\n  \
                 persistentVolumeReclaimPolicy: Retain\n  hostPath: {{path: /tmp/upgrade-pv-{i}}}\n"
            )
        })
        .collect();
    let file = home.path().join("pvs.yaml");
    std::fs::write(&file, text).unwrap();
    env.kubectl_run(&["apply", "-f", file.to_str().unwrap()])
        .unwrap();
}

/// Sets `openbao-sealed` on the OpenBao pods, as the chart's Kubernetes service
/// registration does; `None` removes it.
fn seal_label(env: &Env, pod: &str, sealed: Option<bool>) {
    let label = match sealed {
        Some(s) => format!("openbao-sealed={s}"),
        None => "openbao-sealed-".to_owned(),
    };
    env.kubectl_run(&[
        "label",
        "pod",
        "-n",
        "vault-system",
        pod,
        &label,
        "--overwrite",
    ])
    .unwrap();
}

#[test]
fn openbao_must_be_unsealed_after_an_upgrade_or_rollback_not_just_ready() {
    let Some(charts) =
        charts_dir("openbao_must_be_unsealed_after_an_upgrade_or_rollback_not_just_ready")
    else {
        return;
    };
    let env = Env::shared();
    let home = Home::new();
    persistent_volumes(env, &home);
    let cfg = data("local.yaml");
    let nvcf = |helm: &Path| {
        let mut cmd = home.command(bin("helm-nvcf"));
        cmd.current_dir(home.path())
            .env("HELM_BIN", helm)
            .env("KUBECONFIG", env.kubeconfig())
            .env("HELM_DATA_HOME", home.path().join("helm/data"))
            .env("HELM_CONFIG_HOME", home.path().join("helm/config"))
            .env("HELM_CACHE_HOME", home.path().join("helm/cache"))
            .env("NVCF_STACK_CONFIG", &cfg)
            .env("NVCF_TEST_REGISTRY_KEY", "registry-key-for-tests");
        cmd
    };
    let source = format!(
        "dir:{}",
        charts_at(&home, &charts, &[("helm-nvcf-openbao-server", "0.30.25")]).display()
    );
    let bundle = home.path().join("bundle");
    Run::of(
        nvcf(&tools::helm3())
            .args(["bundle", "-o"])
            .arg(&bundle)
            .args(["--chart-source", &source]),
    )
    .expect_success();
    let install = std::fs::read_dir(&bundle)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.to_string_lossy().ends_with("-openbao-server"))
        .unwrap()
        .join("install.sh");
    Run::of(
        Command::new(install)
            .env("HELM_BIN", tools::helm4())
            .env("KUBECONFIG", env.kubeconfig())
            .args(["--timeout", "180s"]),
    )
    .expect_success();
    let pods = ["openbao-server-0", "openbao-server-1", "openbao-server-2"];
    for pod in pods {
        seal_label(env, pod, Some(false));
    }

    // Every pod Ready and unsealed: the post-check passes.
    let up = Run::of(nvcf(&tools::helm4()).args([
        "--json",
        "upgrade",
        "openbao-server",
        "--version",
        "0.30.25",
        "--chart-source",
        &source,
        "-o",
        "json",
    ]));
    up.expect_success();
    let report: serde_json::Value = serde_json::from_str(&up.stdout).unwrap();
    let seal = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["what"] == "OpenBao openbao-server unsealed")
        .unwrap_or_else(|| panic!("{report}"));
    assert_eq!(seal["ok"], true, "{report}");
    assert_eq!(seal["detail"], "3/3 pods unsealed");

    // Ready but sealed: the post-check fails, naming the pod and the fix.
    seal_label(env, "openbao-server-1", Some(true));
    let back = Run::of(nvcf(&tools::helm3()).args([
        "--json",
        "rollback",
        "openbao-server",
        "--unseal-timeout",
        "1s",
    ]));
    assert_eq!(back.code, Some(2), "{back:#?}");
    assert!(
        back.stdout.contains("openbao-server-1 sealed"),
        "{}",
        back.stdout
    );
    let evs = events(&back.stderr);
    let failed = evs
        .iter()
        .find(|e| e["event"] == "phase_failed")
        .unwrap_or_else(|| panic!("{}", back.stderr));
    assert_eq!(failed["phase"], "post-checks");
    assert_eq!(failed["errCategory"], "checks_failed");
    assert!(
        failed["errMessage"]
            .as_str()
            .unwrap()
            .contains("OpenBao openbao-server unsealed (openbao-server-1 sealed)"),
        "{failed}"
    );
    let fix = failed["remediation"].to_string();
    assert!(
        fix.contains("kubectl logs -n vault-system openbao-server-1 -c auto-unseal-sidecar")
            && fix.contains("openbao-server-unseal"),
        "{fix}"
    );
    assert_eq!(evs.last().unwrap()["success"], false);

    // Without service-registration labels the pod's own seal-status is asked through the
    // API server's pod proxy; KWOK pods serve nothing, so the state is unknown: not passed.
    for pod in pods {
        seal_label(env, pod, None);
    }
    let unknown = Run::of(nvcf(&tools::helm4()).args([
        "rollback",
        "openbao-server",
        "--unseal-timeout",
        "1s",
        "-o",
        "json",
    ]));
    assert_eq!(unknown.code, Some(2), "{unknown:#?}");
    assert!(
        unknown
            .stdout
            .contains("openbao-server-0 seal status unknown"),
        "{}",
        unknown.stdout
    );
}
