//! The LLM API gateway (`llm.<domain>`, `llm.invocation.<domain>`; endpoints.md §5):
//! `<function-id>/<model>` routing, session stickiness, token rate limits, chat and
//! Responses SSE, embeddings. Answers come from a built-in echo model or a real upstream.

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::functions::Status;
use crate::auth::{Denied, Namespace, authenticate, denial};
use crate::contract::{Shape, Spec};
use crate::errors::{ApiError, ApiResult};
use crate::ratelimit::Budget;
use crate::state::{ReqMeta, SimState};
use crate::util::{go_duration, now};

const MAX_EMBEDDING_INPUTS: usize = 2048;

pub fn router(state: Arc<SimState>) -> Router {
    Router::new()
        .route("/v1/chat/completions", post(chat))
        .route("/v1/responses", post(responses))
        .route("/v1/embeddings", post(embeddings))
        .route("/healthz", get(|| async { StatusCode::OK }))
        .route("/readyz", get(|| async { StatusCode::OK }))
        .route("/info", axum::routing::any(info))
        .fallback(|| async { ApiError::llm(404, "Not Found") })
        .layer(axum::middleware::from_fn(with_request_id))
        .with_state(state)
}

async fn info(method: Method) -> ApiResult {
    if method != Method::GET {
        return Err(ApiError::llm(405, "Method Not Allowed"));
    }
    Ok(
        axum::Json(json!({"version": format!("nvcf-sim-{}", env!("CARGO_PKG_VERSION"))}))
            .into_response(),
    )
}

/// What auth and routing resolved for one request.
struct Target {
    original_model: String,
    model_name: String,
    model_spec: Value,
    subject: String,
    upstream: Option<String>,
}

fn request_id(headers: &HeaderMap) -> String {
    headers
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .unwrap_or_else(|| Uuid::new_v4().to_string())
}

fn parse_body(body: &Bytes) -> ApiResult<Value> {
    match serde_json::from_slice::<Value>(body) {
        Ok(v) if v.is_object() => Ok(v),
        _ => Err(ApiError::llm(400, "invalid request body")),
    }
}

/// Model parsing, auth (`AuthLlmInvocation`), and the model spec of the routed function.
fn resolve(
    state: &SimState,
    meta: &ReqMeta,
    headers: &HeaderMap,
    body: &Value,
    path: &str,
) -> ApiResult<Target> {
    if headers.contains_key("x-priority") {
        return Err(ApiError::llm(
            400,
            "X-Priority is a reserved header and cannot be set by the client",
        ));
    }
    let model = body
        .get("model")
        .and_then(Value::as_str)
        .filter(|m| !m.is_empty())
        .ok_or_else(|| ApiError::llm(400, "model is required"))?;
    let (key, name) = model
        .split_once('/')
        .ok_or_else(|| ApiError::llm(400, "model prefix is required"))?;
    if key.is_empty() {
        return Err(ApiError::llm(400, "routing key is required before model"));
    }
    if name.is_empty() {
        return Err(ApiError::llm(
            400,
            "model suffix is required after routing key",
        ));
    }
    crate::auth::bearer(headers)
        .map_err(|_| ApiError::llm(401, "bearer authorization is required"))?;
    let function_id = Uuid::parse_str(&key.to_ascii_lowercase())
        .map_err(|_| ApiError::llm(400, "invalid request"))?;
    let caller = authenticate(state, headers, Namespace::Nvcf, meta.token_expired)
        .map_err(|d| denial(meta.service, d))?;
    if !caller.has("invoke_function") {
        return Err(denial(meta.service, Denied::Scope));
    }
    let mut inner = state.lock();
    inner.functions.tick(state.config.deploy_outcome);
    let versions = inner.functions.of_function(&caller.nca_id, function_id);
    let live = versions.iter().find(|v| v.status.invocable());
    let Some(v) = live else {
        if !versions.is_empty() && versions.iter().all(|v| v.status == Status::Degraded) {
            return Err(ApiError::llm(400, "invalid request"));
        }
        return Err(ApiError::llm(404, "not found"));
    };
    if !caller.can_use_function(function_id, v.version_id) {
        return Err(ApiError::llm(403, "permission denied"));
    }
    let spec = v
        .models()
        .into_iter()
        .find(|m| m["name"] == name)
        .and_then(|m| m.get("llmConfig").cloned())
        .ok_or_else(|| ApiError::llm(404, "not found"))?;
    if state.config.model_uri_allowlist {
        let norm = |s: &str| format!("/{}", s.trim().trim_matches('/').to_ascii_lowercase());
        let allowed = spec["uris"].as_array().is_some_and(|u| {
            u.iter()
                .filter_map(Value::as_str)
                .any(|u| norm(u) == norm(path))
        });
        if !allowed {
            return Err(ApiError::llm(
                400,
                format!("model \"{name}\" does not support {path}"),
            ));
        }
    }
    let upstream = inner
        .invocations_worker_upstream(function_id)
        .or_else(|| v.env("NVCF_SIM_UPSTREAM"));
    Ok(Target {
        original_model: model.to_string(),
        model_name: name.to_string(),
        model_spec: spec,
        subject: format!("nvcf:{}:routing_key:{function_id}", caller.nca_id),
        upstream,
    })
}

