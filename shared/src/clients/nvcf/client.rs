//! The HTTP transport every NVCF service client shares: routing, bearer selection,
//! retries by retry class, and error bodies → taxonomy.
//!
//! Retry classes (issue 5): a 401 on an admin token we minted ourselves gets exactly one
//! re-mint and retry; 429 waits what `Retry-After` says (bounded); 5xx and dropped
//! connections back off a bounded number of times; other 4xx are final at once.

use super::credentials::{Bearer, Credentials, Minted};
use super::endpoints::{Endpoints, Route, Service};
use super::problem::{self, Attempted};
use crate::base::error::{Category, Error, Result};
use backon::{ExponentialBuilder, Retryable};
use reqwest::header::{CONTENT_TYPE, HOST, HeaderMap, HeaderName, HeaderValue};
use reqwest::{Method, StatusCode};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::sync::Mutex;
use std::time::Duration;

/// TLS and timeout options for every service.
#[derive(Debug, Clone, Default)]
pub struct TlsOptions {
    /// PEM bundle of extra CA certificates (self-signed gateways).
    pub ca_bundle: Option<std::path::PathBuf>,
    /// Skip certificate verification (lab gateways only).
    pub insecure: bool,
    /// Every endpoint is plain HTTP: skip loading the system's CA roots, which costs more
    /// than a local request does.
    pub no_tls: bool,
}

/// How hard to retry; exposed so tests and impatient users can shorten it.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Retries after the first attempt (5xx, resets, 429).
    pub max_retries: usize,
    pub min_delay: Duration,
    pub max_delay: Duration,
    /// A `Retry-After` longer than this is not waited for: the error says how long instead.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: 3,
            min_delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(4),
            max_retry_after: Duration::from_secs(30),
        }
    }
}

/// One request, before credentials and routing are applied.
#[derive(Debug, Clone)]
pub struct Request {
    pub service: Service,
    pub route: Route,
    pub method: Method,
    pub path: String,
    pub query: Vec<(String, String)>,
    pub body: Option<serde_json::Value>,
    pub headers: Vec<(HeaderName, String)>,
    pub bearer: Bearer,
    /// Safe to resend after a 5xx or a dropped connection.
    pub idempotent: bool,
}

impl Request {
    pub fn query(mut self, key: &str, value: impl ToString) -> Self {
        self.query.push((key.to_owned(), value.to_string()));
        self
    }
    pub fn json(mut self, body: &impl Serialize) -> Result<Self> {
        self.body = Some(
            serde_json::to_value(body)
                .map_err(|e| Error::internal(format!("cannot encode request: {e}")))?,
        );
        Ok(self)
    }
    pub fn header(mut self, name: HeaderName, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }
    pub fn bearer(mut self, bearer: Bearer) -> Self {
        self.bearer = bearer;
        self
    }
    /// Marks a POST as safe to resend (reads that use POST, such as `tasks/bulk`).
    pub fn idempotent(mut self) -> Self {
        self.idempotent = true;
        self
    }
}

/// A successful (status < 400) response with its body read.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
    pub fn decode<T: DeserializeOwned>(&self, what: &str) -> Result<T> {
        decode(&self.body, what)
    }
}

pub fn decode<T: DeserializeOwned>(body: &[u8], what: &str) -> Result<T> {
    if serde_json::from_slice::<serde::de::IgnoredAny>(body).is_err() {
        // Not JSON at all: usually an HTML page from a proxy or the UI, not the API.
        let start: String = String::from_utf8_lossy(&body[..body.len().min(40)])
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        return Err(Error::new(
            Category::Unknown,
            format!("the {what} response is not JSON (it starts {:?})", start.trim()),
        )
        .hint(format!("check that the endpoint settings point at the NVCF API (`{nvcf_cmd0}` shows them), not a web page or proxy", nvcf_cmd0 = crate::base::plugin::nvcf("context"))));
    }
    let de = &mut serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(de).map_err(|e| {
        Error::new(
            Category::Unknown,
            format!(
                "unexpected {what} response: field {}: {}",
                e.path(),
                e.inner()
            ),
        )
        .hint("the server and this plugin disagree on the API; check both versions")
    })
}

/// Persists a re-minted admin token (into the profile state).
pub type OnMint = Box<dyn Fn(&Minted) -> Result<()> + Send + Sync>;

/// The shared NVCF HTTP client.
pub struct Client {
    http: reqwest::Client,
    pub endpoints: Endpoints,
    creds: Mutex<Credentials>,
    on_mint: Option<OnMint>,
    pub policy: RetryPolicy,
}

