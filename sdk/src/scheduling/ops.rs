//! The standard operations of a scheduling module, as the standard defines
//! them: validation, the atomic take of a slot, cancellation that frees the
//! slot, an amendment that moves atomically. A supplier's module wraps them
//! with its own policy (which slots to offer, who may book when) and need
//! write nothing else. The same operations serve every release of the
//! standard; what reads differ between releases is in `reads`.

use super::check_length;
use super::check_nhs_number;
use super::prelude::*;
use super::reads;

/// GP Connect: a description is at most 100 characters.
pub const MAX_DESCRIPTION: usize = 100;
/// GP Connect: a comment is at most 500 characters.
pub const MAX_COMMENT: usize = 500;
/// GP Connect: a slot search covers at most 14 days.
pub const MAX_SEARCH_DAYS: i64 = 14;

/// Checks a slot search: a period that ends after it starts and spans at
/// most 14 days.
pub fn check_search(search: &SlotSearch) -> Result<(), Outcome> {
    let Period { start, end } = search.period;
    if end <= start {
        return Err(Outcome::invalid("the search period must end after it starts").at("period"));
    }
    if end - start > MAX_SEARCH_DAYS * crate::time::DAY {
        return Err(Outcome::invalid(format!(
            "the search period spans more than {MAX_SEARCH_DAYS} days: search a shorter window"
        ))
        .at("period"));
    }
    Ok(())
}

/// Every free slot in a search's window, by start time, before any policy
/// and before the limit: for a policy that drops slots as it goes, which
/// then keeps [`apply_limit`]. A policy that only moves the window's start
/// reads far less with [`free_slots_from`].
pub fn free_slots(search: &SlotSearch) -> Result<Vec<Slot>, Outcome> {
    check_search(search)?;
    Ok(reads::slots(
        search.period,
        search.schedule_id.clone(),
        search.service_type.clone(),
        Some(SlotStatus::Free),
        None,
    ))
}

/// The free slots of a search that start at or after `earliest` (e.g. now,
/// or a policy's minimum notice), by start time, at most the search's limit:
/// the search is checked as asked, then its window starts no earlier than
/// `earliest`, and the host reads no more than the limit.
pub fn free_slots_from(search: &SlotSearch, earliest: Instant) -> Result<Vec<Slot>, Outcome> {
    check_search(search)?;
    if earliest >= search.period.end {
        return Ok(Vec::new());
    }
    let period = Period {
        start: search.period.start.max(earliest),
        end: search.period.end,
    };
    Ok(reads::slots(
        period,
        search.schedule_id.clone(),
        search.service_type.clone(),
        Some(SlotStatus::Free),
        search.limit,
    ))
}

/// Keeps at most `limit` slots, if a limit is given.
pub fn apply_limit(mut slots: Vec<Slot>, limit: Option<u32>) -> Vec<Slot> {
    if let Some(limit) = limit {
        slots.truncate(limit as usize);
    }
    slots
}

/// Checks a patient's NHS number and that the organisation knows them.
pub fn registered_patient(nhs_number: &str, expression: &str) -> Result<Patient, Outcome> {
    check_nhs_number(nhs_number, expression)?;
    patients::lookup(nhs_number).ok_or_else(|| {
        Outcome::not_found(format!(
            "no patient with NHS number {nhs_number} is registered with this organisation"
        ))
        .at(expression)
    })
}

/// A slot by id, or `not-found`.
pub fn existing_slot(slot_id: &str) -> Result<Slot, Outcome> {
    records::get_slot(slot_id).ok_or_else(|| {
        Outcome::not_found(format!("there is no slot '{slot_id}' in this organisation"))
            .at("slotId")
    })
}

/// An appointment by id, or `not-found`.
pub fn existing_appointment(appointment_id: &str) -> Result<Appointment, Outcome> {
    records::get_appointment(appointment_id).ok_or_else(|| {
        Outcome::not_found(format!(
            "there is no appointment '{appointment_id}' in this organisation"
        ))
    })
}

