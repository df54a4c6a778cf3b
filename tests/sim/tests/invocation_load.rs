//! 200 concurrent invocations lose no state and memory stays bounded; 202-and-poll.

mod common;

use std::collections::HashSet;

use common::Client;
use serde_json::json;

fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("procfs");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .expect("VmRSS")
}

async fn burst(c: &Client, fid: &str, key: &str, round: usize) -> Vec<String> {
    let mut tasks = Vec::new();
    for i in 0..200 {
        let (http, url, host, key) = (
            c.http.clone(),
            c.url.clone(),
            format!("{fid}.invocation.{}", c.domain),
            key.to_string(),
        );
        tasks.push(tokio::spawn(async move {
            let body = json!({"round": round, "i": i, "pad": "x".repeat(512)});
            let r = http
                .post(format!("{url}/echo"))
                .header("host", host)
                .bearer_auth(key)
                .json(&body)
                .send()
                .await
                .expect("reaches sim");
            assert_eq!(r.status(), 200);
            let id = r.headers()["nvcf-reqid"]
                .to_str()
                .expect("ascii")
                .to_string();
            assert_eq!(r.headers()["nvcf-status"], "fulfilled");
            let echoed: serde_json::Value = r.json().await.expect("json");
            assert_eq!(echoed, body, "each caller gets its own body back");
            id
        }));
    }
    let mut ids = Vec::new();
    for t in tasks {
        ids.push(t.await.expect("invocation task"));
    }
    ids
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_concurrent_invocations_lose_nothing_and_memory_is_bounded() {
    let mut config = common::fast_config();
    config.request_log_capacity = 500;
    let sim = common::start(config).await;
    let c = Client::new(&sim);
    let admin = sim.admin_token();
    let (fid, vid) = common::active_echo(&c, &admin).await;
    let key = c.invoke_key().await;

    let first = burst(&c, &fid, &key, 0).await;
    let unique: HashSet<&String> = first.iter().collect();
    assert_eq!(unique.len(), 200, "every invocation has its own NVCF-REQID");
    let served = |sim: &nvcf_sim::Sim| {
        sim.state()
            .lock()
            .invocations
            .served
            .get(&vid.parse().expect("uuid"))
            .copied()
            .unwrap_or(0)
    };
    assert_eq!(served(&sim), 200);

    let baseline = rss_kib();
    for round in 1..=5 {
        burst(&c, &fid, &key, round).await;
    }
    let grown = rss_kib().saturating_sub(baseline);
    assert_eq!(served(&sim), 1200, "no invocation lost across rounds");
    assert_eq!(
        sim.state().lock().invocations.pending_len(),
        0,
        "answered requests leave no pending state"
    );
    assert_eq!(
        sim.requests().len(),
        500,
        "the in-memory request log stays at its capacity"
    );
    assert!(
        grown < 64 * 1024,
        "RSS grew by {grown} KiB over 1000 more invocations"
    );
    sim.assert_no_violations();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_workers_answer_202_then_the_poll_returns_the_result() {
    let sim = common::start(common::fast_config()).await;
    let c = Client::new(&sim);
    let admin = sim.admin_token();
    let (fid, vid) = common::active_echo(&c, &admin).await;
    let key = c.invoke_key().await;
    let r = c
        .send(
            "PUT",
            "sim",
            &format!("/_sim/functions/{fid}/worker"),
            None,
            Some(&json!({"delayMs": 1800})),
            &[],
        )
        .await;
    assert_eq!(r.status, 204);

    let body = json!({"slow": true});
    let path = format!("/v2/nvcf/pexec/functions/{fid}/versions/{vid}");
    let r = c
        .send(
            "POST",
            "invocation",
            &path,
            Some(&key),
            Some(&body),
            &[("NVCF-POLL-SECONDS", "1")],
        )
        .await;
    assert_eq!(r.status, 202, "{}", r.text);
    assert_eq!(r.header("nvcf-status").as_deref(), Some("in-progress"));
    let req_id = r.header("nvcf-reqid").expect("request id");

    let q = c
        .send(
            "GET",
            "api",
            &format!("/v2/nvcf/queues/{req_id}/position"),
            Some(&key),
            None,
            &[],
        )
        .await;
    assert_eq!(q.status, 200, "{}", q.text);
    assert_eq!(q.json()["positionInQueue"], 1);

    let status_path = format!("/v2/nvcf/pexec/status/{req_id}");
    let mut done = None;
    for _ in 0..10 {
        let p = c
            .send(
                "GET",
                "invocation",
                &status_path,
                Some(&key),
                None,
                &[("NVCF-POLL-SECONDS", "1")],
            )
            .await;
        if p.status == 200 {
            done = Some(p);
            break;
        }
        assert_eq!(p.status, 202, "{}", p.text);
    }
    let done = done.expect("the poll finishes");
    assert_eq!(done.json(), body);
    assert_eq!(done.header("nvcf-status").as_deref(), Some("fulfilled"));
    // Finished requests are forgotten.
    let again = c
        .send("GET", "invocation", &status_path, Some(&key), None, &[])
        .await;
    assert_eq!(again.status, 404);

    // The legacy exec wrapper around the same worker.
    let exec = format!("/v2/nvcf/exec/functions/{fid}/versions/{vid}");
    c.send(
        "PUT",
        "sim",
        &format!("/_sim/functions/{fid}/worker"),
        None,
        Some(&json!({"delayMs": 0})),
        &[],
    )
    .await;
    let r = c
        .send(
            "POST",
            "invocation",
            &exec,
            Some(&key),
            Some(&json!({"requestHeader": {}, "requestBody": body})),
            &[],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let v = r.json();
    assert_eq!(
        (v["status"].as_str(), &v["response"]),
        (Some("fulfilled"), &body)
    );
    assert_eq!(v["reqId"].as_str(), r.header("nvcf-reqid").as_deref());

    let r = c
        .send(
            "POST",
            "invocation",
            &path,
            Some(&key),
            Some(&body),
            &[("NVCF-POLL-SECONDS", "3601")],
        )
        .await;
    assert_eq!(
        (r.status, r.json()["detail"].as_str()),
        (400, Some("NVCF-POLL-SECONDS must be <= 3600"))
    );
    sim.assert_no_violations();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invocation_rules_for_status_credentials_and_upstreams() {
    let sim = common::start(common::fast_config()).await;
    let c = Client::new(&sim);
    let admin = sim.admin_token();
    let (fid, vid) = c
        .create_function(
            &admin,
            json!({"name": "idle", "inferenceUrl": "/echo", "containerImage": "nvcr.io/x/echo:1"}),
        )
        .await;
    let key = c.invoke_key().await;
    let host = fid.clone();

    // INACTIVE is not invocable.
    let r = c
        .send(
            "POST",
            &format!("{host}.invocation"),
            "/echo",
            Some(&key),
            Some(&json!({})),
            &[],
        )
        .await;
    assert_eq!(r.status, 404);
    assert_eq!(
        r.json()["detail"],
        format!(
            "Function id '{fid}' version 'null': Specified function in account 'nvcf-default' is not found"
        )
    );

    // Missing and malformed credentials are plain-text 401s.
    let r = c
        .send(
            "POST",
            &format!("{host}.invocation"),
            "/echo",
            None,
            Some(&json!({})),
            &[],
        )
        .await;
    assert_eq!(
        (r.status, r.text.as_str()),
        (401, "Header of type `authorization` was missing")
    );
    let r = c
        .send(
            "POST",
            &format!("{host}.invocation"),
            "/echo",
            None,
            Some(&json!({})),
            &[("authorization", "Basic abc")],
        )
        .await;
    assert_eq!((r.status, r.text.as_str()), (401, "Unauthorized access"));

    // DEGRADED versions: 400; a pinned version host works once ACTIVE.
    let status = format!("/_sim/functions/{fid}/versions/{vid}/status");
    c.send(
        "POST",
        "sim",
        &status,
        None,
        Some(&json!({"status": "DEGRADED"})),
        &[],
    )
    .await;
    let r = c
        .send(
            "POST",
            &format!("{host}.invocation"),
            "/echo",
            Some(&key),
            Some(&json!({})),
            &[],
        )
        .await;
    assert_eq!(
        (r.status, r.json()["detail"].as_str().map(str::to_string)),
        (
            400,
            Some(format!(
                "Function id '{fid}': DEGRADED function cannot be invoked"
            ))
        )
    );
    c.send(
        "POST",
        "sim",
        &status,
        None,
        Some(&json!({"status": "ACTIVE"})),
        &[],
    )
    .await;
    let r = c
        .send(
            "GET",
            &format!("{vid}.{host}.invocation"),
            "/anything?x=1",
            Some(&key),
            None,
            &[],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);

    // A key scoped to another function gets 403.
    let other = c
        .api_key(
            common::NVCF_SERVICE_ID,
            "nv-cloud-functions",
            json!([{"id": format!("{}/*", uuid::Uuid::new_v4()), "type": "function"}]),
            &["invoke_function"],
        )
        .await;
    let r = c
        .send(
            "POST",
            &format!("{host}.invocation"),
            "/echo",
            Some(&other),
            Some(&json!({})),
            &[],
        )
        .await;
    assert_eq!(r.status, 403);

    // A function `rateLimit` answers 429 with http-invocation's bare problem body.
    let (rfid, rvid) = c
        .create_function(&admin, json!({"name": "limited", "inferenceUrl": "/echo", "containerImage": "nvcr.io/x/echo:1", "rateLimit": {"rateLimit": "2-M"}}))
        .await;
    let r = c.deploy(&admin, &rfid, &rvid, json!({"gpu": "A10G", "instanceType": "NCP.GPU.A10G_1x", "minInstances": 0, "maxInstances": 1})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    for expected in [200, 200, 429] {
        let r = c
            .send(
                "POST",
                &format!("{rfid}.invocation"),
                "/echo",
                Some(&key),
                Some(&json!({})),
                &[],
            )
            .await;
        assert_eq!(r.status, expected, "{}", r.text);
        if expected == 429 {
            assert_eq!(
                r.json(),
                json!({"status": 429, "title": "Too Many Requests"})
            );
            assert!(r.header("retry-after").is_none());
        }
    }

    // Pass-through to a real upstream: the worker sees the client path, not the Authorization.
    let upstream = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let up_addr = upstream.local_addr().expect("addr");
    let app = axum::Router::new().fallback(|uri: axum::http::Uri, headers: axum::http::HeaderMap| async move {
        axum::Json(json!({"path": uri.to_string(), "sawAuthorization": headers.contains_key("authorization")}))
    });
    tokio::spawn(async move { axum::serve(upstream, app).await });
    sim.set_upstream(
        fid.parse().expect("uuid"),
        Some(format!("http://{up_addr}")),
    );
    let r = c
        .send(
            "POST",
            &format!("{host}.invocation"),
            "/v1/run?q=2",
            Some(&key),
            Some(&json!({})),
            &[],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        r.json(),
        json!({"path": "/v1/run?q=2", "sawAuthorization": false})
    );
    sim.assert_no_violations();
}
