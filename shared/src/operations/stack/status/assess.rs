//! From observed objects to health: every catalog release, the NVCFBackends, recent
//! Warning events. Pure, so the one-shot view and each watch update agree.

use super::observe::{BACKEND, EVENT, HELM, Observed, REGISTRATION, REGISTRATION_CONFIGMAP};
use crate::base::events::Ts;
use crate::model::stack::catalog::{Catalog, Plane, Release, Workload, install_order};
use kube::api::DynamicObject;
use serde::Serialize;
use serde_json::Value;

/// Seed 002's service reference table: the services operators name, by release.
pub const SERVICES: [(&str, &str); 12] = [
    ("api", "NVCF API"),
    ("invocation-service", "Invocation Service"),
    ("grpc-proxy", "gRPC Proxy"),
    ("notary-service", "Notary Service"),
    ("sis", "Spot Instance Service"),
    ("api-keys", "API Keys Service"),
    ("admin-issuer-proxy", "Admin Issuer Proxy"),
    ("ess-api", "ESS API"),
    ("nats", "NATS"),
    ("openbao-server", "OpenBao"),
    ("cassandra", "Cassandra"),
    ("nvca-operator", "NVCA Operator"),
];

/// Seed 002's last row: the Gateway controller, which the cluster's topology owns.
pub const ENVOY_GATEWAY: (&str, &str) = ("envoy-gateway-system", "envoy-gateway");

const EVENT_WINDOW_SEC: u64 = 3600;
const EVENT_LIMIT: usize = 15;

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct WorkloadHealth {
    pub kind: String,
    pub name: String,
    pub namespace: String,
    /// `ready`, `not-ready`, `missing`.
    pub state: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ready: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub desired: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ReleaseHealth {
    pub release: String,
    /// The seed 002 service name, when the release is one of those services.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    pub plane: Plane,
    pub namespace: String,
    /// `healthy`, `degraded`, `progressing`, `failed`, `missing` (required but not
    /// installed), `not-installed` (optional, or nothing of its plane is installed),
    /// `unknown` (not readable).
    pub state: String,
    /// The helm release's status and revision (`deployed`, `failed`, `pending-upgrade`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub helm_status: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revision: Option<u32>,
    pub workloads: Vec<WorkloadHealth>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct BackendHealth {
    pub name: String,
    pub namespace: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// The operator's `status.agentStatus` (or `status.health`), as reported.
    pub health: String,
    pub healthy: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct WarningEvent {
    pub age_sec: u64,
    pub namespace: String,
    pub object: String,
    pub reason: String,
    pub message: String,
    pub count: u32,
    pub plane: Plane,
}

/// The stack's health as one value.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct StackHealth {
    /// `healthy`, `degraded`, `not-installed`, `unknown`.
    pub verdict: String,
    pub releases: Vec<ReleaseHealth>,
    pub backends: Vec<BackendHealth>,
    pub events: Vec<WarningEvent>,
    /// The ids the NVCA operator holds (`nvca-cluster-registration`), when installed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cluster_registration: Option<ClusterIds>,
    /// Reads that failed (kind → error), so a partial view says so.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unreadable: Vec<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ClusterIds {
    pub cluster_id: String,
    pub cluster_group_id: String,
}

/// What each plane's cluster showed (the same value twice on a single cluster).
pub struct Views<'a> {
    pub control: &'a Observed,
    pub compute: &'a Observed,
}

impl Views<'_> {
    fn of(&self, plane: Plane) -> &Observed {
        match plane {
            Plane::Control => self.control,
            Plane::Compute => self.compute,
        }
    }
}

fn str_at<'a>(v: &'a Value, ptr: &str) -> Option<&'a str> {
    v.pointer(ptr).and_then(Value::as_str)
}

fn u32_at(v: &Value, ptr: &str) -> Option<u32> {
    v.pointer(ptr)
        .and_then(Value::as_u64)
        .and_then(|n| u32::try_from(n).ok())
}

fn label<'a>(o: &'a DynamicObject, key: &str) -> Option<&'a str> {
    o.metadata.labels.as_ref()?.get(key).map(String::as_str)
}

