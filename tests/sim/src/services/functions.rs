//! NVCF functions and versions (`/v2/nvcf/functions*`, endpoints.md §3.1) and the
//! version lifecycle INACTIVE → DEPLOYING → ACTIVE | ERROR (lifecycles.md §1).

use std::sync::{Arc, LazyLock};

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post, put};
use axum::{Extension, Router};
use regex::Regex;
use serde_json::{Map, Value, json};
use time::OffsetDateTime;
use uuid::Uuid;

use super::deployments::Deployment;
use super::{bean, has, path_uuid, str_field, version_ids};
use crate::auth::{Caller, Namespace};
use crate::config::DeployOutcome;
use crate::contract::{Shape, Spec};
use crate::errors::{ApiError, ApiResult};
use crate::state::{ReqMeta, SimState, spring_json};
use crate::util::{now, parse_rate, ts};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Inactive,
    Deploying,
    Active,
    Error,
    Degraded,
    Degrading,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Inactive => "INACTIVE",
            Status::Deploying => "DEPLOYING",
            Status::Active => "ACTIVE",
            Status::Error => "ERROR",
            Status::Degraded => "DEGRADED",
            Status::Degrading => "DEGRADING",
        }
    }

    pub fn parse(s: &str) -> Option<Status> {
        Some(match s.to_ascii_uppercase().as_str() {
            "INACTIVE" => Status::Inactive,
            "DEPLOYING" => Status::Deploying,
            "ACTIVE" => Status::Active,
            "ERROR" => Status::Error,
            "DEGRADED" => Status::Degraded,
            "DEGRADING" => Status::Degrading,
            _ => return None,
        })
    }

    pub fn busy(self) -> bool {
        matches!(
            self,
            Status::Active | Status::Deploying | Status::Degraded | Status::Degrading
        )
    }

    pub fn invocable(self) -> bool {
        matches!(self, Status::Active | Status::Degrading)
    }
}

#[derive(Debug, Clone)]
pub struct Version {
    pub function_id: Uuid,
    pub version_id: Uuid,
    pub nca_id: String,
    pub name: String,
    pub status: Status,
    pub created_at: OffsetDateTime,
    /// Request-derived fields of the FunctionDto, already defaulted and canonicalised.
    pub fields: Map<String, Value>,
    pub secrets: Vec<String>,
    /// When a DEPLOYING version settles.
    pub settles_at: Option<OffsetDateTime>,
}

impl Version {
    pub fn function_type(&self) -> &str {
        self.fields
            .get("functionType")
            .and_then(Value::as_str)
            .unwrap_or("DEFAULT")
    }

    pub fn inference_url(&self) -> &str {
        self.fields
            .get("inferenceUrl")
            .and_then(Value::as_str)
            .unwrap_or("/")
    }

    pub fn models(&self) -> Vec<Value> {
        self.fields
            .get("models")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    }

    pub fn env(&self, key: &str) -> Option<String> {
        self.fields
            .get("containerEnvironment")?
            .as_array()?
            .iter()
            .find(|e| e["key"] == key)
            .and_then(|e| e["value"].as_str())
            .map(str::to_string)
    }

    pub fn is_container(&self) -> bool {
        !self.fields.contains_key("helmChart")
    }

    pub fn dto(
        &self,
        deployment: Option<&Deployment>,
        details: bool,
        include_secrets: bool,
    ) -> Value {
        let mut v = self.fields.clone();
        v.insert("id".into(), json!(self.function_id));
        v.insert("ncaId".into(), json!(self.nca_id));
        v.insert("versionId".into(), json!(self.version_id));
        v.insert("name".into(), json!(self.name));
        v.insert("status".into(), json!(self.status.as_str()));
        v.insert("createdAt".into(), json!(ts(self.created_at)));
        if (details || include_secrets) && !self.secrets.is_empty() {
            v.insert("secrets".into(), json!(self.secrets));
        }
        if details && let Some(d) = deployment.filter(|_| self.status.invocable()) {
            v.insert("activeInstances".into(), Value::Array(d.instances(self)));
        }
        Value::Object(v)
    }
}

#[derive(Default)]
pub struct Store {
    pub versions: Vec<Version>,
    pub deployments: Vec<Deployment>,
}

impl Store {
    /// Moves DEPLOYING versions whose time is up to their outcome.
    pub fn tick(&mut self, outcome: DeployOutcome) {
        let t = now();
        for v in self.versions.iter_mut() {
            if v.status != Status::Deploying || v.settles_at.is_none_or(|s| s > t) {
                continue;
            }
            v.settles_at = None;
            match outcome {
                DeployOutcome::Active => v.status = Status::Active,
                DeployOutcome::Error => {
                    v.status = Status::Error;
                    if let Some(d) = self
                        .deployments
                        .iter_mut()
                        .find(|d| d.version_id == v.version_id)
                    {
                        d.record_failure(
                            "nvcf-sim: instance launch failed (configured deploy outcome ERROR)",
                        );
                    }
                }
            }
        }
    }

