//! `kubectl nvcf repair` on the test cluster: the stack `up` installed, broken the ways
//! operators meet (a first install that failed, an install cut off, a migration Job that
//! failed), shown as a plan, refused without confirmation, repaired, and a second repair
//! finds nothing; then down with a function still deployed and up straight after; and
//! OpenBao's post-install Job gone, which is left to a person with nothing changed.

mod helm_nvcf_support;
mod nvcf_support;
mod repair_support;
mod up_support;

use nvcf_e2e::Run;
use nvcf_support::SimEnv;
use nvcf_testenv::{Env, tools};
use repair_support::{fail_job, findings, job_succeeded};
use serde_json::Value;
use up_support::{helm_releases, nvcf, prepare, up_args};

#[test]
fn repair_puts_right_a_broken_stack_and_then_finds_nothing() {
    let Some(charts) =
        helm_nvcf_support::charts("repair_puts_right_a_broken_stack_and_then_finds_nothing")
    else {
        return;
    };
    let env = Env::start_named("repair").unwrap();
    prepare(&env);
    let sim = SimEnv::start();
    let kubeconfig = env.kubeconfig().to_str().unwrap().to_owned();
    let helm = tools::helm3();
    Run::of(nvcf(&sim, &kubeconfig, &helm).args(up_args("gpu-a", &charts))).expect_success();
    let repair = |extra: &[&str]| {
        Run::of(
            nvcf(&sim, &kubeconfig, &helm)
                .env("CI", "true")
                .args([
                    "repair",
                    "--cluster-name",
                    "gpu-a",
                    "--chart-source",
                    &charts,
                ])
                .args(extra),
        )
    };

    let healthy = repair(&["-o", "json"]);
    healthy.expect_success();
    assert!(findings(&healthy).is_empty(), "{healthy:#?}");

    nvcf_e2e::helm_storage::set_status(&env, "notary-service", "failed");
    nvcf_e2e::helm_storage::set_status(&env, "grpc-proxy", "pending-install");
    fail_job(&env, "cassandra-system", "cassandra-migrations");
    let broken = helm_releases(&env);

    // The plan, in install order, each with the step that lets its hooks run again.
    let plan = repair(&["--dry-run", "-o", "json"]);
    plan.expect_success();
    let pairs = |v: &[(&str, &str)]| -> Vec<(String, String)> {
        v.iter()
            .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
            .collect()
    };
    assert_eq!(
        findings(&plan),
        pairs(&[
            ("cassandra", "rerun-job"),
            ("notary-service", "reinstall"),
            ("grpc-proxy", "reinstall"),
        ]),
        "{plan:#?}"
    );
    let table = repair(&["--dry-run"]);
    table.expect_success();
    assert!(
        table.stdout.contains("helm uninstall --no-hooks")
            && table
                .stdout
                .contains("then: kubectl nvcf up --cluster-name gpu-a"),
        "{table:#?}"
    );
    // Without a person to ask and without --yes, nothing is touched (exit 64).
    let refused = repair(&[]);
    assert_eq!(refused.code, Some(64), "{refused:#?}");
    assert!(refused.stderr.contains("--yes"), "{refused:#?}");
    assert_eq!(helm_releases(&env), broken, "nothing changed");

    let done = repair(&["--yes", "-o", "json"]);
    done.expect_success();
    let report: Value = serde_json::from_str(&done.stdout).unwrap();
    assert_eq!(report["done"], true, "{report:#}");
    let releases = helm_releases(&env);
    assert!(releases.values().all(|s| s == "deployed"), "{releases:#?}");
    assert!(job_succeeded(
        &env,
        "vault-system",
        "openbao-server-initialize-cluster"
    ));
    assert!(job_succeeded(
        &env,
        "cassandra-system",
        "cassandra-migrations"
    ));

    let again = repair(&["-o", "json"]);
    again.expect_success();
    assert!(findings(&again).is_empty(), "{again:#?}");

    // Down with a function still deployed (its ICMSRequest held by NVCA's finalizer, its pod
    // in nvcf-backend) completes, and `up` straight after succeeds.
    nvcf_e2e::functions::leave_deployed(&env, "fn-echo");
    let down = Run::of(nvcf(&sim, &kubeconfig, &helm).env("CI", "true").args([
        "down",
        "--cluster-name",
        "gpu-a",
        "--confirm",
    ]));
    down.expect_success();
    assert!(
        down.stdout.contains("ICMSRequest/fn-echo -n nvcf-backend"),
        "{down:#?}"
    );
    Run::of(nvcf(&sim, &kubeconfig, &helm).args(up_args("gpu-a", &charts))).expect_success();
    let releases = helm_releases(&env);
    assert!(releases.values().all(|s| s == "deployed"), "{releases:#?}");
}
