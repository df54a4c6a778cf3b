//! `kubectl nvca functions | kill-function | kill-all | validate` on the real test cluster:
//! ICMSRequests (the CRD the operator creates at runtime, applied here) are listed with
//! upstream's phases, filtered, sorted and killed; the agent is validated.

use nvcf_e2e::{Home, Run, bin};
use nvcf_testenv::Env;
use serde_json::{Value, json};

const CRD: &str = r#"{
  "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
  "metadata": {"name": "icmsrequests.nvca.nvcf.nvidia.io"},
  "spec": {"group": "nvca.nvcf.nvidia.io", "scope": "Namespaced",
    "names": {"kind": "ICMSRequest", "plural": "icmsrequests", "singular": "icmsrequest", "listKind": "ICMSRequestList"},
    "versions": [{"name": "v2beta1", "served": true, "storage": true,
      "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}]}
}"#;

fn apply(env: &Env, manifest: &Value) {
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), manifest.to_string()).unwrap();
    env.kubectl_run(&["apply", "-f", file.path().to_str().unwrap()])
        .unwrap();
}

/// `(name, fid, vid, status, action, instance statuses)` of one ICMSRequest.
type Request<'a> = (&'a str, &'a str, &'a str, &'a str, &'a str, &'a [&'a str]);

/// A fresh namespace holding one ICMSRequest per item.
fn requests(env: &Env, prefix: &str, items: &[Request]) -> String {
    // Once per process: tests run in parallel and concurrent applies of one CRD conflict.
    static CRD_READY: std::sync::Once = std::sync::Once::new();
    CRD_READY.call_once(|| {
        apply(env, &serde_json::from_str(CRD).unwrap());
        env.kubectl_run(&[
            "wait",
            "--for=condition=Established",
            "crd/icmsrequests.nvca.nvcf.nvidia.io",
            "--timeout=30s",
        ])
        .unwrap();
    });
    let ns = env.fresh_namespace(prefix).unwrap();
    for (name, fid, vid, status, action, instances) in items {
        let instances: Vec<Value> = instances.iter().map(|s| json!({"status": s})).collect();
        apply(
            env,
            &json!({
                "apiVersion": "nvca.nvcf.nvidia.io/v2beta1", "kind": "ICMSRequest",
                "metadata": {"name": name, "namespace": ns},
                "spec": {"functionId": fid, "functionVersionId": vid, "action": action},
                "status": {"status": status, "instances": instances},
            }),
        );
    }
    ns
}

fn nvca(home: &Home, env: &Env, args: &[&str]) -> Run {
    Run::of(
        home.command(bin("kubectl-nvca"))
            .arg("--kubeconfig")
            .arg(env.kubeconfig())
            .args(args),
    )
}

fn json_of(run: &Run) -> Value {
    run.expect_success();
    serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}: {run:#?}"))
}

#[test]
fn list_derives_phases_sorts_and_filters() {
    let env = Env::shared();
    let home = Home::new();
    let ns = requests(
        env,
        "fn-list",
        &[
            (
                "r-c",
                "fn-c",
                "v1",
                "Completed",
                "CreateInstances",
                &["Running"],
            ),
            ("r-a2", "fn-a", "v2", "InProgress", "CreateInstances", &[]),
            ("r-a1", "fn-a", "v1", "Failed", "CreateInstances", &[]),
            ("r-b", "fn-b", "v1", "Completed", "TerminateInstances", &[]),
            (
                "r-d",
                "fn-d",
                "v1",
                "Completed",
                "CreateInstances",
                &["Terminating"],
            ),
        ],
    );
    let list = json_of(&nvca(
        &home,
        env,
        &["-n", &ns, "functions", "list", "-o", "json"],
    ));
    let got: Vec<(String, String, String)> = list["functions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let s = |k: &str| f[k].as_str().unwrap().to_owned();
            (s("functionId"), s("functionVersionId"), s("phase"))
        })
        .collect();
    let want = [
        ("fn-a", "v1", "FAILED"),
        ("fn-a", "v2", "DEPLOYING"),
        ("fn-b", "v1", "DRAINING"),
        ("fn-c", "v1", "ACTIVE"),
        ("fn-d", "v1", "DRAINING"),
    ]
    .map(|(a, b, c)| (a.to_owned(), b.to_owned(), c.to_owned()));
    assert_eq!(got, want);

    let draining = json_of(&nvca(
        &home,
        env,
        &[
            "-n",
            &ns,
            "functions",
            "list",
            "--phase",
            "DRAINING",
            "-o",
            "json",
        ],
    ));
    let ids: Vec<&str> = draining["functions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["functionId"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["fn-b", "fn-d"]);

    let table = nvca(&home, env, &["-n", &ns, "functions", "list"]);
    table.expect_success();
    assert!(
        table.stdout.contains("fn-c") && table.stdout.contains("ACTIVE"),
        "{table:#?}"
    );

    let bad = nvca(&home, env, &["functions", "list", "--phase", "RUNNING"]);
    assert_eq!(bad.code, Some(64), "{bad:#?}");
}

