//! `kubectl nvcf ops` on the real test cluster: restarts wait for new pods, a rollout that
//! never finishes times out clearly, scale-to-zero of infrastructure needs typed
//! confirmation, and plan mode writes nothing.

use nvcf_e2e::{Home, Run, bin};
use nvcf_testenv::Env;
use serde_json::Value;
use std::collections::BTreeSet;

fn nvcf(env: &Env, home: &Home, args: &[&str]) -> Run {
    Run::of(
        home.command(bin("kubectl-nvcf"))
            .arg("--kubeconfig")
            .arg(env.kubeconfig())
            .args(args),
    )
}

fn apply(env: &Env, ns: &str, yaml: &str) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w.yaml");
    std::fs::write(&path, yaml).unwrap();
    env.kubectl_run(&["apply", "-n", ns, "-f", path.to_str().unwrap()])
        .unwrap();
}

fn deployment(name: &str, replicas: u32, cpu: &str) -> String {
    format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: {name}}}\nspec:\n  replicas: {replicas}\n  selector: {{matchLabels: {{app: {name}}}}}\n  template:\n    metadata: {{labels: {{app: {name}}}}}\n    spec:\n      containers:\n      - name: app\n        image: stand-in/app:1\n        resources: {{requests: {{cpu: \"{cpu}\"}}}}\n"
    )
}

fn statefulset(name: &str, replicas: u32) -> String {
    format!(
        "apiVersion: apps/v1\nkind: StatefulSet\nmetadata: {{name: {name}}}\nspec:\n  replicas: {replicas}\n  serviceName: {name}\n  selector: {{matchLabels: {{app: {name}}}}}\n  template:\n    metadata: {{labels: {{app: {name}}}}}\n    spec:\n      containers:\n      - name: app\n        image: stand-in/db:1\n"
    )
}

fn rolled_out(env: &Env, ns: &str, what: &str) {
    env.kubectl_run(&["rollout", "status", what, "-n", ns, "--timeout=90s"])
        .unwrap();
}

fn pod_uids(env: &Env, ns: &str, app: &str) -> BTreeSet<String> {
    env.kubectl_run(&[
        "get",
        "pods",
        "-n",
        ns,
        "-l",
        &format!("app={app}"),
        "-o",
        "jsonpath={.items[*].metadata.uid}",
    ])
    .unwrap()
    .split_whitespace()
    .map(str::to_owned)
    .collect()
}

fn json(run: &Run) -> Value {
    serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}: {run:#?}"))
}

fn mutations_by_us(env: &Env, mark: nvcf_testenv::Mark) -> Vec<String> {
    env.audit()
        .requests_matching(mark, &[], "kubectl-nvcf/")
        .unwrap()
        .into_iter()
        .filter(|e| e.is_mutating())
        .map(|e| format!("{} {}", e.verb, e.request_uri))
        .collect()
}

#[test]
fn restart_waits_for_new_pods_of_a_deployment_and_a_statefulset() {
    let env = Env::shared();
    let home = Home::new();
    let ns = env.fresh_namespace("ops-restart").unwrap();
    apply(env, &ns, &deployment("web", 2, "10m"));
    apply(env, &ns, &statefulset("db", 3));
    rolled_out(env, &ns, "deployment/web");
    rolled_out(env, &ns, "statefulset/db");
    let (web_before, db_before) = (pod_uids(env, &ns, "web"), pod_uids(env, &ns, "db"));

    let mark = env.audit().mark().unwrap();
    let plan = nvcf(
        env,
        &home,
        &[
            "ops",
            "restart",
            "deployment/web",
            "statefulset/db",
            "-n",
            &ns,
            "--plan-only",
            "-o",
            "json",
        ],
    );
    plan.expect_success();
    let steps = json(&plan)["steps"].as_array().unwrap().clone();
    assert!(steps.iter().all(|s| s["state"] == "planned"), "{steps:#?}");
    assert!(
        mutations_by_us(env, mark).is_empty(),
        "plan mode wrote: {:?}",
        mutations_by_us(env, mark)
    );

    let run = nvcf(
        env,
        &home,
        &[
            "ops",
            "restart",
            "deployment/web",
            "statefulset/db",
            "-n",
            &ns,
            "-o",
            "json",
        ],
    );
    run.expect_success();
    let report = json(&run);
    let verified: Vec<&str> = report["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["state"] == "verified")
        .map(|s| s["step"].as_str().unwrap())
        .collect();
    assert!(
        verified.contains(&format!("wait for deployment/web in {ns}").as_str()),
        "{report:#}"
    );
    assert!(
        verified.contains(&format!("wait for statefulset/db in {ns}").as_str()),
        "{report:#}"
    );
    assert!(
        verified.contains(&format!("quorum kept by statefulset/db in {ns}").as_str()),
        "{report:#}"
    );
    // Every pod was replaced, and the workloads are rolled out at the end.
    let (web_after, db_after) = (pod_uids(env, &ns, "web"), pod_uids(env, &ns, "db"));
    assert_eq!((web_after.len(), db_after.len()), (2, 3));
    assert!(
        web_after.is_disjoint(&web_before),
        "{web_before:?} -> {web_after:?}"
    );
    assert!(
        db_after.is_disjoint(&db_before),
        "{db_before:?} -> {db_after:?}"
    );
    let stamped = env
        .kubectl_run(&[
            "get",
            "statefulset/db",
            "-n",
            &ns,
            "-o",
            "jsonpath={.spec.template.metadata.annotations}",
        ])
        .unwrap();
    assert!(
        stamped.contains("kubectl.kubernetes.io/restartedAt"),
        "{stamped}"
    );

    // A whole namespace: both workloads again.
    let all = nvcf(env, &home, &["ops", "restart", "-n", &ns, "-o", "json"]);
    all.expect_success();
    assert!(
        json(&all)["action"]
            .as_str()
            .unwrap()
            .contains("deployment/web"),
        "{all:#?}"
    );
}

#[test]
fn a_rollout_that_never_finishes_hits_the_timeout_with_a_clear_error() {
    let env = Env::shared();
    let home = Home::new();
    let ns = env.fresh_namespace("ops-stuck").unwrap();
    // More CPU than any node has: the new pods never schedule, so the rollout never ends.
    apply(env, &ns, &deployment("stuck", 1, "1000"));
    let started = std::time::Instant::now();
    let run = nvcf(
        env,
        &home,
        &[
            "ops",
            "restart",
            "deployment/stuck",
            "-n",
            &ns,
            "--timeout",
            "3s",
        ],
    );
    assert_eq!(run.code, Some(5), "timeout exit code: {run:#?}");
    assert!(
        run.stderr.contains(&format!(
            "the rollout of deployment/stuck in {ns} did not finish within 3s"
        )),
        "{run:#?}"
    );
    assert!(
        run.stderr.contains("kubectl get pods -n"),
        "names how to look: {run:#?}"
    );
    assert!(started.elapsed().as_secs() < 30, "gave up on time");
}

#[test]
fn scaling_infrastructure_to_zero_needs_the_typed_name_and_plan_mode_writes_nothing() {
    let env = Env::shared();
    let home = Home::new();
    apply(
        env,
        "default",
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: cassandra-system}\n",
    );
    env.kubectl_run(&[
        "wait",
        "--for=create",
        "serviceaccount/default",
        "-n",
        "cassandra-system",
        "--timeout=30s",
    ])
    .unwrap();
    apply(env, "cassandra-system", &statefulset("cassandra", 1));
    rolled_out(env, "cassandra-system", "statefulset/cassandra");
    let replicas = || {
        env.kubectl_run(&[
            "get",
            "statefulset/cassandra",
            "-n",
            "cassandra-system",
            "-o",
            "jsonpath={.spec.replicas}",
        ])
        .unwrap()
    };

    let mark = env.audit().mark().unwrap();
    let refused = nvcf(
        env,
        &home,
        &["ops", "scale", "cassandra", "--replicas", "0"],
    );
    assert_eq!(refused.code, Some(64), "{refused:#?}");
    assert!(
        refused.stderr.contains("without typed confirmation"),
        "{refused:#?}"
    );
    assert!(
        refused.stderr.contains("Cassandra stores functions"),
        "states the outage: {refused:#?}"
    );
    assert!(
        refused.stderr.contains("--confirm-outage cassandra"),
        "{refused:#?}"
    );
    let wrong = nvcf(
        env,
        &home,
        &[
            "ops",
            "scale",
            "cassandra",
            "--replicas",
            "0",
            "--confirm-outage",
            "nats",
        ],
    );
    assert_ne!(wrong.code, Some(0), "{wrong:#?}");
    assert!(wrong.stderr.contains("does not match"), "{wrong:#?}");
    let plan = nvcf(
        env,
        &home,
        &[
            "ops",
            "scale",
            "cassandra",
            "--replicas",
            "0",
            "--plan-only",
        ],
    );
    plan.expect_success();
    assert!(
        plan.stdout.contains("full control-plane outage"),
        "{plan:#?}"
    );
    assert_eq!(replicas(), "1");
    assert!(
        mutations_by_us(env, mark).is_empty(),
        "refusals and plan wrote: {:?}",
        mutations_by_us(env, mark)
    );

    let done = nvcf(
        env,
        &home,
        &[
            "ops",
            "scale",
            "cassandra",
            "--replicas",
            "0",
            "--confirm-outage",
            "cassandra",
            "-o",
            "json",
        ],
    );
    done.expect_success();
    assert_eq!(replicas(), "0");
    assert!(pod_uids(env, "cassandra-system", "cassandra").is_empty());
    let back = nvcf(
        env,
        &home,
        &["ops", "scale", "statefulset/cassandra", "--replicas", "1"],
    );
    back.expect_success();
    assert_eq!(pod_uids(env, "cassandra-system", "cassandra").len(), 1);
    // Other workloads scale without a confirmation.
    let ns = env.fresh_namespace("ops-scale").unwrap();
    apply(env, &ns, &deployment("api", 1, "10m"));
    nvcf(
        env,
        &home,
        &[
            "ops",
            "scale",
            "deployment/api",
            "-n",
            &ns,
            "--replicas",
            "0",
        ],
    )
    .expect_success();
}
