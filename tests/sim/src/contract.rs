//! Contract checking: bodies are validated against the vendored spec schemas, and every
//! violation is recorded so the test that caused it fails (see `Sim::assert_no_violations`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use axum::http::HeaderName;
use serde::Serialize;
use serde_json::{Value, json};

use crate::errors::{ApiError, REQUEST_PATH};
use crate::routing::Service;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Spec {
    /// `nvcf-openapi.yaml` (OpenAPI 3.1 components of the NVCF API).
    Nvcf,
    /// `sis-openapi.yaml` (ICMS / SIS).
    Sis,
    /// `vanity-gateway-openapi.yaml` (OpenAI 2.0.0 bodies for the LLM gateway).
    OpenAi,
}

impl Spec {
    fn source(self) -> &'static str {
        match self {
            Spec::Nvcf => include_str!("../specs/nvcf-openapi.yaml"),
            Spec::Sis => include_str!("../specs/sis-openapi.yaml"),
            Spec::OpenAi => include_str!("../specs/vanity-gateway-openapi.yaml"),
        }
    }
}

/// What a body must be: a named component, a list of one, or an object with one
/// field holding one (the `{"account": AccountDto}` style wrappers the spec leaves implicit).
#[derive(Debug, Clone, Copy)]
pub enum Shape {
    Component(&'static str),
    ArrayOf(&'static str),
    Wrapped(&'static str, &'static str),
}

impl Shape {
    fn key(&self) -> String {
        match self {
            Shape::Component(c) => c.to_string(),
            Shape::ArrayOf(c) => format!("[{c}]"),
            Shape::Wrapped(f, c) => format!("{{{f}:{c}}}"),
        }
    }

    fn schema(&self) -> Value {
        let r = |c: &str| json!({ "$ref": format!("#/components/schemas/{c}") });
        match self {
            Shape::Component(c) => r(c),
            Shape::ArrayOf(c) => json!({"type": "array", "items": r(c)}),
            Shape::Wrapped(f, c) => {
                json!({"type": "object", "required": [f], "properties": { *f: r(c) }})
            }
        }
    }
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Violation {
    pub direction: &'static str,
    pub spec: String,
    pub schema: String,
    pub path: String,
    pub errors: Vec<String>,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} body of {} violates {:?} {}: {}",
            self.direction,
            self.path,
            self.spec,
            self.schema,
            self.errors.join("; ")
        )
    }
}

#[derive(Default)]
pub struct Contract {
    violations: Mutex<Vec<Violation>>,
    strict: bool,
}

type Validators = Mutex<HashMap<(Spec, String), Arc<jsonschema::Validator>>>;

fn components(spec: Spec) -> &'static Value {
    static DOCS: OnceLock<Mutex<HashMap<Spec, &'static Value>>> = OnceLock::new();
    let docs = DOCS.get_or_init(Default::default);
    let mut docs = docs.lock().expect("spec cache lock");
    docs.entry(spec).or_insert_with(|| {
        let mut doc: Value = serde_saphyr::from_str(spec.source()).expect("vendored spec parses");
        openapi_nullable_to_json_schema(&mut doc);
        Box::leak(Box::new(
            doc.get("components").cloned().unwrap_or(Value::Null),
        ))
    })
}

/// OpenAPI 3.0 `nullable: true` has no JSON Schema meaning: turn it into a `null` type.
fn openapi_nullable_to_json_schema(v: &mut Value) {
    match v {
        Value::Object(map) => {
            if map.remove("nullable") == Some(Value::Bool(true)) {
                match map.get("type").cloned() {
                    Some(Value::String(t)) => {
                        map.insert("type".into(), json!([t, "null"]));
                        if let Some(Value::Array(e)) = map.get_mut("enum") {
                            e.push(Value::Null);
                        }
                    }
                    _ => {
                        let inner = Value::Object(std::mem::take(map));
                        map.insert("anyOf".into(), json!([inner, {"type": "null"}]));
                    }
                }
            }
            map.values_mut().for_each(openapi_nullable_to_json_schema);
        }
        Value::Array(items) => items.iter_mut().for_each(openapi_nullable_to_json_schema),
        _ => {}
    }
}

/// Java `URI` fields hold relative references (`/echo`, `nvcr.io/org/img:tag`), so the
/// spec's `format: uri` means "URI reference" here: anything without whitespace.
fn uri_reference(s: &str) -> bool {
    !s.chars().any(char::is_whitespace)
}

/// `java.time.Duration` text.
fn iso_duration(s: &str) -> bool {
    crate::util::parse_iso_duration(s).is_some()
}

