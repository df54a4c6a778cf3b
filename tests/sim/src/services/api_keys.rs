//! The api-keys service (`api-keys.<domain>`, endpoints.md §2): snake_case JSON, identity
//! from the `Key-Issuer-Id` / `Key-Owner-Id` headers, `Authorization` never read.

use std::sync::{Arc, LazyLock};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use regex::Regex;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::auth::{EVENTS_SERVICE_ID, NVCF_SERVICE_ID, NVCT_SERVICE_ID};
use crate::errors::{ApiError, ApiResult};
use crate::state::{SimState, json, spring_json};
use crate::util::{now, parse_ts, ts};

/// Key prefix of the `ncp` profile.
pub const KEY_PREFIX: &str = "nvapi-nvcf-stg-";
const MAX_KEYS_PER_USER: usize = 8;
const MAX_TTL_DAYS: i64 = 365;
const MAX_AUTHZ_CHARS: usize = 2048;
const SERVICES: [&str; 3] = [NVCF_SERVICE_ID, NVCT_SERVICE_ID, EVENTS_SERVICE_ID];

#[derive(Debug, Clone)]
pub struct Key {
    id: Uuid,
    value: String,
    owner_id: String,
    issuer: String,
    audiences: Vec<String>,
    description: String,
    created_at: OffsetDateTime,
    expires_at: OffsetDateTime,
    authorizations: Value,
}

impl Key {
    fn active(&self) -> bool {
        now() <= self.expires_at
    }

    fn dto(&self, reveal: bool, with_authz: bool) -> Value {
        let value = if reveal {
            self.value.clone()
        } else {
            format!(
                "{KEY_PREFIX}**********{}",
                &self.value[self.value.len() - 3..]
            )
        };
        let mut v = json!({
            "id": self.id,
            "value": value,
            "status": if self.active() { "ACTIVE" } else { "EXPIRED" },
            "owner_type": "USER",
            "owner_id": self.owner_id,
            "issuer_service_id": self.issuer,
            "audience_service_ids": self.audiences,
            "description": self.description,
            "created_at": ts(self.created_at),
            "expires_at": ts(self.expires_at),
        });
        if with_authz {
            v["authorizations"] = self.authorizations.clone();
        }
        v
    }
}

#[derive(Default)]
pub struct Store {
    keys: Vec<Key>,
}

impl Store {
    /// `POST /v1/namespaces/<ns>/evaluations/apikey.allow` as NVCF/NVCT call it: the policy
    /// whose `aud` is the namespace's service, for an ACTIVE key with that audience.
    pub fn evaluate(&self, value: &str, service_id: &str) -> Option<(Value, String)> {
        let key = self.keys.iter().find(|k| k.value == value && k.active())?;
        if !key.audiences.iter().any(|a| a == service_id) {
            return None;
        }
        let policy = key
            .authorizations
            .get("policies")?
            .as_array()?
            .iter()
            .find(|p| p.get("aud").and_then(Value::as_str) == Some(service_id))?;
        Some((policy.clone(), key.owner_id.clone()))
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

pub fn router(state: Arc<SimState>) -> Router {
    Router::new()
        .route("/v1/keys", post(create).get(list))
        .route("/v1/keys/{id}", get(show).delete(remove))
        .route("/v1/keys/{id}/authorizations", put(update_authorizations))
        .route("/v1/introspect", post(introspect))
        .route(
            "/v1/namespaces/{namespace}/evaluations/{rule}",
            post(evaluate),
        )
        .route("/v1/services", get(services))
        .route("/v1/services/{id}", get(service))
        .with_state(state)
}

struct Actor {
    issuer: String,
    owner: String,
}

fn actor(headers: &HeaderMap) -> ApiResult<Actor> {
    let h = |n: &str| {
        headers
            .get(n)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_string)
    };
    let issuer =
        h("key-issuer-id").ok_or_else(|| ApiError::bad_request("Key-Issuer-Id is not set"))?;
    if !SERVICES.contains(&issuer.as_str()) {
        return Err(ApiError::bad_request("Caller service not registered"));
    }
    let owner =
        h("key-owner-id").ok_or_else(|| ApiError::bad_request("Key-Owner-Id is not set"))?;
    Ok(Actor { issuer, owner })
}

static DESCRIPTION: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[a-zA-Z0-9\s_-]{1,64}$").expect("static regex"));

fn new_key_value() -> String {
    let mut body = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut body);
    let body = URL_SAFE_NO_PAD.encode(body);
    let hash = URL_SAFE_NO_PAD.encode(Sha256::digest(body.as_bytes()));
    format!("{KEY_PREFIX}{body}{}", &hash[..21])
}

