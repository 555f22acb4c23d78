//! Module calls and store queries block: they run on tokio's blocking pool,
//! and their failures become answers.

use axum::http::StatusCode;

use crate::api::error::ApiError;
use crate::runtime::bindings::IssueCode;
use crate::runtime::call_error::CallError;
use crate::store::database::{Connection, DbError};
use crate::store::records::RecordStore;

/// Runs blocking work (a module call, a store query) on the blocking pool.
pub async fn blocking<R: Send + 'static>(
    f: impl FnOnce() -> R + Send + 'static,
) -> anyhow::Result<R> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| anyhow::anyhow!("a blocking task failed: {e}"))
}

/// Runs a module call on the blocking pool, mapping its errors to answers.
pub async fn module_call<R: Send + 'static>(
    f: impl FnOnce() -> Result<R, CallError> + Send + 'static,
) -> Result<R, ApiError> {
    match blocking(f).await {
        Ok(result) => result.map_err(ApiError::from),
        Err(e) => Err(ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            IssueCode::Exception,
            e.to_string(),
        )),
    }
}

/// Reads the records on the blocking pool, with a pooled connection; a
/// failure becomes an answer saying `what` could not be read (a storage
/// fault keeps its own status).
pub async fn store_read<R: Send + 'static>(
    store: &RecordStore,
    what: &'static str,
    f: impl FnOnce(&Connection) -> Result<R, DbError> + Send + 'static,
) -> Result<R, ApiError> {
    let store = store.clone();
    blocking(move || -> anyhow::Result<R> { Ok(f(&*store.connection()?)?) })
        .await
        .and_then(|r| r)
        .map_err(|e| ApiError::host_failure(&format!("cannot read {what}"), &e))
}
