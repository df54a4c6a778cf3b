//! NVCA maintenance mode (`CordonAndDrain`): the agent stops taking new work and drains
//! what runs. It is switched on in the agent's ConfigMap `agent-config` (key `config.yaml`),
//! and the agent Deployment is restarted to read it, as upstream's `cluster agent drain`.

use crate::base::error::{Category, Error, Result};
use crate::clients::kube::Objects;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::ConfigMap;
use serde::Serialize;
use serde_json::{Value, json};
use std::time::Duration;

pub const SYSTEM_NAMESPACE: &str = "nvca-system";
pub const AGENT_CONFIG: &str = "agent-config";
pub const AGENT_DEPLOYMENT: &str = "nvca";
pub const FEATURE_FLAG: &str = "CordonAndDrainMaintenance";
pub const MODE: &str = "CordonAndDrain";

/// What a drain did (upstream's DrainResult fields).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DrainResult {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cluster_id: Option<String>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub cluster_name: String,
    pub system_namespace: String,
    pub mode: String,
    /// `false` when there is no agent (nothing to drain) or it was already in maintenance.
    pub config_changed: bool,
    pub rollout_triggered: bool,
    pub rollout_complete: bool,
    pub dry_run: bool,
    pub message: String,
}

impl DrainResult {
    /// Before anything was done: the start of drain and uncordon alike.
    pub fn nothing_yet(mode: &str, dry_run: bool) -> DrainResult {
        DrainResult {
            cluster_id: None,
            cluster_name: String::new(),
            system_namespace: SYSTEM_NAMESPACE.into(),
            mode: mode.into(),
            config_changed: false,
            rollout_triggered: false,
            rollout_complete: false,
            dry_run,
            message: String::new(),
        }
    }

    /// Names the cluster acted on, as the guard saw it.
    pub fn on(mut self, identity: &super::backend::Identity) -> DrainResult {
        self.cluster_id = identity.cluster_id.clone();
        self.cluster_name = identity.cluster_name.clone();
        self
    }
}

/// The agent config with maintenance on: the feature flag added (others kept) and
/// `maintenanceMode` set. `None` when it already is.
pub fn with_maintenance(config_yaml: &str) -> Result<Option<String>> {
    let mut cfg: Value = if config_yaml.trim().is_empty() {
        json!({})
    } else {
        serde_saphyr::from_str(config_yaml).map_err(|e| {
            Error::new(
                Category::ClusterState,
                format!("{SYSTEM_NAMESPACE}/{AGENT_CONFIG} config.yaml is not valid YAML: {e}"),
            )
            .hint(format!(
                "inspect it: kubectl get configmap {AGENT_CONFIG} -n {SYSTEM_NAMESPACE} -o yaml"
            ))
        })?
    };
    let Some(map) = cfg.as_object_mut() else {
        return Err(Error::new(
            Category::ClusterState,
            format!("{SYSTEM_NAMESPACE}/{AGENT_CONFIG} config.yaml is not a mapping"),
        ));
    };
    let flags = map.entry("featureFlags").or_insert_with(|| json!([]));
    let has_flag = flags
        .as_array()
        .is_some_and(|f| f.iter().any(|x| x == FEATURE_FLAG));
    let has_mode = map.get("maintenanceMode").and_then(Value::as_str) == Some(MODE);
    if has_flag && has_mode {
        return Ok(None);
    }
    if !has_flag {
        match map.get_mut("featureFlags").and_then(Value::as_array_mut) {
            Some(list) => list.push(json!(FEATURE_FLAG)),
            None => {
                map.insert("featureFlags".into(), json!([FEATURE_FLAG]));
            }
        }
    }
    map.insert("maintenanceMode".into(), json!(MODE));
    serde_saphyr::to_string(&cfg)
        .map(Some)
        .map_err(|e| Error::internal(format!("cannot write the agent config: {e}")))
}

