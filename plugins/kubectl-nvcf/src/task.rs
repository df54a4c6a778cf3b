//! `task`: NVCT tasks. The last created task is remembered per profile and is the default
//! for every command that takes a task id.

use crate::api::Api;
use clap::Subcommand;
use nvcf_shared::Result;
use nvcf_shared::base::output::OutputArgs;
use nvcf_shared::clients::nvcf::Session;
use nvcf_shared::clients::nvcf::task_spec::TaskSpecArgs;
use nvcf_shared::clients::nvcf::tasks::{Listing, PageQuery};
use nvcf_shared::operations::api::task;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Subcommand, Debug)]
pub enum TaskCommand {
    /// Create a task from an image, a Helm chart or an input file (shows the plan first)
    Create {
        #[command(flatten)]
        spec: Box<TaskSpecArgs>,
        /// Print the planned request and stop
        #[arg(long)]
        dry_run: bool,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// List tasks; rows print as each page arrives
    List {
        /// Only tasks in this status (QUEUED, RUNNING, COMPLETED, …)
        #[arg(long)]
        status: Option<String>,
        /// Exactly one page of at most this many tasks, with the cursor of the next
        /// (upstream's paging); without it every page streams
        #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
        limit: Option<u32>,
        /// Tasks per request
        #[arg(long, default_value_t = 100)]
        page_size: u32,
        /// Start from this cursor
        #[arg(long)]
        cursor: Option<String>,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Status of several tasks at once
    Bulk {
        /// Task ids, comma-separated
        #[arg(long, value_delimiter = ',')]
        task_ids: Vec<String>,
        /// JSON file: {"taskIds": […]}
        #[arg(long, short = 'f', value_name = "FILE")]
        input_file: Option<PathBuf>,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Show a task (default: the last created)
    Get {
        task_id: Option<String>,
        /// Include secret names
        #[arg(long)]
        include_secrets: bool,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// A task's events; --follow keeps printing until the task ends
    Events {
        task_id: Option<String>,
        #[arg(long, conflicts_with_all = ["limit", "cursor"])]
        follow: bool,
        #[command(flatten)]
        page: OnePage,
        /// Seconds between checks with --follow
        #[arg(long, default_value_t = 2, hide = true)]
        poll_interval: u64,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// A task's results
    Results {
        task_id: Option<String>,
        #[command(flatten)]
        page: OnePage,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Cancel a task (asks unless --yes)
    Cancel {
        task_id: Option<String>,
        /// Confirm without asking
        #[arg(short = 'y', long)]
        yes: bool,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Delete a task with its events, results and secrets (asks unless --yes)
    Delete {
        task_id: Option<String>,
        /// Confirm without asking
        #[arg(short = 'y', long)]
        yes: bool,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Replace a task's secrets
    UpdateSecrets {
        task_id: Option<String>,
        /// NAME=VALUE, repeatable
        #[arg(long = "secret", visible_alias = "secrets", value_name = "NAME=VALUE")]
        secrets: Vec<String>,
        /// JSON file: {"secrets": [{name, value}]}
        #[arg(long, short = 'f', value_name = "FILE")]
        input_file: Option<PathBuf>,
        #[command(flatten)]
        output: OutputArgs,
    },
}

/// Upstream's paging of events and results: one page when a limit is given.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct OnePage {
    /// Exactly one page of at most this many items, with the cursor of the next
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    limit: Option<u32>,
    /// Start from this cursor (from a previous page)
    #[arg(long)]
    cursor: Option<String>,
}

impl OnePage {
    fn query(&self) -> PageQuery {
        match self.limit {
            Some(limit) => PageQuery::one_page(limit as usize, self.cursor.clone()),
            None => PageQuery {
                cursor: self.cursor.clone(),
                ..PageQuery::default()
            },
        }
    }
}

/// Listings print as their pages arrive; every other command prints one view.
pub async fn run(api: &Api<'_>, cmd: TaskCommand) -> Result<()> {
    let session = api.session()?;
    let id = |given| task::task_id(&session, given);
    let (listing, task_id, query, output) = match cmd {
        TaskCommand::List {
            status,
            limit,
            page_size,
            cursor,
            output,
        } => {
            let query = task::list_query(status, limit, page_size, cursor);
            (Listing::Tasks, None, query, output)
        }
        TaskCommand::Events {
            task_id,
            follow: true,
            poll_interval,
            ..
        } => {
            let every = Duration::from_secs(poll_interval.max(1));
            let out = &mut api.ctx.stdout();
            return task::follow_events(&session, &id(task_id)?, every, out).await;
        }
        TaskCommand::Events {
            task_id,
            page,
            output,
            ..
        } => (Listing::Events, Some(id(task_id)?), page.query(), output),
        TaskCommand::Results {
            task_id,
            page,
            output,
        } => (Listing::Results, Some(id(task_id)?), page.query(), output),
        other => return act(api, &session, other).await,
    };
    let out = &mut api.ctx.stdout();
    task::list(
        &session,
        listing,
        task_id.as_deref(),
        &query,
        output.output,
        out,
    )
    .await
}

async fn act(api: &Api<'_>, session: &Session, cmd: TaskCommand) -> Result<()> {
    let id = |given| task::task_id(session, given);
    let env = &api.ctx.env;
    let (view, output) = match cmd {
        TaskCommand::Create {
            spec,
            dry_run,
            output,
        } => (task::create(session, &spec.body()?, dry_run).await?, output),
        TaskCommand::Bulk {
            task_ids,
            input_file,
            output,
        } => {
            let view = task::bulk(session, task_ids, input_file.as_deref()).await?;
            (view, output)
        }
        TaskCommand::Get {
            task_id,
            include_secrets,
            output,
        } => {
            let view = task::get(session, &id(task_id)?, include_secrets).await?;
            (view, output)
        }
        TaskCommand::Cancel {
            task_id,
            yes,
            output,
        } => (
            task::cancel(session, &id(task_id)?, yes, env).await?,
            output,
        ),
        TaskCommand::Delete {
            task_id,
            yes,
            output,
        } => (
            task::delete(session, &id(task_id)?, yes, env).await?,
            output,
        ),
        TaskCommand::UpdateSecrets {
            task_id,
            secrets,
            input_file,
            output,
        } => {
            let id = id(task_id)?;
            let file = input_file.as_deref();
            (
                task::update_secrets(session, &id, &secrets, file).await?,
                output,
            )
        }
        TaskCommand::List { .. } | TaskCommand::Events { .. } | TaskCommand::Results { .. } => {
            unreachable!("listings print as they page, in run")
        }
    };
    api.print(&view, output.output)
}
