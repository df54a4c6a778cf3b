//! `kill-function` / `kill-all`: delete the agent's ICMSRequests in the requests namespace,
//! as upstream's `cluster agent kill-*`. `force` strips finalizers first, so a request
//! whose agent is gone does not hang in deletion.

use super::backend::Identity;
use super::functions::{self, Filter, Function};
use crate::base::error::Result;
use crate::base::output::{Report, key_value_table};
use crate::base::plan::{Plan, Step, StepState, steps_table};
use crate::clients::kube::{Objects, objects};
use kube::api::DynamicObject;
use serde::Serialize;
use serde_json::json;

pub const REQUESTS_NAMESPACE: &str = "nvcf-backend";

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Affected {
    pub namespace: String,
    pub name: String,
    pub function_id: String,
    pub function_version_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KillResult {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cluster_id: Option<String>,
    pub cluster_name: String,
    pub requests_namespace: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub reason: String,
    pub affected: Vec<Affected>,
    pub failed_count: usize,
    pub dry_run: bool,
}

/// A kill decided from reads alone: the report it will print and the requests to delete.
pub struct Kill {
    pub result: KillResult,
    objects: Vec<DynamicObject>,
    client: kube::Client,
}

/// What a kill would delete: the requests in `namespace` for `fid` (and `vid`), or all.
pub async fn plan(
    client: &kube::Client,
    identity: Identity,
    namespace: &str,
    fid: Option<&str>,
    vid: Option<&str>,
    reason: &str,
    dry_run: bool,
) -> Result<Kill> {
    let filter = Filter {
        namespace: Some(namespace.to_owned()),
        function_id: fid.map(str::to_owned),
        function_version_id: vid.map(str::to_owned),
        ..Filter::default()
    };
    let found = functions::read(client, &filter).await?;
    let affected = found.iter().map(|(f, _)| affected(f)).collect();
    Ok(Kill {
        result: KillResult {
            cluster_id: identity.cluster_id,
            cluster_name: identity.cluster_name,
            requests_namespace: namespace.to_owned(),
            reason: reason.to_owned(),
            affected,
            failed_count: 0,
            dry_run,
        },
        objects: found.into_iter().map(|(_, o)| o).collect(),
        client: client.clone(),
    })
}

fn affected(f: &Function) -> Affected {
    Affected {
        namespace: f.namespace.clone(),
        name: f.name.clone(),
        function_id: f.function_id.clone(),
        function_version_id: f.function_version_id.clone(),
        error: None,
    }
}

/// Deletes every planned request; one failure is recorded on its row and the rest go on.
pub async fn execute(plan: Kill, force: bool) -> KillResult {
    let mut result = plan.result;
    if result.dry_run {
        return result;
    }
    let resource = objects::resource(
        &format!("{}/{}", functions::GROUP, functions::VERSION),
        functions::KIND,
        functions::PLURAL,
    );
    let requests = Objects::dynamic(&plan.client, &resource, Some(&result.requests_namespace));
    for (row, obj) in result.affected.iter_mut().zip(plan.objects) {
        let name = obj.metadata.name.clone().unwrap_or_default();
        let has_finalizers = obj
            .metadata
            .finalizers
            .as_ref()
            .is_some_and(|f| !f.is_empty());
        let outcome = async {
            if force && has_finalizers {
                requests
                    .merge_patch(&name, &json!({"metadata": {"finalizers": null}}))
                    .await?;
            }
            requests.delete(&name).await
        }
        .await;
        if let Err(e) = outcome {
            row.error = Some(e.to_string());
        }
    }
    result.failed_count = result.affected.iter().filter(|a| a.error.is_some()).count();
    result
}

impl KillResult {
    /// The kill in the shared plan shape: a step a request, with the kubectl that deletes it.
    /// The JSON stays upstream's `KillResult`; the table renders from this.
    pub fn plan(&self) -> Plan {
        let mut plan = Plan::new(
            format!("delete ICMSRequests in {}", self.requests_namespace),
            self.dry_run,
        );
        plan.steps = self
            .affected
            .iter()
            .map(|a| {
                let state = match (&a.error, self.dry_run) {
                    (Some(_), _) => StepState::Failed,
                    (None, true) => StepState::Planned,
                    (None, false) => StepState::Done,
                };
                Step::new(format!("icmsrequest/{}", a.name), state)
                    .command(format!(
                        "kubectl delete icmsrequest {} -n {}",
                        a.name, a.namespace
                    ))
                    .detail(a.error.clone().unwrap_or_else(|| {
                        format!(
                            "function {} version {}",
                            a.function_id, a.function_version_id
                        )
                    }))
            })
            .collect();
        plan
    }
}

impl Report for KillResult {
    fn table(&self, wide: bool) -> String {
        let verb = if self.dry_run {
            "would delete"
        } else {
            "deleted"
        };
        let mut out = key_value_table(&[
            (
                "CLUSTER",
                match &self.cluster_id {
                    Some(id) => format!("{} ({id})", self.cluster_name),
                    None => self.cluster_name.clone(),
                },
            ),
            ("NAMESPACE", self.requests_namespace.clone()),
            (
                "RESULT",
                format!(
                    "{verb} {} ICMSRequest(s), {} failed",
                    self.affected.len() - self.failed_count,
                    self.failed_count
                ),
            ),
        ]);
        if !self.affected.is_empty() {
            out.push_str(&format!("\n{}", steps_table(&self.plan().steps, wide)));
        }
        out
    }
    fn names(&self) -> Vec<String> {
        self.affected
            .iter()
            .map(|a| format!("icmsrequest/{}", a.name))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_renders_from_the_shared_plan_shape() {
        let row = |name: &str, error: Option<&str>| Affected {
            namespace: REQUESTS_NAMESPACE.into(),
            name: name.into(),
            function_id: "fid".into(),
            function_version_id: "vid".into(),
            error: error.map(str::to_owned),
        };
        let mut result = KillResult {
            cluster_id: None,
            cluster_name: "gpu-a".into(),
            requests_namespace: REQUESTS_NAMESPACE.into(),
            reason: String::new(),
            affected: vec![row("a", None), row("b", Some("forbidden"))],
            failed_count: 1,
            dry_run: true,
        };
        let states =
            |r: &KillResult| -> Vec<StepState> { r.plan().steps.iter().map(|s| s.state).collect() };
        assert_eq!(states(&result), [StepState::Planned, StepState::Failed]);
        assert_eq!(
            result.plan().steps[0].command,
            "kubectl delete icmsrequest a -n nvcf-backend"
        );
        result.dry_run = false;
        assert_eq!(states(&result), [StepState::Done, StepState::Failed]);
        let table = result.table(false);
        assert!(
            table.contains("icmsrequest/b") && table.contains("forbidden"),
            "{table}"
        );
    }
}
