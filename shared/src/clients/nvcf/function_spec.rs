//! The body of `function create`/`update` and `deploy create`: an input file, then flags
//! override it (upstream's order), then checks that name the bad field before anything is
//! sent.

use super::input::{add_env_and_secrets, check, read_checked, refuse_placeholders, shapes};
use super::llm_config::{
    parse_llm_model, parse_llm_model_update, routing_method, token_rate_limit,
};
use crate::base::error::{Error, Result};
use serde_json::{Map, Value, json};
use std::path::PathBuf;

#[derive(clap::Args, Debug, Clone, Default)]
pub struct FunctionSpecArgs {
    /// JSON request file (CreateFunctionRequest); flags override its fields
    #[arg(long, short = 'f', value_name = "FILE")]
    pub input_file: Option<PathBuf>,
    /// Function name
    #[arg(long)]
    pub name: Option<String>,
    /// Container image
    #[arg(long, visible_alias = "image", value_name = "IMAGE")]
    pub container_image: Option<String>,
    /// Path the container serves inference on (`/grpc` marks a gRPC function)
    #[arg(long, value_name = "PATH")]
    pub inference_url: Option<String>,
    #[arg(long, value_name = "PORT")]
    pub inference_port: Option<u16>,
    /// Health check path (health port defaults to the inference port, timeout to PT10S)
    #[arg(long, value_name = "PATH")]
    pub health_uri: Option<String>,
    #[arg(long, value_name = "HTTP|gRPC")]
    pub health_protocol: Option<String>,
    #[arg(long, value_name = "PORT")]
    pub health_port: Option<u16>,
    /// ISO-8601 duration, e.g. PT10S
    #[arg(long, value_name = "DURATION")]
    pub health_timeout: Option<String>,
    #[arg(long, value_name = "CODE")]
    pub health_expected_status: Option<u16>,
    /// Helm chart URL (instead of a container image)
    #[arg(long, value_name = "URL")]
    pub helm_chart: Option<String>,
    /// The chart's Service that receives inference requests
    #[arg(long, value_name = "NAME")]
    pub helm_chart_service: Option<String>,
    /// DEFAULT, STREAMING or LLM
    #[arg(long, value_name = "TYPE")]
    pub function_type: Option<String>,
    /// CUSTOM or PREDICT_V2
    #[arg(long, value_name = "FORMAT")]
    pub api_body_format: Option<String>,
    #[arg(long)]
    pub description: Option<String>,
    /// Tags, comma-separated
    #[arg(long, value_delimiter = ',')]
    pub tags: Vec<String>,
    #[arg(long, value_name = "ARGS")]
    pub container_args: Option<String>,
    /// NAME=VALUE, repeatable
    #[arg(long = "container-env", value_name = "NAME=VALUE")]
    pub container_env: Vec<String>,
    /// NAME=VALUE, repeatable (values are sent, never printed)
    #[arg(long = "secret", visible_alias = "secrets", value_name = "NAME=VALUE")]
    pub secrets: Vec<String>,
    /// LLM model: name=…,uris=/v1/chat/completions|/v1/embeddings[,routingMethod=…][,tokenRateLimit=1000-S,5000-M]; repeatable
    #[arg(long = "llm-model", value_name = "SPEC")]
    pub llm_models: Vec<String>,
}

fn set(map: &mut Map<String, Value>, key: &str, value: Option<Value>) {
    if let Some(v) = value {
        map.insert(key.to_owned(), v);
    }
}

