//! `kubectl nvca cleanup` on the real test cluster: a namespace stuck in Terminating on an
//! NVCA finalizer is listed by `--dry-run` without a single write, and freed by a real run.

use nvcf_e2e::{Home, Run, bin};
use nvcf_testenv::Env;
use std::time::{Duration, Instant};

const SENTINEL_FINALIZER: &str = "nvca.nvcf.nvidia.io/operator-cleanup";

fn nvca(home: &Home, env: &Env, args: &[&str]) -> Run {
    Run::of(
        home.command(bin("kubectl-nvca"))
            .arg("--kubeconfig")
            .arg(env.kubeconfig())
            .args(args),
    )
}

/// A namespace holding a ConfigMap with `finalizers`, then deleted: it stays Terminating.
fn stuck_namespace(env: &Env, prefix: &str, finalizers: &[&str]) -> String {
    let ns = env.fresh_namespace(prefix).unwrap();
    let manifest = serde_json::json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "nvca-operator-shutdown-sentinel", "namespace": ns, "finalizers": finalizers},
    });
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), manifest.to_string()).unwrap();
    env.kubectl_run(&["apply", "-f", file.path().to_str().unwrap()])
        .unwrap();
    env.kubectl_run(&["delete", "namespace", &ns, "--wait=false"])
        .unwrap();
    let phase = || {
        env.kubectl_run(&["get", "namespace", &ns, "-o", "jsonpath={.status.phase}"])
            .unwrap_or_default()
    };
    let start = Instant::now();
    while phase() != "Terminating" {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "namespace {ns} never reached Terminating"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    ns
}

fn wait_gone(env: &Env, ns: &str) -> bool {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(60) {
        if env
            .kubectl_run(&["get", "namespace", ns, "--ignore-not-found", "-o", "name"])
            .unwrap_or_default()
            .trim()
            .is_empty()
        {
            return true;
        }
        std::thread::sleep(Duration::from_millis(300));
    }
    false
}

#[test]
fn dry_run_lists_without_writing_and_a_real_run_frees_the_namespace() {
    let env = Env::shared();
    let home = Home::new();
    let ns = stuck_namespace(env, "stuck", &[SENTINEL_FINALIZER]);

    let audit = env.audit();
    let mark = audit.mark().unwrap();
    let run = nvca(
        &home,
        env,
        &["-n", &ns, "cleanup", "--dry-run", "-o", "json"],
    );
    run.expect_success();
    let report: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(report["dryRun"], true);
    assert_eq!(
        report["finalizersRemoved"][0]["name"],
        "nvca-operator-shutdown-sentinel"
    );
    assert_eq!(
        report["finalizersRemoved"][0]["matching"][0],
        SENTINEL_FINALIZER
    );
    assert_eq!(report["stuckNamespaces"][0]["name"], ns.as_str());
    assert_eq!(report["stuckNamespaces"][0]["outcome"], "would-finalize");
    // The same plan in the shared shape: a step an object, then a step a namespace.
    let steps = report["steps"].as_array().unwrap();
    assert!(steps.iter().all(|s| s["state"] == "planned"), "{report}");
    assert_eq!(steps.last().unwrap()["step"], format!("namespace/{ns}"));
    let writes = audit
        .requests_matching(
            mark,
            &["create", "update", "patch", "delete", "deletecollection"],
            "kubectl-nvca",
        )
        .unwrap();
    assert!(writes.is_empty(), "dry run wrote: {writes:#?}");
    let reads = audit
        .requests_matching(mark, &["list", "get"], "kubectl-nvca")
        .unwrap();
    assert!(
        !reads.is_empty(),
        "the audit filter must see our reads, or the write check proves nothing"
    );
    let finalizers = env
        .kubectl_run(&[
            "get",
            "configmap",
            "-n",
            &ns,
            "nvca-operator-shutdown-sentinel",
            "-o",
            "jsonpath={.metadata.finalizers}",
        ])
        .unwrap();
    assert!(
        finalizers.contains(SENTINEL_FINALIZER),
        "dry run left the finalizer: {finalizers}"
    );

    // Without --yes a real run shows the plan and refuses.
    let run = nvca(&home, env, &["-n", &ns, "cleanup"]);
    assert_eq!(run.code, Some(64), "{run:#?}");
    assert!(
        run.stdout.contains("nvca-operator-shutdown-sentinel"),
        "{run:#?}"
    );
    assert!(run.stderr.contains("--yes"), "{run:#?}");

    let run = nvca(&home, env, &["-n", &ns, "cleanup", "--yes", "-o", "json"]);
    run.expect_success();
    let report: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(report["dryRun"], false);
    assert_eq!(
        report["stuckNamespaces"][0]["outcome"], "deleted",
        "{report}"
    );
    assert_eq!(
        report["steps"].as_array().unwrap().last().unwrap()["state"],
        "done"
    );
    assert!(wait_gone(env, &ns), "namespace {ns} still exists");
}

#[test]
fn a_namespace_held_by_a_foreign_finalizer_is_finalized_after_the_wait() {
    let env = Env::shared();
    let home = Home::new();
    let ns = stuck_namespace(env, "foreign", &["example.com/not-ours"]);
    let run = nvca(
        &home,
        env,
        &["-n", &ns, "cleanup", "--yes", "--wait", "2s", "-o", "json"],
    );
    run.expect_success();
    let report: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(
        report["finalizersRemoved"].as_array().unwrap().len(),
        0,
        "only NVCA finalizers are touched: {report}"
    );
    assert_eq!(
        report["stuckNamespaces"][0]["outcome"], "finalized",
        "{report}"
    );
    assert!(
        wait_gone(env, &ns),
        "namespace {ns} still exists after finalize"
    );
}

#[test]
fn nothing_to_do_is_said_plainly() {
    let env = Env::shared();
    let home = Home::new();
    let ns = env.fresh_namespace("clean").unwrap();
    let run = nvca(&home, env, &["-n", &ns, "cleanup", "--dry-run"]);
    run.expect_success();
    assert!(run.stdout.starts_with("Nothing to clean up in"), "{run:#?}");
}
