//! The Kubernetes side failing under us: the test cluster's own script
//! (`tests/testenv/fault.sh`) stops and restarts kube-apiserver, or freezes etcd, while a
//! command runs. Each test uses a cluster of its own and writes its line in the fault
//! ledger.

mod nvcf_support;
mod status_support;

use nvcf_e2e::faults::Entry;
use nvcf_e2e::{Home, Run};
use nvcf_support::SimEnv;
use nvcf_testenv::{Env, Fault, tools};
use serde_json::Value;
use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// `kubectl nvcf status --watch -o json` on a cluster: its reports, one per line, as they come.
struct Watching {
    child: Child,
    reports: mpsc::Receiver<Value>,
}

impl Watching {
    fn start(sim: &SimEnv, env: &Env) -> Watching {
        let mut child = sim
            .cmd()
            .env("KUBECONFIG", env.kubeconfig())
            .args(["status", "--watch", "-o", "json"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let out = child.stdout.take().unwrap();
        let (tx, reports) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                let report = serde_json::from_str(&line).expect("each line is one JSON report");
                if tx.send(report).is_err() {
                    break;
                }
            }
        });
        Watching { child, reports }
    }

    /// The first report from now on that `want` accepts; panics after `limit`.
    #[track_caller]
    fn until(&self, limit: Duration, what: &str, want: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + limit;
        let mut seen = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.reports.recv_timeout(left) {
                Ok(r) if want(&r) => return r,
                Ok(r) => seen.push(r),
                Err(e) => panic!("no report {what} within {limit:?} ({e}); saw {seen:#?}"),
            }
        }
    }

    /// Ctrl-C, as a person ends a watch: the exit code and what it said on stderr.
    fn interrupt(mut self) -> (Option<i32>, String) {
        let pid = self.child.id().to_string();
        std::process::Command::new("kill")
            .args(["-INT", &pid])
            .status()
            .unwrap();
        let status = self.child.wait().unwrap();
        let mut stderr = String::new();
        if let Some(mut e) = self.child.stderr.take() {
            let _ = e.read_to_string(&mut stderr);
        }
        (status.code(), stderr)
    }
}

fn whole(r: &Value) -> bool {
    r["unreadable"].is_null() && r["clusterError"].is_null()
}

fn release_state(r: &Value, name: &str) -> String {
    r["releases"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|x| x["release"] == name)
        .and_then(|x| x["state"].as_str())
        .unwrap_or("absent")
        .to_owned()
}

/// What `helm install` leaves first: the release's record, which status watches.
fn record_release(env: &Env, name: &str) {
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(
        file.path(),
        format!(
            "apiVersion: v1\nkind: Namespace\nmetadata: {{name: nvcf}}\n---\n\
             apiVersion: v1\nkind: Secret\nmetadata:\n  name: sh.helm.release.v1.{name}.v1\n  namespace: nvcf\n  \
             labels: {{owner: helm, name: {name}, status: deployed, version: \"1\"}}\n\
             type: helm.sh/release.v1\ndata: {{release: e30=}}\n"
        ),
    )
    .unwrap();
    env.kubectl_run(&["apply", "-f", file.path().to_str().unwrap()])
        .unwrap();
}

#[test]
fn status_watch_reports_an_api_server_restart_and_resumes() {
    let env = Env::start_named("fault-apiserver").unwrap();
    let sim = SimEnv::start();
    let mut ledger =
        Entry::new("kube-apiserver stopped for 3 s and restarted under status --watch");
    let watch = Watching::start(&sim, &env);
    let first = watch.until(Duration::from_secs(60), "reading the whole cluster", whole);

    env.fault(Fault::ApiServerRestart, 3).unwrap();
    ledger.injected(1);
    let outage = watch.until(Duration::from_secs(60), "during the outage", |r| {
        !r["unreadable"].is_null()
    });
    assert_eq!(outage["verdict"], "unknown", "{outage:#}");
    assert!(
        outage["unreadable"].to_string().contains("unreachable"),
        "says why: {outage:#}"
    );
    let back = watch.until(Duration::from_secs(60), "after the restart", whole);
    assert_eq!(back["verdict"], first["verdict"], "{back:#}");
    assert_eq!(back["releases"], first["releases"]);

    // The watch is live again: a release recorded now reaches it.
    record_release(&env, "api");
    watch.until(Duration::from_secs(60), "showing the new release", |r| {
        whole(r) && release_state(r, "api") != release_state(&first, "api")
    });
    let (code, stderr) = watch.interrupt();
    assert_eq!(code, Some(130), "Ctrl-C is exit 130: {stderr}");
}

