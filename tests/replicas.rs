//! Several hosts on one PostgreSQL store serve the same organisations: a
//! slot change made through any replica reaches every replica (NOTIFY), a
//! replica that missed it catches up, no slot is booked twice whichever
//! replicas the requests reach, and the audit trail stays one intact chain.
//!
//! PostgreSQL only, whatever `PATCHBAY_TEST_ENGINE` says: replicas share a
//! database server, and SQLite is one host's file.

mod support;

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};
use support::database::TestDatabase;
use support::server::{Server, book, cancellation, cli, package};

const ORG: &str = "Y90001";
const MERIDIAN: &str = "meridian/scheduling@1.0.0";
const BRAMBLE: &str = "bramble/scheduling@2.1.0";
const FAULTY: &str = "testing/faulty-scheduling@0.1.0";

fn change(s: &Server, admin: &str, action: &str, module: Option<&str>, reason: &str) -> Value {
    let mut body = json!({"reason": reason});
    if let Some(module) = module {
        body["module"] = json!(module);
    }
    let r = s.post(&format!("/admin/slots/scheduling/{action}"), admin, &body);
    let status = r.status();
    let answer: Value = r.json().unwrap_or(Value::Null);
    assert_eq!(status, StatusCode::OK, "{action}: {answer}");
    answer
}

fn serving(s: &Server, admin: &str) -> String {
    let (status, slots): (StatusCode, Value) = {
        let r = s.get("/admin/slots", admin);
        (r.status(), r.json().unwrap_or(Value::Null))
    };
    assert_eq!(status, StatusCode::OK, "{slots}");
    slots["slots"]
        .as_array()
        .and_then(|l| l.iter().find(|s| s["function"] == "scheduling"))
        .and_then(|s| s["module"].as_str())
        .unwrap_or_default()
        .to_string()
}

