//! `function`: create, update, list, get, versions, delete, queue — and the `deploy` and
//! `invoke` groups in their own modules.

use crate::api::Api;
use crate::{function_deploy, function_invoke};
use clap::Subcommand;
use nvcf_shared::Result;
use nvcf_shared::base::output::OutputArgs;
use nvcf_shared::clients::nvcf::Session;
use nvcf_shared::clients::nvcf::function_ids::Ids;
use nvcf_shared::clients::nvcf::function_spec::{FunctionSpecArgs, FunctionUpdateArgs};
use nvcf_shared::operations::api::function::{self, Removal};

#[derive(Subcommand, Debug)]
pub enum FunctionCommand {
    /// Create a function (or, with --function-id, a new version of one); shows the plan first
    Create {
        #[command(flatten)]
        spec: FunctionSpecArgs,
        /// Add a version to this function instead of creating a new one
        #[arg(long)]
        function_id: Option<String>,
        /// Print the planned request and stop
        #[arg(long)]
        dry_run: bool,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Update tags, LLM model settings, rate limits or invocation priority of a version
    Update {
        #[command(flatten)]
        ids: Ids,
        #[command(flatten)]
        spec: FunctionUpdateArgs,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// List functions
    List {
        /// authorized, private, public (comma-separated; default all)
        #[arg(long, value_delimiter = ',')]
        visibility: Vec<String>,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// List the ids of every function you may see (upstream's `list-ids`)
    ListIds {
        /// authorized, private, public (comma-separated; default all)
        #[arg(long, value_delimiter = ',')]
        visibility: Vec<String>,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Show one function version (default: the current function)
    Get {
        #[command(flatten)]
        ids: Ids,
        /// Include secret names
        #[arg(long)]
        include_secrets: bool,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// List the versions of a function
    #[command(visible_alias = "list-versions")]
    Versions {
        /// Function id (default: the current function)
        function_id: Option<String>,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Delete a function version and its deployment (asks unless --yes)
    Delete {
        #[command(flatten)]
        ids: Ids,
        /// Remove only the deployment, keep the function
        #[arg(long)]
        deployment_only: bool,
        /// With --deployment-only: let queued requests drain first
        #[arg(long)]
        graceful: bool,
        /// Confirm without asking
        #[arg(short = 'y', long)]
        yes: bool,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Deploy a function version on GPUs
    #[command(subcommand)]
    Deploy(function_deploy::DeployCommand),
    /// Call a function: HTTP (polling on 202) or LLM (chat, responses, embeddings; --stream)
    Invoke(function_invoke::InvokeArgs),
    /// Queue depth and request positions
    #[command(subcommand)]
    Queue(QueueCommand),
}

#[derive(Subcommand, Debug)]
pub enum QueueCommand {
    /// Queue depth of a function's versions
    Status {
        function_id: Option<String>,
        version_id: Option<String>,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Position of an invocation request in its queue
    Position {
        request_id: String,
        #[command(flatten)]
        output: OutputArgs,
    },
}

pub async fn run(api: &Api<'_>, cmd: FunctionCommand) -> Result<()> {
    match cmd {
        FunctionCommand::Deploy(d) => function_deploy::run(api, d).await,
        FunctionCommand::Invoke(i) => function_invoke::run(api, i).await,
        FunctionCommand::Queue(q) => queue(api, &api.session()?, q).await,
        other => versions(api, &api.session()?, other).await,
    }
}

async fn versions(api: &Api<'_>, session: &Session, cmd: FunctionCommand) -> Result<()> {
    let ids = |ids: Ids| async move { ids.resolve(session, (None, None)).await };
    let (view, output) = match cmd {
        FunctionCommand::Create {
            spec,
            function_id,
            dry_run,
            output,
        } => {
            let body = spec.body()?;
            let view = function::create(session, &body, function_id.as_deref(), dry_run).await?;
            (view, output)
        }
        FunctionCommand::Update { ids, spec, output } => {
            let (body, ffid, fvid) = spec.body()?;
            let (fid, vid) = ids.resolve(session, (ffid, fvid)).await?;
            (
                function::update(session, (&fid, &vid), &body).await?,
                output,
            )
        }
        FunctionCommand::List { visibility, output } => {
            (function::list(session, &visibility).await?, output)
        }
        FunctionCommand::ListIds { visibility, output } => {
            (function::list_ids(session, &visibility).await?, output)
        }
        FunctionCommand::Get {
            ids: given,
            include_secrets,
            output,
        } => {
            let (fid, vid) = ids(given).await?;
            (
                function::get(session, (&fid, &vid), include_secrets).await?,
                output,
            )
        }
        FunctionCommand::Versions {
            function_id,
            output,
        } => {
            let fid = function::function_id(session, function_id)?;
            (function::versions(session, &fid).await?, output)
        }
        FunctionCommand::Delete {
            ids: given,
            deployment_only,
            graceful,
            yes,
            output,
        } => {
            let (fid, vid) = ids(given).await?;
            let removal = Removal {
                deployment_only,
                graceful,
            };
            let env = &api.ctx.env;
            (
                function::delete(session, (&fid, &vid), removal, yes, env).await?,
                output,
            )
        }
        FunctionCommand::Deploy(_) | FunctionCommand::Invoke(_) | FunctionCommand::Queue(_) => {
            unreachable!("deploy, invoke and queue are dispatched by run")
        }
    };
    api.print(&view, output.output)
}

async fn queue(api: &Api<'_>, session: &Session, cmd: QueueCommand) -> Result<()> {
    let (view, output) = match cmd {
        QueueCommand::Status {
            function_id,
            version_id,
            output,
        } => {
            let view = function::queue_status(session, function_id, version_id.as_deref()).await?;
            (view, output)
        }
        QueueCommand::Position { request_id, output } => (
            function::queue_position(session, &request_id).await?,
            output,
        ),
    };
    api.print(&view, output.output)
}
