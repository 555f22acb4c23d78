//! The medicines Northwind knows: their classes, SNOMED CT codes and usual
//! adult dose ranges, each range with its BNF monograph.
//!
//! # Sources
//!
//! * **Medicine codes** are SNOMED CT concept identifiers for the substance
//!   (system `http://snomed.info/sct`). Each was checked against published
//!   terminology artefacts (the KBV's SNOMED CT to ATC substance map, the
//!   HL7 Switzerland active-ingredient value set, HL7 FHIR examples) and
//!   carries a valid Verhoeff check digit (tested in `tests.rs`). Medicines
//!   whose code could not be confirmed (phenelzine, cefalexin) are left out
//!   rather than guessed: rasagiline stands for the MAO inhibitors and
//!   cefuroxime for the cephalosporins.
//! * **Dose ranges** are usual adult oral doses from the British National
//!   Formulary (BNF, <https://bnf.nice.org.uk/>), each medicine citing its
//!   monograph in [`Medicine::source`] and [`dose_source_url`].

/// Where a medicine sits for duplicate-therapy and allergy checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// Non-steroidal anti-inflammatory drugs (ibuprofen, naproxen, diclofenac).
    Nsaid,
    /// Salicylates (aspirin); cross-sensitive with NSAIDs.
    Salicylate,
    /// Antiplatelet drugs (low-dose aspirin).
    Antiplatelet,
    /// Penicillins (amoxicillin, flucloxacillin, phenoxymethylpenicillin).
    Penicillin,
    /// Cephalosporins (cefuroxime).
    Cephalosporin,
    /// HMG-CoA reductase inhibitors (simvastatin, atorvastatin).
    Statin,
    /// Selective serotonin re-uptake inhibitors (sertraline, fluoxetine, citalopram).
    Ssri,
    /// Monoamine-oxidase inhibitors (rasagiline).
    MaoInhibitor,
    /// Proton pump inhibitors (omeprazole, lansoprazole).
    ProtonPumpInhibitor,
    /// Oral anticoagulants (warfarin).
    Anticoagulant,
    /// Macrolide antibacterials (clarithromycin, erythromycin).
    Macrolide,
    /// Angiotensin-converting enzyme inhibitors (ramipril, lisinopril).
    AceInhibitor,
    /// Opioid analgesics (codeine, tramadol).
    Opioid,
    /// Quinolone antibacterials (ciprofloxacin).
    Fluoroquinolone,
    /// Biguanides (metformin).
    Biguanide,
    /// Non-opioid analgesics that are not NSAIDs (paracetamol).
    NonOpioidAnalgesic,
    /// HIV protease inhibitors (atazanavir).
    ProteaseInhibitor,
    /// Centrally acting muscle relaxants (tizanidine).
    MuscleRelaxant,
}

impl Class {
    /// The class's name in a sentence, singular ("an NSAID" uses "NSAID").
    pub fn label(self) -> &'static str {
        match self {
            Class::Nsaid => "NSAID",
            Class::Salicylate => "salicylate",
            Class::Antiplatelet => "antiplatelet",
            Class::Penicillin => "penicillin",
            Class::Cephalosporin => "cephalosporin",
            Class::Statin => "statin",
            Class::Ssri => "SSRI",
            Class::MaoInhibitor => "MAO inhibitor",
            Class::ProtonPumpInhibitor => "proton pump inhibitor",
            Class::Anticoagulant => "anticoagulant",
            Class::Macrolide => "macrolide",
            Class::AceInhibitor => "ACE inhibitor",
            Class::Opioid => "opioid",
            Class::Fluoroquinolone => "quinolone",
            Class::Biguanide => "biguanide",
            Class::NonOpioidAnalgesic => "non-opioid analgesic",
            Class::ProteaseInhibitor => "protease inhibitor",
            Class::MuscleRelaxant => "muscle relaxant",
        }
    }

    /// The class's name with its indefinite article ("an NSAID", "a statin").
    pub fn with_article(self) -> String {
        let label = self.label();
        let article = match self {
            Class::Nsaid
            | Class::Ssri
            | Class::MaoInhibitor
            | Class::Anticoagulant
            | Class::AceInhibitor
            | Class::Opioid
            | Class::Antiplatelet => "an",
            _ => "a",
        };
        format!("{article} {label}")
    }

    /// Whether two medicines sharing this class are duplicate therapy.
    ///
    /// Classes that are normally combined on purpose (antiplatelets,
    /// protease inhibitors) or that hold a single medicine here are not.
    pub fn duplicate_checked(self) -> bool {
        matches!(
            self,
            Class::Nsaid
                | Class::Penicillin
                | Class::Cephalosporin
                | Class::Statin
                | Class::Ssri
                | Class::MaoInhibitor
                | Class::ProtonPumpInhibitor
                | Class::Anticoagulant
                | Class::Macrolide
                | Class::AceInhibitor
                | Class::Opioid
                | Class::Fluoroquinolone
        )
    }
}

