//! The checks run on a draft prescription: the draft, the patient's current
//! prescriptions and recorded allergies in; findings out, most severe first
//! ([`assess`]).
//!
//! # Dose rule
//!
//! Doses are converted to mg (`mg`; `g` × 1000; `microgram`/`mcg` ÷ 1000;
//! any other unit gives an Info finding and no dose check). Then:
//!
//! | check | Critical | Warning | Info |
//! | --- | --- | --- | --- |
//! | one dose | over 2 × `max_single_mg` | over `max_single_mg` | under `min_single_mg` |
//! | dose × frequency per day | over 1.5 × `max_daily_mg` | over `max_daily_mg` | |
//!
//! The two checks are reported separately. Ranges are for adults only: for a
//! patient under 18 one Info finding says so and no range is checked.

use std::cmp::Reverse;

use super::allergies::{allergy_alternative, allergy_level, allergy_source, cross_reactions};
use super::interactions::interaction_between;
use super::level::Level;
use super::medicines::lower;
use super::medicines::{Class, MEDICINES, Medicine, dose_source_url, find};
use super::sources::{BNF, BNF_SUMMARIES};

/// What a finding is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Category {
    /// The draft interacts with a current medicine.
    Interaction,
    /// The dose is outside the usual adult range.
    DoseRange,
    /// The patient has a recorded allergy relevant to the draft.
    Allergy,
    /// The draft duplicates a current medicine or its class.
    DuplicateTherapy,
    /// Anything else (unknown medicine, unit or age limits).
    Other,
}

/// What to suggest instead.
#[derive(Debug, Clone, PartialEq)]
pub enum Suggest {
    /// Remove the draft prescription.
    RemoveDraft,
    /// Prescribe this medicine instead of the draft.
    ReplaceWith {
        /// SNOMED CT code of the alternative.
        code: &'static str,
        /// Its name.
        name: &'static str,
    },
    /// Stop (cancel) one of the patient's current prescriptions.
    StopCurrent {
        /// The current prescription's id.
        request_id: String,
    },
}

/// One finding about a draft prescription (becomes a CDS Hooks card).
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    /// What the finding is about.
    pub category: Category,
    /// How serious it is.
    pub level: Level,
    /// One line under 140 characters that names the medicines.
    pub summary: String,
    /// Markdown: why, and what to do.
    pub detail: String,
    /// Where the knowledge comes from.
    pub source_label: &'static str,
    /// A link to the source, if there is one.
    pub source_url: Option<&'static str>,
    /// Suggested actions, each with its label.
    pub suggestions: Vec<(String, Suggest)>,
}

/// The draft being checked.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Draft<'a> {
    /// SNOMED CT code of the medicine.
    pub code: &'a str,
    /// The amount of one dose, in `unit`.
    pub dose: f64,
    /// The unit of `dose`: "mg", "g", "microgram"/"mcg"; others are not checked.
    pub unit: &'a str,
    /// How many doses a day.
    pub frequency_per_day: u32,
    /// The patient's age in whole years, if known.
    pub age_years: Option<i64>,
}

/// A current (active) prescription of the patient.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Current<'a> {
    /// The prescription's id, for a "stop current" suggestion.
    pub request_id: &'a str,
    /// SNOMED CT code of its medicine.
    pub code: &'a str,
}

/// A recorded allergy: its SNOMED CT code, either an "allergy to X"
/// disorder/finding code such as 91936005 "Allergy to penicillin", or a
/// substance code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordedAllergy<'a> {
    /// SNOMED CT code of the allergy or of the substance.
    pub code: &'a str,
}

/// The longest summary, in characters, that a finding may have.
const MAX_SUMMARY_CHARS: usize = 139;

/// One line of at most [`MAX_SUMMARY_CHARS`] characters.
fn one_line(text: String) -> String {
    let flat: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if flat.chars().count() <= MAX_SUMMARY_CHARS {
        return flat;
    }
    let mut cut: String = flat.chars().take(MAX_SUMMARY_CHARS - 1).collect();
    cut.push('…');
    cut
}

