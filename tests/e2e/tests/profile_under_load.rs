//! One profile, many processes: concurrent commands against nvcf-sim that each save state
//! lose no write, and a writer killed at any moment never leaves a torn or littered profile.

mod nvcf_support;

use nvcf_support::{ECHO, JOB, SimEnv, args};

const JSON: [&str; 2] = ["-o", "json"];
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

fn profile_dir(env: &SimEnv) -> PathBuf {
    env.home.path().join(".config/nvcf/profiles/e2e")
}

fn spawn(env: &SimEnv, args: &[&str]) -> Child {
    env.cmd()
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn kubectl-nvcf")
}

/// Reads the state file over and over while `stop` is unset; every read must parse.
fn watch_state(path: PathBuf, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<usize> {
    std::thread::spawn(move || {
        let mut reads = 0;
        while !stop.load(Ordering::Relaxed) {
            if let Ok(text) = std::fs::read_to_string(&path) {
                serde_json::from_str::<Value>(&text)
                    .unwrap_or_else(|e| panic!("state.json torn mid-run ({e}): {text:?}"));
                reads += 1;
            }
        }
        reads
    })
}

fn temp_files(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.contains(".tmp-"))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn eight_concurrent_commands_on_one_profile_lose_no_write() {
    let mut ledger = nvcf_e2e::faults::Entry::new("8 concurrent commands on one profile, 4 rounds");
    ledger.injected(32);
    let env = SimEnv::start().logged_in();
    let stop = Arc::new(AtomicBool::new(false));
    let watcher = watch_state(profile_dir(&env).join("state.json"), stop.clone());
    for round in 0..4 {
        let fname = format!("f-{round}");
        let tname = format!("t-{round}");
        let children = vec![
            spawn(&env, &["refresh"]),
            spawn(&env, &["api-key", "generate", "--for", "function"]),
            spawn(&env, &["api-key", "generate", "--for", "task"]),
            spawn(
                &env,
                &args(
                    &args(&["function", "create", "--name", &fname], &ECHO),
                    &JSON,
                ),
            ),
            spawn(
                &env,
                &args(&args(&["task", "create", "--name", &tname], &JOB), &JSON),
            ),
            spawn(&env, &["function", "list", "-o", "json"]),
            spawn(&env, &["task", "list", "-o", "json"]),
            spawn(&env, &["context"]),
        ];
        let outputs: Vec<_> = children
            .into_iter()
            .map(|c| c.wait_with_output().expect("wait"))
            .collect();
        for (i, out) in outputs.iter().enumerate() {
            assert!(
                out.status.success(),
                "round {round}, command {i}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let created = |i: usize| -> Value { serde_json::from_slice(&outputs[i].stdout).unwrap() };
        let state = env.state();
        // Each command's own write is there: none was overwritten by another's stale read.
        assert_eq!(
            state["functionId"],
            created(3)["id"],
            "round {round}: {state}"
        );
        assert_eq!(
            state["functionName"],
            fname.as_str(),
            "round {round}: {state}"
        );
        assert_eq!(state["taskId"], created(4)["id"], "round {round}: {state}");
        for key in ["token", "apiKey", "nvctApiKey"] {
            assert!(state[key].is_string(), "round {round}: {key} lost: {state}");
        }
    }
    stop.store(true, Ordering::Relaxed);
    assert!(
        watcher.join().expect("watcher") > 0,
        "the state file was read while written"
    );
    assert_eq!(temp_files(&profile_dir(&env)), Vec::<String>::new());
}

#[test]
fn a_state_writer_killed_a_hundred_times_never_tears_the_file() {
    let mut ledger = nvcf_e2e::faults::Entry::new("SIGKILL of a profile state writer");
    ledger.injected(100);
    let env = SimEnv::start().logged_in();
    let dir = profile_dir(&env);
    let before = env.state();
    let stop = Arc::new(AtomicBool::new(false));
    let watcher = watch_state(dir.join("state.json"), stop.clone());
    let completed = AtomicUsize::new(0);
    // A spread of kill points, from before the request to after the write.
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    for _ in 0..100 {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        // `refresh` mints an admin token and saves it: a state write on every run.
        let mut child = spawn(&env, &["refresh"]);
        std::thread::sleep(Duration::from_micros(seed % 60_000));
        let _ = child.kill();
        let status = child.wait().expect("wait");
        if status.success() {
            completed.fetch_add(1, Ordering::Relaxed);
        }
        let text = std::fs::read_to_string(dir.join("state.json")).expect("state.json exists");
        let state: Value = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("state.json torn by a kill ({e}): {text:?}"));
        assert!(
            state["token"].is_string(),
            "an admin token survives every kill: {state}"
        );
        assert_eq!(
            state["apiKey"], before["apiKey"],
            "fields refresh does not own are kept"
        );
    }
    stop.store(true, Ordering::Relaxed);
    watcher.join().expect("watcher");
    // The next writer clears what killed writers left, under the same lock.
    env.ok(&["refresh"]);
    assert_eq!(temp_files(&dir), Vec::<String>::new());
    env.ok(&["function", "list"]);
    eprintln!(
        "{} of 100 killed writers had finished before the kill",
        completed.load(Ordering::Relaxed)
    );
}
