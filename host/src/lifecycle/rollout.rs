//! Deploying to a slot: take a module from the registry, compile it (or load
//! it from the artifact cache), check it is ready (it links, implements the
//! slot's standard, has passed the standard's conformance suite, and answers
//! a smoke call of each function against the organisation's records in a
//! scratch transaction), then swap the slot to it at once and record who did
//! it and why. Calls in flight finish on the version they started with.
//!
//! A candidate can also be tried first, as a canary (a share of patients) or
//! a shadow (copies of live calls, writes discarded), then promoted or
//! aborted. Rolling back swaps to the deployment before. A deployment whose
//! calls keep failing is taken out of service by the supervisor
//! ([`crate::lifecycle::supervisor`]) through [`roll_back_failing`] and
//! [`abort_failing_trial`].

use std::sync::Arc;
use std::time::Instant;

use serde::Serialize;

use crate::lifecycle::loading;
use crate::lifecycle::readiness::{self, NotReady};
use crate::lifecycle::registry::{self, DeploymentRecord, TrialRecord};
use crate::runtime::artifact_cache::Origin;
use crate::runtime::call_state::now_ms;
use crate::runtime::deployment::{Deployment, Grants, Limits, RequestedLimits};
use crate::runtime::engine::Runtime;
use crate::runtime::module::LoadError;
use crate::runtime::standard::Standard;
use crate::runtime::trial::{ReportSnapshot, Started, Trial, TrialMode};

/// Why a deployment did not happen.
#[derive(Debug, thiserror::Error)]
pub enum DeployError {
    /// No such module in the registry.
    #[error("there is no module '{0}' in the registry: upload its package first")]
    UnknownModule(String),
    /// The candidate failed readiness.
    #[error("{module} is not ready: {reason}")]
    NotReady {
        /// The candidate.
        module: String,
        /// What it failed.
        reason: NotReady,
    },
    /// The organisation's limits do not meet what its manifest says it
    /// needs.
    #[error("{module} cannot run under organisation {org}'s limits: {unmet}")]
    Limits {
        /// The candidate.
        module: String,
        /// The organisation.
        org: String,
        /// The need not met.
        unmet: crate::runtime::deployment::Unmet,
    },
    /// It does not compile, link or fit the slot's standard.
    #[error("the module was refused: {0}")]
    Load(#[from] LoadError),
    /// No earlier deployment to go back to.
    #[error("the {0} slot has no earlier deployment to roll back to")]
    NothingToRollBack(&'static str),
    /// Every earlier module was taken out automatically before.
    #[error(
        "the {0} slot has no earlier module it did not take out automatically before: it stays as it is"
    )]
    NothingSafeToRollBack(&'static str),
    /// Another change came first.
    #[error(
        "the {0} slot changed while this change was prepared: look at it again (patchbay slots) and retry"
    )]
    Changed(&'static str),
    /// No slot for the function yet.
    #[error("organisation {org} has no {function} slot yet: deploy a module to it first")]
    NoSlot {
        /// The organisation.
        org: String,
        /// The function.
        function: &'static str,
    },
    /// No trial to promote or abort.
    #[error("the {0} slot has no canary or shadow running")]
    NoTrial(&'static str),
    /// The candidate's own calls are failing: the module named.
    #[error(
        "{0} cannot be promoted: its calls failed past the rollback threshold; see the audit trail"
    )]
    Failing(String),
    /// A nonsense share.
    #[error("percent must be from 1 to 100, not {0}")]
    BadPercent(u32),
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
    /// Run the readiness checks first.
    pub readiness: bool,
}

/// How long each step of a deployment took, in microseconds.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Timings {
    /// Compiling, or loading from the artifact cache.
    pub compile_us: u64,
    /// Where the compiled module came from.
    pub compiled_from: Option<Origin>,
    /// Linking and pre-instantiating.
    pub link_us: u64,
    /// The readiness checks.
    pub readiness_us: u64,
    /// Recording the deployment and swapping the slot's pointer.
    pub swap_us: u64,
    /// From the command to live.
    pub total_us: u64,
}

/// A deployment made.
#[derive(Debug, Clone, Serialize)]
pub struct Deployed {
    /// What was recorded.
    pub deployment: DeploymentRecord,
    /// How long it took.
    pub timings: Timings,
}

