//! Tearing the stack down: the compute plane first, each plane in reverse dependency
//! order, then what `helm uninstall` leaves behind. Persistent state (PVCs, OpenBao's
//! unseal/root-token/cluster-jwt Secrets, Cassandra data) stays unless asked for.

mod execute;
mod functions;
mod objects;

pub use execute::{confirm, execute, execute_evented};
pub use functions::function_workloads;
pub use objects::{delete_yaml, persistent_inventory};

use crate::base::error::Result;
use crate::base::plan::{Step, StepState};
use crate::model::stack::catalog::{Catalog, Release, teardown_order};
use crate::model::stack::inputs::Inputs;
use crate::operations::stack::render::Planes;
use serde::Serialize;
use serde_json::{Value, json};
use std::collections::BTreeSet;

/// An object teardown deletes or keeps, by identity only.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct ObjectRef {
    pub kind: String,
    pub namespace: Option<String>,
    pub name: String,
}

impl ObjectRef {
    pub(super) fn new(kind: &str, namespace: Option<&str>, name: &str) -> ObjectRef {
        ObjectRef {
            kind: kind.to_owned(),
            namespace: namespace.map(str::to_owned),
            name: name.to_owned(),
        }
    }

    pub fn display(&self) -> String {
        match &self.namespace {
            Some(ns) => format!("{}/{} -n {ns}", self.kind, self.name),
            None => format!("{}/{}", self.kind, self.name),
        }
    }

    pub(super) fn doc(&self) -> Option<Value> {
        let (api_version, _, _) = api_of(&self.kind)?;
        let mut meta = json!({ "name": self.name });
        if let Some(ns) = &self.namespace {
            meta["namespace"] = json!(ns);
        }
        Some(json!({ "apiVersion": api_version, "kind": self.kind, "metadata": meta }))
    }
}

/// The kinds teardown deletes by name: `(apiVersion, plural, namespaced)`.
pub(super) fn api_of(kind: &str) -> Option<(&'static str, &'static str, bool)> {
    Some(match kind {
        "Job" => ("batch/v1", "jobs", true),
        "ConfigMap" => ("v1", "configmaps", true),
        "Secret" => ("v1", "secrets", true),
        "ServiceAccount" => ("v1", "serviceaccounts", true),
        "PersistentVolumeClaim" => ("v1", "persistentvolumeclaims", true),
        "Role" => ("rbac.authorization.k8s.io/v1", "roles", true),
        "RoleBinding" => ("rbac.authorization.k8s.io/v1", "rolebindings", true),
        "ClusterRole" => ("rbac.authorization.k8s.io/v1", "clusterroles", false),
        "ClusterRoleBinding" => ("rbac.authorization.k8s.io/v1", "clusterrolebindings", false),
        "ClusterIssuer" => ("cert-manager.io/v1", "clusterissuers", false),
        "CustomResourceDefinition" => (
            "apiextensions.k8s.io/v1",
            "customresourcedefinitions",
            false,
        ),
        "Namespace" => ("v1", "namespaces", false),
        _ => return None,
    })
}

/// What a teardown will do, decided from the catalog and the config alone.
#[derive(Debug, Clone, Serialize)]
pub struct TeardownPlan {
    /// `(release, namespace)` in uninstall order.
    pub releases: Vec<(String, String)>,
    /// Hook objects `helm uninstall` leaves behind that are not persistent state.
    pub leftovers: Vec<ObjectRef>,
    /// Persistent objects named by the catalog (PVCs are found on the cluster).
    pub persistent: Vec<ObjectRef>,
    /// Namespaces deleted always, and those deleted only with --remove-persistent.
    pub namespaces: Vec<String>,
    pub persistent_namespaces: Vec<String>,
    /// Custom resources deleted before any release (NVCFBackends), when the compute plane
    /// is torn down.
    pub drain: Option<crate::model::stack::catalog::Drain>,
}

