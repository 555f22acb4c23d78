//! Where a call's changes go: its own transaction (committed only when a
//! write call succeeds), or a scratch transaction shared by a series of
//! readiness calls and always rolled back.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::runtime::call_error::CallError;
use crate::runtime::engine::Runtime;
use crate::store::records::PooledConnection;

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
        db.begin(true)
            .map_err(|e| anyhow::Error::new(e).context("cannot begin a scratch transaction"))?;
        Ok(Arc::new(Scratch {
            db: std::sync::Mutex::new(Some(db)),
            ends: Instant::now() + budget,
        }))
    }

    /// What is left of the budget (at least a millisecond).
    pub(crate) fn remaining(&self) -> Duration {
        self.ends
            .saturating_duration_since(Instant::now())
            .max(Duration::from_millis(1))
    }

    pub(crate) fn take(&self) -> Result<PooledConnection, CallError> {
        self.db
            .lock()
            .ok()
            .and_then(|mut db| db.take())
            .ok_or_else(|| CallError::Host(anyhow::anyhow!("the scratch transaction is busy")))
    }

    pub(crate) fn put_back(&self, db: PooledConnection) {
        if let Ok(mut slot) = self.db.lock() {
            *slot = Some(db);
        }
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if let Some(db) = self.db.get_mut().ok().and_then(|db| db.take())
            && let Err(e) = db.rollback()
        {
            tracing::error!(error = %e, "cannot roll back a scratch transaction");
        }
    }
}