/// What every endpoint does first: the JSON body, routing and auth.
fn prelude(
    state: &SimState,
    meta: &ReqMeta,
    headers: &HeaderMap,
    uri: &Uri,
    body: &Bytes,
) -> ApiResult<(Value, Target)> {
    let body = parse_body(body)?;
    let target = resolve(state, meta, headers, &body, uri.path())?;
    Ok((body, target))
}

/// `X-Request-ID` is on every gateway answer, errors included: echoed or generated.
async fn with_request_id(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let rid = request_id(req.headers());
    let mut resp = next.run(req).await;
    if let Ok(v) = HeaderValue::from_str(&rid) {
        resp.headers_mut().insert("x-request-id", v);
    }
    resp
}

/// `x-multi-turn-session-id`: at most 256 bytes, no control characters.
fn session_header(headers: &HeaderMap) -> ApiResult<Option<String>> {
    let Some(v) = headers.get("x-multi-turn-session-id") else {
        return Ok(None);
    };
    let s = v.to_str().map_err(|_| {
        ApiError::llm(
            400,
            "x-multi-turn-session-id is invalid: contains control characters",
        )
    })?;
    if s.len() > 256 {
        return Err(ApiError::llm(
            400,
            "x-multi-turn-session-id is invalid: exceeds 256 bytes",
        ));
    }
    if s.chars().any(char::is_control) {
        return Err(ApiError::llm(
            400,
            "x-multi-turn-session-id is invalid: contains control characters",
        ));
    }
    Ok(Some(s.to_string()))
}

fn payload_key(v: &Value) -> String {
    format!(
        "mt:v1:payload:{:x}",
        Sha256::digest(v.to_string().as_bytes())
    )
}

/// Precedence: `prompt_cache_key` → (`conversation.id`) → header → payload hash.
fn session_id(
    body: &Value,
    header: Option<String>,
    payload_field: &str,
    conversation: bool,
) -> String {
    if let Some(k) = body
        .get("prompt_cache_key")
        .and_then(Value::as_str)
        .filter(|k| !k.is_empty())
    {
        return k.to_string();
    }
    if conversation {
        let conv = body.get("conversation");
        let id = conv.and_then(|c| c.get("id").and_then(Value::as_str).or(c.as_str()));
        if let Some(id) = id.filter(|i| !i.is_empty()) {
            return id.to_string();
        }
    }
    header.unwrap_or_else(|| payload_key(body.get(payload_field).unwrap_or(&Value::Null)))
}

fn words(v: &Value) -> u64 {
    match v {
        Value::String(s) => s.split_whitespace().count() as u64,
        Value::Array(a) => a.iter().map(words).sum(),
        Value::Object(o) => o
            .iter()
            .filter(|(k, _)| k.as_str() != "role" && k.as_str() != "type")
            .map(|(_, v)| words(v))
            .sum(),
        _ => 0,
    }
}

