//! Retry classes under nvcf-sim's fault injection: 5xx and resets back off a bounded number
//! of times, 429 honours Retry-After, other 4xx and non-idempotent calls are not retried,
//! and every outcome has its documented exit code.

mod nvcf_support;

use nvcf_sim::FaultRule;
use nvcf_support::{SimEnv, fault};
use std::time::{Duration, Instant};

fn list_calls(env: &SimEnv) -> usize {
    env.requests("nvcf", "GET", "/v2/nvcf/functions").len()
}

#[test]
fn a_persistent_500_is_retried_a_bounded_number_of_times() {
    let env = SimEnv::start().logged_in();
    env.fault(FaultRule {
        status: Some(500),
        ..fault("nvcf")
    });
    let run = env.nvcf(&["function", "list"]);
    assert_eq!(run.code, Some(7), "{run:#?}");
    assert_eq!(list_calls(&env), 4, "one attempt and three retries");
    env.retried(3);
    assert!(run.stderr.contains("500"), "{run:#?}");
    env.assert_no_secret_leaked();
}

#[test]
fn a_transient_503_recovers() {
    let env = SimEnv::start().logged_in();
    env.fault(FaultRule {
        status: Some(503),
        times: Some(2),
        ..fault("nvcf")
    });
    env.ok(&["function", "list"]);
    assert_eq!(list_calls(&env), 3);
    env.retried(2);
    env.assert_no_secret_leaked();
}

#[test]
fn a_create_is_not_resent_after_a_500() {
    let env = SimEnv::start().logged_in();
    env.fault(FaultRule {
        status: Some(500),
        method: Some("POST".into()),
        times: Some(1),
        ..fault("nvcf")
    });
    let run = env.nvcf(&[
        "function",
        "create",
        "--name",
        "once",
        "--image",
        "nvcr.io/acme/echo:1",
        "--inference-url",
        "/echo",
    ]);
    assert_eq!(run.code, Some(7), "{run:#?}");
    assert_eq!(env.requests("nvcf", "POST", "/v2/nvcf/functions").len(), 1);
    env.retried(0);
    env.assert_no_secret_leaked();
}

#[test]
fn a_429_waits_for_retry_after() {
    let env = SimEnv::start().logged_in();
    env.fault(FaultRule {
        retry_after: Some(1),
        times: Some(1),
        ..fault("nvcf")
    });
    let started = Instant::now();
    env.ok(&["function", "list"]);
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "waited Retry-After"
    );
    assert_eq!(list_calls(&env), 2);
    env.retried(1);
    env.assert_no_secret_leaked();
}

#[test]
fn a_long_retry_after_is_reported_not_waited() {
    let env = SimEnv::start().logged_in();
    env.fault(FaultRule {
        retry_after: Some(600),
        ..fault("nvcf")
    });
    let started = Instant::now();
    let run = env.nvcf(&["--json", "function", "list"]);
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(run.code, Some(7), "{run:#?}");
    assert_eq!(list_calls(&env), 1);
    env.retried(0);
    let err: serde_json::Value = run
        .stderr
        .lines()
        .find_map(|l| serde_json::from_str(l).ok())
        .expect("a JSON error event");
    assert_eq!(err["errCategory"], "rate_limited");
    assert_eq!(err["retryClass"], "backoff");
    assert_eq!(err["retryAfterSec"], 600);
    env.assert_no_secret_leaked();
}

#[test]
fn a_connection_reset_is_retried() {
    let env = SimEnv::start().logged_in();
    env.fault(FaultRule {
        reset: true,
        times: Some(1),
        ..fault("nvcf")
    });
    env.ok(&["function", "list"]);
    assert_eq!(list_calls(&env), 2);
    env.retried(1);
    env.assert_no_secret_leaked();
}

#[test]
fn a_slow_server_times_out_with_bounded_retries() {
    let env = SimEnv::start().logged_in();
    env.fault(FaultRule {
        latency_ms: Some(3000),
        ..fault("nvcf")
    });
    let started = Instant::now();
    let run = env.nvcf(&["--http-timeout", "1", "function", "list"]);
    assert_eq!(run.code, Some(7), "{run:#?}");
    assert!(run.stderr.contains("timed out"), "{run:#?}");
    assert!(run.stderr.contains("--http-timeout"), "{run:#?}");
    assert!(started.elapsed() < Duration::from_secs(20));
    env.assert_no_secret_leaked();
}

#[test]
fn other_4xx_are_final_at_once() {
    let env = SimEnv::start().logged_in();
    env.fault(FaultRule {
        status: Some(409),
        ..fault("nvcf")
    });
    let run = env.nvcf(&["function", "list"]);
    assert_eq!(run.code, Some(6), "{run:#?}");
    assert_eq!(list_calls(&env), 1);
    env.retried(0);
    env.assert_no_secret_leaked();
}