    pub fn version(&self, nca: &str, fid: Uuid, vid: Uuid) -> Option<&Version> {
        self.versions
            .iter()
            .find(|v| v.function_id == fid && v.version_id == vid && v.nca_id == nca)
    }

    pub fn version_mut(&mut self, nca: &str, fid: Uuid, vid: Uuid) -> Option<&mut Version> {
        self.versions
            .iter_mut()
            .find(|v| v.function_id == fid && v.version_id == vid && v.nca_id == nca)
    }

    pub fn deployment_of(&self, vid: Uuid) -> Option<&Deployment> {
        self.deployments.iter().find(|d| d.version_id == vid)
    }

    pub fn of_function(&self, nca: &str, fid: Uuid) -> Vec<&Version> {
        self.versions
            .iter()
            .filter(|v| v.function_id == fid && v.nca_id == nca)
            .collect()
    }
}

pub fn not_found_version(fid: Uuid, vid: Uuid, nca: &str) -> ApiError {
    ApiError::not_found(format!(
        "Function id '{fid}', version '{vid}': Not found in account '{nca}'"
    ))
}

pub fn router(state: Arc<SimState>) -> Router {
    Router::new()
        .route(
            "/v2/nvcf/functions",
            post(create_function).get(list_functions),
        )
        .route("/v2/nvcf/functions/ids", get(list_ids))
        .route(
            "/v2/nvcf/functions/{fid}/versions",
            post(create_version).get(list_versions),
        )
        .route(
            "/v2/nvcf/functions/{fid}/versions/{vid}",
            get(get_version).put(update_version).delete(delete_version),
        )
        .route(
            "/v2/nvcf/metadata/functions/{fid}/versions/{vid}",
            put(update_version),
        )
        .with_state(state)
}

static NAME: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[a-z0-9A-Z][a-z0-9A-Z\-_]*$").expect("static regex"));
static TAG: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[a-zA-Z0-9\-_:=]+$").expect("static regex"));
static SECRET_NAME: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[a-z0-9A-Z][a-z0-9A-Z_.\-]*$").expect("static regex"));
pub const ROUTING_METHODS: [&str; 8] = [
    "power-of-two",
    "wait-and-widen",
    "round-robin",
    "random",
    "pulsar",
    "pulsar-wait-and-widen",
    "groq-multiregion",
    "pulsar-multiregion",
];
const OBJ: &str = "createFunctionRequest";

/// Jackson enum binding: case-insensitive, unknown values fail the whole read.
fn enum_field(req: &Value, key: &str, allowed: &[&str], default: &str) -> ApiResult<String> {
    match req.get(key) {
        None | Some(Value::Null) => Ok(default.to_string()),
        Some(Value::String(s)) => allowed
            .iter()
            .find(|a| a.eq_ignore_ascii_case(s))
            .map(|a| a.to_string())
            .ok_or_else(|| ApiError::spring(400, "Failed to read request")),
        Some(_) => Err(ApiError::spring(400, "Failed to read request")),
    }
}

pub fn check_tags(object: &str, req: &Value) -> ApiResult<()> {
    if let Some(tags) = req.get("tags").filter(|t| !t.is_null()) {
        let list = tags
            .as_array()
            .ok_or_else(|| ApiError::spring(400, "Failed to read request"))?;
        if list.len() > 64 {
            return Err(bean(
                object,
                "tags",
                tags,
                "Maximum allowed number of tags is 64",
            ));
        }
        for t in list {
            let s = t.as_str().unwrap_or_default();
            if s.len() > 128 || !TAG.is_match(s) {
                return Err(bean(
                    object,
                    "tags",
                    tags,
                    "Invalid tag: Must conform to regex [a-zA-Z0-9\\-_:=]+ and be at most 128 chars",
                ));
            }
        }
    }
    Ok(())
}

/// Both halves, for the update endpoint.
pub fn check_rate_limit(object: &str, rl: &Value) -> ApiResult<()> {
    check_rate_patterns(object, rl)?;
    check_rate_rules(rl)
}

