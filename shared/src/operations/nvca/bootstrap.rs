//! `kubectl nvca bootstrap`: what the chart's `nvca-self-managed-bootstrap` init container
//! did (seed 001), done from outside the cluster so it works with charts that dropped it.
//!
//! 1. read the cluster's config from the `nvcfbackend-self-managed` ConfigMap;
//! 2. find the cluster's SIS registration, or register it with the cluster's own keys;
//! 3. write `clusterId` and `clusterGroupId` into `nvca-cluster-registration`;
//! 4. restart the operator (it reads the IDs only at start) and wait for the rollout;
//! 5. wait for the NVCA agent pod the operator creates.
//!
//! Every step first compares, then writes only what differs: a second run writes nothing.

use super::registration::{self, RegisterRequest};
use super::uninstall::{OPERATOR_NAMESPACE, REGISTRATION_CONFIGMAP};
use crate::base::error::{Category, Error, Result};
use crate::base::events::{Emitter, Phases};
use crate::base::output::Report;
use crate::base::plan::{Plan, Step, StepState, steps_table};
use crate::clients::kube::{Objects, workloads};
use crate::clients::nvcf::sis::Sis;
use crate::model::profile::Profile;
use k8s_openapi::api::core::v1::ConfigMap;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::Duration;

pub const CLUSTER_CONFIGMAP: &str = "nvcfbackend-self-managed";
pub const CLUSTER_DTO_KEY: &str = "cluster-dto.yaml";
pub const OPERATOR_DEPLOYMENT: &str = "nvca-operator";
pub const AGENT_NAMESPACE: &str = "nvca-system";
pub const AGENT_SELECTOR: &str = "app.kubernetes.io/name=nvca";
pub const OPERATOR_SELECTOR: &str = "app.kubernetes.io/name=nvca-operator";
/// When we last wrote the IDs: the operator must have started after it to have read them.
pub const WRITTEN_AT: &str = "nvcf.nvidia.com/ids-written-at";

/// The part of the chart's `cluster-dto.yaml` registration needs.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ClusterDto {
    pub cluster_name: String,
    #[serde(rename = "ncaID")]
    pub nca_id: String,
    pub region: String,
    pub nvca_version: String,
    pub capabilities: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct Options {
    /// The account to register under when the ConfigMap names none.
    pub default_nca_id: String,
    pub spire_oidc: Option<String>,
    pub timeout: Duration,
}

/// A bootstrap step: `changed` when this run wrote something, `unchanged` when it found it so.
fn outcome(name: &str, changed: bool, detail: impl Into<String>) -> Step {
    let state = if changed {
        StepState::Changed
    } else {
        StepState::Unchanged
    };
    Step::new(name, state).detail(detail)
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BootstrapReport {
    pub cluster_name: String,
    pub nca_id: String,
    pub cluster_id: String,
    pub cluster_group_id: String,
    /// Whether this run changed anything at all.
    pub changed: bool,
    /// The five steps, each `changed` or `unchanged`.
    #[serde(flatten)]
    pub plan: Plan,
}

/// Reads and parses the operator's cluster config.
pub async fn read_cluster_dto(client: &kube::Client) -> Result<ClusterDto> {
    let fix = format!(
        "install the operator with clusterSource self-managed ({nvca_cmd0} > nvca-operator-values.yaml; helm upgrade --install {OPERATOR_DEPLOYMENT} … -n {OPERATOR_NAMESPACE} -f nvca-operator-values.yaml)",
        nvca_cmd0 = crate::base::plugin::nvca("values")
    );
    let cm = Objects::<ConfigMap>::namespaced(client, OPERATOR_NAMESPACE)
        .get_opt(CLUSTER_CONFIGMAP)
        .await?
        .ok_or_else(|| {
            Error::new(
                Category::ClusterState,
                format!("ConfigMap {OPERATOR_NAMESPACE}/{CLUSTER_CONFIGMAP} does not exist"),
            )
            .hint(fix.clone())
        })?;
    let text = cm
        .data
        .unwrap_or_default()
        .remove(CLUSTER_DTO_KEY)
        .ok_or_else(|| {
            Error::new(
                Category::ClusterState,
                format!(
                    "ConfigMap {OPERATOR_NAMESPACE}/{CLUSTER_CONFIGMAP} has no {CLUSTER_DTO_KEY}"
                ),
            )
            .hint(fix.clone())
        })?;
    let dto: ClusterDto = serde_saphyr::from_str(&text).map_err(|e| {
        Error::new(
            Category::ClusterState,
            format!("{CLUSTER_CONFIGMAP}/{CLUSTER_DTO_KEY} is not valid YAML: {e}"),
        )
        .hint(fix.clone())
    })?;
    if dto.cluster_name.trim().is_empty() {
        return Err(Error::new(
            Category::ClusterState,
            format!("{CLUSTER_CONFIGMAP}/{CLUSTER_DTO_KEY} has no clusterName"),
        )
        .hint("set clusterName in the operator's values (compute.clusterName in the stack config) and upgrade the release"));
    }
    Ok(dto)
}

/// What `nvca-cluster-registration` holds.
#[derive(Debug, Clone)]
pub struct RegistrationIds {
    pub data: BTreeMap<String, String>,
    /// When `kubectl nvca bootstrap` wrote the IDs; `None` when someone else did.
    pub written_at: Option<String>,
}

/// The IDs in `nvca-cluster-registration` and when we wrote them; `None` when it is absent.
pub async fn read_registration_ids(client: &kube::Client) -> Result<Option<RegistrationIds>> {
    let cm = Objects::<ConfigMap>::namespaced(client, OPERATOR_NAMESPACE)
        .get_opt(REGISTRATION_CONFIGMAP)
        .await?;
    Ok(cm.map(|cm| RegistrationIds {
        written_at: cm
            .metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get(WRITTEN_AT).cloned()),
        data: cm.data.unwrap_or_default(),
    }))
}

