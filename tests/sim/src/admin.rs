//! The simulator's own endpoints under `/_sim/` (Host `sim.<domain>`, or the bare
//! listen address): faults, the request log, violations, tokens, worker and state overrides.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put};
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::errors::{ApiError, ApiResult};
use crate::faults::FaultRule;
use crate::services::functions::Status;
use crate::services::invocation::Worker;
use crate::state::{SimState, json};

pub fn router(state: Arc<SimState>) -> Router {
    Router::new()
        .route("/_sim/health", get(|| async { "ok" }))
        .route("/_sim/config", get(config))
        .route(
            "/_sim/faults",
            get(list_faults).post(add_fault).delete(clear_faults),
        )
        .route("/_sim/faults/{id}", delete(remove_fault))
        .route("/_sim/requests", get(requests).delete(clear_requests))
        .route("/_sim/violations", get(violations).delete(clear_violations))
        .route("/_sim/tokens", post(token))
        .route("/_sim/functions/{fid}/worker", put(set_worker))
        .route(
            "/_sim/functions/{fid}/versions/{vid}/status",
            post(set_function_status),
        )
        .route("/_sim/tasks/{id}/status", post(set_task_status))
        .route("/_sim/clusters/{id}/status", post(set_cluster_status))
        .route("/_sim/stats", get(stats))
        .with_state(state)
}

fn body<T: for<'de> Deserialize<'de>>(b: &Bytes) -> ApiResult<T> {
    serde_json::from_slice(b).map_err(|e| ApiError::problem(400, format!("invalid body: {e}")))
}

fn uuid(s: &str) -> ApiResult<Uuid> {
    Uuid::parse_str(s).map_err(|_| ApiError::problem(400, format!("not a UUID: {s}")))
}

async fn config(State(state): State<Arc<SimState>>) -> Response {
    json(
        StatusCode::OK,
        &serde_json::to_value(&state.config).unwrap_or(Value::Null),
    )
}

async fn list_faults(State(state): State<Arc<SimState>>) -> Response {
    json(StatusCode::OK, &json!({ "faults": state.faults.list() }))
}

async fn add_fault(State(state): State<Arc<SimState>>, b: Bytes) -> ApiResult {
    let rule: FaultRule = body(&b)?;
    let id = state.faults.add(rule);
    Ok(json(StatusCode::CREATED, &json!({ "id": id })))
}

async fn clear_faults(State(state): State<Arc<SimState>>) -> StatusCode {
    state.faults.clear();
    StatusCode::NO_CONTENT
}

async fn remove_fault(State(state): State<Arc<SimState>>, Path(id): Path<String>) -> StatusCode {
    if state.faults.remove(&id) {
        StatusCode::NO_CONTENT
    } else {
        StatusCode::NOT_FOUND
    }
}

/// The request log as JSONL.
async fn requests(State(state): State<Arc<SimState>>) -> Response {
    (
        [(header::CONTENT_TYPE, "application/x-ndjson")],
        state.log.to_jsonl(),
    )
        .into_response()
}

async fn clear_requests(State(state): State<Arc<SimState>>) -> StatusCode {
    state.log.clear();
    StatusCode::NO_CONTENT
}

async fn violations(State(state): State<Arc<SimState>>) -> Response {
    json(
        StatusCode::OK,
        &json!({ "violations": state.contract.violations() }),
    )
}

async fn clear_violations(State(state): State<Arc<SimState>>) -> StatusCode {
    state.contract.clear();
    StatusCode::NO_CONTENT
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TokenRequest {
    sub: Option<String>,
    scopes: Vec<String>,
    ttl_seconds: Option<i64>,
}

/// Any JWT the issuer could sign: other scopes (`account_setup`, `list_cluster_groups`),
/// other subjects, or negative lifetimes for expiry tests.
async fn token(State(state): State<Arc<SimState>>, b: Bytes) -> ApiResult {
    let req: TokenRequest = body(&b)?;
    let sub = req
        .sub
        .unwrap_or_else(|| state.config.admin_client_id.clone());
    let (token, claims) = state
        .jwt
        .mint(&sub, &req.scopes, req.ttl_seconds.unwrap_or(3600));
    Ok(json(
        StatusCode::OK,
        &json!({ "value": token, "claims": claims }),
    ))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WorkerRequest {
    upstream: Option<String>,
    delay_ms: Option<u64>,
}

async fn set_worker(
    State(state): State<Arc<SimState>>,
    Path(fid): Path<String>,
    b: Bytes,
) -> ApiResult {
    let fid = uuid(&fid)?;
    let req: WorkerRequest = body(&b)?;
    state.lock().invocations.set_worker(
        fid,
        Worker {
            upstream: req.upstream,
            delay_ms: req.delay_ms,
        },
    );
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(Deserialize)]
struct StatusRequest {
    status: String,
    error: Option<String>,
}

/// Forces a version into any status (DEGRADED, ERROR with a healthInfo entry, ...).
async fn set_function_status(
    State(state): State<Arc<SimState>>,
    Path((fid, vid)): Path<(String, String)>,
    b: Bytes,
) -> ApiResult {
    let (fid, vid) = (uuid(&fid)?, uuid(&vid)?);
    let req: StatusRequest = body(&b)?;
    let status = Status::parse(&req.status)
        .ok_or_else(|| ApiError::problem(400, format!("unknown status {}", req.status)))?;
    let mut inner = state.lock();
    let v = inner
        .functions
        .versions
        .iter_mut()
        .find(|v| v.function_id == fid && v.version_id == vid)
        .ok_or_else(|| ApiError::not_found("no such version"))?;
    v.status = status;
    v.settles_at = None;
    if status == Status::Error
        && let Some(d) = inner
            .functions
            .deployments
            .iter_mut()
            .find(|d| d.version_id == vid)
    {
        d.record_failure(req.error.as_deref().unwrap_or("nvcf-sim: forced ERROR"));
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn set_task_status(
    State(state): State<Arc<SimState>>,
    Path(id): Path<String>,
    b: Bytes,
) -> ApiResult {
    let id = uuid(&id)?;
    let req: StatusRequest = body(&b)?;
    let mut inner = state.lock();
    inner
        .tasks
        .force(id, &req.status, req.error.as_deref())
        .map_err(|e| ApiError::problem(400, e))?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(Deserialize)]
struct ClusterStatusRequest {
    status: String,
    #[serde(default = "healthy_default")]
    healthy: bool,
}

fn healthy_default() -> bool {
    true
}

/// Stands in for NVCA's register and heartbeat calls (READY + healthy reads as READY).
async fn set_cluster_status(
    State(state): State<Arc<SimState>>,
    Path(id): Path<String>,
    b: Bytes,
) -> ApiResult {
    let id = uuid(&id)?;
    let req: ClusterStatusRequest = body(&b)?;
    state
        .lock()
        .clusters
        .force(id, &req.status, req.healthy)
        .map_err(|e| ApiError::problem(400, e))?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn stats(State(state): State<Arc<SimState>>) -> Response {
    let inner = state.lock();
    let served: serde_json::Map<String, Value> = inner
        .invocations
        .served
        .iter()
        .map(|(k, v)| (k.to_string(), json!(v)))
        .collect();
    json(
        StatusCode::OK,
        &json!({
            "functions": inner.functions.versions.len(),
            "deployments": inner.functions.deployments.len(),
            "apiKeys": inner.keys.len(),
            "pendingInvocations": inner.invocations.pending_len(),
            "servedInvocations": served,
            "requestLogEntries": state.log.snapshot().len(),
            "violations": state.contract.violations().len(),
        }),
    )
}
