//! Building the handoff files: the control-plane profile from this machine's view of the
//! control plane, and a registered cluster's NVCA values from a profile.

use super::profile::{
    API_VERSION, ControlPlane, ControlPlaneProfile, Endpoints, Gateway, Hosts, KIND, ManagementTls,
    ScopeUrls, TransportTls,
};
use super::register_values::{Agent, AgentConfig, AgentLlm, RegisterValues, SelfManaged};
use super::{needs_host_header, trust};
use crate::base::error::{Error, Result};
use crate::model::profile::Registration;
use crate::model::settings::{EnvLookup, Settings};
use crate::model::stack::config::Compute;

pub struct ExportInputs<'a> {
    pub cluster_name: &'a str,
    pub nca_id: &'a str,
    pub region: &'a str,
    /// The NVCF endpoints this machine uses (the profile's settings).
    pub settings: &'a Settings,
    /// Host names without a setting of their own (`NVCF_REVAL_HOST`, `NVCF_NATS_HOST`).
    pub env: &'a dyn EnvLookup,
    /// The control plane's root CA (PEM), when it was read.
    pub root_ca: Option<&'a str>,
}

/// The profile a GPU cluster's team registers against. Compute-reachable URLs are the
/// ones this machine reaches; an address with no DNS name keeps its address, and the
/// hosts block carries the names the gateway routes on.
pub fn build(i: &ExportInputs<'_>) -> Result<ControlPlaneProfile> {
    let s = i.settings;
    let http = match s.get("gateway_url") {
        "" => s.get("base_http_url"),
        gw => gw,
    }
    .trim_end_matches('/')
    .to_owned();
    let api = non_empty(s.get("api_host")).unwrap_or_else(|| host_of(&http));
    let domain = match s.get("domain") {
        "" => ["api.", "sis.", "reval.", "nats."]
            .iter()
            .find_map(|p| api.strip_prefix(p))
            .unwrap_or(&api)
            .to_owned(),
        d => d.to_owned(),
    };
    let named = |setting: Option<&str>, env: &str, prefix: &str| {
        setting
            .and_then(|k| non_empty(s.get(k)))
            .or_else(|| i.env.get(env).filter(|v| !v.is_empty()))
            .unwrap_or_else(|| format!("{prefix}.{domain}"))
    };
    // An ICMS URL with a DNS name of its own (not the gateway's) is SIS's name.
    let icms_setting = s.get("icms_url");
    let own_sis_name = Some(host_of(icms_setting))
        .filter(|h| !h.is_empty() && *h != api && !needs_host_header(icms_setting))
        .filter(|_| s.get("gateway_url").is_empty() && s.get("icms_host").is_empty());
    let hosts = Hosts {
        api: api.clone(),
        api_keys: named(Some("api_keys_host"), "API_KEYS_HOST", "api-keys"),
        sis: own_sis_name.unwrap_or_else(|| named(Some("icms_host"), "NVCF_ICMS_HOST", "sis")),
        reval: named(None, "NVCF_REVAL_HOST", "reval"),
        nats: named(None, "NVCF_NATS_HOST", "nats"),
        invocation: named(Some("invoke_host"), "INVOKE_HOST", "invocation"),
    };
    let icms = match s.get("gateway_url") {
        "" => s.get("icms_url"),
        gw => gw,
    }
    .trim_end_matches('/')
    .to_owned();
    let keep_address = needs_host_header(&icms) && !icms.contains("localhost");
    let rewrite = |host: &str| {
        if keep_address {
            icms.clone()
        } else {
            with_host(&icms, host)
        }
    };
    let nats_host = if keep_address {
        host_of(&icms)
    } else {
        hosts.nats.clone()
    };
    let nats = i
        .env
        .get("NVCF_NATS_URL")
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| format!("nats://{nats_host}:4222"));
    let in_cluster = Compute::default();
    let (management_tls, transport_tls) = match i.root_ca {
        Some(pem) => {
            let fingerprint = trust::fingerprint(pem).map_err(|e| {
                Error::invalid_input(format!("the control plane's root CA is not usable: {e}"))
            })?;
            (
                Some(ManagementTls {
                    trust_mode: "bundle".into(),
                    ca_bundle_pem: pem.to_owned(),
                }),
                Some(TransportTls {
                    trust_mode: "bundle".into(),
                    trust_bundle_fingerprint: fingerprint,
                    trust_bundle_pem: pem.to_owned(),
                }),
            )
        }
        None => (None, None),
    };
    Ok(ControlPlaneProfile {
        api_version: API_VERSION.into(),
        kind: KIND.into(),
        control_plane: ControlPlane {
            cluster_name: i.cluster_name.to_owned(),
            nca_id: i.nca_id.to_owned(),
            region: i.region.to_owned(),
            endpoints: Endpoints {
                in_cluster: Some(ScopeUrls {
                    icms_url: in_cluster.icms_service_url,
                    reval_url: in_cluster.reval_service_url,
                    nats_url: in_cluster.nats_url,
                }),
                compute_reachable: Some(ScopeUrls {
                    icms_url: rewrite(&hosts.sis),
                    reval_url: rewrite(&hosts.reval),
                    nats_url: nats,
                }),
            },
            gateway: Gateway {
                http_url: http,
                // Our `http://` gRPC target is plaintext gRPC, which the profile spells grpc://.
                grpc_url: match s.get("grpc_url").strip_prefix("http://") {
                    Some(rest) => format!("grpc://{rest}"),
                    None => s.get("grpc_url").to_owned(),
                },
            },
            hosts,
            addons: None,
        },
        management_tls,
        transport_tls,
    })
}

