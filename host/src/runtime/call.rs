//! The call lifetime: one store, one fresh instance and one database
//! transaction per module call, under the deployment's deadline and memory
//! limit. (On SQLite, a write call's transaction is shared with the write
//! calls queued behind it, each under a savepoint of its own, and committed
//! once for all: see [`crate::store::write_batch`].) A trap, a timeout or
//! running out of memory ends that call only.
//! The call records its outcome in its deployment's health and, if that
//! judges the deployment unhealthy, reports it to the runtime's supervisor:
//! a call never changes a slot itself.

use std::sync::Arc;
use std::time::{Duration, Instant};

use wasmtime::{Store, Trap};

use crate::runtime::bindings::Outcome;
use crate::runtime::call_error::CallError;
use crate::runtime::call_state::{Access, CallContext, CallState, now_ms};
use crate::runtime::deployment::Deployment;
use crate::runtime::engine::{Failing, Runtime};
use crate::runtime::function_slot::Route;
use crate::runtime::module_log::ModuleLog;
use crate::runtime::transaction::Tx;
use crate::runtime::trial::{Comparable, essence};
use crate::store::records::PooledConnection;
use crate::store::write_batch::{Share, WriteBatches};

/// Who calls which module, and where the changes go: what a typed module
/// API (a [`crate::runtime::client::Client`]: `Booking`, `Prescribing`) holds.
#[derive(Clone)]
pub struct Caller {
    /// The runtime.
    pub runtime: Runtime,
    /// Where the calls go.
    pub route: Route,
    /// Who, for whom, when.
    pub ctx: CallContext,
    /// Where their changes go.
    pub tx: Tx,
    /// The audit entry a write call commits with its change, if any.
    pub audit: Option<Arc<AuditOnCommit>>,
}

/// The audit entry of a clinical write, written in the call's own
/// transaction just before it commits: the change and its entry are kept
/// together or not at all. If the entry cannot be written, the change is
/// rolled back and the call fails.
pub struct AuditOnCommit {
    event: crate::store::audit::Event,
    written: std::sync::Mutex<Option<crate::store::audit::Entry>>,
}

impl AuditOnCommit {
    /// An entry to write on commit: `event` with the outcome `success`; the
    /// resource and patient are taken from the call's answer where it names
    /// them (see [`Recorded`]).
    pub fn new(event: crate::store::audit::Event) -> Arc<AuditOnCommit> {
        Arc::new(AuditOnCommit {
            event: crate::store::audit::Event {
                outcome: "success".into(),
                ..event
            },
            written: std::sync::Mutex::new(None),
        })
    }

    /// The entry, once a call has committed it.
    pub fn written(&self) -> Option<crate::store::audit::Entry> {
        self.written.lock().ok().and_then(|w| w.clone())
    }
}

/// What a call's answer names for the audit trail: the resource it made or
/// changed and its patient. Answers that name none keep the defaults.
pub trait Recorded {
    /// The resource, e.g. `Appointment/…`.
    fn audit_resource(&self) -> Option<String> {
        None
    }
    /// The patient's NHS number.
    fn audit_patient(&self) -> Option<String> {
        None
    }
    /// How many items the answer holds (see [`MAX_ANSWER_ITEMS`]).
    fn answer_items(&self) -> usize {
        1
    }
}

impl<T> Recorded for Vec<T> {
    fn answer_items(&self) -> usize {
        self.len()
    }
}

/// The most items one answer of a module may hold: a module answering a
/// million slots is refused, not passed on. (No honest answer needs more:
/// the records interfaces give a module at most
/// [`crate::runtime::interfaces::MAX_SLOTS_READ`] slots.)
pub const MAX_ANSWER_ITEMS: usize = crate::runtime::interfaces::MAX_SLOTS_READ;

