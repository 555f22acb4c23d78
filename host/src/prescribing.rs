//! Calling a prescribing module: one typed method per function of
//! `care:prescribing/ordering`, each a fresh instance under the slot's active
//! deployment.

use std::sync::Arc;

use wasmtime::Store;

use crate::bindings::Outcome;
use crate::bindings::prescribing::exports::care::prescribing::ordering::Guest;
use crate::call::{Access, CallContext, CallError, CallState, invoke};
use crate::deployment::{Deployment, Pre};
use crate::engine::Runtime;
use crate::standard::Standard;

pub use crate::bindings::prescribing::care::prescribing::records::{
    Allergy, Criticality, Dosage, MedicationRequest, RequestIntent, RequestStatus,
};
pub use crate::bindings::prescribing::exports::care::prescribing::ordering::{
    Card, CardCategory, Draft, Indicator, Issued, Source, SuggestedAction, Suggestion,
};

/// A prescribing module, bound to one caller's context.
pub struct Ordering {
    runtime: Runtime,
    deployment: Arc<Deployment>,
    ctx: CallContext,
}

impl Runtime {
    /// The organisation's active prescribing module, for calls in `ctx`.
    pub fn ordering(&self, ctx: CallContext) -> Result<Ordering, CallError> {
        let deployment = self.active(&ctx.organisation, Standard::Prescribing)?;
        Ok(Ordering {
            runtime: self.clone(),
            deployment,
            ctx,
        })
    }
}

impl Ordering {
    /// The deployment the calls go to.
    pub fn deployment(&self) -> &Arc<Deployment> {
        &self.deployment
    }

    fn invoke<R>(
        &self,
        function: &'static str,
        access: Access,
        call: impl FnOnce(&Guest, &mut Store<CallState>) -> wasmtime::Result<Result<R, Outcome>>,
    ) -> Result<R, CallError> {
        let Pre::Prescribing(pre) = &self.deployment.pre else {
            return Err(CallError::Host(anyhow::anyhow!(
                "{} is not a prescribing module",
                self.deployment.module.label
            )));
        };
        invoke(
            &self.runtime,
            &self.deployment,
            &self.ctx,
            function,
            access,
            |store| pre.instantiate(store),
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
