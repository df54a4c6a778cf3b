//! What every stack command reads before it does anything: the stack config, the password
//! sources, `-f` overlays and `--set` overrides. All of it is checked up front, so a bad
//! input stops the command before any helm runs.

use crate::base::error::{Error, Result};
use crate::model::profile::{ProfileArgs, Registration};
use crate::model::settings::EnvLookup;
use crate::model::stack::catalog::Catalog;
use crate::model::stack::config::{Compute, LoadError, ResolvedPasswords, StackConfig};
use crate::model::stack::values::{SetOverride, ValuesInput, check_release_names};
use crate::model::target::KubeSelection;
use serde_json::Value;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The default stack config file, in the working directory.
pub const DEFAULT_CONFIG: &str = "nvcf-stack.yaml";

#[derive(Debug, Clone)]
pub struct Inputs {
    pub config: StackConfig,
    pub passwords: ResolvedPasswords,
    pub overlays: BTreeMap<String, Value>,
    pub sets: Vec<SetOverride>,
    /// The cluster's SIS registration, fed into the compute plane's values.
    pub registration: Option<Registration>,
    /// Values files listed before a release's own (see [`ValuesInput::base_layers`]).
    pub base_layers: BTreeMap<String, Value>,
}

impl Inputs {
    /// Loads everything. Config problems are written to `diag` one line each, then a
    /// summary error is returned. Passwords are read only when `with_passwords`: bundles
    /// and teardown never need them.
    pub fn load(
        config_path: Option<&Path>,
        overlay_files: &[PathBuf],
        sets: &[String],
        env: &dyn EnvLookup,
        diag: &mut dyn Write,
        with_passwords: bool,
    ) -> Result<Inputs> {
        let path = config_path
            .map(Path::to_path_buf)
            .or_else(|| {
                env.get("NVCF_STACK_CONFIG")
                    .filter(|p| !p.is_empty())
                    .map(PathBuf::from)
            })
            .unwrap_or_else(|| PathBuf::from(DEFAULT_CONFIG));
        if !path.exists() {
            return Err(Error::input_missing(format!(
                "stack config {} does not exist",
                path.display()
            ))
            .hint(format!(
                "write one (registry and repository are required) or pass --stack-config FILE; \
                 see `{helm_nvcf_cmd0} --help`",
                helm_nvcf_cmd0 = crate::base::plugin::helm_nvcf("values")
            )));
        }
        let config = match StackConfig::load(&path) {
            Ok(c) => c,
            Err(LoadError::Read(e)) => return Err(e),
            Err(LoadError::Invalid(problems)) => {
                for e in problems.errors() {
                    let _ = writeln!(diag, "{}", e.one_line());
                }
                return Err(problems.summary());
            }
        };
        for key in config.passwords.inline() {
            let _ = writeln!(
                diag,
                "warning: passwords.{key} is inline in {} (allowInlinePasswords: true): it ends up \
                 in files, backups and shell history; prefer {{env: VARIABLE}} or \
                 {{secretRef: {{namespace, name, key}}}}",
                path.display()
            );
        }
        let sets = sets
            .iter()
            .map(|s| SetOverride::parse(s))
            .collect::<Result<Vec<_>>>()?;
        let mut overlays: BTreeMap<String, Value> = BTreeMap::new();
        for file in overlay_files {
            let text = std::fs::read_to_string(file)
                .map_err(|e| crate::base::files::io_error("read", file, e))?;
            let value: Value = serde_saphyr::from_str(&text).map_err(|e| {
                Error::invalid_input(format!("{} is not valid YAML: {e}", file.display()))
                    .hint("fix the YAML syntax at the position named")
            })?;
            let Value::Object(map) = value else {
                return Err(Error::invalid_input(format!(
                    "{} must map release names to values",
                    file.display()
                ))
                .hint("write e.g. `api: {api: {replicaCount: 2}}`"));
            };
            for (release, v) in map {
                crate::model::stack::value_tree::merge(
                    overlays
                        .entry(release)
                        .or_insert(Value::Object(Default::default())),
                    v,
                );
            }
        }
        check_release_names(Catalog::embedded(), &overlays, &sets)?;
        let passwords = if with_passwords {
            config.passwords.resolve(env)?
        } else {
            ResolvedPasswords::default()
        };
        Ok(Inputs {
            config,
            passwords,
            overlays,
            sets,
            registration: None,
            base_layers: BTreeMap::new(),
        })
    }

