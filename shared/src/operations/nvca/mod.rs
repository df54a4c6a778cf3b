//! The NVCA agent side of a compute plane.

pub mod agent;
pub mod backend;
pub mod bootstrap;
pub mod cert_expiry;
pub mod cleanup;
pub mod credential_cache;
pub mod deregister;
pub mod doctor;
pub mod functions;
pub mod kill;
pub mod maintenance;
pub mod nats;
pub mod orphans;
pub mod registration;
pub mod uncordon;
pub mod uninstall;
pub mod validate;
pub mod validate_deployment;
pub mod values;

/// Namespaces the NVCA operator and agent own (seed 001's ordered uninstall).
pub const NAMESPACES: [&str; 4] = [
    "nvca-operator",
    "nvca-system",
    "nvcf-backend",
    "nvca-modelcache-init",
];

/// Finalizers the operator and agent put on their objects (stack.md, "Finalizers").
pub const FINALIZERS: [&str; 4] = [
    "nvca-operator.finalizers.nvidia.io",
    "nvca.nvcf.nvidia.io/storage-request-finalizer",
    "nvca.finalizers.nvidia.io",
    "nvca.nvcf.nvidia.io/operator-cleanup",
];
