//! Admission webhooks left behind: a ValidatingWebhookConfiguration or
//! MutatingWebhookConfiguration whose Service was uninstalled with its release. One that
//! fails closed (OpenBao's injector) then refuses every matching request, so no pod can be
//! created anywhere until it is deleted.

use super::from_kube;
use crate::base::error::Result;
use k8s_openapi::api::admissionregistration::v1::{
    MutatingWebhookConfiguration, ValidatingWebhookConfiguration, WebhookClientConfig,
};
use k8s_openapi::api::core::v1::Service;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{Api, DeleteParams, ListParams};
use std::collections::BTreeSet;

/// A webhook configuration whose every Service is gone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dangling {
    pub kind: &'static str,
    pub name: String,
    /// `namespace/name` of the Services it calls.
    pub services: Vec<String>,
    /// Whether some webhook of it fails closed (`failurePolicy: Fail`, the default).
    pub fails_closed: bool,
}

impl Dangling {
    pub fn display(&self) -> String {
        format!("{}/{}", self.kind, self.name)
    }
}

/// `(namespace, name)` of Services.
type Services = Vec<(String, String)>;

/// (kind, name, the Services it calls, fails closed)
type Candidate = (&'static str, String, Services, bool);

fn candidate<'a>(
    kind: &'static str,
    meta: &ObjectMeta,
    hooks: impl Iterator<Item = (&'a WebhookClientConfig, Option<&'a str>)>,
) -> Candidate {
    let (services, closed) = services_of(hooks);
    (
        kind,
        meta.name.clone().unwrap_or_default(),
        services,
        closed,
    )
}

/// The Services `configs` call, with whether each webhook fails closed.
fn services_of<'a>(
    configs: impl Iterator<Item = (&'a WebhookClientConfig, Option<&'a str>)>,
) -> (Services, bool) {
    let mut services = Vec::new();
    let mut fails_closed = false;
    for (client, policy) in configs {
        if let Some(s) = &client.service {
            services.push((s.namespace.clone(), s.name.clone()));
            fails_closed |= policy.unwrap_or("Fail") == "Fail";
        }
    }
    (services, fails_closed)
}

async fn service_exists(client: &kube::Client, ns: &str, name: &str) -> Result<bool> {
    Ok(Api::<Service>::namespaced(client.clone(), ns)
        .get_opt(name)
        .await
        .map_err(|e| from_kube(e, &format!("read Service {ns}/{name}")))?
        .is_some())
}

/// The configurations calling a Service in one of `namespaces` whose Services are all gone.
/// A configuration that calls a URL, or a Service outside `namespaces`, is not ours to judge.
pub async fn dangling(client: &kube::Client, namespaces: &[String]) -> Result<Vec<Dangling>> {
    let ours: BTreeSet<&str> = namespaces.iter().map(String::as_str).collect();
    let mut candidates: Vec<Candidate> = Vec::new();
    let validating = Api::<ValidatingWebhookConfiguration>::all(client.clone())
        .list(&ListParams::default())
        .await
        .map_err(|e| from_kube(e, "list ValidatingWebhookConfigurations"))?;
    candidates.extend(validating.items.iter().map(|c| {
        let hooks = c.webhooks.iter().flatten();
        candidate(
            "ValidatingWebhookConfiguration",
            &c.metadata,
            hooks.map(|w| (&w.client_config, w.failure_policy.as_deref())),
        )
    }));
    let mutating = Api::<MutatingWebhookConfiguration>::all(client.clone())
        .list(&ListParams::default())
        .await
        .map_err(|e| from_kube(e, "list MutatingWebhookConfigurations"))?;
    candidates.extend(mutating.items.iter().map(|c| {
        let hooks = c.webhooks.iter().flatten();
        candidate(
            "MutatingWebhookConfiguration",
            &c.metadata,
            hooks.map(|w| (&w.client_config, w.failure_policy.as_deref())),
        )
    }));
    let mut found = Vec::new();
    for (kind, name, services, fails_closed) in candidates {
        if services.is_empty() || !services.iter().all(|(ns, _)| ours.contains(ns.as_str())) {
            continue;
        }
        let mut any_left = false;
        for (ns, svc) in &services {
            any_left |= service_exists(client, ns, svc).await?;
        }
        if !any_left {
            found.push(Dangling {
                kind,
                name,
                services: services.iter().map(|(n, s)| format!("{n}/{s}")).collect(),
                fails_closed,
            });
        }
    }
    Ok(found)
}

/// Deletes each configuration (already gone is fine).
pub async fn delete(client: &kube::Client, dangling: &[Dangling]) -> Result<()> {
    for d in dangling {
        let deleted = match d.kind {
            "ValidatingWebhookConfiguration" => {
                Api::<ValidatingWebhookConfiguration>::all(client.clone())
                    .delete(&d.name, &DeleteParams::default())
                    .await
                    .map(|_| ())
            }
            _ => Api::<MutatingWebhookConfiguration>::all(client.clone())
                .delete(&d.name, &DeleteParams::default())
                .await
                .map(|_| ()),
        };
        match deleted {
            Ok(()) => {}
            Err(kube::Error::Api(s)) if s.code == 404 => {}
            Err(e) => return Err(from_kube(e, &format!("delete {}", d.display()))),
        }
    }
    Ok(())
}
