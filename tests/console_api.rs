//! What the console needs from the host, over the real binary and HTTP (the
//! pages themselves are tested in a real browser, `tests/browser/`): its
//! files with their security headers, development sign-in (audited, and
//! only while the development key is trusted), a patient's own
//! prescriptions, the audit trail by time with the chain's verdict, and each
//! slot's call counts.

mod support;

use patchbay::store::demo::{ORG, PATIENTS};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use support::server::{Server, body, medication_request};

/// POST JSON without a token.
fn post_anonymous(s: &Server, path: &str, body: &Value) -> reqwest::blocking::Response {
    s.request(Method::POST, path, None)
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .expect("POST")
}

#[test]
fn the_console_is_served_from_the_binary_with_a_strict_policy() {
    let s = Server::start();
    let page = s.request(Method::GET, "/", None).send().expect("GET /");
    assert_eq!(page.status(), StatusCode::OK);
    let headers = page.headers().clone();
    assert_eq!(headers["content-type"], "text/html; charset=utf-8");
    let policy = headers["content-security-policy"].to_str().expect("policy");
    assert!(policy.contains("script-src 'self'"), "{policy}");
    assert!(policy.contains("connect-src 'self';"), "{policy}");
    assert!(policy.contains("frame-ancestors 'none'"), "{policy}");
    assert_eq!(headers["x-content-type-options"], "nosniff");
    let html = page.text().expect("html");
    assert!(html.contains(r#"<script type="module" src="/console/app.js">"#));
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "nothing fetched from elsewhere"
    );

    let script = s
        .request(Method::GET, "/console/pages/patient.js", None)
        .send()
        .expect("GET");
    assert_eq!(script.status(), StatusCode::OK);
    assert_eq!(
        script.headers()["content-type"],
        "text/javascript; charset=utf-8"
    );
    let (status, outcome) = body(
        s.request(Method::GET, "/console/../Cargo.toml", None)
            .send()
            .expect("GET"),
    );
    assert_eq!(status, StatusCode::NOT_FOUND, "{outcome}");
    let (status, outcome) = body(
        s.request(Method::GET, "/console/secrets.js", None)
            .send()
            .expect("GET"),
    );
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(outcome["resourceType"], "OperationOutcome");
}

#[test]
fn development_sign_in_gives_audited_tokens_the_api_accepts() {
    let s = Server::start();
    let (status, config) = body(
        s.request(Method::GET, "/auth/config", None)
            .send()
            .expect("GET"),
    );
    assert_eq!(status, StatusCode::OK);
    assert_eq!(config, json!({"mode": "development"}));
    let (status, users) = body(
        s.request(Method::GET, "/auth/dev-users", None)
            .send()
            .expect("GET"),
    );
    assert_eq!(status, StatusCode::OK, "{users}");
    let users = users["users"].as_array().expect("users").clone();
    let patient = users
        .iter()
        .find(|u| u["nhs_number"] == PATIENTS[1].nhs_number)
        .expect("a demo patient");
    for role in ["receptionist", "clinician", "admin", "auditor"] {
        assert!(users.iter().any(|u| u["role"] == role), "a demo {role}");
    }

    // A patient needs their NHS number; an unknown role or field is refused.
    let (status, outcome) = body(post_anonymous(
        &s,
        "/auth/dev-token",
        &json!({"user": "p", "role": "patient"}),
    ));
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(outcome.to_string().contains("NHS number"), "{outcome}");
    let (status, outcome) = body(post_anonymous(
        &s,
        "/auth/dev-token",
        &json!({"user": "x", "role": "superuser"}),
    ));
    assert_eq!(status, StatusCode::BAD_REQUEST, "{outcome}");
    assert!(outcome.to_string().contains("sign-in request"), "{outcome}");
    let (status, _) = body(post_anonymous(
        &s,
        "/auth/dev-token",
        &json!({"user": "x", "role": "admin", "admin": true}),
    ));
    assert_eq!(status, StatusCode::BAD_REQUEST);

    let (status, signed) = body(post_anonymous(&s, "/auth/dev-token", patient));
    assert_eq!(status, StatusCode::OK, "{signed}");
    assert_eq!(signed["token_type"], "Bearer");
    assert_eq!(signed["role"], "patient");
    let token = signed["access_token"].as_str().expect("token");
    let mine = format!("/fhir/Appointment?patient={}", PATIENTS[1].nhs_number);
    assert_eq!(s.get(&mine, token).status(), StatusCode::OK);
    let theirs = format!("/fhir/Appointment?patient={}", PATIENTS[2].nhs_number);
    assert_eq!(s.get(&theirs, token).status(), StatusCode::FORBIDDEN);

    let auditor = s.token("auditor", ORG, None);
    let (_, trail) = body(s.get("/audit?action=auth.dev-sign-in", &auditor));
    let entries = trail["entries"].as_array().expect("entries");
    assert_eq!(entries.len(), 1, "{trail}");
    assert_eq!(entries[0]["user"], patient["user"]);
    assert_eq!(entries[0]["role"], "patient");
    assert_eq!(entries[0]["patient"], PATIENTS[1].nhs_number);
}

#[test]
fn without_development_mode_there_is_no_development_sign_in() {
    let dir = Server::new_dir();
    std::fs::create_dir_all(&dir).expect("dir");
    let jwks = dir.join("jwks.json");
    // An identity provider's public key (P-256), as a trust would configure.
    std::fs::write(
        &jwks,
        json!({"keys": [{"kty": "EC", "crv": "P-256", "kid": "idp-1", "alg": "ES256", "use": "sig",
            "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
            "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}]})
        .to_string(),
    )
    .expect("jwks");
    let s = Server::start_in(
        &dir,
        Vec::new(),
        &format!(
            "demo = true\n[identity]\njwks_file = \"{}\"\nconsole_client_id = \"patchbay-console\"\nissuer = \"https://login.example.nhs.uk\"\n",
            jwks.display()
        ),
        "",
        "",
    );
    let (status, config) = body(
        s.request(Method::GET, "/auth/config", None)
            .send()
            .expect("GET"),
    );
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        config,
        json!({"mode": "oidc", "issuer": "https://login.example.nhs.uk", "client_id": "patchbay-console", "scope": "openid"})
    );
    let (status, outcome) = body(post_anonymous(
        &s,
        "/auth/dev-token",
        &json!({"user": "admin-1", "role": "admin"}),
    ));
    assert_eq!(status, StatusCode::NOT_FOUND, "{outcome}");
    assert!(
        outcome.to_string().contains("identity provider"),
        "{outcome}"
    );
    let users = s
        .request(Method::GET, "/auth/dev-users", None)
        .send()
        .expect("GET");
    assert_eq!(users.status(), StatusCode::NOT_FOUND);
    // The page may reach the identity provider, and nowhere else.
    let page = s.request(Method::GET, "/", None).send().expect("GET /");
    let policy = page.headers()["content-security-policy"]
        .to_str()
        .expect("policy")
        .to_string();
    assert!(
        policy.contains("connect-src 'self' https://login.example.nhs.uk;"),
        "{policy}"
    );
}

#[test]
fn a_patient_reads_their_own_prescriptions_only() {
    let s = Server::start();
    let clinician = s.token("clinician", ORG, None);
    let own = PATIENTS[0].nhs_number;
    let other = PATIENTS[1].nhs_number;
    let mut ids = Vec::new();
    for patient in [own, other] {
        let (status, issued) = body(s.post(
            "/fhir/MedicationRequest",
            &clinician,
            &medication_request(patient, "387517004", 500.0, None),
        ));
        assert_eq!(status, StatusCode::CREATED, "{issued}");
        ids.push(issued["id"].as_str().expect("id").to_string());
    }
    let patient = s.token("patient", ORG, Some(own));
    let (status, bundle) = body(s.get(
        &format!("/fhir/MedicationRequest?patient={own}&status=active"),
        &patient,
    ));
    assert_eq!(status, StatusCode::OK, "{bundle}");
    let found: Vec<&str> = bundle["entry"]
        .as_array()
        .expect("entries")
        .iter()
        .filter_map(|e| e["resource"]["id"].as_str())
        .collect();
    assert!(found.contains(&ids[0].as_str()), "{bundle}");
    let (status, _) = body(s.get(
        &format!("/fhir/MedicationRequest?patient={other}&status=active"),
        &patient,
    ));
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(
        s.get(&format!("/fhir/MedicationRequest/{}", ids[0]), &patient)
            .status(),
        StatusCode::OK
    );
    // Another patient's prescription is answered as one that does not exist.
    let (status, theirs) = body(s.get(&format!("/fhir/MedicationRequest/{}", ids[1]), &patient));
    assert_eq!(status, StatusCode::NOT_FOUND, "{theirs}");
    // Reading is all: a patient cannot issue or cancel.
    let (status, _) = body(s.post(
        "/fhir/MedicationRequest",
        &patient,
        &medication_request(own, "387517004", 500.0, None),
    ));
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[test]
fn the_audit_trail_filters_by_time_and_reports_its_chain() {
    let s = Server::start();
    let auditor = s.token("auditor", ORG, None);
    let receptionist = s.token("receptionist", ORG, None);
    let patient = PATIENTS[0].nhs_number;
    let search = format!("/fhir/Appointment?patient={patient}");
    assert_eq!(s.get(&search, &receptionist).status(), StatusCode::OK);
    let (_, first) = body(s.get("/audit?action=appointment.search", &auditor));
    let first_time = first["entries"][0]["time_ms"].as_i64().expect("time");
    std::thread::sleep(std::time::Duration::from_millis(20));
    assert_eq!(s.get(&search, &receptionist).status(), StatusCode::OK);
    let (_, both) = body(s.get("/audit?action=appointment.search", &auditor));
    assert_eq!(both["entries"].as_array().expect("entries").len(), 2);
    let second_time = both["entries"][1]["time_ms"].as_i64().expect("time");
    assert!(second_time > first_time);

    let (_, later) = body(s.get(
        &format!("/audit?action=appointment.search&since={}", first_time + 1),
        &auditor,
    ));
    let later = later["entries"].as_array().expect("entries");
    assert_eq!(later.len(), 1);
    assert_eq!(later[0]["time_ms"], second_time);
    let (_, earlier) = body(s.get(
        &format!("/audit?action=appointment.search&until={}", first_time + 1),
        &auditor,
    ));
    let earlier = earlier["entries"].as_array().expect("entries");
    assert_eq!(earlier.len(), 1);
    assert_eq!(earlier[0]["time_ms"], first_time);
    let (status, outcome) = body(s.get("/audit?since=yesterday", &auditor));
    assert_eq!(status, StatusCode::BAD_REQUEST, "{outcome}");

    let (status, verdict) = body(s.get("/audit/verify", &auditor));
    assert_eq!(status, StatusCode::OK, "{verdict}");
    assert_eq!(verdict["intact"], true);
    assert!(verdict["entries"].as_i64().expect("entries") >= 4);
    assert_eq!(
        s.get("/audit/verify", &receptionist).status(),
        StatusCode::FORBIDDEN
    );
    // Tampering shows in the verdict.
    s.connection()
        .execute(
            "UPDATE audit_trail SET outcome = 'changed' WHERE action = 'appointment.search'",
            &[],
        )
        .expect("tamper");
    let (_, verdict) = body(s.get("/audit/verify", &auditor));
    assert_eq!(verdict["intact"], false, "{verdict}");
    assert!(verdict["seq"].as_i64().is_some(), "{verdict}");
}

#[test]
fn each_slot_reports_its_modules_calls() {
    let s = Server::start();
    let admin = s.token("admin", ORG, None);
    let receptionist = s.token("receptionist", ORG, None);
    let calls = |s: &Server| -> i64 {
        let (status, slots) = body(s.get("/admin/slots", &admin));
        assert_eq!(status, StatusCode::OK, "{slots}");
        let scheduling = slots["slots"]
            .as_array()
            .expect("slots")
            .iter()
            .find(|x| x["function"] == "scheduling")
            .cloned()
            .expect("scheduling");
        assert_eq!(scheduling["calls"]["failures"], 0, "{scheduling}");
        scheduling["calls"]["calls"].as_i64().expect("calls")
    };
    let before = calls(&s);
    for _ in 0..3 {
        assert_eq!(
            s.get("/fhir/Slot?status=free&_count=2", &receptionist)
                .status(),
            StatusCode::OK
        );
    }
    assert_eq!(calls(&s), before + 3);
}

#[test]
fn staff_see_a_days_appointments_by_schedule_and_patients_do_not() {
    let s = Server::start();
    let receptionist = s.token("receptionist", ORG, None);
    let (status, bundle) = body(s.get("/fhir/Slot?status=free&_count=1", &receptionist));
    assert_eq!(status, StatusCode::OK, "{bundle}");
    let slot = bundle["entry"][0]["resource"].clone();
    let slot_id = slot["id"].as_str().expect("slot id");
    let schedule = slot["schedule"]["reference"].as_str().expect("schedule");
    let (status, booked) = body(s.post(
        "/fhir/Appointment",
        &receptionist,
        &support::server::appointment(slot_id, PATIENTS[3].nhs_number),
    ));
    assert_eq!(status, StatusCode::CREATED, "{booked}");
    let id = booked["id"].as_str().expect("id");
    let day = &booked["start"].as_str().expect("start")[..10];
    let ids = |query: &str, token: &str| -> Vec<String> {
        let (status, bundle) = body(s.get(&format!("/fhir/Appointment?{query}"), token));
        assert_eq!(status, StatusCode::OK, "{bundle}");
        bundle["entry"]
            .as_array()
            .map(|e| {
                e.iter()
                    .filter_map(|x| x["resource"]["id"].as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    };
    assert!(ids(&format!("date={day}"), &receptionist).contains(&id.to_string()));
    assert!(
        ids(&format!("date={day}&schedule={schedule}"), &receptionist).contains(&id.to_string())
    );
    let (_, schedules) = body(s.get("/fhir/Schedule", &receptionist));
    let other = schedules["entry"]
        .as_array()
        .expect("schedules")
        .iter()
        .filter_map(|e| e["resource"]["id"].as_str())
        .find(|other| format!("Schedule/{other}") != schedule)
        .expect("a second schedule")
        .to_string();
    assert!(!ids(&format!("date={day}&schedule={other}"), &receptionist).contains(&id.to_string()));
    // Another organisation's staff see none of it.
    let theirs = s.token("receptionist", patchbay::store::demo::OTHER_ORG, None);
    assert!(!ids(&format!("date={day}"), &theirs).contains(&id.to_string()));
    // A patient searches their own, by NHS number, never a day.
    let patient = s.token("patient", ORG, Some(PATIENTS[3].nhs_number));
    let (status, outcome) = body(s.get(&format!("/fhir/Appointment?date={day}"), &patient));
    assert_eq!(status, StatusCode::FORBIDDEN, "{outcome}");
    let (status, outcome) = body(s.get("/fhir/Appointment?date=tomorrow", &receptionist));
    assert_eq!(status, StatusCode::BAD_REQUEST, "{outcome}");
    assert!(outcome.to_string().contains("YYYY-MM-DD"), "{outcome}");
}