/// The bean constraints of `RateLimitDto` (patterns, sizes).
fn check_rate_patterns(object: &str, rl: &Value) -> ApiResult<()> {
    let rate_ok = |k: &str| {
        rl.get(k)
            .is_none_or(|v| v.is_null() || v.as_str().and_then(|s| parse_rate(s, "SMHD")).is_some())
    };
    for k in ["rateLimit", "perUserRate"] {
        if !rate_ok(k) {
            return Err(bean(
                object,
                &format!("rateLimit.{k}"),
                &rl[k],
                "Invalid rate: Must conform to regex ^(?!.*-([SMHD]).*-\\1)[1-9]\\d*-[SMHD](,\\s*[1-9]\\d*-[SMHD])*$",
            ));
        }
    }
    let per_nca = rl
        .get("perNcaIdRate")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    if per_nca.len() > 32
        || per_nca
            .values()
            .any(|v| v.as_str().and_then(|s| parse_rate(s, "SMHD")).is_none())
    {
        return Err(bean(
            object,
            "rateLimit.perNcaIdRate",
            &rl["perNcaIdRate"],
            "Invalid per NCA id rate",
        ));
    }
    let exempted_len = rl
        .get("exemptedNcaIds")
        .and_then(Value::as_array)
        .map_or(0, Vec::len);
    if exempted_len > 32 {
        return Err(bean(
            object,
            "rateLimit.exemptedNcaIds",
            &rl["exemptedNcaIds"],
            "size must be between 0 and 32",
        ));
    }
    Ok(())
}

/// The service-level rate-limit rules.
fn check_rate_rules(rl: &Value) -> ApiResult<()> {
    let per_nca = rl
        .get("perNcaIdRate")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    if !has(rl, "rateLimit") && per_nca.is_empty() && !has(rl, "perUserRate") {
        return Err(ApiError::bad_request(
            "Invalid request: at least one of 'rateLimit', 'perNcaIdRate' or 'perUserRate' must be specified",
        ));
    }
    let exempted: Vec<&str> = rl
        .get("exemptedNcaIds")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    if !exempted.is_empty() && !has(rl, "rateLimit") {
        return Err(ApiError::bad_request(
            "Invalid request: 'exemptedNcaIds' requires 'rateLimit'",
        ));
    }
    if let Some(k) = per_nca.keys().find(|k| exempted.contains(&k.as_str())) {
        return Err(ApiError::bad_request(format!(
            "Invalid request: NCA id '{k}' cannot be both exempted and in 'perNcaIdRate'"
        )));
    }
    Ok(())
}

/// `LlmConfigValidator`: routing methods normalise `_` to `-`; token limits allow W.
pub fn check_llm_config(model: &str, cfg: &Value) -> ApiResult<()> {
    if let Some(m) = cfg.get("routingMethod").and_then(Value::as_str) {
        let norm = m.trim().to_ascii_lowercase().replace('_', "-");
        if !ROUTING_METHODS.contains(&norm.as_str()) {
            return Err(ApiError::bad_request(format!(
                "Invalid request: 'llmConfig.routingMethod' for model '{model}' is invalid; supported values are [{}]",
                ROUTING_METHODS.join(", ")
            )));
        }
    }
    if let Some(r) = cfg.get("tokenRateLimit").and_then(Value::as_str)
        && parse_rate(r, "SMHDW").is_none()
    {
        return Err(ApiError::bad_request(format!(
            "Invalid request: 'llmConfig.tokenRateLimit' for model '{model}' is invalid; expected comma-separated '<positiveInteger>-<unit>' entries with unit in [S, M, H, D, W] (for example '100000-S' or '10-M,5-S')"
        )));
    }
    Ok(())
}

fn check_models(req: &Value, function_type: &str) -> ApiResult<()> {
    let Some(models) = req.get("models").and_then(Value::as_array) else {
        if function_type == "LLM" {
            return Err(ApiError::bad_request(
                "Invalid request: 'models' must be specified when functionType is LLM",
            ));
        }
        return Ok(());
    };
    if function_type == "LLM" && models.is_empty() {
        return Err(ApiError::bad_request(
            "Invalid request: 'models' must be specified when functionType is LLM",
        ));
    }
    let mut names = Vec::new();
    for m in models {
        let name = str_field(m, "name").unwrap_or_default();
        if name.is_empty() {
            return Err(bean(OBJ, "models[].name", &m["name"], "must not be blank"));
        }
        if names.contains(&name) {
            return Err(ApiError::bad_request(
                "Invalid request: duplicate model names are not allowed in 'models'",
            ));
        }
        names.push(name);
        if function_type == "LLM" {
            let cfg = m
                .get("llmConfig")
                .filter(|c| c.is_object())
                .ok_or_else(|| {
                    ApiError::bad_request(
                        "Invalid request: LLM function models must specify 'llmConfig'",
                    )
                })?;
            if cfg
                .get("uris")
                .and_then(Value::as_array)
                .is_none_or(|u| u.is_empty())
            {
                return Err(ApiError::bad_request(
                    "Invalid request: LLM function models must specify non-empty 'llmConfig.uris'",
                ));
            }
            check_llm_config(name, cfg)?;
        } else if !has(m, "version") || !has(m, "uri") {
            return Err(ApiError::bad_request(
                "Invalid request: non-LLM function models must specify both 'version' and 'uri'",
            ));
        }
    }
    Ok(())
}

