//! `helm nvcf upgrade --to STACK_VERSION` across the catalog's two stack versions on the
//! test cluster: OpenBao, Cassandra and API Keys installed at 0.7.0 from the real charts (copied, only
//! Chart.yaml's version changed), then the plan (`--dry-run`, nothing changed), a refusal
//! without `--yes` (64, nothing changed), a pre-check that stops a run (a sealed OpenBao
//! pod: 2, nothing changed), a run SIGKILLed while it rotates OpenBao's OnDelete pods, the
//! re-run that continues where it stopped, and a last run with nothing to do.

mod helm_nvcf_support;

use helm_nvcf_support::{charts_dir, completed_phases, data};
use nvcf_e2e::{Home, Run, bin};
use nvcf_testenv::{Env, tools};
use serde_json::Value;
use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

const NS: &str = "vault-system";
const PODS: [&str; 3] = ["openbao-server-0", "openbao-server-1", "openbao-server-2"];

/// Statically provisioned volumes for OpenBao's and Cassandra's claims: the testenv has no
/// provisioner.
fn persistent_volumes(env: &Env, home: &Home) {
    let text: String = (0..4)
        .map(|i| {
            format!(
                "---\napiVersion: v1\nkind: PersistentVolume\nmetadata:\n  name: upgrade-to-pv-{i}\n\
                 spec:\n  capacity: {{storage: 10Gi}}\n  accessModes: [ReadWriteOnce]\n  \
                 persistentVolumeReclaimPolicy: Retain\n  hostPath: {{path: /tmp/upgrade-to-pv-{i}}}\n"
            )
        })
        .collect();
    let file = home.path().join("pvs.yaml");
    std::fs::write(&file, text).unwrap();
    env.kubectl_run(&["apply", "-f", file.to_str().unwrap()])
        .unwrap();
}

/// What the chart's Kubernetes service registration and the auto-unseal sidecar do for a
/// real pod: every OpenBao pod gets `openbao-sealed=false` soon after it starts, while
/// `on` is set.
fn auto_unseal(env: &'static Env, on: Arc<AtomicBool>) {
    std::thread::spawn(move || {
        loop {
            if on.load(Ordering::Relaxed) {
                let _ = env.kubectl_run(&[
                    "label",
                    "pod",
                    "-n",
                    NS,
                    "-l",
                    "component=server",
                    "openbao-sealed=false",
                    "--overwrite",
                ]);
            }
            std::thread::sleep(Duration::from_millis(300));
        }
    });
}

fn jsonpath(env: &Env, args: &[&str], path: &str) -> String {
    let mut all = vec!["get"];
    all.extend_from_slice(args);
    let query = format!("jsonpath={path}");
    all.extend_from_slice(&["-o", &query]);
    env.kubectl_run(&all).unwrap_or_default().trim().to_owned()
}

fn update_revision(env: &Env) -> String {
    jsonpath(
        env,
        &["statefulset", "openbao-server", "-n", NS],
        "{.status.updateRevision}",
    )
}

fn pod_revision(env: &Env, pod: &str) -> String {
    jsonpath(
        env,
        &["pod", pod, "-n", NS],
        "{.metadata.labels.controller-revision-hash}",
    )
}

fn revisions(env: &Env, release: &str, ns: &str) -> usize {
    let out = env
        .kubectl_run(&[
            "get",
            "secret",
            "-n",
            ns,
            "-l",
            &format!("owner=helm,name={release}"),
            "-o",
            "name",
        ])
        .unwrap();
    out.lines().filter(|l| !l.trim().is_empty()).count()
}

fn install(home: &Home, env: &Env, nvcf: &dyn Fn() -> Command, source: &str) {
    let bundle = home.path().join("bundle");
    Run::of(
        nvcf()
            .args(["bundle", "-o"])
            .arg(&bundle)
            .args(["--chart-source", source]),
    )
    .expect_success();
    for release in ["-openbao-server", "-cassandra", "-api-keys"] {
        let script = std::fs::read_dir(&bundle)
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.to_string_lossy().ends_with(release))
            .unwrap()
            .join("install.sh");
        Run::of(
            Command::new(script)
                .env("HELM_BIN", tools::helm3())
                .env("KUBECONFIG", env.kubeconfig())
                .args(["--timeout", "180s"]),
        )
        .expect_success();
    }
}

