//! Calling a prescribing module: one typed method per function of
//! `care:prescribing/ordering`, each a fresh instance under the slot's active
//! deployment.

use std::sync::Arc;

use wasmtime::Store;

use crate::runtime::bindings::Outcome;
use crate::runtime::bindings::prescribing::exports::care::prescribing::ordering::Guest;
use crate::runtime::call::{
    Access, AuditOnCommit, CallContext, CallError, CallState, Caller, Recorded, Scratch, Tx, invoke,
};
use crate::runtime::deployment::{Deployment, Pre};
use crate::runtime::engine::Runtime;
use crate::runtime::function_slot::{Route, RouteKey};
use crate::runtime::standard::Standard;
use crate::runtime::trial::Comparable;

pub use crate::runtime::bindings::prescribing::care::prescribing::records::{
    Allergy, Criticality, Dosage, MedicationRequest, RequestIntent, RequestStatus,
};
pub use crate::runtime::bindings::prescribing::exports::care::prescribing::ordering::{
    Card, CardCategory, Draft, Indicator, Issued, Source, SuggestedAction, Suggestion,
};

/// A prescribing module, bound to one caller's context.
pub struct Ordering {
    caller: Caller,
}

impl Runtime {
    /// The organisation's prescribing module for calls in `ctx` by the caller.
    pub fn ordering(&self, ctx: CallContext) -> Result<Ordering, CallError> {
        self.ordering_for(ctx, RouteKey::Caller)
    }

    /// The organisation's prescribing module for calls about `key`'s patient:
    /// the active deployment, or a canary if the patient is in its share.
    pub fn ordering_for(&self, ctx: CallContext, key: RouteKey) -> Result<Ordering, CallError> {
        let route = self.route(&ctx, Standard::Prescribing, &key)?;
        Ok(Ordering {
            caller: Caller {
                runtime: self.clone(),
                route,
                ctx,
                tx: Tx::Own,
                audit: None,
            },
        })
    }

    /// A deployment's prescribing functions, called in a scratch transaction
    /// (readiness checks): whatever they change is rolled back.
    pub fn ordering_in_scratch(
        &self,
        ctx: CallContext,
        deployment: Arc<Deployment>,
        scratch: Arc<Scratch>,
    ) -> Ordering {
        Ordering {
            caller: Caller {
                runtime: self.clone(),
                route: Route {
                    deployment,
                    shadow: None,
                },
                ctx,
                tx: Tx::Scratch(scratch),
                audit: None,
            },
        }
    }
}

impl Ordering {
    /// The deployment the calls go to.
    pub fn deployment(&self) -> &Arc<Deployment> {
        &self.caller.route.deployment
    }

    /// The same module, its write calls committing `audit` with their
    /// changes.
    pub fn audited(mut self, audit: Arc<AuditOnCommit>) -> Self {
        self.caller.audit = Some(audit);
        self
    }

    fn invoke<R: Comparable + Recorded>(
        &self,
        function: &'static str,
        access: Access,
        call: impl Fn(&Guest, &mut Store<CallState>) -> wasmtime::Result<Result<R, Outcome>>,
    ) -> Result<R, CallError> {
        invoke(
            &self.caller,
            function,
            access,
            |deployment, store| match &deployment.pre {
                Pre::Prescribing(pre) => pre.instantiate(store),
                _ => Err(wasmtime::Error::msg(format!(
                    "{} is not a prescribing module",
                    deployment.module.label
                ))),
            },
            |provider, store| call(provider.care_prescribing_ordering(), store),
        )
    }

    /// Decision support for a draft.
    pub fn check(&self, draft: &Draft) -> Result<Vec<Card>, CallError> {
        self.invoke("check", Access::Read, |g, s| g.call_check(s, draft))
    }

    /// Issues a draft, overriding critical cards with a reason if given.
    pub fn issue(&self, draft: &Draft, override_reason: Option<&str>) -> Result<Issued, CallError> {
        self.invoke("issue", Access::Write, |g, s| {
            g.call_issue(s, draft, override_reason)
        })
    }

    /// Cancels a request.
    pub fn cancel(&self, request_id: &str, reason: &str) -> Result<MedicationRequest, CallError> {
        self.invoke("cancel", Access::Write, |g, s| {
            g.call_cancel(s, request_id, reason)
        })
    }

    /// Reads a request.
    pub fn read(&self, request_id: &str) -> Result<MedicationRequest, CallError> {
        self.invoke("read", Access::Read, |g, s| g.call_read(s, request_id))
    }

    /// A patient's active requests.
    pub fn active(&self, patient: &String) -> Result<Vec<MedicationRequest>, CallError> {
        self.invoke("active", Access::Read, |g, s| g.call_active(s, patient))
    }
}

impl Recorded for MedicationRequest {
    fn audit_resource(&self) -> Option<String> {
        Some(format!("MedicationRequest/{}", self.id))
    }
    fn audit_patient(&self) -> Option<String> {
        Some(self.patient.clone())
    }
}

impl Recorded for Issued {
    fn audit_resource(&self) -> Option<String> {
        self.request.audit_resource()
    }
    fn audit_patient(&self) -> Option<String> {
        self.request.audit_patient()
    }
}
