//! Where a command acts: the cluster, context, namespace and user, resolved as kubectl does.
//!
//! kubectl does not pass its global flags to plugins, so each plugin parses them itself
//! ([`KubeArgs`]); helm consumes its own flags and hands them over as `HELM_*` variables
//! ([`KubeSelection::from_helm_env`]). Resolution is pure (reads files, no network), so the
//! `context` command and plan modes can say where they would act without touching a cluster.

use crate::base::error::{Error, Result};
use crate::model::settings::EnvLookup;
use kube::config::{KubeConfigOptions, Kubeconfig};
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// kubectl's connection flags, accepted by every plugin command.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct KubeArgs {
    /// Path to the kubeconfig file to use (default: $KUBECONFIG, then ~/.kube/config)
    #[arg(
        long,
        global = true,
        value_name = "PATH",
        help_heading = "Cluster connection"
    )]
    pub kubeconfig: Option<PathBuf>,
    /// The kubeconfig context to use
    #[arg(
        long,
        global = true,
        value_name = "NAME",
        help_heading = "Cluster connection"
    )]
    pub context: Option<String>,
    /// The kubeconfig cluster to use
    #[arg(
        long,
        global = true,
        value_name = "NAME",
        help_heading = "Cluster connection"
    )]
    pub cluster: Option<String>,
    /// The kubeconfig user to use
    #[arg(
        long,
        global = true,
        value_name = "NAME",
        help_heading = "Cluster connection"
    )]
    pub user: Option<String>,
    /// The namespace scope for this request
    #[arg(
        short = 'n',
        long,
        global = true,
        value_name = "NAME",
        help_heading = "Cluster connection"
    )]
    pub namespace: Option<String>,
    /// How long to wait for a single server request (e.g. 30s, 1m; 0 = no timeout)
    #[arg(
        long,
        global = true,
        value_name = "DURATION",
        help_heading = "Cluster connection"
    )]
    pub request_timeout: Option<String>,
}

/// Separate contexts for the two planes of a split install.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct PlaneArgs {
    /// Context of the control-plane cluster (default: the current context)
    #[arg(
        long,
        global = true,
        value_name = "NAME",
        help_heading = "Cluster connection"
    )]
    pub control_plane_context: Option<String>,
    /// Context of the compute-plane (GPU) cluster (default: the current context)
    #[arg(
        long,
        global = true,
        value_name = "NAME",
        help_heading = "Cluster connection"
    )]
    pub compute_plane_context: Option<String>,
}

/// What the user asked for, from flags or from helm's environment.
#[derive(Debug, Clone, Default)]
pub struct KubeSelection {
    pub kubeconfig: Option<PathBuf>,
    pub context: Option<String>,
    pub cluster: Option<String>,
    pub user: Option<String>,
    pub namespace: Option<String>,
    pub request_timeout: Option<Duration>,
}

impl KubeSelection {
    pub fn from_args(args: &KubeArgs) -> Result<Self> {
        Ok(KubeSelection {
            kubeconfig: args.kubeconfig.clone(),
            context: args.context.clone().filter(|s| !s.is_empty()),
            cluster: args.cluster.clone().filter(|s| !s.is_empty()),
            user: args.user.clone().filter(|s| !s.is_empty()),
            namespace: args.namespace.clone().filter(|s| !s.is_empty()),
            request_timeout: args
                .request_timeout
                .as_deref()
                .map(|t| parse_duration("--request-timeout", t))
                .transpose()?
                .filter(|d| !d.is_zero()),
        })
    }

    /// Helm strips `--kube-context`, `-n` and `--kubeconfig` from a plugin's arguments and
    /// passes them as `HELM_KUBECONTEXT`, `HELM_NAMESPACE` and `KUBECONFIG` instead.
    pub fn from_helm_env(env: &dyn EnvLookup) -> Self {
        let non_empty = |k: &str| env.get(k).filter(|v| !v.is_empty());
        KubeSelection {
            kubeconfig: None,
            context: non_empty("HELM_KUBECONTEXT"),
            cluster: None,
            user: non_empty("HELM_KUBEASUSER"),
            namespace: non_empty("HELM_NAMESPACE"),
            request_timeout: None,
        }
    }

    pub fn with_context(&self, context: Option<&str>) -> Self {
        let mut sel = self.clone();
        if let Some(ctx) = context.filter(|c| !c.is_empty()) {
            sel.context = Some(ctx.to_owned());
        }
        sel
    }
}

