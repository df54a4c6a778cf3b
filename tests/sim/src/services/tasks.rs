//! NVCT tasks (`tasks.<domain>`, `/v1/nvct`; endpoints.md §7, lifecycles.md §3 and §7):
//! QUEUED → LAUNCHED → RUNNING → terminal on configurable timers, events on status
//! changes, results for UPLOAD tasks, hex cursors with the status filter after paging.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

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

use super::{bean, has, path_uuid, str_field};
use crate::auth::{Caller, Namespace};
use crate::config::{Backend, SimConfig};
use crate::errors::{ApiError, ApiResult};
use crate::state::{ReqMeta, SimState, json, spring_json};
use crate::util::{now, parse_iso_duration, ts};

const TERMINAL: [&str; 5] = [
    "CANCELED",
    "COMPLETED",
    "ERRORED",
    "EXCEEDED_MAX_RUNTIME_DURATION",
    "EXCEEDED_MAX_QUEUED_DURATION",
];
const STATUSES: [&str; 8] = [
    "QUEUED",
    "LAUNCHED",
    "RUNNING",
    "ERRORED",
    "CANCELED",
    "EXCEEDED_MAX_RUNTIME_DURATION",
    "EXCEEDED_MAX_QUEUED_DURATION",
    "COMPLETED",
];
const OBJ: &str = "createTaskRequest";

#[derive(Debug, Clone)]
pub struct Task {
    id: Uuid,
    nca_id: String,
    fields: Map<String, Value>,
    status: &'static str,
    created_at: OffsetDateTime,
    updated_at: OffsetDateTime,
    upload: bool,
    secrets: Vec<String>,
    percent: Option<u64>,
    checkpoint_written: bool,
    /// Set by `/_sim/tasks/{id}/status`: the timers stop moving this task.
    pinned: bool,
    max_queued: Duration,
    max_runtime: Option<Duration>,
}

impl Task {
    fn terminal(&self) -> bool {
        TERMINAL.contains(&self.status)
    }

    fn dto(&self, with_details: bool) -> Value {
        let mut v = self.fields.clone();
        v.insert("id".into(), json!(self.id));
        v.insert("ncaId".into(), json!(self.nca_id));
        v.insert("status".into(), json!(self.status));
        v.insert("createdAt".into(), json!(ts(self.created_at)));
        v.insert("lastUpdatedAt".into(), json!(ts(self.updated_at)));
        if let Some(p) = self.percent {
            v.insert("percentComplete".into(), json!(p));
        }
        if with_details {
            if !self.secrets.is_empty() {
                v.insert("secrets".into(), json!(self.secrets));
            }
            if self.status != "QUEUED" {
                let state = match self.status {
                    "LAUNCHED" => "STARTING",
                    "RUNNING" => "RUNNING",
                    _ => "TERMINATED",
                };
                let gpu = &self.fields["gpuSpecification"];
                v.insert(
                    "instances".into(),
                    json!([{
                        "instanceId": format!("sim-task-{}", &self.id.to_string()[..8]), "taskId": self.id,
                        "instanceType": gpu["instanceType"], "instanceState": state, "icmsRequestId": Uuid::new_v5(&self.id, b"icms"),
                        "ncaId": self.nca_id, "gpu": gpu["gpu"], "backend": gpu.get("backend").cloned().unwrap_or(json!("nvcf-default")),
                        "location": "sim", "instanceCreatedAt": ts(self.created_at), "instanceUpdatedAt": ts(self.updated_at),
                    }]),
                );
            }
        }
        Value::Object(v)
    }
}

#[derive(Debug, Clone)]
struct Event {
    id: Uuid,
    task_id: Uuid,
    nca_id: String,
    message: String,
    created_at: OffsetDateTime,
}

#[derive(Debug, Clone)]
struct TaskResult {
    id: Uuid,
    task_id: Uuid,
    nca_id: String,
    name: String,
    metadata: Value,
    created_at: OffsetDateTime,
}

#[derive(Default)]
pub struct Store {
    tasks: Vec<Task>,
    events: Vec<Event>,
    results: Vec<TaskResult>,
}

