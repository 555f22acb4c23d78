//! Prescribing through the host and Northwind's compiled module: checks give
//! the right cards for the patient's record; issuing is refused while a
//! critical card stands and accepted with an override reason, which is kept.

mod support;

use patchbay::CallError;
use patchbay::runtime::bindings::{Coding, IssueCode};
use patchbay::runtime::bundled::NORTHWIND_PRESCRIBING;
use patchbay::runtime::prescribing::{
    Card, CardCategory, Dosage, Draft, Indicator, RequestIntent, RequestStatus,
};
use patchbay::store::demo::{ORG, OTHER_PATIENT, PATIENTS};
use support::Harness;

const PARACETAMOL: &str = "387517004";
const IBUPROFEN: &str = "387207008";
const NAPROXEN: &str = "372588000";
const AMOXICILLIN: &str = "372687004";
const CEFUROXIME: &str = "372833007";
const CLARITHROMYCIN: &str = "387487009";

fn draft(patient: &str, code: &str, dose_mg: f64, per_day: u32) -> Draft {
    Draft {
        patient: patient.to_string(),
        medication: Coding {
            system: patchbay_sdk::coding::SNOMED_CT.to_string(),
            code: code.to_string(),
            display: None,
        },
        dosage: Dosage {
            text: format!("{dose_mg} mg {per_day} times a day"),
            dose: dose_mg,
            unit: "mg".to_string(),
            frequency_per_day: per_day,
            as_needed: false,
            route: None,
        },
        intent: RequestIntent::Order,
    }
}

fn has(cards: &[Card], category: CardCategory, indicator: Indicator) -> bool {
    cards
        .iter()
        .any(|c| c.category == category && c.indicator == indicator)
}

fn harness() -> Harness {
    let h = Harness::new();
    h.deploy(ORG, NORTHWIND_PRESCRIBING);
    h
}

#[test]
fn a_clean_prescription_has_no_cards() {
    let h = harness();
    let api = h.runtime.ordering(h.ctx(ORG)).expect("module");
    let cards = api
        .check(&draft(PATIENTS[0].nhs_number, PARACETAMOL, 1000.0, 4))
        .expect("check");
    assert!(cards.is_empty(), "{cards:?}");
}

#[test]
fn interactions_with_current_medication_are_critical() {
    let h = harness();
    let api = h.runtime.ordering(h.ctx(ORG)).expect("module");
    // Patient three takes warfarin.
    let cards = api
        .check(&draft(PATIENTS[2].nhs_number, IBUPROFEN, 400.0, 3))
        .expect("check");
    assert!(
        has(&cards, CardCategory::Interaction, Indicator::Critical),
        "{cards:?}"
    );
    let card = cards
        .iter()
        .find(|c| c.category == CardCategory::Interaction)
        .expect("card");
    assert!(
        card.summary.to_lowercase().contains("warfarin"),
        "{}",
        card.summary
    );
    assert!(card.summary.chars().count() < 140);
    assert!(!card.source.label.is_empty());
    assert!(!card.suggestions.is_empty());
    // Patient four takes simvastatin.
    let cards = api
        .check(&draft(PATIENTS[3].nhs_number, CLARITHROMYCIN, 500.0, 2))
        .expect("check");
    assert!(
        has(&cards, CardCategory::Interaction, Indicator::Critical),
        "{cards:?}"
    );
    // The same medicine for a patient on nothing: no interaction.
    let cards = api
        .check(&draft(PATIENTS[0].nhs_number, IBUPROFEN, 400.0, 3))
        .expect("check");
    assert!(
        !cards
            .iter()
            .any(|c| c.category == CardCategory::Interaction),
        "{cards:?}"
    );
}

#[test]
fn allergies_and_cross_sensitivity() {
    let h = harness();
    let api = h.runtime.ordering(h.ctx(ORG)).expect("module");
    // Patient two is allergic to penicillin.
    let cards = api
        .check(&draft(PATIENTS[1].nhs_number, AMOXICILLIN, 500.0, 3))
        .expect("check");
    assert!(
        has(&cards, CardCategory::Allergy, Indicator::Critical),
        "{cards:?}"
    );
    let cards = api
        .check(&draft(PATIENTS[1].nhs_number, CEFUROXIME, 250.0, 2))
        .expect("check");
    assert!(
        has(&cards, CardCategory::Allergy, Indicator::Warning),
        "{cards:?}"
    );
    let cards = api
        .check(&draft(PATIENTS[0].nhs_number, AMOXICILLIN, 500.0, 3))
        .expect("check");
    assert!(
        !cards.iter().any(|c| c.category == CardCategory::Allergy),
        "{cards:?}"
    );
}