/// One medicine the knowledge base knows.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Medicine {
    /// SNOMED CT concept id of the substance (system `http://snomed.info/sct`).
    pub code: &'static str,
    /// The medicine's name, e.g. "Warfarin".
    pub name: &'static str,
    /// Its classes, for duplicate-therapy, interaction and allergy checks.
    pub classes: &'static [Class],
    /// Usual adult single dose, lower end, in mg (oral unless noted).
    pub min_single_mg: f64,
    /// Usual adult single dose, upper end, in mg.
    pub max_single_mg: f64,
    /// Usual adult maximum per day, in mg.
    pub max_daily_mg: f64,
    /// Where the dose range comes from.
    pub source: &'static str,
}

impl Medicine {
    /// Whether the medicine belongs to `class`.
    pub fn is(&self, class: Class) -> bool {
        self.classes.contains(&class)
    }
}

// SNOMED CT substance codes of the medicines below.
pub(super) const WARFARIN: &str = "372756006";
pub(super) const IBUPROFEN: &str = "387207008";
pub(super) const NAPROXEN: &str = "372588000";
pub(super) const DICLOFENAC: &str = "7034005";
pub(super) const ASPIRIN: &str = "387458008";
pub(super) const SIMVASTATIN: &str = "387584000";
pub(super) const ATORVASTATIN: &str = "373444002";
pub(super) const CLARITHROMYCIN: &str = "387487009";
pub(super) const ERYTHROMYCIN: &str = "372694001";
pub(super) const AMOXICILLIN: &str = "372687004";
pub(super) const FLUCLOXACILLIN: &str = "387544009";
pub(super) const PHENOXYMETHYLPENICILLIN: &str = "372725003";
pub(super) const CEFUROXIME: &str = "372833007";
pub(super) const SERTRALINE: &str = "372594008";
pub(super) const FLUOXETINE: &str = "372767007";
pub(super) const CITALOPRAM: &str = "372596005";
pub(super) const RASAGILINE: &str = "418734001";
pub(super) const OMEPRAZOLE: &str = "387137007";
pub(super) const LANSOPRAZOLE: &str = "386888004";
pub(super) const PARACETAMOL: &str = "387517004";
pub(super) const METFORMIN: &str = "372567009";
pub(super) const RAMIPRIL: &str = "386872004";
pub(super) const LISINOPRIL: &str = "386873009";
pub(super) const CODEINE: &str = "387494007";
pub(super) const TRAMADOL: &str = "386858008";
pub(super) const ATAZANAVIR: &str = "413592000";
pub(super) const TIZANIDINE: &str = "373440006";
pub(super) const CIPROFLOXACIN: &str = "372840008";