/// Text from outside (a code or unit as entered), safe to show: no control
/// characters or Markdown code marks, at most `max` characters.
fn shown(text: &str, max: usize) -> String {
    let clean: String = text
        .trim()
        .chars()
        .map(|c| if c.is_control() || c == '`' { ' ' } else { c })
        .collect();
    if clean.chars().count() <= max {
        clean
    } else {
        let mut cut: String = clean.chars().take(max.saturating_sub(1)).collect();
        cut.push('…');
        cut
    }
}

/// A number of mg for a sentence: "2400", "1.25", "0.5".
fn amount(x: f64) -> String {
    if x.abs() >= 1e9 {
        return format!("{x:e}");
    }
    if (x - x.round()).abs() < 1e-9 {
        return format!("{x:.0}");
    }
    let text = format!("{x:.3}");
    text.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// Milligrams per `unit`, or None when the unit is not a mass checked here.
fn mg_per(unit: &str) -> Option<f64> {
    match unit.trim().to_lowercase().as_str() {
        "mg" | "milligram" | "milligrams" => Some(1.0),
        "g" | "gram" | "grams" => Some(1000.0),
        "microgram" | "micrograms" | "mcg" | "µg" | "μg" | "ug" => Some(0.001),
        _ => None,
    }
}

/// `a` is above `limit`, allowing for rounding in unit conversion.
fn above(a: f64, limit: f64) -> bool {
    a > limit * (1.0 + 1e-9)
}

/// `a` is below `limit`, allowing for rounding in unit conversion.
fn below(a: f64, limit: f64) -> bool {
    a < limit * (1.0 - 1e-9)
}

/// Whether `alternative` can be offered: no interaction with a current
/// medicine, no relevant allergy, not already prescribed, not the draft.
fn clear_to_offer(
    alternative: &Medicine,
    draft: &Medicine,
    current: &[Current],
    allergies: &[RecordedAllergy],
) -> bool {
    if alternative.code == draft.code {
        return false;
    }
    let clashes = current
        .iter()
        .filter_map(|c| find(c.code))
        .any(|m| m.code == alternative.code || interaction_between(alternative, m).is_some());
    let allergic = allergies
        .iter()
        .any(|a| allergy_level(a.code, alternative).is_some());
    !clashes && !allergic
}

/// A "prescribe X instead" suggestion, if X is clear to offer.
fn replacement(
    code: Option<&'static str>,
    draft: &Medicine,
    current: &[Current],
    allergies: &[RecordedAllergy],
) -> Option<(String, Suggest)> {
    let alternative = find(code?)?;
    if !clear_to_offer(alternative, draft, current, allergies) {
        return None;
    }
    Some((
        format!(
            "Prescribe {} instead of {}",
            lower(alternative.name),
            lower(draft.name)
        ),
        Suggest::ReplaceWith {
            code: alternative.code,
            name: alternative.name,
        },
    ))
}

fn remove_draft(draft: &Medicine) -> (String, Suggest) {
    (
        format!("Remove this {} prescription", lower(draft.name)),
        Suggest::RemoveDraft,
    )
}

fn stop_current(medicine: &Medicine, request_id: &str) -> (String, Suggest) {
    (
        format!("Stop the current {} prescription", lower(medicine.name)),
        Suggest::StopCurrent {
            request_id: request_id.to_string(),
        },
    )
}

fn unknown_medicine(code: &str) -> Finding {
    let code_shown = shown(code, 24);
    Finding {
        category: Category::Other,
        level: Level::Info,
        summary: one_line(format!(
            "{code_shown} is not in Northwind's knowledge base: no interaction, dose or allergy \
             checks were made"
        )),
        detail: format!(
            "The code `{code_shown}` is not one of the {} medicines Northwind knows, so \
             **no interaction, dose-range, allergy or duplicate-therapy checks were made**. \
             Check the prescription by other means (for example the BNF) before issuing it.\n\n\
             Northwind's knowledge base uses SNOMED CT substance codes \
             (`http://snomed.info/sct`).",
            MEDICINES.len()
        ),
        source_label: "Northwind Medicines knowledge base",
        source_url: None,
        suggestions: Vec::new(),
    }
}

fn allergy_findings(
    draft: &Medicine,
    current: &[Current],
    allergies: &[RecordedAllergy],
) -> Vec<Finding> {
    let mut findings = Vec::new();
    for allergy in allergies {
        let Some((level, class, allergy_name)) = allergy_level(allergy.code, draft) else {
            continue;
        };
        let (summary, why) = match (level, class) {
            (_, None) => (
                format!(
                    "{}: the patient has a recorded allergy to {}",
                    draft.name,
                    lower(draft.name)
                ),
                format!(
                    "The patient's record shows an **{allergy_name}** (SNOMED CT `{}`), the \
                     medicine being prescribed.",
                    shown(allergy.code, 20)
                ),
            ),
            (Level::Critical, Some(class)) => (
                format!(
                    "{} is {}; the patient has a recorded {allergy_name}",
                    draft.name,
                    class.with_article()
                ),
                format!(
                    "The patient's record shows an **{allergy_name}** (SNOMED CT `{}`). {} is \
                     {}, and hypersensitivity extends across the class: the BNF \
                     contra-indicates it.",
                    shown(allergy.code, 20),
                    draft.name,
                    class.with_article()
                ),
            ),
            (_, Some(class)) => (
                format!(
                    "{} is {}: possible cross-sensitivity with the recorded {allergy_name}",
                    draft.name,
                    class.with_article()
                ),
                format!(
                    "The patient's record shows an **{allergy_name}** (SNOMED CT `{}`). {} is \
                     {}; penicillins and cephalosporins cross-react in a minority of patients \
                     (about 0.5–6.5% of penicillin-allergic patients, BNF). Avoid it after an immediate reaction \
                     (anaphylaxis, angioedema, urticaria); otherwise use with caution.",
                    shown(allergy.code, 20),
                    draft.name,
                    class.with_article()
                ),
            ),
        };
        let advice = if level == Level::Critical {
            "**What to do:** do not prescribe it unless the allergy has been reassessed (for \
             example de-labelled after specialist testing); choose a medicine of another class."
        } else {
            "**What to do:** ask what the reaction was before prescribing; prefer a medicine of \
             another class if it was immediate or severe."
        };
        let source_class = class.or_else(|| {
            draft
                .classes
                .iter()
                .copied()
                .find(|c| !cross_reactions(*c).0.is_empty())
        });
        let mut suggestions = Vec::new();
        if let Some(alternative) = replacement(
            source_class.and_then(allergy_alternative),
            draft,
            current,
            allergies,
        ) {
            suggestions.push(alternative);
        }
        suggestions.push(remove_draft(draft));
        findings.push(Finding {
            category: Category::Allergy,
            level,
            summary: one_line(summary),
            detail: format!("{why}\n\n{advice}"),
            source_label: source_class
                .map_or("BNF: contra-indications (hypersensitivity)", allergy_source),
            source_url: Some(if source_class.is_some() {
                BNF_SUMMARIES
            } else {
                BNF
            }),
            suggestions,
        });
    }
    findings
}

fn current_medicine_findings(
    draft: &Medicine,
    current: &[Current],
    allergies: &[RecordedAllergy],
) -> Vec<Finding> {
    let mut findings = Vec::new();
    for prescription in current {
        let Some(other) = find(prescription.code) else {
            continue;
        };
        if other.code == draft.code {
            findings.push(Finding {
                category: Category::DuplicateTherapy,
                level: Level::Warning,
                summary: one_line(format!(
                    "{} is already prescribed for this patient",
                    draft.name
                )),
                detail: format!(
                    "The patient already has an active prescription for {} (request `{}`). \
                     Issuing another would double the dose.\n\n**What to do:** change the \
                     existing prescription instead, or stop it before issuing this one.",
                    lower(draft.name),
                    shown(prescription.request_id, 64)
                ),
                source_label: "Northwind duplicate-therapy check",
                source_url: None,
                suggestions: vec![
                    remove_draft(draft),
                    stop_current(other, prescription.request_id),
                ],
            });
            continue;
        }
        if let Some((rule, draft_is_a)) = interaction_between(draft, other) {
            let mut suggestions = Vec::new();
            if draft_is_a
                && let Some(alternative) =
                    replacement(rule.alternative_for_a, draft, current, allergies)
            {
                suggestions.push(alternative);
            }
            if !draft_is_a || rule.stop_b_ok {
                suggestions.push(stop_current(other, prescription.request_id));
            }
            suggestions.push(remove_draft(draft));
            findings.push(Finding {
                category: Category::Interaction,
                level: rule.level,
                summary: one_line(format!(
                    "{} with current {}: {}",
                    draft.name,
                    lower(other.name),
                    rule.headline
                )),
                detail: format!(
                    "**{}** (this prescription) interacts with **{}** (current prescription \
                     `{}`).\n\n{}",
                    draft.name,
                    other.name,
                    shown(prescription.request_id, 64),
                    rule.detail
                ),
                source_label: rule.source_label,
                source_url: rule.source_url,
                suggestions,
            });
        }
        let shared: Vec<Class> = draft
            .classes
            .iter()
            .copied()
            .filter(|c| c.duplicate_checked() && other.is(*c))
            .collect();
        if let Some(first) = shared.first() {
            let names: Vec<String> = shared.iter().map(|c| c.with_article()).collect();
            findings.push(Finding {
                category: Category::DuplicateTherapy,
                level: Level::Warning,
                summary: one_line(format!(
                    "{} duplicates current {}: both are {}s",
                    draft.name,
                    lower(other.name),
                    first.label()
                )),
                detail: format!(
                    "{} and {} (current prescription `{}`) are each {}. Two medicines of the \
                     same class add side effects without adding much benefit.\n\n**What to \
                     do:** stop one of them, unless the combination is deliberate (for example \
                     while switching).",
                    draft.name,
                    lower(other.name),
                    shown(prescription.request_id, 64),
                    names.join(" and ")
                ),
                source_label: "Northwind duplicate-therapy check (BNF drug classes)",
                source_url: None,
                suggestions: vec![
                    stop_current(other, prescription.request_id),
                    remove_draft(draft),
                ],
            });
        }
    }
    findings
}

fn dose_findings(medicine: &Medicine, draft: &Draft) -> Vec<Finding> {
    let mut findings = Vec::new();
    let source_url = dose_source_url(medicine.code);
    if let Some(age) = draft.age_years
        && age < 18
    {
        findings.push(Finding {
            category: Category::Other,
            level: Level::Info,
            summary: one_line(format!(
                "{}: adult dose ranges only; dose not checked for a patient aged {}",
                medicine.name,
                age.max(0)
            )),
            detail: format!(
                "Northwind holds adult dose ranges only, so the dose of {} was **not \
                     checked** for this {}-year-old. Check it against the BNF for Children, \
                     which doses by age or weight. Interaction, allergy and duplicate checks \
                     were made.",
                lower(medicine.name),
                age.max(0)
            ),
            source_label: "BNF for Children",
            source_url: Some("https://bnfc.nice.org.uk/"),
            suggestions: Vec::new(),
        });
        return findings;
    }
    let Some(factor) = mg_per(draft.unit) else {
        let unit = shown(draft.unit, 16);
        findings.push(Finding {
            category: Category::Other,
            level: Level::Info,
            summary: one_line(format!(
                "{}: dose unit '{unit}' cannot be checked (use mg, g or micrograms)",
                medicine.name
            )),
            detail: format!(
                "The dose is given in `{unit}`, which Northwind cannot convert to a mass, so \
                 the dose of {} was **not checked** against the usual adult range ({}–{} mg per \
                 dose, {} mg a day). Give the dose in mg, g or micrograms to have it checked.",
                lower(medicine.name),
                amount(medicine.min_single_mg),
                amount(medicine.max_single_mg),
                amount(medicine.max_daily_mg)
            ),
            source_label: medicine.source,
            source_url,
            suggestions: Vec::new(),
        });
        return findings;
    };
    if !draft.dose.is_finite() || draft.dose <= 0.0 {
        findings.push(Finding {
            category: Category::Other,
            level: Level::Info,
            summary: one_line(format!(
                "{}: the dose is not a positive number and was not checked",
                medicine.name
            )),
            detail: format!(
                "The dose of {} is not a positive number, so it could not be checked against \
                 the usual adult range.",
                lower(medicine.name)
            ),
            source_label: medicine.source,
            source_url,
            suggestions: Vec::new(),
        });
        return findings;
    }
    let dose_mg = draft.dose * factor;
    let range = format!(
        "The usual adult single dose of {} is {}–{} mg, at most {} mg a day.",
        lower(medicine.name),
        amount(medicine.min_single_mg),
        amount(medicine.max_single_mg),
        amount(medicine.max_daily_mg)
    );
    let fix = "**What to do:** check the dose and its unit; re-enter it if it is a slip.";
    if above(dose_mg, 2.0 * medicine.max_single_mg) {
        findings.push(Finding {
            category: Category::DoseRange,
            level: Level::Critical,
            summary: one_line(format!(
                "{} {} mg per dose is over twice the usual adult maximum ({} mg)",
                medicine.name,
                amount(dose_mg),
                amount(medicine.max_single_mg)
            )),
            detail: format!(
                "A single dose of {} mg is more than twice the usual adult maximum single dose. \
                 {range}\n\n{fix}",
                amount(dose_mg)
            ),
            source_label: medicine.source,
            source_url,
            suggestions: vec![remove_draft(medicine)],
        });
    } else if above(dose_mg, medicine.max_single_mg) {
        findings.push(Finding {
            category: Category::DoseRange,
            level: Level::Warning,
            summary: one_line(format!(
                "{} {} mg per dose is above the usual adult maximum ({} mg)",
                medicine.name,
                amount(dose_mg),
                amount(medicine.max_single_mg)
            )),
            detail: format!(
                "A single dose of {} mg is above the usual adult maximum single dose. \
                 {range}\n\n{fix}",
                amount(dose_mg)
            ),
            source_label: medicine.source,
            source_url,
            suggestions: vec![remove_draft(medicine)],
        });
    } else if below(dose_mg, medicine.min_single_mg) {
        findings.push(Finding {
            category: Category::DoseRange,
            level: Level::Info,
            summary: one_line(format!(
                "{} {} mg per dose is below the usual adult range ({}–{} mg)",
                medicine.name,
                amount(dose_mg),
                amount(medicine.min_single_mg),
                amount(medicine.max_single_mg)
            )),
            detail: format!(
                "A single dose of {} mg is below the usual adult range; this may be intended \
                 (for example when starting low or in frailty). {range}",
                amount(dose_mg)
            ),
            source_label: medicine.source,
            source_url,
            suggestions: Vec::new(),
        });
    }
    if draft.frequency_per_day > 0 {
        let daily = dose_mg * f64::from(draft.frequency_per_day);
        let level = if above(daily, 1.5 * medicine.max_daily_mg) {
            Some(Level::Critical)
        } else if above(daily, medicine.max_daily_mg) {
            Some(Level::Warning)
        } else {
            None
        };
        if let Some(level) = level {
            let how_far = if level == Level::Critical {
                "more than 1.5 times"
            } else {
                "above"
            };
            findings.push(Finding {
                category: Category::DoseRange,
                level,
                summary: one_line(format!(
                    "{} {} mg a day is {how_far} the usual adult maximum ({} mg a day)",
                    medicine.name,
                    amount(daily),
                    amount(medicine.max_daily_mg)
                )),
                detail: format!(
                    "{} mg {} times a day makes {} mg a day, {how_far} the usual adult maximum \
                     daily dose. {range}\n\n{fix}",
                    amount(dose_mg),
                    draft.frequency_per_day,
                    amount(daily)
                ),
                source_label: medicine.source,
                source_url,
                suggestions: vec![remove_draft(medicine)],
            });
        }
    }
    findings
}

/// All findings for a draft, most severe first.
///
/// An unknown draft code gives exactly one Info finding and nothing else.
/// Otherwise the draft is checked against recorded allergies, each current
/// prescription (same medicine, interactions, duplicate classes) and the
/// usual adult dose range; a clean prescription gives no findings. Within a
/// level, findings keep that order.
pub fn assess(draft: &Draft, current: &[Current], allergies: &[RecordedAllergy]) -> Vec<Finding> {
    let Some(medicine) = find(draft.code) else {
        return vec![unknown_medicine(draft.code)];
    };
    let mut findings = allergy_findings(medicine, current, allergies);
    findings.extend(current_medicine_findings(medicine, current, allergies));
    findings.extend(dose_findings(medicine, draft));
    findings.sort_by_key(|f| Reverse(f.level.rank()));
    findings
}
