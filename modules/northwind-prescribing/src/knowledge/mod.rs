//! Northwind Medicines Ltd's prescribing knowledge base and decision logic.
//!
//! This is the part of Northwind's module that has clinical content: a small,
//! real knowledge base of medicines used in UK primary care, and the checks
//! run on a draft prescription against it (drug interactions, adult dose
//! ranges, recorded allergies and duplicate therapy). It is plain Rust with
//! no bindings; `lib.rs` maps [`Finding`]s onto CDS Hooks cards.
//!
//! # Sources
//!
//! * **Medicine codes** are SNOMED CT concept identifiers for the substance
//!   (system `http://snomed.info/sct`). Each was checked against published
//!   terminology artefacts (the KBV's SNOMED CT to ATC substance map, the
//!   HL7 Switzerland active-ingredient value set, HL7 FHIR examples) and
//!   carries a valid Verhoeff check digit (tested below). Medicines whose
//!   code could not be confirmed (phenelzine, cefalexin) are left out rather
//!   than guessed: rasagiline stands for the MAO inhibitors and cefuroxime
//!   for the cephalosporins.
//! * **Dose ranges** are usual adult oral doses from the British National
//!   Formulary (BNF, <https://bnf.nice.org.uk/>), each medicine citing its
//!   monograph in [`Medicine::source`].
//! * **Interactions** cite the BNF interactions appendix, the MHRA Drug
//!   Safety Update (simvastatin, August 2012) and the ONC high-priority
//!   drug–drug interaction list (Phansalkar et al., *J Am Med Inform Assoc*
//!   2012;19(5):735–43, doi:10.1136/amiajnl-2011-000612).
//! * **Allergy cross-sensitivity** follows the BNF: a patient allergic to one
//!   penicillin is allergic to all of them, and some also react to
//!   cephalosporins; NSAIDs are contraindicated after hypersensitivity to
//!   aspirin or any other NSAID.
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
//!
//! This is decision support, not a prescriber: every finding explains itself
//! and names its source so that the clinician can judge it.

use std::cmp::Reverse;

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

const WARFARIN: &str = "372756006";
const IBUPROFEN: &str = "387207008";
const NAPROXEN: &str = "372588000";
const DICLOFENAC: &str = "7034005";
const ASPIRIN: &str = "387458008";
const SIMVASTATIN: &str = "387584000";
const ATORVASTATIN: &str = "373444002";
const CLARITHROMYCIN: &str = "387487009";
const ERYTHROMYCIN: &str = "372694001";
const AMOXICILLIN: &str = "372687004";
const FLUCLOXACILLIN: &str = "387544009";
const PHENOXYMETHYLPENICILLIN: &str = "372725003";
const CEFUROXIME: &str = "372833007";
const SERTRALINE: &str = "372594008";
const FLUOXETINE: &str = "372767007";
const CITALOPRAM: &str = "372596005";
const RASAGILINE: &str = "418734001";
const OMEPRAZOLE: &str = "387137007";
const LANSOPRAZOLE: &str = "386888004";
const PARACETAMOL: &str = "387517004";
const METFORMIN: &str = "372567009";
const RAMIPRIL: &str = "386872004";
const LISINOPRIL: &str = "386873009";
const CODEINE: &str = "387494007";
const TRAMADOL: &str = "386858008";
const ATAZANAVIR: &str = "413592000";
const TIZANIDINE: &str = "373440006";
const CIPROFLOXACIN: &str = "372840008";

/// The BNF's home; used where a finding rests on BNF guidance as a whole.
const BNF: &str = "https://bnf.nice.org.uk/";
/// The BNF's interactions appendix.
const BNF_INTERACTIONS: &str = "https://bnf.nice.org.uk/interactions/";
/// The BNF's treatment summaries (penicillins, NSAIDs, macrolides).
const BNF_SUMMARIES: &str = "https://bnf.nice.org.uk/treatment-summaries/";
/// Phansalkar et al., the ONC high-priority drug–drug interaction list.
const ONC_LIST: &str = "https://doi.org/10.1136/amiajnl-2011-000612";
/// MHRA Drug Safety Update, August 2012: simvastatin interactions.
const MHRA_SIMVASTATIN: &str =
    "https://www.gov.uk/drug-safety-update/simvastatin-updated-advice-on-drug-interactions";

static MEDICINES: [Medicine; 28] = [
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

/// How serious a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// For information; nothing needs to change.
    Info,
    /// Think again: the prescription may need changing or monitoring.
    Warning,
    /// Do not issue as it stands.
    Critical,
}

impl Level {
    /// 0 for Info, 1 for Warning, 2 for Critical: higher is more severe.
    pub fn rank(self) -> u8 {
        match self {
            Level::Info => 0,
            Level::Warning => 1,
            Level::Critical => 2,
        }
    }
}

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

/// One side of an interacting pair: a medicine or a whole class.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Agent {
    /// One medicine, by SNOMED CT code.
    Medicine(&'static str),
    /// Every medicine of a class.
    Class(Class),
}

impl Agent {
    /// Whether `medicine` is on this side of the pair.
    pub fn covers(self, medicine: &Medicine) -> bool {
        match self {
            Agent::Medicine(code) => medicine.code == code,
            Agent::Class(class) => medicine.is(class),
        }
    }
}

