//! `function` end to end against nvcf-sim: create (plan, input files, placeholders), deploy
//! with progress, HTTP and LLM invocation, update, queue, delete with confirmation.

mod nvcf_support;

use nvcf_support::{SimEnv, deployed_echo};

#[test]
fn create_deploy_invoke_delete() {
    let env = SimEnv::start().logged_in();
    let run = env.ok(&[
        "function",
        "create",
        "--name",
        "echo-a",
        "--image",
        "nvcr.io/acme/echo:1",
        "--inference-url",
        "/echo",
        "--inference-port",
        "8000",
        "--health-uri",
        "/health",
    ]);
    assert!(
        run.stderr.contains("Plan: create function \"echo-a\""),
        "{run:#?}"
    );
    assert!(run.stderr.contains("nvcr.io/acme/echo:1"), "{run:#?}");
    let state = env.state();
    let fid = state["functionId"].as_str().unwrap().to_owned();
    let vid = state["versionId"].as_str().unwrap().to_owned();

    let deploy = env.nvcf(&[
        "--json",
        "function",
        "deploy",
        "create",
        "--gpu",
        "A10G",
        "--instance-type",
        "NCP.GPU.A10G_1x",
        "--poll-interval",
        "1",
        "-o",
        "json",
    ]);
    assert_eq!(deploy.code, Some(0), "{deploy:#?}");
    assert!(deploy.stderr.contains("Plan: deploy function \"echo-a\""));
    assert!(deploy.stderr.contains("on A10G x NCP.GPU.A10G_1x"));
    let events: Vec<serde_json::Value> = deploy
        .stderr
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let names: Vec<&str> = events.iter().filter_map(|e| e["event"].as_str()).collect();
    assert!(names.contains(&"phase_started"), "{names:?}");
    assert!(names.contains(&"phase_completed"), "{names:?}");
    assert_eq!(events.last().unwrap()["event"], "final");
    assert_eq!(events.last().unwrap()["success"], true);
    let d: serde_json::Value = serde_json::from_str(&deploy.stdout).unwrap();
    assert_eq!(d["functionStatus"], "ACTIVE");

    let got = env.json(&["function", "get", &fid, &vid]);
    assert_eq!(got["status"], "ACTIVE");

    let inv = env.json(&[
        "function",
        "invoke",
        "--request-body",
        r#"{"message":"hello"}"#,
    ]);
    assert_eq!(inv["httpStatus"], 200);
    assert_eq!(inv["response"]["message"], "hello");
    assert!(inv["reqId"].as_str().is_some());
    // Invocation went to <fid>.invocation.<domain> with the function API key.
    let calls = env.requests("invocation", "POST", "/echo");
    assert_eq!(calls.len(), 1);
    assert_eq!(
        calls[0]["host"],
        format!("{fid}.invocation.{}", env.sim.domain())
    );
    assert!(
        calls[0]["authorization"]
            .as_str()
            .unwrap()
            .contains("nvapi-")
    );

    let refused = env.nvcf(&["function", "delete"]);
    assert_eq!(refused.code, Some(64), "{refused:#?}");
    assert!(refused.stderr.contains("--yes"));
    assert!(
        refused.stderr.contains("echo-a"),
        "names what it would delete: {refused:#?}"
    );
    assert!(env.requests("nvcf", "DELETE", "/").is_empty());
    env.ok(&["function", "delete", "-y"]);
    assert!(env.state().get("functionId").is_none());
    let gone = env.nvcf(&["function", "get", &fid, &vid]);
    assert_eq!(gone.code, Some(4), "{gone:#?}");
}

