//! `helm nvcf upgrade --to 0.8.0 --yes` interrupted at each kind of step boundary, SIGINT
//! (Ctrl-C) and SIGKILL in turn, each run cut off at the next boundary (found from its
//! JSONL events, never from a sleep): after the pre-checks, after OpenBao's helm upgrade
//! and before its pods rotate, between one pod's rotation and the next (twice), after the
//! rotation and before API Keys' upgrade, and after API Keys' helm upgrade. After each, no
//! release is left pending and the run ended as its signal says (130 for SIGINT); the
//! next run plans from the cluster and continues (once after waiting for a helm a cut-off
//! run left finishing, rather than stopping at the pre-check); the run after the last has
//! nothing to do (every OpenBao pod on the new revision, both releases at 0.8.0).

mod helm_nvcf_support;
mod upgrade_support;

use helm_nvcf_support::charts_dir;
use nvcf_e2e::Run;
use nvcf_e2e::interrupt::{self, Signal};
use nvcf_testenv::Env;
use serde_json::Value;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};
use upgrade_support::{PODS, Stack, pod_revision, report, update_revision};

/// One step boundary: what it is, and the event that marks it.
struct Boundary {
    what: &'static str,
    at: fn(&Value) -> bool,
}

fn progress_on(v: &Value, prefix: &str) -> bool {
    v["event"] == "phase_progress"
        && v["resource"]
            .as_str()
            .is_some_and(|r| r.starts_with(prefix))
}

/// In the order the upgrade meets them: each run is cut off at the next.
const BOUNDARIES: [Boundary; 6] = [
    Boundary {
        what: "after the pre-checks",
        at: |v| v["event"] == "phase_completed" && v["phase"] == "pre-checks",
    },
    Boundary {
        what: "after openbao-server's helm upgrade, before its pods rotate",
        at: |v| progress_on(v, "release/openbao-server"),
    },
    Boundary {
        what: "between one pod's rotation and the next",
        at: |v| progress_on(v, "pod/vault-system/"),
    },
    Boundary {
        what: "between the next pod's rotation and the last",
        at: |v| progress_on(v, "pod/vault-system/"),
    },
    Boundary {
        what: "after the rotation, before api-keys' upgrade",
        at: |v| v["event"] == "phase_completed" && v["phase"] == "rotate-openbao-server",
    },
    Boundary {
        what: "after api-keys' helm upgrade",
        at: |v| progress_on(v, "release/api-keys"),
    },
];

/// The round whose run starts while a helm an earlier run left behind is still finishing.
const FINISHING_ROUND: usize = 4;

/// api-keys left `pending-upgrade` by a helm that is still at work, as a run cut off mid
/// `helm upgrade` leaves it (its helm is detached and runs to the end), and that helm
/// finishing 3 seconds later: the run waits for it instead of stopping at the pre-check.
fn helm_still_finishing(env: &'static Env) -> std::thread::JoinHandle<()> {
    nvcf_e2e::helm_storage::set_status(env, "api-keys", "pending-upgrade");
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_secs(3));
        nvcf_e2e::helm_storage::set_status(env, "api-keys", "deployed");
    })
}

/// The releases helm records as pending, with their state.
fn pending(env: &Env) -> Vec<(String, String)> {
    nvcf_e2e::helm_storage::latest_statuses(env)
        .into_iter()
        .filter(|(_, state)| state.starts_with("pending"))
        .collect()
}

#[test]
fn upgrade_to_interrupted_at_each_step_boundary_continues_and_converges() {
    let Some(charts) = charts_dir("upgrade_to_interrupted_at_each_step_boundary") else {
        return;
    };
    let env = Env::shared();
    let stack = Stack::install(env, &charts);
    stack.unsealing.store(true, Ordering::Relaxed);
    let before = update_revision(env);
    let mut ledger = nvcf_e2e::faults::Entry::new(
        "SIGINT/SIGKILL of `upgrade --to` at its step boundaries, then re-run",
    );
    ledger
        .injected(BOUNDARIES.len() as u64)
        .retries(BOUNDARIES.len() as u64);
    let started = Instant::now();
    for (round, boundary) in BOUNDARIES.iter().enumerate() {
        assert!(
            started.elapsed() < Duration::from_secs(480),
            "round {round}: out of time"
        );
        let signal = Signal::alternating(round);
        let case = format!("round {round}, SIG{} {}", signal.name(), boundary.what);
        let finishing = (round == FINISHING_ROUND).then(|| helm_still_finishing(env));
        let run = interrupt::at_event(&mut stack.to(&["--yes", "--json"]), signal, boundary.at);
        // Nothing is left after the last boundary but the report: the run may finish
        // before the signal lands, which is a success, not a torn run.
        if !(round == BOUNDARIES.len() - 1 && run.hit && run.status.success()) {
            run.expect_ended_by(signal, &case);
        }
        if let Some(helm) = finishing {
            helm.join().unwrap();
        }
        let left = pending(env);
        assert!(left.is_empty(), "{case}: left pending: {left:?}");
    }

    // API Keys rotates nothing, so its helm upgrade was the last piece of work: planned
    // from the cluster, both releases are at 0.8.0 and no pod is left to rotate.
    let rerun = Run::of(&mut stack.to(&["--yes"]));
    assert_eq!(
        rerun.code,
        Some(0),
        "the last re-run did not converge: {rerun:#?}"
    );
    assert_eq!(report(&rerun)["outcome"], "nothing-to-do", "{rerun:#?}");
    let now = update_revision(env);
    assert_ne!(now, before);
    for pod in PODS {
        assert_eq!(pod_revision(env, pod), now, "{pod}");
    }
}
