//! The library behind `kubectl nvcf`, `kubectl nvca` and `helm nvcf`.
//!
//! The binaries parse arguments, call in here and render. The modules are layers, each
//! importing only from the layers below it (the `layers` test enforces this):
//!
//! 1. [`base`]: errors, secrets, files, output and progress events, logging, and which
//!    plugin is running: what every other layer speaks.
//! 2. [`model`]: settings, profiles, the target cluster's selection, and the stack: its
//!    catalog of releases, its config and the values rendered from it. Plain data and
//!    rules; no network.
//! 3. [`clients`]: Kubernetes, helm, OpenBao, the NVCF API and container registries.
//! 4. [`operations`]: what the commands do: checks, planes (up/install), the stack's
//!    render, status, down and upgrade, NVCA, ops and keys. Each builds a plan or a report.
//! 5. [`cli`]: the command-line runtime (arguments, exit codes, Ctrl-C) and the commands
//!    every plugin shares (context, completion, docs, version, upstream's command lines).

pub mod base;
pub mod cli;
pub mod clients;
pub mod model;
pub mod operations;

#[cfg(test)]
mod kube_only_test;
#[cfg(test)]
mod layers_test;

pub use base::error::{Error, ExitCode, Result};
