//! Calling a scheduling module: one typed method per function of
//! `care:scheduling/booking`, each a fresh instance under the slot's active
//! deployment.

use std::sync::Arc;

use wasmtime::Store;

use crate::runtime::bindings::Outcome;
use crate::runtime::bindings::scheduling::exports::care::scheduling::booking::Guest;
use crate::runtime::call::{
    Access, AuditOnCommit, CallContext, CallError, CallState, Caller, Recorded, Scratch, Tx, invoke,
};
use crate::runtime::deployment::{Deployment, Pre};
use crate::runtime::engine::Runtime;
use crate::runtime::function_slot::{Route, RouteKey};
use crate::runtime::standard::Standard;
use crate::runtime::trial::Comparable;

pub use crate::runtime::bindings::scheduling::care::scheduling::records::{
    Appointment, AppointmentStatus, DeliveryChannel, Schedule, Slot, SlotQuery, SlotStatus,
};
pub use crate::runtime::bindings::scheduling::exports::care::scheduling::booking::{
    Amendment, BookingRequest, SlotSearch,
};

/// A scheduling module, bound to one caller's context.
pub struct Booking {
    caller: Caller,
}

impl Runtime {
    /// The organisation's scheduling module for calls in `ctx` by the caller.
    pub fn booking(&self, ctx: CallContext) -> Result<Booking, CallError> {
        self.booking_for(ctx, RouteKey::Caller)
    }

    /// The organisation's scheduling module for calls about `key`'s patient:
    /// the active deployment, or a canary if the patient is in its share.
    pub fn booking_for(&self, ctx: CallContext, key: RouteKey) -> Result<Booking, CallError> {
        let route = self.route(&ctx, Standard::Scheduling, &key)?;
        Ok(Booking {
            caller: Caller {
                runtime: self.clone(),
                route,
                ctx,
                tx: Tx::Own,
                audit: None,
            },
        })
    }

    /// A deployment's scheduling functions, called in a scratch transaction
    /// (readiness checks): whatever they change is rolled back.
    pub fn booking_in_scratch(
        &self,
        ctx: CallContext,
        deployment: Arc<Deployment>,
        scratch: Arc<Scratch>,
    ) -> Booking {
        Booking {
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

impl Booking {
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
                Pre::Scheduling(pre) => pre.instantiate(store),
                _ => Err(wasmtime::Error::msg(format!(
                    "{} is not a scheduling module",
                    deployment.module.label
                ))),
            },
            |provider, store| call(provider.care_scheduling_booking(), store),
        )
    }

    /// Free slots the module's policy offers.
    pub fn find_free_slots(&self, search: &SlotSearch) -> Result<Vec<Slot>, CallError> {
        self.invoke("find-free-slots", Access::Read, |g, s| {
            g.call_find_free_slots(s, search)
        })
    }

    /// Books a slot.
    pub fn book(&self, request: &BookingRequest) -> Result<Appointment, CallError> {
        self.invoke("book", Access::Write, |g, s| g.call_book(s, request))
    }

    /// Cancels an appointment.
    pub fn cancel(&self, appointment_id: &str, reason: &str) -> Result<Appointment, CallError> {
        self.invoke("cancel", Access::Write, |g, s| {
            g.call_cancel(s, appointment_id, reason)
        })
    }

    /// Amends an appointment.
    pub fn amend(
        &self,
        appointment_id: &str,
        amendment: &Amendment,
    ) -> Result<Appointment, CallError> {
        self.invoke("amend", Access::Write, |g, s| {
            g.call_amend(s, appointment_id, amendment)
        })
    }

    /// Reads an appointment.
    pub fn read(&self, appointment_id: &str) -> Result<Appointment, CallError> {
        self.invoke("read", Access::Read, |g, s| g.call_read(s, appointment_id))
    }

    /// A patient's appointments.
    pub fn appointments_for_patient(
        &self,
        patient: &String,
    ) -> Result<Vec<Appointment>, CallError> {
        self.invoke("appointments-for-patient", Access::Read, |g, s| {
            g.call_appointments_for_patient(s, patient)
        })
    }
}

impl Recorded for Appointment {
    fn audit_resource(&self) -> Option<String> {
        Some(format!("Appointment/{}", self.id))
    }
    fn audit_patient(&self) -> Option<String> {
        Some(self.patient.clone())
    }
}
