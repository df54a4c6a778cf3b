//! `ops health`: seed 002's health overview as checks, shaped like `check --pre`: every
//! control-plane workload's rollout by namespace, OpenBao's seal status per pod (Ready does
//! not prove unsealed, runbooks.md §2.3), the NATS cluster's routes, and Cassandra's nodes.

use super::restart::pods_of;
use super::rollout::{deployment_state, statefulset_state};
use super::services::{self, Kind, Service};
use crate::base::checks::{Named, Runner, Verdict};
use crate::base::events::Severity;
use crate::clients::kube::{Objects, objects};
use crate::clients::openbao::OpenBao;
use crate::model::stack::catalog::{Catalog, Plane};
use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::core::v1::Pod;
use serde_json::Value;
use std::collections::BTreeSet;

fn named(id: String, title: String, hint: String) -> Named {
    Named {
        id,
        title,
        severity: Severity::Error,
        hint,
        hint_url: None,
    }
}

/// What one namespace runs.
struct Found {
    namespace: String,
    deployments: Result<Vec<Deployment>, crate::Error>,
    statefulsets: Result<Vec<StatefulSet>, crate::Error>,
}

async fn list(client: &kube::Client, ns: String) -> Found {
    let (deployments, statefulsets) = futures_util::future::join(
        Objects::<Deployment>::namespaced(client, &ns).list(&Default::default()),
        Objects::<StatefulSet>::namespaced(client, &ns).list(&Default::default()),
    )
    .await;
    Found {
        deployments,
        statefulsets,
        namespace: ns,
    }
}

pub async fn run(runner: &mut Runner, client: &kube::Client) {
    let catalog = Catalog::embedded();
    let all = services::services(catalog);
    let namespaces: BTreeSet<String> = all
        .iter()
        .filter(|s| s.plane == Plane::Control)
        .map(|s| s.namespace.clone())
        .collect();
    // One wave of list calls for every namespace.
    let found =
        futures_util::future::join_all(namespaces.into_iter().map(|ns| list(client, ns))).await;
    for f in &found {
        workloads(runner, f).await;
    }
    let present = |kind: Kind, name: &str, ns: &str| {
        found
            .iter()
            .filter(|f| f.namespace == ns)
            .any(|f| match kind {
                Kind::Deployment => f
                    .deployments
                    .as_ref()
                    .is_ok_and(|v| v.iter().any(|d| d.metadata.name.as_deref() == Some(name))),
                Kind::StatefulSet => f
                    .statefulsets
                    .as_ref()
                    .is_ok_and(|v| v.iter().any(|d| d.metadata.name.as_deref() == Some(name))),
            })
    };
    for (release, check) in [
        ("openbao-server", Infra::OpenBao),
        ("nats", Infra::Nats),
        ("cassandra", Infra::Cassandra),
    ] {
        let Some(svc) = all
            .iter()
            .find(|s| s.release == release && s.kind == Kind::StatefulSet)
        else {
            continue;
        };
        runner.begin_category(check.category());
        if !present(Kind::StatefulSet, &svc.resource, &svc.namespace) {
            runner
                .check_named(
                    named(
                        format!("{release}-installed"),
                        format!("{} is installed", svc.service),
                        String::new(),
                    ),
                    async {
                        Verdict::skip(format!(
                            "no StatefulSet {} in {}",
                            svc.resource, svc.namespace
                        ))
                    },
                )
                .await;
            continue;
        }
        match check {
            Infra::OpenBao => openbao(runner, client, svc).await,
            Infra::Nats => nats(runner, client, svc).await,
            Infra::Cassandra => cassandra(runner, client, svc).await,
        }
    }
}

#[derive(Clone, Copy)]
enum Infra {
    OpenBao,
    Nats,
    Cassandra,
}

impl Infra {
    fn category(self) -> &'static str {
        match self {
            Infra::OpenBao => "openbao seal status",
            Infra::Nats => "nats cluster",
            Infra::Cassandra => "cassandra nodes",
        }
    }
}

async fn workloads(runner: &mut Runner, f: &Found) {
    runner.begin_category(&format!("workloads in {}", f.namespace));
    let (deployments, statefulsets) = match (&f.deployments, &f.statefulsets) {
        (Ok(d), Ok(s)) => (d, s),
        (Err(e), _) | (_, Err(e)) => {
            let message = e.message();
            runner
                .check_named(
                    named(
                        format!("{}-readable", f.namespace),
                        format!("workloads in {} readable", f.namespace),
                        "use a context allowed to list deployments and statefulsets there".into(),
                    ),
                    async { Verdict::fail(message) },
                )
                .await;
            return;
        }
    };
    if deployments.is_empty() && statefulsets.is_empty() {
        runner
            .check_named(
                named(
                    format!("{}-workloads", f.namespace),
                    format!("workloads in {}", f.namespace),
                    String::new(),
                ),
                async { Verdict::skip("none installed") },
            )
            .await;
        return;
    }
    let rows = deployments
        .iter()
        .map(|d| {
            (
                Kind::Deployment,
                d.metadata.name.clone().unwrap_or_default(),
                deployment_state(d),
            )
        })
        .chain(statefulsets.iter().map(|s| {
            (
                Kind::StatefulSet,
                s.metadata.name.clone().unwrap_or_default(),
                statefulset_state(s),
            )
        }));
    for (kind, name, st) in rows {
        let reference = format!("{}/{name}", kind.as_str().to_ascii_lowercase());
        let hint = format!(
            "kubectl get pods -n {} and kubectl describe {reference} -n {}; restart with {nvcf_cmd0} {reference} -n {}",
            f.namespace,
            f.namespace,
            f.namespace,
            nvcf_cmd0 = crate::base::plugin::nvcf("ops restart")
        );
        let verdict = if st.done && st.ready >= st.desired {
            Verdict::pass(format!("{}/{} ready", st.ready, st.desired))
        } else if let Some(why) = &st.stuck {
            Verdict::fail(why.clone())
        } else {
            Verdict::fail(format!("rollout not complete: {}", st.summary()))
        };
        runner
            .check_named(
                named(
                    format!("{}-{name}", f.namespace),
                    format!("{reference} rolled out"),
                    hint,
                ),
                async { verdict },
            )
            .await;
    }
}