/// Bean constraints on `secrets[]`; duplicates are the service's check.
fn secret_entries(req: &Value) -> ApiResult<Vec<String>> {
    let Some(secrets) = req.get("secrets").filter(|s| !s.is_null()) else {
        return Ok(Vec::new());
    };
    let list = secrets
        .as_array()
        .ok_or_else(|| ApiError::spring(400, "Failed to read request"))?;
    let mut names = Vec::new();
    for s in list {
        let name = str_field(s, "name").unwrap_or_default();
        if name.is_empty() || name.len() > 48 || !SECRET_NAME.is_match(name) {
            return Err(bean(
                OBJ,
                "secrets[].name",
                &s["name"],
                "Invalid secret name: Must conform to regex ^[a-z0-9A-Z][a-z0-9A-Z\\_\\.\\-]*$ and be 1-48 chars",
            ));
        }
        let len = match s.get("value") {
            Some(Value::String(v)) => v.len(),
            Some(v @ Value::Object(_)) => v.to_string().len(),
            _ => 0,
        };
        if !(1..=32768).contains(&len) {
            let rejected = s.get("value").unwrap_or(&Value::Null);
            return Err(bean(
                OBJ,
                "secrets[].value",
                rejected,
                "must not be null and between 1 and 32768 chars",
            ));
        }
        names.push(name.to_string());
    }
    Ok(names)
}