#[test]
fn get_returns_the_first_match_or_not_found() {
    let env = Env::shared();
    let home = Home::new();
    let ns = requests(
        env,
        "fn-get",
        &[
            ("g-2", "fn-get-x", "v2", "Pending", "CreateInstances", &[]),
            ("g-1", "fn-get-x", "v1", "ACK", "CreateInstances", &[]),
        ],
    );
    let first = json_of(&nvca(
        &home,
        env,
        &["functions", "get", "fn-get-x", "-o", "json"],
    ));
    assert_eq!(first["functionVersionId"], "v1");
    assert_eq!(first["phase"], "ACTIVE");
    assert_eq!(first["namespace"], ns.as_str());
    let v2 = json_of(&nvca(
        &home,
        env,
        &["functions", "get", "fn-get-x", "v2", "-o", "json"],
    ));
    assert_eq!(v2["phase"], "DEPLOYING");
    let missing = nvca(&home, env, &["functions", "get", "fn-get-none"]);
    assert_eq!(missing.code, Some(4), "{missing:#?}");
    assert!(missing.stderr.contains("fn-get-none"), "{missing:#?}");
}

fn remaining(env: &Env, ns: &str) -> Vec<String> {
    let out = env
        .kubectl_run(&["get", "icmsrequests", "-n", ns, "-o", "name"])
        .unwrap();
    let mut names: Vec<String> = out
        .lines()
        .map(|l| l.rsplit('/').next().unwrap().to_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn kill_function_needs_yes_dry_run_writes_nothing_and_force_strips_finalizers() {
    let env = Env::shared();
    let home = Home::new();
    let ns = requests(
        env,
        "kill-fn",
        &[
            ("k-1", "fn-k", "v1", "Completed", "CreateInstances", &[]),
            ("k-2", "fn-k", "v2", "Completed", "CreateInstances", &[]),
            ("k-3", "fn-other", "v1", "Completed", "CreateInstances", &[]),
        ],
    );
    env.kubectl_run(&[
        "patch",
        "icmsrequest",
        "k-2",
        "-n",
        &ns,
        "--type=merge",
        "-p",
        r#"{"metadata":{"finalizers":["nvca.finalizers.nvidia.io"]}}"#,
    ])
    .unwrap();
    let kill = |extra: &[&str]| {
        let mut args = vec!["kill-function", "--requests-namespace", &ns];
        args.extend_from_slice(extra);
        nvca(&home, env, &args)
    };

    let refused = kill(&["fn-k"]);
    assert_eq!(refused.code, Some(64), "{refused:#?}");
    assert!(refused.stderr.contains("--yes"), "{refused:#?}");

    let mark = env.audit().mark().unwrap();
    let dry = json_of(&kill(&["fn-k", "--dry-run", "-o", "json"]));
    assert_eq!(dry["dryRun"], true);
    assert_eq!(dry["affected"].as_array().unwrap().len(), 2, "{dry}");
    env.audit().assert_read_only(mark, "kubectl-nvca");
    assert_eq!(remaining(env, &ns), ["k-1", "k-2", "k-3"]);

    let one = json_of(&kill(&[
        "fn-k", "v1", "--yes", "--reason", "test", "-o", "json",
    ]));
    assert_eq!(one["affected"][0]["name"], "k-1");
    assert_eq!(one["failedCount"], 0);
    assert_eq!(one["reason"], "test");
    assert_eq!(remaining(env, &ns), ["k-2", "k-3"]);

    json_of(&kill(&["fn-k", "--yes", "--force", "-o", "json"]));
    assert_eq!(
        remaining(env, &ns),
        ["k-3"],
        "--force left k-2 on its finalizer"
    );

    let missing = kill(&["fn-none", "--yes"]);
    assert_eq!(missing.code, Some(4), "{missing:#?}");
}

#[test]
fn kill_all_is_confirmed_by_the_cluster_name() {
    let env = Env::shared();
    let home = Home::new();
    let ns = requests(
        env,
        "kill-all",
        &[
            ("a-1", "fn-all-a", "v1", "Completed", "CreateInstances", &[]),
            ("a-2", "fn-all-b", "v1", "Pending", "CreateInstances", &[]),
        ],
    );
    let other = requests(
        env,
        "kill-keep",
        &[("keep", "fn-keep", "v1", "Completed", "CreateInstances", &[])],
    );
    let kill = |extra: &[&str]| {
        let mut args = vec!["kill-all", "--requests-namespace", &ns];
        args.extend_from_slice(extra);
        nvca(&home, env, &args)
    };

    let mark = env.audit().mark().unwrap();
    let dry = json_of(&kill(&["--dry-run", "-o", "json"]));
    env.audit().assert_read_only(mark, "kubectl-nvca");
    let name = dry["clusterName"].as_str().unwrap().to_owned();
    assert!(!name.is_empty(), "{dry}");
    assert_eq!(dry["affected"].as_array().unwrap().len(), 2, "{dry}");

    let untyped = kill(&[]);
    assert_eq!(untyped.code, Some(64), "{untyped:#?}");
    assert!(
        untyped.stderr.contains("a-1") && untyped.stderr.contains("a-2"),
        "{untyped:#?}"
    );
    assert!(
        untyped.stderr.contains(&format!("--confirm {name}")),
        "{untyped:#?}"
    );
    let wrong = kill(&["--yes", "--confirm", "not-this-cluster"]);
    assert_eq!(wrong.code, Some(64), "{wrong:#?}");
    assert!(wrong.stderr.contains("does not match"), "{wrong:#?}");
    let bare = kill(&["--yes"]);
    assert_eq!(bare.code, Some(64), "{bare:#?}");
    assert_eq!(remaining(env, &ns), ["a-1", "a-2"]);

    let done = json_of(&kill(&["--yes", "--confirm", &name, "-o", "json"]));
    assert_eq!(done["dryRun"], false);
    assert_eq!(done["failedCount"], 0);
    assert!(remaining(env, &ns).is_empty());
    assert_eq!(remaining(env, &other), ["keep"]);
}

fn outcome(report: &Value, id: &str) -> String {
    report["outcomes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["id"] == id)
        .map(|o| o["status"].as_str().unwrap().to_owned())
        .unwrap_or_else(|| panic!("no {id} in {report}"))
}

fn report_of(run: &Run, code: i32) -> Value {
    assert_eq!(run.code, Some(code), "{run:#?}");
    serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}: {run:#?}"))
}

#[test]
fn validate_fails_with_exit_2_until_the_agent_and_its_pull_secret_are_there() {
    let env = Env::shared();
    let home = Home::new();
    let before = report_of(&nvca(&home, env, &["validate", "-o", "json"]), 2);
    assert_eq!(outcome(&before, "nvca-reachable"), "failed");
    assert_eq!(outcome(&before, "gpu-capacity"), "passed");
    assert_eq!(outcome(&before, "pull-secret"), "skipped");

    env.kubectl_run(&["create", "namespace", "nvca-system"])
        .unwrap();
    apply(
        env,
        &json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "nvca", "namespace": "nvca-system"},
            "spec": {"replicas": 1,
                "selector": {"matchLabels": {"app": "nvca"}},
                "template": {"metadata": {"labels": {"app": "nvca"}},
                    "spec": {"imagePullSecrets": [{"name": "nvcr-pull"}],
                        "containers": [{"name": "nvca", "image": "nvcr.io/nvidia/nvca:stand-in"}]}}}
        }),
    );
    env.kubectl_run(&[
        "rollout",
        "status",
        "deployment/nvca",
        "-n",
        "nvca-system",
        "--timeout=60s",
    ])
    .unwrap();
    let missing = report_of(
        &nvca(
            &home,
            env,
            &["validate", "--check", "pull-secret", "-o", "json"],
        ),
        2,
    );
    assert_eq!(missing["outcomes"].as_array().unwrap().len(), 1);
    assert_eq!(outcome(&missing, "pull-secret"), "failed");
    assert!(
        missing.to_string().contains("nvca-system/nvcr-pull"),
        "{missing}"
    );

    env.kubectl_run(&[
        "create",
        "secret",
        "docker-registry",
        "nvcr-pull",
        "-n",
        "nvca-system",
        "--docker-server=nvcr.io",
        "--docker-username=$oauthtoken",
        "--docker-password=not-a-real-key",
    ])
    .unwrap();
    let after = report_of(&nvca(&home, env, &["validate", "-o", "json"]), 0);
    for id in ["nvca-reachable", "gpu-capacity", "pull-secret"] {
        assert_eq!(outcome(&after, id), "passed", "{after}");
    }
    assert_eq!(outcome(&after, "tls-cert"), "skipped");

    // A certificate ending tomorrow warns (exit 0); one ending in a year passes.
    let tls = |name: &str, days: &str| {
        let dir = tempfile::tempdir().unwrap();
        let (crt, key) = (dir.path().join("c.pem"), dir.path().join("k.pem"));
        let status = std::process::Command::new("openssl")
            .args([
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
            ])
            .args(["-nodes", "-subj", "/CN=nvca", "-days", days, "-keyout"])
            .arg(&key)
            .arg("-out")
            .arg(&crt)
            .output()
            .unwrap();
        assert!(status.status.success(), "{status:?}");
        env.kubectl_run(&[
            "create",
            "secret",
            "tls",
            name,
            "-n",
            "nvca-system",
            &format!("--cert={}", crt.display()),
            &format!("--key={}", key.display()),
        ])
        .unwrap();
    };
    tls("webhook-tls", "1");
    let soon = report_of(
        &nvca(
            &home,
            env,
            &["validate", "--check", "tls-cert", "-o", "json"],
        ),
        0,
    );
    assert_eq!(outcome(&soon, "tls-cert"), "failed");
    assert_eq!(soon["outcomes"][0]["severity"], "warning", "{soon}");
    assert!(
        soon.to_string().contains("nvca-system/webhook-tls"),
        "{soon}"
    );
    env.kubectl_run(&["delete", "secret", "webhook-tls", "-n", "nvca-system"])
        .unwrap();
    tls("webhook-tls", "400");
    let fine = report_of(
        &nvca(
            &home,
            env,
            &["validate", "--check", "tls-cert", "-o", "json"],
        ),
        0,
    );
    assert_eq!(outcome(&fine, "tls-cert"), "passed", "{fine}");
}