fn check_authorizations(authz: Option<&Value>) -> ApiResult<Value> {
    let authz = authz
        .filter(|a| !a.is_null())
        .ok_or_else(|| ApiError::bad_request("authorizations can not be null"))?;
    if authz.to_string().len() > MAX_AUTHZ_CHARS {
        return Err(ApiError::bad_request(format!(
            "authorizations size can not be greater than {MAX_AUTHZ_CHARS}"
        )));
    }
    Ok(authz.clone())
}

async fn create(State(state): State<Arc<SimState>>, headers: HeaderMap, body: Bytes) -> ApiResult {
    let actor = actor(&headers)?;
    let req = spring_json(&headers, &body)?;
    let description = req
        .get("description")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if !DESCRIPTION.is_match(description) {
        return Err(ApiError::bad_request("description is invalid"));
    }
    let expires_at = req
        .get("expires_at")
        .and_then(Value::as_str)
        .and_then(parse_ts);
    let created = now();
    let ttl_msg =
        format!("expires_at must be in the future and not more than {MAX_TTL_DAYS} days from now");
    let expires_at = expires_at
        .filter(|e| *e > created && *e <= created + time::Duration::days(MAX_TTL_DAYS))
        .ok_or_else(|| ApiError::bad_request(ttl_msg))?;
    let authorizations = check_authorizations(req.get("authorizations"))?;
    let audiences = match req.get("audience_service_ids") {
        None | Some(Value::Null) => vec![actor.issuer.clone()],
        Some(Value::Array(a)) if a.is_empty() => {
            return Err(ApiError::bad_request("audience_service_ids can't be empty"));
        }
        Some(Value::Array(a)) => {
            let a: Vec<String> = a
                .iter()
                .map(|v| v.as_str().unwrap_or_default().to_string())
                .collect();
            // Each registered service's audience is itself.
            let foreign: Vec<&String> = a.iter().filter(|x| **x != actor.issuer).collect();
            if !foreign.is_empty() {
                let list = foreign
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", ");
                return Err(ApiError::bad_request(format!(
                    "service '{}' cannot use audiences: [{list}]",
                    actor.issuer
                )));
            }
            a
        }
        Some(_) => return Err(ApiError::spring(400, "Failed to read request")),
    };
    let mut inner = state.lock();
    let owned = inner
        .keys
        .keys
        .iter()
        .filter(|k| k.owner_id == actor.owner && k.issuer == actor.issuer)
        .count();
    if owned >= MAX_KEYS_PER_USER {
        return Err(ApiError::bad_request(
            "Actor reached maximum allowed number of keys in service",
        ));
    }
    let key = Key {
        id: Uuid::new_v4(),
        value: new_key_value(),
        owner_id: actor.owner,
        issuer: actor.issuer,
        audiences,
        description: description.to_string(),
        created_at: created,
        expires_at,
        authorizations,
    };
    let dto = key.dto(true, true);
    inner.keys.keys.push(key);
    Ok(json(StatusCode::OK, &dto))
}

async fn list(State(state): State<Arc<SimState>>, headers: HeaderMap) -> ApiResult {
    let actor = actor(&headers)?;
    let inner = state.lock();
    let keys: Vec<Value> = inner
        .keys
        .keys
        .iter()
        .filter(|k| k.owner_id == actor.owner && k.issuer == actor.issuer)
        .map(|k| k.dto(false, false))
        .collect();
    Ok(json(StatusCode::OK, &json!({ "keys": keys })))
}

fn owned_key<'a>(store: &'a mut Store, actor: &Actor, id: &str) -> ApiResult<&'a mut Key> {
    store
        .keys
        .iter_mut()
        .find(|k| {
            k.id.to_string().eq_ignore_ascii_case(id)
                && k.owner_id == actor.owner
                && k.issuer == actor.issuer
        })
        .ok_or_else(|| ApiError::not_found("Key not found"))
}