    /// Adds the cluster's SIS registration. A stack config that names a different compute
    /// cluster than the one registered is refused: the operator would come up under one
    /// name with another cluster's ids.
    pub fn with_registration(mut self, registration: Option<Registration>) -> Result<Inputs> {
        if let Some(reg) = &registration {
            let configured = &self.config.compute.cluster_name;
            if *configured != Compute::default().cluster_name && *configured != reg.cluster_name {
                return Err(Error::config(format!(
                    "`compute.clusterName` is {configured:?} but this profile's cluster is registered as {:?} ({})",
                    reg.cluster_name, reg.cluster_id
                ))
                .hint(format!(
                    "set `compute.clusterName: {}` in the stack config, or use the profile of the cluster you mean (--profile NAME)",
                    reg.cluster_name
                )));
            }
        }
        self.registration = registration;
        Ok(self)
    }

    /// Whether some password lives in a Kubernetes Secret not read yet.
    pub fn needs_password_secrets(&self) -> bool {
        !self.passwords.pending.is_empty()
    }

    pub fn values_input(&self) -> ValuesInput<'_> {
        ValuesInput {
            config: &self.config,
            passwords: &self.passwords,
            overlays: &self.overlays,
            sets: &self.sets,
            registration: self.registration.as_ref(),
            base_layers: &self.base_layers,
        }
    }
}

/// The SIS registration `kubectl nvca register` or `kubectl nvcf up` left in the profile of
/// the selected cluster. Renders work offline, so no resolvable profile means none.
pub fn profile_registration(
    args: &ProfileArgs,
    sel: &KubeSelection,
    env: &dyn EnvLookup,
) -> Result<Option<Registration>> {
    let Ok(profile) = crate::model::profile::view::current(args, sel, env) else {
        return Ok(None);
    };
    Ok(profile.read_state()?.registration)
}

/// The inputs every stack command reads.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct StackArgs {
    /// The stack config file (registry, repository, storage, passwords, add-ons)
    #[arg(
        long,
        value_name = "FILE",
        env = "NVCF_STACK_CONFIG",
        help_heading = "Stack"
    )]
    pub stack_config: Option<PathBuf>,
    /// Values overlay: a YAML file mapping release names to values (repeatable)
    #[arg(
        short = 'f',
        long = "values",
        value_name = "FILE",
        help_heading = "Stack"
    )]
    pub values: Vec<PathBuf>,
    /// Override one value: RELEASE:PATH=VALUE, e.g. api:api.replicaCount=2 (repeatable)
    #[arg(
        long = "set",
        value_name = "RELEASE:PATH=VALUE",
        help_heading = "Stack"
    )]
    pub set: Vec<String>,
}

impl StackArgs {
    pub fn load(&self, env: &dyn EnvLookup, with_passwords: bool) -> Result<Inputs> {
        Inputs::load(
            self.stack_config.as_deref(),
            &self.values,
            &self.set,
            env,
            &mut std::io::stderr(),
            with_passwords,
        )
    }

    /// As [`StackArgs::load`], with the cluster's SIS registration from its profile: the
    /// commands whose values reach the compute plane.
    pub fn load_registered(
        &self,
        env: &dyn EnvLookup,
        profile: &ProfileArgs,
        sel: &KubeSelection,
        with_passwords: bool,
    ) -> Result<Inputs> {
        let registration = profile_registration(profile, sel, env)?;
        self.load(env, with_passwords)?
            .with_registration(registration)
    }
}

/// Inputs from config text, as a file on disk would give them: for tests.
#[cfg(test)]
pub(crate) fn from_text(config: &str, env: &dyn EnvLookup, with_passwords: bool) -> Inputs {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("stack.yaml");
    std::fs::write(&path, config).expect("write stack config");
    Inputs::load(Some(&path), &[], &[], env, &mut Vec::new(), with_passwords)
        .expect("valid stack config")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::settings::MapEnv;

    fn registration(name: &str) -> Registration {
        Registration {
            cluster_id: "id-1".into(),
            cluster_group_id: "group-1".into(),
            cluster_name: name.into(),
            ..Registration::default()
        }
    }

    #[test]
    fn a_registration_for_another_cluster_name_is_refused() {
        let base = "registry: r\nrepository: o/t\n";
        let env = MapEnv::default();
        let ok = from_text(base, &env, false).with_registration(Some(registration("gpu-a")));
        assert_eq!(ok.unwrap().registration.unwrap().cluster_name, "gpu-a");
        let named = format!("{base}compute: {{clusterName: gpu-a}}\n");
        assert!(
            from_text(&named, &env, false)
                .with_registration(Some(registration("gpu-a")))
                .is_ok()
        );
        let err = from_text(&named, &env, false)
            .with_registration(Some(registration("gpu-b")))
            .unwrap_err();
        assert!(err.message().contains("`compute.clusterName`"), "{err:?}");
        assert!(err.message().contains("\"gpu-b\" (id-1)"), "{err:?}");
    }
}
