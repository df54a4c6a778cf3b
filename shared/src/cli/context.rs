//! `context`: which cluster, context, namespace and profile a command would act on,
//! resolved without contacting anything.

use crate::base::error::Result;
use crate::base::output::{Report, key_value_table};
use crate::model::profile::{Profile, ProfileArgs};
use crate::model::settings::EnvLookup;
use crate::model::target::{
    KubeSelection, NO_CONTEXT_PROFILE, NamespaceSource, PlaneArgs, Source, Target,
};
use serde::Serialize;
use std::path::PathBuf;

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TargetView {
    pub context: Option<String>,
    pub cluster: String,
    pub server: String,
    pub user: Option<String>,
    pub namespace: String,
    pub namespace_source: NamespaceSource,
    pub kubeconfig: Source,
}

impl From<&Target> for TargetView {
    fn from(t: &Target) -> Self {
        TargetView {
            context: t.context.clone(),
            cluster: t.cluster.clone(),
            server: t.server.clone(),
            user: t.user.clone(),
            namespace: t.namespace.clone(),
            namespace_source: t.namespace_source,
            kubeconfig: t.source.clone(),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProfileView {
    pub name: String,
    pub config_path: PathBuf,
    pub state_path: PathBuf,
    pub exists: bool,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ContextReport {
    /// `None` on a machine without any kubeconfig: API commands still work there.
    #[serde(flatten)]
    pub target: Option<TargetView>,
    /// Why there is no cluster, and what cluster commands need.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub no_cluster: Option<String>,
    pub profile: ProfileView,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub control_plane: Option<TargetView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub compute_plane: Option<TargetView>,
}

impl ContextReport {
    pub fn resolve(
        sel: &KubeSelection,
        planes: Option<&PlaneArgs>,
        profile_args: &ProfileArgs,
        env: &dyn EnvLookup,
    ) -> Result<ContextReport> {
        let target = Target::resolve_if_any(sel, env)?;
        let plane = |ctx: Option<&String>| -> Result<Option<TargetView>> {
            ctx.map(|c| {
                Target::resolve(&sel.with_context(Some(c)), env).map(|t| TargetView::from(&t))
            })
            .transpose()
        };
        let control_plane = plane(planes.and_then(|p| p.control_plane_context.as_ref()))?;
        let compute_plane = plane(planes.and_then(|p| p.compute_plane_context.as_ref()))?;
        let context = target
            .as_ref()
            .map_or(Some(NO_CONTEXT_PROFILE), |t| t.context.as_deref());
        let profile = Profile::locate(profile_args, context, env)?;
        Ok(ContextReport {
            no_cluster: target.is_none().then(|| {
                "no kubeconfig (KUBECONFIG unset or empty, no ~/.kube/config) and not in a Pod: \
                 API commands work; cluster commands need --kubeconfig PATH or KUBECONFIG"
                    .to_owned()
            }),
            target: target.as_ref().map(TargetView::from),
            profile: ProfileView {
                exists: profile.exists(),
                name: profile.name.clone(),
                config_path: profile.config_path.clone(),
                state_path: profile.state_path.clone(),
            },
            control_plane,
            compute_plane,
        })
    }
}

fn source_text(source: &Source) -> String {
    match source {
        Source::Files(paths) => paths
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(":"),
        Source::InCluster => "in-cluster service account".to_owned(),
    }
}

fn ns_text(view: &TargetView) -> String {
    let from = match view.namespace_source {
        NamespaceSource::Flag => "from --namespace",
        NamespaceSource::Context => "from the context",
        NamespaceSource::ServiceAccount => "from the service account",
        NamespaceSource::Default => "default",
    };
    format!("{} ({from})", view.namespace)
}

fn plane_text(view: &TargetView) -> String {
    format!(
        "{} ({})",
        view.context.as_deref().unwrap_or("-"),
        view.server
    )
}

impl ContextReport {
    fn profile_paths(&self) -> [(&'static str, String); 2] {
        [
            (
                "PROFILE CONFIG",
                self.profile.config_path.display().to_string(),
            ),
            (
                "PROFILE STATE",
                self.profile.state_path.display().to_string(),
            ),
        ]
    }
}

impl Report for ContextReport {
    fn table(&self, wide: bool) -> String {
        let Some(t) = &self.target else {
            let mut rows = vec![
                ("CONTEXT", "- (no cluster)".to_owned()),
                ("PROFILE", self.profile.name.clone()),
                ("NOTE", self.no_cluster.clone().unwrap_or_default()),
            ];
            if wide {
                rows.extend(self.profile_paths());
            }
            return key_value_table(&rows);
        };
        let mut rows = vec![
            ("CONTEXT", t.context.clone().unwrap_or_else(|| "-".into())),
            ("CLUSTER", format!("{} ({})", t.cluster, t.server)),
            ("NAMESPACE", ns_text(t)),
            ("PROFILE", self.profile.name.clone()),
        ];
        if let Some(cp) = &self.control_plane {
            rows.push(("CONTROL PLANE", plane_text(cp)));
        }
        if let Some(cp) = &self.compute_plane {
            rows.push(("COMPUTE PLANE", plane_text(cp)));
        }
        if wide {
            rows.push(("USER", t.user.clone().unwrap_or_else(|| "-".into())));
            rows.push(("KUBECONFIG", source_text(&t.kubeconfig)));
            rows.extend(self.profile_paths());
        }
        key_value_table(&rows)
    }

    fn names(&self) -> Vec<String> {
        let name = match &self.target {
            Some(t) => t.context.as_deref().unwrap_or("in-cluster"),
            None => "none",
        };
        vec![format!("context/{name}")]
    }
}
