//! The admin token issuer proxy behind `api-keys.<domain>/v1/admin/keys` (endpoints.md §1).

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::post;
use axum::{Extension, Router};
use serde_json::json;
use time::Duration;
use uuid::Uuid;

use crate::auth::{ADMIN_SCOPES, NVCF_SERVICE_ID};
use crate::state::{ReqMeta, SimState, json};
use crate::util::{now, ts};

pub fn router(state: Arc<SimState>) -> Router {
    Router::new()
        .route("/v1/admin/keys", post(mint))
        .with_state(state)
}

/// No authentication: the proxy mints a JWT for whoever asks (the chart's behaviour).
async fn mint(
    State(state): State<Arc<SimState>>,
    Extension(_meta): Extension<ReqMeta>,
) -> Response {
    let scopes: Vec<String> = ADMIN_SCOPES.iter().map(|s| s.to_string()).collect();
    let ttl = state.config.admin_token_ttl.as_secs() as i64;
    let (token, claims) = state.jwt.mint(&state.config.admin_client_id, &scopes, ttl);
    let created = now();
    json(
        StatusCode::OK,
        &json!({
            "id": Uuid::new_v4(),
            "value": token,
            "status": "ACTIVE",
            "owner_type": "SYSTEM",
            "owner_id": "admin-issuer-proxy",
            "issuer_service_id": NVCF_SERVICE_ID,
            "audience_service_ids": [NVCF_SERVICE_ID],
            "description": "Admin token",
            "created_at": ts(created),
            "expires_at": ts(created + Duration::seconds(ttl)),
            "authorizations": {"policies": [{"aud": NVCF_SERVICE_ID, "scopes": claims.scopes}]},
        }),
    )
}
