//! Input files (`--input-file`) and the checks every create runs before sending anything.
//!
//! A file is read as JSON, then checked against the shape of the request it feeds, so a
//! wrong type names its field path (`health.port`, `models[0].llmConfig.uris`). Fields this
//! plugin does not know are passed through: the server ignores unknown fields, and newer
//! server fields keep working.

use crate::base::error::{Error, Result};
use regex_lite::Regex;
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::path::Path;
use std::sync::OnceLock;

/// Reads `path` as a JSON object and checks it against `T`.
pub fn read_checked<T: DeserializeOwned>(path: &Path) -> Result<Value> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        Error::input_missing(format!("cannot read input file {}: {e}", path.display()))
            .hint("pass --input-file with an existing JSON file")
    })?;
    parse_checked::<T>(&text, &path.display().to_string())
}

/// Parses `text` (input file `origin`) as a JSON object and checks it against `T`.
pub fn parse_checked<T: DeserializeOwned>(text: &str, origin: &str) -> Result<Value> {
    let value: Value = serde_json::from_str(text)
        .map_err(|e| Error::invalid_input(format!("input file {origin} is not JSON: {e}")))?;
    if !value.is_object() {
        return Err(Error::invalid_input(format!(
            "input file {origin} must hold a JSON object"
        )));
    }
    check::<T>(&value, origin)?;
    Ok(value)
}

/// Checks a request value against `T`; the error names the field path.
pub fn check<T: DeserializeOwned>(value: &Value, origin: &str) -> Result<()> {
    serde_path_to_error::deserialize::<_, T>(value)
        .map(drop)
        .map_err(|e| {
            Error::invalid_input(format!("{origin}: field `{}`: {}", e.path(), e.inner()))
                .hint("fix that field; the upstream examples show the expected shapes")
        })
}

fn placeholder() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r"<[A-Za-z][A-Za-z0-9_. -]*>|\bYOUR_[A-Z0-9_]+\b|\byour[-_][a-z0-9][a-z0-9_-]*")
            .expect("static placeholder pattern")
    })
}

/// Refuses example placeholders such as `<YOUR_REGISTRY>` anywhere in a request (seed 000:
/// ask instead of submitting a guess). `skip` names subtrees holding free-form user data.
pub fn refuse_placeholders(value: &Value, skip: &[&str]) -> Result<()> {
    fn walk(v: &Value, path: &mut String, skip: &[&str]) -> Result<()> {
        match v {
            Value::String(s) => {
                if let Some(m) = placeholder().find(s) {
                    return Err(Error::invalid_input(format!(
                        "field `{}` holds the placeholder {:?}",
                        path.trim_start_matches('.'),
                        m.as_str()
                    ))
                    .hint("replace the example placeholder with the real value"));
                }
            }
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    let len = path.len();
                    path.push_str(&format!("[{i}]"));
                    walk(item, path, skip)?;
                    path.truncate(len);
                }
            }
            Value::Object(map) => {
                for (k, item) in map {
                    let len = path.len();
                    path.push('.');
                    path.push_str(k);
                    if !skip.contains(&path.trim_start_matches('.')) {
                        walk(item, path, skip)?;
                    }
                    path.truncate(len);
                }
            }
            _ => {}
        }
        Ok(())
    }
    walk(value, &mut String::new(), skip)
}

/// Parses `key=value` (`--container-env`, `--secrets`).
pub fn key_value(flag: &str, raw: &str) -> Result<(String, String)> {
    match raw.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_owned(), v.to_owned())),
        _ => Err(Error::usage(format!("{flag} {raw:?} is not NAME=VALUE"))
            .hint(format!("write {flag} NAME=VALUE"))),
    }
}

/// Applies `--container-env NAME=VALUE` (replacing the file's list) and `--secret
/// NAME=VALUE` (added to the file's list; each value registered for masking).
pub fn add_env_and_secrets(
    map: &mut serde_json::Map<String, Value>,
    env: &[String],
    secrets: &[String],
) -> Result<()> {
    if !env.is_empty() {
        let list = env
            .iter()
            .map(|e| {
                key_value("--container-env", e)
                    .map(|(k, v)| serde_json::json!({"key": k, "value": v}))
            })
            .collect::<Result<Vec<_>>>()?;
        map.insert("containerEnvironment".into(), Value::Array(list));
    }
    if !secrets.is_empty() {
        let mut list = match map.remove("secrets") {
            Some(Value::Array(a)) => a,
            _ => Vec::new(),
        };
        for raw in secrets {
            let (k, v) = key_value("--secret", raw)?;
            crate::base::secret::register(&v);
            list.push(serde_json::json!({"name": k, "value": v}));
        }
        map.insert("secrets".into(), Value::Array(list));
    }
    Ok(())
}

