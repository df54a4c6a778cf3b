//! `status`: who this cluster is, the health of every release of the stack (seed 002's
//! services first), the NVCFBackends, recent Warning events, and the profile's endpoints
//! and credentials (masked). Cluster reads go in one parallel wave per cluster; `--watch`
//! keeps the same reads current with Kubernetes watches.

mod assess;
mod lines;
mod observe;
mod show;
mod view;
pub mod watch;

pub use assess::{
    BackendHealth, ClusterIds, ReleaseHealth, SERVICES, StackHealth, Views, WarningEvent,
    WorkloadHealth, assess,
};
pub use lines::change_lines;
pub use observe::{Observed, Source, helm_releases, observe, sources};
pub use show::{Watcher, once, saved_registration};

use crate::base::error::{ErrorReport, Result};
use crate::base::events::Ts;
use crate::model::profile::Registration;
use crate::model::stack::catalog::{Catalog, Plane};
use serde::Serialize;
use serde_json::Value;

/// Which cluster a plane lives on, and a client for it.
#[derive(Clone)]
pub struct PlaneCluster {
    /// The kubeconfig context (or cluster) name, for the identity section.
    pub context: String,
    pub client: kube::Client,
}

/// The clusters status reads: one for both planes, or one per plane (split install).
#[derive(Clone)]
pub struct Clusters {
    pub control: PlaneCluster,
    /// `None`: the compute plane shares the control plane's cluster.
    pub compute: Option<PlaneCluster>,
}

impl Clusters {
    /// `(cluster, planes it holds)` for each distinct cluster.
    pub fn each(&self) -> Vec<(&PlaneCluster, Vec<Plane>)> {
        match &self.compute {
            None => vec![(&self.control, vec![Plane::Control, Plane::Compute])],
            Some(c) => vec![
                (&self.control, vec![Plane::Control]),
                (c, vec![Plane::Compute]),
            ],
        }
    }

