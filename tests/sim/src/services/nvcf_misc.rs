//! The smaller NVCF API controllers: queues, secrets, cluster groups, health, the
//! OpenID discovery the installer probes, and the legacy pexec stubs (endpoints.md §3.3, §3.6, §8).

use std::sync::{Arc, LazyLock};

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{any, get, put};
use axum::{Extension, Router};
use regex::Regex;
use serde_json::{Value, json};
use uuid::Uuid;

use super::functions::not_found_version;
use super::{bean, path_uuid, str_field, version_ids};
use crate::auth::{Denied, Namespace, authenticate, denial};
use crate::errors::{ApiError, ApiResult};
use crate::state::{ReqMeta, SimState, json, spring_json};

pub fn router(state: Arc<SimState>) -> Router {
    Router::new()
        .route("/health", get(health))
        .route("/.well-known/openid-configuration", get(openid))
        .route("/.well-known/jwks.json", get(jwks))
        .route("/v2/nvcf/queues/functions/{fid}", get(queue_function))
        .route(
            "/v2/nvcf/queues/functions/{fid}/versions/{vid}",
            get(queue_version),
        )
        .route("/v2/nvcf/queues/{rid}/position", get(position))
        .route(
            "/v2/nvcf/secrets/functions/{fid}/versions/{vid}",
            put(function_secrets),
        )
        .route("/v2/nvcf/secrets/telemetries/{tid}", put(telemetry_secrets))
        // The cross-account variants super-admins use (`admin queues|secrets`).
        .route(
            "/v2/nvcf/accounts/{nca}/queues/functions/{fid}",
            get(account_queue_function),
        )
        .route(
            "/v2/nvcf/accounts/{nca}/queues/functions/{fid}/versions/{vid}",
            get(account_queue_version),
        )
        .route(
            "/v2/nvcf/accounts/{nca}/secrets/functions/{fid}/versions/{vid}",
            put(account_function_secrets),
        )
        .route(
            "/v2/nvcf/accounts/{nca}/secrets/telemetries/{tid}",
            put(account_telemetry_secrets),
        )
        .route("/v2/nvcf/clusterGroups", get(cluster_groups))
        .route("/v2/nvcf/pexec/functions/{*rest}", any(pexec_stub))
        .with_state(state)
}

async fn health() -> impl IntoResponse {
    json(StatusCode::OK, &json!({"status": "UP"}))
}

async fn openid(State(state): State<Arc<SimState>>) -> impl IntoResponse {
    let base = format!("http://api.{}", state.config.domain);
    json(
        StatusCode::OK,
        &json!({"issuer": crate::auth::ISSUER, "jwks_uri": format!("{base}/.well-known/jwks.json")}),
    )
}

async fn jwks(State(state): State<Arc<SimState>>) -> impl IntoResponse {
    json(StatusCode::OK, &state.jwt.jwks())
}

/// The controller exists only for OpenAPI generation: always 404 on the API host.
async fn pexec_stub() -> ApiError {
    ApiError::not_found("Not Found")
}

/// The account a call acts on: the caller's own, or (on an `/accounts/{nca}/` path) any
/// account, for a caller that also holds `account_setup`.
fn account(
    state: &SimState,
    meta: &ReqMeta,
    headers: &HeaderMap,
    scope: &str,
    on: Option<String>,
) -> ApiResult<String> {
    let caller = state.caller(meta, headers, Namespace::Nvcf, scope)?;
    match on {
        Some(nca) if nca != caller.nca_id => {
            if !caller.has("account_setup") {
                return Err(denial(meta.service, Denied::Scope));
            }
            Ok(nca)
        }
        _ => Ok(caller.nca_id),
    }
}