#[test]
fn validate_deployment_judges_the_functions_phase() {
    let env = Env::shared();
    let home = Home::new();
    requests(
        env,
        "vd",
        &[
            (
                "vd-a",
                "fn-vd-active",
                "v1",
                "Completed",
                "CreateInstances",
                &[],
            ),
            (
                "vd-f",
                "fn-vd-failed",
                "v1",
                "Failed",
                "CreateInstances",
                &[],
            ),
            (
                "vd-p",
                "fn-vd-pending",
                "v1",
                "Pending",
                "CreateInstances",
                &[],
            ),
        ],
    );
    let vd = |fid: &str, code: i32| {
        report_of(
            &nvca(&home, env, &["validate-deployment", fid, "-o", "json"]),
            code,
        )
    };
    let active = vd("fn-vd-active", 0);
    assert_eq!(outcome(&active, "queue-health"), "passed");
    assert_eq!(outcome(&active, "gpu-utilization"), "skipped", "{active}");
    let failed = vd("fn-vd-failed", 2);
    assert_eq!(outcome(&failed, "queue-health"), "failed");
    let pending = vd("fn-vd-pending", 0);
    assert_eq!(outcome(&pending, "queue-health"), "failed");
    assert_eq!(pending["warnings"], 1, "{pending}");
    let missing = nvca(&home, env, &["validate-deployment", "fn-vd-none"]);
    assert_eq!(missing.code, Some(4), "{missing:#?}");
}
