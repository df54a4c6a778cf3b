//! `ops restart`: rollout restart, wait with seed 002's timeouts, then the post-checks the
//! runbooks ask for (quorum kept, OpenBao unsealed on every pod).

use super::rollout::{self, Waited};
use super::services::{Kind, Service};
use crate::base::error::{Category, Error, Result};
use crate::base::plan::{Plan, StepState};
use crate::clients::kube::Objects;
use crate::clients::openbao::{self, OpenBao};
use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::Pod;
use kube::api::ListParams;
use std::time::{Duration, Instant};

/// How long a restarted OpenBao pod may take to unseal: the auto-unseal sidecar polls every
/// 10 s and pauses 60 s after each unseal (runbooks.md §2.3), plus margin.
pub const UNSEAL_WAIT: Duration = Duration::from_secs(120);

#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    pub plan_only: bool,
    /// Overrides the documented per-kind timeout.
    pub timeout: Option<Duration>,
}

fn timeout_of(svc: &Service, opts: Options) -> Duration {
    opts.timeout
        .unwrap_or_else(|| svc.kind.documented_timeout())
}

/// Restarts `targets`: Deployments together, then each StatefulSet alone, in the given order,
/// so at most one clustered service is rolling at a time.
pub async fn restart(client: &kube::Client, targets: &[Service], opts: Options) -> Result<Plan> {
    let names: Vec<String> = targets.iter().map(Service::reference).collect();
    let mut report = Plan::new(format!("restart {}", names.join(", ")), opts.plan_only);
    // Every target must exist before anything is touched.
    for svc in targets {
        rollout::state(client, svc).await?;
    }
    let deployments: Vec<&Service> = targets
        .iter()
        .filter(|s| s.kind == Kind::Deployment)
        .collect();
    let statefulsets: Vec<&Service> = targets
        .iter()
        .filter(|s| s.kind == Kind::StatefulSet)
        .collect();
    let at = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .map_err(|e| Error::internal(format!("format the restart time: {e}")))?;

    for svc in &deployments {
        if !opts.plan_only {
            rollout::restart(client, svc, &at).await?;
        }
        report.step(
            format!("restart {}", svc.reference()),
            format!("set pod-template annotation {}={at}", rollout::RESTARTED_AT),
        );
    }
    for svc in &deployments {
        let limit = timeout_of(svc, opts);
        if opts.plan_only {
            report.step(
                format!("wait for {}", svc.reference()),
                format!("new pods available, up to {}s", limit.as_secs()),
            );
            continue;
        }
        let waited = rollout::wait(client, svc, limit).await?;
        report.push(
            format!("wait for {}", svc.reference()),
            StepState::Verified,
            waited_detail(&waited),
        );
    }
    for svc in &statefulsets {
        let limit = timeout_of(svc, opts);
        if opts.plan_only {
            report.step(
                format!("restart {}", svc.reference()),
                format!(
                    "pods replaced one at a time, highest ordinal first; wait up to {}s",
                    limit.as_secs()
                ),
            );
        } else {
            rollout::restart(client, svc, &at).await?;
            report.step(
                format!("restart {}", svc.reference()),
                format!("set pod-template annotation {}={at}", rollout::RESTARTED_AT),
            );
        }
        let waited = if opts.plan_only {
            None
        } else {
            let w = rollout::wait(client, svc, limit).await?;
            report.push(
                format!("wait for {}", svc.reference()),
                StepState::Verified,
                waited_detail(&w),
            );
            Some(w)
        };
        quorum_check(&mut report, svc, waited.as_ref())?;
        if svc.resource == openbao::SERVICE {
            unseal_check(client, &mut report, svc).await?;
        }
    }
    Ok(report)
}

fn waited_detail(w: &Waited) -> String {
    format!("rolled out in {}s: {}", w.seconds, w.state.summary())
}

/// A clustered StatefulSet keeps quorum while a majority stays ready.
fn quorum_check(report: &mut Plan, svc: &Service, waited: Option<&Waited>) -> Result<()> {
    let title = format!("quorum kept by {}", svc.reference());
    let Some(w) = waited else {
        report.step(title, "a majority of replicas stays ready throughout");
        return Ok(());
    };
    let desired = w.state.desired;
    if desired < 3 {
        report.push(
            title,
            StepState::Skipped,
            format!("{desired} replica(s): no quorum to keep"),
        );
        return Ok(());
    }
    let majority = desired / 2 + 1;
    if w.min_ready < majority {
        return Err(Error::new(
            Category::ClusterState,
            format!(
                "{} lost quorum during the restart: only {} of {desired} replicas were ready at one point",
                svc.reference(),
                w.min_ready
            ),
        )
        .hint(format!("check the cluster's own health now: {nvcf_cmd0}; and the pods: kubectl get pods -n {}", svc.namespace, nvcf_cmd0 = crate::base::plugin::nvcf("ops health"))));
    }
    report.push(
        title,
        StepState::Verified,
        format!("ready replicas never below {} of {desired}", w.min_ready),
    );
    Ok(())
}

/// Every OpenBao pod must report `sealed: false`: Ready alone does not prove it (§2.3).
async fn unseal_check(client: &kube::Client, report: &mut Plan, svc: &Service) -> Result<()> {
    let title = format!("every pod of {} unsealed", svc.reference());
    if report.dry_run {
        report.step(
            title,
            format!(
                "sys/seal-status per pod through the API server pod proxy, up to {}s each",
                UNSEAL_WAIT.as_secs()
            ),
        );
        return Ok(());
    }
    let pods = pods_of(client, svc).await?;
    let bao = OpenBao::new(client.clone());
    let mut seen = Vec::new();
    for pod in &pods {
        let started = Instant::now();
        loop {
            match bao.seal_status_of_pod(pod).await {
                Ok(s) if !s.sealed && s.initialized => {
                    seen.push(format!("{pod} unsealed ({})", s.version));
                    break;
                }
                Ok(_) | Err(_) if started.elapsed() < UNSEAL_WAIT => {
                    tokio::time::sleep(Duration::from_secs(2)).await;
                }
                Ok(s) => {
                    return Err(Error::new(
                        Category::ClusterState,
                        format!("OpenBao pod {pod} is still {} {}s after the restart", if s.initialized { "sealed" } else { "uninitialized" }, UNSEAL_WAIT.as_secs()),
                    )
                    .hint(format!("check its auto-unseal sidecar: kubectl logs -n {} {pod} -c auto-unseal-sidecar", svc.namespace)));
                }
                Err(e) => return Err(e),
            }
        }
    }
    report.push(title, StepState::Verified, seen.join(", "));
    Ok(())
}

/// The pods a StatefulSet owns, by its own selector (chart labels differ from names, §2.6).
pub async fn pods_of(client: &kube::Client, svc: &Service) -> Result<Vec<String>> {
    let sts = Objects::<StatefulSet>::namespaced(client, &svc.namespace)
        .get(&svc.resource)
        .await?;
    let selector = sts
        .spec
        .selector
        .match_labels
        .unwrap_or_default()
        .into_iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",");
    let pods = Objects::<Pod>::namespaced(client, &svc.namespace)
        .list(&ListParams::default().labels(&selector))
        .await?;
    let mut names: Vec<String> = pods.into_iter().filter_map(|p| p.metadata.name).collect();
    names.sort();
    Ok(names)
}
