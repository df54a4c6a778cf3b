//! ICMS / SIS cluster registration (`sis.<domain>`, endpoints.md §6.1, lifecycles.md §5):
//! `{"error": …}` bodies, JWKS and issuer validation, clusters feeding the GPU catalogue.

use std::sync::{Arc, LazyLock};

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, put};
use axum::{Extension, Router};
use regex::Regex;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use uuid::Uuid;

use super::functions::Status;
use super::str_field;
use crate::auth::{Namespace, authenticate, denial};
use crate::config::{Backend, GpuType};
use crate::contract::{Shape, Spec};
use crate::errors::{ApiError, ApiResult};
use crate::state::{ReqMeta, SimState};
use crate::util::{now, ts};

const CLOUD_PROVIDERS: [&str; 9] = [
    "ON-PREM",
    "DGX-CLOUD",
    "AWS",
    "OCI",
    "AZURE",
    "GDN",
    "GFN",
    "GCP",
    "NCP",
];
/// A subset of `ClusterRegion.java`'s fixed list.
const REGIONS: [&str; 24] = [
    "us-west-1",
    "us-west-2",
    "us-east-1",
    "us-east-2",
    "us-central1",
    "us-west1",
    "us-east1",
    "eu-west-1",
    "eu-west-2",
    "eu-central-1",
    "eu-north-1",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-southeast-1",
    "ap-south-1",
    "eastus",
    "eastus2",
    "westus",
    "westus2",
    "westus3",
    "centralus",
    "northeurope",
    "westeurope",
    "ca-central-1",
];
const KNOWN_ATTRIBUTES: [&str; 3] = ["HIPAA_COMPLIANT", "CONFIDENTIAL_COMPUTE", "SOC2_COMPLIANT"];
const MAX_JWKS_BYTES: usize = 65_536;
const RFC1123: &str = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*";

#[derive(Debug, Clone)]
pub struct Cluster {
    id: Uuid,
    group_id: Uuid,
    nca_id: String,
    fields: Map<String, Value>,
    status: String,
    healthy: bool,
    last_connected: Option<OffsetDateTime>,
    fingerprints: Vec<String>,
}

impl Cluster {
    fn name(&self) -> &str {
        self.fields
            .get("clusterName")
            .and_then(Value::as_str)
            .unwrap_or_default()
    }

    fn group(&self) -> &str {
        self.fields
            .get("clusterGroupName")
            .and_then(Value::as_str)
            .unwrap_or_default()
    }

    /// `ClusterListingService`: a READY cluster without a healthy heartbeat reads as UNHEALTHY.
    fn dto(&self) -> Value {
        let mut v = self.fields.clone();
        v.remove("jwks");
        v.remove("oidcIssuer");
        let status = if self.status == "READY" && !self.healthy {
            "UNHEALTHY"
        } else {
            &self.status
        };
        v.insert("clusterId".into(), json!(self.id));
        v.insert("clusterGroupId".into(), json!(self.group_id));
        v.insert("status".into(), json!(status));
        for k in [
            "authorizedNCAIds",
            "capabilities",
            "attributes",
            "customAttributes",
            "gpus",
        ] {
            v.entry(k).or_insert(json!([]));
        }
        v.entry("clusterSource").or_insert(json!("ngc-managed"));
        if let Some(t) = self.last_connected {
            v.insert("nvcaLastConnected".into(), json!(ts(t)));
        }
        Value::Object(v)
    }
}

#[derive(Default)]
pub struct Store {
    clusters: Vec<Cluster>,
}

impl Store {
    /// The JWKS document held for a cluster, so tests can see what a rotation stored.
    pub fn jwks(&self, cluster_id: &str) -> Option<String> {
        self.clusters
            .iter()
            .find(|c| c.id.to_string() == cluster_id)
            .and_then(|c| c.fields.get("jwks"))
            .and_then(Value::as_str)
            .map(str::to_owned)
    }
}