    /// `(control-plane context, compute-plane context)`.
    pub fn contexts(&self) -> (&str, &str) {
        (
            &self.control.context,
            &self.compute.as_ref().unwrap_or(&self.control).context,
        )
    }
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Identity {
    pub cluster_name: Option<String>,
    pub cluster_id: Option<String>,
    pub cluster_group_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nca_id: Option<String>,
    pub control_plane_context: String,
    pub compute_plane_context: String,
    /// Where the ids came from: `profile` (the registration `up`/`register` saved),
    /// `cluster` (the NVCA operator's ConfigMap), or `none`.
    pub source: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// The registration on the cluster and the one this profile holds disagree: one line,
    /// with where the fix is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub drift: Option<String>,
}

impl Identity {
    /// Ids from the profile's registration, else from the cluster; a disagreement between
    /// the two, or with `--cluster-name`, is noted rather than hidden.
    pub fn resolve(
        asked: Option<&str>,
        saved: Option<&Registration>,
        on_cluster: Option<&ClusterIds>,
        contexts: (&str, &str),
    ) -> Identity {
        let mut id = Identity {
            cluster_name: asked.map(str::to_owned),
            cluster_id: None,
            cluster_group_id: None,
            nca_id: None,
            control_plane_context: contexts.0.to_owned(),
            compute_plane_context: contexts.1.to_owned(),
            source: "none".into(),
            notes: Vec::new(),
            drift: None,
        };
        let saved = saved.filter(|r| asked.is_none_or(|a| a == r.cluster_name));
        if let (Some(a), None) = (asked, saved) {
            id.notes.push(format!(
                "this profile holds no registration for cluster {a:?}; ids are read from the cluster"
            ));
        }
        if let Some(r) = saved {
            id.cluster_name = Some(r.cluster_name.clone());
            id.cluster_id = Some(r.cluster_id.clone());
            id.cluster_group_id = Some(r.cluster_group_id.clone());
            id.nca_id = Some(r.nca_id.clone()).filter(|s| !s.is_empty());
            id.source = "profile".into();
            if let Some(c) =
                on_cluster.filter(|c| !c.cluster_id.is_empty() && c.cluster_id != r.cluster_id)
            {
                id.drift = Some(format!(
                    "the NVCA operator holds cluster id {}, this profile {} (a registration from another run or control plane): {} names the fix",
                    c.cluster_id,
                    r.cluster_id,
                    crate::base::plugin::nvca("doctor")
                ));
            }
        } else if let Some(c) = on_cluster {
            id.cluster_id = Some(c.cluster_id.clone()).filter(|s| !s.is_empty());
            id.cluster_group_id = Some(c.cluster_group_id.clone()).filter(|s| !s.is_empty());
            id.source = "cluster".into();
        }
        id
    }
}

/// The profile's endpoints and credentials (masked): `data` for JSON, `rows` for people.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ConfigSection {
    #[serde(flatten)]
    pub data: Value,
    #[serde(skip)]
    pub rows: Vec<(String, String)>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct StatusReport {
    pub collected_at: String,
    pub identity: Identity,
    /// Why the clusters could not be read at all (the config section still shows).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cluster_error: Option<String>,
    /// The same failure whole, to fail the command with its category and fix.
    #[serde(skip)]
    pub cluster_failure: Option<ErrorReport>,
    #[serde(flatten)]
    pub stack: Option<StackHealth>,
    pub config: ConfigSection,
}

impl StatusReport {
    pub fn verdict(&self) -> &str {
        self.stack
            .as_ref()
            .map_or("unknown", |s| s.verdict.as_str())
    }
}

/// What `status` needs besides the clusters.
#[derive(Clone)]
pub struct Request {
    pub cluster_name: Option<String>,
    pub registration: Option<Registration>,
    pub config: ConfigSection,
}

/// Reads each cluster in one wave (both clusters at once) and assesses the stack.
pub async fn collect(catalog: &Catalog, clusters: &Clusters, req: Request) -> Result<StatusReport> {
    let waves = clusters.each().into_iter().map(|(c, planes)| {
        let s = sources(catalog, &planes);
        async move {
            let seen = observe(&c.client, &s).await;
            observe::reachable(&seen, &s).map(|()| seen)
        }
    });
    let seen: Vec<Result<Observed>> = futures_util::future::join_all(waves).await;
    Ok(report(catalog, clusters.contexts(), req, seen))
}

/// The report from what was observed (`seen`: one per distinct cluster, as [`Clusters::each`]).
pub fn report(
    catalog: &Catalog,
    contexts: (&str, &str),
    req: Request,
    seen: Vec<Result<Observed>>,
) -> StatusReport {
    let now = Ts::now();
    let mut cluster_failure: Option<ErrorReport> = None;
    let observed: Vec<Observed> = seen
        .into_iter()
        .map(|r| {
            r.unwrap_or_else(|e| {
                cluster_failure.get_or_insert_with(|| e.report());
                Observed::default()
            })
        })
        .collect();
    let cluster_error = cluster_failure.as_ref().map(|f| f.err_message.clone());
    let views = Views {
        control: &observed[0],
        compute: observed.get(1).unwrap_or(&observed[0]),
    };
    let stack = cluster_error
        .is_none()
        .then(|| assess(catalog, &views, u64::try_from(now.unix()).unwrap_or(0)));
    let on_cluster = stack.as_ref().and_then(|s| s.cluster_registration.as_ref());
    StatusReport {
        collected_at: now.rfc3339(),
        identity: Identity::resolve(
            req.cluster_name.as_deref(),
            req.registration.as_ref(),
            on_cluster,
            contexts,
        ),
        cluster_error,
        cluster_failure,
        stack,
        config: req.config,
    }
}

impl Clusters {
    /// The control plane at `--control-plane-context` (else the current context), the compute
    /// plane at `--compute-plane-context` when that names another context.
    pub async fn resolve(
        sel: &crate::model::target::KubeSelection,
        planes: &crate::model::target::PlaneArgs,
        env: &dyn crate::model::settings::EnvLookup,
        user_agent: &str,
    ) -> Result<Clusters> {
        let open = |context: Option<&String>| {
            let selection = sel.with_context(context.map(String::as_str));
            async move {
                let target = crate::model::target::Target::resolve(&selection, env)?;
                Ok::<_, crate::base::error::Error>(PlaneCluster {
                    context: target
                        .context
                        .clone()
                        .unwrap_or_else(|| target.cluster.clone()),
                    client: crate::clients::kube::multiplexed::for_target(&target, user_agent)
                        .await?,
                })
            }
        };
        let control = open(planes.control_plane_context.as_ref()).await?;
        let compute = match &planes.compute_plane_context {
            Some(c) if Some(c) != planes.control_plane_context.as_ref() => {
                Some(open(Some(c)).await?)
            }
            _ => None,
        };
        let compute = compute.filter(|c| c.context != control.context);
        Ok(Clusters { control, compute })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_registration_the_cluster_does_not_hold_is_one_drift_line_naming_the_fix() {
        let saved = Registration {
            cluster_id: "id-profile".into(),
            cluster_group_id: "g".into(),
            cluster_name: "gpu-a".into(),
            ..Registration::default()
        };
        let held = |id: &str| ClusterIds {
            cluster_id: id.into(),
            cluster_group_id: "g".into(),
        };
        let same = Identity::resolve(None, Some(&saved), Some(&held("id-profile")), ("a", "a"));
        assert_eq!(same.drift, None);
        let other = Identity::resolve(None, Some(&saved), Some(&held("id-other")), ("a", "a"));
        let line = other.drift.expect("drift");
        assert!(
            line.contains("id-other")
                && line.contains("id-profile")
                && line.contains("kubectl nvca doctor"),
            "{line}"
        );
        assert!(!line.contains('\n'));
    }
}