fn non_empty(s: &str) -> Option<String> {
    (!s.is_empty()).then(|| s.to_owned())
}

fn host_of(url: &str) -> String {
    url::Url::parse(url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_default()
}

/// `url` with only its host replaced (scheme, port and path kept).
fn with_host(url: &str, host: &str) -> String {
    let Ok(mut u) = url::Url::parse(url) else {
        return url.to_owned();
    };
    match u.set_host(Some(host)) {
        Ok(()) => u.as_str().trim_end_matches('/').to_owned(),
        Err(_) => url.to_owned(),
    }
}

/// Which of a profile's endpoint scopes a cluster uses: the control plane's own cluster
/// reaches the services in-cluster, any other cluster through the compute-reachable URLs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndpointScope {
    InCluster,
    ComputeReachable,
}

impl EndpointScope {
    pub fn for_cluster(profile: &ControlPlaneProfile, cluster_name: &str) -> EndpointScope {
        if cluster_name == profile.control_plane.cluster_name {
            EndpointScope::InCluster
        } else {
            EndpointScope::ComputeReachable
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            EndpointScope::InCluster => "in-cluster",
            EndpointScope::ComputeReachable => "compute-reachable",
        }
    }

    pub fn urls(self, profile: &ControlPlaneProfile) -> Option<&ScopeUrls> {
        let e = &profile.control_plane.endpoints;
        match self {
            EndpointScope::InCluster => e.in_cluster.as_ref(),
            EndpointScope::ComputeReachable => e.compute_reachable.as_ref(),
        }
    }
}

