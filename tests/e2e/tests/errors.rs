//! Failure behaviour of the real binaries: one-line errors with the fix, documented exit
//! codes, no panics, no secrets, clean cancellation, and pipes closed early.

use nvcf_e2e::{Home, Run, bin};
use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::process::Stdio;
use std::time::{Duration, Instant};

#[track_caller]
fn assert_one_line_error(run: &Run, code: i32, names: &[&str]) {
    assert_eq!(run.code, Some(code), "{run:#?}");
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "exactly one line on stderr: {run:#?}");
    let line = lines[0];
    assert!(line.starts_with("error: "), "{line}");
    assert!(line.contains("(fix: "), "names the fix: {line}");
    for name in names {
        assert!(line.contains(name), "names {name:?}: {line}");
    }
    for bad in ["panicked", "backtrace", "RUST_BACKTRACE", "Usage:"] {
        assert!(!run.all().contains(bad), "{bad} in output: {run:#?}");
    }
    assert!(run.stdout.is_empty(), "nothing on stdout: {run:#?}");
}

#[test]
fn bad_input_gets_a_one_line_error_and_a_documented_exit_code() {
    let home = Home::new();
    let kubeconfig = home.kubeconfig(&["only"]);
    let unreadable = home.path().join("config-dir.yaml");
    std::fs::create_dir(&unreadable).unwrap();
    let malformed = home.path().join("malformed.yaml");
    std::fs::write(&malformed, "settings: [not, a, map").unwrap();
    let cases: Vec<(Vec<String>, i32, Vec<&str>)> = vec![
        (
            vec!["version".into(), "--frobnicate".into()],
            64,
            vec!["--frobnicate", "kubectl nvcf version --help"],
        ),
        (
            vec!["version".into(), "-o".into(), "xml".into()],
            64,
            vec!["xml"],
        ),
        (vec!["no-such-command".into()], 64, vec!["no-such-command"]),
        (
            vec![
                "context".into(),
                "--kubeconfig".into(),
                "/nonexistent/kubeconfig".into(),
            ],
            66,
            vec!["/nonexistent/kubeconfig", "--kubeconfig"],
        ),
        (
            vec![
                "context".into(),
                "--kubeconfig".into(),
                kubeconfig.display().to_string(),
                "--context".into(),
                "ghost".into(),
            ],
            78,
            vec!["\"ghost\"", "only", "--context"],
        ),
        (
            vec![
                "--config".into(),
                unreadable.display().to_string(),
                "profile".into(),
                "show".into(),
            ],
            66,
            vec!["config-dir.yaml"],
        ),
        (
            vec![
                "--config".into(),
                malformed.display().to_string(),
                "profile".into(),
                "show".into(),
            ],
            78,
            vec!["malformed.yaml"],
        ),
        (
            vec![
                "--profile".into(),
                "p".into(),
                "profile".into(),
                "set".into(),
                "base_url".into(),
                "x".into(),
            ],
            64,
            vec!["base_url", "profile keys"],
        ),
        (
            vec![
                "context".into(),
                "--kubeconfig".into(),
                kubeconfig.display().to_string(),
                "--request-timeout".into(),
                "soon".into(),
            ],
            64,
            vec!["--request-timeout", "30s"],
        ),
        (
            vec!["--json".into(), "--plain".into(), "version".into()],
            64,
            vec!["--json", "--plain"],
        ),
    ];
    for (args, code, names) in cases {
        let run = Run::of(home.command(bin("kubectl-nvcf")).args(&args));
        assert_one_line_error(&run, code, &names);
    }
    // No kubeconfig anywhere at all: a command that needs the cluster says so (`context`
    // then shows the default profile API commands use).
    let run = Run::of(home.command(bin("kubectl-nvca")).arg("status"));
    assert_one_line_error(&run, 78, &["no kubeconfig found", "KUBECONFIG"]);
}

const PLANTED_JWT: &str = "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJzY29wZXMiOlsiYWRtaW4iXSwic3ViIjoicGxhbnRlZCJ9.UExBTlRFRC1TSUdOQVRVUkUtZG8tbm90LWxlYWs";
const PLANTED_KEY: &str = "nvapi-PLANTEDKEYdoNotLeak0123456789";

