//! Bootstrap's steps against SIS and the cluster: the registration found or made, the
//! cluster config read, the operator restarted so it reads the IDs, the agent up.

use super::configmaps::{read_cluster_dto, read_registration_ids};
use super::registration::{self, RegisterRequest};
use super::{
    AGENT_NAMESPACE, AGENT_SELECTOR, CLUSTER_CONFIGMAP, ClusterDto, OPERATOR_DEPLOYMENT,
    OPERATOR_SELECTOR, Options, outcome,
};
use crate::base::error::{Category, Error, Result};
use crate::base::plan::Step;
use crate::clients::kube::workloads;
use crate::clients::nvcf::sis::Sis;
use crate::model::profile::Profile;
use crate::operations::nvca::uninstall::OPERATOR_NAMESPACE;

/// Finds the registration SIS holds for the cluster, or registers it with its own keys.
pub(super) async fn registration_ids(
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
pub(super) async fn operator_current(
    client: &kube::Client,
    written_at: Option<&str>,
) -> Result<bool> {
    let Some(written) = written_at else {
        // IDs not written by us (the chart's init container): they were there at start.
        return Ok(true);
    };
    let pods = workloads::pods(client, OPERATOR_NAMESPACE, OPERATOR_SELECTOR).await?;
    Ok(!pods.is_empty() && pods.iter().all(|(p, _)| !started_before(p, written)))
}

/// The cluster config and the account to register under.
pub(super) async fn cluster_config(
    kube: &kube::Client,
    opts: &Options,
) -> Result<(ClusterDto, String, Step)> {
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
pub(super) async fn restart_operator(
    kube: &kube::Client,
    wrote: bool,
    opts: &Options,
) -> Result<Step> {
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
pub(super) async fn agent_up(kube: &kube::Client, opts: &Options) -> Result<Step> {
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
