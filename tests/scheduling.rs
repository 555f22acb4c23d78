//! Scheduling through the host and the real compiled modules: search, book,
//! cancel, amend, read; the double-booking race; refusals; organisation
//! isolation; and Bramble's policy beside Meridian's.

mod support;

use std::sync::{Arc, Barrier};

use patchbay::CallError;
use patchbay::runtime::bindings::IssueCode;
use patchbay::runtime::bundled::{BRAMBLE_SCHEDULING, MERIDIAN_SCHEDULING};
use patchbay::runtime::scheduling::{Amendment, AppointmentStatus, SlotStatus};
use patchbay::store::demo::{ORG, OTHER_ORG, OTHER_PATIENT, PATIENTS};
use patchbay_sdk::time::DAY;
use support::{Harness, booking};

fn code(result: Result<impl std::fmt::Debug, CallError>) -> IssueCode {
    match result {
        Err(CallError::Refused(outcome)) => outcome.code(),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[test]
fn search_offers_only_free_future_slots_in_order() {
    let h = Harness::new();
    h.deploy(ORG, MERIDIAN_SCHEDULING);
    let booking_api = h.runtime.booking(h.ctx(ORG)).expect("module");
    let slots = booking_api.find_free_slots(&h.week()).expect("search");
    assert!(!slots.is_empty());
    assert!(
        slots
            .iter()
            .all(|s| s.status == SlotStatus::Free && s.period.start > h.now)
    );
    assert!(
        slots
            .windows(2)
            .all(|w| w[0].period.start <= w[1].period.start)
    );
    assert_eq!(
        slots.len(),
        h.free_slots_in_store(ORG, 0)
            .iter()
            .filter(|s| s.period.start > h.now)
            .count()
    );

    let mut limited = h.week();
    limited.limit = Some(3);
    assert_eq!(
        booking_api.find_free_slots(&limited).expect("search").len(),
        3
    );

    let mut schedule = h.week();
    schedule.schedule_id = Some("nurse-clinic".into());
    let nurse = booking_api.find_free_slots(&schedule).expect("search");
    assert!(!nurse.is_empty() && nurse.iter().all(|s| s.schedule_id == "nurse-clinic"));

    let mut too_long = h.week();
    too_long.period.end = h.now + 15 * DAY;
    assert_eq!(
        code(booking_api.find_free_slots(&too_long)),
        IssueCode::Invalid
    );
}

#[test]
fn book_read_cancel_and_the_slot_comes_back() {
    let h = Harness::new();
    h.deploy(ORG, MERIDIAN_SCHEDULING);
    let api = h.runtime.booking(h.ctx(ORG)).expect("module");
    let slot = api.find_free_slots(&h.week()).expect("search")[0].clone();
    let patient = PATIENTS[0].nhs_number;

    let booked = api.book(&booking(&slot.id, patient)).expect("book");
    assert_eq!(booked.status, AppointmentStatus::Booked);
    assert_eq!(booked.slot_id, slot.id);
    assert_eq!(booked.period, slot.period);
    assert_eq!(booked.version, 1);
    assert!(
        !api.find_free_slots(&h.week())
            .expect("search")
            .iter()
            .any(|s| s.id == slot.id)
    );

    assert_eq!(api.read(&booked.id).expect("read"), booked);
    let mine = api.appointments_for_patient(patient).expect("list");
    assert_eq!(mine, vec![booked.clone()]);

    assert_eq!(
        code(api.book(&booking(&slot.id, PATIENTS[1].nhs_number))),
        IssueCode::Conflict
    );

    let cancelled = api
        .cancel(&booked.id, "Patient feels better")
        .expect("cancel");
    assert_eq!(cancelled.status, AppointmentStatus::Cancelled);
    assert_eq!(
        cancelled.cancellation_reason.as_deref(),
        Some("Patient feels better")
    );
    assert_eq!(cancelled.version, 2);
    assert!(
        api.find_free_slots(&h.week())
            .expect("search")
            .iter()
            .any(|s| s.id == slot.id)
    );
    assert_eq!(
        code(api.cancel(&booked.id, "again")),
        IssueCode::BusinessRule
    );

    // The freed slot can be booked again.
    api.book(&booking(&slot.id, PATIENTS[1].nhs_number))
        .expect("rebook");
}

#[test]
fn amend_moves_atomically_and_edits_text() {
    let h = Harness::new();
    h.deploy(ORG, MERIDIAN_SCHEDULING);
    let api = h.runtime.booking(h.ctx(ORG)).expect("module");
    let slots = api.find_free_slots(&h.week()).expect("search");
    let (first, second, third) = (&slots[0], &slots[1], &slots[2]);
    let booked = api
        .book(&booking(&first.id, PATIENTS[0].nhs_number))
        .expect("book");
    let other = api
        .book(&booking(&third.id, PATIENTS[1].nhs_number))
        .expect("book");

    let moved = api
        .amend(
            &booked.id,
            &Amendment {
                slot_id: Some(second.id.clone()),
                description: Some("Medication review".into()),
                comment: None,
            },
        )
        .expect("amend");
    assert_eq!(moved.slot_id, second.id);
    assert_eq!(moved.period, second.period);
    assert_eq!(moved.description.as_deref(), Some("Medication review"));
    let offered = api.find_free_slots(&h.week()).expect("search");
    assert!(
        offered.iter().any(|s| s.id == first.id),
        "the old slot is free again"
    );
    assert!(
        !offered.iter().any(|s| s.id == second.id),
        "the new slot is taken"
    );

    // Moving onto a taken slot fails and changes nothing.
    let clash = Amendment {
        slot_id: Some(third.id.clone()),
        description: Some("changed".into()),
        comment: None,
    };
    assert_eq!(code(api.amend(&booked.id, &clash)), IssueCode::Conflict);
    assert_eq!(api.read(&booked.id).expect("read"), moved);
    assert_eq!(api.read(&other.id).expect("read").slot_id, third.id);

    let long = Amendment {
        slot_id: None,
        description: Some("x".repeat(101)),
        comment: None,
    };
    assert_eq!(code(api.amend(&booked.id, &long)), IssueCode::TooLong);
    api.cancel(&booked.id, "No longer needed").expect("cancel");
    let after = Amendment {
        slot_id: None,
        description: None,
        comment: Some("too late".into()),
    };
    assert_eq!(code(api.amend(&booked.id, &after)), IssueCode::BusinessRule);
}

#[test]
fn bad_requests_are_refused_with_the_right_code() {
    let h = Harness::new();
    h.deploy(ORG, MERIDIAN_SCHEDULING);
    let api = h.runtime.booking(h.ctx(ORG)).expect("module");
    let slot = api.find_free_slots(&h.week()).expect("search")[0].clone();

    let invalid = api.book(&booking(&slot.id, "9434765918"));
    match &invalid {
        Err(CallError::Refused(o)) => {
            assert_eq!(o.code(), IssueCode::Invalid);
            assert!(
                o.diagnostics().contains("9434765918"),
                "{}",
                o.diagnostics()
            );
        }
        other => panic!("expected invalid, got {other:?}"),
    }
    assert_eq!(
        code(api.book(&booking(&slot.id, "12345"))),
        IssueCode::Invalid
    );
    // Valid, but not registered with this practice.
    assert_eq!(
        code(api.book(&booking(&slot.id, OTHER_PATIENT.nhs_number))),
        IssueCode::NotFound
    );
    assert_eq!(
        code(api.book(&booking("no-such-slot", PATIENTS[0].nhs_number))),
        IssueCode::NotFound
    );
    assert_eq!(code(api.read("no-such-appointment")), IssueCode::NotFound);
    assert_eq!(
        code(api.cancel("no-such-appointment", "x")),
        IssueCode::NotFound
    );
    let mut long = booking(&slot.id, PATIENTS[0].nhs_number);
    long.comment = Some("y".repeat(501));
    assert_eq!(code(api.book(&long)), IssueCode::TooLong);

    // Nothing was booked by any of these.
    assert!(
        api.find_free_slots(&h.week())
            .expect("search")
            .iter()
            .any(|s| s.id == slot.id)
    );
}

#[test]
fn concurrent_bookings_of_one_slot_give_one_success() {
    let h = Harness::new();
    h.deploy(ORG, MERIDIAN_SCHEDULING);
    let slots = h
        .runtime
        .booking(h.ctx(ORG))
        .expect("module")
        .find_free_slots(&h.week())
        .expect("search");
    const CONTENDERS: usize = 8;
    for slot in slots.iter().take(5) {
        let barrier = Arc::new(Barrier::new(CONTENDERS));
        let results: Vec<_> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..CONTENDERS)
                .map(|i| {
                    let barrier = barrier.clone();
                    let api = h.runtime.booking(h.ctx(ORG)).expect("module");
                    let request = booking(&slot.id, PATIENTS[i % PATIENTS.len()].nhs_number);
                    scope.spawn(move || {
                        barrier.wait();
                        api.book(&request)
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("thread"))
                .collect()
        });
        let wins = results.iter().filter(|r| r.is_ok()).count();
        let conflicts = results
            .iter()
            .filter(|r| matches!(r, Err(CallError::Refused(o)) if o.code() == IssueCode::Conflict))
            .count();
        assert_eq!((wins, conflicts), (1, CONTENDERS - 1), "{results:?}");
    }
    // The store agrees: one live appointment per slot.
    let conn = h.runtime.records().connection().expect("connection");
    let live: i64 = conn
        .query_one(
            "SELECT COUNT(*) FROM appointments WHERE org = ?1 AND status = 'booked'",
            &[&ORG],
        )
        .and_then(|r| r.get(0))
        .expect("count");
    assert_eq!(live, 5);
}

#[test]
fn organisations_never_see_each_others_records() {
    let h = Harness::new();
    h.deploy(ORG, MERIDIAN_SCHEDULING);
    h.deploy(OTHER_ORG, MERIDIAN_SCHEDULING);
    let mine = h.runtime.booking(h.ctx(ORG)).expect("module");
    let theirs = h.runtime.booking(h.ctx(OTHER_ORG)).expect("module");
    let slot = mine.find_free_slots(&h.week()).expect("search")[0].clone();
    let booked = mine
        .book(&booking(&slot.id, PATIENTS[0].nhs_number))
        .expect("book");

    assert_eq!(code(theirs.read(&booked.id)), IssueCode::NotFound);
    assert_eq!(
        code(theirs.cancel(&booked.id, "not yours")),
        IssueCode::NotFound
    );
    assert!(
        theirs
            .appointments_for_patient(PATIENTS[0].nhs_number)
            .expect("list")
            .is_empty()
    );
    // Same slot id in the other practice is its own slot, still free.
    assert!(
        theirs
            .find_free_slots(&h.week())
            .expect("search")
            .iter()
            .any(|s| s.id == slot.id)
    );
    assert_eq!(
        mine.read(&booked.id).expect("read").status,
        AppointmentStatus::Booked
    );
}

#[test]
fn bramble_holds_back_urgent_slots_needs_notice_and_limits_each_patient() {
    let h = Harness::new();
    h.deploy(ORG, BRAMBLE_SCHEDULING);
    let api = h.runtime.booking(h.ctx(ORG)).expect("module");
    let offered = api.find_free_slots(&h.week()).expect("search");
    let everything = h.free_slots_in_store(ORG, 0);

    // Every fourth slot of a schedule's day (09:45, 10:45, 11:45) is held back.
    let held: Vec<_> = everything.iter().filter(|s| s.id.ends_with("45")).collect();
    assert!(!held.is_empty());
    assert!(held.iter().all(|s| !offered.iter().any(|o| o.id == s.id)));
    assert_eq!(
        code(api.book(&booking(&held[held.len() - 1].id, PATIENTS[0].nhs_number))),
        IssueCode::BusinessRule
    );

    // Two hours' notice.
    let soon: Vec<_> = everything
        .iter()
        .filter(|s| s.period.start > h.now && s.period.start < h.now + 2 * patchbay_sdk::time::HOUR)
        .collect();
    assert!(
        offered
            .iter()
            .all(|s| s.period.start >= h.now + 2 * patchbay_sdk::time::HOUR)
    );
    if let Some(slot) = soon.first() {
        assert_eq!(
            code(api.book(&booking(&slot.id, PATIENTS[0].nhs_number))),
            IssueCode::BusinessRule
        );
    }

    // Two future appointments per patient.
    let patient = PATIENTS[2].nhs_number;
    api.book(&booking(&offered[0].id, patient)).expect("first");
    api.book(&booking(&offered[1].id, patient)).expect("second");
    assert_eq!(
        code(api.book(&booking(&offered[2].id, patient))),
        IssueCode::BusinessRule
    );

    // Meridian, for the same practice's records, offers the held-back slots.
    h.deploy(ORG, MERIDIAN_SCHEDULING);
    let meridian = h.runtime.booking(h.ctx(ORG)).expect("module");
    let meridian_offers = meridian.find_free_slots(&h.week()).expect("search");
    assert!(
        meridian_offers
            .iter()
            .any(|s| s.id == held[held.len() - 1].id)
    );
    meridian
        .book(&booking(&offered[2].id, patient))
        .expect("Meridian has no limit");
}
