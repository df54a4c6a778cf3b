//! The body of `task create`: an input file, then flags, then the checks NVCT would make.

use super::input::{add_env_and_secrets, check, read_checked, refuse_placeholders, shapes};
use crate::base::error::{Error, Result};
use serde_json::{Map, Value, json};
use std::path::PathBuf;

#[derive(clap::Args, Debug, Clone, Default)]
pub struct TaskSpecArgs {
    /// JSON request file (CreateTaskRequest); flags override its fields
    #[arg(long, short = 'f', value_name = "FILE")]
    pub input_file: Option<PathBuf>,
    /// Task name
    #[arg(long)]
    pub name: Option<String>,
    /// Container image
    #[arg(long, visible_alias = "container-image", value_name = "IMAGE")]
    pub image: Option<String>,
    /// Helm chart URL (instead of an image)
    #[arg(long, value_name = "URL")]
    pub helm_chart: Option<String>,
    /// GPU type, e.g. H100
    #[arg(long)]
    pub gpu: Option<String>,
    /// Instance type, e.g. NCP.GPU.H100_1x
    #[arg(long)]
    pub instance_type: Option<String>,
    /// Cluster group (backend)
    #[arg(long)]
    pub backend: Option<String>,
    /// Clusters, comma-separated
    #[arg(long, value_delimiter = ',')]
    pub clusters: Vec<String>,
    #[arg(long, value_name = "ARGS")]
    pub container_args: Option<String>,
    /// NAME=VALUE, repeatable
    #[arg(long = "container-env", value_name = "NAME=VALUE")]
    pub container_env: Vec<String>,
    /// Tags, comma-separated
    #[arg(long, value_delimiter = ',')]
    pub tags: Vec<String>,
    #[arg(long)]
    pub description: Option<String>,
    /// ISO-8601 duration, e.g. PT1H
    #[arg(long, value_name = "DURATION")]
    pub max_runtime: Option<String>,
    /// ISO-8601 duration (default PT72H)
    #[arg(long, value_name = "DURATION")]
    pub max_queued: Option<String>,
    /// ISO-8601 duration (default PT1H)
    #[arg(long, value_name = "DURATION")]
    pub termination_grace: Option<String>,
    /// UPLOAD or NONE (the server treats no value as UPLOAD)
    #[arg(long, value_name = "STRATEGY")]
    pub result_strategy: Option<String>,
    /// <org>/[<team>/]<model>, required for UPLOAD
    #[arg(long, value_name = "LOCATION")]
    pub results_location: Option<String>,
    /// NAME=VALUE, repeatable (values are sent, never printed)
    #[arg(long = "secret", visible_alias = "secrets", value_name = "NAME=VALUE")]
    pub secrets: Vec<String>,
}

fn set(map: &mut Map<String, Value>, key: &str, value: Option<&String>) {
    if let Some(v) = value {
        map.insert(key.to_owned(), json!(v));
    }
}

impl TaskSpecArgs {
    pub fn body(&self) -> Result<Value> {
        let mut body = match &self.input_file {
            Some(p) => read_checked::<shapes::Task>(p)?,
            None => json!({}),
        };
        let map = body.as_object_mut().expect("checked to be an object");
        set(map, "name", self.name.as_ref());
        set(map, "containerImage", self.image.as_ref());
        set(map, "helmChart", self.helm_chart.as_ref());
        set(map, "containerArgs", self.container_args.as_ref());
        set(map, "description", self.description.as_ref());
        set(map, "maxRuntimeDuration", self.max_runtime.as_ref());
        set(map, "maxQueuedDuration", self.max_queued.as_ref());
        set(
            map,
            "terminationGracePeriodDuration",
            self.termination_grace.as_ref(),
        );
        let strategy = self
            .result_strategy
            .as_ref()
            .map(|s| s.to_ascii_uppercase());
        set(map, "resultHandlingStrategy", strategy.as_ref());
        set(map, "resultsLocation", self.results_location.as_ref());
        if !self.tags.is_empty() {
            map.insert("tags".into(), json!(self.tags));
        }
        let gpu = map.entry("gpuSpecification").or_insert_with(|| json!({}));
        if let Some(g) = gpu.as_object_mut() {
            set(g, "gpu", self.gpu.as_ref());
            set(g, "instanceType", self.instance_type.as_ref());
            set(g, "backend", self.backend.as_ref());
            if !self.clusters.is_empty() {
                g.insert("clusters".into(), json!(self.clusters));
            }
        }
        add_env_and_secrets(map, &self.container_env, &self.secrets)?;
        check::<shapes::Task>(&body, "request")?;
        validate(&body)?;
        Ok(body)
    }
}

