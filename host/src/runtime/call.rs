//! The call lifetime: one store, one fresh instance and one database
//! transaction per module call, under the deployment's deadline and memory
//! limit. A trap, a timeout or running out of memory ends that call only.

use std::sync::Arc;
use std::time::{Duration, Instant};

use wasmtime::component::ResourceTable;
use wasmtime::{ResourceLimiter, Store, Trap};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use crate::runtime::bindings::{IssueCode, Outcome};
use crate::runtime::deployment::Deployment;
use crate::runtime::engine::Runtime;
use crate::runtime::function_slot::Route;
use crate::runtime::module_log::ModuleLog;
use crate::runtime::trial::{Comparable, essence};
use crate::store::records::PooledConnection;

/// Who is calling, for which organisation, and when.
#[derive(Debug, Clone)]
pub struct CallContext {
    /// The organisation's ODS code; every record the call touches is its.
    pub organisation: String,
    /// The caller's user id, recorded as requester and in the audit trail.
    pub user: String,
    /// A label for the caller, e.g. the clinician's name.
    pub user_display: Option<String>,
    /// The time the module sees as now, in milliseconds since the epoch.
    pub now: i64,
}

impl CallContext {
    /// A context for an organisation and user at the current time.
    pub fn new(organisation: impl Into<String>, user: impl Into<String>) -> Self {
        CallContext {
            organisation: organisation.into(),
            user: user.into(),
            user_display: None,
            now: now_ms(),
        }
    }
}

/// The current wall-clock time in milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default()
}

/// Whether a call may change the records. A read call's transaction is
/// always rolled back, whatever the module does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Reads only.
    Read,
    /// Reads and writes; committed only when the call succeeds.
    Write,
}

/// Why a module call did not produce a result.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// The module refused the request, with its reasons (FHIR OperationOutcome).
    #[error("{}", .0.diagnostics())]
    Refused(Outcome),
    /// The module ran past its deadline and was stopped.
    #[error("module {module} did not answer within {deadline_ms} ms and was stopped")]
    Timeout {
        /// The module, `supplier/name@version`.
        module: String,
        /// The deadline it ran past.
        deadline_ms: u64,
    },
    /// The module tried to use more memory than its limit.
    #[error(
        "module {module} tried to use more than its memory limit of {limit_bytes} bytes and was stopped"
    )]
    OutOfMemory {
        /// The module.
        module: String,
        /// Its memory limit.
        limit_bytes: usize,
    },
    /// The module trapped (crashed).
    #[error("module {module} failed: {message}")]
    Trapped {
        /// The module.
        module: String,
        /// What the trap said.
        message: String,
    },
    /// The organisation has no module deployed for the function.
    #[error(
        "organisation {organisation} has no {function} module deployed: deploy one to its {function} slot"
    )]
    NoModule {
        /// The organisation.
        organisation: String,
        /// The care function.
        function: &'static str,
    },
    /// The host could not run the call: no instance available, or the store
    /// failed.
    #[error("the host could not run the call: {0:#}")]
    Host(anyhow::Error),
}

impl CallError {
    /// Whether the module itself failed (trap, timeout, memory), as opposed to
    /// refusing the request or the host failing.
    pub fn is_module_failure(&self) -> bool {
        matches!(
            self,
            CallError::Timeout { .. } | CallError::OutOfMemory { .. } | CallError::Trapped { .. }
        )
    }

    /// The outcome's issue code for a refusal, or `None` for failures.
    pub fn refusal_code(&self) -> Option<IssueCode> {
        match self {
            CallError::Refused(outcome) => Some(outcome.code()),
            _ => None,
        }
    }
}

/// Per-call state: what every host interface needs during one call.
pub struct CallState {
    /// Who, for whom, when.
    pub ctx: CallContext,
    /// The call's database connection, inside the call's transaction.
    pub db: PooledConnection,
    wasi: WasiCtx,
    table: ResourceTable,
    limiter: MemoryLimiter,
}

