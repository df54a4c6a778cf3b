//! Simulator settings: where it listens, how fast lifecycles move, the GPU catalogue.

use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::faults::FaultRule;

/// One cluster group (a deployment "backend") and the GPUs it offers.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Backend {
    pub name: String,
    pub gpus: Vec<GpuType>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct GpuType {
    pub name: String,
    pub instance_types: Vec<String>,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum DeployOutcome {
    #[default]
    Active,
    Error,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SimConfig {
    pub domain: String,
    pub bind: IpAddr,
    pub port: u16,
    /// DEPLOYING → ACTIVE/ERROR after this long.
    #[serde(with = "millis")]
    pub deploy_duration: Duration,
    pub deploy_outcome: DeployOutcome,
    /// QUEUED → LAUNCHED, LAUNCHED → RUNNING, RUNNING → COMPLETED.
    #[serde(with = "millis")]
    pub task_queue_duration: Duration,
    #[serde(with = "millis")]
    pub task_launch_duration: Duration,
    #[serde(with = "millis")]
    pub task_run_duration: Duration,
    #[serde(with = "millis")]
    pub admin_token_ttl: Duration,
    /// The admin JWT `sub`; mapped to `account`.
    pub admin_client_id: String,
    pub account: String,
    pub max_functions: usize,
    pub catalogue: Vec<Backend>,
    /// Appends every request as one JSON line.
    pub request_log: Option<PathBuf>,
    /// How many log entries stay in memory for `/_sim/requests`.
    pub request_log_capacity: usize,
    /// Contract violations answer with a distinctive 500 instead of the normal response.
    pub strict_contract: bool,
    pub faults: Vec<FaultRule>,
    /// Refuse the (optional) model-URI allow-list like `MODEL_URI_ALLOWLIST_ENABLED=true`.
    pub model_uri_allowlist: bool,
    /// Serve HTTPS (and gRPC over TLS) with this certificate chain and key, both PEM files.
    pub tls: Option<TlsFiles>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            domain: "nvcf.local".into(),
            bind: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port: 0,
            deploy_duration: Duration::from_millis(500),
            deploy_outcome: DeployOutcome::Active,
            task_queue_duration: Duration::from_millis(300),
            task_launch_duration: Duration::from_millis(300),
            task_run_duration: Duration::from_millis(1000),
            admin_token_ttl: Duration::from_secs(12 * 3600),
            admin_client_id: "ncp".into(),
            account: "nvcf-default".into(),
            max_functions: 10,
            catalogue: vec![Backend {
                name: "nvcf-default".into(),
                gpus: vec![
                    gpu("A10G", &["NCP.GPU.A10G_1x"]),
                    gpu("H100", &["NCP.GPU.H100_1x", "NCP.GPU.H100_2x"]),
                    gpu("L40S", &["NCP.GPU.L40S_1x"]),
                ],
            }],
            request_log: None,
            request_log_capacity: 10_000,
            strict_contract: true,
            faults: Vec::new(),
            model_uri_allowlist: false,
            tls: None,
        }
    }
}

pub fn gpu(name: &str, instance_types: &[&str]) -> GpuType {
    GpuType {
        name: name.into(),
        instance_types: instance_types.iter().map(|s| s.to_string()).collect(),
    }
}

mod millis {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(d.as_millis() as u64)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        Ok(Duration::from_millis(u64::deserialize(d)?))
    }
}