/// A candidate compiled, linked and checked, not yet serving.
struct Candidate {
    deployment: Arc<Deployment>,
    hash: String,
    label: String,
    grants: Grants,
    timings: Timings,
    started: Instant,
}

fn micros(since: Instant) -> u64 {
    since.elapsed().as_micros() as u64
}

/// Whether an organisation's limits meet what a module's manifest says it
/// needs: checked before the module is loaded, at every deploy, trial and
/// configured start-up.
pub(crate) fn within_limits(
    limits: &Limits,
    needs: &RequestedLimits,
    module: &str,
    org: &str,
) -> Result<(), DeployError> {
    limits.meet(needs).map_err(|unmet| DeployError::Limits {
        module: module.to_string(),
        org: org.to_string(),
        unmet,
    })
}

fn candidate(runtime: &Runtime, request: &Request<'_>) -> Result<Candidate, DeployError> {
    let started = Instant::now();
    let mut timings = Timings::default();
    let conn = runtime.records().connection().map_err(DeployError::Store)?;
    let stored = registry::module_for(&conn, request.org, request.module)
        .map_err(DeployError::Store)?
        .ok_or_else(|| DeployError::UnknownModule(request.module.to_string()))?;
    drop(conn);
    within_limits(&request.limits, &stored.needs, &stored.label, request.org)?;
    let grants = match &stored.requested {
        Some(requested) => request.allowed.restricted_to(requested),
        None => Grants::default(),
    };
    let loaded = loading::load(
        runtime,
        &stored,
        request.standard,
        request.limits.clone(),
        grants.clone(),
    )?;
    timings.compile_us = loaded.compile_us;
    timings.compiled_from = Some(loaded.origin);
    timings.link_us = loaded.link_us;
    let deployment = loaded.deployment;
    if request.readiness {
        let step = Instant::now();
        let not_ready = |reason| DeployError::NotReady {
            module: stored.label.clone(),
            reason,
        };
        readiness::conformance(runtime, &deployment, &stored).map_err(not_ready)?;
        readiness::smoke(runtime, request.org, &deployment).map_err(not_ready)?;
        timings.readiness_us = micros(step);
    }
    Ok(Candidate {
        deployment,
        hash: stored.hash,
        label: stored.label,
        grants,
        timings,
        started,
    })
}

/// Records a deployment and makes it the slot's active one; the caller
/// holds the change lock. With `replacing` (a module's hash), only if the
/// slot's last recorded deployment is still that module's, whichever
/// replica recorded it.
fn go_live(
    runtime: &Runtime,
    request: &Request<'_>,
    candidate: Candidate,
    action: &str,
    replacing: Option<&str>,
) -> Result<Deployed, DeployError> {
    let Candidate {
        deployment,
        hash,
        label,
        grants,
        mut timings,
        started,
    } = candidate;
    let step = Instant::now();
    let mut record = DeploymentRecord {
        id: 0,
        org: request.org.to_string(),
        function: request.standard.function().to_string(),
        module_hash: hash,
        module: label,
        limits: request.limits.clone(),
        grants,
        action: action.to_string(),
        reason: request.reason.to_string(),
        deployed_ms: now_ms(),
        deployed_by: request.by.to_string(),
    };
    let conn = runtime.records().connection().map_err(DeployError::Store)?;
    record.id = registry::record_deployment_replacing(&conn, &record, replacing)
        .map_err(DeployError::Store)?
        .ok_or(DeployError::Changed(request.standard.function()))?;
    let slot = runtime
        .slots()
        .deploy(request.org, Arc::clone(&deployment))?;
    // A trial of the module now active has nothing left to try.
    if slot
        .trial()
        .is_some_and(|t| t.deployment.module.hash == deployment.module.hash)
    {
        slot.end_trial();
        registry::clear_trial(&conn, request.org, request.standard.function())
            .map_err(DeployError::Store)?;
    }
    timings.swap_us = micros(step);
    timings.total_us = micros(started);
    tracing::info!(org = request.org, slot = request.standard.function(), module = %deployment.module.label,
        version = %deployment.module.id.version, action, total_us = timings.total_us, swap_us = timings.swap_us,
        "slot now serves {}", deployment.module.label);
    Ok(Deployed {
        deployment: record,
        timings,
    })
}

