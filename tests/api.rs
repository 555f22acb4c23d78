//! The HTTP API end to end: the real binary, real HTTP, the real modules.
//! Each route; each role's allowed and refused actions; organisations kept
//! apart; bad tokens; malformed requests; unknown patients and invalid NHS
//! numbers; a module timeout answered 503 while other routes go on; and the
//! audit trail's tampering detected.

mod support;

use reqwest::Method;
use reqwest::StatusCode;
use serde_json::{Value, json};
use support::server::{Server, body, medication_request};

use patchbay::api::identity::{DevKey, Role, dev_claims};
use patchbay::store::demo::{OTHER_PATIENT, PATIENTS};

const ORG: &str = "Y90001";
const OTHER_ORG: &str = "Y90002";
const FAULTY_ORG: &str = "Y90003";
const NHS: &str = "https://fhir.nhs.uk/Id/nhs-number";

fn issue_text(v: &Value) -> String {
    v["issue"][0]["diagnostics"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

fn appointment(slot_id: &str, patient: &str) -> Value {
    json!({
        "resourceType": "Appointment",
        "status": "booked",
        "slot": [{"reference": format!("Slot/{slot_id}")}],
        "description": "Asthma review",
        "participant": [{"actor": {"identifier": {"system": NHS, "value": patient}}, "status": "accepted"}]
    })
}

fn free_slots(s: &Server, token: &str) -> Vec<Value> {
    let (status, bundle) = body(s.get("/fhir/Slot?status=free&_count=40", token));
    assert_eq!(status, StatusCode::OK, "{bundle}");
    assert_eq!(bundle["resourceType"], "Bundle");
    assert_eq!(bundle["type"], "searchset");
    bundle["entry"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .map(|e| e["resource"].clone())
        .collect()
}

#[test]
fn the_whole_api() {
    let s = Server::start();
    let clinician = s.token("clinician", ORG, None);
    let receptionist = s.token("receptionist", ORG, None);
    let patient_token = s.token("patient", ORG, Some(PATIENTS[0].nhs_number));
    let admin = s.token("admin", ORG, None);
    let auditor = s.token("auditor", ORG, None);
    let other_clinician = s.token("clinician", OTHER_ORG, None);

    // Anonymous discovery and health.
    for path in [
        "/healthz",
        "/fhir/metadata",
        "/cds-services",
        "/openapi.json",
        "/.well-known/smart-configuration",
    ] {
        let r = s.request(Method::GET, path, None).send().expect("GET");
        assert_eq!(r.status(), StatusCode::OK, "{path}");
    }
    let (_, metadata) = body(
        s.request(Method::GET, "/fhir/metadata", None)
            .send()
            .expect("GET"),
    );
    assert_eq!(metadata["resourceType"], "CapabilityStatement");
    assert_eq!(metadata["fhirVersion"], "4.0.1");
    let (_, openapi) = body(
        s.request(Method::GET, "/openapi.json", None)
            .send()
            .expect("GET"),
    );
    assert!(
        openapi["paths"]["/fhir/Appointment/{id}"]["put"].is_object(),
        "{openapi}"
    );
    assert!(openapi["paths"]["/cds-services/{id}"]["post"].is_object());
    // Everything else needs a token.
    let (status, outcome) = body(
        s.request(Method::GET, "/fhir/Slot", None)
            .send()
            .expect("GET"),
    );
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(outcome["resourceType"], "OperationOutcome");
    assert!(issue_text(&outcome).contains("Bearer"), "{outcome}");

    // Slot search, booking, read, search by patient.
    let slots = free_slots(&s, &receptionist);
    assert!(slots.len() >= 10);
    assert!(
        slots
            .iter()
            .all(|x| x["status"] == "free" && x["resourceType"] == "Slot")
    );
    let slot_id = slots[0]["id"].as_str().expect("id").to_string();
    let (status, booked) = body(s.post(
        "/fhir/Appointment",
        &receptionist,
        &appointment(&slot_id, PATIENTS[1].nhs_number),
    ));
    assert_eq!(status, StatusCode::CREATED, "{booked}");
    assert_eq!(booked["status"], "booked");
    assert_eq!(booked["meta"]["versionId"], "1");
    assert_eq!(booked["start"], slots[0]["start"]);
    let id = booked["id"].as_str().expect("id").to_string();
    let (status, again) = body(s.post(
        "/fhir/Appointment",
        &clinician,
        &appointment(&slot_id, PATIENTS[2].nhs_number),
    ));
    assert_eq!(status, StatusCode::CONFLICT, "{again}");
    let (status, read) = body(s.get(&format!("/fhir/Appointment/{id}"), &clinician));
    assert_eq!(status, StatusCode::OK);
    assert_eq!(read, booked);
    let (status, list) = body(s.get(
        &format!("/fhir/Appointment?patient={}", PATIENTS[1].nhs_number),
        &receptionist,
    ));
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list["total"], 1);

    // Amend, then cancel, with PUT (GP Connect).
    let mut amended = read.clone();
    amended["comment"] = json!("Bring inhaler");
    let (status, after) = body(s.put(&format!("/fhir/Appointment/{id}"), &receptionist, &amended));
    assert_eq!(status, StatusCode::OK, "{after}");
    assert_eq!(after["comment"], "Bring inhaler");
    assert_eq!(after["meta"]["versionId"], "2");
    let stale = s
        .request(
            Method::PUT,
            &format!("/fhir/Appointment/{id}"),
            Some(&receptionist),
        )
        .header("if-match", "W/\"1\"")
        .header("content-type", "application/fhir+json")
        .body(amended.to_string())
        .send()
        .expect("PUT");
    assert_eq!(stale.status(), StatusCode::PRECONDITION_FAILED);
    let mut cancel = after.clone();
    cancel["status"] = json!("cancelled");
    let (status, missing_reason) =
        body(s.put(&format!("/fhir/Appointment/{id}"), &receptionist, &cancel));
    assert_eq!(status, StatusCode::BAD_REQUEST, "{missing_reason}");
    cancel["cancelationReason"] = json!({"text": "Patient called to cancel"});
    let (status, cancelled) =
        body(s.put(&format!("/fhir/Appointment/{id}"), &receptionist, &cancel));
    assert_eq!(status, StatusCode::OK, "{cancelled}");
    assert_eq!(cancelled["status"], "cancelled");
    let (status, twice) = body(s.put(&format!("/fhir/Appointment/{id}"), &receptionist, &cancel));
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{twice}");

    // Patient role: own appointments only.
    let (status, own) = body(s.post(
        "/fhir/Appointment",
        &patient_token,
        &appointment(slots[1]["id"].as_str().expect("id"), PATIENTS[0].nhs_number),
    ));
    assert_eq!(status, StatusCode::CREATED, "{own}");
    let (status, _) = body(s.post(
        "/fhir/Appointment",
        &patient_token,
        &appointment(slots[2]["id"].as_str().expect("id"), PATIENTS[3].nhs_number),
    ));
    assert_eq!(status, StatusCode::FORBIDDEN);
    // Someone else's appointment is answered as if there were none, so a
    // patient cannot learn which ids exist.
    let (status, _) = body(s.get(&format!("/fhir/Appointment/{id}"), &patient_token));
    assert_eq!(status, StatusCode::NOT_FOUND, "someone else's appointment");
    let (status, _) = body(s.get(
        &format!("/fhir/Appointment/{}", own["id"].as_str().expect("id")),
        &patient_token,
    ));
    assert_eq!(status, StatusCode::OK);
    let (status, _) = body(s.get(
        &format!("/fhir/Appointment?patient={}", PATIENTS[3].nhs_number),
        &patient_token,
    ));
    assert_eq!(status, StatusCode::FORBIDDEN);

    // Prescribing: clinicians only.
    let warfarin_patient = PATIENTS[2].nhs_number;
    let (status, refused) = body(s.post(
        "/fhir/MedicationRequest",
        &clinician,
        &medication_request(warfarin_patient, "387207008", 400.0, None),
    ));
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
    assert!(issue_text(&refused).to_lowercase().contains("warfarin"));
    let (status, issued) = body(s.post(
        "/fhir/MedicationRequest",
        &clinician,
        &medication_request(
            warfarin_patient,
            "387207008",
            400.0,
            Some("Agreed with haematology"),
        ),
    ));
    assert_eq!(status, StatusCode::CREATED, "{issued}");
    assert_eq!(issued["status"], "active");
    assert_eq!(
        issued["extension"][0]["valueString"],
        "Agreed with haematology"
    );
    assert_eq!(issued["requester"]["reference"], "Practitioner/clinician-1");
    let rx = issued["id"].as_str().expect("id").to_string();
    let (status, _) = body(s.get(&format!("/fhir/MedicationRequest/{rx}"), &clinician));
    assert_eq!(status, StatusCode::OK);
    let (status, active) = body(s.get(
        &format!("/fhir/MedicationRequest?patient={warfarin_patient}&status=active"),
        &clinician,
    ));
    assert_eq!(status, StatusCode::OK);
    assert_eq!(active["total"], 2);
    let (status, cancelled_rx) = body(s.put(
        &format!("/fhir/MedicationRequest/{rx}"),
        &clinician,
        &json!({"resourceType": "MedicationRequest", "status": "cancelled", "statusReason": {"text": "Pain settled"}}),
    ));
    assert_eq!(status, StatusCode::OK, "{cancelled_rx}");
    assert_eq!(cancelled_rx["status"], "cancelled");
    for token in [&receptionist, &patient_token, &admin, &auditor] {
        let (status, _) = body(s.post(
            "/fhir/MedicationRequest",
            token,
            &medication_request(PATIENTS[0].nhs_number, "387517004", 500.0, None),
        ));
        assert_eq!(status, StatusCode::FORBIDDEN);
    }

    // CDS Hooks.
    let (_, discovery) = body(
        s.request(Method::GET, "/cds-services", None)
            .send()
            .expect("GET"),
    );
    let hooks: Vec<&str> = discovery["services"]
        .as_array()
        .expect("services")
        .iter()
        .filter_map(|x| x["hook"].as_str())
        .collect();
    assert_eq!(hooks, vec!["order-select", "order-sign"]);
    let call = json!({
        "hook": "order-sign",
        "hookInstance": "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea",
        "context": {"userId": "Practitioner/clinician-1", "patientId": PATIENTS[1].nhs_number,
            "draftOrders": {"resourceType": "Bundle", "type": "collection", "entry": [
                {"resource": medication_request(PATIENTS[1].nhs_number, "372687004", 500.0, None)}
            ]}}
    });
    let (status, cards) = body(s.post("/cds-services/medication-order-sign", &clinician, &call));
    assert_eq!(status, StatusCode::OK, "{cards}");
    let card = &cards["cards"][0];
    assert_eq!(card["indicator"], "critical", "{cards}");
    assert!(card["summary"].as_str().expect("summary").len() < 140);
    assert!(card["source"]["label"].is_string());
    assert!(card["uuid"].is_string());
    let (status, _) = body(s.post("/cds-services/medication-order-sign", &receptionist, &call));
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = body(s.post("/cds-services/no-such-service", &clinician, &call));
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Admin and auditor routes.
    let (status, slots_admin) = body(s.get("/admin/slots", &admin));
    assert_eq!(status, StatusCode::OK);
    let modules: Vec<&str> = slots_admin["slots"]
        .as_array()
        .expect("slots")
        .iter()
        .filter_map(|x| x["module"].as_str())
        .collect();
    assert_eq!(
        modules,
        vec!["meridian/scheduling@1.0.0", "northwind/prescribing@1.0.0"]
    );
    assert_eq!(
        s.get("/admin/slots", &clinician).status(),
        StatusCode::FORBIDDEN
    );
    let metrics = s.get("/metrics", &admin).text().expect("metrics");
    assert!(
        metrics.contains("patchbay_http_requests_total"),
        "{metrics}"
    );
    assert!(metrics.contains("patchbay_module_calls_total{org=\"Y90001\",module=\"meridian/scheduling@1.0.0\",function=\"book\",outcome=\"ok\"}"), "{metrics}");
    assert_eq!(
        s.get("/metrics", &clinician).status(),
        StatusCode::FORBIDDEN
    );
    let (status, trail) = body(s.get("/audit?action=appointment", &auditor));
    assert_eq!(status, StatusCode::OK);
    let entries = trail["entries"].as_array().expect("entries");
    assert!(entries.iter().any(|e| e["action"] == "appointment.book"
        && e["outcome"] == "success"
        && e["module"] == "meridian/scheduling@1.0.0"
        && e["role"] == "receptionist"
        && e["patient"] == PATIENTS[1].nhs_number));
    assert!(entries.iter().any(|e| e["action"] == "appointment.book"
        && e["outcome"].as_str().unwrap_or("").starts_with("409")));
    let (_, rx_trail) = body(s.get("/audit?action=medication-request.issue", &auditor));
    assert!(
        rx_trail["entries"]
            .as_array()
            .expect("entries")
            .iter()
            .any(|e| e["detail"] == "override reason: Agreed with haematology")
    );
    assert_eq!(s.get("/audit", &clinician).status(), StatusCode::FORBIDDEN);
    // Refusals are audited too.
    let (_, forbidden) = body(s.get("/audit?action=medication-request", &auditor));
    assert!(
        forbidden["entries"]
            .as_array()
            .expect("entries")
            .iter()
            .any(|e| e["outcome"].as_str().unwrap_or("").starts_with("403"))
    );

    // Another organisation sees none of this.
    let (status, _) = body(s.get(&format!("/fhir/Appointment/{id}"), &other_clinician));
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = body(s.get(&format!("/fhir/MedicationRequest/{rx}"), &other_clinician));
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, their_list) = body(s.get(
        &format!("/fhir/Appointment?patient={}", PATIENTS[1].nhs_number),
        &other_clinician,
    ));
    assert_eq!(their_list["total"], 0);
    let other_auditor = s.token("auditor", OTHER_ORG, None);
    let (_, their_trail) = body(s.get("/audit", &other_auditor));
    assert!(
        their_trail["entries"]
            .as_array()
            .expect("entries")
            .iter()
            .all(|e| e["org"] == OTHER_ORG)
    );
    // An organisation the host does not serve.
    assert_eq!(
        s.get("/fhir/Slot", &s.token("clinician", "X99999", None))
            .status(),
        StatusCode::FORBIDDEN
    );
}

#[test]
fn bad_input_gets_a_clear_answer() {
    let s = Server::start();
    let clinician = s.token("clinician", ORG, None);
    let slot = free_slots(&s, &clinician)[0]["id"]
        .as_str()
        .expect("id")
        .to_string();

    let malformed = s
        .request(Method::POST, "/fhir/Appointment", Some(&clinician))
        .header("content-type", "application/json")
        .body("{\"resourceType\": \"Appointment\", ")
        .send()
        .expect("POST");
    let (status, outcome) = body(malformed);
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(issue_text(&outcome).contains("not valid JSON"), "{outcome}");

    let (status, outcome) = body(s.post(
        "/fhir/Appointment",
        &clinician,
        &json!({"resourceType": "Patient"}),
    ));
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        issue_text(&outcome).contains("expected a Appointment resource")
            || issue_text(&outcome).contains("Appointment"),
        "{outcome}"
    );

    let (status, outcome) = body(s.post(
        "/fhir/Appointment",
        &clinician,
        &appointment(&slot, "9434765918"),
    ));
    assert_eq!(status, StatusCode::BAD_REQUEST, "{outcome}");
    assert!(issue_text(&outcome).contains("check digit"), "{outcome}");
    let (status, outcome) = body(s.post(
        "/fhir/Appointment",
        &clinician,
        &appointment(&slot, OTHER_PATIENT.nhs_number),
    ));
    assert_eq!(status, StatusCode::NOT_FOUND, "unknown patient: {outcome}");
    let (status, _) = body(s.post(
        "/fhir/Appointment",
        &clinician,
        &appointment("no-such-slot", PATIENTS[0].nhs_number),
    ));
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = body(s.get("/fhir/Appointment/no-such-appointment", &clinician));
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, outcome) = body(s.get("/fhir/Slot?start=ge2026-13-45", &clinician));
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        issue_text(&outcome).contains("not a FHIR date"),
        "{outcome}"
    );
    let (status, _) = body(s.post(
        "/fhir/MedicationRequest",
        &clinician,
        &medication_request("9434765918", "387517004", 500.0, None),
    ));
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = body(s.post(
        "/fhir/MedicationRequest",
        &clinician,
        &medication_request(OTHER_PATIENT.nhs_number, "387517004", 500.0, None),
    ));
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, outcome) = body(s.get("/fhir/Nothing", &clinician));
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(outcome["resourceType"], "OperationOutcome");
    // None of it booked anything.
    assert!(
        free_slots(&s, &clinician)
            .iter()
            .any(|x| x["id"] == slot.as_str())
    );
}

