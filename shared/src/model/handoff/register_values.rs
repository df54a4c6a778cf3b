//! The NVCA registration values (`CLUSTER-register-values.yaml`): what registering a GPU
//! cluster hands to whoever installs its NVCA operator. Upstream's keys exactly; the
//! file is also a values file of the `helm-nvca-operator` chart.

use crate::base::error::{Error, Result};
use crate::model::profile::Registration;
use crate::model::stack::inputs::Inputs;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RegisterValues {
    #[serde(rename = "clusterName", default)]
    pub cluster_name: String,
    #[serde(rename = "clusterID", default)]
    pub cluster_id: String,
    #[serde(rename = "clusterGroupID", default)]
    pub cluster_group_id: String,
    #[serde(rename = "ncaID", alias = "ncaId", default)]
    pub nca_id: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub region: String,
    #[serde(rename = "selfManaged", default)]
    pub self_managed: SelfManaged,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<Agent>,
    #[serde(
        rename = "agentConfig",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub agent_config: Option<AgentConfig>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct SelfManaged {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub identity_source: String,
    #[serde(rename = "icmsServiceURL", skip_serializing_if = "String::is_empty")]
    pub icms_service_url: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub icms_service_host_header_override: String,
    #[serde(rename = "revalServiceURL", skip_serializing_if = "String::is_empty")]
    pub reval_service_url: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub reval_service_host_header_override: String,
    #[serde(rename = "natsURL", skip_serializing_if = "String::is_empty")]
    pub nats_url: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub nats_host_override: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Agent {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub llm: Option<AgentLlm>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct AgentLlm {
    pub request_router_address: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct AgentConfig {
    /// NVCA's own config, as a YAML document in a string (the chart's format).
    pub merge_config: String,
}

impl RegisterValues {
    /// Reads the file strictly: an unknown key is an error naming it.
    pub fn load(path: &Path) -> Result<RegisterValues> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            Error::input_missing(format!("cannot read the values file {}: {e}", path.display()))
                .hint(format!("pass the file `compute-plane register --output` (or `{nvca_cmd0} --values-out`) wrote", nvca_cmd0 = crate::base::plugin::nvca("register")))
        })?;
        let values = Self::parse(&text).map_err(|e| {
            Error::invalid_input(format!("parsing values file {}: {e}", path.display())).hint(
                "the file takes clusterName, clusterID, clusterGroupID, ncaID, region, selfManaged, agent and agentConfig only",
            )
        })?;
        values.check(path)?;
        Ok(values)
    }

    pub fn parse(text: &str) -> std::result::Result<RegisterValues, String> {
        if text.trim().is_empty() {
            return Ok(RegisterValues::default());
        }
        serde_saphyr::from_str(text).map_err(|e| e.to_string())
    }

    /// Upstream refuses an insecure QUIC transport that claims to pin a bundle.
    fn check(&self, path: &Path) -> Result<()> {
        let Some(cfg) = self
            .agent_config
            .as_ref()
            .filter(|c| !c.merge_config.trim().is_empty())
        else {
            return Ok(());
        };
        let merged: serde_json::Value = serde_saphyr::from_str(&cfg.merge_config).map_err(|e| {
            Error::invalid_input(format!(
                "parsing values file {}: agentConfig.mergeConfig is not YAML: {e}",
                path.display()
            ))
        })?;
        let workload = &merged["workload"];
        if workload["stargateQUICInsecure"] == serde_json::Value::Bool(true)
            && workload["transportTLS"]["trustMode"] == "bundle"
        {
            return Err(Error::invalid_input(format!(
                "values file {}: agentConfig.mergeConfig sets workload.stargateQUICInsecure=true with workload.transportTLS.trustMode=bundle",
                path.display()
            ))
            .hint("set stargateQUICInsecure=false or use trustMode=system"));
        }
        Ok(())
    }

    pub fn to_yaml(&self) -> Result<String> {
        serde_saphyr::to_string(self)
            .map_err(|e| Error::internal(format!("cannot write the NVCA values: {e}")))
    }

    /// The registration the file records, as the profile keeps it.
    pub fn registration(&self, cluster_name: &str) -> Option<Registration> {
        (!self.cluster_id.is_empty()).then(|| Registration {
            cluster_id: self.cluster_id.clone(),
            cluster_group_id: self.cluster_group_id.clone(),
            cluster_name: cluster_name.to_owned(),
            nca_id: self.nca_id.clone(),
            ..Registration::default()
        })
    }
}

impl RegisterValues {
    /// What upstream's `cluster register` prints after registering: the operator's values
    /// for `r`, reaching the control plane at `icms`, `reval` and `nats`.
    pub fn for_registration(
        r: &Registration,
        region: &str,
        identity_source: &str,
        (icms, reval, nats): (&str, &str, &str),
    ) -> RegisterValues {
        RegisterValues {
            cluster_name: r.cluster_name.clone(),
            cluster_id: r.cluster_id.clone(),
            cluster_group_id: r.cluster_group_id.clone(),
            nca_id: r.nca_id.clone(),
            region: region.to_owned(),
            self_managed: SelfManaged {
                identity_source: identity_source.to_owned(),
                icms_service_url: icms.to_owned(),
                reval_service_url: reval.to_owned(),
                nats_url: nats.to_owned(),
                ..SelfManaged::default()
            },
            agent: None,
            agent_config: None,
        }
    }

    /// Points the compute plane's inputs at what the file says: its URLs and host
    /// headers, its registration, and the file itself as NVCA's first values layer.
    pub fn apply_to(&self, inputs: &mut Inputs) {
        let sm = &self.self_managed;
        let c = &mut inputs.config.compute;
        for (slot, value) in [
            (&mut c.icms_service_url, &sm.icms_service_url),
            (&mut c.reval_service_url, &sm.reval_service_url),
            (&mut c.nats_url, &sm.nats_url),
            (
                &mut c.icms_service_host_header_override,
                &sm.icms_service_host_header_override,
            ),
            (
                &mut c.reval_service_host_header_override,
                &sm.reval_service_host_header_override,
            ),
            (&mut c.nats_host_override, &sm.nats_host_override),
        ] {
            if !value.is_empty() {
                *slot = value.clone();
            }
        }
        if let Ok(layer) = serde_json::to_value(self) {
            inputs.base_layers.insert("nvca-operator".into(), layer);
        }
    }
}

/// Takes a registration values file out of `files` (upstream's
/// `compute-plane install --values`), leaving the release-keyed overlays: no release is
/// named `clusterID` or `clusterName`.
pub fn take_from(files: &mut Vec<PathBuf>) -> Result<Option<(PathBuf, RegisterValues)>> {
    let mut found = None;
    let mut rest = Vec::new();
    for path in files.drain(..) {
        let looks_like = std::fs::read_to_string(&path)
            .ok()
            .and_then(|t| serde_saphyr::from_str::<serde_json::Value>(&t).ok())
            .and_then(|v| v.as_object().cloned())
            .is_some_and(|m| {
                // Unknown keys beside these are the strict reader's to report.
                m.contains_key("clusterID") || m.contains_key("clusterName")
            });
        if !looks_like {
            rest.push(path);
            continue;
        }
        if let Some((first, _)) = &found {
            let first: &PathBuf = first;
            return Err(Error::usage(format!(
                "two registration values files: {} and {}",
                first.display(),
                path.display()
            ))
            .hint("one GPU cluster is installed at a time: pass one values file"));
        }
        let values = RegisterValues::load(&path)?;
        found = Some((path, values));
    }
    *files = rest;
    Ok(found)
}

/// The cluster a values file is for, from its name, as upstream infers it:
/// `gpu-a-register-values.yaml`, `gpu-a-nvca-values.yml` and `gpu-a.yaml` are all gpu-a.
pub fn cluster_from_file_name(path: &Path) -> Option<String> {
    let name = path.file_name()?.to_str()?;
    [
        "-nvca-values.yaml",
        "-nvca-values.yml",
        "-register-values.yaml",
        "-register-values.yml",
        ".yaml",
        ".yml",
    ]
    .iter()
    .find_map(|suffix| name.strip_suffix(suffix))
    .filter(|n| !n.is_empty())
    .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    const WRITTEN: &str = "clusterName: gpu-a
clusterID: c-1
clusterGroupID: g-1
ncaID: nvcf-default
region: us-west-1
selfManaged:
  identitySource: psat
  icmsServiceURL: http://sis.example.com
  icmsServiceHostHeaderOverride: sis.example.com
  revalServiceURL: http://reval.example.com
  natsURL: nats://nats.example.com:4222
agent:
  llm:
    requestRouterAddress: router:9000
agentConfig:
  mergeConfig: |
    workload:
      transportTLS:
        trustMode: system
";

    #[test]
    fn a_written_file_parses_back_the_same() {
        let v = RegisterValues::parse(WRITTEN).unwrap();
        assert_eq!(v.cluster_id, "c-1");
        assert_eq!(
            v.self_managed.icms_service_host_header_override,
            "sis.example.com"
        );
        let again = RegisterValues::parse(&v.to_yaml().unwrap()).unwrap();
        assert_eq!(again, v);
        assert_eq!(v.registration("gpu-a").unwrap().cluster_group_id, "g-1");
    }

    #[test]
    fn the_lowercase_nca_id_alias_works_and_unknown_keys_do_not() {
        let v = RegisterValues::parse("ncaId: acct\n").unwrap();
        assert_eq!(v.nca_id, "acct");
        let e = RegisterValues::parse("clusterName: a\ninstallerImage: x\n").unwrap_err();
        assert!(e.contains("installerImage"), "{e}");
        assert!(RegisterValues::parse("selfManaged: {icmsURL: x}\n").is_err());
    }

    #[test]
    fn insecure_quic_with_a_pinned_bundle_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("gpu-a-register-values.yaml");
        let text = "agentConfig:\n  mergeConfig: |\n    workload:\n      stargateQUICInsecure: true\n      transportTLS:\n        trustMode: bundle\n";
        std::fs::write(&path, text).unwrap();
        let e = RegisterValues::load(&path).unwrap_err();
        assert_eq!(e.exit_code(), crate::base::error::ExitCode::InvalidInput);
        assert!(
            e.remediation()
                .join(" ")
                .contains("stargateQUICInsecure=false or use trustMode=system")
        );
        std::fs::write(&path, WRITTEN).unwrap();
        assert!(RegisterValues::load(&path).is_ok());
    }

    #[test]
    fn the_cluster_name_comes_from_the_file_name() {
        for (file, want) in [
            ("out/gpu-a-register-values.yaml", Some("gpu-a")),
            ("gpu-b-nvca-values.yml", Some("gpu-b")),
            ("gpu-c.yaml", Some("gpu-c")),
            ("values.txt", None),
            (".yaml", None),
        ] {
            assert_eq!(
                cluster_from_file_name(Path::new(file)).as_deref(),
                want,
                "{file}"
            );
        }
    }
}
