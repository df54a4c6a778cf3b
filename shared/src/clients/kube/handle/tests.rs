//! Against a stub API server: every request is answered with one status, so the text and
//! the 404 handling are seen without a cluster.

use super::Objects;
use crate::base::error::Category;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Secret};
use kube::api::{ApiResource, DynamicObject, ListParams};
use kube::client::Body;

/// A client whose server answers every request with `code` (and an empty object on 200).
fn answering(code: u16) -> kube::Client {
    let reason = match code {
        403 => "Forbidden",
        404 => "NotFound",
        _ => "InternalError",
    };
    let service = tower::service_fn(move |_req: http::Request<Body>| async move {
        let body = if code == 200 {
            serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}})
        } else {
            serde_json::json!({"kind": "Status", "apiVersion": "v1", "status": "Failure",
                "message": "stub says no", "reason": reason, "code": code})
        };
        http::Response::builder()
            .status(code)
            .body(Body::from(serde_json::to_vec(&body).unwrap()))
    });
    kube::Client::new(service, "default")
}

#[tokio::test]
async fn the_doing_text_names_verb_kind_name_and_namespace() {
    let client = answering(500);
    let cms = Objects::<ConfigMap>::namespaced(&client, "nvca-system");
    assert_eq!(
        cms.doing("read", "agent-config"),
        "read ConfigMap agent-config in nvca-system"
    );
    assert_eq!(cms.doing_all("list"), "list configmaps in nvca-system");
    let nss = Objects::<Namespace>::cluster(&client);
    assert_eq!(nss.doing("read", "nvcf"), "read Namespace nvcf");
    assert_eq!(nss.doing_all("list"), "list namespaces");
    let every = Objects::<Secret>::all(&client);
    assert_eq!(every.doing_all("list"), "list secrets in every namespace");
    let resource = ApiResource::from_gvk_with_plural(
        &kube::core::GroupVersionKind::gvk("nvcf.nvidia.io", "v1", "NVCFBackend"),
        "nvcfbackends",
    );
    let dynamic = Objects::<DynamicObject>::dynamic(&client, &resource, Some("nvca-operator"));
    assert_eq!(
        dynamic.doing("delete", "b"),
        "delete NVCFBackend b in nvca-operator"
    );
}

#[tokio::test]
async fn a_failure_carries_the_doing_text_and_its_category() {
    let client = answering(403);
    let err = Objects::<Deployment>::namespaced(&client, "nvcf")
        .list(&ListParams::default())
        .await
        .unwrap_err();
    assert_eq!(err.category(), Category::Forbidden);
    assert_eq!(
        err.message(),
        "cannot list deployments in nvcf: stub says no"
    );
}

#[tokio::test]
async fn absent_is_none_for_get_opt_false_for_delete_and_not_found_for_get() {
    let client = answering(404);
    let cms = Objects::<ConfigMap>::namespaced(&client, "ns");
    assert!(cms.get_opt("c").await.unwrap().is_none());
    assert!(!cms.delete("c").await.unwrap());
    let err = cms.get("c").await.unwrap_err();
    assert_eq!(err.category(), Category::NotFound);
    assert_eq!(err.message(), "cannot read ConfigMap c in ns: stub says no");
}

#[tokio::test]
async fn present_is_some_for_get_opt_and_true_for_delete() {
    let client = answering(200);
    let cms = Objects::<ConfigMap>::namespaced(&client, "ns");
    assert!(cms.get_opt("c").await.unwrap().is_some());
    assert!(cms.delete("c").await.unwrap());
}
