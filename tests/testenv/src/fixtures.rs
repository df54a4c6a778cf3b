//! Installing the prerequisite fixtures of `tests/fixtures/<name>/`.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::Deserialize;

use crate::env::{Env, script};

/// The directory holding the prerequisite fixtures (`tests/fixtures`).
pub fn fixtures_dir() -> PathBuf {
    script("../fixtures")
}

/// One entry of a fixture's `status.json`.
#[derive(Deserialize)]
struct StatusEntry {
    resource: String,
    namespace: Option<String>,
    name: String,
    status: serde_json::Value,
}

impl Env {
    /// Installs fixture `name` as a cluster that has it would look: CRDs (waiting until
    /// they are Established), objects, and the status their controller would report.
    pub fn install_fixture(&self, name: &str) -> Result<()> {
        self.install_fixture_without_status(name)?;
        let status = fixtures_dir().join(name).join("status.json");
        if status.exists() {
            let entries: Vec<StatusEntry> =
                serde_json::from_str(&std::fs::read_to_string(&status)?)
                    .with_context(|| format!("parse {}", status.display()))?;
            for e in entries {
                self.patch_status(&e.resource, e.namespace.as_deref(), &e.name, &e.status)?;
            }
        }
        Ok(())
    }

    /// Installs fixture `name` but leaves statuses empty, as when its controller is
    /// missing or not ready yet.
    pub fn install_fixture_without_status(&self, name: &str) -> Result<()> {
        let dir = fixtures_dir().join(name);
        anyhow::ensure!(dir.is_dir(), "no fixture {}", dir.display());
        let crds = dir.join("crds.yaml");
        if crds.exists() {
            self.apply(&crds)?;
            let selector = format!("nvcf-testenv/fixture={name}");
            self.kubectl_run(&[
                "wait",
                "--for=condition=Established",
                "crd",
                "-l",
                &selector,
                "--timeout=30s",
            ])?;
        }
        let objects = dir.join("objects.yaml");
        if objects.exists() {
            self.apply(&objects)?;
        }
        Ok(())
    }

    fn apply(&self, file: &Path) -> Result<String> {
        let file = file.to_str().context("fixture path is not UTF-8")?;
        self.kubectl_run(&[
            "apply",
            "--server-side",
            "--field-manager=nvcf-testenv",
            "-f",
            file,
        ])
    }
}
