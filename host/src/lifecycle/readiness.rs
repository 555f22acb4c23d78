//! Readiness: what a candidate must pass before it serves a slot, as canary,
//! shadow or active module.
//!
//! 1. The standard's conformance suite, in a scratch store seeded with
//!    fixture data. The verdict is kept in the registry under the module's
//!    hash, so a module that passed once is not run through it again.
//! 2. A smoke call of each exported function against the organisation's own
//!    records, inside a scratch transaction that is rolled back: the
//!    candidate must answer every one without trapping, timing out or running
//!    out of memory, and must book (or issue), amend, read and cancel for
//!    real where the records allow.

use std::sync::Arc;
use std::time::Duration;

use crate::lifecycle::conformance::{self, PARACETAMOL, Report};
use crate::lifecycle::registry;
use crate::runtime::bindings::Period;
use crate::runtime::call_error::CallError;
use crate::runtime::call_state::{CallContext, now_ms};
use crate::runtime::deployment::Deployment;
use crate::runtime::engine::Runtime;
use crate::runtime::module::LoadError;
use crate::runtime::scheduling::{Amendment, BookingRequest, SlotSearch};
use crate::runtime::standard::Standard;
use crate::runtime::transaction::Scratch;

/// The time all of a candidate's smoke calls share: they hold the store's
/// write lock, so live calls wait for them.
pub const SMOKE_BUDGET: Duration = Duration::from_millis(1500);

/// Why a candidate is not ready.
#[derive(Debug, thiserror::Error)]
pub enum NotReady {
    /// It failed conformance checks.
    #[error("it failed {} conformance check(s): {}", .0.failed().len(), .0.failed().join(", "))]
    Conformance(Box<Report>),
    /// A smoke call failed.
    #[error("its smoke call of {function} against the organisation's records failed: {reason}")]
    Smoke {
        /// The function.
        function: &'static str,
        /// What went wrong.
        reason: String,
    },
    /// The checks could not run.
    #[error("the readiness checks could not run: {0:#}")]
    Host(anyhow::Error),
}

impl From<LoadError> for NotReady {
    fn from(e: LoadError) -> NotReady {
        NotReady::Host(e.into())
    }
}

/// Runs the conformance suite on a module, unless the registry says it has
/// passed before.
pub fn conformance(
    runtime: &Runtime,
    deployment: &Deployment,
    stored: &registry::StoredModule,
) -> Result<(), NotReady> {
    let module = &deployment.module;
    let conn = runtime.records().connection().map_err(NotReady::Host)?;
    if registry::passed_conformance(&conn, &module.hash).map_err(NotReady::Host)? {
        return Ok(());
    }
    drop(conn);
    let report = conformance::run(module.id.clone(), &stored.bytes, &stored.needs)?;
    if !report.passed() {
        return Err(NotReady::Conformance(Box::new(report)));
    }
    let conn = runtime.records().connection().map_err(NotReady::Host)?;
    registry::record_conformance(&conn, &module.hash, &report.text(), now_ms())
        .map_err(NotReady::Host)?;
    Ok(())
}

/// Smoke-calls each of a candidate's exported functions against an
/// organisation's records, in a scratch transaction that is rolled back.
pub fn smoke(runtime: &Runtime, org: &str, deployment: &Arc<Deployment>) -> Result<(), NotReady> {
    let scratch = Scratch::begin(runtime, SMOKE_BUDGET).map_err(NotReady::Host)?;
    let patient: Option<String> = {
        let conn = runtime.records().connection().map_err(NotReady::Host)?;
        conn.query_opt(
            "SELECT nhs_number FROM patients WHERE org = ?1 ORDER BY nhs_number LIMIT 1",
            &[&org],
        )
        .ok()
        .flatten()
        .and_then(|r| r.get(0).ok())
    };
    let ctx = CallContext {
        organisation: org.to_string(),
        user: "readiness".into(),
        user_display: Some("Readiness check".into()),
        now: now_ms(),
    };
    let result = match deployment.module.standard {
        Standard::Scheduling => smoke_scheduling(runtime, ctx, deployment, scratch, patient),
        Standard::Prescribing => smoke_prescribing(runtime, ctx, deployment, scratch, patient),
    };
    if result.is_ok() {
        tracing::info!(org, module = %deployment.module.label, "readiness smoke calls passed");
    }
    result
}

/// A call must answer: a value, or a refusal (`None`), not a failure.
fn answered<R>(
    function: &'static str,
    result: Result<R, CallError>,
) -> Result<Option<R>, NotReady> {
    match result {
        Ok(value) => Ok(Some(value)),
        Err(CallError::Refused(_)) => Ok(None),
        Err(e) => Err(NotReady::Smoke {
            function,
            reason: e.to_string(),
        }),
    }
}

/// A call must succeed.
fn succeeded<R>(function: &'static str, result: Result<R, CallError>) -> Result<R, NotReady> {
    result.map_err(|e| NotReady::Smoke {
        function,
        reason: e.to_string(),
    })
}

fn smoke_scheduling(
    runtime: &Runtime,
    ctx: CallContext,
    deployment: &Arc<Deployment>,
    scratch: Arc<Scratch>,
    patient: Option<String>,
) -> Result<(), NotReady> {
    let now = ctx.now;
    let api = runtime.booking_in_scratch(ctx, deployment.clone(), scratch);
    let search = SlotSearch {
        period: Period {
            start: now,
            end: now + 7 * patchbay_sdk::time::DAY,
        },
        service_type: None,
        schedule_id: None,
        limit: Some(50),
    };
    let free = answered("find-free-slots", api.find_free_slots(&search))?.unwrap_or_default();
    answered("read", api.read("readiness-check-no-such-appointment"))?;
    let Some(patient) = patient else {
        return Ok(());
    };
    succeeded(
        "appointments-for-patient",
        api.appointments_for_patient(&patient),
    )?;
    // Book the latest free slot: the one a real patient is least likely to want now.
    let Some(slot) = free.iter().max_by_key(|s| s.period.start) else {
        return Ok(());
    };
    let booked = answered(
        "book",
        api.book(&BookingRequest {
            slot_id: slot.id.clone(),
            patient: patient.clone(),
            description: Some("Readiness check".into()),
            comment: None,
        }),
    )?;
    let Some(booked) = booked else {
        // Its policy may refuse this patient this slot: a refusal is an answer.
        return Ok(());
    };
    succeeded("read", api.read(&booked.id))?;
    succeeded(
        "amend",
        api.amend(
            &booked.id,
            &Amendment {
                slot_id: None,
                description: None,
                comment: Some("Readiness check, rolled back".into()),
            },
        ),
    )?;
    succeeded("cancel", api.cancel(&booked.id, "Readiness check"))?;
    Ok(())
}

fn smoke_prescribing(
    runtime: &Runtime,
    ctx: CallContext,
    deployment: &Arc<Deployment>,
    scratch: Arc<Scratch>,
    patient: Option<String>,
) -> Result<(), NotReady> {
    let api = runtime.ordering_in_scratch(ctx, deployment.clone(), scratch);
    answered("read", api.read("readiness-check-no-such-request"))?;
    let Some(patient) = patient else {
        return Ok(());
    };
    let draft = conformance::draft(&patient, PARACETAMOL, 500.0, 2);
    succeeded("check", api.check(&draft))?;
    succeeded("active", api.active(&patient))?;
    let Some(issued) = answered("issue", api.issue(&draft, Some("Readiness check")))? else {
        return Ok(());
    };
    succeeded("read", api.read(&issued.request.id))?;
    succeeded("cancel", api.cancel(&issued.request.id, "Readiness check"))?;
    Ok(())
}