/// An interacting pair, symmetric: the draft may be on either side.
///
/// Side `a` is the one to give up: its medicine may be replaced or stopped.
/// A current medicine on side `b` is offered for stopping only when
/// [`Interaction::stop_b_ok`] says so (warfarin is not stopped to make room
/// for an NSAID).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Interaction {
    /// One side.
    pub a: Agent,
    /// The other side.
    pub b: Agent,
    /// How serious the interaction is.
    pub level: Level,
    /// The effect in a few words, for the summary.
    pub headline: &'static str,
    /// Markdown: the mechanism and what to do.
    pub detail: &'static str,
    /// The cited source.
    pub source_label: &'static str,
    /// A link to it.
    pub source_url: Option<&'static str>,
    /// A safer medicine to offer instead when the draft is on side `a`.
    pub alternative_for_a: Option<&'static str>,
    /// Whether stopping a current medicine on side `b` is a fair suggestion.
    pub stop_b_ok: bool,
}

static INTERACTIONS: [Interaction; 14] = [
    // BNF interactions (warfarin): NSAIDs increase the risk of bleeding
    // with coumarins; avoid, use paracetamol.
    Interaction {
        a: Agent::Class(Class::Nsaid),
        b: Agent::Medicine(WARFARIN),
        level: Level::Critical,
        headline: "serious bleeding risk; avoid the combination",
        detail: "NSAIDs impair platelet function and injure the stomach lining; with warfarin they \
                 sharply raise the risk of gastrointestinal and other serious bleeding. The BNF \
                 advises avoiding the combination.\n\n**What to do:** use paracetamol for pain. If \
                 an NSAID is unavoidable, give the lowest dose for the shortest time with a proton \
                 pump inhibitor, and check the INR.",
        source_label: "BNF: Warfarin interactions (NSAIDs)",
        source_url: Some(BNF_INTERACTIONS),
        alternative_for_a: Some(PARACETAMOL),
        stop_b_ok: false,
    },
    // BNF interactions (warfarin): aspirin increases the risk of bleeding;
    // combine only where a specialist intends it.
    Interaction {
        a: Agent::Medicine(ASPIRIN),
        b: Agent::Medicine(WARFARIN),
        level: Level::Warning,
        headline: "added bleeding risk; only on specialist advice",
        detail: "Aspirin's antiplatelet effect adds to warfarin's anticoagulation and raises the \
                 risk of bleeding (BNF). The pair is used deliberately only in some cardiac \
                 conditions on specialist advice.\n\n**What to do:** if aspirin is for pain, use \
                 paracetamol. If it is antiplatelet treatment, confirm the combination is \
                 intended and consider gastroprotection.",
        source_label: "BNF: Warfarin interactions (aspirin)",
        source_url: Some(BNF_INTERACTIONS),
        alternative_for_a: Some(PARACETAMOL),
        stop_b_ok: false,
    },
    // BNF interactions (warfarin): macrolides increase the anticoagulant
    // effect of coumarins.
    Interaction {
        a: Agent::Class(Class::Macrolide),
        b: Agent::Medicine(WARFARIN),
        level: Level::Warning,
        headline: "may raise the INR; monitor it during the course",
        detail: "Clarithromycin and erythromycin inhibit warfarin's metabolism and can raise the \
                 INR and the risk of bleeding (BNF).\n\n**What to do:** check the INR during and \
                 soon after the course, or choose an antibacterial that does not interact.",
        source_label: "BNF: Warfarin interactions (macrolides)",
        source_url: Some(BNF_INTERACTIONS),
        alternative_for_a: None,
        stop_b_ok: false,
    },
    // BNF interactions (warfarin): ciprofloxacin increases the anticoagulant
    // effect of coumarins.
    Interaction {
        a: Agent::Medicine(CIPROFLOXACIN),
        b: Agent::Medicine(WARFARIN),
        level: Level::Warning,
        headline: "may raise the INR; monitor it during the course",
        detail: "Ciprofloxacin can increase warfarin's anticoagulant effect and the risk of \
                 bleeding (BNF).\n\n**What to do:** check the INR during and soon after the \
                 course, or choose an antibacterial that does not interact.",
        source_label: "BNF: Warfarin interactions (quinolones)",
        source_url: Some(BNF_INTERACTIONS),
        alternative_for_a: None,
        stop_b_ok: false,
    },
    // MHRA Drug Safety Update, August 2012: simvastatin is contraindicated
    // with clarithromycin (strong CYP3A4 inhibitor).
    Interaction {
        a: Agent::Medicine(CLARITHROMYCIN),
        b: Agent::Medicine(SIMVASTATIN),
        level: Level::Critical,
        headline: "contraindicated; risk of myopathy and rhabdomyolysis",
        detail: "Clarithromycin strongly inhibits CYP3A4, which clears simvastatin; simvastatin \
                 levels rise several-fold with a risk of myopathy and rhabdomyolysis. Simvastatin \
                 is contraindicated with clarithromycin (MHRA Drug Safety Update, August \
                 2012).\n\n**What to do:** suspend simvastatin for the course and for a few days \
                 after it, or choose an antibacterial that does not inhibit CYP3A4.",
        source_label: "MHRA Drug Safety Update (August 2012): simvastatin interactions",
        source_url: Some(MHRA_SIMVASTATIN),
        alternative_for_a: None,
        stop_b_ok: true,
    },
    // MHRA Drug Safety Update, August 2012: simvastatin is contraindicated
    // with erythromycin.
    Interaction {
        a: Agent::Medicine(ERYTHROMYCIN),
        b: Agent::Medicine(SIMVASTATIN),
        level: Level::Critical,
        headline: "contraindicated; risk of myopathy and rhabdomyolysis",
        detail: "Erythromycin inhibits CYP3A4, which clears simvastatin; simvastatin levels rise \
                 with a risk of myopathy and rhabdomyolysis. Simvastatin is contraindicated with \
                 erythromycin (MHRA Drug Safety Update, August 2012).\n\n**What to do:** suspend \
                 simvastatin for the course and for a few days after it, or choose an \
                 antibacterial that does not inhibit CYP3A4.",
        source_label: "MHRA Drug Safety Update (August 2012): simvastatin interactions",
        source_url: Some(MHRA_SIMVASTATIN),
        alternative_for_a: None,
        stop_b_ok: true,
    },
    // Atorvastatin SmPC section 4.5 and BNF interactions (atorvastatin):
    // clarithromycin raises atorvastatin exposure; lower doses, monitor.
    Interaction {
        a: Agent::Medicine(CLARITHROMYCIN),
        b: Agent::Medicine(ATORVASTATIN),
        level: Level::Warning,
        headline: "raises atorvastatin levels; use a low statin dose",
        detail: "Clarithromycin inhibits CYP3A4 and raises atorvastatin exposure, increasing the \
                 risk of myopathy. The atorvastatin SmPC recommends lower maintenance doses and \
                 clinical monitoring above 20 mg daily (BNF).\n\n**What to do:** keep atorvastatin \
                 at 20 mg or less, or pause it, for the course; ask the patient to report muscle \
                 pain.",
        source_label: "BNF: Atorvastatin interactions (clarithromycin); atorvastatin SmPC 4.5",
        source_url: Some(BNF_INTERACTIONS),
        alternative_for_a: None,
        stop_b_ok: true,
    },
    // ONC high-priority list (Phansalkar et al. 2012): MAO inhibitors with
    // serotonin re-uptake inhibitors are contraindicated.
    Interaction {
        a: Agent::Class(Class::Ssri),
        b: Agent::Class(Class::MaoInhibitor),
        level: Level::Critical,
        headline: "risk of serotonin syndrome; contraindicated pair",
        detail: "An SSRI with a monoamine-oxidase inhibitor can cause serotonin syndrome \
                 (agitation, hyperthermia, rigidity, autonomic instability), which can be fatal. \
                 MAO inhibitors with SSRIs are one of the 15 contraindicated pairs of the ONC \
                 high-priority list (Phansalkar et al., JAMIA 2012). For rasagiline, a selective \
                 MAO-B inhibitor, the SmPC says to avoid fluoxetine and fluvoxamine and to use \
                 other antidepressants with caution.\n\n**What to do:** do not start the \
                 combination without specialist advice; observe the wash-out between them (at \
                 least 5 weeks after stopping fluoxetine).",
        source_label: "ONC high-priority DDI list (Phansalkar et al., JAMIA 2012): MAOIs + SSRIs",
        source_url: Some(ONC_LIST),
        alternative_for_a: None,
        stop_b_ok: true,
    },
    // ONC high-priority list: MAO inhibitors with narcotic analgesics
    // (tramadol's SmPC contraindicates MAO inhibitors).
    Interaction {
        a: Agent::Medicine(TRAMADOL),
        b: Agent::Class(Class::MaoInhibitor),
        level: Level::Critical,
        headline: "risk of serotonin syndrome; contraindicated pair",
        detail: "Tramadol inhibits serotonin re-uptake; with a monoamine-oxidase inhibitor it can \
                 cause serotonin syndrome. Narcotic analgesics with MAO inhibitors are on the ONC \
                 high-priority list (Phansalkar et al., JAMIA 2012), and tramadol's SmPC \
                 contraindicates MAO inhibitors and the 2 weeks after them.\n\n**What to do:** \
                 choose another analgesic, such as paracetamol.",
        source_label: "ONC high-priority DDI list (Phansalkar et al., JAMIA 2012): MAOIs + opioids",
        source_url: Some(ONC_LIST),
        alternative_for_a: Some(PARACETAMOL),
        stop_b_ok: false,
    },
    // ONC high-priority list: atazanavir with proton pump inhibitors.
    Interaction {
        a: Agent::Class(Class::ProtonPumpInhibitor),
        b: Agent::Medicine(ATAZANAVIR),
        level: Level::Critical,
        headline: "atazanavir absorption falls; HIV treatment may fail",
        detail: "Atazanavir needs stomach acid to be absorbed. Proton pump inhibitors cut its \
                 levels substantially, risking loss of viral control and resistance. Atazanavir \
                 with PPIs is one of the pairs of the ONC high-priority list (Phansalkar et al., \
                 JAMIA 2012); the SmPC does not recommend it.\n\n**What to do:** do not \
                 co-prescribe without the HIV team's advice.",
        source_label: "ONC high-priority DDI list (Phansalkar et al., JAMIA 2012): \
            atazanavir + PPIs",
        source_url: Some(ONC_LIST),
        alternative_for_a: None,
        stop_b_ok: false,
    },
    // ONC high-priority list: tizanidine with CYP1A2 inhibitors
    // (tizanidine's SmPC contraindicates ciprofloxacin).
    Interaction {
        a: Agent::Medicine(CIPROFLOXACIN),
        b: Agent::Medicine(TIZANIDINE),
        level: Level::Critical,
        headline: "tizanidine levels rise many-fold; contraindicated",
        detail: "Ciprofloxacin strongly inhibits CYP1A2, which clears tizanidine; tizanidine \
                 exposure rises many-fold, with severe hypotension and sedation. Tizanidine with \
                 CYP1A2 inhibitors is on the ONC high-priority list (Phansalkar et al., JAMIA \
                 2012) and tizanidine's SmPC contraindicates ciprofloxacin.\n\n**What to do:** \
                 choose another antibacterial, or stop tizanidine for the course.",
        source_label: "ONC high-priority DDI list (Phansalkar et al., JAMIA 2012): tizanidine + \
            CYP1A2 inhibitors",
        source_url: Some(ONC_LIST),
        alternative_for_a: None,
        stop_b_ok: true,
    },
    // BNF interactions (ACE inhibitors): NSAIDs increase the risk of renal
    // impairment and oppose the antihypertensive effect.
    Interaction {
        a: Agent::Class(Class::Nsaid),
        b: Agent::Class(Class::AceInhibitor),
        level: Level::Warning,
        headline: "risk of kidney injury; blood pressure control worse",
        detail: "NSAIDs reduce renal blood flow and blunt the effect of ACE inhibitors; together \
                 they increase the risk of acute kidney injury, especially with a diuretic or in \
                 dehydration (BNF).\n\n**What to do:** prefer paracetamol. If an NSAID is needed, \
                 use it briefly and check renal function and potassium.",
        source_label: "BNF: ACE inhibitor interactions (NSAIDs)",
        source_url: Some(BNF_INTERACTIONS),
        alternative_for_a: Some(PARACETAMOL),
        stop_b_ok: false,
    },
    // BNF interactions (tramadol): SSRIs increase the risk of serotonin
    // syndrome and of seizures.
    Interaction {
        a: Agent::Medicine(TRAMADOL),
        b: Agent::Class(Class::Ssri),
        level: Level::Warning,
        headline: "risk of serotonin syndrome and seizures",
        detail: "Tramadol and SSRIs both raise serotonin and lower the seizure threshold; together \
                 they can cause serotonin syndrome or seizures (BNF).\n\n**What to do:** prefer \
                 another analgesic; if tramadol is needed, use a low dose and tell the patient \
                 which symptoms to report.",
        source_label: "BNF: Tramadol interactions (SSRIs)",
        source_url: Some(BNF_INTERACTIONS),
        alternative_for_a: Some(PARACETAMOL),
        stop_b_ok: false,
    },
    // BNF interactions (SSRIs): NSAIDs increase the risk of bleeding.
    Interaction {
        a: Agent::Class(Class::Nsaid),
        b: Agent::Class(Class::Ssri),
        level: Level::Warning,
        headline: "higher risk of gastrointestinal bleeding",
        detail: "SSRIs deplete platelet serotonin; with an NSAID the risk of upper \
                 gastrointestinal bleeding rises (BNF).\n\n**What to do:** prefer paracetamol. If \
                 an NSAID is needed, consider a proton pump inhibitor, especially in older \
                 patients.",
        source_label: "BNF: SSRI interactions (NSAIDs)",
        source_url: Some(BNF_INTERACTIONS),
        alternative_for_a: Some(PARACETAMOL),
        stop_b_ok: false,
    },
];

