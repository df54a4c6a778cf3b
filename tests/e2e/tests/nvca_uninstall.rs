//! `kubectl nvca uninstall` on a real test cluster with the real operator chart
//! installed by real helm (the stack's values): refusal while functions run, a write-free dry run, the ordered
//! run, the kept registration ConfigMap, and `--purge`.

use nvcf_e2e::{Home, Run, bin};
use nvcf_testenv::{Env, tools};
use std::time::{Duration, Instant};

fn apply(env: &Env, yaml: &str) {
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), yaml).unwrap();
    env.kubectl_run(&["apply", "-f", file.path().to_str().unwrap()])
        .unwrap();
}

fn exists(env: &Env, args: &[&str]) -> bool {
    let mut all = vec!["get"];
    all.extend_from_slice(args);
    all.extend(["--ignore-not-found", "-o", "name"]);
    !env.kubectl_run(&all).unwrap_or_default().trim().is_empty()
}

fn gone_or_terminating(env: &Env, ns: &str) -> bool {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(60) {
        let phase = env
            .kubectl_run(&[
                "get",
                "namespace",
                ns,
                "--ignore-not-found",
                "-o",
                "jsonpath={.status.phase}",
            ])
            .unwrap_or_default();
        if phase.is_empty() || phase == "Terminating" {
            return true;
        }
        std::thread::sleep(Duration::from_millis(300));
    }
    false
}

