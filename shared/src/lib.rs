//! The library behind `kubectl nvcf`, `kubectl nvca` and `helm nvcf`.
//!
//! The binaries parse arguments, call in here and render; everything else lives in the
//! module named for what it holds.

pub mod base_commands;
pub mod checks;
pub mod cli;
pub mod completion;
pub mod context;
pub mod docs;
pub mod error;
pub mod events;
pub mod files;
pub mod helm;
pub mod keys;
pub mod kube;
pub mod logging;
pub mod nvca;
pub mod nvcf;
pub mod openbao;
pub mod ops;
pub mod output;
pub mod planes;
pub mod profile;
pub mod registry;
pub mod secret;
pub mod settings;
pub mod stack;
pub mod target;
pub mod templates;
pub mod tools;
pub mod upstream_cli;
pub mod version;

pub use error::{Error, ExitCode, Result};