impl Client {
    pub fn new(
        endpoints: Endpoints,
        creds: Credentials,
        tls: &TlsOptions,
        timeout: Duration,
        user_agent: &str,
    ) -> Result<Client> {
        let mut b = reqwest::Client::builder()
            .user_agent(user_agent)
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(30)))
            // Invocation answers 302 with a result URL; upstream reports it instead of following.
            .redirect(reqwest::redirect::Policy::none());
        if let Some(path) = &tls.ca_bundle {
            let pem = std::fs::read(path).map_err(|e| {
                Error::input_missing(format!("cannot read CA bundle {}: {e}", path.display()))
                    .hint("pass --ca-bundle with a readable PEM file")
            })?;
            let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| {
                Error::invalid_input(format!(
                    "CA bundle {} is not PEM certificates: {e}",
                    path.display()
                ))
            })?;
            b = b.tls_certs_merge(certs);
        } else if tls.no_tls {
            b = b.tls_certs_only([]);
        }
        if tls.insecure {
            b = b.danger_accept_invalid_certs(true);
        }
        let http = b
            .build()
            .map_err(|e| Error::internal(format!("cannot build the HTTP client: {e}")))?;
        Ok(Client {
            http,
            endpoints,
            creds: Mutex::new(creds),
            on_mint: None,
            policy: RetryPolicy::default(),
        })
    }

    /// Where a re-minted token is saved.
    pub fn on_mint(mut self, f: OnMint) -> Self {
        self.on_mint = Some(f);
        self
    }

    pub fn credentials(&self) -> Credentials {
        self.creds.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    pub fn set_credentials(&self, f: impl FnOnce(&mut Credentials)) {
        f(&mut self.creds.lock().unwrap_or_else(|p| p.into_inner()));
    }

    /// A request to `service` at `path`, with the service's default credential.
    pub fn request(&self, service: Service, method: Method, path: impl Into<String>) -> Request {
        let idempotent = method != Method::POST && method != Method::PATCH;
        Request {
            route: self.endpoints.route(service).clone(),
            service,
            method,
            path: path.into(),
            query: Vec::new(),
            body: None,
            headers: Vec::new(),
            bearer: Bearer::for_service(service),
            idempotent,
        }
    }

    /// Sends with retries; `Err` for any status ≥ 400, in the taxonomy.
    pub async fn send(&self, req: &Request) -> Result<Response> {
        let resp = self.send_streaming(req).await?;
        self.read(req, resp).await
    }

    /// As [`Client::send`], without the 401 re-mint (the issuer call itself uses this).
    pub(crate) async fn send_without_remint(&self, req: &Request) -> Result<Response> {
        let resp = self.with_retries(req).await?;
        self.read(req, resp).await
    }

    async fn read(&self, req: &Request, resp: reqwest::Response) -> Result<Response> {
        let status = resp.status();
        let headers = resp.headers().clone();
        let body = resp
            .bytes()
            .await
            .map_err(|e| problem::from_transport(&self.attempted(req, "none"), &e))?;
        Ok(Response {
            status,
            headers,
            body: body.to_vec(),
        })
    }

    /// Sends and decodes the JSON body.
    /// Sends and parses the body as any JSON value: nothing to check field by field, so
    /// no path tracking (paged listings of thousands of items stay cheap).
    pub async fn json_value(&self, req: &Request) -> Result<serde_json::Value> {
        let resp = self.send(req).await?;
        serde_json::from_slice(&resp.body).map_err(|e| {
            Error::new(
                Category::Unknown,
                format!(
                    "unexpected {} {} response: {e}",
                    req.service.name(),
                    req.path
                ),
            )
            .hint("the server and this plugin disagree on the API; check both versions")
        })
    }

    pub async fn json<T: DeserializeOwned>(&self, req: &Request) -> Result<T> {
        let resp = self.send(req).await?;
        resp.decode(&format!("{} {}", req.service.name(), req.path))
    }

    /// Sends with retries and returns the response before its body is read (SSE, pages).
    pub async fn send_streaming(&self, req: &Request) -> Result<reqwest::Response> {
        match self.with_retries(req).await {
            Err(e) if self.should_remint(req, &e) => {
                self.remint().await?;
                self.with_retries(req).await
            }
            other => other,
        }
    }

    fn should_remint(&self, req: &Request, err: &Error) -> bool {
        let creds = self.credentials();
        matches!(err.category(), Category::Auth | Category::TokenExpiry)
            && creds.remintable()
            && creds
                .select(req.bearer)
                .is_some_and(|(_, which)| which == "admin token")
    }

    /// Mints a fresh admin token, keeps it for this run and persists it.
    pub async fn remint(&self) -> Result<Minted> {
        let minted = self.remint_without_saving().await?;
        if let Some(save) = &self.on_mint {
            save(&minted)?;
        }
        Ok(minted)
    }

    /// Mints a fresh admin token for this run only (`init` saves it with the rest of its
    /// state change).
    pub async fn remint_without_saving(&self) -> Result<Minted> {
        let minted = mint_admin_token(self).await?;
        self.set_credentials(|c| {
            c.token = Some(minted.token.clone());
            c.token_source = super::credentials::TokenSource::State;
        });
        Ok(minted)
    }

    async fn with_retries(&self, req: &Request) -> Result<reqwest::Response> {
        let p = &self.policy;
        let backoff = ExponentialBuilder::default()
            .with_min_delay(p.min_delay)
            .with_max_delay(p.max_delay)
            .with_max_times(p.max_retries)
            .with_jitter();
        let max_after = p.max_retry_after;
        (|| self.attempt(req))
            .retry(backoff)
            .sleep(tokio::time::sleep)
            .when(|e: &Error| retryable(e, req.idempotent))
            .adjust(move |e: &Error, dur| match e.retry_after_sec() {
                Some(s) if Duration::from_secs(s) > max_after => None,
                Some(s) => dur.map(|d| d.max(Duration::from_secs(s))),
                None => dur,
            })
            .notify(|e: &Error, d| {
                tracing::info!(after = ?d, "retrying: {}", e.message());
            })
            .await
    }

    fn attempted(&self, req: &Request, credential: &'static str) -> Attempted {
        Attempted {
            service: req.service,
            method: req.method.to_string(),
            path: req.path.clone(),
            credential,
        }
    }

    async fn attempt(&self, req: &Request) -> Result<reqwest::Response> {
        let creds = self.credentials();
        let selected = match req.bearer {
            Bearer::None => None,
            b => Some(creds.select(b).ok_or_else(|| creds.missing(b))?),
        };
        let what = self.attempted(req, selected.as_ref().map_or("none", |(_, w)| *w));
        let mut url = req.route.url(&req.path)?;
        if !req.query.is_empty() {
            url.query_pairs_mut().extend_pairs(&req.query);
        }
        let mut rb = self.http.request(req.method.clone(), url);
        if let Some(host) = &req.route.host {
            rb = rb.header(HOST, host);
        }
        if let Some((secret, _)) = &selected {
            rb = rb.bearer_auth(secret.expose());
        }
        for (k, v) in &req.headers {
            let value = HeaderValue::from_str(v)
                .map_err(|_| Error::usage(format!("header {k} has an invalid value")))?;
            rb = rb.header(k, value);
        }
        if let Some(body) = &req.body {
            rb = rb.header(CONTENT_TYPE, "application/json").json(body);
        }
        tracing::debug!(service = req.service.name(), method = %req.method, path = %req.path, "request");
        let resp = rb
            .send()
            .await
            .map_err(|e| problem::from_transport(&what, &e))?;
        let status = resp.status();
        if status.as_u16() < 400 {
            return Ok(resp);
        }
        let headers = resp.headers().clone();
        let body = resp.bytes().await.unwrap_or_default();
        Err(problem::from_response(&what, status, &headers, &body))
    }
}