/// Parses kubectl-style durations: `0`, `30s`, `1m`, `1m30s`, `2h`, `500ms`.
pub fn parse_duration(flag: &str, text: &str) -> Result<Duration> {
    let invalid = || {
        Error::usage(format!("invalid {flag} value {text:?}")).hint(format!(
            "use a duration such as 30s, 1m or 1m30s, e.g. {flag}=30s"
        ))
    };
    let text = text.trim();
    if text == "0" {
        return Ok(Duration::ZERO);
    }
    if let Ok(secs) = text.parse::<u64>() {
        return Ok(Duration::from_secs(secs));
    }
    let mut total = Duration::ZERO;
    let mut rest = text;
    if rest.is_empty() {
        return Err(invalid());
    }
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(invalid)?;
        let value: f64 = rest[..digits].parse().map_err(|_| invalid())?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let scale = match &rest[..unit_len] {
            "ms" => 0.001,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return Err(invalid()),
        };
        // Found by fuzzing: a value too large for a Duration must be refused, not panic.
        total = Duration::try_from_secs_f64(value * scale)
            .ok()
            .and_then(|d| total.checked_add(d))
            .ok_or_else(invalid)?;
        rest = &rest[unit_len..];
    }
    Ok(total)
}

/// Where the kubeconfig came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase", tag = "kind", content = "paths")]
pub enum Source {
    /// One or more files (several when `KUBECONFIG` lists them; merged first-wins).
    Files(Vec<PathBuf>),
    /// The Pod's service account: no kubeconfig and running inside a cluster.
    InCluster,
}

/// Where the namespace came from, so `context` can explain it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum NamespaceSource {
    Flag,
    Context,
    ServiceAccount,
    Default,
}

/// A resolved target: everything needed to build a client, and to explain it.
#[derive(Debug, Clone)]
pub struct Target {
    pub source: Source,
    pub context: Option<String>,
    pub cluster: String,
    pub server: String,
    pub user: Option<String>,
    pub namespace: String,
    pub namespace_source: NamespaceSource,
    request_timeout: Option<Duration>,
    kubeconfig: Option<Kubeconfig>,
    cluster_override: Option<String>,
    user_override: Option<String>,
}

const SERVICE_ACCOUNT_DIR: &str = "/var/run/secrets/kubernetes.io/serviceaccount";

/// The name of the profile commands use when no kube context names one: API commands
/// work on a machine without a kubeconfig, as upstream's CLI does.
pub const NO_CONTEXT_PROFILE: &str = "default";

impl Target {
    /// As [`Target::resolve`], but `None` when there is simply no cluster to talk to: no
    /// kubeconfig anywhere, not in a Pod, and neither `--kubeconfig` nor `--context` given.
    /// A kubeconfig that exists but is broken, or a named context it lacks, is still an error.
    pub fn resolve_if_any(sel: &KubeSelection, env: &dyn EnvLookup) -> Result<Option<Target>> {
        if sel.kubeconfig.is_some() || sel.context.is_some() || in_cluster(env) {
            return Self::resolve(sel, env).map(Some);
        }
        match load_kubeconfig(sel, env)? {
            Some((paths, config)) => Self::from_kubeconfig(sel, paths, config).map(Some),
            None => Ok(None),
        }
    }

    pub fn resolve(sel: &KubeSelection, env: &dyn EnvLookup) -> Result<Target> {
        match load_kubeconfig(sel, env)? {
            Some((paths, config)) => Self::from_kubeconfig(sel, paths, config),
            None if in_cluster(env) => Self::in_cluster(sel),
            None => {
                let looked = match env.get("KUBECONFIG").filter(|v| !v.is_empty()) {
                    Some(list) => format!("KUBECONFIG={list} lists no existing file"),
                    None => "KUBECONFIG is unset and ~/.kube/config does not exist".to_owned(),
                };
                Err(Error::config(format!(
                    "no kubeconfig found: {looked}, and this is not a Pod in a cluster"
                ))
                .hint("pass --kubeconfig PATH or set KUBECONFIG to your cluster's kubeconfig"))
            }
        }
    }