async fn write_ids(client: &kube::Client, cluster_id: &str, group_id: &str) -> Result<bool> {
    let configmaps = Objects::<ConfigMap>::namespaced(client, OPERATOR_NAMESPACE);
    let current = read_registration_ids(client).await?;
    let holds = |data: &BTreeMap<String, String>| {
        data.get("clusterId").map(String::as_str) == Some(cluster_id)
            && data.get("clusterGroupId").map(String::as_str) == Some(group_id)
    };
    let body = serde_json::json!({
        "metadata": {
            "name": REGISTRATION_CONFIGMAP,
            "namespace": OPERATOR_NAMESPACE,
            // Kept across uninstalls, as the chart kept it: a reinstall reuses the IDs.
            "annotations": {"helm.sh/resource-policy": "keep", WRITTEN_AT: workloads::now_rfc3339()},
        },
        "data": {"clusterId": cluster_id, "clusterGroupId": group_id},
    });
    match current {
        Some(ids) if holds(&ids.data) => Ok(false),
        Some(_) => {
            configmaps
                .merge_patch(REGISTRATION_CONFIGMAP, &body)
                .await?;
            Ok(true)
        }
        None => {
            let cm: ConfigMap = serde_json::from_value(body)
                .map_err(|e| Error::internal(format!("registration ConfigMap: {e}")))?;
            configmaps.create(&cm).await?;
            Ok(true)
        }
    }
}

/// Finds the registration SIS holds for the cluster, or registers it with its own keys.
async fn registration_ids(
    sis: &Sis<'_>,
    profile: &Profile,
    kube: &kube::Client,
    api_server: &str,
    dto: &ClusterDto,
    nca_id: &str,
    opts: &Options,
) -> Result<(String, String, Step)> {
    let existing = sis
        .list(nca_id)
        .await?
        .into_iter()
        .find(|c| c.cluster_name == dto.cluster_name);
    if let Some(c) = existing {
        let group = c.cluster_group_id.unwrap_or_default();
        let step = outcome(
            "sis-registration",
            false,
            format!("found existing registration {}", c.cluster_id),
        );
        return Ok((c.cluster_id, group, step));
    }
    let req = RegisterRequest {
        cluster_name: dto.cluster_name.clone(),
        nca_id: nca_id.to_owned(),
        region: Some(dto.region.clone())
            .filter(|r| !r.is_empty())
            .unwrap_or_else(|| "us-west-1".into()),
        // Another bootstrap may register between our list and our POST: adopt it.
        ignore_existing: true,
        nvca_version: Some(dto.nvca_version.clone()).filter(|v| !v.is_empty()),
        capabilities: Some(dto.capabilities.clone()).filter(|c| !c.is_empty()),
    };
    let report = registration::register(
        sis,
        profile,
        kube,
        api_server,
        opts.spire_oidc
            .as_deref()
            .map(crate::clients::kube::identity::ManualIssuer::spire),
        &req,
    )
    .await?;
    let r = report.registration;
    let step = outcome(
        "sis-registration",
        report.outcome == "registered",
        format!(
            "{} {} with the cluster's keys ({})",
            report.outcome,
            r.cluster_id,
            r.key_ids.join(", ")
        ),
    );
    Ok((r.cluster_id, r.cluster_group_id, step))
}

