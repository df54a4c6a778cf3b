//! `kubectl nvcf check --pre` on real clusters: every check passes on a prepared cluster,
//! and fails with its hint when its prerequisite is missing or not ready.

use nvcf_e2e::registry::start_registry_with_auth;
use nvcf_e2e::{Home, Run, bin};
use nvcf_testenv::{Env, tools};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

const ALL_CLUSTER_CHECKS: [&str; 10] = [
    "api-server-reachable",
    "install-permissions",
    "default-storage-class",
    "gateway-api-crds",
    "gateway-programmed",
    "gpu-operator-ready",
    "kai-scheduler",
    "smb-csi-driver",
    "gpu-nodes",
    "registry-pull-secret",
];

/// PATH with the real kubectl and helm (as `helm`), and nothing else of ours.
fn tools_path(home: &Home) -> PathBuf {
    let dir = home.path().join("tools");
    std::fs::create_dir_all(&dir).unwrap();
    std::os::unix::fs::symlink(tools::kubectl(), dir.join("kubectl")).unwrap();
    std::os::unix::fs::symlink(tools::helm4(), dir.join("helm")).unwrap();
    dir
}

fn check(home: &Home, kubeconfig: &Path, path: &Path, extra: &[&str]) -> Run {
    Run::of(
        home.command(bin("kubectl-nvcf"))
            .env("PATH", path)
            .arg("--kubeconfig")
            .arg(kubeconfig)
            .args([
                "check",
                "--pre",
                "--pull-secret",
                "nvca-operator/nvcr-pull-secret",
            ])
            .args(extra),
    )
}

