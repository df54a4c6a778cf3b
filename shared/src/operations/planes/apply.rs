//! Applying one plane: its namespaces and pull secrets, then its releases with the real
//! helm, wave by wave (releases of a wave in parallel), each gated on its real signals.

use super::gates::{self, Gate};
use super::plan::waves;
use super::progress::Progress;
use super::releases;
use crate::base::error::{Error, Result};
use crate::clients::helm::storage::{self, Recorded, VALUES_LABEL};
use crate::clients::helm::{Helm, UpgradeRequest};
use crate::model::stack::catalog::{Catalog, Release};
use crate::model::stack::config::StackConfig;
use crate::operations::stack::render::Planned;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

/// What happened to one release.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Applied {
    pub name: String,
    pub namespace: String,
    pub wave: u32,
    /// `installed`, `upgraded` or `unchanged`.
    pub action: String,
}

pub struct PlaneApply<'a> {
    pub client: &'a kube::Client,
    pub helm: &'a Helm,
    pub config: &'a StackConfig,
    pub registry_password: Option<&'a str>,
    /// How long a release may take to become ready (the catalog's helm timeout).
    pub timeout: Duration,
}

fn parse_timeout(text: &str) -> Duration {
    text.trim_end_matches('s')
        .parse()
        .map(Duration::from_secs)
        .unwrap_or(Duration::from_secs(900))
}

impl PlaneApply<'_> {
    pub fn default_timeout(catalog: &Catalog) -> Duration {
        parse_timeout(&catalog.helm.timeout)
    }

    pub async fn run(&self, planned: &[Planned<'_>], progress: &Progress) -> Result<Vec<Applied>> {
        let catalog = Catalog::embedded();
        let namespaces: BTreeSet<String> = planned.iter().map(|p| p.namespace.clone()).collect();
        let (ns_docs, secrets) = crate::operations::stack::render::support_docs(
            catalog,
            self.config,
            &namespaces,
            self.registry_password,
        )?;
        crate::clients::kube::apply::apply_docs(self.client, &ns_docs).await?;
        crate::clients::kube::apply::apply_docs(self.client, &secrets).await?;
        progress.note(format!(
            "ensured {} namespace(s){}",
            namespaces.len(),
            if secrets.is_empty() {
                String::new()
            } else {
                format!(" and {} pull secret(s)", secrets.len())
            }
        ));
        let recorded = storage::recorded(self.client).await?;
        let refs: Vec<&Release> = planned.iter().map(|p| p.release).collect();
        let wave_of = waves(&refs);
        let mut by_wave: BTreeMap<u32, Vec<&Planned<'_>>> = BTreeMap::new();
        for p in planned {
            by_wave.entry(wave_of[&p.release.name]).or_default().push(p);
        }
        let total = planned.len() as u32;
        let dir = tempfile::tempdir()
            .map_err(|e| Error::io(format!("cannot create a temporary directory: {e}")))?;
        let mut done = Vec::new();
        for (wave, members) in by_wave {
            let names: Vec<&str> = members.iter().map(|p| p.release.name.as_str()).collect();
            progress.note(format!("wave {wave}: {}", names.join(", ")));
            let mut tasks = tokio::task::JoinSet::new();
            for p in members {
                let job = ReleaseJob {
                    client: self.client.clone(),
                    helm: self.helm.clone(),
                    release: p.release.clone(),
                    namespace: p.namespace.clone(),
                    chart: p.chart.clone(),
                    values: p.values.clone(),
                    recorded: recorded
                        .get(&(p.namespace.clone(), p.release.name.clone()))
                        .cloned(),
                    values_dir: dir.path().to_path_buf(),
                    timeout: self.timeout,
                    timeout_text: format!("{}s", self.timeout.as_secs()),
                };
                tasks.spawn(async move { job.run().await });
            }
            let mut first_error = None;
            while let Some(joined) = tasks.join_next().await {
                match joined.map_err(|e| Error::internal(format!("a release task failed: {e}")))? {
                    Ok(action) => {
                        progress.note(format!("{}: {}", action.0, action.1));
                        done.push(Applied {
                            name: action.0,
                            namespace: action.2,
                            wave,
                            action: action.1,
                        });
                        progress.counted("releases", done.len() as u32, total);
                    }
                    // The wave's other releases finish (helm must not be cut off mid-way).
                    Err(e) => {
                        first_error.get_or_insert(e);
                    }
                }
            }
            if let Some(e) = first_error {
                return Err(e);
            }
        }
        Ok(done)
    }
}

struct ReleaseJob {
    client: kube::Client,
    helm: Helm,
    release: Release,
    namespace: String,
    chart: crate::clients::helm::ChartRef,
    values: serde_json::Value,
    recorded: Option<Recorded>,
    values_dir: std::path::PathBuf,
    timeout: Duration,
    timeout_text: String,
}

impl ReleaseJob {
    /// `(release, action, namespace)`.
    async fn run(self) -> Result<(String, String, String)> {
        let r = &self.release;
        let mut recorded = self.recorded.clone();
        if recorded.as_ref().is_some_and(Recorded::is_pending) {
            recorded = crate::clients::helm::storage::wait_not_pending(
                &self.client,
                &self.namespace,
                &r.name,
                self.timeout,
            )
            .await?;
        }
        let fingerprint = releases::planned_fingerprint(r, &self.chart, &self.values);
        let current = recorded.as_ref().is_some_and(|rec| {
            rec.status == "deployed" && rec.fingerprint.as_deref() == Some(fingerprint.as_str())
        });
        if current {
            match gates::wait_open(&self.client, r, &self.namespace, false, self.timeout).await? {
                Gate::Open => {
                    return Ok((r.name.clone(), "unchanged".into(), self.namespace.clone()));
                }
                Gate::RerunHooks(why) => {
                    tracing::info!(release = %r.name, "upgrading to re-run hooks: {why}");
                }
            }
        }
        gates::wait_crds_not_terminating(&self.client, r, self.timeout).await?;
        let path = self.values_dir.join(format!("{}.yaml", r.name));
        let text = crate::model::stack::values::to_yaml(&self.values)?;
        crate::base::files::write_atomic(&path, text.as_bytes())?;
        let labels = [(VALUES_LABEL.to_owned(), fingerprint)];
        self.helm
            .upgrade_install(&UpgradeRequest {
                release: &r.name,
                namespace: &self.namespace,
                chart: &self.chart,
                version: &r.version,
                values: &[path],
                timeout: &self.timeout_text,
                wait_for_jobs: r.wait_for_jobs(),
                labels: &labels,
                detached: true,
            })
            .await?;
        gates::wait_open(&self.client, r, &self.namespace, true, self.timeout).await?;
        gates::wait_crds_established(&self.client, r, self.timeout).await?;
        let action = if recorded.is_some() {
            "upgraded"
        } else {
            "installed"
        };
        Ok((r.name.clone(), action.into(), self.namespace.clone()))
    }
}