#[test]
fn status_watch_survives_etcd_frozen_then_back() {
    let env = Env::start_named("fault-etcd").unwrap();
    let sim = SimEnv::start();
    let mut ledger = Entry::new("etcd frozen for 5 s under status --watch");
    let watch = Watching::start(&sim, &env);
    let first = watch.until(Duration::from_secs(60), "reading the whole cluster", whole);
    env.fault(Fault::EtcdPause, 5).unwrap();
    ledger.injected(1);
    // Watches are served from the API server's cache: the view stays whole or comes back
    // whole; either way a change made after etcd returns is seen.
    record_release(&env, "sis");
    watch.until(
        Duration::from_secs(60),
        "showing the release recorded after",
        |r| whole(r) && release_state(r, "sis") != release_state(&first, "sis"),
    );
    let (code, stderr) = watch.interrupt();
    assert_eq!(code, Some(130), "{stderr}");
}

#[test]
fn down_cut_off_by_an_api_server_restart_says_so_and_a_rerun_finishes() {
    let Some(charts) = status_support::charts("down_cut_off_by_an_api_server_restart") else {
        return;
    };
    let env = Env::start_named("fault-down").unwrap();
    let home = Home::new();
    let helm = tools::helm3();
    let bin = home.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::os::unix::fs::symlink(&helm, bin.join("helm")).unwrap();
    status_support::helm_install(
        &env,
        &home,
        &helm,
        &charts,
        "nvca-operator",
        "helm-nvca-operator",
        "nvca-operator",
    );
    status_support::backend(&env, "gpu-a", "healthy");
    let down = || {
        let mut c = status_support::nvcf(&home, &env);
        c.env(
            "PATH",
            format!("{}:{}", bin.display(), std::env::var("PATH").unwrap()),
        )
        .env(
            "NVCF_STACK_CONFIG",
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/helm_nvcf_data/local.yaml"),
        )
        .args(["down", "--cluster-name", "gpu-a", "--confirm", "--json"]);
        c
    };
    let mut ledger = Entry::new("kube-apiserver stopped for 3 s and restarted during down");

    // The API server goes away once the uninstall phase has started.
    let mut child = down()
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let err = child.stderr.take().unwrap();
    let (tx, started) = mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut lines = Vec::new();
        for line in BufReader::new(err).lines().map_while(Result::ok) {
            if line.contains("\"phase_started\"") && line.contains("uninstall-compute-plane") {
                let _ = tx.send(());
            }
            lines.push(line);
        }
        lines
    });
    started
        .recv_timeout(Duration::from_secs(120))
        .expect("down reached its uninstall phase");
    env.fault(Fault::ApiServerRestart, 3).unwrap();
    ledger.injected(1);
    let status = child.wait().unwrap();
    let lines = reader.join().unwrap();
    let last: Value = lines
        .iter()
        .rev()
        .find_map(|l| serde_json::from_str::<Value>(l).ok())
        .expect("JSONL events on stderr");
    assert_eq!(
        last["event"], "final",
        "the run ends with its final event: {lines:#?}"
    );
    match status.code() {
        Some(0) => assert_eq!(last["success"], true),
        // Cut off: a documented code (unavailable, a helm that failed, a wait that ran
        // out), a final event saying so, and a re-run that finishes the job.
        Some(code) => {
            assert!([5, 7, 8].contains(&code), "exit {code}: {lines:#?}");
            assert_eq!(last["success"], false, "{lines:#?}");
            let failed = lines
                .iter()
                .find(|l| l.contains("\"phase_failed\""))
                .unwrap_or_else(|| panic!("a phase_failed event: {lines:#?}"));
            let failed: Value = serde_json::from_str(failed).unwrap();
            assert_eq!(failed["errCategory"], "network", "{failed:#}");
            assert!(
                failed["remediation"].to_string().contains("API server"),
                "the fix names the API server, not a registry: {failed:#}"
            );
            let rerun = Run::of(&mut down());
            rerun.expect_success();
            ledger.retries(1);
        }
        None => panic!("down was killed by a signal"),
    }
    let left = status_support::release_names(&env);
    assert!(!left.contains("nvca-operator"), "left behind: {left}");
    // Nothing holds a lock that would block the next run.
    let leases = env
        .kubectl_run(&["get", "leases", "-n", "nvcf-cli-system", "-o", "name"])
        .unwrap_or_default();
    assert!(leases.trim().is_empty(), "{leases}");
}
