//! Checks of a cluster: reachability, permissions, and the prerequisites seed 001 lists.

use super::local::semver;
use crate::base::checks::{Runner, Spec, Status, Verdict};
use crate::base::error::Error;
use crate::base::events::Severity;
use crate::clients::kube::probes::{self, Permission};
use kube::api::DynamicObject;

/// Which plane's prerequisites to check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plane {
    Control,
    Compute,
    Both,
}

const MIN_SERVER: (u64, u64, u64) = (1, 30, 0);

const REACHABLE: Spec = Spec {
    id: "api-server-reachable",
    title: "Kubernetes API server reachable and supported",
    severity: Severity::Error,
    hint: "check the context with kubectl cluster-info; Kubernetes 1.30 or newer is required",
    hint_url: None,
};

const RBAC: Spec = Spec {
    id: "install-permissions",
    title: "identity may create what an install creates",
    severity: Severity::Error,
    hint: "use a context bound to cluster-admin (or a role granting the missing verbs) for installs",
    hint_url: Some("https://kubernetes.io/docs/reference/access-authn-authz/rbac/"),
};

const STORAGE: Spec = Spec {
    id: "default-storage-class",
    title: "a default StorageClass exists",
    severity: Severity::Error,
    hint: "mark one StorageClass as default: kubectl annotate storageclass NAME storageclass.kubernetes.io/is-default-class=true (Cassandra, NATS and OpenBao claim volumes)",
    hint_url: Some(
        "https://kubernetes.io/docs/tasks/administer-cluster/change-default-storage-class/",
    ),
};

const GATEWAY_CRDS: Spec = Spec {
    id: "gateway-api-crds",
    title: "Gateway API CRDs installed",
    severity: Severity::Error,
    hint: "install the Gateway API standard-channel CRDs and a controller, e.g. helm upgrade --install eg oci://docker.io/envoyproxy/gateway-helm -n envoy-gateway-system --create-namespace",
    hint_url: Some("https://gateway-api.sigs.k8s.io/guides/#installing-gateway-api"),
};

const GATEWAY_PROGRAMMED: Spec = Spec {
    id: "gateway-programmed",
    title: "a Gateway is programmed",
    severity: Severity::Error,
    hint: "create a Gateway for the NVCF routes and wait until its Programmed condition is True (kubectl get gateway -A)",
    hint_url: Some("https://gateway-api.sigs.k8s.io/api-types/gateway/"),
};

const GPU_OPERATOR: Spec = Spec {
    id: "gpu-operator-ready",
    title: "NVIDIA GPU Operator ClusterPolicy ready",
    severity: Severity::Error,
    hint: "install the NVIDIA GPU Operator (or fake-gpu-operator for clusters without GPUs) and wait for its ClusterPolicy state to be ready",
    hint_url: Some(
        "https://docs.nvidia.com/datacenter/cloud-native/gpu-operator/latest/getting-started.html",
    ),
};

const KAI: Spec = Spec {
    id: "kai-scheduler",
    title: "KAI Scheduler installed",
    severity: Severity::Error,
    hint: "install the KAI Scheduler on the GPU cluster (its queues.scheduling.run.ai CRD must exist); NVCA runs with the KAIScheduler feature gate",
    hint_url: Some("https://github.com/NVIDIA/KAI-Scheduler"),
};

const SMB: Spec = Spec {
    id: "smb-csi-driver",
    title: "SMB CSI driver (smb.csi.k8s.io) installed",
    severity: Severity::Error,
    hint: "helm install csi-driver-smb csi-driver-smb/csi-driver-smb -n kube-system --version v1.17.0 (NVCA's shared model cache needs it)",
    hint_url: Some("https://github.com/kubernetes-csi/csi-driver-smb"),
};

const GPU_NODES: Spec = Spec {
    id: "gpu-nodes",
    title: "nodes advertise nvidia.com/gpu",
    severity: Severity::Error,
    hint: "GPU nodes need the GPU Operator's device plugin running; check kubectl describe node NAME for nvidia.com/gpu under Allocatable",
    hint_url: None,
};

const PULL_SECRET: Spec = Spec {
    id: "registry-pull-secret",
    title: "image pull secret for the registry exists",
    severity: Severity::Warning,
    hint: "create it: kubectl create secret docker-registry NAME -n NAMESPACE --docker-server=REGISTRY --docker-username=USER --docker-password=... (skip for a public registry)",
    hint_url: None,
};

