fn main() -> std::process::ExitCode {
    nvcf_shared::cli::runtime::run::<kubectl_nvca::Cli, _, _>(
        kubectl_nvca::PLUGIN,
        kubectl_nvca::dispatch,
    )
}