/// The latest revision of `release` among the helm release Secrets, preferring `ns`.
fn helm_revision<'a>(
    seen: &'a Observed,
    release: &str,
    ns: &str,
) -> Option<(&'a str, u32, &'a str)> {
    let mut revisions: Vec<(&str, u32, &str)> = seen
        .of(HELM)
        .filter(|o| label(o, "name") == Some(release))
        .filter_map(|o| {
            let version = label(o, "version")?.parse().ok()?;
            let status = label(o, "status").unwrap_or("unknown");
            Some((
                o.metadata.namespace.as_deref().unwrap_or(""),
                version,
                status,
            ))
        })
        .collect();
    revisions.sort_by_key(|(n, v, _)| (*n == ns, *v));
    revisions.pop()
}

/// Finds a workload object: in the release's namespace, else one the release labelled as
/// its own, else (cluster-scoped kinds, routes in the Gateway's namespace) by name alone.
fn find<'a>(
    seen: &'a Observed,
    w: &Workload,
    ns: &str,
    release: &str,
) -> Option<&'a DynamicObject> {
    seen.get(&w.kind, ns, &w.name)
        .or_else(|| {
            seen.of(&w.kind).find(|o| {
                o.metadata.name.as_deref() == Some(&w.name)
                    && label(o, "app.kubernetes.io/instance") == Some(release)
            })
        })
        .or_else(|| {
            seen.of(&w.kind)
                .find(|o| o.metadata.name.as_deref() == Some(&w.name))
        })
}

fn workload_health(seen: &Observed, w: &Workload, ns: &str, release: &str) -> WorkloadHealth {
    let mut h = WorkloadHealth {
        kind: w.kind.clone(),
        name: w.name.clone(),
        namespace: ns.to_owned(),
        state: "missing".into(),
        ready: None,
        desired: None,
        message: None,
    };
    if seen.unreadable.contains_key(&w.kind) {
        h.state = "unknown".into();
        h.message = Some(format!("{} could not be read", w.kind));
        return h;
    }
    let Some(obj) = find(seen, w, ns, release) else {
        return h;
    };
    h.namespace = obj.metadata.namespace.clone().unwrap_or_default();
    let ok = match w.health.as_str() {
        // OpenBao's readiness probe is its seal status (`sys/health`), so Ready means unsealed.
        "readyReplicas" | "openbaoUnsealed" => {
            let desired = u32_at(&obj.data, "/spec/replicas").unwrap_or(1);
            let ready = u32_at(&obj.data, "/status/readyReplicas").unwrap_or(0);
            h.ready = Some(ready);
            h.desired = Some(desired);
            if ready < desired {
                h.message = Some(format!("{ready}/{desired} ready"));
            }
            ready >= desired
        }
        "routeAccepted" => {
            let accepted = obj
                .data
                .pointer("/status/parents")
                .and_then(Value::as_array)
                .is_some_and(|parents| {
                    !parents.is_empty()
                        && parents.iter().all(|p| {
                            p.get("conditions")
                                .and_then(Value::as_array)
                                .is_some_and(|cs| {
                                    cs.iter().any(|c| {
                                        str_at(c, "/type") == Some("Accepted")
                                            && str_at(c, "/status") == Some("True")
                                    })
                                })
                        })
                });
            if !accepted {
                h.message = Some("not accepted by its Gateway yet".into());
            }
            accepted
        }
        _ => true,
    };
    h.state = if ok { "ready" } else { "not-ready" }.into();
    h
}

fn failed_jobs(seen: &Observed, release: &str, ns: &str) -> Vec<String> {
    seen.of("Job")
        .filter(|j| j.metadata.namespace.as_deref() == Some(ns))
        .filter(|j| label(j, "app.kubernetes.io/instance") == Some(release))
        .filter(|j| {
            j.data
                .pointer("/status/conditions")
                .and_then(Value::as_array)
                .is_some_and(|cs| {
                    cs.iter().any(|c| {
                        str_at(c, "/type") == Some("Failed") && str_at(c, "/status") == Some("True")
                    })
                })
        })
        .filter_map(|j| j.metadata.name.clone())
        .collect()
}