/// Every interacting pair the knowledge base knows.
pub fn interactions() -> &'static [Interaction] {
    &INTERACTIONS
}

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
/// understood: see [`assess`].
pub fn allergy_rules() -> &'static [AllergyRule] {
    &ALLERGY_RULES
}

/// Classes contraindicated (first) and cross-sensitive (second) after an
/// allergy to a medicine of `class`.
fn cross_reactions(class: Class) -> (&'static [Class], &'static [Class]) {
    match class {
        Class::Penicillin => (&[Class::Penicillin], &[Class::Cephalosporin]),
        Class::Cephalosporin => (&[Class::Cephalosporin], &[Class::Penicillin]),
        Class::Nsaid | Class::Salicylate => (&[Class::Nsaid, Class::Salicylate], &[]),
        Class::Macrolide => (&[Class::Macrolide], &[]),
        _ => (&[], &[]),
    }
}

/// Where to read about a class's hypersensitivity.
fn allergy_source(class: Class) -> &'static str {
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
fn allergy_alternative(class: Class) -> Option<&'static str> {
    match class {
        Class::Penicillin | Class::Cephalosporin => Some(CLARITHROMYCIN),
        Class::Nsaid | Class::Salicylate => Some(PARACETAMOL),
        _ => None,
    }
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

