//! The self-hosted stack as data and the operations on it: the release catalog, the
//! user's stack config and profiles, values, the render pipeline, bundles, teardown, and spot upgrades.

pub mod bundle;
pub mod catalog;
pub mod chart_deps;
pub mod config;
pub mod config_rules;
pub mod down;
pub mod dump;
pub mod environment;
pub mod inputs;
pub mod manifest;
pub mod migrate;
pub mod openbao;
pub mod password_refs;
pub mod render;
pub mod status;
pub mod teardown;
pub mod upgrade;
pub mod values;
