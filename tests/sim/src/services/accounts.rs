//! NVCF accounts (`/v2/nvcf/accounts*`, super-admin `account_setup`; endpoints.md §3.5),
//! and the client-id → account map the JWT path uses.

use std::sync::{Arc, LazyLock};

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Extension, Router};
use regex::Regex;
use serde_json::{Value, json};
use time::OffsetDateTime;

use super::{bean, has, str_field};
use crate::auth::{Denied, Namespace, authenticate, denial};
use crate::config::SimConfig;
use crate::contract::{Shape, Spec};
use crate::errors::{ApiError, ApiResult};
use crate::state::{ReqMeta, SimState, spring_json};
use crate::util::{now, ts};

#[derive(Debug, Clone)]
pub struct Account {
    nca_id: String,
    name: String,
    admin_client_ids: Vec<String>,
    max_functions: u64,
    max_tasks: u64,
    max_telemetries: u64,
    max_registry_credentials: u64,
    updated_at: OffsetDateTime,
}

impl Account {
    fn dto(&self) -> Value {
        json!({"ncaId": self.nca_id, "adminClientIds": self.admin_client_ids, "name": self.name,
            "maxFunctionsAllowed": self.max_functions, "maxTasksAllowed": self.max_tasks,
            "maxTelemetriesAllowed": self.max_telemetries, "maxRegistryCredentialsAllowed": self.max_registry_credentials,
            "lastUpdatedAt": ts(self.updated_at)})
    }
}

#[derive(Default)]
pub struct Store {
    accounts: Vec<Account>,
}

impl Store {
    /// The self-managed stack's bootstrap account (`accountBootstrap`).
    pub fn bootstrap(config: &SimConfig) -> Self {
        Self {
            accounts: vec![Account {
                nca_id: config.account.clone(),
                name: config.account.clone(),
                admin_client_ids: vec![config.admin_client_id.clone()],
                max_functions: config.max_functions as u64,
                max_tasks: 10,
                max_telemetries: 10,
                max_registry_credentials: 10,
                updated_at: now(),
            }],
        }
    }

    pub fn account_for_client(&self, client_id: &str) -> Option<String> {
        self.accounts
            .iter()
            .find(|a| a.admin_client_ids.iter().any(|c| c == client_id))
            .map(|a| a.nca_id.clone())
    }

    pub fn max_functions(&self, nca: &str, default: usize) -> usize {
        self.accounts
            .iter()
            .find(|a| a.nca_id == nca)
            .map(|a| a.max_functions as usize)
            .unwrap_or(default)
    }
}

pub fn router(state: Arc<SimState>) -> Router {
    Router::new()
        .route("/v2/nvcf/accounts", get(list))
        .route(
            "/v2/nvcf/accounts/{nca}",
            axum::routing::post(create).patch(update).delete(remove),
        )
        .with_state(state)
}

/// `account_setup`; POST and DELETE accept only the JWT form.
fn admin(state: &SimState, meta: &ReqMeta, headers: &HeaderMap, jwt_only: bool) -> ApiResult<()> {
    let caller = authenticate(state, headers, Namespace::Nvcf, meta.token_expired)
        .map_err(|d| denial(meta.service, d))?;
    let ok = if jwt_only {
        caller.has_jwt_scope("account_setup")
    } else {
        caller.has("account_setup")
    };
    if ok {
        Ok(())
    } else {
        Err(denial(meta.service, Denied::Scope))
    }
}

async fn list(
    State(state): State<Arc<SimState>>,
    Extension(meta): Extension<ReqMeta>,
    headers: HeaderMap,
) -> ApiResult {
    admin(&state, &meta, &headers, false)?;
    let all: Vec<Value> = state
        .lock()
        .accounts
        .accounts
        .iter()
        .map(Account::dto)
        .collect();
    state.respond(
        &meta,
        Spec::Nvcf,
        Shape::Component("ListAccountResponse"),
        StatusCode::OK,
        json!({ "cloudAccounts": all }),
    )
}

static NAME: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[a-z0-9A-Z][a-z0-9A-Z\-_]*$").expect("static regex"));

fn limit(req: &Value, key: &str, max: u64, object: &str) -> ApiResult<Option<u64>> {
    match req.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => match v.as_u64() {
            Some(n) if n >= 1 && n <= max => Ok(Some(n)),
            _ => Err(bean(
                object,
                key,
                v,
                &format!("must be between 1 and {max}"),
            )),
        },
    }
}

