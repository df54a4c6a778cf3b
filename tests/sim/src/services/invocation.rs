//! http-invocation (`<fid>.invocation.<domain>`, `invocation.<domain>`; endpoints.md §4):
//! pass-through (TLB) and path-based pexec, `NVCF-REQID`/`NVCF-STATUS`, 202-and-poll.
//! The worker is a built-in echo, or a real upstream URL given per function.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tokio::sync::Notify;
use uuid::Uuid;

use super::functions::Status;
use crate::auth::{Denied, Namespace, authenticate, denial};
use crate::errors::{ApiError, ApiResult};
use crate::routing::Service;
use crate::state::{ReqMeta, SimState};

/// Requests still waiting for a poll; beyond this the queue counts as full (429).
const MAX_PENDING: usize = 10_000;

#[derive(Debug, Clone, Default)]
pub struct Worker {
    /// Forward to this base URL instead of echoing.
    pub upstream: Option<String>,
    /// How long the echo takes (to exercise 202-and-poll).
    pub delay_ms: Option<u64>,
}

/// What the worker answered.
#[derive(Debug, Clone)]
pub struct Reply {
    status: StatusCode,
    headers: Vec<(HeaderName, HeaderValue)>,
    body: Bytes,
}

#[derive(Default)]
pub struct Slot {
    reply: Mutex<Option<Reply>>,
    done: Notify,
}

pub struct Pending {
    function_id: Uuid,
    version_id: Uuid,
    slot: Arc<Slot>,
    accepted: std::time::Instant,
}

/// A 202 result nobody polls for within the longest poll window is dropped.
const PENDING_TTL: Duration = Duration::from_secs(3600 + 60);

#[derive(Default)]
pub struct Store {
    workers: HashMap<Uuid, Worker>,
    pending: HashMap<Uuid, Pending>,
    /// Answered invocations per version, to check nothing is lost under load.
    pub served: HashMap<Uuid, u64>,
}

impl Store {
    pub fn set_worker(&mut self, function: Uuid, worker: Worker) {
        self.workers.insert(function, worker);
    }

    pub fn worker(&self, function: Uuid) -> Option<&Worker> {
        self.workers.get(&function)
    }

    pub fn pending_len(&self) -> usize {
        self.pending.len()
    }

    /// Position of a pending request among those of the same version (for the queue API).
    pub fn position(&self, request: Uuid) -> Option<(Uuid, Uuid, usize)> {
        let p = self.pending.get(&request)?;
        let ahead = self
            .pending
            .values()
            .filter(|o| o.version_id == p.version_id)
            .count();
        Some((p.function_id, p.version_id, ahead))
    }

    pub fn depth(&self, version: Uuid) -> usize {
        self.pending
            .values()
            .filter(|p| p.version_id == version)
            .count()
    }
}

pub fn router(state: Arc<SimState>) -> Router {
    Router::new().fallback(dispatch).with_state(state)
}

fn uuid_header(h: &HeaderMap, name: &str) -> Option<Uuid> {
    h.get(name)
        .and_then(|v| v.to_str().ok())
        .and_then(|s| Uuid::parse_str(s.trim()).ok())
}

async fn dispatch(State(state): State<Arc<SimState>>, req: Request) -> Response {
    let meta = *req
        .extensions()
        .get::<ReqMeta>()
        .expect("dispatcher sets ReqMeta");
    match serve(state, meta, req).await {
        Ok(r) => r,
        Err(e) => with_ids(e.into_response(), Uuid::new_v4()),
    }
}

