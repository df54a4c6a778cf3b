//! `kubectl nvca doctor`: seed 001's troubleshooting list as checks. Each check shows what
//! it saw and, when it fails, the exact fix. The cluster is read once, in one parallel wave;
//! every check then judges that picture.

use super::agent::Wave;
use super::bootstrap::{
    AGENT_NAMESPACE, ClusterDto, OPERATOR_DEPLOYMENT, read_cluster_dto, started_before,
};
use super::uninstall::{OPERATOR_NAMESPACE, REGISTRATION_CONFIGMAP};
use crate::base::checks::{Runner, Spec, Verdict, spec};
use crate::base::error::{Category, Error, Result};
use crate::base::events::Severity;
use crate::base::secret::Secret;
use crate::clients::kube::identity::discover;
use crate::clients::kube::probes::gpu_inventory;
use crate::clients::kube::workloads::{self, PodSummary};
use crate::clients::nvcf::issuer;
use crate::clients::nvcf::sis::{Cluster, Sis};
use crate::model::profile::Registration;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Pod;
use kube::api::DynamicObject;
use std::collections::BTreeMap;

/// The init container of the v0.5 chart (seed 001), still found on older installs.
pub const BOOTSTRAP_INIT_CONTAINER: &str = "nvca-self-managed-bootstrap";

const REACHABLE: Spec = spec(
    "api-server-reachable",
    "Kubernetes API server reachable",
    "check the context with kubectl cluster-info (pass --context or --kubeconfig for the GPU cluster)",
);
const CLUSTER_CONFIG: Spec = spec(
    "cluster-config",
    "operator's cluster config (nvcfbackend-self-managed) present",
    "install the operator self-managed: {nvca} values > nvca-operator-values.yaml; helm upgrade --install nvca-operator … -n nvca-operator -f nvca-operator-values.yaml",
);
const OPERATOR_RUNNING: Spec = spec(
    "operator-running",
    "operator pod running and ready",
    "read why it does not start: kubectl logs -n nvca-operator -l app.kubernetes.io/name=nvca-operator -c nvca-operator --tail=100",
);
const BOOTSTRAP: Spec = spec(
    "bootstrap-completed",
    "cluster bootstrapped (nvca-cluster-registration written)",
    "run {nvca} bootstrap (registers with SIS, writes the IDs, restarts the operator); a failed in-chart bootstrap logs to: kubectl logs -n nvca-operator -c nvca-self-managed-bootstrap -l app.kubernetes.io/name=nvca-operator",
);
const CLUSTER_IDS: Spec = spec(
    "cluster-ids",
    "clusterId and clusterGroupId populated",
    "the vault token may not have been there when the bootstrap ran: run {nvca} bootstrap (manual registration), which also restarts the operator",
);
const OPERATOR_HAS_IDS: Spec = Spec {
    severity: Severity::Warning,
    ..spec(
        "operator-read-ids",
        "operator started after the IDs were written",
        "the operator reads the IDs only at start: kubectl rollout restart deployment nvca-operator -n nvca-operator && kubectl rollout status deployment nvca-operator -n nvca-operator --timeout=120s",
    )
};
const AGENT_CREATED: Spec = spec(
    "agent-created",
    "NVCFBackend and NVCA agent pod created",
    "the operator creates the agent from the NVCFBackend; look for reconciliation errors: kubectl describe nvcfbackends -n nvca-operator; kubectl logs -n nvca-operator -l app.kubernetes.io/name=nvca-operator -c nvca-operator --tail=100",
);
const VAULT_AGENT: Spec = spec(
    "vault-agent",
    "agent's vault-agent sidecar running",
    "the agent authenticates to OpenBao through it: check OpenBao is healthy (kubectl exec -n vault-system openbao-server-0 -- bao status) and its migration jobs completed (kubectl get jobs -n vault-system); sidecar logs: kubectl logs -n nvca-system -l app.kubernetes.io/name=nvca -c vault-agent --tail=10",
);
const AGENT_READY: Spec = spec(
    "agent-ready",
    "NVCA agent containers ready",
    "kubectl logs -n nvca-system -l app.kubernetes.io/name=nvca -c nvca --tail=100; kubectl describe pods -n nvca-system -l app.kubernetes.io/name=nvca",
);
const SIS_AUTH: Spec = spec(
    "sis-auth",
    "SIS accepts our credentials",
    "SIS answered 401: check nvca-cluster-registration has IDs (else {nvca} bootstrap), that the agent's vault-agent renders its secrets (kubectl logs -n nvca-system -l app.kubernetes.io/name=nvca -c vault-agent --tail=10), and refresh our admin token with {nvcf} init",
);
const PROFILE_TOKEN: Spec = spec(
    "profile-token",
    "the profile's admin token comes from this control plane",
    "the profile holds a token (and API keys) from another control plane, which this one rejects as \"JWT rejected\": re-initialise the profile against this control plane with {nvcf} init",
);
const CREDENTIALS_CACHED: Spec = Spec {
    severity: Severity::Warning,
    ..spec(
        "registry-credentials-cached",
        "NVCA's credential cache holds the newest registry credentials",
        "NVCA refreshes registry credentials about every 5 minutes: deploy after the time named, or a deployment before then may end in ImagePullBackOff with the old credentials ({nvcf} registry-credential list shows them)",
    )
};
const SIS_REGISTERED: Spec = spec(
    "sis-registered",
    "SIS holds the cluster the IDs name",
    "the IDs are stale or the registration was removed: run {nvca} bootstrap to register again and rewrite the IDs",
);
const SIS_KEYS: Spec = spec(
    "sis-keys",
    "SIS holds the cluster's current signing keys",
    "the agent's tokens are signed with keys SIS does not hold, so SIS answers it 401: run {nvca} rotate",
);
const GPUS_ADVERTISED: Spec = spec(
    "gpus-advertised",
    "nodes advertise nvidia.com/gpu",
    "install the NVIDIA GPU Operator (fake-gpu-operator without GPUs) and check: kubectl get nodes -o custom-columns=\"NAME:.metadata.name,GPU:.status.allocatable.nvidia\\.com/gpu\"",
);
const GPUS_DISCOVERED: Spec = spec(
    "gpus-discovered",
    "NVCA discovered the GPUs",
    "check the DynamicGPUDiscovery feature gate (selfManaged.featureGateValues; {nvca} values), then: kubectl get nvcfbackends -n nvca-operator -o jsonpath='{.items[0].status}'; kubectl logs -n nvca-system -l app.kubernetes.io/name=nvca -c nvca --tail=100",
);