impl Store {
    /// One backend per cluster group, with the GPUs its clusters registered.
    pub fn backends(&self) -> Vec<Backend> {
        let mut out: Vec<Backend> = Vec::new();
        for c in &self.clusters {
            let gpus: Vec<GpuType> = c
                .fields
                .get("gpus")
                .and_then(Value::as_array)
                .map(|g| {
                    g.iter()
                        .map(|g| GpuType {
                            name: g["name"].as_str().unwrap_or_default().into(),
                            instance_types: g["instanceTypes"]
                                .as_array()
                                .map(|t| {
                                    t.iter()
                                        .filter_map(|t| t["name"].as_str().map(str::to_string))
                                        .collect()
                                })
                                .unwrap_or_default(),
                        })
                        .collect()
                })
                .unwrap_or_default();
            match out.iter_mut().find(|b| b.name == c.group()) {
                Some(b) => b.gpus.extend(gpus),
                None => out.push(Backend {
                    name: c.group().into(),
                    gpus,
                }),
            }
        }
        out
    }

    pub fn in_group(&self, group: &str) -> Vec<(Uuid, String)> {
        self.clusters
            .iter()
            .filter(|c| c.group() == group)
            .map(|c| (c.id, c.name().to_string()))
            .collect()
    }

    /// Stands in for NVCA's register/heartbeat (which need a cluster PSAT).
    pub fn force(&mut self, id: Uuid, status: &str, healthy: bool) -> Result<(), String> {
        let status = status.to_ascii_uppercase();
        let known = [
            "READY",
            "PAUSED",
            "FAILED",
            "ABANDONED",
            "NOT_READY",
            "UNHEALTHY",
            "DELETED",
            "CORDON",
            "CORDON_AND_DRAIN",
        ];
        if !known.contains(&status.as_str()) {
            return Err(format!("unknown cluster status {status}"));
        }
        let c = self
            .clusters
            .iter_mut()
            .find(|c| c.id == id)
            .ok_or("no such cluster")?;
        c.status = status;
        c.healthy = healthy;
        c.last_connected = Some(now());
        Ok(())
    }
}

pub fn router(state: Arc<SimState>) -> Router {
    let mut r = Router::new();
    for prefix in ["/v1/accounts", "/v1/si/accounts"] {
        r = r
            .route(
                &format!("{prefix}/{{nca}}/clusters"),
                get(list).post(create),
            )
            .route(
                &format!("{prefix}/{{nca}}/clusters/{{cid}}"),
                get(show).put(update).delete(remove),
            )
            .route(&format!("{prefix}/{{nca}}/clusterVersions"), get(versions));
    }
    r.route("/v1/nvca/clusters/{cid}/jwks", put(rotate_jwks))
        .route("/v1/health", get(health))
        .route("/health", get(health))
        .fallback(|| async { ApiError::sis(404, "Not Found") })
        .with_state(state)
}

async fn health() -> impl IntoResponse {
    axum::Json(json!({"status": "UP"}))
}

fn authorize(state: &SimState, meta: &ReqMeta, headers: &HeaderMap) -> ApiResult<String> {
    let caller = authenticate(state, headers, Namespace::Nvcf, meta.token_expired)
        .map_err(|d| denial(meta.service, d))?;
    caller
        .require("cluster-management")
        .map_err(|d| denial(meta.service, d))?;
    Ok(caller.nca_id)
}

fn sis_json(body: &Bytes) -> ApiResult<Value> {
    match serde_json::from_slice::<Value>(body) {
        Ok(v) if v.is_object() => Ok(v),
        Ok(_) => Err(ApiError::sis(
            400,
            "JSON parse error: expected a JSON object",
        )),
        Err(e) => Err(ApiError::sis(400, format!("JSON parse error: {e}"))),
    }
}

fn required<'a>(req: &'a Value, field: &str, message: &str) -> ApiResult<&'a str> {
    str_field(req, field)
        .filter(|s| !s.trim().is_empty())
        .ok_or_else(|| ApiError::sis(400, message.to_string()))
}

