//! Helpers for end-to-end tests: the built plugin binaries, isolated homes, and a runner
//! that captures everything a command printed.

pub mod faults;
pub mod functions;
pub mod helm_storage;
pub mod http;
pub mod interrupt;
pub mod registry;
pub mod upstream;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

/// The workspace's cargo output directory for the profile these tests were built with.
fn target_profile_dir() -> PathBuf {
    // Test executables live in <target>/<profile>/deps/.
    let exe = std::env::current_exe().expect("test executable path");
    exe.parent()
        .and_then(Path::parent)
        .expect("test executable under <target>/<profile>/deps")
        .to_path_buf()
}

pub const PLUGIN_BINARIES: [&str; 5] = [
    "kubectl-nvcf",
    "kubectl-nvca",
    "helm-nvcf",
    "kubectl_complete-nvcf",
    "kubectl_complete-nvca",
];

/// The path of a built plugin binary. Builds the workspace's binaries once if a plain
/// `cargo test -p nvcf-e2e` ran without them.
pub fn bin(name: &str) -> PathBuf {
    static BUILT: OnceLock<()> = OnceLock::new();
    let path = target_profile_dir().join(name);
    if !path.exists() {
        BUILT.get_or_init(|| {
            let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
            let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
            cmd.current_dir(workspace).args(["build", "--bins"]);
            for p in ["kubectl-nvcf", "kubectl-nvca", "helm-nvcf", "nvcf-cli"] {
                cmd.args(["-p", p]);
            }
            if target_profile_dir().ends_with("release") {
                cmd.arg("--release");
            }
            let status = cmd.status().expect("run cargo build");
            assert!(
                status.success(),
                "cargo build of the plugin binaries failed"
            );
        });
    }
    assert!(path.exists(), "{} was not built", path.display());
    path
}

/// A directory holding only our plugin binaries, for a PATH that shows nothing else.
pub fn plugin_path_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    for name in PLUGIN_BINARIES {
        std::os::unix::fs::symlink(bin(name), dir.path().join(name)).expect("link plugin binary");
    }
    dir
}

/// An isolated HOME/XDG tree so tests never read or write the developer's own files.
pub struct Home {
    pub dir: tempfile::TempDir,
}

impl Home {
    pub fn new() -> Home {
        Home {
            dir: tempfile::tempdir().expect("temp home"),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// A command with a clean environment: only PATH, HOME and XDG dirs, no KUBECONFIG.
    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut cmd = Command::new(program);
        cmd.env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", self.path())
            .env("XDG_CONFIG_HOME", self.path().join(".config"))
            .env("XDG_CACHE_HOME", self.path().join(".cache"))
            .stdin(Stdio::null());
        cmd
    }

    /// Writes a kubeconfig with the given context names, each pointing at its own
    /// unreachable loopback cluster: resolution-only commands never dial it.
    pub fn kubeconfig(&self, contexts: &[&str]) -> PathBuf {
        let mut text = String::from("apiVersion: v1\nkind: Config\n");
        text.push_str(&format!("current-context: {}\nclusters:\n", contexts[0]));
        for (i, c) in contexts.iter().enumerate() {
            text.push_str(&format!(
                "- name: {c}-cluster\n  cluster: {{server: \"https://127.0.0.1:{}\"}}\n",
                1 + i
            ));
        }
        text.push_str("users:\n- name: u\n  user: {token: not-a-real-token}\ncontexts:\n");
        for c in contexts {
            text.push_str(&format!(
                "- name: {c}\n  context: {{cluster: {c}-cluster, user: u}}\n"
            ));
        }
        let path = self.path().join("kubeconfig");
        std::fs::write(&path, text).expect("write kubeconfig");
        path
    }
}

impl Default for Home {
    fn default() -> Self {
        Home::new()
    }
}

/// What a finished command printed, with its exit code.
#[derive(Debug)]
pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn of(cmd: &mut Command) -> Run {
        let out: Output = cmd.output().expect("spawn command");
        Run {
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    pub fn all(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }

    #[track_caller]
    pub fn expect_success(&self) -> &Run {
        assert_eq!(self.code, Some(0), "command failed: {self:#?}");
        self
    }

    /// The JSONL events on stderr (a `--json` run), other lines skipped.
    pub fn events(&self) -> Vec<serde_json::Value> {
        self.stderr
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }

    /// The phases the run completed, in order.
    pub fn completed_phases(&self) -> Vec<String> {
        self.events()
            .iter()
            .filter(|e| e["event"] == "phase_completed")
            .filter_map(|e| e["phase"].as_str().map(str::to_owned))
            .collect()
    }
}
