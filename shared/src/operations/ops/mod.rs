//! Seed 002's control-plane operations as plan-first automations: the service table,
//! rollout restarts with their waits and post-checks, scaling, and health.

pub mod health;
pub mod restart;
pub mod rollout;
pub mod scale;
pub mod services;

pub use services::{Kind, Service, ServiceTable, resolve, services};
