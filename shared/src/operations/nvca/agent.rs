//! `kubectl nvca status`: the operator and agent pods with their containers, the
//! NVCFBackend (upstream's `cluster agent status` fields), the registration IDs, and what
//! SIS says of the cluster. SIS is optional: its failure is a note, never an error.

use super::bootstrap::{AGENT_NAMESPACE, AGENT_SELECTOR, OPERATOR_SELECTOR, read_registration_ids};
use super::uninstall::OPERATOR_NAMESPACE;
use crate::base::error::Result;
use crate::base::output::{Report, column_table, key_value_table};
use crate::clients::kube::probes::custom_objects;
use crate::clients::kube::workloads::{self, PodSummary};
use crate::clients::nvcf::sis::Sis;
use serde::Serialize;
use serde_json::Value;

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Gpu {
    pub name: String,
    pub capacity: i64,
    pub available: i64,
    pub allocated: i64,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ControlPlaneView {
    pub available: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cluster_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nvca_version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cluster_status: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nvca_last_connected: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AgentStatus {
    pub namespace: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cluster_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cluster_group_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cluster_name: Option<String>,
    pub nvca_version: String,
    pub agent_status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kubernetes_version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_updated: Option<String>,
    pub gpu: Vec<Gpu>,
    pub operator_pods: Vec<PodSummary>,
    pub agent_pods: Vec<PodSummary>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub control_plane: Option<ControlPlaneView>,
}

/// What status and doctor both read, in one parallel wave.
pub struct Wave {
    pub backends: Result<Vec<kube::api::DynamicObject>>,
    pub ids: Result<Option<super::bootstrap::RegistrationIds>>,
    pub operator_pods: Result<Vec<(k8s_openapi::api::core::v1::Pod, PodSummary)>>,
    pub agent_pods: Result<Vec<(k8s_openapi::api::core::v1::Pod, PodSummary)>>,
}

impl Wave {
    pub async fn read(client: &kube::Client) -> Wave {
        let (backends, ids, operator_pods, agent_pods) = tokio::join!(
            custom_objects(
                client,
                "nvcf.nvidia.io",
                "v1",
                "NVCFBackend",
                "nvcfbackends"
            ),
            read_registration_ids(client),
            workloads::pods(client, OPERATOR_NAMESPACE, OPERATOR_SELECTOR),
            workloads::pods(client, AGENT_NAMESPACE, AGENT_SELECTOR),
        );
        Wave {
            backends,
            ids,
            operator_pods,
            agent_pods,
        }
    }
}

fn text(v: &Value) -> Option<String> {
    v.as_str().filter(|s| !s.is_empty()).map(str::to_owned)
}

/// Reads the cluster in one parallel wave; asks SIS when `sis` (with the account) is given.
pub async fn status(client: &kube::Client, sis: Option<(&Sis<'_>, String)>) -> Result<AgentStatus> {
    let Wave {
        backends,
        ids,
        operator_pods,
        agent_pods,
    } = Wave::read(client).await;
    let backend = backends?
        .into_iter()
        .find(|b| b.metadata.namespace.as_deref() == Some(OPERATOR_NAMESPACE))
        .map(|b| b.data)
        .unwrap_or(Value::Null);
    let ids = ids?.map(|i| i.data).unwrap_or_default();
    let config = &backend["spec"]["clusterConfig"];
    let status = &backend["status"];
    let cluster_id = text(&config["clusterId"])
        .or_else(|| ids.get("clusterId").cloned().filter(|s| !s.is_empty()));
    let cluster_name = text(&config["clusterName"]);
    let gpu = status["gpuUsage"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|g| Gpu {
            name: text(&g["name"]).unwrap_or_default(),
            capacity: g["capacity"].as_i64().unwrap_or(0),
            available: g["available"].as_i64().unwrap_or(0),
            allocated: g["allocated"].as_i64().unwrap_or(0),
        })
        .collect();
    let control_plane = match (sis, &cluster_id) {
        (Some((sis, nca)), Some(id)) => Some(match sis.get(&nca, id).await {
            Ok(c) => ControlPlaneView {
                available: true,
                cluster_name: Some(c.cluster_name),
                nvca_version: c.nvca_version,
                cluster_status: c.status,
                nvca_last_connected: c.nvca_last_connected,
                note: None,
            },
            Err(e) => ControlPlaneView {
                available: false,
                cluster_name: None,
                nvca_version: None,
                cluster_status: None,
                nvca_last_connected: None,
                note: Some(e.message().to_owned()),
            },
        }),
        _ => None,
    };
    Ok(AgentStatus {
        namespace: OPERATOR_NAMESPACE.into(),
        cluster_group_id: text(&config["clusterGroupId"])
            .or_else(|| ids.get("clusterGroupId").cloned().filter(|s| !s.is_empty())),
        cluster_id,
        cluster_name,
        nvca_version: text(&backend["spec"]["version"]).unwrap_or_default(),
        agent_status: text(&status["agentStatus"]).unwrap_or_else(|| "Unknown".into()),
        kubernetes_version: text(&status["kubernetesVersion"]),
        last_updated: text(&status["lastUpdated"]),
        gpu,
        operator_pods: operator_pods?.into_iter().map(|(_, s)| s).collect(),
        agent_pods: agent_pods?.into_iter().map(|(_, s)| s).collect(),
        control_plane,
    })
}

impl Report for AgentStatus {
    fn table(&self, wide: bool) -> String {
        let or_dash = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".into());
        let mut rows = vec![
            (
                "CLUSTER",
                format!(
                    "{} ({})",
                    or_dash(&self.cluster_name),
                    or_dash(&self.cluster_id)
                ),
            ),
            ("GROUP", or_dash(&self.cluster_group_id)),
            ("NVCA VERSION", self.nvca_version.clone()),
            ("AGENT STATUS", self.agent_status.clone()),
            ("KUBERNETES", or_dash(&self.kubernetes_version)),
            ("LAST UPDATED", or_dash(&self.last_updated)),
        ];
        if let Some(cp) = &self.control_plane {
            rows.push((
                "CONTROL PLANE",
                if cp.available {
                    format!(
                        "{} (last connected {})",
                        or_dash(&cp.cluster_status),
                        cp.nvca_last_connected
                            .clone()
                            .unwrap_or_else(|| "never".into())
                    )
                } else {
                    format!("unavailable: {}", or_dash(&cp.note))
                },
            ));
        }
        let mut out = key_value_table(&rows);
        let gpus = self
            .gpu
            .iter()
            .map(|g| {
                vec![
                    g.name.clone(),
                    g.capacity.to_string(),
                    g.allocated.to_string(),
                    g.available.to_string(),
                ]
            })
            .collect();
        out.push_str(&format!(
            "\n{}",
            column_table(&["gpu", "capacity", "allocated", "available"], gpus)
        ));
        let pods = self
            .operator_pods
            .iter()
            .map(|p| (OPERATOR_NAMESPACE, p))
            .chain(self.agent_pods.iter().map(|p| (AGENT_NAMESPACE, p)))
            .map(|(ns, p)| {
                let mut row = vec![format!("{ns}/{}", p.name), p.ready_count(), p.phase.clone()];
                if wide {
                    row.push(
                        p.containers
                            .iter()
                            .map(|c| format!("{}={}", c.name, c.state))
                            .collect::<Vec<_>>()
                            .join(", "),
                    );
                }
                row
            })
            .collect();
        let header: &[&str] = if wide {
            &["pod", "ready", "phase", "containers"]
        } else {
            &["pod", "ready", "phase"]
        };
        out.push_str(&format!("\n{}", column_table(header, pods)));
        out
    }
    fn names(&self) -> Vec<String> {
        self.cluster_name
            .iter()
            .map(|n| format!("nvcfbackend/{n}"))
            .collect()
    }
}
