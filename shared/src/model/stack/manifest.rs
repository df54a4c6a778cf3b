//! Kubernetes objects as `helm template` prints them, sorted for `kubectl apply -f -`:
//! hook phases, helm's kind order, and the namespace `kubectl` would otherwise guess.

use crate::base::error::{Error, Result};
use serde_json::Value;
use std::collections::BTreeSet;

/// Where a rendered object goes in an install stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Phase {
    /// `pre-install` hooks, by weight: before the release body.
    PreInstall(i32),
    Body,
    /// `post-install` hooks, by weight: after the body.
    PostInstall(i32),
    /// Delete, upgrade-only, rollback and test hooks: never part of an install.
    Dropped,
}

/// Helm's install order by kind (helm/pkg/release/util/kind_sorter.go); other kinds last.
const KIND_ORDER: &[&str] = &[
    "PriorityClass",
    "Namespace",
    "NetworkPolicy",
    "ResourceQuota",
    "LimitRange",
    "PodSecurityPolicy",
    "PodDisruptionBudget",
    "ServiceAccount",
    "Secret",
    "SecretList",
    "ConfigMap",
    "StorageClass",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "CustomResourceDefinition",
    "ClusterRole",
    "ClusterRoleList",
    "ClusterRoleBinding",
    "ClusterRoleBindingList",
    "Role",
    "RoleList",
    "RoleBinding",
    "RoleBindingList",
    "Service",
    "DaemonSet",
    "Pod",
    "ReplicationController",
    "ReplicaSet",
    "Deployment",
    "HorizontalPodAutoscaler",
    "StatefulSet",
    "Job",
    "CronJob",
    "IngressClass",
    "Ingress",
    "APIService",
    "MutatingWebhookConfiguration",
    "ValidatingWebhookConfiguration",
];

/// Built-in and well-known kinds without a namespace. Kinds of CRDs in the stream are
/// added from their `spec.scope`.
const CLUSTER_SCOPED: &[&str] = &[
    "Namespace",
    "Node",
    "PersistentVolume",
    "StorageClass",
    "CSIDriver",
    "CSINode",
    "VolumeAttachment",
    "CustomResourceDefinition",
    "APIService",
    "ClusterRole",
    "ClusterRoleBinding",
    "PriorityClass",
    "RuntimeClass",
    "IngressClass",
    "MutatingWebhookConfiguration",
    "ValidatingWebhookConfiguration",
    "ValidatingAdmissionPolicy",
    "ValidatingAdmissionPolicyBinding",
    "PodSecurityPolicy",
    "CertificateSigningRequest",
    "GatewayClass",
    "ClusterIssuer",
];

pub fn kind(doc: &Value) -> &str {
    doc.get("kind").and_then(Value::as_str).unwrap_or("")
}

pub fn name(doc: &Value) -> &str {
    doc.pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("")
}

pub fn namespace(doc: &Value) -> Option<&str> {
    doc.pointer("/metadata/namespace").and_then(Value::as_str)
}

fn annotation<'a>(doc: &'a Value, key: &str) -> Option<&'a str> {
    doc.pointer("/metadata/annotations")
        .and_then(|a| a.get(key))
        .and_then(Value::as_str)
}

pub fn kind_rank(kind: &str) -> usize {
    KIND_ORDER
        .iter()
        .position(|k| *k == kind)
        .unwrap_or(KIND_ORDER.len())
}

/// Parses a multi-document YAML stream, skipping empty documents.
pub fn parse_stream(text: &str, what: &str) -> Result<Vec<Value>> {
    // Kubernetes and helm read manifests as YAML 1.1, where `defaultMode: 0755` is octal
    // (493); read as YAML 1.2 it would be 755, which the API server rejects.
    let options = serde_saphyr::options! { legacy_octal_numbers: true };
    let docs: Vec<Value> =
        serde_saphyr::from_multiple_with_options(text, options).map_err(|e| {
            Error::invalid_input(format!("{what} printed YAML that does not parse: {e}"))
                .hint("render the chart alone with `helm template` to see the broken template")
        })?;
    Ok(docs
        .into_iter()
        .filter(|d| d.as_object().is_some_and(|m| !m.is_empty()))
        .collect())
}

pub fn phase(doc: &Value) -> Phase {
    let Some(hooks) = annotation(doc, "helm.sh/hook") else {
        return Phase::Body;
    };
    let weight = annotation(doc, "helm.sh/hook-weight")
        .and_then(|w| w.trim().parse::<i32>().ok())
        .unwrap_or(0);
    let events: Vec<&str> = hooks.split(',').map(str::trim).collect();
    if events.contains(&"pre-install") {
        Phase::PreInstall(weight)
    } else if events.contains(&"post-install") {
        Phase::PostInstall(weight)
    } else {
        Phase::Dropped
    }
}

