//! The ConfigMaps bootstrap reads and writes: the chart's cluster config, and the IDs in
//! `nvca-cluster-registration` (with when we wrote them).

use super::{CLUSTER_CONFIGMAP, CLUSTER_DTO_KEY, ClusterDto, OPERATOR_DEPLOYMENT, WRITTEN_AT};
use crate::base::error::{Category, Error, Result};
use crate::clients::kube::{Objects, workloads};
use crate::operations::nvca::uninstall::{OPERATOR_NAMESPACE, REGISTRATION_CONFIGMAP};
use k8s_openapi::api::core::v1::ConfigMap;
use std::collections::BTreeMap;

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

pub(super) async fn write_ids(
    client: &kube::Client,
    cluster_id: &str,
    group_id: &str,
) -> Result<bool> {
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