/// Waits until `s` serves `module` in the scheduling slot; how long it took.
fn until_serving(s: &Server, admin: &str, module: &str, within: Duration) -> Duration {
    let started = Instant::now();
    loop {
        if serving(s, admin) == module {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < within,
            "{} still serves {} after {within:?}, not {module}:\n{}",
            s.base,
            serving(s, admin),
            s.log()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn free_slots(s: &Server, token: &str, count: usize) -> Vec<String> {
    let r = s.get(&format!("/fhir/Slot?status=free&_count={count}"), token);
    let bundle: Value = r.json().expect("a bundle");
    bundle["entry"]
        .as_array()
        .map(|e| {
            e.iter()
                .filter_map(|e| e["resource"]["id"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn replicas_share_every_slot_change_booking_and_the_audit_chain() {
    let database = TestDatabase::create();
    let a = Server::start_replica(&database, None, "");
    let mut b = Server::start_replica(&database, Some(&a), "");
    let c = Server::start_replica(&database, Some(&a), "");
    let admin = a.token("admin", ORG, None);
    assert_eq!(
        serving(&b, &admin),
        MERIDIAN,
        "a token of one replica works on the other"
    );

    // A deploy through A: its answer names both replicas, serving it.
    let deployed = change(
        &a,
        &admin,
        "deploy",
        Some(BRAMBLE),
        "Practice chose Bramble",
    );
    let replicas = deployed["replicas"].as_array().cloned().unwrap_or_default();
    assert_eq!(replicas.len(), 3, "{deployed}");
    assert!(
        replicas
            .iter()
            .all(|r| r["current"] == true && r["module"] == BRAMBLE),
        "{deployed}"
    );
    assert_eq!(serving(&b, &admin), BRAMBLE);
    assert_eq!(serving(&c, &admin), BRAMBLE);

    // A rollback through B reaches A and C: its answer comes once every
    // replica serves it; how long that took is printed (bench/replicas
    // measures it).
    let started = Instant::now();
    let rolled = change(&b, &admin, "rollback", None, "Back to Meridian");
    let answered = started.elapsed();
    assert!(
        rolled["replicas"]
            .as_array()
            .is_some_and(|r| r.len() == 3 && r.iter().all(|r| r["current"] == true)),
        "{rolled}"
    );
    assert_eq!(serving(&a, &admin), MERIDIAN);
    assert_eq!(serving(&c, &admin), MERIDIAN);
    println!("rollback through B: answered with A, B and C serving it after {answered:?}");

    // A canary started through A runs on B too.
    let canary = a.post(
        "/admin/slots/scheduling/canary",
        &admin,
        &json!({"module": BRAMBLE, "percent": 50, "reason": "Half the patients"}),
    );
    assert_eq!(canary.status(), StatusCode::OK);
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let trial: Value = b
            .get("/admin/slots/scheduling/trial", &admin)
            .json()
            .expect("trial");
        if trial["trial"]["module"] == BRAMBLE {
            break;
        }
        assert!(Instant::now() < deadline, "B has no canary: {trial}");
        std::thread::sleep(Duration::from_millis(20));
    }
    let aborted = a.post(
        "/admin/slots/scheduling/abort",
        &admin,
        &json!({"reason": "Enough"}),
    );
    assert_eq!(aborted.status(), StatusCode::OK);

    // A shadow started through A copies the calls of both replicas, and its
    // report (read through either) counts them all.
    let shadow = a.post(
        "/admin/slots/scheduling/shadow",
        &admin,
        &json!({"module": BRAMBLE, "percent": 100, "reason": "Compare on every call"}),
    );
    assert_eq!(shadow.status(), StatusCode::OK);
    let clinician = a.token("clinician", ORG, None);
    let deadline = Instant::now() + Duration::from_secs(5);
    while b
        .get("/admin/slots/scheduling/trial", &admin)
        .json::<Value>()
        .expect("trial")["trial"]["mode"]
        != "shadow"
    {
        assert!(Instant::now() < deadline, "B has no shadow");
        std::thread::sleep(Duration::from_millis(20));
    }
    for s in [&a, &b, &b] {
        for _ in 0..4 {
            assert_eq!(
                s.get("/fhir/Slot?_count=5", &clinician).status(),
                StatusCode::OK
            );
        }
    }
    let compared = |s: &Server| -> u64 {
        let trial: Value = s
            .get("/admin/slots/scheduling/trial", &admin)
            .json()
            .expect("trial");
        trial["trial"]["report"]["functions"]
            .as_object()
            .map(|f| {
                f.values()
                    .map(|t| {
                        t["agreed"].as_u64().unwrap_or(0) + t["differed"].as_u64().unwrap_or(0)
                    })
                    .sum()
            })
            .unwrap_or(0)
    };
    // Each replica records its report at every heartbeat (2 s).
    let deadline = Instant::now() + Duration::from_secs(10);
    while compared(&a) < 12 || compared(&b) < 12 {
        assert!(
            Instant::now() < deadline,
            "the report does not count every replica's calls: A {}, B {}",
            compared(&a),
            compared(&b)
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let ended: Value = a
        .post(
            "/admin/slots/scheduling/abort",
            &admin,
            &json!({"reason": "Seen enough"}),
        )
        .json()
        .expect("abort");
    let final_count: u64 = ended["report"]["functions"]
        .as_object()
        .map(|f| {
            f.values()
                .map(|t| t["agreed"].as_u64().unwrap_or(0) + t["differed"].as_u64().unwrap_or(0))
                .sum()
        })
        .unwrap_or(0);
    assert!(final_count >= 12, "{ended}");

    // No slot booked twice, whichever replicas two requests reach: the
    // same slot sent to two replicas at once, 50 times.
    let receptionist = a.token("receptionist", ORG, None);
    let patients = ["9990000018", "9990000026"];
    let slots = free_slots(&a, &receptionist, 100);
    assert!(slots.len() >= 50, "{slots:?}");
    let pairs = [(&a, &b), (&b, &c), (&c, &a)];
    for (n, slot) in slots.iter().take(50).enumerate() {
        let (one, two) = pairs[n % pairs.len()];
        let (first, second) = std::thread::scope(|scope| {
            let first = scope.spawn(|| book(one, &receptionist, slot, patients[0]).0);
            let second = scope.spawn(|| book(two, &receptionist, slot, patients[1]).0);
            (first.join().expect("first"), second.join().expect("second"))
        });
        // One wins; the other is refused, as taken (409) or, when the
        // module sees the slot busy already, as not bookable (422).
        let won = [first, second]
            .iter()
            .filter(|c| **c == StatusCode::CREATED)
            .count();
        let refused = [first, second].iter().all(|c| {
            [
                StatusCode::CREATED,
                StatusCode::CONFLICT,
                StatusCode::UNPROCESSABLE_ENTITY,
            ]
            .contains(c)
        });
        assert!(won == 1 && refused, "slot {slot}: {first}, {second}");
    }
    let doubled: i64 = a
        .connection()
        .query_one(
            "SELECT COUNT(*) FROM (SELECT slot_id FROM appointments WHERE org = ?1 \
             AND status NOT IN ('cancelled', 'entered-in-error') GROUP BY slot_id HAVING COUNT(*) > 1) d",
            &[&ORG],
        )
        .and_then(|r| r.get(0))
        .expect("count");
    assert_eq!(doubled, 0, "slots booked twice");

    // A replica that was down when a change was made catches up before it
    // serves.
    b.kill();
    change(&a, &admin, "deploy", Some(BRAMBLE), "Bramble again");
    b.restart();
    assert_eq!(serving(&b, &admin), BRAMBLE, "{}", b.log());

    // A replica whose listening connection was cut catches up when it
    // listens again.
    let cut = b
        .connection()
        .query(
            "SELECT pg_terminate_backend(pid)::text FROM pg_stat_activity \
             WHERE application_name = 'patchbay-replica-listener' AND datname = current_database()",
            &[],
        )
        .expect("cut the listeners");
    assert!(!cut.is_empty(), "no listener to cut");
    change(&a, &admin, "rollback", None, "Meridian once more");
    until_serving(&b, &admin, MERIDIAN, Duration::from_secs(15));

    // One audit chain, in order, whichever replica wrote.
    let (ok, text) = a.audit_verify();
    assert!(ok, "{text}");
    let out = std::process::Command::new(support::server::binary())
        .args(["audit", "verify", "--database", &database.url, "--data-dir"])
        .arg(&b.data_dir)
        .output()
        .expect("patchbay audit verify");
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{said}");
    assert!(said.contains("intact"), "{said}");
}

#[test]
fn a_module_failing_across_replicas_is_rolled_back_once() {
    // Three failing callers are needed; no replica sees more than two.
    let rollback =
        "[rollback]\nfailure_rate = 0.5\nwindow_secs = 60\nmin_calls = 4\nmin_callers = 3\n";
    let database = TestDatabase::create();
    let a = Server::start_replica(&database, None, rollback);
    let b = Server::start_replica(&database, Some(&a), rollback);
    let admin = a.token("admin", ORG, None);
    // A module that passes its readiness checks but traps on some calls.
    let dir = a.data_dir.parent().expect("dir").to_path_buf();
    let faulty = package(
        &dir,
        "faulty_scheduling",
        "testing",
        "faulty-scheduling",
        "0.1.0",
        None,
    );
    let (ok, text) = cli(&a, &admin, &["upload", &faulty]);
    assert!(ok, "{text}");
    change(&a, &admin, "deploy", Some(FAULTY), "New supplier");
    until_serving(&b, &admin, FAULTY, Duration::from_secs(5));

    let clinician = |n: u32| a.token_for(&format!("clinician-{n}"), "clinician", ORG, None);
    let (one, two, three) = (clinician(1), clinician(2), clinician(3));
    for (s, token) in [(&a, &one), (&a, &two), (&b, &three)] {
        for _ in 0..2 {
            let r = s.get("/fhir/Slot?schedule=trap", token);
            assert!(r.status().is_server_error(), "{}", r.status());
        }
    }
    // Neither replica alone has seen three failing callers; together they
    // have, and at their next heartbeat the module goes, on both.
    until_serving(&a, &admin, MERIDIAN, Duration::from_secs(15));
    until_serving(&b, &admin, MERIDIAN, Duration::from_secs(5));
    let history: Value = a
        .get("/admin/slots/scheduling/history", &admin)
        .json()
        .expect("history");
    let automatic = history["history"]
        .as_array()
        .map(|h| {
            h.iter()
                .filter(|d| d["action"] == "automatic-rollback")
                .count()
        })
        .unwrap_or(0);
    assert_eq!(automatic, 1, "one rollback between the replicas: {history}");
    assert!(a.audit_verify().0);
}

/// What the traffic saw: bookings acknowledged (id, whether its cancellation
/// was acknowledged too) and requests that failed (5xx, connection errors).
#[derive(Default)]
struct Seen {
    booked: Vec<(String, bool)>,
    failures: Vec<String>,
}

/// One worker's traffic until `stop`: search, book one of its own slots,
/// cancel it, round-robin across the replicas that are `up`.
fn traffic(
    replicas: &[&Server],
    up: &[AtomicBool],
    token: &str,
    slots: &[String],
    patient: &str,
    stop: &AtomicBool,
    seen: &Mutex<Seen>,
) {
    let mut n = 0usize;
    let ok = |status: StatusCode| {
        status.is_success()
            || status == StatusCode::CONFLICT
            || status == StatusCode::UNPROCESSABLE_ENTITY
    };
    while !stop.load(Ordering::Relaxed) {
        n += 1;
        let i = n % replicas.len();
        if !up[i].load(Ordering::Relaxed) {
            continue;
        }
        let s = replicas[i];
        let fail = |what: String| {
            // A request in flight when its replica was killed is not the
            // others' failure.
            if up[i].load(Ordering::Relaxed) {
                seen.lock().expect("seen").failures.push(what);
            }
        };
        match s
            .client()
            .get(format!("{}/fhir/Slot?_count=5", s.base))
            .bearer_auth(token)
            .send()
        {
            Ok(r) if ok(r.status()) => {}
            Ok(r) => fail(format!("search on {}: {}", s.base, r.status())),
            Err(e) => fail(format!("search on {}: {e}", s.base)),
        }
        let slot = &slots[n % slots.len()];
        let booked = s
            .client()
            .post(format!("{}/fhir/Appointment", s.base))
            .bearer_auth(token)
            .json(&support::server::appointment(slot, patient))
            .send();
        let id = match booked {
            Ok(r) if r.status() == StatusCode::CREATED => {
                let body: Value = r.json().unwrap_or(Value::Null);
                body["id"].as_str().map(str::to_string)
            }
            Ok(r) if ok(r.status()) => None,
            Ok(r) => {
                fail(format!("book on {}: {}", s.base, r.status()));
                None
            }
            Err(e) => {
                fail(format!("book on {}: {e}", s.base));
                None
            }
        };
        let Some(id) = id else { continue };
        seen.lock().expect("seen").booked.push((id.clone(), false));
        let cancelled = s
            .client()
            .put(format!("{}/fhir/Appointment/{id}", s.base))
            .bearer_auth(token)
            .json(&cancellation(&id, "Traffic"))
            .send();
        match cancelled {
            Ok(r) if r.status().is_success() => {
                let mut seen = seen.lock().expect("seen");
                if let Some(entry) = seen.booked.iter_mut().find(|(b, _)| *b == id) {
                    entry.1 = true;
                }
            }
            Ok(r) if ok(r.status()) => {}
            Ok(r) => fail(format!("cancel on {}: {}", s.base, r.status())),
            Err(e) => fail(format!("cancel on {}: {e}", s.base)),
        }
    }
}

#[test]
fn traffic_across_replicas_survives_fifty_swaps_and_a_killed_replica() {
    let database = TestDatabase::create();
    let a = Server::start_replica(&database, None, "");
    let b = Server::start_replica(&database, Some(&a), "");
    let mut c = Server::start_replica(&database, Some(&a), "");
    let admin = a.token("admin", ORG, None);
    let receptionist = a.token("receptionist", ORG, None);
    let slots = free_slots(&a, &receptionist, 100);
    assert!(slots.len() >= 60, "{slots:?}");
    let patients = ["9990000018", "9990000026", "9990000034"];
    let up = [
        AtomicBool::new(true),
        AtomicBool::new(true),
        AtomicBool::new(true),
    ];
    let seen = Mutex::new(Seen::default());
    let all = [&a, &b, &c];

    // Round-robin traffic while 50 swaps go through A, B and C in turn.
    let stop = AtomicBool::new(false);
    std::thread::scope(|scope| {
        for (w, patient) in patients.iter().enumerate() {
            let mine: Vec<String> = slots.iter().skip(w * 20).take(20).cloned().collect();
            let (replicas, up, token, stop, seen) = (&all[..], &up, &receptionist, &stop, &seen);
            scope.spawn(move || traffic(replicas, up, token, &mine, patient, stop, seen));
        }
        for n in 0..50 {
            let through = all[n % 3];
            let module = if n % 2 == 0 { BRAMBLE } else { MERIDIAN };
            change(
                through,
                &admin,
                "deploy",
                Some(module),
                &format!("swap {n}"),
            );
        }
        stop.store(true, Ordering::Relaxed);
    });
    {
        let seen = seen.lock().expect("seen");
        assert!(
            seen.failures.is_empty(),
            "failed during the swaps: {:?}",
            seen.failures
        );
        assert!(!seen.booked.is_empty(), "no booking went through");
    }
    for s in [&a, &b, &c] {
        until_serving(s, &admin, MERIDIAN, Duration::from_secs(5));
    }

    // Booking traffic; C is killed with SIGKILL half-way; A and B keep
    // serving.
    let stop = AtomicBool::new(false);
    std::thread::scope(|scope| {
        for (w, patient) in patients.iter().enumerate() {
            let mine: Vec<String> = slots.iter().skip(w * 20).take(20).cloned().collect();
            let (replicas, up, token, stop, seen) = (&all[..], &up, &receptionist, &stop, &seen);
            scope.spawn(move || traffic(replicas, up, token, &mine, patient, stop, seen));
        }
        std::thread::sleep(Duration::from_secs(2));
        up[2].store(false, Ordering::Relaxed);
        let killed = std::process::Command::new("kill")
            .args(["-KILL", &c.pid().to_string()])
            .status()
            .expect("kill");
        assert!(killed.success());
        std::thread::sleep(Duration::from_secs(2));
        stop.store(true, Ordering::Relaxed);
    });
    c.kill(); // reaps the killed process
    // A change made while C was down.
    change(&a, &admin, "deploy", Some(BRAMBLE), "While C was down");
    c.restart();
    assert_eq!(
        serving(&c, &admin),
        BRAMBLE,
        "the restarted replica serves the current deployment"
    );

    let seen = seen.into_inner().expect("seen");
    assert!(
        seen.failures.is_empty(),
        "A and B failed: {:?}",
        seen.failures
    );
    let conn = a.connection();
    for (id, cancelled) in &seen.booked {
        let statuses: Vec<String> = conn
            .query(
                "SELECT status FROM appointments WHERE org = ?1 AND id = ?2",
                &[&ORG, id],
            )
            .and_then(|rows| rows.iter().map(|r| r.get(0)).collect())
            .expect("query");
        assert_eq!(statuses.len(), 1, "appointment {id} stored once");
        if *cancelled {
            assert_eq!(statuses[0], "cancelled", "appointment {id}");
        }
    }
    let (ok, text) = a.audit_verify();
    assert!(ok, "{text}");
}