fn report(run: &Run) -> Value {
    serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}: {run:#?}"))
}

fn step_moves(plan: &Value) -> Vec<String> {
    plan["path"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["releases"].as_array().unwrap().iter())
        .map(|m| format!("{} {}->{}", m["release"], m["from"], m["to"]).replace('"', ""))
        .collect()
}

#[test]
fn upgrade_to_plans_refuses_checks_rotates_one_pod_at_a_time_and_resumes_after_sigkill() {
    let Some(charts) = charts_dir("upgrade_to_plans_refuses_checks_rotates_one_pod_at_a_time")
    else {
        return;
    };
    let env = Env::shared();
    let home = Home::new();
    persistent_volumes(env, &home);
    let cfg = data("local.yaml");
    let nvcf = || {
        let mut cmd = home.command(bin("helm-nvcf"));
        cmd.current_dir(home.path())
            .env("HELM_BIN", tools::helm3())
            .env("KUBECONFIG", env.kubeconfig())
            .env("HELM_DATA_HOME", home.path().join("helm/data"))
            .env("HELM_CONFIG_HOME", home.path().join("helm/config"))
            .env("HELM_CACHE_HOME", home.path().join("helm/cache"))
            .env("NVCF_STACK_CONFIG", &cfg)
            .env("NVCF_TEST_REGISTRY_KEY", "registry-key-for-tests");
        cmd
    };
    // Stack 0.7.0 (catalog: openbao-server 0.30.24, api-keys 1.5.0), then the pins (0.8.0).
    let old: PathBuf = home.path().join("charts-0.7.0");
    nvcf_e2e::upstream::at_versions(
        &charts,
        &old,
        &[
            ("helm-nvcf-openbao-server", "0.30.24"),
            ("helm-nvcf-api-keys", "1.5.0"),
        ],
    );
    let new: PathBuf = home.path().join("charts-0.8.0");
    nvcf_e2e::upstream::at_versions(&charts, &new, &[]);
    install(&home, env, &nvcf, &format!("dir:{}", old.display()));
    let source = format!("dir:{}", new.display());
    // The stand-ins differ only in their version; a real release also ships a new image.
    // That new image, set as an operator's overlay would (server and injector agent alike,
    // as the chart's version-skew guard demands), changes OpenBao's pod template.
    let to = |extra: &[&str]| {
        let mut cmd = nvcf();
        cmd.args(["upgrade", "--to", "0.8.0", "--chart-source", &source])
            .args([
                "--set",
                "openbao-server:openbao.server.image.tag=2.5.5-nv-1.3.2",
                "--set",
                "openbao-server:openbao.injector.agentImage.tag=2.5.5-nv-1.3.2",
                "--ready-timeout",
                "120s",
                "--unseal-timeout",
                "30s",
                "-o",
                "json",
            ])
            .args(extra);
        cmd
    };
    let unsealing = Arc::new(AtomicBool::new(false));
    auto_unseal(env, unsealing.clone());
    for pod in PODS {
        env.kubectl_run(&[
            "wait",
            "--for=condition=Ready",
            "pod",
            pod,
            "-n",
            NS,
            "--timeout=120s",
        ])
        .unwrap();
    }
    // One pod sealed: the plan still shows, the pre-check stops the run.
    for pod in PODS {
        let sealed = if pod == "openbao-server-1" {
            "true"
        } else {
            "false"
        };
        env.kubectl_run(&[
            "label",
            "pod",
            "-n",
            NS,
            pod,
            &format!("openbao-sealed={sealed}"),
            "--overwrite",
        ])
        .unwrap();
    }
    plan_and_refusals(env, &to);
    let unknown = Run::of(nvcf().args(["upgrade", "--to", "0.7.5", "--dry-run"]));
    assert_eq!(unknown.code, Some(64), "{unknown:#?}");
    assert!(
        unknown.stderr.contains("0.8.0, 0.7.0"),
        "{}",
        unknown.stderr
    );
    let stopped = Run::of(&mut to(&["--yes"]));
    assert_eq!(stopped.code, Some(2), "{stopped:#?}");
    assert!(
        stopped
            .stderr
            .contains("pre-checks failed, nothing was changed")
            && stopped.stderr.contains("openbao-server-1 sealed"),
        "{}",
        stopped.stderr
    );
    assert_eq!(revisions(env, "openbao-server", NS), 1);
    unsealing.store(true, Ordering::Relaxed);
    let deadline = Instant::now() + Duration::from_secs(30);
    while jsonpath(
        env,
        &["pod", "openbao-server-1", "-n", NS],
        "{.metadata.labels.openbao-sealed}",
    ) != "false"
    {
        assert!(Instant::now() < deadline, "openbao-server-1 never unsealed");
        std::thread::sleep(Duration::from_millis(100));
    }

    let before = update_revision(env);
    let upgraded = full_upgrade(env, &to, &before);
    // Pods left on an old revision (a template change, as `kubectl rollout restart` makes,
    // which OnDelete does not roll out): the run rotates them, is SIGKILLed mid-way, and
    // the re-run continues where it stopped.
    env.kubectl_run(&["rollout", "restart", "statefulset/openbao-server", "-n", NS])
        .unwrap();
    killed_mid_rotation(env, &to, &upgraded);
    resumed(env, &to, &upgraded);

    let again = Run::of(&mut to(&["--yes"]));
    again.expect_success();
    assert_eq!(report(&again)["outcome"], "nothing-to-do", "{again:#?}");
    let table = Run::of(nvcf().args(["upgrade", "--to", "0.8.0", "--chart-source", &source]));
    table.expect_success();
    assert!(table.stdout.contains("nothing to do"), "{}", table.stdout);
}

