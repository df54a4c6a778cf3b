//! `kubectl nvcf repair`: a half-failed install put right without "do not re-run helmfile
//! sync". It reads what helm recorded and the Jobs the stack builds on, finds the releases
//! a plain re-run would not fix (a first install that failed, an install or upgrade cut
//! off, a post-install Job that failed or never ran), and clears each one the way that
//! makes the next install run its hooks again. `up` then re-installs just those: healthy
//! releases are unchanged.

use super::gates::{JobState, job_state, kept_jobs};
use crate::base::error::Result;
use crate::base::events::{Emitter, Event, PhaseProgress, Ts};
use crate::base::output::Report;
use crate::clients::helm::Helm;
use crate::clients::helm::storage::{Recorded, recorded};
use crate::model::stack::catalog::{Catalog, Plane, Release};
use crate::model::stack::config::StackConfig;
use serde::Serialize;
use std::collections::BTreeMap;

/// How a release is put right before `up` re-runs it.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    /// `helm uninstall --no-hooks` (persistent volumes and kept CRDs stay), so the install
    /// that follows runs its install hooks again; an upgrade would skip them.
    Reinstall,
    /// `helm rollback` to the last deployed revision, then the upgrade again.
    Rollback,
    /// Delete the failed Job; the upgrade that follows runs it again.
    RerunJob,
    /// Nothing first: the upgrade that follows retries it.
    Upgrade,
    /// Nothing first: missing while the rest of its plane is installed (a repair cut off
    /// between its uninstall and the install that follows); `up` installs it.
    Install,
    /// Not done for you: a reinstall would collide with state its install hook keeps
    /// (OpenBao's unseal keys), and removing that state could lose data.
    ByHand,
}

impl Action {
    fn describe(self) -> &'static str {
        match self {
            Action::Reinstall => "helm uninstall --no-hooks, then install (its hooks run again)",
            Action::Rollback => "helm rollback to the last deployed revision, then upgrade",
            Action::RerunJob => "delete the failed Job, then upgrade (the Job runs again)",
            Action::Upgrade => "upgrade again",
            Action::Install => "install it",
            Action::ByHand => "by hand (see FOUND): a reinstall would collide with state it keeps",
        }
    }
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Finding {
    pub release: String,
    pub namespace: String,
    pub plane: Plane,
    /// What was seen.
    pub problem: String,
    pub action: Action,
    /// The Job a [`Action::RerunJob`] deletes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job: Option<String>,
}

/// What `repair` will do, in install order; empty when there is nothing to repair.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct RepairPlan {
    pub findings: Vec<Finding>,
    /// The command that re-installs them afterwards.
    pub then: String,
    /// Set once the steps ran.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub done: Option<bool>,
}

impl RepairPlan {
    pub fn is_empty(&self) -> bool {
        self.findings.is_empty()
    }

    /// The findings left to a person.
    pub fn by_hand(&self) -> Vec<&Finding> {
        self.findings
            .iter()
            .filter(|f| f.action == Action::ByHand)
            .collect()
    }

    /// The planes whose releases `up` must re-run.
    pub fn planes(&self) -> Vec<Plane> {
        let mut planes: Vec<Plane> = self.findings.iter().map(|f| f.plane).collect();
        planes.sort();
        planes.dedup();
        planes
    }
}

impl Report for RepairPlan {
    fn table(&self, _wide: bool) -> String {
        if self.findings.is_empty() {
            return "nothing to repair: every installed release is deployed and its Jobs succeeded"
                .into();
        }
        let mut table = tabled::builder::Builder::default();
        table.push_record(["RELEASE", "NAMESPACE", "FOUND", "REPAIR"]);
        for f in &self.findings {
            table.push_record([
                f.release.as_str(),
                f.namespace.as_str(),
                f.problem.as_str(),
                f.action.describe(),
            ]);
        }
        let mut text = table
            .build()
            .with(tabled::settings::Style::blank())
            .to_string();
        text.push_str(&format!("\nthen: {}", self.then));
        if self.done == Some(true) {
            text.push_str("\nrepaired");
        }
        text
    }

    fn names(&self) -> Vec<String> {
        self.findings
            .iter()
            .map(|f| format!("release/{}", f.release))
            .collect()
    }
}

/// The enabled releases of `config` in install order, each with its namespace.
pub fn stack_releases<'c>(
    catalog: &'c Catalog,
    config: &StackConfig,
) -> Result<Vec<(&'c Release, String)>> {
    catalog.enabled_in_order(&config.as_value())
}

/// An install hook object that outlives the install (a delete policy with neither
/// `before-hook-creation` nor `hook-succeeded`): OpenBao's unseal-key Secret. A reinstall
/// would create it again and collide.
fn install_state(release: &Release) -> Option<&crate::model::stack::catalog::Hook> {
    release.hooks.iter().find(|h| {
        h.events.iter().any(|e| e == "pre-install")
            && h.delete_policy.as_deref().is_some_and(|p| {
                !p.contains("before-hook-creation") && !p.contains("hook-succeeded")
            })
    })
}