async fn serve(state: Arc<SimState>, meta: ReqMeta, req: Request) -> ApiResult {
    let (host_fid, host_vid) = match meta.service {
        Service::Invocation { function, version } => (function, version),
        _ => (None, None),
    };
    let headers = req.headers().clone();
    let tlb = host_fid
        .or_else(|| uuid_header(&headers, "function-id"))
        .map(|f| {
            (
                f,
                host_vid.or_else(|| uuid_header(&headers, "function-version-id")),
            )
        });
    let path = req.uri().path().to_string();
    let path_and_query = req
        .uri()
        .path_and_query()
        .map(|p| p.to_string())
        .unwrap_or_else(|| path.clone());
    let method = req.method().clone();

    let mut legacy = false;
    let (fid, vid, worker_path, path_based) = match tlb {
        Some((f, v)) => (f, v, path_and_query, false),
        None => {
            let segs: Vec<&str> = path.trim_start_matches('/').split('/').collect();
            match (method.as_str(), segs.as_slice()) {
                ("GET", ["health"]) => return Ok((StatusCode::OK, "OK").into_response()),
                ("GET", ["v2", "nvcf", kind @ ("pexec" | "exec"), "status", id]) => {
                    let r = poll(&state, meta, &headers, id).await?;
                    return if *kind == "exec" {
                        Ok(exec_wrap(r).await)
                    } else {
                        Ok(r)
                    };
                }
                ("POST", ["v2", "nvcf", kind @ ("pexec" | "exec"), "functions", f]) => {
                    legacy = *kind == "exec";
                    (parse_id(f)?, None, String::new(), true)
                }
                (
                    "POST",
                    [
                        "v2",
                        "nvcf",
                        kind @ ("pexec" | "exec"),
                        "functions",
                        f,
                        "versions",
                        v,
                    ],
                ) => {
                    legacy = *kind == "exec";
                    (parse_id(f)?, Some(parse_id(v)?), String::new(), true)
                }
                _ => {
                    return Err(ApiError::invocation(
                        404,
                        format!("No route for {method} {path}"),
                    ));
                }
            }
        }
    };

    let caller = authenticate(&state, &headers, Namespace::Nvcf, meta.token_expired)
        .map_err(|d| denial(meta.service, d))?;
    caller
        .require("invoke_function")
        .map_err(|d| denial(meta.service, d))?;
    let accepts_sse = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("text/event-stream"));
    let poll_secs = poll_seconds(&headers, if path_based && accepts_sse { 1200 } else { 60 })?;

    let (version, worker, pending_full) = {
        let mut inner = state.lock();
        inner.functions.tick(state.config.deploy_outcome);
        let candidates: Vec<super::functions::Version> = inner
            .functions
            .of_function(&caller.nca_id, fid)
            .into_iter()
            .filter(|v| vid.is_none_or(|x| x == v.version_id))
            .cloned()
            .collect();
        let Some(v) = candidates.iter().find(|v| v.status.invocable()).cloned() else {
            if !candidates.is_empty() && candidates.iter().all(|v| v.status == Status::Degraded) {
                return Err(ApiError::invocation(
                    400,
                    format!("Function id '{fid}': DEGRADED function cannot be invoked"),
                ));
            }
            let shown = vid.map(|v| v.to_string()).unwrap_or_else(|| "null".into());
            return Err(ApiError::invocation(
                404,
                format!(
                    "Function id '{fid}' version '{shown}': Specified function in account '{}' is not found",
                    caller.nca_id
                ),
            ));
        };
        if !caller.can_use_function(fid, v.version_id) {
            return Err(ApiError::invocation(
                403,
                format!("Function '{fid}':  Missing resource entry in ApiKey for the function"),
            ));
        }
        if let Some(spec) = function_rate(&v, &caller.nca_id) {
            let subject = format!("function:{fid}:{}", caller.nca_id);
            if inner.limits.take(&subject, &spec, "SMHD", 1).is_err() {
                // http-invocation's 429: no detail, no Retry-After.
                return Err(ApiError::invocation_bare(429));
            }
        }
        let mut worker = inner
            .invocations
            .workers
            .get(&fid)
            .cloned()
            .unwrap_or_default();
        if worker.upstream.is_none() {
            worker.upstream = v.env("NVCF_SIM_UPSTREAM");
        }
        if worker.delay_ms.is_none() {
            worker.delay_ms = v.env("NVCF_SIM_ECHO_DELAY_MS").and_then(|d| d.parse().ok());
        }
        (v, worker, inner.invocations.pending.len() >= MAX_PENDING)
    };
    if pending_full {
        return Err(ApiError::invocation(429, "Request queue is full"));
    }
    let worker_path = if path_based {
        version.inference_url().to_string()
    } else {
        worker_path
    };
    let body = axum::body::to_bytes(req.into_body(), 64 * 1024 * 1024)
        .await
        .map_err(|_| ApiError::invocation(400, "Failed to read request body"))?;
    // The legacy exec wrapper carries the real body in `requestBody`.
    let body = if legacy {
        let wrapper: serde_json::Value = serde_json::from_slice(&body)
            .map_err(|_| ApiError::invocation(400, "Failed to parse request body"))?;
        Bytes::from(
            wrapper
                .get("requestBody")
                .cloned()
                .unwrap_or(serde_json::Value::Null)
                .to_string(),
        )
    } else {
        body
    };

    let request_id = Uuid::new_v4();
    let slot = Arc::new(Slot::default());
    {
        let mut inner = state.lock();
        let pending = &mut inner.invocations.pending;
        pending.retain(|_, p| p.accepted.elapsed() < PENDING_TTL);
        let entry = Pending {
            function_id: fid,
            version_id: version.version_id,
            slot: slot.clone(),
            accepted: std::time::Instant::now(),
        };
        pending.insert(request_id, entry);
    }
    let job = run_worker(
        state.clone(),
        worker,
        method,
        worker_path,
        headers,
        body,
        slot.clone(),
        version.version_id,
    );
    tokio::spawn(job);
    let r = wait_for(&state, request_id, &slot, poll_secs).await?;
    Ok(if legacy { exec_wrap(r).await } else { r })
}