/// The command a plan shows for the drain.
pub fn describe() -> String {
    format!(
        "set maintenanceMode: {MODE} (feature flag {FEATURE_FLAG}) in configmap/{AGENT_CONFIG} -n {SYSTEM_NAMESPACE}, \
         then kubectl rollout restart deployment/{AGENT_DEPLOYMENT} -n {SYSTEM_NAMESPACE}"
    )
}

/// Puts the agent in maintenance and waits up to `timeout` for its restart to finish. No
/// agent (no ConfigMap) means nothing runs on this cluster: reported, not an error.
pub async fn drain(client: &kube::Client, timeout: Duration, dry_run: bool) -> Result<DrainResult> {
    let mut result = DrainResult::nothing_yet(MODE, dry_run);
    let cms = Objects::<ConfigMap>::namespaced(client, SYSTEM_NAMESPACE);
    let cm = cms.get_opt(AGENT_CONFIG).await?;
    let Some(cm) = cm else {
        result.message =
            format!("no NVCA agent ({SYSTEM_NAMESPACE}/{AGENT_CONFIG} absent): nothing to drain");
        return Ok(result);
    };
    let current = cm
        .data
        .as_ref()
        .and_then(|d| d.get("config.yaml"))
        .cloned()
        .unwrap_or_default();
    let Some(updated) = with_maintenance(&current)? else {
        result.message = "the agent is already in maintenance mode".into();
        result.rollout_complete = true;
        return Ok(result);
    };
    result.config_changed = true;
    if dry_run {
        result.message = format!("would {}", describe());
        return Ok(result);
    }
    cms.merge_patch(AGENT_CONFIG, &json!({"data": {"config.yaml": updated}}))
        .await?;
    let deployments = Objects::<Deployment>::namespaced(client, SYSTEM_NAMESPACE);
    let now = crate::base::events::Ts::now().rfc3339();
    let restart = json!({"spec": {"template": {"metadata": {"annotations": {
        "kubectl.kubernetes.io/restartedAt": now
    }}}}});
    match deployments.merge_patch(AGENT_DEPLOYMENT, &restart).await {
        Ok(_) => result.rollout_triggered = true,
        Err(e) if e.category() == Category::NotFound => {
            result.message = format!(
                "maintenance set; deployment/{AGENT_DEPLOYMENT} is absent, nothing to restart"
            );
            result.rollout_complete = true;
            return Ok(result);
        }
        Err(e) => return Err(e),
    }
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let d = deployments.get(AGENT_DEPLOYMENT).await?;
        if rolled_out(&d) {
            result.rollout_complete = true;
            result.message = "maintenance mode on; the agent restarted and is draining".into();
            return Ok(result);
        }
        if tokio::time::Instant::now() >= deadline {
            result.message = format!(
                "maintenance mode on; the agent's restart did not finish within {}s",
                timeout.as_secs()
            );
            return Ok(result);
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

fn rolled_out(d: &Deployment) -> bool {
    let spec = &d.spec;
    let Some(status) = &d.status else {
        return false;
    };
    let want = spec.replicas.unwrap_or(1);
    d.metadata.generation <= status.observed_generation
        && status.updated_replicas.unwrap_or(0) >= want
        && status.ready_replicas.unwrap_or(0) >= want
        && status.replicas.unwrap_or(0) <= want
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maintenance_adds_the_flag_keeps_others_and_is_idempotent() {
        let out = with_maintenance("featureFlags: [LogPosting]\nclusterName: a\n")
            .unwrap()
            .unwrap();
        let v: Value = serde_saphyr::from_str(&out).unwrap();
        assert_eq!(v["featureFlags"], json!(["LogPosting", FEATURE_FLAG]));
        assert_eq!(v["maintenanceMode"], MODE);
        assert_eq!(v["clusterName"], "a");
        assert!(with_maintenance(&out).unwrap().is_none());
        let empty = with_maintenance("").unwrap().unwrap();
        assert!(empty.contains(FEATURE_FLAG));
    }
}