#[test]
fn bad_tokens_get_401_with_the_reason() {
    let s = Server::start();
    let identity = patchbay::api::config::Identity::default();
    let key = DevKey::load(&s.data_dir).expect("the server's dev key");
    let check = |token: &str, expect: &str| {
        let (status, outcome) = body(s.get("/fhir/Slot", token));
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{outcome}");
        assert!(
            issue_text(&outcome).contains(expect),
            "expected '{expect}' in {outcome}"
        );
    };
    check("not-a-token", "malformed");
    let mut expired = dev_claims(&identity, "u", ORG, vec![Role::Clinician], None, 60);
    expired.exp -= 7200;
    check(&key.sign(&expired).expect("sign"), "expired");
    let mut audience = dev_claims(&identity, "u", ORG, vec![Role::Clinician], None, 60);
    audience.aud = "someone-else".into();
    check(&key.sign(&audience).expect("sign"), "audience");
    let stranger_dir = std::env::temp_dir().join(format!(
        "patchbay-stranger-{}",
        patchbay::store::records::new_id()
    ));
    let stranger = DevKey::load_or_create(&stranger_dir).expect("key");
    check(
        &stranger
            .sign(&dev_claims(
                &identity,
                "u",
                ORG,
                vec![Role::Clinician],
                None,
                60,
            ))
            .expect("sign"),
        "signature",
    );
    let _ = std::fs::remove_dir_all(stranger_dir);
    // An HS256 token is refused outside development mode.
    let hs = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &dev_claims(&identity, "u", ORG, vec![Role::Clinician], None, 60),
        &jsonwebtoken::EncodingKey::from_secret(b"guess"),
    )
    .expect("sign");
    check(&hs, "HS256");
    // And a good one works.
    assert_eq!(
        s.get(
            "/fhir/Slot",
            &key.sign(&dev_claims(
                &identity,
                "u",
                ORG,
                vec![Role::Clinician],
                None,
                60
            ))
            .expect("sign")
        )
        .status(),
        StatusCode::OK
    );
}

