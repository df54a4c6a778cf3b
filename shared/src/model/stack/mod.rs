//! What the self-hosted stack is: the catalog of releases, the config a user edits, its
//! validation and migration, and the per-release values rendered from it. What we do to
//! a running stack lives in `operations::stack`.

pub mod catalog;
pub mod chart_deps;
pub mod config;
pub mod environment;
pub mod inputs;
pub mod manifest;
pub mod migrate;
pub mod password_refs;
pub mod sizing;
pub mod templates;
pub mod value_tree;
pub mod values;
