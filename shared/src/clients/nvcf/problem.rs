//! Error responses of every NVCF service, read into the one taxonomy.
//!
//! Each service has its own body shape (contracts/endpoints.md §0.3): Spring ProblemDetail
//! (`detail`), ICMS `{"error"}`, the LLM gateway's `{"message"}`, http-invocation's plain
//! text, or an empty 401 with `WWW-Authenticate`. The user sees the server's own words.

use super::endpoints::Service;
use crate::base::error::{Category, Error, Raw, RetryClass};
use crate::base::plugin;
use reqwest::StatusCode;
use reqwest::header::HeaderMap;

/// The server's message from an error body, whatever the service's shape.
pub fn server_message(body: &[u8], headers: &HeaderMap) -> Option<String> {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if let Ok(serde_json::Value::Object(map)) = serde_json::from_str::<serde_json::Value>(text) {
        for key in ["detail", "error", "message", "title"] {
            if let Some(serde_json::Value::String(s)) = map.get(key)
                && !s.trim().is_empty()
            {
                return Some(s.trim().to_owned());
            }
        }
    }
    if !text.is_empty() && !text.starts_with('{') && !text.starts_with('<') {
        return Some(text.chars().take(500).collect());
    }
    // Spring's bearer entry point says why in the header only.
    headers
        .get(reqwest::header::WWW_AUTHENTICATE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.split("error_description=\"")
                .nth(1)
                .and_then(|r| r.split('"').next())
                .map(str::to_owned)
        })
}

/// The `Retry-After` header in whole seconds (delta-seconds form; HTTP dates are rare here).
pub fn retry_after(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse::<f64>()
        .ok()
        .map(|s| s.max(0.0).ceil() as u64)
}

/// What the request was, for messages: `NVCF API GET /v2/nvcf/functions`.
#[derive(Debug, Clone)]
pub struct Attempted {
    pub service: Service,
    pub method: String,
    pub path: String,
    /// Which credential the request carried, for the remediation of 401/403.
    pub credential: &'static str,
}

/// An HTTP error response as a taxonomy error.
pub fn from_response(
    what: &Attempted,
    status: StatusCode,
    headers: &HeaderMap,
    body: &[u8],
) -> Error {
    let server = server_message(body, headers)
        .unwrap_or_else(|| status.canonical_reason().unwrap_or("error").to_owned());
    let message = format!(
        "{} {} {}: {} {}",
        what.service.name(),
        what.method,
        what.path,
        status.as_u16(),
        server
    );
    let code = status.as_u16();
    let lower = server.to_ascii_lowercase();
    let (category, hint): (Category, Option<String>) = match code {
        401 if lower.contains("expired") => {
            (Category::TokenExpiry, Some(refresh_hint(what.credential)))
        }
        401 => (Category::Auth, Some(refresh_hint(what.credential))),
        402 | 403 => (Category::Forbidden, Some(scope_hint(what, &lower))),
        404 => (Category::NotFound, None),
        409 | 412 => (Category::Conflict, None),
        429 => (
            Category::RateLimited,
            Some("wait and retry; the server is rate limiting this caller".into()),
        ),
        500..=599 => (
            Category::Network,
            Some(format!(
                "the {} failed or is unreachable; retry later, or check the control plane",
                what.service.name()
            )),
        ),
        _ => (Category::InvalidInput, None),
    };
    let mut err = Error::new(category, message).raw(Raw {
        http_status: code,
        ..Raw::default()
    });
    if let Some(h) = hint {
        err = err.hint(h);
    }
    match code {
        429 => err.retry_after(retry_after(headers).unwrap_or(0)),
        500..=599 => err.retry(RetryClass::Backoff),
        _ => err,
    }
}

fn refresh_hint(credential: &str) -> String {
    match credential {
        "api key" | "task api key" => format!(
            "generate a new API key with `{}`",
            plugin::nvcf("api-key generate")
        ),
        _ => format!(
            "mint a new admin token with `{}` (or `{}`)",
            plugin::nvcf("refresh"),
            plugin::nvcf("init")
        ),
    }
}

fn scope_hint(what: &Attempted, server: &str) -> String {
    let key = matches!(what.credential, "api key" | "task api key");
    if key && server.contains("authorization failed") {
        // api-keys rejected the key itself: expired, revoked or unknown.
        return format!(
            "the API key was rejected (expired, revoked or unknown): generate a new one with `{}`",
            plugin::nvcf("api-key generate")
        );
    }
    match (what.service, what.credential) {
        (Service::Tasks, "admin token") => {
            format!(
                "task calls need a task API key (the admin token has no task scopes): run `{}`",
                plugin::nvcf("api-key generate --for task")
            )
        }
        (_, "api key") | (_, "task api key") => {
            format!(
                "the API key lacks the scope for this call: use the admin token (`{}`) or generate a key with the needed scopes",
                plugin::nvcf("init")
            )
        }
        _ => "the credential lacks the scope for this call".into(),
    }
}