/// A medicine's name inside a sentence: "ibuprofen".
fn lower(name: &str) -> String {
    name.to_lowercase()
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

/// Whether any allergy rules `medicine` out (at any level).
fn allergy_level(
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

/// The most severe interaction between two medicines, either way round,
/// and whether `draft` is on side `a`.
fn interaction_between(draft: &Medicine, other: &Medicine) -> Option<(&'static Interaction, bool)> {
    let mut best: Option<(&'static Interaction, bool)> = None;
    for rule in &INTERACTIONS {
        let draft_is_a = rule.a.covers(draft) && rule.b.covers(other);
        let draft_is_b = rule.b.covers(draft) && rule.a.covers(other);
        if !(draft_is_a || draft_is_b) {
            continue;
        }
        let better = match best {
            None => true,
            Some((held, _)) => rule.level.rank() > held.level.rank(),
        };
        if better {
            best = Some((rule, draft_is_a));
        }
    }
    best
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

#[cfg(test)]
mod tests {
    use super::*;

    fn adult<'a>(code: &'a str, dose: f64, unit: &'a str, frequency_per_day: u32) -> Draft<'a> {
        Draft {
            code,
            dose,
            unit,
            frequency_per_day,
            age_years: Some(45),
        }
    }

    fn current(request_id: &'static str, code: &'static str) -> Current<'static> {
        Current { request_id, code }
    }

    fn allergy(code: &'static str) -> RecordedAllergy<'static> {
        RecordedAllergy { code }
    }

    fn of(findings: &[Finding], category: Category) -> Vec<&Finding> {
        findings.iter().filter(|f| f.category == category).collect()
    }

    fn usual(code: &str) -> Draft<'_> {
        let m = find(code).expect("known medicine");
        adult(code, m.max_single_mg, "mg", 1)
    }

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

    #[test]
    fn every_code_is_a_valid_sctid() {
        for m in medicines() {
            assert!(sctid_is_valid(m.code), "{} {}", m.name, m.code);
        }
        for rule in allergy_rules() {
            assert!(sctid_is_valid(rule.code), "{} {}", rule.name, rule.code);
        }
        for rule in interactions() {
            for agent in [rule.a, rule.b] {
                if let Agent::Medicine(code) = agent {
                    assert!(find(code).is_some(), "interaction names unknown {code}");
                }
            }
            if let Some(code) = rule.alternative_for_a {
                assert!(find(code).is_some(), "unknown alternative {code}");
            }
        }
    }

    #[test]
    fn no_duplicate_codes_and_sane_ranges() {
        let all = medicines();
        assert!(all.len() >= 22);
        for (i, m) in all.iter().enumerate() {
            for other in &all[i + 1..] {
                assert_ne!(m.code, other.code, "{} and {}", m.name, other.name);
                assert_ne!(m.name, other.name);
            }
            for rule in allergy_rules() {
                assert_ne!(rule.code, m.code);
            }
            assert!(m.min_single_mg > 0.0, "{}", m.name);
            assert!(m.min_single_mg <= m.max_single_mg, "{}", m.name);
            assert!(m.max_single_mg <= m.max_daily_mg, "{}", m.name);
            assert!(!m.classes.is_empty(), "{}", m.name);
            assert!(m.source.starts_with("BNF: "), "{}", m.name);
            assert!(dose_source_url(m.code).is_some(), "{}", m.name);
            assert_eq!(find(m.code), Some(m));
        }
        assert!(interactions().len() >= 8);
        for rule in interactions() {
            assert!(!rule.source_label.is_empty());
            assert!(rule.source_url.is_some_and(|u| u.starts_with("https://")));
        }
    }

    #[test]
    fn warfarin_and_ibuprofen_are_critical_both_ways() {
        let draft = usual(IBUPROFEN);
        let found = assess(&draft, &[current("rx-warf", WARFARIN)], &[]);
        let hits = of(&found, Category::Interaction);
        assert_eq!(hits.len(), 1);
        assert_eq!(hits[0].level, Level::Critical);
        assert!(hits[0].summary.contains("Ibuprofen") && hits[0].summary.contains("warfarin"));
        // Warfarin is not stopped to make room for an NSAID.
        assert!(
            !hits[0]
                .suggestions
                .iter()
                .any(|(_, s)| matches!(s, Suggest::StopCurrent { .. }))
        );
        assert!(hits[0].suggestions.contains(&(
            "Remove this ibuprofen prescription".to_string(),
            Suggest::RemoveDraft
        )));
        assert!(hits[0].suggestions.iter().any(|(_, s)| *s
            == Suggest::ReplaceWith {
                code: PARACETAMOL,
                name: "Paracetamol"
            }));

        let draft = adult(WARFARIN, 5.0, "mg", 1);
        let found = assess(&draft, &[current("rx-ibu", IBUPROFEN)], &[]);
        let hits = of(&found, Category::Interaction);
        assert_eq!(hits.len(), 1);
        assert_eq!(hits[0].level, Level::Critical);
        // The current NSAID may be stopped; paracetamol replaces the NSAID,
        // never the warfarin.
        assert!(hits[0].suggestions.contains(&(
            "Stop the current ibuprofen prescription".to_string(),
            Suggest::StopCurrent {
                request_id: "rx-ibu".to_string()
            }
        )));
        assert!(
            !hits[0]
                .suggestions
                .iter()
                .any(|(_, s)| matches!(s, Suggest::ReplaceWith { .. }))
        );
    }

    #[test]
    fn every_nsaid_interacts_with_warfarin() {
        for code in [IBUPROFEN, NAPROXEN, DICLOFENAC] {
            let found = assess(&usual(code), &[current("w", WARFARIN)], &[]);
            assert_eq!(found[0].level, Level::Critical, "{code}");
            assert_eq!(found[0].category, Category::Interaction);
        }
        let found = assess(
            &adult(ASPIRIN, 75.0, "mg", 1),
            &[current("w", WARFARIN)],
            &[],
        );
        assert_eq!(of(&found, Category::Interaction)[0].level, Level::Warning);
    }

    #[test]
    fn simvastatin_and_clarithromycin_are_critical() {
        let found = assess(
            &adult(CLARITHROMYCIN, 500.0, "mg", 2),
            &[current("rx-simva", SIMVASTATIN)],
            &[],
        );
        let hits = of(&found, Category::Interaction);
        assert_eq!(hits.len(), 1);
        assert_eq!(hits[0].level, Level::Critical);
        assert_eq!(hits[0].source_url, Some(MHRA_SIMVASTATIN));
        // MHRA: suspend simvastatin for the course of the macrolide.
        assert!(hits[0].suggestions.iter().any(|(_, s)| *s
            == Suggest::StopCurrent {
                request_id: "rx-simva".to_string()
            }));
        let found = assess(&usual(SIMVASTATIN), &[current("c", CLARITHROMYCIN)], &[]);
        assert_eq!(of(&found, Category::Interaction)[0].level, Level::Critical);
        let found = assess(&usual(SIMVASTATIN), &[current("e", ERYTHROMYCIN)], &[]);
        assert_eq!(of(&found, Category::Interaction)[0].level, Level::Critical);
        // Atorvastatin is the milder case.
        let found = assess(&usual(ATORVASTATIN), &[current("c", CLARITHROMYCIN)], &[]);
        assert_eq!(of(&found, Category::Interaction)[0].level, Level::Warning);
    }

    #[test]
    fn ssri_with_mao_inhibitor_is_critical() {
        for ssri in [SERTRALINE, FLUOXETINE, CITALOPRAM] {
            let found = assess(&usual(ssri), &[current("rx-mao", RASAGILINE)], &[]);
            let hits = of(&found, Category::Interaction);
            assert_eq!(hits.len(), 1, "{ssri}");
            assert_eq!(hits[0].level, Level::Critical);
            assert_eq!(hits[0].source_url, Some(ONC_LIST));
        }
        let found = assess(&usual(RASAGILINE), &[current("s", SERTRALINE)], &[]);
        assert_eq!(of(&found, Category::Interaction)[0].level, Level::Critical);
    }

    #[test]
    fn onc_pairs_are_critical() {
        let pairs = [
            (OMEPRAZOLE, ATAZANAVIR),
            (LANSOPRAZOLE, ATAZANAVIR),
            (CIPROFLOXACIN, TIZANIDINE),
            (TRAMADOL, RASAGILINE),
        ];
        for (x, y) in pairs {
            for (d, c) in [(x, y), (y, x)] {
                let found = assess(&usual(d), &[current("rx", c)], &[]);
                let hits = of(&found, Category::Interaction);
                assert_eq!(hits.len(), 1, "{d} with {c}");
                assert_eq!(hits[0].level, Level::Critical, "{d} with {c}");
            }
        }
        let warnings = [
            (IBUPROFEN, RAMIPRIL),
            (NAPROXEN, LISINOPRIL),
            (TRAMADOL, SERTRALINE),
            (IBUPROFEN, CITALOPRAM),
            (CLARITHROMYCIN, WARFARIN),
            (CIPROFLOXACIN, WARFARIN),
        ];
        for (x, y) in warnings {
            for (d, c) in [(x, y), (y, x)] {
                let found = assess(&usual(d), &[current("rx", c)], &[]);
                let hits = of(&found, Category::Interaction);
                assert_eq!(hits.len(), 1, "{d} with {c}");
                assert_eq!(hits[0].level, Level::Warning, "{d} with {c}");
            }
        }
    }

    #[test]
    fn penicillin_allergy_rules_out_penicillins_and_warns_on_cephalosporins() {
        let found = assess(&usual(AMOXICILLIN), &[], &[allergy("91936005")]);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].category, Category::Allergy);
        assert_eq!(found[0].level, Level::Critical);
        assert!(found[0].summary.contains("Amoxicillin"));
        assert!(found[0].suggestions.iter().any(|(_, s)| *s
            == Suggest::ReplaceWith {
                code: CLARITHROMYCIN,
                name: "Clarithromycin"
            }));

        let found = assess(&usual(CEFUROXIME), &[], &[allergy("91936005")]);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].category, Category::Allergy);
        assert_eq!(found[0].level, Level::Warning);

        for code in [FLUCLOXACILLIN, PHENOXYMETHYLPENICILLIN] {
            let found = assess(&usual(code), &[], &[allergy("294505008")]);
            assert_eq!(found[0].level, Level::Critical, "{code}");
        }
        let found = assess(&usual(CLARITHROMYCIN), &[], &[allergy("91936005")]);
        assert!(found.is_empty());
    }

    #[test]
    fn substance_allergies_cover_the_medicine_and_its_class() {
        let found = assess(&usual(AMOXICILLIN), &[], &[allergy(AMOXICILLIN)]);
        assert_eq!(found[0].level, Level::Critical);
        assert_eq!(found[0].category, Category::Allergy);
        let found = assess(&usual(FLUCLOXACILLIN), &[], &[allergy(AMOXICILLIN)]);
        assert_eq!(found[0].level, Level::Critical);
        let found = assess(&usual(CEFUROXIME), &[], &[allergy(AMOXICILLIN)]);
        assert_eq!(found[0].level, Level::Warning);
        let found = assess(&usual(PARACETAMOL), &[], &[allergy(PARACETAMOL)]);
        assert_eq!(found[0].level, Level::Critical);
        let found = assess(&usual(NAPROXEN), &[], &[allergy("293586001")]);
        assert_eq!(found[0].level, Level::Critical);
        let found = assess(&usual(ASPIRIN), &[], &[allergy(IBUPROFEN)]);
        assert_eq!(found[0].level, Level::Critical);
        let found = assess(&usual(CLARITHROMYCIN), &[], &[allergy("91931000")]);
        assert_eq!(found[0].level, Level::Critical);
        // Unknown allergy codes are ignored.
        assert!(assess(&usual(PARACETAMOL), &[], &[allergy("12345678")]).is_empty());
    }

    #[test]
    fn alternatives_are_only_offered_when_clear() {
        // Clarithromycin would clash with simvastatin: not offered.
        let found = assess(
            &usual(AMOXICILLIN),
            &[current("s", SIMVASTATIN)],
            &[allergy("91936005")],
        );
        let hit = &of(&found, Category::Allergy)[0];
        assert!(
            !hit.suggestions
                .iter()
                .any(|(_, s)| matches!(s, Suggest::ReplaceWith { .. }))
        );
        // Paracetamol would meet a recorded paracetamol allergy: not offered.
        let found = assess(
            &usual(IBUPROFEN),
            &[current("w", WARFARIN)],
            &[allergy(PARACETAMOL)],
        );
        let hit = &of(&found, Category::Interaction)[0];
        assert!(
            !hit.suggestions
                .iter()
                .any(|(_, s)| matches!(s, Suggest::ReplaceWith { .. }))
        );
    }

    #[test]
    fn ibuprofen_2400_mg_single_dose_is_critical() {
        let found = assess(&adult(IBUPROFEN, 2400.0, "mg", 1), &[], &[]);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].category, Category::DoseRange);
        assert_eq!(found[0].level, Level::Critical);
        assert!(found[0].summary.contains("Ibuprofen 2400 mg"));
        // Just above the usual single maximum is a warning.
        let found = assess(&adult(IBUPROFEN, 800.0, "mg", 3), &[], &[]);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].level, Level::Warning);
        // Below the usual range is for information.
        let found = assess(&adult(IBUPROFEN, 100.0, "mg", 3), &[], &[]);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].level, Level::Info);
        assert_eq!(found[0].category, Category::DoseRange);
    }

    #[test]
    fn daily_overdose_is_caught() {
        let found = assess(&adult(PARACETAMOL, 1.0, "g", 6), &[], &[]);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].category, Category::DoseRange);
        assert_eq!(found[0].level, Level::Warning);
        assert!(found[0].summary.contains("6000 mg a day"));
        let found = assess(&adult(PARACETAMOL, 1.0, "g", 8), &[], &[]);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].level, Level::Critical);
        // Single and daily limits are reported separately.
        let found = assess(&adult(IBUPROFEN, 800.0, "mg", 4), &[], &[]);
        assert_eq!(of(&found, Category::DoseRange).len(), 2);
    }

    #[test]
    fn grams_and_micrograms_are_converted() {
        assert!(assess(&adult(PARACETAMOL, 1.0, "g", 4), &[], &[]).is_empty());
        assert!(assess(&adult(PARACETAMOL, 1.0, " G ", 4), &[], &[]).is_empty());
        assert!(assess(&adult(WARFARIN, 5000.0, "microgram", 1), &[], &[]).is_empty());
        assert!(assess(&adult(WARFARIN, 5000.0, "mcg", 1), &[], &[]).is_empty());
        let found = assess(&adult(PARACETAMOL, 2.5, "g", 1), &[], &[]);
        assert_eq!(found[0].level, Level::Critical);
        assert!(found[0].summary.contains("2500 mg"));
        let found = assess(&adult(WARFARIN, 50_000.0, "mcg", 1), &[], &[]);
        assert_eq!(found[0].level, Level::Critical);
        let found = assess(&adult(RAMIPRIL, 1250.0, "micrograms", 1), &[], &[]);
        assert!(found.is_empty(), "{found:?}");
    }

    #[test]
    fn other_units_are_not_checked() {
        let found = assess(&adult(PARACETAMOL, 2.0, "tablet", 4), &[], &[]);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].category, Category::Other);
        assert_eq!(found[0].level, Level::Info);
        assert!(found[0].summary.contains("tablet"));
    }

    #[test]
    fn two_nsaids_are_duplicate_therapy() {
        let found = assess(&usual(IBUPROFEN), &[current("rx-nap", NAPROXEN)], &[]);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].category, Category::DuplicateTherapy);
        assert_eq!(found[0].level, Level::Warning);
        assert!(found[0].summary.contains("NSAID"));
        assert!(found[0].suggestions.iter().any(|(_, s)| *s
            == Suggest::StopCurrent {
                request_id: "rx-nap".to_string()
            }));
        for (d, c) in [
            (SIMVASTATIN, ATORVASTATIN),
            (SERTRALINE, CITALOPRAM),
            (OMEPRAZOLE, LANSOPRAZOLE),
        ] {
            let found = assess(&usual(d), &[current("rx", c)], &[]);
            assert_eq!(found.len(), 1, "{d} {c}");
            assert_eq!(found[0].category, Category::DuplicateTherapy);
        }
        // Antiplatelet aspirin with an NSAID is not class duplication.
        assert!(
            of(
                &assess(&usual(IBUPROFEN), &[current("a", ASPIRIN)], &[]),
                Category::DuplicateTherapy
            )
            .is_empty()
        );
    }

    #[test]
    fn same_medicine_already_prescribed_is_a_warning() {
        let found = assess(&usual(SERTRALINE), &[current("rx-1", SERTRALINE)], &[]);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].category, Category::DuplicateTherapy);
        assert_eq!(found[0].level, Level::Warning);
        assert!(found[0].summary.contains("already prescribed"));
    }

    #[test]
    fn clean_paracetamol_gives_no_findings() {
        let draft = adult(PARACETAMOL, 1.0, "g", 4);
        assert!(assess(&draft, &[], &[]).is_empty());
        let draft = Draft {
            age_years: None,
            ..adult(PARACETAMOL, 1000.0, "mg", 4)
        };
        assert!(assess(&draft, &[], &[]).is_empty());
    }

    #[test]
    fn unknown_code_gives_one_info() {
        let draft = adult("123456789", 5.0, "mg", 1);
        let found = assess(&draft, &[current("w", WARFARIN)], &[allergy("91936005")]);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].level, Level::Info);
        assert_eq!(found[0].category, Category::Other);
        assert!(
            found[0]
                .summary
                .contains("not in Northwind's knowledge base")
        );
    }

    #[test]
    fn children_get_an_info_and_no_dose_check() {
        let draft = Draft {
            age_years: Some(10),
            ..adult(IBUPROFEN, 2400.0, "mg", 4)
        };
        let found = assess(&draft, &[], &[]);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].level, Level::Info);
        assert!(of(&found, Category::DoseRange).is_empty());
        assert!(found[0].summary.contains("adult"));
        // Other checks still run for children.
        let found = assess(&draft, &[current("w", WARFARIN)], &[]);
        assert_eq!(found[0].level, Level::Critical);
        assert!(of(&found, Category::DoseRange).is_empty());
        // Eighteen is an adult.
        let draft = Draft {
            age_years: Some(18),
            ..draft
        };
        assert_eq!(assess(&draft, &[], &[])[0].category, Category::DoseRange);
    }

    #[test]
    fn findings_are_sorted_critical_first() {
        let draft = adult(IBUPROFEN, 100.0, "mg", 3);
        let found = assess(
            &draft,
            &[current("n", NAPROXEN), current("w", WARFARIN)],
            &[],
        );
        let levels: Vec<Level> = found.iter().map(|f| f.level).collect();
        assert_eq!(levels, vec![Level::Critical, Level::Warning, Level::Info]);
        assert_eq!(found[0].category, Category::Interaction);
        assert_eq!(found[1].category, Category::DuplicateTherapy);
        assert_eq!(found[2].category, Category::DoseRange);
    }

    #[test]
    fn summaries_are_short_single_lines() {
        let units = ["mg", "g", "mcg", "tablet"];
        let doses = [0.01, 1.0, 100.0, 2400.0, 1e12];
        let ages = [None, Some(3), Some(40)];
        let allergy_codes: Vec<&str> = allergy_rules()
            .iter()
            .map(|r| r.code)
            .chain(medicines().iter().map(|m| m.code))
            .collect();
        let mut seen = 0usize;
        let mut check = |found: Vec<Finding>| {
            for f in found {
                seen += 1;
                let n = f.summary.chars().count();
                assert!(n < 140, "{n} chars: {}", f.summary);
                assert!(!f.summary.contains('\n'), "{}", f.summary);
                assert!(!f.summary.ends_with('…'), "needed cutting: {}", f.summary);
                assert!(!f.detail.is_empty());
                assert!(!f.source_label.is_empty());
            }
        };
        for d in medicines() {
            for unit in units {
                for dose in doses {
                    for age in ages {
                        let draft = Draft {
                            code: d.code,
                            dose,
                            unit,
                            frequency_per_day: 6,
                            age_years: age,
                        };
                        check(assess(&draft, &[], &[]));
                    }
                }
            }
            for c in medicines() {
                let found = assess(&usual(d.code), &[current("rx-0001", c.code)], &[]);
                check(found);
            }
            for code in &allergy_codes {
                check(assess(&usual(d.code), &[], &[RecordedAllergy { code }]));
            }
        }
        check(assess(&adult("999999999999999999", 1.0, "mg", 1), &[], &[]));
        assert!(seen > 500, "only {seen} findings exercised");
    }

    #[test]
    fn hostile_input_stays_on_one_short_line() {
        let long = "x".repeat(500) + "\n`inject`";
        let found = assess(&adult(&long, 1.0, "mg", 1), &[], &[]);
        assert!(found[0].summary.chars().count() < 140);
        assert!(!found[0].summary.contains('\n'));
        let found = assess(&adult(PARACETAMOL, 1.0, &"u\n".repeat(100), 1), &[], &[]);
        assert!(found[0].summary.chars().count() < 140);
        assert!(!found[0].summary.contains('\n'));
        let found = assess(&adult(PARACETAMOL, f64::NAN, "mg", 1), &[], &[]);
        assert_eq!(found[0].category, Category::Other);
        let found = assess(&adult(PARACETAMOL, 1e300, "mg", 4), &[], &[]);
        assert!(found.iter().all(|f| f.summary.chars().count() < 140));
    }
}
