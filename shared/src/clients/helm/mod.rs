//! The `helm` subprocess: the only place the product runs helm.
//!
//! Under `helm nvcf` this is `$HELM_BIN`, the helm that started us, so helm 3 and helm 4
//! users each get their own. The differences that matter here are few: helm 4's `--wait`
//! takes a strategy (`--wait=watcher`) where helm 3's is a bare switch.

use crate::base::error::{Category, Error, Raw, Result, stderr_tail};
use crate::model::settings::EnvLookup;
use serde::Deserialize;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;
use tokio::process::Command;

pub mod storage;
pub mod template_cache;
pub use template_cache::TemplateCache;

/// Where a chart comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChartRef {
    /// `oci://registry/repository/chart` (or `oci+http://` without TLS), pulled at `--version`.
    Oci(String),
    /// A classic HTTP chart repository.
    Repo { url: String, chart: String },
    /// A chart directory (or packaged .tgz) on disk.
    Path(PathBuf),
}

impl ChartRef {
    /// The chart and version arguments, as `helm template`/`upgrade` take them.
    pub fn args(&self, version: &str) -> Vec<String> {
        match self {
            ChartRef::Oci(r) => match r.strip_prefix("oci+http://") {
                // helm's own spelling of a registry without TLS (helm ≥ 3.13 and 4).
                Some(rest) => vec![
                    format!("oci://{rest}"),
                    "--version".into(),
                    version.into(),
                    "--plain-http".into(),
                ],
                None => vec![r.clone(), "--version".into(), version.into()],
            },
            ChartRef::Repo { url, chart } => vec![
                chart.clone(),
                "--repo".into(),
                url.clone(),
                "--version".into(),
                version.into(),
            ],
            ChartRef::Path(p) => vec![p.display().to_string()],
        }
    }
}

/// helm 4 announces an OCI pull on stdout ("Pulled: …", "Digest: …") ahead of the manifests;
/// helm 3 says it on stderr. Only the manifests belong in a render.
fn without_pull_notice(stdout: &str) -> &str {
    let mut rest = stdout;
    while rest.starts_with("Pulled: ") || rest.starts_with("Digest: ") {
        rest = rest.split_once('\n').map_or("", |(_, tail)| tail);
    }
    rest
}

/// The helm we drive and how to reach the cluster.
#[derive(Debug, Clone)]
pub struct Helm {
    pub bin: PathBuf,
    /// 3 or 4.
    pub major: u32,
    pub version: String,
    pub kube_context: Option<String>,
    /// An explicit kubeconfig (a kubectl plugin's `--kubeconfig`); `None` leaves helm to
    /// `KUBECONFIG`, as helm itself does.
    pub kubeconfig: Option<PathBuf>,
}

/// One release's `helm template` inputs.
#[derive(Debug, Clone)]
pub struct TemplateRequest<'a> {
    pub release: &'a str,
    pub namespace: &'a str,
    pub chart: &'a ChartRef,
    pub version: &'a str,
    pub values: &'a Path,
    /// `--api-versions`, so charts render the objects of CRDs installed earlier in the stream.
    pub api_versions: &'a [String],
}

#[derive(Debug, Clone)]
pub struct UpgradeRequest<'a> {
    pub release: &'a str,
    pub namespace: &'a str,
    pub chart: &'a ChartRef,
    pub version: &'a str,
    pub values: &'a [PathBuf],
    pub timeout: &'a str,
    pub wait_for_jobs: bool,
    /// Release labels (`--labels`), stored with the revision in helm's own records.
    pub labels: &'a [(String, String)],
    /// Let helm finish if we are interrupted: a helm killed mid-install leaves its release
    /// pending, and only a helm that ends on its own leaves it deployed or failed.
    pub detached: bool,
}

/// A row of `helm list -o json`.
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
pub struct ListedRelease {
    pub name: String,
    pub namespace: String,
    pub revision: String,
    pub status: String,
    pub chart: String,
    #[serde(default)]
    pub app_version: String,
}

