//! `install --control-plane|--compute-plane` (or its YAML, offline) and
//! `add-compute-plane`: one plane's phases.

use super::choice::{StackChoice, check_cluster_name};
use super::run::{ComputeSource, Request, UpReport, run};
use super::{Scope, targets};
use crate::base::error::{Error, Result};
use crate::base::output::note;
use crate::clients::helm::Helm;
use crate::model::handoff::register_values::{self, RegisterValues};
use crate::model::profile::view::current;
use crate::model::stack::inputs::Inputs;
use crate::operations::reach::Reach;
use crate::operations::stack::render::{Planes, render_stream};
use std::path::PathBuf;

pub struct InstallRequest {
    /// The control plane's releases; otherwise the compute plane's.
    pub control_plane: bool,
    /// The plane's YAML instead: registers nothing and contacts no cluster.
    pub dry_run: bool,
    pub cluster_name: Option<String>,
    pub icms_url: Option<String>,
    pub choice: StackChoice,
}

pub enum Installed {
    Report(UpReport),
    /// `--dry-run`: the YAML for `kubectl apply`.
    Yaml(String),
}

pub async fn install(reach: &Reach<'_>, mut req: InstallRequest) -> Result<Installed> {
    let compute_plane = !req.control_plane;
    let (control_sel, compute_sel, _) = targets::selections(reach);
    // Upstream's `compute-plane install --values FILE`: the registration values file a
    // split install hands over. The cluster is registered already.
    let handoff = if compute_plane {
        register_values::take_from(&mut req.choice.stack.values)?
    } else {
        None
    };
    let cluster_name = cluster_name(&req, handoff.as_ref())?;
    let nca_id = handoff
        .as_ref()
        .map(|(_, v)| v.nca_id.clone())
        .filter(|n| !n.is_empty())
        .or(req.choice.nca_id.clone());
    let inputs = req.choice.stack.load(reach.env, true)?;
    let source = req.choice.source(&inputs)?;
    if req.dry_run {
        let handoff = handoff.map(|(_, v)| v);
        return offline_yaml(reach, &req, inputs, &cluster_name, handoff).await;
    }
    let (scope, sel) = if req.control_plane {
        (Scope::ControlPlane, control_sel)
    } else {
        (Scope::ComputePlane, compute_sel)
    };
    let target = targets::resolve(reach, &sel).await?;
    let session = if scope == Scope::ComputePlane && handoff.is_none() {
        Some(targets::session_with_icms(reach, req.icms_url.as_deref())?)
    } else {
        None
    };
    let run_req = Request {
        scope,
        cluster_name,
        nca_id,
        region: req.choice.region.clone(),
        inputs,
        source,
        control: (scope == Scope::ControlPlane).then_some(&target),
        compute: (scope == Scope::ComputePlane).then_some(&target),
        session: session.as_ref(),
        token_given: reach.token_given(),
        compute_source: match handoff {
            Some((_, values)) => ComputeSource::Handoff(Box::new(values)),
            None => ComputeSource::Config,
        },
        split: false,
        env: reach.env,
    };
    Ok(Installed::Report(run(run_req, reach.run.events()).await?))
}

/// `--cluster-name`, else the one the registration values file names; the compute plane
/// needs one.
fn cluster_name(
    req: &InstallRequest,
    handoff: Option<&(PathBuf, RegisterValues)>,
) -> Result<String> {
    let from_file = handoff.and_then(|(path, v)| {
        Some(v.cluster_name.clone())
            .filter(|n| !n.is_empty())
            .or_else(|| register_values::cluster_from_file_name(path))
    });
    match (req.cluster_name.clone().or(from_file), !req.control_plane) {
        (Some(n), _) => {
            check_cluster_name(&n)?;
            Ok(n)
        }
        (None, true) => Err(Error::usage("install --compute-plane needs --cluster-name")
            .hint("pass --cluster-name NAME: the GPU cluster's name in SIS")),
        (None, false) => Ok(String::new()),
    }
}

/// The plane's YAML, rendered offline. The compute plane carries the registration this
/// profile remembers for the cluster, if any; nothing is registered.
async fn offline_yaml(
    reach: &Reach<'_>,
    req: &InstallRequest,
    mut inputs: Inputs,
    cluster: &str,
    handoff: Option<RegisterValues>,
) -> Result<Installed> {
    let planes = if req.control_plane {
        Planes::Control
    } else {
        Planes::Compute
    };
    if let Some(values) = &handoff {
        inputs.config.compute.cluster_name = cluster.to_owned();
        values.apply_to(&mut inputs);
        inputs.registration = values.registration(cluster);
    } else if !req.control_plane {
        inputs.config.compute.cluster_name = cluster.to_owned();
        let profile = current(reach.profile, reach.sel, reach.env)?;
        let remembered = profile
            .read_state()?
            .registration
            .filter(|r| r.cluster_name == cluster);
        match remembered {
            Some(r) => inputs.registration = Some(r),
            None => note(&format!(
                "note: cluster {cluster} is not registered in profile {}; the YAML carries no cluster id (`{}` without --no-apply registers it)",
                profile.name,
                crate::base::plugin::nvcf("install --compute-plane")
            )),
        }
    }
    let helm = Helm::from_env(reach.env, None).await?;
    let source = req.choice.chart_source.as_deref();
    let yaml = render_stream(&inputs, planes, source, &helm, None).await?;
    for line in &yaml.notes {
        note(line);
    }
    Ok(Installed::Yaml(yaml.yaml.trim_end().to_owned()))
}

pub struct AddComputePlane {
    pub cluster_name: String,
    /// ICMS/SIS public URL (default: the profile's icms_url, or sis.DOMAIN of --gateway).
    pub icms_url: Option<String>,
    /// ReVal URL the NVCA reaches (default: the SIS URL's host with reval. for sis.).
    pub reval_url: Option<String>,
    /// NATS URL the NVCA reaches (default: nats://nats.DOMAIN:4222 from the SIS host).
    pub nats_url: Option<String>,
    pub choice: StackChoice,
}

/// Another GPU cluster attached to a running control plane through its public routes,
/// with `--token` and no access to the control plane's cluster.
pub async fn add_compute_plane(reach: &Reach<'_>, req: AddComputePlane) -> Result<UpReport> {
    check_cluster_name(&req.cluster_name)?;
    if !reach.token_given() {
        return Err(Error::usage("add-compute-plane needs --token")
            .hint(format!(
                "pass --token JWT: an admin token of the control plane (`{} init` on a machine that reaches it mints one)",
                crate::base::plugin::NVCF.display
            )));
    }
    let (_, compute_sel, _) = targets::selections(reach);
    let inputs = req.choice.stack.load(reach.env, true)?;
    let source = req.choice.source(&inputs)?;
    let session = targets::session_with_icms(reach, req.icms_url.as_deref())?;
    let target = targets::resolve(reach, &compute_sel).await?;
    let run_req = Request {
        scope: Scope::ComputePlane,
        cluster_name: req.cluster_name,
        nca_id: req.choice.nca_id,
        region: req.choice.region,
        inputs,
        source,
        control: None,
        compute: Some(&target),
        session: Some(&session),
        token_given: true,
        compute_source: ComputeSource::public(&session, req.reval_url, req.nats_url),
        split: false,
        env: reach.env,
    };
    run(run_req, reach.run.events()).await
}
