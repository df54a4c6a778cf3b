//! The control-plane profile: what a GPU cluster's team needs to register against a
//! control plane they cannot reach with kubectl (its endpoints, hosts and trust), in
//! upstream's `ControlPlaneProfile` format, with upstream's validation rules.

use super::{needs_host_header, trust};
use crate::base::error::{Error, Result};
use crate::base::output::{Report, key_value_table};
use serde::{Deserialize, Serialize};

pub const API_VERSION: &str = "nvcf.nvidia.com/v1alpha1";
pub const KIND: &str = "ControlPlaneProfile";

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ControlPlaneProfile {
    #[serde(default)]
    pub api_version: String,
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub control_plane: ControlPlane,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub management_tls: Option<ManagementTls>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transport_tls: Option<TransportTls>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct ControlPlane {
    pub cluster_name: String,
    #[serde(rename = "ncaID")]
    pub nca_id: String,
    pub region: String,
    pub endpoints: Endpoints,
    pub gateway: Gateway,
    pub hosts: Hosts,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub addons: Option<Addons>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct Endpoints {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub in_cluster: Option<ScopeUrls>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub compute_reachable: Option<ScopeUrls>,
}

/// Where an NVCA reaches the control plane from one vantage point.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ScopeUrls {
    #[serde(rename = "icmsURL", skip_serializing_if = "String::is_empty")]
    pub icms_url: String,
    #[serde(rename = "revalURL", skip_serializing_if = "String::is_empty")]
    pub reval_url: String,
    #[serde(rename = "natsURL", skip_serializing_if = "String::is_empty")]
    pub nats_url: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Gateway {
    #[serde(rename = "httpURL")]
    pub http_url: String,
    #[serde(rename = "grpcURL", skip_serializing_if = "String::is_empty")]
    pub grpc_url: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct Hosts {
    pub api: String,
    pub api_keys: String,
    pub sis: String,
    pub reval: String,
    pub nats: String,
    pub invocation: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Addons {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub llm: Option<LlmAddon>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct LlmAddon {
    pub request_router_address: String,
}

/// How NVCA trusts the control plane's management APIs (SIS, ReVal).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct ManagementTls {
    pub trust_mode: String,
    #[serde(
        rename = "caBundlePem",
        alias = "caBundlePEM",
        skip_serializing_if = "String::is_empty"
    )]
    pub ca_bundle_pem: String,
}

/// How NVCA trusts the workload transport (the data path to functions).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct TransportTls {
    pub trust_mode: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub trust_bundle_fingerprint: String,
    #[serde(
        rename = "trustBundlePem",
        alias = "trustBundlePEM",
        skip_serializing_if = "String::is_empty"
    )]
    pub trust_bundle_pem: String,
}

/// The endpoint scopes a command needs (`--require`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Require {
    /// At least one usable scope
    #[default]
    Any,
    /// The URLs NVCA uses when it runs on the control plane's own cluster
    InCluster,
    /// The URLs another GPU cluster reaches
    ComputeReachable,
    /// Both scopes
    Both,
}

/// One endpoint scope, as validation found it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ScopeState {
    Usable,
    NotPresent,
    Invalid,
}

impl ScopeState {
    fn word(self) -> &'static str {
        match self {
            ScopeState::Usable => "usable",
            ScopeState::NotPresent => "not present",
            ScopeState::Invalid => "invalid",
        }
    }
}

/// The outcome of `control-plane profile validate`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Validated {
    pub file: String,
    pub valid: bool,
    pub cluster_name: String,
    pub nca_id: String,
    pub in_cluster: ScopeState,
    pub compute_reachable: ScopeState,
    pub management_trust: String,
    pub transport_trust: String,
}

impl Report for Validated {
    fn table(&self, _wide: bool) -> String {
        format!(
            "control-plane profile is valid\nendpoint scopes:\n  in-cluster: {}\n  compute-reachable: {}\n{}",
            self.in_cluster.word(),
            self.compute_reachable.word(),
            key_value_table(&[
                ("CONTROL PLANE", self.cluster_name.clone()),
                ("NCA ID", self.nca_id.clone()),
                ("MANAGEMENT TLS", self.management_trust.clone()),
                ("TRANSPORT TLS", self.transport_trust.clone()),
            ])
        )
    }
    fn names(&self) -> Vec<String> {
        vec![format!("controlplaneprofile/{}", self.cluster_name)]
    }
}

