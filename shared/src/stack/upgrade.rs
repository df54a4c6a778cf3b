//! Spot upgrades, rollbacks and history of one release, as seed 002's runbook does them:
//! back up the current values, always pass the values, wait for the rollout, then check
//! the StatefulSet-specific health the rollout alone does not prove.

use crate::error::{Category, Error, Result};
use crate::helm::{Helm, Revision, UpgradeRequest};
use crate::output::{Report, column_table, key_value_table};
use crate::stack::catalog::{Catalog, Release};
use crate::stack::inputs::Inputs;
use crate::stack::render::ChartSource;
use crate::stack::values::{PasswordView, to_yaml};
use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::batch::v1::Job;
use kube::api::Api;
use serde::Serialize;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Serialize)]
pub struct HistoryReport {
    pub release: String,
    pub namespace: String,
    pub revisions: Vec<Revision>,
}

impl Report for HistoryReport {
    fn table(&self, wide: bool) -> String {
        let mut header = vec!["revision", "updated", "status", "chart", "app version"];
        if wide {
            header.push("description");
        }
        column_table(
            &header,
            self.revisions
                .iter()
                .map(|r| {
                    let mut row = vec![
                        r.revision.to_string(),
                        r.updated.clone(),
                        r.status.clone(),
                        r.chart.clone(),
                        r.app_version.clone(),
                    ];
                    if wide {
                        row.push(r.description.clone());
                    }
                    row
                })
                .collect(),
        )
    }

    fn names(&self) -> Vec<String> {
        self.revisions
            .iter()
            .map(|r| format!("{}/{}", self.release, r.revision))
            .collect()
    }
}

/// The release and namespace a command names, from the catalog and the stack config.
pub fn locate<'c>(
    catalog: &'c Catalog,
    inputs: &Inputs,
    release: &str,
) -> Result<(&'c Release, String)> {
    let r = catalog.require(release)?;
    Ok((r, r.namespace_in(&inputs.config.as_value())))
}

pub async fn history(helm: &Helm, release: &str, namespace: &str) -> Result<HistoryReport> {
    let revisions = helm.history(release, namespace).await?;
    Ok(HistoryReport {
        release: release.to_owned(),
        namespace: namespace.to_owned(),
        revisions,
    })
}

/// One post-rollout check and its result.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    pub what: String,
    pub ok: bool,
    pub detail: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ChangeReport {
    pub release: String,
    pub namespace: String,
    pub action: String,
    pub revision: u32,
    pub chart: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub values_backup: Option<PathBuf>,
    pub checks: Vec<Check>,
}

impl Report for ChangeReport {
    fn table(&self, _wide: bool) -> String {
        let mut rows = vec![
            ("RELEASE", format!("{} -n {}", self.release, self.namespace)),
            ("ACTION", self.action.clone()),
            ("REVISION", self.revision.to_string()),
            ("CHART", self.chart.clone()),
        ];
        if let Some(b) = &self.values_backup {
            rows.push(("VALUES BACKUP", b.display().to_string()));
        }
        for c in &self.checks {
            rows.push((
                if c.ok { "CHECK OK" } else { "CHECK FAILED" },
                format!("{}: {}", c.what, c.detail),
            ));
        }
        key_value_table(&rows)
    }

    fn names(&self) -> Vec<String> {
        vec![format!("release/{}", self.release)]
    }
}

impl ChangeReport {
    pub fn failure(&self) -> Option<Error> {
        let failed: Vec<String> = self
            .checks
            .iter()
            .filter(|c| !c.ok)
            .map(|c| format!("{} ({})", c.what, c.detail))
            .collect();
        (!failed.is_empty()).then(|| {
            Error::new(
                Category::ChecksFailed,
                format!(
                    "{} {} rolled out but checks failed: {}",
                    self.release,
                    self.action,
                    failed.join(", ")
                ),
            )
            .hint(format!(
                "inspect with kubectl get pods -n {}; `helm nvcf rollback {}` returns to the previous revision",
                self.namespace, self.release
            ))
        })
    }
}

fn deployed(revisions: &[Revision]) -> Option<&Revision> {
    revisions.iter().rev().find(|r| r.status == "deployed")
}

/// `helm nvcf upgrade RELEASE --version V`.
pub async fn upgrade(
    helm: &Helm,
    client: &kube::Client,
    inputs: &Inputs,
    release: &str,
    version: &str,
    source: Option<&str>,
    backup_dir: &Path,
) -> Result<ChangeReport> {
    let catalog = Catalog::embedded();
    let (r, namespace) = locate(catalog, inputs, release)?;
    let revisions = helm.history(release, &namespace).await?;
    let current = deployed(&revisions).ok_or_else(|| {
        Error::not_found(format!(
            "release {release} has no deployed revision in {namespace}"
        ))
        .hint("install the stack first (helm nvcf bundle, deploy.sh), then upgrade")
    })?;
    let source = match source {
        Some(s) => ChartSource::parse(s)?,
        None => ChartSource::from_config(&inputs.config)?,
    };
    let chart = source.chart_ref(r);
    if let crate::helm::ChartRef::Path(dir) = &chart {
        check_local_version(dir, version)?;
    }
    // The runbook's first step: what is running now, restorable by hand.
    let live = helm.get_values(release, &namespace).await?;
    let backup = backup_dir.join(format!(
        "{release}-values-backup-rev{}.yaml",
        current.revision
    ));
    crate::files::write_atomic(&backup, to_yaml(&live)?.as_bytes())?;
    let values = inputs
        .values_input()
        .release_values(r, &PasswordView::Real(&inputs.passwords))?;
    let dir = tempfile::tempdir()
        .map_err(|e| Error::io(format!("cannot create a temporary directory: {e}")))?;
    let values_path = dir.path().join("values.yaml");
    crate::files::write_atomic(&values_path, to_yaml(&values)?.as_bytes())?;
    helm.upgrade_install(&UpgradeRequest {
        release,
        namespace: &namespace,
        chart: &chart,
        version,
        values: &[values_path],
        timeout: &catalog.helm.timeout,
        wait_for_jobs: r.wait_for_jobs(),
        labels: &[],
        detached: false,
    })
    .await?;
    finish(helm, client, r, &namespace, "upgrade", Some(backup)).await
}

