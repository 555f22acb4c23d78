//! The HTTP API: a thin axum router over plain async functions. Every route
//! is declared once ([`route_spec::RouteSpec`], in each area's file), with
//! its method, path, summary, the roles it allows and its contract
//! (parameters, body, answers); the router and the OpenAPI document
//! ([`openapi`], with the schemas of [`openapi_schemas`]) are both built
//! from that list ([`router`]). Module calls
//! run on the blocking pool ([`blocking`]); every clinical and admin action
//! passes through an [`act::Act`], which checks the caller's role
//! ([`caller`]) and writes the audit entry, refusals and failures included.
//!
//! The console's pages ([`console`]) are served beside the API and use it
//! like any client; in development mode its sign-in page gets a token from
//! `dev_sign_in`.
//!
//! The files below only import downwards: the area files (`admin`,
//! `allergies`, `bulk_export`, `cds`, `dev_sign_in`, `directory`, `import_routes`,
//! `lifecycle_routes`, `prescribing`, `scheduling`) use the shared pieces
//! (`act`, `blocking`, `caller`, `error`, `record_import`, `record_set`,
//! `route_spec`, `state`), and the
//! router uses the area files, `console` and `openapi`, which uses
//! `openapi_schemas`.

pub mod act;
mod admin;
mod allergies;
pub mod blocking;
pub mod bulk_client;
mod bulk_export;
pub mod caller;
mod cds;
pub mod config;
mod console;
mod dev_sign_in;
mod directory;
pub mod error;
pub mod fhir;
pub mod identity;
mod import_routes;
mod lifecycle_routes;
pub mod openapi;
pub mod openapi_schemas;
mod prescribing;
pub mod record_import;
pub mod record_set;
pub mod refusals;
pub mod responses;
pub mod route_spec;
pub mod router;
mod scheduling;
pub mod server;
pub mod state;
pub mod token_cache;

pub use error::ApiError;
pub use router::{openapi_document, router, routes};
pub use state::AppState;