impl ControlPlaneProfile {
    /// Reads a profile strictly (unknown keys are errors) and validates it.
    pub fn load(
        path: &std::path::Path,
        require: Require,
    ) -> Result<(ControlPlaneProfile, Validated)> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            Error::input_missing(format!(
                "cannot read control-plane profile {}: {e}",
                path.display()
            ))
            .hint("pass the file the control-plane team exported (`control-plane profile export`)")
        })?;
        let profile = Self::parse(&text).map_err(|e| invalid(path, &[e]))?;
        let validated = profile.validate(path, require)?;
        Ok((profile, validated))
    }

    pub fn parse(text: &str) -> std::result::Result<ControlPlaneProfile, String> {
        serde_saphyr::from_str(text).map_err(|e| format!("(document): {e}"))
    }

    /// Upstream's rules; every problem is reported, each under its field path.
    pub fn validate(&self, path: &std::path::Path, require: Require) -> Result<Validated> {
        let mut problems = Vec::new();
        let mut bad = |field: &str, why: String| problems.push(format!("{field}: {why}"));
        if self.api_version != API_VERSION {
            bad(
                "apiVersion",
                format!("must be {API_VERSION}, got {:?}", self.api_version),
            );
        }
        if self.kind != KIND {
            bad("kind", format!("must be {KIND}, got {:?}", self.kind));
        }
        let cp = &self.control_plane;
        for (field, value) in [
            ("controlPlane.clusterName", &cp.cluster_name),
            ("controlPlane.ncaID", &cp.nca_id),
            ("controlPlane.region", &cp.region),
        ] {
            if value.trim().is_empty() {
                bad(field, "is required".into());
            }
        }
        let h = &cp.hosts;
        for (field, value) in [
            ("api", &h.api),
            ("apiKeys", &h.api_keys),
            ("sis", &h.sis),
            ("reval", &h.reval),
            ("nats", &h.nats),
            ("invocation", &h.invocation),
        ] {
            if value.contains("://") || value.contains(char::is_whitespace) {
                bad(
                    &format!("controlPlane.hosts.{field}"),
                    format!("must be a host name, not {value:?}"),
                );
            }
        }
        let gw = &cp.gateway;
        if !is_http(&gw.http_url) {
            bad(
                "controlPlane.gateway.httpURL",
                format!("must be an http(s) URL, got {:?}", gw.http_url),
            );
        } else if needs_host_header(&gw.http_url) && h.api.is_empty() {
            bad(
                "controlPlane.hosts.api",
                format!(
                    "is required: gateway httpURL {} has no DNS name to route on",
                    gw.http_url
                ),
            );
        }
        if !gw.grpc_url.is_empty() && !is_grpc_target(&gw.grpc_url) {
            bad(
                "controlPlane.gateway.grpcURL",
                format!(
                    "must be host:port or a grpc://, grpcs:// or https:// URL, got {:?}",
                    gw.grpc_url
                ),
            );
        }
        let mut scope = |name: &str, urls: &Option<ScopeUrls>, headers: bool| -> ScopeState {
            let Some(u) = urls else {
                return ScopeState::NotPresent;
            };
            let prefix = format!("controlPlane.endpoints.{name}");
            let fields = [
                ("icmsURL", &u.icms_url),
                ("revalURL", &u.reval_url),
                ("natsURL", &u.nats_url),
            ];
            if fields.iter().all(|(_, v)| v.is_empty()) {
                return ScopeState::NotPresent;
            }
            let before = problems.len();
            for (field, value) in fields {
                let ok = match field {
                    "natsURL" => is_scheme(value, &["nats", "tls"]),
                    _ => is_http(value),
                };
                if value.is_empty() {
                    problems.push(format!(
                        "{prefix}.{field}: is required (a scope gives all three URLs or none)"
                    ));
                } else if !ok {
                    let want = if field == "natsURL" {
                        "a nats:// or tls:// URL"
                    } else {
                        "an http(s) URL"
                    };
                    problems.push(format!("{prefix}.{field}: must be {want}, got {value:?}"));
                }
            }
            if headers {
                for (field, value, host, host_field) in [
                    ("icmsURL", &u.icms_url, &h.sis, "sis"),
                    ("revalURL", &u.reval_url, &h.reval, "reval"),
                ] {
                    if needs_host_header(value) && host.is_empty() {
                        problems.push(format!(
                            "controlPlane.hosts.{host_field}: is required: {prefix}.{field} {value} has no DNS name to route on"
                        ));
                    }
                }
            }
            if problems.len() == before {
                ScopeState::Usable
            } else {
                ScopeState::Invalid
            }
        };
        let in_cluster = scope("inCluster", &cp.endpoints.in_cluster, false);
        let compute_reachable = scope("computeReachable", &cp.endpoints.compute_reachable, true);
        let need = |problems: &mut Vec<String>, name: &str, s: ScopeState| {
            if s == ScopeState::NotPresent {
                problems.push(format!(
                    "controlPlane.endpoints.{name}: is required (--require)"
                ));
            }
        };
        match require {
            Require::Any
                if in_cluster == ScopeState::NotPresent
                    && compute_reachable == ScopeState::NotPresent =>
            {
                problems.push(
                    "controlPlane.endpoints: no endpoint scope: give inCluster, computeReachable or both".into(),
                );
            }
            Require::InCluster => need(&mut problems, "inCluster", in_cluster),
            Require::ComputeReachable => need(&mut problems, "computeReachable", compute_reachable),
            Require::Both => {
                need(&mut problems, "inCluster", in_cluster);
                need(&mut problems, "computeReachable", compute_reachable);
            }
            _ => {}
        }
        if let Some(addr) = cp
            .addons
            .as_ref()
            .and_then(|a| a.llm.as_ref())
            .map(|l| &l.request_router_address)
            && !is_host_port(addr)
        {
            problems.push(format!(
                "controlPlane.addons.llm.requestRouterAddress: must be host:port, got {addr:?}"
            ));
        }
        let management = self
            .management_tls
            .as_ref()
            .map(check_management)
            .unwrap_or(Ok(()));
        if let Err(e) = management {
            problems.push(e);
        }
        if let Err(e) = self
            .transport_tls
            .as_ref()
            .map(check_transport)
            .unwrap_or(Ok(()))
        {
            problems.push(e);
        }
        if !problems.is_empty() {
            return Err(invalid(path, &problems));
        }
        let mode = |m: Option<&str>| m.filter(|m| !m.is_empty()).unwrap_or("system").to_owned();
        Ok(Validated {
            file: path.display().to_string(),
            valid: true,
            cluster_name: cp.cluster_name.clone(),
            nca_id: cp.nca_id.clone(),
            in_cluster,
            compute_reachable,
            management_trust: mode(self.management_tls.as_ref().map(|t| t.trust_mode.as_str())),
            transport_trust: mode(self.transport_tls.as_ref().map(|t| t.trust_mode.as_str())),
        })
    }
}

