//! Crash safety under load: `patchbay serve` is killed with SIGKILL at
//! random moments, 30 times, while clients book, cancel and prescribe and an
//! admin deploys, rolls back, and runs canaries and shadows; it is restarted
//! each time. Afterwards:
//! - every acknowledged write (a 201 or 200 the client received) is there,
//!   exactly once;
//! - nothing unacknowledged is half-written: every appointment's slot agrees
//!   with it, no slot is booked twice, and every record has its audit entry
//!   and every audited write its record;
//! - the audit chain verifies (`patchbay audit verify`);
//! - each slot serves its last recorded deployment.
//!
//! The kill moments come from a seed printed at the start; set
//! `PATCHBAY_CRASH_SEED` to replay a run.
//!
//! And every answer a client received before a kill (a booking, a refusal,
//! a search) has its audit entry after it.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::StatusCode;
use reqwest::blocking::Client;
use serde_json::{Value, json};
use support::server::{appointment, cancellation, medication_request, with_bramble};

const KILLS: usize = 30;
const ORG: &str = "Y90001";
const PATIENTS: [&str; 3] = ["9990000018", "9990000026", "9990000034"];
const PARACETAMOL: &str = "387517004";

/// A small deterministic generator (xorshift), so a run can be replayed.
struct Dice(u64);

impl Dice {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// What clients were told: the writes the server acknowledged.
#[derive(Default)]
struct Acknowledged {
    /// Appointment id → (slot id, patient).
    booked: BTreeMap<String, (String, String)>,
    /// Appointments whose cancellation was acknowledged.
    cancelled: BTreeSet<String>,
    /// MedicationRequest id → patient.
    prescribed: BTreeMap<String, String>,
    /// Lifecycle actions acknowledged (deploy, rollback, canary, ...).
    lifecycle: usize,
    /// Requests sent that got no answer (the server died under them).
    unanswered: usize,
}

/// A client that outlives the server's restarts: the port stays the same.
struct Caller {
    client: Client,
    base: String,
    token: String,
}

impl Caller {
    fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> Option<(StatusCode, Value)> {
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token);
        if let Some(body) = body {
            request = request
                .header("content-type", "application/fhir+json")
                .body(body.to_string());
        }
        let response = request.send().ok()?;
        let status = response.status();
        // A body cut off by the kill is no acknowledgement either.
        let text = response.text().ok()?;
        Some((status, serde_json::from_str(&text).unwrap_or(Value::Null)))
    }
}

fn client() -> Client {
    Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .expect("a client")
}

