//! Calling a scheduling module: one typed method per function of
//! `care:scheduling/booking`, each a fresh instance under the slot's active
//! deployment.

use std::sync::Arc;

use wasmtime::Store;

use crate::bindings::Outcome;
use crate::bindings::scheduling::exports::care::scheduling::booking::Guest;
use crate::call::{Access, CallContext, CallError, CallState, invoke};
use crate::deployment::{Deployment, Pre};
use crate::engine::Runtime;
use crate::standard::Standard;

pub use crate::bindings::scheduling::care::scheduling::records::{
    Appointment, AppointmentStatus, DeliveryChannel, Schedule, Slot, SlotQuery, SlotStatus,
};
pub use crate::bindings::scheduling::exports::care::scheduling::booking::{
    Amendment, BookingRequest, SlotSearch,
};

/// A scheduling module, bound to one caller's context.
pub struct Booking {
    runtime: Runtime,
    deployment: Arc<Deployment>,
    ctx: CallContext,
}

impl Runtime {
    /// The organisation's active scheduling module, for calls in `ctx`.
    pub fn booking(&self, ctx: CallContext) -> Result<Booking, CallError> {
        let deployment = self.active(&ctx.organisation, Standard::Scheduling)?;
        Ok(Booking {
            runtime: self.clone(),
            deployment,
            ctx,
        })
    }

    /// The active deployment of an organisation's slot.
    pub fn active(
        &self,
        organisation: &str,
        standard: Standard,
    ) -> Result<Arc<Deployment>, CallError> {
        self.slots()
            .get(organisation, standard)
            .map(|slot| slot.active())
            .ok_or_else(|| CallError::NoModule {
                organisation: organisation.to_string(),
                function: standard.function(),
            })
    }
}

impl Booking {
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
        let Pre::Scheduling(pre) = &self.deployment.pre else {
            return Err(CallError::Host(anyhow::anyhow!(
                "{} is not a scheduling module",
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
