//! Taking the NVCA agent out of maintenance (`uncordon`): the reverse of
//! [`super::maintenance::drain`], with the agent restarted to read its config again.

use super::maintenance::{
    AGENT_CONFIG, AGENT_DEPLOYMENT, DrainResult, FEATURE_FLAG, SYSTEM_NAMESPACE,
};
use crate::base::error::{Category, Error, Result};
use crate::clients::kube::{Objects, workloads};
use k8s_openapi::api::core::v1::ConfigMap;
use serde_json::{Value, json};
use std::time::Duration;

/// The agent config without the maintenance flag and mode (other flags kept); `None` when
/// it is not in maintenance.
pub fn without_maintenance(config_yaml: &str) -> Result<Option<String>> {
    if config_yaml.trim().is_empty() {
        return Ok(None);
    }
    let mut cfg: Value = serde_saphyr::from_str(config_yaml).map_err(|e| {
        Error::new(
            Category::ClusterState,
            format!("{SYSTEM_NAMESPACE}/{AGENT_CONFIG} config.yaml is not valid YAML: {e}"),
        )
    })?;
    let Some(map) = cfg.as_object_mut() else {
        return Ok(None);
    };
    let mode = map.remove("maintenanceMode").is_some();
    let mut flag = false;
    if let Some(list) = map.get_mut("featureFlags").and_then(Value::as_array_mut) {
        let before = list.len();
        list.retain(|f| f != FEATURE_FLAG);
        flag = list.len() != before;
    }
    if !mode && !flag {
        return Ok(None);
    }
    serde_saphyr::to_string(&cfg)
        .map(Some)
        .map_err(|e| Error::internal(format!("cannot write the agent config: {e}")))
}

pub async fn uncordon(
    client: &kube::Client,
    timeout: Duration,
    dry_run: bool,
) -> Result<DrainResult> {
    let mut result = DrainResult::nothing_yet("None", dry_run);
    let cms = Objects::<ConfigMap>::namespaced(client, SYSTEM_NAMESPACE);
    let current = cms
        .get_opt(AGENT_CONFIG)
        .await?
        .and_then(|cm| cm.data)
        .and_then(|d| d.get("config.yaml").cloned())
        .unwrap_or_default();
    let Some(updated) = without_maintenance(&current)? else {
        result.message = "the agent is not in maintenance mode".into();
        result.rollout_complete = true;
        return Ok(result);
    };
    result.config_changed = true;
    if dry_run {
        result.message = format!(
            "would remove maintenanceMode and {FEATURE_FLAG} from configmap/{AGENT_CONFIG} -n {SYSTEM_NAMESPACE}, then restart deployment/{AGENT_DEPLOYMENT}"
        );
        return Ok(result);
    }
    cms.merge_patch(AGENT_CONFIG, &json!({"data": {"config.yaml": updated}}))
        .await?;
    if workloads::get_deployment(client, SYSTEM_NAMESPACE, AGENT_DEPLOYMENT)
        .await?
        .is_none()
    {
        result.message = format!("maintenance off; deployment/{AGENT_DEPLOYMENT} is absent");
        result.rollout_complete = true;
        return Ok(result);
    }
    workloads::restart(client, SYSTEM_NAMESPACE, AGENT_DEPLOYMENT).await?;
    result.rollout_triggered = true;
    result.rollout_complete =
        workloads::wait_rollout(client, SYSTEM_NAMESPACE, AGENT_DEPLOYMENT, timeout).await?;
    result.message = if result.rollout_complete {
        "maintenance mode off; the agent restarted and takes work again".into()
    } else {
        format!(
            "maintenance mode off; the agent's restart did not finish within {}s",
            timeout.as_secs()
        )
    };
    Ok(result)
}

impl crate::base::output::Report for DrainResult {
    fn table(&self, _wide: bool) -> String {
        let mut rows = Vec::new();
        if !self.cluster_name.is_empty() {
            let cluster = match &self.cluster_id {
                Some(id) if *id != self.cluster_name => format!("{} ({id})", self.cluster_name),
                _ => self.cluster_name.clone(),
            };
            rows.push(("CLUSTER", cluster));
        }
        rows.extend([
            ("MODE", self.mode.clone()),
            ("CONFIG CHANGED", self.config_changed.to_string()),
            (
                "ROLLOUT",
                format!(
                    "triggered {}, complete {}",
                    self.rollout_triggered, self.rollout_complete
                ),
            ),
            ("RESULT", self.message.clone()),
        ]);
        crate::base::output::key_value_table(&rows)
    }
    fn names(&self) -> Vec<String> {
        vec![format!("deployment/{AGENT_DEPLOYMENT}")]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uncordon_removes_only_the_maintenance_settings() {
        let on = super::super::maintenance::with_maintenance("featureFlags: [A]\n")
            .unwrap()
            .unwrap();
        let off = without_maintenance(&on).unwrap().unwrap();
        let v: Value = serde_saphyr::from_str(&off).unwrap();
        assert_eq!(v, json!({"featureFlags": ["A"]}));
        assert!(without_maintenance(&off).unwrap().is_none());
    }
}
