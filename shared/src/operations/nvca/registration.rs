//! Registering this cluster with SIS, keeping its signing keys current, and removing it.
//!
//! The registration (ids, issuer, key fingerprint) is remembered in the cluster's profile,
//! so `rotate --check` can tell when the cluster's keys no longer match what SIS holds.

use crate::base::error::{Category, Error, ExitCode, Result};
use crate::base::output::{Report, column_table, key_value_table};
use crate::clients::kube::identity::{ClusterIdentity, ManualIssuer, discover};
use crate::clients::nvcf::sis::{Cluster, ClusterRegistration, Sis};
use crate::model::handoff::register_values::RegisterValues;
use crate::model::profile::{Profile, Registration};
use serde::Serialize;

#[derive(Debug, Clone)]
pub struct RegisterRequest {
    pub cluster_name: String,
    pub nca_id: String,
    pub region: String,
    pub ignore_existing: bool,
    /// What the cluster's NVCA runs and enables; upstream's defaults when `None`.
    pub nvca_version: Option<String>,
    pub capabilities: Option<Vec<String>>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RegistrationReport {
    /// `registered`, `already-registered`, `rotated`, `in-sync` or `drifted`.
    pub outcome: String,
    #[serde(flatten)]
    pub registration: Registration,
    pub identity: ClusterIdentity,
    /// The NVCA operator's values for this registration (upstream prints them too).
    #[serde(rename = "nvcaValues", skip_serializing_if = "Option::is_none")]
    pub values: Option<RegisterValues>,
}

impl Report for RegistrationReport {
    fn table(&self, wide: bool) -> String {
        let r = &self.registration;
        let mut rows = vec![
            ("OUTCOME", self.outcome.clone()),
            ("CLUSTER", format!("{} ({})", r.cluster_name, r.cluster_id)),
            ("GROUP", r.cluster_group_id.clone()),
            ("ISSUER", r.oidc_issuer.clone()),
            ("KEYS", self.identity.key_ids.join(", ")),
        ];
        if wide {
            rows.push(("NCA ID", r.nca_id.clone()));
            rows.push(("FINGERPRINT", self.identity.fingerprint.clone()));
            rows.push(("REGISTERED FINGERPRINT", r.jwks_fingerprint.clone()));
            let source = serde_json::to_value(self.identity.source)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default();
            rows.push(("KEYS READ FROM", source));
        }
        let table = key_value_table(&rows);
        match self.values.as_ref().and_then(|v| v.to_yaml().ok()) {
            Some(yaml) => format!("{table}\n\nNVCA operator values (helm --values):\n{yaml}"),
            None => table,
        }
    }
    fn names(&self) -> Vec<String> {
        vec![format!("cluster/{}", self.registration.cluster_id)]
    }
}

fn remember(profile: &Profile, reg: &Registration) -> Result<()> {
    profile.update_state(|s| {
        s.cluster_id = Some(reg.cluster_id.clone());
        s.registration = Some(reg.clone());
        Ok(())
    })
}

/// Registers the cluster `client` points at, or (with `ignore_existing`) adopts an existing
/// registration of the same name and brings its keys up to date.
pub async fn register(
    sis: &Sis<'_>,
    profile: &Profile,
    kube: &kube::Client,
    api_server: &str,
    manual: Option<ManualIssuer<'_>>,
    req: &RegisterRequest,
) -> Result<RegistrationReport> {
    let identity = discover(kube, api_server, manual).await?;
    let mut body = ClusterRegistration::self_managed(&req.cluster_name, &req.nca_id, &req.region);
    if let Some(v) = &req.nvca_version {
        body.nvca_version = v.clone();
    }
    if let Some(c) = &req.capabilities {
        body.capabilities = c.clone();
    }
    body.jwks = Some(identity.jwks.clone());
    body.oidc_issuer = Some(identity.issuer.clone());
    let (ids, outcome) = match sis.register(&body).await {
        Ok(r) => ((r.cluster_id, r.cluster_group_id), "registered"),
        Err(e) if req.ignore_existing && e.message().contains("already exists") => {
            let existing = find_by_name(sis, &req.nca_id, &req.cluster_name).await?;
            sis.rotate_jwks(&existing.cluster_id, &identity.jwks, Some(&identity.issuer))
                .await?;
            (
                (
                    existing.cluster_id,
                    existing.cluster_group_id.unwrap_or_default(),
                ),
                "already-registered",
            )
        }
        Err(e) if e.message().contains("already exists") => {
            return Err(e
                .hint(format!(
                    "pass --ignore-existing to adopt the existing registration of {}, or deregister it first",
                    req.cluster_name
                ))
                .exit_code_override(ExitCode::Conflict));
        }
        Err(e) => return Err(e),
    };
    let registration = Registration {
        cluster_id: ids.0,
        cluster_group_id: ids.1,
        cluster_name: req.cluster_name.clone(),
        nca_id: req.nca_id.clone(),
        oidc_issuer: identity.issuer.clone(),
        jwks_fingerprint: identity.fingerprint.clone(),
        key_ids: identity.key_ids.clone(),
    };
    remember(profile, &registration)?;
    Ok(RegistrationReport {
        outcome: outcome.into(),
        registration,
        identity,
        values: None,
    })
}

pub async fn find_by_name(sis: &Sis<'_>, nca_id: &str, name: &str) -> Result<Cluster> {
    sis.list(nca_id)
        .await?
        .into_iter()
        .find(|c| c.cluster_name == name)
        .ok_or_else(|| {
            Error::not_found(format!(
                "no cluster named {name:?} is registered for {nca_id}"
            ))
        })
}

/// The registration this profile remembers, or a clear error.
pub fn remembered(profile: &Profile) -> Result<Registration> {
    profile.read_state()?.registration.ok_or_else(|| {
        Error::not_found(format!(
            "profile {} has no cluster registration",
            profile.name
        ))
        .hint(format!(
            "run `{nvca_cmd0} --cluster-name NAME` first (or pass the profile that did)",
            nvca_cmd0 = crate::base::plugin::nvca("register")
        ))
    })
}

/// Compares the cluster's current keys with the registered ones; with `check_only` a
/// mismatch is an error (exit 2), otherwise the new keys are uploaded.
pub async fn rotate(
    sis: &Sis<'_>,
    profile: &Profile,
    kube: &kube::Client,
    api_server: &str,
    manual: Option<ManualIssuer<'_>>,
    check_only: bool,
) -> Result<RegistrationReport> {
    let mut registration = remembered(profile)?;
    let identity = discover(kube, api_server, manual).await?;
    let drifted = identity.fingerprint != registration.jwks_fingerprint
        || identity.issuer != registration.oidc_issuer;
    if !drifted {
        return Ok(RegistrationReport {
            outcome: "in-sync".into(),
            registration,
            identity,
            values: None,
        });
    }
    if check_only {
        return Err(Error::new(
            Category::ChecksFailed,
            format!(
                "cluster {}'s signing keys changed: SIS holds {} (keys {}), the cluster now serves {} (keys {})",
                registration.cluster_name,
                registration.jwks_fingerprint,
                registration.key_ids.join(", "),
                identity.fingerprint,
                identity.key_ids.join(", ")
            ),
        )
        .hint(format!("run `{nvca_cmd0}` to upload the new keys; until then NVCA's tokens are rejected (401)", nvca_cmd0 = crate::base::plugin::nvca("rotate"))));
    }
    sis.rotate_jwks(
        &registration.cluster_id,
        &identity.jwks,
        Some(&identity.issuer),
    )
    .await?;
    registration.jwks_fingerprint = identity.fingerprint.clone();
    registration.key_ids = identity.key_ids.clone();
    registration.oidc_issuer = identity.issuer.clone();
    remember(profile, &registration)?;
    Ok(RegistrationReport {
        outcome: "rotated".into(),
        registration,
        identity,
        values: None,
    })
}

/// A cluster of the account by its id (upstream's `--cluster-id`), from SIS's list.
pub async fn find_by_id(sis: &Sis<'_>, nca_id: &str, cluster_id: &str) -> Result<Option<Cluster>> {
    Ok(sis
        .list(nca_id)
        .await?
        .into_iter()
        .find(|c| c.cluster_id == cluster_id))
}

/// Uploads the keys of the cluster `kube` points at for the registration `cluster_id`,
/// which need not be this profile's (upstream's `cluster rotate --cluster-id`). The profile
/// remembers the result only when it is its own registration.
pub async fn rotate_named(
    sis: &Sis<'_>,
    profile: &Profile,
    kube: &kube::Client,
    api_server: &str,
    manual: Option<ManualIssuer<'_>>,
    nca_id: &str,
    cluster_id: &str,
) -> Result<RegistrationReport> {
    let own = profile
        .read_state()?
        .registration
        .filter(|r| r.cluster_id == cluster_id);
    if own.is_some() {
        return rotate(sis, profile, kube, api_server, manual, false).await;
    }
    let found = find_by_id(sis, nca_id, cluster_id).await?.ok_or_else(|| {
        Error::not_found(format!(
            "no cluster {cluster_id} is registered for account {nca_id}"
        ))
        .hint(format!(
            "list the account's clusters with `{nvca_cmd0} --nca-id NCA`",
            nvca_cmd0 = crate::base::plugin::nvca("list")
        ))
    })?;
    let identity = discover(kube, api_server, manual).await?;
    sis.rotate_jwks(cluster_id, &identity.jwks, Some(&identity.issuer))
        .await?;
    Ok(RegistrationReport {
        outcome: "rotated".into(),
        registration: Registration {
            cluster_id: cluster_id.to_owned(),
            cluster_group_id: found.cluster_group_id.unwrap_or_default(),
            cluster_name: found.cluster_name,
            nca_id: nca_id.to_owned(),
            oidc_issuer: identity.issuer.clone(),
            jwks_fingerprint: identity.fingerprint.clone(),
            key_ids: identity.key_ids.clone(),
        },
        identity,
        values: None,
    })
}

#[derive(Debug, Serialize)]
pub struct ClusterList {
    pub clusters: Vec<Cluster>,
}

impl Report for ClusterList {
    fn table(&self, wide: bool) -> String {
        let rows = self
            .clusters
            .iter()
            .map(|c| {
                let mut row = vec![
                    c.cluster_name.clone(),
                    c.cluster_id.clone(),
                    c.status.clone().unwrap_or_else(|| "-".into()),
                    c.nvca_last_connected
                        .clone()
                        .unwrap_or_else(|| "never".into()),
                ];
                if wide {
                    row.push(c.cluster_group_id.clone().unwrap_or_default());
                    row.push(c.nvca_version.clone().unwrap_or_default());
                }
                row
            })
            .collect();
        let header: &[&str] = if wide {
            &[
                "name",
                "cluster id",
                "status",
                "last connected",
                "group id",
                "nvca version",
            ]
        } else {
            &["name", "cluster id", "status", "last connected"]
        };
        column_table(header, rows)
    }
    fn names(&self) -> Vec<String> {
        self.clusters
            .iter()
            .map(|c| format!("cluster/{}", c.cluster_name))
            .collect()
    }
}
