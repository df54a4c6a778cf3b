//! `kubectl nvcf up` with real helm 4, interrupted 20 times spread over every phase boundary (SIGINT and
//! SIGKILL, watching its JSONL events), then re-run: every re-run converges. Each round
//! changes a control-plane and a compute-plane value so both apply phases have work to do.
//! Also: `install --no-apply` prints YAML and touches neither the cluster nor NVCF.

mod helm_nvcf_support;
mod nvcf_support;
mod up_support;

use helm_nvcf_support::charts;
use nvcf_e2e::Run;
use nvcf_support::SimEnv;
use nvcf_testenv::{Env, tools};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use up_support::{events, helm_releases, nvcf, prepare, up_args};

/// `(event, phaseNum)` after which the run is killed.
const BOUNDARIES: [(&str, u64); 9] = [
    ("phase_completed", 1),
    ("phase_started", 2),
    ("phase_started", 3),
    ("phase_started", 4),
    ("phase_started", 5),
    ("phase_started", 6),
    ("phase_started", 7),
    ("phase_started", 8),
    ("phase_completed", 8),
];

fn round_args(charts: &str, round: usize) -> Vec<String> {
    let mut args = up_args("gpu-k", charts);
    args.extend([
        "--json".into(),
        "--set".into(),
        format!("api-keys:apikeys.podAnnotations.round=r{round}"),
        "--set".into(),
        format!("nvca-operator:agent.customAnnotations.round=r{round}"),
    ]);
    args
}

#[test]
fn up_killed_at_each_phase_boundary_converges_on_rerun() {
    let Some(charts) = charts("up_killed_at_each_phase_boundary_converges_on_rerun") else {
        return;
    };
    let env = Env::shared();
    prepare(env);
    let sim = SimEnv::start();
    let kubeconfig = env.kubeconfig().to_str().unwrap().to_owned();
    let helm = tools::helm4();
    let rounds: usize = std::env::var("NVCF_UP_KILL_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(20);
    let mut ledger =
        nvcf_e2e::faults::Entry::new("SIGINT/SIGKILL of `up` at its phase boundaries, then re-run");
    ledger.injected(rounds as u64).retries(rounds as u64);
    let mut cluster_ids = std::collections::BTreeSet::new();
    for round in 0..rounds {
        let (event, phase) = BOUNDARIES[round % BOUNDARIES.len()];
        let signal = if round % 2 == 0 { "INT" } else { "KILL" };
        let mut child = nvcf(&sim, &kubeconfig, &helm)
            .args(round_args(&charts, round))
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let mut seen = Vec::new();
        let mut hit = false;
        for line in lines.by_ref() {
            let line = line.unwrap();
            seen.push(line.clone());
            let Ok(v) = serde_json::from_str::<serde_json::Value>(&line) else {
                continue;
            };
            if v["event"] == event && v["phaseNum"] == phase {
                Command::new("kill")
                    .args([&format!("-{signal}"), &child.id().to_string()])
                    .status()
                    .unwrap();
                hit = true;
                break;
            }
        }
        let status = child.wait().unwrap();
        assert!(
            hit,
            "round {round}: never reached {event} {phase}: {seen:#?}"
        );
        // After the last phase only `final` is left: the run may finish before the signal
        // lands, and that is a success, not a torn run.
        assert!(
            !status.success() || (event, phase) == BOUNDARIES[BOUNDARIES.len() - 1],
            "round {round}: the run killed at {event} {phase} did not succeed"
        );

        let rerun = Run::of(nvcf(&sim, &kubeconfig, &helm).args(round_args(&charts, round)));
        assert_eq!(
            rerun.code,
            Some(0),
            "round {round}: re-run after SIG{signal} at {event} {phase} did not converge: {rerun:#?}"
        );
        let last = events(&rerun.stderr).pop().unwrap();
        assert_eq!(last["success"], true, "round {round}");
        cluster_ids.insert(last["clusterId"].as_str().unwrap().to_owned());
    }
    assert_eq!(
        cluster_ids.len(),
        1,
        "one registration throughout: {cluster_ids:?}"
    );
    let releases = helm_releases(env);
    assert!(releases.len() >= 19, "{releases:?}");
    assert!(
        releases.values().all(|s| s == "deployed"),
        "every release deployed: {releases:?}"
    );
    let lease = env
        .kubectl_run(&["get", "lease", "-n", "nvcf-cli-system", "-o", "name"])
        .unwrap();
    assert!(lease.trim().is_empty(), "the lock is released: {lease}");

    // install --no-apply: YAML for kubectl apply, nothing registered, nothing touched.
    let audit = env.audit();
    let mark = audit.mark().unwrap();
    let before = sim.sim.requests().len();
    let run = Run::of(nvcf(&sim, &kubeconfig, &helm).args([
        "install",
        "--compute-plane",
        "--no-apply",
        "--cluster-name",
        "gpu-k",
        "--chart-source",
        &charts,
    ]));
    run.expect_success();
    assert!(run.stdout.contains("kind: Deployment"), "{}", run.stdout);
    assert!(run.stdout.contains("name: nvca-operator"));
    let id = cluster_ids.iter().next().unwrap();
    assert!(
        run.stdout.contains(id.as_str()),
        "the remembered registration reaches the YAML"
    );
    assert_eq!(sim.sim.requests().len(), before, "--no-apply called NVCF");
    let touched = audit.requests_matching(mark, &[], "kubectl-nvcf/").unwrap();
    assert!(
        touched.is_empty(),
        "--no-apply contacted the cluster: {touched:#?}"
    );
    let cp = Run::of(nvcf(&sim, &kubeconfig, &helm).args([
        "install",
        "--control-plane",
        "--no-apply",
        "--chart-source",
        &charts,
    ]));
    cp.expect_success();
    assert!(cp.stdout.contains("name: openbao-server"));
    assert_eq!(sim.sim.requests().len(), before);
}
