//! The deployment lifecycle over the real binary and its API: a supplier's
//! signed package is added and deployed after its readiness checks; a
//! candidate that fails conformance stays out, with the report; a slot rolls
//! back; its history says who did what and why; and after kill -9 the server
//! comes back with the same active modules and every acknowledged booking.

mod support;

use patchbay::lifecycle::package::SupplierKey;
use patchbay::store::demo::PATIENTS;
use reqwest::StatusCode;
use serde_json::Value;
use support::server::{Server, active_scheduling, book, cli, package};

const ORG: &str = "Y90001";

#[test]
fn deploy_refuse_rollback_and_survive_kill_9() {
    let key = SupplierKey::generate();
    let mut s = Server::start_with(&format!(
        "suppliers = {{ bramble = [\"{}\"] }}",
        key.public_key()
    ));
    let dir = s.data_dir.parent().expect("dir").to_path_buf();
    let admin = s.token("admin", ORG, None);
    let clinician = s.token("clinician", ORG, None);
    assert_eq!(active_scheduling(&s, &admin), "meridian/scheduling@1.0.0");

    // Book under Meridian.
    let slots: Value = s
        .get("/fhir/Slot?_count=40", &clinician)
        .json()
        .expect("json");
    let slot_ids: Vec<String> = slots["entry"]
        .as_array()
        .expect("entries")
        .iter()
        .filter_map(|e| e["resource"]["id"].as_str().map(str::to_string))
        .filter(|id| !id.ends_with("45"))
        .collect();
    let (status, first) = book(&s, &clinician, &slot_ids[10], PATIENTS[0].nhs_number);
    assert_eq!(status, StatusCode::CREATED, "{first}");

    // Bramble's signed package: added, then deployed after its checks.
    let bramble = package(
        &dir,
        "bramble_scheduling",
        "bramble",
        "scheduling",
        "2.1.0",
        Some(&key),
    );
    let (ok, text) = cli(&s, &admin, &["upload", &bramble]);
    assert!(ok, "{text}");
    assert!(text.contains("bramble/scheduling@2.1.0"), "{text}");
    let (ok, text) = cli(
        &s,
        &admin,
        &[
            "deploy",
            "--function",
            "scheduling",
            "--module",
            "bramble/scheduling@2.1.0",
            "--reason",
            "Practice chose Bramble",
        ],
    );
    assert!(ok, "{text}");
    assert_eq!(active_scheduling(&s, &admin), "bramble/scheduling@2.1.0");
    // The appointment made under Meridian is there under Bramble.
    let id = first["id"].as_str().expect("id");
    assert_eq!(
        s.get(&format!("/fhir/Appointment/{id}"), &clinician)
            .status(),
        StatusCode::OK
    );

    // A candidate that fails conformance stays out, with the report.
    let panicky = package(
        &dir,
        "panicky_scheduling",
        "testing",
        "panicky",
        "0.1.0",
        None,
    );
    let (ok, text) = cli(&s, &admin, &["upload", &panicky]);
    assert!(
        ok,
        "unsigned packages are accepted in this development-mode server: {text}"
    );
    let (ok, text) = cli(
        &s,
        &admin,
        &[
            "deploy",
            "--function",
            "scheduling",
            "--module",
            "testing/panicky@0.1.0",
            "--reason",
            "try it",
        ],
    );
    assert!(!ok, "{text}");
    assert!(
        text.contains("is not ready") && text.contains("FAIL scheduling.book.optional-fields"),
        "{text}"
    );
    assert_eq!(active_scheduling(&s, &admin), "bramble/scheduling@2.1.0");
    // Unknown modules and functions are refused plainly.
    let (ok, text) = cli(
        &s,
        &admin,
        &[
            "deploy",
            "--function",
            "scheduling",
            "--module",
            "nobody/nothing@1.0.0",
            "--reason",
            "x",
        ],
    );
    assert!(
        !ok && text.contains("no module 'nobody/nothing@1.0.0'"),
        "{text}"
    );
    // Only admins deploy.
    let (ok, text) = cli(
        &s,
        &clinician,
        &[
            "deploy",
            "--function",
            "scheduling",
            "--module",
            "bramble/scheduling@2.1.0",
            "--reason",
            "x",
        ],
    );
    assert!(!ok && text.contains("needs the role admin"), "{text}");

    // Roll back to Meridian, then forward to Bramble again.
    let (ok, text) = cli(
        &s,
        &admin,
        &[
            "rollback",
            "--function",
            "scheduling",
            "--reason",
            "Staff training first",
        ],
    );
    assert!(ok, "{text}");
    assert_eq!(active_scheduling(&s, &admin), "meridian/scheduling@1.0.0");
    let (ok, _) = cli(
        &s,
        &admin,
        &[
            "rollback",
            "--function",
            "scheduling",
            "--reason",
            "Training done",
        ],
    );
    assert!(ok);
    assert_eq!(active_scheduling(&s, &admin), "bramble/scheduling@2.1.0");
    let history: Value = s
        .get("/admin/slots/scheduling/history", &admin)
        .json()
        .expect("json");
    let actions: Vec<(String, String)> = history["history"]
        .as_array()
        .expect("history")
        .iter()
        .map(|d| {
            (
                d["action"].as_str().unwrap_or("").to_string(),
                d["module"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    assert_eq!(
        actions,
        vec![
            ("start".to_string(), "meridian/scheduling@1.0.0".to_string()),
            ("deploy".to_string(), "bramble/scheduling@2.1.0".to_string()),
            (
                "rollback".to_string(),
                "meridian/scheduling@1.0.0".to_string()
            ),
            (
                "rollback".to_string(),
                "bramble/scheduling@2.1.0".to_string()
            ),
        ]
    );
    let auditor = s.token("auditor", ORG, None);
    let trail: Value = s.get("/audit?action=slot.", &auditor).json().expect("json");
    assert!(
        trail["entries"]
            .as_array()
            .expect("entries")
            .iter()
            .any(|e| e["action"] == "slot.deploy"
                && e["detail"] == "bramble/scheduling@2.1.0: Practice chose Bramble")
    );

    // More bookings, acknowledged; then kill -9 and restart.
    let mut acknowledged = vec![id.to_string()];
    for (i, slot) in slot_ids.iter().skip(12).take(2).enumerate() {
        let (status, booked) = book(&s, &clinician, slot, PATIENTS[i + 1].nhs_number);
        assert_eq!(status, StatusCode::CREATED, "{booked}");
        acknowledged.push(booked["id"].as_str().expect("id").to_string());
    }
    s.kill_and_restart();
    let admin = s.token("admin", ORG, None);
    assert_eq!(
        active_scheduling(&s, &admin),
        "bramble/scheduling@2.1.0",
        "the recorded deployment, not the configuration's"
    );
    let clinician = s.token("clinician", ORG, None);
    for id in &acknowledged {
        assert_eq!(
            s.get(&format!("/fhir/Appointment/{id}"), &clinician)
                .status(),
            StatusCode::OK,
            "{id}"
        );
    }
    assert!(s.audit_verify().0);
}
