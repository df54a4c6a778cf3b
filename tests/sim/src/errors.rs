//! Error bodies, one shape per upstream service (contracts/endpoints.md §0.3).

use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::routing::Service;

tokio::task_local! {
    /// The request path, so ProblemDetail bodies can carry `instance` like Spring MVC fills it.
    pub static REQUEST_PATH: String;
}

#[derive(Debug, Clone)]
enum Body {
    /// Spring `ProblemDetail` (NVCF, NVCT, api-keys).
    Problem {
        kind: String,
        detail: String,
    },
    /// ICMS `CustomErrorResponse`.
    Error(String),
    /// LLM gateway (echo `HTTPError`).
    Message(String),
    /// http-invocation (`problem_details` crate): no `type`, no `instance`.
    InvocationProblem(Option<String>),
    Plain(String),
    Empty,
}

#[derive(Debug, Clone)]
pub struct ApiError {
    status: StatusCode,
    body: Body,
    headers: Vec<(HeaderName, String)>,
}

fn problem_kind(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "bad-request",
        401 => "unauthorized",
        402 => "payment-required",
        403 => "forbidden",
        404 => "not-found",
        409 => "conflict",
        415 => "unsupported-media-type",
        422 => "unprocessable-entity",
        429 => "too-many-requests",
        502..=504 => "upstream",
        _ => "internal-server-error",
    }
}

impl ApiError {
    fn new(status: u16, body: Body) -> Self {
        Self {
            status: StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            body,
            headers: Vec::new(),
        }
    }

    /// NVCF / NVCT / api-keys service-level rejection (`urn:nv-boot:problem-details:<kebab>`).
    pub fn problem(status: u16, detail: impl Into<String>) -> Self {
        let kind = format!(
            "urn:nv-boot:problem-details:{}",
            problem_kind(StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR))
        );
        Self::new(
            status,
            Body::Problem {
                kind,
                detail: detail.into(),
            },
        )
    }

    /// Bean-validation and framework failures keep Spring's default `about:blank` type.
    pub fn spring(status: u16, detail: impl Into<String>) -> Self {
        Self::new(
            status,
            Body::Problem {
                kind: "about:blank".into(),
                detail: detail.into(),
            },
        )
    }

    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::problem(400, detail)
    }

    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::problem(404, detail)
    }

    pub fn sis(status: u16, error: impl Into<String>) -> Self {
        Self::new(status, Body::Error(error.into()))
    }

    pub fn llm(status: u16, message: impl Into<String>) -> Self {
        Self::new(status, Body::Message(message.into()))
    }

    pub fn invocation(status: u16, detail: impl Into<String>) -> Self {
        Self::new(status, Body::InvocationProblem(Some(detail.into())))
    }

    pub fn invocation_bare(status: u16) -> Self {
        Self::new(status, Body::InvocationProblem(None))
    }

    pub fn plain(status: u16, text: impl Into<String>) -> Self {
        Self::new(status, Body::Plain(text.into()))
    }

    pub fn empty(status: u16) -> Self {
        Self::new(status, Body::Empty)
    }

    /// The shape the given service uses for a message-bearing error.
    pub fn for_service(service: Service, status: u16, message: impl Into<String>) -> Self {
        let message = message.into();
        match service {
            Service::Sis => Self::sis(status, message),
            Service::Llm => Self::llm(status, message),
            Service::Invocation { .. } => Self::invocation(status, message),
            Service::Gateway404 => Self::empty(404),
            _ => Self::problem(status, message),
        }
    }

    pub fn with_header(mut self, name: HeaderName, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    pub fn status(&self) -> StatusCode {
        self.status
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status;
        let reason = status.canonical_reason().unwrap_or("Error");
        let (content_type, body) = match self.body {
            Body::Problem { kind, detail } => {
                let instance = REQUEST_PATH.try_with(Clone::clone).unwrap_or_default();
                let v = json!({"type": kind, "title": reason, "status": status.as_u16(), "detail": detail, "instance": instance});
                (Some("application/problem+json"), v.to_string())
            }
            Body::Error(e) => (Some("application/json"), json!({ "error": e }).to_string()),
            Body::Message(m) => (
                Some("application/json"),
                json!({ "message": m }).to_string(),
            ),
            Body::InvocationProblem(detail) => {
                let mut v = json!({"status": status.as_u16(), "title": reason});
                if let Some(d) = detail {
                    v["detail"] = json!(d);
                }
                (Some("application/problem+json"), v.to_string())
            }
            Body::Plain(t) => (Some("text/plain; charset=utf-8"), t),
            Body::Empty => (None, String::new()),
        };
        let mut resp = (status, body).into_response();
        let h = resp.headers_mut();
        match content_type {
            Some(ct) => {
                h.insert(header::CONTENT_TYPE, HeaderValue::from_static(ct));
            }
            None => {
                h.remove(header::CONTENT_TYPE);
            }
        }
        for (name, value) in self.headers {
            if let Ok(v) = HeaderValue::from_str(&value) {
                h.insert(name, v);
            }
        }
        resp
    }
}

pub type ApiResult<T = Response> = Result<T, ApiError>;