fn release_health(views: &Views, r: &Release, plane_installed: bool) -> ReleaseHealth {
    let seen = views.of(r.plane);
    let revision = helm_revision(seen, &r.name, &r.namespace);
    let ns = revision
        .map(|(n, _, _)| n.to_owned())
        .unwrap_or_else(|| r.namespace.clone());
    let workloads: Vec<WorkloadHealth> = r
        .workloads
        .iter()
        .map(|w| workload_health(seen, w, &ns, &r.name))
        .collect();
    let service = SERVICES
        .iter()
        .find(|(rel, _)| *rel == r.name)
        .map(|(_, s)| (*s).to_owned());
    let mut h = ReleaseHealth {
        release: r.name.clone(),
        service,
        plane: r.plane,
        namespace: ns.clone(),
        state: String::new(),
        helm_status: revision.map(|(_, _, s)| s.to_owned()),
        revision: revision.map(|(_, v, _)| v),
        workloads,
        message: None,
    };
    let not_ready: Vec<String> = h
        .workloads
        .iter()
        .filter(|w| w.state != "ready")
        .map(|w| match &w.message {
            Some(m) => format!("{}/{} {m}", w.kind, w.name),
            None => format!("{}/{} {}", w.kind, w.name, w.state),
        })
        .collect();
    let (state, message) = match revision {
        None if seen.unreadable.contains_key(HELM) => (
            "unknown",
            Some("helm releases could not be read".to_owned()),
        ),
        None if r.enabled_when.is_empty() && plane_installed => (
            "missing",
            Some("required release is not installed".to_owned()),
        ),
        None => ("not-installed", None),
        Some((_, _, "failed")) => (
            "failed",
            Some("helm reports the last operation failed".to_owned()),
        ),
        Some((_, _, s)) if s.starts_with("pending") || s == "uninstalling" => (
            "progressing",
            Some(format!("helm operation in progress ({s})")),
        ),
        Some(_) => {
            let jobs = failed_jobs(seen, &r.name, &ns);
            if !jobs.is_empty() {
                ("degraded", Some(format!("failed Job: {}", jobs.join(", "))))
            } else if h.workloads.iter().any(|w| w.state == "unknown") {
                ("unknown", Some(not_ready.join("; ")))
            } else if not_ready.is_empty() {
                ("healthy", None)
            } else {
                ("degraded", Some(not_ready.join("; ")))
            }
        }
    };
    h.state = state.into();
    h.message = message;
    h
}

/// The Gateway controller's Deployment, as seed 002 lists it beside the services.
fn envoy_gateway(views: &Views) -> ReleaseHealth {
    let w = Workload {
        kind: "Deployment".into(),
        name: ENVOY_GATEWAY.1.into(),
        service: Some("Envoy Gateway".into()),
        outage: None,
        replicas: None,
        health: "readyReplicas".into(),
        probe: None,
        rotate: None,
    };
    let wh = workload_health(views.control, &w, ENVOY_GATEWAY.0, "");
    let (state, message) = match wh.state.as_str() {
        "ready" => ("healthy", None),
        "missing" => (
            "not-installed",
            Some(
                "part of the cluster's topology (a prerequisite), not installed by the stack"
                    .to_owned(),
            ),
        ),
        "unknown" => ("unknown", wh.message.clone()),
        _ => ("degraded", wh.message.clone()),
    };
    ReleaseHealth {
        release: "envoy-gateway".into(),
        service: Some("Envoy Gateway".into()),
        plane: Plane::Control,
        namespace: ENVOY_GATEWAY.0.into(),
        state: state.into(),
        helm_status: None,
        revision: None,
        workloads: vec![wh],
        message,
    }
}

fn backends(seen: &Observed) -> Vec<BackendHealth> {
    seen.of(BACKEND)
        .map(|b| {
            let health = str_at(&b.data, "/status/agentStatus")
                .or_else(|| str_at(&b.data, "/status/health"))
                .unwrap_or("unknown")
                .to_owned();
            BackendHealth {
                name: b.metadata.name.clone().unwrap_or_default(),
                namespace: b.metadata.namespace.clone().unwrap_or_default(),
                version: str_at(&b.data, "/status/version")
                    .or_else(|| str_at(&b.data, "/spec/version"))
                    .map(str::to_owned),
                healthy: health.eq_ignore_ascii_case("healthy"),
                health,
                message: str_at(&b.data, "/status/message").map(str::to_owned),
            }
        })
        .collect()
}

