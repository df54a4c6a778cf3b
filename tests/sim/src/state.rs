//! Everything the simulator remembers, behind one lock; handlers never hold it across an await.

use std::sync::{Mutex, MutexGuard};

use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde_json::Value;

use crate::auth::{Caller, JwtKeys, Namespace, authenticate, denial};
use crate::config::{Backend, SimConfig};
use crate::contract::{Contract, Shape, Spec};
use crate::errors::{ApiError, ApiResult};
use crate::faults::Faults;
use crate::reqlog::RequestLog;
use crate::routing::Service;
use crate::services::{accounts, api_keys, functions, invocation, registry, sis, tasks};

#[derive(Default)]
pub struct Inner {
    pub keys: api_keys::Store,
    pub accounts: accounts::Store,
    pub functions: functions::Store,
    pub registry: registry::Store,
    pub clusters: sis::Store,
    pub tasks: tasks::Store,
    pub invocations: invocation::Store,
    pub limits: crate::ratelimit::Windows,
}

impl Inner {
    /// The upstream set for a function through `/_sim/functions/{fid}/worker`.
    pub fn invocations_worker_upstream(&self, function: uuid::Uuid) -> Option<String> {
        self.invocations
            .worker(function)
            .and_then(|w| w.upstream.clone())
    }

    /// Configured backends plus the cluster groups registered through SIS.
    pub fn backends(&self, config: &SimConfig) -> Vec<Backend> {
        let mut all = config.catalogue.clone();
        all.extend(self.clusters.backends());
        all
    }
}

pub struct SimState {
    pub config: SimConfig,
    inner: Mutex<Inner>,
    pub jwt: JwtKeys,
    pub contract: Contract,
    pub faults: Faults,
    pub log: RequestLog,
    pub http: reqwest::Client,
}

/// Per-request facts the dispatcher worked out before the handler runs.
#[derive(Debug, Clone, Copy)]
pub struct ReqMeta {
    pub service: Service,
    pub token_expired: bool,
}

impl SimState {
    pub fn new(config: SimConfig) -> std::io::Result<Self> {
        let log = RequestLog::new(config.request_log_capacity, config.request_log.as_deref())?;
        let inner = Inner {
            accounts: accounts::Store::bootstrap(&config),
            ..Default::default()
        };
        Ok(Self {
            faults: Faults::new(config.faults.clone()),
            contract: Contract::new(config.strict_contract),
            jwt: JwtKeys::generate(),
            inner: Mutex::new(inner),
            log,
            http: reqwest::Client::builder()
                .build()
                .map_err(std::io::Error::other)?,
            config,
        })
    }

    pub fn lock(&self) -> MutexGuard<'_, Inner> {
        // A handler that panicked mid-update leaves state a test will flag anyway; keep serving.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Authenticates and checks one scope, answering in the service's error shape.
    pub fn caller(
        &self,
        meta: &ReqMeta,
        headers: &HeaderMap,
        ns: Namespace,
        scope: &str,
    ) -> ApiResult<Caller> {
        let caller = authenticate(self, headers, ns, meta.token_expired)
            .map_err(|d| denial(meta.service, d))?;
        caller.require(scope).map_err(|d| denial(meta.service, d))?;
        Ok(caller)
    }

    /// Validates a response body against the spec and turns it into JSON.
    pub fn respond(
        &self,
        meta: &ReqMeta,
        spec: Spec,
        shape: Shape,
        status: StatusCode,
        body: Value,
    ) -> ApiResult {
        self.contract.response(meta.service, spec, shape, &body)?;
        Ok(json(status, &body))
    }
}

pub fn json(status: StatusCode, body: &Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

/// Spring MVC's JSON body handling: `consumes = application/json` (415 otherwise), then
/// Jackson (400 `Failed to read request` when unreadable).
pub fn spring_json(headers: &HeaderMap, body: &Bytes) -> ApiResult<Value> {
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let mime = ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if mime != "application/json" && !mime.ends_with("+json") {
        let shown = if ct.is_empty() {
            "application/octet-stream"
        } else {
            ct
        };
        return Err(ApiError::spring(
            415,
            format!("Content-Type '{shown}' is not supported."),
        ));
    }
    let v: Value = serde_json::from_slice(body)
        .map_err(|_| ApiError::spring(400, "Failed to read request"))?;
    if v.is_object() {
        Ok(v)
    } else {
        Err(ApiError::spring(400, "Failed to read request"))
    }
}