/// 429 always (the server did not act); 5xx and dropped connections only when resending is
/// safe; never a 4xx, an auth failure or a timeout of a non-idempotent call.
fn retryable(e: &Error, idempotent: bool) -> bool {
    let status = e.raw_block().http_status;
    match e.category() {
        Category::RateLimited => true,
        Category::Network if status == 502 || status == 503 => true,
        Category::Network | Category::Timeout => idempotent,
        _ => false,
    }
}

/// `POST /v1/admin/keys` with no credential; a non-JSON body is the token itself.
async fn mint_admin_token(client: &Client) -> Result<Minted> {
    let req = client
        .request(Service::AdminIssuer, Method::POST, "/v1/admin/keys")
        .bearer(Bearer::None)
        .json(&serde_json::json!({}))?
        .idempotent();
    let resp = client.send_without_remint(&req).await?;
    #[derive(serde::Deserialize)]
    struct Issued {
        #[serde(default)]
        value: String,
        #[serde(default)]
        expires_at: Option<String>,
    }
    let (value, expires_at) = match serde_json::from_slice::<Issued>(&resp.body) {
        Ok(i) => (i.value, i.expires_at),
        Err(_) => (String::from_utf8_lossy(&resp.body).trim().to_owned(), None),
    };
    if value.is_empty() {
        return Err(Error::new(
            crate::base::error::Category::Auth,
            "the admin token issuer answered without a token",
        )
        .hint("check the admin-token-issuer-proxy on the api-keys host"));
    }
    Ok(Minted {
        token: crate::base::secret::Secret::new(value),
        expires_at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::base::error::{Raw, RetryClass};

    fn with_status(category: Category, status: u16) -> Error {
        Error::new(category, "x").raw(Raw {
            http_status: status,
            ..Raw::default()
        })
    }

    #[test]
    fn retry_classes() {
        assert!(retryable(&with_status(Category::RateLimited, 429), false));
        assert!(retryable(&with_status(Category::Network, 503), false));
        assert!(!retryable(&with_status(Category::Network, 500), false));
        assert!(retryable(&with_status(Category::Network, 500), true));
        assert!(retryable(&with_status(Category::Network, 0), true));
        assert!(!retryable(&with_status(Category::InvalidInput, 400), true));
        assert!(!retryable(&with_status(Category::NotFound, 404), true));
        assert!(!retryable(&with_status(Category::Auth, 401), true));
        let e = with_status(Category::RateLimited, 429).retry_after(3);
        assert_eq!(e.retry_class(), RetryClass::Backoff);
    }
}
