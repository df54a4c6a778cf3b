//! gRPC invocation through the simulated grpc-proxy, and every NVCF call over real TLS: a
//! private CA the client trusts only through `--ca-bundle`.

mod nvcf_support;

use nvcf_e2e::Run;
use nvcf_sim::SimConfig;
use nvcf_sim::config::TlsFiles;
use nvcf_support::SimEnv;
use serde_json::{Value, json};
use std::path::Path;
use std::process::Command;

fn grpc_function(env: &SimEnv, name: &str) -> (String, String) {
    nvcf_support::deployed(env, name, "nvcr.io/acme/grpc-echo:1", "/grpc")
}

fn grpc_calls(env: &SimEnv) -> Vec<Value> {
    env.sim
        .requests()
        .into_iter()
        .filter(|r| r["service"] == "grpc")
        .collect()
}

#[test]
fn grpc_functions_echo_a_struct_with_the_function_key() {
    let env = SimEnv::start().logged_in();
    let (fid, vid) = grpc_function(&env, "grpc-echo");
    let body = json!({"message": "hello", "n": 3, "nested": {"ok": true, "list": [1, "two"]}});
    let body_text = body.to_string();

    // inferenceUrl /grpc picks gRPC without --grpc; NVCF_GRPC_URL=http://… means plaintext.
    let reply = env.json(&["function", "invoke", &fid, "--request-body", &body_text]);
    assert_eq!(reply, body);

    let explicit = env.json(&[
        "function",
        "invoke",
        &fid,
        &vid,
        "--grpc",
        "--grpc-service",
        "grpc.examples.echo.Echo",
        "--grpc-method",
        "UnaryEcho",
        "--request-body",
        &body_text,
    ]);
    assert_eq!(explicit, body);
    let calls = grpc_calls(&env);
    assert_eq!(calls.len(), 2, "{calls:#?}");
    assert_eq!(calls[0]["path"], "/nvidia.nvcf.v1.InferenceService/Predict");
    assert_eq!(calls[1]["path"], "/grpc.examples.echo.Echo/UnaryEcho");
    // The function key travels, never the admin token, and the log masks it.
    let auth = calls[0]["authorization"].as_str().unwrap();
    assert!(auth.starts_with("Bearer nvapi-"), "{auth}");
    assert!(
        !auth.contains(env.state()["apiKey"].as_str().unwrap()),
        "{auth}"
    );

    let plain = env.ok(&["function", "invoke", &fid, "--request-body", &body_text]);
    assert!(
        plain.stdout.contains("\"message\": \"hello\""),
        "{plain:#?}"
    );
}

#[test]
fn grpc_errors_map_to_the_taxonomy() {
    let env = SimEnv::start();
    env.ok(&["init"]);
    let (fid, _) = grpc_function(&env, "grpc-echo");
    let body = r#"{"message":"hi"}"#;

    // No function key yet: refused before dialling, as upstream does.
    let run = env.nvcf(&["function", "invoke", &fid, "--request-body", body]);
    assert_ne!(run.code, Some(0));
    assert!(
        run.stderr
            .contains("API key required for function invocation"),
        "{run:#?}"
    );
    assert!(grpc_calls(&env).is_empty());

    // A key the proxy rejects: UNAUTHENTICATED, shown as an auth failure with the fix.
    let key = format!("nvapi-{}", "e2e0rejected".repeat(6));
    let run = Run::of(env.cmd().env("NVCF_API_KEY", &key).args([
        "function",
        "invoke",
        &fid,
        "--grpc",
        "--request-body",
        body,
    ]));
    assert_ne!(run.code, Some(0), "{run:#?}");
    assert!(run.stderr.contains("Unauthenticated"), "{run:#?}");
    assert!(run.stderr.contains("api-key generate"), "{run:#?}");
    assert!(!run.all().contains(&key), "the key leaked: {run:#?}");

    // An unknown function: NOT_FOUND with the exit code of a missing object.
    env.ok(&["api-key", "generate", "--for", "function"]);
    let unknown = "0d3f5b3a-0000-4000-8000-000000000000";
    let run = env.nvcf(&[
        "function",
        "invoke",
        unknown,
        unknown,
        "--grpc",
        "--request-body",
        body,
    ]);
    assert!(run.stderr.contains("NotFound"), "{run:#?}");
    let nothing = env.nvcf(&["function", "get", unknown]);
    assert_eq!(run.code, nothing.code, "{run:#?}\n{nothing:#?}");

    // Nothing listening: a network error naming grpc_url.
    let run = Run::of(env.cmd().env("NVCF_GRPC_URL", "http://127.0.0.1:9").args([
        "function",
        "invoke",
        &fid,
        "--request-body",
        body,
    ]));
    assert_ne!(run.code, Some(0));
    assert!(run.stderr.contains("grpc_url"), "{run:#?}");
}

