//! The records leave with the organisation: a FHIR Bulk Data export over
//! the real binary and real HTTP. An organisation's records, changed
//! through the API (booked, amended, cancelled, prescribed), are exported
//! with `patchbay export run`; every exported resource is the one the API
//! serves; `patchbay export verify` accepts the download and finds any
//! change to it; the asynchronous protocol (202, polling, the manifest,
//! DELETE) and its refusals hold.

mod support;

use std::collections::BTreeMap;
use std::path::Path;

use reqwest::StatusCode;
use serde_json::{Value, json};
use support::server::{Server, body, book, cli, medication_request};

use patchbay::store::demo::PATIENTS;

const ORG: &str = "Y90001";

/// Books, amends, cancels and prescribes through the API.
fn change_records(s: &Server) {
    let clinician = s.token("clinician", ORG, None);
    let (_, slots) = body(s.get("/fhir/Slot?status=free&_count=5", &clinician));
    let slot = |n: usize| {
        slots["entry"][n]["resource"]["id"]
            .as_str()
            .expect("a free slot")
            .to_string()
    };
    let (status, kept) = book(s, &clinician, &slot(0), PATIENTS[0].nhs_number);
    assert_eq!(status, StatusCode::CREATED, "{kept}");
    let mut amended = kept.clone();
    amended["comment"] = json!("Bring inhaler");
    let id = kept["id"].as_str().expect("id");
    let (status, amended) = body(s.put(&format!("/fhir/Appointment/{id}"), &clinician, &amended));
    assert_eq!(status, StatusCode::OK, "{amended}");
    let (status, dropped) = book(s, &clinician, &slot(1), PATIENTS[3].nhs_number);
    assert_eq!(status, StatusCode::CREATED, "{dropped}");
    let mut cancel = dropped.clone();
    cancel["status"] = json!("cancelled");
    cancel["cancelationReason"] = json!({"text": "Patient called to cancel"});
    let id = dropped["id"].as_str().expect("id");
    let (status, cancelled) = body(s.put(&format!("/fhir/Appointment/{id}"), &clinician, &cancel));
    assert_eq!(status, StatusCode::OK, "{cancelled}");
    let (status, issued) = body(s.post(
        "/fhir/MedicationRequest",
        &clinician,
        &medication_request(PATIENTS[0].nhs_number, "387207008", 400.0, None),
    ));
    assert_eq!(status, StatusCode::CREATED, "{issued}");
}

/// A manifest entry's file name: the last segment of its URL.
fn file_name(entry: &Value) -> String {
    entry["url"]
        .as_str()
        .and_then(|u| u.rsplit('/').next())
        .expect("a file URL")
        .to_string()
}

/// Each NDJSON file of a downloaded export, parsed, by resource type.
fn resources(dir: &Path) -> BTreeMap<String, Vec<Value>> {
    let manifest: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("manifest.json")).expect("manifest"),
    )
    .expect("manifest JSON");
    let mut out = BTreeMap::new();
    for entry in manifest["output"].as_array().cloned().unwrap_or_default() {
        let kind = entry["type"].as_str().expect("type").to_string();
        let text = std::fs::read_to_string(dir.join(file_name(&entry))).expect("file");
        let lines: &mut Vec<Value> = out.entry(kind).or_default();
        lines.extend(
            text.lines()
                .map(|l| serde_json::from_str::<Value>(l).expect("a JSON line")),
        );
    }
    out
}

