//! What each uninstall step does on the cluster, reporting what happened.

use super::{
    CRDS, OPERATOR_NAMESPACE, Options, REGISTRATION_CONFIGMAP, RELEASE, namespaces_to_delete,
};
use crate::base::error::{Category, Error, ExitCode, Result};
use crate::base::plan::Step;
use crate::clients::helm::Helm;
use crate::clients::kube::delete;

/// Step 1: the NVCFBackends, refused while function pods still run (unless `force`).
async fn delete_backends(client: &kube::Client, opts: &Options) -> Result<String> {
    let function_pods = delete::live_pods(client, "nvcf-backend").await?;
    if !function_pods.is_empty() && !opts.force {
        return Err(Error::new(
            Category::Conflict,
            format!(
                "{} function pod(s) still run in nvcf-backend ({})",
                function_pods.len(),
                function_pods.join(", ")
            ),
        )
        .hint(format!(
            "undeploy the functions first ({nvcf_cmd0} …), or pass --force to uninstall anyway",
            nvcf_cmd0 = crate::base::plugin::nvcf("function deploy remove")
        ))
        .exit_code_override(ExitCode::Conflict));
    }
    let deleted = delete::delete_all_custom(
        client,
        &crate::operations::nvca::backend::resource(),
        OPERATOR_NAMESPACE,
    )
    .await?;
    Ok(if deleted.is_empty() {
        "no NVCFBackend found".into()
    } else {
        format!("deleted NVCFBackend {}", deleted.join(", "))
    })
}

/// Step 3: the operator's release, releasing the cleanup finalizers no operator will clear.
async fn uninstall_release(client: &kube::Client, helm: &Helm, opts: &Options) -> Result<String> {
    let timeout = format!("{}s", opts.timeout.as_secs().max(1));
    let Some(manifest) = helm.get_manifest(RELEASE, OPERATOR_NAMESPACE).await? else {
        return Ok(format!("release {RELEASE} not installed"));
    };
    let released = crate::operations::nvca::orphans::uninstall_releasing_orphans(
        helm,
        client,
        RELEASE,
        OPERATOR_NAMESPACE,
        &manifest,
        &timeout,
    )
    .await?;
    Ok(if released.is_empty() {
        format!("release {RELEASE} uninstalled")
    } else {
        format!(
            "release {RELEASE} uninstalled; no operator ran to clear its cleanup \
             finalizers, released on {}",
            released.join(", ")
        )
    })
}

/// Step 4: the registration ConfigMap, deleted with `purge` and kept otherwise.
async fn registration_configmap(client: &kube::Client, opts: &Options) -> Result<String> {
    if opts.purge {
        let gone =
            delete::delete_configmap(client, OPERATOR_NAMESPACE, REGISTRATION_CONFIGMAP).await?;
        Ok(if gone {
            "deleted".into()
        } else {
            "was not there".into()
        })
    } else if delete::configmap_exists(client, OPERATOR_NAMESPACE, REGISTRATION_CONFIGMAP).await? {
        Ok("kept for a reinstall".into())
    } else {
        Ok("none to keep".into())
    }
}

pub(super) async fn run_step(
    step: &Step,
    client: &kube::Client,
    helm: &Helm,
    opts: &Options,
) -> Result<String> {
    match step.phase_num.unwrap_or(0) {
        1 => delete_backends(client, opts).await,
        2 => {
            if delete::wait_no_pods(client, "nvca-system", opts.timeout).await? {
                Ok("nvca-system has no pods".into())
            } else {
                Err(Error::new(Category::Timeout, format!("pods still run in nvca-system after {:?}", opts.timeout))
                    .hint(format!("check the operator's logs (kubectl logs -n nvca-operator deploy/nvca-operator); if it is gone, {nvca_cmd0}", nvca_cmd0 = crate::base::plugin::nvca("cleanup removes what it left"))))
            }
        }
        3 => uninstall_release(client, helm, opts).await,
        4 => registration_configmap(client, opts).await,
        5 => {
            let mut deleted = Vec::new();
            for crd in CRDS {
                if delete::delete_crd(client, crd).await? {
                    deleted.push(crd);
                }
            }
            Ok(format!("deleted {} CRD(s)", deleted.len()))
        }
        _ => {
            let mut deleted = Vec::new();
            for ns in namespaces_to_delete(opts.purge) {
                if delete::delete_namespace(client, ns).await? {
                    deleted.push(ns);
                }
            }
            Ok(if deleted.is_empty() {
                "no namespace to delete".into()
            } else {
                format!("deleting {}", deleted.join(", "))
            })
        }
    }
}
