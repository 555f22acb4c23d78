//! The security review's findings, each proven fixed over the real binary
//! and real HTTP. Every test here fails on the code before its fix. (The
//! findings about keys, private files and token lifetimes are proven in
//! `tests/private_data.rs` and in unit tests beside the code.)

mod support;

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use patchbay::store::database::Engine;
use patchbay::store::demo::{OTHER_PATIENT, PATIENTS};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use support::server::{
    Server, active_scheduling, appointment, book, cancellation, cli, medication_request, package,
    with_bramble,
};

const ORG: &str = "Y90001";
const OTHER_ORG: &str = "Y90002";
const MERIDIAN: &str = "meridian/scheduling@1.0.0";
const FAULTY: &str = "testing/faulty-scheduling@0.1.0";

fn body(r: reqwest::blocking::Response) -> (StatusCode, Value) {
    let status = r.status();
    (status, r.json().unwrap_or(Value::Null))
}

fn issue_text(v: &Value) -> String {
    v["issue"][0]["diagnostics"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// A free slot of the caller's practice.
fn free_slot(s: &Server, token: &str) -> String {
    let (status, bundle) = body(s.get("/fhir/Slot?status=free&_count=5", token));
    assert_eq!(status, StatusCode::OK, "{bundle}");
    bundle["entry"][0]["resource"]["id"]
        .as_str()
        .expect("a free slot")
        .to_string()
}

/// The audit entries an auditor of `org` sees for an action.
fn audited(s: &Server, org: &str, action: &str) -> Vec<Value> {
    let auditor = s.token("auditor", org, None);
    let (status, trail) = body(s.get(&format!("/audit?action={action}&limit=1000"), &auditor));
    assert_eq!(status, StatusCode::OK, "{trail}");
    trail["entries"].as_array().cloned().unwrap_or_default()
}

fn deploy_faulty(s: &Server, admin: &str) {
    let dir = s.data_dir.parent().expect("dir").to_path_buf();
    let faulty = package(
        &dir,
        "faulty_scheduling",
        "testing",
        "faulty-scheduling",
        "0.1.0",
        None,
    );
    let (ok, text) = cli(s, admin, &["upload", &faulty]);
    assert!(ok, "{text}");
    let (ok, text) = cli(
        s,
        admin,
        &[
            "deploy",
            "--function",
            "scheduling",
            "--module",
            FAULTY,
            "--reason",
            "Try a new supplier",
        ],
    );
    assert!(ok, "{text}");
    assert_eq!(active_scheduling(s, admin), FAULTY);
}

/// Finding 1: a patient made the practice's scheduling module roll back
/// with a dozen failing calls of their own. Now one caller's failures,
/// however many, change nothing; failures that several callers see still
/// quarantine the module.
#[test]
fn one_caller_cannot_make_the_host_change_a_module() {
    let s = with_bramble(
        "\n[rollback]\nfailure_rate = 0.5\nwindow_secs = 60\nmin_calls = 4\nmin_callers = 3\n",
    );
    let admin = s.token("admin", ORG, None);
    deploy_faulty(&s, &admin);
    let patient = s.token("patient", ORG, Some(PATIENTS[0].nhs_number));
    for _ in 0..30 {
        let (status, outcome) = body(s.get("/fhir/Slot?schedule=trap", &patient));
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{outcome}");
    }
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(
        active_scheduling(&s, &admin),
        FAULTY,
        "one caller's failures must not change the practice's module:\n{}",
        s.log()
    );
    assert!(audited(&s, ORG, "slot.rollback.automatic").is_empty());
    // The same failures seen by several clinicians: quarantined.
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut n = 0;
    while active_scheduling(&s, &admin) != MERIDIAN && Instant::now() < deadline {
        let clinician = s.token_for(&format!("clinician-{}", n % 4), "clinician", ORG, None);
        let _ = s.get("/fhir/Slot?schedule=trap", &clinician);
        n += 1;
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(active_scheduling(&s, &admin), MERIDIAN, "{}", s.log());
    let entries = audited(&s, ORG, "slot.rollback.automatic");
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert!(
        entries[0]["detail"]
            .as_str()
            .is_some_and(|d| d.contains("callers")),
        "{entries:?}"
    );
    // The alert is counted for the practice.
    let metrics = s.get("/metrics", &admin).text().expect("metrics");
    assert!(
        metrics.contains("patchbay_alerts_total{org=\"Y90001\",function=\"scheduling\""),
        "{metrics}"
    );
}

/// Finding 2: free text had no limit and reads no row limit, so a patient
/// could grow their record until no module could read it.
#[test]
fn a_patient_cannot_make_their_record_unreadable() {
    let s = Server::start_custom(
        "",
        r#"
[organisations.Y90001]
name = "Riverside Surgery (demo)"
modules = { scheduling = "meridian/scheduling@1.0.0", prescribing = "northwind/prescribing@1.0.0" }
limits = { memory_bytes = 16777216, deadline = 2000 }
"#,
    );
    let nhs = PATIENTS[0].nhs_number;
    let patient = s.token("patient", ORG, Some(nhs));
    let receptionist = s.token("receptionist", ORG, None);
    // One booking of their own, then a long cancellation reason: refused.
    let slot = free_slot(&s, &patient);
    let (status, booked) = book(&s, &patient, &slot, nhs);
    assert_eq!(status, StatusCode::CREATED, "{booked}");
    let id = booked["id"].as_str().expect("id").to_string();
    let (status, outcome) = body(s.put(
        &format!("/fhir/Appointment/{id}"),
        &patient,
        &cancellation(&id, &"x".repeat(5_000)),
    ));
    assert_eq!(status, StatusCode::BAD_REQUEST, "{outcome}");
    assert!(issue_text(&outcome).contains("at most 1000"), "{outcome}");
    // A record grown to tens of megabytes (as a flood of book-and-cancel
    // with long texts made it before the limits).
    let db = s.connection();
    let comment = "y".repeat(1_000);
    db.begin(true).expect("begin");
    for n in 0..20_000 {
        db.execute(
            "INSERT INTO appointments (org, id, slot_id, patient, start_ms, end_ms, status, description, \
             comment, cancellation_reason, created_ms, version, updated_ms) \
             VALUES ('Y90001', ?1, ?2, ?3, ?4, ?4, 'cancelled', 'old', ?5, 'flood', 0, 2, 0)",
            &[&format!("flood-{n}"), &format!("gone-{n}"), &nhs, &(n as i64), &comment],
        )
        .expect("insert");
    }
    db.commit().expect("commit");
    // Still readable by the patient and by staff, with the live booking.
    for token in [&patient, &receptionist] {
        let (status, bundle) = body(s.get(&format!("/fhir/Appointment?patient={nhs}"), token));
        assert_eq!(status, StatusCode::OK, "{bundle}");
        let entries = bundle["entry"].as_array().cloned().unwrap_or_default();
        assert!(entries.len() <= 500, "{}", entries.len());
        assert!(
            entries.iter().any(|e| e["resource"]["id"] == id.as_str()),
            "the live booking is among them"
        );
    }
    // A search window that would lift months of slots is refused.
    let (status, outcome) = body(s.get(
        "/fhir/Slot?start=ge2026-01-01&end=le2027-12-31",
        &receptionist,
    ));
    assert_eq!(status, StatusCode::BAD_REQUEST, "{outcome}");
    assert!(
        issue_text(&outcome).contains("at most 31 days"),
        "{outcome}"
    );
}

/// Finding 5: a clinical write committed before its audit entry, so with
/// the audit failing the booking stayed, unaudited. Now the entry commits
/// with the change or neither does.
#[test]
fn a_write_that_cannot_be_audited_is_not_made() {
    let s = Server::start();
    let receptionist = s.token("receptionist", ORG, None);
    let slot = free_slot(&s, &receptionist);
    let db = s.connection();
    db.batch(match db.engine() {
        Engine::Sqlite => {
            "CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_trail \
             BEGIN SELECT RAISE(ABORT, 'the audit trail cannot be written'); END;"
        }
        Engine::Postgres => {
            "CREATE FUNCTION refuse_audit() RETURNS trigger LANGUAGE plpgsql AS \
             $$ BEGIN RAISE EXCEPTION 'the audit trail cannot be written'; END $$; \
             CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_trail \
             FOR EACH ROW EXECUTE FUNCTION refuse_audit();"
        }
    })
    .expect("trigger");
    let (status, outcome) = book(&s, &receptionist, &slot, PATIENTS[1].nhs_number);
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR, "{outcome}");
    let booked: i64 = db
        .query_one(
            "SELECT COUNT(*) FROM appointments WHERE org = 'Y90001' AND slot_id = ?1",
            &[&slot],
        )
        .and_then(|r| r.get(0))
        .expect("count");
    assert_eq!(booked, 0, "nothing was booked without its audit entry");
    db.batch(match db.engine() {
        Engine::Sqlite => "DROP TRIGGER refuse_audit",
        Engine::Postgres => "DROP TRIGGER refuse_audit ON audit_trail",
    })
    .expect("drop");
    let (status, booked) = book(&s, &receptionist, &slot, PATIENTS[1].nhs_number);
    assert_eq!(status, StatusCode::CREATED, "{booked}");
    let id = booked["id"].as_str().expect("id");
    // One entry for the booking, written with it.
    let entries: Vec<Value> = audited(&s, ORG, "appointment.book")
        .into_iter()
        .filter(|e| e["outcome"] == "success")
        .collect();
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert_eq!(entries[0]["resource"], format!("Appointment/{id}"));
    assert_eq!(entries[0]["patient"], PATIENTS[1].nhs_number);
    assert!(s.audit_verify().0);
}

/// Finding 6: the chain had no key and no anchor, so deleting its last
/// entries went unnoticed.
#[test]
fn removing_the_last_audit_entries_is_detected() {
    let s = Server::start();
    let clinician = s.token("clinician", ORG, None);
    for _ in 0..12 {
        assert_eq!(
            s.get("/fhir/Slot?_count=1", &clinician).status(),
            StatusCode::OK
        );
    }
    std::thread::sleep(Duration::from_millis(300));
    let (ok, text) = s.audit_verify();
    assert!(ok, "{text}");
    let db = s.connection();
    db.execute(
        "DELETE FROM audit_trail WHERE org = 'Y90001' AND seq > 8",
        &[],
    )
    .expect("truncate");
    let (ok, text) = s.audit_verify();
    assert!(!ok, "{text}");
    assert!(text.contains("entries were removed"), "{text}");
    // And emptying it.
    db.execute("DELETE FROM audit_trail", &[]).expect("empty");
    let (ok, text) = s.audit_verify();
    assert!(!ok, "{text}");
}

/// Finding 7: a CDS Hooks call about three patients audited only the
/// last, and refused tokens were never audited. Finding 15: draft orders
/// per request were uncapped.
#[test]
fn every_cds_call_and_refused_token_is_accounted_for() {
    let s = Server::start();
    let clinician = s.token("clinician", ORG, None);
    let request = |patients: &[&str]| {
        json!({"hook": "order-select", "hookInstance": "x", "context": {"draftOrders": {
            "resourceType": "Bundle",
            "entry": patients.iter().map(|p| json!({"resource": medication_request(p, patchbay::store::demo::SIMVASTATIN, 20.0, None)})).collect::<Vec<_>>()
        }}})
    };
    let (status, outcome) = body(s.post(
        "/cds-services/medication-order-select",
        &clinician,
        &request(&[
            PATIENTS[0].nhs_number,
            PATIENTS[1].nhs_number,
            PATIENTS[2].nhs_number,
        ]),
    ));
    assert_eq!(status, StatusCode::BAD_REQUEST, "{outcome}");
    assert!(issue_text(&outcome).contains("one patient"), "{outcome}");
    let twenty_one = vec![PATIENTS[0].nhs_number; 21];
    let (status, outcome) = body(s.post(
        "/cds-services/medication-order-select",
        &clinician,
        &request(&twenty_one),
    ));
    assert_eq!(status, StatusCode::BAD_REQUEST, "{outcome}");
    assert!(issue_text(&outcome).contains("at most 20"), "{outcome}");
    let (status, cards) = body(s.post(
        "/cds-services/medication-order-select",
        &clinician,
        &request(&[PATIENTS[0].nhs_number, PATIENTS[0].nhs_number]),
    ));
    assert_eq!(status, StatusCode::OK, "{cards}");
    let checks = audited(&s, ORG, "cds.check");
    let ok: Vec<_> = checks
        .iter()
        .filter(|e| e["outcome"] == "success")
        .collect();
    assert_eq!(ok.len(), 1, "{checks:?}");
    assert_eq!(ok[0]["patient"], PATIENTS[0].nhs_number);
    // A token with a broken signature that claims the practice.
    let mut forged = clinician.clone();
    forged.truncate(forged.len() - 4);
    forged.push_str("AAAA");
    let (status, _) = body(s.get("/fhir/Slot", &forged));
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = body(
        s.request(Method::GET, "/fhir/Slot", None)
            .send()
            .expect("GET"),
    );
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let refused = audited(&s, ORG, "auth.refused");
    assert_eq!(
        refused.len(),
        1,
        "the forged token, in its practice's chain: {refused:?}"
    );
    assert_eq!(refused[0]["resource"], "GET /fhir/Slot");
    assert!(
        refused[0]["outcome"]
            .as_str()
            .is_some_and(|o| o.contains("signature")),
        "{refused:?}"
    );
    assert!(s.audit_verify().0);
}

/// Findings 8 and 13: made-up HTTP methods grew `/metrics` without bound,
/// and one organisation saw another's activity in metrics, in the module
/// list and in the audit trail's numbering.
#[test]
fn metrics_are_bounded_and_each_organisation_sees_only_its_own() {
    let s = Server::start();
    let clinician = s.token("clinician", ORG, None);
    for n in 0..200 {
        let method = Method::from_bytes(format!("BREW{n}").as_bytes()).expect("method");
        let _ = s.request(method, "/fhir/Slot", Some(&clinician)).send();
    }
    for _ in 0..5 {
        assert_eq!(
            s.get("/fhir/Slot?_count=1", &clinician).status(),
            StatusCode::OK
        );
    }
    let other = s.token("clinician", OTHER_ORG, None);
    for _ in 0..3 {
        assert_eq!(
            s.get("/fhir/Slot?_count=1", &other).status(),
            StatusCode::OK
        );
    }
    let mine = s
        .get("/metrics", &s.token("admin", ORG, None))
        .text()
        .expect("metrics");
    assert!(!mine.contains("BREW"), "{mine}");
    assert!(mine.contains("org=\"Y90001\""), "{mine}");
    assert!(!mine.contains("Y90002"), "{mine}");
    assert!(!mine.contains("bramble"), "Hillside's module: {mine}");
    // Hillside's trail is numbered on its own: its first entries are 1, 2, 3.
    let theirs = audited(&s, OTHER_ORG, "slot.search");
    let seqs: Vec<i64> = theirs.iter().filter_map(|e| e["seq"].as_i64()).collect();
    assert_eq!(seqs, vec![1, 2, 3], "{theirs:?}");
}

/// Finding 11: the registry was shared, and a name could be uploaded again
/// with other code, so one organisation's deploy by name could pick up
/// another's upload.
#[test]
fn a_module_name_is_one_component_and_uploads_stay_with_their_organisation() {
    let s = Server::start();
    let dir = s.data_dir.parent().expect("dir").to_path_buf();
    let ours = s.token("admin", ORG, None);
    let theirs = s.token("admin", OTHER_ORG, None);
    let acme = package(
        &dir,
        "panicky_scheduling",
        "acme",
        "scheduling",
        "1.0.0",
        None,
    );
    let (ok, text) = cli(&s, &ours, &["upload", &acme]);
    assert!(ok, "{text}");
    // Hillside neither sees nor deploys Riverside's upload.
    let (_, listed) = body(s.get("/admin/modules", &theirs));
    assert!(!listed.to_string().contains("acme/scheduling"), "{listed}");
    assert!(
        !listed.to_string().contains(FAULTY),
        "the test practice's module is its own: {listed}"
    );
    let (status, outcome) = body(s.post(
        "/admin/slots/scheduling/deploy",
        &theirs,
        &json!({"module": "acme/scheduling@1.0.0", "reason": "Take theirs"}),
    ));
    assert_eq!(status, StatusCode::NOT_FOUND, "{outcome}");
    // Other code under the same name is refused, whoever sends it.
    let dir2 = dir.join("other");
    std::fs::create_dir_all(&dir2).expect("dir");
    let impostor = package(&dir2, "double_booker", "acme", "scheduling", "1.0.0", None);
    for admin in [&theirs, &ours] {
        let (ok, text) = cli(&s, admin, &["upload", &impostor]);
        assert!(!ok, "{text}");
        assert!(
            text.contains("already registered with other contents"),
            "{text}"
        );
    }
    // Riverside's own modules still include its upload.
    let (_, listed) = body(s.get("/admin/modules", &ours));
    assert!(
        listed.to_string().contains("acme/scheduling@1.0.0"),
        "{listed}"
    );
}

/// Finding 12: the `Host` header was copied into response links.
#[test]
fn links_never_come_from_the_host_header() {
    let s = Server::start();
    let receptionist = s.token("receptionist", ORG, None);
    let slot = free_slot(&s, &receptionist);
    let r = s
        .request(Method::POST, "/fhir/Appointment", Some(&receptionist))
        .header("content-type", "application/fhir+json")
        .header("host", "evil.example")
        .body(appointment(&slot, PATIENTS[2].nhs_number).to_string())
        .send()
        .expect("POST");
    assert_eq!(r.status(), StatusCode::CREATED);
    let location = r
        .headers()
        .get("location")
        .and_then(|l| l.to_str().ok())
        .unwrap_or_default()
        .to_string();
    assert!(
        location.starts_with(&format!("{}/fhir/Appointment/", s.base)),
        "{location}"
    );
    assert!(!location.contains("evil"), "{location}");
}

/// Finding 16: oversized bodies got 400, and a patient could learn whether
/// another patient's appointment id exists.
#[test]
fn a_patient_learns_nothing_of_other_patients_ids_and_huge_bodies_get_413() {
    let s = Server::start();
    let receptionist = s.token("receptionist", ORG, None);
    let slot = free_slot(&s, &receptionist);
    let (status, booked) = book(&s, &receptionist, &slot, PATIENTS[3].nhs_number);
    assert_eq!(status, StatusCode::CREATED, "{booked}");
    let theirs = booked["id"].as_str().expect("id").to_string();
    let nosy = s.token("patient", ORG, Some(PATIENTS[4].nhs_number));
    let missing = "0b7c4a8e-0000-4000-8000-000000000000";
    let (status_theirs, outcome_theirs) =
        body(s.get(&format!("/fhir/Appointment/{theirs}"), &nosy));
    let (status_missing, outcome_missing) =
        body(s.get(&format!("/fhir/Appointment/{missing}"), &nosy));
    assert_eq!(status_theirs, StatusCode::NOT_FOUND, "{outcome_theirs}");
    assert_eq!(status_missing, StatusCode::NOT_FOUND, "{outcome_missing}");
    assert_eq!(
        outcome_theirs.to_string().replace(&theirs, "ID"),
        outcome_missing.to_string().replace(missing, "ID"),
        "the same answer for someone else's and for none"
    );
    // Changing it is answered the same way, and changes nothing.
    let (status, _) = body(s.put(
        &format!("/fhir/Appointment/{theirs}"),
        &nosy,
        &cancellation(&theirs, "not mine"),
    ));
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, still) = body(s.get(&format!("/fhir/Appointment/{theirs}"), &receptionist));
    assert_eq!(still["status"], "booked");
    // A body past the limit: 413.
    let mut huge = appointment(&slot, OTHER_PATIENT.nhs_number);
    huge["comment"] = json!("z".repeat(1024 * 1024 + 64 * 1024));
    let (status, outcome) = body(s.post("/fhir/Appointment", &receptionist, &huge));
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{outcome}");
}

/// Finding 9: half-sent requests held connections for good and
/// connections were uncapped.
#[test]
fn slow_and_surplus_connections_are_closed() {
    let s = Server::start_custom(
        "",
        &format!(
            "[http]\nmax_connections = 6\nheader_read_timeout_ms = 1500\n\n{}",
            support::server::STANDARD_ORGANISATIONS
        ),
    );
    let address = s.base.trim_start_matches("http://").to_string();
    let closed_within = |stream: &mut TcpStream, limit: Duration| {
        stream.set_read_timeout(Some(limit)).expect("read timeout");
        let mut buf = [0u8; 256];
        match stream.read(&mut buf) {
            Ok(0) => true,
            Err(e) => e.kind() == std::io::ErrorKind::ConnectionReset,
            Ok(_) => false,
        }
    };
    // Let the test client's own pooled connection go idle and close.
    std::thread::sleep(Duration::from_millis(1_800));
    let mut held: Vec<TcpStream> = (0..6)
        .map(|_| {
            let mut stream = TcpStream::connect(&address).expect("connect");
            stream
                .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
                .expect("half a request");
            stream
        })
        .collect();
    std::thread::sleep(Duration::from_millis(200));
    // One more is closed at once, unserved.
    let started = Instant::now();
    let mut surplus = TcpStream::connect(&address).expect("connect");
    let _ = surplus.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
    assert!(closed_within(&mut surplus, Duration::from_millis(1_000)));
    assert!(started.elapsed() < Duration::from_millis(1_000));
    // The half-sent ones are closed when their headers' time is up.
    for stream in &mut held {
        assert!(closed_within(stream, Duration::from_secs(5)));
    }
    // And the server serves again.
    let (status, _) = body(
        s.request(Method::GET, "/healthz", None)
            .send()
            .expect("GET"),
    );
    assert_eq!(status, StatusCode::OK);
}

/// Limits at the door: one organisation may run only so many module calls
/// at once (past it: 503 with Retry-After, counted), while another keeps
/// being served; `_count` is capped.
#[test]
fn one_organisation_cannot_take_every_call() {
    let s = Server::start_configured(
        "max_calls_per_organisation = 2",
        "",
        support::server::STANDARD_ORGANISATIONS,
    );
    let faulty = s.token("clinician", "Y90003", None);
    let clinician = s.token("clinician", ORG, None);
    std::thread::scope(|scope| {
        // Eight calls at once that each take their module's whole 200 ms.
        let flood: Vec<_> = (0..8)
            .map(|_| {
                let faulty = &faulty;
                let s = &s;
                scope.spawn(move || {
                    let r = s.get("/fhir/Slot?schedule=loop", faulty);
                    let retry = r.headers().get("retry-after").is_some();
                    let (status, outcome) = body(r);
                    (status, outcome, retry)
                })
            })
            .collect();
        // Riverside is served all the while.
        for _ in 0..5 {
            assert_eq!(
                s.get("/fhir/Slot?_count=1", &clinician).status(),
                StatusCode::OK
            );
        }
        let answers: Vec<_> = flood
            .into_iter()
            .map(|t| t.join().expect("thread"))
            .collect();
        let busy: Vec<_> = answers
            .iter()
            .filter(|(_, o, _)| issue_text(o).contains("already has 2 module calls running"))
            .collect();
        assert!(!busy.is_empty(), "{answers:?}");
        assert!(
            busy.iter()
                .all(|(status, _, retry)| *status == StatusCode::SERVICE_UNAVAILABLE && *retry)
        );
        assert!(
            answers.len() - busy.len() <= 8 && answers.len() - busy.len() >= 2,
            "{answers:?}"
        );
    });
    let metrics = s
        .get("/metrics", &s.token("admin", "Y90003", None))
        .text()
        .expect("metrics");
    assert!(
        metrics.contains(
            "patchbay_limit_refusals_total{org=\"Y90003\",limit=\"calls-per-organisation\"}"
        ),
        "{metrics}"
    );
    let (status, outcome) = body(s.get("/fhir/Slot?_count=5000", &clinician));
    assert_eq!(status, StatusCode::BAD_REQUEST, "{outcome}");
    assert!(issue_text(&outcome).contains("from 0 to 100"), "{outcome}");
}

/// Found by fuzzing the API from its contract (`scripts/api-fuzz`): a role a
/// route does not allow must be refused before anything in its request is
/// read, so that how the request was wrong tells it nothing. The audit
/// trail read its query before the role check (a plain-text 400 to anyone),
/// and the CDS Hooks route looked the service up first (404 to anyone, not
/// audited).
#[test]
fn a_role_is_refused_before_its_request_is_read() {
    let s = Server::start();
    let clinician = s.token("clinician", ORG, None);
    let receptionist = s.token("receptionist", ORG, None);
    let auditor = s.token("auditor", ORG, None);

    // The audit trail: a clinician is refused whatever the parameters say.
    let r = s.get("/audit?after=yesterday", &clinician);
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    // An auditor with a bad parameter is told why, in an OperationOutcome.
    let r = s.get("/audit?after=yesterday", &auditor);
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        r.headers()["content-type"].to_str().unwrap_or_default(),
        "application/fhir+json"
    );
    let (_, outcome) = body(r);
    assert!(issue_text(&outcome).contains("after"), "{outcome}");

    // CDS Hooks: a receptionist is refused whether the service exists or
    // not, and the refusal is audited.
    let order = json!({"context": {"draftOrders": {"resourceType": "Bundle", "entry": []}}});
    for service in ["no-such-service", "medication-order-sign"] {
        let (status, outcome) =
            body(s.post(&format!("/cds-services/{service}"), &receptionist, &order));
        assert_eq!(status, StatusCode::FORBIDDEN, "{service}: {outcome}");
    }
    let refused = audited(&s, ORG, "cds.check");
    assert_eq!(
        refused
            .iter()
            .filter(|e| e["role"] == "receptionist"
                && e["outcome"].as_str().unwrap_or_default().starts_with("403"))
            .count(),
        2,
        "{refused:?}"
    );
    // A clinician still learns that a service does not exist.
    let (status, _) = body(s.post("/cds-services/no-such-service", &clinician, &order));
    assert_eq!(status, StatusCode::NOT_FOUND);
}
