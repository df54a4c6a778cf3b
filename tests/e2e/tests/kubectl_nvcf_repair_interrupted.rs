//! `kubectl nvcf repair --yes` interrupted at each kind of step boundary (SIGINT and
//! SIGKILL in turn, found from its JSONL events, never from a sleep): before the failed
//! migration Job is deleted, after it, between one `helm uninstall --no-hooks` and the
//! next, with everything cleared and nothing installed yet, as the control plane's apply
//! starts, while a cleared release's install runs, and after the control plane is applied.
//! Each time the stack is broken afresh (a first install failed, an install cut off, a
//! migration Job failed); after the interrupt nothing is left that the next repair cannot
//! handle (after Ctrl-C, exit 130, not even the install lock), the next `repair --yes` converges (every release deployed, the migration Job
//! succeeded) and a repair after it finds nothing. Last, a `helm uninstall` cut off
//! (the release left `uninstalling`) is found and repaired.

mod helm_nvcf_support;
mod nvcf_support;
mod repair_support;
mod up_support;

use nvcf_e2e::Run;
use nvcf_e2e::interrupt::{self, Signal};
use nvcf_support::SimEnv;
use nvcf_testenv::{Env, tools};
use repair_support::{fail_job, findings, job_succeeded};
use serde_json::Value;
use std::time::{Duration, Instant};
use up_support::{helm_releases, nvcf, prepare, up_args};

/// One step boundary: what it is, and the event that marks it.
struct Boundary {
    what: &'static str,
    at: fn(&Value) -> bool,
}

fn repair_step(v: &Value, done: u64) -> bool {
    v["event"] == "phase_progress" && v["phase"] == "repair" && v["done"] == done
}

/// In the order the repair meets them. Its plan is, in install order: delete cassandra's
/// failed migration Job, uninstall notary-service, uninstall grpc-proxy; then `up`.
const BOUNDARIES: [Boundary; 7] = [
    Boundary {
        what: "before the migration Job delete",
        at: |v| repair_step(v, 0),
    },
    Boundary {
        what: "after the migration Job delete, before helm uninstall",
        at: |v| repair_step(v, 1),
    },
    Boundary {
        what: "between one helm uninstall and the next",
        at: |v| repair_step(v, 2),
    },
    Boundary {
        what: "between the uninstalls and the install",
        at: |v| repair_step(v, 3),
    },
    Boundary {
        what: "as the control plane's apply starts",
        at: |v| v["event"] == "phase_started" && v["phaseNum"] == 3,
    },
    Boundary {
        what: "during notary-service's install",
        at: |v| {
            v["event"] == "last_progress"
                && v["phaseNum"] == 3
                && v["detail"]
                    .as_str()
                    .is_some_and(|d| d.starts_with("wave") && d.contains("notary-service"))
        },
    },
    Boundary {
        what: "after the control plane's apply",
        at: |v| v["event"] == "phase_completed" && v["phaseNum"] == 3,
    },
];

