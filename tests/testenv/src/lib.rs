//! A real Kubernetes for tests: etcd, kube-apiserver, kube-controller-manager,
//! kube-scheduler and KWOK fake nodes (one CPU, two GPU) on loopback, built from source
//! by `tests/testenv/build.sh`, plus the real helm 3, helm 4, kubectl and krew.
//!
//! ```no_run
//! let env = nvcf_testenv::Env::shared();
//! let ns = env.fresh_namespace("my-test").unwrap();
//! env.kubectl_run(&["create", "configmap", "c", "-n", &ns]).unwrap();
//! ```

pub mod audit;
mod cmd;
mod env;
mod fixtures;
pub mod lasting;
mod status;
pub mod tools;

pub use audit::{AuditEvent, AuditLog, Mark};
pub use cmd::run;
pub use env::{Env, Fault};
pub use fixtures::fixtures_dir;
pub use lasting::{Lasting, Running};
