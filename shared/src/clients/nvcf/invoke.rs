//! Invocation: HTTP functions through http-invocation (`<fid>.invocation.<domain>`), with
//! polling on `202` by `NVCF-REQID`, and LLM functions through the LLM gateway.

use super::apikeys::seg;
use super::client::{Client, Response};
use super::credentials::Bearer;
use super::endpoints::Service;
use crate::base::error::{Category, Error, Result};
use crate::base::plugin;
use futures_util::StreamExt;
use reqwest::Method;
use reqwest::header::{ACCEPT, HeaderName};
use serde::Serialize;
use serde_json::Value;
use std::time::{Duration, Instant};

/// What an invocation returned, with upstream's header mapping.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Invocation {
    pub http_status: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub req_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub percent_complete: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location_url: Option<String>,
    /// How many times a `202` was polled before the result.
    pub polls: u32,
    /// The body: JSON when it parses, otherwise text.
    pub response: Value,
}

impl Invocation {
    fn from(resp: &Response, polls: u32) -> Invocation {
        let text = String::from_utf8_lossy(&resp.body);
        let response = if resp.body.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&resp.body).unwrap_or_else(|_| Value::String(text.into_owned()))
        };
        Invocation {
            http_status: resp.status.as_u16(),
            req_id: resp.header("nvcf-reqid").map(str::to_owned),
            status: resp.header("nvcf-status").map(str::to_owned),
            percent_complete: resp.header("nvcf-percent-complete").map(str::to_owned),
            location_url: resp.header("location").map(str::to_owned),
            polls,
            response,
        }
    }
}

/// Options shared by HTTP invocations.
#[derive(Debug, Clone)]
pub struct HttpInvoke {
    pub function_id: String,
    /// The path the worker serves (the function's `inferenceUrl`).
    pub path: String,
    pub body: Value,
    /// `NVCF-POLL-SECONDS`: how long the service holds the request before answering 202.
    pub poll_seconds: u32,
    /// Give up polling after this long.
    pub timeout: Duration,
}

pub async fn http(client: &Client, inv: &HttpInvoke) -> Result<Invocation> {
    let route = client.endpoints.invocation(&inv.function_id);
    let path = if inv.path.starts_with('/') {
        inv.path.clone()
    } else {
        format!("/{}", inv.path)
    };
    let mut req = client
        .request(Service::Invocation, Method::POST, path)
        .bearer(Bearer::Function)
        .header(ACCEPT, "*/*")
        .json(&inv.body)?;
    req.route = route;
    if inv.poll_seconds > 0 {
        req = req.header(
            HeaderName::from_static("nvcf-poll-seconds"),
            inv.poll_seconds.to_string(),
        );
    }
    let started = Instant::now();
    let mut resp = client.send(&req).await?;
    let mut polls = 0;
    while resp.status.as_u16() == 202 {
        let Some(id) = resp.header("nvcf-reqid").map(str::to_owned) else {
            break;
        };
        if started.elapsed() >= inv.timeout {
            return Err(Error::new(
                Category::Timeout,
                format!(
                    "invocation {id} still in progress after {}s",
                    inv.timeout.as_secs()
                ),
            )
            .hint(format!(
                "raise --timeout, or check its queue position with `{}`",
                plugin::nvcf(&format!("function queue position {id}"))
            )));
        }
        let mut poll = client
            .request(
                Service::Invocation,
                Method::GET,
                format!("/v2/nvcf/pexec/status/{}", seg(&id)),
            )
            .bearer(Bearer::Function)
            .header(ACCEPT, "*/*");
        poll.route = client.endpoints.invocation_bare();
        if inv.poll_seconds > 0 {
            poll = poll.header(
                HeaderName::from_static("nvcf-poll-seconds"),
                inv.poll_seconds.to_string(),
            );
        }
        resp = client.send(&poll).await?;
        polls += 1;
    }
    Ok(Invocation::from(&resp, polls))
}

