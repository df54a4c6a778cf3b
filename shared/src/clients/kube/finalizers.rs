//! Finding and removing finalizers, and finalizing namespaces stuck in Terminating.

use super::{FIELD_MANAGER, from_kube};
use crate::base::error::Result;
use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, DynamicObject, ListParams, Patch, PatchParams, PostParams};
use kube::discovery::{ApiCapabilities, ApiResource, Discovery, Scope, verbs};
use serde::Serialize;

/// A Kubernetes object, named the way `kubectl` names it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectRef {
    pub kind: String,
    pub group: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    pub name: String,
}

impl ObjectRef {
    /// `configmap/x` or `nvcfbackend.nvcf.nvidia.io/x`, as kubectl prints names.
    pub fn kubectl_name(&self) -> String {
        let kind = self.kind.to_lowercase();
        if self.group.is_empty() {
            format!("{kind}/{}", self.name)
        } else {
            format!("{kind}.{}/{}", self.group, self.name)
        }
    }
}

/// An object carrying finalizers we were asked about.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FinalizedObject {
    #[serde(flatten)]
    pub object: ObjectRef,
    /// The finalizers that match, to be removed.
    pub matching: Vec<String>,
    /// All its finalizers, as read.
    pub finalizers: Vec<String>,
    #[serde(skip)]
    resource: ApiResource,
    #[serde(skip)]
    resource_version: Option<String>,
}

fn listable(caps: &ApiCapabilities) -> bool {
    caps.supports_operation(verbs::LIST) && caps.supports_operation(verbs::PATCH)
}

/// Every object in `namespaces` (all namespaced kinds the server serves) and every
/// cluster-scoped object of the kinds `cluster_kind` accepts, that carries a finalizer for
/// which `wanted` is true. Reads only.
pub async fn list_with_finalizers(
    client: &kube::Client,
    namespaces: &[String],
    cluster_kind: impl Fn(&ApiResource) -> bool,
    wanted: impl Fn(&str) -> bool,
) -> Result<Vec<FinalizedObject>> {
    let discovery = Discovery::new(client.clone())
        .run()
        .await
        .map_err(|e| from_kube(e, "discover the API server's resource types"))?;
    let mut found = Vec::new();
    for group in discovery.groups() {
        for (resource, caps) in group.recommended_resources() {
            if !listable(&caps) {
                continue;
            }
            let scopes: Vec<Option<&str>> = match caps.scope {
                Scope::Namespaced => namespaces.iter().map(|n| Some(n.as_str())).collect(),
                Scope::Cluster if cluster_kind(&resource) => vec![None],
                Scope::Cluster => continue,
            };
            for ns in scopes {
                let api: Api<DynamicObject> = match ns {
                    Some(ns) => Api::namespaced_with(client.clone(), ns, &resource),
                    None => Api::all_with(client.clone(), &resource),
                };
                let doing = match ns {
                    Some(ns) => format!("list {} in namespace {ns}", resource.plural),
                    None => format!("list {}", resource.plural),
                };
                let list = match api.list(&ListParams::default()).await {
                    Ok(list) => list,
                    // A kind that vanished since discovery (a CRD being deleted) is not an error.
                    Err(kube::Error::Api(s)) if s.code == 404 || s.code == 405 => continue,
                    Err(e) => return Err(from_kube(e, &doing)),
                };
                for obj in list.items {
                    let finalizers = obj.metadata.finalizers.clone().unwrap_or_default();
                    let matching: Vec<String> =
                        finalizers.iter().filter(|f| wanted(f)).cloned().collect();
                    if matching.is_empty() {
                        continue;
                    }
                    found.push(FinalizedObject {
                        object: ObjectRef {
                            kind: resource.kind.clone(),
                            group: resource.group.clone(),
                            namespace: obj.metadata.namespace.clone(),
                            name: obj.metadata.name.clone().unwrap_or_default(),
                        },
                        matching,
                        finalizers,
                        resource: resource.clone(),
                        resource_version: obj.metadata.resource_version.clone(),
                    });
                }
            }
        }
    }
    found.sort_by(|a, b| a.object.cmp(&b.object));
    Ok(found)
}