/// Runs one call through a route: a transaction, a store and a fresh
/// instance made for it alone, dropped when it ends.
///
/// `instantiate` makes an instance from a deployment's pre-instantiated
/// component; `call` calls one export. With a shadow on the route, the
/// candidate runs the same call first, under a savepoint that is then rolled
/// back, so it sees what the live module sees and changes nothing; its answer
/// is compared with the live one in the trial's report.
pub fn invoke<P, R: Comparable + Recorded>(
    caller: &Caller,
    function: &'static str,
    access: Access,
    instantiate: impl Fn(&Deployment, &mut Store<CallState>) -> wasmtime::Result<P>,
    call: impl Fn(&P, &mut Store<CallState>) -> wasmtime::Result<Result<R, Outcome>>,
) -> Result<R, CallError> {
    let Caller {
        runtime,
        route,
        ctx,
        tx,
        audit,
    } = caller;
    let _admitted = runtime
        .admission()
        .enter(&ctx.organisation)
        .inspect_err(|_| {
            runtime
                .metrics()
                .record_limit(&ctx.organisation, "calls-per-organisation")
        })?;
    // A call in a transaction of its own begins it once its instance is
    // made, so a write transaction holds the store's write lock for the
    // call alone, not for the instantiation too; on SQLite, a write call
    // joins the batch of write calls under way (see
    // `store::write_batch`). With a shadow, it begins first: the shadow
    // runs inside it.
    let late = match (tx, &route.shadow, runtime.records().write_batches()) {
        (Tx::Own, None, Some(batches)) if access == Access::Write => Begin::Batched(batches),
        (Tx::Own, None, _) => Begin::Own(access),
        _ => Begin::Begun,
    };
    let db = match tx {
        Tx::Own => {
            let db = runtime.records().connection().map_err(CallError::Host)?;
            if matches!(late, Begin::Begun) {
                begin(&db, access)?;
            }
            db
        }
        Tx::Scratch(scratch) => {
            let db = scratch.take()?;
            if let Err(e) = db.batch("SAVEPOINT call") {
                scratch.put_back(db);
                return Err(CallError::Host(
                    anyhow::Error::new(e).context("cannot begin a scratch call"),
                ));
            }
            db
        }
    };
    let sql = |db: &PooledConnection, sql: &str| {
        let done = match sql {
            "COMMIT" => db.commit(),
            "ROLLBACK" => db.rollback(),
            _ => db.batch(sql),
        };
        done.map_err(|e| CallError::Host(anyhow::Error::new(e).context(format!("{sql} failed"))))
    };

    let deadline = |deployment: &Deployment| match tx {
        Tx::Own => deployment.limits.deadline,
        Tx::Scratch(scratch) => deployment.limits.deadline.min(scratch.remaining()),
    };
    let mut db = db;
    let mut shadowed = None;
    if let Some(trial) = &route.shadow {
        // A shadow that cannot start is skipped: the live call goes on.
        match sql(&db, "SAVEPOINT shadow") {
            Err(e) => tracing::warn!(error = %e, "shadow call skipped"),
            Ok(()) => {
                let (result, conn, _) = run(
                    runtime,
                    &trial.deployment,
                    ctx,
                    function,
                    "shadow",
                    deadline(&trial.deployment),
                    db,
                    Begin::Begun,
                    &instantiate,
                    &call,
                );
                db = conn;
                // The live module must not see the shadow's writes: if they
                // cannot be discarded, the whole call is given up.
                if let Err(e) = sql(&db, "ROLLBACK TO shadow; RELEASE shadow") {
                    tracing::error!(error = %e, "cannot discard a shadow call's changes");
                    match tx {
                        Tx::Own => {
                            let _ = sql(&db, "ROLLBACK");
                        }
                        Tx::Scratch(scratch) => {
                            let _ = sql(&db, "ROLLBACK TO call; RELEASE call");
                            scratch.put_back(db);
                        }
                    }
                    return Err(e);
                }
                let failed = result
                    .as_ref()
                    .err()
                    .is_some_and(CallError::is_module_failure);
                shadowed = Some((trial, essence(&result), failed));
            }
        }
    }
    let conn = db;
    let role = if route.shadow.is_some() {
        "live"
    } else {
        "serve"
    };
    let (result, conn, share) = run(
        runtime,
        &route.deployment,
        ctx,
        function,
        role,
        deadline(&route.deployment),
        conn,
        late,
        &instantiate,
        &call,
    );

    let commit = access == Access::Write && result.is_ok();
    let result = match tx {
        Tx::Own => {
            // Commits, or rolls back; in a batch, this call's part of it.
            let end = |conn: PooledConnection, share: Option<Share>, commit: bool| match share {
                Some(share) => share.end(conn, commit).map_err(|e| {
                    CallError::Host(e.context(if commit {
                        "the change could not be committed"
                    } else {
                        "the call's changes could not be rolled back"
                    }))
                }),
                None => sql(&conn, if commit { "COMMIT" } else { "ROLLBACK" }),
            };
            // A clinical write's audit entry joins its transaction.
            let entry = match (&result, audit) {
                (Ok(answer), Some(audit)) if commit => {
                    let mut event = audit.event.clone();
                    event.resource = answer.audit_resource().or(event.resource);
                    event.patient = answer.audit_patient().or(event.patient);
                    match runtime.audit().append(&conn, now_ms(), &event) {
                        Ok(entry) => Some(entry),
                        Err(e) => {
                            tracing::error!(error = %format!("{e:#}"), "cannot audit a write: it is rolled back");
                            let _ = end(conn, share, false);
                            return Err(CallError::Host(
                                e.context("the change could not be audited, so it was not made"),
                            ));
                        }
                    }
                }
                _ => None,
            };
            let ended = end(conn, share, commit);
            if let (Ok(()), Some(entry), Some(audit)) = (&ended, entry, audit) {
                runtime.audit().committed(&entry);
                if let Ok(mut written) = audit.written.lock() {
                    *written = Some(entry);
                }
            }
            match (result, ended) {
                (Ok(_), Err(e)) => Err(e),
                (result, _) => result,
            }
        }
        Tx::Scratch(scratch) => {
            // Within the scratch transaction, a call keeps its changes for
            // the calls after it only if it would have committed.
            let end = if commit {
                "RELEASE call"
            } else {
                "ROLLBACK TO call; RELEASE call"
            };
            let ended = sql(&conn, end);
            scratch.put_back(conn);
            match (result, ended) {
                (Ok(_), Err(e)) => Err(e),
                (result, _) => result,
            }
        }
    };
    if let Some((trial, candidate, failed)) = shadowed {
        trial
            .report
            .record(function, essence(&result), candidate, failed);
    }
    result
}

