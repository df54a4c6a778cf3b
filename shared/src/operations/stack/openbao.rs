//! OpenBao's seal state: the check pod readiness cannot make, because the readiness probe
//! passes sealed and uninitialised pods (`sealedcode=204`, runbooks §2.3).
//!
//! Each pod's state comes from the `openbao-sealed`/`openbao-initialized` labels the
//! chart's Kubernetes service registration keeps current, else from the pod's own
//! `/v1/sys/seal-status` through the API server's pod proxy. Never exec.

use crate::base::error::Result;
use crate::clients::kube::objects;
use k8s_openapi::api::core::v1::Pod;
use std::time::{Duration, Instant};

pub const SEALED_LABEL: &str = "openbao-sealed";
pub const INITIALIZED_LABEL: &str = "openbao-initialized";
const API_PORT: u16 = 8200;
const POLL: Duration = Duration::from_secs(2);

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SealState {
    Unsealed,
    Sealed,
    Uninitialized,
    /// Neither labels nor the pod's API answered; why.
    Unknown(String),
}

impl SealState {
    fn describe(&self) -> String {
        match self {
            SealState::Unsealed => "unsealed".into(),
            SealState::Sealed => "sealed".into(),
            SealState::Uninitialized => "not initialised".into(),
            SealState::Unknown(why) => format!("seal status unknown ({why})"),
        }
    }
}

/// The state service registration published on the pod, if it publishes one.
pub fn from_labels(pod: &Pod) -> Option<SealState> {
    let labels = pod.metadata.labels.as_ref()?;
    if labels.get(INITIALIZED_LABEL).map(String::as_str) == Some("false") {
        return Some(SealState::Uninitialized);
    }
    match labels.get(SEALED_LABEL).map(String::as_str) {
        Some("false") => Some(SealState::Unsealed),
        Some("true") => Some(SealState::Sealed),
        _ => None,
    }
}

/// Reads a `GET /v1/sys/seal-status` body.
pub fn from_seal_status(body: &str) -> SealState {
    let Ok(v) = serde_json::from_str::<serde_json::Value>(body) else {
        return SealState::Unknown("seal-status did not answer JSON".into());
    };
    match (v["initialized"].as_bool(), v["sealed"].as_bool()) {
        (Some(false), _) => SealState::Uninitialized,
        (_, Some(false)) => SealState::Unsealed,
        (_, Some(true)) => SealState::Sealed,
        _ => SealState::Unknown("seal-status has no `sealed` field".into()),
    }
}

async fn pod_state(client: &kube::Client, namespace: &str, pod: &Pod) -> SealState {
    if let Some(state) = from_labels(pod) {
        return state;
    }
    let name = pod.metadata.name.as_deref().unwrap_or_default();
    match objects::pod_proxy_get(client, namespace, name, API_PORT, "v1/sys/seal-status").await {
        Ok(body) => from_seal_status(&body),
        Err(e) => SealState::Unknown(e.message().to_owned()),
    }
}

/// Whether every pod of StatefulSet `namespace/name` is unsealed.
#[derive(Debug, Clone)]
pub struct SealReport {
    pub pods: Vec<(String, SealState)>,
}

impl SealReport {
    pub fn ok(&self) -> bool {
        !self.pods.is_empty() && self.pods.iter().all(|(_, s)| *s == SealState::Unsealed)
    }

    pub fn detail(&self) -> String {
        if self.pods.is_empty() {
            return "no pods".into();
        }
        if self.ok() {
            let n = self.pods.len();
            return format!("{n}/{n} pods unsealed");
        }
        self.pods
            .iter()
            .filter(|(_, s)| *s != SealState::Unsealed)
            .map(|(p, s)| format!("{p} {}", s.describe()))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// What to do about the pods that are not unsealed.
    pub fn fix(&self, namespace: &str) -> String {
        let first = self
            .pods
            .iter()
            .find(|(_, s)| *s != SealState::Unsealed)
            .map_or("openbao-server-0", |(p, _)| p.as_str());
        format!(
            "the auto-unseal-sidecar unseals a restarted pod within about 70 s: check it with \
             kubectl logs -n {namespace} {first} -c auto-unseal-sidecar; to unseal by hand, \
             PUT /v1/sys/unseal through the pod proxy (or kubectl exec -n {namespace} {first} -c openbao -- \
             bao operator unseal) with `unseal_key` from Secret {namespace}/openbao-server-unseal"
        )
    }
}

pub async fn seal_report(client: &kube::Client, namespace: &str, name: &str) -> Result<SealReport> {
    let pods = objects::statefulset_pods(client, namespace, name)
        .await?
        .unwrap_or_default();
    let mut out = Vec::new();
    for pod in &pods {
        out.push((
            pod.metadata.name.clone().unwrap_or_default(),
            pod_state(client, namespace, pod).await,
        ));
    }
    Ok(SealReport { pods: out })
}

/// Polls until every pod is unsealed or `timeout` passes; the last report either way.
pub async fn wait_unsealed(
    client: &kube::Client,
    namespace: &str,
    name: &str,
    timeout: Duration,
) -> Result<SealReport> {
    let deadline = Instant::now() + timeout;
    loop {
        let report = seal_report(client, namespace, name).await?;
        if report.ok() || Instant::now() + POLL > deadline {
            return Ok(report);
        }
        tokio::time::sleep(POLL).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(labels: &[(&str, &str)]) -> Pod {
        let mut p = Pod::default();
        p.metadata.labels = Some(
            labels
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        );
        p
    }

    #[test]
    fn labels_decide_when_service_registration_sets_them() {
        assert_eq!(
            from_labels(&pod(&[(SEALED_LABEL, "false")])),
            Some(SealState::Unsealed)
        );
        assert_eq!(
            from_labels(&pod(&[(SEALED_LABEL, "true")])),
            Some(SealState::Sealed)
        );
        assert_eq!(
            from_labels(&pod(&[
                (SEALED_LABEL, "false"),
                (INITIALIZED_LABEL, "false")
            ])),
            Some(SealState::Uninitialized)
        );
        assert_eq!(from_labels(&pod(&[("app", "x")])), None);
    }

    #[test]
    fn seal_status_bodies() {
        assert_eq!(
            from_seal_status(
                r#"{"type":"shamir","initialized":true,"sealed":false,"version":"2.3.1"}"#
            ),
            SealState::Unsealed
        );
        assert_eq!(
            from_seal_status(r#"{"initialized":true,"sealed":true}"#),
            SealState::Sealed
        );
        assert_eq!(
            from_seal_status(r#"{"initialized":false,"sealed":true}"#),
            SealState::Uninitialized
        );
        assert!(matches!(from_seal_status("<html>"), SealState::Unknown(_)));
    }

    #[test]
    fn the_report_names_each_pod_not_unsealed() {
        let r = SealReport {
            pods: vec![
                ("openbao-server-0".into(), SealState::Unsealed),
                ("openbao-server-1".into(), SealState::Sealed),
            ],
        };
        assert!(!r.ok());
        assert_eq!(r.detail(), "openbao-server-1 sealed");
        assert!(
            r.fix("vault-system")
                .contains("logs -n vault-system openbao-server-1 -c auto-unseal-sidecar")
        );
        assert!(!SealReport { pods: vec![] }.ok());
    }
}
