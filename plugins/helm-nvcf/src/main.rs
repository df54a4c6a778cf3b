fn main() -> std::process::ExitCode {
    nvcf_shared::cli::runtime::run::<helm_nvcf::Cli, _, _>(helm_nvcf::PLUGIN, helm_nvcf::dispatch)
}
