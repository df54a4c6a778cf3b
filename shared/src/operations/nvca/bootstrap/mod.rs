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

mod configmaps;
mod steps;

pub use configmaps::{RegistrationIds, read_cluster_dto, read_registration_ids};
pub use steps::started_before;

use super::registration::{self};
use crate::base::error::Result;
use crate::base::events::{Emitter, Phases};
use crate::base::output::Report;
use crate::base::plan::{Plan, Step, StepState, steps_table};
use crate::clients::nvcf::sis::Sis;
use crate::model::profile::Profile;
use configmaps::write_ids;
use serde::{Deserialize, Serialize};
use std::time::Duration;
use steps::{agent_up, cluster_config, registration_ids, restart_operator};

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