fn queues(
    state: &SimState,
    meta: &ReqMeta,
    headers: &HeaderMap,
    on: Option<String>,
    fid: Uuid,
    vid: Option<Uuid>,
) -> ApiResult {
    let nca = account(state, meta, headers, "queue_details", on)?;
    let mut inner = state.lock();
    inner.functions.tick(state.config.deploy_outcome);
    let versions = inner.functions.of_function(&nca, fid);
    let chosen: Vec<_> = versions
        .into_iter()
        .filter(|v| vid.is_none_or(|x| x == v.version_id))
        .collect();
    if chosen.is_empty() {
        return Err(match vid {
            Some(v) => not_found_version(fid, v, &nca),
            None => {
                ApiError::not_found(format!("Function id '{fid}': Not found in account '{nca}'"))
            }
        });
    }
    let list: Vec<Value> = chosen
        .iter()
        .map(|v| json!({"functionVersionId": v.version_id, "functionName": v.name, "functionStatus": v.status.as_str(), "queueDepth": inner.invocations.depth(v.version_id)}))
        .collect();
    Ok(json(
        StatusCode::OK,
        &json!({"functionId": fid, "queues": list}),
    ))
}

async fn queue_function(
    State(state): State<Arc<SimState>>,
    Extension(meta): Extension<ReqMeta>,
    Path(fid): Path<String>,
    headers: HeaderMap,
) -> ApiResult {
    let fid = path_uuid("functionId", &fid)?;
    queues(&state, &meta, &headers, None, fid, None)
}

async fn account_queue_function(
    State(state): State<Arc<SimState>>,
    Extension(meta): Extension<ReqMeta>,
    Path((nca, fid)): Path<(String, String)>,
    headers: HeaderMap,
) -> ApiResult {
    let fid = path_uuid("functionId", &fid)?;
    queues(&state, &meta, &headers, Some(nca), fid, None)
}

