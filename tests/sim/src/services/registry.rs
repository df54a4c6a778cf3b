//! Registry credentials (`/v2/nvcf/registry-credentials*`, scope `manage_registry_credentials`;
//! endpoints.md §3.4).

use std::collections::HashMap;
use std::sync::{Arc, LazyLock};

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Extension, Router};
use regex::Regex;
use serde_json::{Value, json};
use time::OffsetDateTime;
use uuid::Uuid;

use super::{bean, has, path_uuid, str_field};
use crate::auth::Namespace;
use crate::errors::{ApiError, ApiResult};
use crate::state::{ReqMeta, SimState, json, spring_json};
use crate::util::{now, ts};

const ARTIFACT_TYPES: [&str; 4] = ["CONTAINER", "HELM", "MODEL", "RESOURCE"];
const SCOPE: &str = "manage_registry_credentials";
const OBJ: &str = "registryCredentialRequest";

#[derive(Debug, Clone)]
pub struct Credential {
    id: Uuid,
    nca_id: String,
    hostname: String,
    name: String,
    artifact_types: Vec<String>,
    tags: Option<Value>,
    description: Option<String>,
    created_at: OffsetDateTime,
    updated_at: OffsetDateTime,
}

impl Credential {
    fn dto(&self) -> Value {
        let mut v = json!({
            "registryCredentialId": self.id, "ncaId": self.nca_id, "registryCredentialName": self.name,
            "registryName": self.hostname, "registryHostname": self.hostname, "artifactTypes": self.artifact_types,
            "provisionedBy": "USER", "keyType": "USERNAME_PASSWORD",
            "lastUpdatedAt": ts(self.updated_at), "createdAt": ts(self.created_at),
        });
        if let Some(t) = &self.tags {
            v["tags"] = t.clone();
        }
        if let Some(d) = &self.description {
            v["description"] = json!(d);
        }
        v
    }
}

#[derive(Default)]
pub struct Store {
    credentials: Vec<Credential>,
}

pub fn router(state: Arc<SimState>) -> Router {
    Router::new()
        .route("/v2/nvcf/registry-credentials", get(list).post(create))
        .route(
            "/v2/nvcf/registry-credentials/{id}",
            get(show).patch(update).delete(remove),
        )
        .route("/v2/nvcf/recognized-registries", get(recognized))
        .with_state(state)
}

static HOSTNAME: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^([a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?\.)*[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(:[0-9]{1,5})?$").expect("static regex")
});

fn artifact_types(v: Option<&Value>, field: &str) -> ApiResult<Vec<String>> {
    let list = v
        .and_then(Value::as_array)
        .filter(|l| !l.is_empty())
        .ok_or_else(|| bean(OBJ, field, v.unwrap_or(&Value::Null), "must not be empty"))?;
    let mut out = Vec::new();
    for t in list {
        let s = t.as_str().unwrap_or_default();
        let canon = ARTIFACT_TYPES
            .iter()
            .find(|a| a.eq_ignore_ascii_case(s))
            .ok_or_else(|| ApiError::spring(400, "Failed to read request"))?;
        if !out.iter().any(|o: &String| o == canon) {
            out.push(canon.to_string());
        }
    }
    Ok(out)
}

fn check_secret(v: &Value) -> ApiResult<()> {
    let s = v
        .get("secret")
        .filter(|s| s.is_object())
        .ok_or_else(|| bean(OBJ, "secret", &Value::Null, "must not be null"))?;
    if str_field(s, "name").is_none_or(str::is_empty)
        || str_field(s, "value").is_none_or(|v| !v.contains(':'))
    {
        return Err(bean(
            OBJ,
            "secret",
            &json!("***"),
            "secret requires a name and a 'username:password' value",
        ));
    }
    Ok(())
}

async fn create(
    State(state): State<Arc<SimState>>,
    Extension(meta): Extension<ReqMeta>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let caller = state.caller(&meta, &headers, Namespace::Nvcf, SCOPE)?;
    let req = spring_json(&headers, &body)?;
    let host = str_field(&req, "registryHostname").unwrap_or_default();
    if host.is_empty() || host.len() > 255 || !HOSTNAME.is_match(host) {
        return Err(bean(
            OBJ,
            "registryHostname",
            req.get("registryHostname").unwrap_or(&Value::Null),
            "Invalid registry hostname",
        ));
    }
    check_secret(&req)?;
    let types = artifact_types(req.get("artifactTypes"), "artifactTypes")?;
    super::functions::check_tags(OBJ, &req)?;
    if str_field(&req, "description").is_some_and(|d| d.chars().count() > 256) {
        return Err(bean(
            OBJ,
            "description",
            &req["description"],
            "size must be between 0 and 256",
        ));
    }
    let t = now();
    let c = Credential {
        id: Uuid::new_v4(),
        nca_id: caller.nca_id,
        hostname: host.into(),
        name: req["secret"]["name"].as_str().unwrap_or_default().into(),
        artifact_types: types,
        tags: req.get("tags").filter(|t| !t.is_null()).cloned(),
        description: str_field(&req, "description").map(str::to_string),
        created_at: t,
        updated_at: t,
    };
    let dto = c.dto();
    state.lock().registry.credentials.push(c);
    Ok(json(StatusCode::OK, &json!({ "registryCredential": dto })))
}