/// Every documented CreateFunctionRequest rule; returns the stored FunctionDto fields.
fn validate_create(
    state: &SimState,
    meta: &ReqMeta,
    req: &Value,
    fid: Uuid,
    vid: Uuid,
) -> ApiResult<(Map<String, Value>, Vec<String>)> {
    // Spring's order: Jackson binding, then bean validation (@Valid), then the service's checks.
    let function_type = enum_field(
        req,
        "functionType",
        &["DEFAULT", "STREAMING", "LLM"],
        "DEFAULT",
    )?;
    let api_body_format = enum_field(req, "apiBodyFormat", &["PREDICT_V2", "CUSTOM"], "CUSTOM")?;
    let health = req.get("health").filter(|h| !h.is_null());
    if let Some(h) = health {
        enum_field(h, "protocol", &["HTTP", "gRPC"], "HTTP")?;
    }
    let telemetry_ids = ["logsTelemetryId", "metricsTelemetryId", "tracesTelemetryId"];
    let telemetries = req.get("telemetries").filter(|t| !t.is_null());
    if let Some(t) = telemetries
        && telemetry_ids
            .iter()
            .any(|k| str_field(t, k).is_some_and(|s| Uuid::parse_str(s).is_err()))
    {
        return Err(ApiError::spring(400, "Failed to read request"));
    }

    let name = req.get("name").and_then(Value::as_str).unwrap_or_default();
    if name.is_empty() || name.len() > 128 || !NAME.is_match(name) {
        let rejected = req.get("name").unwrap_or(&Value::Null);
        return Err(bean(
            OBJ,
            "name",
            rejected,
            "Invalid function name: Must conform to regex ^[a-z0-9A-Z][a-z0-9A-Z\\-_]*$",
        ));
    }
    if !has(req, "inferenceUrl") {
        return Err(bean(OBJ, "inferenceUrl", &Value::Null, "must not be null"));
    }
    if let Some(h) = health {
        for f in ["protocol", "uri", "port", "timeout", "expectedStatusCode"] {
            if !has(h, f) {
                return Err(bean(
                    OBJ,
                    &format!("health.{f}"),
                    &Value::Null,
                    "must not be null",
                ));
            }
        }
        if h["port"].as_i64().is_none_or(|p| p <= 0) {
            return Err(bean(
                OBJ,
                "health.port",
                &h["port"],
                "must be greater than 0",
            ));
        }
    }
    if let Some(env) = req.get("containerEnvironment").and_then(Value::as_array)
        && let Some(e) = env.iter().find(|e| !has(e, "key") || !has(e, "value"))
    {
        return Err(bean(
            OBJ,
            "containerEnvironment",
            e,
            "key and value must not be null",
        ));
    }
    if let Some(res) = req.get("resources").and_then(Value::as_array)
        && let Some(r) = res
            .iter()
            .find(|r| !has(r, "name") || !has(r, "version") || !has(r, "uri"))
    {
        return Err(bean(
            OBJ,
            "resources",
            r,
            "name, version and uri must not be null",
        ));
    }
    check_tags(OBJ, req)?;
    if str_field(req, "description").is_some_and(|d| d.chars().count() > 256) {
        return Err(bean(
            OBJ,
            "description",
            &req["description"],
            "size must be between 0 and 256",
        ));
    }
    let secrets = secret_entries(req)?;
    let rate_limit = req.get("rateLimit").filter(|r| !r.is_null());
    if let Some(rl) = rate_limit {
        check_rate_patterns(OBJ, rl)?;
    }
    if let Some(cfg) = req.get("llmInvocationConfig").filter(|c| !c.is_null()) {
        check_llm_invocation(cfg)?;
    }

    let models = req
        .get("models")
        .and_then(Value::as_array)
        .is_some_and(|m| !m.is_empty());
    let (image, helm) = (has(req, "containerImage"), has(req, "helmChart"));
    if !image && !helm && !models {
        return Err(ApiError::bad_request(
            "Invalid request: One of the following properties 'containerImage', 'models', or 'helmChart' must be specified in the payload",
        ));
    }
    if image && helm {
        return Err(ApiError::bad_request(
            "Invalid request: Cannot specify both 'containerImage' and 'helmChart' properties in the payload",
        ));
    }
    if helm != has(req, "helmChartServiceName") {
        return Err(ApiError::bad_request(
            "Invalid request: Either both or none of 'helmChart' and 'helmChartServiceName' properties must be specified",
        ));
    }
    if helm && (has(req, "containerArgs") || has(req, "containerEnvironment")) {
        return Err(ApiError::bad_request(
            "Invalid request: 'containerArgs' and 'containerEnvironment' cannot be specified with 'helmChart'",
        ));
    }
    check_models(req, &function_type)?;
    if let Some(rl) = rate_limit {
        check_rate_rules(rl)?;
    }
    if telemetries.is_some_and(|t| !telemetry_ids.iter().any(|k| has(t, k))) {
        return Err(ApiError::bad_request(
            "Invalid request: Telemetry object must have at least one UUID specified.",
        ));
    }
    let mut names: Vec<String> = Vec::new();
    for n in secrets {
        if names.contains(&n) {
            return Err(ApiError::bad_request(format!(
                "Function id '{fid}', version '{vid}': Duplicate secrets keys in the payload"
            )));
        }
        names.push(n);
    }
    let secrets = names;

    // Documented rules passed: what is left must match the spec's DTO schemas.
    let c = &state.contract;
    let parts: [(&str, Shape, bool); 6] = [
        ("health", Shape::Component("HealthDto"), false),
        ("rateLimit", Shape::Component("RateLimitDto"), false),
        ("telemetries", Shape::Component("TelemetriesDto"), false),
        ("models", Shape::Component("FunctionModelDto"), true),
        ("resources", Shape::Component("ArtifactDto"), true),
        (
            "containerEnvironment",
            Shape::Component("ContainerEnvironmentEntryDto"),
            true,
        ),
    ];
    for (field, shape, list) in parts {
        match req.get(field) {
            Some(Value::Array(items)) if list => {
                for item in items {
                    c.request(meta.service, Spec::Nvcf, shape, item)?;
                }
            }
            Some(v) if !v.is_null() && !list => c.request(meta.service, Spec::Nvcf, shape, v)?,
            _ => {}
        }
    }

    let mut fields = Map::new();
    for key in [
        "inferenceUrl",
        "inferencePort",
        "containerArgs",
        "containerEnvironment",
        "models",
        "containerImage",
        "helmChart",
        "helmChartServiceName",
        "resources",
        "tags",
        "rateLimit",
        "llmInvocationConfig",
        "telemetries",
    ] {
        if let Some(v) = req.get(key).filter(|v| !v.is_null()) {
            fields.insert(key.into(), v.clone());
        }
    }
    fields.insert("functionType".into(), json!(function_type));
    fields.insert("apiBodyFormat".into(), json!(api_body_format));
    fields.insert(
        "description".into(),
        req.get("description")
            .filter(|d| !d.is_null())
            .cloned()
            .unwrap_or_else(|| json!(name)),
    );
    let grpc = req["inferenceUrl"] == "/grpc";
    let health_uri = str_field(req, "healthUri")
        .or_else(|| req.get("health").and_then(|h| str_field(h, "uri")))
        .unwrap_or("/v2/health/ready");
    fields.insert("healthUri".into(), json!(health_uri));
    let health = match req.get("health").filter(|h| !h.is_null()) {
        Some(h) => {
            let mut h = h.clone();
            h["protocol"] = json!(enum_field(&h, "protocol", &["HTTP", "gRPC"], "HTTP")?);
            h
        }
        None => {
            json!({"protocol": if grpc { "gRPC" } else { "HTTP" }, "uri": health_uri, "port": 8000, "timeout": "PT10S", "expectedStatusCode": 200})
        }
    };
    fields.insert("health".into(), health);
    Ok((fields, secrets))
}

