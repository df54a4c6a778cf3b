//! The LLM gateway: model routing, SSE chat and Responses, embeddings input rules,
//! session ids, token rate limits, and request checks against the OpenAI schemas.

mod common;

use common::Client;
use serde_json::{Value, json};

async fn llm_function(c: &Client, admin: &str, token_limit: &str) -> String {
    let body = json!({"name": "llm", "inferenceUrl": "/", "containerImage": "nvcr.io/x/llm:1", "functionType": "LLM",
        "models": [{"name": "dummy-model", "llmConfig": {"uris": ["/v1/chat/completions", "/v1/responses", "/v1/embeddings"], "routingMethod": "round_robin", "tokenRateLimit": token_limit}}]});
    let (fid, vid) = c.create_function(admin, body).await;
    let r = c.deploy(admin, &fid, &vid, json!({"gpu": "H100", "instanceType": "NCP.GPU.H100_1x", "minInstances": 0, "maxInstances": 1})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        r.json()["deployment"]["functionStatus"],
        "ACTIVE",
        "zero-scale deployments are ACTIVE at once"
    );
    fid
}

fn sse_data(text: &str) -> Vec<Value> {
    text.lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .filter(|d| *d != "[DONE]")
        .map(|d| serde_json::from_str(d).expect("json chunk"))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_responses_and_embeddings() {
    let sim = common::start(common::fast_config()).await;
    let c = Client::new(&sim);
    let admin = sim.admin_token();
    let fid = llm_function(&c, &admin, "100000-M").await;
    let key = c.invoke_key().await;
    let model = format!("{fid}/dummy-model");
    let messages = json!([{"role": "user", "content": "hello there"}]);

    let r = c
        .send(
            "POST",
            "llm",
            "/v1/chat/completions",
            Some(&key),
            Some(&json!({"model": model, "messages": messages})),
            &[],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let v = r.json();
    assert_eq!(v["model"], model, "the client's model string comes back");
    assert_eq!(v["choices"][0]["message"]["content"], "echo: hello there");
    assert!(r.header("x-request-id").is_some());
    assert!(
        r.header("x-multi-turn-session-id")
            .is_some_and(|s| s.starts_with("mt:v1:payload:"))
    );
    assert_eq!(
        r.header("x-ratelimit-limit-tokens").as_deref(),
        Some("100000")
    );

    let r = c
        .send(
            "POST",
            "llm.invocation",
            "/v1/chat/completions",
            Some(&key),
            Some(&json!({"model": model, "messages": messages, "stream": true})),
            &[("x-multi-turn-session-id", "s-1")],
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.header("content-type").as_deref(),
        Some("text/event-stream")
    );
    assert_eq!(r.header("x-multi-turn-session-id").as_deref(), Some("s-1"));
    assert!(r.text.ends_with("data: [DONE]\n\n"));
    let chunks = sse_data(&r.text);
    let text: String = chunks
        .iter()
        .filter_map(|c| c["choices"][0]["delta"]["content"].as_str())
        .collect();
    assert_eq!(text, "echo: hello there");
    assert_eq!(
        chunks
            .last()
            .map(|c| c["choices"][0]["finish_reason"].clone()),
        Some(json!("stop"))
    );

    let body = json!({"model": model, "input": "tell me", "prompt_cache_key": "pck"});
    let r = c
        .send(
            "POST",
            "llm",
            "/v1/responses",
            Some(&key),
            Some(&body),
            &[("x-multi-turn-session-id", "ignored")],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.header("x-multi-turn-session-id").as_deref(), Some("pck"));
    let v = r.json();
    assert_eq!(
        (
            v["object"].as_str(),
            v["status"].as_str(),
            v["model"].as_str()
        ),
        (Some("response"), Some("completed"), Some(model.as_str()))
    );
    assert_eq!(v["output"][0]["content"][0]["text"], "echo: tell me");

    let body = json!({"model": model, "input": "tell me", "stream": true, "conversation": {"id": "conv-9"}});
    let r = c
        .send("POST", "llm", "/v1/responses", Some(&key), Some(&body), &[])
        .await;
    assert_eq!(
        r.header("x-multi-turn-session-id").as_deref(),
        Some("conv-9")
    );
    assert!(r.text.starts_with("event: response.created\n"));
    let events = sse_data(&r.text);
    assert!(events.windows(2).all(
        |w| w[1]["sequence_number"].as_u64() == w[0]["sequence_number"].as_u64().map(|n| n + 1)
    ));
    assert_eq!(
        events.last().map(|e| e["type"].clone()),
        Some(json!("response.completed"))
    );

    let r = c
        .send(
            "POST",
            "llm",
            "/v1/embeddings",
            Some(&key),
            Some(&json!({"model": model, "input": ["a", "b"]})),
            &[],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json()["data"].as_array().map(Vec::len), Some(2));
    for (input, message) in [
        (json!([]), "'input' array must not be empty"),
        (
            json!(vec!["x"; 2049]),
            "'input' array is too large, must be less than 2048 elements",
        ),
        (json!(["ok", ""]), "'input.1' must not be empty"),
    ] {
        let r = c
            .send(
                "POST",
                "llm",
                "/v1/embeddings",
                Some(&key),
                Some(&json!({"model": model, "input": input})),
                &[],
            )
            .await;
        assert_eq!((r.status, r.json()), (400, json!({"message": message})));
    }
    let r = c
        .send(
            "POST",
            "llm",
            "/v1/embeddings",
            Some(&key),
            Some(&json!({"model": model, "input": vec!["x"; 2048]})),
            &[],
        )
        .await;
    assert_eq!(r.status, 200, "2048 entries are allowed");
    sim.assert_no_violations();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn routing_errors_auth_and_rate_limits() {
    let sim = common::start(common::fast_config()).await;
    let c = Client::new(&sim);
    let admin = sim.admin_token();
    let fid = llm_function(&c, &admin, "12-M").await;
    let key = c.invoke_key().await;
    let msg = json!([{"role": "user", "content": "one two three"}]);
    let call = |model: Value, headers: Vec<(&'static str, String)>, bearer: Option<String>| {
        let c = &c;
        let msg = msg.clone();
        async move {
            let hs: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
            c.send(
                "POST",
                "llm",
                "/v1/chat/completions",
                bearer.as_deref(),
                Some(&json!({"model": model, "messages": msg})),
                &hs,
            )
            .await
        }
    };
    for (model, message) in [
        (json!(null), "model is required"),
        (json!("no-slash"), "model prefix is required"),
        (json!("/m"), "routing key is required before model"),
        (
            json!(format!("{fid}/")),
            "model suffix is required after routing key",
        ),
    ] {
        let r = call(model, vec![], Some(key.clone())).await;
        assert_eq!((r.status, r.json()), (400, json!({"message": message})));
    }
    let model = json!(format!("{fid}/dummy-model"));
    let r = call(model.clone(), vec![], None).await;
    assert_eq!(
        (r.status, r.json()),
        (401, json!({"message": "bearer authorization is required"}))
    );
    assert!(
        r.header("x-request-id").is_some(),
        "errors carry X-Request-ID too"
    );
    let r = call(
        model.clone(),
        vec![("x-priority", "1".into())],
        Some(key.clone()),
    )
    .await;
    assert_eq!(
        r.json(),
        json!({"message": "X-Priority is a reserved header and cannot be set by the client"})
    );
    let r = call(
        model.clone(),
        vec![("x-multi-turn-session-id", "x".repeat(257))],
        Some(key.clone()),
    )
    .await;
    assert!(
        r.json()["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("x-multi-turn-session-id is invalid: "))
    );
    let r = call(
        json!(format!("{}/dummy-model", uuid::Uuid::new_v4())),
        vec![],
        Some(key.clone()),
    )
    .await;
    assert_eq!((r.status, r.json()), (404, json!({"message": "not found"})));
    let r = call(json!("not-a-uuid/dummy-model"), vec![], Some(key.clone())).await;
    assert_eq!(
        (r.status, r.json()),
        (400, json!({"message": "invalid request"}))
    );

    // 12 tokens a minute; each call estimates 6 (3 words in, 3 echoed).
    for remaining in ["6", "0"] {
        let r = call(model.clone(), vec![], Some(key.clone())).await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(
            r.header("x-ratelimit-remaining-tokens").as_deref(),
            Some(remaining)
        );
    }
    let r = call(model.clone(), vec![], Some(key.clone())).await;
    assert_eq!(
        (r.status, r.json()),
        (429, json!({"message": "rate limit exceeded"}))
    );
    let retry: u64 = r
        .header("retry-after")
        .and_then(|s| s.parse().ok())
        .expect("Retry-After");
    assert!((1..=60).contains(&retry));
    assert!(r.header("x-should-retry").is_none(), "only sent past 60 s");
    assert_eq!(r.header("x-ratelimit-limit-tokens").as_deref(), Some("12"));
    assert!(
        r.header("x-ratelimit-reset-tokens")
            .is_some_and(|d| d.ends_with('s'))
    );
    sim.assert_no_violations();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_that_break_the_openai_schema_are_recorded_as_violations() {
    let sim = common::start(common::fast_config()).await;
    let c = Client::new(&sim);
    let admin = sim.admin_token();
    let fid = llm_function(&c, &admin, "100000-S").await;
    let key = c.invoke_key().await;
    // The gateway itself only needs `messages`; the OpenAI schema needs each message's role.
    let body = json!({"model": format!("{fid}/dummy-model"), "messages": [{"content": "no role"}]});
    let r = c
        .send(
            "POST",
            "llm",
            "/v1/chat/completions",
            Some(&key),
            Some(&body),
            &[],
        )
        .await;
    assert_eq!(r.status, 500);
    assert_eq!(
        r.header("x-nvcf-sim-contract-violation").as_deref(),
        Some("1")
    );
    assert!(
        r.json()["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("nvcf-sim contract violation"))
    );
    let v = sim.take_violations();
    assert_eq!(v.len(), 1);
    assert_eq!(
        (v[0].direction, v[0].schema.as_str(), v[0].path.as_str()),
        (
            "request",
            "CreateChatCompletionRequest",
            "/v1/chat/completions"
        )
    );
    assert!(
        sim.requests()
            .iter()
            .any(|e| e["contractViolation"] == true)
    );
}

/// A test that leaves a violation behind fails when its simulator is dropped.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[should_panic(expected = "contract violation")]
async fn an_unchecked_violation_fails_the_test_on_drop() {
    let sim = common::start(common::fast_config()).await;
    let c = Client::new(&sim);
    let admin = sim.admin_token();
    let fid = llm_function(&c, &admin, "100000-S").await;
    let key = c.invoke_key().await;
    let body = json!({"model": format!("{fid}/dummy-model"), "input": [1.5]});
    let r = c
        .send(
            "POST",
            "llm",
            "/v1/embeddings",
            Some(&key),
            Some(&body),
            &[],
        )
        .await;
    assert_eq!(
        r.status, 400,
        "non-string entries are the gateway's own 400: {}",
        r.text
    );
    let body =
        json!({"model": format!("{fid}/dummy-model"), "input": "x", "encoding_format": "hex"});
    let r = c
        .send(
            "POST",
            "llm",
            "/v1/embeddings",
            Some(&key),
            Some(&body),
            &[],
        )
        .await;
    assert_eq!(
        r.status, 500,
        "accepted by the gateway, refused by the schema"
    );
    drop(sim);
}
