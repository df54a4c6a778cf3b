//! `ops scale`: the `/scale` subresource, then a wait. Scaling an infrastructure
//! StatefulSet to zero takes the whole control plane down, so it needs the operator to type
//! the workload's name (seed 002's warning, made enforceable).

use super::rollout;
use super::services::{Kind, Service};
use crate::base::confirm::{Consent, Gate};
use crate::base::error::{Category, Error, Result};
use crate::base::plan::{Plan, StepState};
use crate::clients::kube::Objects;
use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::autoscaling::v1::{HorizontalPodAutoscaler, Scale};
use std::time::{Duration, Instant};

async fn get_scale(client: &kube::Client, svc: &Service) -> Result<Scale> {
    match svc.kind {
        Kind::Deployment => {
            Objects::<Deployment>::namespaced(client, &svc.namespace)
                .get_scale(&svc.resource)
                .await
        }
        Kind::StatefulSet => {
            Objects::<StatefulSet>::namespaced(client, &svc.namespace)
                .get_scale(&svc.resource)
                .await
        }
    }
}

async fn set_scale(client: &kube::Client, svc: &Service, replicas: i32) -> Result<()> {
    let patch = serde_json::json!({"spec": {"replicas": replicas}});
    match svc.kind {
        Kind::Deployment => {
            Objects::<Deployment>::namespaced(client, &svc.namespace)
                .patch_scale(&svc.resource, &patch)
                .await
        }
        Kind::StatefulSet => {
            Objects::<StatefulSet>::namespaced(client, &svc.namespace)
                .patch_scale(&svc.resource, &patch)
                .await
        }
    }
    .map(drop)
}

/// An HPA aimed at the workload would undo a manual scale (runbooks.md §2.7).
async fn autoscaler_of(client: &kube::Client, svc: &Service) -> Result<Option<String>> {
    let list = Objects::<HorizontalPodAutoscaler>::namespaced(client, &svc.namespace)
        .list(&Default::default())
        .await?;
    Ok(list.into_iter().find_map(|h| {
        let target = h.spec.scale_target_ref.clone();
        (target.kind == svc.kind.as_str() && target.name == svc.resource)
            .then(|| h.metadata.name.unwrap_or_default())
    }))
}

pub fn outage_message(svc: &Service, outage: &str) -> String {
    format!(
        "scaling {} to 0 causes a full control-plane outage: {outage}",
        svc.reference()
    )
}

pub async fn scale(
    client: &kube::Client,
    svc: &Service,
    replicas: i32,
    plan_only: bool,
    timeout: Option<Duration>,
    outage_confirmed_by: Option<String>,
    consent: &mut Consent,
) -> Result<Plan> {
    if replicas < 0 {
        return Err(
            Error::invalid_input(format!("--replicas {replicas} is negative"))
                .hint("pass 0 or more"),
        );
    }
    let current = get_scale(client, svc).await?;
    let from = current.spec.and_then(|s| s.replicas).unwrap_or(0);
    let mut report = Plan::new(
        format!("scale {} from {from} to {replicas}", svc.reference()),
        plan_only,
    );
    let outage = svc.outage.as_deref().filter(|_| replicas == 0);
    if let Some(what) = outage {
        report.note(outage_message(svc, what));
        if !plan_only {
            Gate::type_name(format!("scale {} to 0", svc.reference()), &svc.resource)
                .name_flag("--confirm-outage", outage_confirmed_by)
                .showing([outage_message(svc, what)])
                .reviewable()
                .confirm(consent)?;
            report.push(
                format!("confirm the outage of {}", svc.reference()),
                StepState::Done,
                "the workload name was typed",
            );
        }
    }
    if let Some(hpa) = autoscaler_of(client, svc).await? {
        report.note(format!(
            "HorizontalPodAutoscaler {hpa} targets {} and will move the replica count back",
            svc.reference()
        ));
    }
    if !plan_only {
        set_scale(client, svc, replicas).await?;
    }
    report.step(
        format!("scale {}", svc.reference()),
        format!("spec.replicas {from} -> {replicas} through the scale subresource"),
    );
    let limit = timeout.unwrap_or_else(|| svc.kind.documented_timeout());
    if plan_only {
        report.step(
            format!("wait for {}", svc.reference()),
            format!("{replicas} replica(s) ready, up to {}s", limit.as_secs()),
        );
    } else if replicas == 0 {
        let started = Instant::now();
        loop {
            let st = rollout::state(client, svc).await?;
            if st.current == 0 {
                report.push(
                    format!("wait for {}", svc.reference()),
                    StepState::Verified,
                    format!("no pods left after {:.1}s", started.elapsed().as_secs_f64()),
                );
                break;
            }
            if started.elapsed() >= limit {
                return Err(Error::new(
                    Category::Timeout,
                    format!(
                        "{} still has {} pod(s) {}s after scaling to 0",
                        svc.reference(),
                        st.current,
                        limit.as_secs()
                    ),
                )
                .hint(format!(
                    "look for pods stuck terminating: kubectl get pods -n {}",
                    svc.namespace
                )));
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    } else {
        let w = rollout::wait(client, svc, limit).await?;
        report.push(
            format!("wait for {}", svc.reference()),
            StepState::Verified,
            format!("{}s: {}", w.seconds, w.state.summary()),
        );
    }
    if from != replicas {
        report.note(format!(
            "to go back: {nvcf_cmd0} {}/{} -n {} --replicas {from}",
            svc.kind.as_str().to_ascii_lowercase(),
            svc.resource,
            svc.namespace,
            nvcf_cmd0 = crate::base::plugin::nvcf("ops scale")
        ));
    }
    Ok(report)
}
