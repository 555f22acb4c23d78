//! A FHIR resource from a client, read as each route that takes one reads
//! it: an Appointment to book (`POST /fhir/Appointment`) or to cancel or
//! amend (`PUT`), a MedicationRequest to check or issue (also the CDS Hooks
//! draft orders) or to cancel, and FHIR instants from search parameters.
//! Any JSON must give a request or an error naming the field, never a panic.

#![no_main]

use libfuzzer_sys::fuzz_target;
use patchbay::api::fhir;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        // Search parameters carry instants and dates as text.
        let _ = fhir::parse_instant(text);
    }
    let Ok(body) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    let _ = fhir::expect_type(&body, "Appointment");
    let _ = fhir::booking_request(&body);
    let _ = fhir::appointment_change(&body);
    let _ = fhir::expect_type(&body, "MedicationRequest");
    let _ = fhir::draft(&body);
    let _ = fhir::request_cancellation(&body);
});