/// The request shapes input files are checked against (contracts/endpoints.md §3.1, §3.2,
/// §7). Only types are checked here; the fields are read from the JSON value itself.
#[allow(
    dead_code,
    reason = "deserialised only to check types; the JSON value is sent"
)]
pub mod shapes {
    use serde::Deserialize;
    use serde_json::Value;

    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct Function {
        pub name: Option<String>,
        pub inference_url: Option<String>,
        pub inference_port: Option<u16>,
        pub health_uri: Option<String>,
        pub health: Option<Health>,
        pub container_image: Option<String>,
        pub container_args: Option<String>,
        pub container_environment: Option<Vec<KeyValue>>,
        pub helm_chart: Option<String>,
        pub helm_chart_service_name: Option<String>,
        pub function_type: Option<FunctionType>,
        pub api_body_format: Option<ApiBodyFormat>,
        pub models: Option<Vec<Model>>,
        pub resources: Option<Vec<Resource>>,
        pub tags: Option<Vec<String>>,
        pub description: Option<String>,
        pub secrets: Option<Vec<Secret>>,
        pub rate_limit: Option<Value>,
        pub telemetries: Option<Value>,
    }

    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct Health {
        pub protocol: Option<HealthProtocol>,
        pub uri: Option<String>,
        pub port: Option<u16>,
        pub timeout: Option<String>,
        pub expected_status_code: Option<u16>,
    }

    #[derive(Deserialize)]
    pub enum HealthProtocol {
        #[serde(rename = "HTTP", alias = "http", alias = "Http")]
        Http,
        #[serde(alias = "grpc", alias = "GRPC")]
        #[serde(rename = "gRPC")]
        Grpc,
    }

    #[derive(Deserialize)]
    #[serde(rename_all = "UPPERCASE")]
    pub enum FunctionType {
        #[serde(alias = "default")]
        Default,
        #[serde(alias = "streaming")]
        Streaming,
        #[serde(alias = "llm")]
        Llm,
    }

    #[derive(Deserialize)]
    pub enum ApiBodyFormat {
        #[serde(rename = "PREDICT_V2", alias = "predict_v2")]
        PredictV2,
        #[serde(rename = "CUSTOM", alias = "custom")]
        Custom,
    }

    #[derive(Deserialize)]
    pub struct KeyValue {
        pub key: String,
        pub value: String,
    }

    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct Model {
        pub name: String,
        pub version: Option<String>,
        pub uri: Option<String>,
        pub llm_config: Option<LlmConfig>,
    }

    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct LlmConfig {
        pub uris: Option<Vec<String>>,
        pub token_rate_limit: Option<String>,
        pub tokenizer: Option<String>,
        pub routing_method: Option<String>,
    }

    #[derive(Deserialize)]
    pub struct Resource {
        pub name: String,
        pub version: String,
        pub uri: String,
    }

    #[derive(Deserialize)]
    pub struct Secret {
        pub name: String,
        pub value: Option<Value>,
    }

    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct FunctionUpdate {
        pub function_id: Option<String>,
        pub version_id: Option<String>,
        pub tags: Option<Vec<String>>,
        pub model_updates: Option<Vec<ModelUpdate>>,
        pub rate_limit: Option<Value>,
        pub llm_invocation_config: Option<Value>,
    }

    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct ModelUpdate {
        pub model_name: String,
        pub llm_config: LlmConfig,
    }

    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct Deploy {
        pub function_id: Option<String>,
        pub version_id: Option<String>,
        pub deployment_specifications: Vec<GpuSpec>,
    }

    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct GpuSpec {
        pub gpu: String,
        pub instance_type: String,
        pub min_instances: u32,
        pub max_instances: u32,
        pub backend: Option<String>,
        pub max_request_concurrency: Option<u32>,
        pub clusters: Option<Vec<String>>,
        pub regions: Option<Vec<String>>,
        pub configuration: Option<Value>,
    }

    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct Task {
        pub name: Option<String>,
        pub gpu_specification: Option<TaskGpu>,
        pub container_image: Option<String>,
        pub container_args: Option<String>,
        pub container_environment: Option<Vec<KeyValue>>,
        pub helm_chart: Option<String>,
        pub tags: Option<Vec<String>>,
        pub description: Option<String>,
        pub max_runtime_duration: Option<String>,
        pub max_queued_duration: Option<String>,
        pub termination_grace_period_duration: Option<String>,
        pub result_handling_strategy: Option<ResultStrategy>,
        pub results_location: Option<String>,
        pub secrets: Option<Vec<Secret>>,
    }

    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct TaskGpu {
        pub gpu: Option<String>,
        pub instance_type: Option<String>,
        pub backend: Option<String>,
        pub clusters: Option<Vec<String>>,
        pub configuration: Option<Value>,
        pub helm_validation_policy: Option<Value>,
    }