/// Nimbus `JWKSet.parse` as far as ICMS relies on it; returns one fingerprint per key.
fn parse_jwks(text: &str) -> Result<Vec<String>, String> {
    let doc: Value = serde_json::from_str(text).map_err(|e| format!("Invalid JSON: {e}"))?;
    let keys = doc
        .get("keys")
        .and_then(Value::as_array)
        .ok_or("Missing required \"keys\" member")?;
    let mut prints = Vec::new();
    for k in keys {
        let kty = k
            .get("kty")
            .and_then(Value::as_str)
            .ok_or("Missing required \"kty\" member")?;
        let members: &[&str] = match kty {
            "RSA" => &["n", "e"],
            "EC" => &["crv", "x", "y"],
            "OKP" => &["crv", "x"],
            "oct" => &["k"],
            other => return Err(format!("Unsupported key type \"{other}\"")),
        };
        let mut material = String::from(kty);
        for m in members {
            let v = k
                .get(*m)
                .and_then(Value::as_str)
                .ok_or_else(|| format!("Missing required \"{m}\" member"))?;
            material.push('|');
            material.push_str(v);
        }
        prints.push(format!("{:x}", Sha256::digest(material.as_bytes())));
    }
    Ok(prints)
}

fn check_issuer(issuer: &str) -> ApiResult<String> {
    let trimmed = issuer.trim();
    let ok = (trimmed.starts_with("https://") || trimmed.starts_with("http://"))
        && trimmed.len() > "https://".len()
        && !trimmed.contains(char::is_whitespace);
    if ok {
        Ok(trimmed.to_string())
    } else {
        Err(ApiError::sis(
            400,
            format!("Invalid oidcIssuer '{trimmed}': must be an absolute http(s) URL"),
        ))
    }
}

fn check_reuse(store: &Store, prints: &[String], own: Option<Uuid>) -> ApiResult<()> {
    match store
        .clusters
        .iter()
        .find(|c| Some(c.id) != own && c.fingerprints.iter().any(|f| prints.contains(f)))
    {
        Some(c) => Err(ApiError::sis(
            409,
            format!(
                "JWKS signing keys are already registered by cluster {}. Each cluster must have unique signing keys.",
                c.id
            ),
        )),
        None => Ok(()),
    }
}

static NAME: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(&format!("^{RFC1123}$")).expect("static regex"));
static NCA_ID: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[a-zA-Z0-9_-]{43}$").expect("static regex"));

/// Fields shared by create and update.
fn check_common(req: &Value) -> ApiResult<String> {
    required(req, "clusterGroupName", "clusterGroupName must be provided")?;
    let cp = req
        .get("cloudProvider")
        .filter(|c| !c.is_null())
        .ok_or_else(|| ApiError::sis(400, "cloudProvider must not be null"))?;
    let cp = cp.as_str().unwrap_or_default();
    if !CLOUD_PROVIDERS.contains(&cp) {
        return Err(ApiError::sis(
            400,
            format!(
                "JSON parse error: Cannot deserialize value of type `CloudProviderEnum` from String \"{cp}\": not one of the values accepted for Enum class: [{}]",
                CLOUD_PROVIDERS.join(", ")
            ),
        ));
    }
    let region = required(req, "region", "region must be provided")?.to_ascii_lowercase();
    if !REGIONS.contains(&region.as_str()) {
        return Err(ApiError::sis(
            400,
            format!("The provided {region} region is not one of the supported regions"),
        ));
    }
    required(req, "nvcaVersion", "nvcaVersion must be provided")?;
    for id in req
        .get("authorizedNCAIds")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let id = id.as_str().unwrap_or_default();
        if id != "*" && !NCA_ID.is_match(id) {
            return Err(ApiError::sis(
                400,
                format!(
                    "Invalid authorizedNCAIds '{id}'. It must match regex ^[a-zA-Z0-9_-]{{43}}$"
                ),
            ));
        }
    }
    for a in req
        .get("attributes")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let a = a.as_str().unwrap_or_default();
        if !KNOWN_ATTRIBUTES.contains(&a) {
            return Err(ApiError::sis(
                400,
                format!(
                    "The provided {a} attribute is not a known attribute. Known attributes: [{}]",
                    KNOWN_ATTRIBUTES.join(", ")
                ),
            ));
        }
    }
    if let Some(s) = str_field(req, "clusterSource")
        && !["ngc-managed", "helm-managed"].contains(&s)
    {
        return Err(ApiError::sis(
            400,
            format!("The provided {s} cluster source is not one of the supported sources"),
        ));
    }
    for g in req
        .get("gpus")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let types = g
            .get("instanceTypes")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let defaults = types.iter().filter(|t| t["default"] == true).count();
        if !types.is_empty() && defaults != 1 {
            let name = g["name"].as_str().unwrap_or_default();
            return Err(ApiError::sis(
                409,
                format!(
                    "There should be exactly one default instance type for each gpu, however gpu {name} is having {defaults} default instance types"
                ),
            ));
        }
    }
    Ok(region)
}

