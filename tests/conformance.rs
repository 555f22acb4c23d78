//! The conformance kit: every bundled module passes its standard's suite;
//! each deliberately non-compliant fixture fails exactly the checks it
//! breaks; the command reports as text, JSON and JUnit XML, and its exit code
//! says whether the module passed.
//!
//! One engine: the kit runs every module on a scratch SQLite store of its
//! own, whatever store the host uses.

use std::process::Command;

use patchbay::lifecycle::conformance;
use patchbay::runtime::bundled::{self, built_path};

fn run_fixture(stem: &str) -> conformance::Report {
    let bytes = std::fs::read(built_path(stem)).expect("fixture built");
    conformance::run(
        format!("testing/{}@0.1.0", stem.replace('_', "-"))
            .parse()
            .expect("id"),
        &bytes,
        &Default::default(),
    )
    .expect("run")
}

#[test]
fn every_bundled_module_passes_its_suite() {
    for module in bundled::ALL {
        let report =
            conformance::run(module.module_id(), module.bytes, &Default::default()).expect("run");
        assert!(report.passed(), "{}", report.text());
        assert!(report.results.len() >= 8, "{}", report.text());
    }
}

#[test]
fn a_module_that_ignores_the_atomic_take_fails_the_slot_state_checks() {
    let report = run_fixture("double_booker");
    assert_eq!(
        report.failed(),
        vec![
            "scheduling.book.slot-taken",
            "scheduling.cancel.frees-slot",
            "scheduling.amend.moves-atomically"
        ],
        "{}",
        report.text()
    );
}

#[test]
fn a_module_that_never_says_critical_fails_the_critical_checks() {
    let report = run_fixture("never_critical");
    assert_eq!(
        report.failed(),
        vec![
            "prescribing.check.interaction-anticoagulant",
            "prescribing.check.interaction-statin-macrolide",
            "prescribing.check.allergy",
            "prescribing.issue.refused-on-critical",
        ],
        "{}",
        report.text()
    );
}

#[test]
fn a_module_that_panics_on_an_edge_case_fails_only_that_check() {
    let report = run_fixture("panicky_scheduling");
    assert_eq!(
        report.failed(),
        vec!["scheduling.book.optional-fields"],
        "{}",
        report.text()
    );
    let reason = report
        .results
        .iter()
        .find(|r| !r.passed)
        .and_then(|r| r.reason.clone())
        .unwrap_or_default();
    assert!(
        reason.contains("failed"),
        "the reason says the module failed: {reason}"
    );
}

#[test]
fn the_command_reports_as_text_json_and_junit() {
    let dir = std::env::temp_dir().join(format!(
        "conformance-{}",
        patchbay::store::records::new_id()
    ));
    std::fs::create_dir_all(&dir).expect("dir");
    let run = |stem: &str| {
        Command::new(env!("CARGO_BIN_EXE_patchbay"))
            .args(["conformance", "--id", "testing/module@1.0.0", "--json"])
            .arg(dir.join(format!("{stem}.json")))
            .arg("--junit")
            .arg(dir.join(format!("{stem}.xml")))
            .arg(built_path(stem))
            .output()
            .expect("patchbay conformance")
    };
    let good = run("meridian_scheduling");
    let text = String::from_utf8_lossy(&good.stdout);
    assert!(good.status.success(), "{text}");
    assert!(
        text.contains("PASS scheduling.book.double-booking-conflict"),
        "{text}"
    );
    assert!(text.contains("9 checks: 9 passed, 0 failed"), "{text}");

    let bad = run("panicky_scheduling");
    let text = String::from_utf8_lossy(&bad.stdout);
    assert_eq!(bad.status.code(), Some(1), "{text}");
    assert!(
        text.contains("FAIL scheduling.book.optional-fields"),
        "{text}"
    );
    assert!(
        text.contains("see: care:scheduling/booking.booking-request"),
        "{text}"
    );
    let json: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("panicky_scheduling.json")).expect("json"),
    )
    .expect("parse");
    let failed: Vec<&str> = json["results"]
        .as_array()
        .expect("results")
        .iter()
        .filter(|r| r["passed"] == false)
        .filter_map(|r| r["id"].as_str())
        .collect();
    assert_eq!(failed, vec!["scheduling.book.optional-fields"]);
    let xml = std::fs::read_to_string(dir.join("panicky_scheduling.xml")).expect("junit");
    assert!(xml.contains("tests=\"9\" failures=\"1\""), "{xml}");
    assert!(xml.contains("<testcase classname=\"care:scheduling/scheduling-provider@0.2.0\" name=\"scheduling.book.optional-fields\">\n    <failure"), "{xml}");
    let _ = std::fs::remove_dir_all(dir);
}