/// Applies the model's token limit; answers 429 with the documented headers.
fn rate_limit(
    state: &SimState,
    target: &Target,
    tokens: u64,
) -> ApiResult<Vec<(HeaderName, String)>> {
    let Some(spec) = target
        .model_spec
        .get("tokenRateLimit")
        .and_then(Value::as_str)
    else {
        return Ok(Vec::new());
    };
    let outcome = state
        .lock()
        .limits
        .take(&target.subject, spec, "SMHDW", tokens.max(1));
    let headers = |b: &Budget| {
        vec![
            (
                HeaderName::from_static("x-ratelimit-limit-tokens"),
                b.limit.to_string(),
            ),
            (
                HeaderName::from_static("x-ratelimit-remaining-tokens"),
                b.remaining.to_string(),
            ),
            (
                HeaderName::from_static("x-ratelimit-reset-tokens"),
                go_duration(b.reset),
            ),
        ]
    };
    match outcome {
        Ok(b) => Ok(headers(&b)),
        Err(b) => {
            let secs = b.reset.as_secs_f64().ceil().max(1.0) as u64;
            let mut err = ApiError::llm(429, "rate limit exceeded")
                .with_header(header::RETRY_AFTER, secs.to_string());
            if secs > 60 {
                err = err.with_header(HeaderName::from_static("x-should-retry"), "false");
            }
            for (k, v) in headers(&b) {
                err = err.with_header(k, v);
            }
            Err(err)
        }
    }
}

fn finish(mut resp: Response, session: Option<&str>, extra: Vec<(HeaderName, String)>) -> Response {
    let h = resp.headers_mut();
    if let Some(s) = session.and_then(|s| HeaderValue::from_str(s).ok()) {
        h.insert("x-multi-turn-session-id", s);
    }
    for (k, v) in extra {
        if let Ok(v) = HeaderValue::from_str(&v) {
            h.insert(k, v);
        }
    }
    resp
}

fn sse(events: Vec<String>) -> Response {
    let body = Body::from_stream(futures_util::stream::iter(
        events
            .into_iter()
            .map(|e| Ok::<_, std::convert::Infallible>(Bytes::from(e))),
    ));
    (
        [
            (header::CONTENT_TYPE, "text/event-stream"),
            (header::CACHE_CONTROL, "no-cache"),
            (header::CONNECTION, "keep-alive"),
        ],
        body,
    )
        .into_response()
}

fn last_user_text(messages: &Value) -> String {
    let list = messages.as_array().cloned().unwrap_or_default();
    let m = list
        .iter()
        .rev()
        .find(|m| m["role"] == "user")
        .or(list.last())
        .cloned()
        .unwrap_or(Value::Null);
    match &m["content"] {
        Value::String(s) => s.clone(),
        Value::Array(parts) => parts
            .iter()
            .filter_map(|p| p["text"].as_str())
            .collect::<Vec<_>>()
            .join(" "),
        _ => String::new(),
    }
}

async fn forward(
    state: &SimState,
    base: &str,
    path: &str,
    body: &Value,
    target: &Target,
    session: &str,
) -> ApiResult<reqwest::Response> {
    let mut b = body.clone();
    b["model"] = json!(target.model_name);
    let mut req = state
        .http
        .post(format!("{}{path}", base.trim_end_matches('/')))
        .json(&b);
    req = req.header(
        "x-cache-affinity-key",
        if session.starts_with("mt:v1:payload:") {
            session.to_string()
        } else {
            format!("mt:v1:session:{:x}", Sha256::digest(session.as_bytes()))
        },
    );
    if let Some(m) = target
        .model_spec
        .get("routingMethod")
        .and_then(Value::as_str)
    {
        req = req.header("x-routing-method", m);
    }
    req.send()
        .await
        .map_err(|_| ApiError::llm(502, "upstream request failed"))
}

/// Puts the client's `model` back into a JSON body (or SSE `data:` line).
fn restore_model(v: &mut Value, original: &str) {
    if v.get("model").is_some() {
        v["model"] = json!(original);
    }
    if let Some(r) = v.get_mut("response").filter(|r| r.get("model").is_some()) {
        r["model"] = json!(original);
    }
}