#[test]
fn a_module_timeout_is_503_while_other_routes_go_on() {
    let s = Server::start();
    let faulty = s.token("clinician", FAULTY_ORG, None);
    let clinician = s.token("clinician", ORG, None);
    std::thread::scope(|scope| {
        let looping = scope.spawn(|| body(s.get("/fhir/Slot?schedule=loop", &faulty)));
        let started = std::time::Instant::now();
        let mut served = 0;
        while started.elapsed() < std::time::Duration::from_millis(150) {
            assert_eq!(
                s.get("/fhir/Slot?_count=1", &clinician).status(),
                StatusCode::OK
            );
            served += 1;
        }
        let (status, outcome) = looping.join().expect("thread");
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{outcome}");
        assert_eq!(outcome["issue"][0]["code"], "timeout");
        assert!(issue_text(&outcome).contains("200 ms"), "{outcome}");
        assert!(served > 0);
    });
    let (status, outcome) = body(s.get("/fhir/Slot?schedule=trap", &faulty));
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{outcome}");
    let (status, _) = body(s.get("/fhir/Slot?schedule=hog", &faulty));
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    // The faulty practice has no prescribing module: 503, said plainly.
    let (status, outcome) = body(s.get(
        &format!("/fhir/MedicationRequest?patient={}", PATIENTS[0].nhs_number),
        &faulty,
    ));
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        issue_text(&outcome).contains("no prescribing module"),
        "{outcome}"
    );
    // An organisation's metrics are its own: the faulty practice's admin
    // sees its module's timeouts and traps.
    let metrics = s
        .get("/metrics", &s.token("admin", FAULTY_ORG, None))
        .text()
        .expect("metrics");
    assert!(metrics.contains("outcome=\"timeout\"} 1"), "{metrics}");
    assert!(metrics.contains("outcome=\"trap\"} 1"), "{metrics}");
}