fn check_llm_invocation(cfg: &Value) -> ApiResult<()> {
    let Some(p) = cfg.get("priority").filter(|p| !p.is_null()) else {
        return Ok(());
    };
    let in_range = |v: &Value| v.as_u64().is_some_and(|n| n <= u32::MAX as u64);
    if has(p, "defaultPriority") && !in_range(&p["defaultPriority"]) {
        return Err(bean(
            OBJ,
            "llmInvocationConfig.priority.defaultPriority",
            &p["defaultPriority"],
            "must be between 0 and 4294967295",
        ));
    }
    if let Some(per) = p.get("perAccountPriority").and_then(Value::as_object) {
        if per.len() > 64 || per.values().any(|v| !in_range(v)) {
            return Err(bean(
                OBJ,
                "llmInvocationConfig.priority.perAccountPriority",
                &p["perAccountPriority"],
                "at most 64 entries between 0 and 4294967295",
            ));
        }
        if !per.is_empty() && !has(p, "defaultPriority") {
            return Err(ApiError::bad_request(
                "Invalid request: 'perAccountPriority' requires 'defaultPriority'",
            ));
        }
    }
    Ok(())
}

fn function_response(
    state: &SimState,
    meta: &ReqMeta,
    v: &Version,
    d: Option<&Deployment>,
    details: bool,
    secrets: bool,
) -> ApiResult {
    state.respond(
        meta,
        Spec::Nvcf,
        Shape::Component("FunctionResponse"),
        StatusCode::OK,
        json!({ "function": v.dto(d, details, secrets) }),
    )
}

async fn create(
    state: Arc<SimState>,
    meta: ReqMeta,
    headers: HeaderMap,
    body: Bytes,
    existing: Option<Uuid>,
) -> ApiResult {
    let caller = state.caller(&meta, &headers, Namespace::Nvcf, "register_function")?;
    if !caller.has_account_functions() {
        return Err(ApiError::problem(403, "Forbidden to create function"));
    }
    let req = spring_json(&headers, &body)?;
    let fid = existing.unwrap_or_else(Uuid::new_v4);
    let vid = Uuid::new_v4();
    let (fields, secrets) = validate_create(&state, &meta, &req, fid, vid)?;
    let mut inner = state.lock();
    let nca = caller.nca_id.clone();
    match existing {
        Some(fid) => {
            let versions = inner.functions.of_function(&nca, fid);
            let first = versions.first().ok_or_else(|| {
                ApiError::not_found(format!("Function id '{fid}': Not found in account '{nca}'"))
            })?;
            if first.function_type() != fields["functionType"] {
                return Err(ApiError::bad_request(format!(
                    "Function id '{fid}': all versions must share the same functionType; existing version '{}' is '{}'",
                    first.version_id,
                    first.function_type()
                )));
            }
        }
        None => {
            let max = inner
                .accounts
                .max_functions(&nca, state.config.max_functions);
            let rows = inner
                .functions
                .versions
                .iter()
                .filter(|v| v.nca_id == nca)
                .count();
            if rows >= max {
                return Err(ApiError::bad_request(format!(
                    "Account '{nca}': Reached or exceeded the max limit for the number of functions allowed: {max}. Please contact your account team for more details"
                )));
            }
        }
    }
    let version = Version {
        function_id: fid,
        version_id: vid,
        nca_id: nca,
        name: req["name"].as_str().unwrap_or_default().to_string(),
        status: Status::Inactive,
        created_at: now(),
        fields,
        secrets,
        settles_at: None,
    };
    let resp = function_response(&state, &meta, &version, None, false, false)?;
    inner.functions.versions.push(version);
    Ok(resp)
}

async fn create_function(
    State(state): State<Arc<SimState>>,
    Extension(meta): Extension<ReqMeta>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    create(state, meta, headers, body, None).await
}

async fn create_version(
    State(state): State<Arc<SimState>>,
    Extension(meta): Extension<ReqMeta>,
    Path(fid): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let fid = path_uuid("functionId", &fid)?;
    create(state, meta, headers, body, Some(fid)).await
}

