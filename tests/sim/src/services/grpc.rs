//! grpc-proxy: gRPC invocation routed by the `function-id` metadata, not by Host. In the stack
//! it listens on TCP :10081; the sim serves it on its own port and tells it apart by the
//! `application/grpc` content type. The simulated worker is grpc-echo-sample: whatever message
//! arrives is the reply, so any `/<service>/<method>` works, as it does through the real proxy.

use std::sync::Arc;

use axum::body::Body;
use bytes::{Buf, BufMut, Bytes};
use http::{HeaderMap, Request, Response};
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::server::{Grpc, UnaryService};
use tonic::{Code, Status};
use uuid::Uuid;

use crate::auth::{Denied, Namespace, authenticate};
use crate::services::functions::Status as FunctionStatus;
use crate::state::SimState;

pub fn is_grpc(headers: &HeaderMap) -> bool {
    headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/grpc"))
}

/// Serves one gRPC call; the answer carries `grpc-status` in its trailers.
pub async fn handle<B>(state: Arc<SimState>, req: Request<B>) -> Response<Body>
where
    B: http_body::Body + Send + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>> + Send,
{
    let mut grpc = Grpc::new(RawCodec);
    grpc.unary(Echo { state }, req).await.map(Body::new)
}

struct Echo {
    state: Arc<SimState>,
}

impl UnaryService<Bytes> for Echo {
    type Response = Bytes;
    type Future = std::future::Ready<Result<tonic::Response<Bytes>, Status>>;

    fn call(&mut self, request: tonic::Request<Bytes>) -> Self::Future {
        std::future::ready(
            admit(&self.state, &request.metadata().clone().into_headers()).map(|version| {
                *self
                    .state
                    .lock()
                    .invocations
                    .served
                    .entry(version)
                    .or_default() += 1;
                tonic::Response::new(request.into_inner())
            }),
        )
    }
}

/// What grpc-proxy checks before forwarding: the caller's key (through NVCF's invocation
/// auth), the function id, and a deployed version the key may use. Returns that version.
fn admit(state: &SimState, md: &HeaderMap) -> Result<Uuid, Status> {
    let caller = authenticate(state, md, Namespace::Nvcf, false).map_err(|d| match d {
        Denied::MissingHeader | Denied::NotBearer => {
            Status::unauthenticated("missing authorization metadata: Bearer <api key>")
        }
        Denied::KeyRejected | Denied::InvalidJwt(_) | Denied::UnknownClient(_) => {
            Status::unauthenticated("invalid credentials")
        }
        Denied::Scope => Status::permission_denied("missing scope invoke_function"),
    })?;
    caller
        .require("invoke_function")
        .map_err(|_| Status::permission_denied("missing scope invoke_function"))?;
    let id = |name: &str| -> Result<Option<Uuid>, Status> {
        md.get(name)
            .map(|v| {
                v.to_str()
                    .ok()
                    .and_then(|s| Uuid::parse_str(s).ok())
                    .ok_or_else(|| Status::invalid_argument(format!("{name} is not a UUID")))
            })
            .transpose()
    };
    let fid = id("function-id")?.ok_or_else(|| {
        Status::invalid_argument("function-id metadata is required for gRPC invocation")
    })?;
    let vid = id("function-version-id")?;
    let mut inner = state.lock();
    inner.functions.tick(state.config.deploy_outcome);
    let versions = inner.functions.of_function(&caller.nca_id, fid);
    let Some(version) = versions
        .iter()
        .filter(|v| vid.is_none_or(|x| x == v.version_id))
        .find(|v| v.status.invocable())
    else {
        return Err(
            if versions
                .iter()
                .any(|v| v.status == FunctionStatus::Deploying)
            {
                Status::unavailable(format!("function {fid} is still deploying"))
            } else {
                Status::not_found(format!(
                    "function {fid} has no deployed version in account {}",
                    caller.nca_id
                ))
            },
        );
    };
    if !caller.can_use_function(fid, version.version_id) {
        return Err(Status::new(
            Code::PermissionDenied,
            format!("the API key has no resource entry for function {fid}"),
        ));
    }
    Ok(version.version_id)
}

/// Messages pass through as bytes: the echo worker needs no schema. (The client has its own
/// copy on purpose: the simulator shares no code with what it tests.)
#[derive(Clone, Copy, Default)]
struct RawCodec;

impl Codec for RawCodec {
    type Encode = Bytes;
    type Decode = Bytes;
    type Encoder = RawCodec;
    type Decoder = RawCodec;

    fn encoder(&mut self) -> RawCodec {
        RawCodec
    }

    fn decoder(&mut self) -> RawCodec {
        RawCodec
    }
}

impl Encoder for RawCodec {
    type Item = Bytes;
    type Error = Status;

    fn encode(&mut self, item: Bytes, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        dst.put(item);
        Ok(())
    }
}

impl Decoder for RawCodec {
    type Item = Bytes;
    type Error = Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Bytes>, Status> {
        Ok(Some(src.copy_to_bytes(src.remaining())))
    }
}
