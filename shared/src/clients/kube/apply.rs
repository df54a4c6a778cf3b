//! Server-side apply of the few objects we generate ourselves (namespaces, pull secrets).

use super::{FIELD_MANAGER, from_kube};
use crate::base::error::{Error, Result};
use k8s_openapi::api::core::v1::{Namespace, Secret};
use kube::api::{Api, Patch, PatchParams};
use serde_json::Value;

/// Applies each document (a Namespace or a namespaced Secret), in order.
pub async fn apply_docs(client: &kube::Client, docs: &[Value]) -> Result<()> {
    let params = PatchParams::apply(FIELD_MANAGER).force();
    for doc in docs {
        let kind = doc["kind"].as_str().unwrap_or_default();
        let name = doc["metadata"]["name"].as_str().unwrap_or_default();
        let doing = format!("apply {kind} {name}");
        match kind {
            "Namespace" => {
                let api: Api<Namespace> = Api::all(client.clone());
                api.patch(name, &params, &Patch::Apply(doc))
                    .await
                    .map_err(|e| from_kube(e, &doing))?;
            }
            "Secret" => {
                let ns = doc["metadata"]["namespace"].as_str().unwrap_or("default");
                let api: Api<Secret> = Api::namespaced(client.clone(), ns);
                api.patch(name, &params, &Patch::Apply(doc))
                    .await
                    .map_err(|e| from_kube(e, &doing))?;
            }
            other => {
                return Err(Error::internal(format!(
                    "apply_docs got a {other}; it applies only Namespaces and Secrets"
                )));
            }
        }
    }
    Ok(())
}
