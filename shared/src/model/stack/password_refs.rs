//! Passwords the operator keeps in Kubernetes Secrets stay out of the rendered stream
//! wherever Kubernetes allows it. Some real charts take a password only as a literal
//! EnvVar value (helm-nvcf-cassandra's migrations Job takes both Cassandra passwords so).
//! Where the Secret lives in the object's own namespace the literal becomes a
//! `secretKeyRef`; elsewhere the stream has to carry it, and the user is told where.

use crate::model::stack::config::{ResolvedPasswords, SecretKeyRef, StackConfig};
use crate::model::stack::manifest;
use serde_json::{Value, json};

/// A password read from a Kubernetes Secret, with where it came from.
#[derive(Debug, Clone)]
pub struct StoredPassword {
    pub key: &'static str,
    pub plaintext: String,
    pub secret: SecretKeyRef,
}

/// Every password of `cfg` that came from a `secretRef`, once read.
pub fn stored(cfg: &StackConfig, resolved: &ResolvedPasswords) -> Vec<StoredPassword> {
    cfg.passwords
        .secret_refs()
        .into_iter()
        .filter_map(|(key, secret)| {
            let value = match key {
                "cassandraServiceRole" => resolved.cassandra_service_role.as_ref(),
                "cassandraSuperuser" => resolved.cassandra_superuser.as_ref(),
                "sidecarPullSecret" => resolved.sidecar_pull_secret.as_ref(),
                "registry" => resolved.registry.as_ref(),
                _ => None,
            }?;
            Some(StoredPassword {
                key,
                plaintext: value.expose().to_owned(),
                secret,
            })
        })
        .collect()
}

/// Turns literal EnvVars holding a stored password into references to its Secret when the
/// Secret is in `doc`'s namespace. Returns one note per literal that had to stay.
pub fn reference(doc: &mut Value, passwords: &[StoredPassword]) -> Vec<String> {
    if passwords.is_empty() {
        return Vec::new();
    }
    let namespace = manifest::namespace(doc).unwrap_or_default().to_owned();
    let object = format!(
        "{} {}/{}",
        manifest::kind(doc),
        namespace,
        manifest::name(doc)
    );
    let mut notes = Vec::new();
    walk(doc, &mut |env: &mut Value| {
        let Some(name) = env["name"].as_str().map(str::to_owned) else {
            return;
        };
        let Some(value) = env["value"].as_str() else {
            return;
        };
        let Some(stored) = passwords.iter().find(|p| p.plaintext == value) else {
            return;
        };
        if stored.secret.namespace == namespace {
            *env = json!({
                "name": name,
                "valueFrom": {"secretKeyRef": {"name": stored.secret.name, "key": stored.secret.key}},
            });
        } else {
            notes.push(format!(
                "warning: passwords.{} is written as a literal into {object} (env {name}): the \
                 chart takes it only as a value, and Secret {}/{} is in another namespace; keep \
                 a copy of that Secret in namespace {namespace} and point the secretRef at it, \
                 and the stream references it instead",
                stored.key, stored.secret.namespace, stored.secret.name
            ));
        }
    });
    notes
}

/// Calls `visit` on every entry of every `env` list under `node`.
fn walk(node: &mut Value, visit: &mut dyn FnMut(&mut Value)) {
    match node {
        Value::Object(map) => {
            for (key, child) in map.iter_mut() {
                if key == "env"
                    && let Value::Array(entries) = child
                {
                    entries.iter_mut().for_each(&mut *visit);
                } else {
                    walk(child, visit);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|i| walk(i, visit)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(ns: &str) -> Value {
        json!({
            "kind": "Job",
            "metadata": {"name": "cassandra-migrations", "namespace": ns},
            "spec": {"template": {"spec": {"containers": [{"name": "m", "env": [
                {"name": "CASSANDRA_USER", "value": "cassandra"},
                {"name": "SERVICE_ROLE_PASSWORD", "value": "pw-1"},
            ]}]}}},
        })
    }

    fn stored(ns: &str) -> Vec<StoredPassword> {
        vec![StoredPassword {
            key: "cassandraServiceRole",
            plaintext: "pw-1".into(),
            secret: SecretKeyRef {
                namespace: ns.into(),
                name: "creds".into(),
                key: "sr".into(),
            },
        }]
    }

    #[test]
    fn a_secret_in_the_objects_namespace_is_referenced() {
        let mut doc = job("cassandra-system");
        let notes = reference(&mut doc, &stored("cassandra-system"));
        assert!(notes.is_empty());
        let env = &doc["spec"]["template"]["spec"]["containers"][0]["env"];
        assert_eq!(env[0]["value"], "cassandra", "other variables untouched");
        assert_eq!(
            env[1],
            json!({"name": "SERVICE_ROLE_PASSWORD",
                   "valueFrom": {"secretKeyRef": {"name": "creds", "key": "sr"}}})
        );
        assert!(!doc.to_string().contains("pw-1"));
    }

    #[test]
    fn a_secret_elsewhere_stays_literal_and_is_named() {
        let mut doc = job("cassandra-system");
        let notes = reference(&mut doc, &stored("vault-system"));
        assert_eq!(notes.len(), 1);
        assert!(
            notes[0].contains("passwords.cassandraServiceRole")
                && notes[0].contains("Job cassandra-system/cassandra-migrations")
                && notes[0].contains("env SERVICE_ROLE_PASSWORD")
                && notes[0].contains("namespace cassandra-system"),
            "{}",
            notes[0]
        );
        assert!(
            !notes[0].contains("pw-1"),
            "the note never carries the password"
        );
    }
}
