//! The listener: one loopback port, dispatch by Host, faults, the request log.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, HeaderName, Request, Response};
use axum::response::IntoResponse;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::{Notify, watch};
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

use crate::auth::TokenExpiredFault;
use crate::errors::{ApiError, REQUEST_PATH};
use crate::faults::FaultRule;
use crate::routing::{Service, route};
use crate::state::{ReqMeta, SimState};
use crate::util::{mask, now, ts};
use crate::{admin, services};

pub struct Routers {
    admin_issuer: Router,
    api_keys: Router,
    nvcf: Router,
    invocation: Router,
    llm: Router,
    sis: Router,
    tasks: Router,
    sim: Router,
}

impl Routers {
    pub fn new(state: Arc<SimState>) -> Self {
        Self {
            admin_issuer: services::admin_issuer::router(state.clone()),
            api_keys: services::api_keys::router(state.clone()),
            nvcf: services::nvcf_router(state.clone()),
            invocation: services::invocation::router(state.clone()),
            llm: services::llm::router(state.clone()),
            sis: services::sis::router(state.clone()),
            tasks: services::tasks::router(state.clone()),
            sim: admin::router(state),
        }
    }

    fn get(&self, service: Service) -> Option<&Router> {
        Some(match service {
            Service::AdminIssuer => &self.admin_issuer,
            Service::ApiKeys => &self.api_keys,
            Service::Nvcf => &self.nvcf,
            Service::Invocation { .. } => &self.invocation,
            Service::Llm => &self.llm,
            Service::Sis => &self.sis,
            Service::Tasks => &self.tasks,
            Service::SimAdmin => &self.sim,
            Service::Gateway404 => return None,
        })
    }
}

/// Serves until `shutdown` flips to true.
pub async fn serve(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    state: Arc<SimState>,
    mut shutdown: watch::Receiver<bool>,
) {
    let routers = Arc::new(Routers::new(state.clone()));
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = shutdown.changed() => return,
        };
        let Ok((stream, peer)) = accepted else {
            continue;
        };
        let state = state.clone();
        let routers = routers.clone();
        let shutdown = shutdown.clone();
        let tls = tls.clone();
        tokio::spawn(
            async move { serve_connection(stream, tls, peer, state, routers, shutdown).await },
        );
    }
}

async fn serve_connection(
    stream: tokio::net::TcpStream,
    tls: Option<TlsAcceptor>,
    _peer: SocketAddr,
    state: Arc<SimState>,
    routers: Arc<Routers>,
    mut shutdown: watch::Receiver<bool>,
) {
    let _ = stream.set_nodelay(true);
    // A second handle on the socket lets a `reset` fault set SO_LINGER=0 and close it,
    // which sends RST the way a crashed backend would.
    let Ok(std_stream) = stream.into_std() else {
        return;
    };
    let Ok(spare) = std_stream.try_clone() else {
        return;
    };
    let Ok(stream) = tokio::net::TcpStream::from_std(std_stream) else {
        return;
    };
    let reset = Arc::new(Notify::new());
    let reset_for_service = reset.clone();
    let svc = hyper::service::service_fn(move |req: Request<Incoming>| {
        let state = state.clone();
        let routers = routers.clone();
        let reset = reset_for_service.clone();
        async move { Ok::<_, Infallible>(handle(state, routers, reset, req).await) }
    });
    let builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
    let conn = async {
        match tls {
            None => {
                let _ = builder.serve_connection(TokioIo::new(stream), svc).await;
            }
            Some(acceptor) => {
                // A failed handshake (a client that does not trust us) just ends the connection.
                if let Ok(stream) = acceptor.accept(stream).await {
                    let _ = builder.serve_connection(TokioIo::new(stream), svc).await;
                }
            }
        }
    };
    tokio::select! {
        _ = conn => {}
        _ = reset.notified() => {
            let _ = socket2::SockRef::from(&spare).set_linger(Some(std::time::Duration::ZERO));
        }
        _ = shutdown.changed() => {}
    }
}

