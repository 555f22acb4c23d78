//! The call lifetime: one store, one fresh instance and one database
//! transaction per module call, under the deployment's deadline and memory
//! limit. A trap, a timeout or running out of memory ends that call only.

use std::sync::Arc;
use std::time::Instant;

use wasmtime::component::ResourceTable;
use wasmtime::{ResourceLimiter, Store, Trap};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use crate::bindings::{IssueCode, Outcome};
use crate::deployment::Deployment;
use crate::engine::Runtime;
use crate::module_log::ModuleLog;
use crate::store::PooledConnection;

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
    /// grants open, stderr to the log) and its memory limit.
    pub fn new(
        ctx: CallContext,
        db: PooledConnection,
        deployment: &Deployment,
        log: ModuleLog,
    ) -> anyhow::Result<CallState> {
        Ok(CallState {
            ctx,
            db,
            wasi: crate::interfaces::wasi::context(&deployment.grants, log)?,
            table: ResourceTable::new(),
            limiter: MemoryLimiter {
                limit_bytes: deployment.limits.memory_bytes,
                denied: false,
            },
        })
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

/// Runs one call of a deployment: a transaction, a store and a fresh instance
/// made for it alone, dropped when it ends.
///
/// `instantiate` makes the instance from the deployment's pre-instantiated
/// component; `call` calls one export. A read call is always rolled back; a
/// write call is committed only if the module returns `Ok`.
pub fn invoke<P, R>(
    runtime: &Runtime,
    deployment: &Deployment,
    ctx: &CallContext,
    function: &'static str,
    access: Access,
    instantiate: impl FnOnce(&mut Store<CallState>) -> wasmtime::Result<P>,
    call: impl FnOnce(&P, &mut Store<CallState>) -> wasmtime::Result<Result<R, Outcome>>,
) -> Result<R, CallError> {
    let module = deployment.label();
    let span = tracing::info_span!("module_call",
        org = %ctx.organisation, slot = deployment.module.standard.function(), module = %module,
        version = %deployment.module.id.version,
        function, outcome = tracing::field::Empty);
    let _enter = span.enter();
    let started = Instant::now();

    let db = runtime.records().connection().map_err(CallError::Host)?;
    let begin = match access {
        Access::Read => "BEGIN DEFERRED",
        Access::Write => "BEGIN IMMEDIATE",
    };
    db.execute_batch(begin).map_err(|e| {
        CallError::Host(anyhow::Error::new(e).context("cannot begin the call's transaction"))
    })?;

    let log = ModuleLog::new(module.clone());
    let state =
        CallState::new(ctx.clone(), db, deployment, log.clone()).map_err(CallError::Host)?;
    let mut store = state.into_store(runtime, deployment.limits.deadline);

    let result = instantiate(&mut store).and_then(|instance| call(&instance, &mut store));
    log.finish();

    let state = store.into_data();
    let commit = access == Access::Write && matches!(result, Ok(Ok(_)));
    let end = if commit { "COMMIT" } else { "ROLLBACK" };
    let ended = state.db.execute_batch(end);

    let outcome = match result {
        Ok(Ok(value)) => match ended {
            Ok(()) => Ok(value),
            Err(e) => Err(CallError::Host(
                anyhow::Error::new(e).context("cannot commit the call's changes"),
            )),
        },
        Ok(Err(outcome)) => Err(CallError::Refused(outcome)),
        Err(error) => Err(classify(error, &module, deployment, state.limiter.denied)),
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
        .record_call(&module, function, label, elapsed);
    match &outcome {
        Err(e) if e.is_module_failure() => {
            tracing::error!(error = %e, elapsed_us = elapsed.as_micros() as u64, "module call failed")
        }
        Err(CallError::Host(e)) => {
            tracing::error!(error = %format!("{e:#}"), "host error in module call")
        }
        _ => tracing::debug!(elapsed_us = elapsed.as_micros() as u64, "module call done"),
    }
    outcome
}

fn classify(
    error: wasmtime::Error,
    module: &Arc<str>,
    deployment: &Deployment,
    memory_denied: bool,
) -> CallError {
    let module = module.to_string();
    if let Some(trap) = error.downcast_ref::<Trap>() {
        if *trap == Trap::Interrupt {
            return CallError::Timeout {
                module,
                deadline_ms: deployment.limits.deadline.as_millis() as u64,
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
    if let Some(fault) = error.downcast_ref::<crate::interfaces::HostFault>() {
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
