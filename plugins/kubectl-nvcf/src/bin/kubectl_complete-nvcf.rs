//! kubectl (≥ 1.26) runs this to complete `kubectl nvcf …`: same answers as `__complete`.
use clap::CommandFactory;

fn main() {
    let words: Vec<String> = std::env::args().skip(1).collect();
    let answer = nvcf_shared::cli::completion::cobra_complete(
        kubectl_nvcf::Cli::command(),
        &words,
        &nvcf_shared::model::settings::ProcessEnv,
    );
    // A closed pipe means the shell stopped listening: nothing to report.
    let _ = std::io::Write::write_all(&mut std::io::stdout(), answer.as_bytes());
}