impl CallState {
    /// The state of one call of a deployment: its WASI context (what the
    /// grants open, stderr to the log, from `interfaces::wasi::context`) and
    /// its memory limit.
    pub fn new(
        ctx: CallContext,
        db: PooledConnection,
        deployment: &Deployment,
        wasi: WasiCtx,
    ) -> CallState {
        CallState {
            ctx,
            db,
            wasi,
            table: ResourceTable::new(),
            limiter: MemoryLimiter {
                limit_bytes: deployment.limits.memory_bytes,
                denied: false,
            },
        }
    }

    /// A store for this state, with its memory limiter and deadline set.
    pub fn into_store(self, runtime: &Runtime, deadline: std::time::Duration) -> Store<CallState> {
        let mut store = Store::new(runtime.engine(), self);
        store.limiter(|s| &mut s.limiter);
        store.set_epoch_deadline(runtime.deadline_ticks(deadline));
        store
    }
}

impl WasiView for CallState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

/// Enforces a deployment's memory limit and remembers whether it refused to
/// grow, so an allocation failure is reported as running out of memory.
struct MemoryLimiter {
    limit_bytes: usize,
    denied: bool,
}

impl ResourceLimiter for MemoryLimiter {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.limit_bytes {
            self.denied = true;
            return Ok(false);
        }
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= 100_000)
    }
}

/// Where a call's changes go.
#[derive(Clone, Default)]
pub enum Tx {
    /// Its own transaction: a write call's is committed if the module
    /// returns `Ok`; a read call's is always rolled back.
    #[default]
    Own,
    /// A scratch transaction shared by a series of calls and rolled back at
    /// its end: readiness checks against the organisation's real records.
    Scratch(Arc<Scratch>),
}

/// A transaction on the records that is never committed: calls made in it
/// see the organisation's records and each other's changes, and everything
/// is rolled back when it is dropped.
pub struct Scratch {
    db: std::sync::Mutex<Option<PooledConnection>>,
    ends: Instant,
}

impl Scratch {
    /// Begins a scratch transaction. It holds the store's write lock until
    /// dropped, so every call in it shares `budget`: each call's deadline is
    /// its deployment's, cut to what is left of the budget.
    pub fn begin(runtime: &Runtime, budget: Duration) -> anyhow::Result<Arc<Scratch>> {
        let db = runtime.records().connection()?;
        db.execute_batch("BEGIN IMMEDIATE")
            .map_err(|e| anyhow::Error::new(e).context("cannot begin a scratch transaction"))?;
        Ok(Arc::new(Scratch {
            db: std::sync::Mutex::new(Some(db)),
            ends: Instant::now() + budget,
        }))
    }

    /// What is left of the budget (at least a millisecond).
    fn remaining(&self) -> Duration {
        self.ends
            .saturating_duration_since(Instant::now())
            .max(Duration::from_millis(1))
    }

    fn take(&self) -> Result<PooledConnection, CallError> {
        self.db
            .lock()
            .ok()
            .and_then(|mut db| db.take())
            .ok_or_else(|| CallError::Host(anyhow::anyhow!("the scratch transaction is busy")))
    }

    fn put_back(&self, db: PooledConnection) {
        if let Ok(mut slot) = self.db.lock() {
            *slot = Some(db);
        }
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if let Some(db) = self.db.get_mut().ok().and_then(|db| db.take())
            && let Err(e) = db.execute_batch("ROLLBACK")
        {
            tracing::error!(error = %e, "cannot roll back a scratch transaction");
        }
    }
}

/// Who calls which module, and where the changes go: what a typed module
/// API (`Booking`, `Ordering`) holds.
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
}

