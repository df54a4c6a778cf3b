//! The two handoff commands: the control-plane team exports its profile; the GPU
//! cluster's team registers with it and writes the NVCA values its installer reads. The
//! files themselves are model (`model::handoff`).

mod profile_export;

pub use profile_export::{ProfileExport, export_profile};

use crate::base::error::{Category, Error, Result};
use crate::base::output::Report;
use crate::clients::kube::identity::{IdentitySource, discover};
use crate::clients::nvcf::sis::Sis;
use crate::clients::openbao::OpenBao;
use crate::model::handoff::export::{EndpointScope, ExportInputs, build, nvca_values};
use crate::model::handoff::profile::{ControlPlaneProfile, Require, ScopeUrls};
use crate::model::handoff::write_private;
use crate::model::profile::Profile;
use crate::model::settings::{EnvLookup, Settings};
use crate::model::stack::catalog::Catalog;
use crate::operations::nvca::registration::{self, RegisterRequest};
use serde::Serialize;
use std::path::{Path, PathBuf};

/// Where upstream keeps the root PKI mount; `NVCF_OPENBAO_ROOT_PKI_PATH` overrides it.
const ROOT_PKI: &str = "services/all/pki/root";

pub struct ExportRequest<'a> {
    pub cluster_name: &'a str,
    pub nca_id: &'a str,
    pub region: &'a str,
    pub output: &'a Path,
    /// The root CA from a file, instead of the control plane's OpenBao.
    pub ca_file: Option<&'a Path>,
    pub settings: &'a Settings,
    pub env: &'a dyn EnvLookup,
    /// The control plane's cluster (its OpenBao holds the root CA), or why there is none.
    pub cluster: Result<kube::Client>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Exported {
    pub path: String,
    pub cluster_name: String,
    pub nca_id: String,
    pub region: String,
    pub compute_reachable: ScopeUrls,
    /// `bundle` (the root CA is in the file) or `system`.
    pub trust: String,
    /// Where the root CA came from: `openbao`, `file` or `none`.
    pub root_ca_from: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

impl Report for Exported {
    fn table(&self, _wide: bool) -> String {
        let c = &self.compute_reachable;
        let mut lines = vec![
            format!(
                "clusterName={} ncaID={} region={}",
                self.cluster_name, self.nca_id, self.region
            ),
            format!(
                "compute-reachable: icms {} reval {} nats {}",
                c.icms_url, c.reval_url, c.nats_url
            ),
            format!("trust: {} (root CA: {})", self.trust, self.root_ca_from),
        ];
        lines.extend(self.notes.iter().map(|n| format!("note: {n}")));
        lines.join("\n")
    }
    fn names(&self) -> Vec<String> {
        vec![format!("controlplaneprofile/{}", self.cluster_name)]
    }
}

/// Builds the profile, validates it as a GPU cluster's team will, and writes it (0600).
pub async fn export(req: ExportRequest<'_>) -> Result<Exported> {
    let mut notes = Vec::new();
    let (root_ca, from) = match (req.ca_file, req.cluster) {
        (Some(path), _) => {
            let pem = std::fs::read_to_string(path).map_err(|e| {
                Error::input_missing(format!("cannot read --ca-file {}: {e}", path.display()))
            })?;
            (Some(pem), "file")
        }
        (None, Ok(client)) => {
            let mount = req
                .env
                .get("NVCF_OPENBAO_ROOT_PKI_PATH")
                .filter(|m| !m.is_empty())
                .unwrap_or_else(|| ROOT_PKI.to_owned());
            let read = async {
                OpenBao::new(client)
                    .login_root()
                    .await?
                    .pki_ca(&mount)
                    .await
            };
            match read.await {
                Ok(Some(pem)) => (Some(pem), "openbao"),
                Ok(None) => {
                    notes.push(format!(
                        "OpenBao has no CA at {mount}: the profile carries system trust"
                    ));
                    (None, "none")
                }
                Err(e) => {
                    notes.push(format!(
                        "the root CA was not read from OpenBao ({}): the profile carries system trust; pass --ca-file to include it",
                        e.message()
                    ));
                    (None, "none")
                }
            }
        }
        (None, Err(e)) => {
            notes.push(format!(
                "no control-plane cluster to read the root CA from ({}): the profile carries system trust; pass --ca-file to include it",
                e.message()
            ));
            (None, "none")
        }
    };
    let profile = build(&ExportInputs {
        cluster_name: req.cluster_name,
        nca_id: req.nca_id,
        region: req.region,
        settings: req.settings,
        env: req.env,
        root_ca: root_ca.as_deref(),
    })?;
    profile.validate(req.output, Require::Any).map_err(|e| {
        Error::new(
            Category::Config,
            format!("the exported profile would not validate: {}", e.message()),
        )
        .hint(format!(
            "check the profile's endpoint settings: `{nvcf_cmd0}`",
            nvcf_cmd0 = crate::base::plugin::nvcf("profile show")
        ))
    })?;
    let text = serde_saphyr::to_string(&profile)
        .map_err(|e| Error::internal(format!("cannot write the profile: {e}")))?;
    write_private(req.output, &text)?;
    Ok(Exported {
        path: req.output.display().to_string(),
        cluster_name: profile.control_plane.cluster_name.clone(),
        nca_id: profile.control_plane.nca_id.clone(),
        region: profile.control_plane.region.clone(),
        compute_reachable: profile
            .control_plane
            .endpoints
            .compute_reachable
            .clone()
            .unwrap_or_default(),
        trust: if root_ca.is_some() {
            "bundle"
        } else {
            "system"
        }
        .into(),
        root_ca_from: from.into(),
        notes,
    })
}

/// A profile read for registering `cluster_name`: its scope, and where SIS is.
pub struct Prepared {
    pub profile: ControlPlaneProfile,
    pub scope: EndpointScope,
    /// The SIS URL this machine registers through, and the Host it routes on.
    pub icms_url: String,
    pub icms_host: String,
    /// The management CA (PEM) to trust SIS with, in bundle mode.
    pub management_ca: Option<String>,
}

/// Validates the profile, picks the scope for `cluster_name` and requires it. SIS is
/// reached through the compute-reachable URL (the in-cluster one only resolves inside).
pub fn prepare(path: &Path, cluster_name: &str) -> Result<Prepared> {
    let (profile, _) = ControlPlaneProfile::load(path, Require::Any)?;
    let scope = EndpointScope::for_cluster(&profile, cluster_name);
    let require = match scope {
        EndpointScope::InCluster => Require::InCluster,
        EndpointScope::ComputeReachable => Require::ComputeReachable,
    };
    profile.validate(path, require)?;
    let reachable = profile
        .control_plane
        .endpoints
        .compute_reachable
        .as_ref()
        .filter(|u| !u.icms_url.is_empty())
        .or(scope.urls(&profile))
        .map(|u| u.icms_url.clone())
        .unwrap_or_default();
    let management_ca = profile
        .management_tls
        .as_ref()
        .filter(|t| t.trust_mode == "bundle")
        .map(|t| t.ca_bundle_pem.clone());
    Ok(Prepared {
        icms_host: profile.control_plane.hosts.sis.clone(),
        icms_url: reachable,
        scope,
        management_ca,
        profile,
    })
}

pub struct RegisterWith<'a> {
    pub cluster_name: String,
    pub region: String,
    /// The kube context the identity is read from, for the summary.
    pub kube_context: String,
    pub values_out: PathBuf,
    pub dry_run: bool,
    pub ignore_existing: bool,
    /// The SIS URL actually used (a flag or setting may override the profile's).
    pub icms_url: &'a str,
}

