//! Spot upgrades, rollbacks and history of one release, as seed 002's runbook does them:
//! back up the current values, always pass the values, wait for the rollout, then check
//! the StatefulSet-specific health the rollout alone does not prove.

use crate::base::error::{Category, Error, Result};
use crate::base::events::{Emitter, Phases};
use crate::base::output::{Report, column_table, key_value_table};
use crate::clients::helm::{Helm, Revision, UpgradeRequest};
use crate::clients::kube::objects;
use crate::model::stack::catalog::{Catalog, Release};
use crate::model::stack::inputs::Inputs;
use crate::model::stack::values::{PasswordView, to_yaml};
use crate::operations::stack::openbao;
use crate::operations::stack::render::ChartSource;
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub mod path;
pub mod plan;
pub mod prechecks;
pub mod rotate;
pub mod run;
pub mod shape;

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
    /// What to do when the check failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
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
        let failed: Vec<&Check> = self.checks.iter().filter(|c| !c.ok).collect();
        if failed.is_empty() {
            return None;
        }
        let what: Vec<String> = failed
            .iter()
            .map(|c| format!("{} ({})", c.what, c.detail))
            .collect();
        let mut fixes: Vec<String> = failed.iter().filter_map(|c| c.fix.clone()).collect();
        fixes.push(format!(
            "inspect with kubectl get pods -n {}; `{helm_nvcf_cmd0} {}` returns to the previous revision",
            self.namespace, self.release, helm_nvcf_cmd0 = crate::base::plugin::helm_nvcf("rollback")));
        Some(
            Error::new(
                Category::ChecksFailed,
                format!(
                    "{} {} rolled out but checks failed: {}",
                    self.release,
                    self.action,
                    what.join(", ")
                ),
            )
            .hint(fixes.join("; ")),
        )
    }
}

/// How a change is followed up: where its progress goes, and how long OpenBao pods get to
/// unseal after a restart (the auto-unseal sidecar polls every 10 s, then pauses 60 s).
#[derive(Clone, Copy)]
pub struct FollowUp<'a> {
    pub events: Option<&'a Emitter>,
    pub unseal_timeout: Duration,
    /// Let helm finish its upgrade if we are interrupted (a stack upgrade's re-run then
    /// finds the release deployed or failed, never pending).
    pub detach_helm: bool,
}

impl Default for FollowUp<'_> {
    fn default() -> Self {
        FollowUp {
            events: None,
            unseal_timeout: Duration::from_secs(90),
            detach_helm: false,
        }
    }
}

fn deployed(revisions: &[Revision]) -> Option<&Revision> {
    revisions.iter().rev().find(|r| r.status == "deployed")
}

/// What `helm nvcf upgrade` or `helm nvcf rollback` changes.
pub enum Change<'a> {
    Upgrade {
        version: &'a str,
        source: Option<&'a str>,
        backup_dir: &'a Path,
    },
    Rollback {
        revision: Option<u32>,
    },
}

/// Either change, as evented phases.
pub async fn change(
    helm: &Helm,
    client: &kube::Client,
    inputs: &Inputs,
    release: &str,
    change: Change<'_>,
    follow: &FollowUp<'_>,
) -> Result<ChangeReport> {
    match change {
        Change::Upgrade {
            version,
            source,
            backup_dir,
        } => {
            upgrade_with(
                helm, client, inputs, release, version, source, backup_dir, follow,
            )
            .await
        }
        Change::Rollback { revision } => {
            rollback_with(helm, client, inputs, release, revision, follow).await
        }
    }
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
    let follow = FollowUp::default();
    upgrade_with(
        helm, client, inputs, release, version, source, backup_dir, &follow,
    )
    .await
}

