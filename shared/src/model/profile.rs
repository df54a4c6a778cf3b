//! Per-cluster profiles: configuration and state kept apart for every cluster we talk to.
//!
//! Upstream keeps one `~/.nvcf-cli.yaml` and one state file for every cluster, so an
//! unscoped `init` or `api-key generate` can act on the wrong cluster. Here a profile is
//! named after the kube context by default, lives under `$XDG_CONFIG_HOME/nvcf/profiles/`,
//! and every write is a locked read-modify-write replaced atomically (files 0600, dirs 0700).

use crate::base::error::{Error, Result};
use crate::base::files::{ensure_private_dir, io_error, write_atomic};
use crate::base::secret::Secret;
use crate::model::settings::{EnvLookup, lookup_key};
use serde::{Deserialize, Serialize, de::DeserializeOwned};
use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::path::{Path, PathBuf};

/// Flags choosing the profile, shared by every plugin.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct ProfileArgs {
    /// Profile to use (default: $NVCF_PROFILE, then the kube context's name)
    #[arg(long, global = true, value_name = "NAME", help_heading = "Profile")]
    pub profile: Option<String>,
    /// Use this configuration file instead of a named profile (state is kept beside it)
    #[arg(long, global = true, value_name = "FILE", help_heading = "Profile")]
    pub config: Option<PathBuf>,
}

/// User-editable settings of one profile: keys from [`crate::model::settings::KEYS`].
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ProfileConfig {
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub settings: BTreeMap<String, String>,
    /// Set once, when an upstream `~/.nvcf-cli.yaml` seeded this profile.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub imported_from: Option<String>,
}

/// What commands remember between runs. Field names follow upstream's state file.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct State {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<Secret>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_expiration: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key: Option<Secret>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key_expiration: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nvct_api_key: Option<Secret>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nvct_api_key_expiration: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub function_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub function_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster_id: Option<String>,
    /// This cluster's SIS registration, as `kubectl nvca register` last left it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registration: Option<Registration>,
    /// Fields written by newer versions, kept intact by older ones.
    #[serde(flatten)]
    pub extra: BTreeMap<String, serde_json::Value>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Registration {
    pub cluster_id: String,
    pub cluster_group_id: String,
    pub cluster_name: String,
    pub nca_id: String,
    pub oidc_issuer: String,
    /// The fingerprint of the signing keys SIS holds for this cluster.
    pub jwks_fingerprint: String,
    pub key_ids: Vec<String>,
}

/// One profile's files.
#[derive(Debug, Clone)]
pub struct Profile {
    pub name: String,
    pub config_path: PathBuf,
    pub state_path: PathBuf,
    lock_path: PathBuf,
    /// The upstream config to import from when no profile exists yet.
    legacy: Option<(PathBuf, PathBuf)>,
    /// Upstream's own files, as `nvcf-cli` uses them: its flat config is read, never
    /// rewritten, and its state file is shared with tools that read it.
    upstream: bool,
}

const LEGACY_CONFIG: &str = ".nvcf-cli.yaml";
const LEGACY_STATE: &str = ".nvcf-cli.state";

/// The directory all profiles live in: `$XDG_CONFIG_HOME/nvcf` (default `~/.config/nvcf`).
pub fn config_root(env: &dyn EnvLookup) -> Result<PathBuf> {
    if let Some(dir) = env
        .get("XDG_CONFIG_HOME")
        .filter(|d| Path::new(d).is_absolute())
    {
        return Ok(PathBuf::from(dir).join("nvcf"));
    }
    crate::model::target::home_dir(env)
        .map(|h| h.join(".config").join("nvcf"))
        .ok_or_else(|| {
            Error::config(
                "cannot find a configuration directory: neither XDG_CONFIG_HOME nor HOME is set",
            )
            .hint("set HOME, or pass --config FILE")
        })
}

/// Profile names become directory names: keep them to a safe alphabet.
pub fn sanitize_name(raw: &str) -> String {
    let cleaned: String = raw
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '-'
            }
        })
        .collect();
    let trimmed = cleaned.trim_matches(|c| c == '.' || c == '-');
    if trimmed.is_empty() {
        "default".to_owned()
    } else {
        trimmed.to_owned()
    }
}

