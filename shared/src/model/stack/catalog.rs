//! The release catalog (`shared/stack/catalog.yaml`, embedded): what the stack installs,
//! where, in which order, and what each release leaves behind.

use crate::base::error::{Error, Result};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

const CATALOG_YAML: &str = include_str!("../../../stack/catalog.yaml");

#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[serde(rename_all = "lowercase")]
pub enum Plane {
    Control,
    Compute,
}

impl Plane {
    pub fn as_str(self) -> &'static str {
        match self {
            Plane::Control => "control",
            Plane::Compute => "compute",
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Workload {
    pub kind: String,
    pub name: String,
    /// The operator-facing service name (`ops services`), for the workloads operators act on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    /// What scaling this workload to zero takes down; set on the infrastructure
    /// StatefulSets, whose scale-to-zero needs typed confirmation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outage: Option<String>,
    /// A fixed replica count the chart hard-codes (otherwise the profile decides).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replicas: Option<u32>,
    /// `readyReplicas`, `openbaoUnsealed`, `routeAccepted` or `exists`.
    pub health: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probe: Option<String>,
    /// `onDelete`: the StatefulSet restarts no pod on `helm upgrade`; an upgrade rotates them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rotate: Option<String>,
}

impl Workload {
    /// Whether an upgrade deletes this StatefulSet's outdated pods itself, one at a time.
    pub fn rotated_on_upgrade(&self) -> bool {
        self.kind == "StatefulSet" && self.rotate.as_deref() == Some("onDelete")
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Hook {
    pub kind: String,
    pub name: String,
    pub events: Vec<String>,
    #[serde(default)]
    pub weight: i32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delete_policy: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Crd {
    pub name: String,
    pub group: String,
    pub kind: String,
    pub plural: String,
    pub scope: String,
    pub version: String,
}

/// A Gateway API route a release creates in the Gateway's namespace.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Route {
    pub kind: String,
    pub name: String,
    /// Host prefix: the route answers `<host>.<domain>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    pub backend: String,
    pub backend_namespace: String,
    pub port: u16,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Persistent {
    pub kind: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Release {
    pub name: String,
    pub plane: Plane,
    pub chart: String,
    pub version: String,
    /// A chart repository of its own (OCI or HTTP); otherwise the user's chart source.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repo: Option<String>,
    pub namespace: String,
    /// A stack-config path that overrides `namespace`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace_from: Option<String>,
    #[serde(default)]
    pub needs: Vec<String>,
    #[serde(default)]
    pub enabled_when: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values_key: Option<String>,
    #[serde(default)]
    pub keep_on_teardown: bool,
    #[serde(default)]
    pub workloads: Vec<Workload>,
    #[serde(default)]
    pub hooks: Vec<Hook>,
    #[serde(default)]
    pub crds: Vec<Crd>,
    #[serde(default)]
    pub routes: Vec<Route>,
    #[serde(default)]
    pub persistent: Vec<Persistent>,
    #[serde(default)]
    pub random_secrets: Vec<String>,
    /// Chart versions an upgrade must stop at on its way past them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub upgrade_path: Vec<String>,
    /// Inline values under `valuesKey`; empty where `shared/stack/values/NAME.yaml.j2`
    /// (ported from upstream's templates) renders the whole document instead.
    #[serde(default)]
    pub values: String,
}

impl Release {
    /// Every release waits for its Jobs: helmDefaults in both helmfiles (stack.yaml).
    pub fn wait_for_jobs(&self) -> bool {
        true
    }

    /// The namespace this release installs into under `cfg`.
    pub fn namespace_in(&self, cfg: &Value) -> String {
        self.namespace_from
            .as_deref()
            .and_then(|path| lookup(cfg, path))
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .unwrap_or(&self.namespace)
            .to_owned()
    }

    pub fn enabled_in(&self, cfg: &Value) -> bool {
        self.enabled_when
            .iter()
            .all(|path| lookup(cfg, path).and_then(Value::as_bool).unwrap_or(false))
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Namespaces {
    pub persistent: Vec<String>,
    pub platform_label: String,
    pub platform: Vec<String>,
    pub topology: Vec<String>,
    pub compute_runtime: Vec<String>,
}

/// Custom resources to delete before the compute plane's releases go.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Drain {
    pub api_version: String,
    pub kind: String,
    pub plural: String,
    pub namespace: String,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ComputeTeardown {
    pub drain: Drain,
    pub crds: Vec<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HelmDefaults {
    pub timeout: String,
}

/// A stack version `upgrade --to` knows: the charts whose version differs from the pins.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StackVersion {
    pub version: String,
    #[serde(default)]
    pub charts: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Catalog {
    pub schema_version: u32,
    pub stack_version: String,
    /// Newest first; the first is `stack_version`, the releases' own pins.
    #[serde(default)]
    pub stack_versions: Vec<StackVersion>,
    pub compute_stack_version: String,
    pub helm: HelmDefaults,
    pub namespaces: Namespaces,
    pub compute_teardown: ComputeTeardown,
    pub releases: Vec<Release>,
}

/// A dot path into a JSON value: `addons.llm`.
pub fn lookup<'a>(value: &'a Value, path: &str) -> Option<&'a Value> {
    path.trim_start_matches('.')
        .split('.')
        .filter(|p| !p.is_empty())
        .try_fold(value, |v, key| v.get(key))
}

impl Catalog {
    /// The namespaces `plane`'s releases live in, plus where the compute plane runs
    /// functions; sorted, each once.
    pub fn plane_namespaces(&self, plane: Plane) -> Vec<String> {
        let mut out: Vec<String> = self
            .releases
            .iter()
            .filter(|r| r.plane == plane)
            .map(|r| r.namespace.clone())
            .collect();
        if plane == Plane::Compute {
            out.extend(self.namespaces.compute_runtime.iter().cloned());
        }
        out.sort();
        out.dedup();
        out
    }

    /// The embedded catalog. It is checked by a unit test, so a failure here is a bug.
    pub fn embedded() -> &'static Catalog {
        static CATALOG: OnceLock<Catalog> = OnceLock::new();
        CATALOG.get_or_init(|| {
            let catalog: Catalog =
                serde_saphyr::from_str(CATALOG_YAML).expect("embedded catalog parses");
            catalog.check().expect("embedded catalog is consistent");
            catalog
        })
    }

    /// The releases `config` enables, in install order, each with its namespace there.
    pub fn enabled_in_order(&self, config: &Value) -> Result<Vec<(&Release, String)>> {
        let enabled: Vec<&Release> = self
            .releases
            .iter()
            .filter(|r| r.enabled_in(config))
            .collect();
        Ok(install_order(&enabled)?
            .into_iter()
            .map(|r| (r, r.namespace_in(config)))
            .collect())
    }

    pub fn release(&self, name: &str) -> Option<&Release> {
        self.releases.iter().find(|r| r.name == name)
    }

    pub fn require(&self, name: &str) -> Result<&Release> {
        self.release(name).ok_or_else(|| {
            Error::not_found(format!("release {name:?} is not in the stack catalog")).hint(format!(
                "use one of: {}",
                self.releases
                    .iter()
                    .map(|r| r.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        })
    }

    fn check(&self) -> Result<()> {
        let names: BTreeSet<&str> = self.releases.iter().map(|r| r.name.as_str()).collect();
        if names.len() != self.releases.len() {
            return Err(Error::internal("catalog has duplicate release names"));
        }
        for r in &self.releases {
            for need in &r.needs {
                if !names.contains(need.as_str()) {
                    return Err(Error::internal(format!(
                        "catalog: {} needs unknown release {need}",
                        r.name
                    )));
                }
            }
        }
        self.check_stack_versions(&names)?;
        let all: Vec<&Release> = self.releases.iter().collect();
        install_order(&all).map(|_| ())
    }

    fn check_stack_versions(&self, names: &BTreeSet<&str>) -> Result<()> {
        if let Some(first) = self.stack_versions.first()
            && (first.version != self.stack_version || !first.charts.is_empty())
        {
            return Err(Error::internal(
                "catalog: the first stackVersions entry must be stackVersion, with no charts",
            ));
        }
        for v in &self.stack_versions {
            if let Some(bad) = v.charts.keys().find(|r| !names.contains(r.as_str())) {
                return Err(Error::internal(format!(
                    "catalog: stack version {} names unknown release {bad}",
                    v.version
                )));
            }
        }
        Ok(())
    }

    /// The chart version of `release` in stack version `version`, if the catalog knows it.
    pub fn chart_version_in<'a>(&'a self, version: &str, release: &'a Release) -> Option<&'a str> {
        let v = self.stack_versions.iter().find(|v| v.version == version)?;
        Some(v.charts.get(&release.name).unwrap_or(&release.version))
    }
}

/// `releases` in install order: the compute plane after the control plane, each release
/// after what it needs (needs on releases not in the list are ignored, they are disabled),
/// ties kept in catalog order so the result never depends on hashing.
pub fn install_order<'a>(releases: &[&'a Release]) -> Result<Vec<&'a Release>> {
    let present: BTreeMap<&str, usize> = releases
        .iter()
        .enumerate()
        .map(|(i, r)| (r.name.as_str(), i))
        .collect();
    let mut done = vec![false; releases.len()];
    let mut order = Vec::with_capacity(releases.len());
    for plane in [Plane::Control, Plane::Compute] {
        loop {
            let next = releases.iter().enumerate().find(|(i, r)| {
                !done[*i]
                    && r.plane == plane
                    && r.needs
                        .iter()
                        .all(|n| present.get(n.as_str()).is_none_or(|&j| done[j]))
            });
            match next {
                Some((i, r)) => {
                    done[i] = true;
                    order.push(*r);
                }
                None => break,
            }
        }
    }
    if order.len() != releases.len() {
        let stuck: Vec<&str> = releases
            .iter()
            .enumerate()
            .filter(|(i, _)| !done[*i])
            .map(|(_, r)| r.name.as_str())
            .collect();
        return Err(Error::internal(format!(
            "release needs form a cycle or cross planes: {}",
            stuck.join(", ")
        )));
    }
    Ok(order)
}

/// Teardown order: the compute plane first, then each plane in reverse install order.
pub fn teardown_order<'a>(releases: &[&'a Release]) -> Result<Vec<&'a Release>> {
    let order = install_order(releases)?;
    let mut out: Vec<&Release> = order
        .iter()
        .rev()
        .filter(|r| r.plane == Plane::Compute)
        .copied()
        .collect();
    out.extend(order.iter().rev().filter(|r| r.plane == Plane::Control));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_catalog_is_consistent() {
        let c = Catalog::embedded();
        assert!(c.releases.len() >= 30, "{}", c.releases.len());
        assert_eq!(
            c.release("openbao-server").unwrap().namespace,
            "vault-system"
        );
        assert_eq!(c.release("api").unwrap().version, "1.25.1");
    }

    #[test]
    fn install_order_respects_needs_and_planes() {
        let c = Catalog::embedded();
        let all: Vec<&Release> = c.releases.iter().collect();
        let order: Vec<&str> = install_order(&all)
            .unwrap()
            .iter()
            .map(|r| r.name.as_str())
            .collect();
        let pos = |n: &str| order.iter().position(|x| *x == n).unwrap();
        for r in &c.releases {
            for need in &r.needs {
                assert!(pos(need) < pos(&r.name), "{need} before {}", r.name);
            }
        }
        assert!(pos("ingress") < pos("kai-scheduler"), "control plane first");
        let teardown: Vec<&str> = teardown_order(&all)
            .unwrap()
            .iter()
            .map(|r| r.name.as_str())
            .collect();
        assert_eq!(teardown[0], "nvca-operator");
        assert_eq!(*teardown.last().unwrap(), "prometheus-operator-crds");
    }

    #[test]
    fn enabled_when_reads_config_paths() {
        let c = Catalog::embedded();
        let cfg = serde_json::json!({"addons": {"llm": true, "llmPki": false}});
        assert!(c.release("llm-api-gateway").unwrap().enabled_in(&cfg));
        assert!(!c.release("nvcf-pki").unwrap().enabled_in(&cfg));
        assert!(c.release("api").unwrap().enabled_in(&cfg));
    }
}
