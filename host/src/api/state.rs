//! What every handler shares: the runtime, the token verifier, the
//! configuration, the count of refused tokens, and the development key
//! while it is trusted.

use std::sync::Arc;

use crate::api::config::Config;
use crate::api::identity::{DevKey, Verifier};
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
    /// The development key, while the host trusts it (development mode with
    /// no JWKS): the console's development sign-in signs with it.
    pub dev_key: Option<Arc<DevKey>>,
}
