//! Reading objects by identity: any kind by its API resource, PVC names, Secret data, and
//! the replica and completion counts health checks compare.

use super::from_kube;
use crate::base::error::Result;
use k8s_openapi::ByteString;
use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Secret};
use kube::api::{Api, DynamicObject, ListParams};
use kube::core::GroupVersionKind;
use kube::discovery::ApiResource;
use std::collections::BTreeMap;

/// The API resource of `kind` served at `api_version` (`group/version`, or `v1` for core).
pub fn resource(api_version: &str, kind: &str, plural: &str) -> ApiResource {
    let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
    ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(group, version, kind), plural)
}

/// A dynamic API for `resource`: namespaced when `namespace` is given.
pub fn dynamic_api(
    client: &kube::Client,
    resource: &ApiResource,
    namespace: Option<&str>,
) -> Api<DynamicObject> {
    match namespace {
        Some(ns) => Api::namespaced_with(client.clone(), ns, resource),
        None => Api::all_with(client.clone(), resource),
    }
}

pub async fn exists(
    client: &kube::Client,
    resource: &ApiResource,
    namespace: Option<&str>,
    name: &str,
) -> Result<bool> {
    dynamic_api(client, resource, namespace)
        .get_opt(name)
        .await
        .map(|o| o.is_some())
        .map_err(|e| from_kube(e, &format!("read {} {name}", resource.kind)))
}

/// The names of every `resource` in `namespace`; none when the server does not serve the
/// kind (its CRD is gone) or the namespace does not exist.
pub async fn names(
    client: &kube::Client,
    resource: &ApiResource,
    namespace: Option<&str>,
) -> Result<Vec<String>> {
    match dynamic_api(client, resource, namespace)
        .list_metadata(&ListParams::default())
        .await
    {
        Ok(list) => Ok(list
            .items
            .into_iter()
            .filter_map(|o| o.metadata.name)
            .collect()),
        Err(kube::Error::Api(s)) if s.code == 404 => Ok(Vec::new()),
        Err(e) => Err(from_kube(e, &format!("list {}", resource.plural))),
    }
}

pub async fn pvc_names(client: &kube::Client, namespace: &str) -> Result<Vec<String>> {
    let list = Api::<PersistentVolumeClaim>::namespaced(client.clone(), namespace)
        .list(&ListParams::default())
        .await
        .map_err(|e| from_kube(e, &format!("list PVCs in {namespace}")))?;
    Ok(list
        .items
        .into_iter()
        .filter_map(|p| p.metadata.name)
        .collect())
}

/// The `data` of Secret `namespace/name`, or `None` when it does not exist.
pub async fn secret_data(
    client: &kube::Client,
    namespace: &str,
    name: &str,
) -> Result<Option<BTreeMap<String, ByteString>>> {
    Ok(Api::<Secret>::namespaced(client.clone(), namespace)
        .get_opt(name)
        .await
        .map_err(|e| from_kube(e, &format!("read Secret {namespace}/{name}")))?
        .map(|s| s.data.unwrap_or_default()))
}

/// `(ready, wanted)` replicas of a Deployment or StatefulSet; `None` for other kinds, and
/// `(0, 1)` for one that does not exist.
pub async fn ready_replicas(
    client: &kube::Client,
    kind: &str,
    namespace: &str,
    name: &str,
) -> Result<Option<(i32, i32)>> {
    let what = format!("read {kind} {namespace}/{name}");
    Ok(Some(match kind {
        "Deployment" => Api::<Deployment>::namespaced(client.clone(), namespace)
            .get_opt(name)
            .await
            .map_err(|e| from_kube(e, &what))?
            .map_or((0, 1), |d| {
                (
                    d.status.and_then(|s| s.ready_replicas).unwrap_or(0),
                    d.spec.replicas.unwrap_or(1),
                )
            }),
        "StatefulSet" => Api::<StatefulSet>::namespaced(client.clone(), namespace)
            .get_opt(name)
            .await
            .map_err(|e| from_kube(e, &what))?
            .map_or((0, 1), |s| {
                (
                    s.status.and_then(|s| s.ready_replicas).unwrap_or(0),
                    s.spec.replicas.unwrap_or(1),
                )
            }),
        _ => return Ok(None),
    }))
}

/// How many pods of Job `namespace/name` succeeded (0 when it does not exist).
pub async fn job_succeeded(client: &kube::Client, namespace: &str, name: &str) -> Result<i32> {
    Ok(Api::<Job>::namespaced(client.clone(), namespace)
        .get_opt(name)
        .await
        .map_err(|e| from_kube(e, &format!("read Job {namespace}/{name}")))?
        .and_then(|j| j.status)
        .and_then(|s| s.succeeded)
        .unwrap_or(0))
}

/// The live pods a StatefulSet selects, by its own label selector, in ordinal order.
pub async fn statefulset_pods(
    client: &kube::Client,
    namespace: &str,
    name: &str,
) -> Result<Option<Vec<k8s_openapi::api::core::v1::Pod>>> {
    let Some(sts) = Api::<StatefulSet>::namespaced(client.clone(), namespace)
        .get_opt(name)
        .await
        .map_err(|e| from_kube(e, &format!("read StatefulSet {namespace}/{name}")))?
    else {
        return Ok(None);
    };
    let selector = sts
        .spec
        .selector
        .match_labels
        .unwrap_or_default()
        .into_iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",");
    let mut pods: Vec<_> = super::workloads::pods(client, namespace, &selector)
        .await?
        .into_iter()
        .map(|(p, _)| p)
        .collect();
    pods.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
    Ok(Some(pods))
}

/// `GET` through the API server's pod proxy (`pods/NAME:PORT/proxy/PATH`): reaches a
/// pod's own HTTP endpoint with no exec and no port-forward.
pub async fn pod_proxy_get(
    client: &kube::Client,
    namespace: &str,
    pod: &str,
    port: u16,
    path: &str,
) -> Result<String> {
    let url = format!(
        "/api/v1/namespaces/{namespace}/pods/{pod}:{port}/proxy/{}",
        path.trim_start_matches('/')
    );
    let req = http::Request::get(&url).body(Vec::new()).map_err(|e| {
        crate::base::error::Error::internal(format!("build request for {url}: {e}"))
    })?;
    client
        .request_text(req)
        .await
        .map_err(|e| from_kube(e, &format!("GET {path} on pod {namespace}/{pod}")))
}
