//! `kubectl nvca functions list | get`: what the agent runs, from its ICMSRequests.

use clap::Subcommand;
use nvcf_shared::Result;
use nvcf_shared::base::output::{OutputArgs, render};
use nvcf_shared::cli::runtime::Ctx;
use nvcf_shared::model::target::{KubeSelection, Target};
use nvcf_shared::operations::nvca::functions::{self, Filter, Phase};

/// The functions the NVCA agent runs (its ICMSRequests), with their phase
#[derive(Subcommand, Debug)]
pub enum FunctionsCommand {
    /// List functions sorted by function, version and namespace (all namespaces unless --namespace)
    List {
        /// Only functions in this phase
        #[arg(long, value_enum)]
        phase: Option<Phase>,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Show one function (the first match by version, then namespace)
    Get {
        /// Function ID
        function_id: String,
        /// Function version ID (default: any)
        version_id: Option<String>,
        #[command(flatten)]
        output: OutputArgs,
    },
}

pub async fn run(cmd: FunctionsCommand, sel: &KubeSelection, ctx: &Ctx) -> Result<()> {
    let client = Target::resolve(sel, &ctx.env)?
        .client(&ctx.plugin.user_agent())
        .await?;
    match cmd {
        FunctionsCommand::List { phase, output } => {
            let filter = Filter {
                namespace: sel.namespace.clone(),
                phase,
                ..Filter::default()
            };
            let list = functions::list(&client, &filter).await?;
            render(&list, output.output, &mut ctx.stdout())
        }
        FunctionsCommand::Get {
            function_id,
            version_id,
            output,
        } => {
            let f = functions::get(&client, &function_id, version_id.as_deref()).await?;
            render(&f, output.output, &mut ctx.stdout())
        }
    }
}
