//! The clusters the planes live on: one for both, or one each with
//! `--control-plane-context` and `--compute-plane-context`.

use super::run::PlaneTarget;
use crate::base::error::Result;
use crate::clients::helm::Helm;
use crate::clients::nvcf::Session;
use crate::model::settings::Overlaid;
use crate::model::target::{KubeSelection, Target};
use crate::operations::reach::Reach;
use std::collections::HashMap;

pub async fn resolve(reach: &Reach<'_>, sel: &KubeSelection) -> Result<PlaneTarget> {
    let target = Target::resolve(sel, reach.env)?;
    let client = target.client(&reach.user_agent()).await?;
    let helm = Helm::from_env(reach.env, target.context.clone())
        .await?
        .with_kubeconfig(sel.kubeconfig.clone());
    Ok(PlaneTarget {
        label: target
            .context
            .clone()
            .unwrap_or_else(|| target.cluster.clone()),
        client,
        server: target.server,
        helm,
    })
}

/// The control plane's selection, the compute plane's, and whether they differ.
pub fn selections(reach: &Reach<'_>) -> (KubeSelection, KubeSelection, bool) {
    let control = reach
        .sel
        .with_context(reach.planes.control_plane_context.as_deref());
    let compute = reach
        .sel
        .with_context(reach.planes.compute_plane_context.as_deref());
    let split = control.context != compute.context;
    (control, compute, split)
}

/// The control plane's cluster, and the compute plane's when it is another (`split`).
pub async fn both(reach: &Reach<'_>) -> Result<(PlaneTarget, Option<PlaneTarget>, bool)> {
    let (control_sel, compute_sel, split) = selections(reach);
    let control = resolve(reach, &control_sel).await?;
    let compute = if split {
        Some(resolve(reach, &compute_sel).await?)
    } else {
        None
    };
    Ok((control, compute, split))
}

/// The profile's session with `--icms-url` on top of the environment (the `icms_url`
/// setting reads `NVCF_ICMS_URL`).
pub fn session_with_icms(reach: &Reach<'_>, icms: Option<&str>) -> Result<Session> {
    let mut on_top = HashMap::new();
    if let Some(url) = icms.filter(|u| !u.is_empty()) {
        on_top.insert("NVCF_ICMS_URL".to_owned(), url.to_owned());
    }
    reach.session_in(&Overlaid {
        base: reach.env,
        on_top,
    })
}
