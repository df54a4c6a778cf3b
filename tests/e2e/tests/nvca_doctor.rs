//! `kubectl nvca doctor` on a bootstrapped test cluster: healthy first, then each fault of
//! seed 001's troubleshooting list planted in turn, named by its check with evidence and fix.

mod nvca_support;

use nvca_support::{CLUSTER, Nvca, fault};
use nvcf_e2e::registry::start_registry_with_auth;
use serde_json::{Value, json};

const ROBOT_PASSWORD: &str = "robot-password-2291";

fn doctor(t: &Nvca) -> (Option<i32>, Value) {
    let run = t.nvca(&["doctor", "-o", "json"]);
    let report: Value = serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("doctor printed no JSON ({e}): {run:#?}"));
    (run.code, report)
}

fn failed(report: &Value) -> Vec<String> {
    report["outcomes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["status"] == "failed")
        .map(|o| o["id"].as_str().unwrap().to_owned())
        .collect()
}

fn outcome(report: &Value, id: &str) -> Value {
    report["outcomes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["id"] == id)
        .unwrap_or_else(|| panic!("no check {id}: {report:#}"))
        .clone()
}

/// Doctor fails `id` with `evidence` in its message and `fix` in its hint.
#[track_caller]
fn names(t: &Nvca, id: &str, evidence: &str, fix: &str) -> Value {
    let (code, report) = doctor(t);
    assert_eq!(code, Some(2), "a failed doctor exits 2: {report:#}");
    let o = outcome(&report, id);
    assert_eq!(o["status"], "failed", "{id} should fail: {report:#}");
    assert!(
        o["message"].as_str().unwrap_or_default().contains(evidence),
        "{id}: evidence {evidence:?} missing: {o:#}"
    );
    assert!(
        o["hint"].as_str().unwrap_or_default().contains(fix),
        "{id}: fix {fix:?} missing: {o:#}"
    );
    report
}

/// The first agent pod's name; empty when there is none.
fn agent_pod(t: &Nvca) -> String {
    first(t.kubectl(&[
        "get",
        "pods",
        "-n",
        "nvca-system",
        "-l",
        "app.kubernetes.io/name=nvca",
        "-o",
        "jsonpath={.items[*].metadata.name}",
    ]))
}

fn first(names: String) -> String {
    names
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_owned()
}

/// Replaces the profile's admin token with one another control plane signed: the same
/// issuer, a key id this one does not publish. Returns the token.
fn plant_foreign_token(t: &Nvca) -> String {
    use base64::Engine;
    let enc = |v: Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
    let token = format!(
        "{}.{}.c2lnbmVkLWVsc2V3aGVyZS1QTEFOVEVE",
        enc(json!({"alg": "ES256", "typ": "JWT", "kid": "key-of-another-control-plane"})),
        enc(
            json!({"iss": "http://api.nvcf.svc.cluster.local", "sub": "admin", "exp": 4102444800u64})
        )
    );
    let path = t
        .sim
        .home
        .path()
        .join(".config/nvcf/profiles/e2e/state.json");
    let mut state: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    state["token"] = json!(token);
    std::fs::write(&path, state.to_string()).unwrap();
    token
}

fn healthy_check(t: &Nvca, id: &str) -> bool {
    outcome(&doctor(t).1, id)["status"] == "passed"
}

#[test]
fn doctor_names_each_planted_fault_and_its_fix() {
    let Some(chart) = nvca_support::operator_chart("doctor_names_each_planted_fault_and_its_fix")
    else {
        return;
    };
    let mut t = Nvca::start("nvca-doctor");
    // The site's registry, with htpasswd auth: the operator's images come from it, and the
    // pull secret's credentials are tried there as a pull would.
    let registry = start_registry_with_auth("robot", ROBOT_PASSWORD);

    // Nothing installed yet: the operator's config is missing, with the install as the fix.
    names(
        &t,
        "cluster-config",
        "nvcfbackend-self-managed",
        "kubectl nvca values",
    );

    t.install_operator_from(&chart, &registry.addr);
    t.start_operator(true);
    // Installed but never bootstrapped: the registration ConfigMap does not exist.
    let report = names(
        &t,
        "bootstrap-completed",
        "never bootstrapped",
        "kubectl nvca bootstrap",
    );
    assert!(
        failed(&report).contains(&"agent-created".to_owned()),
        "{report:#}"
    );
    t.json(&["bootstrap", "--timeout", "90s"]);
    t.pull_secret(&registry.addr, "robot", ROBOT_PASSWORD);

    let (code, report) = doctor(&t);
    assert_eq!(code, Some(0), "healthy after bootstrap: {report:#}");
    assert!(failed(&report).is_empty(), "{report:#}");
    assert_eq!(report["verdict"], "passed");
    for id in [
        "sis-registered",
        "sis-keys",
        "gpus-discovered",
        "vault-agent",
        "pull-secret",
    ] {
        assert_eq!(outcome(&report, id)["status"], "passed", "{id}: {report:#}");
    }
    assert!(
        outcome(&report, "pull-secret")["detail"]
            .as_str()
            .unwrap_or_default()
            .contains(&format!("{}: logged in as robot", registry.addr)),
        "{report:#}"
    );

    // A wrong key: refused at the registry (a fix, exit 2), and the key never shown.
    t.pull_secret(&registry.addr, "robot", "wrong-password-5");
    let report = names(&t, "pull-secret", "refused robot (401", "docker-registry");
    assert_eq!(
        outcome(&report, "pull-secret")["cause"],
        "auth",
        "{report:#}"
    );
    assert!(!report.to_string().contains("wrong-password-5"));
    // The registry gone: unreachable, not bad credentials, and a retry (exit 7).
    t.pull_secret(&registry.addr, "robot", ROBOT_PASSWORD);
    let addr = registry.addr.clone();
    drop(registry);
    let (code, report) = doctor(&t);
    assert_eq!(code, Some(7), "only an unreachable registry: {report:#}");
    assert_eq!(failed(&report), ["pull-secret"], "{report:#}");
    let o = outcome(&report, "pull-secret");
    assert_eq!(o["cause"], "network", "{o:#}");
    assert!(
        o["message"]
            .as_str()
            .unwrap_or_default()
            .contains(&format!("{addr}: unreachable")),
        "{o:#}"
    );

    // SIS returning 401.
    let mut rule = fault("sis");
    rule.status = Some(401);
    t.sim.fault(rule);
    names(&t, "sis-auth", "401", "vault-agent");
    t.sim.sim.clear_faults();

    // A profile holding a token from another control plane (a reinstalled stack signs with a
    // new key, under the same in-cluster issuer): named before any call replaces it.
    assert!(healthy_check(&t, "profile-token"));
    let foreign = plant_foreign_token(&t);
    let report = names(
        &t,
        "profile-token",
        "another control plane",
        "kubectl nvcf init",
    );
    assert!(
        !report.to_string().contains(&foreign[foreign.len() - 20..]),
        "the token is never shown: {report:#}"
    );

    // A registry credential changed just now: NVCA's cache has not caught up yet. A warning,
    // naming the credential and until when, never its secret.
    let password = "fresh-registry-password-6161";
    t.sim.ok(&[
        "registry-credential",
        "add",
        "--hostname",
        "registry.example.com",
        "--username",
        "robot",
        "--password",
        password,
        "--artifact-type",
        "CONTAINER",
    ]);
    let (code, report) = doctor(&t);
    // The registry stopped above still fails the pull-secret check (7); the cache is a warning.
    assert_eq!(code, Some(7), "{report:#}");
    assert_eq!(
        failed(&report),
        ["registry-credentials-cached", "pull-secret"],
        "{report:#}"
    );
    assert_eq!(report["warnings"], 1, "{report:#}");
    let o = outcome(&report, "registry-credentials-cached");
    assert_eq!(o["status"], "failed", "{o:#}");
    assert_eq!(o["severity"], "warning", "{o:#}");
    let said = o["message"].as_str().unwrap_or_default();
    assert!(
        said.contains("registry.example.com") && said.contains("until"),
        "{o:#}"
    );
    assert!(!report.to_string().contains(password), "{report:#}");

    // The vault agent sidecar failing.
    let pod = agent_pod(&t);
    t.cluster
        .set_pod_waiting("nvca-system", &pod, "CrashLoopBackOff")
        .unwrap();
    names(&t, "vault-agent", "CrashLoopBackOff", "bao status");
    t.kubectl(&["delete", "pod", "-n", "nvca-system", &pod, "--wait=false"]);
    t.eventually("a new agent pod is ready", || {
        healthy_check(&t, "vault-agent")
    });

    // No GPUs discovered by NVCA.
    let backend = format!("nvcfbackend/{CLUSTER}");
    let usage = t.kubectl(&[
        "get",
        &backend,
        "-n",
        "nvca-operator",
        "-o",
        "jsonpath={.status.gpuUsage}",
    ]);
    let patch = |gpu_usage: Value| {
        let p = json!({"status": {"gpuUsage": gpu_usage}}).to_string();
        t.kubectl(&[
            "patch",
            &backend,
            "-n",
            "nvca-operator",
            "--subresource=status",
            "--type=merge",
            "-p",
            &p,
        ]);
    };
    patch(json!([]));
    names(
        &t,
        "gpus-discovered",
        "reports no GPUs",
        "DynamicGPUDiscovery",
    );
    patch(serde_json::from_str(&usage).unwrap());

    // The operator pod not starting.
    let operator = first(t.kubectl(&[
        "get",
        "pods",
        "-n",
        "nvca-operator",
        "-l",
        "app.kubernetes.io/name=nvca-operator",
        "-o",
        "jsonpath={.items[*].metadata.name}",
    ]));
    t.cluster
        .set_pod_waiting("nvca-operator", &operator, "CrashLoopBackOff")
        .unwrap();
    names(
        &t,
        "operator-running",
        "CrashLoopBackOff",
        "kubectl logs -n nvca-operator",
    );
    t.kubectl(&[
        "delete",
        "pod",
        "-n",
        "nvca-operator",
        &operator,
        "--wait=false",
    ]);
    t.eventually("a new operator pod is ready", || {
        healthy_check(&t, "operator-running")
    });

    // The NVCA agent not created: an operator that no longer reconciles, and no agent.
    t.operator.as_ref().expect("operator running").settle(1);
    t.operator = None;
    t.kubectl(&["delete", "deployment", "nvca", "-n", "nvca-system"]);
    t.kubectl(&["delete", &backend, "-n", "nvca-operator"]);
    t.eventually("the agent pods are gone", || agent_pod(&t).is_empty());
    names(
        &t,
        "agent-created",
        "no NVCFBackend",
        "kubectl describe nvcfbackends",
    );

    // Empty cluster IDs.
    t.kubectl(&[
        "patch",
        "configmap",
        "nvca-cluster-registration",
        "-n",
        "nvca-operator",
        "--type=merge",
        "-p",
        r#"{"data":{"clusterId":"","clusterGroupId":""}}"#,
    ]);
    names(
        &t,
        "cluster-ids",
        "clusterId and clusterGroupId empty",
        "kubectl nvca bootstrap",
    );

    // The (v0.5 chart's) bootstrap init container failed.
    t.apply(
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: nvca-operator-v05\n  namespace: nvca-operator\n  labels: {app.kubernetes.io/name: nvca-operator}\nspec:\n  initContainers: [{name: nvca-self-managed-bootstrap, image: nvca-operator:1}]\n  containers: [{name: nvca-operator, image: nvca-operator:1}]\n",
    );
    t.eventually("the v0.5 pod runs", || {
        t.kubectl(&[
            "get",
            "pod",
            "nvca-operator-v05",
            "-n",
            "nvca-operator",
            "-o",
            "jsonpath={.status.phase}",
        ]) == "Running"
    });
    t.cluster
        .patch_status(
            "pods",
            Some("nvca-operator"),
            "nvca-operator-v05",
            &json!({
                "phase": "Pending",
                "initContainerStatuses": [{
                    "name": "nvca-self-managed-bootstrap", "image": "nvca-operator:1", "imageID": "",
                    "ready": false, "restartCount": 0,
                    "state": {"terminated": {"exitCode": 1, "reason": "Error"}},
                }],
            }),
        )
        .unwrap();
    names(
        &t,
        "bootstrap-completed",
        "nvca-self-managed-bootstrap exited with code 1",
        "kubectl logs -n nvca-operator -c nvca-self-managed-bootstrap",
    );

    // No GPUs advertised by the nodes (no GPU Operator device plugin).
    for node in ["testenv-gpu-0", "testenv-gpu-1"] {
        t.kubectl(&[
            "patch",
            "node",
            node,
            "--subresource=status",
            "--type=json",
            "-p",
            r#"[{"op":"remove","path":"/status/allocatable/nvidia.com~1gpu"}]"#,
        ]);
    }
    names(
        &t,
        "gpus-advertised",
        "no node advertises nvidia.com/gpu",
        "GPU Operator",
    );

    // The human view marks the failures and prints each fix.
    let table = t.nvca(&["doctor"]);
    assert_eq!(table.code, Some(2));
    assert!(
        table
            .stdout
            .contains("× clusterId and clusterGroupId populated")
            && table.stdout.contains("kubectl nvca bootstrap"),
        "{table:#?}"
    );
    assert!(
        table.stderr.contains("NVCA doctor checks failed"),
        "{table:#?}"
    );
}