/// A CA and a server certificate for 127.0.0.1 and *.nvcf.local, made with openssl.
fn private_pki(dir: &Path) -> TlsFiles {
    let sh = |script: &str| {
        let out = Command::new("sh")
            .arg("-ec")
            .arg(script)
            .current_dir(dir)
            .output()
            .expect("openssl");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    sh("openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=nvcf-e2e-ca \
          -keyout ca.key -out ca.pem 2>/dev/null
        openssl req -newkey rsa:2048 -nodes -subj /CN=nvcf-sim \
          -keyout server.key -out server.csr 2>/dev/null
        printf 'subjectAltName=IP:127.0.0.1,DNS:*.nvcf.local,DNS:nvcf.local\\nbasicConstraints=CA:FALSE\\nextendedKeyUsage=serverAuth\\n' > ext
        openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial \
          -days 2 -extfile ext -out server.pem 2>/dev/null");
    TlsFiles {
        cert: dir.join("server.pem"),
        key: dir.join("server.key"),
    }
}

#[test]
fn tls_with_a_private_ca_works_only_when_the_ca_is_trusted() {
    let pki = tempfile::tempdir().unwrap();
    let files = private_pki(pki.path());
    let ca = pki.path().join("ca.pem");
    let ca = ca.to_str().unwrap();
    let env = SimEnv::with(SimConfig {
        deploy_duration: std::time::Duration::from_millis(300),
        tls: Some(files),
        ..SimConfig::default()
    });
    assert!(env.sim.url().starts_with("https://"));

    // Untrusted: the very first call fails on the certificate, with the fix.
    let run = env.nvcf(&["init"]);
    assert_ne!(run.code, Some(0), "{run:#?}");
    assert!(run.stderr.contains("--ca-bundle"), "{run:#?}");
    assert!(env.sim.requests().is_empty(), "a request got through");

    // Trusted through NVCF_CA_BUNDLE (and the --ca-bundle flag): the whole workflow over
    // HTTPS, then gRPC over TLS.
    let env = env.with_env("NVCF_CA_BUNDLE", ca);
    env.ok(&["init"]);
    env.ok(&["api-key", "generate"]);
    let (fid, _) = grpc_function(&env, "grpc-echo");
    let listed = Run::of(env.cmd().env_remove("NVCF_CA_BUNDLE").args([
        "--ca-bundle",
        ca,
        "function",
        "list",
        "-o",
        "json",
    ]));
    assert!(listed.stdout.contains(&fid), "{listed:#?}");
    let reply = env.json(&[
        "function",
        "invoke",
        &fid,
        "--request-body",
        r#"{"over":"tls"}"#,
    ]);
    assert_eq!(reply, json!({"over": "tls"}));
    assert_eq!(grpc_calls(&env).len(), 1);

    // gRPC without the CA fails on the certificate too, and says how to fix it.
    let run = Run::of(env.cmd().env_remove("NVCF_CA_BUNDLE").args([
        "function",
        "invoke",
        &fid,
        "--request-body",
        "{}",
    ]));
    assert_ne!(run.code, Some(0), "{run:#?}");
    assert!(run.stderr.contains("--ca-bundle"), "{run:#?}");
}
