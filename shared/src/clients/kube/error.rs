//! Kubernetes API failures in the product's taxonomy.

use crate::base::error::{Category, Error, Raw, RetryClass, any_in_chain};

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
                429 => e.retry_after(5).hint(
                    "the API server is shedding load (API Priority and Fairness) and kept refusing after our retries: retry later, or give this user a FlowSchema with more seats",
                ),
                _ => e,
            };
            e
        }
        other if timed_out(&other) => Error::new(
            Category::Network,
            format!("cannot {doing}: the API server did not answer within the request timeout"),
        )
        .hint("raise --request-timeout, or check the API server's load: kubectl get --raw /readyz")
        .retry(RetryClass::Immediate),
        other => Error::new(Category::Network, format!("cannot {doing}: {other}"))
            .hint("check that the cluster's API server is reachable: kubectl cluster-info")
            .retry(RetryClass::Immediate),
    }
}

/// `--request-timeout` ran out: tower's timeout layer, somewhere in the error's sources.
fn timed_out(err: &kube::Error) -> bool {
    any_in_chain(Some(err), |e| e.is::<tower::timeout::error::Elapsed>())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_timeout_says_so_and_names_the_flag() {
        let err = kube::Error::Service(Box::new(tower::timeout::error::Elapsed::new()));
        let e = from_kube(err, "list pods in nvcf");
        assert_eq!(e.category(), Category::Network);
        assert_eq!(
            e.message(),
            "cannot list pods in nvcf: the API server did not answer within the request timeout"
        );
        assert!(e.remediation()[0].contains("--request-timeout"));
    }

    #[test]
    fn throttling_after_retries_is_rate_limited_with_a_wait() {
        let status =
            kube::core::Status::failure("too many requests", "TooManyRequests").with_code(429);
        let e = from_kube(kube::Error::Api(Box::new(status)), "get secret s");
        assert_eq!(e.category(), Category::RateLimited);
        assert_eq!(e.retry_after_sec(), Some(5));
        assert!(e.remediation()[0].contains("API Priority and Fairness"));
    }
}
