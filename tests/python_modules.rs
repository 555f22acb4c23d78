//! A module in another language: Heron Clinical Software Ltd's prescribing
//! module, written in Python with the Python SDK and built from source by
//! componentize-py (`sdk/python/build`), passes the conformance suite
//! unchanged; packaged and signed like the Rust modules, it is tried in a
//! shadow beside Northwind's (the report shows where their knowledge
//! differs), then serves an organisation's prescribing after a hot swap,
//! and its prescriptions stay readable after a swap back.

mod support;

use std::path::PathBuf;

use reqwest::StatusCode;
use serde_json::Value;
use support::server::{
    Server, body, build_python_module, cli, conformance, medication_request, root,
};

use patchbay::lifecycle::package::{Package, SupplierKey};
use patchbay::store::demo::PATIENTS;

const ORG: &str = "Y90001";
const HERON: &str = "heron/prescribing@1.0.0";

/// Builds Heron's module from source (skipped when it is up to date).
fn heron() -> PathBuf {
    let out = root().join("target/python-modules/heron_prescribing.wasm");
    build_python_module(&root().join("modules/heron-prescribing"), &out);
    out
}

#[test]
fn the_python_module_passes_the_conformance_suite_unchanged() {
    let (passed, said) = conformance(&heron(), HERON);
    assert!(passed, "{said}");
    assert!(said.contains("8 passed, 0 failed"), "{said}");
}

#[test]
fn the_python_module_is_shadowed_swapped_in_and_swapped_out_with_every_record_readable() {
    let wasm = heron();
    let key = SupplierKey::generate();
    let s = Server::start_with(&format!(
        "suppliers = {{ heron = [\"{}\"] }}",
        key.public_key()
    ));
    let dir = s.data_dir.parent().expect("dir").to_path_buf();
    let manifest = std::fs::read_to_string(root().join("modules/heron-prescribing/manifest.toml"))
        .expect("manifest");
    let package = Package::build(&manifest, &std::fs::read(&wasm).expect("wasm"), Some(&key))
        .expect("a signed package");
    let path = dir.join("heron.carepkg");
    std::fs::write(&path, serde_json::to_string(&package).expect("json")).expect("write");
    let admin = s.token("admin", ORG, None);
    let clinician = s.token("clinician", ORG, None);
    let (ok, said) = cli(&s, &admin, &["upload", path.to_str().expect("path")]);
    assert!(ok, "{said}");

    // A shadow beside Northwind: Heron warns about an NSAID from 65, which
    // Northwind does not, so their answers differ for an older patient.
    let (ok, said) = cli(
        &s,
        &admin,
        &[
            "shadow",
            "--function",
            "prescribing",
            "--module",
            HERON,
            "--reason",
            "Compare Heron's knowledge with Northwind's",
        ],
    );
    assert!(ok, "{said}");
    let older = PATIENTS[0].nhs_number;
    let (status, issued) = body(s.post(
        "/fhir/MedicationRequest",
        &clinician,
        &medication_request(older, "387207008", 400.0, None),
    ));
    assert_eq!(status, StatusCode::CREATED, "Northwind answers: {issued}");
    let (ok, said) = cli(&s, &admin, &["trial", "--function", "prescribing"]);
    assert!(ok, "{said}");
    let trial: Value = serde_json::from_str(&said).expect("the trial as JSON");
    let report = &trial["trial"]["report"];
    assert!(
        report["functions"]["issue"]["differed"]
            .as_u64()
            .unwrap_or(0)
            >= 1,
        "{trial}"
    );
    let (ok, said) = cli(
        &s,
        &admin,
        &[
            "abort",
            "--function",
            "prescribing",
            "--reason",
            "Seen enough",
        ],
    );
    assert!(ok, "{said}");

    // Traffic throughout the swaps: prescriptions issued one after another,
    // each answered 201 whichever module is live, each readable at the end.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let traffic = {
        let (stop, base, token) = (stop.clone(), s.base.clone(), clinician.clone());
        std::thread::spawn(move || {
            let client = reqwest::blocking::Client::new();
            let mut answers = Vec::new();
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let answer = client
                    .post(format!("{base}/fhir/MedicationRequest"))
                    .bearer_auth(&token)
                    .header("Content-Type", "application/fhir+json")
                    .body(
                        medication_request(PATIENTS[4].nhs_number, "387517004", 500.0, None)
                            .to_string(),
                    )
                    .send();
                answers.push(match answer {
                    Ok(r) => {
                        let status = r.status();
                        let id = r
                            .json::<Value>()
                            .ok()
                            .and_then(|v| v["id"].as_str().map(str::to_string));
                        (status, id)
                    }
                    Err(e) => panic!("a request failed during the swaps: {e}"),
                });
            }
            answers
        })
    };

    // Swapped in: Heron answers, in its own words.
    let (ok, said) = cli(
        &s,
        &admin,
        &[
            "deploy",
            "--function",
            "prescribing",
            "--module",
            HERON,
            "--reason",
            "The practice chose Heron",
        ],
    );
    assert!(ok, "{said}");
    let on_warfarin = PATIENTS[2].nhs_number;
    let (status, refused) = body(s.post(
        "/fhir/MedicationRequest",
        &clinician,
        &medication_request(on_warfarin, "387207008", 400.0, None),
    ));
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
    let text = refused["issue"][0]["diagnostics"]
        .as_str()
        .unwrap_or_default();
    assert!(text.contains("Ibuprofen with Warfarin: avoid"), "{refused}");
    let (status, by_heron) = body(s.post(
        "/fhir/MedicationRequest",
        &clinician,
        &medication_request(PATIENTS[3].nhs_number, "387517004", 1000.0, None),
    ));
    assert_eq!(status, StatusCode::CREATED, "{by_heron}");
    let id = by_heron["id"].as_str().expect("id").to_string();

    // Swapped back: what Heron wrote is the trust's, in standard form.
    let (ok, said) = cli(
        &s,
        &admin,
        &[
            "rollback",
            "--function",
            "prescribing",
            "--reason",
            "Back to Northwind",
        ],
    );
    assert!(ok, "{said}");
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let answers = traffic.join().expect("the traffic thread");
    assert!(
        answers.len() >= 3,
        "traffic ran through the swaps: {answers:?}"
    );
    for (status, id) in &answers {
        assert_eq!(*status, StatusCode::CREATED, "{answers:?}");
        let id = id.as_deref().expect("an id");
        let (status, read) = body(s.get(&format!("/fhir/MedicationRequest/{id}"), &clinician));
        assert_eq!(status, StatusCode::OK, "{read}");
    }
    for prescription in [&id, issued["id"].as_str().expect("id")] {
        let (status, read) = body(s.get(
            &format!("/fhir/MedicationRequest/{prescription}"),
            &clinician,
        ));
        assert_eq!(status, StatusCode::OK, "{read}");
    }
    let (status, refused) = body(s.post(
        "/fhir/MedicationRequest",
        &clinician,
        &medication_request(on_warfarin, "387207008", 400.0, None),
    ));
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let text = refused["issue"][0]["diagnostics"]
        .as_str()
        .unwrap_or_default();
    assert!(
        !text.contains("Ibuprofen with Warfarin: avoid"),
        "Northwind again: {refused}"
    );
}