/// A row of `helm history -o json`.
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
pub struct Revision {
    pub revision: u32,
    #[serde(default)]
    pub updated: String,
    pub status: String,
    pub chart: String,
    #[serde(default)]
    pub app_version: String,
    #[serde(default)]
    pub description: String,
}

const VERSION_TIMEOUT: Duration = Duration::from_secs(20);

impl Helm {
    /// The helm that started us (`$HELM_BIN`), else `helm` on `PATH`.
    pub async fn from_env(env: &dyn EnvLookup, kube_context: Option<String>) -> Result<Helm> {
        let bin =
            env.get("HELM_BIN")
                .filter(|b| !b.is_empty())
                .map(PathBuf::from)
                .or_else(|| crate::clients::tools::which("helm", env))
                .ok_or_else(|| {
                    Error::config("helm was not found: $HELM_BIN is unset and no helm is on PATH")
                        .hint(format!(
                            "run this as `{helm_nvcf_cmd0}…`, or put helm 3.14+ or helm 4 on PATH",
                            helm_nvcf_cmd0 = crate::base::plugin::helm_nvcf("")
                        ))
                })?;
        Helm::at(bin, kube_context).await
    }

    pub async fn at(bin: PathBuf, kube_context: Option<String>) -> Result<Helm> {
        let mut cmd = Command::new(&bin);
        cmd.args(["version", "--template", "{{.Version}}"]);
        let out = tokio::time::timeout(VERSION_TIMEOUT, output(cmd, true))
            .await
            .map_err(|_| {
                Error::new(
                    Category::Subprocess,
                    format!("{} version did not answer in 20s", bin.display()),
                )
                .hint("check that this helm binary runs on its own")
            })??;
        let version = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        let major = version
            .trim_start_matches('v')
            .split('.')
            .next()
            .and_then(|m| m.parse::<u32>().ok())
            .filter(|m| *m >= 3)
            .ok_or_else(|| {
                Error::new(
                    Category::Subprocess,
                    format!(
                        "{} reports version {version:?}, not helm 3 or 4",
                        bin.display()
                    ),
                )
                .hint("point $HELM_BIN at helm 3.14+ or helm 4")
            })?;
        Ok(Helm {
            bin,
            major,
            version,
            kube_context,
            kubeconfig: None,
        })
    }

    /// Targets the cluster a kubectl plugin resolved, not whatever `KUBECONFIG` names.
    pub fn with_kubeconfig(mut self, kubeconfig: Option<PathBuf>) -> Helm {
        self.kubeconfig = kubeconfig;
        self
    }

    fn command(&self) -> Command {
        let mut cmd = Command::new(&self.bin);
        if let Some(path) = &self.kubeconfig {
            cmd.arg("--kubeconfig").arg(path);
        }
        if let Some(ctx) = &self.kube_context {
            cmd.args(["--kube-context", ctx]);
        }
        cmd
    }