/// Outcomes by check id.
fn outcomes(run: &Run) -> BTreeMap<String, Value> {
    let report: Value =
        serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}: {run:#?}"));
    report["outcomes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| (o["id"].as_str().unwrap().to_owned(), o.clone()))
        .collect()
}

/// `nvca-operator/nvcr-pull-secret` holding `user:password` for `server`.
fn pull_secret(env: &Env, server: &str, user: &str, password: &str) {
    let _ = env.kubectl_run(&["create", "namespace", "nvca-operator"]);
    let _ = env.kubectl_run(&[
        "delete",
        "secret",
        "nvcr-pull-secret",
        "-n",
        "nvca-operator",
        "--ignore-not-found",
    ]);
    env.kubectl_run(&[
        "create",
        "secret",
        "docker-registry",
        "nvcr-pull-secret",
        "-n",
        "nvca-operator",
        &format!("--docker-server={server}"),
        &format!("--docker-username={user}"),
        &format!("--docker-password={password}"),
    ])
    .unwrap();
}

const ROBOT_PASSWORD: &str = "robot-password-6203";

#[test]
fn a_prepared_cluster_passes_every_check_without_writing() {
    let env = Env::start_named("check-ready").unwrap();
    for fixture in ["storage", "gateway-api", "gpu-operator", "kai-scheduler"] {
        env.install_fixture(fixture).unwrap();
    }
    // The site's registry, with htpasswd auth: the secret's credentials really log in.
    let registry = start_registry_with_auth("robot", ROBOT_PASSWORD);
    pull_secret(&env, &registry.addr, "robot", ROBOT_PASSWORD);
    let home = Home::new();
    let path = tools_path(&home);
    let mark = env.audit().mark().unwrap();
    let run = check(&home, env.kubeconfig(), &path, &["-o", "json"]);
    run.expect_success();
    let got = outcomes(&run);
    for id in ALL_CLUSTER_CHECKS
        .iter()
        .chain(["kubectl-on-path", "helm-on-path", "registry-credentials"].iter())
    {
        assert_eq!(got[*id]["status"], "passed", "{id}: {}", got[*id]);
    }
    assert_eq!(
        got["registry-credentials"]["detail"],
        format!("{}: logged in as robot (basic)", registry.addr)
    );
    assert!(!run.all().contains(ROBOT_PASSWORD), "{run:#?}");
    assert!(
        got["gpu-nodes"]["detail"]
            .as_str()
            .unwrap()
            .contains("nvidia.com")
            || got["gpu-nodes"]["detail"]
                .as_str()
                .unwrap()
                .contains("H100")
    );
    let writes: Vec<_> = env
        .audit()
        .requests_matching(
            mark,
            &["create", "update", "patch", "delete"],
            "kubectl-nvcf",
        )
        .unwrap()
        .into_iter()
        .filter(|e| e.resource() != Some("selfsubjectaccessreviews"))
        .collect();
    assert!(writes.is_empty(), "check --pre wrote: {writes:#?}");

    // The human view and CTRF render the same result.
    let run = check(&home, env.kubeconfig(), &path, &[]);
    run.expect_success();
    assert!(
        run.stdout
            .contains("√ a default StorageClass exists (standard)"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .ends_with("Status check results are √ (0 error(s), 0 warning(s))\n"),
        "{}",
        run.stdout
    );
    let run = check(&home, env.kubeconfig(), &path, &["-o", "ctrf"]);
    run.expect_success();
    let ctrf: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(ctrf["reportFormat"], "CTRF");
    assert_eq!(ctrf["results"]["tool"]["name"], "kubectl-nvcf");
    assert_eq!(ctrf["results"]["summary"]["tests"], 13);
    assert_eq!(ctrf["results"]["summary"]["failed"], 0);
}

#[test]
fn a_bare_cluster_fails_each_prerequisite_with_its_hint() {
    let env = Env::start_named("check-bare").unwrap();
    let home = Home::new();
    let path = tools_path(&home);
    let run = check(&home, env.kubeconfig(), &path, &["-o", "json"]);
    assert_eq!(run.code, Some(2), "{run:#?}");
    assert!(
        run.stderr.starts_with("error: pre-flight checks failed"),
        "{run:#?}"
    );
    let got = outcomes(&run);
    for id in [
        "default-storage-class",
        "gateway-api-crds",
        "gpu-operator-ready",
        "kai-scheduler",
        "smb-csi-driver",
        "registry-pull-secret",
    ] {
        assert_eq!(got[id]["status"], "failed", "{id}: {}", got[id]);
        assert!(
            got[id]["hint"].as_str().is_some_and(|h| !h.is_empty()),
            "{id} has no hint"
        );
        assert!(got[id]["message"].as_str().is_some(), "{id} says nothing");
    }
    assert_eq!(
        got["gateway-programmed"]["status"], "skipped",
        "depends on the CRDs"
    );
    // KWOK's GPU nodes exist in every testenv, so this one passes even here.
    assert_eq!(got["gpu-nodes"]["status"], "passed");
    assert_eq!(got["registry-pull-secret"]["severity"], "warning");

    // --wait re-runs every 5 s; still failing when it runs out is upstream's exit 5.
    let started = std::time::Instant::now();
    let waited = check(
        &home,
        env.kubeconfig(),
        &path,
        &["--wait", "6s", "-o", "json"],
    );
    assert_eq!(waited.code, Some(5), "{waited:#?}");
    assert!(
        waited
            .stderr
            .contains("wait timeout: checks still failing after 6s"),
        "{waited:#?}"
    );
    assert!(
        started.elapsed() >= std::time::Duration::from_secs(5),
        "it re-ran"
    );
    assert_eq!(outcomes(&waited)["gateway-api-crds"]["status"], "failed");
    let bad = check(&home, env.kubeconfig(), &path, &["--wait", "soon"]);
    assert_eq!(bad.code, Some(64), "{bad:#?}");

    // Installed but not ready: the controllers never reported status.
    env.install_fixture_without_status("gateway-api").unwrap();
    env.install_fixture_without_status("gpu-operator").unwrap();
    let got = outcomes(&check(&home, env.kubeconfig(), &path, &["-o", "json"]));
    assert_eq!(got["gateway-api-crds"]["status"], "passed");
    assert_eq!(got["gateway-programmed"]["status"], "failed");
    assert!(
        got["gateway-programmed"]["message"]
            .as_str()
            .unwrap()
            .contains("nvcf-gateway/nvcf-gateway")
    );
    assert_eq!(got["gpu-operator-ready"]["status"], "failed");
    assert!(
        got["gpu-operator-ready"]["message"]
            .as_str()
            .unwrap()
            .contains("not ready")
    );

    // The JSONL stream carries upstream's check events and a verdict.
    let run = check(&home, env.kubeconfig(), &path, &["--json"]);
    assert_eq!(run.code, Some(2));
    let events: Vec<Value> = run
        .stderr
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    assert_eq!(
        events[0],
        serde_json::json!({"event": "schemaVersion", "version": 1})
    );
    assert!(events.iter().any(|e| e["event"] == "check_completed"
        && e["id"] == "smb-csi-driver"
        && e["passed"] == false
        && e["severity"] == "error"));
    assert!(
        events.iter().any(|e| e["event"] == "category_completed"
            && e["category"] == "compute-plane-prerequisites")
    );
    let last = events.last().unwrap();
    assert_eq!(last["event"], "final");
    assert_eq!(last["verdict"], "failed");
}

#[test]
fn an_identity_without_rights_and_an_unreachable_server_fail_their_checks() {
    let env = Env::shared();
    let home = Home::new();
    let path = tools_path(&home);
    // A service account with no role bindings, through a token of its own.
    let ns = env.fresh_namespace("norights").unwrap();
    env.kubectl_run(&["create", "serviceaccount", "nobody", "-n", &ns])
        .unwrap();
    let token = env
        .kubectl_run(&["create", "token", "nobody", "-n", &ns])
        .unwrap();
    let kubeconfig = home.path().join("nobody.kubeconfig");
    std::fs::write(
        &kubeconfig,
        format!(
            "apiVersion: v1\nkind: Config\ncurrent-context: nobody\nclusters:\n- name: c\n  cluster: {{server: \"{}\", certificate-authority: \"{}\"}}\nusers:\n- name: nobody\n  user: {{token: \"{}\"}}\ncontexts:\n- name: nobody\n  context: {{cluster: c, user: nobody}}\n",
            env.server(),
            env.ca_cert().display(),
            token.trim()
        ),
    )
    .unwrap();
    let got = outcomes(&check(&home, &kubeconfig, &path, &["-o", "json"]));
    assert_eq!(got["api-server-reachable"]["status"], "passed");
    assert_eq!(got["install-permissions"]["status"], "failed");
    assert!(
        got["install-permissions"]["message"]
            .as_str()
            .unwrap()
            .contains("create customresourcedefinitions.apiextensions.k8s.io")
    );
    assert!(
        !check(&home, &kubeconfig, &path, &[])
            .all()
            .contains(token.trim()),
        "the token leaked"
    );

    // Nothing listens on the server's port: everything after reachability is skipped.
    let dead = home.kubeconfig(&["gone"]);
    let run = check(&home, &dead, &path, &["-o", "json"]);
    assert_eq!(run.code, Some(2));
    let got = outcomes(&run);
    assert_eq!(got["api-server-reachable"]["status"], "failed");
    for id in &ALL_CLUSTER_CHECKS[1..] {
        assert_eq!(got[*id]["status"], "skipped", "{id}");
    }
}

#[test]
fn a_missing_helm_fails_the_local_checks() {
    let home = Home::new();
    let dir = home.path().join("only-kubectl");
    std::fs::create_dir_all(&dir).unwrap();
    std::os::unix::fs::symlink(tools::kubectl(), dir.join("kubectl")).unwrap();
    let run = Run::of(home.command(bin("kubectl-nvcf")).env("PATH", &dir).args([
        "check",
        "--pre",
        "--local-only",
    ]));
    assert_eq!(run.code, Some(2), "{run:#?}");
    assert!(
        run.stdout
            .contains("× helm on PATH\n    not found on PATH\n    hint: install helm"),
        "{}",
        run.stdout
    );
    let run = Run::of(home.command(bin("kubectl-nvcf")).args(["check"]));
    assert_eq!(run.code, Some(64), "{run:#?}");
}

/// The usual pull-secret mistakes, each caught before anything is installed, by decoding the
/// secret and logging in to the site's registry (htpasswd) as a pull would; the key never
/// shows.
#[test]
fn pull_secret_credentials_are_tried_at_the_registry() {
    let env = Env::start_named("check-creds").unwrap();
    let registry = start_registry_with_auth("robot", ROBOT_PASSWORD);
    let home = Home::new();
    let path = tools_path(&home);
    let verdict = |extra: &[&str]| {
        let mut args = vec!["-o", "json"];
        args.extend_from_slice(extra);
        let run = check(&home, env.kubeconfig(), &path, &args);
        assert!(!run.all().contains(ROBOT_PASSWORD), "{run:#?}");
        assert!(!run.all().contains("wrong-password-1"), "{run:#?}");
        outcomes(&run)["registry-credentials"].clone()
    };

    pull_secret(&env, &registry.addr, "robot", "wrong-password-1");
    let wrong = verdict(&[]);
    assert_eq!(wrong["status"], "failed", "{wrong}");
    assert!(
        wrong["message"]
            .as_str()
            .unwrap()
            .contains(&format!("{}: refused robot (401", registry.addr)),
        "{wrong}"
    );
    assert!(wrong["hint"].as_str().unwrap().contains("docker-registry"));
    assert_eq!(wrong["cause"], "auth", "{wrong}");

    // base64 of the key alone, as in the troubleshooting guide.
    use base64::Engine as _;
    let key_only = base64::engine::general_purpose::STANDARD.encode(ROBOT_PASSWORD);
    let doc = format!(
        r#"{{"auths":{{"{}":{{"auth":"{key_only}"}}}}}}"#,
        registry.addr
    );
    env.kubectl_run(&[
        "delete",
        "secret",
        "nvcr-pull-secret",
        "-n",
        "nvca-operator",
    ])
    .unwrap();
    let file = home.path().join("config.json");
    std::fs::write(&file, doc).unwrap();
    env.kubectl_run(&[
        "create",
        "secret",
        "generic",
        "nvcr-pull-secret",
        "-n",
        "nvca-operator",
        "--type=kubernetes.io/dockerconfigjson",
        &format!("--from-file=.dockerconfigjson={}", file.display()),
    ])
    .unwrap();
    let only_key = verdict(&[]);
    assert_eq!(only_key["status"], "failed", "{only_key}");
    assert!(
        only_key["message"]
            .as_str()
            .unwrap()
            .contains("holds only a key"),
        "{only_key}"
    );

    // Credentials for another registry than the one the stack pulls from.
    pull_secret(&env, "other.example.com", "robot", ROBOT_PASSWORD);
    let other = verdict(&["--registry", &registry.addr]);
    assert_eq!(other["status"], "failed", "{other}");
    assert!(
        other["message"]
            .as_str()
            .unwrap()
            .contains("no entry for it (it has: other.example.com)"),
        "{other}"
    );

    // A registry nobody answers at: unreachable, a retry, not wrong credentials.
    pull_secret(&env, "127.0.0.1:1", "robot", ROBOT_PASSWORD);
    let gone = verdict(&["--registry", "127.0.0.1:1"]);
    assert_eq!(gone["status"], "failed", "{gone}");
    assert_eq!(gone["cause"], "network", "{gone}");
    assert!(
        gone["message"]
            .as_str()
            .unwrap()
            .contains("127.0.0.1:1: unreachable"),
        "{gone}"
    );

    pull_secret(&env, &registry.addr, "robot", ROBOT_PASSWORD);
    let right = verdict(&["--registry", &registry.addr]);
    assert_eq!(right["status"], "passed", "{right}");
    assert!(right.get("cause").is_none(), "{right}");
}

/// The chart registry (`--chart-source oci://HOST/…`): helm's saved credentials for it log
/// in, or their absence and refusal are named, before any helm pull is tried.
#[test]
fn the_chart_registry_credentials_helm_saved_are_tried() {
    let registry = start_registry_with_auth("robot", ROBOT_PASSWORD);
    let home = Home::new();
    let path = tools_path(&home);
    let source = format!("oci+http://{}/nvcf", registry.addr);
    let config = home.path().join("registry.json");
    let verdict = |saved: Option<&str>| {
        let mut cmd = home.command(bin("kubectl-nvcf"));
        cmd.env("PATH", &path)
            .env("HELM_REGISTRY_CONFIG", &config)
            .args([
                "check",
                "--pre",
                "--local-only",
                "--chart-source",
                &source,
                "-o",
                "json",
            ]);
        match saved {
            Some(password) => {
                use base64::Engine as _;
                let auth =
                    base64::engine::general_purpose::STANDARD.encode(format!("robot:{password}"));
                std::fs::write(
                    &config,
                    format!(r#"{{"auths":{{"{}":{{"auth":"{auth}"}}}}}}"#, registry.addr),
                )
                .unwrap();
            }
            None => {
                let _ = std::fs::remove_file(&config);
            }
        }
        let run = Run::of(&mut cmd);
        assert!(!run.all().contains(ROBOT_PASSWORD), "{run:#?}");
        outcomes(&run)["chart-registry-credentials"].clone()
    };
    let right = verdict(Some(ROBOT_PASSWORD));
    assert_eq!(right["status"], "passed", "{right}");
    assert_eq!(
        right["detail"],
        format!("{}: logged in as robot (basic)", registry.addr)
    );
    let wrong = verdict(Some("wrong-password-2"));
    assert_eq!(wrong["status"], "failed", "{wrong}");
    assert!(
        wrong["message"]
            .as_str()
            .unwrap()
            .contains("refused robot (401")
    );
    let none = verdict(None);
    assert_eq!(none["status"], "failed", "{none}");
    assert!(
        none["message"]
            .as_str()
            .unwrap()
            .contains("helm has none saved for it"),
        "{none}"
    );
    assert!(
        none["hint"]
            .as_str()
            .unwrap()
            .contains("helm registry login")
    );
}
