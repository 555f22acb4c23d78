//! The router over every route ([`routes`]) and the console's pages, with a
//! tracing span, a
//! deadline and metrics per request, a body-size limit, the fallback 404,
//! and the OpenAPI document built from the same routes.

use std::time::Instant;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get};
use serde_json::Value;

use crate::api::caller::RequestOrg;
use crate::api::error::ApiError;
use crate::api::route_spec::{Answer, MAX_BODY_BYTES, RouteSpec};
use crate::api::state::AppState;
use crate::api::{
    admin, allergies, bulk_export, cds, console, dev_sign_in, directory, import_routes,
    lifecycle_routes, openapi, prescribing, scheduling,
};
use crate::runtime::bindings::IssueCode;

/// Every route of the API.
pub fn routes() -> Vec<RouteSpec> {
    let mut all = Vec::new();
    all.extend(admin::routes());
    all.extend(lifecycle_routes::routes());
    all.extend(scheduling::routes());
    all.extend(directory::routes());
    all.extend(prescribing::routes());
    all.extend(allergies::routes());
    all.extend(bulk_export::routes());
    all.extend(import_routes::routes());
    all.extend(cds::routes());
    all.extend(dev_sign_in::routes());
    all.push(RouteSpec {
        method: Method::GET,
        path: "/openapi.json",
        summary: "This API as an OpenAPI 3.1 document",
        roles: &[],
        params: vec![],
        body: None,
        answers: vec![Answer::json(200, "OpenApiDocument", "This document")],
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
        .merge(console::router(&state.config.identity))
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
    openapi::document(&routes())
}
