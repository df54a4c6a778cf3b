//! The single-cluster lifecycle with real helm 3, the real charts and nvcf-sim as the
//! NVCF API: `up` → `status` (identity from the saved registration, every release) →
//! `down --plan-only` (no mutating request to the cluster or SIS) → `down` (compute plane
//! uninstalled, SIS row deleted, control plane kept).

mod helm_nvcf_support;
mod nvcf_support;
mod up_support;

use nvcf_e2e::Run;
use nvcf_support::SimEnv;
use nvcf_testenv::{Env, tools};
use serde_json::Value;
use up_support::{accept_routes, events, helm_releases, nvcf, prepare, up_args};

#[test]
fn up_status_down_on_one_cluster() {
    let Some(charts) = helm_nvcf_support::charts("up_status_down_on_one_cluster") else {
        return;
    };
    let env = Env::start_named("nvcf-lifecycle").unwrap();
    prepare(&env);
    let sim = SimEnv::start();
    let kubeconfig = env.kubeconfig().to_str().unwrap().to_owned();
    let helm = tools::helm3();
    let run = |args: &[&str]| Run::of(nvcf(&sim, &kubeconfig, &helm).args(args));

    let mut args = up_args("gpu-a", &charts);
    args.push("--json".into());
    let up = Run::of(nvcf(&sim, &kubeconfig, &helm).args(&args));
    up.expect_success();
    let cluster_id = events(&up.stderr).last().unwrap()["clusterId"]
        .as_str()
        .unwrap()
        .to_owned();

    let status = run(&["status", "-o", "json"]);
    status.expect_success();
    let status: Value = serde_json::from_str(&status.stdout).unwrap();
    assert_eq!(status["identity"]["clusterName"], "gpu-a", "{status:#}");
    assert_eq!(status["identity"]["clusterId"], cluster_id.as_str());
    assert_eq!(status["identity"]["source"], "profile");
    let state = |s: &Value, name: &str| {
        s["releases"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["release"] == name)
            .unwrap()["state"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    for r in [
        "api",
        "sis",
        "nats",
        "openbao-server",
        "cassandra",
        "nvca-operator",
    ] {
        assert_eq!(state(&status, r), "healthy", "{r}: {status:#}");
    }

    // Upstream's post-install check, which upstream leaves without checks: every release
    // of both planes is healthy. Until a Gateway controller accepts the routes, ingress is
    // not, and the check says so.
    let outcome = |report: &Value, id: &str| -> String {
        report["outcomes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["id"] == id)
            .map(|o| o["status"].as_str().unwrap().to_owned())
            .unwrap_or_else(|| panic!("no check {id}: {report:#}"))
    };
    let pending = run(&["check", "--control-plane", "-o", "json"]);
    assert_eq!(pending.code, Some(2), "{pending:#?}");
    let pending: Value = serde_json::from_str(&pending.stdout).unwrap();
    assert_eq!(
        outcome(&pending, "release-ingress"),
        "failed",
        "{pending:#}"
    );
    assert!(
        pending
            .to_string()
            .contains("not accepted by its Gateway yet"),
        "{pending:#}"
    );
    accept_routes(&env);
    let checked = run(&["check", "--control-plane", "--compute-plane", "-o", "json"]);
    checked.expect_success();
    let checked: Value = serde_json::from_str(&checked.stdout).unwrap();
    for id in [
        "control-plane-installed",
        "compute-plane-installed",
        "release-api",
        "release-openbao-server",
        "release-nats-auth-callout-service",
        "release-ingress",
        "release-nvca-operator",
    ] {
        assert_eq!(outcome(&checked, id), "passed", "{id}: {checked:#}");
    }

    let audit = env.audit();
    let mark = audit.mark().unwrap();
    let sim_before = sim.sim.requests().len();
    let plan = run(&[
        "down",
        "--cluster-name",
        "gpu-a",
        "--plan-only",
        "-o",
        "json",
    ]);
    plan.expect_success();
    let plan: Value = serde_json::from_str(&plan.stdout).unwrap();
    assert_eq!(
        plan["registrationRows"][0]["clusterId"],
        cluster_id.as_str(),
        "{plan:#}"
    );
    let writes: Vec<String> = audit
        .requests_since(mark)
        .unwrap()
        .into_iter()
        // Only writes by us or the helm we drive count: KWOK renews node leases meanwhile.
        .filter(|e| {
            e.is_mutating()
                && (e.user_agent.starts_with("kubectl-nvcf/") || e.user_agent.starts_with("Helm/"))
        })
        .map(|e| format!("{} {} {}", e.user_agent, e.verb, e.request_uri))
        .collect();
    assert!(writes.is_empty(), "plan wrote: {writes:?}");
    let sim_calls: Vec<Value> = sim.sim.requests()[sim_before..].to_vec();
    assert!(
        sim_calls.iter().all(|r| r["method"] == "GET"),
        "plan only reads SIS: {sim_calls:?}"
    );

    let down = run(&["down", "--cluster-name", "gpu-a", "--confirm"]);
    down.expect_success();
    assert!(down.stdout.contains("deleted"), "{down:#?}");
    let left = helm_releases(&env);
    assert!(!left.contains_key("nvca-operator"), "{left:?}");
    assert!(left.contains_key("api"), "control plane kept: {left:?}");
    assert!(
        sim.sim.state().lock().clusters.jwks(&cluster_id).is_none(),
        "SIS row deleted"
    );
    let after = run(&["status", "-o", "json"]);
    let after: Value = serde_json::from_str(&after.stdout).unwrap();
    assert_eq!(state(&after, "nvca-operator"), "not-installed");
    // The compute plane is gone: its check fails (exit 2), and waiting for it times out
    // (upstream's exit 5); the control plane still passes.
    let gone = run(&["check", "--compute-plane", "-o", "json"]);
    assert_eq!(gone.code, Some(2), "{gone:#?}");
    let gone: Value = serde_json::from_str(&gone.stdout).unwrap();
    assert_eq!(
        outcome(&gone, "compute-plane-installed"),
        "failed",
        "{gone:#}"
    );
    let waited = run(&["check", "--compute-plane", "--wait", "6s"]);
    assert_eq!(waited.code, Some(5), "{waited:#?}");
    run(&["check", "--control-plane"]).expect_success();
}
