//! Whether the NATS server the agent was given (`agent.natsURL` in the operator's
//! `nvcfbackend-self-managed` config) can be reached: the agent takes its work over it.
//!
//! A cluster-internal name (`SERVICE.NAMESPACE.svc…`) cannot be dialled from a laptop, so
//! it is judged through the Kubernetes API: the Service exists and has ready endpoints.
//! Any other host is dialled, and must greet with NATS's `INFO {…}` line.

use super::bootstrap::{CLUSTER_CONFIGMAP, CLUSTER_DTO_KEY};
use crate::base::checks::Verdict;
use crate::clients::kube::Objects;
use k8s_openapi::api::core::v1::{ConfigMap, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::api::ListParams;
use serde_json::Value;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};

const DIAL_TIMEOUT: Duration = Duration::from_secs(5);
const DEFAULT_PORT: u16 = 4222;

/// Where the NATS URL points.
#[derive(Debug, PartialEq, Eq)]
pub enum Endpoint {
    /// `SERVICE.NAMESPACE.svc[.DOMAIN]`: a Service of this cluster.
    InCluster { service: String, namespace: String },
    /// Anything else, dialled as `host:port`.
    Direct { host: String, port: u16 },
}

/// Reads `nats://host[:port]` (also `tls://`), naming what is wrong when it is not one.
pub fn parse(url: &str) -> Result<Endpoint, String> {
    let parsed = url::Url::parse(url).map_err(|e| format!("natsURL {url:?} is not a URL: {e}"))?;
    if !matches!(parsed.scheme(), "nats" | "tls" | "ws" | "wss") {
        return Err(format!(
            "natsURL {url:?} has scheme {:?}; NATS URLs start nats:// or tls://",
            parsed.scheme()
        ));
    }
    let host = parsed
        .host_str()
        .filter(|h| !h.is_empty())
        .ok_or_else(|| format!("natsURL {url:?} names no host"))?
        .to_owned();
    let labels: Vec<&str> = host.split('.').collect();
    if labels.len() >= 3 && labels[2] == "svc" {
        return Ok(Endpoint::InCluster {
            service: labels[0].to_owned(),
            namespace: labels[1].to_owned(),
        });
    }
    Ok(Endpoint::Direct {
        port: parsed.port().unwrap_or(DEFAULT_PORT),
        host,
    })
}

/// The `agent.natsURL` of the operator's cluster config in `namespace`.
pub async fn configured_url(client: &kube::Client, namespace: &str) -> Result<String, String> {
    let cm = Objects::<ConfigMap>::namespaced(client, namespace)
        .get_opt(CLUSTER_CONFIGMAP)
        .await
        .map_err(|e| e.to_string())?
        .ok_or_else(|| {
            format!("ConfigMap {namespace}/{CLUSTER_CONFIGMAP} does not exist: the operator is not installed self-managed")
        })?;
    let text = cm
        .data
        .unwrap_or_default()
        .remove(CLUSTER_DTO_KEY)
        .unwrap_or_default();
    let dto: Value = serde_saphyr::from_str(&text)
        .map_err(|e| format!("{CLUSTER_CONFIGMAP}/{CLUSTER_DTO_KEY} is not valid YAML: {e}"))?;
    dto["agent"]["natsURL"]
        .as_str()
        .filter(|u| !u.trim().is_empty())
        .map(str::to_owned)
        .ok_or_else(|| {
            format!("{namespace}/{CLUSTER_CONFIGMAP} gives the agent no natsURL (selfManaged.natsURL in the operator's values)")
        })
}

pub async fn health(client: &kube::Client, namespace: &str) -> Verdict {
    let url = match configured_url(client, namespace).await {
        Ok(u) => u,
        Err(e) => return Verdict::fail(e),
    };
    match parse(&url) {
        Err(e) => Verdict::fail(e),
        Ok(Endpoint::InCluster { service, namespace }) => {
            in_cluster(client, &url, &service, &namespace).await
        }
        Ok(Endpoint::Direct { host, port }) => dial(&url, &host, port).await,
    }
}