fn list_caller(state: &SimState, meta: &ReqMeta, headers: &HeaderMap) -> ApiResult<Caller> {
    let caller = crate::auth::authenticate(state, headers, Namespace::Nvcf, meta.token_expired)
        .map_err(|d| crate::auth::denial(meta.service, d))?;
    if caller.has("list_functions") || caller.has("list_functions_details") {
        Ok(caller)
    } else {
        Err(crate::auth::denial(
            meta.service,
            crate::auth::Denied::Scope,
        ))
    }
}

/// `visibility` is a set of `authorized`, `private`, `public`; the simulator's functions are all private.
fn wants_private(q: &std::collections::HashMap<String, String>) -> ApiResult<bool> {
    let Some(vis) = q.get("visibility") else {
        return Ok(true);
    };
    let mut private = false;
    for v in vis.split(',').map(str::trim).filter(|v| !v.is_empty()) {
        match v.to_ascii_lowercase().as_str() {
            "private" => private = true,
            "authorized" | "public" => {}
            _ => {
                return Err(ApiError::spring(
                    400,
                    format!("Failed to convert 'visibility' with value: '{vis}'"),
                ));
            }
        }
    }
    Ok(private)
}

async fn list_functions(
    State(state): State<Arc<SimState>>,
    Extension(meta): Extension<ReqMeta>,
    headers: HeaderMap,
    Query(q): Query<std::collections::HashMap<String, String>>,
) -> ApiResult {
    let caller = list_caller(&state, &meta, &headers)?;
    let private = wants_private(&q)?;
    let details = caller.has("list_functions_details");
    let mut inner = state.lock();
    inner.functions.tick(state.config.deploy_outcome);
    let f = &inner.functions;
    let list: Vec<Value> = f
        .versions
        .iter()
        .filter(|v| {
            private
                && v.nca_id == caller.nca_id
                && caller.can_use_function(v.function_id, v.version_id)
        })
        .map(|v| v.dto(f.deployment_of(v.version_id), details, false))
        .collect();
    state.respond(
        &meta,
        Spec::Nvcf,
        Shape::Component("ListFunctionsResponse"),
        StatusCode::OK,
        json!({ "functions": list }),
    )
}

async fn list_ids(
    State(state): State<Arc<SimState>>,
    Extension(meta): Extension<ReqMeta>,
    headers: HeaderMap,
    Query(q): Query<std::collections::HashMap<String, String>>,
) -> ApiResult {
    let caller = list_caller(&state, &meta, &headers)?;
    let private = wants_private(&q)?;
    let inner = state.lock();
    let mut ids: Vec<Uuid> = Vec::new();
    for v in inner
        .functions
        .versions
        .iter()
        .filter(|v| private && v.nca_id == caller.nca_id)
    {
        if !ids.contains(&v.function_id) {
            ids.push(v.function_id);
        }
    }
    Ok(crate::state::json(
        StatusCode::OK,
        &json!({ "functionIds": ids }),
    ))
}

async fn list_versions(
    State(state): State<Arc<SimState>>,
    Extension(meta): Extension<ReqMeta>,
    Path(fid): Path<String>,
    headers: HeaderMap,
) -> ApiResult {
    let fid = path_uuid("functionId", &fid)?;
    let caller = list_caller(&state, &meta, &headers)?;
    let details = caller.has("list_functions_details");
    let mut inner = state.lock();
    inner.functions.tick(state.config.deploy_outcome);
    let f = &inner.functions;
    let versions = f.of_function(&caller.nca_id, fid);
    if versions.is_empty() {
        return Err(ApiError::not_found(format!(
            "Function id '{fid}': Not found in account '{}'",
            caller.nca_id
        )));
    }
    let list: Vec<Value> = versions
        .iter()
        .map(|v| v.dto(f.deployment_of(v.version_id), details, false))
        .collect();
    state.respond(
        &meta,
        Spec::Nvcf,
        Shape::Component("ListFunctionsResponse"),
        StatusCode::OK,
        json!({ "functions": list }),
    )
}

async fn get_version(
    State(state): State<Arc<SimState>>,
    Extension(meta): Extension<ReqMeta>,
    Path((fid, vid)): Path<(String, String)>,
    headers: HeaderMap,
    Query(q): Query<std::collections::HashMap<String, String>>,
) -> ApiResult {
    let (fid, vid) = version_ids(&fid, &vid)?;
    let caller = list_caller(&state, &meta, &headers)?;
    let mut inner = state.lock();
    inner.functions.tick(state.config.deploy_outcome);
    let v = inner
        .functions
        .version(&caller.nca_id, fid, vid)
        .ok_or_else(|| not_found_version(fid, vid, &caller.nca_id))?;
    if !caller.can_use_function(fid, vid) {
        return Err(ApiError::problem(
            403,
            format!("Function id '{fid}', version '{vid}': Forbidden to retrieve function details"),
        ));
    }
    let secrets = q.get("includeSecrets").is_some_and(|s| s == "true");
    function_response(
        &state,
        &meta,
        v,
        inner.functions.deployment_of(vid),
        caller.has("list_functions_details"),
        secrets,
    )
}

