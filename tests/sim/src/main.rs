//! `nvcf-sim`: run the NVCF control-plane simulator on its own, as a sandbox.

use std::net::IpAddr;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, ValueEnum};
use nvcf_sim::{Sim, SimConfig};

#[derive(Debug, Clone, Copy, ValueEnum)]
enum PrintConfig {
    /// `export NAME=value` lines.
    Shell,
    /// One JSON object.
    Json,
}

/// A simulator of the self-hosted NVCF control plane. It is not NVCF: nothing runs on GPUs.
#[derive(Debug, Parser)]
#[command(name = "nvcf-sim", version)]
struct Args {
    /// Gateway domain; services answer on api.<domain>, sis.<domain>, ...
    #[arg(long, default_value = "nvcf.local")]
    domain: String,
    /// Port to listen on (0 = any free port).
    #[arg(long, default_value_t = 8080)]
    port: u16,
    /// Address to bind.
    #[arg(long, default_value = "127.0.0.1")]
    bind: IpAddr,
    /// JSON file with more settings (SimConfig: catalogue, durations, faults, ...); flags win.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Append every request to this JSONL file.
    #[arg(long)]
    request_log: Option<PathBuf>,
    /// How to print the configuration block on start.
    #[arg(long, value_enum, default_value = "shell")]
    print_config: PrintConfig,
    /// Milliseconds a deployment stays DEPLOYING.
    #[arg(long)]
    deploy_ms: Option<u64>,
    /// Serve HTTPS and gRPC over TLS with this PEM certificate chain (needs --tls-key).
    #[arg(long, requires = "tls_key", value_name = "PEM")]
    tls_cert: Option<PathBuf>,
    /// The PEM private key of --tls-cert.
    #[arg(long, requires = "tls_cert", value_name = "PEM")]
    tls_key: Option<PathBuf>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let mut config = match &args.config {
        Some(p) => {
            let text =
                std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?;
            serde_json::from_str::<SimConfig>(&text)
                .with_context(|| format!("parsing {}", p.display()))?
        }
        None => SimConfig::default(),
    };
    config.domain = args.domain;
    config.port = args.port;
    config.bind = args.bind;
    if args.request_log.is_some() {
        config.request_log = args.request_log;
    }
    if let Some(ms) = args.deploy_ms {
        config.deploy_duration = std::time::Duration::from_millis(ms);
    }
    if let (Some(cert), Some(key)) = (args.tls_cert, args.tls_key) {
        config.tls = Some(nvcf_sim::config::TlsFiles { cert, key });
    }
    // A sandbox user's mistakes should show up as the error a client gets, not as a crash on exit.
    config.strict_contract = true;
    let sim = Sim::start(config).await?;
    let env = sim.env();
    match args.print_config {
        PrintConfig::Json => {
            let map: serde_json::Map<String, serde_json::Value> =
                env.into_iter().map(|(k, v)| (k, v.into())).collect();
            println!("{}", serde_json::Value::Object(map));
        }
        PrintConfig::Shell => {
            println!(
                "# nvcf-sim {} — a simulator of the NVCF control plane, not NVCF.",
                env!("CARGO_PKG_VERSION")
            );
            println!(
                "# Listening on {}; services are chosen by Host (*.{}).",
                sim.url(),
                sim.domain()
            );
            for (k, v) in &env {
                println!("export {k}={v}");
            }
            println!(
                "# Admin token: curl -s -X POST {}/v1/admin/keys -H 'Host: {}'",
                sim.url(),
                sim.host("api-keys")
            );
        }
    }
    tokio::signal::ctrl_c().await?;
    let violations = sim.take_violations();
    for v in &violations {
        eprintln!("contract violation: {v}");
    }
    sim.shutdown().await;
    Ok(())
}
