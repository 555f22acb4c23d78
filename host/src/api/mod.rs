//! The HTTP API: a thin axum router over plain async functions. Every route
//! is declared once in [`routes`], with its method, path, summary and the
//! roles it allows; the router and the OpenAPI document are both built from
//! that table. Module calls run on the blocking pool; every clinical and admin
//! action passes through an [`Act`], which checks the caller's role and
//! writes the audit entry, refusals and failures included.

mod admin;
mod cds;
pub mod config;
pub mod fhir;
pub mod identity;
mod lifecycle_routes;
mod prescribing;
mod refusals;
mod scheduling;
pub mod server;

pub use refusals::Refusals;

use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header, request::Parts};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get};
use serde_json::{Value, json};

use crate::api::config::Config;
use crate::api::identity::{AuthError, Principal, Role, Verifier};
use crate::runtime::bindings::IssueCode;
use crate::runtime::call::{AuditOnCommit, CallContext, CallError, now_ms};
use crate::runtime::engine::Runtime;
use crate::runtime::function_slot::RouteKey;
use crate::store::audit;
use fhir::Invalid;

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    /// The host runtime.
    pub runtime: Runtime,
    /// Verifies bearer tokens.
    pub verifier: Arc<Verifier>,
    /// The configuration.
    pub config: Arc<Config>,
    /// Audits refused tokens, within a rate.
    pub refusals: Arc<Refusals>,
}

/// An error answer: an HTTP status and an OperationOutcome.
#[derive(Debug)]
pub struct ApiError {
    /// The status.
    pub status: StatusCode,
    /// The OperationOutcome.
    pub body: Value,
    /// For the audit trail: a short outcome label.
    pub label: String,
}

impl ApiError {
    /// An error with one issue.
    pub fn new(status: StatusCode, code: IssueCode, diagnostics: impl Into<String>) -> ApiError {
        let diagnostics = diagnostics.into();
        ApiError {
            status,
            body: fhir::error_outcome(code, &diagnostics, None),
            label: format!("{}: {diagnostics}", status.as_u16()),
        }
    }

    /// 403: the caller may not do this.
    pub fn forbidden(diagnostics: impl Into<String>) -> ApiError {
        Self::new(StatusCode::FORBIDDEN, IssueCode::Forbidden, diagnostics)
    }
}

impl From<Invalid> for ApiError {
    fn from(e: Invalid) -> ApiError {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            body: fhir::error_outcome(IssueCode::Invalid, &e.message, e.expression.as_deref()),
            label: format!("400: {}", e.message),
        }
    }
}

impl From<AuthError> for ApiError {
    fn from(e: AuthError) -> ApiError {
        Self::new(
            StatusCode::UNAUTHORIZED,
            IssueCode::Forbidden,
            e.to_string(),
        )
    }
}

impl From<CallError> for ApiError {
    fn from(e: CallError) -> ApiError {
        let status = match &e {
            CallError::Refused(outcome) => match outcome.code() {
                IssueCode::Invalid
                | IssueCode::Required
                | IssueCode::Value
                | IssueCode::TooLong => StatusCode::BAD_REQUEST,
                IssueCode::NotFound => StatusCode::NOT_FOUND,
                IssueCode::Conflict | IssueCode::Duplicate => StatusCode::CONFLICT,
                IssueCode::BusinessRule | IssueCode::Processing => StatusCode::UNPROCESSABLE_ENTITY,
                IssueCode::Forbidden => StatusCode::FORBIDDEN,
                IssueCode::NotSupported => StatusCode::BAD_REQUEST,
                IssueCode::Timeout => StatusCode::SERVICE_UNAVAILABLE,
                IssueCode::Exception => StatusCode::INTERNAL_SERVER_ERROR,
            },
            CallError::Timeout { .. }
            | CallError::OutOfMemory { .. }
            | CallError::Trapped { .. }
            | CallError::NoModule { .. } => StatusCode::SERVICE_UNAVAILABLE,
            CallError::Host(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        let body = match &e {
            CallError::Refused(outcome) => fhir::operation_outcome(outcome),
            CallError::Timeout { .. } => {
                fhir::error_outcome(IssueCode::Timeout, &e.to_string(), None)
            }
            other => fhir::error_outcome(
                IssueCode::Exception,
                &format!("{other}: try again shortly"),
                None,
            ),
        };
        ApiError {
            status,
            body,
            label: format!("{}: {e}", status.as_u16()),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status, fhir_json(self.body)).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

/// A JSON body with the FHIR media type.
pub fn fhir_json(body: Value) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/fhir+json"),
        )],
        body.to_string(),
    )
        .into_response()
}

