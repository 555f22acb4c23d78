//! A typed client of one standard's modules, bound to one caller: it routes
//! the caller's calls to the organisation's slot for the standard (the
//! active deployment, a canary for the patient, a shadow's copy) and runs
//! each as its own call. Each standard's client ([`super::scheduling`],
//! [`super::prescribing`]) adds one typed method per exported function.

use std::marker::PhantomData;
use std::sync::Arc;

use wasmtime::Store;

use crate::runtime::bindings::Outcome;
use crate::runtime::call::{AuditOnCommit, Caller, Recorded, invoke};
use crate::runtime::call_error::CallError;
use crate::runtime::call_state::{Access, CallContext, CallState};
use crate::runtime::deployment::Deployment;
use crate::runtime::engine::Runtime;
use crate::runtime::function_slot::{FunctionSlot, Route, RouteKey};
use crate::runtime::interfaces::{prescribing_records, scheduling_records};
use crate::runtime::standard::Standard;
use crate::runtime::transaction::{Scratch, Tx};
use crate::runtime::trial::Comparable;

/// A standard a module can implement, as the runtime calls it.
pub trait Provider {
    /// The standard.
    const STANDARD: Standard;
    /// A fresh instance of a module of this standard (its generated
    /// bindings).
    type Instance;
    /// Makes a fresh instance from a deployment's pre-instantiated
    /// component.
    fn instantiate(
        deployment: &Deployment,
        store: &mut Store<CallState>,
    ) -> wasmtime::Result<Self::Instance>;
}

/// A module of standard `P`, bound to one caller's context.
pub struct Client<P> {
    caller: Caller,
    provider: PhantomData<fn() -> P>,
}

impl Runtime {
    /// The organisation's module of standard `P` for calls in `ctx` about
    /// `key`'s patient: the active deployment, or a canary if the patient
    /// is in its share.
    pub fn client<P: Provider>(
        &self,
        ctx: CallContext,
        key: RouteKey,
    ) -> Result<Client<P>, CallError> {
        let route = self.route(&ctx, P::STANDARD, &key)?;
        Ok(Client::new(Caller {
            runtime: self.clone(),
            route,
            ctx,
            tx: Tx::Own,
            audit: None,
        }))
    }

    /// A deployment of standard `P`, called in a scratch transaction
    /// (readiness checks): whatever its calls change is rolled back.
    pub fn client_in_scratch<P: Provider>(
        &self,
        ctx: CallContext,
        deployment: Arc<Deployment>,
        scratch: Arc<Scratch>,
    ) -> Client<P> {
        Client::new(Caller {
            runtime: self.clone(),
            route: Route {
                deployment,
                shadow: None,
            },
            ctx,
            tx: Tx::Scratch(scratch),
            audit: None,
        })
    }

    /// The active deployment of an organisation's slot.
    pub fn active(
        &self,
        organisation: &str,
        standard: Standard,
    ) -> Result<Arc<Deployment>, CallError> {
        self.slot(organisation, standard).map(|slot| slot.active())
    }

    /// An organisation's slot for a standard.
    pub fn slot(
        &self,
        organisation: &str,
        standard: Standard,
    ) -> Result<Arc<FunctionSlot>, CallError> {
        self.slots()
            .get(organisation, standard)
            .ok_or_else(|| CallError::NoModule {
                organisation: organisation.to_string(),
                function: standard.function(),
            })
    }

    /// Where a call in `ctx` to an organisation's slot goes.
    pub fn route(
        &self,
        ctx: &CallContext,
        standard: Standard,
        key: &RouteKey,
    ) -> Result<Route, CallError> {
        let slot = self.slot(&ctx.organisation, standard)?;
        Ok(slot.route(|| self.patient_of(ctx, key)))
    }

    /// Whose call it is, for a canary: the patient's NHS number, looked up
    /// in the records for an appointment or a medication request.
    fn patient_of(&self, ctx: &CallContext, key: &RouteKey) -> Option<String> {
        let org = &ctx.organisation;
        match key {
            RouteKey::Caller => Some(ctx.user.clone()),
            RouteKey::Patient(nhs) => Some(nhs.clone()),
            RouteKey::Appointment(id) => {
                let db = self.records().connection().ok()?;
                scheduling_records::appointment(&db, org, id)
                    .ok()
                    .flatten()
                    .map(|a| a.patient)
            }
            RouteKey::MedicationRequest(id) => {
                let db = self.records().connection().ok()?;
                prescribing_records::request(&db, org, id)
                    .ok()
                    .flatten()
                    .map(|r| r.patient)
            }
        }
    }
}

impl<P: Provider> Client<P> {
    fn new(caller: Caller) -> Self {
        Client {
            caller,
            provider: PhantomData,
        }
    }

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

    /// Runs one exported function as its own call.
    pub(crate) fn invoke<R: Comparable + Recorded>(
        &self,
        function: &'static str,
        access: Access,
        call: impl Fn(&P::Instance, &mut Store<CallState>) -> wasmtime::Result<Result<R, Outcome>>,
    ) -> Result<R, CallError> {
        invoke(&self.caller, function, access, P::instantiate, call)
    }
}
