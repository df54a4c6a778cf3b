#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    nvcf_shared::cli::runtime::run::<kubectl_nvcf::Cli, _, _>(
        kubectl_nvcf::PLUGIN,
        kubectl_nvcf::dispatch,
    )
}
