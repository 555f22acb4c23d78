//! Meridian Health Systems Ltd's scheduling module.
//!
//! Meridian's policy is the simplest the standard allows: every free slot
//! that has not started is offered and can be booked by any registered
//! patient, as many times as they like. Everything else is the standard's
//! behaviour, from the SDK.

use patchbay_sdk::scheduling::ops;
use patchbay_sdk::scheduling::prelude::*;

/// Meridian's module.
pub struct Meridian;

impl Guest for Meridian {
    fn find_free_slots(search: SlotSearch) -> Result<Vec<Slot>, Outcome> {
        // Every free slot that has not started: the host reads no more
        // than the search's limit.
        ops::free_slots_from(&search, context::now() + 1)
    }

    fn book(request: BookingRequest) -> Result<Appointment, Outcome> {
        ops::book(&request)
    }

    fn cancel(appointment_id: String, reason: String) -> Result<Appointment, Outcome> {
        ops::cancel(&appointment_id, &reason)
    }

    fn amend(appointment_id: String, amendment: Amendment) -> Result<Appointment, Outcome> {
        ops::amend(&appointment_id, &amendment)
    }

    fn read(appointment_id: String) -> Result<Appointment, Outcome> {
        ops::read(&appointment_id)
    }

    fn appointments_for_patient(patient: NhsNumber) -> Result<Vec<Appointment>, Outcome> {
        ops::appointments_for_patient(&patient)
    }
}

patchbay_sdk::scheduling::export!(Meridian);
