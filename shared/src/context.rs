//! `context`: which cluster, context, namespace and profile a command would act on,
//! resolved without contacting anything.

use crate::error::Result;
use crate::output::{Report, key_value_table};
use crate::profile::{Profile, ProfileArgs};
use crate::settings::EnvLookup;
use crate::target::{KubeSelection, NamespaceSource, PlaneArgs, Source, Target};
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
    #[serde(flatten)]
    pub target: TargetView,
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
        let target = Target::resolve(sel, env)?;
        let plane = |ctx: Option<&String>| -> Result<Option<TargetView>> {
            ctx.map(|c| {
                Target::resolve(&sel.with_context(Some(c)), env).map(|t| TargetView::from(&t))
            })
            .transpose()
        };
        let control_plane = plane(planes.and_then(|p| p.control_plane_context.as_ref()))?;
        let compute_plane = plane(planes.and_then(|p| p.compute_plane_context.as_ref()))?;
        let profile = Profile::locate(profile_args, target.context.as_deref(), env)?;
        Ok(ContextReport {
            target: TargetView::from(&target),
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

impl Report for ContextReport {
    fn table(&self, wide: bool) -> String {
        let t = &self.target;
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
            rows.push((
                "PROFILE CONFIG",
                self.profile.config_path.display().to_string(),
            ));
            rows.push((
                "PROFILE STATE",
                self.profile.state_path.display().to_string(),
            ));
        }
        key_value_table(&rows)
    }

    fn names(&self) -> Vec<String> {
        vec![format!(
            "context/{}",
            self.target.context.as_deref().unwrap_or("in-cluster")
        )]
    }
}