/// Deploys a registered module to a slot.
pub fn deploy(runtime: &Runtime, request: Request<'_>) -> Result<Deployed, DeployError> {
    let candidate = candidate(runtime, &request)?;
    let _changing = runtime.slots().changing();
    go_live(runtime, &request, candidate, "deploy", None)
}

/// The history action of a rollback the host made itself.
const AUTOMATIC_ROLLBACK: &str = "automatic-rollback";

/// The deployment a rollback from module `from` goes back to: the newest
/// one in the history of another module. An automatic rollback also passes
/// over modules that were themselves taken out automatically (and not
/// chosen again by an operator since), so two failing modules never swap
/// back and forth.
fn rollback_target<'h>(
    history: &'h [DeploymentRecord],
    from: &str,
    automatic: bool,
) -> Option<&'h DeploymentRecord> {
    let mut taken_out = std::collections::HashSet::new();
    for (i, d) in history.iter().enumerate() {
        if d.action == AUTOMATIC_ROLLBACK {
            if let Some(before) = i.checked_sub(1).and_then(|b| history.get(b)) {
                taken_out.insert(before.module_hash.as_str());
            }
        } else {
            // Chosen again (start, deploy, promote, rollback).
            taken_out.remove(d.module_hash.as_str());
        }
    }
    history.iter().rev().find(|d| {
        d.module_hash != from && !(automatic && taken_out.contains(d.module_hash.as_str()))
    })
}

/// Rolls a slot back to the deployment before the active one (no readiness
/// checks: it served before).
pub fn rollback(
    runtime: &Runtime,
    org: &str,
    standard: Standard,
    reason: &str,
    by: &str,
) -> Result<Deployed, DeployError> {
    let active = existing_slot(runtime, org, standard)?.active();
    rollback_from(runtime, org, standard, &active, reason, by, false)
}

/// Rolls a slot back from deployment `from`. The target is found and made
/// ready without the change lock; under it, the swap happens only if `from`
/// is still the active deployment.
fn rollback_from(
    runtime: &Runtime,
    org: &str,
    standard: Standard,
    from: &Arc<Deployment>,
    reason: &str,
    by: &str,
    automatic: bool,
) -> Result<Deployed, DeployError> {
    let conn = runtime.records().connection().map_err(DeployError::Store)?;
    let history = registry::history(&conn, org, standard.function()).map_err(DeployError::Store)?;
    drop(conn);
    let previous = rollback_target(&history, &from.module.hash, automatic).ok_or(if automatic {
        DeployError::NothingSafeToRollBack(standard.function())
    } else {
        DeployError::NothingToRollBack(standard.function())
    })?;
    let request = Request {
        org,
        standard,
        module: &previous.module_hash,
        limits: previous.limits.clone(),
        allowed: previous.grants.clone(),
        reason,
        by,
        readiness: false,
    };
    let candidate = candidate(runtime, &request)?;
    let action = if automatic {
        AUTOMATIC_ROLLBACK
    } else {
        "rollback"
    };
    let _changing = runtime.slots().changing();
    if !Arc::ptr_eq(&existing_slot(runtime, org, standard)?.active(), from) {
        return Err(DeployError::Changed(standard.function()));
    }
    go_live(
        runtime,
        &request,
        candidate,
        action,
        Some(&from.module.hash),
    )
}

/// Starts a canary or shadow trial of a registered module in a slot, after
/// the readiness checks. Replaces any trial already running.
pub fn start_trial(
    runtime: &Runtime,
    request: Request<'_>,
    mode: TrialMode,
    percent: u32,
) -> Result<TrialRecord, DeployError> {
    if !(1..=100).contains(&percent) {
        return Err(DeployError::BadPercent(percent));
    }
    let slot = existing_slot(runtime, request.org, request.standard)?;
    let candidate = candidate(runtime, &request)?;
    let record = TrialRecord {
        org: request.org.to_string(),
        function: request.standard.function().to_string(),
        mode: mode.as_str().to_string(),
        module_hash: candidate.hash.clone(),
        module: candidate.label.clone(),
        percent: percent as u8,
        limits: request.limits.clone(),
        grants: candidate.grants.clone(),
        reason: request.reason.to_string(),
        started_ms: now_ms(),
        started_by: request.by.to_string(),
    };
    let trial = trial_of(&record, candidate.deployment).map_err(DeployError::Store)?;
    let _changing = runtime.slots().changing();
    let conn = runtime.records().connection().map_err(DeployError::Store)?;
    registry::set_trial(&conn, &record).map_err(DeployError::Store)?;
    slot.start_trial(Arc::new(trial))?;
    Ok(record)
}

