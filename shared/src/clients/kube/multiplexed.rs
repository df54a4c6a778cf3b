//! A Kubernetes client over HTTP/2. kube's own client speaks HTTP/1.1, so a dozen lists
//! sent at once need a dozen TLS handshakes, and on a busy API server the later ones
//! arrive after the first have been answered. Over one multiplexed connection they arrive
//! together. The stack is kube's minus what a read-only fan-out does not use (proxies,
//! gzip), with kube's retry of 429, 503 and 504 bounded: an API server that restarted
//! answers 429 "storage is (re)initializing" with Retry-After for its first seconds.

use crate::model::target::Target;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use kube::client::ConfigExt;
use std::time::Duration;
use tower::{BoxError, ServiceBuilder};

/// A client for `target` whose concurrent requests share one HTTP/2 connection: for
/// read-only fan-outs such as `status`, where a dozen lists go out at once.
pub async fn for_target(target: &Target, user_agent: &str) -> crate::Result<kube::Client> {
    let config = target.config(user_agent).await?;
    client(config).map_err(|e| {
        crate::Error::config(format!(
            "cannot build a Kubernetes client for {}: {e}",
            target.describe()
        ))
        .hint("check the kubeconfig's certificates and server URL")
    })
}

pub fn client(config: kube::Config) -> Result<kube::Client, kube::Error> {
    let tls = config.rustls_client_config()?;
    let mut http = HttpConnector::new();
    http.enforce_http(false);
    http.set_connect_timeout(config.connect_timeout);
    let mut https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_or_http();
    if let Some(name) = &config.tls_server_name {
        let name = rustls_pki_types::ServerName::try_from(name.clone())
            .map_err(|e| kube::Error::Service(Box::new(e)))?;
        https = https.with_server_name_resolver(hyper_rustls::FixedServerNameResolver::new(name));
    }
    let https = https.enable_all_versions().wrap_connector(http);
    let hyper = hyper_util::client::legacy::Client::builder(TokioExecutor::new())
        // An idle connection is pinged rather than left to a silent middlebox timeout.
        .timer(TokioTimer::new())
        .http2_keep_alive_interval(Duration::from_secs(30))
        .build(https);
    // Server-aware (Retry-After is honoured), at most 6 retries within about a minute.
    let retry = kube::client::retry::RetryPolicy::new(
        Duration::from_millis(250),
        Duration::from_secs(10),
        6,
        true,
    )
    .map_err(|e| kube::Error::Service(Box::new(e)))?;
    let service = ServiceBuilder::new()
        .layer(tower::retry::RetryLayer::new(retry))
        // `--request-timeout`: how long the server may take to answer (a watch's stream,
        // once answered, runs on).
        .option_layer(config.read_timeout.map(tower::timeout::TimeoutLayer::new))
        .layer(config.base_uri_layer())
        .option_layer(config.auth_layer()?)
        .layer(config.extra_headers_layer()?)
        .map_err(BoxError::from)
        .service(hyper);
    Ok(kube::Client::new(service, config.default_namespace))
}
