//! No admin token or API key appears in any output, except the stdout of the two commands
//! whose job is to print one (`api-key generate`, `api-key show`).

mod nvcf_support;

use nvcf_e2e::Run;
use nvcf_sim::FaultRule;
use nvcf_support::{SimEnv, fault};

#[test]
fn no_secret_leaks_on_any_output_path() {
    let env = SimEnv::start();
    let mut runs: Vec<(String, Run)> = Vec::new();
    let mut record = |env: &SimEnv, args: &[&str]| {
        let run = env.nvcf(args);
        runs.push((args.join(" "), run));
    };
    record(&env, &["init"]);
    let generated = env.nvcf(&["api-key", "generate", "-o", "json"]);
    assert_eq!(generated.code, Some(0), "{generated:#?}");
    let shown = env.nvcf(&["api-key", "show"]);
    let state = env.state();
    let secrets: Vec<String> = ["token", "apiKey", "nvctApiKey"]
        .iter()
        .map(|k| state[k].as_str().expect("saved secret").to_owned())
        .collect();
    // The two commands that print keys print them on stdout only.
    for s in &secrets[1..] {
        assert!(generated.stdout.contains(s.as_str()));
        assert!(shown.stdout.contains(s.as_str()));
        assert!(!generated.stderr.contains(s.as_str()) && !shown.stderr.contains(s.as_str()));
    }

    for args in [
        &["status"][..],
        &["status", "-o", "json"],
        &["status", "-o", "yaml"],
        &["--debug", "function", "list"],
        &["--debug", "--log-json", "task", "list"],
        &["api-key", "list", "-o", "json"],
        &["profile", "show", "-o", "json"],
        &["refresh", "-o", "json"],
        &[
            "--debug",
            "function",
            "create",
            "--name",
            "s",
            "--image",
            "nvcr.io/a/s:1",
            "--inference-url",
            "/echo",
            "--secret",
            "DB=hunter2-database-pass",
        ],
        &["function", "get", "--include-secrets", "-o", "json"],
    ] {
        record(&env, args);
    }
    // Error paths: an auth failure and a server error, with and without --json.
    env.fault(FaultRule {
        token_expired: true,
        ..fault("nvcf")
    });
    record(&env, &["--debug", "function", "list"]);
    record(&env, &["--json", "function", "list"]);
    env.sim.clear_faults();
    env.fault(FaultRule {
        status: Some(500),
        ..fault("tasks")
    });
    record(&env, &["--json", "--debug", "task", "list"]);
    record(&env, &["function", "list", "--token", &secrets[0]]);

    let state = env.state();
    let mut all_secrets = secrets.clone();
    all_secrets.push(state["token"].as_str().unwrap().to_owned());
    all_secrets.push("hunter2-database-pass".into());
    for (args, run) in &runs {
        for s in &all_secrets {
            assert!(
                !run.all().contains(s.as_str()),
                "`kubectl nvcf {args}` printed a secret ({}...): {run:#?}",
                &s[..8]
            );
        }
    }
    // The scan saw real output, including the error paths.
    assert!(
        runs.iter()
            .any(|(a, r)| a.contains("--debug function list") && r.code == Some(3))
    );
    assert!(runs.iter().any(|(_, r)| r.stderr.contains("500")));
}
