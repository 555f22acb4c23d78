//! The lifecycle: how modules come to serve, and stop serving. It starts
//! them ([`scaffold`]: a new module's skeleton), admits
//! modules ([`package`], [`registry`], [`inspect`]), proves them
//! ([`conformance`], [`readiness`]), changes what a slot serves ([`rollout`]:
//! deploy, roll back, canary, shadow, promote, abort), brings every slot back
//! at start-up ([`startup`]), keeps replicas on one PostgreSQL store alike
//! ([`replication`]), and acts on failing deployments the runtime
//! reports ([`supervisor`]). It imports the runtime and the store, never the
//! API.

pub mod conformance;
pub mod inspect;
pub mod loading;
pub mod package;
pub mod readiness;
pub mod registry;
pub mod replication;
pub mod rollout;
pub mod scaffold;
pub mod startup;
pub mod supervisor;
