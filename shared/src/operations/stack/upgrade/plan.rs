//! The plan of `upgrade --to`, always computed from the cluster and shown first: what is
//! installed, the steps to the target, the pre-checks, and the StatefulSets rotated.
//! Everything comes from the cluster (helm's records, the pods' revisions), so the same
//! plan after an interruption starts at the first unfinished step. What it prints and its
//! `phases`/`steps` are the shared [`Plan`] (built in `shape.rs`).

use super::path::{self, Stop};
use super::rotate::{self, Outdated};
use crate::base::error::Result;
use crate::base::output::{Report, column_table};
use crate::base::plan::Plan;
use crate::clients::helm::Helm;
use crate::model::stack::catalog::{Catalog, Release};
use crate::model::stack::inputs::Inputs;
use serde::Serialize;
use std::collections::BTreeMap;

/// One enabled release as helm records it.
#[derive(Debug, Clone, Serialize)]
pub struct Current {
    pub release: String,
    pub namespace: String,
    pub version: String,
    pub status: String,
}

/// A StatefulSet whose pods the upgrade deletes one at a time.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Rotation {
    pub release: String,
    pub namespace: String,
    pub statefulset: String,
    /// `now` for pods an earlier run left outdated, else `after STEP`.
    pub when: String,
    /// Pods on an old revision now (more follow once the chart changes).
    pub outdated_pods: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UpgradePlan {
    pub target: String,
    pub known_versions: Vec<String>,
    pub current: Vec<Current>,
    /// Enabled releases not installed: an upgrade leaves them alone.
    pub not_installed: Vec<String>,
    /// The way there: each required stop, then the target, with the releases it moves.
    pub path: Vec<Stop>,
    pub rotations: Vec<Rotation>,
    pub nothing_to_do: bool,
    /// The run in the shared shape: its phases (as the event stream names them) and
    /// steps, each with its command; `planned` until the run settles them.
    #[serde(flatten)]
    pub plan: Plan,
}

// `UpgradePlan::new` (which builds `plan`) is in shape.rs, beside the shape it builds.

/// The plan to take the cluster's stack to `target`.
pub async fn gather(
    helm: &Helm,
    client: &kube::Client,
    inputs: &Inputs,
    target: &str,
) -> Result<UpgradePlan> {
    let catalog = Catalog::embedded();
    let target = path::require_version(catalog, target)?.to_owned();
    let releases = catalog.enabled_in_order(&inputs.config.as_value())?;
    let (current, not_installed) = installed(helm, &releases).await?;
    let versions: BTreeMap<String, String> = current
        .iter()
        .map(|c| (c.release.clone(), c.version.clone()))
        .collect();
    let steps = path::steps(catalog, &target, &releases, &versions)?;
    let rotations = rotations(client, &releases, &versions, &steps).await?;
    let known = path::known_versions(catalog)
        .into_iter()
        .map(str::to_owned)
        .collect();
    Ok(UpgradePlan::new(
        target,
        known,
        current,
        not_installed,
        steps,
        rotations,
    ))
}

/// Done only when no step is left, no pod is outdated, and no release is failed or
/// pending: a failed upgrade records the new version, and must not read as finished.
pub(super) fn nothing_to_do(current: &[Current], steps: &[Stop], rotations: &[Rotation]) -> bool {
    steps.is_empty() && rotations.is_empty() && current.iter().all(|c| c.status == "deployed")
}

/// The enabled releases helm has a record of (any status), and those it has none of.
async fn installed(
    helm: &Helm,
    releases: &[(&Release, String)],
) -> Result<(Vec<Current>, Vec<String>)> {
    let listed = helm.list(None).await?;
    let mut current = Vec::new();
    let mut missing = Vec::new();
    for (r, ns) in releases {
        match listed
            .iter()
            .find(|l| l.name == r.name && l.namespace == *ns)
        {
            Some(l) => current.push(Current {
                release: r.name.clone(),
                namespace: ns.clone(),
                version: chart_version(&l.chart, &r.chart),
                status: l.status.clone(),
            }),
            None => missing.push(r.name.clone()),
        }
    }
    Ok((current, missing))
}

/// `helm-nvcf-api-1.25.1` -> `1.25.1`.
fn chart_version(listed: &str, chart: &str) -> String {
    listed
        .strip_prefix(chart)
        .and_then(|v| v.strip_prefix('-'))
        .unwrap_or_else(|| listed.rsplit('-').next().unwrap_or(listed))
        .to_owned()
}

async fn rotations(
    client: &kube::Client,
    releases: &[(&Release, String)],
    installed: &BTreeMap<String, String>,
    steps: &[Stop],
) -> Result<Vec<Rotation>> {
    let mut out = Vec::new();
    for (r, ns) in releases {
        if !installed.contains_key(&r.name) {
            continue;
        }
        for w in r.workloads.iter().filter(|w| w.rotated_on_upgrade()) {
            let stale = rotate::outdated(client, ns, &w.name)
                .await?
                .map_or_else(Vec::new, |o: Outdated| o.pods);
            let step = steps
                .iter()
                .rfind(|s| s.releases.iter().any(|m| m.release == r.name));
            let when = match step {
                _ if !stale.is_empty() => "now".to_owned(),
                Some(s) => format!("after {}", s.name),
                None => continue,
            };
            out.push(Rotation {
                release: r.name.clone(),
                namespace: ns.clone(),
                statefulset: w.name.clone(),
                when,
                outdated_pods: stale,
            });
        }
    }
    Ok(out)
}

impl UpgradePlan {
    /// The plan as lines, shown before asking.
    pub fn lines(&self) -> Vec<String> {
        self.plan.table(false).lines().map(str::to_owned).collect()
    }
}

impl Report for UpgradePlan {
    fn table(&self, wide: bool) -> String {
        let mut text = self.plan.table(wide);
        if wide {
            let rows = self
                .current
                .iter()
                .map(|c| {
                    vec![
                        c.release.clone(),
                        c.namespace.clone(),
                        c.version.clone(),
                        c.status.clone(),
                    ]
                })
                .collect();
            text.push('\n');
            text.push_str(&column_table(
                &["release", "namespace", "version", "status"],
                rows,
            ));
        }
        text
    }

    fn names(&self) -> Vec<String> {
        self.path
            .iter()
            .flat_map(|s| s.releases.iter().map(|m| format!("release/{}", m.release)))
            .collect()
    }
}

#[cfg(test)]
#[path = "plan_tests.rs"]
mod tests;
