//! Typed clients for the self-hosted NVCF services, on one transport.
//!
//! [`session::Session`] builds a [`client::Client`] from the profile, settings and
//! connection flags; each service module wraps it: [`apikeys`] (admin token issuer and API
//! keys), [`functions`] (functions, versions, deployments, queues), [`invoke`] (HTTP and LLM
//! invocation), [`tasks`] (NVCT), [`registry`] (registry credentials), [`sis`] (cluster registration), [`issuer`] (which control plane signed a token). These types are our
//! own reading of `contracts/`, independent of the simulator's.

pub mod accounts;
pub mod apikeys;
pub mod client;
pub mod cluster_groups;
pub mod credentials;
pub mod endpoints;
pub mod function_ids;
pub mod function_spec;
pub mod functions;
pub mod grpc;
pub mod input;
pub mod invoke;
pub mod issuer;
pub mod llm_config;
pub mod problem;
pub mod registry;
pub mod session;
pub mod sis;
pub mod task_spec;
pub mod tasks;
pub mod view;
pub mod wait;

pub use client::Client;
pub use session::{ConnectArgs, Session};
