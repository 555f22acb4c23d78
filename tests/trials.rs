//! Trying a candidate before it takes over, over the real binary and its
//! API: a canary serves a share of patients, each patient always the same
//! version, and survives a restart; a shadow gets copies of live calls, its
//! writes vanish and its answers are compared; a deployment whose calls keep
//! failing is rolled back by the host on its own, and audited.

mod support;

use std::time::{Duration, Instant};

use patchbay::runtime::trial::bucket;
use patchbay::store::demo::PATIENTS;
use reqwest::StatusCode;
use serde_json::Value;
use support::server::{Server, active_scheduling, book, cli, package, with_bramble};

const ORG: &str = "Y90001";
const BRAMBLE: &str = "bramble/scheduling@2.1.0";
const MERIDIAN: &str = "meridian/scheduling@1.0.0";
/// The faulty fixture, under the name the test server's configuration gives it.
const FAULTY: &str = "testing/faulty-scheduling@0.1.0";

fn free_slots(s: &Server, token: &str, count: usize) -> Vec<String> {
    let slots: Value = s
        .get(&format!("/fhir/Slot?_count={count}"), token)
        .json()
        .expect("json");
    slots["entry"]
        .as_array()
        .expect("entries")
        .iter()
        .filter_map(|e| e["resource"]["id"].as_str().map(str::to_string))
        .collect()
}