    #[derive(Deserialize)]
    #[serde(rename_all = "UPPERCASE")]
    pub enum ResultStrategy {
        #[serde(alias = "upload")]
        Upload,
        #[serde(alias = "none")]
        None,
    }

    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct TaskIds {
        pub task_ids: Vec<String>,
    }

    #[derive(Deserialize)]
    pub struct Secrets {
        pub secrets: Vec<Secret>,
    }

    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct Invoke {
        pub function_id: Option<String>,
        pub version_id: Option<String>,
        pub inference_url: Option<String>,
        pub model_name: Option<String>,
        pub request_body: Option<Value>,
        pub timeout: Option<u64>,
        pub poll_duration_seconds: Option<u32>,
        pub grpc_service: Option<String>,
        pub grpc_method: Option<String>,
        pub grpc_plaintext: Option<bool>,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_wrong_type_names_its_field_path() {
        let v = json!({"name": "f", "health": {"port": "eighty"}});
        let e = check::<shapes::Function>(&v, "f.json").unwrap_err();
        assert!(
            e.message().contains("field `health.port`"),
            "{}",
            e.message()
        );
        let v = json!({"name": "f", "models": [{"name": "m", "llmConfig": {"uris": "x"}}]});
        let e = check::<shapes::Function>(&v, "f.json").unwrap_err();
        assert!(
            e.message().contains("models[0].llmConfig.uris"),
            "{}",
            e.message()
        );
        let v = json!({"name": "f", "functionType": "BATCH"});
        assert!(check::<shapes::Function>(&v, "f.json").is_err());
    }

    #[test]
    fn upstream_examples_pass_the_checks() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../shared/reference/upstream-cli/examples");
        let Ok(entries) = std::fs::read_dir(&dir) else {
            // The reference tree sits outside the repository; nothing to compare then.
            return;
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let path = entry.path();
            let r = if name.starts_with("create-function") {
                read_checked::<shapes::Function>(&path).map(drop)
            } else if name.starts_with("create-task") {
                read_checked::<shapes::Task>(&path).map(drop)
            } else if name.starts_with("deploy") {
                read_checked::<shapes::Deploy>(&path).map(drop)
            } else {
                continue;
            };
            if name == "create-llm-function-routing-method.json" {
                // Upstream's example uses apiBodyFormat OPENAI_CHAT, which the server
                // rejects (endpoints.md §9.5): refusing it here is the point.
                let e = r.unwrap_err();
                assert!(e.message().contains("apiBodyFormat"), "{}", e.message());
                continue;
            }
            assert!(r.is_ok(), "{name}: {:?}", r.err().map(|e| e.message()));
        }
    }

    #[test]
    fn placeholders_are_refused_with_their_field() {
        let v = json!({"name": "f", "containerImage": "<YOUR_REGISTRY>/echo:1"});
        let e = refuse_placeholders(&v, &[]).unwrap_err();
        assert!(e.message().contains("containerImage"), "{}", e.message());
        let v = json!({"secrets": [{"name": "k", "value": "YOUR_API_KEY"}]});
        let e = refuse_placeholders(&v, &[]).unwrap_err();
        assert!(e.message().contains("secrets[0].value"), "{}", e.message());
        let v = json!({"functionId": "your-function-id"});
        assert!(refuse_placeholders(&v, &[]).is_err());
        let v = json!({"name": "f", "containerImage": "nvcr.io/org/echo:1"});
        assert!(refuse_placeholders(&v, &[]).is_ok());
        let v = json!({"requestBody": {"prompt": "<html>"}});
        assert!(refuse_placeholders(&v, &["requestBody"]).is_ok());
    }
}
