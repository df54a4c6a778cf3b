//! The API server under load: API Priority and Fairness answering 429 to our user (a tiny
//! FlowSchema and priority level, as an overloaded cluster does), and answers slowed by a
//! loopback proxy. Both are `tests/testenv/fault.sh` faults that end by themselves. Each
//! run is also scanned for the credentials it carried, with `--debug --log-json` on, and so
//! is every file of a `dump` bundle written under each fault.

mod status_support;

use nvcf_e2e::faults::Entry;
use nvcf_e2e::{Home, Run};
use nvcf_testenv::{Env, Lasting};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;

const PLANTED_KEY: &str = "nvapi-PLANTEDKEYunderFAULTSdoNotLeak42";
const PLANTED_PASSWORD: &str = "planted-db-password-under-faults-77";

/// A Secret in a stack namespace, for `dump` to find and redact.
fn plant_secret(env: &Env) {
    status_support::apply(
        env,
        &format!(
            "apiVersion: v1\nkind: Namespace\nmetadata: {{name: nvcf}}\n---\n\
             apiVersion: v1\nkind: Secret\nmetadata: {{name: db, namespace: nvcf}}\n\
             stringData: {{password: {PLANTED_PASSWORD}}}\n"
        ),
    );
}

/// `dump` through `kubeconfig` into a new directory; the run and every file it wrote are
/// scanned for the credentials and the planted Secret, whether the dump finished or not.
fn dump_leaks_nothing(home: &Home, env: &Env, kubeconfig: &Path, name: &str) -> Run {
    let dir = home.path().join(name);
    let run = Run::of(
        status_support::nvcf(home, env)
            .env("KUBECONFIG", kubeconfig)
            .env("NVCF_API_KEY", PLANTED_KEY)
            .args(["--debug", "--log-json", "dump", "--log-tail", "20", "-o"])
            .arg(&dir),
    );
    assert_no_secret(&run, kubeconfig);
    let mut written = String::new();
    for file in walk(&dir) {
        written.push_str(&String::from_utf8_lossy(&std::fs::read(&file).unwrap()));
    }
    let bundle = Run {
        code: run.code,
        stdout: written,
        stderr: String::new(),
    };
    assert_no_secret(&bundle, kubeconfig);
    use base64::Engine;
    let encoded = base64::engine::general_purpose::STANDARD.encode(PLANTED_PASSWORD);
    for needle in [PLANTED_PASSWORD, encoded.as_str()] {
        assert!(
            !bundle.stdout.contains(needle),
            "the planted Secret leaked into {name}"
        );
    }
    run
}

/// Every regular file under `dir` (none when the dump wrote nothing).
fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

fn status(home: &Home, env: &Env, kubeconfig: &Path, extra: &[&str]) -> Run {
    Run::of(
        status_support::nvcf(home, env)
            .env("KUBECONFIG", kubeconfig)
            .env("NVCF_API_KEY", PLANTED_KEY)
            .args(["--debug", "--log-json", "status", "-o", "json"])
            .args(extra),
    )
}

/// The exit code and the last lines of stderr: the debug log before them is long.
fn summary(run: &Run) -> String {
    let lines: Vec<&str> = run.stderr.lines().collect();
    let tail = lines[lines.len().saturating_sub(3)..].join("\n");
    format!("exit {:?}; stderr ends:\n{tail}", run.code)
}

/// What a status report says about the cluster, without the time it was taken.
fn cluster_view(run: &Run) -> Value {
    let report: Value = serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("stdout is one JSON report ({e}): {}", summary(run)));
    serde_json::json!({"verdict": report["verdict"], "releases": report["releases"]})
}

/// The user's credential (a token, or a client key) is in no byte we printed.
fn assert_no_secret(run: &Run, kubeconfig: &Path) {
    let text = std::fs::read_to_string(kubeconfig).unwrap();
    let secrets: Vec<&str> = text
        .lines()
        .filter_map(|l| {
            let l = l.trim();
            l.strip_prefix("token: ")
                .or_else(|| l.strip_prefix("client-key-data: "))
        })
        .collect();
    assert!(!secrets.is_empty(), "no credential found in {text}");
    let all = run.all();
    for s in secrets.iter().chain([&PLANTED_KEY]) {
        // Any long piece of it would do; the middle is what a truncation would keep.
        let piece = &s[s.len() / 3..s.len() / 3 + 24];
        assert!(!all.contains(piece), "a credential leaked: {all}");
    }
}