fn check_management(t: &ManagementTls) -> std::result::Result<(), String> {
    let f = "managementTls";
    match t.trust_mode.as_str() {
        "system" | "" if t.ca_bundle_pem.trim().is_empty() => Ok(()),
        "system" => Err(format!(
            "{f}.caBundlePem: must be empty with trustMode system"
        )),
        "" => Err(format!(
            "{f}.trustMode: is required with caBundlePem (system or bundle)"
        )),
        "bundle" => trust::certificates_only(&t.ca_bundle_pem)
            .map(drop)
            .map_err(|e| format!("{f}.caBundlePem: {e}")),
        other => Err(format!(
            "{f}.trustMode: must be system or bundle, got {other:?}"
        )),
    }
}

fn check_transport(t: &TransportTls) -> std::result::Result<(), String> {
    let f = "transportTls";
    let material = !t.trust_bundle_pem.trim().is_empty() || !t.trust_bundle_fingerprint.is_empty();
    match t.trust_mode.as_str() {
        "system" | "" if !material => Ok(()),
        "system" => Err(format!("{f}: trustMode system carries no trust material")),
        "" => Err(format!(
            "{f}.trustMode: is required with trust material (system or bundle)"
        )),
        "bundle" => {
            trust::certificates_only(&t.trust_bundle_pem)
                .map_err(|e| format!("{f}.trustBundlePem: {e}"))?;
            if !trust::is_fingerprint(&t.trust_bundle_fingerprint) {
                return Err(format!(
                    "{f}.trustBundleFingerprint: must be sha256:<64 hex digits>, got {:?}",
                    t.trust_bundle_fingerprint
                ));
            }
            let actual = trust::fingerprint(&t.trust_bundle_pem)
                .map_err(|e| format!("{f}.trustBundlePem: {e}"))?;
            if actual != t.trust_bundle_fingerprint.to_ascii_lowercase() {
                return Err(format!(
                    "{f}.trustBundleFingerprint: does not match trustBundlePem ({actual})"
                ));
            }
            Ok(())
        }
        other => Err(format!(
            "{f}.trustMode: must be system or bundle, got {other:?}"
        )),
    }
}