/// Every medicine the knowledge base knows, one row each; codes are unique.
pub(super) static MEDICINES: [Medicine; 28] = [
    Medicine {
        code: WARFARIN,
        name: "Warfarin",
        classes: &[Class::Anticoagulant],
        min_single_mg: 0.5,
        max_single_mg: 10.0,
        max_daily_mg: 10.0,
        source: "BNF: Warfarin sodium, indications and dose (induction 5–10 mg; usual maintenance \
            3–9 mg once daily by INR)",
    },
    Medicine {
        code: IBUPROFEN,
        name: "Ibuprofen",
        classes: &[Class::Nsaid],
        min_single_mg: 200.0,
        max_single_mg: 600.0,
        max_daily_mg: 2400.0,
        source: "BNF: Ibuprofen, indications and dose (300–400 mg 3–4 times daily, up to 600 mg 4 \
            times daily; max 2.4 g daily)",
    },
    Medicine {
        code: NAPROXEN,
        name: "Naproxen",
        classes: &[Class::Nsaid],
        min_single_mg: 250.0,
        max_single_mg: 1000.0,
        max_daily_mg: 1250.0,
        source: "BNF: Naproxen, indications and dose (250–500 mg twice daily or 1 g once daily; \
            max 1.25 g daily)",
    },
    Medicine {
        code: DICLOFENAC,
        name: "Diclofenac",
        classes: &[Class::Nsaid],
        min_single_mg: 25.0,
        max_single_mg: 100.0,
        max_daily_mg: 150.0,
        source: "BNF: Diclofenac sodium, indications and dose (75–150 mg daily in 2–3 divided \
            doses)",
    },
    Medicine {
        code: ASPIRIN,
        name: "Aspirin",
        classes: &[Class::Salicylate, Class::Antiplatelet],
        min_single_mg: 75.0,
        max_single_mg: 900.0,
        max_daily_mg: 4000.0,
        source: "BNF: Aspirin, indications and dose (75 mg daily as antiplatelet; 300–900 mg every \
            4–6 hours for pain, max 4 g daily)",
    },
    Medicine {
        code: SIMVASTATIN,
        name: "Simvastatin",
        classes: &[Class::Statin],
        min_single_mg: 10.0,
        max_single_mg: 80.0,
        max_daily_mg: 80.0,
        source: "BNF: Simvastatin, indications and dose (10–80 mg once daily)",
    },
    Medicine {
        code: ATORVASTATIN,
        name: "Atorvastatin",
        classes: &[Class::Statin],
        min_single_mg: 10.0,
        max_single_mg: 80.0,
        max_daily_mg: 80.0,
        source: "BNF: Atorvastatin, indications and dose (10–80 mg once daily)",
    },
    Medicine {
        code: CLARITHROMYCIN,
        name: "Clarithromycin",
        classes: &[Class::Macrolide],
        min_single_mg: 250.0,
        max_single_mg: 500.0,
        max_daily_mg: 1000.0,
        source: "BNF: Clarithromycin, indications and dose (250–500 mg twice daily)",
    },
    Medicine {
        code: ERYTHROMYCIN,
        name: "Erythromycin",
        classes: &[Class::Macrolide],
        min_single_mg: 250.0,
        max_single_mg: 1000.0,
        max_daily_mg: 4000.0,
        source: "BNF: Erythromycin, indications and dose (250–500 mg every 6 hours or 0.5–1 g \
            every 12 hours; up to 4 g daily)",
    },
    Medicine {
        code: AMOXICILLIN,
        name: "Amoxicillin",
        classes: &[Class::Penicillin],
        min_single_mg: 250.0,
        max_single_mg: 1000.0,
        max_daily_mg: 3000.0,
        source: "BNF: Amoxicillin, indications and dose (500 mg–1 g every 8 hours)",
    },
    Medicine {
        code: FLUCLOXACILLIN,
        name: "Flucloxacillin",
        classes: &[Class::Penicillin],
        min_single_mg: 250.0,
        max_single_mg: 1000.0,
        max_daily_mg: 4000.0,
        source: "BNF: Flucloxacillin, indications and dose (500 mg–1 g every 6 hours)",
    },
    Medicine {
        code: PHENOXYMETHYLPENICILLIN,
        name: "Phenoxymethylpenicillin",
        classes: &[Class::Penicillin],
        min_single_mg: 250.0,
        max_single_mg: 1000.0,
        max_daily_mg: 4000.0,
        source: "BNF: Phenoxymethylpenicillin, indications and dose (500 mg–1 g every 6 hours)",
    },
    Medicine {
        code: CEFUROXIME,
        name: "Cefuroxime",
        classes: &[Class::Cephalosporin],
        min_single_mg: 125.0,
        max_single_mg: 500.0,
        max_daily_mg: 1000.0,
        source: "BNF: Cefuroxime, indications and dose (by mouth as cefuroxime axetil, 250–500 mg \
            twice daily)",
    },
    Medicine {
        code: SERTRALINE,
        name: "Sertraline",
        classes: &[Class::Ssri],
        min_single_mg: 25.0,
        max_single_mg: 200.0,
        max_daily_mg: 200.0,
        source: "BNF: Sertraline, indications and dose (50–200 mg once daily)",
    },
    Medicine {
        code: FLUOXETINE,
        name: "Fluoxetine",
        classes: &[Class::Ssri],
        min_single_mg: 10.0,
        max_single_mg: 60.0,
        max_daily_mg: 60.0,
        source: "BNF: Fluoxetine, indications and dose (20 mg once daily, max 60 mg daily)",
    },
    Medicine {
        code: CITALOPRAM,
        name: "Citalopram",
        classes: &[Class::Ssri],
        min_single_mg: 10.0,
        max_single_mg: 40.0,
        max_daily_mg: 40.0,
        source: "BNF: Citalopram, indications and dose (20 mg once daily, max 40 mg; max 20 mg \
            over 65 years)",
    },
    Medicine {
        code: RASAGILINE,
        name: "Rasagiline",
        classes: &[Class::MaoInhibitor],
        min_single_mg: 1.0,
        max_single_mg: 1.0,
        max_daily_mg: 1.0,
        source: "BNF: Rasagiline, indications and dose (1 mg once daily)",
    },
    Medicine {
        code: OMEPRAZOLE,
        name: "Omeprazole",
        classes: &[Class::ProtonPumpInhibitor],
        min_single_mg: 10.0,
        max_single_mg: 40.0,
        max_daily_mg: 80.0,
        source: "BNF: Omeprazole, indications and dose (10–40 mg once daily; twice daily for H. \
            pylori eradication)",
    },
    Medicine {
        code: LANSOPRAZOLE,
        name: "Lansoprazole",
        classes: &[Class::ProtonPumpInhibitor],
        min_single_mg: 15.0,
        max_single_mg: 30.0,
        max_daily_mg: 60.0,
        source: "BNF: Lansoprazole, indications and dose (15–30 mg once daily; 30 mg twice daily \
            for H. pylori eradication)",
    },
    Medicine {
        code: PARACETAMOL,
        name: "Paracetamol",
        classes: &[Class::NonOpioidAnalgesic],
        min_single_mg: 500.0,
        max_single_mg: 1000.0,
        max_daily_mg: 4000.0,
        source: "BNF: Paracetamol, indications and dose (0.5–1 g every 4–6 hours, max 4 g daily)",
    },
    Medicine {
        code: METFORMIN,
        name: "Metformin",
        classes: &[Class::Biguanide],
        min_single_mg: 500.0,
        max_single_mg: 1000.0,
        max_daily_mg: 2000.0,
        source: "BNF: Metformin hydrochloride, indications and dose (immediate-release 500 mg–1 g \
            per dose; max 2 g daily)",
    },
    Medicine {
        code: RAMIPRIL,
        name: "Ramipril",
        classes: &[Class::AceInhibitor],
        min_single_mg: 1.25,
        max_single_mg: 10.0,
        max_daily_mg: 10.0,
        source: "BNF: Ramipril, indications and dose (1.25–10 mg once daily)",
    },
    Medicine {
        code: LISINOPRIL,
        name: "Lisinopril",
        classes: &[Class::AceInhibitor],
        min_single_mg: 2.5,
        max_single_mg: 80.0,
        max_daily_mg: 80.0,
        source: "BNF: Lisinopril, indications and dose (2.5–80 mg once daily, usual maintenance 20 \
            mg)",
    },
    Medicine {
        code: CODEINE,
        name: "Codeine",
        classes: &[Class::Opioid],
        min_single_mg: 15.0,
        max_single_mg: 60.0,
        max_daily_mg: 240.0,
        source: "BNF: Codeine phosphate, indications and dose (30–60 mg every 4 hours, max 240 mg \
            daily)",
    },
    Medicine {
        code: TRAMADOL,
        name: "Tramadol",
        classes: &[Class::Opioid],
        min_single_mg: 50.0,
        max_single_mg: 100.0,
        max_daily_mg: 400.0,
        source: "BNF: Tramadol hydrochloride, indications and dose (immediate-release 50–100 mg \
            every 4–6 hours, max 400 mg daily)",
    },
    Medicine {
        code: ATAZANAVIR,
        name: "Atazanavir",
        classes: &[Class::ProteaseInhibitor],
        min_single_mg: 300.0,
        max_single_mg: 300.0,
        max_daily_mg: 300.0,
        source: "BNF: Atazanavir, indications and dose (300 mg once daily with ritonavir 100 mg)",
    },
    Medicine {
        code: TIZANIDINE,
        name: "Tizanidine",
        classes: &[Class::MuscleRelaxant],
        min_single_mg: 2.0,
        max_single_mg: 12.0,
        max_daily_mg: 36.0,
        source: "BNF: Tizanidine, indications and dose (usually up to 24 mg daily in 3–4 doses, \
            max 36 mg daily; single dose taken as at most a third of that)",
    },
    Medicine {
        code: CIPROFLOXACIN,
        name: "Ciprofloxacin",
        classes: &[Class::Fluoroquinolone],
        min_single_mg: 250.0,
        max_single_mg: 750.0,
        max_daily_mg: 1500.0,
        source: "BNF: Ciprofloxacin, indications and dose (250–750 mg twice daily)",
    },
];

