//! `kubectl nvcf up` on one real cluster with real helm 3, nvcf-sim as the NVCF API and
//! the real charts: the plan touches nothing, the install converges and registers the
//! cluster with its own keys, a re-run changes nothing, and a concurrent `up` is refused
//! by the install Lease.

mod helm_nvcf_support;
mod nvcf_support;
mod up_support;

use nvcf_e2e::Run;
use nvcf_support::SimEnv;
use nvcf_testenv::{Env, tools};
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::process::Stdio;
use up_support::{events, helm_releases, nvcf, prepare, up_args};

#[test]
fn up_plans_installs_reruns_and_holds_the_lock() {
    let Some(charts) = helm_nvcf_support::charts("up_plans_installs_reruns_and_holds_the_lock")
    else {
        return;
    };
    let env = Env::shared();
    prepare(env);
    let sim = SimEnv::start();
    let kubeconfig = env.kubeconfig().to_str().unwrap().to_owned();
    let helm = tools::helm3();
    let audit = env.audit();

    // --plan-only: phases, releases and ETAs; no request to the cluster or to NVCF.
    let mark = audit.mark().unwrap();
    let mut args = up_args("gpu-a", &charts);
    args.extend([
        "--plan-only".into(),
        "--json".into(),
        "-o".into(),
        "json".into(),
    ]);
    let plan = Run::of(nvcf(&sim, &kubeconfig, &helm).args(&args));
    plan.expect_success();
    let report: Value = serde_json::from_str(&plan.stdout).unwrap();
    assert_eq!(report["phases"].as_array().unwrap().len(), 8);
    assert_eq!(report["totalETASec"], 540);
    let releases = report["releases"].as_array().unwrap();
    let wave = |n: &str| {
        releases
            .iter()
            .find(|r| r["name"] == n)
            .unwrap_or_else(|| panic!("{n} planned"))["wave"]
            .as_u64()
            .unwrap()
    };
    assert!(wave("nats") < wave("openbao-server"));
    assert!(wave("openbao-server") < wave("sis"));
    assert_eq!(
        wave("sis"),
        wave("api-keys"),
        "independent releases share a wave"
    );
    let kinds: Vec<String> = events(&plan.stderr)
        .iter()
        .map(|e| e["event"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(kinds, ["schemaVersion", "planned", "final"]);
    let touched = audit.requests_matching(mark, &[], "kubectl-nvcf/").unwrap();
    assert!(
        touched.is_empty(),
        "--plan-only contacted the cluster: {touched:#?}"
    );
    assert!(sim.sim.requests().is_empty(), "--plan-only called NVCF");

    // The real install.
    let mut args = up_args("gpu-a", &charts);
    args.push("--json".into());
    let first = Run::of(nvcf(&sim, &kubeconfig, &helm).args(&args));
    first.expect_success();
    let evs = events(&first.stderr);
    let completed: Vec<&str> = evs
        .iter()
        .filter(|e| e["event"] == "phase_completed")
        .map(|e| e["phase"].as_str().unwrap())
        .collect();
    assert_eq!(
        completed,
        [
            "preflight",
            "render-cp",
            "apply-cp",
            "admin-token",
            "register",
            "render-compute-plane",
            "apply-compute-plane",
            "verify"
        ]
    );
    let last = evs.last().unwrap();
    assert_eq!(last["event"], "final");
    assert_eq!(last["success"], true);
    let cluster_id = last["clusterId"].as_str().unwrap().to_owned();
    let deployed = helm_releases(env);
    for r in releases {
        let name = r["name"].as_str().unwrap();
        assert_eq!(
            deployed.get(name).map(String::as_str),
            Some("deployed"),
            "{name}"
        );
    }
    // Registered with the cluster's own issuer, and the operator carries the id.
    let held = sim.sim.state().lock().clusters.jwks(&cluster_id);
    assert!(held.is_some(), "SIS holds the cluster's JWKS");
    let values = env
        .kubectl_run(&[
            "get",
            "secret",
            "-n",
            "nvca-operator",
            "-l",
            "owner=helm,name=nvca-operator",
            "-o",
            "name",
        ])
        .unwrap();
    assert!(!values.trim().is_empty());
    let cm = env
        .kubectl_run(&[
            "get",
            "jobs",
            "-n",
            "vault-system",
            "openbao-server-initialize-cluster",
            "-o",
            "jsonpath={.status.succeeded}",
        ])
        .unwrap();
    assert_eq!(cm.trim(), "1", "OpenBao's init Job ran");

    // A re-run converges without changing anything (upstream's --refresh-token: a fresh
    // admin token, as every up mints).
    let again = Run::of(nvcf(&sim, &kubeconfig, &helm).args([
        "up",
        "--cluster-name",
        "gpu-a",
        "--chart-source",
        &charts,
        "--refresh-token",
        "-o",
        "json",
    ]));
    again.expect_success();
    let report: Value = serde_json::from_str(&again.stdout).unwrap();
    assert!(
        report["releases"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["action"] == "unchanged"),
        "{report:#}"
    );
    assert_eq!(
        report["clusterId"],
        cluster_id.as_str(),
        "same registration adopted"
    );

    // A second `up` while one holds the Lease stops at once and names the holder.
    let mut args = up_args("gpu-a", &charts);
    args.push("--json".into());
    let mut holder = nvcf(&sim, &kubeconfig, &helm)
        .args(&args)
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let pid = holder.id();
    let mut lines = BufReader::new(holder.stderr.take().unwrap()).lines();
    for line in lines.by_ref() {
        let line = line.unwrap();
        if line.contains("install lock") && line.contains("held by") {
            break;
        }
    }
    let started = std::time::Instant::now();
    let refused = Run::of(nvcf(&sim, &kubeconfig, &helm).args([
        "up",
        "--cluster-name",
        "gpu-a",
        "--chart-source",
        &charts,
    ]));
    assert!(
        started.elapsed() < std::time::Duration::from_secs(20),
        "refused at once"
    );
    assert_eq!(refused.code, Some(6), "{refused:#?}");
    assert!(
        refused.stderr.contains("e2e@") && refused.stderr.contains(&format!("pid={pid}")),
        "names the holder: {}",
        refused.stderr
    );
    for line in lines {
        let _ = line;
    }
    assert!(holder.wait().unwrap().success(), "the holder finishes");
    let lease = env
        .kubectl_run(&["get", "lease", "-n", "nvcf-cli-system", "-o", "name"])
        .unwrap();
    assert!(lease.trim().is_empty(), "the lock is released: {lease}");

    // Gates read the real signals: a post-upgrade Job that is gone (its TTL) is re-run by
    // an upgrade; OpenBao's post-install-only init Job gone means it was never initialised.
    env.kubectl_run(&[
        "delete",
        "job",
        "-n",
        "nvcf",
        "nvcf-api-account-bootstrap",
        "--wait",
    ])
    .unwrap();
    let rerun = Run::of(nvcf(&sim, &kubeconfig, &helm).args([
        "up",
        "--cluster-name",
        "gpu-a",
        "--chart-source",
        &charts,
        "-o",
        "json",
    ]));
    rerun.expect_success();
    let report: Value = serde_json::from_str(&rerun.stdout).unwrap();
    let action = |n: &str| {
        report["releases"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["name"] == n)
            .unwrap()["action"]
            .clone()
    };
    assert_eq!(action("api"), "upgraded", "{report:#}");
    assert_eq!(action("nats"), "unchanged");
    let done = env
        .kubectl_run(&[
            "get",
            "job",
            "-n",
            "nvcf",
            "nvcf-api-account-bootstrap",
            "-o",
            "jsonpath={.status.succeeded}",
        ])
        .unwrap();
    assert_eq!(done.trim(), "1", "the bootstrap Job ran again");
    env.kubectl_run(&[
        "delete",
        "job",
        "-n",
        "vault-system",
        "openbao-server-initialize-cluster",
        "--wait",
    ])
    .unwrap();
    let broken = Run::of(nvcf(&sim, &kubeconfig, &helm).args([
        "up",
        "--cluster-name",
        "gpu-a",
        "--chart-source",
        &charts,
        "--json",
    ]));
    assert_ne!(broken.code, Some(0), "{broken:#?}");
    let failed = events(&broken.stderr)
        .into_iter()
        .find(|e| e["event"] == "phase_failed")
        .unwrap_or_else(|| panic!("{broken:#?}"));
    assert_eq!(failed["phase"], "apply-cp");
    assert!(
        failed["errMessage"]
            .as_str()
            .unwrap()
            .contains("openbao-server-initialize-cluster"),
        "{failed:#}"
    );
}
