// {{supplier}}'s scheduling module: a skeleton from `patchbay new`.
//
// As it stands it does the least the standard allows: every free slot that
// has not started is offered, and any registered patient may book it. The
// standard's own rules (checks of NHS numbers, patients, slots,
// cancellations and amendments) come from the SDK's
// `@patchbay/sdk/scheduling/ops`; your policy goes where the comments say.
// Keep policy that needs no host in a plain file of its own (say
// src/policy.ts, imported as './policy.js', with no `care:*` imports) and
// test it in Node: the SDK's `test` script (beside its `build`), run as
// `sdk/typescript/test .` from this folder by its full path, runs this
// folder's test/*.test.mjs.
//
// Build, from this folder: `{{typescript_build}} . {{name}}.wasm`; then check it:
// `patchbay conformance {{name}}.wasm --id {{supplier}}/{{name}}@0.1.0`.

import type * as Booking from 'care:scheduling/booking@0.2.0';
import type { Amendment, BookingRequest, SlotSearch } from 'care:scheduling/booking@0.2.0';
import type { Appointment, Slot } from 'care:scheduling/records@0.2.0';
import { now } from 'care:types/context@0.1.0';
import { outcomes } from '@patchbay/sdk'; // your refusals: outcomes.businessRule('...').at('slotId')
import * as ops from '@patchbay/sdk/scheduling/ops';

function findFreeSlots(search: SlotSearch): Slot[] {
  // Your policy: which free slots to offer. A booking window's start
  // (minimum notice) is the `earliest` here, and the host then reads no
  // more than the search's limit. A policy that drops slots as it goes
  // (held back for urgent care, telephone first...) reads them all with
  // `ops.freeSlots(search)`, filters, then keeps
  // `ops.applyLimit(slots, search.limit)`.
  return ops.freeSlotsFrom(search, now() + 1n);
}

function book(request: BookingRequest): Appointment {
  // Your policy: who may book what (minimum notice, a limit per
  // patient...). Refuse with `throw outcomes.businessRule('...').at('slotId')`;
  // `ops.checkBooking(request)` gives the slot and the patient.
  return ops.book(request);
}

function cancel(appointmentId: string, reason: string): Appointment {
  return ops.cancel(appointmentId, reason);
}

function amend(appointmentId: string, amendment: Amendment): Appointment {
  // Your policy for a move to another slot goes here too, as in `book`.
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
