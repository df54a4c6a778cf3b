//! Admin tokens, API keys, the error shapes for bad credentials, and fault injection.

mod common;

use std::time::{Duration, Instant};

use common::Client;
use nvcf_sim::FaultRule;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_tokens_are_checked_on_every_call() {
    let sim = common::start(common::fast_config()).await;
    let c = Client::new(&sim);
    let r = c
        .send(
            "POST",
            "api-keys",
            "/v1/admin/keys",
            None,
            Some(&json!({})),
            &[],
        )
        .await;
    assert_eq!(r.status, 200);
    let v = r.json();
    assert_eq!(
        (
            v["owner_type"].as_str(),
            v["owner_id"].as_str(),
            v["status"].as_str()
        ),
        (Some("SYSTEM"), Some("admin-issuer-proxy"), Some("ACTIVE"))
    );
    assert!(v["expires_at"].is_string());
    let token = v["value"].as_str().expect("jwt").to_string();
    let claims: serde_json::Value = {
        use base64::Engine;
        let payload = token.split('.').nth(1).expect("payload");
        serde_json::from_slice(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(payload)
                .expect("b64"),
        )
        .expect("claims")
    };
    assert_eq!(claims["iss"], "http://api.nvcf.svc.cluster.local");
    assert_eq!(claims["sub"], "ncp");
    assert!(claims["scopes"].as_array().is_some_and(
        |s| s.contains(&json!("cluster-management")) && !s.contains(&json!("launch_task"))
    ));

    let r = c
        .send("GET", "api", "/v2/nvcf/functions", None, None, &[])
        .await;
    assert_eq!(
        (
            r.status,
            r.text.as_str(),
            r.header("www-authenticate").as_deref()
        ),
        (401, "", Some("Bearer"))
    );
    let expired = sim.token("ncp", &["list_functions".to_string()], -3600);
    let r = c
        .send(
            "GET",
            "api",
            "/v2/nvcf/functions",
            Some(&expired),
            None,
            &[],
        )
        .await;
    assert_eq!(r.status, 401);
    assert!(
        r.header("www-authenticate")
            .is_some_and(|h| h.contains("invalid_token"))
    );
    let tampered = format!("{}x", &token[..token.len() - 1]);
    assert_eq!(
        c.send(
            "GET",
            "api",
            "/v2/nvcf/functions",
            Some(&tampered),
            None,
            &[]
        )
        .await
        .status,
        401
    );
    let stranger = sim.token("someone", &["list_functions".to_string()], 60);
    let r = c
        .send(
            "GET",
            "api",
            "/v2/nvcf/functions",
            Some(&stranger),
            None,
            &[],
        )
        .await;
    assert_eq!(
        (r.status, r.json()["detail"].as_str()),
        (
            404,
            Some("Unknown client_id 'someone' when finding account id")
        )
    );
    let r = c
        .send("GET", "api", "/v2/nvcf/accounts", Some(&token), None, &[])
        .await;
    assert_eq!(
        (
            r.status,
            r.json()["type"].as_str(),
            r.json()["detail"].as_str()
        ),
        (
            403,
            Some("urn:nv-boot:problem-details:forbidden"),
            Some("Access Denied")
        )
    );
    let setup = sim.token("ncp", &["account_setup".to_string()], 60);
    let r = c
        .send("GET", "api", "/v2/nvcf/accounts", Some(&setup), None, &[])
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json()["cloudAccounts"][0]["maxFunctionsAllowed"], 10);

    // Non-JSON bodies on mutating NVCF endpoints: 415.
    let r = c
        .http
        .post(format!("{}/v2/nvcf/functions", c.url))
        .header("host", format!("api.{}", c.domain))
        .bearer_auth(&token)
        .body("x")
        .send()
        .await
        .expect("sent");
    assert_eq!(r.status(), 415);
    sim.assert_no_violations();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_keys_follow_the_service_rules() {
    let sim = common::start(common::fast_config()).await;
    let c = Client::new(&sim);
    let issuer = ("Key-Issuer-Id", common::NVCF_SERVICE_ID);
    let owner = ("Key-Owner-Id", "someone@sim.local");
    let r = c
        .send("GET", "api-keys", "/v1/keys", None, None, &[owner])
        .await;
    assert_eq!(
        (r.status, r.json()["detail"].as_str()),
        (400, Some("Key-Issuer-Id is not set"))
    );
    let r = c
        .send(
            "GET",
            "api-keys",
            "/v1/keys",
            None,
            None,
            &[("Key-Issuer-Id", "nope"), owner],
        )
        .await;
    assert_eq!(r.json()["detail"], "Caller service not registered");
    let r = c
        .send("GET", "api-keys", "/v1/keys", None, None, &[issuer])
        .await;
    assert_eq!(r.json()["detail"], "Key-Owner-Id is not set");

    let future = |days: i64| {
        (time::OffsetDateTime::now_utc() + time::Duration::days(days))
            .format(&time::format_description::well_known::Rfc3339)
            .expect("fmt")
    };
    for (body, detail) in [
        (
            json!({"description": "bad!", "expires_at": future(1), "authorizations": {}}),
            "description is invalid",
        ),
        (
            json!({"description": "ok", "expires_at": future(400), "authorizations": {}}),
            "expires_at must be in the future and not more than 365 days from now",
        ),
        (
            json!({"description": "ok", "expires_at": future(1)}),
            "authorizations can not be null",
        ),
        (
            json!({"description": "ok", "expires_at": future(1), "authorizations": {"x": "y".repeat(2100)}}),
            "authorizations size can not be greater than 2048",
        ),
        (
            json!({"description": "ok", "expires_at": future(1), "authorizations": {}, "audience_service_ids": []}),
            "audience_service_ids can't be empty",
        ),
    ] {
        let r = c
            .send(
                "POST",
                "api-keys",
                "/v1/keys",
                None,
                Some(&body),
                &[issuer, owner],
            )
            .await;
        assert_eq!((r.status, r.json()["detail"].as_str()), (400, Some(detail)));
    }
    let key = c.invoke_key().await;
    assert!(key.starts_with("nvapi-nvcf-stg-") && key.len() == "nvapi-nvcf-stg-".len() + 64);
    let mine = [issuer, ("Key-Owner-Id", "test@sim.local")];
    let r = c
        .send("GET", "api-keys", "/v1/keys", None, None, &mine)
        .await;
    let listed = r.json()["keys"][0].clone();
    assert!(listed["value"].as_str().is_some_and(
        |v| v.starts_with("nvapi-nvcf-stg-**********") && v.ends_with(&key[key.len() - 3..])
    ));
    assert!(listed.get("authorizations").is_none());
    let id = listed["id"].as_str().expect("id").to_string();
    let r = c
        .send(
            "POST",
            "api-keys",
            "/v1/introspect",
            None,
            Some(&json!({"audience_service_id": common::NVCF_SERVICE_ID, "key": key})),
            &[],
        )
        .await;
    assert_eq!(
        (r.status, r.header("cache-control").as_deref()),
        (200, Some("max-age=360"))
    );
    let eval = c
        .send(
            "POST",
            "api-keys",
            "/v1/namespaces/nvct/evaluations/apikey.allow",
            None,
            Some(&json!({"input": {"apiKey": key}})),
            &[],
        )
        .await;
    assert_eq!(
        eval.json()["result"],
        json!({"allowed": false}),
        "a functions key is not a tasks key"
    );
    let eval = c
        .send(
            "POST",
            "api-keys",
            "/v1/namespaces/nvcf/evaluations/apikey.allow",
            None,
            Some(&json!({"input": {"apiKey": key}})),
            &[],
        )
        .await;
    assert_eq!(eval.json()["result"]["ncaId"], "nvcf-default");

    // A key works until deleted; then NVCF answers 403 Authorization failed.
    assert_eq!(
        c.send("GET", "api", "/v2/nvcf/functions", Some(&key), None, &[])
            .await
            .status,
        200
    );
    let r = c
        .send(
            "DELETE",
            "api-keys",
            &format!("/v1/keys/{id}"),
            None,
            None,
            &mine,
        )
        .await;
    assert_eq!(r.status, 204);
    let r = c
        .send("GET", "api", "/v2/nvcf/functions", Some(&key), None, &[])
        .await;
    assert_eq!(
        (r.status, r.json()["detail"].as_str()),
        (403, Some("Authorization failed"))
    );
    let r = c
        .send(
            "GET",
            "api-keys",
            &format!("/v1/keys/{id}"),
            None,
            None,
            &mine,
        )
        .await;
    assert_eq!(
        (r.status, r.json()["detail"].as_str()),
        (404, Some("Key not found"))
    );

    for _ in 0..8 {
        c.invoke_key().await;
    }
    let body = json!({"description": "ninth", "expires_at": future(1), "authorizations": {}});
    let r = c
        .send("POST", "api-keys", "/v1/keys", None, Some(&body), &mine)
        .await;
    assert_eq!(
        r.json()["detail"],
        "Actor reached maximum allowed number of keys in service"
    );
    sim.assert_no_violations();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_inject_latency_statuses_resets_rate_limits_and_expiry() {
    let sim = common::start(common::fast_config()).await;
    let c = Client::new(&sim);
    let admin = sim.admin_token();

    sim.add_fault(FaultRule {
        service: Some("nvcf".into()),
        path: Some("/v2/nvcf/functions".into()),
        latency_ms: Some(300),
        times: Some(1),
        ..Default::default()
    });
    let t = Instant::now();
    assert_eq!(
        c.send("GET", "api", "/v2/nvcf/functions", Some(&admin), None, &[])
            .await
            .status,
        200
    );
    assert!(t.elapsed() >= Duration::from_millis(300));
    let t = Instant::now();
    c.send("GET", "api", "/v2/nvcf/functions", Some(&admin), None, &[])
        .await;
    assert!(
        t.elapsed() < Duration::from_millis(300),
        "times: 1 fires once"
    );

    // Through the admin endpoint, as other crates' tests (and curl) set them.
    let rule = json!({"service": "sis", "status": 503, "times": 1});
    let r = c
        .send("POST", "sim", "/_sim/faults", None, Some(&rule), &[])
        .await;
    assert_eq!(r.status, 201);
    let r = c
        .send(
            "GET",
            "sis",
            "/v1/accounts/nvcf-default/clusters",
            Some(&admin),
            None,
            &[],
        )
        .await;
    assert_eq!(r.status, 503);
    assert!(
        r.json()["error"]
            .as_str()
            .is_some_and(|e| e.starts_with("nvcf-sim injected fault")),
        "ICMS shape: {}",
        r.text
    );

    sim.add_fault(FaultRule {
        service: Some("nvcf".into()),
        retry_after: Some(7),
        times: Some(1),
        ..Default::default()
    });
    let r = c
        .send("GET", "api", "/v2/nvcf/functions", Some(&admin), None, &[])
        .await;
    assert_eq!(
        (r.status, r.header("retry-after").as_deref()),
        (429, Some("7"))
    );
    assert_eq!(
        r.json()["detail"],
        "Account 'nvcf-default': too many requests. Slow down."
    );

    sim.add_fault(FaultRule {
        service: Some("nvcf".into()),
        token_expired: true,
        times: Some(1),
        ..Default::default()
    });
    let r = c
        .send("GET", "api", "/v2/nvcf/functions", Some(&admin), None, &[])
        .await;
    assert_eq!(r.status, 401);
    assert!(
        r.header("www-authenticate")
            .is_some_and(|h| h.contains("Jwt expired"))
    );

    sim.add_fault(FaultRule {
        service: Some("api-keys".into()),
        reset: true,
        times: Some(1),
        ..Default::default()
    });
    let err = c
        .http
        .get(format!("{}/v1/keys", c.url))
        .header("host", format!("api-keys.{}", c.domain))
        .send()
        .await;
    assert!(err.is_err(), "the connection is reset instead of answered");
    let log = sim.requests();
    assert!(
        log.iter()
            .any(|e| e["status"] == "reset" && e["fault"].is_string())
    );
    assert_eq!(
        c.send("GET", "api", "/health", None, None, &[])
            .await
            .status,
        200,
        "the sim keeps serving"
    );

    let r = c
        .send("GET", "sim", "/_sim/requests", None, None, &[])
        .await;
    let lines: Vec<serde_json::Value> = r
        .text
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is JSON"))
        .collect();
    assert!(lines.len() >= 8);
    assert!(
        lines
            .iter()
            .all(|l| l["ts"].is_string() && l["service"].is_string() && l["method"].is_string())
    );
    sim.assert_no_violations();
}

#[test]
fn request_log_file_is_jsonl() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("requests.jsonl");
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let mut config = common::fast_config();
        config.request_log = Some(path.clone());
        let sim = common::start(config).await;
        let c = Client::new(&sim);
        c.send("GET", "api", "/health", None, None, &[]).await;
        c.send("GET", "nowhere", "/", None, None, &[]).await;
        sim.shutdown().await;
    });
    let text = std::fs::read_to_string(&path).expect("log file");
    let entries: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect();
    assert_eq!(entries.len(), 2);
    assert_eq!(
        (
            entries[1]["service"].as_str(),
            entries[1]["status"].as_u64()
        ),
        (Some("gateway"), Some(404))
    );
}
