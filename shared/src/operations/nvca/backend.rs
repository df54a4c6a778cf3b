//! Which cluster the agent commands act on: the NVCFBackend the operator keeps in its
//! namespace names it. Maintenance commands check it against `--expect-cluster-id` before
//! they change anything, so a script pointed at the wrong kube context stops instead of
//! draining or killing another cluster's functions (upstream's guard).

use crate::base::error::{Category, Error, Result};
use crate::clients::kube::{Objects, objects};
use kube::api::{ApiResource, ListParams};
use serde_json::Value;

pub const GROUP: &str = "nvcf.nvidia.io";
pub const VERSION: &str = "v1";
pub const KIND: &str = "NVCFBackend";
pub const PLURAL: &str = "nvcfbackends";

/// The cluster as the operator's NVCFBackend names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub cluster_id: Option<String>,
    /// The backend's cluster name, else its cluster id (upstream), else the kubeconfig's
    /// name for the cluster when no operator ran here.
    pub cluster_name: String,
    /// Whether an NVCFBackend was found at all.
    pub has_backend: bool,
}

/// The first NVCFBackend in `namespace` (the operator keeps one), as JSON. Read in that
/// namespace only: rights there suffice, and other namespaces' objects are not fetched.
pub async fn first(client: &kube::Client, namespace: &str) -> Result<Option<Value>> {
    match Objects::dynamic(client, &resource(), Some(namespace))
        .list(&ListParams::default().limit(1))
        .await
    {
        Ok(list) => Ok(list.into_iter().next().map(|b| b.data)),
        // The CRD is absent: no operator ran here.
        Err(e) if e.category() == Category::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// The operator's NVCFBackend kind.
pub fn resource() -> ApiResource {
    objects::resource(&format!("{GROUP}/{VERSION}"), KIND, PLURAL)
}

pub fn identity_of(backend: Option<&Value>, kubeconfig_cluster: &str) -> Identity {
    let get = |k: &str| {
        backend
            .and_then(|b| b["spec"]["clusterConfig"][k].as_str())
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    let cluster_id = get("clusterId");
    Identity {
        cluster_name: get("clusterName")
            .or_else(|| cluster_id.clone())
            .unwrap_or_else(|| kubeconfig_cluster.to_owned()),
        cluster_id,
        has_backend: backend.is_some(),
    }
}

pub async fn identity(
    client: &kube::Client,
    namespace: &str,
    kubeconfig_cluster: &str,
) -> Result<Identity> {
    let backend = first(client, namespace).await?;
    Ok(identity_of(backend.as_ref(), kubeconfig_cluster))
}

/// The client for `target` and the cluster it reaches, refused (before anything is
/// changed or asked) when `expected` is given and is not that cluster.
pub async fn guarded(
    target: &crate::model::target::Target,
    user_agent: &str,
    namespace: &str,
    expected: Option<&str>,
) -> Result<(kube::Client, Identity)> {
    let client = target.client(user_agent).await?;
    let found = match identity(&client, namespace, &target.cluster).await {
        Ok(found) => found,
        // Only the guard needs the backend; without one the name is for display, and an
        // identity that may not read NVCFBackends can still drain or kill.
        Err(_) if expected.is_none() => identity_of(None, &target.cluster),
        Err(e) => return Err(e),
    };
    expect(&found, expected, namespace)?;
    Ok((client, found))
}

/// Refuses when `expected` is given and the backend names another cluster (or none).
pub fn expect(identity: &Identity, expected: Option<&str>, namespace: &str) -> Result<()> {
    let Some(want) = expected else {
        return Ok(());
    };
    match identity.cluster_id.as_deref() {
        Some(id) if id == want => Ok(()),
        Some(id) => Err(Error::new(
            Category::Conflict,
            format!(
                "--expect-cluster-id {want} does not match this cluster: its NVCFBackend in {namespace} is cluster {id} ({}); nothing was changed",
                identity.cluster_name
            ),
        )
        .hint(format!("check the kube context (--context) or pass the cluster's own id: {nvca_cmd0}", nvca_cmd0 = crate::base::plugin::nvca("status")))),
        None => Err(Error::new(
            Category::Conflict,
            format!(
                "--expect-cluster-id {want} does not match this cluster: no NVCFBackend with a cluster id in {namespace}; nothing was changed"
            ),
        )
        .hint("point at the cluster running the operator (--context), or set --backend-namespace to where its NVCFBackend lives")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn identity_prefers_the_name_then_the_id_then_the_kubeconfig() {
        let named = json!({"spec": {"clusterConfig": {"clusterId": "c1", "clusterName": "gpu-a"}}});
        let unnamed = json!({"spec": {"clusterConfig": {"clusterId": "c1"}}});
        assert_eq!(identity_of(Some(&named), "kc").cluster_name, "gpu-a");
        assert_eq!(identity_of(Some(&unnamed), "kc").cluster_name, "c1");
        let none = identity_of(None, "kc");
        assert_eq!(
            (none.cluster_name.as_str(), none.has_backend),
            ("kc", false)
        );
    }

    #[test]
    fn the_guard_passes_only_the_backends_own_id() {
        let id = identity_of(
            Some(&json!({"spec": {"clusterConfig": {"clusterId": "c1"}}})),
            "kc",
        );
        assert!(expect(&id, None, "nvca-operator").is_ok());
        assert!(expect(&id, Some("c1"), "nvca-operator").is_ok());
        let wrong = expect(&id, Some("c2"), "nvca-operator").unwrap_err();
        assert_eq!(wrong.category(), Category::Conflict);
        assert!(
            wrong.message().contains("does not match"),
            "{}",
            wrong.message()
        );
        assert!(expect(&identity_of(None, "kc"), Some("c1"), "nvca-operator").is_err());
    }
}
