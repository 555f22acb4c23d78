//! The deployment lifecycle over the real binary and its API: a supplier's
//! signed package is added and deployed after its readiness checks; a
//! candidate that fails conformance stays out, with the report; a slot rolls
//! back; its history says who did what and why; and after kill -9 the server
//! comes back with the same active modules and every acknowledged booking.
//! A module whose manifest needs more than an organisation's limits is not
//! deployed there, and says why.

mod support;

use patchbay::lifecycle::package::SupplierKey;
use patchbay::store::demo::{OTHER_PATIENT, PATIENTS};
use reqwest::StatusCode;
use serde_json::Value;
use support::server::{
    STANDARD_ORGANISATIONS, Server, active_scheduling, body, book, cli, package, package_stating,
};

const ORG: &str = "Y90001";
const OTHER_ORG: &str = "Y90002";

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

/// A module's manifest says it needs 96 MiB an instance: Riverside keeps the
/// default limit (64 MiB) and refuses it (deploy, canary and shadow alike)
/// with what it needs, what the limit is and what to change; Hillside allows
/// 128 MiB and serves it, under its own limit.
#[test]
fn a_module_needing_more_than_the_organisations_limit_is_refused_with_why() {
    const MIB: u64 = 1024 * 1024;
    let organisations = STANDARD_ORGANISATIONS.replace(
        "modules = { scheduling = \"bramble/scheduling@2.1.0\"",
        &format!(
            "limits = {{ memory_bytes = {}, deadline = 1000 }}\nmodules = {{ scheduling = \"bramble/scheduling@2.1.0\"",
            128 * MIB
        ),
    );
    assert_ne!(organisations, STANDARD_ORGANISATIONS);
    let s = Server::start_custom("", &organisations);
    let dir = s.data_dir.parent().expect("dir").to_path_buf();
    let module = "wren/scheduling@0.1.0";
    let roomy = package_stating(
        &dir,
        "scheduling_0_1",
        module,
        None,
        &format!("[limits]\nmemory_bytes = {}\n", 96 * MIB),
    );
    let ours = s.token("admin", ORG, None);
    let theirs = s.token("admin", OTHER_ORG, None);
    for admin in [&ours, &theirs] {
        let (ok, text) = cli(&s, admin, &["upload", &roomy]);
        assert!(ok, "{text}");
    }
    // The registry keeps what it needs, and shows it.
    let (_, listed) = body(s.get("/admin/modules", &ours));
    let entry = listed["modules"]
        .as_array()
        .and_then(|m| m.iter().find(|m| m["label"] == module))
        .cloned()
        .unwrap_or_default();
    assert_eq!(entry["needs"]["memory_bytes"], 96 * MIB, "{listed}");

    for (change, percent) in [
        ("deploy", None),
        ("canary", Some(50)),
        ("shadow", Some(100)),
    ] {
        let mut request = serde_json::json!({"module": module, "reason": "Try Wren"});
        if let Some(percent) = percent {
            request["percent"] = percent.into();
        }
        let (status, refused) = body(s.post(
            &format!("/admin/slots/scheduling/{change}"),
            &ours,
            &request,
        ));
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{change}: {refused}"
        );
        let said = refused["issue"][0]["diagnostics"]
            .as_str()
            .unwrap_or_default();
        for part in [
            "wren/scheduling@0.1.0 cannot run under organisation Y90001's limits",
            "it needs 96 MiB of memory an instance",
            "the organisation's limit is 64 MiB",
            "raise memory_bytes in the organisation's limits",
        ] {
            assert!(said.contains(part), "{change}: {part}: {refused}");
        }
    }
    assert_eq!(active_scheduling(&s, &ours), "meridian/scheduling@1.0.0");
    let trial: Value = s
        .get("/admin/slots/scheduling/trial", &ours)
        .json()
        .expect("json");
    assert!(trial["trial"].is_null(), "no trial started: {trial}");
    // The refusals are in the audit trail, with the reason asked for.
    let auditor = s.token("auditor", ORG, None);
    let trail: Value = s.get("/audit?action=slot.", &auditor).json().expect("json");
    let refused = trail["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .filter(|e| {
            e["outcome"] != "success" && e["detail"].as_str().is_some_and(|d| d.contains(module))
        })
        .count();
    assert_eq!(refused, 3, "{trail}");

    // Hillside allows 128 MiB: the same module deploys and serves there,
    // under Hillside's limit.
    let (status, deployed) = body(s.post(
        "/admin/slots/scheduling/deploy",
        &theirs,
        &serde_json::json!({"module": module, "reason": "Wren fits our limits"}),
    ));
    assert_eq!(status, StatusCode::OK, "{deployed}");
    assert_eq!(deployed["deployment"]["limits"]["memory_bytes"], 128 * MIB);
    assert_eq!(active_scheduling(&s, &theirs), module);
    let receptionist = s.token("receptionist", OTHER_ORG, None);
    let slots: Value = s
        .get("/fhir/Slot?_count=5", &receptionist)
        .json()
        .expect("json");
    let slot = slots["entry"][0]["resource"]["id"]
        .as_str()
        .expect("a slot");
    let (status, booked) = book(&s, &receptionist, slot, OTHER_PATIENT.nhs_number);
    assert_eq!(status, StatusCode::CREATED, "{booked}");
    assert!(s.audit_verify().0);
}
