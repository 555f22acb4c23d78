//! Swapping the scheduling module from one supplier to the other at runtime:
//! the records stay with the host, so appointments made under the first stay
//! readable, cancellable and amendable under the second; calls in flight
//! finish, and nothing is lost.

mod support;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use patchbay::CallError;
use patchbay::runtime::bindings::IssueCode;
use patchbay::runtime::bundled::{BRAMBLE_SCHEDULING, MERIDIAN_SCHEDULING, NORTHWIND_PRESCRIBING};
use patchbay::runtime::deployment::Limits;
use patchbay::runtime::scheduling::{Amendment, AppointmentStatus};
use patchbay::store::demo::{ORG, PATIENTS};
use support::{Harness, booking};

#[test]
fn appointments_made_under_meridian_stay_usable_under_bramble() {
    let h = Harness::new();
    let meridian = h.deploy(ORG, MERIDIAN_SCHEDULING);
    let before = h.runtime.booking(h.ctx(ORG)).expect("module");
    // Book slots at least a day ahead and not held back by Bramble, so
    // Bramble's policy allows moving among them.
    let slots: Vec<_> = before
        .find_free_slots(&h.week())
        .expect("search")
        .into_iter()
        .filter(|s| s.period.start > h.now + patchbay_sdk::time::DAY && !s.id.ends_with("45"))
        .collect();
    let made: Vec<_> = (0..3)
        .map(|i| {
            before
                .book(&booking(&slots[i].id, PATIENTS[i].nhs_number))
                .expect("book")
        })
        .collect();

    let bramble = h.prepare(
        BRAMBLE_SCHEDULING.id,
        BRAMBLE_SCHEDULING.bytes,
        Limits::default(),
    );
    let slot = h
        .runtime
        .slots()
        .get(ORG, patchbay::Standard::Scheduling)
        .expect("slot");
    let previous = slot.swap(bramble).expect("swap");
    assert_eq!(previous.module.id, meridian.module.id);

    let after = h.runtime.booking(h.ctx(ORG)).expect("module");
    assert_eq!(
        after.deployment().module.id.to_string(),
        BRAMBLE_SCHEDULING.id
    );

    // Readable, as they were.
    for appointment in &made {
        assert_eq!(&after.read(&appointment.id).expect("read"), appointment);
    }
    assert_eq!(
        after
            .appointments_for_patient(PATIENTS[0].nhs_number)
            .expect("list"),
        vec![made[0].clone()]
    );
    // Cancellable.
    let cancelled = after
        .cancel(&made[0].id, "Moved supplier, patient cancelled")
        .expect("cancel");
    assert_eq!(cancelled.status, AppointmentStatus::Cancelled);
    // Amendable, including a move to another slot.
    let moved = after
        .amend(
            &made[1].id,
            &Amendment {
                slot_id: Some(slots[3].id.clone()),
                description: Some("Moved under Bramble".into()),
                comment: None,
            },
        )
        .expect("amend");
    assert_eq!(moved.slot_id, slots[3].id);
    assert_eq!(moved.version, made[1].version + 1);
    // Bramble's policy now applies to new bookings: held-back slots refused.
    let held = h
        .free_slots_in_store(ORG, 24)
        .into_iter()
        .find(|s| s.id.ends_with("45"))
        .expect("held slot");
    match after.book(&booking(&held.id, PATIENTS[3].nhs_number)) {
        Err(CallError::Refused(o)) => assert_eq!(o.code(), IssueCode::BusinessRule),
        other => panic!("expected Bramble to refuse, got {other:?}"),
    }

    // And back again: Meridian reads what Bramble changed.
    slot.swap(previous).expect("swap back");
    let again = h.runtime.booking(h.ctx(ORG)).expect("module");
    assert_eq!(
        again.read(&made[0].id).expect("read").status,
        AppointmentStatus::Cancelled
    );
    assert_eq!(again.read(&made[1].id).expect("read"), moved);
    assert_eq!(again.read(&made[2].id).expect("read"), made[2]);
}

