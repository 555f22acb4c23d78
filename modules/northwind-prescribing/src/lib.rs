//! Northwind Medicines Ltd's prescribing module.
//!
//! Its value is its knowledge base ([`knowledge`]): coded medicines with
//! adult dose ranges, interacting pairs, allergy classes and duplicate
//! therapy, each fact with its public source. This file maps the standard's
//! calls onto it; the knowledge base itself is plain Rust, so it is tested
//! and measured natively too.

pub mod knowledge;

use patchbay_sdk::prescribing::prelude::*;
use patchbay_sdk::prescribing::{check_length, check_nhs_number};

/// Northwind's module.
pub struct Northwind;

/// The longest override reason kept.
const MAX_OVERRIDE_REASON: usize = 500;

fn registered_patient(nhs_number: &str) -> Result<Patient, Outcome> {
    check_nhs_number(nhs_number, "subject")?;
    patients::lookup(nhs_number).ok_or_else(|| {
        Outcome::not_found(format!(
            "no patient with NHS number {nhs_number} is registered with this organisation"
        ))
        .at("subject")
    })
}

fn check_draft(draft: &Draft) -> Result<(), Outcome> {
    if draft.medication.code.trim().is_empty() {
        return Err(
            Outcome::invalid("the medication has no code: give a dm+d or SNOMED CT code")
                .at("medicationCodeableConcept"),
        );
    }
    if !draft.dosage.dose.is_finite() || draft.dosage.dose <= 0.0 {
        return Err(Outcome::invalid(format!(
            "the dose must be a positive number, not {}",
            draft.dosage.dose
        ))
        .at("dosageInstruction.doseAndRate.doseQuantity"));
    }
    if draft.dosage.frequency_per_day == 0 {
        return Err(
            Outcome::invalid("the dose must be given at least once a day")
                .at("dosageInstruction.timing.repeat.frequency"),
        );
    }
    Ok(())
}

fn level(level: knowledge::Level) -> Indicator {
    match level {
        knowledge::Level::Info => Indicator::Info,
        knowledge::Level::Warning => Indicator::Warning,
        knowledge::Level::Critical => Indicator::Critical,
    }
}

fn category(category: knowledge::Category) -> CardCategory {
    match category {
        knowledge::Category::Interaction => CardCategory::Interaction,
        knowledge::Category::DoseRange => CardCategory::DoseRange,
        knowledge::Category::Allergy => CardCategory::Allergy,
        knowledge::Category::DuplicateTherapy => CardCategory::DuplicateTherapy,
        knowledge::Category::Other => CardCategory::Other,
    }
}

fn action(suggest: knowledge::Suggest) -> SuggestedAction {
    match suggest {
        knowledge::Suggest::RemoveDraft => SuggestedAction::RemoveDraft,
        knowledge::Suggest::ReplaceWith { code, name } => {
            SuggestedAction::ReplaceWith(Coding::snomed(code, name))
        }
        knowledge::Suggest::StopCurrent { request_id } => SuggestedAction::StopCurrent(request_id),
    }
}

fn card(finding: knowledge::Finding) -> Card {
    Card {
        summary: finding.summary,
        detail: Some(finding.detail),
        indicator: level(finding.level),
        category: category(finding.category),
        source: Source {
            label: finding.source_label.to_string(),
            url: finding.source_url.map(str::to_string),
        },
        suggestions: finding
            .suggestions
            .into_iter()
            .map(|(label, suggest)| Suggestion {
                label,
                action: action(suggest),
            })
            .collect(),
    }
}

fn cards_for(draft: &Draft) -> Result<Vec<Card>, Outcome> {
    let patient = registered_patient(&draft.patient)?;
    check_draft(draft)?;
    let now = context::now();
    let current: Vec<MedicationRequest> = records::medication_requests(&draft.patient)
        .into_iter()
        .filter(|r| r.status == RequestStatus::Active)
        .collect();
    let allergies = records::allergies(&draft.patient);
    let facts = knowledge::Draft {
        code: &draft.medication.code,
        dose: draft.dosage.dose,
        unit: &draft.dosage.unit,
        frequency_per_day: draft.dosage.frequency_per_day,
        age_years: patchbay_sdk::time::age_in_years(&patient.birth_date, now),
    };
    let current: Vec<knowledge::Current> = current
        .iter()
        .map(|r| knowledge::Current {
            request_id: &r.id,
            code: &r.medication.code,
        })
        .collect();
    let allergies: Vec<knowledge::RecordedAllergy> = allergies
        .iter()
        .map(|a| knowledge::RecordedAllergy { code: &a.code.code })
        .collect();
    Ok(knowledge::assess(&facts, &current, &allergies)
        .into_iter()
        .map(card)
        .collect())
}

impl Guest for Northwind {
    fn check(draft: Draft) -> Result<Vec<Card>, Outcome> {
        cards_for(&draft)
    }

    fn issue(draft: Draft, override_reason: Option<String>) -> Result<Issued, Outcome> {
        let cards = cards_for(&draft)?;
        let reason = override_reason.filter(|r| !r.trim().is_empty());
        check_length(&reason, MAX_OVERRIDE_REASON, "overrideReason")?;
        let critical: Vec<&str> = cards
            .iter()
            .filter(|c| c.indicator == Indicator::Critical)
            .map(|c| c.summary.as_str())
            .collect();
        if !critical.is_empty() && reason.is_none() {
            return Err(Outcome::business_rule(format!(
                "not issued: {} critical warning(s) stand: {}. Change the prescription, or issue it with an override reason",
                critical.len(),
                critical.join("; ")
            )));
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
                "medication request '{request_id}' is not active and cannot be cancelled"
            )));
        }
        if reason.trim().is_empty() {
            return Err(Outcome::invalid("a cancellation needs a reason").at("statusReason"));
        }
        records::set_status(&request_id, RequestStatus::Cancelled, Some(&reason))
    }

    fn read(request_id: String) -> Result<MedicationRequest, Outcome> {
        records::get_medication_request(&request_id).ok_or_else(|| {
            Outcome::not_found(format!(
                "there is no medication request '{request_id}' in this organisation"
            ))
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

patchbay_sdk::prescribing::export!(Northwind);