impl FunctionSpecArgs {
    /// The CreateFunctionRequest body.
    pub fn body(&self) -> Result<Value> {
        let mut body = match &self.input_file {
            Some(path) => read_checked::<shapes::Function>(path)?,
            None => json!({}),
        };
        let map = body.as_object_mut().expect("checked to be an object");
        let s = |v: &Option<String>| v.clone().map(Value::String);
        set(map, "name", s(&self.name));
        set(map, "containerImage", s(&self.container_image));
        set(map, "inferenceUrl", s(&self.inference_url));
        set(map, "inferencePort", self.inference_port.map(Value::from));
        set(map, "helmChart", s(&self.helm_chart));
        set(map, "helmChartServiceName", s(&self.helm_chart_service));
        set(
            map,
            "functionType",
            self.function_type
                .as_ref()
                .map(|t| json!(t.to_ascii_uppercase())),
        );
        set(
            map,
            "apiBodyFormat",
            self.api_body_format
                .as_ref()
                .map(|t| json!(t.to_ascii_uppercase())),
        );
        set(map, "description", s(&self.description));
        set(map, "containerArgs", s(&self.container_args));
        if !self.tags.is_empty() {
            map.insert("tags".into(), json!(self.tags));
        }
        add_env_and_secrets(map, &self.container_env, &self.secrets)?;
        if !self.llm_models.is_empty() {
            let mut models = match map.remove("models") {
                Some(Value::Array(a)) => a,
                _ => Vec::new(),
            };
            for raw in &self.llm_models {
                models.push(parse_llm_model(raw)?);
            }
            map.insert("models".into(), json!(models));
            map.entry("functionType").or_insert(json!("LLM"));
        }
        self.health(map);
        check::<shapes::Function>(&body, "request")?;
        validate(&body)?;
        Ok(body)
    }

    fn health(&self, map: &mut Map<String, Value>) {
        let any = self.health_uri.is_some()
            || self.health_protocol.is_some()
            || self.health_port.is_some()
            || self.health_timeout.is_some()
            || self.health_expected_status.is_some();
        if !any {
            return;
        }
        let mut health = match map.remove("health") {
            Some(Value::Object(h)) => h,
            _ => Map::new(),
        };
        let port = self
            .health_port
            .map(Value::from)
            .or_else(|| health.get("port").cloned())
            .or_else(|| map.get("inferencePort").cloned())
            .unwrap_or(json!(8000));
        let mut put = |k: &str, v: Option<Value>, default: Value| {
            match v {
                Some(v) => {
                    health.insert(k.into(), v);
                }
                None => {
                    health.entry(k).or_insert(default);
                }
            };
        };
        put(
            "protocol",
            self.health_protocol.clone().map(Value::from),
            json!("HTTP"),
        );
        put(
            "uri",
            self.health_uri.clone().map(Value::from),
            json!("/v2/health/ready"),
        );
        put("port", Some(port), Value::Null);
        put(
            "timeout",
            self.health_timeout.clone().map(Value::from),
            json!("PT10S"),
        );
        put(
            "expectedStatusCode",
            self.health_expected_status.map(Value::from),
            json!(200),
        );
        map.insert("health".into(), Value::Object(health));
    }
}

/// The create rules the server enforces, checked first so the error names the field.
pub fn validate(body: &Value) -> Result<()> {
    let has = |k: &str| body.get(k).is_some_and(|v| !v.is_null() && v != "");
    for k in ["name", "inferenceUrl"] {
        if !has(k) {
            return Err(
                Error::usage(format!("the function needs `{k}`")).hint(format!(
                    "pass --{} or set `{k}` in the input file",
                    if k == "name" { "name" } else { "inference-url" }
                )),
            );
        }
    }
    if !has("containerImage") && !has("helmChart") && !has("models") {
        return Err(
            Error::usage("the function needs a container image, a Helm chart or models").hint(
                "pass --container-image, --helm-chart with --helm-chart-service, or --llm-model",
            ),
        );
    }
    if has("containerImage") && has("helmChart") {
        return Err(
            Error::usage("`containerImage` and `helmChart` are mutually exclusive")
                .hint("pass only one of --container-image and --helm-chart"),
        );
    }
    if has("helmChart") != has("helmChartServiceName") {
        return Err(
            Error::usage("`helmChart` and `helmChartServiceName` go together")
                .hint("pass both --helm-chart and --helm-chart-service"),
        );
    }
    let llm = body["functionType"]
        .as_str()
        .is_some_and(|t| t.eq_ignore_ascii_case("LLM"));
    if llm && !has("models") {
        return Err(Error::usage("an LLM function needs `models`")
            .hint("pass --llm-model name=…,uris=/v1/chat/completions"));
    }
    if let Some(models) = body["models"].as_array() {
        for (i, m) in models.iter().enumerate() {
            let cfg = &m["llmConfig"];
            if let Some(r) = cfg["routingMethod"].as_str() {
                routing_method(r).map_err(|e| prefix(e, &format!("models[{i}].llmConfig")))?;
            }
            if let Some(t) = cfg["tokenRateLimit"].as_str() {
                token_rate_limit(t).map_err(|e| prefix(e, &format!("models[{i}].llmConfig")))?;
            }
        }
    }
    refuse_placeholders(body, &[])
}

