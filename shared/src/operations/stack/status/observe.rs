//! What `status` reads from a cluster: one list per kind, all in one parallel wave, kept as
//! a store that the same kinds' watches keep current.

use crate::base::error::{Error, ErrorReport, Result};
use crate::model::stack::catalog::{Catalog, Plane};
use futures_util::future::join_all;
use kube::api::{Api, ApiResource, DynamicObject, ListParams};
use kube::core::{ObjectMeta, PartialObjectMeta, TypeMeta};
use std::collections::BTreeMap;

/// One kind read from one cluster, cluster-wide (field and label selectors narrow it).
#[derive(Debug, Clone)]
pub struct Source {
    /// The key the store files its objects under (`Deployment`, `helm`, `Event`, …).
    pub key: String,
    pub resource: ApiResource,
    pub label_selector: Option<String>,
    pub field_selector: Option<String>,
    /// Metadata only: helm release Secrets carry their state in labels, and their data is
    /// the whole gzipped release, which status has no use for.
    pub metadata_only: bool,
}

impl Source {
    fn new(key: &str, group: &str, version: &str, kind: &str, plural: &str) -> Source {
        let api_version = if group.is_empty() {
            version.to_owned()
        } else {
            format!("{group}/{version}")
        };
        Source {
            key: key.to_owned(),
            resource: ApiResource {
                group: group.into(),
                version: version.into(),
                api_version,
                kind: kind.into(),
                plural: plural.into(),
            },
            label_selector: None,
            field_selector: None,
            metadata_only: false,
        }
    }

    fn labels(mut self, selector: &str) -> Source {
        self.label_selector = Some(selector.to_owned());
        self
    }

    fn fields(mut self, selector: &str) -> Source {
        self.field_selector = Some(selector.to_owned());
        self
    }

    pub fn api(&self, client: &kube::Client) -> Api<DynamicObject> {
        Api::all_with(client.clone(), &self.resource)
    }

    pub fn list_params(&self) -> ListParams {
        let mut lp = ListParams::default();
        if let Some(l) = &self.label_selector {
            lp = lp.labels(l);
        }
        if let Some(f) = &self.field_selector {
            lp = lp.fields(f);
        }
        lp
    }

    /// `kubectl get` arguments reading the same objects (for plans and the benchmark).
    pub fn kubectl_args(&self) -> Vec<String> {
        let what = if self.resource.group.is_empty() {
            self.resource.plural.clone()
        } else {
            format!("{}.{}", self.resource.plural, self.resource.group)
        };
        let mut args = vec!["get".to_owned(), what, "-A".to_owned()];
        if let Some(l) = &self.label_selector {
            args.extend(["-l".to_owned(), l.clone()]);
        }
        if let Some(f) = &self.field_selector {
            args.push(format!("--field-selector={f}"));
        }
        args
    }
}

pub const HELM: &str = "helm";
pub const EVENT: &str = "Event";
pub const BACKEND: &str = "NVCFBackend";
pub const REGISTRATION: &str = "registration";
/// The ConfigMap the NVCA operator's bootstrap writes the cluster's ids into (seed 001).
pub const REGISTRATION_CONFIGMAP: (&str, &str) = ("nvca-operator", "nvca-cluster-registration");

/// The API of a kind the catalog names as a workload, from the catalog's own CRDs or the
/// few built-in and Gateway API kinds it uses.
pub fn resource_of(catalog: &Catalog, kind: &str) -> Option<ApiResource> {
    let fixed = |group: &str, version: &str, plural: &str| {
        Source::new(kind, group, version, kind, plural).resource
    };
    match kind {
        "Deployment" => return Some(fixed("apps", "v1", "deployments")),
        "StatefulSet" => return Some(fixed("apps", "v1", "statefulsets")),
        "HTTPRoute" => return Some(fixed("gateway.networking.k8s.io", "v1", "httproutes")),
        "TCPRoute" => return Some(fixed("gateway.networking.k8s.io", "v1alpha2", "tcproutes")),
        "ClusterIssuer" => return Some(fixed("cert-manager.io", "v1", "clusterissuers")),
        _ => {}
    }
    catalog
        .releases
        .iter()
        .flat_map(|r| &r.crds)
        .find(|c| c.kind == kind)
        .map(|c| fixed(&c.group, &c.version, &c.plural))
}

/// Every kind status reads from a cluster that holds `planes`.
pub fn sources(catalog: &Catalog, planes: &[Plane]) -> Vec<Source> {
    let mut out = vec![
        {
            let mut s = Source::new(HELM, "", "v1", "Secret", "secrets").labels("owner=helm");
            s.metadata_only = true;
            s
        },
        Source::new("Job", "batch", "v1", "Job", "jobs"),
        Source::new(EVENT, "", "v1", "Event", "events").fields("type=Warning"),
    ];
    let mut kinds: Vec<&str> = catalog
        .releases
        .iter()
        .filter(|r| planes.contains(&r.plane))
        .flat_map(|r| r.workloads.iter().map(|w| w.kind.as_str()))
        .collect();
    // Envoy Gateway is topology, not a release, but seed 002 lists it with the services.
    kinds.push("Deployment");
    kinds.sort();
    kinds.dedup();
    for kind in kinds {
        if let Some(resource) = resource_of(catalog, kind) {
            out.push(Source {
                key: kind.to_owned(),
                resource,
                label_selector: None,
                field_selector: None,
                metadata_only: false,
            });
        }
    }
    if planes.contains(&Plane::Compute) {
        let d = &catalog.compute_teardown.drain;
        let (group, version) = d
            .api_version
            .split_once('/')
            .unwrap_or(("", &d.api_version));
        out.push(Source::new(BACKEND, group, version, &d.kind, &d.plural));
        out.push(
            Source::new(REGISTRATION, "", "v1", "ConfigMap", "configmaps").fields(&format!(
                "metadata.namespace={},metadata.name={}",
                REGISTRATION_CONFIGMAP.0, REGISTRATION_CONFIGMAP.1
            )),
        );
    }
    out
}

