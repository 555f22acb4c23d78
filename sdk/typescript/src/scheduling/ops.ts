// The standard operations of a scheduling module (care:scheduling@0.2.0),
// as the Rust SDK's `scheduling::ops`: validation, the atomic take of a
// slot, cancellation that frees the slot, an amendment that moves
// atomically. A supplier's module wraps them with its own policy (which
// slots to offer, who may book when) and need write nothing else. The same
// error texts and expressions as the Rust operations.
//
// Host refusals (e.g. `conflict` from take-slot) are thrown by the imported
// functions and propagate unchanged.

import type { Amendment, BookingRequest, SlotSearch } from 'care:scheduling/booking@0.2.0';
import {
  appointmentsForPatient as queryAppointments,
  createAppointment,
  getAppointment,
  getSlot,
  releaseSlot,
  slots as querySlots,
  takeSlot,
  updateAppointment,
  type Appointment,
  type Slot,
} from 'care:scheduling/records@0.2.0';
import { now } from 'care:types/context@0.1.0';
import { lookup, type Patient } from 'care:types/patients@0.1.0';
import type { Instant } from 'care:types/types@0.1.0';
import { businessRule, checkLength, checkNhsNumber, invalid, notFound } from '../outcomes.js';
import { MAX_COMMENT, MAX_DESCRIPTION, checkSearch } from './search.js';

export { MAX_COMMENT, MAX_DESCRIPTION, MAX_SEARCH_DAYS, applyLimit, checkSearch } from './search.js';

/**
 * Every free slot in a search's window, by start time, before any policy
 * and before the limit: for a policy that drops slots as it goes, which
 * then keeps `applyLimit`. A policy that only moves the window's start
 * reads far less with `freeSlotsFrom`.
 */
export function freeSlots(search: SlotSearch): Slot[] {
  checkSearch(search);
  return querySlots({
    period: search.period,
    scheduleId: search.scheduleId,
    serviceType: search.serviceType,
    status: 'free',
    limit: undefined,
  });
}

/**
 * The free slots of a search that start at or after `earliest` (e.g. now,
 * or a policy's minimum notice), by start time, at most the search's limit:
 * the search is checked as asked, then its window starts no earlier than
 * `earliest`, and the host reads no more than the limit.
 */
export function freeSlotsFrom(search: SlotSearch, earliest: Instant): Slot[] {
  checkSearch(search);
  if (earliest >= search.period.end) return [];
  const start = search.period.start > earliest ? search.period.start : earliest;
  return querySlots({
    period: { start, end: search.period.end },
    scheduleId: search.scheduleId,
    serviceType: search.serviceType,
    status: 'free',
    limit: search.limit,
  });
}

/** Checks a patient's NHS number and that the organisation knows them. */
export function registeredPatient(nhsNumber: string, expression: string): Patient {
  checkNhsNumber(nhsNumber, expression);
  const patient = lookup(nhsNumber);
  if (patient === undefined) {
    throw notFound(
      `no patient with NHS number ${nhsNumber} is registered with this organisation`,
    ).at(expression);
  }
  return patient;
}

/** A slot by id, or `not-found`. */
export function existingSlot(slotId: string): Slot {
  const slot = getSlot(slotId);
  if (slot === undefined) {
    throw notFound(`there is no slot '${slotId}' in this organisation`).at('slotId');
  }
  return slot;
}

/** An appointment by id, or `not-found`. */
export function existingAppointment(appointmentId: string): Appointment {
  const appointment = getAppointment(appointmentId);
  if (appointment === undefined) {
    throw notFound(`there is no appointment '${appointmentId}' in this organisation`);
  }
  return appointment;
}

/** Checks that a slot starts in the future. */
export function checkFuture(slot: Slot): void {
  if (slot.period.start <= now()) {
    throw businessRule(
      `slot '${slot.id}' has already started: only future slots can be booked`,
    );
  }
}

/** Checks that an appointment can still change: not cancelled, not started. */
export function checkChangeable(appointment: Appointment): void {
  if (appointment.status === 'cancelled') {
    throw businessRule(`appointment '${appointment.id}' is cancelled and can no longer change`);
  }
  if (appointment.period.start <= now()) {
    throw businessRule(
      `appointment '${appointment.id}' has already started and can no longer change`,
    );
  }
}

/**
 * Validates a booking request: the NHS number, the patient, text lengths,
 * and a future slot. Returns the slot and the patient.
 */
export function checkBooking(request: BookingRequest): { slot: Slot; patient: Patient } {
  const patient = registeredPatient(request.patient, 'patient');
  checkLength(request.description, MAX_DESCRIPTION, 'description');
  checkLength(request.comment, MAX_COMMENT, 'comment');
  const slot = existingSlot(request.slotId);
  checkFuture(slot);
  return { slot, patient };
}

/**
 * Books a slot the standard way: validate, take the slot atomically
 * (`conflict` if another booking got it first), store the appointment.
 */
export function book(request: BookingRequest): Appointment {
  checkBooking(request);
  takeSlot(request.slotId);
  return createAppointment({
    slotId: request.slotId,
    patient: request.patient,
    status: 'booked',
    description: request.description,
    comment: request.comment,
  });
}

/** Cancels a future appointment and frees its slot. */
export function cancel(appointmentId: string, reason: string): Appointment {
  const appointment = existingAppointment(appointmentId);
  checkChangeable(appointment);
  if (reason.trim() === '') {
    throw invalid('a cancellation needs a reason').at('cancellationReason');
  }
  releaseSlot(appointment.slotId);
  return updateAppointment({
    ...appointment,
    status: 'cancelled',
    cancellationReason: reason,
  });
}

/**
 * Amends a future appointment: its description and comment, and its slot,
 * moved atomically (the new slot is taken before the old one is freed; if
 * anything fails the call's changes are rolled back by the host).
 */
export function amend(appointmentId: string, amendment: Amendment): Appointment {
  const appointment = existingAppointment(appointmentId);
  checkChangeable(appointment);
  checkLength(amendment.description, MAX_DESCRIPTION, 'description');
  checkLength(amendment.comment, MAX_COMMENT, 'comment');
  const changed: Appointment = { ...appointment };
  const slotId = amendment.slotId;
  if (slotId !== undefined && slotId !== appointment.slotId) {
    const slot = existingSlot(slotId);
    checkFuture(slot);
    takeSlot(slotId);
    releaseSlot(appointment.slotId);
    changed.slotId = slotId;
  }
  if (amendment.description !== undefined) changed.description = amendment.description;
  if (amendment.comment !== undefined) changed.comment = amendment.comment;
  return updateAppointment(changed);
}

/** Reads an appointment. */
export function read(appointmentId: string): Appointment {
  return existingAppointment(appointmentId);
}

/** A patient's appointments, after checking the NHS number. */
export function appointmentsForPatient(patient: string): Appointment[] {
  checkNhsNumber(patient, 'patient');
  return queryAppointments({ patient, status: undefined, startingFrom: undefined });
}