/// The LLM gateway endpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum LlmApi {
    /// `/v1/chat/completions`
    Chat,
    /// `/v1/responses`
    Responses,
    /// `/v1/embeddings`
    Embeddings,
}

impl LlmApi {
    pub fn path(self) -> &'static str {
        match self {
            LlmApi::Chat => "/v1/chat/completions",
            LlmApi::Responses => "/v1/responses",
            LlmApi::Embeddings => "/v1/embeddings",
        }
    }
}

#[derive(Debug, Clone)]
pub struct LlmInvoke {
    pub api: LlmApi,
    pub function_id: String,
    pub model: String,
    /// The OpenAI request body; `model` is forced to `<function-id>/<model>`.
    pub body: Value,
    pub stream: bool,
    pub session_id: Option<String>,
}

impl LlmInvoke {
    pub fn routed_model(&self) -> String {
        format!("{}/{}", self.function_id, self.model)
    }
}

fn llm_request(client: &Client, inv: &LlmInvoke) -> Result<super::client::Request> {
    let mut body = inv.body.clone();
    let Some(map) = body.as_object_mut() else {
        return Err(Error::invalid_input(
            "the request body must be a JSON object",
        ));
    };
    map.insert("model".into(), Value::String(inv.routed_model()));
    if inv.stream {
        map.insert("stream".into(), Value::Bool(true));
    }
    let mut req = client
        .request(Service::Llm, Method::POST, inv.api.path())
        .bearer(Bearer::Function)
        .json(&body)?;
    req.route = client.endpoints.llm();
    if let Some(s) = &inv.session_id {
        req = req.header(HeaderName::from_static("x-multi-turn-session-id"), s);
    }
    Ok(req)
}

/// A non-streaming LLM call: the gateway's JSON.
pub async fn llm(client: &Client, inv: &LlmInvoke) -> Result<Value> {
    let req = llm_request(client, inv)?;
    client.json(&req).await
}

/// A streaming LLM call: `on_text` gets each piece of generated text as it arrives.
/// Returns how many events were read.
pub async fn llm_stream(
    client: &Client,
    inv: &LlmInvoke,
    on_text: impl FnMut(&str) -> Result<()>,
) -> Result<usize> {
    let req = llm_request(client, inv)?.header(ACCEPT, "text/event-stream");
    let resp = client.send_streaming(&req).await?;
    read_sse(resp.bytes_stream(), on_text).await
}

/// Decodes an SSE body (chat completions or Responses events) as it arrives: `on_text`
/// gets each piece of generated text. Returns how many events were read before `[DONE]`
/// or the end; a body cut mid-stream is a network error naming how far it got.
pub async fn read_sse<S, B, E>(
    body: S,
    mut on_text: impl FnMut(&str) -> Result<()>,
) -> Result<usize>
where
    S: futures_util::Stream<Item = std::result::Result<B, E>> + Unpin,
    B: AsRef<[u8]>,
    E: std::fmt::Display,
{
    use eventsource_stream::Eventsource;
    let mut events = body.eventsource();
    let mut count = 0;
    while let Some(ev) = events.next().await {
        let ev = ev.map_err(|e| {
            Error::new(
                Category::Network,
                format!("LLM stream broke after {count} events: {e}"),
            )
            .hint("the text above is what arrived; re-run the request")
        })?;
        if ev.data.trim() == "[DONE]" {
            return Ok(count);
        }
        count += 1;
        let Ok(v) = serde_json::from_str::<Value>(&ev.data) else {
            continue;
        };
        if let Some(text) = stream_text(&ev.event, &v) {
            on_text(text)?;
        }
        if is_final_response_event(&ev.event, &v) {
            return Ok(count);
        }
    }
    // Chat streams end with `[DONE]`, Responses streams with a terminal event: a body that
    // simply stops was cut (a proxy timeout, a reset), and the answer is incomplete.
    Err(Error::new(
        Category::Network,
        format!("LLM stream ended after {count} events without its end marker: the answer is incomplete"),
    )
    .hint("the text above is what arrived; re-run the request (a proxy or gateway timeout can cut long streams)"))
}