/// What is wrong with one release, and the step for it; a reinstall of a release that
/// keeps install-time state is left to a person, with why.
fn judge(
    release: &Release,
    recorded: &Recorded,
    jobs: &BTreeMap<String, JobState>,
) -> Option<(String, Action, Option<String>)> {
    let (problem, action, job) = judge_state(release, recorded, jobs)?;
    match (action, install_state(release)) {
        (Action::Reinstall, Some(kept)) => Some((
            format!(
                "{problem}; a reinstall would create {} {} again, which holds what the install set up (keys): if the service reports itself initialised there is nothing to repair, else remove that {} by hand, then run repair again",
                kept.kind, kept.name, kept.kind
            ),
            Action::ByHand,
            None,
        )),
        _ => Some((problem, action, job)),
    }
}

/// What is wrong with one release, judged from what helm recorded and its Jobs' states.
fn judge_state(
    release: &Release,
    recorded: &Recorded,
    jobs: &BTreeMap<String, JobState>,
) -> Option<(String, Action, Option<String>)> {
    let at = recorded.revision;
    match recorded.status.as_str() {
        "failed" if at <= 1 => {
            return Some((
                format!(
                    "its first install failed (revision {at}): an upgrade would skip its install hooks"
                ),
                Action::Reinstall,
                None,
            ));
        }
        "failed" => {
            return Some((
                format!("its upgrade to revision {at} failed"),
                Action::Upgrade,
                None,
            ));
        }
        "pending-install" => {
            return Some((
                format!("its install was cut off (pending-install, revision {at})"),
                Action::Reinstall,
                None,
            ));
        }
        // A `helm uninstall` cut off: an upgrade refuses it ("has no deployed releases"),
        // the uninstall run again finishes it.
        "uninstalling" => {
            return Some((
                format!("its uninstall was cut off (uninstalling, revision {at})"),
                Action::Reinstall,
                None,
            ));
        }
        "pending-upgrade" | "pending-rollback" => {
            return Some((
                format!(
                    "its {} was cut off (revision {at})",
                    &recorded.status["pending-".len()..]
                ),
                Action::Rollback,
                None,
            ));
        }
        _ => {}
    }
    for hook in kept_jobs(release) {
        let reruns_on_upgrade = hook.events.iter().any(|e| e == "post-upgrade");
        match jobs.get(&hook.name) {
            Some(JobState::Failed(why)) if reruns_on_upgrade => {
                return Some((
                    format!("Job {} failed: {why}", hook.name),
                    Action::RerunJob,
                    Some(hook.name.clone()),
                ));
            }
            Some(JobState::Failed(why)) => {
                return Some((
                    format!("Job {} failed ({why}) and runs only on install", hook.name),
                    Action::Reinstall,
                    None,
                ));
            }
            Some(JobState::Missing) if !reruns_on_upgrade => {
                return Some((
                    format!(
                        "Job {} never completed (it is gone), so what it sets up may not exist; it runs only on install",
                        hook.name
                    ),
                    Action::Reinstall,
                    None,
                ));
            }
            _ => {}
        }
    }
    None
}

/// Reads helm's records and the kept Jobs of each installed release of `releases`.
pub async fn diagnose(
    client: &kube::Client,
    releases: &[(&Release, String)],
    then: String,
) -> Result<RepairPlan> {
    let all = recorded(client).await?;
    let installed = |r: &Release, ns: &String| all.contains_key(&(ns.clone(), r.name.clone()));
    let plane_installed = |plane: Plane| {
        releases
            .iter()
            .any(|(r, ns)| r.plane == plane && installed(r, ns))
    };
    let mut findings = Vec::new();
    for (release, ns) in releases {
        let Some(rec) = all.get(&(ns.clone(), release.name.clone())) else {
            if plane_installed(release.plane) {
                findings.push(Finding {
                    release: release.name.clone(),
                    namespace: ns.clone(),
                    plane: release.plane,
                    problem: format!(
                        "not installed, while the rest of the {} plane is",
                        release.plane.as_str()
                    ),
                    action: Action::Install,
                    job: None,
                });
            }
            continue;
        };
        let mut jobs = BTreeMap::new();
        if rec.status == "deployed" {
            for hook in kept_jobs(release) {
                jobs.insert(hook.name.clone(), job_state(client, ns, &hook.name).await?);
            }
        }
        if let Some((problem, action, job)) = judge(release, rec, &jobs) {
            findings.push(Finding {
                release: release.name.clone(),
                namespace: ns.clone(),
                plane: release.plane,
                problem,
                action,
                job,
            });
        }
    }
    Ok(RepairPlan {
        findings,
        then,
        done: None,
    })
}

/// The wire name of the step events [`clear`] emits (`phase_progress`, `phaseNum` 0: the
/// repair runs before `up`'s eight phases).
pub const STEP_PHASE: &str = "repair";

