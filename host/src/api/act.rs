//! One audited action: every clinical and admin route starts an [`Act`],
//! which checks the caller's role, and finishes it, which writes the audit
//! entry with the outcome, refusals and failures included. A clinical
//! write's entry is committed in the write's own transaction instead.

use std::sync::Arc;

use axum::http::StatusCode;

use crate::api::error::ApiError;
use crate::api::identity::{Principal, Role};
use crate::api::state::AppState;
use crate::runtime::bindings::IssueCode;
use crate::runtime::call::AuditOnCommit;
use crate::runtime::call_state::{CallContext, now_ms};
use crate::runtime::function_slot::RouteKey;
use crate::store::audit;

/// One audited action by a caller in a role.
pub struct Act {
    state: AppState,
    principal: Principal,
    role: Role,
    action: &'static str,
    /// The resource acted on, e.g. `Appointment/…`.
    pub resource: Option<String>,
    /// The patient concerned.
    pub patient: Option<String>,
    /// The module and version that handled it.
    pub module: Option<String>,
    /// More for the audit trail, e.g. an override reason.
    pub detail: Option<String>,
    /// The entry a write call commits with its change, once asked for.
    committed: Option<Arc<AuditOnCommit>>,
}

impl AppState {
    /// Starts an action: the caller must hold one of `roles`; if not, the
    /// refusal is audited and answered 403.
    pub async fn act(
        &self,
        principal: &Principal,
        action: &'static str,
        roles: &[Role],
    ) -> Result<Act, ApiError> {
        let Some(role) = principal.acting_role(roles) else {
            let held: Vec<&str> = principal.roles.iter().map(|r| r.as_str()).collect();
            let allowed: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
            let error = ApiError::forbidden(format!(
                "{action} needs the role {}; the caller has {}",
                allowed.join(" or "),
                held.join(", ")
            ));
            let act = Act {
                state: self.clone(),
                principal: principal.clone(),
                role: principal.roles.first().copied().unwrap_or(Role::Patient),
                action,
                resource: None,
                patient: None,
                module: None,
                detail: None,
                committed: None,
            };
            return act.finish(Err(error)).await;
        };
        Ok(Act {
            state: self.clone(),
            principal: principal.clone(),
            role,
            action,
            resource: None,
            patient: None,
            module: None,
            detail: None,
            committed: None,
        })
    }
}

impl Act {
    /// The role the caller acts in.
    pub fn role(&self) -> Role {
        self.role
    }

    /// The caller.
    pub fn principal(&self) -> &Principal {
        &self.principal
    }

    /// The shared state.
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// The module call context for this caller.
    pub fn call_context(&self) -> CallContext {
        CallContext {
            organisation: self.principal.organisation.clone(),
            user: self.principal.user.clone(),
            user_display: self.principal.name.clone(),
            now: now_ms(),
        }
    }

    /// Whose call this is for a canary's routing, when it names no patient:
    /// a patient's own NHS number, or the caller.
    pub fn route_key(&self) -> RouteKey {
        match (&self.role, &self.principal.nhs_number) {
            (Role::Patient, Some(nhs)) => RouteKey::Patient(nhs.clone()),
            _ => RouteKey::Caller,
        }
    }

    /// For the patient role: refuses anything about another patient.
    pub fn check_patient(&self, nhs_number: &str) -> Result<(), ApiError> {
        if self.role == Role::Patient && self.principal.nhs_number.as_deref() != Some(nhs_number) {
            return Err(ApiError::forbidden(
                "a patient may see and change only their own records",
            ));
        }
        Ok(())
    }

    /// For the patient role, reading or changing a resource by id: another
    /// patient's resource is answered exactly as one that does not exist,
    /// so a patient cannot learn which ids are in use. (The audit trail
    /// still says which it was.) Other roles get the answer as it is.
    pub fn patients_own<T>(
        &self,
        kind: &str,
        id: &str,
        found: Result<T, ApiError>,
        patient_of: impl FnOnce(&T) -> &str,
    ) -> Result<T, ApiError> {
        if self.role != Role::Patient {
            return found;
        }
        let missing = |why: &str| {
            let mut error = ApiError::new(
                StatusCode::NOT_FOUND,
                IssueCode::NotFound,
                format!("there is no {kind} {id} among your records"),
            );
            error.label = format!("404: {why}");
            error
        };
        match found {
            Ok(resource) if self.principal.nhs_number.as_deref() == Some(patient_of(&resource)) => {
                Ok(resource)
            }
            Ok(_) => Err(missing("another patient's record")),
            Err(e) if e.status == StatusCode::NOT_FOUND => Err(missing("no such record")),
            Err(e) => Err(e),
        }
    }

    /// The audit entry as it stands, with an outcome.
    fn event(&self, outcome: String) -> audit::Event {
        audit::Event {
            user: self.principal.user.clone(),
            user_name: self.principal.name.clone(),
            org: self.principal.organisation.clone(),
            role: self.role.as_str().to_string(),
            action: self.action.to_string(),
            resource: self.resource.clone(),
            patient: self.patient.clone(),
            outcome,
            detail: self.detail.clone(),
            module: self.module.clone(),
        }
    }

    /// For a clinical write: the audit entry as it stands now, to be
    /// committed in the write call's own transaction (give it to the
    /// module API's `audited`). Set the patient, resource, module and detail
    /// first; the call's answer fills in the resource it made.
    pub fn on_commit(&mut self) -> Arc<AuditOnCommit> {
        let committed = AuditOnCommit::new(self.event(String::new()));
        self.committed = Some(committed.clone());
        committed
    }

    /// Ends the action: writes the audit entry with the result's outcome and
    /// returns the result. A write whose entry was committed with its change
    /// is not recorded twice. A failure to audit fails the request: no
    /// unaudited action.
    pub async fn finish<T>(self, result: Result<T, ApiError>) -> Result<T, ApiError> {
        let committed = self.committed.as_ref().and_then(|c| c.written());
        if result.is_ok() && committed.is_some() {
            return result;
        }
        let outcome = match &result {
            Ok(_) => "success".to_string(),
            Err(e) => e.label.clone(),
        };
        let event = self.event(outcome);
        let runtime = &self.state.runtime;
        let written = runtime
            .audit()
            .record_async(runtime.records(), now_ms(), event)
            .await;
        match written {
            Ok(_) => result,
            Err(e) => {
                tracing::error!(error = %format!("{e:#}"), "cannot write the audit trail");
                Err(ApiError::host_failure(
                    "the action could not be audited, so it is refused",
                    &e,
                ))
            }
        }
    }
}
