//! Hot-swap under load, over the real binary and real HTTP: clients book,
//! search, cancel and run prescribing checks without pause while an admin
//! swaps the scheduling slot between two suppliers' modules over and over,
//! with canaries, shadows, promotions, aborts and rollbacks in between.
//! No request may fail with a 5xx, a connection error or a timeout (a 409 or
//! 422 for a slot another client took, or a supplier's policy, is a correct
//! answer); afterwards the store holds every acknowledged booking once, in
//! the state its client left it, and no slot is booked twice.

mod support;

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use patchbay::store::demo::PATIENTS;
use reqwest::StatusCode;
use serde_json::{Value, json};
use support::server::{
    Server, active_scheduling, appointment, book, cancellation, medication_request, with_bramble,
};

const ORG: &str = "Y90001";
const BRAMBLE: &str = "bramble/scheduling@2.1.0";
const MERIDIAN: &str = "meridian/scheduling@1.0.0";
/// How many times the active module must change.
const SWAPS: usize = 50;

/// What the clients saw.
#[derive(Default)]
struct Seen {
    /// Booked and acknowledged (201), by id: whether its client then
    /// cancelled it (and had that acknowledged).
    booked: HashMap<String, bool>,
    /// Every answer that is not a correct one.
    failures: Vec<String>,
    requests: usize,
}

fn client_loop(s: &Server, worker: usize, stop: &AtomicBool, seen: &Mutex<Seen>) {
    let clinician = s.token("clinician", ORG, None);
    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client");
    let mut round = 0usize;
    let fail = |what: String| seen.lock().expect("lock").failures.push(what);
    while !stop.load(Ordering::Relaxed) {
        round += 1;
        let patient = PATIENTS[(worker + round) % PATIENTS.len()].nhs_number;
        // Search.
        let search = client
            .get(format!("{}/fhir/Slot?_count=30", s.base))
            .bearer_auth(&clinician)
            .send();
        let slots: Vec<String> = match search {
            Ok(r) if r.status() == StatusCode::OK => r
                .json::<Value>()
                .ok()
                .and_then(|b| b["entry"].as_array().cloned())
                .unwrap_or_default()
                .iter()
                .filter_map(|e| e["resource"]["id"].as_str().map(str::to_string))
                .collect(),
            Ok(r) => {
                fail(format!("search: {}", r.status()));
                continue;
            }
            Err(e) => {
                fail(format!("search: {e}"));
                continue;
            }
        };
        // Book one of them (clients often race for the same slot).
        if let Some(slot) = slots.get((worker * 3 + round) % slots.len().max(1)) {
            let (status, body) = book(s, &clinician, slot, patient);
            match status {
                StatusCode::CREATED => {
                    let Some(id) = body["id"].as_str().map(str::to_string) else {
                        fail(format!("book: 201 without an id: {body}"));
                        continue;
                    };
                    seen.lock().expect("lock").booked.insert(id.clone(), false);
                    // Cancel two bookings in three.
                    if !round.is_multiple_of(3) {
                        let r = client
                            .put(format!("{}/fhir/Appointment/{id}", s.base))
                            .bearer_auth(&clinician)
                            .header("content-type", "application/fhir+json")
                            .body(cancellation(&id, "load test").to_string())
                            .send();
                        match r {
                            Ok(r) if r.status() == StatusCode::OK => {
                                seen.lock().expect("lock").booked.insert(id, true);
                            }
                            Ok(r) => fail(format!(
                                "cancel: {}: {}",
                                r.status(),
                                r.text().unwrap_or_default()
                            )),
                            Err(e) => fail(format!("cancel: {e}")),
                        }
                    }
                }
                // Taken by another client, or refused by a supplier's policy.
                StatusCode::CONFLICT | StatusCode::UNPROCESSABLE_ENTITY => {}
                other => fail(format!("book: {other}: {body}")),
            }
        }
        // A prescribing check (CDS Hooks order-select).
        let call = json!({
            "hook": "order-select",
            "hookInstance": format!("load-{worker}-{round}"),
            "context": {"userId": "Practitioner/clinician-1", "patientId": patient,
                "draftOrders": {"resourceType": "Bundle", "type": "collection", "entry": [
                    {"resource": medication_request(patient, "387517004", 500.0, None)}]}}
        });
        match client
            .post(format!("{}/cds-services/medication-order-select", s.base))
            .bearer_auth(&clinician)
            .json(&call)
            .send()
        {
            Ok(r) if r.status() == StatusCode::OK => {}
            Ok(r) => fail(format!("check: {}", r.status())),
            Err(e) => fail(format!("check: {e}")),
        }
        seen.lock().expect("lock").requests += 3;
    }
}