#[test]
fn dose_ranges_and_duplicate_therapy() {
    let h = harness();
    let api = h.runtime.ordering(h.ctx(ORG)).expect("module");
    let cards = api
        .check(&draft(PATIENTS[0].nhs_number, PARACETAMOL, 1000.0, 6))
        .expect("check");
    assert!(
        cards
            .iter()
            .any(|c| c.category == CardCategory::DoseRange && c.indicator != Indicator::Info),
        "{cards:?}"
    );
    let cards = api
        .check(&draft(PATIENTS[0].nhs_number, IBUPROFEN, 2400.0, 1))
        .expect("check");
    assert!(
        has(&cards, CardCategory::DoseRange, Indicator::Critical),
        "{cards:?}"
    );
    // A child: adult ranges do not apply, and the module says so.
    let cards = api
        .check(&draft(PATIENTS[4].nhs_number, PARACETAMOL, 1000.0, 6))
        .expect("check");
    assert!(
        !cards.iter().any(|c| c.category == CardCategory::DoseRange),
        "{cards:?}"
    );
    assert!(
        cards.iter().any(|c| c.indicator == Indicator::Info),
        "{cards:?}"
    );

    // Two NSAIDs: issue ibuprofen, then check naproxen.
    let issued = api
        .issue(&draft(PATIENTS[0].nhs_number, IBUPROFEN, 400.0, 3), None)
        .expect("issue");
    assert!(issued.cards.is_empty(), "{:?}", issued.cards);
    let cards = api
        .check(&draft(PATIENTS[0].nhs_number, NAPROXEN, 250.0, 2))
        .expect("check");
    assert!(
        has(&cards, CardCategory::DuplicateTherapy, Indicator::Warning),
        "{cards:?}"
    );
}

#[test]
fn issue_is_refused_on_a_critical_card_and_accepted_with_an_override() {
    let h = harness();
    let api = h.runtime.ordering(h.ctx(ORG)).expect("module");
    let patient = PATIENTS[2].nhs_number;
    let risky = draft(patient, IBUPROFEN, 400.0, 3);
    match api.issue(&risky, None) {
        Err(CallError::Refused(o)) => {
            assert_eq!(o.code(), IssueCode::BusinessRule);
            assert!(
                o.diagnostics().to_lowercase().contains("warfarin"),
                "{}",
                o.diagnostics()
            );
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    // A blank reason is no reason.
    assert!(matches!(
        api.issue(&risky, Some("  ")),
        Err(CallError::Refused(_))
    ));
    let active_before = api.active(patient).expect("active");
    assert_eq!(
        active_before.len(),
        1,
        "only the warfarin: nothing was issued"
    );

    let reason = "Short course agreed with haematology; INR monitored";
    let issued = api
        .issue(&risky, Some(reason))
        .expect("issued with override");
    assert!(
        issued
            .cards
            .iter()
            .any(|c| c.indicator == Indicator::Critical)
    );
    let request = issued.request;
    assert_eq!(request.status, RequestStatus::Active);
    assert_eq!(request.override_reason.as_deref(), Some(reason));
    assert_eq!(
        request.requester.id, "test-clinician",
        "the requester is the caller, set by the host"
    );
    assert_eq!(api.read(&request.id).expect("read"), request);
    assert_eq!(api.active(patient).expect("active").len(), 2);

    let cancelled = api.cancel(&request.id, "Pain settled").expect("cancel");
    assert_eq!(cancelled.status, RequestStatus::Cancelled);
    assert_eq!(cancelled.status_reason.as_deref(), Some("Pain settled"));
    assert_eq!(api.active(patient).expect("active").len(), 1);
    assert!(
        matches!(api.cancel(&request.id, "again"), Err(CallError::Refused(o)) if o.code() == IssueCode::BusinessRule)
    );
}

#[test]
fn bad_drafts_are_refused() {
    let h = harness();
    let api = h.runtime.ordering(h.ctx(ORG)).expect("module");
    let code = |r: Result<Vec<Card>, CallError>| match r {
        Err(CallError::Refused(o)) => o.code(),
        other => panic!("expected a refusal, got {other:?}"),
    };
    assert_eq!(
        code(api.check(&draft("9434765918", PARACETAMOL, 500.0, 4))),
        IssueCode::Invalid
    );
    assert_eq!(
        code(api.check(&draft(OTHER_PATIENT.nhs_number, PARACETAMOL, 500.0, 4))),
        IssueCode::NotFound
    );
    assert_eq!(
        code(api.check(&draft(PATIENTS[0].nhs_number, PARACETAMOL, -5.0, 4))),
        IssueCode::Invalid
    );
    assert_eq!(
        code(api.check(&draft(PATIENTS[0].nhs_number, PARACETAMOL, 500.0, 0))),
        IssueCode::Invalid
    );
    assert!(
        matches!(api.read("no-such-request"), Err(CallError::Refused(o)) if o.code() == IssueCode::NotFound)
    );
    // An unknown medicine is not an error: the module says it could not check.
    let cards = api
        .check(&draft(PATIENTS[0].nhs_number, "123456789", 10.0, 1))
        .expect("check");
    assert_eq!(cards.len(), 1);
    assert_eq!(cards[0].indicator, Indicator::Info);
}
