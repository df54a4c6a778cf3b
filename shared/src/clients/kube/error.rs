//! Kubernetes API failures in the product's taxonomy.

use crate::base::error::{Category, Error, Raw, RetryClass};

/// Maps a kube-rs error to the taxonomy; `doing` says what we were attempting
/// ("list pods in nvca-system").
pub fn from_kube(err: kube::Error, doing: &str) -> Error {
    match err {
        kube::Error::Api(status) => {
            let category = match status.code {
                401 => Category::Auth,
                403 => Category::Forbidden,
                404 => Category::NotFound,
                409 => Category::Conflict,
                429 => Category::RateLimited,
                500..=599 => Category::Network,
                _ => Category::ClusterState,
            };
            let mut e =
                Error::new(category, format!("cannot {doing}: {}", status.message)).raw(Raw {
                    http_status: status.code,
                    kubernetes_reason: status.reason.clone(),
                    ..Raw::default()
                });
            e = match status.code {
                401 => e.hint("your kube credentials were rejected: refresh them (e.g. re-login) and retry"),
                403 => e.hint(format!(
                    "your kube user lacks permission: check with kubectl auth can-i, or use a context with rights to {doing}"
                )),
                409 => e.hint("the object changed while we worked on it: re-run the command").retry(RetryClass::Immediate),
                429 => e.retry_after(5),
                _ => e,
            };
            e
        }
        other => Error::new(Category::Network, format!("cannot {doing}: {other}"))
            .hint("check that the cluster is reachable: kubectl cluster-info")
            .retry(RetryClass::Immediate),
    }
}