/// 429s our binary got, per request (method and path), from the audit log since `mark`.
fn rejected(env: &Env, mark: nvcf_testenv::Mark) -> BTreeMap<String, u64> {
    let mut per_request = BTreeMap::new();
    for e in env.audit().requests_since(mark).unwrap() {
        let code = e.response_status.as_ref().and_then(|s| s.code);
        if e.stage == "ResponseComplete"
            && code == Some(429)
            && e.user_agent.starts_with("kubectl-nvcf")
        {
            *per_request
                .entry(format!("{} {}", e.verb, e.request_uri))
                .or_default() += 1;
        }
    }
    per_request
}

#[test]
fn throttled_by_priority_and_fairness_retries_a_bounded_number_of_times_then_converges() {
    let env = Env::start_named("fault-apf").unwrap();
    let home = Home::new();
    plant_secret(&env);
    let baseline = status(&home, &env, env.kubeconfig(), &[]);
    baseline.expect_success();
    let mut ledger = Entry::new(
        "API Priority and Fairness answering 429 (FlowSchema to a priority level with no seats) under status",
    );

    let throttle = env.lasting_fault(Lasting::ApfThrottle, 120).unwrap();
    let kubeconfig = throttle.kubeconfig().to_owned();
    ledger.injected(1);
    let mark = env.audit().mark().unwrap();
    let under = status(&home, &env, &kubeconfig, &[]);
    let refused = rejected(&env, mark);
    assert!(
        !refused.is_empty(),
        "the fault never bit: {}",
        summary(&under)
    );
    // kube's retry is bounded: 6 retries, so at most 7 answers per request.
    for (request, times) in &refused {
        assert!(*times <= 7, "{request} was sent {times} times");
    }
    ledger.retries(refused.values().sum());
    assert_no_secret(&under, &kubeconfig);
    match under.code {
        // Some requests get through between the ones holding the seat: a whole report.
        Some(0) => assert_eq!(cluster_view(&under), cluster_view(&baseline)),
        // Given up: documented as unavailable, said plainly, retryable.
        Some(7) => {
            assert!(
                under.stderr.contains("API Priority and Fairness"),
                "names the cause: {}",
                summary(&under)
            );
        }
        other => panic!("exit {other:?} under throttling: {}", summary(&under)),
    }
    // A dump that is throttled part-way still redacts: the error paths leak nothing either.
    let dumped = dump_leaks_nothing(&home, &env, &kubeconfig, "throttled-dump");
    assert!(
        matches!(dumped.code, Some(0) | Some(7)),
        "a throttled dump finishes or gives up retryably: {}",
        summary(&dumped)
    );

    drop(throttle);
    let after = status(&home, &env, &kubeconfig, &[]);
    after.expect_success();
    assert_eq!(cluster_view(&after), cluster_view(&baseline));
    assert_no_secret(&after, &kubeconfig);
}

#[test]
fn a_slow_api_server_is_waited_for_and_a_request_timeout_says_so() {
    let env = Env::start_named("fault-slow").unwrap();
    let home = Home::new();
    plant_secret(&env);
    let baseline = status(&home, &env, env.kubeconfig(), &[]);
    baseline.expect_success();
    let mut ledger = Entry::new("every API server answer held back 300 ms by a loopback proxy");

    let slow = env
        .lasting_fault(Lasting::SlowProxy { delay_ms: 300 }, 120)
        .unwrap();
    let kubeconfig = slow.kubeconfig().to_owned();
    ledger.injected(1);
    let waited = status(&home, &env, &kubeconfig, &[]);
    waited.expect_success();
    assert_eq!(cluster_view(&waited), cluster_view(&baseline));
    assert_no_secret(&waited, &kubeconfig);

    // Slower than the user allows: unavailable (7), saying which limit ran out.
    let impatient = status(&home, &env, &kubeconfig, &["--request-timeout", "100ms"]);
    assert_eq!(impatient.code, Some(7), "{}", summary(&impatient));
    let said = impatient.stderr.lines().last().unwrap_or_default();
    assert!(
        said.contains("did not answer within the request timeout")
            && said.contains("raise --request-timeout"),
        "{}",
        summary(&impatient)
    );
    assert_no_secret(&impatient, &kubeconfig);
    let dumped = dump_leaks_nothing(&home, &env, &kubeconfig, "slow-dump");
    dumped.expect_success();
    ledger.retries(0);
}