/// A transport failure (connect, reset, timeout) as a taxonomy error.
pub fn from_transport(what: &Attempted, err: &reqwest::Error) -> Error {
    let cause = root_cause(err);
    if is_untrusted_certificate(&cause) {
        // Not transient: retrying cannot help until the CA is trusted.
        return Error::new(
            Category::Config,
            format!(
                "{} {} {}: the server's TLS certificate is not trusted: {cause}",
                what.service.name(),
                what.method,
                what.path
            ),
        )
        .hint("trust the gateway's CA with --ca-bundle FILE (or NVCF_CA_BUNDLE)")
        .hint("--insecure-skip-tls-verify turns verification off, for lab gateways only");
    }
    let (category, text) = if err.is_timeout() {
        (Category::Timeout, "timed out".to_owned())
    } else if err.is_connect() {
        (Category::Network, format!("cannot connect: {cause}"))
    } else {
        (Category::Network, format!("connection failed: {cause}"))
    };
    let mut e = Error::new(
        category,
        format!(
            "{} {} {}: {text}",
            what.service.name(),
            what.method,
            what.path
        ),
    )
    .hint(format!(
        "check the endpoint settings (`{nvcf_cmd0}`) and that the gateway is reachable",
        nvcf_cmd0 = crate::base::plugin::nvcf("status")
    ));
    if category == Category::Timeout {
        e = e
            .hint("raise --http-timeout if the server is slow")
            .exit_code_override(crate::base::error::ExitCode::Unavailable);
    }
    e
}

pub fn is_untrusted_certificate(cause: &str) -> bool {
    cause.contains("invalid peer certificate") || cause.contains("UnknownIssuer")
}

pub fn root_cause(err: &(dyn std::error::Error + 'static)) -> String {
    let mut last = err.to_string();
    let mut cur = err.source();
    while let Some(e) = cur {
        last = e.to_string();
        cur = e.source();
    }
    last
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::base::error::ExitCode;
    use reqwest::header::{HeaderValue, RETRY_AFTER, WWW_AUTHENTICATE};

    fn what(service: Service, credential: &'static str) -> Attempted {
        Attempted {
            service,
            method: "GET".into(),
            path: "/x".into(),
            credential,
        }
    }

    #[test]
    fn every_body_shape_gives_the_server_message() {
        let h = HeaderMap::new();
        assert_eq!(
            server_message(br#"{"type":"urn:x","title":"Not Found","status":404,"detail":"Function id 'a': Not found"}"#, &h).unwrap(),
            "Function id 'a': Not found"
        );
        assert_eq!(
            server_message(
                br#"{"error":"Cluster with clusterName a already exists"}"#,
                &h
            )
            .unwrap(),
            "Cluster with clusterName a already exists"
        );
        assert_eq!(
            server_message(br#"{"message":"rate limit exceeded"}"#, &h).unwrap(),
            "rate limit exceeded"
        );
        assert_eq!(
            server_message(b"Header of type `authorization` was missing", &h).unwrap(),
            "Header of type `authorization` was missing"
        );
        let mut h = HeaderMap::new();
        h.insert(
            WWW_AUTHENTICATE,
            HeaderValue::from_static(
                r#"Bearer error="invalid_token", error_description="Jwt expired", error_uri="x""#,
            ),
        );
        assert_eq!(server_message(b"", &h).unwrap(), "Jwt expired");
    }

    #[test]
    fn statuses_map_to_categories_and_exit_codes() {
        let h = HeaderMap::new();
        let e = from_response(
            &what(Service::Api, "admin token"),
            StatusCode::NOT_FOUND,
            &h,
            br#"{"detail":"nope"}"#,
        );
        assert_eq!(e.exit_code(), ExitCode::NotFound);
        assert!(e.message().ends_with("404 nope"), "{}", e.message());
        let e = from_response(
            &what(Service::Tasks, "admin token"),
            StatusCode::FORBIDDEN,
            &h,
            br#"{"detail":"Access Denied"}"#,
        );
        assert_eq!(e.exit_code(), ExitCode::AuthFailed);
        assert!(e.remediation()[0].contains("--for task"));
        let e = from_response(
            &what(Service::Api, "admin token"),
            StatusCode::CONFLICT,
            &h,
            b"",
        );
        assert_eq!(e.exit_code(), ExitCode::Conflict);
        let e = from_response(
            &what(Service::Api, "admin token"),
            StatusCode::BAD_REQUEST,
            &h,
            br#"{"detail":"Invalid GPU 'X' specified"}"#,
        );
        assert_eq!(e.exit_code(), ExitCode::InvalidInput);
        assert_eq!(e.retry_class(), RetryClass::None);
        let e = from_response(
            &what(Service::Api, "admin token"),
            StatusCode::SERVICE_UNAVAILABLE,
            &h,
            b"",
        );
        assert_eq!(e.exit_code(), ExitCode::Unavailable);
    }

    #[test]
    fn rate_limits_carry_retry_after() {
        let mut h = HeaderMap::new();
        h.insert(RETRY_AFTER, HeaderValue::from_static("7"));
        let e = from_response(
            &what(Service::Llm, "api key"),
            StatusCode::TOO_MANY_REQUESTS,
            &h,
            br#"{"message":"rate limit exceeded"}"#,
        );
        assert_eq!(e.retry_after_sec(), Some(7));
        assert_eq!(e.exit_code(), ExitCode::Unavailable);
    }

    #[test]
    fn expired_tokens_are_token_expiry() {
        let mut h = HeaderMap::new();
        h.insert(
            WWW_AUTHENTICATE,
            HeaderValue::from_static(
                r#"Bearer error="invalid_token", error_description="Jwt expired""#,
            ),
        );
        let e = from_response(
            &what(Service::Api, "admin token"),
            StatusCode::UNAUTHORIZED,
            &h,
            b"",
        );
        assert_eq!(e.category(), Category::TokenExpiry);
        assert!(e.remediation()[0].contains("refresh"));
    }
}
