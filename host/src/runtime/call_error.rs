//! Why a module call did not produce a result: the module refused, failed
//! (trap, timeout, memory), was missing, or the host could not run it.

use crate::runtime::bindings::{IssueCode, Outcome};

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
    /// The module answered more items than any answer may hold.
    #[error("module {module} answered {items} items; at most {limit} are accepted in one answer")]
    Oversized {
        /// The module.
        module: String,
        /// How many it answered.
        items: usize,
        /// The most accepted.
        limit: usize,
    },
    /// The organisation already has as many calls running as it may: one
    /// organisation's load cannot starve the others.
    #[error(
        "organisation {organisation} already has {limit} module calls running: try again in a moment"
    )]
    Busy {
        /// The organisation.
        organisation: String,
        /// How many calls it may run at once.
        limit: usize,
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
            CallError::Timeout { .. }
                | CallError::OutOfMemory { .. }
                | CallError::Trapped { .. }
                | CallError::Oversized { .. }
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
