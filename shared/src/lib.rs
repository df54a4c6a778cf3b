//! The library behind `kubectl nvcf`, `kubectl nvca` and `helm nvcf`.
//!
//! The binaries parse arguments, call in here and render; everything else lives in the
//! module named for what it holds.

pub mod error;
pub mod events;
pub mod profile;
pub mod secret;
pub mod settings;
pub mod target;

pub use error::{Error, ExitCode, Result};