#[test]
fn audit_tampering_is_detected() {
    let s = Server::start();
    let clinician = s.token("clinician", ORG, None);
    for _ in 0..3 {
        assert_eq!(
            s.get("/fhir/Slot?_count=1", &clinician).status(),
            StatusCode::OK
        );
    }
    let (ok, text) = s.audit_verify();
    assert!(ok, "{text}");
    assert!(text.contains("intact: 3 entries"), "{text}");

    let db = s.connection();
    db.execute(
        "UPDATE audit_trail SET \"user\" = 'someone-else' WHERE org = 'Y90001' AND seq = 2",
        &[],
    )
    .expect("tamper");
    let (ok, text) = s.audit_verify();
    assert!(!ok, "{text}");
    assert!(text.contains("BROKEN at entry 2"), "{text}");
    assert!(text.contains("changed"), "{text}");

    db.execute(
        "UPDATE audit_trail SET \"user\" = 'clinician-1' WHERE org = 'Y90001' AND seq = 2",
        &[],
    )
    .expect("restore");
    assert!(s.audit_verify().0);
    db.execute(
        "DELETE FROM audit_trail WHERE org = 'Y90001' AND seq = 2",
        &[],
    )
    .expect("remove");
    let (ok, text) = s.audit_verify();
    assert!(!ok);
    assert!(
        text.contains("BROKEN at entry 2") && text.contains("missing"),
        "{text}"
    );
}