fn event_time(e: &DynamicObject) -> Option<&str> {
    str_at(&e.data, "/lastTimestamp")
        .or_else(|| str_at(&e.data, "/eventTime"))
        .or_else(|| str_at(&e.data, "/firstTimestamp"))
}

fn warning_events(
    seen: &Observed,
    plane: Plane,
    namespaces: &[String],
    now: u64,
) -> Vec<WarningEvent> {
    seen.of(EVENT)
        .filter(|e| {
            e.metadata
                .namespace
                .as_ref()
                .is_some_and(|ns| namespaces.contains(ns))
        })
        .filter_map(|e| {
            let at = u64::try_from(Ts::parse(event_time(e)?)?.unix()).ok()?;
            let age = now.saturating_sub(at);
            (age <= EVENT_WINDOW_SEC).then(|| WarningEvent {
                age_sec: age,
                namespace: e.metadata.namespace.clone().unwrap_or_default(),
                object: format!(
                    "{}/{}",
                    str_at(&e.data, "/involvedObject/kind").unwrap_or("?"),
                    str_at(&e.data, "/involvedObject/name").unwrap_or("?")
                ),
                reason: str_at(&e.data, "/reason").unwrap_or("").to_owned(),
                message: str_at(&e.data, "/message").unwrap_or("").trim().to_owned(),
                count: u32_at(&e.data, "/count").unwrap_or(1),
                plane,
            })
        })
        .collect()
}

fn registration(seen: &Observed) -> Option<ClusterIds> {
    let cm = seen.get(
        REGISTRATION,
        REGISTRATION_CONFIGMAP.0,
        REGISTRATION_CONFIGMAP.1,
    )?;
    Some(ClusterIds {
        cluster_id: str_at(&cm.data, "/data/clusterId").unwrap_or("").to_owned(),
        cluster_group_id: str_at(&cm.data, "/data/clusterGroupId")
            .unwrap_or("")
            .to_owned(),
    })
}

/// The namespaces whose events belong to the stack: the control plane's include its
/// gateway's.
fn stack_namespaces(catalog: &Catalog, plane: Plane) -> Vec<String> {
    let mut out = catalog.plane_namespaces(plane);
    if plane == Plane::Control {
        out.push(ENVOY_GATEWAY.0.to_owned());
        out.sort();
        out.dedup();
    }
    out
}