/// Whether `pod` started before `written` (an RFC 3339 time), so it never saw what was
/// written then. An unreadable time counts as before: a restart is the safe answer.
pub fn started_before(pod: &k8s_openapi::api::core::v1::Pod, written: &str) -> bool {
    let written =
        time::OffsetDateTime::parse(written, &time::format_description::well_known::Rfc3339).ok();
    match (pod.metadata.creation_timestamp.as_ref(), written) {
        (Some(created), Some(w)) => created.0.as_second() < w.unix_timestamp(),
        _ => true,
    }
}

/// Whether the running operator pods all started after `written_at` (so they read the IDs).
async fn operator_current(client: &kube::Client, written_at: Option<&str>) -> Result<bool> {
    let Some(written) = written_at else {
        // IDs not written by us (the chart's init container): they were there at start.
        return Ok(true);
    };
    let pods = workloads::pods(client, OPERATOR_NAMESPACE, OPERATOR_SELECTOR).await?;
    Ok(!pods.is_empty() && pods.iter().all(|(p, _)| !started_before(p, written)))
}

/// The five steps as phases on `events` (when given): each starts, completes or fails
/// there, so a long rollout wait shows where it is.
pub async fn run(
    sis: &Sis<'_>,
    profile: &Profile,
    kube: &kube::Client,
    api_server: &str,
    opts: &Options,
    events: Option<&Emitter>,
) -> Result<BootstrapReport> {
    let phases = Phases::new(events, 5);
    let mut steps = Vec::new();
    let (dto, nca_id, step) = phases
        .run("cluster-config", cluster_config(kube, opts))
        .await?;
    steps.push(step);

    let (cluster_id, group_id, step) = phases
        .run(
            "sis-registration",
            registration_ids(sis, profile, kube, api_server, &dto, &nca_id, opts),
        )
        .await?;
    steps.push(step);

    let (wrote, step) = phases
        .run("registration-configmap", async {
            let wrote = write_ids(kube, &cluster_id, &group_id).await?;
            let result = if wrote {
                format!("wrote clusterId {cluster_id} and clusterGroupId {group_id}")
            } else {
                "already holds these IDs".into()
            };
            Ok((wrote, outcome("registration-configmap", wrote, result)))
        })
        .await?;
    steps.push(step);

    steps.push(
        phases
            .run("operator-restart", restart_operator(kube, wrote, opts))
            .await?,
    );
    steps.push(phases.run("nvca-agent", agent_up(kube, opts)).await?);
    phases.finish(true);
    Ok(BootstrapReport {
        cluster_name: dto.cluster_name,
        nca_id,
        cluster_id,
        cluster_group_id: group_id,
        changed: steps.iter().any(|s| s.state == StepState::Changed),
        plan: Plan {
            steps,
            ..Plan::default()
        },
    })
}

/// The cluster config and the account to register under.
async fn cluster_config(kube: &kube::Client, opts: &Options) -> Result<(ClusterDto, String, Step)> {
    let dto = read_cluster_dto(kube).await?;
    let nca_id = Some(dto.nca_id.clone())
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| opts.default_nca_id.clone());
    if nca_id.is_empty() {
        return Err(Error::input_missing(format!(
            "{CLUSTER_CONFIGMAP} names no ncaID and the profile has no client_id"
        ))
        .hint(format!(
            "set ncaID in the operator's values, or `{nvcf_cmd0} client_id NCA_ID`",
            nvcf_cmd0 = crate::base::plugin::nvcf("profile set")
        )));
    }
    let step = outcome(
        "cluster-config",
        false,
        format!(
            "{OPERATOR_NAMESPACE}/{CLUSTER_CONFIGMAP}: cluster {}, account {nca_id}",
            dto.cluster_name
        ),
    );
    Ok((dto, nca_id, step))
}

