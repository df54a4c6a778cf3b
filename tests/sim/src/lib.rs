//! `nvcf-sim`: a stateful simulator of the self-hosted NVCF control plane (gateway host
//! routing, admin token issuer, api-keys, NVCF API, http-invocation, LLM gateway, ICMS/SIS,
//! NVCT), written from `shared/contracts` independently of our client so that a misread
//! field fails a test. It is a simulator, not NVCF.
//!
//! In-process use:
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! let sim = nvcf_sim::Sim::start(nvcf_sim::SimConfig::default()).await?;
//! let token = sim.admin_token();
//! let url = sim.url(); // http://127.0.0.1:<port>; send `Host: api.nvcf.local`
//! sim.assert_no_violations();
//! # Ok(()) }
//! ```

pub mod admin;
pub mod auth;
pub mod config;
pub mod contract;
pub mod errors;
pub mod faults;
pub mod ratelimit;
pub mod reqlog;
pub mod routing;
pub mod server;
pub mod services;
pub mod state;
pub mod util;

use std::net::SocketAddr;
use std::sync::Arc;

use serde_json::Value;
use tokio::sync::watch;

pub use config::{Backend, DeployOutcome, GpuType, SimConfig};
pub use contract::Violation;
pub use faults::FaultRule;
pub use state::SimState;

/// A running simulator. Dropping it stops the listener and, unless the thread is already
/// panicking, panics when a contract violation was recorded, so the test that caused it fails.
pub struct Sim {
    addr: SocketAddr,
    state: Arc<SimState>,
    shutdown: watch::Sender<bool>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Sim {
    /// Binds `config.bind:config.port` (0 = ephemeral) and serves in the current runtime.
    pub async fn start(config: SimConfig) -> anyhow::Result<Sim> {
        let tls = config.tls.as_ref().map(server::tls_acceptor).transpose()?;
        let listener = tokio::net::TcpListener::bind((config.bind, config.port)).await?;
        let addr = listener.local_addr()?;
        let state = Arc::new(SimState::new(config)?);
        let (tx, rx) = watch::channel(false);
        let task = tokio::spawn(server::serve(listener, tls, state.clone(), rx));
        Ok(Sim {
            addr,
            state,
            shutdown: tx,
            task: Some(task),
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    pub fn domain(&self) -> &str {
        &self.state.config.domain
    }

    /// `http://<bind>:<port>`: every service, told apart by the Host header.
    fn scheme(&self) -> &'static str {
        if self.state.config.tls.is_some() {
            "https"
        } else {
            "http"
        }
    }

    pub fn url(&self) -> String {
        format!("{}://{}", self.scheme(), self.addr)
    }

    /// The gateway host of a service prefix: `host("api")` → `api.nvcf.local`.
    pub fn host(&self, prefix: &str) -> String {
        format!("{prefix}.{}", self.domain())
    }

    /// `http://<prefix>.<domain>:<port>`, for clients that resolve the name to the sim
    /// (curl `--resolve`, reqwest `resolve`).
    pub fn host_url(&self, prefix: &str) -> String {
        format!("{}://{}:{}", self.scheme(), self.host(prefix), self.port())
    }

    /// The configuration block that points the upstream CLI (and ours) at this simulator.
    pub fn env(&self) -> Vec<(String, String)> {
        config_env(&self.url(), self.domain())
    }

    pub fn state(&self) -> &Arc<SimState> {
        &self.state
    }

    /// An admin JWT like `POST /v1/admin/keys` mints.
    pub fn admin_token(&self) -> String {
        let scopes: Vec<String> = auth::ADMIN_SCOPES.iter().map(|s| s.to_string()).collect();
        self.token(
            &self.state.config.admin_client_id,
            &scopes,
            self.state.config.admin_token_ttl.as_secs() as i64,
        )
    }

    /// A JWT with any subject, scopes and lifetime (negative = already expired).
    pub fn token(&self, sub: &str, scopes: &[String], ttl_secs: i64) -> String {
        self.state.jwt.mint(sub, scopes, ttl_secs).0
    }

    pub fn add_fault(&self, rule: FaultRule) -> String {
        self.state.faults.add(rule)
    }

    /// How many requests met a fault rule so far.
    pub fn faults_fired(&self) -> u64 {
        self.state.faults.fired()
    }

    pub fn clear_faults(&self) {
        self.state.faults.clear();
    }

    /// Every request seen so far (bounded by `request_log_capacity`), oldest first.
    pub fn requests(&self) -> Vec<Value> {
        self.state.log.snapshot()
    }

    pub fn violations(&self) -> Vec<Violation> {
        self.state.contract.violations()
    }

    /// Panics with every recorded violation.
    pub fn assert_no_violations(&self) {
        let v = self.violations();
        assert!(
            v.is_empty(),
            "nvcf-sim recorded {} contract violation(s):\n{}",
            v.len(),
            v.iter()
                .map(|v| format!("  - {v}"))
                .collect::<Vec<_>>()
                .join("\n")
        );
    }

    /// Forgets the violations recorded so far (after a test asserted on them on purpose).
    pub fn take_violations(&self) -> Vec<Violation> {
        let v = self.violations();
        self.state.contract.clear();
        v
    }

    /// Sends a function's invocations to a real upstream instead of the built-in echo.
    pub fn set_upstream(&self, function_id: uuid::Uuid, url: Option<String>) {
        self.state.lock().invocations.set_worker(
            function_id,
            services::invocation::Worker {
                upstream: url,
                delay_ms: None,
            },
        );
    }

    pub async fn shutdown(mut self) {
        let _ = self.shutdown.send(true);
        if let Some(t) = self.task.take() {
            let _ = t.await;
        }
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
        if !std::thread::panicking() {
            self.assert_no_violations();
        }
    }
}

/// The environment a CLI needs (names from the upstream CLI's config keys).
pub fn config_env(url: &str, domain: &str) -> Vec<(String, String)> {
    let h = |p: &str| format!("{p}.{domain}");
    [
        ("NVCF_BASE_HTTP_URL", url.to_string()),
        ("API_HOST", h("api")),
        ("NVCF_INVOKE_URL", url.to_string()),
        ("INVOKE_HOST", h("invocation")),
        ("NVCF_ICMS_URL", url.to_string()),
        ("NVCF_ICMS_HOST", h("sis")),
        ("NVCF_BASE_NVCT_URL", url.to_string()),
        ("NVCT_HOST", h("tasks")),
        ("API_KEYS_SERVICE_URL", url.to_string()),
        ("API_KEYS_ADMIN_SERVICE_URL", url.to_string()),
        ("API_KEYS_HOST", h("api-keys")),
        ("NVCF_CLIENT_ID", "nvcf-default".to_string()),
        // grpc-proxy shares the sim's port; an http:// target means plaintext gRPC.
        ("NVCF_GRPC_URL", url.to_string()),
        ("NVCF_SIM_URL", url.to_string()),
        ("NVCF_SIM_DOMAIN", domain.to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}