/// Repeated `artifactType=` / `provisionedBy=` query parameters (defaults: all).
async fn list(
    State(state): State<Arc<SimState>>,
    Extension(meta): Extension<ReqMeta>,
    headers: HeaderMap,
    uri: Uri,
) -> ApiResult {
    let caller = state.caller(&meta, &headers, Namespace::Nvcf, SCOPE)?;
    let mut filters: HashMap<String, Vec<String>> = HashMap::new();
    for pair in uri
        .query()
        .unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
    {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        filters
            .entry(k.to_string())
            .or_default()
            .push(v.to_ascii_uppercase());
    }
    let types = filters.get("artifactType");
    if types.is_some_and(|t| t.iter().any(|x| !ARTIFACT_TYPES.contains(&x.as_str()))) {
        return Err(ApiError::spring(400, "Failed to convert 'artifactType'"));
    }
    let by = filters.get("provisionedBy");
    let inner = state.lock();
    let list: Vec<Value> = inner
        .registry
        .credentials
        .iter()
        .filter(|c| c.nca_id == caller.nca_id)
        .filter(|c| types.is_none_or(|t| c.artifact_types.iter().any(|a| t.contains(a))))
        .filter(|_| by.is_none_or(|b| b.iter().any(|x| x == "USER")))
        .map(Credential::dto)
        .collect();
    Ok(json(
        StatusCode::OK,
        &json!({ "registryCredentials": list }),
    ))
}

fn not_found(id: Uuid) -> ApiError {
    ApiError::not_found(format!("Registry credential id '{id}': Not found"))
}

async fn show(
    State(state): State<Arc<SimState>>,
    Extension(meta): Extension<ReqMeta>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> ApiResult {
    let id = path_uuid("registryCredentialId", &id)?;
    let caller = state.caller(&meta, &headers, Namespace::Nvcf, SCOPE)?;
    let inner = state.lock();
    let c = inner
        .registry
        .credentials
        .iter()
        .find(|c| c.id == id && c.nca_id == caller.nca_id)
        .ok_or_else(|| not_found(id))?;
    Ok(json(
        StatusCode::OK,
        &json!({ "registryCredential": c.dto() }),
    ))
}

async fn update(
    State(state): State<Arc<SimState>>,
    Extension(meta): Extension<ReqMeta>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let id = path_uuid("registryCredentialId", &id)?;
    let caller = state.caller(&meta, &headers, Namespace::Nvcf, SCOPE)?;
    let req = spring_json(&headers, &body)?;
    if !has(&req, "secret") && !has(&req, "artifactTypeEnums") {
        return Err(ApiError::bad_request(
            "Invalid request: at least one of 'secret' or 'artifactTypeEnums' must be specified",
        ));
    }
    if has(&req, "secret") {
        check_secret(&req)?;
    }
    let add = if has(&req, "artifactTypeEnums") {
        artifact_types(req.get("artifactTypeEnums"), "artifactTypeEnums")?
    } else {
        Vec::new()
    };
    let mut inner = state.lock();
    let c = inner
        .registry
        .credentials
        .iter_mut()
        .find(|c| c.id == id && c.nca_id == caller.nca_id)
        .ok_or_else(|| not_found(id))?;
    for t in add {
        if !c.artifact_types.contains(&t) {
            c.artifact_types.push(t);
        }
    }
    c.updated_at = now();
    Ok(json(
        StatusCode::OK,
        &json!({ "registryCredential": c.dto() }),
    ))
}

async fn remove(
    State(state): State<Arc<SimState>>,
    Extension(meta): Extension<ReqMeta>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> ApiResult {
    let id = path_uuid("registryCredentialId", &id)?;
    let caller = state.caller(&meta, &headers, Namespace::Nvcf, SCOPE)?;
    let mut inner = state.lock();
    let before = inner.registry.credentials.len();
    inner
        .registry
        .credentials
        .retain(|c| !(c.id == id && c.nca_id == caller.nca_id));
    if inner.registry.credentials.len() == before {
        return Err(not_found(id));
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn recognized(
    State(state): State<Arc<SimState>>,
    Extension(meta): Extension<ReqMeta>,
    headers: HeaderMap,
) -> ApiResult {
    state.caller(&meta, &headers, Namespace::Nvcf, SCOPE)?;
    let entry = |host: &str| json!({"registryName": host, "registryHostname": host});
    Ok(json(
        StatusCode::OK,
        &json!({"recognizedRegistries": {
            "CONTAINER": [entry("nvcr.io"), entry("docker.io")],
            "HELM": [entry("helm.ngc.nvidia.com")],
            "MODEL": [entry("api.ngc.nvidia.com")],
            "RESOURCE": [entry("api.ngc.nvidia.com")],
        }}),
    ))
}