/// Restarts the operator unless the running one already read the IDs; waits for it.
async fn restart_operator(kube: &kube::Client, wrote: bool, opts: &Options) -> Result<Step> {
    let written_at = read_registration_ids(kube)
        .await?
        .and_then(|ids| ids.written_at);
    let deployment = workloads::get_deployment(kube, OPERATOR_NAMESPACE, OPERATOR_DEPLOYMENT)
        .await?
        .ok_or_else(|| {
            Error::new(
                Category::ClusterState,
                format!("Deployment {OPERATOR_NAMESPACE}/{OPERATOR_DEPLOYMENT} does not exist"),
            )
            .hint(format!(
                "install the operator chart first ({nvca_cmd0})",
                nvca_cmd0 = crate::base::plugin::nvca("values shows its values")
            ))
        })?;
    let restart = wrote || !operator_current(kube, written_at.as_deref()).await?;
    if restart {
        workloads::restart(kube, OPERATOR_NAMESPACE, OPERATOR_DEPLOYMENT).await?;
    }
    if !workloads::wait_rollout(kube, OPERATOR_NAMESPACE, OPERATOR_DEPLOYMENT, opts.timeout).await?
    {
        return Err(Error::new(
            Category::Timeout,
            format!("the operator's rollout did not finish within {:?}", opts.timeout),
        )
        .hint(format!(
            "kubectl logs -n {OPERATOR_NAMESPACE} -l app.kubernetes.io/name=nvca-operator -c nvca-operator --tail=100; {nvca_cmd0}", nvca_cmd0 = crate::base::plugin::nvca("doctor names the usual causes"))));
    }
    let replicas = deployment.spec.replicas.unwrap_or(1);
    Ok(outcome(
        "operator-restart",
        restart,
        if restart {
            format!("restarted; rollout complete ({replicas}/{replicas} available)")
        } else {
            "not needed: the running operator started after the IDs were written".into()
        },
    ))
}

/// Waits for the agent pod the operator creates.
async fn agent_up(kube: &kube::Client, opts: &Options) -> Result<Step> {
    let agent =
        workloads::wait_ready_pod(kube, AGENT_NAMESPACE, AGENT_SELECTOR, opts.timeout).await?;
    let Some(agent) = agent else {
        return Err(Error::new(
            Category::ComputePlane,
            format!(
                "no ready NVCA agent pod in {AGENT_NAMESPACE} after {:?}",
                opts.timeout
            ),
        )
        .hint(format!(
            "the operator creates the agent from the NVCFBackend: kubectl describe nvcfbackends -n {OPERATOR_NAMESPACE}; {nvca_cmd0}", nvca_cmd0 = crate::base::plugin::nvca("doctor checks the usual causes"))));
    };
    Ok(outcome(
        "nvca-agent",
        false,
        format!(
            "{AGENT_NAMESPACE}/{} {} ({} ready)",
            agent.name,
            agent.phase,
            agent.ready_count()
        ),
    ))
}

impl Report for BootstrapReport {
    fn table(&self, wide: bool) -> String {
        format!(
            "cluster {} ({}), group {}\n{}",
            self.cluster_name,
            self.cluster_id,
            self.cluster_group_id,
            steps_table(&self.plan.steps, wide)
        )
    }
    fn names(&self) -> Vec<String> {
        vec![format!("cluster/{}", self.cluster_id)]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_charts_cluster_dto_parses() {
        let dto: ClusterDto = serde_saphyr::from_str(
            "clusterName: gpu-a\nncaID: acct\nregion: us-west-1\nnvcaVersion: 3.2.7\ncapabilities: [DynamicGPUDiscovery]\nicmsConfig: {icmsServiceURL: http://sis}\n",
        )
        .unwrap();
        assert_eq!(dto.cluster_name, "gpu-a");
        assert_eq!(dto.nca_id, "acct");
        assert_eq!(dto.capabilities, ["DynamicGPUDiscovery"]);
    }
}