/// `helm nvcf rollback RELEASE [REVISION]`.
pub async fn rollback(
    helm: &Helm,
    client: &kube::Client,
    inputs: &Inputs,
    release: &str,
    revision: Option<u32>,
) -> Result<ChangeReport> {
    let catalog = Catalog::embedded();
    let (r, namespace) = locate(catalog, inputs, release)?;
    helm.rollback(release, &namespace, revision, &catalog.helm.timeout)
        .await?;
    finish(helm, client, r, &namespace, "rollback", None).await
}

fn check_local_version(dir: &Path, version: &str) -> Result<()> {
    let file = dir.join("Chart.yaml");
    let text =
        std::fs::read_to_string(&file).map_err(|e| crate::files::io_error("read", &file, e))?;
    let chart: serde_json::Value = serde_saphyr::from_str(&text)
        .map_err(|e| Error::invalid_input(format!("{} is not valid YAML: {e}", file.display())))?;
    let found = chart.get("version").and_then(|v| v.as_str()).unwrap_or("");
    if found.trim_start_matches('v') == version.trim_start_matches('v') {
        Ok(())
    } else {
        Err(Error::invalid_input(format!(
            "{} is version {found}, not the requested {version}",
            dir.display()
        ))
        .hint("point --chart-source at a directory holding the requested chart version"))
    }
}

async fn finish(
    helm: &Helm,
    client: &kube::Client,
    release: &Release,
    namespace: &str,
    action: &str,
    values_backup: Option<PathBuf>,
) -> Result<ChangeReport> {
    let revisions = helm.history(&release.name, namespace).await?;
    let now = deployed(&revisions).cloned().ok_or_else(|| {
        Error::new(
            Category::HelmApply,
            format!(
                "{} has no deployed revision after the {action}",
                release.name
            ),
        )
        .hint(format!(
            "helm history {} -n {namespace} shows what happened",
            release.name
        ))
    })?;
    let checks = health_checks(client, release, namespace).await?;
    Ok(ChangeReport {
        release: release.name.clone(),
        namespace: namespace.to_owned(),
        action: action.to_owned(),
        revision: now.revision,
        chart: now.chart,
        values_backup,
        checks,
    })
}

/// Readiness of the release's Deployments and StatefulSets, and the migrations Jobs the
/// StatefulSet services depend on (stack.md §9). helm's wait already covered rollout.
async fn health_checks(client: &kube::Client, release: &Release, ns: &str) -> Result<Vec<Check>> {
    let mut checks = Vec::new();
    for w in &release.workloads {
        let (ready, want) = match w.kind.as_str() {
            "Deployment" => {
                let api: Api<Deployment> = Api::namespaced(client.clone(), ns);
                match api.get_opt(&w.name).await.map_err(|e| {
                    crate::kube::from_kube(e, &format!("read deployment {}", w.name))
                })? {
                    Some(d) => (
                        d.status.and_then(|s| s.ready_replicas).unwrap_or(0),
                        d.spec.replicas.unwrap_or(1),
                    ),
                    None => (0, 1),
                }
            }
            "StatefulSet" => {
                let api: Api<StatefulSet> = Api::namespaced(client.clone(), ns);
                match api.get_opt(&w.name).await.map_err(|e| {
                    crate::kube::from_kube(e, &format!("read statefulset {}", w.name))
                })? {
                    Some(s) => (
                        s.status.map(|s| s.ready_replicas.unwrap_or(0)).unwrap_or(0),
                        s.spec.replicas.unwrap_or(1),
                    ),
                    None => (0, 1),
                }
            }
            _ => continue,
        };
        checks.push(Check {
            what: format!("{}/{} ready", w.kind, w.name),
            ok: ready >= want,
            detail: format!("{ready}/{want} replicas ready"),
        });
    }
    for job in release
        .hooks
        .iter()
        .filter(|h| h.kind == "Job" && h.name.ends_with("-migrations"))
    {
        let api: Api<Job> = Api::namespaced(client.clone(), ns);
        let succeeded = api
            .get_opt(&job.name)
            .await
            .map_err(|e| crate::kube::from_kube(e, &format!("read job {}", job.name)))?
            .and_then(|j| j.status)
            .and_then(|s| s.succeeded)
            .unwrap_or(0);
        checks.push(Check {
            what: format!("Job/{} complete", job.name),
            ok: succeeded > 0,
            detail: format!("{succeeded} succeeded"),
        });
    }
    Ok(checks)
}