/// Kinds that take no namespace: the built-in list plus cluster-scoped CRDs in `crds`.
pub fn cluster_scoped_kinds(crds: &[Value]) -> BTreeSet<String> {
    let mut kinds: BTreeSet<String> = CLUSTER_SCOPED.iter().map(|k| (*k).to_owned()).collect();
    for crd in crds {
        if crd.pointer("/spec/scope").and_then(Value::as_str) == Some("Cluster")
            && let Some(k) = crd.pointer("/spec/names/kind").and_then(Value::as_str)
        {
            kinds.insert(k.to_owned());
        }
    }
    kinds
}

/// Sets the release namespace on namespaced objects that lack one: `kubectl apply` would
/// otherwise put them in whatever namespace the user's context points at.
pub fn inject_namespace(doc: &mut Value, ns: &str, cluster_scoped: &BTreeSet<String>) {
    if cluster_scoped.contains(kind(doc)) || namespace(doc).is_some_and(|n| !n.is_empty()) {
        return;
    }
    if let Some(meta) = doc.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.insert("namespace".into(), Value::String(ns.to_owned()));
    }
}

/// Sorts objects of one phase as helm installs them: hooks by weight, then kind, then
/// name; the body by kind, keeping the chart's order within a kind.
pub fn sort_phase(docs: &mut [Value], hooks: bool) {
    if hooks {
        docs.sort_by(|a, b| {
            (phase(a), kind_rank(kind(a)), name(a)).cmp(&(phase(b), kind_rank(kind(b)), name(b)))
        });
    } else {
        docs.sort_by_key(|d| kind_rank(kind(d)));
    }
}

/// One YAML document with a leading `---` and a comment saying where it came from.
pub fn write_doc(out: &mut String, origin: &str, doc: &Value) -> Result<()> {
    let text = serde_saphyr::to_string(doc)
        .map_err(|e| Error::internal(format!("cannot write YAML for {origin}: {e}")))?;
    out.push_str("---\n# ");
    out.push_str(origin);
    out.push('\n');
    out.push_str(&text);
    if !text.ends_with('\n') {
        out.push('\n');
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_modes_keep_their_yaml_1_1_octal_meaning() {
        let docs = parse_stream(
            "kind: Job\nspec: {mode: 0755, plain: 755, quoted: \"0755\"}\n",
            "t",
        )
        .unwrap();
        assert_eq!(docs[0]["spec"]["mode"], 0o755);
        assert_eq!(docs[0]["spec"]["plain"], 755);
        assert_eq!(docs[0]["spec"]["quoted"], "0755");
    }
    use serde_json::json;

    fn hook(events: &str, weight: &str) -> Value {
        json!({"kind": "Job", "metadata": {"name": "j", "annotations": {
            "helm.sh/hook": events, "helm.sh/hook-weight": weight}}})
    }

    #[test]
    fn hooks_are_phased() {
        assert_eq!(
            phase(&hook("pre-install,pre-upgrade", "-5")),
            Phase::PreInstall(-5)
        );
        assert_eq!(
            phase(&hook("post-install, post-upgrade", "2")),
            Phase::PostInstall(2)
        );
        assert_eq!(phase(&hook("pre-delete", "0")), Phase::Dropped);
        assert_eq!(phase(&hook("post-delete", "0")), Phase::Dropped);
        assert_eq!(phase(&hook("post-upgrade", "0")), Phase::Dropped);
        assert_eq!(phase(&hook("test", "0")), Phase::Dropped);
        assert_eq!(
            phase(&json!({"kind": "Job", "metadata": {"name": "x"}})),
            Phase::Body
        );
    }

    #[test]
    fn namespaces_are_injected_only_where_missing_and_namespaced() {
        let crd = json!({"kind": "CustomResourceDefinition", "spec": {"scope": "Cluster", "names": {"kind": "Topology"}}});
        let scoped = cluster_scoped_kinds(&[crd]);
        let mut secret = json!({"kind": "Secret", "metadata": {"name": "ngc-service-key"}});
        inject_namespace(&mut secret, "nvca-operator", &scoped);
        assert_eq!(namespace(&secret), Some("nvca-operator"));
        let mut kept = json!({"kind": "HTTPRoute", "metadata": {"name": "r", "namespace": "gw"}});
        inject_namespace(&mut kept, "nvcf", &scoped);
        assert_eq!(namespace(&kept), Some("gw"));
        for k in ["ClusterRole", "Topology"] {
            let mut d = json!({"kind": k, "metadata": {"name": "x"}});
            inject_namespace(&mut d, "nvcf", &scoped);
            assert_eq!(namespace(&d), None, "{k}");
        }
    }

    #[test]
    fn body_follows_helm_kind_order() {
        let mut docs = vec![
            json!({"kind": "Deployment", "metadata": {"name": "d"}}),
            json!({"kind": "Widget", "metadata": {"name": "w"}}),
            json!({"kind": "ConfigMap", "metadata": {"name": "c"}}),
            json!({"kind": "ServiceAccount", "metadata": {"name": "s"}}),
        ];
        sort_phase(&mut docs, false);
        let kinds: Vec<&str> = docs.iter().map(kind).collect();
        assert_eq!(
            kinds,
            ["ServiceAccount", "ConfigMap", "Deployment", "Widget"]
        );
    }
}