async fn openbao(runner: &mut Runner, client: &kube::Client, svc: &Service) {
    let pods = match pods_of(client, svc).await {
        Ok(p) => p,
        Err(e) => {
            let m = e.message();
            runner
                .check_named(
                    named(
                        "openbao-pods".into(),
                        "OpenBao pods listed".into(),
                        "kubectl get pods -n vault-system".into(),
                    ),
                    async { Verdict::fail(m) },
                )
                .await;
            return;
        }
    };
    let bao = OpenBao::new(client.clone());
    for pod in pods {
        let verdict = match bao.seal_status_of_pod(&pod).await {
            Ok(s) if !s.initialized => {
                Verdict::fail("not initialized (its readiness probe passes anyway: uninitcode=204)")
            }
            Ok(s) if s.sealed => {
                Verdict::fail("sealed (its readiness probe passes anyway: sealedcode=204)")
            }
            Ok(s) => Verdict::pass(format!("unsealed, {}", s.version)),
            Err(e) => Verdict::fail(e.message()),
        };
        let hint = format!(
            "the auto-unseal sidecar unseals within ~70s; if it stays sealed: kubectl logs -n {} {pod} -c auto-unseal-sidecar",
            svc.namespace
        );
        runner
            .check_named(
                named(format!("openbao-{pod}"), format!("{pod} unsealed"), hint),
                async { verdict },
            )
            .await;
    }
}

/// The distinct peers a NATS server routes to, from its `/routez`.
pub fn route_peers(routez: &Value) -> BTreeSet<String> {
    routez
        .get("routes")
        .and_then(Value::as_array)
        .map(|routes| {
            routes
                .iter()
                .filter_map(|r| {
                    r.get("remote_name")
                        .or_else(|| r.get("remote_id"))
                        .and_then(Value::as_str)
                        .map(str::to_owned)
                })
                .collect()
        })
        .unwrap_or_default()
}

async fn nats(runner: &mut Runner, client: &kube::Client, svc: &Service) {
    let pods = pods_of(client, svc).await.unwrap_or_default();
    let expected = pods.len().saturating_sub(1);
    for pod in pods {
        let routez = objects::pod_proxy_get(client, &svc.namespace, &pod, 8222, "routez")
            .await
            .map_err(|e| e.message())
            .and_then(|text| {
                serde_json::from_str::<Value>(&text)
                    .map_err(|e| format!("/routez of {pod} is not JSON: {e}"))
            });
        let verdict = match routez {
            Ok(routez) => {
                let peers = route_peers(&routez);
                if peers.len() >= expected {
                    Verdict::pass(format!("routes to {} peer(s)", peers.len()))
                } else {
                    Verdict::fail(format!(
                        "routes to {} of {expected} peers: the cluster has not formed",
                        peers.len()
                    ))
                }
            }
            Err(e) => Verdict::fail(e),
        };
        let hint = format!(
            "look at the route errors: kubectl logs -n {} {pod} -c nats --tail=50",
            svc.namespace
        );
        runner
            .check_named(
                named(
                    format!("nats-{pod}"),
                    format!("{pod} routes to every peer"),
                    hint,
                ),
                async { verdict },
            )
            .await;
    }
}

async fn cassandra(runner: &mut Runner, client: &kube::Client, svc: &Service) {
    let pods = Objects::<Pod>::namespaced(client, &svc.namespace);
    for name in pods_of(client, svc).await.unwrap_or_default() {
        let verdict = match pods.get(&name).await {
            Ok(p) => {
                let ready = p
                    .status
                    .and_then(|s| s.conditions)
                    .unwrap_or_default()
                    .iter()
                    .any(|c| c.type_ == "Ready" && c.status == "True");
                if ready {
                    Verdict::pass("Up/Normal by its readiness probe (nodetool status shows it UN)")
                } else {
                    Verdict::fail(
                        "not Ready: its readiness probe finds it not Up/Normal in nodetool status",
                    )
                }
            }
            Err(e) => Verdict::fail(e.message()),
        };
        let hint = format!(
            "kubectl describe pod {name} -n {} (OOMKilled or startup-probe failures are the usual causes)",
            svc.namespace
        );
        runner
            .check_named(
                named(
                    format!("cassandra-{name}"),
                    format!("{name} Up/Normal"),
                    hint,
                ),
                async { verdict },
            )
            .await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peers_are_counted_once_however_many_pooled_routes_lead_to_them() {
        let routez = serde_json::json!({"routes": [
            {"remote_name": "nats-1"}, {"remote_name": "nats-1"}, {"remote_name": "nats-2"}
        ]});
        assert_eq!(route_peers(&routez).len(), 2);
        assert!(route_peers(&serde_json::json!({})).is_empty());
    }
}
