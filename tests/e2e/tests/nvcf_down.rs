//! `kubectl nvcf down` and `uninstall` on a real test cluster with real charts
//! installed by real helm (helm 3 and helm 4): plan modes make no mutating request, down
//! removes the compute plane and keeps the control plane, the control plane's uninstall is
//! refused while a compute plane is installed, and every flag changes what happens.

mod status_support;

use nvcf_e2e::{Home, Run};
use nvcf_testenv::{Env, tools};
use serde_json::Value;
use status_support::{backend, helm_install, nvcf};
use std::path::Path;

fn stack_config() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/helm_nvcf_data/local.yaml")
        .display()
        .to_string()
}

fn lifecycle(helm: &Path, name: &str) {
    let Some(charts) = status_support::charts(name) else {
        return;
    };
    let env = Env::start_named(name).unwrap();
    let home = Home::new();
    let bin = home.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::os::unix::fs::symlink(helm, bin.join("helm")).unwrap();
    helm_install(&env, &home, helm, &charts, "api", "helm-nvcf-api", "nvcf");
    helm_install(
        &env,
        &home,
        helm,
        &charts,
        "nvca-operator",
        "helm-nvca-operator",
        "nvca-operator",
    );
    backend(&env, "gpu-a", "healthy");
    let cmd = || {
        let mut c = nvcf(&home, &env);
        c.env(
            "PATH",
            format!("{}:{}", bin.display(), std::env::var("PATH").unwrap()),
        )
        .env("NVCF_STACK_CONFIG", stack_config());
        c
    };

    // A function still deployed: its ICMSRequest (with NVCA's finalizer) and its pod in
    // nvcf-backend. With NVCA gone nothing clears the finalizer, and the namespace would hang.
    nvcf_e2e::functions::leave_deployed(&env, "fn-echo");

    let audit = env.audit();
    let mark = audit.mark().unwrap();
    let plan = Run::of(cmd().args([
        "down",
        "--cluster-name",
        "gpu-a",
        "--plan-only",
        "-o",
        "json",
    ]));
    plan.expect_success();
    let all = Run::of(cmd().args([
        "down",
        "--all",
        "--plan-only",
        "--remove-persistent",
        "--json",
    ]));
    all.expect_success();
    let yaml = Run::of(cmd().args(["uninstall", "--control-plane", "--no-apply"]));
    yaml.expect_success();
    let writes: Vec<String> = audit
        .requests_since(mark)
        .unwrap()
        .into_iter()
        .filter(|e| {
            e.is_mutating()
                && (e.user_agent.starts_with("kubectl-nvcf/") || e.user_agent.starts_with("Helm/"))
        })
        .map(|e| format!("{} {}", e.verb, e.request_uri))
        .collect();
    assert!(writes.is_empty(), "plan modes wrote: {writes:?}");

    let plan: Value = serde_json::from_str(&plan.stdout).unwrap();
    let phases: Vec<&str> = plan["phases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["phase"].as_str().unwrap())
        .collect();
    assert_eq!(
        phases,
        [
            "drain-active",
            "uninstall-compute-plane",
            "remove-cluster-row",
            "verify-clean"
        ]
    );
    assert_eq!(plan["totalETASec"], 97);
    let installed: Vec<&str> = plan["releases"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["installed"] == true)
        .map(|r| r["release"].as_str().unwrap())
        .collect();
    assert_eq!(
        installed,
        ["nvca-operator"],
        "only the compute plane: {plan:#}"
    );
    let commands: Vec<&str> = plan["commands"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    assert!(
        commands[0].contains("maintenanceMode: CordonAndDrain"),
        "{commands:?}"
    );
    assert!(
        commands
            .iter()
            .any(|c| c.starts_with("helm uninstall nvca-operator --namespace nvca-operator"))
    );
    assert!(plan["registrationRows"].is_array());
    assert_eq!(
        plan["functions"],
        serde_json::json!([
            "ICMSRequest/fn-echo -n nvcf-backend",
            "Pod/fn-echo-0 -n nvcf-backend"
        ]),
        "functions still deployed are in the plan: {plan:#}"
    );

    let all: Value = serde_json::from_str(&all.stdout).unwrap();
    let order: Vec<&str> = all["releases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["release"].as_str().unwrap())
        .collect();
    let pos = |n: &str| order.iter().position(|x| *x == n).unwrap();
    assert!(pos("nvca-operator") < pos("api"), "compute plane first");
    assert!(pos("invocation-service") < pos("api"), "dependents first");
    assert!(
        all["removePersistent"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n == "Namespace/vault-system")
    );
    assert!(yaml.stdout.contains("# api: delete"), "{}", yaml.stdout);

    // Without --confirm nothing happens.
    let refused = Run::of(cmd().args(["down", "--cluster-name", "gpu-a"]));
    assert_eq!(refused.code, Some(64), "{refused:#?}");
    assert!(refused.stderr.contains("--confirm"));
    // The control plane is not removed while a compute plane is installed.
    let guarded = Run::of(cmd().args(["uninstall", "--control-plane", "--yes"]));
    assert_eq!(guarded.code, Some(6), "{guarded:#?}");
    assert!(
        guarded.stderr.contains("nvca-operator is installed"),
        "{guarded:#?}"
    );
    assert!(status_support::release_names(&env).contains("api"));

    let down = Run::of(cmd().args(["down", "--cluster-name", "gpu-a", "--confirm"]));
    down.expect_success();
    assert!(
        down.stdout.lines().any(|l| {
            l.contains("release/nvca-operator -n nvca-operator") && l.ends_with("uninstalled")
        }),
        "{down:#?}"
    );
    // The real chart's cleanup finalizers, with no operator running to remove them.
    assert!(down.stdout.contains("finalizer released"), "{down:#?}");
    assert!(
        down.stdout.contains("ICMSRequest/fn-echo -n nvcf-backend")
            && down.stdout.contains("deleted (finalizers cleared)"),
        "{down:#?}"
    );
    let backend_ns = env
        .kubectl_run(&[
            "get",
            "namespace",
            "nvcf-backend",
            "--ignore-not-found",
            "-o",
            "name",
        ])
        .unwrap();
    assert!(
        backend_ns.trim().is_empty(),
        "nvcf-backend is gone: {backend_ns}"
    );
    let left = status_support::release_names(&env);
    assert!(!left.contains("nvca-operator"), "{left}");
    assert!(left.contains("api"), "control plane kept: {left}");
    let status = Run::of(cmd().args(["status", "-o", "json"]));
    let status: Value = serde_json::from_str(&status.stdout).unwrap();
    let op = status["releases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["release"] == "nvca-operator")
        .unwrap();
    assert_eq!(op["state"], "not-installed");

    // Now the control plane goes, with the flag saying so.
    let gone = Run::of(cmd().args([
        "uninstall",
        "--control-plane",
        "--yes",
        "--force-with-registered-clusters",
    ]));
    gone.expect_success();
    assert!(!status_support::release_names(&env).contains("api"));
}

#[test]
fn down_and_uninstall_with_helm3() {
    lifecycle(&tools::helm3(), "nvcf-down-helm3");
}

#[test]
fn down_and_uninstall_with_helm4() {
    lifecycle(&tools::helm4(), "nvcf-down-helm4");
}
