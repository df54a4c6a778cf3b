//! `function invoke`: HTTP functions by their `inferenceUrl` (polling on 202), LLM functions
//! through the LLM gateway with `model = <function-id>/<model-name>`, gRPC functions through
//! grpc-proxy.

use crate::base::error::{Category, Error, Result};
use crate::base::output::stream::write_raw;
use crate::base::output::write_out;
use crate::base::plugin::nvcf;
use crate::clients::nvcf::Session;
use crate::clients::nvcf::function_ids::Ids;
use crate::clients::nvcf::functions::{Function, Functions};
use crate::clients::nvcf::grpc as invoke_grpc;
use crate::clients::nvcf::input::{read_checked, shapes};
use crate::clients::nvcf::invoke::{self, HttpInvoke, LlmApi, LlmInvoke};
use crate::clients::nvcf::view::View;
use serde_json::{Value, json};
use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

/// What to call and send; the input file's fields stand in for the flags not given.
pub struct Invocation {
    pub ids: Ids,
    pub input_file: Option<PathBuf>,
    /// The request body as given on the command line: a JSON object.
    pub request_body: Option<String>,
    /// A prompt for LLM functions, instead of a body.
    pub message: Option<String>,
    pub inference_url: Option<String>,
    pub model_name: Option<String>,
    pub api: LlmApi,
    pub stream: bool,
    pub session_id: Option<String>,
    pub poll_duration: u32,
    pub timeout: u64,
    pub grpc: Grpc,
}

/// How to reach a gRPC function through grpc-proxy.
pub struct Grpc {
    /// Over gRPC even when the function's inferenceUrl is not /grpc.
    pub forced: bool,
    pub service: String,
    pub method: String,
    pub plaintext: bool,
    pub ca_bundle: Option<PathBuf>,
    pub insecure_skip_tls_verify: bool,
}

fn parse_body(raw: &str) -> Result<Value> {
    let v: Value = serde_json::from_str(raw).map_err(|e| {
        Error::invalid_input(format!("--request-body is not JSON: {e}"))
            .hint("pass a JSON object, e.g. --request-body '{\"message\":\"hello\"}'")
    })?;
    if !v.is_object() {
        return Err(Error::invalid_input("--request-body must be a JSON object"));
    }
    Ok(v)
}

/// The text of a Responses API result: every `output_text` part of every message.
fn responses_text(resp: &Value) -> Option<String> {
    let parts: Vec<&str> = resp["output"]
        .as_array()?
        .iter()
        .flat_map(|o| o["content"].as_array().into_iter().flatten())
        .filter(|c| c["type"] == "output_text")
        .filter_map(|c| c["text"].as_str())
        .collect();
    (!parts.is_empty()).then(|| parts.concat())
}

fn nothing_to_send() -> Error {
    Error::usage("nothing to send").hint("pass --request-body JSON or --input-file")
}

/// The resolved call: ids, body and the input file's settings.
struct Call<'a> {
    req: &'a Invocation,
    file: Value,
    fid: String,
    vid: String,
    body: Option<Value>,
}

impl Call<'_> {
    fn file_text(&self, key: &str) -> Option<String> {
        self.file
            .get(key)
            .and_then(Value::as_str)
            .map(str::to_owned)
    }

    fn timeout(&self) -> Duration {
        Duration::from_secs(
            self.file
                .get("timeout")
                .and_then(Value::as_u64)
                .unwrap_or(self.req.timeout),
        )
    }
}

/// Calls the function. LLM answers streamed to `out` return no view; every other answer is a
/// view to print.
pub async fn run<W: Write>(
    session: &Session,
    req: &Invocation,
    out: impl FnOnce() -> W,
) -> Result<Option<View>> {
    let file = match &req.input_file {
        Some(p) => read_checked::<shapes::Invoke>(p)?,
        None => json!({}),
    };
    let s = |k: &str| file.get(k).and_then(Value::as_str).map(str::to_owned);
    let (fid, vid) = req
        .ids
        .resolve(session, (s("functionId"), s("versionId")))
        .await?;
    let body = match (&req.request_body, file.get("requestBody")) {
        (Some(raw), _) => Some(parse_body(raw)?),
        (None, Some(v)) => Some(v.clone()),
        (None, None) => None,
    };
    let path_override = req.inference_url.clone().or_else(|| s("inferenceUrl"));
    let call = Call {
        req,
        file,
        fid,
        vid,
        body,
    };
    let function = Functions {
        client: &session.client,
    }
    .get(&call.fid, &call.vid, false)
    .await;
    let function = match (function, &path_override) {
        (Ok(f), _) => Some(f),
        // Upstream calls the path directly when the lookup fails but a path was given, and
        // dials grpc-proxy without any lookup.
        (Err(_), Some(_)) => None,
        (Err(_), None) if req.grpc.forced => None,
        (Err(e), None) => return Err(e),
    };
    let grpc_function = function
        .as_ref()
        .and_then(|f| f.inference_url.as_deref())
        .is_some_and(|u| u == "/grpc");
    if req.grpc.forced || grpc_function {
        return over_grpc(session, call).await.map(Some);
    }
    let llm = function.as_ref().filter(|f| {
        f.function_type
            .as_deref()
            .is_some_and(|t| t.eq_ignore_ascii_case("LLM"))
    });
    if let Some(f) = llm {
        return over_llm(session, call, f, out).await;
    }
    over_http(session, call, path_override, function.as_ref())
        .await
        .map(Some)
}