impl<T> Recorded for Vec<T> {}

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
    let db = match tx {
        Tx::Own => {
            let db = runtime.records().connection().map_err(CallError::Host)?;
            let begin = match access {
                Access::Read => "BEGIN DEFERRED",
                Access::Write => "BEGIN IMMEDIATE",
            };
            db.execute_batch(begin).map_err(|e| {
                CallError::Host(
                    anyhow::Error::new(e).context("cannot begin the call's transaction"),
                )
            })?;
            db
        }
        Tx::Scratch(scratch) => {
            let db = scratch.take()?;
            if let Err(e) = db.execute_batch("SAVEPOINT call") {
                scratch.put_back(db);
                return Err(CallError::Host(
                    anyhow::Error::new(e).context("cannot begin a scratch call"),
                ));
            }
            db
        }
    };
    let sql = |db: &PooledConnection, sql: &str| {
        db.execute_batch(sql)
            .map_err(|e| CallError::Host(anyhow::Error::new(e).context(format!("{sql} failed"))))
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
                let (result, conn) = run(
                    runtime,
                    &trial.deployment,
                    ctx,
                    function,
                    "shadow",
                    deadline(&trial.deployment),
                    db,
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
    let (result, conn) = run(
        runtime,
        &route.deployment,
        ctx,
        function,
        role,
        deadline(&route.deployment),
        conn,
        &instantiate,
        &call,
    );

    let commit = access == Access::Write && result.is_ok();
    let result = match tx {
        Tx::Own => {
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
                            let _ = sql(&conn, "ROLLBACK");
                            return Err(CallError::Host(
                                e.context("the change could not be audited, so it was not made"),
                            ));
                        }
                    }
                }
                _ => None,
            };
            let ended = sql(&conn, if commit { "COMMIT" } else { "ROLLBACK" });
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

/// Runs one module call on a connection already inside a transaction:
/// instantiates, calls, classifies the outcome, records metrics and health.
#[allow(clippy::too_many_arguments)]
fn run<P, R>(
    runtime: &Runtime,
    deployment: &Arc<Deployment>,
    ctx: &CallContext,
    function: &'static str,
    role: &'static str,
    deadline: Duration,
    db: PooledConnection,
    instantiate: &impl Fn(&Deployment, &mut Store<CallState>) -> wasmtime::Result<P>,
    call: &impl Fn(&P, &mut Store<CallState>) -> wasmtime::Result<Result<R, Outcome>>,
) -> (Result<R, CallError>, PooledConnection) {
    let module = deployment.label();
    let span = tracing::info_span!("module_call",
        org = %ctx.organisation, slot = deployment.module.standard.function(), module = %module,
        version = %deployment.module.id.version,
        function, role, outcome = tracing::field::Empty);
    let _enter = span.enter();
    let started = Instant::now();

    let log = ModuleLog::new(module.clone());
    let wasi = match crate::runtime::interfaces::wasi::context(&deployment.grants, log.clone()) {
        Ok(wasi) => wasi,
        Err(e) => return (Err(CallError::Host(e)), db),
    };
    let state = CallState::new(ctx.clone(), db, deployment, wasi);
    let mut store = state.into_store(runtime, deadline);
    let result =
        instantiate(deployment, &mut store).and_then(|instance| call(&instance, &mut store));
    log.finish();
    let state = store.into_data();

    let outcome = match result {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(outcome)) => Err(CallError::Refused(outcome)),
        Err(error) => Err(classify(
            error,
            &module,
            deployment,
            deadline,
            state.limiter.denied,
        )),
    };
    let elapsed = started.elapsed();
    let label = match &outcome {
        Ok(_) => "ok",
        Err(CallError::Refused(_)) => "refused",
        Err(CallError::Timeout { .. }) => "timeout",
        Err(CallError::OutOfMemory { .. }) => "out-of-memory",
        Err(CallError::Trapped { .. }) => "trap",
        Err(CallError::Host(_) | CallError::NoModule { .. }) => "host-error",
    };
    span.record("outcome", label);
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
        runtime.report_failing(crate::runtime::health::Failing {
            org: ctx.organisation.clone(),
            deployment: deployment.clone(),
            reason,
        });
    }
    (outcome, state.db)
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