/// [`upgrade`] as evented phases: resolve, back up the values, upgrade, post-checks.
#[allow(
    clippy::too_many_arguments,
    reason = "the command's inputs, passed through"
)]
pub async fn upgrade_with(
    helm: &Helm,
    client: &kube::Client,
    inputs: &Inputs,
    release: &str,
    version: &str,
    source: Option<&str>,
    backup_dir: &Path,
    follow: &FollowUp<'_>,
) -> Result<ChangeReport> {
    let catalog = Catalog::embedded();
    let (r, namespace) = locate(catalog, inputs, release)?;
    let phases = Phases::new(follow.events, 4);
    let (current, chart) = phases
        .run("resolve", async {
            let revisions = helm.history(release, &namespace).await?;
            let current = deployed(&revisions).cloned().ok_or_else(|| {
                Error::not_found(format!(
                    "release {release} has no deployed revision in {namespace}"
                ))
                .hint(format!(
                    "install the stack first ({helm_nvcf_cmd0}, deploy.sh), then upgrade",
                    helm_nvcf_cmd0 = crate::base::plugin::helm_nvcf("bundle")
                ))
            })?;
            let source = match source {
                Some(s) => ChartSource::parse(s)?,
                None => ChartSource::from_config(&inputs.config)?,
            };
            let chart = source.chart_ref(r, &inputs.config.chart_mirrors);
            if let crate::clients::helm::ChartRef::Path(dir) = &chart {
                check_local_version(dir, version)?;
            }
            Ok((current, chart))
        })
        .await?;
    // The runbook's first step: what is running now, restorable by hand.
    let backup = phases
        .run("backup-values", async {
            let live = helm.get_values(release, &namespace).await?;
            let backup = backup_dir.join(format!(
                "{release}-values-backup-rev{}.yaml",
                current.revision
            ));
            crate::base::files::write_atomic(&backup, to_yaml(&live)?.as_bytes())?;
            Ok(backup)
        })
        .await?;
    phases
        .run("helm-upgrade", async {
            let values = inputs
                .values_input()
                .release_values(r, &PasswordView::Real(&inputs.passwords))?;
            let dir = tempfile::tempdir()
                .map_err(|e| Error::io(format!("cannot create a temporary directory: {e}")))?;
            let values_path = dir.path().join("values.yaml");
            crate::base::files::write_atomic(&values_path, to_yaml(&values)?.as_bytes())?;
            helm.upgrade_install(&UpgradeRequest {
                release,
                namespace: &namespace,
                chart: &chart,
                version,
                values: &[values_path],
                timeout: &catalog.helm.timeout,
                wait_for_jobs: r.wait_for_jobs(),
                labels: &[],
                detached: follow.detach_helm,
            })
            .await
        })
        .await?;
    finish(
        helm,
        client,
        r,
        &namespace,
        "upgrade",
        Some(backup),
        &phases,
        follow,
    )
    .await
}

/// `helm nvcf rollback RELEASE [REVISION]`.
pub async fn rollback(
    helm: &Helm,
    client: &kube::Client,
    inputs: &Inputs,
    release: &str,
    revision: Option<u32>,
) -> Result<ChangeReport> {
    rollback_with(
        helm,
        client,
        inputs,
        release,
        revision,
        &FollowUp::default(),
    )
    .await
}

/// [`rollback`] as evented phases: roll back, post-checks.
pub async fn rollback_with(
    helm: &Helm,
    client: &kube::Client,
    inputs: &Inputs,
    release: &str,
    revision: Option<u32>,
    follow: &FollowUp<'_>,
) -> Result<ChangeReport> {
    let catalog = Catalog::embedded();
    let (r, namespace) = locate(catalog, inputs, release)?;
    let phases = Phases::new(follow.events, 2);
    phases
        .run(
            "helm-rollback",
            helm.rollback(release, &namespace, revision, &catalog.helm.timeout),
        )
        .await?;
    finish(
        helm, client, r, &namespace, "rollback", None, &phases, follow,
    )
    .await
}