impl Store {
    fn change(&mut self, idx: usize, to: &'static str, at: OffsetDateTime, error: Option<&str>) {
        let t = &mut self.tasks[idx];
        let message = match error {
            Some(e) => format!(
                "Changing status from '{}' to '{to}' with error '{e}'",
                t.status
            ),
            None => format!("Changing status from '{}' to '{to}'", t.status),
        };
        t.status = to;
        t.updated_at = at;
        self.events.push(Event {
            id: Uuid::new_v4(),
            task_id: t.id,
            nca_id: t.nca_id.clone(),
            message,
            created_at: at,
        });
    }

    fn result(&mut self, idx: usize, name: &str, percent: u64, at: OffsetDateTime) {
        let t = &mut self.tasks[idx];
        t.percent = Some(percent);
        let r = TaskResult {
            id: Uuid::new_v4(),
            task_id: t.id,
            nca_id: t.nca_id.clone(),
            name: name.into(),
            metadata: json!({"percentComplete": percent}),
            created_at: at,
        };
        self.results.push(r);
    }

    /// Replays every transition whose time has come, stamping events with that time.
    pub fn tick(&mut self, c: &SimConfig) {
        let t = now();
        for idx in 0..self.tasks.len() {
            if self.tasks[idx].pinned || self.tasks[idx].terminal() {
                continue;
            }
            let task = &self.tasks[idx];
            let launched = task.created_at + c.task_queue_duration;
            let running = launched + c.task_launch_duration;
            let done = running + c.task_run_duration;
            if task.status == "QUEUED" && c.task_queue_duration > task.max_queued {
                let at = task.created_at + task.max_queued;
                if t >= at {
                    self.change(idx, "EXCEEDED_MAX_QUEUED_DURATION", at, None);
                }
                continue;
            }
            if self.tasks[idx].status == "QUEUED" && t >= launched {
                self.change(idx, "LAUNCHED", launched, None);
            }
            if self.tasks[idx].status == "LAUNCHED" && t >= running {
                self.change(idx, "RUNNING", running, None);
            }
            if self.tasks[idx].status != "RUNNING" {
                continue;
            }
            let midpoint = running + c.task_run_duration / 2;
            if self.tasks[idx].upload && !self.tasks[idx].checkpoint_written && t >= midpoint {
                self.tasks[idx].checkpoint_written = true;
                self.result(idx, "checkpoint-1", 50, midpoint);
            }
            if let Some(max) = self.tasks[idx]
                .max_runtime
                .filter(|m| *m < c.task_run_duration)
            {
                if t >= running + max {
                    self.change(idx, "EXCEEDED_MAX_RUNTIME_DURATION", running + max, None);
                }
                continue;
            }
            if t >= done {
                if self.tasks[idx].upload {
                    self.result(idx, "final", 100, done);
                }
                self.tasks[idx].percent = Some(100);
                self.change(idx, "COMPLETED", done, None);
            }
        }
    }

    pub fn force(&mut self, id: Uuid, status: &str, error: Option<&str>) -> Result<(), String> {
        let to = STATUSES
            .iter()
            .find(|s| s.eq_ignore_ascii_case(status))
            .ok_or_else(|| format!("unknown task status {status}"))?;
        let idx = self
            .tasks
            .iter()
            .position(|t| t.id == id)
            .ok_or("no such task")?;
        self.tasks[idx].pinned = true;
        self.change(idx, to, now(), error);
        Ok(())
    }
}

pub fn router(state: Arc<SimState>) -> Router {
    Router::new()
        .route("/v1/nvct/tasks", post(create).get(list))
        .route("/v1/nvct/tasks/bulk", post(bulk))
        .route("/v1/nvct/tasks/{id}", get(show).delete(remove))
        .route("/v1/nvct/tasks/{id}/cancel", post(cancel))
        .route("/v1/nvct/tasks/{id}/events", get(events))
        .route("/v1/nvct/tasks/{id}/results", get(results))
        .route("/v1/nvct/secrets/tasks/{id}", put(secrets))
        .with_state(state)
}

static NAME: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[a-z0-9A-Z][a-z0-9A-Z\-_]*$").expect("static regex"));
static RESULTS_LOCATION: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[^/\s]+/([^/\s]+/)?[^/\s]+$").expect("static regex"));

