//! The effective values of each release: our template output, then `-f` overlays, then
//! `--set release:path=value`, with aicr's query semantics for reading them back.

use crate::base::error::{Error, Result};
use crate::model::profile::Registration;
use crate::model::stack::catalog::{Catalog, Plane, Release, lookup};
use crate::model::stack::config::{ResolvedPasswords, SecretKeyRef, StackConfig};
use crate::model::stack::environment;
use crate::model::stack::sizing::Profile;
use crate::model::stack::templates;
use crate::model::stack::value_tree::{merge, set_path};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// `--set release:path=value`, aicr style: last one wins, `true`/`false`/numbers typed.
#[derive(Debug, Clone, PartialEq)]
pub struct SetOverride {
    pub release: String,
    pub path: String,
    pub value: Value,
}

impl SetOverride {
    pub fn parse(text: &str) -> Result<SetOverride> {
        let bad = || {
            Error::usage(format!("--set {text:?} is not RELEASE:PATH=VALUE"))
                .hint("write e.g. --set api:api.replicaCount=2")
        };
        let (release, rest) = text.split_once(':').ok_or_else(bad)?;
        let (path, raw) = rest.split_once('=').ok_or_else(bad)?;
        if release.is_empty() || path.is_empty() || path.contains('[') {
            return Err(
                bad().hint("list elements cannot be set one by one; replace the list with -f")
            );
        }
        Ok(SetOverride {
            release: release.to_owned(),
            path: path.trim_start_matches('.').to_owned(),
            value: typed(raw),
        })
    }
}

fn typed(raw: &str) -> Value {
    match raw {
        "true" => Value::Bool(true),
        "false" => Value::Bool(false),
        "null" => Value::Null,
        _ => raw
            .parse::<i64>()
            .map(Value::from)
            .or_else(|_| {
                raw.parse::<f64>()
                    .ok()
                    .filter(|f| f.is_finite())
                    .and_then(serde_json::Number::from_f64)
                    .map(Value::Number)
                    .ok_or(())
            })
            .unwrap_or_else(|()| Value::String(raw.to_owned())),
    }
}

/// Everything a values template may use.
pub struct ValuesInput<'a> {
    pub config: &'a StackConfig,
    pub passwords: &'a ResolvedPasswords,
    /// `release -> overlay` from `-f` files, applied before `--set`.
    pub overlays: &'a BTreeMap<String, Value>,
    pub sets: &'a [SetOverride],
    /// This cluster's SIS registration (from the profile), for the compute plane's values.
    pub registration: Option<&'a Registration>,
    /// `release -> values` listed before the release's own values, as helmfile lists a
    /// split install's registration values file first.
    pub base_layers: &'a BTreeMap<String, Value>,
}

/// A password as templates see it: the real value, or a marker for bundles.
pub enum PasswordView<'a> {
    Real(&'a ResolvedPasswords),
    /// Bundles must not carry passwords: env-sourced ones render as [`env_marker`].
    Markers,
}

/// The placeholder a bundle's values hold where `install.sh` passes `$VAR` at deploy time.
pub fn env_marker(var: &str) -> String {
    format!("__NVCF_FROM_ENV_{var}__")
}

/// The placeholder a bundle's values hold where `install.sh` reads a Secret's key from the
/// cluster at deploy time.
pub fn secret_marker(r: &SecretKeyRef) -> String {
    format!("__NVCF_FROM_SECRET_{}/{}/{}__", r.namespace, r.name, r.key)
}

