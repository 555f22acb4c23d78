//! Bramble Clinical Ltd's scheduling module.
//!
//! Bramble's policy protects same-day access for urgent care:
//! - every fourth slot of each schedule's day is held back for urgent care:
//!   never offered online, and refused if booked by id;
//! - a slot must start at least [`MINIMUM_NOTICE`] from now;
//! - slots are offered at most [`HORIZON_DAYS`] ahead;
//! - a patient may hold at most [`MAX_FUTURE_PER_PATIENT`] future
//!   appointments at once.
//!
//! The pure policy is in [`policy`], so it can be tested and measured natively.

use patchbay_sdk::scheduling::ops;
use patchbay_sdk::scheduling::prelude::*;
use patchbay_sdk::time::{DAY, HOUR};

/// How soon a bookable slot may start.
pub const MINIMUM_NOTICE: i64 = 2 * HOUR;
/// How far ahead slots are offered.
pub const HORIZON_DAYS: i64 = 28;
/// Future appointments one patient may hold.
pub const MAX_FUTURE_PER_PATIENT: usize = 2;
/// One slot in this many of a schedule's day is held back for urgent care.
pub const HOLD_BACK_EVERY: usize = 4;

pub mod policy {
    //! Bramble's policy as pure functions over plain data.

    use super::{DAY, HOLD_BACK_EVERY, HORIZON_DAYS, MINIMUM_NOTICE};

    /// Whether a slot's start is bookable at `now`: enough notice, within
    /// the horizon.
    pub fn in_window(start: i64, now: i64) -> bool {
        start >= now + MINIMUM_NOTICE && start < now + HORIZON_DAYS * DAY
    }

    /// Whether the slot at `index` of its schedule's day (in order of start,
    /// counting every slot of that day, whatever its status) is held back.
    pub fn held_back(index: usize) -> bool {
        index % HOLD_BACK_EVERY == HOLD_BACK_EVERY - 1
    }
}

/// Bramble's module.
pub struct Bramble;

/// The ids of the slots held back for urgent care on the days of `slots`.
fn held_back_ids(slots: &[Slot]) -> Vec<String> {
    let mut days: Vec<(String, i64)> = slots
        .iter()
        .map(|s| {
            (
                s.schedule_id.clone(),
                patchbay_sdk::time::start_of_day(s.period.start),
            )
        })
        .collect();
    days.sort();
    days.dedup();
    let mut held = Vec::new();
    for (schedule_id, day) in days {
        let whole_day = records::slots(&SlotQuery {
            period: Period {
                start: day,
                end: day + DAY,
            },
            schedule_id: Some(schedule_id),
            service_type: None,
            status: None,
            limit: None,
        });
        held.extend(
            whole_day
                .into_iter()
                .enumerate()
                .filter(|(i, _)| policy::held_back(*i))
                .map(|(_, s)| s.id),
        );
    }
    held
}

/// Refuses a slot outside the booking window or held back for urgent care.
fn check_slot_policy(slot: &Slot) -> Result<(), Outcome> {
    if !policy::in_window(slot.period.start, context::now()) {
        return Err(Outcome::business_rule(format!(
            "slot '{}' cannot be booked online: Bramble books from {} hours to {HORIZON_DAYS} days ahead",
            slot.id,
            MINIMUM_NOTICE / HOUR
        )));
    }
    if held_back_ids(std::slice::from_ref(slot)).contains(&slot.id) {
        return Err(Outcome::business_rule(format!(
            "slot '{}' is held back for urgent care: the practice books it by telephone",
            slot.id
        )));
    }
    Ok(())
}

fn check_policy(slot: &Slot, patient: &str) -> Result<(), Outcome> {
    check_slot_policy(slot)?;
    let now = context::now();
    // Only the appointments the rule counts cross the boundary.
    let future = records::appointments_for_patient(&AppointmentQuery {
        patient: patient.to_string(),
        status: Some(AppointmentStatus::Booked),
        starting_from: Some(now + 1),
    })
    .len();
    if future >= MAX_FUTURE_PER_PATIENT {
        return Err(Outcome::business_rule(format!(
            "the patient already has {future} future appointments; Bramble allows {MAX_FUTURE_PER_PATIENT}: cancel one first"
        )));
    }
    Ok(())
}

impl Guest for Bramble {
    fn find_free_slots(search: SlotSearch) -> Result<Vec<Slot>, Outcome> {
        let now = context::now();
        // Held-back slots are dropped after the read, so the limit applies
        // after them; the notice moves the window's start.
        let free = ops::free_slots_from(
            &SlotSearch {
                limit: None,
                ..search.clone()
            },
            now + MINIMUM_NOTICE,
        )?;
        let held = held_back_ids(&free);
        let offered = free
            .into_iter()
            .filter(|s| policy::in_window(s.period.start, now) && !held.contains(&s.id))
            .collect();
        Ok(ops::apply_limit(offered, search.limit))
    }

    fn book(request: BookingRequest) -> Result<Appointment, Outcome> {
        let (slot, _) = ops::check_booking(&request)?;
        check_policy(&slot, &request.patient)?;
        ops::book(&request)
    }

    fn cancel(appointment_id: String, reason: String) -> Result<Appointment, Outcome> {
        ops::cancel(&appointment_id, &reason)
    }

    fn amend(appointment_id: String, amendment: Amendment) -> Result<Appointment, Outcome> {
        if let Some(slot_id) = &amendment.slot_id {
            let current = ops::existing_appointment(&appointment_id)?;
            if *slot_id != current.slot_id {
                check_slot_policy(&ops::existing_slot(slot_id)?)?;
            }
        }
        ops::amend(&appointment_id, &amendment)
    }

    fn read(appointment_id: String) -> Result<Appointment, Outcome> {
        ops::read(&appointment_id)
    }

    fn appointments_for_patient(patient: NhsNumber) -> Result<Vec<Appointment>, Outcome> {
        ops::appointments_for_patient(&patient)
    }
}

patchbay_sdk::scheduling::export!(Bramble);

#[cfg(test)]
mod tests {
    use super::policy::*;
    use super::*;

    #[test]
    fn window_needs_notice_and_stays_within_horizon() {
        let now = 1_000 * DAY;
        assert!(!in_window(now + HOUR, now));
        assert!(in_window(now + 2 * HOUR, now));
        assert!(in_window(now + 27 * DAY, now));
        assert!(!in_window(now + 28 * DAY, now));
    }

    #[test]
    fn every_fourth_slot_is_held_back() {
        let held: Vec<usize> = (0..12).filter(|i| held_back(*i)).collect();
        assert_eq!(held, vec![3, 7, 11]);
    }
}