#[test]
fn repair_interrupted_at_each_step_boundary_converges_on_rerun() {
    let Some(charts) =
        helm_nvcf_support::charts("repair_interrupted_at_each_step_boundary_converges_on_rerun")
    else {
        return;
    };
    let env = Env::start_named("repair-kill").unwrap();
    prepare(&env);
    let sim = SimEnv::start();
    let kubeconfig = env.kubeconfig().to_str().unwrap().to_owned();
    let helm = tools::helm3();
    Run::of(nvcf(&sim, &kubeconfig, &helm).args(up_args("gpu-r", &charts))).expect_success();
    let repair = |extra: &[&str]| {
        let mut cmd = nvcf(&sim, &kubeconfig, &helm);
        cmd.env("CI", "true")
            .args([
                "repair",
                "--cluster-name",
                "gpu-r",
                "--chart-source",
                &charts,
            ])
            .args(extra);
        cmd
    };
    let rounds: usize = std::env::var("NVCF_REPAIR_KILL_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(BOUNDARIES.len());
    let mut ledger = nvcf_e2e::faults::Entry::new(
        "SIGINT/SIGKILL of `repair` at its step boundaries, then re-run",
    );
    ledger.injected(rounds as u64).retries(rounds as u64);
    let started = Instant::now();
    for round in 0..rounds {
        assert!(
            started.elapsed() < Duration::from_secs(600),
            "round {round}: out of time"
        );
        let boundary = &BOUNDARIES[round % BOUNDARIES.len()];
        let signal = Signal::alternating(round);
        let case = format!("round {round}, SIG{} {}", signal.name(), boundary.what);

        nvcf_e2e::helm_storage::set_status(&env, "notary-service", "failed");
        nvcf_e2e::helm_storage::set_status(&env, "grpc-proxy", "pending-install");
        fail_job(&env, "cassandra-system", "cassandra-migrations");

        interrupt::at_event(&mut repair(&["--yes", "--json"]), signal, boundary.at)
            .expect_ended_by(signal, &case);
        if signal == Signal::Int {
            // Ctrl-C gives the install lock back on the way out.
            let lease = env
                .kubectl_run(&["get", "lease", "-n", "nvcf-cli-system", "-o", "name"])
                .unwrap();
            assert!(lease.trim().is_empty(), "{case}: the lock is left: {lease}");
        }

        // Whatever the interrupt left, the next repair's plan has a step for: every
        // release not deployed is a finding, none of them left to a person.
        let plan = Run::of(&mut repair(&["--dry-run", "-o", "json"]));
        plan.expect_success();
        let found = findings(&plan);
        for (release, state) in helm_releases(&env) {
            if state != "deployed" {
                assert!(
                    found.iter().any(|(r, a)| *r == release && a != "by-hand"),
                    "{case}: {release} is {state} and the next repair does not see it: {plan:#?}"
                );
            }
        }

        let done = Run::of(&mut repair(&["--yes", "-o", "json"]));
        assert_eq!(
            done.code,
            Some(0),
            "{case}: re-run did not converge: {done:#?}"
        );
        let releases = helm_releases(&env);
        assert!(
            releases.values().all(|s| s == "deployed"),
            "{case}: {releases:#?}"
        );
        assert!(
            job_succeeded(&env, "cassandra-system", "cassandra-migrations"),
            "{case}: the migration Job did not run again"
        );
        let again = Run::of(&mut repair(&["-o", "json"]));
        again.expect_success();
        assert!(findings(&again).is_empty(), "{case}: {again:#?}");
    }
    // A `helm uninstall` cut off (its helm killed before it removed the release's
    // records) leaves the release `uninstalling`: an upgrade refuses it ("has no deployed
    // releases"), so the repair uninstalls it again, then installs it.
    nvcf_e2e::helm_storage::set_status(&env, "notary-service", "uninstalling");
    let plan = Run::of(&mut repair(&["--dry-run", "-o", "json"]));
    plan.expect_success();
    assert_eq!(
        findings(&plan),
        [("notary-service".to_owned(), "reinstall".to_owned())],
        "{plan:#?}"
    );
    Run::of(&mut repair(&["--yes"])).expect_success();
    let releases = helm_releases(&env);
    assert!(releases.values().all(|s| s == "deployed"), "{releases:#?}");
    let again = Run::of(&mut repair(&["-o", "json"]));
    again.expect_success();
    assert!(findings(&again).is_empty(), "{again:#?}");

    // A killed `up` leaves its install lock to expire or be taken over (a repair that
    // finds nothing runs no `up` to take it): whatever is left names a process that is
    // gone, which the next run takes over at once.
    let holder = env
        .kubectl_run(&[
            "get",
            "lease",
            "-n",
            "nvcf-cli-system",
            "-o",
            "jsonpath={.items[*].spec.holderIdentity}",
        ])
        .unwrap();
    for identity in holder.split("e2e@").filter(|h| !h.trim().is_empty()) {
        let pid = identity.rsplit_once("pid=").unwrap().1.trim();
        assert!(
            !std::path::Path::new(&format!("/proc/{pid}")).exists(),
            "the install lock is held by a live process: {holder}"
        );
    }
}