#[test]
fn planted_secrets_appear_in_no_output_of_failing_commands() {
    let home = Home::new();
    let kubeconfig = home.kubeconfig(&["only"]);
    let broken_kubeconfig = home.path().join("broken-kubeconfig");
    std::fs::write(
        &broken_kubeconfig,
        format!(
            "apiVersion: v1\nusers:\n- name: u\n  user: {{token: {PLANTED_JWT}}}\ncontexts: [\n"
        ),
    )
    .unwrap();
    let state_dir = home.path().join(".config/nvcf/profiles/leaky");
    std::fs::create_dir_all(&state_dir).unwrap();
    std::fs::write(
        state_dir.join("state.json"),
        format!("{{\"token\": \"{PLANTED_JWT}\", oops}}"),
    )
    .unwrap();
    let kc = kubeconfig.display().to_string();
    let bad_kc = broken_kubeconfig.display().to_string();
    let failing: Vec<Vec<&str>> = vec![
        vec!["context", "--kubeconfig", &kc, "--context", PLANTED_JWT],
        vec!["context", "--kubeconfig", &kc, "--context", PLANTED_KEY],
        vec!["context", "--kubeconfig", &bad_kc],
        vec!["--profile", "leaky", "profile", "show"],
        vec!["--profile", "p", "profile", "set", PLANTED_KEY, PLANTED_JWT],
        vec!["version", PLANTED_JWT],
        vec![
            "--json",
            "context",
            "--kubeconfig",
            &kc,
            "--user",
            PLANTED_KEY,
        ],
    ];
    for args in failing {
        for extra in [&[][..], &["--debug"][..], &["--log-json", "--debug"][..]] {
            let run = Run::of(
                home.command(bin("kubectl-nvcf"))
                    .args(extra)
                    .args(&args)
                    .env("NVCF_TOKEN", PLANTED_JWT)
                    .env("NVCF_API_KEY", PLANTED_KEY),
            );
            assert_ne!(run.code, Some(0), "{args:?} should fail: {run:#?}");
            let all = run.all();
            assert!(
                !all.contains("UExBTlRFRC1TSUdOQVRVUkU"),
                "JWT leaked by {args:?} {extra:?}: {all}"
            );
            assert!(
                !all.contains("PLANTEDKEYdoNotLeak"),
                "API key leaked by {args:?} {extra:?}: {all}"
            );
        }
    }
    // Commands that exist to show settings mask them too.
    let run = Run::of(home.command(bin("kubectl-nvcf")).args([
        "--profile",
        "p",
        "profile",
        "set",
        "token",
        PLANTED_JWT,
    ]));
    run.expect_success();
    assert!(!run.all().contains("UExBTlRFRC1TSUdOQVRVUkU"), "{run:#?}");
    let run = Run::of(home.command(bin("kubectl-nvcf")).args([
        "--profile",
        "p",
        "profile",
        "show",
        "-o",
        "yaml",
    ]));
    run.expect_success();
    assert!(run.stdout.contains("eyJhbGci..."), "{run:#?}");
    assert!(!run.all().contains("UExBTlRFRC1TSUdOQVRVUkU"), "{run:#?}");
}

#[test]
fn a_closed_stdout_pipe_is_success() {
    let home = Home::new();
    let mut child = home
        .command(bin("kubectl-nvcf"))
        .args(["completion", "bash"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0), "stderr: {stderr}");
    assert!(stderr.is_empty(), "{stderr}");
}

#[test]
fn ctrl_c_cancels_cleanly_with_exit_130_and_a_cancelled_event() {
    let home = Home::new();
    let fake_bin = home.path().join("bin");
    std::fs::create_dir(&fake_bin).unwrap();
    // A kubectl that hangs when asked its version keeps `version` busy long enough.
    let kubectl = fake_bin.join("kubectl");
    let asked = home.path().join("kubectl-was-asked");
    std::fs::write(
        &kubectl,
        format!("#!/bin/sh\n: > '{}'\nexec /bin/sleep 30\n", asked.display()),
    )
    .unwrap();
    std::fs::set_permissions(&kubectl, std::fs::Permissions::from_mode(0o755)).unwrap();
    let child = home
        .command(bin("kubectl-nvcf"))
        .args(["--json", "version"])
        .env("PATH", &fake_bin)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Interrupt once the command is inside its kubectl call, not after a guessed delay.
    let deadline = Instant::now() + Duration::from_secs(20);
    while !asked.exists() {
        assert!(Instant::now() < deadline, "version never ran kubectl");
        std::thread::sleep(Duration::from_millis(20));
    }
    let started = Instant::now();
    let kill = std::process::Command::new("/bin/kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let out = child.wait_with_output().unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "cancellation took {:?}",
        started.elapsed()
    );
    assert_eq!(out.status.code(), Some(130));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let last: serde_json::Value =
        serde_json::from_str(stderr.lines().last().unwrap()).expect("JSONL on stderr");
    assert_eq!(last["event"], "final");
    assert_eq!(last["cancelled"], true);
    assert_eq!(last["success"], false);
    assert!(
        stderr.starts_with("{\"event\":\"schemaVersion\",\"version\":1}\n"),
        "{stderr}"
    );
}