#[test]
fn every_format_renders_a_listing() {
    let env = SimEnv::start().logged_in();
    let (fid, _) = deployed_echo(&env, "echo-fmt");
    let table = env.ok(&["function", "list"]);
    assert!(table.stdout.starts_with("NAME"), "{table:#?}");
    assert!(table.stdout.contains("echo-fmt"));
    let wide = env.ok(&["function", "list", "-o", "wide"]);
    assert!(wide.stdout.contains("nvcr.io/acme/echo:1"), "{wide:#?}");
    let yaml = env.ok(&["function", "list", "-o", "yaml"]);
    assert!(yaml.stdout.contains("name: echo-fmt"), "{yaml:#?}");
    let names = env.ok(&["function", "list", "-o", "name"]);
    assert_eq!(names.stdout.trim(), format!("function/{fid}"));
    let versions = env.json(&["function", "versions"]);
    assert_eq!(versions["functions"].as_array().unwrap().len(), 1);
    let queue = env.json(&["function", "queue", "status"]);
    assert_eq!(queue["queues"][0]["queueDepth"], 0);
    let dep = env.json(&["function", "deploy", "get"]);
    assert_eq!(dep["functionStatus"], "ACTIVE");
}

#[test]
fn bad_input_files_name_the_field() {
    let env = SimEnv::start().logged_in();
    let file = env.home.path().join("f.json");
    std::fs::write(
        &file,
        r#"{"name":"x","inferenceUrl":"/x","containerImage":"nvcr.io/a/b:1","health":{"port":"eighty"}}"#,
    )
    .unwrap();
    let run = env.nvcf(&["function", "create", "--input-file", file.to_str().unwrap()]);
    assert_eq!(run.code, Some(65), "{run:#?}");
    assert!(run.stderr.contains("health.port"), "{run:#?}");

    std::fs::write(&file, r#"{"name": "x", "#).unwrap();
    let run = env.nvcf(&["function", "create", "-f", file.to_str().unwrap()]);
    assert_eq!(run.code, Some(65), "{run:#?}");
    assert!(run.stderr.contains("not JSON"), "{run:#?}");

    let run = env.nvcf(&["function", "create", "-f", "/nonexistent/f.json"]);
    assert_eq!(run.code, Some(66), "{run:#?}");
    assert!(
        env.requests("nvcf", "POST", "/").is_empty(),
        "nothing was sent"
    );
}

#[test]
fn placeholders_are_refused_before_sending() {
    let env = SimEnv::start().logged_in();
    let run = env.nvcf(&[
        "function",
        "create",
        "--name",
        "echo",
        "--image",
        "<YOUR_REGISTRY>/echo:1",
        "--inference-url",
        "/echo",
    ]);
    assert_eq!(run.code, Some(65), "{run:#?}");
    assert!(run.stderr.contains("containerImage"), "{run:#?}");
    assert!(run.stderr.contains("<YOUR_REGISTRY>"), "{run:#?}");
    assert!(env.requests("nvcf", "POST", "/").is_empty());
}

#[test]
fn server_validation_errors_are_shown_and_not_retried() {
    let env = SimEnv::start().logged_in();
    let f = env.json(&[
        "function",
        "create",
        "--name",
        "echo-gpu",
        "--image",
        "nvcr.io/acme/echo:1",
        "--inference-url",
        "/echo",
    ]);
    let run = env.nvcf(&[
        "function",
        "deploy",
        "create",
        "--gpu",
        "Z9000",
        "--instance-type",
        "NCP.GPU.Z9000",
    ]);
    assert_eq!(run.code, Some(65), "{run:#?}");
    assert!(
        run.stderr.contains("Invalid GPU"),
        "server message shown: {run:#?}"
    );
    let fid = f["id"].as_str().unwrap();
    assert_eq!(
        env.requests(
            "nvcf",
            "POST",
            &format!("/v2/nvcf/deployments/functions/{fid}")
        )
        .len(),
        1
    );
}

#[test]
fn unknown_function_id_is_not_found() {
    let env = SimEnv::start().logged_in();
    let run = env.nvcf(&[
        "function",
        "get",
        "--function-id",
        "0e3a3f46-7a43-4a2b-9f1e-2c8f0d0b9a11",
        "--version-id",
        "1e3a3f46-7a43-4a2b-9f1e-2c8f0d0b9a11",
    ]);
    assert_eq!(run.code, Some(4), "{run:#?}");
    assert!(run.stderr.contains("404"), "{run:#?}");
}

#[test]
fn deploy_waits_and_reports_an_error_status() {
    let env = SimEnv::with(nvcf_sim::SimConfig {
        deploy_duration: std::time::Duration::from_millis(200),
        deploy_outcome: nvcf_sim::DeployOutcome::Error,
        ..Default::default()
    })
    .logged_in();
    env.ok(&[
        "function",
        "create",
        "--name",
        "echo-err",
        "--image",
        "nvcr.io/acme/echo:1",
        "--inference-url",
        "/echo",
    ]);
    let run = env.nvcf(&[
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
    assert_eq!(run.code, Some(1), "{run:#?}");
    assert!(run.stderr.contains("failed with status ERROR"), "{run:#?}");
    assert!(run.stderr.contains("deploy remove"), "{run:#?}");
}

#[test]
fn deploy_update_and_remove() {
    let env = SimEnv::start().logged_in();
    deployed_echo(&env, "echo-scale");
    let upd = env.json(&[
        "function",
        "deploy",
        "update",
        "--gpu",
        "A10G",
        "--instance-type",
        "NCP.GPU.A10G_1x",
        "--max-instances",
        "3",
    ]);
    assert_eq!(upd["maxInstances"], 3);
    let refused = env.nvcf(&["function", "deploy", "remove"]);
    assert_eq!(refused.code, Some(64));
    let removed = env.json(&["function", "deploy", "remove", "-y"]);
    assert_eq!(removed["status"], "INACTIVE");
}

#[test]
fn llm_functions_invoke_chat_stream_and_embeddings() {
    let env = SimEnv::start().logged_in();
    let f = env.json(&[
        "function",
        "create",
        "--name",
        "llm-a",
        "--image",
        "nvcr.io/acme/llm:1",
        "--inference-url",
        "/v1/chat/completions",
        "--llm-model",
        "name=echo-model,uris=/v1/chat/completions|/v1/embeddings|/v1/responses,routingMethod=round-robin,tokenRateLimit=100000-M,1000000-D",
    ]);
    assert_eq!(f["functionType"], "LLM");
    let fid = f["id"].as_str().unwrap().to_owned();
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
    let chat = env.json(&["function", "invoke", "--message", "hello there"]);
    assert!(
        chat["choices"][0]["message"]["content"].as_str().is_some(),
        "{chat}"
    );
    assert_eq!(chat["model"], format!("{fid}/echo-model"));
    let calls = env.requests("llm", "POST", "/v1/chat/completions");
    assert_eq!(calls.len(), 1);
    assert!(calls[0]["host"].as_str().unwrap().starts_with("llm."));

    let stream = env.ok(&[
        "function",
        "invoke",
        "--message",
        "stream me please",
        "--stream",
    ]);
    assert!(!stream.stdout.trim().is_empty(), "{stream:#?}");
    assert!(
        !stream.stdout.contains("data:"),
        "tokens, not SSE frames: {stream:#?}"
    );

    let resp = env.json(&[
        "function",
        "invoke",
        "--api",
        "responses",
        "--message",
        "respond",
        "--session-id",
        "s-42",
    ]);
    assert_eq!(resp["object"], "response", "{resp}");
    assert_eq!(env.requests("llm", "POST", "/v1/responses").len(), 1);
    let table = env.ok(&[
        "function",
        "invoke",
        "--api",
        "responses",
        "--message",
        "plain",
    ]);
    assert!(
        !table.stdout.trim_start().starts_with('{'),
        "text, not JSON: {table:#?}"
    );
    let streamed = env.ok(&[
        "function",
        "invoke",
        "--api",
        "responses",
        "--message",
        "stream responses",
        "--stream",
    ]);
    assert!(!streamed.stdout.trim().is_empty(), "{streamed:#?}");
    assert!(!streamed.stdout.contains("event:"), "{streamed:#?}");

    let emb = env.json(&[
        "function",
        "invoke",
        "--api",
        "embeddings",
        "--message",
        "vectors",
    ]);
    assert!(emb["data"][0]["embedding"].is_array(), "{emb}");

    let upd = env.json(&[
        "function",
        "update",
        "--llm-model-update",
        "name=echo-model,tokenRateLimit=10-S,100-M",
    ]);
    assert_eq!(upd["id"], fid.as_str());
    let bad = env.nvcf(&[
        "function",
        "update",
        "--llm-model-update",
        "name=echo-model,uris=/x",
    ]);
    assert_eq!(bad.code, Some(64), "{bad:#?}");
    let bad = env.nvcf(&[
        "function",
        "create",
        "--name",
        "llm-b",
        "--inference-url",
        "/v1/chat/completions",
        "--llm-model",
        "name=m,uris=/v1/chat/completions,tokenRateLimit=5-Q",
    ]);
    assert_eq!(bad.code, Some(65), "{bad:#?}");
    assert!(bad.stderr.contains("5-Q"), "{bad:#?}");
}

#[test]
fn a_slow_worker_is_polled_by_request_id() {
    let env = SimEnv::start().logged_in();
    let (fid, _) = deployed_echo(&env, "echo-slow");
    let put = env.block_on(async { reqwest_free_put(&env, &fid, r#"{"delayMs": 2500}"#).await });
    assert!(put, "worker delay set");
    let inv = env.json(&[
        "function",
        "invoke",
        "--request-body",
        r#"{"message":"late"}"#,
        "--poll-duration",
        "1",
    ]);
    assert_eq!(inv["httpStatus"], 200, "{inv}");
    assert_eq!(inv["response"]["message"], "late");
    assert!(inv["polls"].as_u64().unwrap() >= 1, "{inv}");
    assert!(
        !env.requests("invocation", "GET", "/v2/nvcf/pexec/status/")
            .is_empty()
    );
}

/// Sets the simulated worker's delay through the simulator's own endpoint.
async fn reqwest_free_put(env: &SimEnv, fid: &str, body: &str) -> bool {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(env.sim.addr())
        .await
        .unwrap();
    let req = format!(
        "PUT /_sim/functions/{fid}/worker HTTP/1.1\r\nHost: sim.{}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        env.sim.domain(),
        body.len()
    );
    s.write_all(req.as_bytes()).await.unwrap();
    let mut resp = String::new();
    s.read_to_string(&mut resp).await.unwrap();
    resp.starts_with("HTTP/1.1 2")
}

#[test]
fn dry_runs_show_the_request_and_send_nothing() {
    let env = SimEnv::start().logged_in();
    let run = env.ok(&[
        "function",
        "create",
        "--name",
        "dry",
        "--image",
        "nvcr.io/acme/echo:1",
        "--inference-url",
        "/echo",
        "--secret",
        "K=dry-run-secret-value",
        "--dry-run",
        "-o",
        "json",
    ]);
    let body: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(body["name"], "dry");
    assert_eq!(body["secrets"][0]["name"], "K");
    assert!(!run.all().contains("dry-run-secret-value"), "{run:#?}");
    assert!(run.stderr.contains("Plan: create function \"dry\""));
    let run = env.ok(&[
        "task",
        "create",
        "--name",
        "dry",
        "--image",
        "nvcr.io/acme/job:1",
        "--gpu",
        "A10G",
        "--instance-type",
        "NCP.GPU.A10G_1x",
        "--dry-run",
    ]);
    assert!(run.stdout.contains("\"gpuSpecification\""), "{run:#?}");
    assert!(env.requests("nvcf", "POST", "/").is_empty());
    assert!(env.requests("tasks", "POST", "/").is_empty());
}

#[test]
fn deploy_files_with_example_ids_are_refused() {
    let env = SimEnv::start().logged_in();
    let file = env.home.path().join("deploy.json");
    std::fs::write(
        &file,
        r#"{"functionId":"your-function-id","versionId":"your-version-id",
            "deploymentSpecifications":[{"gpu":"A10G","instanceType":"NCP.GPU.A10G_1x","minInstances":1,"maxInstances":1}]}"#,
    )
    .unwrap();
    let run = env.nvcf(&["function", "deploy", "create", "-f", file.to_str().unwrap()]);
    assert_eq!(run.code, Some(65), "{run:#?}");
    assert!(run.stderr.contains("functionId"), "{run:#?}");
    assert!(env.requests("nvcf", "POST", "/").is_empty());
}

#[test]
fn new_versions_and_version_resolution() {
    let env = SimEnv::start().logged_in();
    let args = [
        "function",
        "create",
        "--name",
        "echo-v",
        "--image",
        "nvcr.io/acme/echo:1",
        "--inference-url",
        "/echo",
    ];
    let v1 = env.json(&args);
    let fid = v1["id"].as_str().unwrap().to_owned();
    // One version: the version id can be left out.
    assert_eq!(
        env.json(&["function", "get", &fid])["versionId"],
        v1["versionId"]
    );
    let mut again = args.to_vec();
    again.extend(["--function-id", &fid]);
    let run = env.ok(&again);
    assert!(run.stderr.contains("a new version of function"), "{run:#?}");
    let versions = env.json(&["function", "versions", &fid]);
    assert_eq!(versions["functions"].as_array().unwrap().len(), 2);
    // Two versions and no current one for this id: ask.
    let other = env.json(&args);
    assert_ne!(other["id"], fid.as_str());
    let run = env.nvcf(&["function", "get", &fid]);
    assert_eq!(run.code, Some(64), "{run:#?}");
    assert!(run.stderr.contains("2 versions"), "{run:#?}");
}

/// Upstream's placement flags of `function deploy create`, as its scripts pass them: they
/// reach the deployment specification field for field; 0 means "the platform's default"
/// and is not sent; the deprecated `--gpu-name` still works and says so.
#[test]
fn deploy_create_takes_upstreams_placement_flags() {
    let env = SimEnv::start().logged_in();
    env.json(&[
        "function",
        "create",
        "--name",
        "placed",
        "--container-image",
        "nvcr.io/acme/echo:1",
        "--inference-url",
        "/echo",
        "--inference-port",
        "8000",
    ]);
    let run = env.ok(&[
        "function",
        "deploy",
        "create",
        "--gpu-name",
        "A10G",
        "--instance-type",
        "NCP.GPU.A10G_1x",
        "--regions",
        "us-east-1,us-west-2",
        "--availability-zones",
        "us-east-1a",
        "--attributes",
        "ssd,ib",
        "--max-request-concurrency",
        "0",
        "--preferred-order",
        "3",
        "--cpu-arch",
        "amd64",
        "--os",
        "linux",
        "--driver-version",
        "570.86",
        "--storage",
        "100Gi",
        "--system-memory",
        "64Gi",
        "--gpu-memory",
        "24Gi",
        "--poll-interval",
        "1",
    ]);
    assert!(
        run.stderr.contains("--gpu-name is deprecated; use --gpu"),
        "{run:#?}"
    );
    let dep = env.json(&["function", "deploy", "get"]);
    let spec = &dep["deploymentSpecifications"][0];
    assert_eq!(spec["gpu"], "A10G", "{spec:#}");
    assert_eq!(
        spec["regions"],
        serde_json::json!(["us-east-1", "us-west-2"])
    );
    assert_eq!(spec["availabilityZones"], serde_json::json!(["us-east-1a"]));
    assert_eq!(spec["attributes"], serde_json::json!(["ssd", "ib"]));
    assert_eq!(spec["preferredOrder"], 3);
    assert!(
        spec.get("maxRequestConcurrency").is_none(),
        "0 is not sent: {spec:#}"
    );
    for (key, value) in [
        ("cpuArch", "amd64"),
        ("os", "linux"),
        ("driverVersion", "570.86"),
        ("storage", "100Gi"),
        ("systemMemory", "64Gi"),
        ("gpuMemory", "24Gi"),
    ] {
        assert_eq!(spec[key], value, "{key}: {spec:#}");
    }
    // Out of the contract's range: refused before any request.
    let before = env.sim.requests().len();
    for (flag, value) in [
        ("--preferred-order", "100"),
        ("--max-request-concurrency", "20000"),
    ] {
        let bad = env.nvcf(&[
            "function",
            "deploy",
            "create",
            "--gpu",
            "A10G",
            "--instance-type",
            "NCP.GPU.A10G_1x",
            flag,
            value,
        ]);
        assert_eq!(bad.code, Some(64), "{flag}: {bad:#?}");
    }
    assert_eq!(env.sim.requests().len(), before);
    let both = env.nvcf(&[
        "function",
        "deploy",
        "create",
        "--gpu",
        "A10G",
        "--gpu-name",
        "A10G",
    ]);
    assert_eq!(both.code, Some(64), "{both:#?}");
}
