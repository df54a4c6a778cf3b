//! `kubectl nvcf up` with the test cluster's kube-apiserver stopped and restarted while it
//! applies the control plane (`tests/testenv/fault.sh`): the run says what happened, with
//! a documented exit code, or rides it out; a re-run converges; no lock is left behind.

mod helm_nvcf_support;
mod nvcf_support;
mod up_support;

use nvcf_e2e::Run;
use nvcf_e2e::faults::Entry;
use nvcf_support::SimEnv;
use nvcf_testenv::{Env, Fault, tools};
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::sync::mpsc;
use std::time::Duration;
use up_support::{events, helm_releases, nvcf, prepare, up_args};

#[test]
fn up_cut_off_by_an_api_server_restart_converges_on_rerun() {
    let Some(charts) =
        helm_nvcf_support::charts("up_cut_off_by_an_api_server_restart_converges_on_rerun")
    else {
        return;
    };
    let env = Env::start_named("fault-up").unwrap();
    prepare(&env);
    let sim = SimEnv::start();
    let kubeconfig = env.kubeconfig().to_str().unwrap().to_owned();
    let helm = tools::helm3();
    let mut args = up_args("gpu-a", &charts);
    args.push("--json".into());
    let mut ledger =
        Entry::new("kube-apiserver stopped for 3 s and restarted during up's apply-cp");

    let mut child = nvcf(&sim, &kubeconfig, &helm)
        .args(&args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let err = child.stderr.take().unwrap();
    let (tx, applying) = mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        for line in BufReader::new(err).lines().map_while(Result::ok) {
            // A few releases in: helm is installing the next wave when the server goes.
            if line.contains("\"detail\":\"wave 2:") {
                let _ = tx.send(());
            }
            text.push_str(&line);
            text.push('\n');
        }
        text
    });
    applying
        .recv_timeout(Duration::from_secs(180))
        .expect("up reached apply-cp");
    // Into the release's install: its objects are being created and waited on.
    std::thread::sleep(Duration::from_secs(3));
    env.fault(Fault::ApiServerRestart, 3).unwrap();
    ledger.injected(1);
    let status = child.wait().unwrap();
    let stderr = reader.join().unwrap();
    let evs = events(&stderr);
    let last = evs.last().cloned().unwrap_or(Value::Null);
    assert_eq!(last["event"], "final", "{stderr}");
    eprintln!("first run: exit {:?}\n{stderr}", status.code());
    if status.code() != Some(0) {
        assert!(
            [5, 6, 7, 8].contains(&status.code().unwrap_or(-1)),
            "a documented code: {stderr}"
        );
        let rerun = Run::of(nvcf(&sim, &kubeconfig, &helm).args(&args));
        eprintln!("rerun: {:?}\n{}", rerun.code, rerun.stderr);
        rerun.expect_success();
        ledger.retries(1);
    }
    let releases = helm_releases(&env);
    assert!(releases.values().all(|s| s == "deployed"), "{releases:#?}");
    let leases = env
        .kubectl_run(&["get", "leases", "-n", "nvcf-cli-system", "-o", "name"])
        .unwrap_or_default();
    assert!(
        leases.trim().is_empty(),
        "the install lock is released: {leases}"
    );
}