    fn from_kubeconfig(
        sel: &KubeSelection,
        paths: Vec<PathBuf>,
        config: Kubeconfig,
    ) -> Result<Target> {
        let shown = display_paths(&paths);
        let context_name = sel
            .context
            .clone()
            .or_else(|| config.current_context.clone().filter(|c| !c.is_empty()));
        let context = match &context_name {
            Some(name) => Some(
                config
                    .contexts
                    .iter()
                    .find(|c| &c.name == name)
                    .ok_or_else(|| {
                        let known: Vec<&str> = config.contexts.iter().map(|c| c.name.as_str()).collect();
                        Error::config(format!(
                            "context {name:?} not found in kubeconfig {shown} (contexts: {})",
                            if known.is_empty() { "none".to_owned() } else { known.join(", ") }
                        ))
                        .hint("pass --context with one of those names (kubectl config get-contexts lists them)")
                    })?
                    .context
                    .clone()
                    .unwrap_or_default(),
            ),
            None if sel.cluster.is_some() => None,
            None => {
                return Err(Error::config(format!(
                    "kubeconfig {shown} has no current-context and no --context was given"
                ))
                .hint("pass --context NAME, or run kubectl config use-context NAME"));
            }
        };
        let cluster_name = sel
            .cluster
            .clone()
            .or_else(|| context.as_ref().map(|c| c.cluster.clone()))
            .unwrap_or_default();
        let cluster = config
            .clusters
            .iter()
            .find(|c| c.name == cluster_name)
            .ok_or_else(|| {
                Error::config(format!(
                    "cluster {cluster_name:?} (used by context {}) not found in kubeconfig {shown}",
                    context_name.as_deref().unwrap_or("-")
                ))
                .hint("fix the context's cluster entry, or pass --cluster with an existing cluster name")
            })?;
        let server = cluster
            .cluster
            .as_ref()
            .and_then(|c| c.server.clone())
            .ok_or_else(|| {
                Error::config(format!(
                    "cluster {cluster_name:?} in kubeconfig {shown} has no server URL"
                ))
                .hint("set clusters[].cluster.server to the API server's https:// URL")
            })?;
        let user = sel
            .user
            .clone()
            .or_else(|| context.as_ref().and_then(|c| c.user.clone()));
        if let Some(user) = &user
            && !config.auth_infos.iter().any(|a| &a.name == user)
        {
            return Err(
                Error::config(format!("user {user:?} not found in kubeconfig {shown}"))
                    .hint("pass --user with a name from the kubeconfig's users list"),
            );
        }
        let (namespace, namespace_source) = match (
            &sel.namespace,
            context.as_ref().and_then(|c| c.namespace.clone()),
        ) {
            (Some(ns), _) => (ns.clone(), NamespaceSource::Flag),
            (None, Some(ns)) if !ns.is_empty() => (ns, NamespaceSource::Context),
            _ => ("default".to_owned(), NamespaceSource::Default),
        };
        Ok(Target {
            source: Source::Files(paths),
            cluster_override: sel.cluster.clone(),
            user_override: sel.user.clone(),
            context: context_name,
            cluster: cluster_name,
            server,
            user,
            namespace,
            namespace_source,
            request_timeout: sel.request_timeout,
            kubeconfig: Some(config),
        })
    }

    fn in_cluster(sel: &KubeSelection) -> Result<Target> {
        let sa_namespace =
            std::fs::read_to_string(Path::new(SERVICE_ACCOUNT_DIR).join("namespace"))
                .ok()
                .map(|s| s.trim().to_owned());
        let (namespace, namespace_source) = match (&sel.namespace, sa_namespace) {
            (Some(ns), _) => (ns.clone(), NamespaceSource::Flag),
            (None, Some(ns)) => (ns, NamespaceSource::ServiceAccount),
            (None, None) => ("default".to_owned(), NamespaceSource::Default),
        };
        Ok(Target {
            source: Source::InCluster,
            context: None,
            cluster: "in-cluster".to_owned(),
            server: "https://kubernetes.default.svc".to_owned(),
            user: None,
            namespace,
            namespace_source,
            request_timeout: sel.request_timeout,
            kubeconfig: None,
            cluster_override: None,
            user_override: None,
        })
    }

    /// Builds a client. The only place in the product that does, with
    /// `clients::kube::multiplexed::for_target`.
    pub async fn client(&self, user_agent: &str) -> Result<kube::Client> {
        let config = self.config(user_agent).await?;
        kube::Client::try_from(config).map_err(|e| {
            Error::config(format!(
                "cannot build a Kubernetes client for {}: {e}",
                self.describe()
            ))
            .hint("check the kubeconfig's certificates and server URL")
        })
    }

