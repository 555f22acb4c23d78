"""{{supplier}}'s scheduling module: a skeleton from `patchbay new`.

As it stands it does the least the standard allows: every free slot that
has not started is offered, and any registered patient may book it. The
standard's own rules (checks of NHS numbers, patients, slots,
cancellations and amendments) come from the SDK's
`patchbay_sdk.scheduling.ops`; your policy goes where the comments say.
Keep policy that needs no host in a plain module of its own and test it
natively (`patchbay_sdk.scheduling.rules` runs natively too).

Build, from this folder: `{{python_build}} . {{name}}.wasm`; then check it:
`patchbay conformance {{name}}.wasm --id {{supplier}}/{{name}}@0.1.0`.
"""

from typing import List

from wit_world import exports
from wit_world.exports import booking
from wit_world.imports import context, records

from patchbay_sdk import outcomes  # noqa: F401  (your refusals: outcomes.business_rule(...))
from patchbay_sdk.scheduling import ops


class Booking(exports.Booking):
    def find_free_slots(self, search: booking.SlotSearch) -> List[records.Slot]:
        # Your policy: which free slots to offer. A booking window's start
        # (minimum notice) is the `earliest` here, and the host then reads
        # no more than the search's limit. A policy that drops slots as it
        # goes (held back for urgent care, telephone first...) reads them
        # all with `ops.free_slots(search)`, filters, then keeps
        # `ops.apply_limit(slots, search.limit)`.
        return ops.free_slots_from(search, context.now() + 1)

    def book(self, request: booking.BookingRequest) -> records.Appointment:
        # Your policy: who may book what (minimum notice, a limit per
        # patient...). Refuse with `raise outcomes.business_rule("...")`;
        # `ops.check_booking(request)` gives the slot and the patient.
        return ops.book(request)

    def cancel(self, appointment_id: str, reason: str) -> records.Appointment:
        return ops.cancel(appointment_id, reason)

    def amend(self, appointment_id: str, amendment: booking.Amendment) -> records.Appointment:
        return ops.amend(appointment_id, amendment)

    def read(self, appointment_id: str) -> records.Appointment:
        return ops.read(appointment_id)

    def appointments_for_patient(self, patient: str) -> List[records.Appointment]:
        return ops.appointments_for_patient(patient)