fn duration(req: &Value, field: &str) -> ApiResult<Option<Duration>> {
    let Some(v) = req.get(field).filter(|v| !v.is_null()) else {
        return Ok(None);
    };
    let d = v
        .as_str()
        .and_then(parse_iso_duration)
        .ok_or_else(|| ApiError::spring(400, "Failed to read request"))?;
    if d.is_zero() {
        return Err(ApiError::bad_request(format!(
            "Invalid request: '{field}' cannot be of zero length"
        )));
    }
    Ok(Some(d))
}

fn check_gpu(backends: &[Backend], gpu_spec: &Value) -> ApiResult<()> {
    let gpu = str_field(gpu_spec, "gpu").unwrap_or_default();
    let it = str_field(gpu_spec, "instanceType").unwrap_or_default();
    let candidates: Vec<&Backend> = match str_field(gpu_spec, "backend") {
        Some(b) => {
            let found: Vec<&Backend> = backends
                .iter()
                .filter(|x| x.name.eq_ignore_ascii_case(b))
                .collect();
            if found.is_empty() {
                return Err(ApiError::bad_request(format!(
                    "Invalid request: Invalid Backend '{b}' specified"
                )));
            }
            found
        }
        None => backends.iter().collect(),
    };
    let gpus: Vec<_> = candidates
        .iter()
        .flat_map(|b| &b.gpus)
        .filter(|g| g.name.eq_ignore_ascii_case(gpu))
        .collect();
    if gpus.is_empty() {
        return Err(ApiError::bad_request(format!(
            "Invalid request: Invalid GPU '{gpu}' specified"
        )));
    }
    if !gpus
        .iter()
        .any(|g| g.instance_types.iter().any(|t| t.eq_ignore_ascii_case(it)))
    {
        return Err(ApiError::bad_request(format!(
            "Invalid request: Invalid InstanceType '{it}' specified"
        )));
    }
    Ok(())
}

/// What a valid CreateTaskRequest becomes.
struct Validated {
    fields: Map<String, Value>,
    secrets: Vec<String>,
    upload: bool,
    max_queued: Duration,
    max_runtime: Option<Duration>,
}

