//! What helm has recorded for the stack's releases, read from helm's own storage (Secrets
//! labelled `owner=helm`) in one request, and the values fingerprint that lets a re-run
//! skip a release that is already deployed as planned.

use crate::base::error::{Category, Error, Result};
use crate::clients::kube::from_kube;
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, ListParams};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// The helm release label we add, holding [`fingerprint`] of what was installed.
pub const VALUES_LABEL: &str = "nvcf-values-sha";

/// The latest revision of one release.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded {
    pub revision: u32,
    pub status: String,
    pub fingerprint: Option<String>,
}

impl Recorded {
    pub fn is_pending(&self) -> bool {
        self.status.starts_with("pending")
    }
}

/// Latest revision per `(namespace, release)`.
pub async fn recorded(client: &kube::Client) -> Result<BTreeMap<(String, String), Recorded>> {
    let api: Api<Secret> = Api::all(client.clone());
    let list = api
        .list_metadata(&ListParams::default().labels("owner=helm"))
        .await
        .map_err(|e| from_kube(e, "list helm releases"))?;
    let mut latest: BTreeMap<(String, String), Recorded> = BTreeMap::new();
    for item in list.items {
        let labels = item.metadata.labels.unwrap_or_default();
        let (Some(name), Some(ns)) = (labels.get("name"), item.metadata.namespace) else {
            continue;
        };
        let revision: u32 = labels
            .get("version")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let entry = Recorded {
            revision,
            status: labels.get("status").cloned().unwrap_or_default(),
            fingerprint: labels.get(VALUES_LABEL).cloned(),
        };
        let key = (ns, name.clone());
        if latest.get(&key).is_none_or(|r| r.revision < revision) {
            latest.insert(key, entry);
        }
    }
    Ok(latest)
}

/// Chart, version and values: equal fingerprints mean `helm upgrade` would change nothing.
/// The fingerprint of a planned release: its chart, the version helm installs (a chart
/// directory's own, since a source tree says 0.0.0; else the pinned one) and its values,
/// so moving between a directory and a registry is a change to apply.
pub fn planned_fingerprint(
    release: &crate::model::stack::catalog::Release,
    chart: &crate::clients::helm::ChartRef,
    values: &Value,
) -> String {
    let version = match chart {
        crate::clients::helm::ChartRef::Path(dir) => {
            crate::model::stack::chart_deps::version(dir).unwrap_or_else(|| release.version.clone())
        }
        _ => release.version.clone(),
    };
    fingerprint(&release.chart, &version, values)
}

pub fn fingerprint(chart: &str, version: &str, values: &Value) -> String {
    let mut h = Sha256::new();
    h.update(chart.as_bytes());
    h.update([0]);
    h.update(version.as_bytes());
    h.update([0]);
    h.update(values.to_string().as_bytes());
    let hex: String = h.finalize().iter().map(|b| format!("{b:02x}")).collect();
    // A label value holds at most 63 characters.
    hex[..40].to_owned()
}

/// Waits while the release's latest revision is pending: a helm from an interrupted run
/// finishes its work on its own (it is not killed with us), and we must not race it.
pub async fn wait_not_pending(
    client: &kube::Client,
    namespace: &str,
    release: &str,
    timeout: Duration,
) -> Result<Option<Recorded>> {
    let started = Instant::now();
    loop {
        let now = recorded_one(client, namespace, release).await?;
        match &now {
            Some(r) if r.is_pending() => {
                if started.elapsed() > timeout {
                    return Err(Error::new(
                        Category::HelmPendingUpgrade,
                        format!(
                            "release {release} in {namespace} has been {} (revision {}) for over {}s",
                            r.status,
                            r.revision,
                            timeout.as_secs()
                        ),
                    )
                    .hint(format!(
                        "no helm is finishing it: `helm rollback {release} -n {namespace}` (or `helm uninstall` if it never deployed), then re-run"
                    )));
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            _ => return Ok(now),
        }
    }
}

async fn recorded_one(
    client: &kube::Client,
    namespace: &str,
    release: &str,
) -> Result<Option<Recorded>> {
    let api: Api<Secret> = Api::namespaced(client.clone(), namespace);
    let list = api
        .list_metadata(&ListParams::default().labels(&format!("owner=helm,name={release}")))
        .await
        .map_err(|e| from_kube(e, &format!("read helm release {release}")))?;
    Ok(list
        .items
        .into_iter()
        .filter_map(|i| {
            let labels = i.metadata.labels.unwrap_or_default();
            Some(Recorded {
                revision: labels.get("version")?.parse().ok()?,
                status: labels.get("status").cloned().unwrap_or_default(),
                fingerprint: labels.get(VALUES_LABEL).cloned(),
            })
        })
        .max_by_key(|r| r.revision))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_fit_a_label_and_see_every_input() {
        let v = serde_json::json!({"a": 1});
        let f = fingerprint("c", "1.0.0", &v);
        assert_eq!(f.len(), 40);
        assert_ne!(f, fingerprint("c", "1.0.1", &v));
        assert_ne!(f, fingerprint("c", "1.0.0", &serde_json::json!({"a": 2})));
        assert_eq!(f, fingerprint("c", "1.0.0", &v));
    }
}