/// HTTPS for every service, with ALPN so gRPC clients get HTTP/2.
pub fn tls_acceptor(files: &crate::config::TlsFiles) -> anyhow::Result<TlsAcceptor> {
    use anyhow::Context;
    use pki_types::pem::PemObject;
    use tokio_rustls::rustls::{self, pki_types};
    let certs = pki_types::CertificateDer::pem_file_iter(&files.cert)
        .and_then(|c| c.collect::<Result<Vec<_>, _>>())
        .with_context(|| format!("reading TLS certificates {}", files.cert.display()))?;
    let key = pki_types::PrivateKeyDer::from_pem_file(&files.key)
        .with_context(|| format!("reading TLS key {}", files.key.display()))?;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .context("the TLS certificate and key do not match")?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

fn header_str(h: &HeaderMap, name: &str) -> Option<String> {
    h.get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

fn masked_authorization(h: &HeaderMap) -> Option<String> {
    let v = header_str(h, "authorization")?;
    Some(match v.split_once(' ') {
        Some((scheme, token)) => format!("{scheme} {}", mask(token.trim())),
        None => mask(&v),
    })
}

async fn handle(
    state: Arc<SimState>,
    routers: Arc<Routers>,
    reset: Arc<Notify>,
    req: Request<Incoming>,
) -> Response<Body> {
    let started = Instant::now();
    let method = req.method().to_string();
    let path = req.uri().path().to_string();
    let query = req.uri().query().map(str::to_string);
    let host = header_str(req.headers(), "host")
        .or_else(|| req.uri().authority().map(|a| a.to_string()))
        .unwrap_or_default();
    if crate::services::grpc::is_grpc(req.headers()) {
        return grpc_call(state, reset, host, path, started, req).await;
    }
    let service = route(&host, &path, &state.config.domain);
    let mut entry = json!({
        "ts": ts(now()),
        "service": service.name(),
        "host": host,
        "method": method,
        "path": path,
    });
    if let Some(q) = &query {
        entry["query"] = json!(q);
    }
    if let Some(a) = masked_authorization(req.headers()) {
        entry["authorization"] = json!(a);
    }
    for (key, name) in [
        ("keyIssuerId", "key-issuer-id"),
        ("keyOwnerId", "key-owner-id"),
    ] {
        if let Some(v) = header_str(req.headers(), name) {
            entry[key] = json!(v);
        }
    }

    let fault = (service != Service::SimAdmin)
        .then(|| state.faults.take(service.name(), &method, &path))
        .flatten();
    delay_or_reset(fault.as_ref(), &mut entry, &state, &reset).await;

    let response = match (
        fault.as_ref().and_then(injected_error(service)),
        routers.get(service),
    ) {
        (Some(err), _) => {
            REQUEST_PATH
                .scope(path.clone(), async { err.into_response() })
                .await
        }
        (None, None) => ApiError::empty(404).into_response(),
        (None, Some(router)) => {
            let mut req = req.map(Body::new);
            let token_expired = fault.as_ref().is_some_and(|f| f.token_expired);
            req.extensions_mut().insert(ReqMeta {
                service,
                token_expired,
            });
            if token_expired {
                req.extensions_mut().insert(TokenExpiredFault);
            }
            let fut = router.clone().oneshot(req);
            match REQUEST_PATH.scope(path.clone(), fut).await {
                Ok(r) => r,
                Err(never) => match never {},
            }
        }
    };

    let response = cut_by_fault(fault.as_ref(), response, &mut entry);
    entry["status"] = json!(response.status().as_u16());
    entry["durationMs"] = json!(started.elapsed().as_secs_f64() * 1000.0);
    if let Some(id) = header_str(response.headers(), "nvcf-reqid") {
        entry["nvcfReqid"] = json!(id);
    }
    if response
        .headers()
        .contains_key("x-nvcf-sim-contract-violation")
    {
        entry["contractViolation"] = Value::Bool(true);
    }
    state.log.record(entry);
    response
}

/// A fault's latency, then its reset: the connection is closed with RST and this request
/// never answers (the future stays pending until the connection task drops it).
async fn delay_or_reset(
    fault: Option<&FaultRule>,
    entry: &mut Value,
    state: &SimState,
    reset: &Notify,
) {
    let Some(f) = fault else {
        return;
    };
    entry["fault"] = json!(f.id);
    if let Some(ms) = f.latency_ms {
        tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
    }
    if f.reset {
        entry["status"] = json!("reset");
        state.log.record(entry.clone());
        reset.notify_one();
        std::future::pending::<()>().await;
    }
}

/// The response as a `cutBodyAfter`/`endBodyAfter` fault leaves it, noted in the log entry.
fn cut_by_fault(
    fault: Option<&FaultRule>,
    response: Response<Body>,
    entry: &mut Value,
) -> Response<Body> {
    let Some(f) = fault else {
        return response;
    };
    let (limit, abort) = match (f.cut_body_after, f.end_body_after) {
        (Some(n), _) => (n, true),
        (None, Some(n)) => (n, false),
        (None, None) => return response,
    };
    entry["bodyCutAfter"] = json!(limit);
    cut_body(response, limit, abort)
}

/// The first `limit` bytes of the body, then either an error (hyper aborts the
/// connection, the client sees a reset mid-body) or a clean end.
fn cut_body(response: Response<Body>, limit: usize, abort: bool) -> Response<Body> {
    use futures_util::StreamExt;
    enum Left {
        Bytes(usize),
        Cut,
        Done,
    }
    let (mut parts, body) = response.into_parts();
    parts.headers.remove(axum::http::header::CONTENT_LENGTH);
    let stream = futures_util::stream::unfold(
        (body.into_data_stream(), Left::Bytes(limit)),
        move |(mut inner, left)| async move {
            match left {
                Left::Done => None,
                Left::Cut if abort => {
                    // Let hyper flush what was sent first, as a peer that dies mid-stream
                    // has already delivered it.
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                    Some((
                        Err(std::io::Error::other("body cut by a fault rule")),
                        (inner, Left::Done),
                    ))
                }
                Left::Cut => None,
                Left::Bytes(n) => match inner.next().await {
                    None => None,
                    Some(Err(e)) => Some((Err(std::io::Error::other(e)), (inner, Left::Done))),
                    Some(Ok(chunk)) if chunk.len() < n => {
                        let rest = n - chunk.len();
                        Some((Ok(chunk), (inner, Left::Bytes(rest))))
                    }
                    Some(Ok(chunk)) => Some((Ok(chunk.slice(..n)), (inner, Left::Cut))),
                },
            }
        },
    );
    Response::from_parts(parts, Body::from_stream(stream))
}

/// grpc-proxy: logged like every other request, with the gRPC status when the call failed.
/// Faults for service `grpc` reset the connection once the call has arrived, delay it, or
/// cut the reply mid-message (`cutBodyAfter` aborts the stream, `endBodyAfter` ends it
/// without the trailers that carry `grpc-status`).
async fn grpc_call(
    state: Arc<SimState>,
    reset: Arc<Notify>,
    host: String,
    path: String,
    started: Instant,
    req: Request<Incoming>,
) -> Response<Body> {
    let mut entry = json!({
        "ts": ts(now()),
        "service": "grpc",
        "host": host,
        "method": "POST",
        "path": path,
    });
    if let Some(a) = masked_authorization(req.headers()) {
        entry["authorization"] = json!(a);
    }
    let fault = state.faults.take("grpc", "POST", &path);
    delay_or_reset(fault.as_ref(), &mut entry, &state, &reset).await;
    let response = crate::services::grpc::handle(state.clone(), req).await;
    entry["status"] = json!(response.status().as_u16());
    if let Some(code) = header_str(response.headers(), "grpc-status") {
        entry["grpcStatus"] = json!(code);
    }
    let response = cut_by_fault(fault.as_ref(), response, &mut entry);
    entry["durationMs"] = json!(started.elapsed().as_secs_f64() * 1000.0);
    state.log.record(entry);
    response
}

/// A `status` or `retry_after` fault becomes the service's own error body.
fn injected_error(service: Service) -> impl Fn(&FaultRule) -> Option<ApiError> {
    move |f: &FaultRule| {
        let retry_after = HeaderName::from_static("retry-after");
        if let Some(secs) = f.retry_after {
            let status = f.status.unwrap_or(429);
            let err = match service {
                Service::Llm => ApiError::llm(status, "rate limit exceeded")
                    .with_header(HeaderName::from_static("x-ratelimit-limit-tokens"), "0")
                    .with_header(HeaderName::from_static("x-ratelimit-remaining-tokens"), "0")
                    .with_header(
                        HeaderName::from_static("x-ratelimit-reset-tokens"),
                        crate::util::go_duration(std::time::Duration::from_secs(secs)),
                    ),
                Service::Invocation { .. } => ApiError::invocation_bare(status),
                Service::Sis => ApiError::sis(
                    status,
                    format!(
                        "You must wait {secs} seconds after unregistering the GPU(s) before you can register again"
                    ),
                ),
                _ => ApiError::problem(
                    status,
                    "Account 'nvcf-default': too many requests. Slow down.",
                ),
            };
            return Some(err.with_header(retry_after, secs.to_string()));
        }
        let status = f.status?;
        Some(match (service, status) {
            (_, 401) => crate::auth::denial(
                service,
                crate::auth::Denied::InvalidJwt("Jwt expired".into()),
            ),
            (Service::Invocation { .. }, 504) => {
                ApiError::empty(504).with_header(HeaderName::from_static("nvcf-status"), "errored")
            }
            _ => ApiError::for_service(
                service,
                status,
                format!("nvcf-sim injected fault {}", f.id.as_deref().unwrap_or("")),
            ),
        })
    }
}
