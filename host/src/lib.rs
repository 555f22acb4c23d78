//! # Patchbay
//!
//! A host runtime that runs supplier modules (WebAssembly components) against
//! open care standards (WIT packages under `wit/`), keeps the organisation's
//! records in its own store, and lets a module be swapped for another
//! supplier's at runtime without moving the records.
//!
//! The code follows the three lifetimes of the design:
//! - engine ([`engine`]): the wasmtime engine, the linker with every host
//!   interface ([`interfaces`]), the epoch thread;
//! - deployment ([`deployment`], [`module`], [`slot`]): a compiled, checked
//!   module bound to an organisation's slot, with its limits and grants;
//! - call ([`call`]): a store, a fresh instance and a transaction per call,
//!   driven through the typed clients [`scheduling`] and [`prescribing`].

pub mod api;
pub mod audit;
pub mod bindings;
pub mod bundled;
pub mod cache;
pub mod call;
pub mod codes;
pub mod config;
pub mod conformance;
pub mod demo;
pub mod deploy;
pub mod deployment;
pub mod engine;
pub mod fhir;
pub mod health;
pub mod identity;
pub mod inspect;
pub mod interfaces;
pub mod metrics;
pub mod module;
pub mod module_log;
pub mod package;
pub mod prescribing;
pub mod private_files;
pub mod readiness;
pub mod registry;
pub mod scheduling;
pub mod server;
pub mod slot;
pub mod standard;
pub mod store;
pub mod trial;

pub use call::{CallContext, CallError};
pub use engine::{EngineSettings, Runtime};
pub use module::{LoadError, Module, ModuleId};
pub use standard::Standard;
pub use store::RecordStore;