/// What an install creates, asked of the API server before trying.
const INSTALL_PERMISSIONS: [Permission; 9] = [
    Permission {
        verb: "create",
        group: "",
        resource: "namespaces",
    },
    Permission {
        verb: "create",
        group: "apiextensions.k8s.io",
        resource: "customresourcedefinitions",
    },
    Permission {
        verb: "create",
        group: "rbac.authorization.k8s.io",
        resource: "clusterroles",
    },
    Permission {
        verb: "create",
        group: "rbac.authorization.k8s.io",
        resource: "clusterrolebindings",
    },
    Permission {
        verb: "create",
        group: "apps",
        resource: "deployments",
    },
    Permission {
        verb: "create",
        group: "apps",
        resource: "statefulsets",
    },
    Permission {
        verb: "create",
        group: "batch",
        resource: "jobs",
    },
    Permission {
        verb: "create",
        group: "",
        resource: "secrets",
    },
    Permission {
        verb: "create",
        group: "",
        resource: "persistentvolumeclaims",
    },
];

fn probe_failed(e: Error) -> Verdict {
    Verdict::fail(e.message())
}

fn has_true_condition(obj: &DynamicObject, kind: &str) -> bool {
    obj.data
        .pointer("/status/conditions")
        .and_then(|c| c.as_array())
        .is_some_and(|conds| {
            conds
                .iter()
                .any(|c| c["type"] == kind && c["status"] == "True")
        })
}

fn object_name(obj: &DynamicObject) -> String {
    match &obj.metadata.namespace {
        Some(ns) => format!("{ns}/{}", obj.metadata.name.clone().unwrap_or_default()),
        None => obj.metadata.name.clone().unwrap_or_default(),
    }
}