impl ValuesInput<'_> {
    fn template_context(&self, view: &PasswordView<'_>, namespace: &str) -> Value {
        let cfg = self.config;
        let profile = Profile::of(cfg.profile);
        let cfg_value = cfg.as_value();
        let pull_secrets: Vec<Value> = cfg
            .image_pull_secrets
            .iter()
            .map(|n| serde_json::json!({ "name": n }))
            .collect();
        let password = |secret: &Option<crate::base::secret::Secret>, key: &str| -> Value {
            match view {
                PasswordView::Real(_) => secret
                    .as_ref()
                    .map(|s| Value::String(s.expose().to_owned()))
                    .unwrap_or(Value::Null),
                PasswordView::Markers => cfg
                    .passwords
                    .env_vars()
                    .into_iter()
                    .find(|(k, _)| *k == key)
                    .map(|(_, var)| env_marker(&var))
                    .or_else(|| {
                        cfg.passwords
                            .secret_refs()
                            .into_iter()
                            .find(|(k, _)| *k == key)
                            .map(|(_, r)| secret_marker(&r))
                    })
                    .map(Value::String)
                    .unwrap_or(Value::Null),
            }
        };
        // A Secret in the release's own namespace can be referenced where the chart takes
        // an EnvVar, so the password never enters the rendered stream.
        let local_refs = cfg.passwords.secret_refs();
        let secret_refs: Map<String, Value> = [
            "cassandraServiceRole",
            "cassandraSuperuser",
            "sidecarPullSecret",
            "registry",
        ]
        .into_iter()
        .map(|key| {
            let r = local_refs
                .iter()
                .find(|(k, r)| *k == key && r.namespace == namespace)
                .map_or(
                    Value::Null,
                    |(_, r)| serde_json::json!({ "name": r.name, "key": r.key }),
                );
            (key.to_owned(), r)
        })
        .collect();
        let pw = self.passwords;
        let storage = serde_json::json!({
            "class": cfg.storage.class,
            "size": cfg.storage.size.clone().unwrap_or_else(|| profile.storage_size.to_owned()),
        });
        serde_json::json!({
            "cfg": cfg_value,
            "profile": profile,
            "storage": storage,
            "domain": cfg.domain,
            "registry": cfg.registry,
            "repository": cfg.repository,
            "pull_secrets": pull_secrets,
            "gateway": serde_json::to_value(&cfg.gateway).unwrap_or_default(),
            "compute": serde_json::to_value(&cfg.compute).unwrap_or_default(),
            "registration": self.registration.map(|r| serde_json::json!({
                "clusterId": r.cluster_id,
                "clusterGroupId": r.cluster_group_id,
                "clusterName": r.cluster_name,
                "ncaId": r.nca_id,
            })),
            "passwords": {
                "cassandraServiceRole": password(&pw.cassandra_service_role, "cassandraServiceRole"),
                "cassandraSuperuser": password(&pw.cassandra_superuser, "cassandraSuperuser"),
                "sidecarPullSecret": password(&pw.sidecar_pull_secret, "sidecarPullSecret"),
            },
            "secret_refs": secret_refs,
        })
    }

    /// The values `release` is installed with.
    pub fn release_values(&self, release: &Release, view: &PasswordView<'_>) -> Result<Value> {
        if let (PasswordView::Real(_), Some(key)) = (view, self.passwords.pending.first()) {
            return Err(Error::config(format!(
                "passwords.{key} comes from a Kubernetes Secret this command has not read"
            ))
            .hint("run the command with access to the cluster holding the Secret (KUBECONFIG, helm --kube-context)"));
        }
        let namespace = release.namespace_in(&self.config.as_value());
        let ctx = self.template_context(view, &namespace);
        if templates::has_release_file(&release.name) {
            let mut out = self.ported_values(release, &ctx)?;
            self.under_base_layer(release, &mut out)?;
            self.apply_overrides(release, &mut out);
            return Ok(out);
        }
        let ctx_fn = minijinja::Value::from_serialize(&ctx);
        let text = templates::render(&templates::values_template(&release.name), ctx_fn)?;
        let own: Value = serde_saphyr::from_str(&text).map_err(|e| {
            Error::internal(format!(
                "values template of {} produced invalid YAML: {e}",
                release.name
            ))
        })?;
        let own = if own.is_null() {
            Value::Object(Map::new())
        } else {
            own
        };
        let mut values = match &release.values_key {
            Some(key) => {
                let mut v = Value::Object(Map::new());
                v.as_object_mut().expect("object").insert(key.clone(), own);
                v
            }
            None => own,
        };
        let global_text = templates::render("global-values.yaml.j2", &ctx)?;
        let global: Value = serde_saphyr::from_str(&global_text)
            .map_err(|e| Error::internal(format!("global values are invalid YAML: {e}")))?;
        let mut out = global;
        merge(&mut out, values.take());
        self.under_base_layer(release, &mut out)?;
        self.apply_overrides(release, &mut out);
        Ok(out)
    }

    /// Puts the release's base layer under `out`. NVCA's `agentConfig.mergeConfig` is a
    /// YAML document in a string: the two documents merge, as upstream's helmfile merges
    /// the registration's with the environment's, rather than one replacing the other.
    fn under_base_layer(&self, release: &Release, out: &mut Value) -> Result<()> {
        let Some(base) = self.base_layers.get(&release.name) else {
            return Ok(());
        };
        let doc = |v: &Value| -> Result<Option<Value>> {
            match v
                .pointer("/agentConfig/mergeConfig")
                .and_then(Value::as_str)
            {
                Some(text) if !text.trim().is_empty() => {
                    serde_saphyr::from_str(text).map(Some).map_err(|e| {
                        Error::invalid_input(format!(
                            "{}: agentConfig.mergeConfig is not YAML: {e}",
                            release.name
                        ))
                    })
                }
                _ => Ok(None),
            }
        };
        let merged_config = match (doc(base)?, doc(out)?) {
            (Some(mut b), Some(top)) => {
                merge(&mut b, top);
                Some(b)
            }
            _ => None,
        };
        let mut layered = base.clone();
        merge(&mut layered, std::mem::take(out));
        if let Some(cfg) = merged_config {
            let text = serde_saphyr::to_string(&cfg)
                .map_err(|e| Error::internal(format!("cannot write mergeConfig: {e}")))?;
            set_path(&mut layered, "agentConfig.mergeConfig", Value::String(text));
        }
        *out = layered;
        Ok(())
    }

    /// `-f` overlays, then `--set`.
    fn apply_overrides(&self, release: &Release, out: &mut Value) {
        if let Some(overlay) = self.overlays.get(&release.name) {
            merge(out, overlay.clone());
        }
        for s in self.sets.iter().filter(|s| s.release == release.name) {
            set_path(out, &s.path, s.value.clone());
        }
    }

    /// A release whose values template is ported from upstream: rendered from upstream's
    /// environment shape, the whole document, as helmfile hands it to the chart.
    fn ported_values(&self, release: &Release, ctx: &Value) -> Result<Value> {
        let env = match release.plane {
            Plane::Control => environment::control(self.config),
            Plane::Compute => environment::compute(self.config),
        };
        let mut map: BTreeMap<String, minijinja::Value> = BTreeMap::new();
        if let Some(obj) = ctx.as_object() {
            for (k, v) in obj {
                map.insert(k.clone(), minijinja::Value::from_serialize(v));
            }
        }
        let selectors = env["global"]["nodeSelectors"].clone();
        map.insert(
            "node_selector".into(),
            minijinja::Value::from_function(move |pool: String| {
                minijinja::Value::from_serialize(pool_node_selector(&selectors, &pool))
            }),
        );
        let tolerations = env["global"]["tolerations"].clone();
        map.insert(
            "tolerations".into(),
            minijinja::Value::from_function(move |pool: String| {
                minijinja::Value::from_serialize(pool_tolerations(&tolerations, &pool))
            }),
        );
        map.insert("env".into(), minijinja::Value::from_serialize(&env));
        let text = templates::render(
            &templates::values_template(&release.name),
            minijinja::Value::from(map),
        )?;
        let own: Value = serde_saphyr::from_str(&text).map_err(|e| {
            Error::internal(format!(
                "values template of {} produced invalid YAML: {e}",
                release.name
            ))
        })?;
        Ok(if own.is_null() {
            Value::Object(Map::new())
        } else {
            own
        })
    }
}

