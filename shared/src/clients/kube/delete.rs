//! Deleting objects and waiting for them to go, each idempotent (already gone is success).

use super::from_kube;
use crate::base::error::Result;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Pod};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, DeleteParams, DynamicObject, ListParams};
use kube::discovery::ApiResource;
use std::time::{Duration, Instant};

async fn delete_one<K>(api: &Api<K>, name: &str, what: &str) -> Result<bool>
where
    K: Clone + serde::de::DeserializeOwned + std::fmt::Debug,
{
    match api.delete(name, &DeleteParams::background()).await {
        Ok(_) => Ok(true),
        Err(kube::Error::Api(s)) if s.code == 404 => Ok(false),
        Err(e) => Err(from_kube(e, &format!("delete {what} {name}"))),
    }
}

/// Deletes every object of a custom kind in `namespace`; returns their names. A kind the
/// server does not serve (its CRD is gone) has nothing to delete.
pub async fn delete_all_custom(
    client: &kube::Client,
    resource: &ApiResource,
    namespace: &str,
) -> Result<Vec<String>> {
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), namespace, resource);
    let list = match api.list(&ListParams::default()).await {
        Ok(list) => list,
        Err(kube::Error::Api(s)) if s.code == 404 => return Ok(Vec::new()),
        Err(e) => {
            return Err(from_kube(
                e,
                &format!("list {} in {namespace}", resource.plural),
            ));
        }
    };
    let mut names = Vec::new();
    for obj in list.items {
        let name = obj.metadata.name.unwrap_or_default();
        delete_one(&api, &name, &resource.kind).await?;
        names.push(name);
    }
    Ok(names)
}

/// Names of the pods in `namespace` whose phase is Running or Pending.
pub async fn live_pods(client: &kube::Client, namespace: &str) -> Result<Vec<String>> {
    let api: Api<Pod> = Api::namespaced(client.clone(), namespace);
    let list = api
        .list(&ListParams::default())
        .await
        .map_err(|e| from_kube(e, &format!("list pods in {namespace}")))?;
    Ok(list
        .items
        .into_iter()
        .filter(|p| {
            matches!(
                p.status.as_ref().and_then(|s| s.phase.as_deref()),
                Some("Running") | Some("Pending")
            )
        })
        .filter_map(|p| p.metadata.name)
        .collect())
}

/// Waits until `namespace` has no pods at all; `false` when `timeout` passed first.
pub async fn wait_no_pods(
    client: &kube::Client,
    namespace: &str,
    timeout: Duration,
) -> Result<bool> {
    let api: Api<Pod> = Api::namespaced(client.clone(), namespace);
    let deadline = Instant::now() + timeout;
    loop {
        let list = api
            .list(&ListParams::default().limit(1))
            .await
            .map_err(|e| from_kube(e, &format!("list pods in {namespace}")))?;
        if list.items.is_empty() {
            return Ok(true);
        }
        if Instant::now() >= deadline {
            return Ok(false);
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

pub async fn delete_configmap(client: &kube::Client, namespace: &str, name: &str) -> Result<bool> {
    delete_one(
        &Api::<ConfigMap>::namespaced(client.clone(), namespace),
        name,
        "ConfigMap",
    )
    .await
}

/// Deletes Job `namespace/name` (its pods with it) and waits until it is gone, so a hook of
/// the same name can be created again.
pub async fn delete_job(client: &kube::Client, namespace: &str, name: &str) -> Result<bool> {
    let api = Api::<Job>::namespaced(client.clone(), namespace);
    let deleted = delete_one(&api, name, "Job").await?;
    let deadline = Instant::now() + Duration::from_secs(60);
    while api
        .get_opt(name)
        .await
        .map_err(|e| from_kube(e, &format!("read Job {namespace}/{name}")))?
        .is_some()
    {
        if Instant::now() >= deadline {
            return Err(crate::base::error::Error::new(
                crate::base::error::Category::Timeout,
                format!("Job {namespace}/{name} was deleted but is still there after 60s"),
            )
            .hint(format!(
                "see what holds it: kubectl get job {name} -n {namespace} -o yaml (finalizers)"
            )));
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    Ok(deleted)
}

pub async fn delete_crd(client: &kube::Client, name: &str) -> Result<bool> {
    delete_one(
        &Api::<CustomResourceDefinition>::all(client.clone()),
        name,
        "CRD",
    )
    .await
}

pub async fn delete_namespace(client: &kube::Client, name: &str) -> Result<bool> {
    delete_one(&Api::<Namespace>::all(client.clone()), name, "namespace").await
}

pub async fn configmap_exists(client: &kube::Client, namespace: &str, name: &str) -> Result<bool> {
    Ok(Api::<ConfigMap>::namespaced(client.clone(), namespace)
        .get_opt(name)
        .await
        .map_err(|e| from_kube(e, &format!("read ConfigMap {namespace}/{name}")))?
        .is_some())
}

/// Deletes one object of any kind by name (`namespace` for namespaced kinds).
pub async fn delete_object(
    client: &kube::Client,
    resource: &ApiResource,
    namespace: Option<&str>,
    name: &str,
) -> Result<bool> {
    let api = super::objects::dynamic_api(client, resource, namespace);
    delete_one(&api, name, &resource.kind).await
}

/// Deletes one object after clearing its finalizers: for objects whose controller is gone
/// (or about to be), which would otherwise stay in deletion for ever. Gone already is fine.
pub async fn delete_without_finalizers(
    client: &kube::Client,
    resource: &ApiResource,
    namespace: Option<&str>,
    name: &str,
) -> Result<bool> {
    let api = super::objects::dynamic_api(client, resource, namespace);
    let patch = serde_json::json!({"metadata": {"finalizers": null}});
    match api
        .patch(
            name,
            &kube::api::PatchParams::default(),
            &kube::api::Patch::Merge(&patch),
        )
        .await
    {
        Ok(_) => {}
        Err(kube::Error::Api(s)) if s.code == 404 => return Ok(false),
        Err(e) => {
            return Err(from_kube(
                e,
                &format!("clear the finalizers of {} {name}", resource.kind),
            ));
        }
    }
    match api
        .delete(name, &DeleteParams::background().grace_period(0))
        .await
    {
        Ok(_) => Ok(true),
        Err(kube::Error::Api(s)) if s.code == 404 => Ok(false),
        Err(e) => Err(from_kube(e, &format!("delete {} {name}", resource.kind))),
    }
}

/// Waits until namespace `name` is gone; `false` when `timeout` passed first.
pub async fn wait_namespace_gone(
    client: &kube::Client,
    name: &str,
    timeout: Duration,
) -> Result<bool> {
    let api = Api::<Namespace>::all(client.clone());
    let deadline = Instant::now() + timeout;
    loop {
        match api.get_opt(name).await {
            Ok(None) => return Ok(true),
            Ok(Some(_)) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            Ok(Some(_)) => return Ok(false),
            Err(e) => return Err(from_kube(e, &format!("read namespace {name}"))),
        }
    }
}