#[test]
fn a_swap_under_load_drops_nothing() {
    let h = Harness::new();
    h.deploy(ORG, MERIDIAN_SCHEDULING);
    let bramble = h.prepare(
        BRAMBLE_SCHEDULING.id,
        BRAMBLE_SCHEDULING.bytes,
        Limits::default(),
    );
    let meridian = h
        .runtime
        .slots()
        .get(ORG, patchbay::Standard::Scheduling)
        .expect("slot")
        .active();
    let slot = h
        .runtime
        .slots()
        .get(ORG, patchbay::Standard::Scheduling)
        .expect("slot");
    let stop = AtomicBool::new(false);
    let calls = AtomicUsize::new(0);
    let booked = std::sync::Mutex::new(Vec::new());

    std::thread::scope(|scope| {
        for (worker, patient) in PATIENTS.iter().take(3).enumerate() {
            let (h, stop, calls, booked) = (&h, &stop, &calls, &booked);
            let patient = patient.nhs_number;
            scope.spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let api = h.runtime.booking(h.ctx(ORG)).expect("module");
                    let free = api.find_free_slots(&h.week()).expect("search never fails");
                    calls.fetch_add(1, Ordering::Relaxed);
                    let Some(slot) = free.get(worker * 7) else {
                        continue;
                    };
                    match api.book(&booking(&slot.id, patient)) {
                        Ok(a) => {
                            booked.lock().expect("lock").push(a.id.clone());
                            api.cancel(&a.id, "load test")
                                .expect("cancel what was just booked");
                        }
                        // Another worker took it, or Bramble's policy: correct answers.
                        Err(CallError::Refused(o))
                            if matches!(
                                o.code(),
                                IssueCode::Conflict | IssueCode::BusinessRule
                            ) => {}
                        Err(e) => panic!("call failed during swaps: {e}"),
                    }
                }
            });
        }
        // At least 40 swaps, and on until the workers have made 40 calls
        // during them (a busy machine runs fewer calls per swap), for at
        // most 20 s.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        let mut i = 0;
        while i < 40
            || (calls.load(Ordering::Relaxed) <= 40 && std::time::Instant::now() < deadline)
        {
            let next = if i % 2 == 0 {
                bramble.clone()
            } else {
                meridian.clone()
            };
            slot.swap(next).expect("swap");
            std::thread::sleep(std::time::Duration::from_millis(5));
            i += 1;
        }
        stop.store(true, Ordering::Relaxed);
    });

    assert!(calls.load(Ordering::Relaxed) > 40);
    // Every booking made is in the store, once, and cancelled as asked.
    let booked = booked.into_inner().expect("lock");
    let conn = h.runtime.records().connection().expect("connection");
    for id in &booked {
        let status: String = conn
            .query_one(
                "SELECT status FROM appointments WHERE org = ?1 AND id = ?2",
                &[&ORG, id],
            )
            .and_then(|r| r.get(0))
            .expect("the appointment is in the store");
        assert_eq!(status, "cancelled");
    }
    let busy: i64 = conn
        .query_one(
            "SELECT COUNT(*) FROM slots WHERE org = ?1 AND status = 'busy'",
            &[&ORG],
        )
        .and_then(|r| r.get(0))
        .expect("count");
    assert_eq!(busy, 0, "every slot taken was freed again");
}

#[test]
fn a_module_of_another_standard_cannot_take_the_slot() {
    let h = Harness::new();
    h.deploy(ORG, MERIDIAN_SCHEDULING);
    let northwind = h.prepare(
        NORTHWIND_PRESCRIBING.id,
        NORTHWIND_PRESCRIBING.bytes,
        Limits::default(),
    );
    let slot = h
        .runtime
        .slots()
        .get(ORG, patchbay::Standard::Scheduling)
        .expect("slot");
    let refused = slot.swap(northwind).err().expect("refused").to_string();
    assert!(
        refused.contains("care:prescribing/prescribing-provider@0.1.0"),
        "{refused}"
    );
    assert!(
        refused.contains("care:scheduling/scheduling-provider@0.2.0"),
        "{refused}"
    );
    assert_eq!(slot.active().module.id.to_string(), MERIDIAN_SCHEDULING.id);
}
