//! `cluster list`: the account's cluster groups through the NVCF API (no kubeconfig).

use crate::api::Api;
use clap::Subcommand;
use nvcf_shared::Result;
use nvcf_shared::base::output::OutputArgs;
use nvcf_shared::clients::nvcf::cluster_groups::{ClusterGroups, view};

#[derive(Subcommand, Debug)]
pub enum ClusterCommand {
    /// The GPU cluster groups functions can be deployed on, with their GPUs, instance types
    /// and clusters (needs a token with the list_cluster_groups scope, e.g. --token)
    List(OutputArgs),
}

pub async fn run(api: &Api<'_>, cmd: ClusterCommand) -> Result<()> {
    let session = api.session()?;
    let groups = ClusterGroups {
        client: &session.client,
    };
    match cmd {
        ClusterCommand::List(output) => api.print(&view(groups.list().await?), output.output),
    }
}
