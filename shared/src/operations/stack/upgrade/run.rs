//! `upgrade --to STACK_VERSION`: the plan first, then (confirmed) the pre-checks, then
//! step by step each release's spot upgrade (values backed up), its OnDelete StatefulSets
//! rotated, and post-checks. A re-run after an interruption plans again from the cluster
//! and continues; a finished upgrade has nothing to do.

use super::plan::{self, UpgradePlan};
use super::rotate::{self, Waits};
use super::shape;
use super::{ChangeReport, Check, FollowUp, health_checks, prechecks, upgrade_with};
use crate::base::confirm::Gate;
use crate::base::env::EnvLookup;
use crate::base::error::{Error, Result};
use crate::base::events::{Emitter, Phases};
use crate::base::output::{Report, note};
use crate::clients::helm::Helm;
use crate::model::stack::catalog::Catalog;
use crate::model::stack::inputs::Inputs;
use serde::Serialize;
use std::path::Path;
use std::sync::atomic::{AtomicU32, Ordering};

pub struct ToRequest<'a> {
    pub inputs: &'a Inputs,
    pub target: &'a str,
    pub source: Option<&'a str>,
    pub backup_dir: &'a Path,
    pub dry_run: bool,
    pub yes: bool,
    pub waits: Waits,
    /// Where the run's phases go (`--json` and the progress display).
    pub events: Option<&'a Emitter>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ToReport {
    /// `planned` (--dry-run), `nothing-to-do` or `upgraded`.
    pub outcome: String,
    pub plan: UpgradePlan,
    pub prechecks: Vec<Check>,
    pub changes: Vec<ChangeReport>,
    /// Pods deleted and back, in order, as `namespace/pod`.
    pub rotated: Vec<String>,
    pub post_checks: Vec<Check>,
}

/// The plan's steps, settled by the run (each with what happened), then the totals.
impl Report for ToReport {
    fn table(&self, wide: bool) -> String {
        let mut text = self.plan.table(wide);
        if self.outcome == "upgraded" {
            let ok = self.post_checks.iter().filter(|c| c.ok).count();
            text.push_str(&format!(
                "\npost-checks: {ok}/{} passed\nstack at {}\n",
                self.post_checks.len(),
                self.plan.target
            ));
        }
        text
    }

    fn names(&self) -> Vec<String> {
        self.plan.names()
    }
}

pub async fn run(
    helm: &Helm,
    client: &kube::Client,
    req: &ToRequest<'_>,
    env: &dyn EnvLookup,
) -> Result<ToReport> {
    if !req.dry_run {
        settle_pending(client, req.waits.ready).await?;
    }
    let plan = plan::gather(helm, client, req.inputs, req.target).await?;
    let mut report = ToReport {
        outcome: "planned".into(),
        plan,
        prechecks: Vec::new(),
        changes: Vec::new(),
        rotated: Vec::new(),
        post_checks: Vec::new(),
    };
    if req.dry_run {
        return Ok(report);
    }
    if report.plan.nothing_to_do {
        report.outcome = "nothing-to-do".into();
        return Ok(report);
    }
    Gate::proceed(format!("upgrade the stack to {}", report.plan.target))
        .showing(report.plan.lines())
        .reviewable()
        .check(req.yes, env)?;
    report.plan.plan.dry_run = false;
    let phases = Phases::new(req.events, phase_count(&report.plan));
    execute(helm, client, req, &mut report, &phases).await?;
    phases.finish(true);
    report.outcome = "upgraded".into();
    Ok(report)
}

/// A run cut off mid `helm upgrade` leaves that helm running to the end (upgrades are
/// detached, so an interrupt never tears one): a re-run lets it finish, up to `within`,
/// before it plans, instead of stopping at the pre-check on a release still pending. One
/// still pending after that (its helm is gone) is for the pre-check to name.
async fn settle_pending(client: &kube::Client, within: std::time::Duration) -> Result<()> {
    let catalog = Catalog::embedded();
    let all = crate::clients::helm::storage::recorded(client).await?;
    for ((ns, name), rec) in &all {
        if !rec.is_pending() || catalog.require(name).is_err() {
            continue;
        }
        note(&format!(
            "waiting for helm to finish {name} -n {ns} ({}, revision {})",
            rec.status, rec.revision
        ));
        match crate::clients::helm::storage::wait_not_pending(client, ns, name, within).await {
            Err(e) if e.category() != crate::base::error::Category::HelmPendingUpgrade => {
                return Err(e);
            }
            _ => {}
        }
    }
    Ok(())
}

/// Pre-checks, each unfinished rotation, then one phase per release upgrade of each step:
/// the plan's phases.
fn phase_count(plan: &UpgradePlan) -> u32 {
    u32::try_from(plan.plan.phases.len()).unwrap_or(u32::MAX)
}

