//! Every read and write the product makes to Kubernetes goes through here.

pub mod apply;
pub mod delete;
mod error;
mod finalizers;
mod handle;
pub mod identity;
pub mod lease;
pub mod multiplexed;
pub mod objects;
pub mod probes;
pub mod webhooks;
pub mod workloads;

pub use ::kube::Client;
pub use error::from_kube;
pub use finalizers::{
    Declared, FinalizedObject, ObjectRef, finalize_namespace, list_with_finalizers,
    release_deleting, strip_finalizers,
};
pub use handle::Objects;

/// The field manager every server-side apply and patch of ours uses.
pub const FIELD_MANAGER: &str = "nvcf-plugins";