    fn wait_flag(&self) -> &'static str {
        if self.major >= 4 {
            "--wait=watcher"
        } else {
            "--wait"
        }
    }

    /// `helm template`, with hooks and CRDs, offline.
    pub async fn template(&self, req: &TemplateRequest<'_>) -> Result<String> {
        let mut cmd = Command::new(&self.bin);
        // Renders run several helms at once; a single-threaded Go runtime in each wastes
        // less CPU on schedulers than one sized for the whole machine. A render lives for
        // tens of milliseconds: collecting garbage in it costs a fifth of its CPU and frees
        // memory the exit frees anyway, so GC waits until the heap nears a bound.
        for (key, value) in [
            ("GOMAXPROCS", "1"),
            ("GOGC", "off"),
            ("GOMEMLIMIT", "192MiB"),
        ] {
            if std::env::var_os(key).is_none() {
                cmd.env(key, value);
            }
        }
        cmd.args(["template", req.release])
            .args(req.chart.args(req.version))
            .args([
                "--namespace",
                req.namespace,
                "--include-crds",
                "--skip-tests",
            ])
            .arg("--values")
            .arg(req.values);
        for api in req.api_versions {
            cmd.args(["--api-versions", api]);
        }
        let out = self.run(cmd, Category::HelmRender).await?;
        Ok(without_pull_notice(&String::from_utf8_lossy(&out)).to_owned())
    }

    /// `helm upgrade --install`, always with the values passed and waiting for the rollout.
    pub async fn upgrade_install(&self, req: &UpgradeRequest<'_>) -> Result<String> {
        let mut cmd = self.command();
        cmd.args(["upgrade", "--install", req.release])
            .args(req.chart.args(req.version))
            .args(["--namespace", req.namespace, "--create-namespace"])
            .args([self.wait_flag(), "--timeout", req.timeout]);
        if req.wait_for_jobs {
            cmd.arg("--wait-for-jobs");
        }
        for v in req.values {
            cmd.arg("--values").arg(v);
        }
        if !req.labels.is_empty() {
            let labels: Vec<String> = req.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
            cmd.args(["--labels", &labels.join(",")]);
        }
        let out = self
            .run_with(cmd, Category::HelmApply, !req.detached)
            .await?;
        Ok(String::from_utf8_lossy(&out).into_owned())
    }

    pub async fn uninstall(&self, release: &str, namespace: &str, timeout: &str) -> Result<()> {
        self.uninstall_with(release, namespace, timeout, &[]).await
    }

    /// `helm uninstall --no-hooks`: for a release whose install was cut off or failed, whose
    /// delete hooks would run against half-made state (or never finish).
    pub async fn uninstall_without_hooks(
        &self,
        release: &str,
        namespace: &str,
        timeout: &str,
    ) -> Result<()> {
        self.uninstall_with(release, namespace, timeout, &["--no-hooks"])
            .await
    }

    async fn uninstall_with(
        &self,
        release: &str,
        namespace: &str,
        timeout: &str,
        extra: &[&str],
    ) -> Result<()> {
        let mut cmd = self.command();
        cmd.args([
            "uninstall",
            release,
            "--namespace",
            namespace,
            "--ignore-not-found",
        ])
        .args(extra)
        .args([self.wait_flag(), "--timeout", timeout]);
        self.run(cmd, Category::HelmApply).await.map(|_| ())
    }

    /// The release's manifest, or `None` when the release is not installed.
    pub async fn get_manifest(&self, release: &str, namespace: &str) -> Result<Option<String>> {
        let mut cmd = self.command();
        cmd.args(["get", "manifest", release, "--namespace", namespace]);
        match self.run(cmd, Category::Subprocess).await {
            Ok(out) => Ok(Some(String::from_utf8_lossy(&out).into_owned())),
            Err(e) if e.category() == Category::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The user-supplied values of the release's current revision.
    pub async fn get_values(&self, release: &str, namespace: &str) -> Result<Value> {
        let mut cmd = self.command();
        cmd.args([
            "get",
            "values",
            release,
            "--namespace",
            namespace,
            "-o",
            "json",
        ]);
        let out = self.run(cmd, Category::Subprocess).await?;
        parse_json(&out, "helm get values")
    }

    pub async fn list(&self, namespace: Option<&str>) -> Result<Vec<ListedRelease>> {
        let mut cmd = self.command();
        cmd.args(["list", "-o", "json", "--all"]);
        match namespace {
            Some(ns) => cmd.args(["--namespace", ns]),
            None => cmd.arg("--all-namespaces"),
        };
        let out = self.run(cmd, Category::Subprocess).await?;
        serde_json::from_value(parse_json(&out, "helm list")?)
            .map_err(|e| Error::internal(format!("unexpected helm list output: {e}")))
    }

    pub async fn history(&self, release: &str, namespace: &str) -> Result<Vec<Revision>> {
        let mut cmd = self.command();
        cmd.args(["history", release, "--namespace", namespace, "-o", "json"]);
        let out = self.run(cmd, Category::Subprocess).await?;
        serde_json::from_value(parse_json(&out, "helm history")?)
            .map_err(|e| Error::internal(format!("unexpected helm history output: {e}")))
    }

    /// Rolls back to `revision` (the previous one when `None`), waiting for the rollout.
    pub async fn rollback(
        &self,
        release: &str,
        namespace: &str,
        revision: Option<u32>,
        timeout: &str,
    ) -> Result<()> {
        let mut cmd = self.command();
        cmd.args(["rollback", release]);
        if let Some(r) = revision {
            cmd.arg(r.to_string());
        }
        cmd.args([
            "--namespace",
            namespace,
            self.wait_flag(),
            "--timeout",
            timeout,
        ]);
        self.run(cmd, Category::HelmApply).await.map(|_| ())
    }

    async fn run(&self, cmd: Command, category: Category) -> Result<Vec<u8>> {
        self.run_with(cmd, category, true).await
    }

    async fn run_with(
        &self,
        cmd: Command,
        category: Category,
        kill_on_drop: bool,
    ) -> Result<Vec<u8>> {
        let described = describe(&cmd);
        let out = output(cmd, kill_on_drop).await?;
        if out.status.success() {
            return Ok(out.stdout);
        }
        let stderr = String::from_utf8_lossy(&out.stderr);
        let tail = stderr_tail(&stderr);
        let last = tail
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("no output")
            .trim()
            .trim_start_matches("Error: ")
            .to_owned();
        let (category, hint) = classify(&stderr, category);
        Err(Error::new(category, format!("{described} failed: {last}"))
            .hint(hint)
            .raw(Raw {
                subprocess: described,
                exit_code: out.status.code().unwrap_or(-1),
                stderr_tail: tail,
                ..Raw::default()
            }))
    }
}

fn classify(stderr: &str, default: Category) -> (Category, &'static str) {
    if stderr.contains("another operation (install/upgrade/rollback) is in progress") {
        (
            Category::HelmPendingUpgrade,
            "wait for the other helm operation to finish, or roll the release back",
        )
    } else if stderr.contains("release: not found") || stderr.contains("has no deployed releases") {
        (
            Category::NotFound,
            "check the release name and namespace with `helm list -A`",
        )
    } else if stderr.contains("values don't meet the specifications of the schema") {
        (
            Category::InvalidInput,
            "a value does not fit the chart's values.schema.json (the path is named above): fix it in the stack config, -f overlay or --set",
        )
    } else if [
        "401 Unauthorized",
        "unauthorized:",
        "authentication required",
        "denied:",
        // helm 4 (oras) asking a registry that wants credentials it was not given.
        "basic credential not found",
    ]
    .iter()
    .any(|m| stderr.contains(m))
    {
        (
            Category::Auth,
            "the chart registry refused the credentials: run `helm registry login REGISTRY` (or `docker login`) with a user that may pull the charts",
        )
    } else if stderr.contains("Kubernetes cluster unreachable") {
        (
            Category::Network,
            "the Kubernetes API server did not answer: check it (`kubectl cluster-info` on the same context), then re-run; the command continues where it stopped",
        )
    } else if [
        "connection refused",
        "no such host",
        "i/o timeout",
        "network is unreachable",
    ]
    .iter()
    .any(|m| stderr.contains(m))
    {
        (
            Category::Network,
            "the chart registry is unreachable: check the address in --chart-source or the stack config's chartSource, and the network",
        )
    } else if default == Category::HelmRender
        && (stderr.contains(": not found") || stderr.contains("404 Not Found"))
    {
        (
            Category::NotFound,
            "that chart version is not in the registry: mirror it there (helm push), or point --chart-source at a registry that has it",
        )
    } else if default == Category::HelmRender {
        (
            default,
            "check the chart source and the values named in the message (--debug shows the command)",
        )
    } else {
        (
            default,
            "read helm's message above; `helm status RELEASE -n NAMESPACE` shows the release state",
        )
    }
}

fn describe(cmd: &Command) -> String {
    let std = cmd.as_std();
    let mut words = vec![
        Path::new(std.get_program())
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
    ];
    words.extend(std.get_args().map(|a| a.to_string_lossy().into_owned()));
    words.join(" ")
}

async fn output(mut cmd: Command, kill_on_drop: bool) -> Result<std::process::Output> {
    let program = cmd.as_std().get_program().to_string_lossy().into_owned();
    let cannot_run = |e: std::io::Error| {
        Error::new(Category::Subprocess, format!("cannot run {program}: {e}"))
            .hint("check that helm is installed and executable")
            .with_source(e)
    };
    cmd.stdin(Stdio::null()).kill_on_drop(kill_on_drop);
    if kill_on_drop {
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        return cmd.output().await.map_err(cannot_run);
    }
    // A helm that outlives us must not write into a closed pipe (SIGPIPE would kill it),
    // so its output goes to unnamed files we read back.
    let mut out = tempfile::tempfile().map_err(cannot_run)?;
    let mut err = tempfile::tempfile().map_err(cannot_run)?;
    cmd.stdout(out.try_clone().map_err(cannot_run)?)
        .stderr(err.try_clone().map_err(cannot_run)?);
    let status = cmd
        .spawn()
        .map_err(cannot_run)?
        .wait()
        .await
        .map_err(cannot_run)?;
    let read = |f: &mut std::fs::File| -> std::io::Result<Vec<u8>> {
        use std::io::{Read, Seek};
        let mut buf = Vec::new();
        f.rewind()?;
        f.read_to_end(&mut buf)?;
        Ok(buf)
    };
    Ok(std::process::Output {
        status,
        stdout: read(&mut out).map_err(cannot_run)?,
        stderr: read(&mut err).map_err(cannot_run)?,
    })
}

fn parse_json(bytes: &[u8], what: &str) -> Result<Value> {
    let text = String::from_utf8_lossy(bytes);
    if text.trim().is_empty() || text.trim() == "null" {
        return Ok(Value::Null);
    }
    serde_json::from_str(&text)
        .map_err(|e| Error::internal(format!("{what} printed unexpected output: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chart_refs_become_helm_arguments() {
        let oci = ChartRef::Oci("oci://r/p/helm-nvcf-api".into());
        assert_eq!(
            oci.args("1.0.0"),
            ["oci://r/p/helm-nvcf-api", "--version", "1.0.0"]
        );
        assert_eq!(
            without_pull_notice("Pulled: r/c:1\nDigest: sha256:ab\n---\nkind: A\n"),
            "---\nkind: A\n"
        );
        assert_eq!(without_pull_notice("---\nkind: A\n"), "---\nkind: A\n");
        assert_eq!(
            ChartRef::Oci("oci+http://127.0.0.1:5000/p/helm-nvcf-api".into()).args("1.0.0"),
            [
                "oci://127.0.0.1:5000/p/helm-nvcf-api",
                "--version",
                "1.0.0",
                "--plain-http"
            ]
        );
        let repo = ChartRef::Repo {
            url: "https://h/x".into(),
            chart: "c".into(),
        };
        assert_eq!(
            repo.args("2"),
            ["c", "--repo", "https://h/x", "--version", "2"]
        );
        assert_eq!(ChartRef::Path("/c/x".into()).args("9"), ["/c/x"]);
    }

    #[test]
    fn failures_are_classified() {
        let (c, _) = classify(
            "Error: UPGRADE FAILED: another operation (install/upgrade/rollback) is in progress",
            Category::HelmApply,
        );
        assert_eq!(c, Category::HelmPendingUpgrade);
        let (c, _) = classify("Error: release: not found", Category::Subprocess);
        assert_eq!(c, Category::NotFound);
        let (c, _) = classify("Error: parse error", Category::HelmRender);
        assert_eq!(c, Category::HelmRender);
        for (stderr, want) in [
            (
                "Error: values don't meet the specifications of the schema(s) in the following chart(s):\nhelm-nvcf-vanity-gateway:\n- at '/vanityGateway/image': got string, want object",
                Category::InvalidInput,
            ),
            (
                "Error: failed to authorize: failed to fetch oauth token: unexpected status from GET request to https://r/token: 401 Unauthorized",
                Category::Auth,
            ),
            (
                "Error: failed to do request: Head \"https://r/v2/c/manifests/9.9.9\": dial tcp 127.0.0.1:1: connect: connection refused",
                Category::Network,
            ),
            (
                "Error: oci://127.0.0.1:5000/nvcf/helm-nvcf-api:9.9.9: not found",
                Category::NotFound,
            ),
        ] {
            assert_eq!(classify(stderr, Category::HelmRender).0, want, "{stderr}");
        }
    }
}
