//! Objects teardown addresses by name: the persistent inventory, one object's get and
//! delete, and the delete YAML of `--no-apply`.

use super::{ObjectRef, TeardownPlan, api_of};
use crate::base::error::Result;
use crate::clients::helm::Helm;
use crate::clients::kube::{delete as kdelete, objects};
use crate::model::stack::manifest;
use kube::discovery::ApiResource;
use serde_json::Value;

/// What --remove-persistent destroys, read from the cluster: every PVC in the persistent
/// namespaces plus the catalog's named Secrets and ConfigMaps that exist.
pub async fn persistent_inventory(
    client: &kube::Client,
    plan: &TeardownPlan,
) -> Result<Vec<ObjectRef>> {
    let mut out = Vec::new();
    for ns in &plan.persistent_namespaces {
        for name in objects::pvc_names(client, ns).await? {
            out.push(ObjectRef::new("PersistentVolumeClaim", Some(ns), &name));
        }
    }
    for obj in &plan.persistent {
        if get(client, obj).await? {
            out.push(obj.clone());
        }
    }
    out.sort();
    Ok(out)
}

/// The API resource and namespace an object is addressed by; `None` for kinds teardown
/// does not delete by name.
fn address(obj: &ObjectRef) -> Option<(ApiResource, Option<&str>)> {
    let (api_version, plural, namespaced) = api_of(&obj.kind)?;
    let ns = obj.namespace.as_deref().filter(|_| namespaced);
    Some((objects::resource(api_version, &obj.kind, plural), ns))
}

async fn get(client: &kube::Client, obj: &ObjectRef) -> Result<bool> {
    match address(obj) {
        Some((resource, ns)) => objects::exists(client, &resource, ns, &obj.name).await,
        None => Ok(false),
    }
}

pub(super) async fn delete(client: &kube::Client, obj: &ObjectRef) -> Result<bool> {
    match address(obj) {
        Some((resource, ns)) => kdelete::delete_object(client, &resource, ns, &obj.name).await,
        None => Ok(false),
    }
}

/// `--no-apply`: the delete YAML for `kubectl delete -f -`, from `helm get manifest` of each
/// installed release, in teardown order, then leftovers and namespaces.
pub async fn delete_yaml(
    helm: &Helm,
    plan: &TeardownPlan,
    extra_persistent: &[ObjectRef],
    remove_persistent: bool,
) -> Result<String> {
    let mut out = String::new();
    for (release, ns) in &plan.releases {
        let Some(text) = helm.get_manifest(release, ns).await? else {
            continue;
        };
        let mut docs = manifest::parse_stream(&text, &format!("helm get manifest {release}"))?;
        docs.retain(|d| {
            remove_persistent
                || d.pointer("/metadata/annotations/helm.sh~1resource-policy")
                    .and_then(Value::as_str)
                    != Some("keep")
        });
        let scoped = manifest::cluster_scoped_kinds(&docs);
        for d in docs.iter_mut() {
            manifest::inject_namespace(d, ns, &scoped);
        }
        // Dependents first: the reverse of helm's install order.
        docs.sort_by_key(|d| std::cmp::Reverse(manifest::kind_rank(manifest::kind(d))));
        for d in &docs {
            manifest::write_doc(&mut out, &format!("{release}: delete"), d)?;
        }
    }
    let mut tail: Vec<ObjectRef> = plan.leftovers.clone();
    if remove_persistent {
        tail.extend(extra_persistent.iter().cloned());
    }
    let mut namespaces = plan.namespaces.clone();
    if remove_persistent {
        namespaces.extend(plan.persistent_namespaces.iter().cloned());
    }
    tail.extend(
        namespaces
            .iter()
            .map(|ns| ObjectRef::new("Namespace", None, ns)),
    );
    for obj in tail {
        if let Some(doc) = obj.doc() {
            manifest::write_doc(&mut out, "helm-nvcf: leftover", &doc)?;
        }
    }
    Ok(out)
}
