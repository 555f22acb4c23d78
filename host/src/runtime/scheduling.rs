//! Calling a scheduling module: one typed method per function of
//! `care:scheduling/booking`, each a fresh instance under the slot's active
//! deployment (see [`super::client`]); and how a shadow compares two
//! scheduling modules' answers. A module of the standard's first release
//! (0.1.0) is called through the same methods: its arguments and answers
//! are converted (see [`super::interfaces::scheduling_0_1`]).

use std::sync::Arc;

use wasmtime::Store;

use crate::runtime::bindings::{Outcome, booking, booking_0_1};
use crate::runtime::call::Recorded;
use crate::runtime::call_error::CallError;
use crate::runtime::call_state::{Access, CallContext, CallState};
use crate::runtime::client::{Client, Provider};
use crate::runtime::codes::Code;
use crate::runtime::deployment::{Deployment, Pre};
use crate::runtime::engine::Runtime;
use crate::runtime::export::Bound;
use crate::runtime::function_slot::RouteKey;
use crate::runtime::interfaces::scheduling_0_1::each;
use crate::runtime::standard::Standard;
use crate::runtime::transaction::Scratch;
use crate::runtime::trial::Comparable;

pub use crate::runtime::bindings::scheduling::care::scheduling::records::{
    Appointment, AppointmentQuery, AppointmentStatus, DeliveryChannel, Schedule, Slot, SlotQuery,
    SlotStatus,
};
pub use crate::runtime::bindings::scheduling::exports::care::scheduling::booking::{
    Amendment, BookingRequest, SlotSearch,
};

/// The scheduling standard, as the runtime calls it.
pub enum SchedulingModule {}

/// An instance of a scheduling module, of whichever release it was built
/// against.
pub enum SchedulingInstance {
    /// The newest release.
    Newest(Bound<booking::Booking>),
    /// The first release, 0.1.0.
    First(Bound<booking_0_1::Booking>),
}

impl Provider for SchedulingModule {
    const STANDARD: Standard = Standard::Scheduling;
    type Instance = SchedulingInstance;

    fn instantiate(
        deployment: &Deployment,
        store: &mut Store<CallState>,
    ) -> wasmtime::Result<SchedulingInstance> {
        match &deployment.pre {
            Pre::Scheduling(pre) => pre.instantiate(store).map(SchedulingInstance::Newest),
            Pre::Scheduling01(pre) => pre.instantiate(store).map(SchedulingInstance::First),
            _ => Err(wasmtime::Error::msg(format!(
                "{} is not a scheduling module",
                deployment.module.label
            ))),
        }
    }
}

/// A scheduling module, bound to one caller's context.
pub type Booking = Client<SchedulingModule>;

impl Runtime {
    /// The organisation's scheduling module for calls in `ctx` by the caller.
    pub fn booking(&self, ctx: CallContext) -> Result<Booking, CallError> {
        self.booking_for(ctx, RouteKey::Caller)
    }

    /// The organisation's scheduling module for calls about `key`'s patient:
    /// the active deployment, or a canary if the patient is in its share.
    pub fn booking_for(&self, ctx: CallContext, key: RouteKey) -> Result<Booking, CallError> {
        self.client(ctx, key)
    }

    /// A deployment's scheduling functions, called in a scratch transaction
    /// (readiness checks): whatever they change is rolled back.
    pub fn booking_in_scratch(
        &self,
        ctx: CallContext,
        deployment: Arc<Deployment>,
        scratch: Arc<Scratch>,
    ) -> Booking {
        self.client_in_scratch(ctx, deployment, scratch)
    }
}

/// A first-release answer in the newest release's types.
fn converted<A, B: From<A>>(answer: Result<A, Outcome>) -> Result<B, Outcome> {
    answer.map(B::from)
}

/// A first-release list in the newest release's types.
fn converted_list<A, B: From<A>>(answer: Result<Vec<A>, Outcome>) -> Result<Vec<B>, Outcome> {
    answer.map(each)
}

impl Booking {
    /// Free slots the module's policy offers.
    pub fn find_free_slots(&self, search: &SlotSearch) -> Result<Vec<Slot>, CallError> {
        self.invoke("find-free-slots", Access::Read, |p, s| match p {
            SchedulingInstance::Newest(p) => p.call(s, |f| f.find_free_slots, (search,)),
            SchedulingInstance::First(p) => p
                .call(s, |f| f.find_free_slots, (&search.clone().into(),))
                .map(converted_list),
        })
    }

    /// Books a slot.
    pub fn book(&self, request: &BookingRequest) -> Result<Appointment, CallError> {
        self.invoke("book", Access::Write, |p, s| match p {
            SchedulingInstance::Newest(p) => p.call(s, |f| f.book, (request,)),
            SchedulingInstance::First(p) => p
                .call(s, |f| f.book, (&request.clone().into(),))
                .map(converted),
        })
    }

    /// Cancels an appointment.
    pub fn cancel(&self, appointment_id: &str, reason: &str) -> Result<Appointment, CallError> {
        self.invoke("cancel", Access::Write, |p, s| match p {
            SchedulingInstance::Newest(p) => p.call(s, |f| f.cancel, (appointment_id, reason)),
            SchedulingInstance::First(p) => p
                .call(s, |f| f.cancel, (appointment_id, reason))
                .map(converted),
        })
    }

    /// Amends an appointment.
    pub fn amend(
        &self,
        appointment_id: &str,
        amendment: &Amendment,
    ) -> Result<Appointment, CallError> {
        self.invoke("amend", Access::Write, |p, s| match p {
            SchedulingInstance::Newest(p) => p.call(s, |f| f.amend, (appointment_id, amendment)),
            SchedulingInstance::First(p) => p
                .call(s, |f| f.amend, (appointment_id, &amendment.clone().into()))
                .map(converted),
        })
    }

    /// Reads an appointment.
    pub fn read(&self, appointment_id: &str) -> Result<Appointment, CallError> {
        self.invoke("read", Access::Read, |p, s| match p {
            SchedulingInstance::Newest(p) => p.call(s, |f| f.read, (appointment_id,)),
            SchedulingInstance::First(p) => p.call(s, |f| f.read, (appointment_id,)).map(converted),
        })
    }

    /// A patient's appointments.
    pub fn appointments_for_patient(&self, patient: &str) -> Result<Vec<Appointment>, CallError> {
        self.invoke("appointments-for-patient", Access::Read, |p, s| match p {
            SchedulingInstance::Newest(p) => p.call(s, |f| f.appointments_for_patient, (patient,)),
            SchedulingInstance::First(p) => p
                .call(s, |f| f.appointments_for_patient, (patient,))
                .map(converted_list),
        })
    }
}

/// A shadow compares slots by id: what a patient would be offered.
impl Comparable for Slot {
    fn essence(&self) -> String {
        format!("slot {}", self.id)
    }
}

/// A shadow compares appointments by what a patient or the practice would
/// notice: the slot, patient, status, version and texts.
impl Comparable for Appointment {
    fn essence(&self) -> String {
        format!(
            "appointment in slot {} for {}: {}, version {}, description {:?}, comment {:?}",
            self.slot_id,
            self.patient,
            self.status.code(),
            self.version,
            self.description,
            self.comment
        )
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