#[test]
fn shutdown_lets_requests_in_flight_finish() {
    let mut s = Server::start();
    let faulty = s.token("clinician", FAULTY_ORG, None);
    let request = s.request(Method::GET, "/fhir/Slot?schedule=loop", Some(&faulty));
    std::thread::scope(|scope| {
        // A request that takes its module's whole 200 ms deadline.
        let in_flight =
            scope.spawn(move || request.send().expect("answered, not dropped").status());
        std::thread::sleep(std::time::Duration::from_millis(60));
        let status = s.terminate();
        assert!(status.success(), "exit: {status:?}\n{}", s.log());
        assert_eq!(
            in_flight.join().expect("thread"),
            StatusCode::SERVICE_UNAVAILABLE
        );
    });
    assert!(
        s.log().contains("requests in flight have finished"),
        "{}",
        s.log()
    );
}

#[test]
fn patients_and_schedules_are_served_and_slots_point_at_real_schedules() {
    let s = Server::start();
    let receptionist = s.token("receptionist", ORG, None);
    let auditor = s.token("auditor", ORG, None);

    // Metadata lists what is served.
    let (_, metadata) = body(s.get("/fhir/metadata", &receptionist));
    let served: Vec<&str> = metadata["rest"][0]["resource"]
        .as_array()
        .map(|r| r.iter().filter_map(|r| r["type"].as_str()).collect())
        .unwrap_or_default();
    let mut served = served;
    served.sort_unstable();
    assert_eq!(
        served,
        [
            "AllergyIntolerance",
            "Appointment",
            "MedicationRequest",
            "Patient",
            "Practitioner",
            "Schedule",
            "Slot"
        ],
        "exactly what is served"
    );

    // Staff see every registered patient of their organisation, and no other.
    let (status, bundle) = body(s.get("/fhir/Patient", &receptionist));
    assert_eq!(status, StatusCode::OK, "{bundle}");
    let ids: Vec<&str> = bundle["entry"]
        .as_array()
        .map(|e| {
            e.iter()
                .filter_map(|e| e["resource"]["id"].as_str())
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(ids.len(), PATIENTS.len(), "{bundle}");
    assert!(
        !ids.contains(&OTHER_PATIENT.nhs_number),
        "another organisation's patient"
    );
    let nhs = PATIENTS[1].nhs_number;
    let (status, found) = body(s.get(
        &format!("/fhir/Patient?identifier={NHS}|{nhs}"),
        &receptionist,
    ));
    assert_eq!(status, StatusCode::OK);
    assert_eq!(found["entry"].as_array().map(Vec::len), Some(1), "{found}");
    assert_eq!(found["entry"][0]["resource"]["identifier"][0]["value"], nhs);
    let (status, patient) = body(s.get(&format!("/fhir/Patient/{nhs}"), &receptionist));
    assert_eq!(status, StatusCode::OK, "{patient}");
    assert_eq!(patient["resourceType"], "Patient");
    assert_eq!(patient["name"][0]["text"], PATIENTS[1].name);
    assert_eq!(patient["birthDate"], PATIENTS[1].birth_date);
    let (status, _) = body(s.get(
        &format!("/fhir/Patient/{}", OTHER_PATIENT.nhs_number),
        &receptionist,
    ));
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "another organisation's patient"
    );
    let (status, outcome) = body(s.get("/fhir/Patient?identifier=12345", &receptionist));
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(issue_text(&outcome).contains("NHS number"), "{outcome}");

    // A patient sees only themselves.
    let me = PATIENTS[0].nhs_number;
    let patient_token = s.token("patient", ORG, Some(me));
    let (_, mine) = body(s.get("/fhir/Patient", &patient_token));
    let ids: Vec<&str> = mine["entry"]
        .as_array()
        .map(|e| {
            e.iter()
                .filter_map(|e| e["resource"]["id"].as_str())
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(ids, vec![me], "{mine}");
    let (_, theirs) = body(s.get(&format!("/fhir/Patient?identifier={nhs}"), &patient_token));
    assert_eq!(
        theirs["entry"].as_array().map_or(0, Vec::len),
        0,
        "{theirs}"
    );
    let (status, _) = body(s.get(&format!("/fhir/Patient/{nhs}"), &patient_token));
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "answered as if it did not exist"
    );

    // Every slot's schedule resolves here.
    let (_, schedules) = body(s.get("/fhir/Schedule", &receptionist));
    assert_eq!(
        schedules["entry"].as_array().map(Vec::len),
        Some(2),
        "{schedules}"
    );
    let (_, slots) = body(s.get("/fhir/Slot?status=free&_count=20", &receptionist));
    for entry in slots["entry"].as_array().cloned().unwrap_or_default() {
        let reference = entry["resource"]["schedule"]["reference"]
            .as_str()
            .expect("schedule");
        let (status, schedule) = body(s.get(&format!("/fhir/{reference}"), &receptionist));
        assert_eq!(status, StatusCode::OK, "{reference}: {schedule}");
        assert_eq!(schedule["resourceType"], "Schedule");
        assert!(schedule["actor"][0]["display"].is_string(), "{schedule}");
    }
    let (status, _) = body(s.get("/fhir/Schedule/no-such-schedule", &receptionist));
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Reading a patient is audited, with the patient.
    let (_, trail) = body(s.get("/audit?action=patient.read", &auditor));
    let read = trail["entries"]
        .as_array()
        .and_then(|e| {
            e.iter()
                .find(|e| e["patient"] == nhs && e["outcome"] == "success")
        })
        .cloned();
    assert!(read.is_some(), "{trail}");
}

/// Every `reference` in a resource, wherever it is.
fn references(v: &Value, found: &mut Vec<String>) {
    match v {
        Value::Object(map) => {
            if let Some(Value::String(r)) = map.get("reference") {
                found.push(r.clone());
            }
            map.values().for_each(|v| references(v, found));
        }
        Value::Array(items) => items.iter().for_each(|v| references(v, found)),
        _ => {}
    }
}

#[test]
fn every_reference_a_record_makes_resolves_on_this_server() {
    let s = Server::start();
    let clinician = s.token("clinician", ORG, None);
    let receptionist = s.token("receptionist", ORG, None);

    // A booking, the demo's prescriptions and its allergy: their references.
    let slot = free_slots(&s, &clinician)
        .first()
        .and_then(|slot| slot["id"].as_str().map(str::to_string))
        .expect("a free slot");
    let (status, booked) = support::server::book(&s, &clinician, &slot, PATIENTS[0].nhs_number);
    assert_eq!(status, StatusCode::CREATED, "{booked}");
    let (status, slot_read) = body(s.get(&format!("/fhir/Slot/{slot}"), &receptionist));
    assert_eq!(status, StatusCode::OK, "{slot_read}");
    assert_eq!(slot_read["status"], "busy", "the booked slot, read by id");
    let (_, prescriptions) = body(s.get(
        &format!(
            "/fhir/MedicationRequest?patient={}&status=active",
            PATIENTS[2].nhs_number
        ),
        &clinician,
    ));
    let (status, allergies) = body(s.get(
        &format!(
            "/fhir/AllergyIntolerance?patient={}",
            PATIENTS[1].nhs_number
        ),
        &clinician,
    ));
    assert_eq!(status, StatusCode::OK, "{allergies}");
    let allergy = &allergies["entry"][0]["resource"];
    assert_eq!(
        allergy["code"]["coding"][0]["code"], "91936005",
        "{allergies}"
    );
    assert_eq!(allergy["criticality"], "high");
    let id = allergy["id"].as_str().expect("an allergy id");
    let (status, read) = body(s.get(&format!("/fhir/AllergyIntolerance/{id}"), &clinician));
    assert_eq!(status, StatusCode::OK, "{read}");
    assert_eq!(&read, allergy, "read and search agree");
    let (_, schedules) = body(s.get("/fhir/Schedule", &clinician));

    let mut all = Vec::new();
    for v in [&booked, &slot_read, &prescriptions, &allergies, &schedules] {
        references(v, &mut all);
    }
    for kind in ["Slot/", "Patient/", "Schedule/", "Practitioner/"] {
        assert!(
            all.iter().any(|r| r.starts_with(kind)),
            "no {kind} reference among {all:?}"
        );
    }
    for reference in &all {
        let (status, resource) = body(s.get(&format!("/fhir/{reference}"), &clinician));
        assert_eq!(status, StatusCode::OK, "{reference}: {resource}");
        let kind = reference.split('/').next().unwrap_or_default();
        assert_eq!(resource["resourceType"], kind, "{reference}");
    }
    let (_, practitioners) = body(s.get("/fhir/Practitioner", &clinician));
    let named = practitioners["entry"].as_array().map_or(0, Vec::len);
    assert!(
        named >= 2,
        "the two schedules' practitioners: {practitioners}"
    );

    // Allergies are for those who prescribe; unknown ids are 404.
    let (status, _) = body(s.get(
        &format!(
            "/fhir/AllergyIntolerance?patient={}",
            PATIENTS[1].nhs_number
        ),
        &receptionist,
    ));
    assert_eq!(status, StatusCode::FORBIDDEN);
    for path in [
        "/fhir/AllergyIntolerance/no-such-allergy",
        "/fhir/Practitioner/no-such-practitioner",
        "/fhir/Slot/no-such-slot",
    ] {
        let (status, outcome) = body(s.get(path, &clinician));
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}: {outcome}");
    }
}