async fn create(
    State(state): State<Arc<SimState>>,
    Extension(meta): Extension<ReqMeta>,
    Path(nca): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    authorize(&state, &meta, &headers)?;
    let req = sis_json(&body)?;
    let name = required(&req, "clusterName", "clusterName must be provided")?;
    if !NAME.is_match(name) {
        return Err(ApiError::sis(
            400,
            format!(
                "Provided clusterName {name} is not with RFC1123 subdomain format {}",
                RFC1123.replace('\\', "\\\\")
            ),
        ));
    }
    let body_nca = required(&req, "ncaId", "ncaId must be provided")?;
    if body_nca != nca {
        return Err(ApiError::sis(
            400,
            format!("ncaId {body_nca} in the request does not match {nca}"),
        ));
    }
    let region = check_common(&req)?;
    let jwks = str_field(&req, "jwks");
    let prints = match jwks {
        Some(j) if j.len() > MAX_JWKS_BYTES => {
            return Err(ApiError::sis(
                400,
                format!("JWKS payload exceeds maximum allowed size of {MAX_JWKS_BYTES} bytes"),
            ));
        }
        Some(j) => {
            parse_jwks(j).map_err(|e| ApiError::sis(400, format!("Invalid JWKS format: {e}")))?
        }
        None => Vec::new(),
    };
    let issuer = str_field(&req, "oidcIssuer")
        .filter(|s| !s.trim().is_empty())
        .map(check_issuer)
        .transpose()?;
    let client = [
        "oAuthClientId",
        "oauthClientId",
        "OAuthClientId",
        "ssaClientId",
    ]
    .iter()
    .find_map(|k| str_field(&req, k))
    .map(str::to_string);

    let mut inner = state.lock();
    let store = &mut inner.clusters;
    if store
        .clusters
        .iter()
        .any(|c| c.nca_id == nca && c.name() == name)
    {
        return Err(ApiError::sis(
            400,
            format!("Cluster with clusterName {name} already exists"),
        ));
    }
    check_reuse(store, &prints, None)?;
    let group = req["clusterGroupName"].as_str().unwrap_or_default();
    let group_id = store
        .clusters
        .iter()
        .find(|c| c.nca_id == nca && c.group() == group)
        .map(|c| c.group_id)
        .unwrap_or_else(Uuid::new_v4);
    let id = client
        .as_deref()
        .map(|c| Uuid::new_v5(&Uuid::NAMESPACE_OID, c.as_bytes()))
        .unwrap_or_else(Uuid::new_v4);
    if store.clusters.iter().any(|c| c.id == id) {
        return Err(ApiError::sis(
            400,
            format!("Cluster with clusterName {name} already exists"),
        ));
    }
    let mut fields = req.as_object().cloned().unwrap_or_default();
    fields.insert("region".into(), json!(region));
    match issuer {
        Some(i) => fields.insert("oidcIssuer".into(), json!(i)),
        None => fields.remove("oidcIssuer"),
    };
    for alias in ["oauthClientId", "OAuthClientId"] {
        if let Some(v) = fields.remove(alias) {
            fields.insert("oAuthClientId".into(), v);
        }
    }
    store.clusters.push(Cluster {
        id,
        group_id,
        nca_id: nca,
        fields,
        status: "NOT_READY".into(),
        healthy: false,
        last_connected: None,
        fingerprints: prints,
    });
    Ok(crate::state::json(
        StatusCode::OK,
        &json!({"clusterId": id, "clusterGroupId": group_id}),
    ))
}