/// What SIS answered, and how to ask it.
pub struct SisView<'a> {
    pub sis: &'a Sis<'a>,
    pub default_nca_id: String,
    /// What `kubectl nvca register`/`bootstrap` remembered, for the key comparison.
    pub remembered: Option<Registration>,
    pub api_server: String,
    /// The admin token the profile saved, judged before any call can replace it.
    pub saved_token: Option<Secret>,
}

/// The cluster as read in one wave.
struct Seen {
    dto: Result<ClusterDto>,
    deployment: Result<Option<Deployment>>,
    gpus: Result<BTreeMap<String, (u32, u64)>>,
    wave: Wave,
}

async fn look(client: &kube::Client) -> Seen {
    let (dto, deployment, gpus, wave) = tokio::join!(
        read_cluster_dto(client),
        workloads::get_deployment(client, OPERATOR_NAMESPACE, OPERATOR_DEPLOYMENT),
        gpu_inventory(client),
        Wave::read(client),
    );
    Seen {
        dto,
        deployment,
        gpus,
        wave,
    }
}

fn pods_evidence(pods: &[(Pod, PodSummary)]) -> String {
    pods.iter()
        .map(|(_, s)| {
            let bad: Vec<String> = s
                .containers
                .iter()
                .filter(|c| !c.ready)
                .map(|c| format!("{} {} ({} restarts)", c.name, c.state, c.restarts))
                .collect();
            if bad.is_empty() {
                format!("{} {} ({} ready)", s.name, s.phase, s.ready_count())
            } else {
                format!("{} {}: {}", s.name, s.phase, bad.join(", "))
            }
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// The failed v0.5 bootstrap init container, if an operator pod has one.
fn failed_init(pods: &[(Pod, PodSummary)]) -> Option<String> {
    pods.iter().find_map(|(p, s)| {
        let st = p
            .status
            .as_ref()?
            .init_container_statuses
            .as_ref()?
            .iter()
            .find(|c| c.name == BOOTSTRAP_INIT_CONTAINER)?;
        let state = st.state.as_ref()?;
        if let Some(t) = &state.terminated {
            return (t.exit_code != 0).then(|| {
                format!(
                    "pod {}: init container {BOOTSTRAP_INIT_CONTAINER} exited with code {} ({})",
                    s.name,
                    t.exit_code,
                    t.reason.clone().unwrap_or_default()
                )
            });
        }
        state.waiting.as_ref().map(|w| {
            format!(
                "pod {}: init container {BOOTSTRAP_INIT_CONTAINER} waiting: {} ({} restarts)",
                s.name,
                w.reason.clone().unwrap_or_default(),
                st.restart_count
            )
        })
    })
}

fn ids_of(seen: &Seen) -> Option<(String, String)> {
    let ids = seen.wave.ids.as_ref().ok()?.as_ref()?;
    let get = |k: &str| ids.data.get(k).cloned().unwrap_or_default();
    Some((get("clusterId"), get("clusterGroupId")))
}

fn gpu_total(backend: &DynamicObject) -> (usize, i64) {
    let usage = backend.data["status"]["gpuUsage"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let capacity = usage
        .iter()
        .map(|g| g["capacity"].as_i64().unwrap_or(0))
        .sum();
    (usage.len(), capacity)
}

fn err_verdict(e: &Error) -> Verdict {
    Verdict::fail(e.message().to_owned())
}

/// Runs every check against `client` (or reports it unreachable) and, when given, SIS.
pub async fn run(runner: &mut Runner, client: Result<kube::Client>, sis: Result<SisView<'_>>) {
    runner.begin_category("cluster");
    let client = match client {
        Ok(c) => match crate::clients::kube::probes::server_version(&c).await {
            Ok(v) => {
                runner.check(REACHABLE, async { Verdict::pass(v) }).await;
                Some(c)
            }
            Err(e) => {
                runner.check(REACHABLE, async { err_verdict(&e) }).await;
                None
            }
        },
        Err(e) => {
            runner.check(REACHABLE, async { err_verdict(&e) }).await;
            None
        }
    };
    let Some(client) = client else {
        return;
    };
    let seen = look(&client).await;
    operator_checks(runner, &seen).await;
    agent_checks(runner, &seen).await;
    sis_checks(runner, &seen, &client, sis).await;
    gpu_checks(runner, &seen).await;
    // A wrong key surfaces only when a pod is next scheduled (ImagePullBackOff): log in now.
    runner.begin_category("registry credentials");
    runner
        .check(
            super::validate::PULL,
            super::validate::pull_secrets(&client),
        )
        .await;
}

async fn operator_checks(runner: &mut Runner, seen: &Seen) {
    runner.begin_category("NVCA operator");
    runner
        .check(CLUSTER_CONFIG, async {
            match &seen.dto {
                Ok(d) => Verdict::pass(format!(
                    "cluster {}, account {}",
                    d.cluster_name,
                    if d.nca_id.is_empty() {
                        "from the profile"
                    } else {
                        &d.nca_id
                    }
                )),
                Err(e) => err_verdict(e),
            }
        })
        .await;
    runner
        .check(OPERATOR_RUNNING, async {
            match (&seen.deployment, &seen.wave.operator_pods) {
                (Err(e), _) | (_, Err(e)) => err_verdict(e),
                (Ok(None), _) => Verdict::fail(format!(
                    "Deployment {OPERATOR_NAMESPACE}/{OPERATOR_DEPLOYMENT} does not exist"
                )),
                (Ok(Some(_)), Ok(pods)) if pods.is_empty() => Verdict::fail(format!(
                    "Deployment {OPERATOR_NAMESPACE}/{OPERATOR_DEPLOYMENT} has no pods"
                )),
                (Ok(Some(_)), Ok(pods)) if pods.iter().all(|(_, s)| s.ready) => {
                    Verdict::pass(pods_evidence(pods))
                }
                (Ok(Some(_)), Ok(pods)) => Verdict::fail(pods_evidence(pods)),
            }
        })
        .await;

    runner.begin_category("registration");
    runner
        .check(BOOTSTRAP, async {
            let init = seen.wave.operator_pods.as_ref().ok().and_then(|p| failed_init(p));
            match (&seen.wave.ids, init) {
                (_, Some(evidence)) => Verdict::fail(evidence),
                (Err(e), _) => err_verdict(e),
                (Ok(None), _) => Verdict::fail(format!(
                    "ConfigMap {OPERATOR_NAMESPACE}/{REGISTRATION_CONFIGMAP} does not exist: the cluster was never bootstrapped"
                )),
                (Ok(Some(_)), None) => {
                    Verdict::pass(format!("{OPERATOR_NAMESPACE}/{REGISTRATION_CONFIGMAP}"))
                }
            }
        })
        .await;
    let ids = ids_of(seen);
    runner
        .check(CLUSTER_IDS, async {
            match &ids {
                None => Verdict::skip("no registration ConfigMap"),
                Some((id, group)) if !id.is_empty() && !group.is_empty() => {
                    Verdict::pass(format!("clusterId {id}, clusterGroupId {group}"))
                }
                Some((id, group)) => {
                    let empty: Vec<&str> = [("clusterId", id), ("clusterGroupId", group)]
                        .iter()
                        .filter(|(_, v)| v.is_empty())
                        .map(|(k, _)| *k)
                        .collect();
                    Verdict::fail(format!(
                        "{} empty in {OPERATOR_NAMESPACE}/{REGISTRATION_CONFIGMAP}",
                        empty.join(" and ")
                    ))
                }
            }
        })
        .await;
    runner
        .check(OPERATOR_HAS_IDS, async {
            let written = seen
                .wave
                .ids
                .as_ref()
                .ok()
                .and_then(|i| i.as_ref())
                .and_then(|i| i.written_at.clone());
            let (Some(written), Ok(pods)) = (written, &seen.wave.operator_pods) else {
                return Verdict::skip(format!(
                    "IDs not written by {nvca_cmd0}",
                    nvca_cmd0 = crate::base::plugin::nvca("bootstrap")
                ));
            };
            let stale: Vec<String> = pods
                .iter()
                .filter(|(p, _)| started_before(p, &written))
                .map(|(_, s)| format!("{} started {}", s.name, s.created))
                .collect();
            if stale.is_empty() {
                Verdict::pass(format!("IDs written {written}"))
            } else {
                Verdict::fail(format!(
                    "{}, before the IDs were written at {written}: it runs without them",
                    stale.join(", ")
                ))
            }
        })
        .await;
}

async fn agent_checks(runner: &mut Runner, seen: &Seen) {
    runner.begin_category("NVCA agent");
    let agent_pods = seen
        .wave
        .agent_pods
        .as_ref()
        .ok()
        .cloned()
        .unwrap_or_default();
    runner
        .check(AGENT_CREATED, async {
            let backends = match &seen.wave.backends {
                Ok(b) => b,
                Err(e) => return err_verdict(e),
            };
            let backend = backends.first();
            match (backend, agent_pods.is_empty()) {
                (None, _) => {
                    let why = match ids_of(seen) {
                        Some((id, _)) if !id.is_empty() => {
                            "the operator has not created it".to_owned()
                        }
                        _ => "the operator creates it only once it has cluster IDs".to_owned(),
                    };
                    Verdict::fail(format!("no NVCFBackend in {OPERATOR_NAMESPACE}: {why}"))
                }
                (Some(b), true) => Verdict::fail(format!(
                    "NVCFBackend {} exists (agentStatus {}) but {AGENT_NAMESPACE} has no agent pod",
                    b.metadata.name.clone().unwrap_or_default(),
                    b.data["status"]["agentStatus"]
                        .as_str()
                        .unwrap_or("Unknown")
                )),
                (Some(b), false) => Verdict::pass(format!(
                    "NVCFBackend {}, {}",
                    b.metadata.name.clone().unwrap_or_default(),
                    pods_evidence(&agent_pods)
                )),
            }
        })
        .await;
    let container = |want: bool| {
        agent_pods
            .iter()
            .flat_map(|(_, s)| {
                s.containers
                    .iter()
                    .filter(move |c| (c.name == "vault-agent") == want)
                    .map(move |c| (s.name.clone(), c.clone()))
            })
            .collect::<Vec<_>>()
    };
    let judge = |containers: Vec<(String, workloads::ContainerState)>| {
        if containers.is_empty() {
            return Verdict::skip("no agent pod");
        }
        let bad: Vec<String> = containers
            .iter()
            .filter(|(_, c)| !c.ready)
            .map(|(pod, c)| format!("{pod}/{}: {} ({} restarts)", c.name, c.state, c.restarts))
            .collect();
        if bad.is_empty() {
            Verdict::pass(
                containers
                    .iter()
                    .map(|(_, c)| c.name.clone())
                    .collect::<Vec<_>>()
                    .join(", "),
            )
        } else {
            Verdict::fail(bad.join("; "))
        }
    };
    runner
        .check(VAULT_AGENT, async { judge(container(true)) })
        .await;
    runner
        .check(AGENT_READY, async { judge(container(false)) })
        .await;
}

async fn sis_checks(
    runner: &mut Runner,
    seen: &Seen,
    client: &kube::Client,
    sis: Result<SisView<'_>>,
) {
    runner.begin_category("control plane (SIS)");
    let view = match sis {
        Ok(v) => v,
        Err(e) => {
            let why = format!("no NVCF connection: {}", e.message());
            runner
                .check(SIS_AUTH, async { Verdict::skip(why.clone()) })
                .await;
            runner
                .check(SIS_REGISTERED, async { Verdict::skip(why.clone()) })
                .await;
            runner
                .check(PROFILE_TOKEN, async { Verdict::skip(why.clone()) })
                .await;
            runner
                .check(CREDENTIALS_CACHED, async { Verdict::skip(why.clone()) })
                .await;
            runner.check(SIS_KEYS, async { Verdict::skip(why) }).await;
            return;
        }
    };
    let nca = seen
        .dto
        .as_ref()
        .ok()
        .map(|d| d.nca_id.clone())
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| view.default_nca_id.clone());
    runner.check(PROFILE_TOKEN, token_origin(&view)).await;
    runner
        .check(
            CREDENTIALS_CACHED,
            super::credential_cache::verdict(view.sis.client),
        )
        .await;
    let listed: Result<Vec<Cluster>> = view.sis.list(&nca).await;
    runner
        .check(SIS_AUTH, async {
            match &listed {
                Ok(all) => Verdict::pass(format!("account {nca}: {} cluster(s)", all.len())),
                Err(e) if e.category() == Category::Auth => Verdict::fail(format!(
                    "SIS answered 401 Unauthorized listing the clusters of {nca}: {}",
                    e.message()
                )),
                Err(e) => err_verdict(e),
            }
        })
        .await;
    let ids = ids_of(seen).filter(|(id, _)| !id.is_empty());
    runner
        .check(SIS_REGISTERED, async {
            let Ok(all) = &listed else {
                return Verdict::skip("SIS could not be read");
            };
            let Some((id, _)) = &ids else {
                return Verdict::skip("no cluster IDs to look up");
            };
            match all.iter().find(|c| &c.cluster_id == id) {
                Some(c) => Verdict::pass(format!(
                    "{} ({}), status {}",
                    c.cluster_name,
                    c.cluster_id,
                    c.status.clone().unwrap_or_else(|| "unknown".into())
                )),
                None => Verdict::fail(format!(
                    "SIS has no cluster {id} in account {nca}: nvca-cluster-registration names a registration that does not exist"
                )),
            }
        })
        .await;
    runner
        .check(SIS_KEYS, async {
            let Some(reg) = &view.remembered else {
                return Verdict::skip("this profile has not registered the cluster");
            };
            match discover(client, &view.api_server, None).await {
                Ok(now) if now.fingerprint == reg.jwks_fingerprint => {
                    Verdict::pass(format!("keys {}", now.key_ids.join(", ")))
                }
                Ok(now) => Verdict::fail(format!(
                    "SIS holds keys {} ({}), the cluster signs with {} ({})",
                    reg.key_ids.join(", "),
                    reg.jwks_fingerprint,
                    now.key_ids.join(", "),
                    now.fingerprint
                )),
                Err(e) => err_verdict(&e),
            }
        })
        .await;
}

/// Whether the saved admin token was signed by this control plane's issuer.
async fn token_origin(view: &SisView<'_>) -> Verdict {
    let Some(token) = view.saved_token.as_ref().filter(|t| !t.is_empty()) else {
        return Verdict::skip("the profile has no saved admin token");
    };
    let origin = match issuer::origin(token) {
        Ok(o) => o,
        Err(e) => return err_verdict(&e),
    };
    match issuer::published(view.sis.client).await {
        Ok(here) => match issuer::compare(&origin, &here) {
            Ok(evidence) => Verdict::pass(evidence),
            Err(problem) => Verdict::fail(problem),
        },
        Err(e) => Verdict::skip(format!(
            "the control plane's signing keys could not be read: {}",
            e.message()
        )),
    }
}

async fn gpu_checks(runner: &mut Runner, seen: &Seen) {
    runner.begin_category("GPUs");
    let advertised: u64 = seen
        .gpus
        .as_ref()
        .map(|g| g.values().map(|(_, n)| n).sum())
        .unwrap_or(0);
    runner
        .check(GPUS_ADVERTISED, async {
            match &seen.gpus {
                Err(e) => err_verdict(e),
                Ok(g) if g.is_empty() => Verdict::fail(
                    "no node advertises nvidia.com/gpu allocatable: the GPU Operator's device plugin is missing or not ready",
                ),
                Ok(g) => Verdict::pass(
                    g.iter()
                        .map(|(product, (nodes, n))| format!("{n}× {product} on {nodes} node(s)"))
                        .collect::<Vec<_>>()
                        .join(", "),
                ),
            }
        })
        .await;
    runner
        .check(GPUS_DISCOVERED, async {
            let Some(b) = seen.wave.backends.as_ref().ok().and_then(|b| b.first()) else {
                return Verdict::skip("no NVCFBackend");
            };
            let name = b.metadata.name.clone().unwrap_or_default();
            match gpu_total(b) {
                (types, capacity) if types > 0 && capacity > 0 => Verdict::pass(format!(
                    "NVCFBackend {name}: {capacity} GPU(s) of {types} type(s)"
                )),
                _ => Verdict::fail(format!(
                    "NVCFBackend {name} reports no GPUs in status.gpuUsage while nodes advertise {advertised}"
                )),
            }
        })
        .await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod(value: serde_json::Value) -> (Pod, PodSummary) {
        let pod: Pod = serde_json::from_value(value).expect("a Pod");
        let summary = PodSummary::of(&pod);
        (pod, summary)
    }

    fn operator_pod(init: serde_json::Value, ready: bool) -> (Pod, PodSummary) {
        pod(json!({
            "metadata": {"name": "nvca-operator-abc", "namespace": OPERATOR_NAMESPACE},
            "spec": {"containers": [{"name": "nvca-operator"}]},
            "status": {
                "phase": "Running",
                "initContainerStatuses": [init],
                "containerStatuses": [{
                    "name": "nvca-operator", "ready": ready, "restartCount": 4,
                    "image": "x", "imageID": "",
                    "state": if ready { json!({"running": {}}) } else { json!({"waiting": {"reason": "CrashLoopBackOff"}}) },
                }],
            },
        }))
    }

    #[test]
    fn a_failed_or_crashing_bootstrap_init_container_is_named_with_its_pod() {
        let exited = operator_pod(
            json!({"name": BOOTSTRAP_INIT_CONTAINER, "ready": false, "restartCount": 0,
                   "image": "x", "imageID": "",
                   "state": {"terminated": {"exitCode": 3, "reason": "Error"}}}),
            false,
        );
        let found = failed_init(std::slice::from_ref(&exited)).expect("a failed init");
        assert!(
            found.contains("nvca-operator-abc") && found.contains("code 3 (Error)"),
            "{found}"
        );

        let waiting = operator_pod(
            json!({"name": BOOTSTRAP_INIT_CONTAINER, "ready": false, "restartCount": 7,
                   "image": "x", "imageID": "",
                   "state": {"waiting": {"reason": "CrashLoopBackOff"}}}),
            false,
        );
        let found = failed_init(std::slice::from_ref(&waiting)).unwrap();
        assert!(found.contains("CrashLoopBackOff (7 restarts)"), "{found}");

        let done = operator_pod(
            json!({"name": BOOTSTRAP_INIT_CONTAINER, "ready": false, "restartCount": 0,
                   "image": "x", "imageID": "",
                   "state": {"terminated": {"exitCode": 0}}}),
            true,
        );
        assert_eq!(
            failed_init(&[done]),
            None,
            "a bootstrap that exited 0 is fine"
        );
    }

    #[test]
    fn pod_evidence_names_the_containers_that_are_not_ready() {
        let crashing = operator_pod(
            json!({"name": "other", "ready": true, "restartCount": 0, "image": "x", "imageID": ""}),
            false,
        );
        let text = pods_evidence(&[crashing]);
        assert!(text.contains("nvca-operator-abc Running"), "{text}");
        assert!(
            text.contains("nvca-operator") && text.contains("(4 restarts)"),
            "{text}"
        );
    }

    #[test]
    fn gpus_are_counted_from_the_backends_usage() {
        let backend: DynamicObject = serde_json::from_value(json!({
            "metadata": {"name": "nvcf-backend"},
            "status": {"gpuUsage": [{"name": "H100", "capacity": 8}, {"name": "A10G", "capacity": 2}]},
        }))
        .unwrap();
        assert_eq!(gpu_total(&backend), (2, 10));
        let empty: DynamicObject =
            serde_json::from_value(json!({"metadata": {"name": "b"}})).unwrap();
        assert_eq!(gpu_total(&empty), (0, 0));
    }
}
