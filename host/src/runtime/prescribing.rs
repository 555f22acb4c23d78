//! Calling a prescribing module: one typed method per function of
//! `care:prescribing/ordering`, each a fresh instance under the slot's
//! active deployment (see [`super::client`]); and how a shadow compares two
//! prescribing modules' answers.

use std::sync::Arc;

use wasmtime::Store;

use crate::runtime::bindings::ordering::Ordering;
use crate::runtime::call::Recorded;
use crate::runtime::call_error::CallError;
use crate::runtime::call_state::{Access, CallContext, CallState};
use crate::runtime::client::{Client, Provider};
use crate::runtime::codes::Code;
use crate::runtime::deployment::{Deployment, Pre};
use crate::runtime::engine::Runtime;
use crate::runtime::export::Bound;
use crate::runtime::function_slot::RouteKey;
use crate::runtime::standard::Standard;
use crate::runtime::transaction::Scratch;
use crate::runtime::trial::Comparable;

pub use crate::runtime::bindings::prescribing::care::prescribing::records::{
    Allergy, Criticality, Dosage, MedicationRequest, RequestIntent, RequestStatus,
};
pub use crate::runtime::bindings::prescribing::exports::care::prescribing::ordering::{
    Card, CardCategory, Draft, Indicator, Issued, Source, SuggestedAction, Suggestion,
};

/// The prescribing standard, as the runtime calls it.
pub enum PrescribingModule {}

impl Provider for PrescribingModule {
    const STANDARD: Standard = Standard::Prescribing;
    type Instance = Bound<Ordering>;

    fn instantiate(
        deployment: &Deployment,
        store: &mut Store<CallState>,
    ) -> wasmtime::Result<Bound<Ordering>> {
        match &deployment.pre {
            Pre::Prescribing(pre) => pre.instantiate(store),
            _ => Err(wasmtime::Error::msg(format!(
                "{} is not a prescribing module",
                deployment.module.label
            ))),
        }
    }
}

/// A prescribing module, bound to one caller's context.
pub type Prescribing = Client<PrescribingModule>;

impl Runtime {
    /// The organisation's prescribing module for calls in `ctx` by the caller.
    pub fn ordering(&self, ctx: CallContext) -> Result<Prescribing, CallError> {
        self.ordering_for(ctx, RouteKey::Caller)
    }

    /// The organisation's prescribing module for calls about `key`'s
    /// patient: the active deployment, or a canary if the patient is in its
    /// share.
    pub fn ordering_for(&self, ctx: CallContext, key: RouteKey) -> Result<Prescribing, CallError> {
        self.client(ctx, key)
    }

    /// A deployment's prescribing functions, called in a scratch
    /// transaction (readiness checks): whatever they change is rolled back.
    pub fn ordering_in_scratch(
        &self,
        ctx: CallContext,
        deployment: Arc<Deployment>,
        scratch: Arc<Scratch>,
    ) -> Prescribing {
        self.client_in_scratch(ctx, deployment, scratch)
    }
}

impl Prescribing {
    /// Decision support for a draft.
    pub fn check(&self, draft: &Draft) -> Result<Vec<Card>, CallError> {
        self.invoke("check", Access::Read, |p, s| {
            p.call(s, |f| f.check, (draft,))
        })
    }

    /// Issues a draft, overriding critical cards with a reason if given.
    pub fn issue(&self, draft: &Draft, override_reason: Option<&str>) -> Result<Issued, CallError> {
        self.invoke("issue", Access::Write, |p, s| {
            p.call(s, |f| f.issue, (draft, override_reason))
        })
    }

    /// Cancels a request.
    pub fn cancel(&self, request_id: &str, reason: &str) -> Result<MedicationRequest, CallError> {
        self.invoke("cancel", Access::Write, |p, s| {
            p.call(s, |f| f.cancel, (request_id, reason))
        })
    }

    /// Reads a request.
    pub fn read(&self, request_id: &str) -> Result<MedicationRequest, CallError> {
        self.invoke("read", Access::Read, |p, s| {
            p.call(s, |f| f.read, (request_id,))
        })
    }

    /// A patient's active requests.
    pub fn active(&self, patient: &str) -> Result<Vec<MedicationRequest>, CallError> {
        self.invoke("active", Access::Read, |p, s| {
            p.call(s, |f| f.active, (patient,))
        })
    }
}

/// A shadow compares cards by what a prescriber would notice: their
/// indicator and category.
impl Comparable for Card {
    fn essence(&self) -> String {
        format!("{} {} card", self.indicator.code(), self.category.code())
    }
}

/// A shadow compares requests by medicine, patient, status, intent and
/// version.
impl Comparable for MedicationRequest {
    fn essence(&self) -> String {
        format!(
            "{} for {}: {} {}, version {}",
            self.medication.code,
            self.patient,
            self.status.code(),
            self.intent.code(),
            self.version
        )
    }
}

impl Comparable for Issued {
    fn essence(&self) -> String {
        format!(
            "issued {} with {}",
            self.request.essence(),
            self.cards.essence()
        )
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
    fn answer_items(&self) -> usize {
        1 + self.cards.len()
    }
}
