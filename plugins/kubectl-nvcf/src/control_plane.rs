//! `control-plane profile validate|export`: the control-plane side of a split install's
//! handoff, in upstream's `ControlPlaneProfile` format.

use crate::api::Api;
use clap::Subcommand;
use nvcf_shared::Result;
use nvcf_shared::base::output::{OutputArgs, render};
use nvcf_shared::model::handoff::profile::{ControlPlaneProfile, Require};
use nvcf_shared::model::target::PlaneArgs;
use nvcf_shared::operations::handoff::{ProfileExport, export_profile};
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

pub async fn run(api: &Api<'_>, planes: &PlaneArgs, cmd: ControlPlaneCommand) -> Result<()> {
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
            let req = ProfileExport {
                cluster_name,
                nca_id,
                region,
                file,
                ca_file,
            };
            let exported = export_profile(&api.reach(planes), req).await?;
            render(&exported, output.output, &mut api.ctx.stdout())
        }
    }
}