fn prefix(e: Error, path: &str) -> Error {
    Error::invalid_input(format!("field `{path}`: {}", e.message()))
        .hint(e.remediation().join("; "))
}

#[derive(clap::Args, Debug, Clone, Default)]
pub struct FunctionUpdateArgs {
    /// JSON file: {functionId?, versionId?, tags?, modelUpdates?[{modelName, llmConfig}], rateLimit?, llmInvocationConfig?}
    #[arg(long, short = 'f', value_name = "FILE")]
    pub input_file: Option<PathBuf>,
    /// Tags, comma-separated (replace the existing ones)
    #[arg(long, value_delimiter = ',')]
    pub tags: Vec<String>,
    /// name=…,routingMethod=…,tokenRateLimit=… (URIs cannot be updated); repeatable
    #[arg(long = "llm-model-update", value_name = "SPEC")]
    pub llm_model_updates: Vec<String>,
}

impl FunctionUpdateArgs {
    /// The UpdateFunctionRequest body, plus ids from the file.
    pub fn body(&self) -> Result<(Value, Option<String>, Option<String>)> {
        let mut body = match &self.input_file {
            Some(p) => read_checked::<shapes::FunctionUpdate>(p)?,
            None => json!({}),
        };
        let map = body.as_object_mut().expect("checked to be an object");
        let fid = map
            .remove("functionId")
            .and_then(|v| v.as_str().map(str::to_owned));
        let vid = map
            .remove("versionId")
            .and_then(|v| v.as_str().map(str::to_owned));
        if map.contains_key("uris") {
            return Err(
                Error::invalid_input("field `uris`: an update cannot change URIs")
                    .hint("create a new function version to change inference URIs"),
            );
        }
        if let Some(Value::Array(models)) = map.get("modelUpdates") {
            for (i, m) in models.iter().enumerate() {
                if m["llmConfig"].get("uris").is_some() {
                    return Err(Error::invalid_input(format!(
                        "field `modelUpdates[{i}].llmConfig.uris`: an update cannot change a model's URIs"
                    ))
                    .hint("remove `uris`; create a new function version to change them"));
                }
                let cfg = &m["llmConfig"];
                if let Some(r) = cfg["routingMethod"].as_str() {
                    routing_method(r)
                        .map_err(|e| prefix(e, &format!("modelUpdates[{i}].llmConfig")))?;
                }
                if let Some(t) = cfg["tokenRateLimit"].as_str() {
                    token_rate_limit(t)
                        .map_err(|e| prefix(e, &format!("modelUpdates[{i}].llmConfig")))?;
                }
            }
        }
        if !self.tags.is_empty() {
            map.insert("tags".into(), json!(self.tags));
        }
        if !self.llm_model_updates.is_empty() {
            let mut list = match map.remove("modelUpdates") {
                Some(Value::Array(a)) => a,
                _ => Vec::new(),
            };
            for raw in &self.llm_model_updates {
                list.push(parse_llm_model_update(raw)?);
            }
            map.insert("modelUpdates".into(), json!(list));
        }
        if !["tags", "modelUpdates", "rateLimit", "llmInvocationConfig"]
            .iter()
            .any(|k| map.contains_key(*k))
        {
            return Err(Error::usage("nothing to update").hint(
                "pass --tags or --llm-model-update, or give tags, modelUpdates, rateLimit or llmInvocationConfig in --input-file",
            ));
        }
        Ok((body, fid, vid))
    }
}

