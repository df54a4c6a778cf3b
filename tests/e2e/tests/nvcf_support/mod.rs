//! A simulator in the test process and the real `kubectl-nvcf` binary pointed at it.

#![allow(
    dead_code,
    reason = "each test crate uses a different part of the support"
)]

use nvcf_e2e::{Home, Run, bin};
use nvcf_sim::{FaultRule, Sim, SimConfig};
use serde_json::Value;
use std::process::Command;

pub struct SimEnv {
    // Field order matters: the simulator stops before its runtime goes away.
    pub sim: Sim,
    rt: tokio::runtime::Runtime,
    pub home: Home,
    extra_env: Vec<(String, String)>,
    /// Every command run through [`SimEnv::nvcf`], with its arguments, for secret scans.
    transcripts: std::sync::Mutex<Vec<(Vec<String>, String)>>,
    /// The faults injected, for the fault ledger (`nvcf_e2e::faults`).
    injected: std::sync::Mutex<Vec<String>>,
    /// The retries the test saw the product make, for the same ledger.
    retries: std::sync::Mutex<Option<u64>>,
}

impl Drop for SimEnv {
    fn drop(&mut self) {
        let injected =
            std::mem::take(&mut *self.injected.lock().unwrap_or_else(|p| p.into_inner()));
        if injected.is_empty() {
            return;
        }
        let faulted = self.sim.faults_fired();
        let mut entry = nvcf_e2e::faults::Entry::new(&injected.join(" + "));
        entry.injected(faulted);
        if let Some(n) = *self.retries.lock().unwrap_or_else(|p| p.into_inner()) {
            entry.retries(n);
        }
    }
}

impl SimEnv {
    pub fn start() -> SimEnv {
        SimEnv::with(SimConfig {
            deploy_duration: std::time::Duration::from_millis(300),
            ..SimConfig::default()
        })
    }

    pub fn with(config: SimConfig) -> SimEnv {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("tokio runtime");
        let sim = rt.block_on(Sim::start(config)).expect("start nvcf-sim");
        SimEnv {
            sim,
            rt,
            home: Home::new(),
            extra_env: Vec::new(),
            transcripts: Default::default(),
            injected: Default::default(),
            retries: Default::default(),
        }
    }

    /// `kubectl-nvcf` with the simulator's settings, a fixed profile and no terminal.
    pub fn cmd(&self) -> Command {
        let mut cmd = self.home.command(bin("kubectl-nvcf"));
        for (k, v) in self.sim.env() {
            cmd.env(k, v);
        }
        cmd.env("NVCF_PROFILE", "e2e").env("CI", "true");
        cmd.envs(self.extra_env.iter().map(|(k, v)| (k, v)));
        cmd
    }

    /// Every later command also gets `key=value` in its environment.
    pub fn with_env(mut self, key: &str, value: &str) -> SimEnv {
        self.extra_env.push((key.into(), value.into()));
        self
    }

    pub fn nvcf(&self, args: &[&str]) -> Run {
        let run = Run::of(self.cmd().args(args));
        self.transcripts
            .lock()
            .expect("transcripts")
            .push((args.iter().map(|a| a.to_string()).collect(), run.all()));
        run
    }

    /// No output of any command so far holds the profile's admin token or API keys, except
    /// `api-key generate`, which exists to print the key it made.
    #[track_caller]
    pub fn assert_no_secret_leaked(&self) {
        let state = self.state();
        let secrets: Vec<&str> = ["token", "apiKey", "nvctApiKey"]
            .iter()
            .filter_map(|k| state[*k].as_str())
            .collect();
        assert!(!secrets.is_empty(), "the profile holds secrets to look for");
        let transcripts = self.transcripts.lock().expect("transcripts");
        for (args, text) in transcripts.iter() {
            if args.starts_with(&["api-key".to_owned(), "generate".to_owned()]) {
                continue;
            }
            for secret in &secrets {
                assert!(
                    !text.contains(secret),
                    "kubectl nvcf {args:?} printed a secret: {text}"
                );
            }
        }
    }

    /// Runs and asserts success.
    #[track_caller]
    pub fn ok(&self, args: &[&str]) -> Run {
        let run = self.nvcf(args);
        assert_eq!(run.code, Some(0), "kubectl nvcf {args:?} failed: {run:#?}");
        run
    }

    /// Runs with `-o json` and parses stdout.
    #[track_caller]
    pub fn json(&self, args: &[&str]) -> Value {
        let mut all = args.to_vec();
        all.extend(["-o", "json"]);
        let run = self.ok(&all);
        serde_json::from_str(&run.stdout)
            .unwrap_or_else(|e| panic!("{args:?}: stdout is not JSON ({e}): {}", run.stdout))
    }