/// Runs each finding's first step, in install order. Every step is safe to repeat, so a
/// repair cut off part-way converges when run again. Each step boundary is a
/// `phase_progress` event on `events`: `resource` names the finding's action and release,
/// `done` counts the steps finished (0 before the first).
pub async fn clear(
    plan: &RepairPlan,
    client: &kube::Client,
    helm: &Helm,
    timeout: &str,
    events: Option<&Emitter>,
) -> Result<()> {
    let total = u32::try_from(plan.findings.len()).unwrap_or(u32::MAX);
    let step = |f: &Finding, done: usize| {
        if let Some(events) = events {
            events.emit(Event::PhaseProgress(PhaseProgress {
                ts: Ts::now(),
                phase_num: 0,
                phase: STEP_PHASE.into(),
                resource: format!("{} {}", action_name(f.action), f.release),
                done: u32::try_from(done).unwrap_or(u32::MAX),
                total,
                context: None,
            }));
        }
    };
    for (i, f) in plan.findings.iter().enumerate() {
        step(f, i);
        match f.action {
            Action::Reinstall => {
                helm.uninstall_without_hooks(&f.release, &f.namespace, timeout)
                    .await
                    .map_err(|e| {
                        e.hint(format!(
                            "uninstall it by hand: helm uninstall {} -n {} --no-hooks, then re-run",
                            f.release, f.namespace
                        ))
                    })?;
            }
            Action::Rollback => {
                helm.rollback(&f.release, &f.namespace, None, timeout)
                    .await?;
            }
            Action::RerunJob => {
                let Some(job) = &f.job else { continue };
                crate::clients::kube::delete::delete_job(client, &f.namespace, job).await?;
            }
            Action::Upgrade | Action::Install | Action::ByHand => {}
        }
        step(f, i + 1);
    }
    Ok(())
}

/// The action's wire name, as the plan's JSON spells it.
fn action_name(action: Action) -> String {
    serde_json::to_value(action)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn release(name: &str) -> &'static Release {
        Catalog::embedded()
            .releases
            .iter()
            .find(|r| r.name == name)
            .unwrap()
    }

    fn rec(status: &str, revision: u32) -> Recorded {
        Recorded {
            revision,
            status: status.into(),
            fingerprint: None,
        }
    }

    #[test]
    fn each_broken_state_gets_the_step_that_lets_its_hooks_run_again() {
        let none = BTreeMap::new();
        let bao = release("openbao-server");
        let action = |r: &Release, rec: Recorded, jobs: &BTreeMap<String, JobState>| {
            judge(r, &rec, jobs).map(|(_, a, _)| a)
        };
        assert_eq!(action(bao, rec("deployed", 1), &none), None);
        // OpenBao's unseal-key Secret outlives its install hook: never reinstalled over.
        assert_eq!(action(bao, rec("failed", 1), &none), Some(Action::ByHand));
        assert_eq!(action(bao, rec("failed", 3), &none), Some(Action::Upgrade));
        assert_eq!(
            action(bao, rec("pending-install", 1), &none),
            Some(Action::ByHand)
        );
        assert_eq!(
            action(bao, rec("pending-upgrade", 2), &none),
            Some(Action::Rollback)
        );
        // A release without install-time state is reinstalled.
        let notary = release("notary-service");
        assert_eq!(
            action(notary, rec("failed", 1), &none),
            Some(Action::Reinstall)
        );
        assert_eq!(
            action(notary, rec("pending-install", 1), &none),
            Some(Action::Reinstall)
        );
        assert_eq!(
            action(notary, rec("uninstalling", 2), &none),
            Some(Action::Reinstall)
        );

        // OpenBao's initialisation runs only on install, and gone or failed it is a
        // person's call, named with the Secret a reinstall would collide with.
        let gone = BTreeMap::from([(
            "openbao-server-initialize-cluster".to_owned(),
            JobState::Missing,
        )]);
        let (problem, act, _) = judge(bao, &rec("deployed", 1), &gone).unwrap();
        assert_eq!(act, Action::ByHand);
        assert!(
            problem.contains("Secret openbao-server-unseal"),
            "{problem}"
        );
        let failed = BTreeMap::from([(
            "openbao-server-initialize-cluster".to_owned(),
            JobState::Failed("BackoffLimitExceeded".into()),
        )]);
        assert_eq!(
            action(bao, rec("deployed", 1), &failed),
            Some(Action::ByHand)
        );

        // Cassandra's migrations run on every upgrade: delete the failed Job, upgrade.
        let cassandra = release("cassandra");
        let migration = BTreeMap::from([
            (
                "cassandra-initialize-cluster".to_owned(),
                JobState::Succeeded,
            ),
            (
                "cassandra-migrations".to_owned(),
                JobState::Failed("DeadlineExceeded".into()),
            ),
        ]);
        let (problem, act, job) = judge(cassandra, &rec("deployed", 2), &migration).unwrap();
        assert_eq!(act, Action::RerunJob);
        assert_eq!(job.as_deref(), Some("cassandra-migrations"));
        assert!(problem.contains("DeadlineExceeded"), "{problem}");
        // A post-upgrade Job that is gone is re-run by `up` on its own.
        let gone = BTreeMap::from([("cassandra-migrations".to_owned(), JobState::Missing)]);
        assert_eq!(action(cassandra, rec("deployed", 2), &gone), None);
    }
}