/// `(namespace or "", name)`.
pub type ObjKey = (String, String);

pub fn key_of(meta: &ObjectMeta) -> ObjKey {
    (
        meta.namespace.clone().unwrap_or_default(),
        meta.name.clone().unwrap_or_default(),
    )
}

/// One cluster's objects by source key, and the sources it could not read.
#[derive(Debug, Clone, Default)]
pub struct Observed {
    pub objects: BTreeMap<String, BTreeMap<ObjKey, DynamicObject>>,
    /// Source key → why it could not be read (403, unreachable).
    pub unreadable: BTreeMap<String, String>,
    /// The first of those failures whole, so a cluster that could not be read at all fails
    /// with its category and fix (throttled, timed out, forbidden), not a generic one.
    pub first_failure: Option<ErrorReport>,
    /// Sources whose kind the cluster does not serve (its CRD is absent).
    pub not_served: Vec<String>,
}

impl Observed {
    pub fn of(&self, key: &str) -> impl Iterator<Item = &DynamicObject> {
        self.objects.get(key).into_iter().flat_map(|m| m.values())
    }

    pub fn get(&self, key: &str, ns: &str, name: &str) -> Option<&DynamicObject> {
        self.objects
            .get(key)
            .and_then(|m| m.get(&(ns.to_owned(), name.to_owned())))
    }

    pub fn put(&mut self, key: &str, obj: DynamicObject) {
        self.objects
            .entry(key.to_owned())
            .or_default()
            .insert(key_of(&obj.metadata), obj);
    }

    pub fn remove(&mut self, key: &str, obj: &DynamicObject) {
        if let Some(m) = self.objects.get_mut(key) {
            m.remove(&key_of(&obj.metadata));
        }
    }

    pub fn replace(&mut self, key: &str, objs: Vec<DynamicObject>) {
        let map = objs.into_iter().map(|o| (key_of(&o.metadata), o)).collect();
        self.objects.insert(key.to_owned(), map);
        self.unreadable.remove(key);
    }
}

pub fn from_meta(meta: PartialObjectMeta<DynamicObject>) -> DynamicObject {
    DynamicObject {
        types: meta.types.map(|t| TypeMeta {
            api_version: t.api_version,
            kind: t.kind,
        }),
        metadata: meta.metadata,
        data: serde_json::Value::Null,
    }
}

async fn list(
    client: &kube::Client,
    source: &Source,
) -> std::result::Result<Vec<DynamicObject>, kube::Error> {
    let lp = source.list_params();
    if source.metadata_only {
        let api: Api<PartialObjectMeta<DynamicObject>> =
            Api::all_with(client.clone(), &source.resource);
        Ok(api
            .list(&lp)
            .await?
            .items
            .into_iter()
            .map(from_meta)
            .collect())
    } else {
        Ok(source.api(client).list(&lp).await?.items)
    }
}

/// Reads every source at once: one wave of concurrent requests. A kind the cluster does not
/// serve reads as empty; any other failure is recorded against its source, not fatal, so
/// one forbidden kind does not hide the rest.
pub async fn observe(client: &kube::Client, sources: &[Source]) -> Observed {
    let results = join_all(sources.iter().map(|s| list(client, s))).await;
    let mut out = Observed::default();
    for (source, result) in sources.iter().zip(results) {
        match result {
            Ok(items) => out.replace(&source.key, items),
            Err(kube::Error::Api(s)) if s.code == 404 => {
                out.replace(&source.key, Vec::new());
                out.not_served.push(source.key.clone());
            }
            Err(e) => {
                let err: Error =
                    crate::clients::kube::from_kube(e, &format!("list {}", source.resource.plural));
                out.unreadable
                    .insert(source.key.clone(), err.message().to_owned());
                out.first_failure.get_or_insert_with(|| err.report());
            }
        }
    }
    out
}

/// Fails when nothing at all could be read: the cluster is unreachable or the user has no
/// rights, which `status` reports instead of an empty stack.
pub fn reachable(observed: &Observed, sources: &[Source]) -> Result<()> {
    if !sources.is_empty() && observed.unreadable.len() == sources.len() {
        return Err(match &observed.first_failure {
            Some(failure) => failure.to_error(),
            None => Error::new(
                crate::base::error::Category::Network,
                "nothing could be read",
            )
            .hint("check that the cluster's API server is reachable: kubectl cluster-info"),
        });
    }
    Ok(())
}

/// `(namespace, release)` of every helm release on the cluster, from one metadata-only
/// list of helm's release Secrets (uninstalled releases leave none behind).
pub async fn helm_releases(
    client: &kube::Client,
) -> Result<std::collections::BTreeSet<(String, String)>> {
    let source = sources(Catalog::embedded(), &[])
        .into_iter()
        .find(|s| s.key == HELM)
        .ok_or_else(|| Error::internal("the helm release source is missing"))?;
    let items = list(client, &source)
        .await
        .map_err(|e| crate::clients::kube::from_kube(e, "list helm release Secrets"))?;
    Ok(items
        .iter()
        .filter_map(|o| {
            let name = o.metadata.labels.as_ref()?.get("name")?.clone();
            Some((o.metadata.namespace.clone().unwrap_or_default(), name))
        })
        .collect())
}
