//! The one way a registered module becomes a deployment, whoever asks:
//! start-up restoring a slot, a deploy, a canary, a shadow, a rollback.
//! Compile it (or take it from memory or the artifact cache), check it
//! implements the slot's standard, and link it with its limits and grants.

use std::sync::Arc;
use std::time::Instant;

use crate::lifecycle::registry::StoredModule;
use crate::runtime::artifact_cache::Origin;
use crate::runtime::deployment::{Deployment, Grants, Limits};
use crate::runtime::engine::Runtime;
use crate::runtime::module::LoadError;
use crate::runtime::standard::{Standard, WorldMismatch};

/// A deployment made from a registered module, and how long each step took.
pub struct Loaded {
    /// The deployment, linked, not yet serving.
    pub deployment: Arc<Deployment>,
    /// Where the compiled module came from.
    pub origin: Origin,
    /// Compiling or loading, in microseconds.
    pub compile_us: u64,
    /// Linking and pre-instantiating, in microseconds.
    pub link_us: u64,
}

/// Makes a deployment of a registered module for a slot of `standard`.
pub fn load(
    runtime: &Runtime,
    stored: &StoredModule,
    standard: Standard,
    limits: Limits,
    grants: Grants,
) -> Result<Loaded, LoadError> {
    let step = Instant::now();
    let (module, origin) = runtime.load(stored.label.parse()?, &stored.bytes)?;
    let compile_us = step.elapsed().as_micros() as u64;
    if module.standard != standard {
        return Err(LoadError::World(WorldMismatch::WrongStandard {
            expected: standard,
            found: module.standard,
        }));
    }
    let step = Instant::now();
    let deployment = runtime.prepare(module, limits, grants)?;
    Ok(Loaded {
        deployment,
        origin,
        compile_us,
        link_us: step.elapsed().as_micros() as u64,
    })
}