/// The cluster's index when it exists in `nca` (GET/PUT share these two errors).
fn account_cluster(store: &Store, nca: &str, cid: &str) -> ApiResult<usize> {
    let idx = store
        .clusters
        .iter()
        .position(|c| c.id.to_string() == cid)
        .ok_or_else(|| {
            ApiError::sis(
                404,
                format!("Can not find any cluster for {nca} ncaId and {cid} clusterId"),
            )
        })?;
    if store.clusters[idx].nca_id != nca {
        return Err(ApiError::sis(
            409,
            format!("{nca} ncaId doesn't exists for {cid} clusterId"),
        ));
    }
    Ok(idx)
}

async fn list(
    State(state): State<Arc<SimState>>,
    Extension(meta): Extension<ReqMeta>,
    Path(nca): Path<String>,
    headers: HeaderMap,
) -> ApiResult {
    authorize(&state, &meta, &headers)?;
    let all: Vec<Value> = state
        .lock()
        .clusters
        .clusters
        .iter()
        .filter(|c| c.nca_id == nca)
        .map(Cluster::dto)
        .collect();
    state.respond(
        &meta,
        Spec::Sis,
        Shape::ArrayOf("GetClusterResponse"),
        StatusCode::OK,
        Value::Array(all),
    )
}

async fn show(
    State(state): State<Arc<SimState>>,
    Extension(meta): Extension<ReqMeta>,
    Path((nca, cid)): Path<(String, String)>,
    headers: HeaderMap,
) -> ApiResult {
    authorize(&state, &meta, &headers)?;
    let inner = state.lock();
    let c = &inner.clusters.clusters[account_cluster(&inner.clusters, &nca, &cid)?];
    state.respond(
        &meta,
        Spec::Sis,
        Shape::Component("GetClusterResponse"),
        StatusCode::OK,
        c.dto(),
    )
}

