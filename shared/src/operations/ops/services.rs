//! The service reference table (seed 002 "Service Reference"), derived from the stack
//! catalog so the names operators act on are the names the installer deploys.

use crate::base::error::{Error, Result};
use crate::base::output::{Report, column_table};
use crate::clients::kube::Objects;
use crate::model::stack::catalog::{Catalog, Plane};
use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Kind {
    Deployment,
    StatefulSet,
}

impl Kind {
    pub fn parse(text: &str) -> Option<Kind> {
        match text.to_ascii_lowercase().as_str() {
            "deployment" | "deployments" | "deploy" => Some(Kind::Deployment),
            "statefulset" | "statefulsets" | "sts" => Some(Kind::StatefulSet),
            _ => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Deployment => "Deployment",
            Kind::StatefulSet => "StatefulSet",
        }
    }
    /// Seed 002's `rollout status --timeout` for this kind.
    pub fn documented_timeout(self) -> std::time::Duration {
        std::time::Duration::from_secs(match self {
            Kind::Deployment => 120,
            Kind::StatefulSet => 300,
        })
    }
}

/// One workload an operator can restart or scale.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Service {
    pub namespace: String,
    /// The operator-facing name; the release name when the catalog gives none.
    pub service: String,
    pub resource: String,
    pub kind: Kind,
    pub release: String,
    pub plane: Plane,
    /// What scaling it to zero takes down (infrastructure StatefulSets only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outage: Option<String>,
}

impl Service {
    /// A workload named on the command line as `KIND/NAME` in `namespace`, not from the catalog.
    pub fn ad_hoc(kind: Kind, name: &str, namespace: &str) -> Service {
        Service {
            namespace: namespace.to_owned(),
            service: name.to_owned(),
            resource: name.to_owned(),
            kind,
            release: String::new(),
            plane: Plane::Control,
            outage: None,
        }
    }

    pub fn reference(&self) -> String {
        format!(
            "{}/{} in {}",
            self.kind.as_str().to_ascii_lowercase(),
            self.resource,
            self.namespace
        )
    }
}

/// Every Deployment and StatefulSet the catalog installs; the named services first, in
/// seed 002's order (catalog order), then the rest.
pub fn services(catalog: &Catalog) -> Vec<Service> {
    let mut all: Vec<(bool, Service)> = Vec::new();
    for r in &catalog.releases {
        for w in &r.workloads {
            let Some(kind) = Kind::parse(&w.kind) else {
                continue;
            };
            all.push((
                w.service.is_some(),
                Service {
                    namespace: r.namespace.clone(),
                    service: w.service.clone().unwrap_or_else(|| r.name.clone()),
                    resource: w.name.clone(),
                    kind,
                    release: r.name.clone(),
                    plane: r.plane,
                    outage: w.outage.clone(),
                },
            ));
        }
    }
    let (named, rest): (Vec<_>, Vec<_>) = all.into_iter().partition(|(n, _)| *n);
    named.into_iter().chain(rest).map(|(_, s)| s).collect()
}

/// Finds a service by resource name, release name or service name (case-insensitive), or
/// takes `KIND/NAME` literally in `namespace`.
pub fn resolve(catalog: &Catalog, wanted: &str, namespace: Option<&str>) -> Result<Service> {
    if let Some((kind, name)) = wanted.split_once('/') {
        let kind = Kind::parse(kind).ok_or_else(|| {
            Error::invalid_input(format!("unknown workload kind {kind:?} in {wanted:?}"))
                .hint("write deployment/NAME or statefulset/NAME")
        })?;
        if name.is_empty() {
            return Err(
                Error::invalid_input(format!("{wanted:?} names no workload"))
                    .hint("write deployment/NAME or statefulset/NAME"),
            );
        }
        if let Some(s) = services(catalog)
            .into_iter()
            .find(|s| s.kind == kind && s.resource == name)
            .filter(|s| namespace.is_none_or(|ns| ns == s.namespace))
        {
            return Ok(s);
        }
        let ns = namespace.ok_or_else(|| {
            Error::usage(format!(
                "{wanted} is not a stack service, so its namespace is needed"
            ))
            .hint("add -n NAMESPACE")
        })?;
        return Ok(Service::ad_hoc(kind, name, ns));
    }
    let lower = wanted.to_ascii_lowercase();
    let all = services(catalog);
    let found: Vec<&Service> = all
        .iter()
        .filter(|s| {
            s.resource == wanted || s.release == wanted || s.service.to_ascii_lowercase() == lower
        })
        .collect();
    match found.as_slice() {
        [one] => {
            let mut s = (*one).clone();
            if let Some(ns) = namespace {
                s.namespace = ns.to_owned();
            }
            Ok(s)
        }
        [] => Err(
            Error::not_found(format!("no stack service is called {wanted:?}")).hint(format!(
                "run `{nvcf_cmd0}` for the names, or write deployment/NAME -n NAMESPACE",
                nvcf_cmd0 = crate::base::plugin::nvcf("ops services")
            )),
        ),
        many => Err(Error::invalid_input(format!(
            "{wanted:?} matches {} workloads: {}",
            many.len(),
            many.iter()
                .map(|s| s.reference())
                .collect::<Vec<_>>()
                .join(", ")
        ))
        .hint("name the resource: deployment/NAME or statefulset/NAME")),
    }
}

