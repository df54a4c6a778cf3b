//! `uninstall` refuses a plane that registered clusters still use.

use super::prepare::Prepared;
use crate::base::error::{Category, Error, Result};
use crate::base::plugin::nvcf;
use crate::clients::nvcf::Session;
use crate::clients::nvcf::sis::Sis;
use crate::operations::stack::status::helm_releases;
use std::collections::BTreeSet;

/// Registered clusters would lose their control plane (or their agent, for the compute
/// plane) without being told: refuse unless forced.
pub async fn registered_guard(control: bool, p: &Prepared) -> Result<()> {
    let mut unknown = None;
    let registered: BTreeSet<String> =
        if control {
            let listed: Vec<String> = match &p.session {
                Some(s) => match (Sis { client: &s.client }).list(&nca_of(s)).await {
                    Ok(all) => all.into_iter().map(|c| c.cluster_name).collect(),
                    Err(e) => {
                        unknown = Some(e.message());
                        Vec::new()
                    }
                },
                None => Vec::new(),
            };
            let compute_here = helm_releases(&p.compute.client)
                .await?
                .iter()
                .any(|(_, r)| r == "nvca-operator");
            listed
                .into_iter()
                .chain(compute_here.then(|| {
                    "this cluster's compute plane (nvca-operator is installed)".to_owned()
                }))
                .collect()
        } else {
            p.session
                .as_ref()
                .and_then(|s| s.profile.read_state().ok())
                .and_then(|s| s.registration)
                .map(|r| format!("{} ({})", r.cluster_name, r.cluster_id))
                .into_iter()
                .collect()
        };
    if let (true, Some(why)) = (registered.is_empty(), unknown) {
        return Err(Error::new(
            Category::Register,
            format!("cannot tell whether clusters are registered: {why}"),
        )
        .hint(format!(
            "fix SIS access ({} init), or pass --force-with-registered-clusters",
            crate::base::plugin::NVCF.display
        )));
    }
    if registered.is_empty() {
        return Ok(());
    }
    let list: Vec<String> = registered.into_iter().collect();
    let down = nvcf("down --cluster-name NAME --confirm");
    Err(Error::new(
        Category::Conflict,
        format!("still registered: {}", list.join(", ")),
    )
    .hint(if control {
        format!("take the clusters down first (`{down}`), or pass --force-with-registered-clusters")
    } else {
        format!("`{down}` also deletes the registration; or pass --force-with-registered-clusters")
    }))
}

fn nca_of(s: &Session) -> String {
    s.profile
        .read_state()
        .ok()
        .and_then(|st| st.registration)
        .map(|r| r.nca_id)
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| s.settings.get("client_id").to_owned())
}
