//! Read-only facts about a cluster that pre-flight checks and doctors judge.

use super::from_kube;
use crate::base::error::Result;
use k8s_openapi::api::authorization::v1::{
    ResourceAttributes, SelfSubjectAccessReview, SelfSubjectAccessReviewSpec,
};
use k8s_openapi::api::core::v1::{Node, Secret};
use k8s_openapi::api::storage::v1::{CSIDriver, StorageClass};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, DynamicObject, ListParams, PostParams};
use kube::discovery::ApiResource;
use std::collections::BTreeMap;

/// `v1.36.3`, from `/version`.
pub async fn server_version(client: &kube::Client) -> Result<String> {
    let info = client
        .apiserver_version()
        .await
        .map_err(|e| from_kube(e, "read the API server version"))?;
    Ok(info.git_version)
}

/// Names of the StorageClasses annotated as the default.
pub async fn default_storage_classes(client: &kube::Client) -> Result<Vec<String>> {
    let api: Api<StorageClass> = Api::all(client.clone());
    let list = api
        .list(&ListParams::default())
        .await
        .map_err(|e| from_kube(e, "list StorageClasses"))?;
    Ok(list
        .items
        .into_iter()
        .filter(|sc| {
            let ann = sc.metadata.annotations.clone().unwrap_or_default();
            ann.get("storageclass.kubernetes.io/is-default-class")
                .map(String::as_str)
                == Some("true")
        })
        .filter_map(|sc| sc.metadata.name)
        .collect())
}

/// Which of the named CRDs (`plural.group`) exist.
pub async fn existing_crds(client: &kube::Client, names: &[&str]) -> Result<Vec<String>> {
    let api: Api<CustomResourceDefinition> = Api::all(client.clone());
    let mut found = Vec::new();
    for name in names {
        if api
            .get_opt(name)
            .await
            .map_err(|e| from_kube(e, &format!("read CRD {name}")))?
            .is_some()
        {
            found.push(name.to_string());
        }
    }
    Ok(found)
}

/// Every object of a custom kind, cluster-wide (empty when the kind is not served).
pub async fn custom_objects(
    client: &kube::Client,
    group: &str,
    version: &str,
    kind: &str,
    plural: &str,
) -> Result<Vec<DynamicObject>> {
    let resource = ApiResource {
        group: group.into(),
        version: version.into(),
        api_version: format!("{group}/{version}"),
        kind: kind.into(),
        plural: plural.into(),
    };
    let api: Api<DynamicObject> = Api::all_with(client.clone(), &resource);
    // In pages, as upstream (500): a cluster with thousands of requests is not one
    // response the API server has to build in memory.
    let mut items = Vec::new();
    let mut params = ListParams::default().limit(LIST_PAGE);
    loop {
        match api.list(&params).await {
            Ok(page) => {
                items.extend(page.items);
                match page.metadata.continue_.filter(|c| !c.is_empty()) {
                    Some(token) => params = params.continue_token(&token),
                    None => return Ok(items),
                }
            }
            Err(kube::Error::Api(s)) if s.code == 404 => return Ok(Vec::new()),
            Err(e) => return Err(from_kube(e, &format!("list {plural}.{group}"))),
        }
    }
}

/// Objects per list request when reading custom resources.
pub const LIST_PAGE: u32 = 500;

pub async fn csi_driver_exists(client: &kube::Client, name: &str) -> Result<bool> {
    let api: Api<CSIDriver> = Api::all(client.clone());
    Ok(api
        .get_opt(name)
        .await
        .map_err(|e| from_kube(e, &format!("read CSIDriver {name}")))?
        .is_some())
}

/// GPUs per product across nodes that advertise `nvidia.com/gpu` allocatable.
pub async fn gpu_inventory(client: &kube::Client) -> Result<BTreeMap<String, (u32, u64)>> {
    let api: Api<Node> = Api::all(client.clone());
    let nodes = api
        .list(&ListParams::default())
        .await
        .map_err(|e| from_kube(e, "list nodes"))?;
    let mut inventory: BTreeMap<String, (u32, u64)> = BTreeMap::new();
    for node in nodes.items {
        let gpus: u64 = node
            .status
            .as_ref()
            .and_then(|s| s.allocatable.as_ref())
            .and_then(|a| a.get("nvidia.com/gpu"))
            .and_then(|q| q.0.parse().ok())
            .unwrap_or(0);
        if gpus == 0 {
            continue;
        }
        let product = node
            .metadata
            .labels
            .as_ref()
            .and_then(|l| l.get("nvidia.com/gpu.product"))
            .cloned()
            .unwrap_or_else(|| "unknown product".into());
        let entry = inventory.entry(product).or_default();
        entry.0 += 1;
        entry.1 += gpus;
    }
    Ok(inventory)
}

/// The type of Secret `namespace/name`, or `None` when it does not exist.
pub async fn secret_type(
    client: &kube::Client,
    namespace: &str,
    name: &str,
) -> Result<Option<String>> {
    let api: Api<Secret> = Api::namespaced(client.clone(), namespace);
    Ok(api
        .get_opt(name)
        .await
        .map_err(|e| from_kube(e, &format!("read Secret {namespace}/{name}")))?
        .map(|s| s.type_.unwrap_or_else(|| "Opaque".into())))
}

/// One permission to ask the API server about.
#[derive(Debug, Clone, Copy)]
pub struct Permission {
    pub verb: &'static str,
    pub group: &'static str,
    pub resource: &'static str,
}

/// The permissions of `wanted` the current identity lacks (SelfSubjectAccessReview each).
pub async fn missing_permissions(
    client: &kube::Client,
    wanted: &[Permission],
) -> Result<Vec<Permission>> {
    let api: Api<SelfSubjectAccessReview> = Api::all(client.clone());
    let mut missing = Vec::new();
    for p in wanted {
        let review = SelfSubjectAccessReview {
            spec: SelfSubjectAccessReviewSpec {
                resource_attributes: Some(ResourceAttributes {
                    verb: Some(p.verb.into()),
                    group: Some(p.group.into()),
                    resource: Some(p.resource.into()),
                    ..ResourceAttributes::default()
                }),
                ..SelfSubjectAccessReviewSpec::default()
            },
            ..SelfSubjectAccessReview::default()
        };
        let answer = api
            .create(&PostParams::default(), &review)
            .await
            .map_err(|e| {
                from_kube(
                    e,
                    "ask the API server what this identity may do (SelfSubjectAccessReview)",
                )
            })?;
        if !answer.status.map(|s| s.allowed).unwrap_or(false) {
            missing.push(*p);
        }
    }
    Ok(missing)
}
