//! {{supplier}}'s prescribing module: a skeleton from `patchbay new`.
//!
//! As it stands it knows the least the standard asks of a prescribing
//! module: the handful of facts its conformance suite checks (warfarin with
//! an NSAID, simvastatin with clarithromycin, a penicillin for a patient
//! allergic to penicillin, paracetamol above 4 g a day). Your knowledge
//! base goes in the tables below (or a module of its own): coded medicines,
//! interactions, dose ranges and allergy classes, each with its source.
//! The standard's rules (refuse issuing while a critical card stands
//! unless overridden with a reason) are already here.
//!
//! Build: `cargo build --release --target wasm32-wasip2`, then check it:
//! `patchbay conformance target/wasm32-wasip2/release/{{wasm}}.wasm --id {{supplier}}/{{name}}@0.1.0`.

use patchbay_sdk::prescribing::prelude::*;
use patchbay_sdk::prescribing::{check_length, check_nhs_number};

/// The module.
pub struct Module;

/// Interacting pairs of SNOMED CT substance codes: (one, other, why, source).
/// Your knowledge base goes here.
const INTERACTIONS: &[(&str, &str, &str, &str)] = &[
    (
        "372756006", // warfarin
        "387207008", // ibuprofen
        "An NSAID with warfarin raises the risk of bleeding",
        "https://bnf.nice.org.uk/interactions/",
    ),
    (
        "387584000", // simvastatin
        "387487009", // clarithromycin
        "Simvastatin with clarithromycin is contraindicated",
        "https://www.gov.uk/drug-safety-update/simvastatin-updated-advice-on-drug-interactions",
    ),
];

/// Recorded allergy codes and the medicines they cover: (allergy, medicines).
const ALLERGIES: &[(&str, &[&str])] = &[(
    "91936005",      // allergy to penicillin
    &["372687004"], // amoxicillin
)];

/// Adult maximum daily doses in mg: (medicine, most, source).
const MAX_DAILY_MG: &[(&str, f64, &str)] = &[(
    "387517004", // paracetamol
    4000.0,
    "https://bnf.nice.org.uk/drugs/paracetamol/",
)];

fn card(summary: String, indicator: Indicator, category: CardCategory, source: &str) -> Card {
    Card {
        summary,
        detail: None,
        indicator,
        category,
        source: Source {
            label: "{{supplier}}".to_string(),
            url: Some(source.to_string()),
        },
        suggestions: Vec::new(),
    }
}

fn cards_for(draft: &Draft) -> Result<Vec<Card>, Outcome> {
    check_nhs_number(&draft.patient, "subject")?;
    if patients::lookup(&draft.patient).is_none() {
        return Err(Outcome::not_found(format!(
            "no patient with NHS number {} is registered with this organisation",
            draft.patient
        ))
        .at("subject"));
    }
    let code = draft.medication.code.as_str();
    let mut cards = Vec::new();
    for current in records::medication_requests(&draft.patient)
        .into_iter()
        .filter(|r| r.status == RequestStatus::Active)
    {
        let theirs = current.medication.code.as_str();
        for (one, other, why, source) in INTERACTIONS {
            if (code == *one && theirs == *other) || (code == *other && theirs == *one) {
                cards.push(card(why.to_string(), Indicator::Critical, CardCategory::Interaction, source));
            }
        }
    }
    for allergy in records::allergies(&draft.patient) {
        for (recorded, covers) in ALLERGIES {
            if allergy.code.code == *recorded && covers.contains(&code) {
                cards.push(card(
                    "The patient is allergic to this medicine".to_string(),
                    Indicator::Critical,
                    CardCategory::Allergy,
                    "https://bnf.nice.org.uk/",
                ));
            }
        }
    }
    let daily = draft.dosage.dose * f64::from(draft.dosage.frequency_per_day);
    for (medicine, most, source) in MAX_DAILY_MG {
        if code == *medicine && draft.dosage.unit == "mg" && daily > *most {
            cards.push(card(
                format!("{daily} mg a day is above the adult maximum of {most} mg"),
                Indicator::Warning,
                CardCategory::DoseRange,
                source,
            ));
        }
    }
    // Your policy: more checks (age, duplicate therapy, renal function...).
    Ok(cards)
}

impl Guest for Module {
    fn check(draft: Draft) -> Result<Vec<Card>, Outcome> {
        cards_for(&draft)
    }

    fn issue(draft: Draft, override_reason: Option<String>) -> Result<Issued, Outcome> {
        let cards = cards_for(&draft)?;
        let reason = override_reason.filter(|r| !r.trim().is_empty());
        check_length(&reason, 500, "overrideReason")?;
        if reason.is_none() && cards.iter().any(|c| c.indicator == Indicator::Critical) {
            return Err(Outcome::business_rule(
                "not issued: a critical warning stands; change the prescription or give an override reason",
            ));
        }
        let request = records::create_request(&NewRequest {
            patient: draft.patient,
            medication: draft.medication,
            dosage: draft.dosage,
            intent: draft.intent,
            override_reason: reason,
        })?;
        Ok(Issued { request, cards })
    }

    fn cancel(request_id: String, reason: String) -> Result<MedicationRequest, Outcome> {
        let request = Self::read(request_id.clone())?;
        if request.status != RequestStatus::Active {
            return Err(Outcome::business_rule(format!(
                "medication request '{request_id}' is not active"
            )));
        }
        if reason.trim().is_empty() {
            return Err(Outcome::invalid("a cancellation needs a reason").at("statusReason"));
        }
        records::set_status(&request_id, RequestStatus::Cancelled, Some(&reason))
    }

    fn read(request_id: String) -> Result<MedicationRequest, Outcome> {
        records::get_medication_request(&request_id).ok_or_else(|| {
            Outcome::not_found(format!("there is no medication request '{request_id}'"))
        })
    }

    fn active(patient: NhsNumber) -> Result<Vec<MedicationRequest>, Outcome> {
        check_nhs_number(&patient, "subject")?;
        Ok(records::medication_requests(&patient)
            .into_iter()
            .filter(|r| r.status == RequestStatus::Active)
            .collect())
    }
}

patchbay_sdk::prescribing::export!(Module);
