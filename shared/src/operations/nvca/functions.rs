//! The functions the NVCA agent runs, read from its ICMSRequest objects
//! (`icmsrequests.nvca.nvcf.nvidia.io/v2beta1`), with upstream's phase derivation
//! (`cluster agent list-functions` / `get-function`).

use crate::base::error::{Error, Result};
use crate::base::output::{Report, column_table};
use crate::clients::kube::probes::custom_objects;
use kube::api::DynamicObject;
use serde::Serialize;
use serde_json::Value;

pub const GROUP: &str = "nvca.nvcf.nvidia.io";
pub const VERSION: &str = "v2beta1";
pub const KIND: &str = "ICMSRequest";
pub const PLURAL: &str = "icmsrequests";

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, clap::ValueEnum)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[value(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Phase {
    Active,
    Deploying,
    Draining,
    Failed,
}

impl Phase {
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Active => "ACTIVE",
            Phase::Deploying => "DEPLOYING",
            Phase::Draining => "DRAINING",
            Phase::Failed => "FAILED",
        }
    }
}

/// Lower-cased with separators dropped, so `InstancesInProgress`, `instances_in_progress`
/// and `Instances-In-Progress` compare equal.
fn norm(s: &str) -> String {
    s.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// Upstream's derivation, most severe first: a failure outranks a drain, a drain outranks
/// progress. What nothing recognises is still being worked on (DEPLOYING), never ACTIVE.
pub fn derive_phase(status: &str, action: &str, maintenance: &str, instances: &[String]) -> Phase {
    let status = norm(status);
    let failed = ["failed", "failure", "error", "instancesfailed", "rejected"];
    if failed.contains(&status.as_str()) || status.ends_with("failed") {
        return Phase::Failed;
    }
    let draining = norm(maintenance).contains("drain")
        || norm(action) == "terminateinstances"
        || instances.iter().any(|i| norm(i) == "terminating");
    if draining {
        return Phase::Draining;
    }
    match status.as_str() {
        "completed" | "complete" | "ack" | "acknowledged" => Phase::Active,
        _ => Phase::Deploying,
    }
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Function {
    pub namespace: String,
    pub name: String,
    pub function_id: String,
    pub function_version_id: String,
    pub phase: Phase,
    /// The request's own status, as the agent wrote it.
    pub status: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub action: String,
    pub instances: Vec<String>,
    /// The request object's uid: the function's pods may be owned by it.
    #[serde(skip)]
    pub uid: String,
}

fn text(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_owned()
}

/// The first non-empty string among `spec.KEY`, `spec.request.KEY` and label `KEY`.
fn field(obj: &DynamicObject, key: &str) -> String {
    let d = &obj.data;
    [&d["spec"][key], &d["spec"]["request"][key]]
        .into_iter()
        .map(text)
        .find(|s| !s.is_empty())
        .or_else(|| obj.metadata.labels.as_ref()?.get(key).cloned())
        .unwrap_or_default()
}

pub fn from_object(obj: &DynamicObject) -> Function {
    let status = &obj.data["status"];
    let instances: Vec<String> = status["instances"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|i| text(&i["status"]))
        .filter(|s| !s.is_empty())
        .collect();
    let state = text(&status["status"]);
    let action = field(obj, "action");
    let maintenance = text(&status["maintenanceMode"]);
    Function {
        namespace: obj.metadata.namespace.clone().unwrap_or_default(),
        name: obj.metadata.name.clone().unwrap_or_default(),
        function_id: field(obj, "functionId"),
        function_version_id: field(obj, "functionVersionId"),
        phase: derive_phase(&state, &action, &maintenance, &instances),
        status: state,
        action,
        instances,
        uid: obj.metadata.uid.clone().unwrap_or_default(),
    }
}

#[derive(Debug, Default, Clone)]
pub struct Filter {
    pub namespace: Option<String>,
    pub phase: Option<Phase>,
    pub function_id: Option<String>,
    pub function_version_id: Option<String>,
}

impl Filter {
    fn keeps(&self, f: &Function) -> bool {
        let eq = |want: &Option<String>, have: &str| want.as_deref().is_none_or(|w| w == have);
        eq(&self.namespace, &f.namespace)
            && self.phase.is_none_or(|p| p == f.phase)
            && eq(&self.function_id, &f.function_id)
            && eq(&self.function_version_id, &f.function_version_id)
    }
}

/// The ICMSRequest objects, each with its object kept for a later delete.
pub async fn read(
    client: &kube::Client,
    filter: &Filter,
) -> Result<Vec<(Function, DynamicObject)>> {
    let objects = custom_objects(client, GROUP, VERSION, KIND, PLURAL).await?;
    let mut out: Vec<(Function, DynamicObject)> = objects
        .into_iter()
        .map(|o| (from_object(&o), o))
        .filter(|(f, _)| filter.keeps(f))
        .collect();
    out.sort_by(|(a, _), (b, _)| {
        (
            &a.function_id,
            &a.function_version_id,
            &a.namespace,
            &a.name,
        )
            .cmp(&(
                &b.function_id,
                &b.function_version_id,
                &b.namespace,
                &b.name,
            ))
    });
    Ok(out)
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FunctionList {
    pub functions: Vec<Function>,
}

pub async fn list(client: &kube::Client, filter: &Filter) -> Result<FunctionList> {
    Ok(FunctionList {
        functions: read(client, filter)
            .await?
            .into_iter()
            .map(|(f, _)| f)
            .collect(),
    })
}

/// The first match after sorting, as upstream's `get-function`.
pub async fn get(client: &kube::Client, fid: &str, vid: Option<&str>) -> Result<Function> {
    let filter = Filter {
        function_id: Some(fid.into()),
        function_version_id: vid.map(str::to_owned),
        ..Filter::default()
    };
    read(client, &filter)
        .await?
        .into_iter()
        .next()
        .map(|(f, _)| f)
        .ok_or_else(|| {
            let which = vid.map_or(fid.to_owned(), |v| format!("{fid} version {v}"));
            Error::not_found(format!(
                "function {which} has no ICMSRequest on this cluster"
            ))
            .hint(format!(
                "list what runs here: {nvca_cmd0}",
                nvca_cmd0 = crate::base::plugin::nvca("functions list")
            ))
        })
}

fn row(f: &Function, wide: bool) -> Vec<String> {
    let mut r = vec![
        f.function_id.clone(),
        f.function_version_id.clone(),
        f.phase.as_str().into(),
        f.namespace.clone(),
    ];
    if wide {
        r.push(f.name.clone());
        r.push(f.status.clone());
        r.push(f.instances.join(","));
    }
    r
}

fn header(wide: bool) -> &'static [&'static str] {
    if wide {
        &[
            "function",
            "version",
            "phase",
            "namespace",
            "request",
            "status",
            "instances",
        ]
    } else {
        &["function", "version", "phase", "namespace"]
    }
}

impl Report for FunctionList {
    fn table(&self, wide: bool) -> String {
        if self.functions.is_empty() {
            return "No functions (no ICMSRequest matched).\n".into();
        }
        column_table(
            header(wide),
            self.functions.iter().map(|f| row(f, wide)).collect(),
        )
    }
    fn names(&self) -> Vec<String> {
        self.functions.iter().map(Function::object_name).collect()
    }
}

impl Function {
    fn object_name(&self) -> String {
        format!("icmsrequest/{}", self.name)
    }
}

impl Report for Function {
    fn table(&self, wide: bool) -> String {
        column_table(header(wide), vec![row(self, wide)])
    }
    fn names(&self) -> Vec<String> {
        vec![self.object_name()]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn phase(status: &str, action: &str, maintenance: &str, inst: &[&str]) -> Phase {
        let inst: Vec<String> = inst.iter().map(|s| (*s).to_owned()).collect();
        derive_phase(status, action, maintenance, &inst)
    }

    #[test]
    fn phases_follow_upstream() {
        assert_eq!(phase("Failed", "", "", &[]), Phase::Failed);
        assert_eq!(
            phase("InstancesFailed", "TerminateInstances", "", &[]),
            Phase::Failed
        );
        assert_eq!(
            phase("Completed", "", "CordonAndDrain", &[]),
            Phase::Draining
        );
        assert_eq!(
            phase("Completed", "TerminateInstances", "", &[]),
            Phase::Draining
        );
        assert_eq!(
            phase("Completed", "", "", &["Running", "Terminating"]),
            Phase::Draining
        );
        for s in ["Pending", "InProgress", "Caching", "instances_in_progress"] {
            assert_eq!(
                phase(s, "CreateInstances", "", &[]),
                Phase::Deploying,
                "{s}"
            );
        }
        assert_eq!(phase("Completed", "", "", &["Running"]), Phase::Active);
        assert_eq!(phase("ACK", "", "", &[]), Phase::Active);
        assert_eq!(phase("", "", "", &[]), Phase::Deploying);
        assert_eq!(phase("SomethingNew", "", "", &[]), Phase::Deploying);
    }

    #[test]
    fn fields_come_from_spec_request_or_labels() {
        let obj: DynamicObject = serde_json::from_value(serde_json::json!({
            "apiVersion": "nvca.nvcf.nvidia.io/v2beta1", "kind": "ICMSRequest",
            "metadata": {"name": "r1", "namespace": "nvcf-backend",
                         "labels": {"functionVersionId": "v1"}},
            "spec": {"request": {"functionId": "f1"}, "action": "CreateInstances"},
            "status": {"status": "Completed", "instances": [{"status": "Running"}]},
        }))
        .unwrap();
        let f = from_object(&obj);
        assert_eq!(
            (f.function_id.as_str(), f.function_version_id.as_str()),
            ("f1", "v1")
        );
        assert_eq!(f.phase, Phase::Active);
    }
}
