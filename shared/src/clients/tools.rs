//! The external tools we drive or report on (kubectl, helm): where they are and which
//! version they are. Versions are cached per binary (path, size, mtime) so `version` does
//! not pay for a subprocess on every run.

use crate::base::files::write_atomic;
use crate::model::settings::EnvLookup;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, UNIX_EPOCH};

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ToolVersion {
    pub path: PathBuf,
    /// `None` when the binary exists but did not say its version in time.
    pub version: Option<String>,
}

/// Finds `name` on `PATH` as a shell would: the first executable regular file.
pub fn which(name: &str, env: &dyn EnvLookup) -> Option<PathBuf> {
    let path = env.get("PATH")?;
    std::env::split_paths(&path)
        .filter(|d| !d.as_os_str().is_empty())
        .map(|d| d.join(name))
        .find(|p| is_executable(p))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

#[derive(Debug, Clone, Copy)]
pub enum Tool {
    Kubectl,
    Helm,
}

impl Tool {
    fn version_args(self) -> &'static [&'static str] {
        match self {
            Tool::Kubectl => &["version", "--client", "-o", "json"],
            Tool::Helm => &["version", "--template", "{{.Version}}"],
        }
    }

    fn parse(self, stdout: &str) -> Option<String> {
        match self {
            Tool::Kubectl => serde_json::from_str::<serde_json::Value>(stdout)
                .ok()?
                .pointer("/clientVersion/gitVersion")?
                .as_str()
                .map(str::to_owned),
            Tool::Helm => Some(stdout.trim().to_owned()).filter(|v| v.starts_with('v')),
        }
    }
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct Cache {
    #[serde(default)]
    tools: BTreeMap<String, CacheEntry>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
struct CacheEntry {
    size: u64,
    mtime_ns: u128,
    version: String,
}

fn fingerprint(path: &Path) -> Option<(u64, u128)> {
    let meta = std::fs::metadata(path).ok()?;
    let mtime = meta
        .modified()
        .ok()?
        .duration_since(UNIX_EPOCH)
        .ok()?
        .as_nanos();
    Some((meta.len(), mtime))
}

pub fn cache_path(env: &dyn EnvLookup) -> Option<PathBuf> {
    env.get("XDG_CACHE_HOME")
        .filter(|d| Path::new(d).is_absolute())
        .map(PathBuf::from)
        .or_else(|| crate::model::target::home_dir(env).map(|h| h.join(".cache")))
        .map(|d| d.join("nvcf").join("tool-versions.json"))
}

/// How long a tool may take to print its version before we report it unknown.
const VERSION_TIMEOUT: Duration = Duration::from_secs(10);

/// Detects the versions of `tools` (binary paths), concurrently, through the cache.
pub async fn detect(tools: &[(Tool, PathBuf)], env: &dyn EnvLookup) -> Vec<ToolVersion> {
    let cache_file = cache_path(env);
    let mut cache: Cache = cache_file
        .as_ref()
        .and_then(|p| std::fs::read_to_string(p).ok())
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default();
    let mut pending = Vec::new();
    let mut results: Vec<Option<ToolVersion>> = vec![None; tools.len()];
    for (i, (tool, path)) in tools.iter().enumerate() {
        let key = path.display().to_string();
        let fp = fingerprint(path);
        match (cache.tools.get(&key), fp) {
            (Some(hit), Some((size, mtime))) if hit.size == size && hit.mtime_ns == mtime => {
                results[i] = Some(ToolVersion {
                    path: path.clone(),
                    version: Some(hit.version.clone()),
                });
            }
            _ => pending.push((i, *tool, path.clone(), fp)),
        }
    }
    if pending.is_empty() {
        return results.into_iter().flatten().collect();
    }
    let handles: Vec<_> = pending
        .iter()
        .map(|(_, tool, path, _)| tokio::spawn(ask_version(*tool, path.clone())))
        .collect();
    let mut answers = Vec::with_capacity(handles.len());
    for handle in handles {
        answers.push(handle.await.ok().flatten());
    }
    let mut changed = false;
    for ((i, _, path, fp), version) in pending.into_iter().zip(answers) {
        if let (Some(v), Some((size, mtime_ns))) = (&version, fp) {
            cache.tools.insert(
                path.display().to_string(),
                CacheEntry {
                    size,
                    mtime_ns,
                    version: v.clone(),
                },
            );
            changed = true;
        }
        results[i] = Some(ToolVersion { path, version });
    }
    if let (true, Some(file)) = (changed, cache_file)
        && let Ok(text) = serde_json::to_vec_pretty(&cache)
        && let Err(e) = write_atomic(&file, &text)
    {
        // The cache only saves time; failing to write it must not fail the command.
        tracing::debug!("tool version cache not written: {e}");
    }
    results.into_iter().flatten().collect()
}

async fn ask_version(tool: Tool, path: PathBuf) -> Option<String> {
    let run = tokio::process::Command::new(&path)
        .args(tool.version_args())
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .output();
    match tokio::time::timeout(VERSION_TIMEOUT, run).await {
        Ok(Ok(out)) if out.status.success() => tool.parse(&String::from_utf8_lossy(&out.stdout)),
        Ok(Ok(out)) => {
            tracing::debug!("{} version exited with {}", path.display(), out.status);
            None
        }
        Ok(Err(e)) => {
            tracing::debug!("cannot run {}: {e}", path.display());
            None
        }
        Err(_) => {
            tracing::warn!(
                "{} did not report its version within {:?}",
                path.display(),
                VERSION_TIMEOUT
            );
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::settings::MapEnv;
    use std::os::unix::fs::PermissionsExt;

    fn script(dir: &Path, name: &str, body: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        path
    }

    #[tokio::test]
    async fn detects_and_caches_versions() {
        let dir = tempfile::tempdir().unwrap();
        let counter = dir.path().join("calls");
        let kubectl = script(
            dir.path(),
            "kubectl",
            &format!(
                "echo x >> {}\necho '{{\"clientVersion\":{{\"gitVersion\":\"v1.36.3\"}}}}'",
                counter.display()
            ),
        );
        let helm = script(dir.path(), "helm", "printf v4.2.3");
        let env = MapEnv::new([
            ("PATH", dir.path().to_str().unwrap()),
            ("XDG_CACHE_HOME", dir.path().to_str().unwrap()),
        ]);
        assert_eq!(which("kubectl", &env), Some(kubectl.clone()));
        let tools = [(Tool::Kubectl, kubectl.clone()), (Tool::Helm, helm)];
        let first = detect(&tools, &env).await;
        assert_eq!(first[0].version.as_deref(), Some("v1.36.3"));
        assert_eq!(first[1].version.as_deref(), Some("v4.2.3"));
        let second = detect(&tools, &env).await;
        assert_eq!(first, second);
        let calls = std::fs::read_to_string(&counter).unwrap();
        assert_eq!(
            calls.lines().count(),
            1,
            "second run is served from the cache"
        );
    }

    #[tokio::test]
    async fn a_broken_tool_has_no_version() {
        let dir = tempfile::tempdir().unwrap();
        let helm = script(dir.path(), "helm", "exit 3");
        let env = MapEnv::new([("XDG_CACHE_HOME", dir.path().to_str().unwrap())]);
        let out = detect(&[(Tool::Helm, helm)], &env).await;
        assert_eq!(out[0].version, None);
    }
}