fn trial_of(record: &TrialRecord, deployment: Arc<Deployment>) -> anyhow::Result<Trial> {
    let mode = TrialMode::parse(&record.mode).ok_or_else(|| {
        anyhow::anyhow!("'{}' is not a trial mode: canary or shadow", record.mode)
    })?;
    Ok(Trial::new(
        mode,
        deployment,
        record.percent,
        Started {
            at_ms: record.started_ms,
            by: record.started_by.clone(),
            reason: record.reason.clone(),
        },
    ))
}

/// Brings back a slot's recorded trial after a restart (its shadow report
/// starts again from nothing).
pub fn restore_trial(runtime: &Runtime, org: &str, standard: Standard) -> anyhow::Result<()> {
    let conn = runtime.records().connection()?;
    let Some(record) = registry::trial(&conn, org, standard.function())? else {
        return Ok(());
    };
    let stored = registry::module_bytes(&conn, &record.module_hash)?
        .ok_or_else(|| anyhow::anyhow!("the trial's module {} is missing", record.module))?;
    drop(conn);
    let loaded = loading::load(
        runtime,
        &stored,
        standard,
        record.limits.clone(),
        record.grants.clone(),
    )?;
    if let Some(slot) = runtime.slots().get(org, standard) {
        slot.start_trial(Arc::new(trial_of(&record, loaded.deployment)?))?;
        tracing::info!(org, slot = standard.function(), module = %record.module, mode = %record.mode, "restored the trial");
    }
    Ok(())
}

/// An organisation's slot for a standard, or [`DeployError::NoSlot`].
fn existing_slot(
    runtime: &Runtime,
    org: &str,
    standard: Standard,
) -> Result<Arc<crate::runtime::function_slot::FunctionSlot>, DeployError> {
    runtime
        .slots()
        .get(org, standard)
        .ok_or_else(|| DeployError::NoSlot {
            org: org.to_string(),
            function: standard.function(),
        })
}

/// Makes a slot's trial candidate the active deployment, at once (it is
/// compiled, linked and checked already).
pub fn promote(
    runtime: &Runtime,
    org: &str,
    standard: Standard,
    reason: &str,
    by: &str,
) -> Result<Deployed, DeployError> {
    let started = Instant::now();
    let _changing = runtime.slots().changing();
    let slot = existing_slot(runtime, org, standard)?;
    let trial = slot
        .trial()
        .ok_or(DeployError::NoTrial(standard.function()))?;
    if trial.deployment.health.tripped() {
        return Err(DeployError::Failing(
            trial.deployment.module.label.to_string(),
        ));
    }
    let deployment = trial.deployment.clone();
    let hash = deployment.module.hash.clone();
    let request = Request {
        org,
        standard,
        module: &hash,
        limits: deployment.limits.clone(),
        allowed: deployment.grants.clone(),
        reason,
        by,
        readiness: false,
    };
    let candidate = Candidate {
        hash: deployment.module.hash.clone(),
        label: deployment.module.label.to_string(),
        grants: deployment.grants.clone(),
        deployment,
        timings: Timings::default(),
        started,
    };
    go_live(runtime, &request, candidate, "promote", None)
}

/// Ends a slot's trial; the candidate stops receiving calls. Returns what
/// the trial was and, for a shadow, its final report.
pub fn abort(
    runtime: &Runtime,
    org: &str,
    standard: Standard,
) -> Result<(serde_json::Value, Option<ReportSnapshot>), DeployError> {
    let _changing = runtime.slots().changing();
    abort_trial(runtime, org, standard, None)
}

/// Ends a slot's trial, if it is still the trial of `deployment` when one
/// is given; the caller holds the change lock.
fn abort_trial(
    runtime: &Runtime,
    org: &str,
    standard: Standard,
    deployment: Option<&Arc<Deployment>>,
) -> Result<(serde_json::Value, Option<ReportSnapshot>), DeployError> {
    let slot = existing_slot(runtime, org, standard)?;
    if let Some(deployment) = deployment
        && !slot
            .trial()
            .is_some_and(|t| Arc::ptr_eq(&t.deployment, deployment))
    {
        return Err(DeployError::NoTrial(standard.function()));
    }
    let trial = slot
        .end_trial()
        .ok_or(DeployError::NoTrial(standard.function()))?;
    let conn = runtime.records().connection().map_err(DeployError::Store)?;
    registry::clear_trial(&conn, org, standard.function()).map_err(DeployError::Store)?;
    let report = (trial.mode == TrialMode::Shadow).then(|| trial.report.snapshot());
    Ok((trial.summary(), report))
}