async fn create(
    State(state): State<Arc<SimState>>,
    Extension(meta): Extension<ReqMeta>,
    Path(nca): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    admin(&state, &meta, &headers, true)?;
    let req = spring_json(&headers, &body)?;
    let o = "createAccountRequest";
    let name = str_field(&req, "name").unwrap_or_default();
    if !(4..=36).contains(&name.len()) || !NAME.is_match(name) {
        return Err(bean(
            o,
            "name",
            req.get("name").unwrap_or(&Value::Null),
            "Invalid account name: Must conform to regex ^[a-z0-9A-Z][a-z0-9A-Z\\-_]*$",
        ));
    }
    let account = Account {
        nca_id: nca.clone(),
        name: name.into(),
        admin_client_ids: str_field(&req, "adminClientId")
            .map(|c| vec![c.to_string()])
            .unwrap_or_default(),
        max_functions: limit(&req, "maxFunctionsAllowed", 50, o)?.unwrap_or(5),
        max_tasks: limit(&req, "maxTasksAllowed", 50, o)?.unwrap_or(1),
        max_telemetries: limit(&req, "maxTelemetriesAllowed", 25, o)?.unwrap_or(10),
        max_registry_credentials: limit(&req, "maxRegistryCredentialsAllowed", 25, o)?
            .unwrap_or(10),
        updated_at: now(),
    };
    let mut inner = state.lock();
    if inner.accounts.accounts.iter().any(|a| a.nca_id == nca) {
        return Err(ApiError::problem(
            409,
            format!("Account with ncaId '{nca}' already exists"),
        ));
    }
    let dto = account.dto();
    inner.accounts.accounts.push(account);
    state.respond(
        &meta,
        Spec::Nvcf,
        Shape::Wrapped("account", "AccountDto"),
        StatusCode::OK,
        json!({ "account": dto }),
    )
}

async fn update(
    State(state): State<Arc<SimState>>,
    Extension(meta): Extension<ReqMeta>,
    Path(nca): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    admin(&state, &meta, &headers, false)?;
    let req = spring_json(&headers, &body)?;
    let o = "updateAccountRequest";
    let keys = [
        "maxFunctionsAllowed",
        "maxTasksAllowed",
        "maxTelemetriesAllowed",
        "maxRegistryCredentialsAllowed",
        "adminClientId",
    ];
    if !keys.iter().any(|k| has(&req, k)) {
        return Err(ApiError::bad_request(
            "Invalid request: at least one field must be specified",
        ));
    }
    let (f, t) = (
        limit(&req, "maxFunctionsAllowed", 50, o)?,
        limit(&req, "maxTasksAllowed", 50, o)?,
    );
    let (tel, reg) = (
        limit(&req, "maxTelemetriesAllowed", 50, o)?,
        limit(&req, "maxRegistryCredentialsAllowed", 50, o)?,
    );
    let mut inner = state.lock();
    let a = inner
        .accounts
        .accounts
        .iter_mut()
        .find(|a| a.nca_id == nca)
        .ok_or_else(|| ApiError::not_found(format!("Account '{nca}': Not found")))?;
    a.max_functions = f.unwrap_or(a.max_functions);
    a.max_tasks = t.unwrap_or(a.max_tasks);
    a.max_telemetries = tel.unwrap_or(a.max_telemetries);
    a.max_registry_credentials = reg.unwrap_or(a.max_registry_credentials);
    if let Some(c) = str_field(&req, "adminClientId") {
        a.admin_client_ids.push(c.to_string());
    }
    a.updated_at = now();
    let dto = a.dto();
    state.respond(
        &meta,
        Spec::Nvcf,
        Shape::Wrapped("account", "AccountDto"),
        StatusCode::OK,
        json!({ "account": dto }),
    )
}

async fn remove(
    State(state): State<Arc<SimState>>,
    Extension(meta): Extension<ReqMeta>,
    Path(nca): Path<String>,
    headers: HeaderMap,
) -> ApiResult {
    admin(&state, &meta, &headers, true)?;
    let mut inner = state.lock();
    let before = inner.accounts.accounts.len();
    inner.accounts.accounts.retain(|a| a.nca_id != nca);
    if inner.accounts.accounts.len() == before {
        return Err(ApiError::not_found(format!("Account '{nca}': Not found")));
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}
