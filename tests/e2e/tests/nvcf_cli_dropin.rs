//! `nvcf-cli`: upstream's documented command lines, unchanged, against nvcf-sim with no
//! kubeconfig, reading and writing upstream's `~/.nvcf-cli.state`.

mod nvcf_support;

use nvcf_e2e::{Run, bin};
use nvcf_support::{ECHO, JOB, ONE_GPU, SimEnv, args};
use serde_json::Value;

fn nvcf_cli(env: &SimEnv, args: &[&str]) -> Run {
    let mut cmd = env.home.command(bin("nvcf-cli"));
    for (k, v) in env.sim.env() {
        cmd.env(k, v);
    }
    Run::of(cmd.env("CI", "true").args(args))
}

#[track_caller]
fn ok(env: &SimEnv, args: &[&str]) -> Run {
    let run = nvcf_cli(env, args);
    assert_eq!(run.code, Some(0), "nvcf-cli {args:?}: {run:#?}");
    run
}

fn json(env: &SimEnv, args: &[&str]) -> Value {
    let mut all = vec!["--json"];
    all.extend(args);
    let run = ok(env, &all);
    serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{args:?} ({e}): {run:#?}"))
}

/// Upstream's own state file, as tools reading it see it.
fn upstream_state(env: &SimEnv) -> Value {
    let text = std::fs::read_to_string(env.home.path().join(".nvcf-cli.state"))
        .expect("nvcf-cli writes ~/.nvcf-cli.state");
    serde_json::from_str(&text).expect("the state file is JSON")
}

#[test]
fn the_documented_function_lifecycle_runs_unchanged() {
    let env = SimEnv::start();
    ok(&env, &["init"]);
    let state = upstream_state(&env);
    assert!(state["token"].is_string(), "{state}");
    assert!(
        state["lastModified"].is_string(),
        "upstream stamps every write: {state}"
    );
    assert!(
        !env.home.path().join(".config/nvcf/profiles").exists(),
        "no profile of ours is made"
    );

    // Upstream's root `status`: the profile's endpoints and credentials, masked unless
    // --show-tokens asks for them.
    let token = upstream_state(&env)["token"].as_str().unwrap().to_owned();
    let masked = ok(&env, &["status"]);
    assert!(!masked.all().contains(&token), "{masked:#?}");
    let shown = ok(&env, &["status", "--show-tokens"]);
    assert!(shown.stdout.contains(&token), "{shown:#?}");

    ok(&env, &["api-key", "generate", "--for", "function"]);
    assert!(
        upstream_state(&env)["apiKey"]
            .as_str()
            .unwrap()
            .starts_with("nvapi-")
    );
    ok(
        &env,
        &args(&["function", "create", "--name", "echo"], &ECHO),
    );
    let fid = upstream_state(&env)["functionId"]
        .as_str()
        .expect("functionId saved")
        .to_owned();
    let placement = ["--max-request-concurrency", "4", "--preferred-order", "1"];
    ok(
        &env,
        &args(
            &args(&["function", "deploy", "create"], &ONE_GPU),
            &placement,
        ),
    );
    let listed = json(&env, &["function", "list"]);
    assert!(listed.to_string().contains(&fid), "{listed}");
    let answer = json(
        &env,
        &[
            "function",
            "invoke",
            "--request-body",
            r#"{"message":"hi"}"#,
        ],
    );
    assert_eq!(answer["response"]["message"], "hi", "{answer}");
    // Upstream's gRPC line: a Struct to grpc-proxy, with the function key from the state.
    let reply = json(
        &env,
        &[
            "function",
            "invoke",
            "--grpc",
            "--grpc-plaintext",
            "--grpc-service",
            "grpc.examples.echo.Echo",
            "--grpc-method",
            "UnaryEcho",
            "--request-body",
            r#"{"message":"over grpc","n":2}"#,
        ],
    );
    assert_eq!(reply["message"], "over grpc", "{reply}");
    let grpc: Vec<Value> = env
        .sim
        .requests()
        .into_iter()
        .filter(|r| r["service"] == "grpc")
        .collect();
    assert_eq!(grpc.len(), 1, "{grpc:#?}");
    assert_eq!(grpc[0]["path"], "/grpc.examples.echo.Echo/UnaryEcho");
    assert!(
        grpc[0]["authorization"]
            .as_str()
            .is_some_and(|a| a.starts_with("Bearer nvapi-")),
        "the function key, never the admin token: {grpc:#?}"
    );

    // Upstream deletes without a prompt, also when no terminal is attached.
    ok(&env, &["function", "delete", "--deployment-only"]);
    ok(&env, &["function", "delete"]);
    assert!(
        upstream_state(&env).get("functionId").is_none(),
        "cleared after delete"
    );

    // Upstream's exit codes: any failure that is not a check is 1.
    let missing = nvcf_cli(&env, &["function", "get", "--function-id", &fid]);
    assert_eq!(missing.code, Some(1), "{missing:#?}");
}

#[test]
fn tasks_page_cancel_and_delete_as_upstream_does() {
    let env = SimEnv::start();
    ok(&env, &["init"]);
    ok(&env, &["api-key", "generate", "--for", "task"]);
    for name in ["job-a", "job-b"] {
        ok(&env, &args(&["task", "create", "--name", name], &JOB));
    }
    assert_eq!(upstream_state(&env)["taskName"], "job-b");
    let page = json(&env, &["task", "list", "--limit", "1"]);
    assert_eq!(page["tasks"].as_array().map(Vec::len), Some(1), "{page}");
    assert!(
        page["cursor"].is_string(),
        "one page and where the next starts: {page}"
    );
    ok(&env, &["task", "cancel"]);
    ok(&env, &["task", "delete"]);
    assert!(upstream_state(&env).get("taskId").is_none());
}

#[test]
fn upstream_flags_we_cannot_honour_are_refused_with_the_way_instead() {
    let env = SimEnv::start();
    // The root help is upstream's tree, not ours.
    let help = ok(&env, &["--help"]);
    for line in [
        "self-hosted",
        "cluster-dump",
        "compute-plane install --values FILE",
        "list-ids",
    ] {
        assert!(help.stdout.contains(line), "{line}: {help:#?}");
    }
    assert!(!help.stdout.contains("add-compute-plane"), "{help:#?}");
    // Hints name the command as the user runs it.
    let before_init = nvcf_cli(&env, &["function", "list"]);
    assert_eq!(before_init.code, Some(1), "{before_init:#?}");
    assert!(
        before_init.stderr.contains("`nvcf-cli init`"),
        "{before_init:#?}"
    );
    assert!(
        !before_init.stderr.contains("kubectl nvcf"),
        "{before_init:#?}"
    );
    let run = nvcf_cli(
        &env,
        &[
            "cluster",
            "register",
            "--name",
            "gpu-a",
            "--nca-id",
            "acme",
            "--non-interactive",
        ],
    );
    assert_eq!(
        run.code,
        Some(1),
        "upstream's code for a bad flag: {run:#?}"
    );
    assert!(
        run.stderr.contains("--non-interactive") && run.stderr.contains("never prompts"),
        "{run:#?}"
    );
    // An upstream config file is read as upstream wrote it, and never rewritten.
    let config = env.home.path().join(".nvcf-cli.yaml");
    std::fs::write(&config, "client_id: acme-from-upstream\n").unwrap();
    ok(&env, &["init"]);
    assert_eq!(
        upstream_state(&env)["token"].as_str().map(str::is_empty),
        Some(false)
    );
    assert_eq!(
        std::fs::read_to_string(&config).unwrap(),
        "client_id: acme-from-upstream\n"
    );
}
