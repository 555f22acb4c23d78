//! The runtime: what runs a module call. It lives at the three lifetimes of
//! the design:
//! - engine ([`engine`]): the wasmtime engine, the linker with every host
//!   interface ([`interfaces`]), the epoch thread, the compiled-artifact
//!   cache ([`artifact_cache`]);
//! - deployment ([`deployment`], [`module`], [`function_slot`],
//!   [`export`]): a compiled, checked module bound to an organisation's care
//!   function, with its limits, grants, health and checked exports;
//! - call ([`call`], [`call_state`], [`transaction`]): a store, a fresh
//!   instance and a transaction per call, driven through the typed clients
//!   ([`client`], [`scheduling`], [`prescribing`]).
//!
//! The runtime never changes a slot on its own: a call records its outcome
//! ([`health`]) and reports a failing deployment to whoever supervises the
//! runtime (the lifecycle). It imports only the store.

pub mod admission;
pub mod artifact_cache;
pub mod bindings;
pub mod bundled;
pub mod call;
pub mod call_error;
pub mod call_state;
pub mod client;
pub mod codes;
pub mod deployment;
pub mod engine;
pub mod export;
pub mod function_slot;
pub mod health;
pub mod interfaces;
pub mod metrics;
pub mod module;
pub mod module_log;
pub mod prescribing;
pub mod scheduling;
pub mod standard;
pub mod transaction;
pub mod trial;
