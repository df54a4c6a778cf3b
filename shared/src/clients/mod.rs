//! The systems we talk to: the Kubernetes API server (`kube`, the only way to it), helm,
//! OpenBao (through the API server's proxy), the NVCF control-plane API and container
//! registries, plus finding the external tools on PATH.

pub mod helm;
pub mod kube;
pub mod nvcf;
pub mod openbao;
pub mod registry;
pub mod tools;
