//! One module per upstream service (and per NVCF API controller group).

use std::sync::Arc;

use axum::Router;
use serde_json::Value;
use uuid::Uuid;

use crate::errors::ApiError;
use crate::state::SimState;

pub mod accounts;
pub mod admin_issuer;
pub mod api_keys;
pub mod deployments;
pub mod functions;
pub mod grpc;
pub mod invocation;
pub mod llm;
pub mod nvcf_misc;
pub mod registry;
pub mod sis;
pub mod tasks;

/// Everything on `api.<domain>`.
pub fn nvcf_router(state: Arc<SimState>) -> Router {
    functions::router(state.clone())
        .merge(deployments::router(state.clone()))
        .merge(registry::router(state.clone()))
        .merge(accounts::router(state.clone()))
        .merge(nvcf_misc::router(state))
}

/// Spring's answer when a `UUID` path variable does not parse.
pub fn path_uuid(name: &str, value: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(value)
        .ok()
        .filter(|_| value.len() == 36)
        .ok_or_else(|| {
            ApiError::spring(
                400,
                format!("Failed to convert '{name}' with value: '{value}'"),
            )
        })
}

/// The `{functionId}/versions/{functionVersionId}` pair of most NVCF paths.
pub fn version_ids(fid: &str, vid: &str) -> Result<(Uuid, Uuid), ApiError> {
    Ok((
        path_uuid("functionId", fid)?,
        path_uuid("functionVersionId", vid)?,
    ))
}

/// Spring bean-validation detail (`ValidationAwareExceptionHandler`).
pub fn bean(object: &str, field: &str, rejected: &Value, message: &str) -> ApiError {
    let rejected = match rejected {
        Value::String(s) => s.clone(),
        Value::Null => "null".into(),
        other => other.to_string(),
    };
    ApiError::spring(
        400,
        format!(
            "Validation failed: [object={object}, field={field}, rejected={rejected}, message={message}]"
        ),
    )
}

pub fn str_field<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

/// Present and not JSON null.
pub fn has(v: &Value, key: &str) -> bool {
    v.get(key).is_some_and(|x| !x.is_null())
}
