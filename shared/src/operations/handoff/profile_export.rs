//! `control-plane profile export` from the command line: this profile's settings and the
//! current cluster, which holds the control plane's OpenBao.

use super::{ExportRequest, Exported, export};
use crate::base::error::Result;
use crate::base::output::note;
use crate::model::target::Target;
use crate::operations::reach::Reach;
use std::path::PathBuf;

pub struct ProfileExport {
    /// The control plane's cluster name.
    pub cluster_name: String,
    /// The account GPU clusters register under (default: the profile's client_id).
    pub nca_id: Option<String>,
    pub region: String,
    /// Where to write it (mode 0600).
    pub file: PathBuf,
    /// The root CA from this PEM file instead of the cluster's OpenBao.
    pub ca_file: Option<PathBuf>,
}

pub async fn export_profile(reach: &Reach<'_>, req: ProfileExport) -> Result<Exported> {
    let session = reach.session()?;
    let nca_id = req
        .nca_id
        .unwrap_or_else(|| match session.settings.get("client_id") {
            "" => "nvcf-default".to_owned(),
            id => id.to_owned(),
        });
    let cluster = async {
        let target = Target::resolve(reach.sel, reach.env)?;
        target.client(&reach.user_agent()).await
    }
    .await;
    let exported = export(ExportRequest {
        cluster_name: &req.cluster_name,
        nca_id: &nca_id,
        region: &req.region,
        output: &req.file,
        ca_file: req.ca_file.as_deref(),
        settings: &session.settings,
        env: reach.env,
        cluster,
    })
    .await?;
    note(&format!(
        "Wrote control-plane profile:\n  {}",
        exported.path
    ));
    Ok(exported)
}
