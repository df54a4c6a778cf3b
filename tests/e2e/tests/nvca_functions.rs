//! `kubectl nvca functions | kill-function | kill-all | validate` on the real test cluster:
//! ICMSRequests (the CRD the operator creates at runtime, applied here) are listed with
//! upstream's phases, filtered, sorted and killed; the agent is validated.

use nvcf_e2e::registry::start_registry_with_auth;
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
fn list_reads_the_requests_in_pages_of_500() {
    let env = Env::shared();
    let home = Home::new();
    let ns = requests(env, "paged", &[]);
    let items: Vec<Value> = (0..501)
        .map(|i| {
            json!({"apiVersion": "nvca.nvcf.nvidia.io/v2beta1", "kind": "ICMSRequest",
                "metadata": {"name": format!("r-{i:03}"), "namespace": ns},
                "spec": {"functionId": format!("fn-page-{i:03}"), "functionVersionId": "v1"}})
        })
        .collect();
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(
        file.path(),
        json!({"apiVersion": "v1", "kind": "List", "items": items}).to_string(),
    )
    .unwrap();
    env.kubectl_run(&["create", "-f", file.path().to_str().unwrap()])
        .unwrap();
    let mark = env.audit().mark().unwrap();
    let listed = json_of(&nvca(
        &home,
        env,
        &["-n", &ns, "functions", "list", "-o", "json"],
    ));
    let functions = listed["functions"].as_array().unwrap();
    assert_eq!(functions.len(), 501);
    assert_eq!(functions[0]["functionId"], "fn-page-000");
    assert_eq!(functions[500]["functionId"], "fn-page-500");
    let pages: Vec<String> = env
        .audit()
        .requests_matching(mark, &["list"], "kubectl-nvca")
        .unwrap()
        .into_iter()
        .filter(|e| e.request_uri.contains("icmsrequests"))
        .map(|e| e.request_uri)
        .collect();
    assert!(pages.len() >= 2, "{pages:#?}");
    assert!(pages.iter().all(|u| u.contains("limit=500")), "{pages:#?}");
    // Other tests list in parallel: at least one request here went on from a token.
    assert!(pages.iter().any(|u| u.contains("continue=")), "{pages:#?}");
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
    // The table is the shared plan shape: each request planned, with the kubectl that deletes it.
    let table = kill(&["fn-k", "--dry-run"]);
    assert!(
        table
            .stdout
            .contains(&format!("kubectl delete icmsrequest k-1 -n {ns}")),
        "{table:#?}"
    );
    env.audit().assert_read_only_in(mark, "kubectl-nvca", &ns);
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
    env.audit().assert_read_only_in(mark, "kubectl-nvca", &ns);
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
    let elsewhere = kill(&[
        "--yes",
        "--confirm",
        &name,
        "--expect-cluster-id",
        "c-other",
    ]);
    assert_eq!(elsewhere.code, Some(6), "{elsewhere:#?}");
    assert!(
        elsewhere.stderr.contains("does not match"),
        "{elsewhere:#?}"
    );
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
    // The agent's image comes from the site's registry, which wants credentials (htpasswd).
    let registry = start_registry_with_auth("robot", "robot-password-7714");
    apply(
        env,
        &json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "nvca", "namespace": "nvca-system"},
            "spec": {"replicas": 1,
                "selector": {"matchLabels": {"app": "nvca"}},
                "template": {"metadata": {"labels": {"app": "nvca"}},
                    "spec": {"imagePullSecrets": [{"name": "nvcr-pull"}],
                        "containers": [{"name": "nvca", "image": format!("{}/nvidia/nvca:stand-in", registry.addr)}]}}}
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

    let pull_secret = |password: &str| {
        let _ = env.kubectl_run(&[
            "delete",
            "secret",
            "nvcr-pull",
            "-n",
            "nvca-system",
            "--ignore-not-found",
        ]);
        env.kubectl_run(&[
            "create",
            "secret",
            "docker-registry",
            "nvcr-pull",
            "-n",
            "nvca-system",
            &format!("--docker-server={}", registry.addr),
            "--docker-username=robot",
            &format!("--docker-password={password}"),
        ])
        .unwrap();
    };
    // Present but refused at the registry: named, and the key never shown.
    pull_secret("wrong-password-3");
    let refused = report_of(
        &nvca(
            &home,
            env,
            &["validate", "--check", "pull-secret", "-o", "json"],
        ),
        2,
    );
    assert_eq!(outcome(&refused, "pull-secret"), "failed");
    assert!(
        refused
            .to_string()
            .contains(&format!("{}: refused robot (401", registry.addr)),
        "{refused}"
    );
    assert!(!refused.to_string().contains("wrong-password-3"));
    pull_secret("robot-password-7714");
    nats_is_judged_through_its_service_or_dialled(env, &home);
    let after = report_of(&nvca(&home, env, &["validate", "-o", "json"]), 0);
    for id in [
        "nvca-reachable",
        "gpu-capacity",
        "nats-health",
        "pull-secret",
    ] {
        assert_eq!(outcome(&after, id), "passed", "{after}");
    }
    assert_eq!(outcome(&after, "tls-cert"), "skipped");
    // CTRF names the plugin that ran, not the library's first user.
    let ctrf = nvca(&home, env, &["validate", "-o", "ctrf"]);
    let ctrf: serde_json::Value = serde_json::from_str(&ctrf.stdout).unwrap();
    assert_eq!(ctrf["results"]["tool"]["name"], "kubectl-nvca", "{ctrf}");

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

    // --nvca-url: the agent's own /livez and /version, on top of its deployment.
    let site = tempfile::tempdir().unwrap();
    std::fs::write(site.path().join("livez"), "ok").unwrap();
    std::fs::write(site.path().join("version"), "{\"version\":\"2.52.0\"}").unwrap();
    let agent = nvcf_e2e::http::FileServer::start(site.path());
    let probe = |url: &str, code: i32| {
        report_of(
            &nvca(
                &home,
                env,
                &[
                    "validate",
                    "--check",
                    "nvca-reachable",
                    "--nvca-url",
                    url,
                    "-o",
                    "json",
                ],
            ),
            code,
        )
    };
    let up = probe(&agent.url(), 0);
    assert_eq!(outcome(&up, "nvca-reachable"), "passed", "{up}");
    assert!(up.to_string().contains("2.52.0"), "{up}");
    std::fs::remove_file(site.path().join("livez")).unwrap();
    let sick = probe(&agent.url(), 2);
    assert!(sick.to_string().contains("/livez answered 404"), "{sick}");
}