    /// Notes, for the fault report, how many retries the product made under the faults.
    pub fn retried(&self, times: u64) {
        *self.retries.lock().expect("retries") = Some(times);
    }

    pub fn fault(&self, rule: FaultRule) {
        self.injected
            .lock()
            .expect("injected")
            .push(describe(&rule));
        self.sim.add_fault(rule);
    }

    /// Requests the simulator saw for `service` (its fault-rule name) and method.
    pub fn requests(&self, service: &str, method: &str, path_prefix: &str) -> Vec<Value> {
        self.sim
            .requests()
            .into_iter()
            .filter(|r| {
                r["service"] == service
                    && r["method"] == method
                    && r["path"]
                        .as_str()
                        .is_some_and(|p| p.starts_with(path_prefix))
            })
            .collect()
    }

    /// The profile's saved state.
    pub fn state(&self) -> Value {
        let path = self
            .home
            .path()
            .join(".config/nvcf/profiles/e2e/state.json");
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap_or_else(|_| "{}".into()))
            .expect("state.json is JSON")
    }

    /// `init` plus both API keys.
    pub fn logged_in(self) -> SimEnv {
        self.ok(&["init"]);
        self.ok(&["api-key", "generate"]);
        self
    }

    pub fn block_on<F: std::future::Future>(&self, f: F) -> F::Output {
        self.rt.block_on(f)
    }
}

/// `task create`'s flags for a small GPU job that keeps no results.
pub const JOB: [&str; 8] = [
    "--image",
    "nvcr.io/acme/job:1",
    "--gpu",
    "A10G",
    "--instance-type",
    "NCP.GPU.A10G_1x",
    "--result-strategy",
    "NONE",
];

/// `function create`'s flags for the simulator's echo container.
pub const ECHO: [&str; 6] = [
    "--image",
    "nvcr.io/acme/echo:1",
    "--inference-url",
    "/echo",
    "--inference-port",
    "8000",
];

/// `function deploy create`'s flags for one small GPU instance.
pub const ONE_GPU: [&str; 4] = ["--gpu", "A10G", "--instance-type", "NCP.GPU.A10G_1x"];

/// `[prefix…, flags…]` as one argument list.
pub fn args<'a>(prefix: &[&'a str], flags: &[&'a str]) -> Vec<&'a str> {
    prefix.iter().chain(flags).copied().collect()
}

/// A fault rule in a few words, for the fault report.
fn describe(rule: &FaultRule) -> String {
    let mut what = Vec::new();
    if let Some(s) = rule.status {
        what.push(format!("HTTP {s}"));
    }
    if rule.reset {
        what.push("connection reset".into());
    }
    if let Some(s) = rule.retry_after {
        what.push(format!("429 Retry-After {s}s"));
    }
    if let Some(ms) = rule.latency_ms {
        what.push(format!("{ms} ms latency"));
    }
    if rule.token_expired {
        what.push("token expired".into());
    }
    if let Some(n) = rule.cut_body_after {
        what.push(format!("body reset after {n} B"));
    }
    if let Some(n) = rule.end_body_after {
        what.push(format!("body ended after {n} B"));
    }
    let times = rule.times.map_or("every time".into(), |t| format!("{t}x"));
    format!(
        "{} on {}{} ({times})",
        what.join(", "),
        rule.service.as_deref().unwrap_or("any service"),
        rule.method
            .as_deref()
            .map(|m| format!(" {m}"))
            .unwrap_or_default()
    )
}

pub fn fault(service: &str) -> FaultRule {
    FaultRule {
        service: Some(service.into()),
        ..FaultRule::default()
    }
}

/// Creates and deploys the echo function; returns (function id, version id).
pub fn deployed_echo(env: &SimEnv, name: &str) -> (String, String) {
    deployed(env, name, "nvcr.io/acme/echo:1", "/echo")
}

/// Creates and deploys a container function serving `inference_url` (`/grpc` makes it a
/// gRPC function); returns (function id, version id).
pub fn deployed(env: &SimEnv, name: &str, image: &str, inference_url: &str) -> (String, String) {
    let f = env.json(&[
        "function",
        "create",
        "--name",
        name,
        "--container-image",
        image,
        "--inference-url",
        inference_url,
        "--inference-port",
        "8000",
    ]);
    let fid = f["id"].as_str().expect("id").to_owned();
    let vid = f["versionId"].as_str().expect("versionId").to_owned();
    env.ok(&[
        "function",
        "deploy",
        "create",
        "--gpu",
        "A10G",
        "--instance-type",
        "NCP.GPU.A10G_1x",
        "--poll-interval",
        "1",
    ]);
    (fid, vid)
}