/// The values NVCA needs after `registration`, in upstream's handoff format.
pub fn nvca_values(
    profile: &ControlPlaneProfile,
    scope: EndpointScope,
    registration: &Registration,
    region: &str,
    identity_source: &str,
) -> Result<RegisterValues> {
    let urls = scope.urls(profile).cloned().unwrap_or_default();
    let hosts = &profile.control_plane.hosts;
    // In-cluster Services answer on their own names; the gateway's Host routing only
    // matters on the compute-reachable routes.
    let header = |h: &str| match scope {
        EndpointScope::ComputeReachable => h.to_owned(),
        EndpointScope::InCluster => String::new(),
    };
    let merge_config = match &profile.transport_tls {
        Some(t) => {
            let mut tls = serde_json::Map::new();
            let mode = if t.trust_mode.is_empty() {
                "system"
            } else {
                &t.trust_mode
            };
            tls.insert("trustMode".into(), mode.into());
            if mode == "bundle" {
                tls.insert(
                    "trustBundleFingerprint".into(),
                    t.trust_bundle_fingerprint.clone().into(),
                );
                tls.insert("trustBundlePem".into(), t.trust_bundle_pem.clone().into());
            }
            let doc = serde_json::json!({"workload": {"transportTLS": tls}});
            Some(AgentConfig {
                merge_config: serde_saphyr::to_string(&doc)
                    .map_err(|e| Error::internal(format!("cannot write mergeConfig: {e}")))?,
            })
        }
        None => None,
    };
    Ok(RegisterValues {
        cluster_name: registration.cluster_name.clone(),
        cluster_id: registration.cluster_id.clone(),
        cluster_group_id: registration.cluster_group_id.clone(),
        nca_id: registration.nca_id.clone(),
        region: region.to_owned(),
        self_managed: SelfManaged {
            identity_source: identity_source.to_owned(),
            icms_service_url: urls.icms_url,
            icms_service_host_header_override: header(&hosts.sis),
            reval_service_url: urls.reval_url,
            reval_service_host_header_override: header(&hosts.reval),
            nats_url: urls.nats_url,
            nats_host_override: header(&hosts.nats),
        },
        agent: profile
            .control_plane
            .addons
            .as_ref()
            .and_then(|a| a.llm.as_ref())
            .map(|l| Agent {
                llm: Some(AgentLlm {
                    request_router_address: l.request_router_address.clone(),
                }),
            }),
        agent_config: merge_config,
    })
}

#[cfg(test)]
mod tests {
    use super::super::profile::Require;
    use super::super::trust::tests::cert;
    use super::*;
    use crate::model::settings::MapEnv;
    use std::collections::BTreeMap;
    use std::path::Path;

    fn settings(pairs: &[(&str, &str)]) -> Settings {
        let flags: BTreeMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Settings::resolve(&flags, &MapEnv::default(), &BTreeMap::new())
    }

    fn export(s: &Settings, ca: Option<&str>) -> ControlPlaneProfile {
        build(&ExportInputs {
            cluster_name: "nvcf-cp",
            nca_id: "nvcf-test",
            region: "us-east-1",
            settings: s,
            env: &MapEnv::default(),
            root_ca: ca,
        })
        .unwrap()
    }

    #[test]
    fn a_local_control_plane_gets_localhost_names() {
        let s = settings(&[
            ("base_http_url", "http://api.localhost:8080"),
            ("icms_url", "http://sis.localhost:8080"),
            ("grpc_url", "grpc.localhost:10081"),
        ]);
        let p = export(&s, None);
        let h = &p.control_plane.hosts;
        assert_eq!(
            [
                &h.api,
                &h.api_keys,
                &h.sis,
                &h.reval,
                &h.nats,
                &h.invocation
            ],
            [
                "api.localhost",
                "api-keys.localhost",
                "sis.localhost",
                "reval.localhost",
                "nats.localhost",
                "invocation.localhost"
            ]
        );
        let c = p.control_plane.endpoints.compute_reachable.clone().unwrap();
        assert_eq!(c.icms_url, "http://sis.localhost:8080");
        assert_eq!(c.reval_url, "http://reval.localhost:8080");
        assert_eq!(c.nats_url, "nats://nats.localhost:4222");
        let v = p.validate(Path::new("p"), Require::Both).unwrap();
        assert_eq!(v.cluster_name, "nvcf-cp");
        assert!(p.management_tls.is_none() && p.transport_tls.is_none());
    }

