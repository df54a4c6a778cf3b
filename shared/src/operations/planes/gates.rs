//! The signals that say a release is really up, beyond helm's pod readiness (stack.md §9):
//! its hook Jobs succeeded (OpenBao's initialisation and migrations, Cassandra's
//! initialisation and migrations, the account bootstrap) and its workloads are ready.

use crate::base::error::{Category, Error, Result};
use crate::clients::kube::Objects;
use crate::model::stack::catalog::{Hook, Release};
use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use std::time::{Duration, Instant};

/// What a gate found.
#[derive(Debug, PartialEq, Eq)]
pub enum Gate {
    Open,
    /// A post-upgrade Job is gone (its TTL removed it): an upgrade re-runs it.
    RerunHooks(String),
}

/// The hook Jobs whose success is state others build on: those helm runs after install or
/// upgrade and does not delete on success.
pub(super) fn kept_jobs(release: &Release) -> impl Iterator<Item = &Hook> {
    release.hooks.iter().filter(|h| {
        h.kind == "Job"
            && h.events
                .iter()
                .any(|e| e == "post-install" || e == "post-upgrade")
            && !h
                .delete_policy
                .as_deref()
                .is_some_and(|p| p.contains("hook-succeeded"))
    })
}

pub(super) enum JobState {
    Succeeded,
    Failed(String),
    Running,
    Missing,
}

pub(super) async fn job_state(client: &kube::Client, ns: &str, name: &str) -> Result<JobState> {
    let Some(job) = Objects::<Job>::namespaced(client, ns).get_opt(name).await? else {
        return Ok(JobState::Missing);
    };
    let status = job.status.unwrap_or_default();
    if status.succeeded.unwrap_or(0) > 0 {
        return Ok(JobState::Succeeded);
    }
    let failed = status
        .conditions
        .unwrap_or_default()
        .into_iter()
        .find(|c| c.type_ == "Failed" && c.status == "True");
    Ok(match failed {
        Some(c) => JobState::Failed(c.message.or(c.reason).unwrap_or_else(|| "failed".into())),
        None => JobState::Running,
    })
}

async fn ready(
    client: &kube::Client,
    ns: &str,
    kind: &str,
    name: &str,
) -> Result<Option<(i32, i32)>> {
    Ok(match kind {
        "Deployment" => Objects::<Deployment>::namespaced(client, ns)
            .get_opt(name)
            .await?
            .map(|d| {
                (
                    d.status.and_then(|s| s.ready_replicas).unwrap_or(0),
                    d.spec.replicas.unwrap_or(1),
                )
            }),
        "StatefulSet" => Objects::<StatefulSet>::namespaced(client, ns)
            .get_opt(name)
            .await?
            .map(|s| {
                (
                    s.status.and_then(|s| s.ready_replicas).unwrap_or(0),
                    s.spec.replicas.unwrap_or(1),
                )
            }),
        _ => None,
    })
}

/// The state of one CRD: absent, being deleted, or served (`Established`).
async fn crd_state(client: &kube::Client, name: &str) -> Result<(bool, bool, bool)> {
    let Some(crd) = Objects::<CustomResourceDefinition>::cluster(client)
        .get_opt(name)
        .await?
    else {
        return Ok((false, false, false));
    };
    let terminating = crd.metadata.deletion_timestamp.is_some();
    let established = crd
        .status
        .and_then(|s| s.conditions)
        .unwrap_or_default()
        .iter()
        .any(|c| c.type_ == "Established" && c.status == "True");
    Ok((true, terminating, established))
}

