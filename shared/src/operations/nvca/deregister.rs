//! `kubectl nvca deregister`: remove a cluster's SIS registration, confirmed by its name.

use super::registration::{find_by_id, remembered};
use crate::base::confirm::Gate;
use crate::base::env::EnvLookup;
use crate::base::error::{Error, ExitCode, Result};
use crate::clients::nvcf::sis::Sis;
use crate::model::profile::Profile;

pub struct Deregister {
    /// The registration to remove; `None` is this profile's own.
    pub cluster_id: Option<String>,
    /// The account of `cluster_id`; the profile's client id when not given.
    pub nca_id: String,
    /// A cluster named by id that is already gone is done, not an error.
    pub ignore_missing: bool,
    pub yes: bool,
    /// The cluster's name, as confirmation without a prompt.
    pub confirm: Option<String>,
}

/// Deregisters and forgets the registration in the profile; returns what to tell the user.
pub async fn deregister(
    sis: &Sis<'_>,
    profile: &Profile,
    req: Deregister,
    env: &dyn EnvLookup,
) -> Result<String> {
    // For the profile's own registration, already gone is what was asked for.
    let (name, nca_id, id, gone_ok) = match req.cluster_id {
        Some(id) => match find_by_id(sis, &req.nca_id, &id).await? {
            Some(found) => (found.cluster_name, req.nca_id, id, req.ignore_missing),
            None if req.ignore_missing => {
                return Ok(format!("cluster {id} not found; nothing to do"));
            }
            None => {
                return Err(Error::not_found(format!(
                    "no cluster {id} is registered for account {}",
                    req.nca_id
                ))
                .hint("pass --ignore-missing to treat a missing cluster as done"));
            }
        },
        None => {
            let reg = remembered(profile)?;
            (reg.cluster_name, reg.nca_id, reg.cluster_id, true)
        }
    };
    Gate::type_name(
        format!("deregister {name} (its NVCA stops authenticating at once)"),
        &name,
    )
    .name_flag("--confirm", req.confirm)
    .check(req.yes, env)?;
    match sis.delete(&nca_id, &id).await {
        Ok(()) => {}
        Err(e) if gone_ok && e.exit_code() == ExitCode::NotFound => {}
        Err(e) => return Err(e),
    }
    profile.update_state(|s| {
        if s.registration.as_ref().is_some_and(|r| r.cluster_id == id) {
            s.registration = None;
            s.cluster_id = None;
        }
        Ok(())
    })?;
    Ok(format!("cluster {name} ({id}) deregistered"))
}