async fn update(
    State(state): State<Arc<SimState>>,
    Extension(meta): Extension<ReqMeta>,
    Path((nca, cid)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    authorize(&state, &meta, &headers)?;
    let req = sis_json(&body)?;
    let region = check_common(&req)?;
    let mut inner = state.lock();
    let idx = account_cluster(&inner.clusters, &nca, &cid)?;
    let c = &mut inner.clusters.clusters[idx];
    for (k, v) in req.as_object().into_iter().flatten() {
        if !["clusterName", "ncaId", "jwks"].contains(&k.as_str()) {
            c.fields.insert(k.clone(), v.clone());
        }
    }
    c.fields.insert("region".into(), json!(region));
    Ok(StatusCode::OK.into_response())
}

async fn remove(
    State(state): State<Arc<SimState>>,
    Extension(meta): Extension<ReqMeta>,
    Path((nca, cid)): Path<(String, String)>,
    headers: HeaderMap,
) -> ApiResult {
    authorize(&state, &meta, &headers)?;
    let mut inner = state.lock();
    let c = inner
        .clusters
        .clusters
        .iter()
        .find(|c| c.id.to_string() == cid)
        .ok_or_else(|| {
            ApiError::sis(
                404,
                format!("Could not find any cluster registered with id {cid}"),
            )
        })?;
    if c.nca_id != nca {
        return Err(ApiError::sis(
            409,
            "The provided cluster ID is registered with different ncaId. Please provide the correct ncaId.",
        ));
    }
    let group = c.group().to_string();
    let last_in_group = inner
        .clusters
        .clusters
        .iter()
        .filter(|x| x.group() == group)
        .count()
        == 1;
    if last_in_group {
        inner.functions.tick(state.config.deploy_outcome);
        let f = &inner.functions;
        let busy = |vid: Uuid| {
            f.versions
                .iter()
                .any(|v| v.version_id == vid && v.status != Status::Inactive)
        };
        let on_group = |spec: &Value| {
            spec["backend"]
                .as_str()
                .is_some_and(|b| b.eq_ignore_ascii_case(&group))
        };
        let active: Vec<String> = f
            .deployments
            .iter()
            .filter(|d| busy(d.version_id) && d.specs.iter().any(on_group))
            .flat_map(|d| {
                f.versions
                    .iter()
                    .filter(|v| v.version_id == d.version_id)
                    .flat_map(|v| d.instances(v))
            })
            .filter_map(|i| i["instanceId"].as_str().map(str::to_string))
            .collect();
        if !active.is_empty() {
            return Err(ApiError::sis(
                409,
                format!(
                    "Cluster un-registration failed, terminate following active instances [{}]",
                    active.join(", ")
                ),
            ));
        }
    }
    inner.clusters.clusters.retain(|c| c.id.to_string() != cid);
    Ok(StatusCode::OK.into_response())
}

async fn versions(
    State(state): State<Arc<SimState>>,
    Extension(meta): Extension<ReqMeta>,
    Path(nca): Path<String>,
    headers: HeaderMap,
) -> ApiResult {
    authorize(&state, &meta, &headers)?;
    let inner = state.lock();
    let latest = inner
        .clusters
        .clusters
        .iter()
        .filter(|c| c.nca_id == nca)
        .filter_map(|c| c.fields.get("nvcaVersion").and_then(Value::as_str))
        .max()
        .unwrap_or("0.0.0")
        .to_string();
    Ok(latest.into_response())
}

async fn rotate_jwks(
    State(state): State<Arc<SimState>>,
    Extension(meta): Extension<ReqMeta>,
    Path(cid): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    authorize(&state, &meta, &headers)?;
    let req = sis_json(&body)?;
    let jwks = str_field(&req, "jwks")
        .filter(|j| !j.is_empty())
        .ok_or_else(|| ApiError::sis(400, "jwks is required"))?;
    if jwks.len() > MAX_JWKS_BYTES {
        return Err(ApiError::empty(413));
    }
    let prints =
        parse_jwks(jwks).map_err(|e| ApiError::sis(400, format!("Invalid JWKS format: {e}")))?;
    let issuer = str_field(&req, "oidcIssuer")
        .filter(|s| !s.trim().is_empty())
        .map(check_issuer)
        .transpose()?;
    let mut inner = state.lock();
    let id = inner
        .clusters
        .clusters
        .iter()
        .find(|c| c.id.to_string() == cid)
        .map(|c| c.id)
        .ok_or_else(|| ApiError::sis(404, format!("Cluster {cid} not found")))?;
    check_reuse(&inner.clusters, &prints, Some(id))?;
    let c = inner
        .clusters
        .clusters
        .iter_mut()
        .find(|c| c.id == id)
        .expect("found above");
    c.fingerprints = prints;
    c.fields.insert("jwks".into(), json!(jwks));
    // A blank or missing issuer keeps the stored one.
    if let Some(i) = issuer {
        c.fields.insert("oidcIssuer".into(), json!(i));
    }
    Ok(StatusCode::OK.into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jwks_needs_keys_with_their_members() {
        assert_eq!(
            parse_jwks(r#"{"keys":[{"kty":"RSA","kid":"a","n":"xyz","e":"AQAB"}]}"#)
                .map(|p| p.len()),
            Ok(1)
        );
        assert!(
            parse_jwks(r#"{"keys":[{"kty":"RSA","kid":"a","e":"AQAB"}]}"#)
                .unwrap_err()
                .contains("\"n\"")
        );
        assert!(parse_jwks(r#"{"nokeys":[]}"#).is_err());
        assert!(parse_jwks("not json").is_err());
    }
}
