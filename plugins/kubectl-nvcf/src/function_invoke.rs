//! `function invoke` (see `operations::api::invoke`).

use crate::api::Api;
use clap::Args;
use nvcf_shared::Result;
use nvcf_shared::base::output::OutputArgs;
use nvcf_shared::clients::nvcf::function_ids::Ids;
use nvcf_shared::clients::nvcf::grpc as invoke_grpc;
use nvcf_shared::clients::nvcf::invoke::LlmApi;
use nvcf_shared::operations::api::invoke::{self, Grpc, Invocation};
use std::path::PathBuf;

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

pub async fn run(api: &Api<'_>, args: InvokeArgs) -> Result<()> {
    let session = api.session()?;
    let req = Invocation {
        ids: args.ids,
        input_file: args.input_file,
        request_body: args.request_body,
        message: args.message,
        inference_url: args.inference_url,
        model_name: args.model_name,
        api: args.api,
        stream: args.stream,
        session_id: args.session_id,
        poll_duration: args.poll_duration,
        timeout: args.timeout,
        grpc: Grpc {
            forced: args.grpc,
            service: args.grpc_service,
            method: args.grpc_method,
            plaintext: args.grpc_plaintext,
            ca_bundle: api.connect.ca_bundle.clone(),
            insecure_skip_tls_verify: api.connect.insecure_skip_tls_verify,
        },
    };
    match invoke::run(&session, &req, || api.ctx.stdout()).await? {
        Some(view) => api.print(&view, args.output.output),
        None => Ok(()),
    }
}
