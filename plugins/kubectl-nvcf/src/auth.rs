//! `init`, `refresh` and `status`'s configuration section (see `operations::api::auth`).

use crate::api::Api;
use nvcf_shared::Result;
use nvcf_shared::base::output::OutputArgs;
use nvcf_shared::base::secret::Secret;
use nvcf_shared::operations::api::auth;

#[derive(clap::Args, Debug)]
pub struct InitArgs {
    /// Never prompt (implied when CI is set or stdin is not a terminal); with --token, save that token instead of minting one
    #[arg(long)]
    pub non_interactive: bool,
    #[command(flatten)]
    pub output: OutputArgs,
}

pub async fn init(api: &Api<'_>, args: InitArgs) -> Result<()> {
    let session = api.session()?;
    let token = api.connect.token.as_deref();
    let view = auth::init(&session, token, args.non_interactive, &api.ctx.env).await?;
    api.print(&view, args.output.output)
}

pub async fn refresh(api: &Api<'_>, output: OutputArgs) -> Result<()> {
    let session = api.session()?;
    api.print(&auth::refresh(&session).await?, output.output)
}

/// `status`'s configuration section: endpoints, credentials (masked, or in full into
/// `revealed` when given) and the current function and task, as JSON and as `KEY value` rows.
pub fn config_view(
    api: &Api<'_>,
    revealed: Option<&mut Vec<Secret>>,
) -> Result<(serde_json::Value, Vec<(String, String)>)> {
    auth::config_view(&api.session()?, revealed)
}