/// Upstream's `nvcf.nodeSelector`: the pool's `{key, value}`, else `all`'s, as a map;
/// null when selectors are off or neither is set.
fn pool_node_selector(selectors: &Value, pool: &str) -> Value {
    if selectors["enabled"] != Value::Bool(true) {
        return Value::Null;
    }
    let has_key = |v: &Value| {
        v.get("key")
            .is_some_and(|k| k.as_str().is_some_and(|s| !s.is_empty()))
    };
    [&selectors[pool], &selectors["all"]]
        .into_iter()
        .find(|v| has_key(v))
        .map_or(Value::Null, |sel| {
            let mut m = Map::new();
            let key = sel["key"].as_str().unwrap_or_default().to_owned();
            m.insert(key, sel["value"].clone());
            Value::Object(m)
        })
}

/// Upstream's `nvcf.tolerations`: the pool's list, else `all`'s; null when off or empty.
fn pool_tolerations(tolerations: &Value, pool: &str) -> Value {
    if tolerations["enabled"] != Value::Bool(true) {
        return Value::Null;
    }
    let non_empty = |v: &Value| v.as_array().is_some_and(|a| !a.is_empty());
    [&tolerations[pool], &tolerations["all"]]
        .into_iter()
        .find(|v| non_empty(v))
        .cloned()
        .unwrap_or(Value::Null)
}

