//! `control-plane profile validate|export`: the control-plane side of a split install's
//! handoff, in upstream's `ControlPlaneProfile` format.

use crate::api::Api;
use clap::Subcommand;
use nvcf_shared::Result;
use nvcf_shared::base::output::{OutputArgs, render};
use nvcf_shared::model::handoff::profile::{ControlPlaneProfile, Require};
use nvcf_shared::model::target::Target;
use nvcf_shared::operations::handoff::{ExportRequest, export};
use std::path::PathBuf;

#[derive(Subcommand, Debug)]
pub enum ControlPlaneCommand {
    /// The profile a GPU cluster's team registers against, without access to this cluster
    #[command(subcommand)]
    Profile(ProfileCommand),
}

#[derive(Subcommand, Debug)]
pub enum ProfileCommand {
    /// Check a control-plane profile and show which endpoint scopes it gives
    Validate {
        /// The profile file
        #[arg(long, value_name = "FILE")]
        file: PathBuf,
        /// Endpoint scope to require
        #[arg(long, value_enum, default_value_t)]
        require: Require,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Write this control plane's profile (endpoints, hosts, and its OpenBao root CA)
    Export {
        /// The control plane's cluster name
        #[arg(long, default_value = "control-plane")]
        cluster_name: String,
        /// Account (NCA id) GPU clusters register under (default: the profile's client_id)
        #[arg(long)]
        nca_id: Option<String>,
        #[arg(long, default_value = "us-west-1")]
        region: String,
        /// Where to write it (mode 0600)
        #[arg(
            long,
            value_name = "FILE",
            default_value = "out/control-plane-profile.yaml"
        )]
        file: PathBuf,
        /// Take the root CA from this PEM file instead of the cluster's OpenBao
        #[arg(long, value_name = "FILE")]
        ca_file: Option<PathBuf>,
        #[command(flatten)]
        output: OutputArgs,
    },
}

pub async fn run(api: &Api<'_>, cmd: ControlPlaneCommand) -> Result<()> {
    let ControlPlaneCommand::Profile(cmd) = cmd;
    match cmd {
        ProfileCommand::Validate {
            file,
            require,
            output,
        } => {
            let (_, validated) = ControlPlaneProfile::load(&file, require)?;
            render(&validated, output.output, &mut api.ctx.stdout())
        }
        ProfileCommand::Export {
            cluster_name,
            nca_id,
            region,
            file,
            ca_file,
            output,
        } => {
            let session = api.session()?;
            let nca_id = nca_id.unwrap_or_else(|| match session.settings.get("client_id") {
                "" => "nvcf-default".to_owned(),
                id => id.to_owned(),
            });
            let cluster = async {
                let target = Target::resolve(api.sel, &api.ctx.env)?;
                target.client(&api.ctx.plugin.user_agent()).await
            }
            .await;
            let exported = export(ExportRequest {
                cluster_name: &cluster_name,
                nca_id: &nca_id,
                region: &region,
                output: &file,
                ca_file: ca_file.as_deref(),
                settings: &session.settings,
                env: &api.ctx.env,
                cluster,
            })
            .await?;
            api.note(&format!(
                "Wrote control-plane profile:\n  {}",
                exported.path
            ));
            render(&exported, output.output, &mut api.ctx.stdout())
        }
    }
}