/// Answers every connection on loopback with `greeting`, as a NATS server greets.
fn greeter(greeting: &'static str) -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            let _ = std::io::Write::write_all(&mut stream, greeting.as_bytes());
        }
    });
    port
}

fn nats_url(env: &Env, url: &str) {
    let dto = format!("clusterName: gpu-a\nagent:\n  natsURL: {url}\n");
    apply(
        env,
        &json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "nvcfbackend-self-managed", "namespace": "nvca-operator"},
            "data": {"cluster-dto.yaml": dto}}),
    );
}

/// nats-health: a cluster-internal URL through its Service's ready endpoints (the
/// endpoint-slice controller's own view of a running pod); any other URL dialled.
fn nats_is_judged_through_its_service_or_dialled(env: &Env, home: &Home) {
    let nats = |code: i32| {
        report_of(
            &nvca(
                home,
                env,
                &["validate", "--check", "nats-health", "-o", "json"],
            ),
            code,
        )
    };
    let absent = nats(2);
    assert!(
        absent.to_string().contains("nvcfbackend-self-managed"),
        "{absent}"
    );

    env.kubectl_run(&["create", "namespace", "nvca-operator"])
        .unwrap();
    let ns = env.fresh_namespace("nats").unwrap();
    nats_url(env, &format!("nats://nats.{ns}.svc.cluster.local:4222"));
    let no_service = nats(2);
    assert!(
        no_service
            .to_string()
            .contains(&format!("service {ns}/nats does not exist")),
        "{no_service}"
    );
    apply(
        env,
        &json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "nats", "namespace": ns},
            "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "nats"}},
                "template": {"metadata": {"labels": {"app": "nats"}},
                    "spec": {"containers": [{"name": "nats", "image": "nats:2.10",
                        "ports": [{"containerPort": 4222}]}]}}}}),
    );
    apply(
        env,
        &json!({"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": "nats", "namespace": ns},
            "spec": {"selector": {"app": "nats"}, "ports": [{"name": "client", "port": 4222}]}}),
    );
    env.kubectl_run(&[
        "rollout",
        "status",
        "deployment/nats",
        "-n",
        &ns,
        "--timeout=60s",
    ])
    .unwrap();
    // The endpoint-slice controller catches up with the ready pod on its own schedule.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let ready = loop {
        let run = nvca(
            home,
            env,
            &["validate", "--check", "nats-health", "-o", "json"],
        );
        if run.code == Some(0) || std::time::Instant::now() > deadline {
            break report_of(&run, 0);
        }
        std::thread::sleep(std::time::Duration::from_secs(1));
    };
    assert!(
        ready.to_string().contains("1/1 endpoint(s) ready"),
        "{ready}"
    );

    let server = greeter(
        "INFO {\"server_id\":\"NDX\",\"server_name\":\"nats-0\",\"version\":\"2.10.22\"}\r\n",
    );
    // Credentials in the URL are the agent's: the report masks the password.
    nats_url(env, &format!("nats://agent:pw-s3cret-x@127.0.0.1:{server}"));
    let dialled = nats(0);
    assert!(
        dialled.to_string().contains("nats-server 2.10.22 (nats-0)"),
        "{dialled}"
    );
    assert!(
        dialled.to_string().contains("nats://agent:****@127.0.0.1")
            && !dialled.to_string().contains("pw-s3cret-x"),
        "{dialled}"
    );
    let impostor = greeter("HTTP/1.1 400 Bad Request\r\n\r\n");
    nats_url(env, &format!("nats://127.0.0.1:{impostor}"));
    let wrong = nats(2);
    assert!(
        wrong.to_string().contains("not as a NATS server"),
        "{wrong}"
    );

    // Left pointing at the in-cluster service, which the full run then passes.
    nats_url(env, &format!("nats://nats.{ns}.svc.cluster.local:4222"));
}