async fn over_llm<W: Write>(
    session: &Session,
    call: Call<'_>,
    f: &Function,
    out: impl FnOnce() -> W,
) -> Result<Option<View>> {
    let req = call.req;
    let models: Vec<String> = f
        .extra
        .get("models")
        .and_then(Value::as_array)
        .map(|m| {
            m.iter()
                .filter_map(|m| m["name"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    let model = match req
        .model_name
        .clone()
        .or_else(|| call.file_text("modelName"))
    {
        Some(m) => m,
        None if models.len() == 1 => models[0].clone(),
        None => {
            return Err(Error::usage(format!(
                "function {} serves {} models: say which",
                f.name,
                models.len()
            ))
            .hint(format!("pass --model-name ({})", models.join(", "))));
        }
    };
    let body = match (call.body, &req.message) {
        (Some(b), _) => b,
        (None, Some(m)) => match req.api {
            LlmApi::Chat => json!({"messages": [{"role": "user", "content": m}]}),
            LlmApi::Responses | LlmApi::Embeddings => json!({"input": m}),
        },
        (None, None) => {
            return Err(
                Error::usage("nothing to send").hint("pass --message TEXT or --request-body JSON")
            );
        }
    };
    let inv = LlmInvoke {
        api: req.api,
        function_id: call.fid,
        model,
        body,
        stream: req.stream,
        session_id: req.session_id.clone(),
    };
    if req.stream {
        let mut out = out();
        invoke::llm_stream(&session.client, &inv, |text| write_raw(&mut out, text)).await?;
        write_out(&mut out, "\n")?;
        return Ok(None);
    }
    let resp = invoke::llm(&session.client, &inv).await?;
    let text = resp["choices"][0]["message"]["content"]
        .as_str()
        .map(str::to_owned)
        .or_else(|| responses_text(&resp))
        .unwrap_or_else(|| serde_json::to_string_pretty(&resp).unwrap_or_default());
    Ok(Some(View::new(&resp).text(text)))
}

async fn over_http(
    session: &Session,
    call: Call<'_>,
    path_override: Option<String>,
    function: Option<&Function>,
) -> Result<View> {
    let timeout = call.timeout();
    let req = call.req;
    let Some(body) = call.body else {
        return Err(nothing_to_send());
    };
    let path = path_override
        .or_else(|| function.and_then(|f| f.inference_url.clone()))
        .ok_or_else(|| {
            Error::usage("the function has no inferenceUrl").hint("pass --inference-url PATH")
        })?;
    let inv = HttpInvoke {
        function_id: call.fid,
        path,
        body,
        poll_seconds: req
            .input_file
            .as_ref()
            .and(call.file.get("pollDurationSeconds").and_then(Value::as_u64))
            .map_or(req.poll_duration, |p| p as u32),
        timeout,
    };
    let result = invoke::http(&session.client, &inv).await?;
    let text = match &result.response {
        Value::String(s) => s.clone(),
        Value::Null => format!(
            "HTTP {} {}",
            result.http_status,
            result.location_url.clone().unwrap_or_default()
        ),
        v => serde_json::to_string_pretty(v).unwrap_or_default(),
    };
    Ok(View::new(&result).text(text))
}

async fn over_grpc(session: &Session, call: Call<'_>) -> Result<View> {
    let timeout = call.timeout();
    let (req, grpc) = (call.req, &call.req.grpc);
    let service = call.file_text("grpcService");
    let method = call.file_text("grpcMethod");
    let body = call.body.ok_or_else(nothing_to_send)?;
    // Upstream sends only the function API key here, never the admin token.
    let key = session.client.credentials().api_key.ok_or_else(|| {
        Error::new(Category::Auth, "API key required for function invocation")
            .hint(format!("run `{}`", nvcf("api-key generate --for function")))
    })?;
    let inv = invoke_grpc::GrpcInvoke {
        target: session.grpc_target(),
        plaintext: grpc.plaintext
            || call.file.get("grpcPlaintext").and_then(Value::as_bool) == Some(true),
        ca_bundle: grpc.ca_bundle.clone(),
        service: service.unwrap_or_else(|| grpc.service.clone()),
        method: method.unwrap_or_else(|| grpc.method.clone()),
        function_id: call.fid,
        version_id: Some(call.vid).filter(|v| !v.is_empty()),
        poll_seconds: call
            .file
            .get("pollDurationSeconds")
            .and_then(Value::as_u64)
            .map_or(req.poll_duration, |p| p as u32),
        timeout,
        body,
    };
    if grpc.insecure_skip_tls_verify {
        return Err(Error::usage(
            "--insecure-skip-tls-verify does not apply to gRPC invocation",
        )
        .hint("trust grpc-proxy's CA with --ca-bundle FILE, or use --grpc-plaintext for a proxy without TLS"));
    }
    let reply = invoke_grpc::invoke(&inv, &key).await?;
    let text = serde_json::to_string_pretty(&reply).unwrap_or_default();
    Ok(View::new(&reply).text(text))
}