/// Checks that a slot starts in the future.
pub fn check_future(slot: &Slot) -> Result<(), Outcome> {
    if slot.period.start <= context::now() {
        return Err(Outcome::business_rule(format!(
            "slot '{}' has already started: only future slots can be booked",
            slot.id
        )));
    }
    Ok(())
}

/// Checks that an appointment can still change: not cancelled, not started.
pub fn check_changeable(appointment: &Appointment) -> Result<(), Outcome> {
    if appointment.status == AppointmentStatus::Cancelled {
        return Err(Outcome::business_rule(format!(
            "appointment '{}' is cancelled and can no longer change",
            appointment.id
        )));
    }
    if appointment.period.start <= context::now() {
        return Err(Outcome::business_rule(format!(
            "appointment '{}' has already started and can no longer change",
            appointment.id
        )));
    }
    Ok(())
}

/// Validates a booking request: the NHS number, the patient, text lengths,
/// and a future slot. Returns the slot and the patient.
pub fn check_booking(request: &BookingRequest) -> Result<(Slot, Patient), Outcome> {
    let patient = registered_patient(&request.patient, "patient")?;
    check_length(&request.description, MAX_DESCRIPTION, "description")?;
    check_length(&request.comment, MAX_COMMENT, "comment")?;
    let slot = existing_slot(&request.slot_id)?;
    check_future(&slot)?;
    Ok((slot, patient))
}

/// Books a slot the standard way: validate, take the slot atomically
/// (`conflict` if another booking got it first), store the appointment.
pub fn book(request: &BookingRequest) -> Result<Appointment, Outcome> {
    check_booking(request)?;
    records::take_slot(&request.slot_id)?;
    records::create_appointment(&NewAppointment {
        slot_id: request.slot_id.clone(),
        patient: request.patient.clone(),
        status: AppointmentStatus::Booked,
        description: request.description.clone(),
        comment: request.comment.clone(),
    })
}

/// Cancels a future appointment and frees its slot.
pub fn cancel(appointment_id: &str, reason: &str) -> Result<Appointment, Outcome> {
    let mut appointment = existing_appointment(appointment_id)?;
    check_changeable(&appointment)?;
    if reason.trim().is_empty() {
        return Err(Outcome::invalid("a cancellation needs a reason").at("cancellationReason"));
    }
    records::release_slot(&appointment.slot_id)?;
    appointment.status = AppointmentStatus::Cancelled;
    appointment.cancellation_reason = Some(reason.to_string());
    records::update_appointment(&appointment)
}

/// Amends a future appointment: its description and comment, and its slot,
/// moved atomically (the new slot is taken before the old one is freed; if
/// anything fails the call's changes are rolled back by the host).
pub fn amend(appointment_id: &str, amendment: &Amendment) -> Result<Appointment, Outcome> {
    let mut appointment = existing_appointment(appointment_id)?;
    check_changeable(&appointment)?;
    check_length(&amendment.description, MAX_DESCRIPTION, "description")?;
    check_length(&amendment.comment, MAX_COMMENT, "comment")?;
    if let Some(slot_id) = amendment
        .slot_id
        .as_ref()
        .filter(|s| **s != appointment.slot_id)
    {
        let slot = existing_slot(slot_id)?;
        check_future(&slot)?;
        records::take_slot(slot_id)?;
        records::release_slot(&appointment.slot_id)?;
        appointment.slot_id = slot_id.clone();
    }
    if amendment.description.is_some() {
        appointment.description = amendment.description.clone();
    }
    if amendment.comment.is_some() {
        appointment.comment = amendment.comment.clone();
    }
    records::update_appointment(&appointment)
}

/// Reads an appointment.
pub fn read(appointment_id: &str) -> Result<Appointment, Outcome> {
    existing_appointment(appointment_id)
}

/// A patient's appointments, after checking the NHS number.
pub fn appointments_for_patient(patient: &str) -> Result<Vec<Appointment>, Outcome> {
    check_nhs_number(patient, "patient")?;
    Ok(reads::appointments(patient, None, None))
}