#[test]
fn validate_deployment_judges_the_functions_phase() {
    let env = Env::shared();
    let home = Home::new();
    let ns = requests(
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
    // ACTIVE with no pod of its own is a failure: the agent thinks it runs, nothing does.
    let podless = vd("fn-vd-active", 2);
    assert_eq!(outcome(&podless, "pod-readiness"), "failed", "{podless}");
    assert_eq!(outcome(&podless, "queue-health"), "passed");
    // The function's pods carry its id as a label value; KWOK runs them to Ready.
    let pod = |name: &str, fid: &str| {
        apply(
            env,
            &json!({"apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": name, "namespace": ns,
                    "labels": {"nvcf.nvidia.com/function-id": fid}},
                "spec": {"containers": [{"name": "inference", "image": "nvcr.io/acme/echo:1"}]}}),
        );
        env.kubectl_run(&[
            "wait",
            "--for=condition=Ready",
            &format!("pod/{name}"),
            "-n",
            &ns,
            "--timeout=60s",
        ])
        .unwrap();
    };
    pod("vd-a-0", "fn-vd-active");
    pod("vd-other", "fn-vd-failed");
    let active = vd("fn-vd-active", 0);
    assert_eq!(outcome(&active, "pod-readiness"), "passed", "{active}");
    assert!(active.to_string().contains("1/1 pod(s) ready"), "{active}");
    assert_eq!(outcome(&active, "queue-health"), "passed");
    assert_eq!(outcome(&active, "gpu-utilization"), "skipped", "{active}");
    pod("vd-a-1", "fn-vd-active");
    env.set_pod_waiting(&ns, "vd-a-1", "ImagePullBackOff")
        .unwrap();
    let pulling = vd("fn-vd-active", 2);
    assert_eq!(outcome(&pulling, "pod-readiness"), "failed", "{pulling}");
    assert!(
        pulling.to_string().contains("vd-a-1") && pulling.to_string().contains("ImagePullBackOff"),
        "{pulling}"
    );
    let failed = vd("fn-vd-failed", 2);
    assert_eq!(outcome(&failed, "queue-health"), "failed");
    assert_eq!(outcome(&failed, "pod-readiness"), "passed", "{failed}");
    // Still deploying: no pod yet is only a warning.
    let pending = vd("fn-vd-pending", 0);
    assert_eq!(outcome(&pending, "queue-health"), "failed");
    assert_eq!(outcome(&pending, "pod-readiness"), "failed");
    assert_eq!(pending["warnings"], 2, "{pending}");
    let missing = nvca(&home, env, &["validate-deployment", "fn-vd-none"]);
    assert_eq!(missing.code, Some(4), "{missing:#?}");
}
