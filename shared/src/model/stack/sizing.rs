//! Sizes and counts per config profile (`local` on a laptop, `production` on a cluster).

use crate::model::stack::config::ProfileName;
use serde::Serialize;

/// Sizes and counts that differ between a laptop and a production cluster.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Profile {
    pub name: &'static str,
    pub cassandra_replicas: u32,
    pub injector_replicas: u32,
    pub cassandra_preset: &'static str,
    pub storage_size: &'static str,
    pub metrics_storage_size: &'static str,
}

impl Profile {
    /// `local`: one replica and small volumes; `production`: three replicas and the sizes
    /// the docs recommend (stack.yaml inputs: cassandra 3/xlarge, 10Gi, VictoriaMetrics 16Gi).
    pub fn of(name: ProfileName) -> Profile {
        match name {
            ProfileName::Local => Profile {
                name: "local",
                cassandra_replicas: 1,
                injector_replicas: 1,
                cassandra_preset: "large",
                storage_size: "1Gi",
                metrics_storage_size: "2Gi",
            },
            ProfileName::Production => Profile {
                name: "production",
                cassandra_replicas: 3,
                injector_replicas: 2,
                cassandra_preset: "xlarge",
                storage_size: "10Gi",
                metrics_storage_size: "16Gi",
            },
        }
    }
}
