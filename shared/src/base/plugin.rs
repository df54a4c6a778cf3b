//! Which plugin this process runs as. The library names commands in hints, reports and
//! user agents through it, so `kubectl nvca validate -o ctrf` says kubectl-nvca and an
//! NVCF API hint says `nvcf-cli …` when the user ran nvcf-cli.

/// Who is running: names used in help, messages and the User-Agent.
#[derive(Debug, Clone, Copy)]
pub struct Plugin {
    /// How users type it: `kubectl nvcf`.
    pub display: &'static str,
    /// The executable: `kubectl-nvcf`.
    pub binary: &'static str,
}

impl Plugin {
    pub fn user_agent(&self) -> String {
        format!("{}/{}", self.binary, env!("CARGO_PKG_VERSION"))
    }
}

static RUNNING: std::sync::OnceLock<Plugin> = std::sync::OnceLock::new();

/// An NVCF API command as the user types it here: `nvcf-cli REST` when they ran
/// `nvcf-cli`, else `kubectl nvcf REST` (the API commands live in that plugin).
pub fn api_command(rest: &str) -> String {
    match running().binary {
        "nvcf-cli" => format!("nvcf-cli {rest}"),
        _ => format!("kubectl nvcf {rest}"),
    }
}

/// The plugin this process runs as, so reports shared by several plugins (CTRF, JSON tool
/// names) name the one the user ran. Library code outside a plugin sees `kubectl nvcf`.
pub fn running() -> Plugin {
    RUNNING.get().copied().unwrap_or(Plugin {
        display: "kubectl nvcf",
        binary: "kubectl-nvcf",
    })
}

/// Records the plugin once, at start-up; later calls keep the first.
pub(crate) fn set_running(plugin: Plugin) {
    let _ = RUNNING.set(plugin);
}