/// Cluster checks against one context. `client` is the failure to connect when there is
/// none: the reachability check reports it and everything after it is skipped.
pub async fn cluster_checks(
    runner: &mut Runner,
    client: Result<kube::Client, Error>,
    context: &str,
    plane: Plane,
    pull_secret: Option<(String, String)>,
) {
    runner.begin_category("kubernetes-api");
    let reachable = runner
        .check(REACHABLE, async {
            let client = match &client {
                Ok(c) => c,
                Err(e) => return Verdict::fail(e.message()),
            };
            match probes::server_version(client).await {
                Ok(v) if semver(&v).is_some_and(|s| s >= MIN_SERVER) => {
                    Verdict::pass(format!("{v} via context {context}"))
                }
                Ok(v) => Verdict::fail(format!("the server runs {v}; 1.30 or newer is required")),
                Err(e) => probe_failed(e),
            }
        })
        .await;
    let client = match (reachable, client) {
        (Status::Passed, Ok(c)) => Some(c),
        _ => None,
    };
    let skip = || Verdict::skip("not run: the API server is not reachable");
    runner
        .check(RBAC, async {
            let Some(c) = &client else { return skip() };
            match probes::missing_permissions(c, &INSTALL_PERMISSIONS).await {
                Ok(missing) if missing.is_empty() => {
                    Verdict::pass(format!("{} permissions granted", INSTALL_PERMISSIONS.len()))
                }
                Ok(missing) => Verdict::fail(format!(
                    "not allowed: {}",
                    missing
                        .iter()
                        .map(|p| if p.group.is_empty() {
                            format!("{} {}", p.verb, p.resource)
                        } else {
                            format!("{} {}.{}", p.verb, p.resource, p.group)
                        })
                        .collect::<Vec<_>>()
                        .join(", ")
                )),
                Err(e) => probe_failed(e),
            }
        })
        .await;

    if plane != Plane::Compute {
        runner.begin_category("control-plane-prerequisites");
        runner
            .check(STORAGE, async {
                let Some(c) = &client else { return skip() };
                match probes::default_storage_classes(c).await {
                    Ok(names) if !names.is_empty() => Verdict::pass(names.join(", ")),
                    Ok(_) => Verdict::fail("no StorageClass is annotated as the default"),
                    Err(e) => probe_failed(e),
                }
            })
            .await;
        let crds = ["gatewayclasses", "gateways", "httproutes"]
            .map(|p| format!("{p}.gateway.networking.k8s.io"));
        let crd_status = runner
            .check(GATEWAY_CRDS, async {
                let Some(c) = &client else { return skip() };
                let names: Vec<&str> = crds.iter().map(String::as_str).collect();
                match probes::existing_crds(c, &names).await {
                    Ok(found) if found.len() == names.len() => {
                        Verdict::pass("gateway.networking.k8s.io")
                    }
                    Ok(found) => Verdict::fail(format!(
                        "missing CRDs: {}",
                        names
                            .iter()
                            .filter(|n| !found.iter().any(|f| f == *n))
                            .cloned()
                            .collect::<Vec<_>>()
                            .join(", ")
                    )),
                    Err(e) => probe_failed(e),
                }
            })
            .await;
        runner
            .check(GATEWAY_PROGRAMMED, async {
                let Some(c) = &client else { return skip() };
                if crd_status != Status::Passed {
                    return Verdict::skip("not run: the Gateway API CRDs are missing");
                }
                match probes::custom_objects(
                    c,
                    "gateway.networking.k8s.io",
                    "v1",
                    "Gateway",
                    "gateways",
                )
                .await
                {
                    Ok(gws) if gws.is_empty() => Verdict::fail("no Gateway exists"),
                    Ok(gws) => {
                        let ready: Vec<String> = gws
                            .iter()
                            .filter(|g| has_true_condition(g, "Programmed"))
                            .map(object_name)
                            .collect();
                        if ready.is_empty() {
                            Verdict::fail(format!(
                                "no Gateway is Programmed (found: {})",
                                gws.iter().map(object_name).collect::<Vec<_>>().join(", ")
                            ))
                        } else {
                            Verdict::pass(ready.join(", "))
                        }
                    }
                    Err(e) => probe_failed(e),
                }
            })
            .await;
    }

    if plane != Plane::Control {
        runner.begin_category("compute-plane-prerequisites");
        runner
            .check(GPU_OPERATOR, async {
                let Some(c) = &client else { return skip() };
                match probes::custom_objects(
                    c,
                    "nvidia.com",
                    "v1",
                    "ClusterPolicy",
                    "clusterpolicies",
                )
                .await
                {
                    Ok(p) if p.is_empty() => {
                        Verdict::fail("no ClusterPolicy found: the GPU Operator is not installed")
                    }
                    Ok(p) => {
                        let states: Vec<String> = p
                            .iter()
                            .map(|o| {
                                format!(
                                    "{}={}",
                                    object_name(o),
                                    o.data
                                        .pointer("/status/state")
                                        .and_then(|s| s.as_str())
                                        .unwrap_or("unknown")
                                )
                            })
                            .collect();
                        if p.iter().any(|o| {
                            o.data.pointer("/status/state").and_then(|s| s.as_str())
                                == Some("ready")
                        }) {
                            Verdict::pass(states.join(", "))
                        } else {
                            Verdict::fail(format!("ClusterPolicy not ready: {}", states.join(", ")))
                        }
                    }
                    Err(e) => probe_failed(e),
                }
            })
            .await;
        runner
            .check(KAI, async {
                let Some(c) = &client else { return skip() };
                match probes::existing_crds(c, &["queues.scheduling.run.ai"]).await {
                    Ok(found) if !found.is_empty() => Verdict::pass("queues.scheduling.run.ai"),
                    Ok(_) => Verdict::fail("CRD queues.scheduling.run.ai not found"),
                    Err(e) => probe_failed(e),
                }
            })
            .await;
        runner
            .check(SMB, async {
                let Some(c) = &client else { return skip() };
                match probes::csi_driver_exists(c, "smb.csi.k8s.io").await {
                    Ok(true) => Verdict::pass("CSIDriver smb.csi.k8s.io"),
                    Ok(false) => Verdict::fail("CSIDriver smb.csi.k8s.io not found"),
                    Err(e) => probe_failed(e),
                }
            })
            .await;
        runner
            .check(GPU_NODES, async {
                let Some(c) = &client else { return skip() };
                match probes::gpu_inventory(c).await {
                    Ok(inv) if inv.is_empty() => {
                        Verdict::fail("no node has nvidia.com/gpu allocatable")
                    }
                    Ok(inv) => Verdict::pass(
                        inv.iter()
                            .map(|(product, (nodes, gpus))| {
                                format!("{gpus}× {product} on {nodes} node(s)")
                            })
                            .collect::<Vec<_>>()
                            .join(", "),
                    ),
                    Err(e) => probe_failed(e),
                }
            })
            .await;
        if let Some((ns, name)) = pull_secret {
            runner
                .check(PULL_SECRET, async {
                    let Some(c) = &client else { return skip() };
                    match probes::secret_type(c, &ns, &name).await {
                        Ok(Some(t)) if t == "kubernetes.io/dockerconfigjson" => {
                            Verdict::pass(format!("{ns}/{name}"))
                        }
                        Ok(Some(t)) => Verdict::fail(format!(
                            "Secret {ns}/{name} has type {t}, not kubernetes.io/dockerconfigjson"
                        )),
                        Ok(None) => Verdict::fail(format!("Secret {ns}/{name} not found")),
                        Err(e) => probe_failed(e),
                    }
                })
                .await;
        }
    }
}
