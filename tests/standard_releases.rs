//! A standard moves on, and no supplier must rebuild that day: a scheduling
//! module built against `care:scheduling@0.1.0` (the `scheduling-0-1`
//! fixture, with the SDK's first-release bindings) passes its conformance
//! suite on a host whose scheduling standard is 0.2.0; packaged, signed and
//! deployed like any module, it serves an organisation's bookings through
//! the public API, its calls adapted by the host, with traffic running
//! through the swaps in and out and every record readable whichever
//! release is live.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use patchbay::lifecycle::package::SupplierKey;
use patchbay::runtime::bundled::built_path;
use patchbay::store::demo::PATIENTS;
use reqwest::StatusCode;
use serde_json::Value;
use support::server::{
    Server, active_scheduling, body, book, book_and_cancel_until, cancellation, cli, conformance,
    package,
};

const ORG: &str = "Y90001";
const WREN: &str = "wren/scheduling@0.1.0";

#[test]
fn a_first_release_module_passes_its_conformance_suite() {
    let (passed, said) = conformance(&built_path("scheduling_0_1"), WREN);
    assert!(passed, "{said}");
    assert!(said.contains("0 failed"), "{said}");
    assert!(
        said.contains("care:scheduling/scheduling-provider@0.1.0"),
        "the report names the release it ran: {said}"
    );
}

/// The ids of up to `count` free slots, from the API's search.
fn free_slots(s: &Server, token: &str, count: u32) -> Vec<String> {
    let (status, bundle) = body(s.get(&format!("/fhir/Slot?status=free&_count={count}"), token));
    assert_eq!(status, StatusCode::OK, "{bundle}");
    bundle["entry"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .filter_map(|e| e["resource"]["id"].as_str().map(str::to_string))
        .collect()
}

/// Cancels an appointment over FHIR; (status, body).
fn cancel(s: &Server, token: &str, id: &str) -> (StatusCode, Value) {
    body(s.put(
        &format!("/fhir/Appointment/{id}"),
        token,
        &cancellation(id, "The patient is better"),
    ))
}

#[test]
fn a_first_release_module_serves_after_the_standard_moves() {
    let key = SupplierKey::generate();
    let s = Server::start_with(&format!(
        "suppliers = {{ wren = [\"{}\"] }}",
        key.public_key()
    ));
    let dir = s.data_dir.parent().expect("dir").to_path_buf();
    let wren = package(
        &dir,
        "scheduling_0_1",
        "wren",
        "scheduling",
        "0.1.0",
        Some(&key),
    );
    let admin = s.token("admin", ORG, None);
    let reception = s.token("receptionist", ORG, None);
    let (ok, said) = cli(&s, &admin, &["upload", &wren]);
    assert!(ok, "{said}");
    let newest = active_scheduling(&s, &admin);

    // Booked under the newest release's module.
    let slots = free_slots(&s, &reception, 3);
    assert_eq!(slots.len(), 3, "{slots:?}");
    let (status, before) = book(&s, &reception, &slots[0], PATIENTS[0].nhs_number);
    assert_eq!(status, StatusCode::CREATED, "{before}");
    let before = before["id"].as_str().expect("id").to_string();

    // A receptionist books the earliest free slot and cancels it, round
    // after round, throughout the swaps.
    let stop = Arc::new(AtomicBool::new(false));
    let earliest = |client: &reqwest::blocking::Client, base: &str, token: &str| {
        let bundle: Value = client
            .get(format!("{base}/fhir/Slot?status=free&_count=1"))
            .bearer_auth(token)
            .send()
            .and_then(|r| r.json())
            .ok()?;
        bundle["entry"][0]["resource"]["id"]
            .as_str()
            .map(str::to_string)
    };
    let traffic = book_and_cancel_until(
        &s,
        &reception,
        PATIENTS[1].nhs_number,
        earliest,
        stop.clone(),
    );

    // Swapped in: the first release's module serves, adapted.
    let (ok, said) = cli(
        &s,
        &admin,
        &[
            "deploy",
            "--function",
            "scheduling",
            "--module",
            WREN,
            "--reason",
            "The practice stays with Wren, built against 0.1.0",
        ],
    );
    assert!(ok, "{said}");
    assert_eq!(active_scheduling(&s, &admin), WREN);
    let offered = free_slots(&s, &reception, 5);
    assert!(
        !offered.is_empty() && offered.len() <= 5,
        "the search's count holds through the adapter: {offered:?}"
    );
    let (status, read) = body(s.get(&format!("/fhir/Appointment/{before}"), &reception));
    assert_eq!(
        status,
        StatusCode::OK,
        "booked under 0.2.0, read under 0.1.0: {read}"
    );
    // The traffic books the earliest free slot each round, never the third.
    let (status, during) = book(&s, &reception, &slots[2], PATIENTS[2].nhs_number);
    assert_eq!(status, StatusCode::CREATED, "{during}");
    let during = during["id"].as_str().expect("id").to_string();
    let (status, cancelled) = cancel(&s, &reception, &before);
    assert_eq!(status, StatusCode::OK, "{cancelled}");
    assert_eq!(cancelled["status"], "cancelled", "{cancelled}");
    let (status, mine) = body(s.get(
        &format!("/fhir/Appointment?patient={}", PATIENTS[2].nhs_number),
        &reception,
    ));
    assert_eq!(status, StatusCode::OK, "{mine}");
    assert!(mine.to_string().contains(&during), "{mine}");

    // Swapped back: what the first release's module wrote reads and
    // changes under the newest.
    let (ok, said) = cli(
        &s,
        &admin,
        &[
            "rollback",
            "--function",
            "scheduling",
            "--reason",
            "Back to the newest release's module",
        ],
    );
    assert!(ok, "{said}");
    assert_eq!(active_scheduling(&s, &admin), newest);
    stop.store(true, Ordering::Relaxed);
    let (rounds, failures) = traffic.join().expect("the traffic thread");
    assert!(failures.is_empty(), "every request answered: {failures:?}");
    assert!(
        rounds >= 2,
        "traffic ran through the swaps: {rounds} rounds"
    );
    let (status, read) = body(s.get(&format!("/fhir/Appointment/{during}"), &reception));
    assert_eq!(
        status,
        StatusCode::OK,
        "booked under 0.1.0, read under 0.2.0: {read}"
    );
    let (status, cancelled) = cancel(&s, &reception, &during);
    assert_eq!(status, StatusCode::OK, "{cancelled}");
    let (intact, said) = s.audit_verify();
    assert!(intact, "{said}");
}
