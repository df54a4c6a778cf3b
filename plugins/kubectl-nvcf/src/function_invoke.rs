//! `function invoke`: HTTP functions by their `inferenceUrl` (polling on 202), LLM functions
//! through the LLM gateway with `model = <function-id>/<model-name>`, gRPC functions through
//! grpc-proxy.

use crate::api::Api;
use clap::Args;
use nvcf_shared::base::output::OutputArgs;
use nvcf_shared::clients::nvcf::function_ids::Ids;
use nvcf_shared::clients::nvcf::functions::Functions;
use nvcf_shared::clients::nvcf::grpc as invoke_grpc;
use nvcf_shared::clients::nvcf::input::{read_checked, shapes};
use nvcf_shared::clients::nvcf::invoke::{self, HttpInvoke, LlmApi, LlmInvoke};
use nvcf_shared::clients::nvcf::session::Session;
use nvcf_shared::clients::nvcf::view::View;
use nvcf_shared::{Error, Result};
use serde_json::{Value, json};
use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Args, Debug)]
pub struct InvokeArgs {
    #[command(flatten)]
    pub ids: Ids,
    /// JSON file: {functionId?, versionId?, requestBody, inferenceUrl?, modelName?, timeout?, pollDurationSeconds?}
    #[arg(long, short = 'f', value_name = "FILE")]
    pub input_file: Option<PathBuf>,
    /// The request body, a JSON object
    #[arg(long, short = 'd', value_name = "JSON")]
    pub request_body: Option<String>,
    /// A prompt: for LLM functions, instead of --request-body
    #[arg(long, short = 'm', value_name = "TEXT")]
    pub message: Option<String>,
    /// Path to call instead of the function's inferenceUrl
    #[arg(long, value_name = "PATH")]
    pub inference_url: Option<String>,
    /// LLM: the model name (default: the function's only model)
    #[arg(long)]
    pub model_name: Option<String>,
    /// LLM: which OpenAI API to call
    #[arg(long, value_enum, default_value = "chat")]
    pub api: LlmApi,
    /// LLM: print tokens as they arrive
    #[arg(long)]
    pub stream: bool,
    /// LLM: session id for multi-turn stickiness (x-multi-turn-session-id)
    #[arg(long)]
    pub session_id: Option<String>,
    /// Seconds the service may hold a request before answering 202 (NVCF-POLL-SECONDS)
    #[arg(long, default_value_t = 5)]
    pub poll_duration: u32,
    /// Seconds to keep polling a 202 (or to wait for a gRPC reply) before giving up
    #[arg(long, default_value_t = 60)]
    pub timeout: u64,
    /// Invoke over gRPC through grpc-proxy (grpc_url); implied for functions whose inferenceUrl is /grpc
    #[arg(long)]
    pub grpc: bool,
    /// gRPC: the service to call
    #[arg(long, value_name = "PACKAGE.SERVICE", default_value = invoke_grpc::DEFAULT_SERVICE)]
    pub grpc_service: String,
    /// gRPC: the method to call
    #[arg(long, value_name = "METHOD", default_value = invoke_grpc::DEFAULT_METHOD)]
    pub grpc_method: String,
    /// gRPC: no TLS to grpc-proxy (an http:// grpc_url implies it)
    #[arg(long)]
    pub grpc_plaintext: bool,
    #[command(flatten)]
    pub output: OutputArgs,
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

pub async fn run(api: &Api<'_>, args: InvokeArgs) -> Result<()> {
    let session = api.session()?;
    let file = match &args.input_file {
        Some(p) => read_checked::<shapes::Invoke>(p)?,
        None => json!({}),
    };
    let s = |k: &str| file.get(k).and_then(Value::as_str).map(str::to_owned);
    let (fid, vid) = args
        .ids
        .resolve(&session, (s("functionId"), s("versionId")))
        .await?;
    let body = match (&args.request_body, file.get("requestBody")) {
        (Some(raw), _) => Some(parse_body(raw)?),
        (None, Some(v)) => Some(v.clone()),
        (None, None) => None,
    };
    let path_override = args.inference_url.clone().or_else(|| s("inferenceUrl"));
    let function = Functions {
        client: &session.client,
    }
    .get(&fid, &vid, false)
    .await;
    let function = match (function, &path_override) {
        (Ok(f), _) => Some(f),
        // Upstream calls the path directly when the lookup fails but a path was given, and
        // dials grpc-proxy without any lookup.
        (Err(_), Some(_)) => None,
        (Err(_), None) if args.grpc => None,
        (Err(e), None) => return Err(e),
    };
    let grpc_function = function
        .as_ref()
        .and_then(|f| f.inference_url.as_deref())
        .is_some_and(|u| u == "/grpc");
    if args.grpc || grpc_function {
        let body = body.ok_or_else(|| {
            Error::usage("nothing to send").hint("pass --request-body JSON or --input-file")
        })?;
        return invoke_over_grpc(api, &session, &args, &file, (fid, vid), body).await;
    }
    let is_llm = function
        .as_ref()
        .and_then(|f| f.function_type.as_deref())
        .is_some_and(|t| t.eq_ignore_ascii_case("LLM"));
    if is_llm {
        let f = function.as_ref().expect("LLM functions were looked up");
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
        let model = match args.model_name.clone().or_else(|| s("modelName")) {
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
        let body = match (body, &args.message) {
            (Some(b), _) => b,
            (None, Some(m)) => match args.api {
                LlmApi::Chat => json!({"messages": [{"role": "user", "content": m}]}),
                LlmApi::Responses | LlmApi::Embeddings => json!({"input": m}),
            },
            (None, None) => {
                return Err(Error::usage("nothing to send")
                    .hint("pass --message TEXT or --request-body JSON"));
            }
        };
        let inv = LlmInvoke {
            api: args.api,
            function_id: fid,
            model,
            body,
            stream: args.stream,
            session_id: args.session_id.clone(),
        };
        if args.stream {
            let mut out = api.ctx.stdout();
            invoke::llm_stream(&session.client, &inv, |text| {
                out.write_all(nvcf_shared::base::secret::redact(text).as_bytes())
                    .and_then(|()| out.flush())
                    .map_err(|e| Error::io(format!("cannot write output: {e}")).with_source(e))
            })
            .await?;
            return nvcf_shared::base::output::write_out(&mut out, "\n");
        }
        let resp = invoke::llm(&session.client, &inv).await?;
        let text = resp["choices"][0]["message"]["content"]
            .as_str()
            .map(str::to_owned)
            .or_else(|| responses_text(&resp))
            .unwrap_or_else(|| serde_json::to_string_pretty(&resp).unwrap_or_default());
        return api.print(&View::new(&resp).text(text), args.output.output);
    }
    let Some(body) = body else {
        return Err(
            Error::usage("nothing to send").hint("pass --request-body JSON or --input-file")
        );
    };
    let path = path_override
        .or_else(|| function.as_ref().and_then(|f| f.inference_url.clone()))
        .ok_or_else(|| {
            Error::usage("the function has no inferenceUrl").hint("pass --inference-url PATH")
        })?;
    let inv = HttpInvoke {
        function_id: fid,
        path,
        body,
        poll_seconds: args
            .input_file
            .as_ref()
            .and(file.get("pollDurationSeconds").and_then(Value::as_u64))
            .map_or(args.poll_duration, |p| p as u32),
        timeout: Duration::from_secs(
            file.get("timeout")
                .and_then(Value::as_u64)
                .unwrap_or(args.timeout),
        ),
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
    api.print(&View::new(&result).text(text), args.output.output)
}

async fn invoke_over_grpc(
    api: &Api<'_>,
    session: &Session,
    args: &InvokeArgs,
    file: &Value,
    (fid, vid): (String, String),
    body: Value,
) -> Result<()> {
    let s = |k: &str| file.get(k).and_then(Value::as_str).map(str::to_owned);
    // Upstream sends only the function API key here, never the admin token.
    let key = session.client.credentials().api_key.ok_or_else(|| {
        Error::new(
            nvcf_shared::base::error::Category::Auth,
            "API key required for function invocation",
        )
        .hint("run `kubectl nvcf api-key generate --for function`")
    })?;
    let inv = invoke_grpc::GrpcInvoke {
        target: session.grpc_target(),
        plaintext: args.grpc_plaintext
            || file.get("grpcPlaintext").and_then(Value::as_bool) == Some(true),
        ca_bundle: api.connect.ca_bundle.clone(),
        service: s("grpcService").unwrap_or_else(|| args.grpc_service.clone()),
        method: s("grpcMethod").unwrap_or_else(|| args.grpc_method.clone()),
        function_id: fid,
        version_id: Some(vid).filter(|v| !v.is_empty()),
        poll_seconds: file
            .get("pollDurationSeconds")
            .and_then(Value::as_u64)
            .map_or(args.poll_duration, |p| p as u32),
        timeout: Duration::from_secs(
            file.get("timeout")
                .and_then(Value::as_u64)
                .unwrap_or(args.timeout),
        ),
        body,
    };
    if api.connect.insecure_skip_tls_verify {
        return Err(Error::usage(
            "--insecure-skip-tls-verify does not apply to gRPC invocation",
        )
        .hint("trust grpc-proxy's CA with --ca-bundle FILE, or use --grpc-plaintext for a proxy without TLS"));
    }
    let reply = invoke_grpc::invoke(&inv, &key).await?;
    let text = serde_json::to_string_pretty(&reply).unwrap_or_default();
    api.print(&View::new(&reply).text(text), args.output.output)
}
