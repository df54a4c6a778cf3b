//! `version`: this plugin's build and the kubectl/helm it will drive.

use crate::base::output::{Report, key_value_table};
use crate::base::plugin::Plugin;
use crate::clients::tools::{Tool, ToolVersion, detect, which};
use crate::model::settings::EnvLookup;
use serde::Serialize;
use std::path::PathBuf;

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VersionReport {
    pub plugin: String,
    pub version: String,
    pub git_revision: String,
    pub target: String,
    pub kubectl: Option<ToolVersion>,
    pub helm: Option<ToolVersion>,
}

/// `helm_bin` is the helm that started us (`$HELM_BIN`) when running as a helm plugin.
pub async fn version_report(
    plugin: Plugin,
    helm_bin: Option<PathBuf>,
    env: &dyn EnvLookup,
) -> VersionReport {
    let kubectl = which("kubectl", env);
    let helm = helm_bin
        .filter(|p| p.exists())
        .or_else(|| which("helm", env));
    let mut wanted = Vec::new();
    if let Some(p) = &kubectl {
        wanted.push((Tool::Kubectl, p.clone()));
    }
    if let Some(p) = &helm {
        wanted.push((Tool::Helm, p.clone()));
    }
    let mut found = detect(&wanted, env).await.into_iter();
    VersionReport {
        plugin: plugin.display.to_owned(),
        version: env!("CARGO_PKG_VERSION").to_owned(),
        git_revision: env!("NVCF_GIT_REVISION").to_owned(),
        target: env!("NVCF_BUILD_TARGET").to_owned(),
        kubectl: kubectl.and_then(|_| found.next()),
        helm: helm.and_then(|_| found.next()),
    }
}

fn describe(tool: &Option<ToolVersion>) -> String {
    match tool {
        Some(ToolVersion {
            path,
            version: Some(v),
        }) => format!("{v} ({})", path.display()),
        Some(ToolVersion {
            path,
            version: None,
        }) => format!("unknown version ({})", path.display()),
        None => "not found on PATH".to_owned(),
    }
}

impl Report for VersionReport {
    fn table(&self, wide: bool) -> String {
        let mut rows = vec![
            ("PLUGIN", self.plugin.clone()),
            ("VERSION", self.version.clone()),
            ("REVISION", self.git_revision.clone()),
        ];
        if wide {
            rows.push(("TARGET", self.target.clone()));
        }
        rows.push(("KUBECTL", describe(&self.kubectl)));
        rows.push(("HELM", describe(&self.helm)));
        key_value_table(&rows)
    }

    fn names(&self) -> Vec<String> {
        vec![format!(
            "{}/{}",
            self.plugin.replace(' ', "-"),
            self.version
        )]
    }
}