/// Begins a call's own transaction.
fn begin(db: &PooledConnection, access: Access) -> Result<(), CallError> {
    db.begin(access == Access::Write).map_err(|e| {
        CallError::Host(anyhow::Error::new(e).context("cannot begin the call's transaction"))
    })
}

/// When a call's transaction begins.
enum Begin<'a> {
    /// Before the call: its connection is inside one already.
    Begun,
    /// Once its instance is made, a transaction of its own.
    Own(Access),
    /// Once its instance is made, in the batch of write calls under way.
    Batched(&'a WriteBatches),
}

/// Runs one module call: instantiates, begins the call's transaction as
/// `begin` says, calls, classifies the outcome, records metrics and health.
/// Returns the connection the call ran on and, in a batch, the call's share
/// of it.
#[allow(clippy::too_many_arguments)]
fn run<P, R: Recorded>(
    runtime: &Runtime,
    deployment: &Arc<Deployment>,
    ctx: &CallContext,
    function: &'static str,
    role: &'static str,
    deadline: Duration,
    db: PooledConnection,
    begin: Begin<'_>,
    instantiate: &impl Fn(&Deployment, &mut Store<CallState>) -> wasmtime::Result<P>,
    call: &impl Fn(&P, &mut Store<CallState>) -> wasmtime::Result<Result<R, Outcome>>,
) -> (Result<R, CallError>, PooledConnection, Option<Share>) {
    let module = deployment.label();
    let span = tracing::info_span!("module_call",
        org = %ctx.organisation, slot = deployment.module.standard.function(), module = %module,
        version = %deployment.module.id.version,
        function, role, outcome = tracing::field::Empty, memory_bytes = tracing::field::Empty,
        batch_calls = tracing::field::Empty);
    let _enter = span.enter();
    let started = Instant::now();

    let log = ModuleLog::new(module.clone());
    let wasi = match crate::runtime::interfaces::wasi::context(&deployment.grants, log.clone()) {
        Ok(wasi) => wasi,
        Err(e) => return (Err(CallError::Host(e)), db, None),
    };
    let state = CallState::new(ctx.clone(), db, deployment.limits.memory_bytes, wasi);
    let mut store = state.into_store(runtime.engine(), runtime.deadline_ticks(deadline));
    let instance = instantiate(deployment, &mut store);
    let mut share = None;
    if instance.is_ok() {
        let begun = match begin {
            Begin::Begun => Ok(()),
            Begin::Own(access) => self::begin(&store.data().db, access),
            Begin::Batched(batches) => batches
                .join(&mut store.data_mut().db)
                .map(|joined| {
                    span.record("batch_calls", joined.calls());
                    share = Some(joined)
                })
                .map_err(|e| {
                    CallError::Host(
                        anyhow::Error::new(e).context("cannot begin the call's transaction"),
                    )
                }),
        };
        if let Err(e) = begun {
            log.finish();
            return (Err(e), store.into_data().db, share);
        }
        if share.is_some() {
            // The deadline is the module's: waiting for its turn in the
            // batch is not.
            store.set_epoch_deadline(runtime.deadline_ticks(deadline));
        }
    }
    let result = instance.and_then(|instance| call(&instance, &mut store));
    log.finish();
    let state = store.into_data();

    let outcome = match result {
        Ok(Ok(value)) if value.answer_items() > MAX_ANSWER_ITEMS => {
            runtime
                .metrics()
                .record_limit(&ctx.organisation, "answer-items");
            Err(CallError::Oversized {
                module: module.to_string(),
                items: value.answer_items(),
                limit: MAX_ANSWER_ITEMS,
            })
        }
        Ok(Ok(value)) => Ok(value),
        Ok(Err(outcome)) => Err(CallError::Refused(outcome)),
        Err(error) => Err(classify(
            error,
            &module,
            deployment,
            deadline,
            state.memory_denied(),
        )),
    };
    let elapsed = started.elapsed();
    let label = match &outcome {
        Ok(_) => "ok",
        Err(CallError::Refused(_)) => "refused",
        Err(CallError::Timeout { .. }) => "timeout",
        Err(CallError::OutOfMemory { .. }) => "out-of-memory",
        Err(CallError::Trapped { .. }) => "trap",
        Err(CallError::Oversized { .. }) => "oversized",
        Err(CallError::Busy { .. } | CallError::Host(_) | CallError::NoModule { .. }) => {
            "host-error"
        }
    };
    span.record("outcome", label);
    span.record("memory_bytes", state.memory_bytes());
    runtime
        .metrics()
        .record_call(&ctx.organisation, &module, function, label, elapsed);
    let failed = outcome
        .as_ref()
        .err()
        .is_some_and(CallError::is_module_failure);
    match &outcome {
        Err(e) if failed => {
            tracing::error!(error = %e, elapsed_us = elapsed.as_micros() as u64, "module call failed")
        }
        Err(CallError::Host(e)) => {
            tracing::error!(error = %format!("{e:#}"), "host error in module call")
        }
        _ => tracing::debug!(elapsed_us = elapsed.as_micros() as u64, "module call done"),
    }
    if let Some(reason) = deployment
        .health
        .record(failed, &ctx.user, runtime.rollback_policy())
    {
        runtime.report_failing(Failing {
            org: ctx.organisation.clone(),
            deployment: deployment.clone(),
            reason,
        });
    }
    (outcome, state.db, share)
}