#[derive(clap::Args, Debug, Clone, Default)]
pub struct DeploySpecArgs {
    /// JSON file: {functionId?, versionId?, deploymentSpecifications:[…]}
    #[arg(long, short = 'f', value_name = "FILE")]
    pub input_file: Option<PathBuf>,
    /// GPU type, e.g. H100
    #[arg(long)]
    pub gpu: Option<String>,
    /// Deprecated spelling of --gpu (upstream's)
    #[arg(long, hide = true, conflicts_with = "gpu", value_name = "GPU")]
    pub gpu_name: Option<String>,
    /// Instance type, e.g. NCP.GPU.H100_1x
    #[arg(long)]
    pub instance_type: Option<String>,
    #[arg(long)]
    pub min_instances: Option<u32>,
    #[arg(long)]
    pub max_instances: Option<u32>,
    /// Cluster group (legacy backend)
    #[arg(long)]
    pub backend: Option<String>,
    /// Legacy name of the backend, used only when --backend is not given (upstream's)
    #[arg(long, hide = true, value_name = "NAME")]
    pub cluster_name: Option<String>,
    /// Clusters, comma-separated
    #[arg(long, value_delimiter = ',')]
    pub clusters: Vec<String>,
    /// Regions, comma-separated
    #[arg(long, value_delimiter = ',')]
    pub regions: Vec<String>,
    /// Availability zones, comma-separated
    #[arg(long, value_delimiter = ',')]
    pub availability_zones: Vec<String>,
    /// Node attributes the instances need, comma-separated
    #[arg(long, value_delimiter = ',')]
    pub attributes: Vec<String>,
    /// Requests one instance serves at once, 1..16384 (0: the platform's default)
    #[arg(long, value_parser = clap::value_parser!(u32).range(0..=16384))]
    pub max_request_concurrency: Option<u32>,
    /// Placement priority of this specification, 1..99 (0: none)
    #[arg(long, value_parser = clap::value_parser!(u32).range(0..=99))]
    pub preferred_order: Option<u32>,
    /// CPU architecture, e.g. amd64 or arm64
    #[arg(long)]
    pub cpu_arch: Option<String>,
    /// Operating system of the nodes
    #[arg(long)]
    pub os: Option<String>,
    /// GPU driver version of the nodes
    #[arg(long)]
    pub driver_version: Option<String>,
    /// Storage each instance needs, e.g. 100Gi
    #[arg(long)]
    pub storage: Option<String>,
    /// System memory each instance needs, e.g. 64Gi
    #[arg(long)]
    pub system_memory: Option<String>,
    /// GPU memory each instance needs, e.g. 80Gi
    #[arg(long)]
    pub gpu_memory: Option<String>,
}