/// Health of the whole stack; `now` is Unix seconds (for event ages).
pub fn assess(catalog: &Catalog, views: &Views, now: u64) -> StackHealth {
    let all: Vec<&Release> = catalog.releases.iter().collect();
    let ordered = install_order(&all).unwrap_or(all);
    let installed = |plane: Plane| {
        catalog.releases.iter().any(|r| {
            r.plane == plane && helm_revision(views.of(plane), &r.name, &r.namespace).is_some()
        })
    };
    let (control_installed, compute_installed) =
        (installed(Plane::Control), installed(Plane::Compute));
    let plane_installed = |p: Plane| match p {
        Plane::Control => control_installed,
        Plane::Compute => compute_installed,
    };
    let mut releases: Vec<ReleaseHealth> = Vec::new();
    for (name, _) in SERVICES {
        if let Some(r) = catalog.release(name) {
            releases.push(release_health(views, r, plane_installed(r.plane)));
        }
    }
    releases.push(envoy_gateway(views));
    for r in ordered {
        if !SERVICES.iter().any(|(n, _)| *n == r.name) {
            releases.push(release_health(views, r, plane_installed(r.plane)));
        }
    }
    let backends = backends(views.compute);
    let mut events = warning_events(
        views.control,
        Plane::Control,
        &stack_namespaces(catalog, Plane::Control),
        now,
    );
    if !std::ptr::eq(views.control, views.compute) {
        events.extend(warning_events(
            views.compute,
            Plane::Compute,
            &stack_namespaces(catalog, Plane::Compute),
            now,
        ));
    } else {
        let compute_ns = stack_namespaces(catalog, Plane::Compute);
        for e in warning_events(views.compute, Plane::Compute, &compute_ns, now) {
            if !events
                .iter()
                .any(|x| x.namespace == e.namespace && x.object == e.object && x.reason == e.reason)
            {
                events.push(e);
            }
        }
    }
    events.sort_by(|a, b| {
        a.age_sec
            .cmp(&b.age_sec)
            .then_with(|| a.object.cmp(&b.object))
    });
    events.truncate(EVENT_LIMIT);
    let mut unreadable: Vec<String> = views
        .control
        .unreadable
        .iter()
        .chain(views.compute.unreadable.iter())
        .map(|(k, e)| format!("{k}: {e}"))
        .collect();
    unreadable.sort();
    unreadable.dedup();
    let counted = releases.iter().filter(|r| r.release != "envoy-gateway");
    let verdict = if !control_installed && !compute_installed {
        if unreadable.is_empty() {
            "not-installed"
        } else {
            "unknown"
        }
    } else if counted.clone().any(|r| {
        matches!(
            r.state.as_str(),
            "degraded" | "failed" | "missing" | "progressing"
        )
    }) || (compute_installed
        && (backends.is_empty() || backends.iter().any(|b| !b.healthy)))
    {
        "degraded"
    } else if counted.clone().any(|r| r.state == "unknown") {
        "unknown"
    } else {
        "healthy"
    };
    StackHealth {
        verdict: verdict.into(),
        releases,
        backends,
        events,
        cluster_registration: registration(views.compute),
        unreadable,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn object(value: Value) -> DynamicObject {
        serde_json::from_value(value).expect("a Kubernetes object")
    }

    fn catalog() -> &'static Catalog {
        Catalog::embedded()
    }

    /// A release as helm records it, with every workload the catalog names ready.
    fn installed(seen: &mut Observed, name: &str, status: &str, revision: u32) {
        let r = catalog().require(name).unwrap();
        seen.put(
            HELM,
            object(json!({"metadata": {
                "name": format!("sh.helm.release.v1.{name}.v{revision}"),
                "namespace": r.namespace,
                "labels": {"name": name, "version": revision.to_string(), "status": status},
            }})),
        );
        for w in &r.workloads {
            seen.put(
                &w.kind,
                object(json!({
                    "metadata": {"name": w.name, "namespace": r.namespace},
                    "spec": {"replicas": 2},
                    "status": {"readyReplicas": 2, "parents": [
                        {"conditions": [{"type": "Accepted", "status": "True"}]}
                    ]},
                })),
            );
        }
    }

    fn health<'a>(h: &'a StackHealth, release: &str) -> &'a ReleaseHealth {
        h.releases.iter().find(|r| r.release == release).unwrap()
    }

    fn assess_one(seen: &Observed) -> StackHealth {
        assess(
            catalog(),
            &Views {
                control: seen,
                compute: seen,
            },
            1_800_000_000,
        )
    }

    #[test]
    fn an_empty_cluster_is_not_installed_and_nothing_is_missing() {
        let h = assess_one(&Observed::default());
        assert_eq!(h.verdict, "not-installed");
        assert!(
            h.releases.iter().all(|r| r.state == "not-installed"),
            "{:?}",
            h.releases
        );
    }

    #[test]
    fn once_a_plane_is_installed_its_required_releases_are_missing_until_there() {
        let mut seen = Observed::default();
        installed(&mut seen, "api", "deployed", 3);
        let h = assess_one(&seen);
        let api = health(&h, "api");
        assert_eq!((api.state.as_str(), api.revision), ("healthy", Some(3)));
        assert_eq!(api.service.as_deref(), Some("NVCF API"));
        assert_eq!(health(&h, "sis").state, "missing");
        assert_eq!(h.verdict, "degraded");
    }

    #[test]
    fn helm_status_failed_and_pending_are_reported_as_such() {
        let mut seen = Observed::default();
        installed(&mut seen, "api", "failed", 2);
        installed(&mut seen, "sis", "pending-upgrade", 5);
        let h = assess_one(&seen);
        assert_eq!(health(&h, "api").state, "failed");
        let sis = health(&h, "sis");
        assert_eq!(sis.state, "progressing");
        assert!(sis.message.as_deref().unwrap().contains("pending-upgrade"));
    }

    #[test]
    fn the_newest_revision_in_the_releases_namespace_wins() {
        let mut seen = Observed::default();
        installed(&mut seen, "api", "failed", 1);
        installed(&mut seen, "api", "deployed", 2);
        assert_eq!(health(&assess_one(&seen), "api").state, "healthy");
    }

    #[test]
    fn a_failed_hook_job_or_a_short_rollout_degrades_its_release() {
        let mut seen = Observed::default();
        installed(&mut seen, "api", "deployed", 1);
        let ns = catalog().require("api").unwrap().namespace.clone();
        seen.put(
            "Job",
            object(json!({
                "metadata": {"name": "api-migrate", "namespace": ns,
                             "labels": {"app.kubernetes.io/instance": "api"}},
                "status": {"conditions": [{"type": "Failed", "status": "True"}]},
            })),
        );
        let api = health(&assess_one(&seen), "api").clone();
        assert_eq!(api.state, "degraded");
        assert_eq!(api.message.as_deref(), Some("failed Job: api-migrate"));

        let mut seen = Observed::default();
        installed(&mut seen, "api", "deployed", 1);
        let w = &catalog().require("api").unwrap().workloads[0];
        seen.put(
            &w.kind,
            object(json!({
                "metadata": {"name": w.name, "namespace": ns},
                "spec": {"replicas": 2}, "status": {"readyReplicas": 1},
            })),
        );
        let api = health(&assess_one(&seen), "api").clone();
        assert_eq!(api.state, "degraded");
        assert!(api.message.unwrap().contains("1/2 ready"));
    }

    #[test]
    fn unreadable_helm_releases_make_the_verdict_unknown_not_healthy() {
        let mut seen = Observed::default();
        seen.unreadable.insert(HELM.into(), "forbidden".into());
        let h = assess_one(&seen);
        assert_eq!(h.verdict, "unknown");
        assert_eq!(health(&h, "api").state, "unknown");
        assert_eq!(h.unreadable, ["helm: forbidden"]);
    }

    #[test]
    fn warning_events_of_the_last_hour_in_stack_namespaces_newest_first() {
        let mut seen = Observed::default();
        let ns = catalog().require("api").unwrap().namespace.clone();
        let at = |secs_ago: u64| Ts::from_unix((1_800_000_000 - secs_ago) as i64).rfc3339();
        for (name, ns, ago) in [
            ("old", ns.as_str(), 7200),
            ("recent", ns.as_str(), 60),
            ("newest", ns.as_str(), 5),
            ("elsewhere", "default", 5),
        ] {
            seen.put(
                EVENT,
                object(json!({
                    "metadata": {"name": name, "namespace": ns},
                    "involvedObject": {"kind": "Pod", "name": format!("{name}-pod")},
                    "reason": "BackOff", "message": " restarting ", "count": 3,
                    "lastTimestamp": at(ago),
                })),
            );
        }
        let h = assess_one(&seen);
        let objects: Vec<&str> = h.events.iter().map(|e| e.object.as_str()).collect();
        assert_eq!(objects, ["Pod/newest-pod", "Pod/recent-pod"]);
        assert_eq!((h.events[0].age_sec, h.events[0].count), (5, 3));
        assert_eq!(h.events[0].message, "restarting");
    }

    #[test]
    fn an_installed_compute_plane_needs_a_healthy_backend() {
        let compute = catalog()
            .releases
            .iter()
            .find(|r| r.plane == Plane::Compute && r.enabled_when.is_empty())
            .unwrap()
            .name
            .clone();
        let mut seen = Observed::default();
        installed(&mut seen, &compute, "deployed", 1);
        assert_eq!(assess_one(&seen).verdict, "degraded", "no NVCFBackend yet");
        seen.put(
            BACKEND,
            object(json!({
                "metadata": {"name": "nvcf-backend", "namespace": "nvca-operator"},
                "status": {"agentStatus": "Healthy", "version": "3.2.7"},
            })),
        );
        let h = assess_one(&seen);
        assert_eq!(h.backends.len(), 1);
        assert!(h.backends[0].healthy);
        assert_eq!(h.backends[0].version.as_deref(), Some("3.2.7"));
    }
}
