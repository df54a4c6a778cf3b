//! `helm nvcf upgrade --to STACK_VERSION` across the catalog's two stack versions on the
//! test cluster: OpenBao, Cassandra and API Keys installed at 0.7.0 from the real charts (copied, only
//! Chart.yaml's version changed), then the plan (`--dry-run`, nothing changed), a refusal
//! without `--yes` (64, nothing changed), a pre-check that stops a run (a sealed OpenBao
//! pod: 2, nothing changed), a run SIGKILLed while it rotates OpenBao's OnDelete pods, the
//! re-run that continues where it stopped, and a last run with nothing to do.

mod helm_nvcf_support;
mod upgrade_support;

use helm_nvcf_support::{charts_dir, completed_phases};
use nvcf_e2e::Run;
use nvcf_testenv::Env;
use std::process::Command;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};
use upgrade_support::{
    NS, PODS, Stack, all_on, jsonpath, pod_revision, report, revisions, step_moves, update_revision,
};

#[test]
fn upgrade_to_plans_refuses_checks_rotates_one_pod_at_a_time_and_resumes_after_sigkill() {
    let Some(charts) = charts_dir("upgrade_to_plans_refuses_checks_rotates_one_pod_at_a_time")
    else {
        return;
    };
    let env = Env::shared();
    let stack = Stack::install(env, &charts);
    let nvcf = || stack.nvcf();
    let source = stack.source.clone();
    let to = |extra: &[&str]| stack.to(extra);
    let unsealing = stack.unsealing.clone();
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
