//! What helm has recorded for its releases, read from helm's own storage (Secrets labelled
//! `owner=helm`) through the API server in one request: status and revision without a
//! helm process per release.

use crate::base::error::{Category, Error, Result};
use crate::clients::kube::Objects;
use k8s_openapi::api::core::v1::Secret;
use kube::api::ListParams;
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
    let list = Objects::<Secret>::all(client)
        .list_metadata(&ListParams::default().labels("owner=helm"))
        .await?;
    let mut latest: BTreeMap<(String, String), Recorded> = BTreeMap::new();
    for item in list {
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

pub async fn recorded_one(
    client: &kube::Client,
    namespace: &str,
    release: &str,
) -> Result<Option<Recorded>> {
    let list = Objects::<Secret>::namespaced(client, namespace)
        .list_metadata(&ListParams::default().labels(&format!("owner=helm,name={release}")))
        .await?;
    Ok(list
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