/// Removes the matching finalizers from `obj`, keeping any others. The patch carries the
/// resourceVersion we read, so a concurrent change fails with a conflict instead of being
/// overwritten.
pub async fn strip_finalizers(client: &kube::Client, obj: &FinalizedObject) -> Result<()> {
    let keep: Vec<&String> = obj
        .finalizers
        .iter()
        .filter(|f| !obj.matching.contains(f))
        .collect();
    let api: Api<DynamicObject> = match &obj.object.namespace {
        Some(ns) => Api::namespaced_with(client.clone(), ns, &obj.resource),
        None => Api::all_with(client.clone(), &obj.resource),
    };
    let patch = serde_json::json!({
        "metadata": {"resourceVersion": obj.resource_version, "finalizers": keep}
    });
    match api
        .patch(
            &obj.object.name,
            &PatchParams::default(),
            &Patch::Merge(&patch),
        )
        .await
    {
        Ok(_) => Ok(()),
        // Gone already: its finalizers are moot.
        Err(kube::Error::Api(s)) if s.code == 404 => Ok(()),
        Err(e) => Err(from_kube(
            e,
            &format!("remove finalizers from {}", obj.object.kubectl_name()),
        )),
    }
}

/// Clears `spec.finalizers` of a namespace through its `finalize` subresource, which lets a
/// namespace stuck in Terminating finish once its contents are gone.
pub async fn finalize_namespace(client: &kube::Client, name: &str) -> Result<bool> {
    let api: Api<Namespace> = Api::all(client.clone());
    let mut ns = match api.get(name).await {
        Ok(ns) => ns,
        Err(kube::Error::Api(s)) if s.code == 404 => return Ok(false),
        Err(e) => return Err(from_kube(e, &format!("read namespace {name}"))),
    };
    if let Some(spec) = ns.spec.as_mut() {
        spec.finalizers = Some(Vec::new());
    }
    let params = PostParams {
        field_manager: Some(FIELD_MANAGER.to_owned()),
        ..PostParams::default()
    };
    match api
        .replace_subresource("finalize", name, &params, &ns)
        .await
    {
        Ok(_) => Ok(true),
        Err(kube::Error::Api(s)) if s.code == 404 => Ok(false),
        Err(e) => Err(from_kube(e, &format!("finalize namespace {name}"))),
    }
}

/// An object a release declares with finalizers of its own, by identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Declared {
    pub resource: ApiResource,
    pub namespace: Option<String>,
    pub name: String,
    pub finalizers: Vec<String>,
}

/// Strips `finalizers` from each of `objects` that is being deleted, and names what it
/// released. Objects that are gone or not yet being deleted are left alone.
pub async fn release_deleting(client: &kube::Client, objects: &[Declared]) -> Result<Vec<String>> {
    let mut released = Vec::new();
    for d in objects {
        let api = super::objects::dynamic_api(client, &d.resource, d.namespace.as_deref());
        let Some(obj) = api
            .get_opt(&d.name)
            .await
            .map_err(|e| from_kube(e, &format!("read {} {}", d.resource.kind, d.name)))?
        else {
            continue;
        };
        if obj.metadata.deletion_timestamp.is_none() {
            continue;
        }
        let finalizers = obj.metadata.finalizers.clone().unwrap_or_default();
        let matching: Vec<String> = finalizers
            .iter()
            .filter(|f| d.finalizers.contains(f))
            .cloned()
            .collect();
        if matching.is_empty() {
            continue;
        }
        let held = FinalizedObject {
            object: ObjectRef {
                kind: d.resource.kind.clone(),
                group: d.resource.group.clone(),
                namespace: d.namespace.clone(),
                name: d.name.clone(),
            },
            matching: matching.clone(),
            finalizers,
            resource: d.resource.clone(),
            resource_version: obj.metadata.resource_version.clone(),
        };
        strip_finalizers(client, &held).await?;
        released.push(format!(
            "{} (finalizer {} released)",
            held.object.kubectl_name(),
            matching.join(", ")
        ));
    }
    Ok(released)
}