impl Profile {
    /// `--config` > `--profile` > `$NVCF_PROFILE` > the kube context's name > `default`.
    pub fn locate(
        args: &ProfileArgs,
        kube_context: Option<&str>,
        env: &dyn EnvLookup,
    ) -> Result<Profile> {
        if crate::base::plugin::running().binary == "nvcf-cli" {
            return Self::upstream(args, env);
        }
        if let Some(file) = &args.config {
            let name = file
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_else(|| "config".into());
            let with_suffix = |suffix: &str| {
                let mut p = file.clone().into_os_string();
                p.push(suffix);
                PathBuf::from(p)
            };
            return Ok(Profile {
                name,
                config_path: file.clone(),
                state_path: with_suffix(".state.json"),
                lock_path: with_suffix(".lock"),
                legacy: None,
                upstream: false,
            });
        }
        let explicit = args
            .profile
            .clone()
            .or_else(|| env.get("NVCF_PROFILE"))
            .filter(|p| !p.is_empty());
        if let Some(name) = &explicit
            && sanitize_name(name) != *name
        {
            return Err(Error::usage(format!("invalid profile name {name:?}"))
                .hint("use letters, digits, '.', '_' and '-' only"));
        }
        let name = explicit.unwrap_or_else(|| {
            sanitize_name(kube_context.unwrap_or(crate::model::target::NO_CONTEXT_PROFILE))
        });
        let root = config_root(env)?;
        let dir = root.join("profiles").join(&name);
        let legacy = crate::model::target::home_dir(env)
            .map(|h| (h.join(LEGACY_CONFIG), h.join(LEGACY_STATE)));
        Ok(Profile {
            name,
            config_path: dir.join("config.yaml"),
            state_path: dir.join("state.json"),
            lock_path: dir.join(".lock"),
            legacy,
            upstream: false,
        })
    }

    /// Upstream's layout: `--config FILE`, else `./.nvcf-cli.yaml`, else `~/.nvcf-cli.yaml`;
    /// state in `~/.nvcf-cli.state`, or `~/.nvcf-cli.NAME.state` for a config named NAME.
    fn upstream(args: &ProfileArgs, env: &dyn EnvLookup) -> Result<Profile> {
        let home = crate::model::target::home_dir(env).ok_or_else(|| {
            Error::config("nvcf-cli keeps its state in the home directory, and HOME is not set")
                .hint("set HOME")
        })?;
        let local = std::env::current_dir().ok().map(|d| d.join(LEGACY_CONFIG));
        let config_path = match &args.config {
            Some(file) => file.clone(),
            None => local
                .filter(|p| p.exists())
                .unwrap_or_else(|| home.join(LEGACY_CONFIG)),
        };
        let stem = config_path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let state_path = match args.config.as_ref().map(|_| stem.as_str()) {
            None | Some(".nvcf-cli") | Some("") => home.join(LEGACY_STATE),
            Some(name) => home.join(format!(".nvcf-cli.{name}.state")),
        };
        let mut lock = state_path.clone().into_os_string();
        lock.push(".lock");
        Ok(Profile {
            name: "nvcf-cli".into(),
            config_path,
            state_path,
            lock_path: PathBuf::from(lock),
            legacy: None,
            upstream: true,
        })
    }

    /// Every profile under the configuration root, sorted.
    pub fn list(env: &dyn EnvLookup) -> Result<Vec<String>> {
        let dir = config_root(env)?.join("profiles");
        let mut names: Vec<String> = match fs::read_dir(&dir) {
            Ok(entries) => entries
                .filter_map(|e| e.ok())
                .filter(|e| {
                    e.path().join("config.yaml").exists() || e.path().join("state.json").exists()
                })
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(io_error("list profiles in", &dir, e)),
        };
        names.sort();
        Ok(names)
    }

    pub fn exists(&self) -> bool {
        self.config_path.exists() || self.state_path.exists()
    }

    /// Upstream's config seeds a profile only while no profile at all exists yet.
    fn import_source(&self) -> Option<&(PathBuf, PathBuf)> {
        let (config, _) = self.legacy.as_ref()?;
        if self.exists() || !config.exists() {
            return None;
        }
        let profiles = self.config_path.parent()?.parent()?;
        // A directory without files (e.g. made by taking the lock) is not a profile yet.
        let any_profile = fs::read_dir(profiles)
            .map(|entries| {
                entries.filter_map(|e| e.ok()).any(|e| {
                    e.path().join("config.yaml").exists() || e.path().join("state.json").exists()
                })
            })
            .unwrap_or(false);
        (!any_profile).then_some(self.legacy.as_ref()?)
    }

    pub fn read_config(&self) -> Result<ProfileConfig> {
        if self.upstream {
            if !self.config_path.exists() {
                return Ok(ProfileConfig::default());
            }
            return import_legacy_config(&self.config_path);
        }
        if let Some((legacy, _)) = self.import_source() {
            return import_legacy_config(legacy);
        }
        read_file(&self.config_path, |text| {
            serde_saphyr::from_str::<ProfileConfig>(text).map_err(|e| e.to_string())
        })
    }