impl DeploySpecArgs {
    /// The deployment specifications, plus ids from the file.
    pub fn specs(&self) -> Result<(Vec<Value>, Option<String>, Option<String>)> {
        let (mut specs, fid, vid) = match &self.input_file {
            Some(p) => {
                let v = read_checked::<shapes::Deploy>(p)?;
                // Upstream's deploy example carries "your-function-id": refuse, do not send.
                refuse_placeholders(&v, &[])?;
                let s = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_owned);
                let specs = v["deploymentSpecifications"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default();
                (specs, s("functionId"), s("versionId"))
            }
            None => (
                vec![json!({"minInstances": 1, "maxInstances": 1})],
                None,
                None,
            ),
        };
        if specs.is_empty() {
            return Err(Error::invalid_input(
                "field `deploymentSpecifications`: needs at least one specification",
            ));
        }
        if let Some(first) = specs.first_mut().and_then(Value::as_object_mut) {
            let s = |v: &Option<String>| v.clone().map(Value::String);
            // Upstream sends no number it was given as 0: the platform's default applies.
            let n = |v: Option<u32>| v.filter(|n| *n > 0).map(Value::from);
            set(first, "gpu", s(&self.gpu).or_else(|| s(&self.gpu_name)));
            set(first, "instanceType", s(&self.instance_type));
            set(first, "minInstances", self.min_instances.map(Value::from));
            set(first, "maxInstances", self.max_instances.map(Value::from));
            set(
                first,
                "backend",
                s(&self.backend).or_else(|| s(&self.cluster_name)),
            );
            set(
                first,
                "maxRequestConcurrency",
                n(self.max_request_concurrency),
            );
            set(first, "preferredOrder", n(self.preferred_order));
            for (key, value) in [
                ("cpuArch", &self.cpu_arch),
                ("os", &self.os),
                ("driverVersion", &self.driver_version),
                ("storage", &self.storage),
                ("systemMemory", &self.system_memory),
                ("gpuMemory", &self.gpu_memory),
            ] {
                set(first, key, s(value));
            }
            for (key, list) in [
                ("clusters", &self.clusters),
                ("regions", &self.regions),
                ("availabilityZones", &self.availability_zones),
                ("attributes", &self.attributes),
            ] {
                if !list.is_empty() {
                    first.insert(key.into(), json!(list));
                }
            }
        }
        for (i, spec) in specs.iter().enumerate() {
            for k in ["gpu", "instanceType"] {
                if spec
                    .get(k)
                    .and_then(Value::as_str)
                    .is_none_or(str::is_empty)
                {
                    return Err(Error::usage(format!(
                        "deploymentSpecifications[{i}] needs `{k}`"
                    ))
                    .hint("pass --gpu and --instance-type (e.g. --gpu H100 --instance-type NCP.GPU.H100_1x)"));
                }
            }
            let min = spec["minInstances"].as_u64().unwrap_or(0);
            let max = spec["maxInstances"].as_u64().unwrap_or(0);
            if max == 0 || min > max {
                return Err(Error::usage(format!(
                    "deploymentSpecifications[{i}]: need 0 <= minInstances ({min}) <= maxInstances ({max}) and maxInstances > 0"
                ))
                .hint("fix --min-instances / --max-instances"));
            }
        }
        let wrapped = json!({ "deploymentSpecifications": specs });
        check::<shapes::Deploy>(&wrapped, "request")?;
        refuse_placeholders(&wrapped, &[])?;
        Ok((specs, fid, vid))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_build_a_container_function() {
        let args = FunctionSpecArgs {
            name: Some("echo".into()),
            container_image: Some("nvcr.io/org/echo:1".into()),
            inference_url: Some("/echo".into()),
            inference_port: Some(8000),
            health_uri: Some("/health".into()),
            container_env: vec!["A=1".into()],
            ..Default::default()
        };
        let b = args.body().unwrap();
        assert_eq!(b["health"]["port"], 8000);
        assert_eq!(b["health"]["timeout"], "PT10S");
        assert_eq!(b["containerEnvironment"][0]["key"], "A");
    }

    #[test]
    fn create_checks_name_the_problem() {
        let base = FunctionSpecArgs {
            name: Some("echo".into()),
            inference_url: Some("/echo".into()),
            ..Default::default()
        };
        let e = base.body().unwrap_err();
        assert!(e.message().contains("container image"), "{}", e.message());
        let e = FunctionSpecArgs {
            container_image: Some("<YOUR_REGISTRY>/echo:1".into()),
            ..base.clone()
        }
        .body()
        .unwrap_err();
        assert!(e.message().contains("containerImage"), "{}", e.message());
        let e = FunctionSpecArgs {
            helm_chart: Some("oci://x/c".into()),
            ..base.clone()
        }
        .body()
        .unwrap_err();
        assert!(
            e.message().contains("helmChartServiceName"),
            "{}",
            e.message()
        );
        let b = FunctionSpecArgs {
            llm_models: vec!["name=llama,uris=/v1/chat/completions".into()],
            ..base
        }
        .body()
        .unwrap();
        assert_eq!(b["functionType"], "LLM");
    }

    #[test]
    fn deploy_specs_need_gpu_and_sane_counts() {
        let args = DeploySpecArgs {
            gpu: Some("H100".into()),
            instance_type: Some("NCP.GPU.H100_1x".into()),
            ..Default::default()
        };
        let (specs, _, _) = args.specs().unwrap();
        assert_eq!(specs[0]["maxInstances"], 1);
        let e = DeploySpecArgs {
            min_instances: Some(3),
            max_instances: Some(2),
            ..args
        }
        .specs()
        .unwrap_err();
        assert!(e.message().contains("minInstances (3)"), "{}", e.message());
        assert!(DeploySpecArgs::default().specs().is_err());
    }

    #[test]
    fn updates_refuse_uris() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("u.json");
        std::fs::write(
            &p,
            r#"{"modelUpdates":[{"modelName":"m","llmConfig":{"uris":["/x"],"routingMethod":"random"}}]}"#,
        )
        .unwrap();
        let e = FunctionUpdateArgs {
            input_file: Some(p),
            ..Default::default()
        }
        .body()
        .unwrap_err();
        assert!(
            e.message().contains("modelUpdates[0].llmConfig.uris"),
            "{}",
            e.message()
        );
    }
}