/// The whole upgrade in one run: pre-checks, OpenBao upgraded then its pods rotated 2, 1,
/// 0, each Ready and unsealed before the next, then API Keys; the new revision.
fn full_upgrade(env: &Env, to: &dyn Fn(&[&str]) -> Command, before: &str) -> String {
    let run = Run::of(&mut to(&["--yes", "--json"]));
    run.expect_success();
    assert_eq!(
        completed_phases(&run.stderr),
        [
            "pre-checks",
            "upgrade-openbao-server-0.30.25",
            "upgrade-api-keys-1.6.0"
        ]
    );
    let done = report(&run);
    assert_eq!(done["outcome"], "upgraded", "{done}");
    assert!(
        done["plan"]["steps"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["state"] == "done" || s["state"] == "verified"),
        "{done}"
    );
    let prechecks: Vec<(&str, bool)> = done["prechecks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["what"].as_str().unwrap(), c["ok"] == true))
        .collect();
    for want in [
        "no release failed or pending",
        "StatefulSet vault-system/openbao-server ready",
        "OpenBao openbao-server unsealed",
        "StatefulSet cassandra-system/cassandra ready",
    ] {
        assert!(prechecks.contains(&(want, true)), "{want}: {prechecks:?}");
    }
    assert_eq!(
        done["rotated"],
        serde_json::json!([
            "vault-system/openbao-server-2",
            "vault-system/openbao-server-1",
            "vault-system/openbao-server-0"
        ]),
        "{done}"
    );
    let charts: Vec<&str> = done["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["chart"].as_str().unwrap())
        .collect();
    assert_eq!(
        charts,
        [
            "helm-nvcf-openbao-server-0.30.25",
            "helm-nvcf-api-keys-1.6.0"
        ]
    );
    assert!(
        done["postChecks"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["what"] == "OpenBao openbao-server unsealed" && c["ok"] == true),
        "{done}"
    );
    let now = update_revision(env);
    assert_ne!(now, before);
    all_on(env, &now);
    now
}

/// Every OpenBao pod on `revision`, replaced one at a time, highest ordinal first.
fn all_on(env: &Env, revision: &str) {
    for pod in PODS {
        assert_eq!(pod_revision(env, pod), revision, "{pod}");
    }
    let created: Vec<String> = [2, 1, 0]
        .iter()
        .map(|i| {
            jsonpath(
                env,
                &["pod", &format!("openbao-server-{i}"), "-n", NS],
                "{.metadata.creationTimestamp}",
            )
        })
        .collect();
    assert!(created.windows(2).all(|w| w[0] <= w[1]), "{created:?}");
}

/// The re-run after the SIGKILL: no step left, the unfinished rotation done first.
fn resumed(env: &Env, to: &dyn Fn(&[&str]) -> Command, before: &str) {
    let run = Run::of(&mut to(&["--yes", "--json"]));
    run.expect_success();
    assert_eq!(
        completed_phases(&run.stderr),
        ["pre-checks", "rotate-openbao-server"]
    );
    let done = report(&run);
    assert_eq!(done["outcome"], "upgraded", "{done}");
    assert!(step_moves(&done["plan"]).is_empty(), "{done}");
    assert_eq!(done["plan"]["rotations"][0]["when"], "now", "{done}");
    let rotated: Vec<&str> = done["rotated"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap())
        .collect();
    let order = [
        "vault-system/openbao-server-2",
        "vault-system/openbao-server-1",
        "vault-system/openbao-server-0",
    ];
    assert!(
        !rotated.is_empty() && order.ends_with(&rotated),
        "{rotated:?}"
    );
    let now = update_revision(env);
    assert_ne!(now, before);
    all_on(env, &now);
}

/// `--dry-run` shows the plan and changes nothing; without `--yes` and with nobody to ask
/// the run is refused (64); an unknown version names the known ones (64).
fn plan_and_refusals(env: &Env, to: &dyn Fn(&[&str]) -> Command) {
    let dry = Run::of(&mut to(&["--dry-run"]));
    dry.expect_success();
    let r = report(&dry);
    assert_eq!(r["outcome"], "planned", "{r}");
    assert_eq!(
        step_moves(&r["plan"]),
        ["openbao-server 0.30.24->0.30.25", "api-keys 1.5.0->1.6.0"],
        "{r}"
    );
    assert_eq!(r["plan"]["path"][0]["name"], "stack 0.8.0");
    let upgrade = &r["plan"]["steps"][3];
    assert_eq!(upgrade["step"], "release/openbao-server", "{r}");
    assert_eq!(upgrade["phase"], "upgrade-openbao-server-0.30.25", "{r}");
    assert_eq!(upgrade["state"], "planned", "{r}");
    assert_eq!(r["plan"]["rotations"][0]["statefulset"], "openbao-server");
    assert_eq!(r["plan"]["rotations"][0]["when"], "after stack 0.8.0");
    assert!(
        r["plan"]["notInstalled"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n == "nats"),
        "{r}"
    );
    let refused = Run::of(&mut to(&[]));
    assert_eq!(refused.code, Some(64), "{refused:#?}");
    assert!(refused.stderr.contains("--yes"), "{}", refused.stderr);
    assert_eq!(revisions(env, "openbao-server", NS), 1);
    assert_eq!(revisions(env, "api-keys", "api-keys"), 1);
}

/// Starts the upgrade and SIGKILLs it once openbao-server-2 runs the new revision and
/// openbao-server-1 does not yet.
fn killed_mid_rotation(env: &Env, to: &dyn Fn(&[&str]) -> Command, before: &str) {
    let log = tempfile::NamedTempFile::new().unwrap();
    let mut child = to(&["--yes"])
        .stdout(std::process::Stdio::null())
        .stderr(log.reopen().unwrap())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(240);
    loop {
        let rev = update_revision(env);
        if rev != before
            && pod_revision(env, "openbao-server-2") == rev
            && pod_revision(env, "openbao-server-1") != rev
        {
            break;
        }
        if let Some(status) = child.try_wait().unwrap() {
            panic!(
                "the upgrade ended ({status}) before it could be cut off mid-rotation: {}",
                std::fs::read_to_string(log.path()).unwrap_or_default()
            );
        }
        assert!(Instant::now() < deadline, "the rotation never started");
        std::thread::sleep(Duration::from_millis(100));
    }
    child.kill().unwrap();
    child.wait().unwrap();
}