fn check_local_version(dir: &Path, version: &str) -> Result<()> {
    let file = dir.join("Chart.yaml");
    let text = std::fs::read_to_string(&file)
        .map_err(|e| crate::base::files::io_error("read", &file, e))?;
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

#[allow(clippy::too_many_arguments, reason = "one report's parts")]
async fn finish(
    helm: &Helm,
    client: &kube::Client,
    release: &Release,
    namespace: &str,
    action: &str,
    values_backup: Option<PathBuf>,
    phases: &Phases<'_>,
    follow: &FollowUp<'_>,
) -> Result<ChangeReport> {
    phases.start("post-checks");
    let outcome = async {
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
        let checks =
            health_checks(client, release, namespace, follow.unseal_timeout, phases).await?;
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
    .await;
    match &outcome {
        Ok(report) => match report.failure() {
            None => {
                phases.done();
                phases.finish(true);
            }
            Some(err) => phases.fail(&err),
        },
        Err(err) => phases.fail(err),
    }
    outcome
}

/// Readiness of the release's Deployments and StatefulSets, OpenBao's seal state, and the
/// migrations Jobs the StatefulSet services depend on (stack.md §9). helm's wait already
/// covered the rollout, but not these.
pub(super) async fn health_checks(
    client: &kube::Client,
    release: &Release,
    ns: &str,
    unseal_timeout: Duration,
    phases: &Phases<'_>,
) -> Result<Vec<Check>> {
    let mut checks = Vec::new();
    let total = u32::try_from(release.workloads.len()).unwrap_or(u32::MAX);
    for (done, w) in (1..).zip(&release.workloads) {
        phases.progress(&format!("{}/{}", w.kind, w.name), done, total);
        let Some((ready, want)) = objects::ready_replicas(client, &w.kind, ns, &w.name).await?
        else {
            continue;
        };
        checks.push(Check {
            what: format!("{}/{} ready", w.kind, w.name),
            ok: ready >= want,
            detail: format!("{ready}/{want} replicas ready"),
            fix: None,
        });
        if w.health == "openbaoUnsealed" {
            // Ready pods may still be sealed: the probe passes them (runbooks §2.3).
            let seal = openbao::wait_unsealed(client, ns, &w.name, unseal_timeout).await?;
            checks.push(Check {
                what: format!("OpenBao {} unsealed", w.name),
                ok: seal.ok(),
                detail: seal.detail(),
                fix: (!seal.ok()).then(|| seal.fix(ns)),
            });
        }
    }
    for job in release
        .hooks
        .iter()
        .filter(|h| h.kind == "Job" && h.name.ends_with("-migrations"))
    {
        let succeeded = objects::job_succeeded(client, ns, &job.name).await?;
        checks.push(Check {
            what: format!("Job/{} complete", job.name),
            ok: succeeded > 0,
            detail: format!("{succeeded} succeeded"),
            fix: None,
        });
    }
    Ok(checks)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn revision(n: u32, status: &str) -> Revision {
        Revision {
            revision: n,
            updated: String::new(),
            status: status.into(),
            chart: format!("helm-nvcf-api-1.{n}.0"),
            app_version: String::new(),
            description: String::new(),
        }
    }

    #[test]
    fn the_deployed_revision_is_the_newest_one_helm_marks_deployed() {
        let history = [
            revision(1, "superseded"),
            revision(2, "deployed"),
            revision(3, "failed"),
        ];
        assert_eq!(deployed(&history).map(|r| r.revision), Some(2));
        assert!(deployed(&[revision(1, "failed")]).is_none());
    }

    #[test]
    fn a_local_chart_must_be_the_version_asked_for() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("Chart.yaml"), "name: api\nversion: 1.4.2\n").unwrap();
        assert!(check_local_version(dir.path(), "1.4.2").is_ok());
        assert!(
            check_local_version(dir.path(), "v1.4.2").is_ok(),
            "a leading v is the same"
        );
        let err = check_local_version(dir.path(), "1.5.0").unwrap_err();
        assert_eq!(err.category(), Category::InvalidInput);
        assert!(
            err.to_string()
                .contains("is version 1.4.2, not the requested 1.5.0"),
            "{err}"
        );
        let missing = check_local_version(&dir.path().join("nope"), "1.0.0").unwrap_err();
        assert_eq!(missing.category(), Category::InputMissing);
    }
}
