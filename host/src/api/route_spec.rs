//! One route of the API as declared: method, path, summary, the roles it
//! allows, and its handler. The router and the OpenAPI document are both
//! built from the list of them, so they cannot disagree.

use axum::http::Method;
use axum::routing::MethodRouter;

use crate::api::identity::Role;
use crate::api::state::AppState;

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