/// Every medicine the knowledge base knows.
pub fn medicines() -> &'static [Medicine] {
    &MEDICINES
}

/// The medicine with this SNOMED CT code (surrounding spaces ignored).
pub fn find(code: &str) -> Option<&'static Medicine> {
    let code = code.trim();
    MEDICINES.iter().find(|m| m.code == code)
}

/// The BNF monograph page for a medicine's dose.
pub fn dose_source_url(code: &str) -> Option<&'static str> {
    let url = match code.trim() {
        WARFARIN => "https://bnf.nice.org.uk/drugs/warfarin-sodium/",
        IBUPROFEN => "https://bnf.nice.org.uk/drugs/ibuprofen/",
        NAPROXEN => "https://bnf.nice.org.uk/drugs/naproxen/",
        DICLOFENAC => "https://bnf.nice.org.uk/drugs/diclofenac-sodium/",
        ASPIRIN => "https://bnf.nice.org.uk/drugs/aspirin/",
        SIMVASTATIN => "https://bnf.nice.org.uk/drugs/simvastatin/",
        ATORVASTATIN => "https://bnf.nice.org.uk/drugs/atorvastatin/",
        CLARITHROMYCIN => "https://bnf.nice.org.uk/drugs/clarithromycin/",
        ERYTHROMYCIN => "https://bnf.nice.org.uk/drugs/erythromycin/",
        AMOXICILLIN => "https://bnf.nice.org.uk/drugs/amoxicillin/",
        FLUCLOXACILLIN => "https://bnf.nice.org.uk/drugs/flucloxacillin/",
        PHENOXYMETHYLPENICILLIN => "https://bnf.nice.org.uk/drugs/phenoxymethylpenicillin/",
        CEFUROXIME => "https://bnf.nice.org.uk/drugs/cefuroxime/",
        SERTRALINE => "https://bnf.nice.org.uk/drugs/sertraline/",
        FLUOXETINE => "https://bnf.nice.org.uk/drugs/fluoxetine/",
        CITALOPRAM => "https://bnf.nice.org.uk/drugs/citalopram/",
        RASAGILINE => "https://bnf.nice.org.uk/drugs/rasagiline/",
        OMEPRAZOLE => "https://bnf.nice.org.uk/drugs/omeprazole/",
        LANSOPRAZOLE => "https://bnf.nice.org.uk/drugs/lansoprazole/",
        PARACETAMOL => "https://bnf.nice.org.uk/drugs/paracetamol/",
        METFORMIN => "https://bnf.nice.org.uk/drugs/metformin-hydrochloride/",
        RAMIPRIL => "https://bnf.nice.org.uk/drugs/ramipril/",
        LISINOPRIL => "https://bnf.nice.org.uk/drugs/lisinopril/",
        CODEINE => "https://bnf.nice.org.uk/drugs/codeine-phosphate/",
        TRAMADOL => "https://bnf.nice.org.uk/drugs/tramadol-hydrochloride/",
        ATAZANAVIR => "https://bnf.nice.org.uk/drugs/atazanavir/",
        TIZANIDINE => "https://bnf.nice.org.uk/drugs/tizanidine/",
        CIPROFLOXACIN => "https://bnf.nice.org.uk/drugs/ciprofloxacin/",
        _ => return None,
    };
    Some(url)
}

/// Whether `code` is a well-formed SNOMED CT identifier: 6 to 18 digits, no
/// leading zero, and a valid Verhoeff check digit last (the SDK's check).
pub fn sctid_is_valid(code: &str) -> bool {
    patchbay_sdk::coding::check_sctid(code).is_ok()
}

/// A medicine's name inside a sentence: "ibuprofen".
pub(super) fn lower(name: &str) -> String {
    name.to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verhoeff_accepts_real_identifiers_and_rejects_typos() {
        for code in [
            "91936005",          // Allergy to penicillin
            "394814009",         // General practice
            "26643006",          // Oral route
            "372756006",         // Warfarin (substance)
            "39695211000001102", // dm+d VMP: Simvastatin 40mg tablets
            "372567009",         // Metformin (substance): needs row 4 of P right
            "386872004",         // Ramipril (substance)
            "195967001",         // Asthma (disorder)
        ] {
            assert!(sctid_is_valid(code), "{code} should be valid");
        }
        for code in ["91936006", "372756007", "01936005", "12345", "9193600x", ""] {
            assert!(!sctid_is_valid(code), "{code} should be invalid");
        }
    }
}