    #[test]
    fn a_bare_load_balancer_host_keeps_the_api_host_and_prefixes_the_rest() {
        let elb = "abc123.elb.us-east-1.amazonaws.com";
        let s = settings(&[
            ("base_http_url", &format!("http://{elb}")),
            ("icms_url", &format!("http://{elb}")),
        ]);
        let p = export(&s, None);
        assert_eq!(p.control_plane.hosts.api, elb);
        assert_eq!(p.control_plane.hosts.sis, format!("sis.{elb}"));
        let c = p.control_plane.endpoints.compute_reachable.unwrap();
        assert_eq!(c.icms_url, format!("http://sis.{elb}"));
        assert_eq!(c.reval_url, format!("http://reval.{elb}"));
        assert_eq!(c.nats_url, format!("nats://nats.{elb}:4222"));
    }

    #[test]
    fn an_address_without_a_name_is_kept_and_routed_by_host() {
        let s = settings(&[
            ("base_http_url", "http://127.0.0.1:9000"),
            ("icms_url", "http://127.0.0.1:9000"),
            ("api_host", "api.sim.test"),
            ("icms_host", "sis.sim.test"),
        ]);
        let p = export(&s, None);
        let c = p.control_plane.endpoints.compute_reachable.clone().unwrap();
        assert_eq!(
            (c.icms_url.as_str(), c.reval_url.as_str()),
            ("http://127.0.0.1:9000", "http://127.0.0.1:9000")
        );
        assert_eq!(p.control_plane.hosts.reval, "reval.sim.test");
        p.validate(Path::new("p"), Require::ComputeReachable)
            .unwrap();
    }

    #[test]
    fn a_root_ca_becomes_bundle_trust_in_both_blocks_and_in_nvca_values() {
        let s = settings(&[("icms_url", "https://sis.example.com")]);
        let ca = cert(7);
        let p = export(&s, Some(&ca));
        let t = p.transport_tls.clone().unwrap();
        assert_eq!(t.trust_mode, "bundle");
        assert_eq!(t.trust_bundle_fingerprint, trust::fingerprint(&ca).unwrap());
        p.validate(Path::new("p"), Require::Any).unwrap();
        let reg = Registration {
            cluster_id: "c".into(),
            cluster_group_id: "g".into(),
            cluster_name: "gpu-a".into(),
            nca_id: "nvcf-test".into(),
            ..Registration::default()
        };
        let v = nvca_values(
            &p,
            EndpointScope::ComputeReachable,
            &reg,
            "us-east-1",
            "psat",
        )
        .unwrap();
        let merge = &v.agent_config.as_ref().unwrap().merge_config;
        assert!(
            merge.contains("trustBundleFingerprint: sha256:")
                && merge.contains("BEGIN CERTIFICATE"),
            "{merge}"
        );
        assert_eq!(
            v.self_managed.icms_service_host_header_override,
            "sis.example.com"
        );
        let system = ControlPlaneProfile {
            transport_tls: Some(TransportTls {
                trust_mode: "system".into(),
                ..TransportTls::default()
            }),
            ..p.clone()
        };
        let v = nvca_values(&system, EndpointScope::InCluster, &reg, "us-east-1", "psat").unwrap();
        let merge = &v.agent_config.unwrap().merge_config;
        assert!(!merge.contains("trustBundle"), "{merge}");
        assert!(
            v.self_managed
                .icms_service_url
                .contains("svc.cluster.local")
        );
        assert!(v.self_managed.icms_service_host_header_override.is_empty());
        let none = ControlPlaneProfile {
            transport_tls: None,
            ..p
        };
        assert!(
            nvca_values(&none, EndpointScope::InCluster, &reg, "r", "psat")
                .unwrap()
                .agent_config
                .is_none()
        );
    }

    #[test]
    fn the_scope_follows_the_cluster_name() {
        let p = export(&settings(&[]), None);
        assert_eq!(
            EndpointScope::for_cluster(&p, "nvcf-cp"),
            EndpointScope::InCluster
        );
        assert_eq!(
            EndpointScope::for_cluster(&p, "gpu-a"),
            EndpointScope::ComputeReachable
        );
    }
}
