//! A function still deployed on a compute plane, as NVCA leaves one: its ICMSRequest (the
//! CRD the operator creates at run time, applied here) held by NVCA's finalizer, and its
//! pod in `nvcf-backend`.

use nvcf_testenv::Env;
use serde_json::{Value, json};

fn apply(env: &Env, doc: &Value) {
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), doc.to_string()).unwrap();
    env.kubectl_run(&["apply", "-f", file.path().to_str().unwrap()])
        .unwrap();
}

/// Deploys function `name`: ICMSRequest `nvcf-backend/NAME` and pod `nvcf-backend/NAME-0`.
pub fn leave_deployed(env: &Env, name: &str) {
    let crds = env.kubectl_run(&["get", "crd", "-o", "name"]).unwrap();
    if !crds.contains("icmsrequests.nvca.nvcf.nvidia.io") {
        apply(
            env,
            &json!({
                "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
                "metadata": {"name": "icmsrequests.nvca.nvcf.nvidia.io"},
                "spec": {"group": "nvca.nvcf.nvidia.io", "scope": "Namespaced",
                    "names": {"kind": "ICMSRequest", "plural": "icmsrequests", "singular": "icmsrequest", "listKind": "ICMSRequestList"},
                    "versions": [{"name": "v2beta1", "served": true, "storage": true,
                        "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}]},
            }),
        );
        env.kubectl_run(&[
            "wait",
            "--for=condition=Established",
            "crd/icmsrequests.nvca.nvcf.nvidia.io",
            "--timeout=30s",
        ])
        .unwrap();
    }
    let _ = env.kubectl_run(&["create", "namespace", "nvcf-backend"]);
    apply(
        env,
        &json!({
            "apiVersion": "nvca.nvcf.nvidia.io/v2beta1", "kind": "ICMSRequest",
            "metadata": {"name": name, "namespace": "nvcf-backend",
                "finalizers": ["nvca.finalizers.nvidia.io"]},
            "spec": {"functionId": "f-1", "functionVersionId": "v-1", "action": "CREATE"},
        }),
    );
    apply(
        env,
        &json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": format!("{name}-0"), "namespace": "nvcf-backend"},
            "spec": {"containers": [{"name": "inference", "image": "registry.example.com/echo:1"}]},
        }),
    );
}