/// `TaskManagementService` rules, in its order; returns the stored TaskDto fields.
fn validate(req: &Value, backends: &[Backend]) -> ApiResult<Validated> {
    let name = str_field(req, "name").unwrap_or_default();
    if name.is_empty() || name.len() > 128 || !NAME.is_match(name) {
        return Err(bean(
            OBJ,
            "name",
            req.get("name").unwrap_or(&Value::Null),
            "Invalid task name: Must conform to regex ^[a-z0-9A-Z][a-z0-9A-Z\\-_]*$",
        ));
    }
    let gpu = req
        .get("gpuSpecification")
        .filter(|g| g.is_object())
        .ok_or_else(|| bean(OBJ, "gpuSpecification", &Value::Null, "must not be null"))?;
    for f in ["gpu", "instanceType"] {
        if str_field(gpu, f).is_none_or(str::is_empty) {
            return Err(bean(
                OBJ,
                &format!("gpuSpecification.{f}"),
                gpu.get(f).unwrap_or(&Value::Null),
                "must not be blank",
            ));
        }
    }
    let (image, helm) = (has(req, "containerImage"), has(req, "helmChart"));
    if image == helm {
        return Err(ApiError::bad_request(
            "Invalid request: One of the following properties 'containerImage' or 'helmChart' must be specified in the payload",
        ));
    }
    if helm && (has(req, "containerArgs") || has(req, "containerEnvironment")) {
        return Err(ApiError::bad_request(
            "Invalid request: 'containerArgs' and 'containerEnvironment' cannot be specified with 'helmChart'",
        ));
    }
    if image
        && (gpu
            .get("configuration")
            .and_then(Value::as_object)
            .is_some_and(|c| !c.is_empty())
            || has(gpu, "helmValidationPolicy"))
    {
        return Err(ApiError::bad_request(
            "Invalid request: The configuration field in Gpu specification should be empty for container based tasks.",
        ));
    }
    super::functions::check_tags(OBJ, req)?;
    if str_field(req, "description").is_some_and(|d| d.chars().count() > 256) {
        return Err(bean(
            OBJ,
            "description",
            &req["description"],
            "size must be between 0 and 256",
        ));
    }
    let max_runtime = duration(req, "maxRuntimeDuration")?;
    let max_queued = duration(req, "maxQueuedDuration")?.unwrap_or(Duration::from_secs(72 * 3600));
    let grace =
        duration(req, "terminationGracePeriodDuration")?.unwrap_or(Duration::from_secs(3600));
    if max_runtime.is_some_and(|m| grace > m) {
        return Err(ApiError::bad_request(
            "Invalid request: 'terminationGracePeriodDuration' cannot exceed 'maxRuntimeDuration'",
        ));
    }
    if str_field(gpu, "backend").is_some_and(|b| b.eq_ignore_ascii_case("GFN")) {
        match max_runtime {
            None => {
                return Err(ApiError::bad_request(
                    "Invalid request: 'maxRuntimeDuration' must be specified when launching Task on 'GFN'",
                ));
            }
            Some(m) if m > Duration::from_secs(8 * 3600) => {
                return Err(ApiError::bad_request(
                    "Invalid request: 'maxRuntimeDuration' cannot exceed PT8H when launching Task on 'GFN'",
                ));
            }
            Some(_) => {}
        }
    }
    let strategy = match req.get("resultHandlingStrategy") {
        None | Some(Value::Null) => "UPLOAD".to_string(),
        Some(Value::String(s)) if ["UPLOAD", "NONE"].iter().any(|x| x.eq_ignore_ascii_case(s)) => {
            s.to_ascii_uppercase()
        }
        Some(_) => return Err(ApiError::spring(400, "Failed to read request")),
    };
    let secrets: Vec<&Value> = req
        .get("secrets")
        .and_then(Value::as_array)
        .map(|a| a.iter().collect())
        .unwrap_or_default();
    let mut names: Vec<String> = Vec::new();
    for s in &secrets {
        let n = str_field(s, "name").unwrap_or_default().to_string();
        if n.is_empty() || s.get("value").is_none_or(Value::is_null) {
            return Err(bean(OBJ, "secrets", s, "name and value must not be null"));
        }
        if names.contains(&n) {
            return Err(ApiError::bad_request(
                "Invalid request: Duplicate secrets keys in the payload",
            ));
        }
        names.push(n);
    }
    let upload = strategy == "UPLOAD";
    if upload {
        if names.is_empty() {
            return Err(ApiError::bad_request(
                "Invalid request: Missing secrets with  default or UPLOAD 'resultHandlingStrategy'",
            ));
        }
        if !names.iter().any(|n| n == "NGC_API_KEY") {
            return Err(ApiError::bad_request(
                "Invalid request: Missing 'NGC_API_KEY' secret key in the payload",
            ));
        }
        let loc = str_field(req, "resultsLocation").ok_or_else(|| {
            ApiError::bad_request("Invalid request: Missing 'resultsLocation' property")
        })?;
        if !RESULTS_LOCATION.is_match(loc) {
            return Err(ApiError::bad_request(
                "Invalid request: 'resultsLocation' should have format '<org-name>/optional-team-name/<model-name>'",
            ));
        }
    }
    check_gpu(backends, gpu)?;

    let mut fields = Map::new();
    for k in [
        "name",
        "gpuSpecification",
        "containerImage",
        "containerArgs",
        "containerEnvironment",
        "models",
        "resources",
        "tags",
        "description",
        "resultsLocation",
        "maxRuntimeDuration",
        "helmChart",
        "telemetries",
    ] {
        if let Some(v) = req.get(k).filter(|v| !v.is_null()) {
            fields.insert(k.into(), v.clone());
        }
    }
    fields.insert("resultHandlingStrategy".into(), json!(strategy));
    fields.insert(
        "maxQueuedDuration".into(),
        req.get("maxQueuedDuration")
            .filter(|v| !v.is_null())
            .cloned()
            .unwrap_or(json!("PT72H")),
    );
    fields.insert(
        "terminationGracePeriodDuration".into(),
        req.get("terminationGracePeriodDuration")
            .filter(|v| !v.is_null())
            .cloned()
            .unwrap_or(json!("PT1H")),
    );
    Ok(Validated {
        fields,
        secrets: names,
        upload,
        max_queued,
        max_runtime,
    })
}