/// The modules that handled a patient's appointment actions, per the audit.
fn modules_for(s: &Server, auditor: &str, patient: &str) -> Vec<String> {
    let trail: Value = s
        .get(
            &format!("/audit?patient={patient}&action=appointment&limit=1000"),
            auditor,
        )
        .json()
        .expect("json");
    let mut modules: Vec<String> = trail["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .filter_map(|e| e["module"].as_str().map(str::to_string))
        .collect();
    modules.sort();
    modules.dedup();
    modules
}

fn trial(s: &Server, admin: &str) -> Value {
    s.get("/admin/slots/scheduling/trial", admin)
        .json()
        .expect("json")
}

/// Packages and uploads the module that passes its readiness checks but
/// traps on some calls ([`FAULTY`]).
/// Tokens of four different clinicians of the practice.
fn several_clinicians(s: &Server) -> Vec<String> {
    (1..=4)
        .map(|n| s.token_for(&format!("clinician-{n}"), "clinician", ORG, None))
        .collect()
}

fn upload_faulty(s: &Server, admin: &str, dir: &std::path::Path) {
    let faulty = package(
        dir,
        "faulty_scheduling",
        "testing",
        "faulty-scheduling",
        "0.1.0",
        None,
    );
    let (ok, text) = cli(s, admin, &["upload", &faulty]);
    assert!(ok, "{text}");
}

#[test]
fn a_canary_is_sticky_per_patient_survives_a_restart_and_is_promoted() {
    let mut s = with_bramble("");
    let admin = s.token("admin", ORG, None);
    // A share that puts some demo patients on the canary and some not.
    let mut buckets: Vec<u32> = PATIENTS.iter().map(|p| bucket(p.nhs_number)).collect();
    buckets.sort();
    let percent = buckets[2] + 1;
    let expected = |nhs: &str| {
        if bucket(nhs) < percent {
            BRAMBLE
        } else {
            MERIDIAN
        }
    };
    assert!(
        PATIENTS.iter().any(|p| expected(p.nhs_number) == BRAMBLE)
            && PATIENTS.iter().any(|p| expected(p.nhs_number) == MERIDIAN)
    );
    let (ok, text) = cli(
        &s,
        &admin,
        &[
            "canary",
            "--function",
            "scheduling",
            "--module",
            BRAMBLE,
            "--percent",
            &percent.to_string(),
            "--reason",
            "Trying Bramble with some patients",
        ],
    );
    assert!(ok, "{text}");
    assert_eq!(
        active_scheduling(&s, &admin),
        MERIDIAN,
        "a canary is not active"
    );

    let clinician = s.token("clinician", ORG, None);
    let slots = free_slots(&s, &clinician, 60);
    let auditor = s.token("auditor", ORG, None);
    let drive = |s: &Server, clinician: &str, round: usize| {
        for (i, p) in PATIENTS.iter().enumerate() {
            let (status, body) = book(s, clinician, &slots[round * 10 + i * 2], p.nhs_number);
            assert!(
                status == StatusCode::CREATED || status == StatusCode::UNPROCESSABLE_ENTITY,
                "{status}: {body}"
            );
            if let Some(id) = body["id"].as_str() {
                let read = s.get(&format!("/fhir/Appointment/{id}"), clinician);
                assert_eq!(read.status(), StatusCode::OK);
            }
            let listed = s.get(
                &format!("/fhir/Appointment?patient={}", p.nhs_number),
                clinician,
            );
            assert_eq!(listed.status(), StatusCode::OK);
        }
    };
    drive(&s, &clinician, 0);
    drive(&s, &clinician, 1);
    for p in &PATIENTS {
        assert_eq!(
            modules_for(&s, &auditor, p.nhs_number),
            vec![expected(p.nhs_number).to_string()],
            "patient {} sees one version",
            p.nhs_number
        );
    }

    // A restart brings the canary back, with the same patients on it.
    s.kill_and_restart();
    let admin = s.token("admin", ORG, None);
    let t = trial(&s, &admin);
    assert_eq!(t["trial"]["mode"], "canary", "{t}");
    assert_eq!(t["trial"]["module"], BRAMBLE);
    assert_eq!(t["trial"]["percent"], percent);
    let clinician = s.token("clinician", ORG, None);
    drive(&s, &clinician, 2);
    for p in &PATIENTS {
        assert_eq!(
            modules_for(&s, &auditor, p.nhs_number),
            vec![expected(p.nhs_number).to_string()]
        );
    }

    // Promoted: Bramble serves everyone, and the trial is over.
    let (ok, text) = cli(
        &s,
        &admin,
        &[
            "promote",
            "--function",
            "scheduling",
            "--reason",
            "The canary went well",
        ],
    );
    assert!(ok, "{text}");
    assert_eq!(active_scheduling(&s, &admin), BRAMBLE);
    assert!(trial(&s, &admin)["trial"].is_null());
    let history: Value = s
        .get("/admin/slots/scheduling/history", &admin)
        .json()
        .expect("json");
    let last = history["history"]
        .as_array()
        .and_then(|h| h.last())
        .cloned()
        .unwrap_or_default();
    assert_eq!(last["action"], "promote", "{history}");
    assert_eq!(last["module"], BRAMBLE);
    // Nothing left to promote or abort.
    let (ok, text) = cli(
        &s,
        &admin,
        &["abort", "--function", "scheduling", "--reason", "x"],
    );
    assert!(
        !ok && text.contains("no canary or shadow running"),
        "{text}"
    );
    // A canary needs a share.
    let r = s.post(
        "/admin/slots/scheduling/canary",
        &admin,
        &serde_json::json!({"module": MERIDIAN, "reason": "x"}),
    );
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(s.audit_verify().0);
}

fn appointment_rows(s: &Server) -> i64 {
    s.connection()
        .query_one("SELECT COUNT(*) FROM appointments WHERE org = ?1", &[&ORG])
        .and_then(|r| r.get(0))
        .expect("count")
}

#[test]
fn a_shadow_compares_answers_and_its_writes_vanish() {
    let s = with_bramble("");
    let admin = s.token("admin", ORG, None);
    let (ok, text) = cli(
        &s,
        &admin,
        &[
            "shadow",
            "--function",
            "scheduling",
            "--module",
            BRAMBLE,
            "--reason",
            "Check Bramble on real traffic",
        ],
    );
    assert!(ok, "{text}");
    let clinician = s.token("clinician", ORG, None);
    let before = appointment_rows(&s);
    let slots = free_slots(&s, &clinician, 40);
    let mut booked = 0;
    for (i, p) in PATIENTS.iter().enumerate() {
        let (status, body) = book(&s, &clinician, &slots[i * 3], p.nhs_number);
        assert_eq!(
            status,
            StatusCode::CREATED,
            "the live module answers: {body}"
        );
        assert_eq!(body["id"].as_str().map(|_| ()), Some(()));
        booked += 1;
    }
    // Bramble holds back every fourth slot for urgent care; Meridian offers
    // them all: the searches differ.
    assert_eq!(
        s.get("/fhir/Slot?_count=40", &clinician).status(),
        StatusCode::OK
    );
    assert_eq!(
        appointment_rows(&s) - before,
        booked,
        "only the live module's bookings are stored"
    );

    let t = trial(&s, &admin);
    let report = &t["trial"]["report"];
    let tally = |f: &str, k: &str| report["functions"][f][k].as_u64().unwrap_or(0);
    assert_eq!(
        tally("book", "agreed") + tally("book", "differed"),
        booked as u64,
        "{t}"
    );
    assert!(tally("find-free-slots", "agreed") + tally("find-free-slots", "differed") >= 2);
    assert!(tally("find-free-slots", "differed") >= 1, "{t}");
    let difference = report["differences"]
        .as_array()
        .expect("differences")
        .iter()
        .find(|d| d["function"] == "find-free-slots")
        .cloned()
        .expect("a differing search is kept as an example");
    assert_ne!(difference["candidate"], difference["live"], "{difference}");
    assert!(
        difference["live"]
            .as_str()
            .is_some_and(|l| l.starts_with("[slot ")),
        "{difference}"
    );
    // Abort: the final report comes back and the shadow stops.
    let (ok, text) = cli(
        &s,
        &admin,
        &[
            "abort",
            "--function",
            "scheduling",
            "--reason",
            "Seen enough",
        ],
    );
    assert!(ok && text.contains("differences"), "{text}");
    assert!(trial(&s, &admin)["trial"].is_null());
    assert_eq!(active_scheduling(&s, &admin), MERIDIAN);
}

#[test]
fn a_failing_deployment_is_rolled_back_automatically_and_audited() {
    let s = with_bramble("\n[rollback]\nfailure_rate = 0.5\nwindow_secs = 60\nmin_calls = 4\n");
    let admin = s.token("admin", ORG, None);
    let dir = s.data_dir.parent().expect("dir").to_path_buf();
    // The same bytes under a second name are refused, naming the first.
    let renamed = package(
        &dir,
        "faulty_scheduling",
        "testing",
        "renamed",
        "0.1.0",
        None,
    );
    let (ok, text) = cli(&s, &admin, &["upload", &renamed]);
    assert!(
        !ok && text.contains("already registered as testing/faulty-scheduling@0.1.0"),
        "{text}"
    );
    // A module that passes its readiness checks but traps on some calls.
    upload_faulty(&s, &admin, &dir);
    let (ok, text) = cli(
        &s,
        &admin,
        &[
            "deploy",
            "--function",
            "scheduling",
            "--module",
            FAULTY,
            "--reason",
            "New supplier",
        ],
    );
    assert!(ok, "{text}");
    assert_eq!(active_scheduling(&s, &admin), FAULTY);
    // Several clinicians see it fail: the host acts on failures many
    // callers see, never on one caller's.
    let clinicians = several_clinicians(&s);
    let clinician = &clinicians[0];
    // Its readiness calls count as healthy ones; failures then pile up
    // until they pass half of the window's callers.
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut failures = 0;
    while active_scheduling(&s, &admin) != MERIDIAN && Instant::now() < deadline {
        let r = s.get(
            "/fhir/Slot?schedule=trap",
            &clinicians[failures % clinicians.len()],
        );
        if r.status().is_server_error() {
            failures += 1;
        }
        assert!(failures <= 40, "no rollback after {failures} failures");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(active_scheduling(&s, &admin), MERIDIAN, "{}", s.log());
    // Serving again.
    assert_eq!(
        s.get("/fhir/Slot?_count=1", clinician).status(),
        StatusCode::OK
    );
    let auditor = s.token("auditor", ORG, None);
    let trail: Value = s
        .get("/audit?action=slot.rollback.automatic", &auditor)
        .json()
        .expect("json");
    let entry = trail["entries"]
        .as_array()
        .and_then(|e| e.first())
        .cloned()
        .expect("the automatic rollback is audited");
    assert_eq!(entry["outcome"], "success");
    assert_eq!(entry["module"], FAULTY);
    assert!(
        entry["detail"]
            .as_str()
            .is_some_and(|d| d.contains("saw it trap, time out or run out of memory")),
        "{entry}"
    );
    let history: Value = s
        .get("/admin/slots/scheduling/history", &admin)
        .json()
        .expect("json");
    let last = history["history"]
        .as_array()
        .and_then(|h| h.last())
        .cloned()
        .unwrap_or_default();
    assert_eq!(last["action"], "automatic-rollback");
    assert_eq!(last["deployed_by"], "patchbay");
    assert!(s.audit_verify().0);
}

#[test]
fn a_failing_canary_is_ended_automatically_and_the_active_module_keeps_serving() {
    let s = with_bramble("\n[rollback]\nfailure_rate = 0.5\nwindow_secs = 60\nmin_calls = 4\n");
    let admin = s.token("admin", ORG, None);
    let dir = s.data_dir.parent().expect("dir").to_path_buf();
    upload_faulty(&s, &admin, &dir);
    // Every caller is in a 100% canary.
    let (ok, text) = cli(
        &s,
        &admin,
        &[
            "canary",
            "--function",
            "scheduling",
            "--module",
            FAULTY,
            "--percent",
            "100",
            "--reason",
            "Try the new supplier",
        ],
    );
    assert!(ok, "{text}");
    let clinicians = several_clinicians(&s);
    let clinician = &clinicians[0];
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut n = 0;
    while !trial(&s, &admin)["trial"].is_null() && Instant::now() < deadline {
        let r = s.get(
            "/fhir/Slot?schedule=trap",
            &clinicians[n % clinicians.len()],
        );
        n += 1;
        assert!(r.status().is_server_error() || r.status().is_success());
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(trial(&s, &admin)["trial"].is_null(), "{}", s.log());
    assert_eq!(
        active_scheduling(&s, &admin),
        MERIDIAN,
        "the active module stays"
    );
    assert_eq!(
        s.get("/fhir/Slot?schedule=trap", clinician).status(),
        StatusCode::OK,
        "Meridian serves every call again"
    );
    let auditor = s.token("auditor", ORG, None);
    let trail: Value = s
        .get("/audit?action=slot.trial.abort.automatic", &auditor)
        .json()
        .expect("json");
    let entry = trail["entries"]
        .as_array()
        .and_then(|e| e.first())
        .cloned()
        .expect("the automatic abort is audited");
    assert_eq!(entry["outcome"], "success");
    assert_eq!(entry["module"], FAULTY);
}