/// Upstream's `compute-plane register` summary, field for field.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Registered {
    pub dry_run: bool,
    pub cluster_name: String,
    pub control_plane_cluster_name: String,
    #[serde(rename = "ncaID")]
    pub nca_id: String,
    pub region: String,
    pub kube_context: String,
    pub endpoint_scope: String,
    #[serde(rename = "icmsURL")]
    pub icms_url: String,
    #[serde(rename = "revalURL")]
    pub reval_url: String,
    #[serde(rename = "natsURL")]
    pub nats_url: String,
    pub oidc_issuer: String,
    pub identity_source: String,
    #[serde(rename = "clusterID", skip_serializing_if = "Option::is_none")]
    pub cluster_id: Option<String>,
    #[serde(rename = "clusterGroupID", skip_serializing_if = "Option::is_none")]
    pub cluster_group_id: Option<String>,
    pub sis_mutation: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub values_path: Option<String>,
    pub values_write: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub helm_command: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub compute_plane_install_command: Option<String>,
}

impl Report for Registered {
    fn table(&self, _wide: bool) -> String {
        let Ok(serde_json::Value::Object(fields)) = serde_json::to_value(self) else {
            return String::new();
        };
        // Upstream prints `key: value` lines in its own order, which serde keeps.
        fields
            .iter()
            .map(|(k, v)| match v {
                serde_json::Value::String(s) => format!("{k}: {s}"),
                other => format!("{k}: {other}"),
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
    fn names(&self) -> Vec<String> {
        vec![format!(
            "cluster/{}",
            self.cluster_id.as_deref().unwrap_or(&self.cluster_name)
        )]
    }
}

/// Upstream's word for where a cluster's signing keys come from.
pub fn identity_word(s: IdentitySource) -> &'static str {
    match s {
        IdentitySource::SpireOidc => "spire",
        IdentitySource::PublicIssuer => "custom",
        IdentitySource::ApiServer => "psat",
    }
}

/// A compute-reachable SIS or ReVal that answers 5xx, or not at all, fails before the
/// cluster's identity is read or SIS is changed.
async fn probe(url: &str, host: &str) -> Result<()> {
    let client = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(10))
        .build()
        .map_err(|e| Error::internal(format!("http client: {e}")))?;
    let mut req = client.get(url);
    if !host.is_empty() && crate::model::handoff::needs_host_header(url) {
        req = req.header(reqwest::header::HOST, host);
    }
    match req.send().await {
        Ok(r) if r.status().as_u16() < 500 => Ok(()),
        Ok(r) => Err(Error::new(Category::Network, format!("{url} answered HTTP {}", r.status().as_u16()))),
        Err(e) => Err(Error::new(Category::Network, format!("{url} is not reachable: {e}"))),
    }
    .map_err(|e| e.hint("check the profile's computeReachable URLs and hosts, and that this machine reaches them"))
}

pub async fn register(
    prep: &Prepared,
    sis: &Sis<'_>,
    local: &Profile,
    kube: &kube::Client,
    api_server: &str,
    req: &RegisterWith<'_>,
) -> Result<Registered> {
    let urls = prep.scope.urls(&prep.profile).cloned().unwrap_or_default();
    let hosts = &prep.profile.control_plane.hosts;
    if prep.scope == EndpointScope::ComputeReachable {
        probe(req.icms_url, &hosts.sis).await?;
        probe(&urls.reval_url, &hosts.reval).await?;
    }
    let nca_id = prep.profile.control_plane.nca_id.clone();
    let mut summary = Registered {
        dry_run: req.dry_run,
        cluster_name: req.cluster_name.clone(),
        control_plane_cluster_name: prep.profile.control_plane.cluster_name.clone(),
        nca_id: nca_id.clone(),
        region: req.region.clone(),
        kube_context: req.kube_context.clone(),
        endpoint_scope: prep.scope.as_str().into(),
        icms_url: req.icms_url.to_owned(),
        reval_url: urls.reval_url.clone(),
        nats_url: urls.nats_url.clone(),
        oidc_issuer: String::new(),
        identity_source: String::new(),
        cluster_id: None,
        cluster_group_id: None,
        sis_mutation: "skipped".into(),
        values_path: None,
        values_write: "skipped".into(),
        helm_command: None,
        compute_plane_install_command: None,
    };
    if req.dry_run {
        let identity = discover(kube, api_server, None).await?;
        summary.oidc_issuer = identity.issuer;
        summary.identity_source = identity_word(identity.source).into();
        return Ok(summary);
    }
    let report = registration::register(
        sis,
        local,
        kube,
        api_server,
        None,
        &RegisterRequest {
            cluster_name: req.cluster_name.clone(),
            nca_id,
            region: req.region.clone(),
            ignore_existing: req.ignore_existing,
            nvca_version: None,
            capabilities: None,
        },
    )
    .await?;
    let identity_source = identity_word(report.identity.source);
    let r = report.registration;
    summary.oidc_issuer = r.oidc_issuer.clone();
    summary.identity_source = identity_source.into();
    summary.cluster_id = Some(r.cluster_id.clone());
    summary.cluster_group_id = Some(r.cluster_group_id.clone());
    summary.sis_mutation = "completed".into();
    let values = nvca_values(&prep.profile, prep.scope, &r, &req.region, identity_source)?;
    write_private(&req.values_out, &values.to_yaml()?)?;
    let path = req.values_out.display().to_string();
    summary.values_path = Some(path.clone());
    summary.values_write = "completed".into();
    if let Some(op) = Catalog::embedded().release("nvca-operator") {
        summary.helm_command = Some(format!(
            "helm upgrade --install nvca-operator nvcf/{} --version {} --namespace {} --create-namespace --values '{path}'",
            op.chart, op.version, op.namespace
        ));
    }
    summary.compute_plane_install_command = Some(match crate::base::plugin::running().binary {
        "nvcf-cli" => format!("nvcf-cli self-hosted compute-plane install --values '{path}'"),
        _ => format!(
            "{nvcf_cmd0} --compute-plane --values '{path}'",
            nvcf_cmd0 = crate::base::plugin::nvcf("install")
        ),
    });
    Ok(summary)
}

/// `kubectl nvca register --control-plane-profile`, as its flags give it.
pub struct ProfileRegister<'a> {
    pub profile: &'a Path,
    pub cluster_name: String,
    pub region: String,
    pub ignore_existing: bool,
    pub values_out: PathBuf,
    pub dry_run: bool,
}

