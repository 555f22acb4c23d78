//! A module in TypeScript: Fenwick Care Software Ltd's scheduling module
//! (telephone first), written with the TypeScript SDK and built from source
//! by jco and componentize-js (`sdk/typescript/build`), passes the
//! conformance suite unchanged; packaged and signed like the Rust modules,
//! it takes over an organisation's scheduling from a Rust module in a hot
//! swap under traffic and hands it back, with no failed request and every
//! appointment readable whichever module is live.

mod support;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use patchbay::lifecycle::package::{Package, SupplierKey};
use patchbay::runtime::call_state::now_ms;
use patchbay::store::demo::PATIENTS;
use patchbay_sdk::time::{DAY, civil_from_days};
use reqwest::StatusCode;
use serde_json::Value;
use support::server::{
    Server, active_scheduling, appointment, body, book_and_cancel_until, build_typescript_module,
    cancellation, cli, conformance, root,
};

const ORG: &str = "Y90001";
const FENWICK: &str = "fenwick/scheduling@1.0.0";

/// Builds Fenwick's module from source (skipped when it is up to date).
fn fenwick() -> PathBuf {
    let out = root().join("target/typescript-modules/fenwick_scheduling.wasm");
    build_typescript_module(&root().join("modules/fenwick-scheduling"), &out);
    out
}

#[test]
fn the_typescript_module_passes_the_conformance_suite_unchanged() {
    let (passed, said) = conformance(&fenwick(), FENWICK);
    assert!(passed, "{said}");
    assert!(said.contains("9 passed, 0 failed"), "{said}");
}

/// The date `days` from today (UTC), as FHIR writes it and as the demo's
/// slot ids carry it (`yyyymmdd` when `compact`).
fn date(days: i64, compact: bool) -> String {
    let (y, m, d) = civil_from_days(now_ms() / DAY + days);
    if compact {
        format!("{y:04}{m:02}{d:02}")
    } else {
        format!("{y:04}-{m:02}-{d:02}")
    }
}

/// Free slots from tomorrow on, by the API's search: (id, by telephone).
fn slots_from_tomorrow(
    client: &reqwest::blocking::Client,
    base: &str,
    token: &str,
) -> Vec<(String, bool)> {
    let bundle: Value = client
        .get(format!(
            "{base}/fhir/Slot?status=free&start=ge{}&_count=40",
            date(1, false)
        ))
        .bearer_auth(token)
        .send()
        .and_then(|r| r.json())
        .unwrap_or(Value::Null);
    bundle["entry"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|e| &e["resource"])
        .filter_map(|slot| {
            let telephone = slot.to_string().contains("\"valueCode\":\"Telephone\"");
            slot["id"].as_str().map(|id| (id.to_string(), telephone))
        })
        .collect()
}

/// Free telephone slots from tomorrow on: what Meridian (any future slot)
/// and Fenwick (telephone from 30 minutes to 7 days ahead) both offer and
/// accept.
fn telephone_slots(client: &reqwest::blocking::Client, base: &str, token: &str) -> Vec<String> {
    slots_from_tomorrow(client, base, token)
        .into_iter()
        .filter_map(|(id, telephone)| telephone.then_some(id))
        .collect()
}