pub fn plan(catalog: &Catalog, inputs: &Inputs, planes: Planes) -> Result<TeardownPlan> {
    let cfg = inputs.config.as_value();
    let chosen: Vec<&Release> = catalog
        .releases
        .iter()
        .filter(|r| planes.includes(r.plane) && r.enabled_in(&cfg) && !r.keep_on_teardown)
        .collect();
    let order = teardown_order(&chosen)?;
    let (mut leftovers, persistent, mut namespaces) = release_objects(&order, &cfg);
    let compute = planes.includes(crate::model::stack::catalog::Plane::Compute);
    if compute {
        namespaces.extend(catalog.namespaces.compute_runtime.iter().cloned());
        leftovers.extend(
            catalog
                .compute_teardown
                .crds
                .iter()
                .map(|c| ObjectRef::new("CustomResourceDefinition", None, c)),
        );
    }
    let stays = staying_namespaces(catalog, inputs, &chosen);
    let (persistent_namespaces, namespaces): (Vec<String>, Vec<String>) = namespaces
        .into_iter()
        .filter(|ns| !stays.contains(ns))
        .partition(|ns| catalog.namespaces.persistent.contains(ns));
    // Pull secrets we created (render and deploy.sh) would outlive the releases in the
    // namespaces kept for their data.
    if inputs.config.passwords.registry.is_some()
        && let Some(secret) = inputs.config.image_pull_secrets.first()
    {
        for ns in &persistent_namespaces {
            leftovers.push(ObjectRef::new("Secret", Some(ns), secret));
        }
    }
    Ok(TeardownPlan {
        releases: order
            .iter()
            .map(|r| (r.name.clone(), r.namespace_in(&cfg)))
            .collect(),
        leftovers,
        persistent,
        namespaces,
        persistent_namespaces,
        drain: compute.then(|| catalog.compute_teardown.drain.clone()),
    })
}

/// Each release's leftover hooks, its named persistent objects, and the namespaces used.
fn release_objects(
    order: &[&Release],
    cfg: &Value,
) -> (Vec<ObjectRef>, Vec<ObjectRef>, BTreeSet<String>) {
    let mut leftovers = Vec::new();
    let mut persistent = Vec::new();
    let mut namespaces = BTreeSet::new();
    for r in order {
        let ns = r.namespace_in(cfg);
        for p in &r.persistent {
            if p.kind != "PersistentVolumeClaim" && p.kind != "CustomResourceDefinition" {
                let scoped = api_of(&p.kind).is_some_and(|(_, _, n)| n);
                persistent.push(ObjectRef::new(
                    &p.kind,
                    scoped.then_some(ns.as_str()),
                    &p.name,
                ));
            }
        }
        for h in &r.hooks {
            let is_persistent = r
                .persistent
                .iter()
                .any(|p| p.kind == h.kind && p.name == h.name);
            if !is_persistent && api_of(&h.kind).is_some() {
                leftovers.push(ObjectRef::new(&h.kind, Some(&ns), &h.name));
            }
        }
        namespaces.insert(ns);
    }
    (leftovers, persistent, namespaces)
}

/// Namespaces a teardown never deletes: the topology's, the gateway's, and those a kept
/// release (cert-manager) or one not torn down lives in.
fn staying_namespaces(catalog: &Catalog, inputs: &Inputs, chosen: &[&Release]) -> BTreeSet<String> {
    let cfg = inputs.config.as_value();
    let gateway = &inputs.config.gateway;
    let mut stays: BTreeSet<String> = catalog
        .namespaces
        .topology
        .iter()
        .cloned()
        .chain([
            gateway.controller_namespace.clone(),
            gateway.shared.namespace.clone(),
            gateway.grpc.namespace.clone(),
        ])
        .collect();
    stays.extend(
        catalog
            .releases
            .iter()
            .filter(|r| r.keep_on_teardown || !chosen.iter().any(|c| c.name == r.name))
            .filter(|r| r.enabled_in(&cfg))
            .map(|r| r.namespace_in(&cfg)),
    );
    stays
}

/// A step teardown took on `object`: `done`, with what happened.
pub(super) fn done(object: impl Into<String>, detail: impl Into<String>) -> Step {
    Step::new(object, StepState::Done).detail(detail)
}

/// A step that found nothing to do on `object`.
pub(super) fn unchanged(object: impl Into<String>, detail: impl Into<String>) -> Step {
    Step::new(object, StepState::Unchanged).detail(detail)
}

#[cfg(test)]
mod tests;