/// Registers the current cluster with the control plane a profile describes. SIS is the
/// profile's unless this machine's settings name one (flag or environment, as upstream),
/// and the profile's management CA is trusted unless `--ca-bundle` gives another.
pub async fn register_from_profile(
    req: ProfileRegister<'_>,
    profile_args: &crate::model::profile::ProfileArgs,
    connect: &crate::clients::nvcf::ConnectArgs,
    sel: &crate::model::target::KubeSelection,
    process_env: &crate::model::settings::ProcessEnv,
    plugin: crate::base::plugin::Plugin,
) -> Result<Registered> {
    let prep = prepare(req.profile, &req.cluster_name)?;
    let probe_session =
        crate::clients::nvcf::Session::open(connect, profile_args, sel, process_env, plugin)?;
    let explicit = probe_session
        .settings
        .iter()
        .any(|(k, s)| k == "icms_url" && s.origin != crate::model::settings::Origin::Default);
    let mut on_top = std::collections::HashMap::new();
    if !explicit {
        on_top.insert("NVCF_ICMS_URL".to_owned(), prep.icms_url.clone());
        if probe_session.settings.get("icms_host").is_empty() {
            on_top.insert("NVCF_ICMS_HOST".to_owned(), prep.icms_host.clone());
        }
    }
    let env = crate::model::settings::Overlaid {
        base: process_env,
        on_top,
    };
    let mut connect = connect.clone();
    let ca_file = match (&prep.management_ca, &connect.ca_bundle) {
        (Some(pem), None) => {
            let file = tempfile::NamedTempFile::new()
                .map_err(|e| Error::io(format!("cannot write the profile's CA: {e}")))?;
            std::fs::write(file.path(), pem)
                .map_err(|e| Error::io(format!("cannot write the profile's CA: {e}")))?;
            connect.ca_bundle = Some(file.path().to_owned());
            Some(file)
        }
        _ => None,
    };
    let session = crate::clients::nvcf::Session::open(&connect, profile_args, sel, &env, plugin)?;
    let icms_url = {
        let sis = &session.client.endpoints.sis;
        sis.base.as_str().trim_end_matches('/').to_owned()
    };
    let target = crate::model::target::Target::resolve(sel, process_env)?;
    let client = target.client(&plugin.user_agent()).await?;
    let sis = Sis {
        client: &session.client,
    };
    let out = register(
        &prep,
        &sis,
        &session.profile,
        &client,
        &target.server,
        &RegisterWith {
            cluster_name: req.cluster_name,
            region: req.region,
            kube_context: target.context.clone().unwrap_or_default(),
            values_out: req.values_out,
            dry_run: req.dry_run,
            ignore_existing: req.ignore_existing,
            icms_url: &icms_url,
        },
    )
    .await;
    drop(ca_file);
    out
}