async fn update_version(
    State(state): State<Arc<SimState>>,
    Extension(meta): Extension<ReqMeta>,
    Path((fid, vid)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let (fid, vid) = version_ids(&fid, &vid)?;
    let caller = state.caller(&meta, &headers, Namespace::Nvcf, "update_function")?;
    let req = spring_json(&headers, &body)?;
    let object = "updateFunctionRequest";
    if !["tags", "rateLimit", "modelUpdates", "llmInvocationConfig"]
        .iter()
        .any(|k| has(&req, k))
    {
        return Err(ApiError::bad_request(
            "Invalid request: at least one of 'tags', 'rateLimit', 'modelUpdates', or 'llmInvocationConfig' must be specified",
        ));
    }
    check_tags(object, &req)?;
    if let Some(rl) = req.get("rateLimit").filter(|r| !r.is_null()) {
        check_rate_limit(object, rl)?;
        state.contract.request(
            meta.service,
            Spec::Nvcf,
            Shape::Component("RateLimitDto"),
            rl,
        )?;
    }
    if let Some(cfg) = req.get("llmInvocationConfig").filter(|c| !c.is_null()) {
        check_llm_invocation(cfg)?;
    }
    let updates = req
        .get("modelUpdates")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut seen = Vec::new();
    for u in &updates {
        let name = str_field(u, "modelName").unwrap_or_default().to_string();
        if seen.contains(&name) {
            return Err(ApiError::bad_request(
                "Invalid request: duplicate 'modelName' values are not allowed in 'modelUpdates'",
            ));
        }
        let cfg = u.get("llmConfig").cloned().unwrap_or(Value::Null);
        if !has(&cfg, "tokenRateLimit") && !has(&cfg, "routingMethod") {
            return Err(ApiError::bad_request(
                "Invalid request: at least one of 'tokenRateLimit' or 'routingMethod' must be specified",
            ));
        }
        check_llm_config(&name, &cfg)?;
        seen.push(name);
    }
    let mut inner = state.lock();
    inner.functions.tick(state.config.deploy_outcome);
    let nca = caller.nca_id.clone();
    let v = inner
        .functions
        .version_mut(&nca, fid, vid)
        .ok_or_else(|| not_found_version(fid, vid, &nca))?;
    let mut models = v.models();
    for u in &updates {
        let name = u["modelName"].as_str().unwrap_or_default();
        let m = models
            .iter_mut()
            .find(|m| m["name"] == name)
            .ok_or_else(|| {
                ApiError::bad_request(format!(
                    "Invalid request: model '{name}' not found in function"
                ))
            })?;
        for k in ["tokenRateLimit", "routingMethod"] {
            if let Some(x) = u["llmConfig"].get(k).filter(|x| !x.is_null()) {
                m["llmConfig"][k] = x.clone();
            }
        }
    }
    if !updates.is_empty() {
        v.fields.insert("models".into(), Value::Array(models));
    }
    for k in ["tags", "rateLimit", "llmInvocationConfig"] {
        if let Some(x) = req.get(k).filter(|x| !x.is_null()) {
            v.fields.insert(k.into(), x.clone());
        }
    }
    let v = v.clone();
    function_response(
        &state,
        &meta,
        &v,
        inner.functions.deployment_of(vid),
        false,
        false,
    )
}

async fn delete_version(
    State(state): State<Arc<SimState>>,
    Extension(meta): Extension<ReqMeta>,
    Path((fid, vid)): Path<(String, String)>,
    headers: HeaderMap,
) -> ApiResult {
    let (fid, vid) = version_ids(&fid, &vid)?;
    let caller = state.caller(&meta, &headers, Namespace::Nvcf, "delete_function")?;
    let mut inner = state.lock();
    inner
        .functions
        .version(&caller.nca_id, fid, vid)
        .ok_or_else(|| not_found_version(fid, vid, &caller.nca_id))?;
    inner.functions.versions.retain(|v| v.version_id != vid);
    inner.functions.deployments.retain(|d| d.version_id != vid);
    Ok(StatusCode::NO_CONTENT.into_response())
}
