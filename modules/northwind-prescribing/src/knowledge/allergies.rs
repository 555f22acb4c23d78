//! Recorded allergies: which allergy codes rule out which classes, how an
//! allergy to one medicine extends across its class and to related classes,
//! where to read about it and what to offer instead.
//!
//! # Sources
//!
//! Allergy cross-sensitivity follows the BNF: a patient allergic to one
//! penicillin is allergic to all of them, and some also react to
//! cephalosporins; NSAIDs are contraindicated after hypersensitivity to
//! aspirin or any other NSAID.

use super::level::Level;
use super::medicines::lower;
use super::medicines::{CLARITHROMYCIN, Class, Medicine, PARACETAMOL, find};

/// A recorded-allergy code and the classes it rules out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AllergyRule {
    /// SNOMED CT code of the allergy (disorder or finding).
    pub code: &'static str,
    /// Its name in a sentence, e.g. "allergy to penicillin".
    pub name: &'static str,
    /// Classes contraindicated by the allergy (Critical).
    pub critical: &'static [Class],
    /// Classes with possible cross-sensitivity (Warning).
    pub warning: &'static [Class],
}

/// The allergy codes Northwind understands, beside the substance codes of
/// its medicines.
static ALLERGY_RULES: [AllergyRule; 5] = [
    AllergyRule {
        code: "91936005",
        name: "allergy to penicillin",
        critical: &[Class::Penicillin],
        warning: &[Class::Cephalosporin],
    },
    AllergyRule {
        code: "294505008",
        name: "allergy to amoxicillin",
        critical: &[Class::Penicillin],
        warning: &[Class::Cephalosporin],
    },
    AllergyRule {
        code: "293586001",
        name: "allergy to aspirin",
        critical: &[Class::Salicylate, Class::Nsaid],
        warning: &[],
    },
    AllergyRule {
        code: "293619005",
        name: "allergy to ibuprofen",
        critical: &[Class::Nsaid, Class::Salicylate],
        warning: &[],
    },
    AllergyRule {
        code: "91931000",
        name: "allergy to erythromycin",
        critical: &[Class::Macrolide],
        warning: &[],
    },
];

/// Every recorded-allergy code the knowledge base maps to classes.
///
/// An allergy recorded as the substance code of a known medicine is also
/// understood: see [`assess`](super::assess).
pub fn allergy_rules() -> &'static [AllergyRule] {
    &ALLERGY_RULES
}

/// Classes contraindicated (first) and cross-sensitive (second) after an
/// allergy to a medicine of `class`.
pub(super) fn cross_reactions(class: Class) -> (&'static [Class], &'static [Class]) {
    match class {
        Class::Penicillin => (&[Class::Penicillin], &[Class::Cephalosporin]),
        Class::Cephalosporin => (&[Class::Cephalosporin], &[Class::Penicillin]),
        Class::Nsaid | Class::Salicylate => (&[Class::Nsaid, Class::Salicylate], &[]),
        Class::Macrolide => (&[Class::Macrolide], &[]),
        _ => (&[], &[]),
    }
}

/// Where to read about a class's hypersensitivity.
pub(super) fn allergy_source(class: Class) -> &'static str {
    match class {
        Class::Penicillin | Class::Cephalosporin => {
            "BNF: Penicillins and cephalosporins, hypersensitivity and cross-sensitivity"
        }
        Class::Nsaid | Class::Salicylate => {
            "BNF: NSAIDs, contra-indicated after hypersensitivity to aspirin or any NSAID"
        }
        Class::Macrolide => "BNF: Macrolides, contra-indicated in macrolide hypersensitivity",
        _ => "BNF: contra-indications (hypersensitivity)",
    }
}

/// A safer medicine for a patient allergic to `class`.
pub(super) fn allergy_alternative(class: Class) -> Option<&'static str> {
    match class {
        Class::Penicillin | Class::Cephalosporin => Some(CLARITHROMYCIN),
        Class::Nsaid | Class::Salicylate => Some(PARACETAMOL),
        _ => None,
    }
}

/// Whether any allergy rules `medicine` out (at any level).
pub(super) fn allergy_level(
    allergy_code: &str,
    medicine: &Medicine,
) -> Option<(Level, Option<Class>, String)> {
    let allergy_code = allergy_code.trim();
    if allergy_code == medicine.code {
        return Some((
            Level::Critical,
            None,
            format!("allergy to {}", lower(medicine.name)),
        ));
    }
    if let Some(rule) = ALLERGY_RULES.iter().find(|r| r.code == allergy_code) {
        if let Some(class) = medicine.classes.iter().find(|c| rule.critical.contains(c)) {
            return Some((Level::Critical, Some(*class), rule.name.to_string()));
        }
        if let Some(class) = medicine.classes.iter().find(|c| rule.warning.contains(c)) {
            return Some((Level::Warning, Some(*class), rule.name.to_string()));
        }
        return None;
    }
    let allergen = find(allergy_code)?;
    let name = format!("allergy to {}", lower(allergen.name));
    let mut best: Option<(Level, Option<Class>, String)> = None;
    for allergen_class in allergen.classes {
        let (critical, warning) = cross_reactions(*allergen_class);
        if let Some(class) = medicine.classes.iter().find(|c| critical.contains(c)) {
            return Some((Level::Critical, Some(*class), name));
        }
        if best.is_none()
            && let Some(class) = medicine.classes.iter().find(|c| warning.contains(c))
        {
            best = Some((Level::Warning, Some(*class), name.clone()));
        }
    }
    best
}