/// API keys need `account-tasks:*`; JWT callers act on their account.
fn resource_ok(caller: &Caller) -> bool {
    let Some(p) = &caller.policy else { return true };
    p.get("resources")
        .and_then(Value::as_array)
        .is_some_and(|r| {
            r.iter()
                .any(|r| r["type"] == "account-tasks" && r["id"] == "*")
        })
}

fn task_caller(
    state: &SimState,
    meta: &ReqMeta,
    headers: &HeaderMap,
    scope: &str,
    denied: &str,
) -> ApiResult<Caller> {
    let caller = state.caller(meta, headers, Namespace::Nvct, scope)?;
    if !resource_ok(&caller) {
        return Err(ApiError::problem(403, denied.to_string()));
    }
    Ok(caller)
}

async fn create(
    State(state): State<Arc<SimState>>,
    Extension(meta): Extension<ReqMeta>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let caller = task_caller(
        &state,
        &meta,
        &headers,
        "launch_task",
        "Forbidden to create task",
    )?;
    let req = spring_json(&headers, &body)?;
    let mut inner = state.lock();
    let backends = inner.backends(&state.config);
    let Validated {
        fields,
        secrets,
        upload,
        max_queued,
        max_runtime,
    } = validate(&req, &backends)?;
    let t = now();
    let task = Task {
        id: Uuid::new_v4(),
        nca_id: caller.nca_id,
        fields,
        status: "QUEUED",
        created_at: t,
        updated_at: t,
        upload,
        secrets,
        percent: None,
        checkpoint_written: false,
        pinned: false,
        max_queued,
        max_runtime,
    };
    let dto = task.dto(false);
    inner.tasks.tasks.push(task);
    Ok(json(StatusCode::OK, &json!({ "task": dto })))
}

/// The opaque cursor stands in for Cassandra's paging state: hex of the next offset.
fn decode_cursor(c: Option<&String>) -> ApiResult<usize> {
    let Some(c) = c.filter(|c| !c.is_empty()) else {
        return Ok(0);
    };
    let bad = || ApiError::bad_request(format!("Invalid cursor: '{c}'"));
    if c.len() % 2 != 0 {
        return Err(bad());
    }
    let bytes: Option<Vec<u8>> = (0..c.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&c[i..i + 2], 16).ok())
        .collect();
    let text = String::from_utf8(bytes.ok_or_else(bad)?).map_err(|_| bad())?;
    text.strip_prefix("offset:")
        .and_then(|n| n.parse().ok())
        .ok_or_else(bad)
}

