//! What the `profile` commands print.

use super::{Profile, ProfileArgs, ProfileConfig, State};
use crate::base::error::Result;
use crate::base::output::{Report, column_table, key_value_table};
use crate::model::settings::{EnvLookup, KEYS, Origin, Settings};
use crate::model::target::{KubeSelection, NO_CONTEXT_PROFILE, Target};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// The profile a command uses. An explicit `--config`/`--profile`/`$NVCF_PROFILE` needs no
/// cluster; otherwise the profile is named after the resolved kube context, and without
/// any kubeconfig it is [`NO_CONTEXT_PROFILE`].
pub fn current(args: &ProfileArgs, sel: &KubeSelection, env: &dyn EnvLookup) -> Result<Profile> {
    let explicit = args.config.is_some()
        || args.profile.as_deref().is_some_and(|p| !p.is_empty())
        || env.get("NVCF_PROFILE").is_some_and(|p| !p.is_empty());
    if explicit {
        return Profile::locate(args, None, env);
    }
    let target = Target::resolve_if_any(sel, env)
        .map_err(|e| e.hint("or name the profile explicitly with --profile NAME"))?;
    let context = target
        .as_ref()
        .map_or(Some(NO_CONTEXT_PROFILE), |t| t.context.as_deref());
    Profile::locate(args, context, env)
}

#[derive(Debug, Serialize)]
pub struct ProfileList {
    pub profiles: Vec<ProfileRow>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProfileRow {
    pub name: String,
    pub current: bool,
}

impl ProfileList {
    pub fn collect(current: Option<&str>, env: &dyn EnvLookup) -> Result<ProfileList> {
        Ok(ProfileList {
            profiles: Profile::list(env)?
                .into_iter()
                .map(|name| ProfileRow {
                    current: current == Some(name.as_str()),
                    name,
                })
                .collect(),
        })
    }
}

impl Report for ProfileList {
    fn table(&self, _wide: bool) -> String {
        if self.profiles.is_empty() {
            return "No profiles yet: one is created the first time a command saves settings or state.\n".into();
        }
        let rows = self
            .profiles
            .iter()
            .map(|p| {
                vec![
                    if p.current { "*".into() } else { String::new() },
                    p.name.clone(),
                ]
            })
            .collect();
        column_table(&["current", "name"], rows)
    }
    fn names(&self) -> Vec<String> {
        self.profiles
            .iter()
            .map(|p| format!("profile/{}", p.name))
            .collect()
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProfileShow {
    pub name: String,
    pub config_path: PathBuf,
    pub state_path: PathBuf,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub imported_from: Option<String>,
    /// Effective settings with where each value came from; secrets masked.
    pub settings: BTreeMap<String, ShownSetting>,
    pub state: State,
}

#[derive(Debug, Serialize)]
pub struct ShownSetting {
    pub value: String,
    pub origin: Origin,
}

impl ProfileShow {
    pub fn collect(profile: &Profile, env: &dyn EnvLookup) -> Result<ProfileShow> {
        let config: ProfileConfig = profile.read_config()?;
        let effective = Settings::resolve(&BTreeMap::new(), env, &config.settings);
        let settings = effective
            .iter()
            .map(|(k, s)| {
                let value = if s.secret && !s.value.is_empty() {
                    crate::base::secret::mask(&s.value)
                } else {
                    s.value.clone()
                };
                (
                    k.to_owned(),
                    ShownSetting {
                        value,
                        origin: s.origin,
                    },
                )
            })
            .collect();
        Ok(ProfileShow {
            name: profile.name.clone(),
            config_path: profile.config_path.clone(),
            state_path: profile.state_path.clone(),
            imported_from: config.imported_from,
            settings,
            state: profile.read_state()?,
        })
    }
}

impl Report for ProfileShow {
    fn table(&self, wide: bool) -> String {
        let mut out = key_value_table(&[
            ("PROFILE", self.name.clone()),
            ("CONFIG", self.config_path.display().to_string()),
            ("STATE", self.state_path.display().to_string()),
        ]);
        if let Some(from) = &self.imported_from {
            out.push_str(&format!("(imported from {from})\n"));
        }
        let rows = self
            .settings
            .iter()
            .filter(|(_, s)| wide || s.origin != Origin::Default)
            .map(|(k, s)| {
                let origin = serde_json::to_value(s.origin)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default();
                vec![k.clone(), s.value.clone(), origin]
            })
            .collect::<Vec<_>>();
        out.push('\n');
        if rows.is_empty() {
            out.push_str("No settings differ from the defaults (-o wide shows them all).\n");
        } else {
            out.push_str(&column_table(&["setting", "value", "from"], rows));
        }
        out
    }
    fn names(&self) -> Vec<String> {
        vec![format!("profile/{}", self.name)]
    }
}

/// The keys a profile can hold, for `profile keys`.
#[derive(Debug, Serialize)]
pub struct KeyList {
    pub keys: Vec<KeyRow>,
}

#[derive(Debug, Serialize)]
pub struct KeyRow {
    pub name: &'static str,
    pub env: Vec<&'static str>,
    pub default: &'static str,
    pub secret: bool,
    pub help: &'static str,
}

impl KeyList {
    pub fn all() -> KeyList {
        KeyList {
            keys: KEYS
                .iter()
                .map(|k| KeyRow {
                    name: k.name,
                    env: k.env.to_vec(),
                    default: k.default,
                    secret: k.secret,
                    help: k.help,
                })
                .collect(),
        }
    }
}

impl Report for KeyList {
    fn table(&self, wide: bool) -> String {
        let rows = self
            .keys
            .iter()
            .map(|k| {
                let mut row = vec![k.name.to_owned(), k.env.join(",")];
                if wide {
                    row.push(k.default.to_owned());
                }
                row.push(k.help.to_owned());
                row
            })
            .collect();
        let header: &[&str] = if wide {
            &["setting", "environment", "default", "meaning"]
        } else {
            &["setting", "environment", "meaning"]
        };
        column_table(header, rows)
    }
    fn names(&self) -> Vec<String> {
        self.keys.iter().map(|k| k.name.to_owned()).collect()
    }
}
