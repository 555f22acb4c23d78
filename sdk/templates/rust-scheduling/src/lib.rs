//! {{supplier}}'s scheduling module: a skeleton from `patchbay new`.
//!
//! As it stands it does the least the standard allows: every free slot
//! that has not started is offered, and any registered patient may book
//! it. The standard's own rules (checks of NHS numbers, patients, slots,
//! cancellations and amendments) come from the SDK's `ops`; your policy
//! goes where the comments say.
//!
//! Build: `cargo build --release --target wasm32-wasip2`, then check it:
//! `patchbay conformance target/wasm32-wasip2/release/{{wasm}}.wasm --id {{supplier}}/{{name}}@0.1.0`.

use patchbay_sdk::scheduling::ops;
use patchbay_sdk::scheduling::prelude::*;

/// The module.
pub struct Module;

impl Guest for Module {
    fn find_free_slots(search: SlotSearch) -> Result<Vec<Slot>, Outcome> {
        // Your policy: which free slots to offer. A booking window's start
        // (minimum notice) is the `earliest` here, and the host then reads
        // no more than the search's limit. A policy that drops slots as it
        // goes (held back for urgent care, telephone first...) reads them
        // all with `ops::free_slots(&search)?`, filters, then keeps
        // `ops::apply_limit(slots, search.limit)`.
        ops::free_slots_from(&search, context::now() + 1)
    }

    fn book(request: BookingRequest) -> Result<Appointment, Outcome> {
        // Your policy: who may book what (minimum notice, a limit per
        // patient...). Refuse with Outcome::business_rule(...).
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

patchbay_sdk::scheduling::export!(Module);