/// The caller's organisation, filled in once their token is verified: the
/// request's metrics are counted under it.
#[derive(Clone, Default)]
struct RequestOrg(Arc<std::sync::OnceLock<String>>);

impl FromRequestParts<AppState> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Principal, ApiError> {
        match verify_caller(parts, state) {
            Ok(principal) => {
                if let Some(org) = parts.extensions.get::<RequestOrg>() {
                    let _ = org.0.set(principal.organisation.clone());
                }
                Ok(principal)
            }
            Err(error) => {
                state.refusals.audit(state, parts, &error).await;
                Err(error)
            }
        }
    }
}

/// The caller of a request, from its bearer token.
fn verify_caller(parts: &Parts, state: &AppState) -> Result<Principal, ApiError> {
    let value = parts
        .headers
        .get(header::AUTHORIZATION)
        .ok_or(AuthError::Missing)?
        .to_str()
        .map_err(|_| AuthError::Malformed("the Authorization header is not text".into()))?;
    let token = value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("bearer "))
        .ok_or_else(|| {
            AuthError::Malformed("the Authorization header is not `Bearer <token>`".into())
        })?;
    let principal = state.verifier.verify(token.trim())?;
    if !state
        .config
        .organisations
        .contains_key(&principal.organisation)
    {
        return Err(ApiError::forbidden(format!(
            "organisation {} is not served by this host",
            principal.organisation
        )));
    }
    Ok(principal)
}

/// One audited action by a caller in a role.
pub struct Act {
    state: AppState,
    principal: Principal,
    role: Role,
    action: &'static str,
    /// The resource acted on, e.g. `Appointment/…`.
    pub resource: Option<String>,
    /// The patient concerned.
    pub patient: Option<String>,
    /// The module and version that handled it.
    pub module: Option<String>,
    /// More for the audit trail, e.g. an override reason.
    pub detail: Option<String>,
    /// The entry a write call commits with its change, once asked for.
    committed: Option<Arc<AuditOnCommit>>,
}

impl AppState {
    /// Starts an action: the caller must hold one of `roles`; if not, the
    /// refusal is audited and answered 403.
    pub async fn act(
        &self,
        principal: &Principal,
        action: &'static str,
        roles: &[Role],
    ) -> Result<Act, ApiError> {
        let Some(role) = principal.acting_role(roles) else {
            let held: Vec<&str> = principal.roles.iter().map(|r| r.as_str()).collect();
            let allowed: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
            let error = ApiError::forbidden(format!(
                "{action} needs the role {}; the caller has {}",
                allowed.join(" or "),
                held.join(", ")
            ));
            let act = Act {
                state: self.clone(),
                principal: principal.clone(),
                role: principal.roles.first().copied().unwrap_or(Role::Patient),
                action,
                resource: None,
                patient: None,
                module: None,
                detail: None,
                committed: None,
            };
            return act.finish(Err(error)).await;
        };
        Ok(Act {
            state: self.clone(),
            principal: principal.clone(),
            role,
            action,
            resource: None,
            patient: None,
            module: None,
            detail: None,
            committed: None,
        })
    }
}

impl Act {
    /// The role the caller acts in.
    pub fn role(&self) -> Role {
        self.role
    }

    /// The caller.
    pub fn principal(&self) -> &Principal {
        &self.principal
    }

    /// The shared state.
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// The module call context for this caller.
    pub fn call_context(&self) -> CallContext {
        CallContext {
            organisation: self.principal.organisation.clone(),
            user: self.principal.user.clone(),
            user_display: self.principal.name.clone(),
            now: now_ms(),
        }
    }

    /// Whose call this is for a canary's routing, when it names no patient:
    /// a patient's own NHS number, or the caller.
    pub fn route_key(&self) -> RouteKey {
        match (&self.role, &self.principal.nhs_number) {
            (Role::Patient, Some(nhs)) => RouteKey::Patient(nhs.clone()),
            _ => RouteKey::Caller,
        }
    }

    /// For the patient role: refuses anything about another patient.
    pub fn check_patient(&self, nhs_number: &str) -> Result<(), ApiError> {
        if self.role == Role::Patient && self.principal.nhs_number.as_deref() != Some(nhs_number) {
            return Err(ApiError::forbidden(
                "a patient may see and change only their own appointments",
            ));
        }
        Ok(())
    }