/// `response.completed`, `.failed` or `.incomplete`: the last event of a Responses stream.
fn is_final_response_event(event: &str, v: &Value) -> bool {
    let name = if event.starts_with("response.") {
        event
    } else {
        v["type"].as_str().unwrap_or_default()
    };
    matches!(
        name,
        "response.completed" | "response.failed" | "response.incomplete"
    )
}

/// The generated text in one SSE event: chat deltas or Responses `output_text.delta`.
fn stream_text<'v>(event: &str, v: &'v Value) -> Option<&'v str> {
    if event == "response.output_text.delta" || v["type"] == "response.output_text.delta" {
        return v["delta"].as_str();
    }
    v["choices"][0]["delta"]["content"].as_str()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn decode(body: &str, cut_at: &[usize]) -> (Result<usize>, String) {
        let mut pieces = Vec::new();
        let mut start = 0;
        for &at in cut_at.iter().chain([&body.len()]) {
            pieces.push(Ok::<_, std::io::Error>(body.as_bytes()[start..at].to_vec()));
            start = at;
        }
        let mut text = String::new();
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let n = rt.block_on(read_sse(futures_util::stream::iter(pieces), |t| {
            text.push_str(t);
            Ok(())
        }));
        (n, text)
    }

    const CHAT: &str = "data: {\"choices\":[{\"delta\":{\"content\":\"Hel\"}}]}\n\n\
        data: {\"choices\":[{\"delta\":{\"content\":\"lo\"}}]}\n\ndata: [DONE]\n\n";

    #[test]
    fn a_chat_stream_decodes_whatever_its_chunks_split_on() {
        for cut in 1..CHAT.len() {
            let (n, text) = decode(CHAT, &[cut]);
            assert_eq!((n.unwrap(), text.as_str()), (2, "Hello"), "cut at {cut}");
        }
    }

    #[test]
    fn a_stream_cut_before_its_end_marker_is_a_retryable_error_after_the_text_that_arrived() {
        let cut = CHAT.find("data: [DONE]").unwrap();
        let (n, text) = decode(&CHAT[..cut], &[]);
        let err = n.unwrap_err();
        assert_eq!(text, "Hello", "what arrived was shown");
        assert_eq!(err.category(), Category::Network);
        assert!(err.to_string().contains("after 2 events"), "{err}");
        // Cut inside an event: the partial event is dropped, the rest shown.
        let (n, text) = decode(&CHAT[..CHAT.find("lo").unwrap()], &[]);
        assert!(n.is_err());
        assert_eq!(text, "Hel");
    }

    #[test]
    fn a_responses_stream_ends_at_its_terminal_event() {
        let body = "event: response.output_text.delta\ndata: {\"type\":\"response.output_text.delta\",\"delta\":\"Hi\"}\n\n\
            event: response.completed\ndata: {\"type\":\"response.completed\",\"response\":{}}\n\n";
        let (n, text) = decode(body, &[7]);
        assert_eq!((n.unwrap(), text.as_str()), (2, "Hi"));
        let cut = body.find("event: response.completed").unwrap();
        assert!(decode(&body[..cut], &[]).0.is_err());
    }

    #[test]
    fn stream_text_reads_chat_and_responses_events() {
        let chat = json!({"choices":[{"delta":{"content":"Hel"}}]});
        assert_eq!(stream_text("message", &chat), Some("Hel"));
        let resp = json!({"type":"response.output_text.delta","delta":"lo"});
        assert_eq!(stream_text("response.output_text.delta", &resp), Some("lo"));
        assert_eq!(
            stream_text("response.created", &json!({"type":"response.created"})),
            None
        );
    }
}
