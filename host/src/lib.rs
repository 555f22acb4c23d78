//! # Patchbay
//!
//! A host runtime that runs supplier modules (WebAssembly components) against
//! open care standards (WIT packages under `wit/`), keeps the organisation's
//! records in its own store, and lets a module be swapped for another
//! supplier's at runtime without moving the records.
//!
//! Four folders, imports running one way (`api` → `lifecycle` → `runtime` →
//! `store`); see `docs/architecture.md`:
//! - [`api`]: the HTTP API (FHIR R4, CDS Hooks, admin), identity, the
//!   configuration and the server;
//! - [`lifecycle`]: admitting, proving and deploying modules, trials,
//!   start-up, and the supervisor that acts on failing deployments;
//! - [`runtime`]: the engine, modules, deployments, slots, the call and the
//!   host interfaces modules import;
//! - [`store`]: the records, the audit trail, private files.

pub mod api;
pub mod lifecycle;
pub mod runtime;
pub mod store;

pub use runtime::call_error::CallError;
pub use runtime::call_state::CallContext;
pub use runtime::engine::{EngineSettings, Runtime};
pub use runtime::module::{LoadError, Module, ModuleId};
pub use runtime::standard::Standard;
pub use store::records::RecordStore;
