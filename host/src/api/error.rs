//! An error answer: an HTTP status and a FHIR OperationOutcome that says
//! what is wrong and what to do, from every kind of failure the API meets.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use crate::api::fhir::{self, Invalid};
use crate::api::identity::AuthError;
use crate::runtime::bindings::IssueCode;
use crate::runtime::call_error::CallError;
use crate::store::database::DbError;
use crate::store::storage_fault::StorageFault;

/// An error answer: an HTTP status and an OperationOutcome.
#[derive(Debug)]
pub struct ApiError {
    /// The status.
    pub status: StatusCode,
    /// The OperationOutcome.
    pub body: Value,
    /// For the audit trail: a short outcome label.
    pub label: String,
    /// For a 503 the client should retry: after how many seconds.
    pub retry_after: Option<u64>,
}

impl ApiError {
    /// An error with one issue.
    pub fn new(status: StatusCode, code: IssueCode, diagnostics: impl Into<String>) -> ApiError {
        let diagnostics = diagnostics.into();
        ApiError {
            status,
            body: fhir::error_outcome(code, &diagnostics, None),
            label: format!("{}: {diagnostics}", status.as_u16()),
            retry_after: None,
        }
    }

    /// A failure of the host's own, neither the client's nor the module's.
    /// When the store cannot be written (a full disk, a read-only data
    /// directory, a failing device) the answer says so and what to do: 507
    /// for a full disk, 503 otherwise, with `Retry-After`. When it was only
    /// busy (no connection or no turn at the write lock came free in time),
    /// 503 with `Retry-After: 1`. Anything else is a 500 that says what
    /// failed (`what`) and why.
    pub fn host_failure(what: &str, error: &anyhow::Error) -> ApiError {
        // The store was busy, not broken: the same request can succeed in
        // a moment.
        let busy = error.chain().any(|cause| {
            matches!(
                cause.downcast_ref::<DbError>(),
                Some(DbError::Busy(_) | DbError::Exhausted(_))
            )
        });
        if busy {
            return ApiError {
                retry_after: Some(1),
                ..Self::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    IssueCode::Exception,
                    format!("{what}: {error:#}"),
                )
            };
        }
        let Some(fault) = StorageFault::of(error) else {
            return Self::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                IssueCode::Exception,
                format!("{what}: {error:#}"),
            );
        };
        tracing::error!(fault = fault.as_str(), error = %format!("{error:#}"), "{what}: the store cannot be written");
        let status = match fault {
            StorageFault::Full => StatusCode::INSUFFICIENT_STORAGE,
            StorageFault::ReadOnly | StorageFault::Io => StatusCode::SERVICE_UNAVAILABLE,
        };
        let diagnostics = format!("{what}: {}", fault.explain());
        ApiError {
            status,
            body: fhir::error_outcome(IssueCode::Exception, &diagnostics, None),
            label: format!("{}: storage {}", status.as_u16(), fault.as_str()),
            retry_after: Some(30),
        }
    }

    /// 403: the caller may not do this.
    pub fn forbidden(diagnostics: impl Into<String>) -> ApiError {
        Self::new(StatusCode::FORBIDDEN, IssueCode::Forbidden, diagnostics)
    }
}

impl From<Invalid> for ApiError {
    fn from(e: Invalid) -> ApiError {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            body: fhir::error_outcome(IssueCode::Invalid, &e.message, e.expression.as_deref()),
            label: format!("400: {}", e.message),
            retry_after: None,
        }
    }
}

impl From<AuthError> for ApiError {
    fn from(e: AuthError) -> ApiError {
        Self::new(
            StatusCode::UNAUTHORIZED,
            IssueCode::Forbidden,
            e.to_string(),
        )
    }
}

impl From<CallError> for ApiError {
    fn from(e: CallError) -> ApiError {
        let status = match &e {
            CallError::Refused(outcome) => match outcome.code() {
                IssueCode::Invalid
                | IssueCode::Required
                | IssueCode::Value
                | IssueCode::TooLong => StatusCode::BAD_REQUEST,
                IssueCode::NotFound => StatusCode::NOT_FOUND,
                IssueCode::Conflict | IssueCode::Duplicate => StatusCode::CONFLICT,
                IssueCode::BusinessRule | IssueCode::Processing => StatusCode::UNPROCESSABLE_ENTITY,
                IssueCode::Forbidden => StatusCode::FORBIDDEN,
                IssueCode::NotSupported => StatusCode::BAD_REQUEST,
                IssueCode::Timeout => StatusCode::SERVICE_UNAVAILABLE,
                IssueCode::Exception => StatusCode::INTERNAL_SERVER_ERROR,
            },
            CallError::Timeout { .. }
            | CallError::OutOfMemory { .. }
            | CallError::Trapped { .. }
            | CallError::Oversized { .. }
            | CallError::Busy { .. }
            | CallError::NoModule { .. } => StatusCode::SERVICE_UNAVAILABLE,
            CallError::Host(error) => {
                return Self::host_failure("the host could not complete the call", error);
            }
        };
        let body = match &e {
            CallError::Refused(outcome) => fhir::operation_outcome(outcome),
            CallError::Timeout { .. } => {
                fhir::error_outcome(IssueCode::Timeout, &e.to_string(), None)
            }
            other => fhir::error_outcome(
                IssueCode::Exception,
                &format!("{other}: try again shortly"),
                None,
            ),
        };
        ApiError {
            status,
            body,
            label: format!("{}: {e}", status.as_u16()),
            retry_after: matches!(e, CallError::Busy { .. }).then_some(1),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status, fhir::fhir_json(self.body)).into_response();
        if let Some(secs) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        if self.status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_busy_store_is_a_503_to_retry_not_a_500() {
        let busy = anyhow::Error::new(DbError::Busy(std::time::Duration::from_secs(10)))
            .context("cannot begin the call's transaction");
        let answer = ApiError::host_failure("the host could not complete the call", &busy);
        assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(answer.retry_after, Some(1));
        assert!(
            answer.label.contains("try again shortly"),
            "{}",
            answer.label
        );
        let broken = anyhow::anyhow!("the statement failed");
        let answer = ApiError::host_failure("the host could not complete the call", &broken);
        assert_eq!(answer.status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(answer.retry_after, None);
    }
}