fn admin(s: &Server, token: &str, path: &str, body: Value) {
    let r = s.post(&format!("/admin/slots/scheduling/{path}"), token, &body);
    let status = r.status();
    assert_eq!(
        status,
        StatusCode::OK,
        "{path}: {}",
        r.text().unwrap_or_default()
    );
}

#[test]
fn fifty_swaps_under_load_lose_nothing() {
    let s = with_bramble("");
    let token = s.token("admin", ORG, None);
    let stop = AtomicBool::new(false);
    let seen = Mutex::new(Seen::default());
    let swaps = AtomicUsize::new(0);
    let appointments = || -> i64 {
        s.connection()
            .query_one("SELECT COUNT(*) FROM appointments WHERE org = ?1", &[&ORG])
            .and_then(|r| r.get(0))
            .expect("count")
    };
    let before = appointments();
    let started = Instant::now();

    std::thread::scope(|scope| {
        for worker in 0..4 {
            let (s, stop, seen) = (&s, &stop, &seen);
            scope.spawn(move || client_loop(s, worker, stop, seen));
        }
        let mut active = MERIDIAN.to_string();
        let other = |active: &str| {
            if active == MERIDIAN {
                BRAMBLE
            } else {
                MERIDIAN
            }
        };
        let swapped = |to: &str, active: &mut String| {
            assert_eq!(active_scheduling(&s, &token), to);
            *active = to.to_string();
            swaps.fetch_add(1, Ordering::Relaxed);
        };
        let mut round = 0;
        while swaps.load(Ordering::Relaxed) < SWAPS {
            round += 1;
            let next = other(&active);
            // A plain deploy, then a rollback.
            admin(
                &s,
                &token,
                "deploy",
                json!({"module": next, "reason": format!("round {round}")}),
            );
            swapped(next, &mut active);
            std::thread::sleep(Duration::from_millis(15));
            admin(&s, &token, "rollback", json!({"reason": "back again"}));
            swapped(other(next), &mut active);
            std::thread::sleep(Duration::from_millis(15));
            // A canary, promoted.
            let next = other(&active);
            admin(
                &s,
                &token,
                "canary",
                json!({"module": next, "percent": 40, "reason": "canary"}),
            );
            std::thread::sleep(Duration::from_millis(15));
            admin(&s, &token, "promote", json!({"reason": "canary went well"}));
            swapped(next, &mut active);
            // A shadow and a canary, aborted: no swap.
            let next = other(&active);
            admin(
                &s,
                &token,
                "shadow",
                json!({"module": next, "reason": "shadow"}),
            );
            std::thread::sleep(Duration::from_millis(15));
            admin(&s, &token, "abort", json!({"reason": "enough"}));
            admin(
                &s,
                &token,
                "canary",
                json!({"module": next, "percent": 60, "reason": "canary"}),
            );
            std::thread::sleep(Duration::from_millis(15));
            admin(&s, &token, "abort", json!({"reason": "not yet"}));
            assert_eq!(active_scheduling(&s, &token), active);
        }
        stop.store(true, Ordering::Relaxed);
    });

    let seen = seen.into_inner().expect("lock");
    assert!(
        seen.failures.is_empty(),
        "{} failed requests during the swaps, e.g. {:?}",
        seen.failures.len(),
        &seen.failures[..seen.failures.len().min(5)]
    );
    assert!(swaps.load(Ordering::Relaxed) >= SWAPS);
    assert!(seen.requests > 100, "too little traffic: {}", seen.requests);
    assert!(!seen.booked.is_empty(), "no booking succeeded");
    eprintln!(
        "{} swaps, {} requests, {} bookings acknowledged in {:.1} s",
        swaps.load(Ordering::Relaxed),
        seen.requests,
        seen.booked.len(),
        started.elapsed().as_secs_f64()
    );

    // Against the store: every acknowledged booking, once, as its client left it.
    let conn = s.connection();
    for (id, cancelled) in &seen.booked {
        let statuses: Vec<String> = conn
            .query(
                "SELECT status FROM appointments WHERE org = ?1 AND id = ?2",
                &[&ORG, id],
            )
            .and_then(|rows| rows.iter().map(|r| r.get(0)).collect())
            .expect("query");
        let expected = if *cancelled { "cancelled" } else { "booked" };
        assert_eq!(statuses, vec![expected.to_string()], "appointment {id}");
    }
    // Nothing stored that no client was told of (a shadow's or a readiness
    // check's writes, a failed call's).
    assert_eq!(
        (appointments() - before) as usize,
        seen.booked.len(),
        "appointments stored vs acknowledged"
    );
    // No slot booked twice, and every busy slot held by exactly one live appointment.
    let doubled: i64 = conn
        .query_one(
            "SELECT COUNT(*) FROM (SELECT slot_id FROM appointments WHERE org = ?1 \
             AND status NOT IN ('cancelled', 'entered-in-error') GROUP BY slot_id HAVING COUNT(*) > 1) doubled",
            &[&ORG],
        )
        .and_then(|r| r.get(0))
        .expect("count");
    assert_eq!(doubled, 0, "slots booked twice");
    let mismatched: i64 = conn
        .query_one(
            "SELECT COUNT(*) FROM slots s WHERE s.org = ?1 AND (s.status = 'busy') != EXISTS \
             (SELECT 1 FROM appointments a WHERE a.org = s.org AND a.slot_id = s.id \
              AND a.status NOT IN ('cancelled', 'entered-in-error'))",
            &[&ORG],
        )
        .and_then(|r| r.get(0))
        .expect("count");
    assert_eq!(
        mismatched, 0,
        "slots whose status disagrees with their appointments"
    );
    assert!(s.audit_verify().0);
}