/// Before a release installs: a CRD it ships that a teardown is still deleting (its custom
/// resources' finalizers not yet cleared) must be gone first, or helm's create lands on an
/// object that is about to disappear, and what is installed next finds no CRD.
pub async fn wait_crds_not_terminating(
    client: &kube::Client,
    release: &Release,
    timeout: Duration,
) -> Result<()> {
    let started = Instant::now();
    for crd in &release.crds {
        while crd_state(client, &crd.name).await?.1 {
            if started.elapsed() > timeout {
                return Err(Error::new(
                    Category::ClusterState,
                    format!(
                        "{}: CRD {} is still being deleted after {}s",
                        release.name,
                        crd.name,
                        timeout.as_secs()
                    ),
                )
                .hint(format!(
                    "its custom resources hold finalizers: kubectl get {} -A; a controller that is gone cannot clear them ({} does)",
                    crd.plural,
                    crate::base::plugin::nvca("cleanup")
                )));
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
    Ok(())
}

/// After a release installs: every CRD it ships is served, so releases after it can create
/// their custom resources at once. One the chart did not create (its values turned it off)
/// is not waited for.
pub async fn wait_crds_established(
    client: &kube::Client,
    release: &Release,
    timeout: Duration,
) -> Result<()> {
    let started = Instant::now();
    for crd in &release.crds {
        loop {
            let (exists, terminating, established) = crd_state(client, &crd.name).await?;
            if !exists || (!terminating && established) {
                break;
            }
            if started.elapsed() > timeout {
                return Err(Error::new(
                    Category::Timeout,
                    format!(
                        "{}: CRD {} is not established after {}s",
                        release.name,
                        crd.name,
                        timeout.as_secs()
                    ),
                )
                .hint(format!(
                    "see its conditions: kubectl get crd {} -o yaml",
                    crd.name
                )));
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
    Ok(())
}

/// Waits until the release's Jobs have succeeded and its workloads are ready. `just_applied`
/// says helm has just run the hooks; otherwise a missing post-install-only Job means the
/// state it creates (OpenBao's initialisation) was never made, which no re-run can fix.
pub async fn wait_open(
    client: &kube::Client,
    release: &Release,
    ns: &str,
    just_applied: bool,
    timeout: Duration,
) -> Result<Gate> {
    let started = Instant::now();
    loop {
        let mut waiting_on = Vec::new();
        for hook in kept_jobs(release) {
            match job_state(client, ns, &hook.name).await? {
                JobState::Succeeded => {}
                JobState::Running => waiting_on.push(format!("Job {} to succeed", hook.name)),
                JobState::Failed(why) => {
                    return Err(Error::new(
                        Category::ClusterState,
                        format!("{}: Job {}/{} failed: {why}", release.name, ns, hook.name),
                    )
                    .hint(format!(
                        "read its logs (kubectl logs -n {ns} job/{}), fix the cause, then re-run",
                        hook.name
                    )));
                }
                JobState::Missing if just_applied => {}
                JobState::Missing if hook.events.iter().any(|e| e == "post-upgrade") => {
                    return Ok(Gate::RerunHooks(format!("Job {} is gone", hook.name)));
                }
                JobState::Missing => {
                    return Err(Error::new(
                        Category::ClusterState,
                        format!(
                            "{}: Job {ns}/{} never ran, so what it sets up does not exist",
                            release.name, hook.name
                        ),
                    )
                    .hint(format!(
                        "it runs only on a first install: {} shows what to do for {}",
                        crate::base::plugin::nvcf("repair --dry-run"),
                        release.name
                    )));
                }
            }
        }
        for w in &release.workloads {
            if let Some((have, want)) = ready(client, ns, &w.kind, &w.name).await?
                && have < want
            {
                waiting_on.push(format!("{} {} ({have}/{want} ready)", w.kind, w.name));
            }
        }
        if waiting_on.is_empty() {
            return Ok(Gate::Open);
        }
        if started.elapsed() > timeout {
            return Err(Error::new(
                Category::Timeout,
                format!(
                    "{} is not ready after {}s: waiting on {}",
                    release.name,
                    timeout.as_secs(),
                    waiting_on.join(", ")
                ),
            )
            .hint(format!(
                "kubectl get pods,jobs -n {ns} shows what is stuck; re-run when it is fixed"
            )));
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}