/// Ends the trial of a candidate whose calls keep failing, if it is still
/// the slot's candidate (the lifecycle's supervisor does this).
pub fn abort_failing_trial(
    runtime: &Runtime,
    org: &str,
    deployment: &Arc<Deployment>,
) -> Result<(), DeployError> {
    let _changing = runtime.slots().changing();
    abort_trial(runtime, org, deployment.module.standard, Some(deployment)).map(|_| ())
}

/// Rolls a slot back from an active deployment whose calls keep failing, to
/// the newest earlier module it has not taken out automatically before (the
/// lifecycle's supervisor does this). Nothing changes if `deployment` is no
/// longer the active one.
pub fn roll_back_failing(
    runtime: &Runtime,
    org: &str,
    deployment: &Arc<Deployment>,
    reason: &str,
) -> Result<Deployed, DeployError> {
    rollback_from(
        runtime,
        org,
        deployment.module.standard,
        deployment,
        reason,
        "patchbay",
        true,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn history(steps: &[(&str, &str)]) -> Vec<DeploymentRecord> {
        steps
            .iter()
            .enumerate()
            .map(|(i, (hash, action))| DeploymentRecord {
                id: i as i64 + 1,
                org: "Y90001".into(),
                function: "scheduling".into(),
                module_hash: hash.to_string(),
                module: format!("supplier/{hash}@1.0.0"),
                limits: Limits::default(),
                grants: Grants::default(),
                action: action.to_string(),
                reason: "test".into(),
                deployed_ms: 0,
                deployed_by: "admin-1".into(),
            })
            .collect()
    }

    fn target(h: &[DeploymentRecord], from: &str, automatic: bool) -> Option<String> {
        rollback_target(h, from, automatic).map(|d| d.module_hash.clone())
    }

    #[test]
    fn a_rollback_goes_to_the_newest_other_module() {
        let h = history(&[("a", "start"), ("b", "deploy"), ("b", "deploy")]);
        assert_eq!(target(&h, "b", false).as_deref(), Some("a"));
        assert_eq!(target(&h, "b", true).as_deref(), Some("a"));
        assert_eq!(target(&history(&[("a", "start")]), "a", false), None);
    }

    #[test]
    fn an_automatic_rollback_never_goes_back_to_a_module_it_took_out() {
        // b failed and was taken out for a; now a fails too.
        let h = history(&[
            ("c", "start"),
            ("a", "deploy"),
            ("b", "deploy"),
            ("a", AUTOMATIC_ROLLBACK),
        ]);
        assert_eq!(target(&h, "a", true).as_deref(), Some("c"));
        // An operator may still choose to go back to it.
        assert_eq!(target(&h, "a", false).as_deref(), Some("b"));
        // With nothing else to go to, the automatic rollback does nothing.
        let h = history(&[("a", "start"), ("b", "deploy"), ("a", AUTOMATIC_ROLLBACK)]);
        assert_eq!(target(&h, "a", true), None);
    }

    #[test]
    fn deploying_a_module_again_clears_its_automatic_removal() {
        let h = history(&[
            ("a", "start"),
            ("b", "deploy"),
            ("a", AUTOMATIC_ROLLBACK),
            ("b", "deploy"),
        ]);
        assert_eq!(target(&h, "b", true).as_deref(), Some("a"));
        let h = history(&[
            ("a", "start"),
            ("b", "deploy"),
            ("a", AUTOMATIC_ROLLBACK),
            ("b", "deploy"),
            ("c", "deploy"),
        ]);
        assert_eq!(target(&h, "c", true).as_deref(), Some("b"));
        // So does an operator's rollback to it.
        let h = history(&[
            ("a", "start"),
            ("b", "deploy"),
            ("a", AUTOMATIC_ROLLBACK),
            ("b", "rollback"),
            ("c", "deploy"),
        ]);
        assert_eq!(target(&h, "c", true).as_deref(), Some("b"));
    }
}