    /// For the patient role, reading or changing a resource by id: another
    /// patient's resource is answered exactly as one that does not exist,
    /// so a patient cannot learn which ids are in use. (The audit trail
    /// still says which it was.) Other roles get the answer as it is.
    pub fn patients_own<T>(
        &self,
        kind: &str,
        id: &str,
        found: Result<T, ApiError>,
        patient_of: impl FnOnce(&T) -> &str,
    ) -> Result<T, ApiError> {
        if self.role != Role::Patient {
            return found;
        }
        let missing = |why: &str| {
            let mut error = ApiError::new(
                StatusCode::NOT_FOUND,
                IssueCode::NotFound,
                format!("there is no {kind} {id} among your records"),
            );
            error.label = format!("404: {why}");
            error
        };
        match found {
            Ok(resource) if self.principal.nhs_number.as_deref() == Some(patient_of(&resource)) => {
                Ok(resource)
            }
            Ok(_) => Err(missing("another patient's record")),
            Err(e) if e.status == StatusCode::NOT_FOUND => Err(missing("no such record")),
            Err(e) => Err(e),
        }
    }

    /// The audit entry as it stands, with an outcome.
    fn event(&self, outcome: String) -> audit::Event {
        audit::Event {
            user: self.principal.user.clone(),
            user_name: self.principal.name.clone(),
            org: self.principal.organisation.clone(),
            role: self.role.as_str().to_string(),
            action: self.action.to_string(),
            resource: self.resource.clone(),
            patient: self.patient.clone(),
            outcome,
            detail: self.detail.clone(),
            module: self.module.clone(),
        }
    }

    /// For a clinical write: the audit entry as it stands now, to be
    /// committed in the write call's own transaction (give it to the
    /// module API's `audited`). Set the patient, resource, module and detail
    /// first; the call's answer fills in the resource it made.
    pub fn on_commit(&mut self) -> Arc<AuditOnCommit> {
        let committed = AuditOnCommit::new(self.event(String::new()));
        self.committed = Some(committed.clone());
        committed
    }

    /// Ends the action: writes the audit entry with the result's outcome and
    /// returns the result. A write whose entry was committed with its change
    /// is not recorded twice. A failure to audit fails the request: no
    /// unaudited action.
    pub async fn finish<T>(self, result: Result<T, ApiError>) -> Result<T, ApiError> {
        let committed = self.committed.as_ref().and_then(|c| c.written());
        if result.is_ok() && committed.is_some() {
            return result;
        }
        let outcome = match &result {
            Ok(_) => "success".to_string(),
            Err(e) => e.label.clone(),
        };
        let event = self.event(outcome);
        let runtime = self.state.runtime.clone();
        let written =
            blocking(move || runtime.audit().record(runtime.records(), now_ms(), &event)).await;
        match written {
            Ok(Ok(_)) => result,
            Ok(Err(e)) | Err(e) => {
                tracing::error!(error = %format!("{e:#}"), "cannot write the audit trail");
                Err(ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    IssueCode::Exception,
                    "the action could not be audited, so it is refused",
                ))
            }
        }
    }
}

/// Runs blocking work (a module call, a store query) on the blocking pool.
pub async fn blocking<R: Send + 'static>(
    f: impl FnOnce() -> R + Send + 'static,
) -> anyhow::Result<R> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| anyhow::anyhow!("a blocking task failed: {e}"))
}

/// Runs a module call on the blocking pool, mapping its errors to answers.
pub async fn module_call<R: Send + 'static>(
    f: impl FnOnce() -> Result<R, CallError> + Send + 'static,
) -> Result<R, ApiError> {
    match blocking(f).await {
        Ok(result) => result.map_err(ApiError::from),
        Err(e) => Err(ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            IssueCode::Exception,
            e.to_string(),
        )),
    }
}

/// The largest request body, in bytes, except a module package's.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// The largest module package an admin may upload, in bytes.
pub const MAX_PACKAGE_BYTES: usize = 64 * 1024 * 1024;

/// One route of the API.
pub struct RouteSpec {
    /// The HTTP method.
    pub method: Method,
    /// The path, axum style (`/fhir/Appointment/{id}`).
    pub path: &'static str,
    /// What it does.
    pub summary: &'static str,
    /// The roles allowed; empty for anonymous routes.
    pub roles: &'static [Role],
    /// The handler.
    pub handler: MethodRouter<AppState>,
}