#[test]
fn kill_9_during_traffic_keeps_the_deployments_and_every_acknowledged_booking() {
    let mut s = with_bramble("");
    let token = s.token("admin", ORG, None);
    admin(
        &s,
        &token,
        "deploy",
        json!({"module": BRAMBLE, "reason": "switch"}),
    );
    admin(
        &s,
        &token,
        "canary",
        json!({"module": MERIDIAN, "percent": 50, "reason": "try"}),
    );
    let (base, clinician) = (s.base.clone(), s.token("clinician", ORG, None));
    let stop = AtomicBool::new(false);
    // Every booking the server acknowledged, and whether its cancellation
    // was acknowledged too (`None`: never asked; `Some(false)`: asked, the
    // answer lost to the kill).
    let acknowledged = Mutex::new(HashMap::<String, Option<bool>>::new());
    let answered_after_restart = AtomicUsize::new(0);
    let restarted = AtomicBool::new(false);

    std::thread::scope(|scope| {
        for worker in 0..3 {
            let (base, clinician, stop, acknowledged) = (&base, &clinician, &stop, &acknowledged);
            let (restarted, answered_after_restart) = (&restarted, &answered_after_restart);
            scope.spawn(move || {
                let client = reqwest::blocking::Client::builder()
                    .timeout(Duration::from_secs(10))
                    .build()
                    .expect("client");
                // This worker's bookings still standing, oldest first: it
                // cancels the oldest beyond a few, so free slots never run out.
                let mut mine = std::collections::VecDeque::<String>::new();
                let mut round = 0usize;
                while !stop.load(Ordering::Relaxed) {
                    round += 1;
                    let patient = PATIENTS[(worker + round) % PATIENTS.len()].nhs_number;
                    let Ok(r) = client
                        .get(format!("{base}/fhir/Slot?_count=40"))
                        .bearer_auth(clinician)
                        .send()
                    else {
                        // The server is down: the kill. Try again shortly.
                        std::thread::sleep(Duration::from_millis(20));
                        continue;
                    };
                    let slots: Vec<String> = r
                        .json::<Value>()
                        .ok()
                        .and_then(|b| b["entry"].as_array().cloned())
                        .unwrap_or_default()
                        .iter()
                        .filter_map(|e| e["resource"]["id"].as_str().map(str::to_string))
                        .collect();
                    if let Some(slot) = slots.get((worker * 5 + round) % slots.len().max(1)) {
                        let booked = client
                            .post(format!("{base}/fhir/Appointment"))
                            .bearer_auth(clinician)
                            .header("content-type", "application/fhir+json")
                            .body(appointment(slot, patient).to_string())
                            .send();
                        if let Ok(r) = booked {
                            if restarted.load(Ordering::Relaxed) {
                                answered_after_restart.fetch_add(1, Ordering::Relaxed);
                            }
                            if r.status() == StatusCode::CREATED
                                && let Some(id) = r
                                    .json::<Value>()
                                    .ok()
                                    .and_then(|b| b["id"].as_str().map(str::to_string))
                            {
                                acknowledged.lock().expect("lock").insert(id.clone(), None);
                                mine.push_back(id);
                            }
                        }
                    }
                    if mine.len() > 4
                        && let Some(id) = mine.pop_front()
                    {
                        acknowledged
                            .lock()
                            .expect("lock")
                            .insert(id.clone(), Some(false));
                        let cancelled = client
                            .put(format!("{base}/fhir/Appointment/{id}"))
                            .bearer_auth(clinician)
                            .header("content-type", "application/fhir+json")
                            .body(cancellation(&id, "kill test").to_string())
                            .send();
                        if cancelled.is_ok_and(|r| r.status() == StatusCode::OK) {
                            acknowledged.lock().expect("lock").insert(id, Some(true));
                        }
                    }
                }
            });
        }
        std::thread::sleep(Duration::from_millis(1500));
        s.kill_and_restart();
        restarted.store(true, Ordering::Relaxed);
        // Keep the traffic going until the restarted server has answered a
        // booking (other tests share the cores, so allow for a slow machine).
        let deadline = Instant::now() + Duration::from_secs(30);
        while answered_after_restart.load(Ordering::Relaxed) == 0 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        std::thread::sleep(Duration::from_millis(300));
        stop.store(true, Ordering::Relaxed);
    });

    assert!(
        answered_after_restart.load(Ordering::Relaxed) > 0,
        "the restarted server serves the clients again:\n{}",
        s.log()
    );
    let token = s.token("admin", ORG, None);
    assert_eq!(active_scheduling(&s, &token), BRAMBLE);
    let trial: Value = s
        .get("/admin/slots/scheduling/trial", &token)
        .json()
        .expect("json");
    assert_eq!(
        trial["trial"]["module"], MERIDIAN,
        "the canary survives too"
    );
    let acknowledged = acknowledged.into_inner().expect("lock");
    assert!(!acknowledged.is_empty());
    let clinician = s.token("clinician", ORG, None);
    for (id, cancel) in &acknowledged {
        let r = s.get(&format!("/fhir/Appointment/{id}"), &clinician);
        assert_eq!(r.status(), StatusCode::OK, "acknowledged booking {id}");
        let status = r.json::<Value>().expect("json")["status"].clone();
        match cancel {
            None => assert_eq!(status, "booked", "acknowledged booking {id}"),
            Some(true) => assert_eq!(status, "cancelled", "acknowledged cancellation {id}"),
            Some(false) => {}
        }
    }
    assert!(s.audit_verify().0);
}
