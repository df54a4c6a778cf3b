//! Paths of the real client binaries the tests drive: helm 3, helm 4, kubectl and krew.
//!
//! They are installed on first use (by `tests/tools/install-clients.sh` and
//! `tests/testenv/build.sh`), so a plain `cargo test` works on a fresh machine.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use crate::cmd::run;
use crate::env::script;

fn clients_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let out = run(&mut Command::new(script("../tools/install-clients.sh")))
            .unwrap_or_else(|e| panic!("installing helm/kubectl failed: {e:#}"));
        PathBuf::from(out.trim())
    })
}

/// The directory holding kube-apiserver, etcd, kwok, krew, … (built on first use).
pub fn testenv_bin_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let out = run(&mut Command::new(script("build.sh")))
            .unwrap_or_else(|e| panic!("building the testenv binaries failed: {e:#}"));
        PathBuf::from(out.trim())
    })
}

/// Real helm v3 (`helm3`).
pub fn helm3() -> PathBuf {
    clients_dir().join("helm3")
}

/// Real helm v4 (`helm4`).
pub fn helm4() -> PathBuf {
    clients_dir().join("helm4")
}

/// Real kubectl, the same minor version as the test apiserver.
pub fn kubectl() -> PathBuf {
    clients_dir().join("kubectl")
}

/// Real krew, built from source.
pub fn krew() -> PathBuf {
    testenv_bin_dir().join("krew")
}

/// A helm command whose data, config and cache live under `home`, so tests never share
/// or touch the user's repositories and plugins.
pub fn helm_command(helm: &Path, kubeconfig: &Path, home: &Path) -> Command {
    let mut cmd = Command::new(helm);
    cmd.env("KUBECONFIG", kubeconfig)
        .env("HELM_DATA_HOME", home.join("data"))
        .env("HELM_CONFIG_HOME", home.join("config"))
        .env("HELM_CACHE_HOME", home.join("cache"));
    cmd
}