fn relay_sse(text: &str, original: &str) -> Vec<String> {
    text.split("\n\n")
        .filter(|e| !e.trim().is_empty())
        .map(|e| {
            let lines: Vec<String> = e
                .lines()
                .map(|l| {
                    match l
                        .strip_prefix("data: ")
                        .and_then(|d| serde_json::from_str::<Value>(d).ok())
                    {
                        Some(mut v) => {
                            restore_model(&mut v, original);
                            format!("data: {v}")
                        }
                        None => l.to_string(),
                    }
                })
                .collect();
            format!("{}\n\n", lines.join("\n"))
        })
        .collect()
}

async fn chat(
    State(state): State<Arc<SimState>>,
    Extension(meta): Extension<ReqMeta>,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> ApiResult {
    let (body, target) = prelude(&state, &meta, &headers, &uri, &body)?;
    let header_session = session_header(&headers)?;
    if body.get("messages").is_none_or(Value::is_null) {
        return Err(ApiError::llm(400, "messages is required"));
    }
    state.contract.request(
        meta.service,
        Spec::OpenAi,
        Shape::Component("CreateChatCompletionRequest"),
        &body,
    )?;
    let session = session_id(&body, header_session, "messages", false);
    let prompt = last_user_text(&body["messages"]);
    let prompt_tokens = words(&body["messages"]).max(1);
    let limits = rate_limit(&state, &target, prompt_tokens * 2)?;
    let stream = body.get("stream").and_then(Value::as_bool).unwrap_or(false);

    if let Some(base) = &target.upstream {
        let r = forward(
            &state,
            base,
            "/v1/chat/completions",
            &body,
            &target,
            &session,
        )
        .await?;
        let status = r.status();
        let text = r.text().await.unwrap_or_default();
        let resp = if stream && status.is_success() {
            sse(relay_sse(&text, &target.original_model))
        } else {
            let mut v: Value = serde_json::from_str(&text)
                .map_err(|_| ApiError::llm(502, "invalid upstream response"))?;
            restore_model(&mut v, &target.original_model);
            if status.is_success() {
                state.contract.response(
                    meta.service,
                    Spec::OpenAi,
                    Shape::Component("CreateChatCompletionResponse"),
                    &v,
                )?;
            }
            (status, axum::Json(v)).into_response()
        };
        return Ok(finish(resp, Some(&session), limits));
    }

    let id = format!("chatcmpl-{}", Uuid::new_v4().simple());
    let created = now().unix_timestamp();
    let reply = format!("echo: {prompt}");
    let completion_tokens = reply.split_whitespace().count() as u64;
    let resp = if stream {
        let mut events = Vec::new();
        let chunk = |delta: Value, finish: Value| {
            json!({"id": id, "object": "chat.completion.chunk", "created": created, "model": target.original_model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": null}]})
        };
        let mut chunks = vec![chunk(
            json!({"role": "assistant", "content": ""}),
            Value::Null,
        )];
        for (i, w) in reply.split_whitespace().enumerate() {
            let text = if i == 0 {
                w.to_string()
            } else {
                format!(" {w}")
            };
            chunks.push(chunk(json!({"content": text}), Value::Null));
        }
        chunks.push(chunk(json!({}), json!("stop")));
        for c in &chunks {
            state.contract.response(
                meta.service,
                Spec::OpenAi,
                Shape::Component("CreateChatCompletionStreamResponse"),
                c,
            )?;
            events.push(format!("data: {c}\n\n"));
        }
        events.push("data: [DONE]\n\n".to_string());
        sse(events)
    } else {
        let v = json!({"id": id, "object": "chat.completion", "created": created, "model": target.original_model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": reply}, "finish_reason": "stop", "logprobs": null}],
            "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens, "total_tokens": prompt_tokens + completion_tokens}});
        state.contract.response(
            meta.service,
            Spec::OpenAi,
            Shape::Component("CreateChatCompletionResponse"),
            &v,
        )?;
        axum::Json(v).into_response()
    };
    Ok(finish(resp, Some(&session), limits))
}

fn response_input_text(input: &Value) -> String {
    match input {
        Value::String(s) => s.clone(),
        Value::Array(items) => last_user_text(&Value::Array(items.clone())),
        _ => String::new(),
    }
}

/// The named-event sequence of an OpenAI Responses stream, ending in `response.completed`.
fn response_events(
    original_model: &str,
    text: &str,
    input_tokens: u64,
) -> (Vec<(String, Value)>, Value) {
    let id = format!("resp_{}", Uuid::new_v4().simple());
    let msg_id = format!("msg_{}", Uuid::new_v4().simple());
    let created = now().unix_timestamp();
    let output_tokens = text.split_whitespace().count() as u64;
    let base = |status: &str, output: Value, usage: Value| json!({"id": id, "object": "response", "created_at": created, "status": status, "model": original_model, "output": output, "usage": usage});
    let part = json!({"type": "output_text", "text": text, "annotations": []});
    let item = json!({"type": "message", "id": msg_id, "status": "completed", "role": "assistant", "content": [part]});
    let final_response = base(
        "completed",
        json!([item]),
        json!({"input_tokens": input_tokens, "output_tokens": output_tokens, "total_tokens": input_tokens + output_tokens}),
    );
    let mut events = vec![
        (
            "response.created".to_string(),
            json!({"response": base("in_progress", json!([]), Value::Null)}),
        ),
        (
            "response.in_progress".to_string(),
            json!({"response": base("in_progress", json!([]), Value::Null)}),
        ),
        (
            "response.output_item.added".to_string(),
            json!({"output_index": 0, "item": {"type": "message", "id": msg_id, "status": "in_progress", "role": "assistant", "content": []}}),
        ),
        (
            "response.content_part.added".to_string(),
            json!({"item_id": msg_id, "output_index": 0, "content_index": 0, "part": {"type": "output_text", "text": "", "annotations": []}}),
        ),
    ];
    for (i, w) in text.split_whitespace().enumerate() {
        let delta = if i == 0 {
            w.to_string()
        } else {
            format!(" {w}")
        };
        events.push((
            "response.output_text.delta".into(),
            json!({"item_id": msg_id, "output_index": 0, "content_index": 0, "delta": delta}),
        ));
    }
    events.push((
        "response.output_text.done".into(),
        json!({"item_id": msg_id, "output_index": 0, "content_index": 0, "text": text}),
    ));
    events.push((
        "response.content_part.done".into(),
        json!({"item_id": msg_id, "output_index": 0, "content_index": 0, "part": part}),
    ));
    events.push((
        "response.output_item.done".into(),
        json!({"output_index": 0, "item": item}),
    ));
    events.push((
        "response.completed".into(),
        json!({"response": final_response}),
    ));
    let numbered = events
        .into_iter()
        .enumerate()
        .map(|(i, (name, mut data))| {
            data["type"] = json!(name);
            data["sequence_number"] = json!(i);
            (name, data)
        })
        .collect();
    (numbered, final_response)
}

async fn responses(
    State(state): State<Arc<SimState>>,
    Extension(meta): Extension<ReqMeta>,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> ApiResult {
    let (body, target) = prelude(&state, &meta, &headers, &uri, &body)?;
    let header_session = session_header(&headers)?;
    let session = session_id(&body, header_session, "input", true);
    let input_tokens = words(body.get("input").unwrap_or(&Value::Null)).max(1);
    let limits = rate_limit(&state, &target, input_tokens * 2)?;
    let stream = body.get("stream").and_then(Value::as_bool).unwrap_or(false);

    // Upstream always streams; a non-streaming client gets the collected final response.
    let (events, final_response) = match &target.upstream {
        Some(base) => {
            let mut upstream_body = body.clone();
            upstream_body["stream"] = json!(true);
            let r = forward(
                &state,
                base,
                "/v1/responses",
                &upstream_body,
                &target,
                &session,
            )
            .await?;
            if !r.status().is_success() {
                let status = r.status();
                let text = r.text().await.unwrap_or_default();
                return Ok(finish(
                    (status, text).into_response(),
                    Some(&session),
                    limits,
                ));
            }
            let text = r.text().await.unwrap_or_default();
            let raw = relay_sse(&text, &target.original_model);
            let completed = raw.iter().rev().find_map(|e| {
                e.lines()
                    .find_map(|l| l.strip_prefix("data: "))
                    .and_then(|d| serde_json::from_str::<Value>(d).ok())
                    .filter(|v| v["type"] == "response.completed")
            });
            let final_response = completed.map(|c| c["response"].clone()).ok_or_else(|| {
                ApiError::llm(502, "upstream stream ended without response.completed")
            })?;
            (raw, final_response)
        }
        None => {
            let text = format!(
                "echo: {}",
                response_input_text(body.get("input").unwrap_or(&Value::Null))
            );
            let (events, final_response) =
                response_events(&target.original_model, &text, input_tokens);
            (
                events
                    .into_iter()
                    .map(|(name, data)| format!("event: {name}\ndata: {data}\n\n"))
                    .collect(),
                final_response,
            )
        }
    };
    let resp = if stream {
        sse(events)
    } else {
        axum::Json(final_response).into_response()
    };
    Ok(finish(resp, Some(&session), limits))
}

/// A deterministic unit-ish vector per input, so tests can compare embeddings.
fn embed(text: &str) -> Vec<f64> {
    Sha256::digest(text.as_bytes())
        .iter()
        .take(8)
        .map(|b| (*b as f64 - 127.5) / 127.5)
        .collect()
}

async fn embeddings(
    State(state): State<Arc<SimState>>,
    Extension(meta): Extension<ReqMeta>,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> ApiResult {
    let (body, target) = prelude(&state, &meta, &headers, &uri, &body)?;
    let inputs: Vec<String> = match body.get("input") {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(a)) => {
            if a.is_empty() {
                return Err(ApiError::llm(400, "'input' array must not be empty"));
            }
            if a.len() > MAX_EMBEDDING_INPUTS {
                return Err(ApiError::llm(
                    400,
                    format!(
                        "'input' array is too large, must be less than {MAX_EMBEDDING_INPUTS} elements"
                    ),
                ));
            }
            let mut out = Vec::new();
            for (i, item) in a.iter().enumerate() {
                match item.as_str() {
                    Some(s) if !s.is_empty() => out.push(s.to_string()),
                    _ => return Err(ApiError::llm(400, format!("'input.{i}' must not be empty"))),
                }
            }
            out
        }
        _ => {
            return Err(ApiError::llm(
                400,
                "'input' must be a string or an array of strings",
            ));
        }
    };
    state.contract.request(
        meta.service,
        Spec::OpenAi,
        Shape::Component("CreateEmbeddingRequest"),
        &body,
    )?;
    let tokens: u64 = inputs
        .iter()
        .map(|s| s.split_whitespace().count() as u64)
        .sum::<u64>()
        .max(1);
    let limits = rate_limit(&state, &target, tokens)?;
    if let Some(base) = &target.upstream {
        let r = forward(&state, base, "/v1/embeddings", &body, &target, "").await?;
        let status = r.status();
        let mut v: Value = r
            .json()
            .await
            .map_err(|_| ApiError::llm(502, "invalid upstream response"))?;
        restore_model(&mut v, &target.original_model);
        if status.is_success() {
            state.contract.response(
                meta.service,
                Spec::OpenAi,
                Shape::Component("CreateEmbeddingResponse"),
                &v,
            )?;
        }
        return Ok(finish(
            (status, axum::Json(v)).into_response(),
            None,
            limits,
        ));
    }
    let data: Vec<Value> = inputs
        .iter()
        .enumerate()
        .map(|(i, s)| json!({"object": "embedding", "index": i, "embedding": embed(s)}))
        .collect();
    let v = json!({"object": "list", "data": data, "model": target.original_model, "usage": {"prompt_tokens": tokens, "total_tokens": tokens}});
    state.contract.response(
        meta.service,
        Spec::OpenAi,
        Shape::Component("CreateEmbeddingResponse"),
        &v,
    )?;
    Ok(finish(axum::Json(v).into_response(), None, limits))
}