    /// The client configuration for this target: kubeconfig context, overrides and the
    /// user agent. `clients::kube::multiplexed::for_target` builds on it.
    pub async fn config(&self, user_agent: &str) -> Result<kube::Config> {
        let mut config = match &self.kubeconfig {
            Some(kc) => {
                let options = KubeConfigOptions {
                    context: self.context.clone(),
                    cluster: self.cluster_override.clone(),
                    user: self.user_override.clone(),
                };
                kube::Config::from_custom_kubeconfig(kc.clone(), &options)
                .await
                .map_err(|e| {
                    Error::config(format!("cannot use kubeconfig context {}: {e}", self.describe()))
                        .hint("check the context's cluster, user and certificates with kubectl config view --minify")
                })?
            }
            None => kube::Config::incluster().map_err(|e| {
                Error::config(format!("cannot use the in-cluster service account: {e}"))
                    .hint("pass --kubeconfig PATH when running outside a cluster")
            })?,
        };
        config.default_namespace = self.namespace.clone();
        if let Some(timeout) = self.request_timeout {
            config.connect_timeout = Some(timeout);
            config.read_timeout = Some(timeout);
            config.write_timeout = Some(timeout);
            config.reset_reader_on_write = true;
        }
        if let Ok(value) = http::HeaderValue::from_str(user_agent) {
            config.headers.push((http::header::USER_AGENT, value));
        }
        Ok(config)
    }

    /// `context "x" (cluster "y" at https://…)`, for messages.
    pub fn describe(&self) -> String {
        match &self.context {
            Some(ctx) => format!(
                "context {ctx:?} (cluster {:?} at {})",
                self.cluster, self.server
            ),
            None => format!("cluster {:?} at {}", self.cluster, self.server),
        }
    }
}

/// The context names of the kubeconfig `sel` points at, for completion.
pub fn context_names(sel: &KubeSelection, env: &dyn EnvLookup) -> Result<Vec<String>> {
    Ok(load_kubeconfig(sel, env)?
        .map(|(_, kc)| kc.contexts.into_iter().map(|c| c.name).collect())
        .unwrap_or_default())
}

fn display_paths(paths: &[PathBuf]) -> String {
    paths
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(":")
}

fn in_cluster(env: &dyn EnvLookup) -> bool {
    env.get("KUBERNETES_SERVICE_HOST")
        .is_some_and(|h| !h.is_empty())
        && Path::new(SERVICE_ACCOUNT_DIR).join("token").exists()
}

/// kubectl's loading rules: an explicit `--kubeconfig` must exist; otherwise every existing
/// file listed in `KUBECONFIG` is merged (first value wins; missing entries are skipped);
/// otherwise `~/.kube/config` if it exists.
fn load_kubeconfig(
    sel: &KubeSelection,
    env: &dyn EnvLookup,
) -> Result<Option<(Vec<PathBuf>, Kubeconfig)>> {
    if let Some(path) = &sel.kubeconfig {
        if !path.exists() {
            return Err(Error::input_missing(format!("kubeconfig {} does not exist", path.display()))
                .hint("pass an existing file to --kubeconfig, or drop the flag to use KUBECONFIG or ~/.kube/config"));
        }
        return Ok(Some((vec![path.clone()], read_one(path)?)));
    }
    let candidates: Vec<PathBuf> = match env.get("KUBECONFIG").filter(|v| !v.is_empty()) {
        Some(list) => std::env::split_paths(&list)
            .filter(|p| !p.as_os_str().is_empty())
            .collect(),
        None => home_dir(env)
            .map(|h| vec![h.join(".kube").join("config")])
            .unwrap_or_default(),
    };
    let mut merged: Option<Kubeconfig> = None;
    let mut used = Vec::new();
    for path in candidates.into_iter().filter(|p| p.exists()) {
        let next = read_one(&path)?;
        merged = Some(match merged {
            Some(acc) => acc.merge(next).map_err(|e| {
                Error::config(format!("cannot merge kubeconfig {}: {e}", path.display()))
                    .hint("make every file in KUBECONFIG the same kind and apiVersion")
            })?,
            None => next,
        });
        used.push(path);
    }
    Ok(merged.map(|m| (used, m)))
}

fn read_one(path: &Path) -> Result<Kubeconfig> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        Error::input_missing(format!("cannot read kubeconfig {}: {e}", path.display()))
            .hint("check the file's permissions, or point --kubeconfig at a readable file")
            .with_source(e)
    })?;
    Kubeconfig::from_yaml(&text).map_err(|e| {
        Error::config(format!(
            "kubeconfig {} is not a valid kubeconfig: {e}",
            path.display()
        ))
        .hint("fix the YAML, or check it with kubectl config view --kubeconfig FILE")
    })
}

pub(crate) fn home_dir(env: &dyn EnvLookup) -> Option<PathBuf> {
    env.get("HOME").filter(|h| !h.is_empty()).map(PathBuf::from)
}

#[cfg(test)]
mod tests;
