//! The flags every agent maintenance command shares: where the operator's NVCFBackend lives,
//! and the cluster the caller means to act on.

use nvcf_shared::Result;
use nvcf_shared::cli::runtime::Ctx;
use nvcf_shared::operations::nvca::backend::{self, Identity};

use nvcf_shared::model::target::{KubeSelection, Target};
use nvcf_shared::operations::nvca::uninstall::OPERATOR_NAMESPACE;

#[derive(clap::Args, Debug, Clone)]
pub struct BackendArgs {
    /// The namespace of the operator's NVCFBackend (names the cluster)
    #[arg(long, value_name = "NS", default_value = OPERATOR_NAMESPACE)]
    pub backend_namespace: String,
    /// Refuse unless the NVCFBackend names this cluster id (guards scripts against the wrong context)
    #[arg(long, value_name = "CLUSTER_ID")]
    pub expect_cluster_id: Option<String>,
}

impl BackendArgs {
    /// The client for the selected cluster and its identity, refused when it is not the
    /// expected one. Runs before any prompt, so a wrong context never asks to proceed.
    pub async fn guarded(
        &self,
        sel: &KubeSelection,
        ctx: &Ctx,
    ) -> Result<(nvcf_shared::clients::kube::Client, Identity)> {
        let target = Target::resolve(sel, &ctx.env)?;
        backend::guarded(
            &target,
            &ctx.plugin.user_agent(),
            &self.backend_namespace,
            self.expect_cluster_id.as_deref(),
        )
        .await
    }
}