/// Every Deployment and StatefulSet in `ns`, named as the catalog names them when it does.
pub async fn in_namespace(
    client: &kube::Client,
    catalog: &Catalog,
    ns: &str,
) -> Result<Vec<Service>> {
    let d = Objects::<Deployment>::namespaced(client, ns)
        .list(&Default::default())
        .await?;
    let s = Objects::<StatefulSet>::namespaced(client, ns)
        .list(&Default::default())
        .await?;
    let named = d
        .into_iter()
        .map(|x| (Kind::Deployment, x.metadata.name))
        .chain(s.into_iter().map(|x| (Kind::StatefulSet, x.metadata.name)));
    let mut out = Vec::new();
    for (kind, name) in named {
        let name = name.unwrap_or_default();
        let wanted = format!("{}/{name}", kind.as_str().to_ascii_lowercase());
        out.push(resolve(catalog, &wanted, Some(ns))?);
    }
    if out.is_empty() {
        return Err(Error::not_found(format!(
            "namespace {ns} has no Deployment or StatefulSet to restart"
        ))
        .hint("check the namespace: kubectl get deployments,statefulsets -n NAMESPACE"));
    }
    Ok(out)
}

/// `ops services`: the reference table.
#[derive(Debug, Serialize)]
pub struct ServiceTable {
    pub services: Vec<Service>,
}

impl Report for ServiceTable {
    fn table(&self, wide: bool) -> String {
        let mut header = vec!["NAMESPACE", "SERVICE", "RESOURCE", "KIND"];
        if wide {
            header.extend(["RELEASE", "PLANE"]);
        }
        let rows = self
            .services
            .iter()
            .map(|s| {
                let mut row = vec![
                    s.namespace.clone(),
                    s.service.clone(),
                    s.resource.clone(),
                    s.kind.as_str().to_owned(),
                ];
                if wide {
                    row.extend([s.release.clone(), s.plane.as_str().to_owned()]);
                }
                row
            })
            .collect();
        column_table(&header, rows)
    }

    fn names(&self) -> Vec<String> {
        self.services
            .iter()
            .map(|s| format!("{}/{}", s.kind.as_str().to_ascii_lowercase(), s.resource))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_starts_with_seed_002s_services_under_their_deployed_names() {
        let all = services(Catalog::embedded());
        let named: Vec<(&str, &str, &str)> = all
            .iter()
            .take(12)
            .map(|s| {
                (
                    s.namespace.as_str(),
                    s.service.as_str(),
                    s.resource.as_str(),
                )
            })
            .collect();
        assert!(
            named.contains(&("ess", "ESS API", "ess-api-deployment")),
            "{named:?}"
        );
        assert!(
            named.contains(&("nvcf", "NVCF API", "nvcf-api")),
            "{named:?}"
        );
        assert!(named.contains(&("vault-system", "OpenBao", "openbao-server")));
        let infra: Vec<&str> = all
            .iter()
            .filter(|s| s.outage.is_some())
            .map(|s| s.resource.as_str())
            .collect();
        assert_eq!(infra, ["nats", "openbao-server", "cassandra"]);
    }

    #[test]
    fn services_resolve_by_any_of_their_names() {
        let c = Catalog::embedded();
        for name in ["nvcf-api", "api", "NVCF API", "deployment/nvcf-api"] {
            let s = resolve(c, name, None).unwrap();
            assert_eq!(
                (s.resource.as_str(), s.namespace.as_str()),
                ("nvcf-api", "nvcf")
            );
        }
        let s = resolve(c, "deployment/web", Some("demo")).unwrap();
        assert_eq!((s.kind, s.namespace.as_str()), (Kind::Deployment, "demo"));
        assert!(resolve(c, "deployment/web", None).is_err());
        assert!(resolve(c, "pod/web", Some("x")).is_err());
        assert!(resolve(c, "no-such", None).is_err());
    }
}