/// The legacy `exec` JSON wrapper around a pexec-style answer.
async fn exec_wrap(r: Response) -> Response {
    let status = r.status();
    let (parts, body) = r.into_parts();
    let id = parts
        .headers
        .get("nvcf-reqid")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let bytes = axum::body::to_bytes(body, 64 * 1024 * 1024)
        .await
        .unwrap_or_default();
    let mut v = serde_json::json!({"reqId": id});
    if status == StatusCode::ACCEPTED {
        v["status"] = "in-progress".into();
    } else if status.is_success() {
        v["status"] = "fulfilled".into();
        v["response"] = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| String::from_utf8_lossy(&bytes).into_owned().into());
    } else {
        v["status"] = "errored".into();
        v["errorCode"] = status.as_u16().into();
    }
    let mut out = (status, axum::Json(v)).into_response();
    for name in ["nvcf-reqid", "nvcf-status", "access-control-expose-headers"] {
        if let Some(h) = parts.headers.get(name) {
            out.headers_mut().insert(name, h.clone());
        }
    }
    out
}

/// The function's `rateLimit` for this account: its `perNcaIdRate` entry, else the
/// default rate, unless the account is exempted.
fn function_rate(v: &super::functions::Version, nca: &str) -> Option<String> {
    let rl = v.fields.get("rateLimit")?;
    let exempt = rl
        .get("exemptedNcaIds")
        .and_then(serde_json::Value::as_array)
        .is_some_and(|a| a.iter().any(|x| x == nca));
    if exempt {
        return None;
    }
    let per = rl
        .get("perNcaIdRate")
        .and_then(|m| m.get(nca))
        .and_then(serde_json::Value::as_str);
    per.or_else(|| rl.get("rateLimit").and_then(serde_json::Value::as_str))
        .map(str::to_string)
}

fn parse_id(s: &str) -> ApiResult<Uuid> {
    Uuid::parse_str(s).map_err(|_| ApiError::invocation(400, format!("Invalid id '{s}'")))
}

fn poll_seconds(headers: &HeaderMap, default: u64) -> ApiResult<u64> {
    let Some(v) = headers.get("nvcf-poll-seconds") else {
        return Ok(default);
    };
    let n: i64 = v
        .to_str()
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .ok_or_else(|| ApiError::invocation(400, "NVCF-POLL-SECONDS must be an integer"))?;
    if n > 3600 {
        return Err(ApiError::invocation(
            400,
            "NVCF-POLL-SECONDS must be <= 3600",
        ));
    }
    Ok(n.max(1) as u64)
}

/// Waits up to the poll window; a finished request is removed and relayed, an
/// unfinished one answers 202 and stays for `GET /v2/nvcf/pexec/status/{id}`.
async fn wait_for(state: &SimState, request_id: Uuid, slot: &Slot, poll_secs: u64) -> ApiResult {
    let notified = slot.done.notified();
    let ready = slot.reply.lock().expect("slot lock").is_some();
    if !ready {
        let _ = tokio::time::timeout(Duration::from_secs(poll_secs), notified).await;
    }
    let reply = slot.reply.lock().expect("slot lock").clone();
    match reply {
        Some(r) => {
            state.lock().invocations.pending.remove(&request_id);
            let mut resp = (r.status, r.body).into_response();
            // The worker's headers replace the framework's default content type.
            resp.headers_mut().remove(header::CONTENT_TYPE);
            for (k, v) in r.headers {
                resp.headers_mut().append(k, v);
            }
            Ok(with_ids(resp, request_id))
        }
        None => Ok(with_ids(StatusCode::ACCEPTED.into_response(), request_id)),
    }
}

