//! NVCF deployments (`/v2/nvcf/deployments*`, endpoints.md §3.2, lifecycles.md §2).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, patch, post};
use axum::{Extension, Router};
use serde_json::{Value, json};
use time::OffsetDateTime;
use uuid::Uuid;

use super::functions::{Status, Version, not_found_version};
use super::{bean, has, path_uuid, str_field, version_ids};
use crate::auth::Namespace;
use crate::config::Backend;
use crate::contract::{Shape, Spec};
use crate::errors::{ApiError, ApiResult};
use crate::state::{ReqMeta, SimState, spring_json};
use crate::util::{now, ts};

#[derive(Debug, Clone)]
pub struct Deployment {
    pub deployment_id: Uuid,
    pub function_id: Uuid,
    pub version_id: Uuid,
    pub specs: Vec<Value>,
    pub health_info: Vec<Value>,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

impl Deployment {
    pub fn record_failure(&mut self, error: &str) {
        for s in &self.specs {
            let mut h = json!({"icmsRequestId": Uuid::new_v4(), "gpu": s["gpu"], "backend": s.get("backend").cloned().unwrap_or(json!("nvcf-default")), "error": error});
            if let Some(it) = s.get("instanceType") {
                h["instanceType"] = it.clone();
            }
            self.health_info.push(h);
        }
    }

    /// `minInstances` running instances per spec, for `activeInstances`.
    pub fn instances(&self, v: &Version) -> Vec<Value> {
        let mut out = Vec::new();
        for s in &self.specs {
            for i in 0..s["minInstances"].as_u64().unwrap_or(0) {
                out.push(json!({
                    "instanceId": format!("sim-{}-{i}", &s["gpuSpecificationId"].as_str().unwrap_or_default()[..8]),
                    "functionId": v.function_id, "functionVersionId": v.version_id,
                    "instanceType": s["instanceType"], "instanceStatus": "RUNNING",
                    "icmsRequestId": Uuid::new_v5(&v.version_id, format!("{i}").as_bytes()),
                    "ncaId": v.nca_id, "gpu": s["gpu"], "backend": s.get("backend").cloned().unwrap_or(json!("nvcf-default")),
                    "location": "sim", "instanceCreatedAt": ts(self.created_at), "instanceUpdatedAt": ts(self.updated_at),
                }));
            }
        }
        out
    }

