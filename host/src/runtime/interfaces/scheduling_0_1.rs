//! `care:scheduling/records@0.1.0`, for modules built against the scheduling
//! standard's first release: the host adapts their calls to the newest
//! release's records (`super::scheduling_records`), so no supplier must
//! rebuild the day the standard moves.
//!
//! What the adapter does, release by release (see docs/standards.md, "How a
//! standard evolves"):
//! - 0.1.0's `slot-query` has no `limit`: its reads ask for every match, as
//!   they always did (still capped at [`super::MAX_SLOTS_READ`]);
//! - 0.1.0's `appointments-for-patient` takes the patient alone: it reads
//!   every appointment of theirs, unfiltered.
//!
//! Every other type is the same in both releases, field for field; the
//! conversions below move values between the two releases' generated Rust
//! types, both ways, and the host's booking client converts its calls into
//! a 0.1.0 module's `booking` export and its answers back.

use wasmtime::component::{HasSelf, Linker};

use crate::runtime::bindings::Outcome;
use crate::runtime::bindings::scheduling::care::scheduling::records as newest;
use crate::runtime::bindings::scheduling::exports::care::scheduling::booking as newest_booking;
use crate::runtime::bindings::scheduling_0_1::care::scheduling::records as first;
use crate::runtime::bindings::scheduling_0_1::exports::care::scheduling::booking as first_booking;
use crate::runtime::call_state::CallState;

/// Links `care:scheduling/records@0.1.0` beside the newest release.
pub fn add_to_linker(linker: &mut Linker<CallState>) -> anyhow::Result<()> {
    first::add_to_linker::<CallState, HasSelf<CallState>>(linker, |s| s)?;
    Ok(())
}

/// `From` both ways between the releases' copies of an enum with the same
/// cases.
macro_rules! same_enum {
    ($a:ident, $b:ident, $name:ident { $($case:ident),* $(,)? }) => {
        impl From<$a::$name> for $b::$name {
            fn from(value: $a::$name) -> Self {
                match value {
                    $($a::$name::$case => $b::$name::$case,)*
                }
            }
        }
        impl From<$b::$name> for $a::$name {
            fn from(value: $b::$name) -> Self {
                match value {
                    $($b::$name::$case => $a::$name::$case,)*
                }
            }
        }
    };
}

/// `From` both ways between the releases' copies of a record with the same
/// fields (each field the same type, or one converted by `From`).
macro_rules! same_record {
    ($a:ident, $b:ident, $name:ident { $($field:ident),* $(,)? }) => {
        impl From<$a::$name> for $b::$name {
            fn from(value: $a::$name) -> Self {
                $b::$name { $($field: value.$field.into(),)* }
            }
        }
        impl From<$b::$name> for $a::$name {
            fn from(value: $b::$name) -> Self {
                $a::$name { $($field: value.$field.into(),)* }
            }
        }
    };
}

same_enum!(
    first,
    newest,
    SlotStatus {
        Free,
        Busy,
        BusyUnavailable,
        BusyTentative,
        EnteredInError,
    }
);
same_enum!(
    first,
    newest,
    DeliveryChannel {
        InPerson,
        Telephone,
        Video
    }
);
same_enum!(
    first,
    newest,
    AppointmentStatus {
        Proposed,
        Pending,
        Booked,
        Arrived,
        Fulfilled,
        Cancelled,
        Noshow,
        EnteredInError,
        CheckedIn,
        Waitlist,
    }
);
same_record!(
    first,
    newest,
    Schedule {
        id,
        name,
        service_type,
        actor
    }
);
same_record!(
    first,
    newest,
    Slot {
        id,
        schedule_id,
        service_type,
        period,
        status,
        delivery_channel,
    }
);
same_record!(
    first,
    newest,
    Appointment {
        id,
        slot_id,
        patient,
        period,
        status,
        description,
        comment,
        cancellation_reason,
        created,
        version,
        last_updated,
    }
);
same_record!(
    first,
    newest,
    NewAppointment {
        slot_id,
        patient,
        status,
        description,
        comment,
    }
);
same_record!(
    first_booking,
    newest_booking,
    SlotSearch {
        period,
        service_type,
        schedule_id,
        limit,
    }
);
same_record!(
    first_booking,
    newest_booking,
    BookingRequest {
        slot_id,
        patient,
        description,
        comment,
    }
);
same_record!(
    first_booking,
    newest_booking,
    Amendment {
        slot_id,
        description,
        comment,
    }
);

/// 0.1.0's slot query: every match, as 0.1.0 had no limit.
impl From<first::SlotQuery> for newest::SlotQuery {
    fn from(query: first::SlotQuery) -> Self {
        newest::SlotQuery {
            period: query.period,
            schedule_id: query.schedule_id,
            service_type: query.service_type,
            status: query.status.map(Into::into),
            limit: None,
        }
    }
}

/// Each element converted, from one release's type to the other's.
pub(crate) fn each<A, B: From<A>>(items: Vec<A>) -> Vec<B> {
    items.into_iter().map(B::from).collect()
}

impl first::Host for CallState {
    fn schedules(&mut self) -> wasmtime::Result<Vec<first::Schedule>> {
        newest::Host::schedules(self).map(each)
    }

    fn slots(&mut self, query: first::SlotQuery) -> wasmtime::Result<Vec<first::Slot>> {
        newest::Host::slots(self, query.into()).map(each)
    }

    fn get_slot(&mut self, id: String) -> wasmtime::Result<Option<first::Slot>> {
        newest::Host::get_slot(self, id).map(|slot| slot.map(Into::into))
    }

    fn take_slot(&mut self, id: String) -> wasmtime::Result<Result<first::Slot, Outcome>> {
        newest::Host::take_slot(self, id).map(|r| r.map(Into::into))
    }

    fn release_slot(&mut self, id: String) -> wasmtime::Result<Result<first::Slot, Outcome>> {
        newest::Host::release_slot(self, id).map(|r| r.map(Into::into))
    }

    fn get_appointment(&mut self, id: String) -> wasmtime::Result<Option<first::Appointment>> {
        newest::Host::get_appointment(self, id).map(|a| a.map(Into::into))
    }

    fn appointments_for_patient(
        &mut self,
        patient: String,
    ) -> wasmtime::Result<Vec<first::Appointment>> {
        let everything = newest::AppointmentQuery {
            patient,
            status: None,
            starting_from: None,
        };
        newest::Host::appointments_for_patient(self, everything).map(each)
    }

    fn create_appointment(
        &mut self,
        appointment: first::NewAppointment,
    ) -> wasmtime::Result<Result<first::Appointment, Outcome>> {
        newest::Host::create_appointment(self, appointment.into()).map(|r| r.map(Into::into))
    }

    fn update_appointment(
        &mut self,
        appointment: first::Appointment,
    ) -> wasmtime::Result<Result<first::Appointment, Outcome>> {
        newest::Host::update_appointment(self, appointment.into()).map(|r| r.map(Into::into))
    }
}
