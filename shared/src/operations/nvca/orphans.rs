//! A release whose own objects carry NVCA's cleanup finalizers (the real nvca-operator
//! chart's ClusterRole, ClusterRoleBinding and shutdown sentinel) cannot be uninstalled
//! while nothing runs to remove them: helm waits out its whole timeout and fails.

use crate::base::error::Result;
use crate::clients::helm::Helm;
use crate::clients::kube::Declared;
use crate::model::stack::manifest;

/// The objects a release's manifest declares with NVCA finalizers (the operator's
/// ClusterRole, ClusterRoleBinding and shutdown sentinel), and its Deployments.
fn nvca_finalized(manifest: &str, namespace: &str) -> Result<(Vec<Declared>, Vec<String>)> {
    let mut held = Vec::new();
    let mut deployments = Vec::new();
    for doc in manifest::parse_stream(manifest, "helm get manifest")? {
        let kind = manifest::kind(&doc).to_owned();
        let name = manifest::name(&doc).to_owned();
        if kind == "Deployment" {
            deployments.push(name.clone());
        }
        let finalizers: Vec<String> = doc["metadata"]["finalizers"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|f| f.as_str())
            .filter(|f| super::FINALIZERS.contains(f))
            .map(str::to_owned)
            .collect();
        if finalizers.is_empty() {
            continue;
        }
        let api_version = doc["apiVersion"].as_str().unwrap_or("v1");
        let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
        let resource = kube::discovery::ApiResource::from_gvk(&kube::core::GroupVersionKind::gvk(
            group, version, &kind,
        ));
        let cluster_scoped = matches!(kind.as_str(), "ClusterRole" | "ClusterRoleBinding");
        held.push(Declared {
            resource,
            namespace: (!cluster_scoped)
                .then(|| manifest::namespace(&doc).unwrap_or(namespace).to_owned()),
            name,
            finalizers,
        });
    }
    Ok((held, deployments))
}

/// `helm uninstall`, releasing the NVCA finalizers of the release's own objects once they
/// are being deleted and no Deployment of the release runs any more. The operator removes
/// them itself (its pre-delete hook); when it cannot (it crashed, the hook failed, the
/// pods never ran), helm would wait for the whole timeout and fail, and the namespace
/// after it would hang (upstream's troubleshooting guide, "teardown hangs").
pub async fn uninstall_releasing_orphans(
    helm: &Helm,
    client: &kube::Client,
    release: &str,
    namespace: &str,
    manifest: &str,
    timeout: &str,
) -> Result<Vec<String>> {
    let (held, deployments) = nvca_finalized(manifest, namespace)?;
    let uninstall = helm.uninstall(release, namespace, timeout);
    if held.is_empty() {
        return uninstall.await.map(|()| Vec::new());
    }
    tokio::pin!(uninstall);
    let mut released = Vec::new();
    loop {
        tokio::select! {
            done = &mut uninstall => return done.map(|()| released),
            () = tokio::time::sleep(std::time::Duration::from_secs(2)) => {
                let mut running = false;
                for d in &deployments {
                    let ready = crate::clients::kube::objects::ready_replicas(client, "Deployment", namespace, d)
                        .await?
                        .map_or(0, |(ready, _)| ready);
                    running |= ready > 0;
                }
                if !running {
                    released.extend(crate::clients::kube::release_deleting(client, &held).await?);
                }
            }
        }
    }
}