async fn show(
    State(state): State<Arc<SimState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult {
    let actor = actor(&headers)?;
    let mut inner = state.lock();
    let key = owned_key(&mut inner.keys, &actor, &id)?;
    Ok(json(StatusCode::OK, &key.dto(false, true)))
}

async fn remove(
    State(state): State<Arc<SimState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult {
    let actor = actor(&headers)?;
    let mut inner = state.lock();
    let key_id = owned_key(&mut inner.keys, &actor, &id)?.id;
    inner.keys.keys.retain(|k| k.id != key_id);
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn update_authorizations(
    State(state): State<Arc<SimState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult {
    let actor = actor(&headers)?;
    let req = spring_json(&headers, &body)?;
    let authorizations = check_authorizations(req.get("authorizations"))?;
    let mut inner = state.lock();
    let key = owned_key(&mut inner.keys, &actor, &id)?;
    if !key.active() {
        return Err(ApiError::bad_request("Key is not active"));
    }
    key.authorizations = authorizations;
    Ok(json(StatusCode::OK, &key.dto(false, true)))
}

/// Shared by introspection and evaluation: the key's owner and authorizations.
fn introspect_key(store: &Store, key: &str, audience: &str) -> ApiResult<Value> {
    if key.is_empty() {
        return Err(ApiError::bad_request("api key empty"));
    }
    let body = key
        .strip_prefix(KEY_PREFIX)
        .filter(|b| b.len() == 64)
        .ok_or_else(|| ApiError::bad_request("api key format invalid"))?;
    let hash = URL_SAFE_NO_PAD.encode(Sha256::digest(&body.as_bytes()[..43]));
    if body[43..] != hash[..21] {
        return Err(ApiError::bad_request("Invalid key"));
    }
    if !SERVICES.contains(&audience) {
        return Err(ApiError::bad_request("audience_service_id invalid"));
    }
    let k = store
        .keys
        .iter()
        .find(|k| k.value == key && k.active())
        .ok_or_else(|| ApiError::not_found("Key not found"))?;
    if !k.audiences.iter().any(|a| a == audience) {
        return Err(ApiError::bad_request("audience_service_id invalid"));
    }
    Ok(
        json!({"owner_type": "USER", "owner_id": k.owner_id, "key_id": k.id, "issuer_service_id": k.issuer, "authorizations": k.authorizations}),
    )
}

async fn introspect(
    State(state): State<Arc<SimState>>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let req = spring_json(&headers, &body)?;
    let key = req.get("key").and_then(Value::as_str).unwrap_or_default();
    let audience = req
        .get("audience_service_id")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let v = introspect_key(&state.lock().keys, key, audience)?;
    Ok((
        [(header::CACHE_CONTROL, "max-age=360")],
        json(StatusCode::OK, &v),
    )
        .into_response())
}

static RULE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[\w-]+\.allow$").expect("static regex"));

fn namespace_service(ns: &str) -> Option<&'static str> {
    match ns {
        "nvcf" => Some(NVCF_SERVICE_ID),
        "nvct" => Some(NVCT_SERVICE_ID),
        _ => None,
    }
}

async fn evaluate(
    State(state): State<Arc<SimState>>,
    Path((namespace, rule)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    if !RULE.is_match(&rule) {
        return Err(ApiError::bad_request(format!("Invalid rule name '{rule}'")));
    }
    let service = namespace_service(&namespace)
        .ok_or_else(|| ApiError::bad_request(format!("Invalid namespace '{namespace}'")))?;
    let req = spring_json(&headers, &body)?;
    let key = req
        .pointer("/input/apiKey")
        .and_then(Value::as_str)
        .ok_or_else(|| ApiError::bad_request("input.apiKey is required"))?;
    let inner = state.lock();
    // Introspection failures are not errors here: they come back as `allowed:false`.
    let result = match introspect_key(&inner.keys, key, service) {
        Ok(info) => {
            let policy = info["authorizations"]["policies"]
                .as_array()
                .and_then(|ps| ps.iter().find(|p| p["aud"] == service))
                .cloned();
            match policy {
                Some(policy) => {
                    json!({"allowed": true, "ncaId": state.config.account, "ownerId": info["owner_id"], "policy": policy})
                }
                None => json!({"allowed": false}),
            }
        }
        Err(_) => json!({"allowed": false}),
    };
    let v = json!({"namespace": namespace, "rule_name": rule, "result": result});
    Ok((
        [(header::CACHE_CONTROL, "max-age=60")],
        json(StatusCode::OK, &v),
    )
        .into_response())
}

fn service_dto(id: &str) -> Value {
    json!({"service_id": id, "audience_service_ids": [id], "max_api_keys_per_user": MAX_KEYS_PER_USER,
        "max_api_key_ttl_days": MAX_TTL_DAYS, "max_authz_size_chars": MAX_AUTHZ_CHARS})
}

async fn services() -> Response {
    let all: Vec<Value> = SERVICES.iter().map(|s| service_dto(s)).collect();
    json(StatusCode::OK, &json!({ "services": all }))
}

async fn service(Path(id): Path<String>) -> ApiResult {
    SERVICES
        .iter()
        .find(|s| **s == id)
        .map(|s| json(StatusCode::OK, &service_dto(s)))
        .ok_or_else(|| ApiError::not_found("Service not found"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_have_the_documented_layout() {
        let k = new_key_value();
        assert!(k.starts_with(KEY_PREFIX));
        assert_eq!(k.len(), KEY_PREFIX.len() + 43 + 21);
        let store = Store::default();
        // Well-formed but unknown: 404, not a format error.
        assert_eq!(
            introspect_key(&store, &k, NVCF_SERVICE_ID)
                .unwrap_err()
                .status(),
            StatusCode::NOT_FOUND
        );
        let mut tampered = k.clone();
        tampered.pop();
        tampered.push('!');
        assert_eq!(
            introspect_key(&store, &tampered, NVCF_SERVICE_ID)
                .unwrap_err()
                .status(),
            StatusCode::BAD_REQUEST
        );
    }
}
