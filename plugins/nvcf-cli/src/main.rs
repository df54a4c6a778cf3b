//! `nvcf-cli`: upstream's command lines, translated by `nvcf_shared::cli::upstream_cli` and run
//! by the `kubectl nvcf` or `kubectl nvca` command that does the same work.

use clap::CommandFactory;
use nvcf_shared::cli::upstream_cli::{self, Runner};
use nvcf_shared::{
    base::plugin::Plugin,
    cli::runtime::{fail, run_args},
};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const PLUGIN: Plugin = Plugin {
    display: "nvcf-cli",
    binary: "nvcf-cli",
};

fn main() -> std::process::ExitCode {
    let upstream: Vec<String> = std::env::args().skip(1).collect();
    if upstream_cli::wants_root_help(&upstream) {
        print!("{}", upstream_cli::ROOT_HELP);
        return std::process::ExitCode::SUCCESS;
    }
    let translated = match upstream_cli::translate(&upstream) {
        Ok(t) => t,
        Err(e) => return std::process::ExitCode::from(upstream_cli::exit_code(fail(&e), None)),
    };
    let mut ours = translated.args.clone();
    let command = match translated.runner {
        Runner::Nvcf => kubectl_nvcf::Cli::command(),
        Runner::Nvca => kubectl_nvca::Cli::command(),
    };
    if translated.json {
        upstream_cli::add_json_output(&command, &mut ours);
    }
    let args = std::iter::once(PLUGIN.binary.to_owned()).chain(ours);
    let code = match translated.runner {
        Runner::Nvcf => run_args::<kubectl_nvcf::Cli, _, _>(PLUGIN, args, kubectl_nvcf::dispatch),
        Runner::Nvca => run_args::<kubectl_nvca::Cli, _, _>(PLUGIN, args, kubectl_nvca::dispatch),
    };
    std::process::ExitCode::from(upstream_cli::exit_code(code, Some(&translated)))
}
