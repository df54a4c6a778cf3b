//! `kubectl nvca values`: seed 001's `nvca-operator-values.yaml`, rendered from the stack
//! config through the catalog's own template, so the file a person hands to `helm` is the
//! one `kubectl nvcf up` installs with.

use crate::base::error::Result;
use crate::base::output::Report;
use crate::model::stack::catalog::Catalog;
use crate::model::stack::inputs::Inputs;
use crate::model::stack::values::{PasswordView, to_yaml};
use serde::Serialize;
use serde_json::Value;

pub const RELEASE: &str = "nvca-operator";

#[derive(Debug, Serialize)]
pub struct OperatorValues {
    #[serde(skip)]
    pub chart: String,
    #[serde(skip)]
    pub version: String,
    #[serde(skip)]
    pub namespace: String,
    #[serde(flatten)]
    pub values: serde_json::Map<String, Value>,
}

/// The operator release's values from `inputs` (no passwords: the chart takes none).
pub fn render(inputs: &Inputs) -> Result<OperatorValues> {
    let release = Catalog::embedded().require(RELEASE)?;
    let values = inputs
        .values_input()
        .release_values(release, &PasswordView::Markers)?;
    Ok(OperatorValues {
        chart: release.chart.clone(),
        version: release.version.clone(),
        namespace: release.namespace.clone(),
        values: match values {
            Value::Object(map) => map,
            _ => Default::default(),
        },
    })
}

impl Report for OperatorValues {
    fn table(&self, _wide: bool) -> String {
        let yaml = to_yaml(&Value::Object(self.values.clone())).unwrap_or_default();
        format!(
            "# NVCA operator values for {chart} {version} (self-managed), rendered by {nvca_cmd0}.\n\
             # helm upgrade --install {RELEASE} oci://REGISTRY/REPOSITORY/{chart} --version {version} \\\n\
             #   -n {ns} --create-namespace --wait -f nvca-operator-values.yaml\n\
             # then: {nvca_cmd1}\n{yaml}",
            chart = self.chart,
            version = self.version,
            ns = self.namespace,
            nvca_cmd0 = crate::base::plugin::nvca("values"),
            nvca_cmd1 = crate::base::plugin::nvca("bootstrap")
        )
    }
    fn names(&self) -> Vec<String> {
        vec![format!("release/{RELEASE}")]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::settings::MapEnv;
    use crate::model::stack::inputs::from_text;

    const CONFIG: &str = "\
registry: registry.example.com
repository: acme/nvcf
imagePullSecrets: [nvcr-pull-secret]
nodeSelectors:
  all: {pool: system}
  compute: {nvcf.nvidia.com/workload: gpu}
compute:
  clusterName: gpu-a
  nvcaVersion: 2.52.0-rc.5
  featureGates: [DynamicGPUDiscovery, SelfHosted, KAIScheduler]
";

    #[test]
    fn seed_001_values_from_the_stack_config() {
        let inputs = from_text(CONFIG, &MapEnv::default(), false);
        let report = render(&inputs).unwrap();
        let v = Value::Object(report.values.clone());
        assert_eq!(
            v["image"]["repository"],
            "registry.example.com/acme/nvcf/nvca-operator"
        );
        assert_eq!(v["ngcConfig"]["clusterSource"], "self-managed");
        assert_eq!(v["nodeSelector"]["key"], "nvcf.nvidia.com/workload");
        insta::assert_snapshot!(report.table(false));
    }

    #[test]
    fn defaults_place_the_operator_nowhere_in_particular() {
        let inputs = from_text(
            "registry: r.example\nrepository: a/b\nnodeSelectors: {all: {pool: system}}\n",
            &MapEnv::default(),
            false,
        );
        let v = Value::Object(render(&inputs).unwrap().values);
        assert!(v.get("nodeSelector").is_none(), "{v:#}");
        assert_eq!(v["selfManaged"]["nvcaVersion"], "3.2.7");
        assert_eq!(v["selfManaged"]["featureGateValues"][1], "SelfHosted");
        assert!(
            v.get("imagePullSecrets").is_none(),
            "upstream omits an empty list"
        );
    }

    #[test]
    fn two_compute_selector_labels_are_refused() {
        let err = crate::model::stack::config::StackConfig::parse(
            "registry: r\nrepository: a\nnodeSelectors: {compute: {a: b, c: d}}\n",
            "f",
        )
        .unwrap_err();
        let crate::model::stack::config::LoadError::Invalid(p) = err else {
            panic!("not a validation error")
        };
        assert_eq!(p.problems[0].key, "nodeSelectors.compute");
    }
}
