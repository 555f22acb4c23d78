//! Module calls and store queries block: they run on tokio's blocking pool,
//! and their failures become answers.

use axum::http::StatusCode;

use crate::api::error::ApiError;
use crate::runtime::bindings::IssueCode;
use crate::runtime::call_error::CallError;

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