#[test]
fn ordered_uninstall_keeps_the_registration_until_purged() {
    let Some(chart) = nvcf_e2e::upstream::stack_chart(
        "ordered_uninstall_keeps_the_registration_until_purged",
        "helm-nvca-operator",
    ) else {
        return;
    };
    let env = Env::start_named("nvca-uninstall").unwrap();
    let home = Home::new();
    let helm_path = home.path().join("bin");
    std::fs::create_dir_all(&helm_path).unwrap();
    std::os::unix::fs::symlink(tools::helm4(), helm_path.join("helm")).unwrap();
    let run_helm = |args: &[&str]| {
        Run::of(tools::helm_command(&tools::helm4(), env.kubeconfig(), home.path()).args(args))
    };
    run_helm(&[
        "install",
        "nvca-operator",
        chart.to_str().unwrap(),
        "-n",
        "nvca-operator",
        "--create-namespace",
        "--wait",
        "-f",
        nvcf_e2e::upstream::release_values(home.path(), "nvca-operator")
            .to_str()
            .unwrap(),
    ])
    .expect_success();
    apply(
        &env,
        "apiVersion: nvcf.nvidia.io/v1\nkind: NVCFBackend\nmetadata: {name: gpu-a, namespace: nvca-operator}\nspec: {clusterName: gpu-a}\n",
    );
    apply(
        &env,
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: nvca-cluster-registration, namespace: nvca-operator}\ndata: {clusterId: c-1, clusterGroupId: g-1}\n",
    );
    env.kubectl_run(&["create", "namespace", "nvca-system"])
        .unwrap();
    env.kubectl_run(&["create", "namespace", "nvcf-backend"])
        .unwrap();
    apply(
        &env,
        "apiVersion: v1\nkind: Pod\nmetadata: {name: fn-abc, namespace: nvcf-backend}\nspec:\n  containers: [{name: fn, image: fn:1}]\n",
    );
    let start = Instant::now();
    while env
        .kubectl_run(&[
            "get",
            "pod",
            "-n",
            "nvcf-backend",
            "fn-abc",
            "-o",
            "jsonpath={.status.phase}",
        ])
        .unwrap_or_default()
        != "Running"
    {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "function pod never ran"
        );
        std::thread::sleep(Duration::from_millis(300));
    }

    let nvca = |args: &[&str]| {
        Run::of(
            home.command(bin("kubectl-nvca"))
                .env("PATH", &helm_path)
                .env("HELM_DATA_HOME", home.path().join("helm/data"))
                .env("HELM_CONFIG_HOME", home.path().join("helm/config"))
                .env("HELM_CACHE_HOME", home.path().join("helm/cache"))
                .arg("--kubeconfig")
                .arg(env.kubeconfig())
                .args(args),
        )
    };

    // A dry run lists the six steps and writes nothing.
    let mark = env.audit().mark().unwrap();
    let plan = nvca(&["uninstall", "--dry-run", "-o", "json"]);
    plan.expect_success();
    let plan: serde_json::Value = serde_json::from_str(&plan.stdout).unwrap();
    assert_eq!(plan["steps"].as_array().unwrap().len(), 6);
    assert_eq!(plan["dryRun"], true);
    assert_eq!(plan["steps"][3]["phase"], "registration-configmap");
    // Kept without --purge: a skipped step with no command, why in its detail.
    assert_eq!(plan["steps"][3]["state"], "skipped");
    assert!(plan["steps"][3].get("command").is_none(), "{plan}");
    assert!(
        plan["steps"][3]["detail"]
            .as_str()
            .unwrap()
            .contains("--purge deletes it")
    );
    let writes = env
        .audit()
        .requests_matching(
            mark,
            &["create", "update", "patch", "delete", "deletecollection"],
            "kubectl-nvca",
        )
        .unwrap();
    assert!(writes.is_empty(), "dry run wrote: {writes:#?}");

    // Without --yes nothing happens; with it, a running function pod stops the first step.
    assert_eq!(nvca(&["uninstall"]).code, Some(64));
    let refused = nvca(&["--json", "uninstall", "--yes"]);
    assert_eq!(refused.code, Some(6), "{refused:#?}");
    assert!(
        refused.stderr.contains("\"errCategory\":\"conflict\"")
            && refused.stderr.contains("fn-abc"),
        "{refused:#?}"
    );
    assert!(
        exists(&env, &["nvcfbackend", "-n", "nvca-operator", "gpu-a"]),
        "nothing was deleted"
    );

    env.kubectl_run(&[
        "delete",
        "pod",
        "-n",
        "nvcf-backend",
        "fn-abc",
        "--grace-period=0",
        "--force",
    ])
    .unwrap();
    let run = nvca(&[
        "--json",
        "uninstall",
        "--yes",
        "--timeout",
        "90s",
        "-o",
        "json",
    ]);
    run.expect_success();
    let report: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(report["steps"][0]["detail"], "deleted NVCFBackend gpu-a");
    // The real chart's cleanup finalizers: no operator ran to clear them, so uninstall did.
    let helm_step = report["steps"][2]["detail"].as_str().unwrap();
    assert!(
        helm_step.contains("released on") && helm_step.contains("clusterrole"),
        "{helm_step}"
    );
    assert_eq!(report["steps"][3]["detail"], "kept for a reinstall");
    assert_eq!(report["steps"][3]["state"], "skipped");
    assert_eq!(report["steps"][0]["state"], "done");
    let phases: Vec<String> = run
        .stderr
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|e| e["event"] == "phase_completed")
        .map(|e| e["phase"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        phases,
        [
            "delete-nvcfbackends",
            "wait-agent-gone",
            "helm-uninstall",
            "registration-configmap",
            "delete-crds",
            "delete-namespaces"
        ]
    );
    let releases = run_helm(&["list", "-n", "nvca-operator", "-q"]);
    assert_eq!(releases.stdout.trim(), "", "release still installed");
    assert!(!exists(&env, &["crd", "nvcfbackends.nvcf.nvidia.io"]));
    assert!(gone_or_terminating(&env, "nvca-system") && gone_or_terminating(&env, "nvcf-backend"));
    assert!(
        exists(
            &env,
            &[
                "configmap",
                "-n",
                "nvca-operator",
                "nvca-cluster-registration"
            ]
        ),
        "registration kept"
    );

    // Running it again converges; --purge removes what was kept.
    let run = nvca(&["uninstall", "--yes", "--purge", "-o", "json"]);
    run.expect_success();
    let report: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(report["steps"][3]["detail"], "deleted");
    assert_eq!(report["steps"][3]["state"], "done");
    assert!(gone_or_terminating(&env, "nvca-operator"));
}