/// The ids of a searchset Bundle's resources.
fn resource_ids(bundle: &Value) -> Vec<String> {
    bundle["entry"]
        .as_array()
        .map(|e| {
            e.iter()
                .filter_map(|x| x["resource"]["id"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// Books free slots and cancels about half of what it booked.
fn booker(caller: Caller, seed: u64, stop: Arc<AtomicBool>, ack: Arc<Mutex<Acknowledged>>) {
    let mut dice = Dice(seed);
    while !stop.load(Ordering::Relaxed) {
        let Some((StatusCode::OK, slots)) = caller.send(
            reqwest::Method::GET,
            "/fhir/Slot?status=free&_count=50",
            None,
        ) else {
            std::thread::sleep(Duration::from_millis(30));
            continue;
        };
        let free = resource_ids(&slots);
        if free.is_empty() {
            continue;
        }
        let slot = free[dice.below(free.len() as u64) as usize].clone();
        let patient = PATIENTS[dice.below(PATIENTS.len() as u64) as usize];
        match caller.send(
            reqwest::Method::POST,
            "/fhir/Appointment",
            Some(&appointment(&slot, patient)),
        ) {
            Some((StatusCode::CREATED, body)) => {
                let id = body["id"].as_str().expect("a booked appointment has an id");
                ack.lock()
                    .expect("lock")
                    .booked
                    .insert(id.to_string(), (slot.clone(), patient.to_string()));
                if dice.below(2) == 0 {
                    let path = format!("/fhir/Appointment/{id}");
                    match caller.send(
                        reqwest::Method::PUT,
                        &path,
                        Some(&cancellation(id, "crash loop")),
                    ) {
                        Some((StatusCode::OK, _)) => {
                            ack.lock().expect("lock").cancelled.insert(id.to_string());
                        }
                        Some(_) => {}
                        None => ack.lock().expect("lock").unanswered += 1,
                    }
                }
            }
            Some(_) => {}
            None => ack.lock().expect("lock").unanswered += 1,
        }
    }
}

/// Prescribes paracetamol for the patients in turn.
fn prescriber(caller: Caller, stop: Arc<AtomicBool>, ack: Arc<Mutex<Acknowledged>>) {
    let mut turn = 0;
    while !stop.load(Ordering::Relaxed) {
        // A steady pace, so each patient's record stays within what one
        // search answers (500 rows).
        std::thread::sleep(Duration::from_millis(20));
        let patient = PATIENTS[turn % PATIENTS.len()];
        turn += 1;
        match caller.send(
            reqwest::Method::POST,
            "/fhir/MedicationRequest",
            Some(&medication_request(patient, PARACETAMOL, 500.0, None)),
        ) {
            Some((StatusCode::CREATED, body)) => {
                let id = body["id"]
                    .as_str()
                    .expect("an issued prescription has an id");
                ack.lock()
                    .expect("lock")
                    .prescribed
                    .insert(id.to_string(), patient.to_string());
            }
            Some(_) => {}
            None => {
                ack.lock().expect("lock").unanswered += 1;
                std::thread::sleep(Duration::from_millis(30));
            }
        }
    }
}

/// Cycles the scheduling slot through every lifecycle action.
fn admin(caller: Caller, stop: Arc<AtomicBool>, ack: Arc<Mutex<Acknowledged>>) {
    let bramble = "bramble/scheduling@2.1.0";
    let meridian = "meridian/scheduling@1.0.0";
    let actions: [(&str, Value); 7] = [
        ("deploy", json!({"module": bramble, "reason": "crash loop"})),
        ("rollback", json!({"reason": "crash loop"})),
        (
            "canary",
            json!({"module": bramble, "percent": 50, "reason": "crash loop"}),
        ),
        ("abort", json!({"reason": "crash loop"})),
        (
            "shadow",
            json!({"module": bramble, "percent": 100, "reason": "crash loop"}),
        ),
        ("promote", json!({"reason": "crash loop"})),
        (
            "deploy",
            json!({"module": meridian, "reason": "crash loop"}),
        ),
    ];
    let mut next = 0;
    while !stop.load(Ordering::Relaxed) {
        let (action, body) = &actions[next % actions.len()];
        next += 1;
        let path = format!("/admin/slots/scheduling/{action}");
        match caller.send(reqwest::Method::POST, &path, Some(body)) {
            Some((status, _)) if status.is_success() => ack.lock().expect("lock").lifecycle += 1,
            Some(_) => {}
            None => std::thread::sleep(Duration::from_millis(30)),
        }
        std::thread::sleep(Duration::from_millis(40));
    }
}

#[test]
fn thirty_kills_under_mixed_traffic_lose_no_acknowledged_write_and_half_write_nothing() {
    let seed = std::env::var("PATCHBAY_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(1, |d| d.as_nanos() as u64)
                | 1
        });
    println!("crash loop seed: {seed} (PATCHBAY_CRASH_SEED={seed} replays it)");
    let mut dice = Dice(seed);
    let mut server = with_bramble("");
    let token = |role: &str| server.token(role, ORG, None);
    let caller = |role: &str| Caller {
        client: client(),
        base: server.base.clone(),
        token: token(role),
    };
    // The demo's seeded records were never written through the API, so
    // have no audit entry of their own.
    let seeded: BTreeSet<String> = served_prescriptions(&server, &token("clinician"))
        .into_iter()
        .map(|(id, _)| format!("MedicationRequest/{id}"))
        .collect();
    let stop = Arc::new(AtomicBool::new(false));
    let ack = Arc::new(Mutex::new(Acknowledged::default()));
    let mut workers = Vec::new();
    for n in 0..2 {
        let (c, s, a) = (caller("receptionist"), stop.clone(), ack.clone());
        let worker_seed = seed.wrapping_add(n + 1) | 1;
        workers.push(std::thread::spawn(move || booker(c, worker_seed, s, a)));
    }
    {
        let (c, s, a) = (caller("clinician"), stop.clone(), ack.clone());
        workers.push(std::thread::spawn(move || prescriber(c, s, a)));
    }
    {
        let (c, s, a) = (caller("admin"), stop.clone(), ack.clone());
        workers.push(std::thread::spawn(move || admin(c, s, a)));
    }
    for _ in 0..KILLS {
        // Some kills come mid-request, some after a deploy's readiness
        // checks had time to finish.
        std::thread::sleep(Duration::from_millis(150 + dice.below(2000)));
        server.kill_and_restart();
    }
    // Some traffic after the last restart, then stop it.
    std::thread::sleep(Duration::from_millis(500));
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        w.join().expect("a client thread finished");
    }
    // One more kill with nothing in flight: what was acknowledged must
    // survive a restart with no clean shutdown at all.
    server.kill_and_restart();

    let ack = ack.lock().expect("lock");
    println!(
        "acknowledged: {} bookings, {} cancellations, {} prescriptions, {} lifecycle actions; {} requests unanswered",
        ack.booked.len(),
        ack.cancelled.len(),
        ack.prescribed.len(),
        ack.lifecycle,
        ack.unanswered
    );
    assert!(
        ack.booked.len() >= 10 && ack.prescribed.len() >= 10 && ack.lifecycle >= 10,
        "too little traffic got through to prove anything:\n{}",
        server.log()
    );
    let staff = server.token("receptionist", ORG, None);
    let clinician = server.token("clinician", ORG, None);

    // Every appointment the store holds, per patient: each at most once.
    let mut appointments: BTreeMap<String, Value> = BTreeMap::new();
    for patient in PATIENTS {
        let bundle: Value = server
            .get(&format!("/fhir/Appointment?patient={patient}"), &staff)
            .json()
            .expect("the patient's appointments");
        for entry in bundle["entry"].as_array().into_iter().flatten() {
            let resource = entry["resource"].clone();
            let id = resource["id"].as_str().expect("an id").to_string();
            assert!(
                appointments.insert(id.clone(), resource).is_none(),
                "Appointment/{id} is served twice"
            );
        }
    }
    // Every acknowledged booking is there, in its slot, for its patient, and
    // cancelled if its cancellation was acknowledged.
    for (id, (slot, patient)) in &ack.booked {
        let found = appointments
            .get(id)
            .unwrap_or_else(|| panic!("acknowledged Appointment/{id} is lost"));
        let reference = format!("Slot/{slot}");
        assert!(
            found["slot"]
                .as_array()
                .is_some_and(|s| s.iter().any(|r| r["reference"] == reference.as_str())),
            "Appointment/{id} is not in {reference}: {found}"
        );
        assert!(found.to_string().contains(patient.as_str()), "{found}");
        if ack.cancelled.contains(id) {
            assert_eq!(found["status"], "cancelled", "Appointment/{id}: {found}");
        }
    }
    // No slot is booked twice, and no booked slot is offered as free.
    let mut booked_slots = BTreeSet::new();
    for (id, a) in &appointments {
        if a["status"] == "cancelled" {
            continue;
        }
        for r in a["slot"].as_array().into_iter().flatten() {
            let slot = r["reference"].as_str().unwrap_or_default().to_string();
            assert!(
                booked_slots.insert(slot.clone()),
                "{slot} is booked twice (Appointment/{id} is one)"
            );
        }
    }
    let mut free = BTreeSet::new();
    let days = 14;
    for day in 0..days {
        let start = day_from_today(day);
        let end = day_from_today(day + 1);
        let bundle: Value = server
            .get(
                &format!("/fhir/Slot?status=free&start=ge{start}&end=le{end}&_count=100"),
                &staff,
            )
            .json()
            .expect("free slots");
        for entry in bundle["entry"].as_array().into_iter().flatten() {
            if let Some(id) = entry["resource"]["id"].as_str() {
                free.insert(format!("Slot/{id}"));
            }
        }
    }
    let both: Vec<_> = booked_slots.intersection(&free).collect();
    assert!(
        both.is_empty(),
        "slots booked by an appointment yet offered as free: {both:?}"
    );

    // Every acknowledged prescription is there, once.
    let mut prescriptions: BTreeMap<String, String> = BTreeMap::new();
    for (id, patient) in served_prescriptions(&server, &clinician) {
        assert!(
            prescriptions
                .insert(id.clone(), patient.to_string())
                .is_none(),
            "MedicationRequest/{id} is served twice"
        );
    }
    for (id, patient) in &ack.prescribed {
        // Read one by one: a search answers at most 500 of a patient's.
        let found: Value = server
            .get(&format!("/fhir/MedicationRequest/{id}"), &clinician)
            .json()
            .expect("a prescription");
        assert_eq!(
            found["id"],
            id.as_str(),
            "acknowledged MedicationRequest/{id} is lost: {found}"
        );
        assert!(found.to_string().contains(patient.as_str()), "{found}");
    }

    // The audit trail and the records agree: a record for every audited
    // write, an audited write for every record.
    let (intact, report) = server.audit_verify();
    assert!(intact, "the audit chain does not verify:\n{report}");
    let auditor = server.token("auditor", ORG, None);
    let mut audited = BTreeSet::new();
    let mut after = 0;
    loop {
        let page: Value = server
            .get(&format!("/audit?after={after}&limit=1000"), &auditor)
            .json()
            .expect("the audit trail");
        let entries = page["entries"].as_array().cloned().unwrap_or_default();
        let Some(last) = entries.last() else { break };
        after = last["seq"].as_i64().expect("seq");
        // Reading the trail is audited too: a short page is the end.
        let end = entries.len() < 1000;
        for e in &entries {
            let action = e["action"].as_str().unwrap_or_default();
            if e["outcome"] == "success"
                && matches!(action, "appointment.book" | "medication-request.issue")
                && let Some(resource) = e["resource"].as_str()
            {
                audited.insert(resource.to_string());
            }
        }
        if end {
            break;
        }
    }
    let stored: BTreeSet<String> = appointments
        .keys()
        .map(|id| format!("Appointment/{id}"))
        .chain(
            prescriptions
                .keys()
                .map(|id| format!("MedicationRequest/{id}")),
        )
        .filter(|r| !seeded.contains(r))
        .collect();
    let unaudited: Vec<_> = stored.difference(&audited).collect();
    assert!(
        unaudited.is_empty(),
        "records with no audit entry: {unaudited:?}"
    );
    let phantom: Vec<_> = audited.difference(&stored).collect();
    assert!(
        phantom.is_empty(),
        "audited writes with no record: {phantom:?}"
    );

    // Each slot serves its last recorded deployment.
    let admin = server.token("admin", ORG, None);
    let slots: Value = server.get("/admin/slots", &admin).json().expect("slots");
    for slot in slots["slots"].as_array().expect("slots") {
        let function = slot["function"].as_str().expect("function");
        let history: Value = server
            .get(&format!("/admin/slots/{function}/history"), &admin)
            .json()
            .expect("history");
        let serving = history["history"]
            .as_array()
            .and_then(|h| h.last())
            .unwrap_or_else(|| panic!("{function} has no recorded deployment: {history}"));
        assert_eq!(
            slot["module"], serving["module"],
            "{function} serves {} but its last recorded deployment is {serving}",
            slot["module"]
        );
    }
}

/// The date `days` from today, as FHIR's `YYYY-MM-DD`.
fn day_from_today(days: i64) -> String {
    let ms = patchbay::runtime::call_state::now_ms() + days * 86_400_000;
    patchbay::api::fhir::instant(ms)[..10].to_string()
}

/// Every prescription the patients' searches serve, as (id, patient),
/// duplicates included.
fn served_prescriptions(
    server: &support::server::Server,
    clinician: &str,
) -> Vec<(String, &'static str)> {
    let mut served = Vec::new();
    for patient in PATIENTS {
        let bundle: Value = server
            .get(
                &format!("/fhir/MedicationRequest?patient={patient}"),
                clinician,
            )
            .json()
            .expect("the patient's prescriptions");
        for entry in bundle["entry"].as_array().into_iter().flatten() {
            let id = entry["resource"]["id"].as_str().expect("an id");
            served.push((id.to_string(), patient));
        }
    }
    served
}

/// An answer's audit key: the user, the action and the outcome's class
/// (`success`, or the HTTP status of a refusal).
type AuditKey = (String, &'static str, String);

/// #13: every answer a client received before a SIGKILL had its audit entry
/// committed first, whether the entry was written with the booking (201) or
/// apart from it by group commit (a refused booking's 409, a search's 200):
/// after the restart, the trail holds at least as many entries of each kind
/// as were answered.
#[test]
fn every_answer_received_before_a_kill_has_its_audit_entry() {
    let mut server = support::server::Server::start();
    let stop = Arc::new(AtomicBool::new(false));
    let answered: Arc<Mutex<BTreeMap<AuditKey, usize>>> = Arc::default();
    let workers: Vec<_> = (0..4)
        .map(|n| {
            let user = format!("load-{n}");
            let caller = Caller {
                client: client(),
                base: server.base.clone(),
                token: server.token_for(&user, "receptionist", ORG, None),
            };
            let (stop, answered) = (stop.clone(), answered.clone());
            std::thread::spawn(move || {
                let mut dice = Dice(0x9E37_79B9_7F4A_7C15 ^ (n + 1));
                let count = |action: &'static str, status: StatusCode| {
                    let class = match status {
                        StatusCode::OK | StatusCode::CREATED => "success".to_string(),
                        other => other.as_u16().to_string(),
                    };
                    *answered
                        .lock()
                        .expect("lock")
                        .entry((user.clone(), action, class))
                        .or_default() += 1;
                };
                while !stop.load(Ordering::Relaxed) {
                    let Some((status, slots)) = caller.send(
                        reqwest::Method::GET,
                        "/fhir/Slot?status=free&_count=20",
                        None,
                    ) else {
                        continue;
                    };
                    count("slot.search", status);
                    let free = resource_ids(&slots);
                    if free.is_empty() {
                        continue;
                    }
                    // Several workers pick from the same few slots: many
                    // bookings are refused (409), audited apart from a write.
                    let slot = &free[dice.below(free.len().min(4) as u64) as usize];
                    let patient = PATIENTS[dice.below(PATIENTS.len() as u64) as usize];
                    if let Some((status, _)) = caller.send(
                        reqwest::Method::POST,
                        "/fhir/Appointment",
                        Some(&appointment(slot, patient)),
                    ) {
                        count("appointment.book", status);
                    }
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(2_500));
    server.kill();
    stop.store(true, Ordering::Relaxed);
    for worker in workers {
        worker.join().expect("worker");
    }
    server.restart();

    let answered = answered.lock().expect("lock").clone();
    let total: usize = answered.values().sum();
    assert!(total >= 50, "too little traffic to judge: {answered:?}");
    assert!(
        answered
            .keys()
            .any(|(_, action, class)| *action == "appointment.book" && class == "409"),
        "no refused booking among the answers: {answered:?}"
    );
    let auditor = server.token("auditor", ORG, None);
    let mut found: BTreeMap<AuditKey, usize> = BTreeMap::new();
    let mut after = 0;
    loop {
        let page: Value = server
            .get(&format!("/audit?after={after}&limit=1000"), &auditor)
            .json()
            .expect("the audit trail");
        let entries = page["entries"].as_array().cloned().unwrap_or_default();
        for e in &entries {
            let user = e["user"].as_str().unwrap_or_default().to_string();
            let action = match e["action"].as_str() {
                Some("slot.search") => "slot.search",
                Some("appointment.book") => "appointment.book",
                _ => continue,
            };
            let outcome = e["outcome"].as_str().unwrap_or_default();
            let class = if outcome == "success" {
                "success".to_string()
            } else {
                outcome.chars().take(3).collect()
            };
            *found.entry((user, action, class)).or_default() += 1;
        }
        // Reading the trail is audited too: a short page is the end.
        match entries.last() {
            Some(last) if entries.len() == 1000 => after = last["seq"].as_i64().expect("seq"),
            _ => break,
        }
    }
    for (key, count) in &answered {
        let recorded = found.get(key).copied().unwrap_or(0);
        assert!(
            recorded >= *count,
            "{count} answers of {key:?} were received, but the trail has {recorded} entries of them"
        );
    }
    let (intact, report) = server.audit_verify();
    assert!(intact, "the audit chain does not verify:\n{report}");
}