fn classify(
    error: wasmtime::Error,
    module: &Arc<str>,
    deployment: &Deployment,
    deadline: Duration,
    memory_denied: bool,
) -> CallError {
    let module = module.to_string();
    if let Some(trap) = error.downcast_ref::<Trap>() {
        if *trap == Trap::Interrupt {
            return CallError::Timeout {
                module,
                deadline_ms: deadline.as_millis() as u64,
            };
        }
        if memory_denied {
            return CallError::OutOfMemory {
                module,
                limit_bytes: deployment.limits.memory_bytes,
            };
        }
        return CallError::Trapped {
            module,
            message: format!("{trap}"),
        };
    }
    if memory_denied {
        return CallError::OutOfMemory {
            module,
            limit_bytes: deployment.limits.memory_bytes,
        };
    }
    if let Some(fault) = error.downcast_ref::<crate::runtime::interfaces::HostFault>() {
        return CallError::Host(anyhow::anyhow!("{fault}"));
    }
    if error
        .downcast_ref::<wasmtime::PoolConcurrencyLimitError>()
        .is_some()
    {
        return CallError::Host(anyhow::anyhow!("too many concurrent calls: {error}"));
    }
    // An error raised by a host interface (a trappable import) or during
    // instantiation: the module did not get what it needed.
    CallError::Trapped {
        module,
        message: format!("{error:#}"),
    }
}
