//! What runs on the compute plane when it goes: the function workloads (ICMSRequests and
//! their pods) and the NVCFBackends drained before the operator is uninstalled.

use super::{ObjectRef, done, unchanged};
use crate::base::error::Result;
use crate::base::plan::Step;
use crate::clients::kube::{delete as kdelete, objects};
use kube::discovery::ApiResource;

/// Where function workloads run on a compute plane: the agent's ICMSRequests and the
/// function pods (seed 001, "Uninstalling").
const FUNCTIONS_NAMESPACE: &str = crate::operations::nvca::kill::REQUESTS_NAMESPACE;

fn icms_requests() -> ApiResource {
    use crate::operations::nvca::functions::{GROUP, KIND, PLURAL, VERSION};
    objects::resource(&format!("{GROUP}/{VERSION}"), KIND, PLURAL)
}

/// Function workloads still on the compute plane: ICMSRequests and pods in nvcf-backend.
/// Once NVCA is uninstalled nothing removes their finalizers, and the namespace (and so the
/// teardown) would wait on them for ever.
pub async fn function_workloads(client: &kube::Client) -> Result<Vec<ObjectRef>> {
    let mut found: Vec<ObjectRef> =
        objects::names(client, &icms_requests(), Some(FUNCTIONS_NAMESPACE))
            .await?
            .into_iter()
            .map(|name| ObjectRef::new("ICMSRequest", Some(FUNCTIONS_NAMESPACE), &name))
            .collect();
    found.extend(
        kdelete::live_pods(client, FUNCTIONS_NAMESPACE)
            .await?
            .into_iter()
            .map(|name| ObjectRef::new("Pod", Some(FUNCTIONS_NAMESPACE), &name)),
    );
    Ok(found)
}

/// Removes what [`function_workloads`] found: requests with their finalizers cleared (as
/// `kubectl nvca cleanup` does), pods at once.
pub(super) async fn remove_functions(
    client: &kube::Client,
    found: &[ObjectRef],
) -> Result<Vec<Step>> {
    let pods = objects::resource("v1", "Pod", "pods");
    let mut steps = Vec::new();
    for o in found {
        let resource = if o.kind == "Pod" {
            &pods
        } else {
            &icms_requests()
        };
        let removed =
            kdelete::delete_without_finalizers(client, resource, o.namespace.as_deref(), &o.name)
                .await?;
        steps.push(if removed {
            done(
                o.display(),
                "deleted (finalizers cleared): a function still deployed",
            )
        } else {
            unchanged(o.display(), "already gone")
        });
    }
    Ok(steps)
}

/// Deletes every object of the drain kind (NVCFBackends), so the operator tears its agent
/// down before it is uninstalled. A missing CRD means there is nothing to drain.
pub(super) async fn drain(
    client: &kube::Client,
    d: &crate::model::stack::catalog::Drain,
) -> Result<Vec<String>> {
    let resource = objects::resource(&d.api_version, &d.kind, &d.plural);
    Ok(kdelete::delete_all_custom(client, &resource, &d.namespace)
        .await?
        .into_iter()
        .map(|name| format!("{}/{name} -n {}", d.kind, d.namespace))
        .collect())
}
