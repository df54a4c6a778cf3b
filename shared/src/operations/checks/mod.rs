//! The stack's checks: the local machine, the cluster (pre-flight), registry credentials
//! and the installed stack's health. `base::checks` runs them and renders the report.

mod cluster;
mod command;
mod credentials;
mod health;
mod local;

pub use cluster::{Plane, cluster_checks};
pub use command::{CheckRequest, Checked, run_checks};
pub use credentials::{chart_registry_credentials, registry_credentials};
pub use health::stack_health;
pub use local::local_checks;