/// NVCT's create rules (contracts/endpoints.md §7), checked before sending.
pub fn validate(body: &Value) -> Result<()> {
    let has = |v: &Value| v.as_str().is_some_and(|s| !s.is_empty());
    if !has(&body["name"]) {
        return Err(Error::usage("the task needs `name`").hint("pass --name"));
    }
    for (k, flag) in [("gpu", "--gpu"), ("instanceType", "--instance-type")] {
        if !has(&body["gpuSpecification"][k]) {
            return Err(
                Error::usage(format!("the task needs `gpuSpecification.{k}`"))
                    .hint(format!("pass {flag}")),
            );
        }
    }
    match (has(&body["containerImage"]), has(&body["helmChart"])) {
        (true, true) => {
            return Err(
                Error::usage("`containerImage` and `helmChart` are mutually exclusive")
                    .hint("pass only one of --image and --helm-chart"),
            );
        }
        (false, false) => {
            return Err(
                Error::usage("the task needs `containerImage` or `helmChart`")
                    .hint("pass --image or --helm-chart"),
            );
        }
        (false, true)
            if body.get("containerArgs").is_some()
                || body.get("containerEnvironment").is_some() =>
        {
            return Err(Error::usage(
                "a Helm chart task takes no `containerArgs` or `containerEnvironment`",
            )
            .hint("drop --container-args / --container-env, or use --image"));
        }
        _ => {}
    }
    let upload = body["resultHandlingStrategy"]
        .as_str()
        .is_none_or(|s| s.eq_ignore_ascii_case("UPLOAD"));
    if upload && body.get("resultHandlingStrategy").is_some() && !has(&body["resultsLocation"]) {
        return Err(Error::usage("UPLOAD results need `resultsLocation`")
            .hint("pass --results-location <org>/[<team>/]<model>, or --result-strategy NONE"));
    }
    refuse_placeholders(body, &[])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> TaskSpecArgs {
        TaskSpecArgs {
            name: Some("t1".into()),
            image: Some("nvcr.io/org/job:1".into()),
            gpu: Some("A10G".into()),
            instance_type: Some("NCP.GPU.A10G_1x".into()),
            result_strategy: Some("none".into()),
            ..Default::default()
        }
    }

    #[test]
    fn flags_build_a_task() {
        let b = base().body().unwrap();
        assert_eq!(b["gpuSpecification"]["gpu"], "A10G");
        assert_eq!(b["resultHandlingStrategy"], "NONE");
    }

    #[test]
    fn task_checks_name_the_field() {
        let e = TaskSpecArgs {
            gpu: None,
            ..base()
        }
        .body()
        .unwrap_err();
        assert!(
            e.message().contains("gpuSpecification.gpu"),
            "{}",
            e.message()
        );
        let e = TaskSpecArgs {
            helm_chart: Some("oci://x/c".into()),
            ..base()
        }
        .body()
        .unwrap_err();
        assert!(e.message().contains("mutually exclusive"));
        let e = TaskSpecArgs {
            image: Some("<your-registry>/job:1".into()),
            ..base()
        }
        .body()
        .unwrap_err();
        assert!(e.message().contains("containerImage"), "{}", e.message());
        let e = TaskSpecArgs {
            result_strategy: Some("UPLOAD".into()),
            ..base()
        }
        .body()
        .unwrap_err();
        assert!(e.message().contains("resultsLocation"));
    }
}