async fn in_cluster(client: &kube::Client, url: &str, service: &str, ns: &str) -> Verdict {
    match Objects::<Service>::namespaced(client, ns)
        .get_opt(service)
        .await
    {
        Err(e) => return Verdict::fail(e.to_string()),
        Ok(None) => {
            return Verdict::fail(format!(
                "{url}: service {ns}/{service} does not exist on this cluster"
            ));
        }
        Ok(Some(_)) => {}
    }
    let params = ListParams::default().labels(&format!("kubernetes.io/service-name={service}"));
    let slices = match Objects::<EndpointSlice>::namespaced(client, ns)
        .list(&params)
        .await
    {
        Ok(l) => l,
        Err(e) => return Verdict::fail(e.to_string()),
    };
    let (ready, all) = slices
        .iter()
        .flat_map(|s| s.endpoints.iter().flatten())
        .fold((0, 0), |(r, a), e| {
            let up = e.conditions.as_ref().and_then(|c| c.ready).unwrap_or(false);
            (r + usize::from(up), a + 1)
        });
    if ready == 0 {
        Verdict::fail(format!(
            "{url}: service {ns}/{service} has no ready endpoint ({all} not ready)"
        ))
    } else {
        Verdict::pass(format!(
            "{url}: service {ns}/{service}, {ready}/{all} endpoint(s) ready"
        ))
    }
}

async fn dial(url: &str, host: &str, port: u16) -> Verdict {
    let greeting = async {
        let stream = tokio::net::TcpStream::connect((host, port))
            .await
            .map_err(|e| format!("{url}: cannot connect: {e}"))?;
        let mut line = String::new();
        BufReader::new(stream)
            .read_line(&mut line)
            .await
            .map_err(|e| format!("{url}: connected, but read failed: {e}"))?;
        Ok::<String, String>(line)
    };
    let line = match tokio::time::timeout(DIAL_TIMEOUT, greeting).await {
        Err(_) => {
            return Verdict::fail(format!(
                "{url}: no answer within {}s",
                DIAL_TIMEOUT.as_secs()
            ));
        }
        Ok(Err(e)) => return Verdict::fail(e),
        Ok(Ok(line)) => line,
    };
    match info(&line) {
        Some(server) => Verdict::pass(format!("{url}: {server}")),
        None => Verdict::fail(format!(
            "{url}: answered, but not as a NATS server (no INFO greeting)"
        )),
    }
}

/// `nats-server VERSION (NAME)` from a NATS `INFO {…}` greeting.
pub fn info(line: &str) -> Option<String> {
    let json: Value = serde_json::from_str(line.trim().strip_prefix("INFO ")?).ok()?;
    let version = json["version"].as_str().unwrap_or("?");
    Some(
        match json["server_name"].as_str().filter(|n| !n.is_empty()) {
            Some(name) => format!("nats-server {version} ({name})"),
            None => format!("nats-server {version}"),
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_names_are_judged_in_cluster_and_the_rest_dialled() {
        assert_eq!(
            parse("nats://nats.nats-system.svc.cluster.local:4222").unwrap(),
            Endpoint::InCluster {
                service: "nats".into(),
                namespace: "nats-system".into()
            }
        );
        assert_eq!(
            parse("nats://nats.example.com").unwrap(),
            Endpoint::Direct {
                host: "nats.example.com".into(),
                port: 4222
            }
        );
        assert!(parse("http://nats:4222").unwrap_err().contains("scheme"));
        assert!(parse("nats-system").unwrap_err().contains("not a URL"));
    }

    #[test]
    fn the_info_greeting_names_the_server() {
        let line =
            "INFO {\"server_id\":\"N1\",\"server_name\":\"nats-0\",\"version\":\"2.10.22\"}\r\n";
        assert_eq!(info(line).unwrap(), "nats-server 2.10.22 (nats-0)");
        assert!(info("HTTP/1.1 400 Bad Request\r\n").is_none());
    }
}