#[test]
fn scheduling_moves_from_rust_to_typescript_and_back_under_traffic() {
    let wasm = fenwick();
    let key = SupplierKey::generate();
    let s = Server::start_with(&format!(
        "suppliers = {{ fenwick = [\"{}\"] }}",
        key.public_key()
    ));
    let dir = s.data_dir.parent().expect("dir").to_path_buf();
    let manifest = std::fs::read_to_string(root().join("modules/fenwick-scheduling/manifest.toml"))
        .expect("manifest");
    let package = Package::build(&manifest, &std::fs::read(&wasm).expect("wasm"), Some(&key))
        .expect("a signed package");
    let path = dir.join("fenwick.carepkg");
    std::fs::write(&path, serde_json::to_string(&package).expect("json")).expect("write");
    let admin = s.token("admin", ORG, None);
    let reception = s.token("receptionist", ORG, None);
    let (ok, said) = cli(&s, &admin, &["upload", path.to_str().expect("path")]);
    assert!(ok, "{said}");
    let rust = active_scheduling(&s, &admin);
    let client = reqwest::blocking::Client::new();

    // Booked under the Rust module.
    let slots = telephone_slots(&client, &s.base, &reception);
    assert!(slots.len() >= 3, "{slots:?}");
    let tomorrow = date(1, true);
    let in_person_tomorrow = slots_from_tomorrow(&client, &s.base, &reception)
        .into_iter()
        .find(|(id, telephone)| !telephone && id.contains(&tomorrow))
        .map(|(id, _)| id)
        .expect("the Rust module offers tomorrow's in-person slots");
    let (status, before) = body(s.post(
        "/fhir/Appointment",
        &reception,
        &appointment(&slots[0], PATIENTS[0].nhs_number),
    ));
    assert_eq!(status, StatusCode::CREATED, "{before}");
    let before = before["id"].as_str().expect("id").to_string();

    // A receptionist books a telephone slot and cancels it, round after
    // round, through both swaps: every answer a success.
    let stop = Arc::new(AtomicBool::new(false));
    let first_telephone = |client: &reqwest::blocking::Client, base: &str, token: &str| {
        telephone_slots(client, base, token).into_iter().next()
    };
    let traffic = book_and_cancel_until(
        &s,
        &reception,
        PATIENTS[1].nhs_number,
        first_telephone,
        stop.clone(),
    );

    // Swapped in: Fenwick serves, with its own policy.
    let (ok, said) = cli(
        &s,
        &admin,
        &[
            "deploy",
            "--function",
            "scheduling",
            "--module",
            FENWICK,
            "--reason",
            "The practice chose Fenwick's telephone-first booking",
        ],
    );
    assert!(ok, "{said}");
    assert_eq!(active_scheduling(&s, &admin), FENWICK);
    let (status, read) = body(s.get(&format!("/fhir/Appointment/{before}"), &reception));
    assert_eq!(
        status,
        StatusCode::OK,
        "booked under Rust, read under TypeScript: {read}"
    );
    // Same-day care starts with a call: Fenwick offers no in-person slot
    // today or tomorrow, and refuses one booked by id.
    let (status, offered) = body(s.get("/fhir/Slot?status=free&_count=100", &reception));
    assert_eq!(status, StatusCode::OK, "{offered}");
    let entries = offered["entry"].as_array().cloned().unwrap_or_default();
    assert!(!entries.is_empty(), "{offered}");
    for entry in &entries {
        let text = entry.to_string();
        let soon = text.contains(&date(0, true)) || text.contains(&tomorrow);
        assert!(
            !soon || text.contains("\"valueCode\":\"Telephone\""),
            "an in-person slot within two days is offered: {entry}"
        );
    }
    let (status, refused) = body(s.post(
        "/fhir/Appointment",
        &reception,
        &appointment(&in_person_tomorrow, PATIENTS[3].nhs_number),
    ));
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
    let (status, during) = body(s.post(
        "/fhir/Appointment",
        &reception,
        &appointment(&slots[2], PATIENTS[2].nhs_number),
    ));
    assert_eq!(status, StatusCode::CREATED, "{during}");
    let during = during["id"].as_str().expect("id").to_string();

    // Swapped back: what Fenwick wrote reads and changes under Rust.
    let (ok, said) = cli(
        &s,
        &admin,
        &[
            "rollback",
            "--function",
            "scheduling",
            "--reason",
            "Back to the Rust module",
        ],
    );
    assert!(ok, "{said}");
    assert_eq!(active_scheduling(&s, &admin), rust);
    stop.store(true, Ordering::Relaxed);
    let (rounds, failures) = traffic.join().expect("the traffic thread");
    assert!(failures.is_empty(), "every request answered: {failures:?}");
    assert!(
        rounds >= 2,
        "traffic ran through the swaps: {rounds} rounds"
    );
    for id in [&before, &during] {
        let (status, read) = body(s.get(&format!("/fhir/Appointment/{id}"), &reception));
        assert_eq!(status, StatusCode::OK, "{read}");
    }
    let (status, cancelled) = body(s.put(
        &format!("/fhir/Appointment/{during}"),
        &reception,
        &cancellation(&during, "The patient is better"),
    ));
    assert_eq!(status, StatusCode::OK, "{cancelled}");
    let (intact, said) = s.audit_verify();
    assert!(intact, "{said}");
}