async fn account_queue_version(
    State(state): State<Arc<SimState>>,
    Extension(meta): Extension<ReqMeta>,
    Path((nca, fid, vid)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> ApiResult {
    let (fid, vid) = version_ids(&fid, &vid)?;
    queues(&state, &meta, &headers, Some(nca), fid, Some(vid))
}

async fn queue_version(
    State(state): State<Arc<SimState>>,
    Extension(meta): Extension<ReqMeta>,
    Path((fid, vid)): Path<(String, String)>,
    headers: HeaderMap,
) -> ApiResult {
    let (fid, vid) = version_ids(&fid, &vid)?;
    queues(&state, &meta, &headers, None, fid, Some(vid))
}

async fn position(
    State(state): State<Arc<SimState>>,
    Extension(meta): Extension<ReqMeta>,
    Path(rid): Path<String>,
    headers: HeaderMap,
) -> ApiResult {
    let rid = path_uuid("requestId", &rid)?;
    state.caller(&meta, &headers, Namespace::Nvcf, "queue_details")?;
    let inner = state.lock();
    let (fid, vid, pos) = inner
        .invocations
        .position(rid)
        .ok_or_else(|| ApiError::not_found(format!("Request id '{rid}': Not found")))?;
    Ok(json(
        StatusCode::OK,
        &json!({"functionVersionId": vid, "functionId": fid, "positionInQueue": pos}),
    ))
}

static SECRET_NAME: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[a-z0-9A-Z][a-z0-9A-Z_.\-]*$").expect("static regex"));

/// `{"secrets":[{name,value}]}` → the names, with the create-time rules.
pub fn secret_names(req: &Value, object: &str) -> ApiResult<Vec<String>> {
    let list = req
        .get("secrets")
        .and_then(Value::as_array)
        .filter(|l| !l.is_empty())
        .ok_or_else(|| {
            bean(
                object,
                "secrets",
                req.get("secrets").unwrap_or(&Value::Null),
                "must not be empty",
            )
        })?;
    let mut names: Vec<String> = Vec::new();
    for s in list {
        let name = str_field(s, "name").unwrap_or_default();
        if name.is_empty() || name.len() > 48 || !SECRET_NAME.is_match(name) {
            return Err(bean(
                object,
                "secrets[].name",
                &s["name"],
                "Invalid secret name",
            ));
        }
        if s.get("value").is_none_or(Value::is_null) {
            return Err(bean(
                object,
                "secrets[].value",
                &Value::Null,
                "must not be null",
            ));
        }
        if names.iter().any(|n| n == name) {
            return Err(ApiError::bad_request(
                "Duplicate secrets keys in the payload",
            ));
        }
        names.push(name.into());
    }
    Ok(names)
}

fn update_function_secrets(
    state: &SimState,
    meta: &ReqMeta,
    headers: &HeaderMap,
    on: Option<String>,
    (fid, vid): (String, String),
    body: &Bytes,
) -> ApiResult {
    let (fid, vid) = version_ids(&fid, &vid)?;
    let nca = account(state, meta, headers, "update_secrets", on)?;
    let req = spring_json(headers, body)?;
    let names = secret_names(&req, "updateSecretsRequest")?;
    let mut inner = state.lock();
    let v = inner
        .functions
        .version_mut(&nca, fid, vid)
        .ok_or_else(|| not_found_version(fid, vid, &nca))?;
    for n in names {
        if !v.secrets.contains(&n) {
            v.secrets.push(n);
        }
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn function_secrets(
    State(state): State<Arc<SimState>>,
    Extension(meta): Extension<ReqMeta>,
    Path(ids): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    update_function_secrets(&state, &meta, &headers, None, ids, &body)
}

async fn account_function_secrets(
    State(state): State<Arc<SimState>>,
    Extension(meta): Extension<ReqMeta>,
    Path((nca, fid, vid)): Path<(String, String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    update_function_secrets(&state, &meta, &headers, Some(nca), (fid, vid), &body)
}

fn update_telemetry_secrets(
    state: &SimState,
    meta: &ReqMeta,
    headers: &HeaderMap,
    on: Option<String>,
    tid: &str,
    body: &Bytes,
) -> ApiResult {
    path_uuid("telemetryId", tid)?;
    account(state, meta, headers, "update_secrets", on)?;
    let req = spring_json(headers, body)?;
    secret_names(&req, "updateSecretsRequest")?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn telemetry_secrets(
    State(state): State<Arc<SimState>>,
    Extension(meta): Extension<ReqMeta>,
    Path(tid): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    update_telemetry_secrets(&state, &meta, &headers, None, &tid, &body)
}

async fn account_telemetry_secrets(
    State(state): State<Arc<SimState>>,
    Extension(meta): Extension<ReqMeta>,
    Path((nca, tid)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    update_telemetry_secrets(&state, &meta, &headers, Some(nca), &tid, &body)
}

/// `list_cluster_groups` has no `apikey:` form and is not in the admin JWT.
async fn cluster_groups(
    State(state): State<Arc<SimState>>,
    Extension(meta): Extension<ReqMeta>,
    headers: HeaderMap,
) -> ApiResult {
    let caller = authenticate(&state, &headers, Namespace::Nvcf, meta.token_expired)
        .map_err(|d| denial(meta.service, d))?;
    if !caller.has_jwt_scope("list_cluster_groups") {
        return Err(denial(meta.service, Denied::Scope));
    }
    let inner = state.lock();
    let groups: Vec<Value> = inner
        .backends(&state.config)
        .iter()
        .map(|b| {
            let gpus: Vec<Value> = b
                .gpus
                .iter()
                .map(|g| {
                    let types: Vec<Value> = g.instance_types.iter().enumerate().map(|(i, t)| json!({"name": t, "description": t, "default": i == 0})).collect();
                    json!({"name": g.name, "instanceTypes": types})
                })
                .collect();
            let clusters: Vec<Value> = inner.clusters.in_group(&b.name).iter().map(|(id, name)| json!({"k8sVersion": "v1.30.0", "id": id, "name": name})).collect();
            json!({"id": Uuid::new_v5(&Uuid::NAMESPACE_OID, b.name.as_bytes()), "name": b.name, "ncaId": caller.nca_id, "authorizedNcaIds": [], "gpus": gpus, "clusters": clusters})
        })
        .collect();
    Ok(json(StatusCode::OK, &json!({ "clusterGroups": groups })))
}