#[test]
fn an_organisation_exports_its_whole_record_set_as_the_api_serves_it() {
    let s = Server::start();
    change_records(&s);
    let admin = s.token("admin", ORG, None);
    let clinician = s.token("clinician", ORG, None);
    let out = Server::new_dir();

    let (ok, said) = cli(
        &s,
        &admin,
        &["export", "run", "--out", out.to_str().expect("path")],
    );
    assert!(ok, "{said}");
    assert!(said.contains("complete and intact"), "{said}");

    // Valid FHIR R4, resource by resource, by a validator from a registry.
    let validate = |dir: &Path| {
        let out = std::process::Command::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../scripts/fhir-validate"
        ))
        .arg(dir)
        .output()
        .expect("scripts/fhir-validate");
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).to_string()
                + &String::from_utf8_lossy(&out.stderr),
        )
    };
    let (valid, said) = validate(&out);
    assert!(valid, "{said}");
    assert!(said.contains("checked Appointment-1.ndjson"), "{said}");

    // Every type, each resource as the API serves it.
    let exported = resources(&out);
    assert_eq!(
        exported.keys().map(String::as_str).collect::<Vec<_>>(),
        [
            "AllergyIntolerance",
            "Appointment",
            "MedicationRequest",
            "Patient",
            "Practitioner",
            "Schedule",
            "Slot"
        ]
    );
    for (kind, lines) in &exported {
        for resource in lines {
            let id = resource["id"].as_str().expect("an id");
            let (status, served) = body(s.get(&format!("/fhir/{kind}/{id}"), &clinician));
            assert_eq!(status, StatusCode::OK, "{kind}/{id}: {served}");
            assert_eq!(&served, resource, "{kind}/{id} as exported and as served");
        }
    }
    let appointments = &exported["Appointment"];
    assert!(
        appointments.iter().any(|a| a["status"] == "cancelled"
            && a["cancelationReason"]["text"] == "Patient called to cancel"),
        "the cancellation is exported"
    );
    assert!(
        appointments
            .iter()
            .any(|a| a["comment"] == "Bring inhaler" && a["meta"]["versionId"] == "2"),
        "the amendment is exported, with its version"
    );
    assert_eq!(
        exported["Patient"].len(),
        PATIENTS.len(),
        "the organisation's patients, not another's"
    );

    // The history beside the records: deployments and the audit trail,
    // which records the changes made above.
    let deployments =
        std::fs::read_to_string(out.join("deployments-1.ndjson")).expect("deployments");
    assert!(deployments.lines().count() >= 2, "{deployments}");
    let trail = std::fs::read_to_string(out.join("audit-trail-1.ndjson")).expect("audit trail");
    assert!(
        trail.contains("appointment.cancel") || trail.contains("appointment.update"),
        "{trail}"
    );

    // The export was removed from the server once downloaded.
    let manifest: Value = serde_json::from_str(
        &std::fs::read_to_string(out.join("manifest.json")).expect("manifest"),
    )
    .expect("JSON");
    let status_url = manifest["output"][0]["url"]
        .as_str()
        .and_then(|u| u.rsplit_once('/'))
        .map(|(status, _)| status.to_string())
        .expect("a file URL");
    let path = status_url
        .split_once("/fhir")
        .map(|(_, p)| p)
        .expect("path");
    let (status, _) = body(s.get(&format!("/fhir{path}"), &admin));
    assert_eq!(status, StatusCode::NOT_FOUND, "removed after the download");

    // Verify finds any change to a file, and says which.
    let verify = |dir: &Path| {
        let out = std::process::Command::new(support::server::binary())
            .args(["export", "verify"])
            .arg(dir)
            .output()
            .expect("patchbay export verify");
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).to_string()
                + &String::from_utf8_lossy(&out.stderr),
        )
    };
    let (ok, said) = verify(&out);
    assert!(ok, "{said}");
    let file = out.join("Appointment-1.ndjson");
    let original = std::fs::read_to_string(&file).expect("file");
    std::fs::write(&file, original.replacen("booked", "noshow", 1)).expect("tamper");
    let (ok, said) = verify(&out);
    assert!(!ok, "a changed file is found");
    assert!(
        said.contains("Appointment-1.ndjson") && said.contains("SHA-256"),
        "{said}"
    );
    // The validator refuses what is not FHIR R4.
    std::fs::write(
        &file,
        original.replacen("\"start\":\"", "\"start\":\"soon ", 1),
    )
    .expect("tamper");
    let (valid, said) = validate(&out);
    assert!(!valid && said.contains("Appointment-1.ndjson"), "{said}");
    std::fs::write(&file, &original).expect("restore");
    std::fs::remove_file(out.join("audit-trail-1.ndjson")).expect("remove");
    let (ok, said) = verify(&out);
    assert!(!ok && said.contains("audit-trail-1.ndjson"), "{said}");
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn the_bulk_data_protocol_and_its_refusals() {
    let s = Server::start();
    let admin = s.token("admin", ORG, None);
    let clinician = s.token("clinician", ORG, None);
    let other_admin = s.token("admin", "Y90002", None);
    let kick_off = |path: &str, token: &str, prefer: bool| {
        let mut request = s.request(reqwest::Method::GET, path, Some(token));
        if prefer {
            request = request.header("Prefer", "respond-async");
        }
        request.send().expect("kick-off")
    };

    // The CapabilityStatement says the operations are served.
    let (_, metadata) = body(s.get("/fhir/metadata", &admin));
    assert_eq!(
        metadata["rest"][0]["operation"][0]["name"], "export",
        "{metadata}"
    );
    let patient = metadata["rest"][0]["resource"]
        .as_array()
        .and_then(|r| r.iter().find(|r| r["type"] == "Patient"))
        .cloned()
        .unwrap_or_default();
    assert_eq!(patient["operation"][0]["name"], "export", "{patient}");

    // Refusals: no Prefer, an unknown type, a bad _since, an unsupported
    // parameter, a clinician.
    for (path, prefer, expected, says) in [
        (
            "/fhir/$export",
            false,
            StatusCode::BAD_REQUEST,
            "Prefer: respond-async",
        ),
        (
            "/fhir/$export?_type=Observation",
            true,
            StatusCode::BAD_REQUEST,
            "Observation",
        ),
        (
            "/fhir/Patient/$export?_type=Schedule",
            true,
            StatusCode::BAD_REQUEST,
            "Schedule",
        ),
        (
            "/fhir/$export?_since=yesterday",
            true,
            StatusCode::BAD_REQUEST,
            "_since",
        ),
        (
            "/fhir/$export?_typeFilter=x",
            true,
            StatusCode::BAD_REQUEST,
            "_typeFilter",
        ),
    ] {
        let (status, outcome) = body(kick_off(path, &admin, prefer));
        assert_eq!(status, expected, "{path}: {outcome}");
        let text = outcome["issue"][0]["diagnostics"]
            .as_str()
            .unwrap_or_default();
        assert!(text.contains(says), "{path}: {outcome}");
    }
    let (status, _) = body(kick_off("/fhir/$export", &clinician, true));
    assert_eq!(status, StatusCode::FORBIDDEN);

    // A patient-level export of one type: 202, a Content-Location to poll,
    // then the manifest.
    let answer = kick_off(
        "/fhir/Patient/$export?_type=AllergyIntolerance",
        &admin,
        true,
    );
    assert_eq!(answer.status(), StatusCode::ACCEPTED);
    let status_url = answer
        .headers()
        .get("content-location")
        .and_then(|v| v.to_str().ok())
        .expect("Content-Location")
        .to_string();
    let path = status_url
        .split_once("/fhir")
        .map(|(_, p)| format!("/fhir{p}"))
        .expect("path");
    let manifest = loop {
        let answer = s.get(&path, &admin);
        match answer.status() {
            StatusCode::ACCEPTED => {
                assert!(answer.headers().contains_key("x-progress"));
                assert!(answer.headers().contains_key("retry-after"));
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            StatusCode::OK => break answer.json::<Value>().expect("manifest"),
            other => panic!("{other}: {}", answer.text().unwrap_or_default()),
        }
    };
    assert_eq!(manifest["requiresAccessToken"], true);
    assert!(
        manifest["request"]
            .as_str()
            .unwrap_or_default()
            .ends_with("Patient/$export?_type=AllergyIntolerance")
    );
    let output = manifest["output"].as_array().cloned().unwrap_or_default();
    assert_eq!(output.len(), 1, "{manifest}");
    assert_eq!(output[0]["type"], "AllergyIntolerance");
    assert_eq!(output[0]["count"], 1, "the demo's one allergy");
    assert!(
        manifest.get("extension").is_none(),
        "no history in a patient-level export"
    );
    let file_path = output[0]["url"]
        .as_str()
        .and_then(|u| u.split_once("/fhir"))
        .map(|(_, p)| format!("/fhir{p}"))
        .expect("file path");
    let file = s.get(&file_path, &admin);
    assert_eq!(file.status(), StatusCode::OK);
    assert_eq!(
        file.headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("application/fhir+ndjson")
    );
    let text = file.text().expect("text");
    let allergy: Value = serde_json::from_str(text.trim()).expect("one resource");
    assert_eq!(allergy["resourceType"], "AllergyIntolerance");

    // _since: the types that record when they changed are filtered; the
    // others come whole.
    let types_since = |since: &str| -> Vec<String> {
        let dir = Server::new_dir();
        let done = patchbay::api::bulk_client::run(
            &s.base,
            &admin,
            &format!("/fhir/$export?_since={since}"),
            &dir,
        )
        .expect("an export");
        let _ = std::fs::remove_dir_all(&dir);
        done.manifest["output"]
            .as_array()
            .map(|o| {
                o.iter()
                    .filter_map(|e| e["type"].as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    };
    assert_eq!(
        types_since("2100-01-01T00:00:00Z"),
        ["Patient", "Practitioner", "Schedule", "Slot"]
    );
    let since_2000 = types_since("2000-01-01T00:00:00Z");
    for kind in ["Patient", "MedicationRequest", "AllergyIntolerance"] {
        assert!(
            since_2000.iter().any(|t| t == kind),
            "{kind} in {since_2000:?}"
        );
    }

    // Another organisation's admin cannot see it.
    let (status, _) = body(s.get(&path, &other_admin));
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = body(s.get(&file_path, &other_admin));
    assert_eq!(status, StatusCode::NOT_FOUND);

    // DELETE removes it and its files.
    let (status, _) = body(
        s.request(reqwest::Method::DELETE, &path, Some(&admin))
            .send()
            .expect("DELETE"),
    );
    assert_eq!(status, StatusCode::ACCEPTED);
    let (status, _) = body(s.get(&path, &admin));
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = body(s.get(&file_path, &admin));
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Every step is audited.
    let auditor = s.token("auditor", ORG, None);
    let (_, trail) = body(s.get("/audit?action=export", &auditor));
    let actions: Vec<&str> = trail["entries"]
        .as_array()
        .map(|e| e.iter().filter_map(|e| e["action"].as_str()).collect())
        .unwrap_or_default();
    for action in [
        "export.start",
        "export.status",
        "export.download",
        "export.cancel",
    ] {
        assert!(actions.contains(&action), "{action} in {actions:?}");
    }
}

/// The resource files of a downloaded export, by name, as bytes.
fn resource_files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let manifest: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("manifest.json")).expect("manifest"),
    )
    .expect("manifest JSON");
    manifest["output"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|entry| {
            let name = file_name(entry);
            let bytes = std::fs::read(dir.join(&name)).expect("file");
            (name, bytes)
        })
        .collect()
}

#[test]
fn an_export_imports_into_a_fresh_host_which_serves_and_exports_the_same_records() {
    let a = Server::start();
    change_records(&a);
    let from_a = Server::new_dir();
    let (ok, said) = cli(
        &a,
        &a.token("admin", ORG, None),
        &["export", "run", "--out", from_a.to_str().expect("path")],
    );
    assert!(ok, "{said}");

    // A fresh host: the same organisations, none of the demo's records.
    let b = Server::start_configured(
        "demo = false\n[identity]\ndevelopment = true",
        "",
        support::server::STANDARD_ORGANISATIONS,
    );
    let admin_b = b.token("admin", ORG, None);
    let clinician_b = b.token("clinician", ORG, None);
    let (status, empty) = body(b.get("/fhir/Patient", &clinician_b));
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        empty["total"], 0,
        "the fresh host holds no patients: {empty}"
    );
    let (ok, said) = cli(&b, &admin_b, &["import", from_a.to_str().expect("path")]);
    assert!(ok, "{said}");
    assert!(said.contains("\"Appointment\""), "{said}");

    // Every resource is served by the new host as exported (same ids, same
    // versions, same content), and links between them resolve.
    let exported = resources(&from_a);
    for (kind, lines) in &exported {
        for resource in lines {
            let id = resource["id"].as_str().expect("an id");
            let (status, served) = body(b.get(&format!("/fhir/{kind}/{id}"), &clinician_b));
            assert_eq!(
                status,
                StatusCode::OK,
                "{kind}/{id} on the new host: {served}"
            );
            assert_eq!(&served, resource, "{kind}/{id} on the new host");
        }
    }
    // Searches give the same answers on both hosts.
    let clinician_a = a.token("clinician", ORG, None);
    for search in [
        "/fhir/Patient".to_string(),
        "/fhir/Schedule".to_string(),
        "/fhir/Practitioner".to_string(),
        format!("/fhir/Appointment?patient={}", PATIENTS[0].nhs_number),
        format!(
            "/fhir/AllergyIntolerance?patient={}",
            PATIENTS[1].nhs_number
        ),
        format!(
            "/fhir/MedicationRequest?patient={}&status=active",
            PATIENTS[0].nhs_number
        ),
    ] {
        // The same resources; only the hosts' addresses (fullUrl) differ.
        let found = |bundle: Value| -> Vec<Value> {
            bundle["entry"]
                .as_array()
                .map(|e| e.iter().map(|e| e["resource"].clone()).collect())
                .unwrap_or_default()
        };
        let on_a = found(body(a.get(&search, &clinician_a)).1);
        let on_b = found(body(b.get(&search, &clinician_b)).1);
        assert!(!on_a.is_empty(), "{search} finds something");
        assert_eq!(on_a, on_b, "{search}");
    }

    // Exported again from the new host: byte for byte the same records.
    let from_b = Server::new_dir();
    let (ok, said) = cli(
        &b,
        &admin_b,
        &["export", "run", "--out", from_b.to_str().expect("path")],
    );
    assert!(ok, "{said}");
    let (files_a, files_b) = (resource_files(&from_a), resource_files(&from_b));
    assert_eq!(
        files_a.keys().collect::<Vec<_>>(),
        files_b.keys().collect::<Vec<_>>()
    );
    for (name, bytes) in &files_a {
        assert!(
            bytes == &files_b[name],
            "{name} differs after the round trip"
        );
    }

    // The new host's audit trail records the import and what it came from.
    let auditor = b.token("auditor", ORG, None);
    let (_, trail) = body(b.get("/audit?action=records.import", &auditor));
    let detail = trail["entries"][0]["detail"].as_str().unwrap_or_default();
    assert!(detail.contains("SHA-256"), "{trail}");

    // The same import again: refused whole, naming what is already here.
    let (ok, said) = cli(&b, &admin_b, &["import", from_a.to_str().expect("path")]);
    assert!(!ok, "{said}");
    assert!(said.contains("already held"), "{said}");
    let (_, patients) = body(b.get("/fhir/Patient", &clinician_b));
    assert_eq!(patients["total"], PATIENTS.len(), "nothing was added twice");

    // Partial input (appointments without their slots and patients) into
    // another organisation: refused with a report, nothing written.
    let other_admin = b.token("admin", "Y90002", None);
    let appointments =
        std::fs::read_to_string(from_a.join("Appointment-1.ndjson")).expect("appointments");
    let answer = b
        .request(reqwest::Method::POST, "/admin/import", Some(&other_admin))
        .header("Content-Type", "application/fhir+ndjson")
        .body(appointments)
        .send()
        .expect("POST");
    let (status, outcome) = body(answer);
    assert_eq!(status, StatusCode::BAD_REQUEST, "{outcome}");
    let text = outcome["issue"][0]["diagnostics"]
        .as_str()
        .unwrap_or_default();
    assert!(
        text.contains("references Slot/") && text.contains("nothing was written"),
        "{outcome}"
    );
    let other_clinician = b.token("clinician", "Y90002", None);
    let first = exported["Appointment"][0]["id"].as_str().expect("an id");
    let (status, other) = body(b.get(&format!("/fhir/Appointment/{first}"), &other_clinician));
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "nothing of the partial import: {other}"
    );
    let _ = std::fs::remove_dir_all(&from_a);
    let _ = std::fs::remove_dir_all(&from_b);
}