fn validator(spec: Spec, shape: Shape) -> Arc<jsonschema::Validator> {
    static CACHE: OnceLock<Validators> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    let key = (spec, shape.key());
    if let Some(v) = cache.lock().expect("validator cache lock").get(&key) {
        return v.clone();
    }
    let mut root = shape.schema();
    root["components"] = components(spec).clone();
    let built = jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .should_validate_formats(true)
        .with_format("uri", uri_reference)
        .with_format("duration", iso_duration)
        .build(&root)
        .unwrap_or_else(|e| panic!("schema {} of {spec:?} compiles: {e}", shape.key()));
    let built = Arc::new(built);
    cache
        .lock()
        .expect("validator cache lock")
        .insert(key, built.clone());
    built
}

impl Contract {
    pub fn new(strict: bool) -> Self {
        Self {
            violations: Mutex::new(Vec::new()),
            strict,
        }
    }

    /// Checks a body the simulator is about to accept (`direction = "request"`) or send.
    /// A violation is recorded; in strict mode the caller gets a distinctive 500 instead.
    pub fn check(
        &self,
        service: Service,
        direction: &'static str,
        spec: Spec,
        shape: Shape,
        body: &Value,
    ) -> Result<(), ApiError> {
        let v = validator(spec, shape);
        let errors: Vec<String> = v
            .iter_errors(body)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .take(10)
            .collect();
        if errors.is_empty() {
            return Ok(());
        }
        let violation = Violation {
            direction,
            spec: format!("{spec:?}"),
            schema: shape.key(),
            path: REQUEST_PATH.try_with(Clone::clone).unwrap_or_default(),
            errors,
        };
        let message = format!("nvcf-sim contract violation: {violation}");
        self.violations
            .lock()
            .expect("violations lock")
            .push(violation);
        if self.strict {
            Err(ApiError::for_service(service, 500, message).with_header(
                HeaderName::from_static("x-nvcf-sim-contract-violation"),
                "1",
            ))
        } else {
            Ok(())
        }
    }

    pub fn request(
        &self,
        service: Service,
        spec: Spec,
        shape: Shape,
        body: &Value,
    ) -> Result<(), ApiError> {
        self.check(service, "request", spec, shape, body)
    }

    pub fn response(
        &self,
        service: Service,
        spec: Spec,
        shape: Shape,
        body: &Value,
    ) -> Result<(), ApiError> {
        self.check(service, "response", spec, shape, body)
    }

    pub fn violations(&self) -> Vec<Violation> {
        self.violations.lock().expect("violations lock").clone()
    }

    pub fn clear(&self) {
        self.violations.lock().expect("violations lock").clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(spec: Spec, shape: Shape, body: Value) -> usize {
        let c = Contract::new(true);
        let _ = c.response(Service::Nvcf, spec, shape, &body);
        c.violations().len()
    }

    #[test]
    fn function_dto_requires_its_fields() {
        let f = json!({"function": {"id": "3fa85f64-5717-4562-b3fc-2c963f66afa6", "versionId": "3fa85f64-5717-4562-b3fc-2c963f66afa7",
            "ncaId": "n", "name": "f", "status": "INACTIVE", "healthUri": "/health", "createdAt": "2025-11-19T22:15:29.533Z",
            "functionType": "DEFAULT", "inferenceUrl": "/echo"}});
        assert_eq!(
            check(Spec::Nvcf, Shape::Component("FunctionResponse"), f.clone()),
            0
        );
        let mut bad = f;
        bad["function"]["status"] = json!("RUNNING");
        assert_eq!(
            check(Spec::Nvcf, Shape::Component("FunctionResponse"), bad),
            1
        );
    }

    #[test]
    fn rate_limit_pattern_uses_lookahead() {
        assert_eq!(
            check(
                Spec::Nvcf,
                Shape::Component("RateLimitDto"),
                json!({"rateLimit": "10-S,5-M"})
            ),
            0
        );
        assert_eq!(
            check(
                Spec::Nvcf,
                Shape::Component("RateLimitDto"),
                json!({"rateLimit": "10-S,5-S"})
            ),
            1
        );
    }

    #[test]
    fn openai_nullable_fields_accept_null() {
        let chunk = json!({"id": "x", "object": "chat.completion.chunk", "created": 1, "model": "m",
            "choices": [{"index": 0, "delta": {"content": "hi"}, "finish_reason": null, "logprobs": null}]});
        assert_eq!(
            check(
                Spec::OpenAi,
                Shape::Component("CreateChatCompletionStreamResponse"),
                chunk
            ),
            0
        );
        assert_eq!(
            check(
                Spec::OpenAi,
                Shape::Component("CreateEmbeddingRequest"),
                json!({"model": "m", "input": []})
            ),
            1
        );
    }

    #[test]
    fn sis_cluster_list_is_an_array() {
        let list = json!([{"clusterName": "a", "status": "NOT_READY", "cloudProvider": "ON-PREM"}]);
        assert_eq!(
            check(Spec::Sis, Shape::ArrayOf("GetClusterResponse"), list),
            0
        );
        assert_eq!(
            check(
                Spec::Sis,
                Shape::ArrayOf("GetClusterResponse"),
                json!([{"status": "UP"}])
            ),
            1
        );
    }
}
