"""The standard operations of a scheduling module, as the standard defines
them and as the Rust SDK's `patchbay_sdk::scheduling::ops` does them (the
same rules, issue codes, diagnostics and expressions): validation, the
atomic take of a slot, cancellation that frees the slot, an amendment that
moves atomically. A supplier's module wraps them with its own policy
(which slots to offer, who may book when) and need write nothing else.

Refusals are raised as `Err(outcome)` (see `outcomes`); a refusal from the
host's records (`take-slot`'s `conflict`, say) is raised by the bindings
the same way and passes through unchanged. Import it in a component only:
it imports the generated bindings (`wit_world`)."""

from typing import List, Tuple

from wit_world.exports import booking
from wit_world.imports import context, patients, records
from wit_world.imports.care_types_types import Period

from .. import nhs_number, outcomes
from . import reads
from .rules import MAX_COMMENT, MAX_DESCRIPTION, MAX_SEARCH_DAYS, apply_limit, check_search, window_from

__all__ = [
    "MAX_COMMENT", "MAX_DESCRIPTION", "MAX_SEARCH_DAYS", "amend", "appointments_for_patient",
    "apply_limit", "book", "cancel", "check_booking", "check_changeable", "check_future",
    "check_search", "existing_appointment", "existing_slot", "free_slots", "free_slots_from",
    "read", "registered_patient",
]


def free_slots(search: booking.SlotSearch) -> List[records.Slot]:
    """Every free slot in a search's window, by start time, before any policy
    and before the limit: for a policy that drops slots as it goes, which
    then keeps `apply_limit(slots, search.limit)`. A policy that only moves
    the window's start reads far less with `free_slots_from`."""
    check_search(search)
    return reads.slots(search.period, search.schedule_id, search.service_type,
                       records.SlotStatus.FREE, None)


def free_slots_from(search: booking.SlotSearch, earliest: int) -> List[records.Slot]:
    """The free slots of a search that start at or after `earliest` (e.g.
    now, or a policy's minimum notice), by start time, at most the search's
    limit: the search is checked as asked, then its window starts no earlier
    than `earliest`, and the host reads no more than the limit."""
    check_search(search)
    window = window_from(search.period.start, search.period.end, earliest)
    if window is None:
        return []
    start, end = window
    return reads.slots(Period(start=start, end=end), search.schedule_id, search.service_type,
                       records.SlotStatus.FREE, search.limit)


def registered_patient(number: str, expression: str) -> patients.Patient:
    """Checks a patient's NHS number and that the organisation knows them."""
    nhs_number.check(number, expression)
    patient = patients.lookup(number)
    if patient is None:
        raise outcomes.not_found(
            f"no patient with NHS number {number} is registered with this organisation",
            expression)
    return patient


def existing_slot(slot_id: str) -> records.Slot:
    """A slot by id, or `not-found`."""
    slot = records.get_slot(slot_id)
    if slot is None:
        raise outcomes.not_found(f"there is no slot '{slot_id}' in this organisation", "slotId")
    return slot


def existing_appointment(appointment_id: str) -> records.Appointment:
    """An appointment by id, or `not-found`."""
    appointment = records.get_appointment(appointment_id)
    if appointment is None:
        raise outcomes.not_found(
            f"there is no appointment '{appointment_id}' in this organisation")
    return appointment


def check_future(slot: records.Slot) -> None:
    """Checks that a slot starts in the future."""
    if slot.period.start <= context.now():
        raise outcomes.business_rule(
            f"slot '{slot.id}' has already started: only future slots can be booked")


def check_changeable(appointment: records.Appointment) -> None:
    """Checks that an appointment can still change: not cancelled, not started."""
    if appointment.status == records.AppointmentStatus.CANCELLED:
        raise outcomes.business_rule(
            f"appointment '{appointment.id}' is cancelled and can no longer change")
    if appointment.period.start <= context.now():
        raise outcomes.business_rule(
            f"appointment '{appointment.id}' has already started and can no longer change")


def check_booking(request: booking.BookingRequest) -> Tuple[records.Slot, patients.Patient]:
    """Validates a booking request: the NHS number, the patient, text
    lengths, and a future slot. Returns the slot and the patient."""
    patient = registered_patient(request.patient, "patient")
    outcomes.check_length(request.description, MAX_DESCRIPTION, "description")
    outcomes.check_length(request.comment, MAX_COMMENT, "comment")
    slot = existing_slot(request.slot_id)
    check_future(slot)
    return slot, patient


def book(request: booking.BookingRequest) -> records.Appointment:
    """Books a slot the standard way: validate, take the slot atomically
    (`conflict` if another booking got it first), store the appointment."""
    check_booking(request)
    records.take_slot(request.slot_id)
    return records.create_appointment(records.NewAppointment(
        slot_id=request.slot_id,
        patient=request.patient,
        status=records.AppointmentStatus.BOOKED,
        description=request.description,
        comment=request.comment,
    ))


def cancel(appointment_id: str, reason: str) -> records.Appointment:
    """Cancels a future appointment and frees its slot; a reason is required."""
    appointment = existing_appointment(appointment_id)
    check_changeable(appointment)
    if not reason.strip():
        raise outcomes.invalid("a cancellation needs a reason", "cancellationReason")
    records.release_slot(appointment.slot_id)
    appointment.status = records.AppointmentStatus.CANCELLED
    appointment.cancellation_reason = reason
    return records.update_appointment(appointment)


def amend(appointment_id: str, amendment: booking.Amendment) -> records.Appointment:
    """Amends a future appointment: its description and comment, and its
    slot, moved atomically (the new slot is taken before the old one is
    freed; if anything fails the call's changes are rolled back by the host)."""
    appointment = existing_appointment(appointment_id)
    check_changeable(appointment)
    outcomes.check_length(amendment.description, MAX_DESCRIPTION, "description")
    outcomes.check_length(amendment.comment, MAX_COMMENT, "comment")
    slot_id = amendment.slot_id
    if slot_id is not None and slot_id != appointment.slot_id:
        slot = existing_slot(slot_id)
        check_future(slot)
        records.take_slot(slot_id)
        records.release_slot(appointment.slot_id)
        appointment.slot_id = slot_id
    if amendment.description is not None:
        appointment.description = amendment.description
    if amendment.comment is not None:
        appointment.comment = amendment.comment
    return records.update_appointment(appointment)


def read(appointment_id: str) -> records.Appointment:
    """Reads an appointment (`not-found` if there is none)."""
    return existing_appointment(appointment_id)


def appointments_for_patient(patient: str) -> List[records.Appointment]:
    """A patient's appointments, after checking the NHS number."""
    nhs_number.check(patient, "patient")
    return reads.appointments(patient, None, None)