async fn execute(
    helm: &Helm,
    client: &kube::Client,
    req: &ToRequest<'_>,
    report: &mut ToReport,
    phases: &Phases<'_>,
) -> Result<()> {
    let checks = phases
        .run("pre-checks", async {
            let checks = prechecks::run(client, &report.plan, req.waits).await?;
            prechecks::failure(&checks).map_or(Ok(checks), Err)
        })
        .await?;
    report.prechecks = checks;
    shape::settle(&mut report.plan.plan, "pre-checks", &|_| None);
    let pending: Vec<String> = report
        .plan
        .plan
        .phases
        .iter()
        .filter_map(|p| p.phase.strip_prefix("rotate-").map(str::to_owned))
        .collect();
    for release in pending {
        let phase = format!("rotate-{release}");
        phases.start(&phase);
        let from = report.rotated.len();
        let done = rotate_release(client, req, &release, report, phases).await;
        phase_end(phases, done)?;
        settled(report, &phase, from, None);
    }
    let follow = FollowUp {
        events: None,
        unseal_timeout: req.waits.unseal,
        detach_helm: true,
    };
    let steps = report.plan.path.clone();
    let total = steps.len();
    for (i, step) in steps.iter().enumerate() {
        note(&format!("step {}/{total} ({}):", i + 1, step.name));
        for mv in &step.releases {
            note(&format!(
                "  helm upgrade {} -n {}: {} -> {}",
                mv.release, mv.namespace, mv.from, mv.to
            ));
            let phase = shape::upgrade_phase(mv);
            phases.start(&phase);
            let from = report.rotated.len();
            let done = async {
                let change = upgrade_with(
                    helm,
                    client,
                    req.inputs,
                    &mv.release,
                    &mv.to,
                    req.source,
                    req.backup_dir,
                    &follow,
                )
                .await?;
                if let Some(err) = change.failure() {
                    return Err(resume_hint(err));
                }
                report.changes.push(change);
                // A step boundary: the release is upgraded, its pods not yet rotated.
                phases.progress(&format!("release/{}", mv.release), 1, 1);
                rotate_release(client, req, &mv.release, report, phases).await
            }
            .await;
            phase_end(phases, done)?;
            let revision = report.changes.last().map(|c| c.revision);
            settled(report, &phase, from, revision);
        }
    }
    Ok(())
}

/// Settles `phase`'s steps: the release with its new revision, each StatefulSet with the
/// pods rotated since `from`.
fn settled(report: &mut ToReport, phase: &str, from: usize, revision: Option<u32>) {
    let rotated = &report.rotated[from..];
    let pods_of = |sts: &str| -> Vec<String> {
        rotated
            .iter()
            .filter(|p| {
                p.rsplit('/')
                    .next()
                    .is_some_and(|pod| pod.starts_with(&format!("{sts}-")))
            })
            .cloned()
            .collect()
    };
    shape::settle(&mut report.plan.plan, phase, &|s| {
        if s.step.starts_with("release/") {
            revision.map(|r| format!("{} (revision {r})", s.detail))
        } else if let Some(sts) = s.step.strip_prefix("statefulset/") {
            let pods = pods_of(sts);
            (!pods.is_empty()).then(|| format!("rotated {}", pods.join(", ")))
        } else {
            None
        }
    });
}

fn phase_end(phases: &Phases<'_>, done: Result<()>) -> Result<()> {
    match done {
        Ok(()) => {
            phases.done();
            Ok(())
        }
        Err(e) => {
            phases.fail(&e);
            Err(e)
        }
    }
}

/// Rotates `release`'s OnDelete StatefulSets, then checks its workloads again. Each pod
/// back is a step boundary: `phase_progress` with `resource` `pod/NAMESPACE/POD`.
async fn rotate_release(
    client: &kube::Client,
    req: &ToRequest<'_>,
    release: &str,
    report: &mut ToReport,
    phases: &Phases<'_>,
) -> Result<()> {
    let catalog = Catalog::embedded();
    let r = catalog.require(release)?;
    let ns = r.namespace_in(&req.inputs.config.as_value());
    let rotated: Vec<_> = r
        .workloads
        .iter()
        .filter(|w| w.rotated_on_upgrade())
        .collect();
    if rotated.is_empty() {
        return Ok(());
    }
    for w in rotated {
        let total = rotate::outdated(client, &ns, &w.name)
            .await?
            .map_or(0, |o| u32::try_from(o.pods.len()).unwrap_or(u32::MAX));
        let done = AtomicU32::new(0);
        let pods = rotate::rotate(
            client,
            &ns,
            w,
            req.waits,
            &|line| note(&format!("  {line}")),
            &|pod| {
                let n = done.fetch_add(1, Ordering::Relaxed) + 1;
                phases.progress(&format!("pod/{ns}/{pod}"), n, total.max(n));
            },
        )
        .await
        .map_err(resume_hint)?;
        report
            .rotated
            .extend(pods.into_iter().map(|p| format!("{ns}/{p}")));
    }
    let phases = Phases::new(None, 1);
    let checks = health_checks(client, r, &ns, req.waits.unseal, &phases).await?;
    let failed: Vec<String> = checks
        .iter()
        .filter(|c| !c.ok)
        .map(|c| format!("{} ({})", c.what, c.detail))
        .collect();
    report.post_checks.extend(checks);
    if failed.is_empty() {
        Ok(())
    } else {
        Err(resume_hint(Error::new(
            crate::base::error::Category::ChecksFailed,
            format!(
                "{release} rotated but post-checks failed: {}",
                failed.join(", ")
            ),
        )))
    }
}

fn resume_hint(err: Error) -> Error {
    err.hint(
        "after fixing it, run the same upgrade --to again: it plans from the cluster and continues at the first unfinished step",
    )
}
