//! The records reads of the first release (0.1.0), with the same functions
//! as `reads.rs`: that release's records take no limit and no appointment
//! filter, so the module reads everything and keeps what was asked for.

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
    let mut slots = records::slots(&SlotQuery {
        period,
        schedule_id,
        service_type,
        status,
    });
    if let Some(limit) = limit {
        slots.truncate(limit as usize);
    }
    slots
}

/// A patient's appointments (in one state, if given; starting at or after
/// an instant, if given), by start time.
pub fn appointments(
    patient: &str,
    status: Option<AppointmentStatus>,
    starting_from: Option<Instant>,
) -> Vec<Appointment> {
    records::appointments_for_patient(patient)
        .into_iter()
        .filter(|a| status.is_none_or(|s| a.status == s))
        .filter(|a| starting_from.is_none_or(|from| a.period.start >= from))
        .collect()
}