    pub fn read_state(&self) -> Result<State> {
        if let Some((_, legacy_state)) = self.import_source() {
            return match fs::read_to_string(legacy_state) {
                Ok(text) => serde_json::from_str(&text).map_err(|e| {
                    Error::config(format!("cannot import {}: {e}", legacy_state.display()))
                        .hint("fix or remove the upstream state file")
                }),
                Err(_) => Ok(State::default()),
            };
        }
        read_file(&self.state_path, |text| {
            serde_json::from_str::<State>(text).map_err(|e| e.to_string())
        })
    }

    /// Changes the config under the profile lock; nothing is written when `change` fails.
    pub fn update_config<T>(
        &self,
        change: impl FnOnce(&mut ProfileConfig) -> Result<T>,
    ) -> Result<T> {
        if self.upstream {
            return Err(Error::usage(format!(
                "nvcf-cli reads {} as upstream wrote it and does not rewrite it",
                self.config_path.display()
            ))
            .hint(format!(
                "edit that file, or use `{nvcf_cmd0}` for a profile of ours",
                nvcf_cmd0 = crate::base::plugin::nvcf("profile set")
            )));
        }
        let _lock = self.lock()?;
        crate::base::files::remove_stale_temps(&self.config_path);
        let mut config = self.read_config()?;
        let out = change(&mut config)?;
        let text = serde_saphyr::to_string(&config)
            .map_err(|e| Error::internal(format!("serialise profile: {e}")))?;
        write_atomic(&self.config_path, text.as_bytes())?;
        Ok(out)
    }

    pub fn update_state<T>(&self, change: impl FnOnce(&mut State) -> Result<T>) -> Result<T> {
        let _lock = self.lock()?;
        crate::base::files::remove_stale_temps(&self.state_path);
        let mut state = self.read_state()?;
        let out = change(&mut state)?;
        if self.upstream {
            // Upstream stamps these on every write; tools reading the file may rely on them.
            let now = time::OffsetDateTime::now_utc()
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default();
            state.extra.insert("lastModified".into(), now.into());
            state.extra.insert(
                "cliVersion".into(),
                format!("nvcf-plugins {}", env!("CARGO_PKG_VERSION")).into(),
            );
        }
        let mut text = serde_json::to_vec_pretty(&state)
            .map_err(|e| Error::internal(format!("serialise state: {e}")))?;
        text.push(b'\n');
        write_atomic(&self.state_path, &text)?;
        Ok(out)
    }

    /// Removes the profile's files.
    pub fn delete(&self) -> Result<()> {
        let _lock = self.lock()?;
        for path in [&self.config_path, &self.state_path] {
            match fs::remove_file(path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(io_error("remove", path, e)),
            }
        }
        Ok(())
    }

    fn lock(&self) -> Result<File> {
        ensure_private_dir(self.lock_path.parent().unwrap_or(Path::new(".")))?;
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&self.lock_path)
            .map_err(|e| io_error("open lock file", &self.lock_path, e))?;
        file.lock()
            .map_err(|e| io_error("lock", &self.lock_path, e))?;
        Ok(file)
    }
}

/// Sets a setting, validating its name against the known keys.
pub fn set_setting(config: &mut ProfileConfig, name: &str, value: &str) -> Result<()> {
    if lookup_key(name).is_none() {
        return Err(Error::usage(format!("unknown setting {name:?}"))
            .hint("run `profile keys` to list the settings a profile holds"));
    }
    config.settings.insert(name.to_owned(), value.to_owned());
    Ok(())
}

fn import_legacy_config(path: &Path) -> Result<ProfileConfig> {
    let text = fs::read_to_string(path).map_err(|e| io_error("read", path, e))?;
    let raw: BTreeMap<String, serde_json::Value> = serde_saphyr::from_str(&text).map_err(|e| {
        Error::config(format!("cannot import {}: {e}", path.display()))
            .hint("fix the upstream config's YAML, or move it away to start with an empty profile")
    })?;
    let settings = raw
        .into_iter()
        .filter(|(k, _)| lookup_key(k).is_some())
        .filter_map(|(k, v)| match v {
            serde_json::Value::String(s) => Some((k, s)),
            serde_json::Value::Null => None,
            other => Some((k, other.to_string())),
        })
        .collect();
    Ok(ProfileConfig {
        settings,
        imported_from: Some(path.display().to_string()),
    })
}

fn read_file<T: Default + DeserializeOwned>(
    path: &Path,
    parse: impl FnOnce(&str) -> Result<T, String>,
) -> Result<T> {
    match fs::read_to_string(path) {
        Ok(text) if text.trim().is_empty() => Ok(T::default()),
        Ok(text) => parse(&text).map_err(|e| {
            Error::config(format!("{} is not valid: {e}", path.display()))
                .hint("fix the file by hand, or delete it to start over")
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(T::default()),
        Err(e) => Err(io_error("read", path, e)),
    }
}

pub mod view;

#[cfg(test)]
mod tests;