/// Checks that every `--set` and `-f` key names a catalog release.
pub fn check_release_names(
    catalog: &Catalog,
    overlays: &BTreeMap<String, Value>,
    sets: &[SetOverride],
) -> Result<()> {
    let unknown: Vec<&str> = overlays
        .keys()
        .map(String::as_str)
        .chain(sets.iter().map(|s| s.release.as_str()))
        .filter(|n| catalog.release(n).is_none())
        .collect();
    match unknown.first() {
        None => Ok(()),
        Some(first) => Err(catalog.require(first).unwrap_err()),
    }
}

/// aicr's `query` output: scalars as plain text, maps and lists as YAML.
pub fn query(values: &Value, selector: &str) -> Result<String> {
    let found = if selector.trim_start_matches('.').is_empty() {
        Some(values)
    } else {
        lookup(values, selector)
    };
    let found = found.ok_or_else(|| {
        Error::not_found(format!("no value at {selector:?}"))
            .hint("run without --query to see every path")
    })?;
    Ok(match found {
        Value::String(s) => format!("{s}\n"),
        Value::Bool(_) | Value::Number(_) | Value::Null => format!("{found}\n"),
        _ => to_yaml(found)?,
    })
}

pub fn to_yaml(value: &Value) -> Result<String> {
    serde_saphyr::to_string(value).map_err(|e| Error::internal(format!("cannot write YAML: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input_values(cfg_text: &str, release: &str, sets: &[&str]) -> Value {
        registered_values(cfg_text, release, sets, None)
    }

    fn registered_values(
        cfg_text: &str,
        release: &str,
        sets: &[&str],
        registration: Option<&Registration>,
    ) -> Value {
        let cfg = StackConfig::parse(cfg_text, "f").unwrap();
        let pw = ResolvedPasswords::default();
        let sets: Vec<SetOverride> = sets
            .iter()
            .map(|s| SetOverride::parse(s).unwrap())
            .collect();
        let overlays = BTreeMap::new();
        let input = ValuesInput {
            config: &cfg,
            passwords: &pw,
            overlays: &overlays,
            sets: &sets,
            registration,
            base_layers: &overlays,
        };
        let r = Catalog::embedded().release(release).unwrap();
        input.release_values(r, &PasswordView::Real(&pw)).unwrap()
    }

    const CFG: &str = "registry: reg.example\nrepository: acme/nvcf\n";

    #[test]
    fn every_release_renders_values_under_both_profiles() {
        for profile in ["local", "production"] {
            let text = format!("{CFG}profile: {profile}\n");
            for r in &Catalog::embedded().releases {
                let v = input_values(&text, &r.name, &[]);
                let yaml = to_yaml(&v).unwrap();
                assert!(!yaml.contains("YOUR_ORG"), "{}: {yaml}", r.name);
            }
        }
        let api = input_values(CFG, "api", &[]);
        assert_eq!(api["api"]["image"]["registry"], "reg.example");
        assert_eq!(
            api["api"]["image"]["repository"],
            "acme/nvcf/nvcf-service-oss"
        );
    }

    #[test]
    fn profiles_and_sets_shape_the_values() {
        let local = input_values(CFG, "cassandra", &[]);
        assert_eq!(local["cassandra"]["replicaCount"], 1);
        assert_eq!(local["cassandra"]["persistence"]["size"], "1Gi");
        assert_eq!(
            local["cassandra"]["image"],
            serde_json::json!({"registry": "reg.example", "repository": "acme/nvcf/cassandra"})
        );
        let prod = input_values(&format!("{CFG}profile: production\n"), "cassandra", &[]);
        assert_eq!(prod["cassandra"]["replicaCount"], 3);
        assert_eq!(prod["cassandra"]["persistence"]["size"], "10Gi");
        let set = input_values(
            CFG,
            "api",
            &["api:api.replicaCount=5", "api:api.debug=true"],
        );
        assert_eq!(set["api"]["replicaCount"], 5);
        assert_eq!(set["api"]["debug"], true);
    }

    #[test]
    fn the_compute_plane_carries_the_clusters_registration() {
        let reg = Registration {
            cluster_id: "c0ffee00-0000-4000-8000-000000000001".into(),
            cluster_group_id: "c0ffee00-0000-4000-8000-000000000002".into(),
            cluster_name: "gpu-east".into(),
            nca_id: "nvcf-default".into(),
            oidc_issuer: "https://kubernetes.default.svc".into(),
            jwks_fingerprint: "sha256:00".into(),
            key_ids: vec!["k1".into()],
        };
        let registered = registered_values(CFG, "nvca-operator", &[], Some(&reg));
        insta::assert_snapshot!("nvca_operator_registered", to_yaml(&registered).unwrap());
        let unregistered = input_values(CFG, "nvca-operator", &[]);
        assert_eq!(unregistered["clusterName"], "nvcf-cluster");
        assert!(unregistered.get("clusterID").is_none(), "{unregistered}");
    }

    #[test]
    fn node_selectors_fall_back_to_all() {
        let v = input_values(
            &format!("{CFG}nodeSelectors: {{all: {{pool: system}}, vault: {{pool: vault}}}}\n"),
            "openbao-server",
            &[],
        );
        assert_eq!(v["openbao"]["server"]["nodeSelector"]["pool"], "vault");
        let api = input_values(
            &format!("{CFG}nodeSelectors: {{all: {{pool: system}}}}\n"),
            "api",
            &[],
        );
        assert_eq!(api["api"]["nodeSelector"]["pool"], "system");
    }

    #[test]
    fn query_prints_scalars_plain_and_maps_as_yaml() {
        let v = serde_json::json!({"a": {"b": {"c": 3, "s": "x"}}});
        assert_eq!(query(&v, "a.b.c").unwrap(), "3\n");
        assert_eq!(query(&v, ".a.b.s").unwrap(), "x\n");
        assert_eq!(query(&v, "a.b").unwrap(), "c: 3\ns: x\n");
        assert!(query(&v, "a.z").is_err());
    }

    #[test]
    fn set_parsing() {
        assert!(SetOverride::parse("noколон").is_err());
        assert!(SetOverride::parse("api:a[0]=1").is_err());
        let s = SetOverride::parse("api:.x.y=1.5").unwrap();
        assert_eq!((s.path.as_str(), s.value), ("x.y", serde_json::json!(1.5)));
    }
}