fn encode_cursor(offset: usize) -> String {
    format!("offset:{offset}")
        .bytes()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn page_params(q: &HashMap<String, String>) -> ApiResult<(usize, usize)> {
    let limit = match q.get("limit") {
        None => 10,
        Some(l) => match l.parse::<i64>() {
            Ok(n) if n > 0 => n as usize,
            Ok(_) => {
                return Err(ApiError::spring(
                    400,
                    "Validation failed: [object=list, field=limit, rejected=".to_string()
                        + l
                        + ", message=must be greater than 0]",
                ));
            }
            Err(_) => {
                return Err(ApiError::spring(
                    400,
                    format!("Failed to convert 'limit' with value: '{l}'"),
                ));
            }
        },
    };
    Ok((limit, decode_cursor(q.get("cursor"))?))
}

/// One page of `items` plus `limit`/`cursor` only when more data exists.
fn page(
    key: &str,
    items: Vec<Value>,
    limit: usize,
    offset: usize,
    keep: impl Fn(&Value) -> bool,
) -> Value {
    let total = items.len();
    let slice: Vec<Value> = items
        .into_iter()
        .skip(offset)
        .take(limit)
        .filter(|v| keep(v))
        .collect();
    let mut out = json!({ key: slice });
    if offset + limit < total {
        out["limit"] = json!(limit);
        out["cursor"] = json!(encode_cursor(offset + limit));
    }
    out
}

async fn list(
    State(state): State<Arc<SimState>>,
    Extension(meta): Extension<ReqMeta>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult {
    let caller = state.caller(&meta, &headers, Namespace::Nvct, "list_tasks")?;
    let (limit, offset) = page_params(&q)?;
    let status = match q.get("status") {
        Some(s) => Some(
            STATUSES
                .iter()
                .find(|x| x.eq_ignore_ascii_case(s))
                .ok_or_else(|| {
                    ApiError::spring(400, format!("Failed to convert 'status' with value: '{s}'"))
                })?,
        ),
        None => None,
    };
    let mut inner = state.lock();
    inner.tasks.tick(&state.config);
    let all: Vec<Value> = inner
        .tasks
        .tasks
        .iter()
        .filter(|t| t.nca_id == caller.nca_id)
        .map(|t| t.dto(false))
        .collect();
    // Upstream filters by status after fetching the page, so pages can come back short.
    let body = page("tasks", all, limit, offset, |t| {
        status.is_none_or(|s| t["status"] == *s)
    });
    Ok(json(StatusCode::OK, &body))
}

async fn bulk(
    State(state): State<Arc<SimState>>,
    Extension(meta): Extension<ReqMeta>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let caller = state.caller(&meta, &headers, Namespace::Nvct, "list_tasks")?;
    let req = spring_json(&headers, &body)?;
    let ids = req
        .get("taskIds")
        .and_then(Value::as_array)
        .filter(|a| !a.is_empty())
        .ok_or_else(|| {
            bean(
                "bulkTasksRequest",
                "taskIds",
                req.get("taskIds").unwrap_or(&Value::Null),
                "must not be empty",
            )
        })?;
    let ids: Vec<Uuid> = ids
        .iter()
        .map(|v| {
            v.as_str()
                .and_then(|s| Uuid::parse_str(s).ok())
                .ok_or_else(|| ApiError::spring(400, "Failed to read request"))
        })
        .collect::<ApiResult<_>>()?;
    let mut inner = state.lock();
    inner.tasks.tick(&state.config);
    let found: Vec<Value> = inner
        .tasks
        .tasks
        .iter()
        .filter(|t| t.nca_id == caller.nca_id && ids.contains(&t.id))
        .map(|t| json!({"id": t.id, "name": t.fields["name"], "status": t.status}))
        .collect();
    Ok(json(
        StatusCode::OK,
        &json!({"ncaId": caller.nca_id, "tasks": found}),
    ))
}

fn not_found(id: Uuid, nca: &str) -> ApiError {
    ApiError::not_found(format!("Task id '{id}': Not found in account '{nca}'"))
}

fn index(store: &Store, id: Uuid, nca: &str) -> ApiResult<usize> {
    store
        .tasks
        .iter()
        .position(|t| t.id == id && t.nca_id == nca)
        .ok_or_else(|| not_found(id, nca))
}

async fn show(
    State(state): State<Arc<SimState>>,
    Extension(meta): Extension<ReqMeta>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> ApiResult {
    let id = path_uuid("taskId", &id)?;
    let caller = task_caller(
        &state,
        &meta,
        &headers,
        "task_details",
        "Insufficient resource access for task details",
    )?;
    let mut inner = state.lock();
    inner.tasks.tick(&state.config);
    let idx = index(&inner.tasks, id, &caller.nca_id)?;
    Ok(json(
        StatusCode::OK,
        &json!({ "task": inner.tasks.tasks[idx].dto(true) }),
    ))
}

async fn cancel(
    State(state): State<Arc<SimState>>,
    Extension(meta): Extension<ReqMeta>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> ApiResult {
    let id = path_uuid("taskId", &id)?;
    let caller = task_caller(
        &state,
        &meta,
        &headers,
        "cancel_task",
        "Insufficient resource access to cancel task",
    )?;
    let mut inner = state.lock();
    inner.tasks.tick(&state.config);
    let idx = index(&inner.tasks, id, &caller.nca_id)?;
    let status = inner.tasks.tasks[idx].status;
    if TERMINAL.contains(&status) {
        return Err(ApiError::bad_request(format!(
            "Invalid request: Cannot cancel a Task with '{status}' terminal status"
        )));
    }
    inner.tasks.change(idx, "CANCELED", now(), None);
    Ok(json(
        StatusCode::OK,
        &json!({ "task": inner.tasks.tasks[idx].dto(false) }),
    ))
}

async fn remove(
    State(state): State<Arc<SimState>>,
    Extension(meta): Extension<ReqMeta>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> ApiResult {
    let id = path_uuid("taskId", &id)?;
    let caller = task_caller(
        &state,
        &meta,
        &headers,
        "delete_task",
        "Insufficient resource access to delete task",
    )?;
    let mut inner = state.lock();
    index(&inner.tasks, id, &caller.nca_id)?;
    let store = &mut inner.tasks;
    store.tasks.retain(|t| t.id != id);
    store.events.retain(|e| e.task_id != id);
    store.results.retain(|r| r.task_id != id);
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Which per-task list a paged read returns.
#[derive(Clone, Copy)]
enum TaskList {
    Events,
    Results,
}

/// Shared by the events and results endpoints: auth, paging, the task's items in order.
fn task_items(
    state: &SimState,
    meta: &ReqMeta,
    headers: &HeaderMap,
    id: &str,
    q: &HashMap<String, String>,
    list: TaskList,
) -> ApiResult {
    let id = path_uuid("taskId", id)?;
    let (scope, key) = match list {
        TaskList::Events => ("list_events", "events"),
        TaskList::Results => ("list_results", "results"),
    };
    let caller = state.caller(meta, headers, Namespace::Nvct, scope)?;
    let (limit, offset) = page_params(q)?;
    let mut inner = state.lock();
    inner.tasks.tick(&state.config);
    index(&inner.tasks, id, &caller.nca_id)?;
    let store = &inner.tasks;
    let all: Vec<Value> = match list {
        TaskList::Events => store
            .events
            .iter()
            .filter(|e| e.task_id == id)
            .map(|e| json!({"eventId": e.id, "taskId": e.task_id, "ncaId": e.nca_id, "message": e.message, "createdAt": ts(e.created_at)}))
            .collect(),
        TaskList::Results => store
            .results
            .iter()
            .filter(|r| r.task_id == id)
            .map(|r| json!({"resultId": r.id, "taskId": r.task_id, "ncaId": r.nca_id, "name": r.name, "metadata": r.metadata, "createdAt": ts(r.created_at)}))
            .collect(),
    };
    Ok(json(
        StatusCode::OK,
        &page(key, all, limit, offset, |_| true),
    ))
}

async fn events(
    State(state): State<Arc<SimState>>,
    Extension(meta): Extension<ReqMeta>,
    Path(id): Path<String>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult {
    task_items(&state, &meta, &headers, &id, &q, TaskList::Events)
}

async fn results(
    State(state): State<Arc<SimState>>,
    Extension(meta): Extension<ReqMeta>,
    Path(id): Path<String>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult {
    task_items(&state, &meta, &headers, &id, &q, TaskList::Results)
}

async fn secrets(
    State(state): State<Arc<SimState>>,
    Extension(meta): Extension<ReqMeta>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let id = path_uuid("taskId", &id)?;
    let caller = state.caller(&meta, &headers, Namespace::Nvct, "update_secrets")?;
    let req = spring_json(&headers, &body)?;
    let names = super::nvcf_misc::secret_names(&req, "updateSecretsRequest")?;
    let mut inner = state.lock();
    let idx = index(&inner.tasks, id, &caller.nca_id)?;
    let t = &mut inner.tasks.tasks[idx];
    for n in names {
        if !t.secrets.contains(&n) {
            t.secrets.push(n);
        }
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        assert_eq!(decode_cursor(Some(&encode_cursor(30))).ok(), Some(30));
        assert!(decode_cursor(Some(&"zz".to_string())).is_err());
        assert!(decode_cursor(Some(&"abc".to_string())).is_err());
        assert!(decode_cursor(Some(&"6869".to_string())).is_err());
    }

    #[test]
    fn status_filter_applies_after_paging() {
        let items: Vec<Value> = (0..5)
            .map(|i| json!({"n": i, "status": if i == 4 { "RUNNING" } else { "QUEUED" }}))
            .collect();
        let first = page("tasks", items.clone(), 2, 0, |t| t["status"] == "RUNNING");
        assert_eq!(first["tasks"].as_array().map(Vec::len), Some(0));
        assert!(first.get("cursor").is_some());
        let last = page("tasks", items, 2, 4, |t| t["status"] == "RUNNING");
        assert_eq!(last["tasks"].as_array().map(Vec::len), Some(1));
        assert!(last.get("cursor").is_none() && last.get("limit").is_none());
    }
}
