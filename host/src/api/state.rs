//! What every handler shares: the runtime, the token verifier, the
//! configuration, and the count of refused tokens.

use std::sync::Arc;

use crate::api::config::Config;
use crate::api::identity::Verifier;
use crate::api::refusals::Refusals;
use crate::runtime::engine::Runtime;

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