/// Every route of the API.
pub fn routes() -> Vec<RouteSpec> {
    let mut all = Vec::new();
    all.extend(admin::routes());
    all.extend(lifecycle_routes::routes());
    all.extend(scheduling::routes());
    all.extend(prescribing::routes());
    all.extend(cds::routes());
    all.push(RouteSpec {
        method: Method::GET,
        path: "/openapi.json",
        summary: "This API as an OpenAPI 3.1 document",
        roles: &[],
        handler: get(openapi),
    });
    all
}

/// The router over every route, with a tracing span and metrics per request.
pub fn router(state: AppState) -> Router {
    let mut router: Router<AppState> = Router::new();
    let mut by_path: Vec<(&'static str, MethodRouter<AppState>)> = Vec::new();
    for spec in routes() {
        match by_path.iter_mut().find(|(p, _)| *p == spec.path) {
            Some((_, existing)) => {
                let merged = std::mem::take(existing).merge(spec.handler);
                *existing = merged;
            }
            None => by_path.push((spec.path, spec.handler)),
        }
    }
    for (path, handler) in by_path {
        router = router.route(path, handler);
    }
    router
        .fallback(not_found)
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::middleware::from_fn_with_state(state.clone(), observe))
        .with_state(state)
}

async fn not_found(method: Method, uri: axum::http::Uri) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        IssueCode::NotFound,
        format!(
            "there is no {method} {}: see /openapi.json for the API",
            uri.path()
        ),
    )
}

/// A span and metrics for every request.
async fn observe(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let route = request
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "unmatched".to_string());
    let span = tracing::info_span!("request", method = crate::runtime::metrics::method_label(method.as_str()),
        route = %route, status = tracing::field::Empty);
    let org = RequestOrg::default();
    let mut request = request;
    request.extensions_mut().insert(org.clone());
    let started = Instant::now();
    let deadline = std::time::Duration::from_millis(state.config.http.request_timeout_ms);
    let response = {
        let _guard = span.enter();
        tokio::time::timeout(deadline, next.run(request))
    }
    .await
    .unwrap_or_else(|_| {
        ApiError::new(
            StatusCode::REQUEST_TIMEOUT,
            IssueCode::Timeout,
            format!(
                "the request was not complete within {} s: send it again, faster",
                deadline.as_secs()
            ),
        )
        .into_response()
    });
    let status = response.status().as_u16();
    span.record("status", status);
    let elapsed = started.elapsed();
    let org = org
        .0
        .get()
        .map_or(crate::runtime::metrics::ANONYMOUS, String::as_str);
    state
        .runtime
        .metrics()
        .record_request(org, method.as_str(), &route, status, elapsed);
    tracing::info!(parent: &span, elapsed_ms = elapsed.as_secs_f64() * 1000.0, "request done");
    response
}

async fn openapi() -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        openapi_document().to_string(),
    )
        .into_response()
}

/// The OpenAPI document, built from [`routes`].
pub fn openapi_document() -> Value {
    let mut paths = serde_json::Map::new();
    for spec in routes() {
        let path = paths
            .entry(spec.path.to_string())
            .or_insert_with(|| json!({}));
        let params: Vec<Value> = spec
            .path
            .split('/')
            .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .map(|name| json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}}))
            .collect();
        let roles: Vec<&str> = spec.roles.iter().map(|r| r.as_str()).collect();
        let mut op = json!({
            "summary": spec.summary,
            "parameters": params,
            "responses": {
                "200": {"description": "Success"},
                "400": {"description": "Invalid request (OperationOutcome)"},
                "401": {"description": "No valid bearer token (OperationOutcome)"},
                "403": {"description": "Role or organisation not allowed (OperationOutcome)"},
                "404": {"description": "Not found (OperationOutcome)"},
                "409": {"description": "Conflict (OperationOutcome)"},
                "422": {"description": "Refused by the module's policy (OperationOutcome)"},
                "503": {"description": "Module unavailable or timed out (OperationOutcome)"}
            }
        });
        if roles.is_empty() {
            op["security"] = json!([]);
        } else {
            op["x-roles"] = json!(roles);
            op["description"] = json!(format!("Roles: {}.", roles.join(", ")));
        }
        if matches!(spec.method, Method::POST | Method::PUT) {
            op["requestBody"] = json!({"required": true, "content": {"application/fhir+json": {"schema": {"type": "object"}}}});
        }
        path[spec.method.as_str().to_lowercase()] = op;
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Patchbay",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "FHIR R4 and CDS Hooks over supplier modules that implement the open care standards."
        },
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}}},
        "security": [{"bearer": []}],
        "paths": paths,
    })
}
