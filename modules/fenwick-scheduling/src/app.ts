// Fenwick Care Software Ltd's scheduling module (care:scheduling@0.2.0):
// telephone first. The policy is in policy.ts; the standard behaviour
// (validation, atomic take, cancellation, atomic moves) is the SDK's.

import type * as Booking from 'care:scheduling/booking@0.2.0';
import type { Amendment, BookingRequest, SlotSearch } from 'care:scheduling/booking@0.2.0';
import { appointmentsForPatient as queryAppointments, getSlot, type Appointment, type Slot } from 'care:scheduling/records@0.2.0';
import { now } from 'care:types/context@0.1.0';
import { outcomes } from '@patchbay/sdk';
import * as ops from '@patchbay/sdk/scheduling/ops';
import * as policy from './policy.js';

/** Refuses a slot outside its channel's booking window. */
function checkSlotPolicy(slot: Slot, at: bigint): void {
  const why = policy.whyNotBookable(slot, at);
  if (why !== undefined) throw outcomes.businessRule(why).at('slotId');
}

/**
 * Refuses another in-person appointment to a patient who holds one already
 * (other than `except`, an appointment being moved). Only the patient's
 * booked future appointments cross the boundary; each one's slot says how
 * it takes place.
 */
function checkInPersonLimit(patient: string, at: bigint, except?: string): void {
  const held = queryAppointments({ patient, status: 'booked', startingFrom: at })
    .filter((a) => a.id !== except && getSlot(a.slotId)?.deliveryChannel === 'in-person')
    .map((a) => a.period.start);
  const why = policy.whyInPersonLimit(held);
  if (why !== undefined) throw outcomes.businessRule(why).at('patient');
}

/** The free slots Fenwick offers for a search: only what `book` accepts, by start, at most the limit. */
function findFreeSlots(search: SlotSearch): Slot[] {
  const at = now();
  return ops.applyLimit(policy.offered(ops.freeSlots(search), at), search.limit);
}

function book(request: BookingRequest): Appointment {
  const { slot } = ops.checkBooking(request);
  const at = now();
  checkSlotPolicy(slot, at);
  // A slot that is not free is the host's `conflict` (from take-slot),
  // whoever asks; the per-patient rule is for slots that could be booked.
  if (slot.deliveryChannel === 'in-person' && slot.status === 'free') {
    checkInPersonLimit(request.patient, at);
  }
  return ops.book(request);
}

function cancel(appointmentId: string, reason: string): Appointment {
  return ops.cancel(appointmentId, reason);
}

function amend(appointmentId: string, amendment: Amendment): Appointment {
  const slotId = amendment.slotId;
  if (slotId !== undefined) {
    const current = ops.existingAppointment(appointmentId);
    if (slotId !== current.slotId) {
      ops.checkChangeable(current);
      const slot = ops.existingSlot(slotId);
      const at = now();
      checkSlotPolicy(slot, at);
      if (slot.deliveryChannel === 'in-person' && slot.status === 'free') {
        checkInPersonLimit(current.patient, at, current.id);
      }
    }
  }
  return ops.amend(appointmentId, amendment);
}

function read(appointmentId: string): Appointment {
  return ops.read(appointmentId);
}

function appointmentsForPatient(patient: string): Appointment[] {
  return ops.appointmentsForPatient(patient);
}

/** The exported interface, by its name in the world: `booking`. */
export const booking: typeof Booking = {
  findFreeSlots,
  book,
  cancel,
  amend,
  read,
  appointmentsForPatient,
};
