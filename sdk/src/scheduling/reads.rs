//! The records reads of the newest release (0.2.0), as the SDK's operations
//! use them: the host filters and limits, so a module lifts only what it
//! asked for. `reads_0_1.rs` gives the same functions over the first
//! release's records.

use super::prelude::*;

/// The slots in `period` (of one schedule and service, if given, and in one
/// state, if given), by start time, at most `limit`.
pub fn slots(
    period: Period,
    schedule_id: Option<String>,
    service_type: Option<String>,
    status: Option<SlotStatus>,
    limit: Option<u32>,
) -> Vec<Slot> {
    records::slots(&SlotQuery {
        period,
        schedule_id,
        service_type,
        status,
        limit,
    })
}

/// A patient's appointments (in one state, if given; starting at or after
/// an instant, if given), by start time.
pub fn appointments(
    patient: &str,
    status: Option<AppointmentStatus>,
    starting_from: Option<Instant>,
) -> Vec<Appointment> {
    records::appointments_for_patient(&AppointmentQuery {
        patient: patient.to_string(),
        status,
        starting_from,
    })
}
