fn main() -> std::process::ExitCode {
    nvcf_shared::cli::run::<kubectl_nvca::Cli, _, _>(kubectl_nvca::PLUGIN, kubectl_nvca::dispatch)
}
