//! The call's state: who is calling, for which organisation and when, and
//! what every host interface sees during one call (the call's database
//! connection inside its transaction, its WASI context, its memory limit).
//! The lowest type of the runtime: host interfaces, deployments and the
//! engine's linker all build on it.

use wasmtime::component::ResourceTable;
use wasmtime::{Engine, ResourceLimiter, Store};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

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
    /// The state of one call: its WASI context (what the deployment's
    /// grants open, stderr to the log, from `interfaces::wasi::context`) and
    /// the deployment's memory limit.
    pub fn new(
        ctx: CallContext,
        db: PooledConnection,
        memory_limit_bytes: usize,
        wasi: WasiCtx,
    ) -> CallState {
        CallState {
            ctx,
            db,
            wasi,
            table: ResourceTable::new(),
            limiter: MemoryLimiter {
                limit_bytes: memory_limit_bytes,
                denied: false,
                granted_bytes: 0,
            },
        }
    }

    /// A store for this state on `engine`, with its memory limiter set and
    /// its deadline `deadline_ticks` epochs away.
    pub fn into_store(self, engine: &Engine, deadline_ticks: u64) -> Store<CallState> {
        let mut store = Store::new(engine, self);
        store.limiter(|s| &mut s.limiter);
        store.set_epoch_deadline(deadline_ticks);
        store
    }

    /// Whether the call was refused memory it asked for: a trap after that
    /// is the module running out of memory.
    pub fn memory_denied(&self) -> bool {
        self.limiter.denied
    }

    /// The linear memory the call's instance holds, in bytes: every memory
    /// of its core instances, as created and grown so far.
    pub fn memory_bytes(&self) -> usize {
        self.limiter.granted_bytes
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
/// grow, so an allocation failure is reported as running out of memory; and
/// counts what it granted, the instance's memory.
struct MemoryLimiter {
    limit_bytes: usize,
    denied: bool,
    granted_bytes: usize,
}

impl ResourceLimiter for MemoryLimiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.limit_bytes {
            self.denied = true;
            return Ok(false);
        }
        self.granted_bytes += desired.saturating_sub(current);
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
