//! Deploying to a slot: take a module from the registry, check it is ready
//! (it compiles, links, implements the slot's standard, and passes the
//! standard's conformance suite in a scratch store), then swap the slot to
//! it at once and record who did it and why. Calls in flight finish on the
//! version they started with. Rolling back swaps to the deployment before.

use std::sync::Arc;

use crate::call::now_ms;
use crate::conformance::{self, Report};
use crate::deployment::{Grants, Limits};
use crate::engine::Runtime;
use crate::module::LoadError;
use crate::registry::{self, DeploymentRecord};
use crate::standard::{Standard, WorldMismatch};

/// Why a deployment did not happen.
#[derive(Debug, thiserror::Error)]
pub enum DeployError {
    /// No such module in the registry.
    #[error("there is no module '{0}' in the registry: upload its package first")]
    UnknownModule(String),
    /// The candidate failed readiness: its conformance report says why.
    #[error("{} is not ready: it failed {} conformance check(s): {}", .0.module, .0.failed().len(), .0.failed().join(", "))]
    NotReady(Box<Report>),
    /// It does not compile, link or fit the slot's standard.
    #[error("the module was refused: {0}")]
    Load(#[from] LoadError),
    /// No earlier deployment to go back to.
    #[error("the {0} slot has no earlier deployment to roll back to")]
    NothingToRollBack(&'static str),
    /// The store failed.
    #[error("the deployment could not be recorded: {0:#}")]
    Store(anyhow::Error),
}

/// What to deploy, where, and why.
pub struct Request<'a> {
    /// The organisation.
    pub org: &'a str,
    /// The slot's standard.
    pub standard: Standard,
    /// The module: its hash or `supplier/name@version`.
    pub module: &'a str,
    /// Its limits.
    pub limits: Limits,
    /// What the operator allows; the module gets only what it also requests.
    pub allowed: Grants,
    /// Why.
    pub reason: &'a str,
    /// Who.
    pub by: &'a str,
    /// Run the conformance suite first.
    pub readiness: bool,
}

/// Deploys a registered module to a slot.
pub fn deploy(runtime: &Runtime, request: Request<'_>) -> Result<DeploymentRecord, DeployError> {
    swap_to(runtime, request, "deploy")
}

fn swap_to(
    runtime: &Runtime,
    request: Request<'_>,
    action: &str,
) -> Result<DeploymentRecord, DeployError> {
    let conn = runtime.records().connection().map_err(DeployError::Store)?;
    let registry::StoredModule {
        hash,
        label,
        bytes,
        requested,
        ..
    } = registry::module_bytes(&conn, request.module)
        .map_err(DeployError::Store)?
        .ok_or_else(|| DeployError::UnknownModule(request.module.to_string()))?;
    drop(conn);
    let id = label.parse()?;
    let module = runtime.compile(id, &bytes)?;
    if module.standard != request.standard {
        return Err(LoadError::World(WorldMismatch::WrongStandard {
            expected: request.standard,
            found: module.standard,
        })
        .into());
    }
    if request.readiness {
        let report = conformance::run(module.id.clone(), &bytes)?;
        if !report.passed() {
            return Err(DeployError::NotReady(Box::new(report)));
        }
    }
    let grants = match &requested {
        Some(requested) => request.allowed.restricted_to(requested),
        None => Grants::default(),
    };
    let deployment = runtime.prepare(module, request.limits.clone(), grants.clone())?;
    let record = DeploymentRecord {
        id: 0,
        org: request.org.to_string(),
        function: request.standard.function().to_string(),
        module_hash: hash,
        module: label,
        limits: request.limits,
        grants,
        action: action.to_string(),
        reason: request.reason.to_string(),
        deployed_ms: now_ms(),
        deployed_by: request.by.to_string(),
    };
    let conn = runtime.records().connection().map_err(DeployError::Store)?;
    let id = registry::record_deployment(&conn, &record).map_err(DeployError::Store)?;
    let started = std::time::Instant::now();
    runtime
        .slots()
        .deploy(request.org, Arc::clone(&deployment))?;
    tracing::info!(org = request.org, slot = request.standard.function(), module = %deployment.module.label,
        action, swap_us = started.elapsed().as_micros() as u64, "slot now serves {}", deployment.module.label);
    Ok(DeploymentRecord { id, ..record })
}

/// Rolls a slot back to the deployment before the active one.
pub fn rollback(
    runtime: &Runtime,
    org: &str,
    standard: Standard,
    reason: &str,
    by: &str,
) -> Result<DeploymentRecord, DeployError> {
    let conn = runtime.records().connection().map_err(DeployError::Store)?;
    let history = registry::history(&conn, org, standard.function()).map_err(DeployError::Store)?;
    drop(conn);
    let active = history.last().map(|d| d.module_hash.clone());
    let previous = history
        .iter()
        .rev()
        .find(|d| Some(&d.module_hash) != active.as_ref())
        .ok_or(DeployError::NothingToRollBack(standard.function()))?;
    swap_to(
        runtime,
        Request {
            org,
            standard,
            module: &previous.module_hash,
            limits: previous.limits.clone(),
            allowed: previous.grants.clone(),
            reason,
            by,
            readiness: false,
        },
        "rollback",
    )
}
