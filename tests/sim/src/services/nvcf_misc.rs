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

fn queues(
    state: &SimState,
    meta: &ReqMeta,
    headers: &HeaderMap,
    fid: Uuid,
    vid: Option<Uuid>,
) -> ApiResult {
    let caller = state.caller(meta, headers, Namespace::Nvcf, "queue_details")?;
    let mut inner = state.lock();
    inner.functions.tick(state.config.deploy_outcome);
    let versions = inner.functions.of_function(&caller.nca_id, fid);
    let chosen: Vec<_> = versions
        .into_iter()
        .filter(|v| vid.is_none_or(|x| x == v.version_id))
        .collect();
    if chosen.is_empty() {
        return Err(match vid {
            Some(v) => not_found_version(fid, v, &caller.nca_id),
            None => ApiError::not_found(format!(
                "Function id '{fid}': Not found in account '{}'",
                caller.nca_id
            )),
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
    queues(&state, &meta, &headers, fid, None)
}

async fn queue_version(
    State(state): State<Arc<SimState>>,
    Extension(meta): Extension<ReqMeta>,
    Path((fid, vid)): Path<(String, String)>,
    headers: HeaderMap,
) -> ApiResult {
    let (fid, vid) = version_ids(&fid, &vid)?;
    queues(&state, &meta, &headers, fid, Some(vid))
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

async fn function_secrets(
    State(state): State<Arc<SimState>>,
    Extension(meta): Extension<ReqMeta>,
    Path((fid, vid)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let (fid, vid) = version_ids(&fid, &vid)?;
    let caller = state.caller(&meta, &headers, Namespace::Nvcf, "update_secrets")?;
    let req = spring_json(&headers, &body)?;
    let names = secret_names(&req, "updateSecretsRequest")?;
    let mut inner = state.lock();
    let v = inner
        .functions
        .version_mut(&caller.nca_id, fid, vid)
        .ok_or_else(|| not_found_version(fid, vid, &caller.nca_id))?;
    for n in names {
        if !v.secrets.contains(&n) {
            v.secrets.push(n);
        }
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn telemetry_secrets(
    State(state): State<Arc<SimState>>,
    Extension(meta): Extension<ReqMeta>,
    Path(tid): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    path_uuid("telemetryId", &tid)?;
    state.caller(&meta, &headers, Namespace::Nvcf, "update_secrets")?;
    let req = spring_json(&headers, &body)?;
    secret_names(&req, "updateSecretsRequest")?;
    Ok(StatusCode::NO_CONTENT.into_response())
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
