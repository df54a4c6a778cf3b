//! Seed 001, "Verify Workload Scheduling" steps 2 and 3, driven by the system curl
//! exactly as the document shows it (Host headers against the gateway address).

mod common;

use std::process::Command;

use serde_json::{Value, json};

/// Runs `/usr/bin/curl -s -i <args>` and splits status, headers and body.
fn curl(args: &[&str]) -> (u16, String, String) {
    let out = Command::new("/usr/bin/curl")
        .arg("-s")
        .arg("-i")
        .arg("--max-time")
        .arg("20")
        .args(args)
        .output()
        .expect("/usr/bin/curl runs");
    assert!(
        out.status.success(),
        "curl failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout).replace("\r\n", "\n");
    let (head, body) = text.split_once("\n\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("status line");
    (status, head.to_ascii_lowercase(), body.to_string())
}

fn json(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seed_001_walkthrough_with_curl() {
    let sim = common::start(common::fast_config()).await;
    let gw = sim.addr().to_string();
    let d = sim.domain().to_string();

    let steps = tokio::task::spawn_blocking(move || {
        // Step 2: admin token.
        let (status, _, body) = curl(&["-X", "POST", &format!("http://{gw}/v1/admin/keys"), "-H", &format!("Host: api-keys.{d}")]);
        assert_eq!(status, 200, "{body}");
        let token = json(&body)["value"].as_str().expect("token in value").to_string();
        assert!(token.starts_with("eyJ"), "a JWT: {token}");
        let bearer = format!("Authorization: Bearer {token}");

        // Step 3: create.
        let create = json!({"name": "my-echo-function", "inferenceUrl": "/echo", "healthUri": "/health", "inferencePort": 8000,
            "containerImage": "registry.example/repo/load_tester_supreme:0.0.8"});
        let (status, _, body) = curl(&["-X", "POST", &format!("http://{gw}/v2/nvcf/functions"), "-H", &format!("Host: api.{d}"),
            "-H", "Content-Type: application/json", "-H", &bearer, "-d", &create.to_string()]);
        assert_eq!(status, 200, "{body}");
        let f = json(&body)["function"].clone();
        assert_eq!(f["status"], "INACTIVE");
        let (fid, vid) = (f["id"].as_str().expect("id").to_string(), f["versionId"].as_str().expect("versionId").to_string());

        // Deploy.
        let deploy = json!({"deploymentSpecifications": [{"instanceType": "NCP.GPU.A10G_1x", "backend": "nvcf-default", "gpu": "A10G", "maxInstances": 1, "minInstances": 1}]});
        let (status, _, body) = curl(&["-X", "POST", &format!("http://{gw}/v2/nvcf/deployments/functions/{fid}/versions/{vid}"),
            "-H", &format!("Host: api.{d}"), "-H", "Content-Type: application/json", "-H", &bearer, "-d", &deploy.to_string()]);
        assert_eq!(status, 200, "{body}");
        assert_eq!(json(&body)["deployment"]["functionStatus"], "DEPLOYING");

        // API key with the Key-Issuer-* headers.
        let service = common::NVCF_SERVICE_ID;
        let expires = (time::OffsetDateTime::now_utc() + time::Duration::days(1)).replace_nanosecond(0).expect("ns").format(&time::format_description::well_known::Rfc3339).expect("fmt");
        let key_req = json!({"description": "test invocation key", "expires_at": expires, "authorizations": {"policies": [{
            "aud": service, "auds": [service], "product": "nv-cloud-functions",
            "resources": [{"id": "*", "type": "account-functions"}, {"id": "*", "type": "authorized-functions"}],
            "scopes": ["invoke_function", "list_functions", "queue_details", "list_functions_details"]}]},
            "audience_service_ids": [service]});
        let (status, _, body) = curl(&["-X", "POST", &format!("http://{gw}/v1/keys"), "-H", &format!("Host: api-keys.{d}"),
            "-H", "Content-Type: application/json", "-H", "Key-Issuer-Service: nvcf-api", "-H", &format!("Key-Issuer-Id: {service}"),
            "-H", "Key-Owner-Id: test@nvcf-api.local", "-d", &key_req.to_string()]);
        assert_eq!(status, 200, "{body}");
        let key = json(&body)["value"].as_str().expect("key value").to_string();
        assert!(key.starts_with("nvapi-"), "{key}");

        // Wait for ACTIVE by listing functions, as the seed says.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            let (status, _, body) = curl(&[&format!("http://{gw}/v2/nvcf/functions"), "-H", &format!("Host: api.{d}"), "-H", &bearer]);
            assert_eq!(status, 200, "{body}");
            let listed = json(&body)["functions"].as_array().cloned().unwrap_or_default();
            if listed.iter().any(|x| x["id"] == fid.as_str() && x["status"] == "ACTIVE") {
                break;
            }
            assert!(std::time::Instant::now() < deadline, "never ACTIVE: {body}");
            std::thread::sleep(std::time::Duration::from_millis(50));
        }

        // Invoke through the wildcard <function-id>.invocation Host, with --resolve this time.
        let port = gw.rsplit_once(':').expect("port").1.to_string();
        let inv_host = format!("{fid}.invocation.{d}");
        let (status, head, body) = curl(&["-X", "POST", &format!("http://{inv_host}:{port}/echo"), "--resolve", &format!("{inv_host}:{port}:127.0.0.1"),
            "-H", "Content-Type: application/json", "-H", &format!("Authorization: Bearer {key}"), "-d", r#"{"message": "hello world", "repeats": 1}"#]);
        assert_eq!(status, 200, "{body}");
        assert_eq!(json(&body), json!({"message": "hello world", "repeats": 1}));
        assert!(head.contains("nvcf-reqid: "), "{head}");
        assert!(head.contains("nvcf-status: fulfilled"), "{head}");

        // The admin JWT lacks nothing the walkthrough needs, but it cannot list cluster groups.
        let (status, _, _) = curl(&[&format!("http://{gw}/v2/nvcf/clusterGroups"), "-H", &format!("Host: api.{d}"), "-H", &bearer]);
        assert_eq!(status, 403);
        (token, key)
    })
    .await
    .expect("curl steps");

    // Secrets never reach the request log in full.
    let log = sim.requests();
    let text: String = log.iter().map(|e| e.to_string()).collect();
    assert!(
        !text.contains(&steps.0) && !text.contains(&steps.1),
        "a secret leaked into the request log"
    );
    assert!(log.iter().any(|e| {
        e["authorization"]
            .as_str()
            .is_some_and(|a| a.starts_with("Bearer nvapi-nv..."))
    }));
    assert!(
        log.iter().any(|e| e["service"] == "invocation"
            && e["status"] == 200
            && e["nvcfReqid"].is_string())
    );
    sim.assert_no_violations();
}

#[tokio::test]
async fn unknown_hosts_get_the_gateway_404() {
    let sim = common::start(common::fast_config()).await;
    let gw = sim.addr().to_string();
    let d = sim.domain().to_string();
    let (a, b) = tokio::task::spawn_blocking(move || {
        let (a, _, body_a) = curl(&[
            &format!("http://{gw}/v2/nvcf/functions"),
            "-H",
            "Host: api.other.domain",
        ]);
        let (b, _, _) = curl(&[
            &format!("http://{gw}/v1/accounts/x/clusters"),
            "-H",
            &format!("Host: icms.{d}"),
        ]);
        assert!(body_a.is_empty());
        (a, b)
    })
    .await
    .expect("curl");
    assert_eq!((a, b), (404, 404));
}