#[test]
fn invocation_faults_keep_their_class() {
    let env = SimEnv::start().logged_in();
    nvcf_support::deployed_echo(&env, "echo-faults");
    env.fault(FaultRule {
        status: Some(503),
        times: Some(1),
        ..fault("invocation")
    });
    let inv = env.json(&["function", "invoke", "--request-body", r#"{"a":1}"#]);
    assert_eq!(inv["response"]["a"], 1);
    env.fault(FaultRule {
        status: Some(500),
        ..fault("invocation")
    });
    let run = env.nvcf(&["function", "invoke", "--request-body", r#"{"a":1}"#]);
    assert_eq!(run.code, Some(7), "{run:#?}");
    assert_eq!(
        env.requests("invocation", "POST", "/echo").len(),
        3,
        "503 retried once, 500 not"
    );
    env.retried(1);
    env.assert_no_secret_leaked();
}

/// An LLM function deployed on the simulator, answering streams.
fn llm_function(env: &SimEnv) {
    env.json(&[
        "function",
        "create",
        "--name",
        "streamer",
        "--container-image",
        "nvcr.io/acme/llm:1",
        "--inference-url",
        "/v1/chat/completions",
        "--llm-model",
        "name=echo-model,uris=/v1/chat/completions|/v1/responses",
    ]);
    env.ok(&[
        "function",
        "deploy",
        "create",
        "--gpu",
        "H100",
        "--instance-type",
        "NCP.GPU.H100_1x",
        "--poll-interval",
        "1",
    ]);
}

const LONG: &str =
    "one two three four five six seven eight nine ten eleven twelve thirteen fourteen";

#[test]
fn a_stream_reset_mid_event_shows_what_arrived_and_exits_retryable() {
    let env = SimEnv::start().logged_in();
    llm_function(&env);
    // Cut points inside the text deltas: Responses streams open with larger events.
    for (api, at) in [("chat", 900), ("responses", 2300)] {
        let args = [
            "function",
            "invoke",
            "--api",
            api,
            "--message",
            LONG,
            "--stream",
        ];
        let whole = env.ok(&args);
        assert!(whole.stdout.split_whitespace().count() > 5, "{whole:#?}");
        for (rule, what) in [
            (
                FaultRule {
                    cut_body_after: Some(at),
                    ..fault("llm")
                },
                "reset",
            ),
            (
                FaultRule {
                    end_body_after: Some(at),
                    ..fault("llm")
                },
                "ended early",
            ),
        ] {
            env.fault(FaultRule {
                times: Some(1),
                ..rule
            });
            let cut = env.nvcf(&args);
            assert_eq!(
                cut.code,
                Some(7),
                "{api} {what}: retryable (unavailable): {cut:#?}"
            );
            assert!(
                !cut.stdout.trim().is_empty() && whole.stdout.starts_with(cut.stdout.trim_end()),
                "{api} {what}: the text that arrived is shown, and only that: {cut:#?}"
            );
            assert!(
                cut.stdout.len() < whole.stdout.len(),
                "{api} {what}: {cut:#?}"
            );
            assert!(
                cut.stderr.contains("LLM stream") && cut.stderr.contains("re-run"),
                "{api} {what}: {cut:#?}"
            );
        }
    }
    env.retried(0);
    assert_eq!(
        env.requests("llm", "POST", "/v1/")
            .iter()
            .filter(|r| r["bodyCutAfter"].is_number())
            .count(),
        4
    );
    env.assert_no_secret_leaked();
}

/// A unary gRPC call broken on the wire: the connection reset once the call has arrived, the
/// reply aborted mid-message, and the reply ended without its `grpc-status` trailers. Each is
/// a retryable failure that names grpc-proxy and what to do, and none is sent twice: the
/// function may already have run.
#[test]
fn a_grpc_call_broken_mid_call_is_retryable_and_not_resent() {
    let env = SimEnv::start().logged_in();
    let (fid, _) = nvcf_support::deployed(&env, "grpc-echo", "nvcr.io/acme/grpc-echo:1", "/grpc");
    let body = r#"{"message":"hi"}"#;
    let args = ["function", "invoke", fid.as_str(), "--request-body", body];
    assert_eq!(env.json(&args)["message"], "hi");
    let calls = |env: &SimEnv| env.requests("grpc", "POST", "/").len();
    for (rule, what) in [
        (
            FaultRule {
                reset: true,
                ..fault("grpc")
            },
            "reset",
        ),
        (
            FaultRule {
                cut_body_after: Some(3),
                ..fault("grpc")
            },
            "cut",
        ),
        (
            FaultRule {
                end_body_after: Some(3),
                ..fault("grpc")
            },
            "ended early",
        ),
    ] {
        env.fault(FaultRule {
            times: Some(1),
            ..rule
        });
        let before = calls(&env);
        let broken = env.nvcf(&args);
        assert_eq!(broken.code, Some(7), "{what}: retryable: {broken:#?}");
        assert!(broken.stdout.trim().is_empty(), "{what}: {broken:#?}");
        assert!(
            broken.stderr.contains("grpc-proxy") && broken.stderr.contains("re-run"),
            "{what}: names the hop and the fix: {broken:#?}"
        );
        assert_eq!(calls(&env), before + 1, "{what}: sent once, not resent");
        assert_eq!(
            env.json(&args)["message"],
            "hi",
            "{what}: the next call works"
        );
    }
    env.retried(0);
    env.assert_no_secret_leaked();
}