fn invalid(path: &std::path::Path, problems: &[String]) -> Error {
    let mut msg = String::from("invalid control-plane profile:");
    for p in problems {
        msg.push_str("\n- ");
        msg.push_str(p);
    }
    Error::invalid_input(msg).hint(format!(
        "fix {} (or export it again from the control plane: `control-plane profile export`)",
        path.display()
    ))
}

fn is_scheme(url: &str, schemes: &[&str]) -> bool {
    url::Url::parse(url)
        .is_ok_and(|u| schemes.contains(&u.scheme()) && u.host_str().is_some_and(|h| !h.is_empty()))
}

fn is_http(url: &str) -> bool {
    is_scheme(url, &["http", "https"])
}

fn is_grpc_target(target: &str) -> bool {
    is_scheme(target, &["grpc", "grpcs", "https"]) || is_host_port(target)
}

fn is_host_port(s: &str) -> bool {
    match s.rsplit_once(':') {
        Some((host, port)) => {
            !host.is_empty()
                && !host.contains(['/', ' '])
                && port.parse::<u16>().is_ok_and(|p| p > 0)
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::super::trust::tests::cert;
    use super::*;
    use std::path::Path;

    fn complete() -> ControlPlaneProfile {
        ControlPlaneProfile::parse(
            "apiVersion: nvcf.nvidia.com/v1alpha1
kind: ControlPlaneProfile
controlPlane:
  clusterName: nvcf-cp
  ncaID: nvcf-test
  region: us-east-1
  endpoints:
    inCluster:
      icmsURL: http://api.sis.svc.cluster.local:8080
      revalURL: http://reval.nvcf.svc.cluster.local:8080
      natsURL: nats://nats.nats-system.svc.cluster.local:4222
    computeReachable:
      icmsURL: http://sis.localhost:8080
      revalURL: http://reval.localhost:8080
      natsURL: nats://nats.localhost:4222
  gateway:
    httpURL: http://api.localhost:8080
    grpcURL: grpc.localhost:10081
  hosts:
    api: api.localhost
    apiKeys: api-keys.localhost
    sis: sis.localhost
    reval: reval.localhost
    nats: nats.localhost
    invocation: invocation.localhost
",
        )
        .unwrap()
    }

    fn problems(p: &ControlPlaneProfile, require: Require) -> String {
        p.validate(Path::new("p.yaml"), require)
            .unwrap_err()
            .message()
    }

    #[test]
    fn a_complete_profile_is_valid_with_both_scopes() {
        let v = complete()
            .validate(Path::new("p.yaml"), Require::Both)
            .unwrap();
        assert_eq!(
            (v.in_cluster, v.compute_reachable),
            (ScopeState::Usable, ScopeState::Usable)
        );
        let shown = v.table(false);
        assert!(
            shown.starts_with("control-plane profile is valid"),
            "{shown}"
        );
        assert!(
            shown.contains("in-cluster: usable") && shown.contains("compute-reachable: usable")
        );
    }

    #[test]
    fn field_errors_name_the_path() {
        let mut p = complete();
        p.control_plane
            .endpoints
            .compute_reachable
            .as_mut()
            .unwrap()
            .nats_url
            .clear();
        let msg = problems(&p, Require::ComputeReachable);
        assert!(msg.starts_with("invalid control-plane profile:"), "{msg}");
        assert!(
            msg.contains("- controlPlane.endpoints.computeReachable.natsURL:"),
            "{msg}"
        );
        let mut none = complete();
        none.control_plane.endpoints = Endpoints::default();
        assert!(problems(&none, Require::Any).contains("no endpoint scope"));
        assert!(problems(&none, Require::InCluster).contains("controlPlane.endpoints.inCluster"));
    }

    #[test]
    fn an_invalid_url_makes_its_scope_unusable() {
        let mut p = complete();
        p.control_plane
            .endpoints
            .in_cluster
            .as_mut()
            .unwrap()
            .icms_url = "ftp://x".into();
        assert!(problems(&p, Require::Any).contains("inCluster.icmsURL: must be an http(s) URL"));
        let mut g = complete();
        g.control_plane.gateway.grpc_url = "ftp://x:1".into();
        assert!(problems(&g, Require::Any).contains("gateway.grpcURL"));
    }

    #[test]
    fn an_address_without_dns_needs_its_host_header() {
        let mut p = complete();
        p.control_plane.gateway.http_url = "http://10.0.0.5:8080".into();
        p.control_plane.hosts.api.clear();
        assert!(problems(&p, Require::Any).contains("controlPlane.hosts.api: is required"));
        let mut s = complete();
        s.control_plane
            .endpoints
            .compute_reachable
            .as_mut()
            .unwrap()
            .icms_url = "http://127.0.0.1:9".into();
        s.control_plane.hosts.sis.clear();
        assert!(problems(&s, Require::Any).contains("controlPlane.hosts.sis: is required"));
        let mut u = complete();
        u.control_plane.hosts.nats = "nats://x".into();
        assert!(problems(&u, Require::Any).contains("controlPlane.hosts.nats"));
    }

    #[test]
    fn unknown_keys_and_wrong_kinds_are_refused() {
        let e = ControlPlaneProfile::parse("apiVersion: x\nkind: y\nextra: 1\n").unwrap_err();
        assert!(e.contains("extra"), "{e}");
        let mut p = complete();
        p.kind = "Profile".into();
        assert!(problems(&p, Require::Any).contains("- kind: must be ControlPlaneProfile"));
        let e = ControlPlaneProfile::parse(
            "managementTls:\n  trustMode: pin\n  acceptedFingerprint: abc\n",
        )
        .unwrap_err();
        assert!(e.contains("acceptedFingerprint"), "{e}");
    }

    #[test]
    fn addons_need_host_and_port() {
        let mut p = complete();
        p.control_plane.addons = Some(Addons {
            llm: Some(LlmAddon {
                request_router_address: "router".into(),
            }),
        });
        assert!(problems(&p, Require::Any).contains("requestRouterAddress: must be host:port"));
        p.control_plane
            .addons
            .as_mut()
            .unwrap()
            .llm
            .as_mut()
            .unwrap()
            .request_router_address = "router.nvcf:9000".into();
        assert!(p.validate(Path::new("p"), Require::Any).is_ok());
    }

    #[test]
    fn trust_rules_follow_upstream() {
        let bundle = format!("{}\n{}", cert(1), cert(2));
        let ok = |m: Option<ManagementTls>, t: Option<TransportTls>| {
            let mut p = complete();
            p.management_tls = m;
            p.transport_tls = t;
            p.validate(Path::new("p"), Require::Any)
                .map(drop)
                .map_err(|e| e.message())
        };
        let transport = |mode: &str, pem: &str, fp: &str| TransportTls {
            trust_mode: mode.into(),
            trust_bundle_pem: pem.into(),
            trust_bundle_fingerprint: fp.into(),
        };
        let fp = trust::fingerprint(&bundle).unwrap();
        assert!(ok(None, Some(transport("system", "", ""))).is_ok());
        assert!(ok(None, Some(transport("bundle", &bundle, &fp))).is_ok());
        assert!(
            ok(None, Some(transport("system", &bundle, "")))
                .unwrap_err()
                .contains("no trust material")
        );
        assert!(
            ok(None, Some(transport("", &bundle, &fp)))
                .unwrap_err()
                .contains("trustMode: is required")
        );
        let other = trust::fingerprint(&cert(3)).unwrap();
        assert!(
            ok(None, Some(transport("bundle", &bundle, &other)))
                .unwrap_err()
                .contains("does not match")
        );
        let key = "-----BEGIN PRIVATE KEY-----\nMAMCAQE=\n-----END PRIVATE KEY-----\n";
        let management = |mode: &str, pem: &str| ManagementTls {
            trust_mode: mode.into(),
            ca_bundle_pem: pem.into(),
        };
        assert!(ok(Some(management("bundle", &bundle)), None).is_ok());
        assert!(
            ok(Some(management("bundle", &format!("{bundle}{key}"))), None)
                .unwrap_err()
                .contains("private key")
        );
        assert!(
            ok(Some(management("system", &bundle)), None)
                .unwrap_err()
                .contains("must be empty")
        );
        assert!(
            ok(Some(management("pin", "")), None)
                .unwrap_err()
                .contains("system or bundle")
        );
    }
}