    fn dto(&self, v: &Version) -> Value {
        let mut d = json!({
            "functionId": self.function_id, "functionVersionId": self.version_id, "deploymentId": self.deployment_id,
            "functionName": v.name, "ncaId": v.nca_id, "functionStatus": v.status.as_str(),
            "deploymentSpecifications": self.specs, "createdAt": ts(self.created_at), "lastUpdatedAt": ts(self.updated_at),
        });
        if !self.health_info.is_empty() {
            d["healthInfo"] = json!(self.health_info);
        }
        d
    }
}

pub fn router(state: Arc<SimState>) -> Router {
    Router::new()
        .route(
            "/v2/nvcf/deployments/functions/{fid}/versions/{vid}",
            post(create).get(get_by_version).put(update).delete(remove),
        )
        .route("/v2/nvcf/deployments/{id}", get(get_by_id))
        .route(
            "/v2/nvcf/deployments/{id}/gpu-specifications/{spec}",
            patch(patch_spec),
        )
        .with_state(state)
}

const OBJ: &str = "functionDeploymentRequest";

fn prefix(fid: Uuid, vid: Uuid) -> String {
    format!("Function id '{fid}', version '{vid}'")
}

/// `DeploymentValidationService`: backend, GPU and instance type against the account's cluster groups.
fn check_catalogue(backends: &[Backend], spec: &Value, p: &str) -> ApiResult<()> {
    if backends.is_empty() {
        return Err(ApiError::bad_request(format!(
            "{p}: No Backends defined for account"
        )));
    }
    let gpu = str_field(spec, "gpu").unwrap_or_default();
    let it = str_field(spec, "instanceType").unwrap_or_default();
    let candidates: Vec<&Backend> = match str_field(spec, "backend") {
        Some(b) => {
            let found: Vec<&Backend> = backends
                .iter()
                .filter(|x| x.name.eq_ignore_ascii_case(b))
                .collect();
            if found.is_empty() {
                return Err(ApiError::bad_request(format!(
                    "{p}: Invalid Backend '{b}' specified"
                )));
            }
            if found.iter().all(|x| x.gpus.is_empty()) {
                return Err(ApiError::bad_request(format!(
                    "{p}: GPUs missing for Backend '{b}'"
                )));
            }
            found
        }
        None => backends.iter().collect(),
    };
    let gpus: Vec<_> = candidates
        .iter()
        .flat_map(|b| b.gpus.iter())
        .filter(|g| g.name.eq_ignore_ascii_case(gpu))
        .collect();
    if gpus.is_empty() {
        return Err(ApiError::bad_request(format!(
            "{p}: Invalid GPU '{gpu}' specified"
        )));
    }
    if !gpus
        .iter()
        .any(|g| g.instance_types.iter().any(|t| t.eq_ignore_ascii_case(it)))
    {
        return Err(ApiError::bad_request(format!(
            "{p}: Invalid InstanceType '{it}' specified"
        )));
    }
    Ok(())
}

fn check_autoscaling(spec: &Value) -> ApiResult<()> {
    let Some(a) = spec
        .get("autoscalingConfiguration")
        .filter(|a| !a.is_null())
    else {
        return Ok(());
    };
    let bad = || ApiError::bad_request("Invalid request: Autoscaling configuration is invalid");
    let window_ok = |d: &Value| -> bool {
        let Some(st) = d.get("stickiness").filter(|s| !s.is_null()) else {
            return true;
        };
        let size = st["size"]
            .as_str()
            .and_then(crate::util::parse_iso_duration);
        let thr = st["threshold"]
            .as_str()
            .and_then(crate::util::parse_iso_duration);
        matches!((size, thr), (Some(s), Some(t)) if s <= std::time::Duration::from_secs(3600) && t < s)
    };
    if let Some(up) = a.get("scaleUpDetails").filter(|d| !d.is_null())
        && (up["factor"].as_f64().is_none_or(|f| f <= 1.0) || !window_ok(up))
    {
        return Err(bad());
    }
    if let Some(down) = a.get("scaleDownDetails").filter(|d| !d.is_null())
        && (down["factor"].as_f64().is_none_or(|f| f >= 1.0) || !window_ok(down))
    {
        return Err(bad());
    }
    Ok(())
}

fn check_spec(spec: &Value, v: &Version, backends: &[Backend], p: &str) -> ApiResult<()> {
    for f in ["gpu", "instanceType"] {
        if str_field(spec, f).is_none_or(str::is_empty) {
            return Err(bean(
                OBJ,
                &format!("deploymentSpecifications[].{f}"),
                spec.get(f).unwrap_or(&Value::Null),
                "must not be blank",
            ));
        }
    }
    let max = spec.get("maxInstances").and_then(Value::as_i64);
    let min = spec.get("minInstances").and_then(Value::as_i64);
    let (Some(max), Some(min)) = (max, min) else {
        return Err(bean(
            OBJ,
            "deploymentSpecifications",
            &json!([spec]),
            "Invalid request: 'minInstances' must be lesser than or equal to 'maxInstances'",
        ));
    };
    if max <= 0 {
        return Err(bean(
            OBJ,
            "deploymentSpecifications[].maxInstances",
            &json!(max),
            "must be greater than 0",
        ));
    }
    if min < 0 {
        return Err(bean(
            OBJ,
            "deploymentSpecifications[].minInstances",
            &json!(min),
            "must be greater than or equal to 0",
        ));
    }
    if min > max {
        return Err(bean(
            OBJ,
            "deploymentSpecifications",
            &json!([spec]),
            "Invalid request: 'minInstances' must be lesser than or equal to 'maxInstances'",
        ));
    }
    if let Some(c) = spec.get("maxRequestConcurrency").filter(|c| !c.is_null())
        && c.as_i64().is_none_or(|c| !(1..=16384).contains(&c))
    {
        return Err(bean(
            OBJ,
            "deploymentSpecifications[].maxRequestConcurrency",
            c,
            "must be between 1 and 16384",
        ));
    }
    if let Some(o) = spec.get("preferredOrder").filter(|o| !o.is_null())
        && o.as_i64().is_none_or(|o| !(1..=99).contains(&o))
    {
        return Err(bean(
            OBJ,
            "deploymentSpecifications[].preferredOrder",
            o,
            "must be between 1 and 99",
        ));
    }
    if has(spec, "backend")
        && spec
            .get("clusters")
            .and_then(Value::as_array)
            .is_some_and(|c| !c.is_empty())
    {
        return Err(ApiError::bad_request(format!(
            "{p}: 'backend' cannot be combined with 'clusters'"
        )));
    }
    let container = v.is_container();
    let config_set = spec
        .get("configuration")
        .is_some_and(|c| c.as_object().is_some_and(|o| !o.is_empty()));
    if container && (config_set || has(spec, "helmValidationPolicy")) {
        return Err(ApiError::bad_request(format!(
            "{p}: The configuration field in Gpu specification should be empty for container based functions."
        )));
    }
    check_autoscaling(spec)?;
    check_catalogue(backends, spec, p)
}

fn deployment_response(state: &SimState, meta: &ReqMeta, d: &Deployment, v: &Version) -> ApiResult {
    state.respond(
        meta,
        Spec::Nvcf,
        Shape::Component("DeploymentResponse"),
        StatusCode::OK,
        json!({ "deployment": d.dto(v) }),
    )
}

fn specs_of(req: &Value) -> ApiResult<Vec<Value>> {
    match req.get("deploymentSpecifications") {
        Some(Value::Array(a)) if !a.is_empty() => Ok(a.clone()),
        other => Err(bean(
            OBJ,
            "deploymentSpecifications",
            other.unwrap_or(&Value::Null),
            "must not be empty",
        )),
    }
}

async fn create(
    State(state): State<Arc<SimState>>,
    Extension(meta): Extension<ReqMeta>,
    Path((fid, vid)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let (fid, vid) = version_ids(&fid, &vid)?;
    let caller = state.caller(&meta, &headers, Namespace::Nvcf, "deploy_function")?;
    let req = spring_json(&headers, &body)?;
    let mut specs = specs_of(&req)?;
    let mut inner = state.lock();
    inner.functions.tick(state.config.deploy_outcome);
    let backends = inner.backends(&state.config);
    let nca = caller.nca_id.clone();
    let v = inner
        .functions
        .version(&nca, fid, vid)
        .ok_or_else(|| not_found_version(fid, vid, &nca))?
        .clone();
    let p = prefix(fid, vid);
    match v.status {
        Status::Inactive if inner.functions.deployment_of(vid).is_some() => {
            return Err(ApiError::bad_request(format!(
                "{p}: Function deployment found for INACTIVE function. Wait for current deployment to be gracefully completed and removed."
            )));
        }
        Status::Inactive => {}
        Status::Error => {
            return Err(ApiError::bad_request(format!(
                "{p}: Function already has a deployment with errors"
            )));
        }
        s => {
            return Err(ApiError::bad_request(format!(
                "{p}: Status {}, use PATCH endpoint to update gpu-specification",
                s.as_str()
            )));
        }
    }
    for s in &specs {
        check_spec(s, &v, &backends, &p)?;
    }
    for s in &specs {
        state.contract.request(
            meta.service,
            Spec::Nvcf,
            Shape::Component("GpuSpecificationDto"),
            s,
        )?;
    }
    for s in specs.iter_mut() {
        s["gpuSpecificationId"] = json!(Uuid::new_v4());
    }
    let zero_scale = specs.iter().all(|s| s["minInstances"] == 0);
    let t = now();
    let d = Deployment {
        deployment_id: Uuid::new_v4(),
        function_id: fid,
        version_id: vid,
        specs,
        health_info: Vec::new(),
        created_at: t,
        updated_at: t,
    };
    let version = inner
        .functions
        .version_mut(&nca, fid, vid)
        .expect("checked above");
    if zero_scale {
        version.status = Status::Active;
    } else {
        version.status = Status::Deploying;
        version.settles_at = Some(t + state.config.deploy_duration);
    }
    let version = version.clone();
    let resp = deployment_response(&state, &meta, &d, &version)?;
    inner.functions.deployments.push(d);
    Ok(resp)
}

async fn get_by_version(
    State(state): State<Arc<SimState>>,
    Extension(meta): Extension<ReqMeta>,
    Path((fid, vid)): Path<(String, String)>,
    headers: HeaderMap,
) -> ApiResult {
    let (fid, vid) = version_ids(&fid, &vid)?;
    let caller = state.caller(&meta, &headers, Namespace::Nvcf, "deploy_function")?;
    let mut inner = state.lock();
    inner.functions.tick(state.config.deploy_outcome);
    let v = inner
        .functions
        .version(&caller.nca_id, fid, vid)
        .ok_or_else(|| not_found_version(fid, vid, &caller.nca_id))?;
    let d = inner.functions.deployment_of(vid).ok_or_else(|| {
        ApiError::not_found(format!("Function version '{vid}': Deployment not found"))
    })?;
    deployment_response(&state, &meta, d, v)
}

async fn get_by_id(
    State(state): State<Arc<SimState>>,
    Extension(meta): Extension<ReqMeta>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> ApiResult {
    let id = path_uuid("deploymentId", &id)?;
    let caller = state.caller(&meta, &headers, Namespace::Nvcf, "deploy_function")?;
    let mut inner = state.lock();
    inner.functions.tick(state.config.deploy_outcome);
    let not_found = || ApiError::not_found(format!("Deployment id '{id}': Deployment not found"));
    let d = inner
        .functions
        .deployments
        .iter()
        .find(|d| d.deployment_id == id)
        .ok_or_else(not_found)?;
    let v = inner
        .functions
        .version(&caller.nca_id, d.function_id, d.version_id)
        .ok_or_else(not_found)?;
    deployment_response(&state, &meta, d, v)
}

/// The deprecated PUT: min/max (and concurrency) of existing specs; anything else must match.
async fn update(
    State(state): State<Arc<SimState>>,
    Extension(meta): Extension<ReqMeta>,
    Path((fid, vid)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let (fid, vid) = version_ids(&fid, &vid)?;
    let caller = state.caller(&meta, &headers, Namespace::Nvcf, "deploy_function")?;
    let req = spring_json(&headers, &body)?;
    let specs = specs_of(&req)?;
    let mut inner = state.lock();
    inner.functions.tick(state.config.deploy_outcome);
    let nca = caller.nca_id.clone();
    let p = prefix(fid, vid);
    let v = inner
        .functions
        .version(&nca, fid, vid)
        .ok_or_else(|| not_found_version(fid, vid, &nca))?
        .clone();
    if !v.status.busy() {
        return Err(ApiError::bad_request(format!(
            "{p}: Invalid status '{}'",
            v.status.as_str()
        )));
    }
    let d = inner
        .functions
        .deployments
        .iter_mut()
        .find(|d| d.version_id == vid)
        .ok_or_else(|| {
            ApiError::not_found(format!("Function version '{vid}': Deployment not found"))
        })?;
    if specs.len() > 1 && specs.iter().any(|s| !has(s, "gpuSpecificationId")) {
        return Err(ApiError::bad_request(format!(
            "{p}: Deployment has multiple GPU specifications. To update deployment use PATCH endpoint."
        )));
    }
    for s in &specs {
        let target = match str_field(s, "gpuSpecificationId") {
            Some(id) => d.specs.iter_mut().find(|x| x["gpuSpecificationId"] == id),
            None => d.specs.first_mut(),
        }
        .ok_or_else(|| {
            ApiError::not_found(format!(
                "Invalid request: Unknown gpu-specification-id '{}'",
                str_field(s, "gpuSpecificationId").unwrap_or_default()
            ))
        })?;
        for f in ["gpu", "instanceType", "backend"] {
            if let Some(x) = s.get(f).and_then(Value::as_str)
                && !target
                    .get(f)
                    .and_then(Value::as_str)
                    .is_some_and(|t| t.eq_ignore_ascii_case(x))
            {
                return Err(ApiError::bad_request(format!(
                    "{p}: Deployment specifications mismatch: '{f}' cannot be changed"
                )));
            }
        }
        let (min, max) = (
            s["minInstances"].as_i64().unwrap_or(-1),
            s["maxInstances"].as_i64().unwrap_or(0),
        );
        if min < 0 || max <= 0 || min > max {
            return Err(bean(
                OBJ,
                "deploymentSpecifications",
                &json!([s]),
                "Invalid request: 'minInstances' must be lesser than or equal to 'maxInstances'",
            ));
        }
        target["minInstances"] = json!(min);
        target["maxInstances"] = json!(max);
        if let Some(c) = s.get("maxRequestConcurrency").filter(|c| !c.is_null()) {
            target["maxRequestConcurrency"] = c.clone();
        }
    }
    d.updated_at = now();
    let d = d.clone();
    deployment_response(&state, &meta, &d, &v)
}

async fn patch_spec(
    State(state): State<Arc<SimState>>,
    Extension(meta): Extension<ReqMeta>,
    Path((id, spec_id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let id = path_uuid("deploymentId", &id)?;
    let spec_uuid = path_uuid("gpuSpecificationId", &spec_id)?;
    let caller = state.caller(&meta, &headers, Namespace::Nvcf, "deploy_function")?;
    let req = spring_json(&headers, &body)?;
    let keys = [
        "minInstances",
        "maxInstances",
        "autoscalingConfiguration",
        "autoscalingConfigurationPolicy",
    ];
    if !keys.iter().any(|k| has(&req, k)) {
        return Err(ApiError::bad_request(format!(
            "Deployment id '{id}': Empty update gpu specification request. At least one field should be provided."
        )));
    }
    if let Some(p) = req
        .get("autoscalingConfigurationPolicy")
        .and_then(Value::as_str)
        && !["CUSTOM_CONFIGURATION", "PLATFORM_CONFIGURATION"]
            .iter()
            .any(|x| x.eq_ignore_ascii_case(p))
    {
        return Err(ApiError::spring(400, "Failed to read request"));
    }
    check_autoscaling(&req)?;
    let mut inner = state.lock();
    let not_found = || ApiError::not_found(format!("Deployment id '{id}': Deployment not found"));
    let f = &mut inner.functions;
    let owned = |vid: Uuid| {
        f.versions
            .iter()
            .any(|v| v.version_id == vid && v.nca_id == caller.nca_id)
    };
    let idx = f
        .deployments
        .iter()
        .position(|d| d.deployment_id == id && owned(d.version_id))
        .ok_or_else(not_found)?;
    let d = &mut f.deployments[idx];
    let spec = d
        .specs
        .iter_mut()
        .find(|s| s["gpuSpecificationId"] == spec_uuid.to_string())
        .ok_or_else(|| {
            ApiError::not_found(format!(
                "Invalid request: Unknown gpu-specification-id '{spec_id}'"
            ))
        })?;
    let min = req
        .get("minInstances")
        .and_then(Value::as_i64)
        .or(spec["minInstances"].as_i64())
        .unwrap_or(0);
    let max = req
        .get("maxInstances")
        .and_then(Value::as_i64)
        .or(spec["maxInstances"].as_i64())
        .unwrap_or(0);
    if min > max {
        return Err(ApiError::bad_request(format!(
            "Invalid request: minInstances '{min}' must be lesser than or equal to maxInstances '{max}'"
        )));
    }
    spec["minInstances"] = json!(min);
    spec["maxInstances"] = json!(max);
    if let Some(a) = req.get("autoscalingConfiguration").filter(|a| !a.is_null()) {
        spec["autoscalingConfiguration"] = a.clone();
    }
    let out = spec.clone();
    d.updated_at = now();
    state.respond(
        &meta,
        Spec::Nvcf,
        Shape::Wrapped("gpuSpecification", "GpuSpecificationDto"),
        StatusCode::OK,
        json!({ "gpuSpecification": out }),
    )
}

async fn remove(
    State(state): State<Arc<SimState>>,
    Extension(meta): Extension<ReqMeta>,
    Path((fid, vid)): Path<(String, String)>,
    headers: HeaderMap,
    Query(q): Query<std::collections::HashMap<String, String>>,
) -> ApiResult {
    let (fid, vid) = version_ids(&fid, &vid)?;
    let caller = state.caller(&meta, &headers, Namespace::Nvcf, "deploy_function")?;
    let mut inner = state.lock();
    inner.functions.tick(state.config.deploy_outcome);
    let nca = caller.nca_id.clone();
    inner
        .functions
        .version(&nca, fid, vid)
        .ok_or_else(|| not_found_version(fid, vid, &nca))?;
    if inner.functions.deployment_of(vid).is_none() {
        return Err(ApiError::not_found(format!(
            "Function version '{vid}': Deployment not found"
        )));
    }
    // `graceful=true` drains the queue first; nothing is queued in the simulator once a
    // request has been answered, so both forms remove the deployment now.
    let _graceful = q.get("graceful").is_some_and(|g| g == "true");
    inner.functions.deployments.retain(|d| d.version_id != vid);
    let v = inner
        .functions
        .version_mut(&nca, fid, vid)
        .expect("checked above");
    v.status = Status::Inactive;
    v.settles_at = None;
    let v = v.clone();
    state.respond(
        &meta,
        Spec::Nvcf,
        Shape::Component("FunctionResponse"),
        StatusCode::OK,
        json!({ "function": v.dto(None, false, false) }),
    )
}