async fn poll(state: &Arc<SimState>, meta: ReqMeta, headers: &HeaderMap, id: &str) -> ApiResult {
    let caller = authenticate(state, headers, Namespace::Nvcf, meta.token_expired)
        .map_err(|d| denial(meta.service, d))?;
    if !caller.has("invoke_function") {
        return Err(denial(meta.service, Denied::Scope));
    }
    let poll_secs = poll_seconds(headers, 60)?;
    let request_id = Uuid::parse_str(id)
        .map_err(|_| ApiError::invocation(404, format!("Request id '{id}' not found")))?;
    let slot = state
        .lock()
        .invocations
        .pending
        .get(&request_id)
        .map(|p| p.slot.clone());
    let slot =
        slot.ok_or_else(|| ApiError::invocation(404, format!("Request id '{id}' not found")))?;
    wait_for(state, request_id, &slot, poll_secs).await
}

fn with_ids(mut resp: Response, request_id: Uuid) -> Response {
    let status = resp.status();
    let nvcf_status = if status == StatusCode::ACCEPTED {
        "in-progress"
    } else if status.as_u16() < 400 {
        "fulfilled"
    } else {
        "errored"
    };
    let h = resp.headers_mut();
    h.insert(
        "nvcf-reqid",
        HeaderValue::from_str(&request_id.to_string()).expect("uuid is a header value"),
    );
    h.insert("nvcf-status", HeaderValue::from_static(nvcf_status));
    h.insert(
        "access-control-expose-headers",
        HeaderValue::from_static("nvcf-reqid"),
    );
    resp
}

const HOP_BY_HOP: [&str; 9] = [
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "host",
];

#[allow(clippy::too_many_arguments)]
async fn run_worker(
    state: Arc<SimState>,
    worker: Worker,
    method: Method,
    path: String,
    headers: HeaderMap,
    body: Bytes,
    slot: Arc<Slot>,
    version: Uuid,
) {
    if let Some(ms) = worker.delay_ms {
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
    let reply = match worker.upstream {
        None => {
            let ct = headers
                .get(header::CONTENT_TYPE)
                .cloned()
                .unwrap_or(HeaderValue::from_static("application/json"));
            Reply {
                status: StatusCode::OK,
                headers: vec![(header::CONTENT_TYPE, ct)],
                body,
            }
        }
        Some(base) => forward(&state, &base, method, &path, &headers, body).await,
    };
    *slot.reply.lock().expect("slot lock") = Some(reply);
    slot.done.notify_waiters();
    *state.lock().invocations.served.entry(version).or_default() += 1;
}

async fn forward(
    state: &SimState,
    base: &str,
    method: Method,
    path: &str,
    headers: &HeaderMap,
    body: Bytes,
) -> Reply {
    let url = format!("{}{}", base.trim_end_matches('/'), path);
    let mut req = state.http.request(method, &url).body(body);
    for (k, v) in headers {
        if !HOP_BY_HOP.contains(&k.as_str())
            && k != header::AUTHORIZATION
            && k != header::CONTENT_LENGTH
        {
            req = req.header(k, v);
        }
    }
    match req.send().await {
        Ok(r) => {
            let status = r.status();
            let hs: Vec<(HeaderName, HeaderValue)> = r
                .headers()
                .iter()
                .filter(|(k, _)| !HOP_BY_HOP.contains(&k.as_str()) && *k != header::CONTENT_LENGTH)
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            let body = r.bytes().await.unwrap_or_default();
            Reply {
                status,
                headers: hs,
                body,
            }
        }
        // The worker never answered: what http-invocation reports after the poll window.
        Err(_) => Reply {
            status: StatusCode::GATEWAY_TIMEOUT,
            headers: Vec::new(),
            body: Bytes::new(),
        },
    }
}
