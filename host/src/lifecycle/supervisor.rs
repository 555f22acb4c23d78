//! The lifecycle's supervisor: the one place where the host changes a slot
//! on its own. Calls never do: a call records its outcome in its
//! deployment's health, and a deployment judged unhealthy is reported on a
//! channel (see [`crate::runtime::engine::Runtime::failure_reports`]). The supervisor
//! drains it on a thread of its own and acts:
//! - it quarantines the deployment: a candidate on trial has its trial
//!   ended; an active deployment is rolled back to the newest earlier module
//!   that was not itself taken out automatically, and is never brought back
//!   automatically (see `docs/lifecycle.md`);
//! - it raises an alert: an error in the log, a count in the metrics
//!   (`patchbay_alerts_total`), and an entry in the organisation's audit
//!   trail with the reason.
//!
//! A runtime without a supervisor (a scratch runtime for a conformance run)
//! has no one listening, so its calls can never change a slot.

use std::sync::Arc;

use crate::lifecycle::rollout;
use crate::runtime::call_state::now_ms;
use crate::runtime::engine::Failing;
use crate::runtime::engine::Runtime;

/// Starts the supervisor of a runtime. It stops when the runtime is freed.
pub fn start(runtime: &Runtime) -> anyhow::Result<()> {
    let reports = runtime.failure_reports();
    let weak = runtime.downgrade();
    std::thread::Builder::new()
        .name("supervisor".into())
        .spawn(move || {
            while let Ok(report) = reports.recv() {
                let Some(runtime) = weak.upgrade() else { break };
                act(&runtime, report);
            }
        })
        .map_err(|e| anyhow::anyhow!("cannot start the lifecycle supervisor: {e}"))?;
    Ok(())
}

/// Quarantines one failing deployment and raises the alert.
fn act(
    runtime: &Runtime,
    Failing {
        org,
        deployment,
        reason,
    }: Failing,
) {
    let standard = deployment.module.standard;
    let Some(slot) = runtime.slots().get(&org, standard) else {
        return;
    };
    let module = deployment.module.label.to_string();
    tracing::error!(org = %org, slot = standard.function(), module = %module, %reason,
        "ALERT: quarantining a failing deployment");
    // Both actions check again, under the change lock, that the deployment
    // is still where it was.
    let on_trial = slot
        .trial()
        .is_some_and(|t| Arc::ptr_eq(&t.deployment, &deployment));
    let (action, outcome) = if on_trial {
        let ended = rollout::abort_failing_trial(runtime, &org, &deployment);
        ("slot.trial.abort.automatic", ended)
    } else if Arc::ptr_eq(&slot.active(), &deployment) {
        let why = format!("automatic: {module} quarantined: {reason}");
        let rolled = rollout::roll_back_failing(runtime, &org, &deployment, &why);
        ("slot.rollback.automatic", rolled.map(|_| ()))
    } else {
        return;
    };
    runtime
        .metrics()
        .record_alert(&org, standard.function(), action);
    let outcome = match outcome {
        Ok(()) => "success".to_string(),
        Err(e) => {
            tracing::error!(org = %org, slot = standard.function(), error = %e,
                "ALERT: could not take the failing deployment out of service");
            format!("error: {e}")
        }
    };
    let event = crate::store::audit::Event {
        user: "patchbay".into(),
        user_name: Some("Patchbay host (automatic)".into()),
        org: org.clone(),
        role: "system".into(),
        action: action.into(),
        resource: Some(format!("slot/{org}/{}", standard.function())),
        patient: None,
        outcome,
        detail: Some(reason),
        module: Some(module),
    };
    if let Err(e) = runtime.audit().record(runtime.records(), now_ms(), &event) {
        tracing::error!(error = %format!("{e:#}"), "cannot audit the automatic action");
    }
}
