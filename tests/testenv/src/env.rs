//! Starting, reusing and stopping test environments (see `tests/testenv/README.md`).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};

use crate::audit::AuditLog;
use crate::cmd::run;
use crate::tools;

pub(crate) fn script(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)
}

/// What [`Env::fault`] does to a running environment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// kube-apiserver stopped, then started again on the same port and etcd.
    ApiServerRestart,
    /// kube-apiserver frozen: connections open but nothing answers.
    ApiServerPause,
    /// etcd frozen: the API server answers but cannot read or write.
    EtcdPause,
}

/// One running control plane: etcd, kube-apiserver, controller-manager, scheduler, KWOK.
#[derive(Debug)]
pub struct Env {
    name: String,
    dir: PathBuf,
    kubeconfig: PathBuf,
    server: String,
    audit_log: PathBuf,
    /// Stopped on drop; environments reused across runs are left running.
    owned: bool,
}

impl Env {
    /// The environment shared by all tests of this test binary, started on first use.
    ///
    /// It is stopped by a watchdog once the test binary exits, however it exits. With
    /// `NVCF_TESTENV_REUSE=NAME` the tests use (and if needed start) the long-lived
    /// environment NAME instead and leave it running, for a fast edit-test loop.
    pub fn shared() -> &'static Env {
        static SHARED: OnceLock<Result<Env, String>> = OnceLock::new();
        let env = SHARED.get_or_init(|| {
            let started = match std::env::var("NVCF_TESTENV_REUSE") {
                Ok(name) if !name.is_empty() => Env::launch(&name, false),
                _ => Env::launch(&format!("shared-{}", std::process::id()), true),
            };
            started.map_err(|e| format!("{e:#}"))
        });
        match env {
            Ok(env) => env,
            Err(e) => panic!("the shared test environment could not start: {e}"),
        }
    }

    /// A further environment of this test binary (split-cluster tests, key rotation),
    /// stopped when the returned value is dropped or the test binary exits.
    /// `name` only labels it: each call gets an environment of its own.
    pub fn start_named(name: &str) -> Result<Env> {
        static STARTED: AtomicU32 = AtomicU32::new(0);
        let n = STARTED.fetch_add(1, Ordering::Relaxed);
        Env::launch(&format!("{name}-{}-{n}", std::process::id()), true)
    }

    fn launch(name: &str, owned: bool) -> Result<Env> {
        let mut cmd = Command::new(script("start.sh"));
        cmd.arg(name);
        if owned {
            cmd.arg(format!("--owner-pid={}", std::process::id()));
        }
        let out = run(&mut cmd)?;
        let vars: HashMap<&str, &str> = out.lines().filter_map(|l| l.split_once('=')).collect();
        let var = |k: &str| {
            vars.get(k)
                .map(|v| v.to_string())
                .with_context(|| format!("start.sh printed no {k}:\n{out}"))
        };
        Ok(Env {
            name: name.to_owned(),
            dir: var("NVCF_TESTENV_DIR")?.into(),
            kubeconfig: var("KUBECONFIG")?.into(),
            server: var("NVCF_TESTENV_SERVER")?,
            audit_log: var("NVCF_TESTENV_AUDIT_LOG")?.into(),
            owned,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// State directory: logs/, pki/, kubeconfig, audit.log.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Kubeconfig with context `testenv` and a cluster-admin client certificate.
    pub fn kubeconfig(&self) -> &Path {
        &self.kubeconfig
    }

    /// `https://127.0.0.1:<port>`; also the service-account token issuer.
    pub fn server(&self) -> &str {
        &self.server
    }

    /// The service-account issuer (`iss` of tokens, and the default audience).
    pub fn issuer(&self) -> &str {
        &self.server
    }

    /// PEM file of the CA that signed the apiserver's serving certificate.
    pub fn ca_cert(&self) -> PathBuf {
        self.dir.join("pki/ca.crt")
    }

    pub fn audit(&self) -> AuditLog {
        AuditLog::new(self.audit_log.clone(), self.kubeconfig.clone())
    }

    /// The real kubectl, pointed at this environment.
    pub fn kubectl(&self) -> Command {
        let mut cmd = Command::new(tools::kubectl());
        cmd.env("KUBECONFIG", &self.kubeconfig);
        cmd
    }

    /// Runs kubectl with `args` and returns its stdout; fails on a non-zero exit.
    pub fn kubectl_run(&self, args: &[&str]) -> Result<String> {
        run(self.kubectl().args(args))
    }

    /// Creates a namespace no other test uses, and waits until Pods can be created in it.
    pub fn fresh_namespace(&self, prefix: &str) -> Result<String> {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let nanos = SystemTime::now().duration_since(UNIX_EPOCH)?.subsec_nanos();
        let mut prefix: String = prefix
            .to_ascii_lowercase()
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .take(40)
            .collect();
        prefix = prefix.trim_matches('-').to_owned();
        if prefix.is_empty() {
            prefix.push_str("test");
        }
        let ns = format!("{prefix}-{n}-{:x}", nanos ^ std::process::id());
        self.kubectl_run(&["create", "namespace", &ns])?;
        // The ServiceAccount admission plugin rejects Pods until the controller-manager
        // has created the namespace's default ServiceAccount.
        self.kubectl_run(&[
            "wait",
            "--for=create",
            "serviceaccount/default",
            "-n",
            &ns,
            "--timeout=30s",
        ])?;
        Ok(ns)
    }

    /// Restarts the apiserver with a new service-account signing key; the old public key
    /// is no longer published or accepted. Restarting takes a few seconds, during which
    /// the API is unavailable: use an environment of your own ([`Env::start_named`]).
    pub fn rotate_signing_key(&self) -> Result<()> {
        self.rotate(false)
    }

    /// Like [`Env::rotate_signing_key`], but keeps publishing and accepting the old key.
    pub fn rotate_signing_key_keep_old(&self) -> Result<()> {
        self.rotate(true)
    }

    fn rotate(&self, keep_old: bool) -> Result<()> {
        let mut cmd = Command::new(script("rotate-sa-key.sh"));
        cmd.arg(&self.name).arg("--dir").arg(&self.dir);
        if keep_old {
            cmd.arg("--keep-old");
        }
        run(&mut cmd).map(drop)
    }

    /// Injects a fault (`tests/testenv/fault.sh`) and returns when it is over: the API
    /// server stopped for `seconds` and started again, or the API server or etcd frozen
    /// for `seconds`. Use an environment of your own ([`Env::start_named`]).
    pub fn fault(&self, fault: Fault, seconds: u32) -> Result<()> {
        let kind = match fault {
            Fault::ApiServerRestart => "apiserver-restart",
            Fault::ApiServerPause => "apiserver-pause",
            Fault::EtcdPause => "etcd-pause",
        };
        let mut cmd = Command::new(script("fault.sh"));
        cmd.arg(kind)
            .arg(seconds.to_string())
            .arg(&self.name)
            .arg("--dir")
            .arg(&self.dir);
        run(&mut cmd).map(drop)
    }

    /// A kube client authenticated as cluster-admin.
    pub async fn client(&self) -> Result<kube::Client> {
        let config = self.kube_config().await?;
        Ok(kube::Client::try_from(config)?)
    }

    /// A kube client without credentials, trusting the environment's CA.
    pub async fn anonymous_client(&self) -> Result<kube::Client> {
        let mut config = self.kube_config().await?;
        config.auth_info = Default::default();
        Ok(kube::Client::try_from(config)?)
    }

    async fn kube_config(&self) -> Result<kube::Config> {
        let kubeconfig = kube::config::Kubeconfig::read_from(&self.kubeconfig)?;
        let options = kube::config::KubeConfigOptions::default();
        Ok(kube::Config::from_custom_kubeconfig(kubeconfig, &options).await?)
    }

    /// Stops the environment now (also done on drop for environments this binary owns).
    pub fn stop(&self) -> Result<()> {
        let mut cmd = Command::new(script("stop.sh"));
        cmd.arg(&self.name).arg("--dir").arg(&self.dir);
        run(&mut cmd).map(drop)
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        if self.owned
            && let Err(e) = self.stop()
        {
            eprintln!("stopping test environment {}: {e:#}", self.name);
        }
    }
}
