"""Heron Clinical Software Ltd's prescribing knowledge: what Heron knows
about medicines, in plain Python (no bindings), so it is tested natively
(`python3 -m unittest discover modules/heron-prescribing`).

Heron's policy, which is its own:

- **Dose.** Above the usual adult maximum daily dose is a warning; at 1.5
  times it or more, critical. Ranges are the BNF's.
- **Age.** Heron checks the patient's age: aspirin under 16 (Reye's
  syndrome) and codeine under 12 are critical; an NSAID from 65 is a
  warning (gastro-intestinal bleeding).
- **Interactions.** A list of pairs by class, each with its level and its
  source.
- **Allergies.** A recorded allergy names a class (penicillin allergy) or a
  medicine; a medicine of that class is critical, and a cephalosporin for a
  penicillin allergy is a warning (cross-sensitivity).
- **Duplicate therapy.** A second active medicine of the same class is a
  warning, suggesting the current one is stopped.

Every fact carries its public source. Medicine codes are SNOMED CT
substance concepts (each passes the Verhoeff check; tested).
"""

from dataclasses import dataclass, field
from typing import List, Optional, Tuple

BNF = "https://bnf.nice.org.uk/"
BNF_INTERACTIONS = "https://bnf.nice.org.uk/interactions/"
MHRA_SIMVASTATIN = "https://www.gov.uk/drug-safety-update/simvastatin-updated-advice-on-drug-interactions"
MHRA_CODEINE = "https://www.gov.uk/drug-safety-update/codeine-for-analgesia-restricted-use-in-children-because-of-reports-of-morphine-toxicity"
MHRA_ASPIRIN = "https://bnf.nice.org.uk/drugs/aspirin/"
NICE_NSAIDS = "https://cks.nice.org.uk/topics/nsaids-prescribing-issues/"

#: Heron's medicines: SNOMED CT code -> (name, class, adult maximum daily
#: dose in mg, the BNF monograph it is from).
MEDICINES = {
    "372756006": ("Warfarin", "anticoagulant", 10.0, BNF + "drugs/warfarin-sodium/"),
    "387207008": ("Ibuprofen", "nsaid", 2400.0, BNF + "drugs/ibuprofen/"),
    "372588000": ("Naproxen", "nsaid", 1250.0, BNF + "drugs/naproxen/"),
    "7034005": ("Diclofenac", "nsaid", 150.0, BNF + "drugs/diclofenac-sodium/"),
    "387458008": ("Aspirin", "salicylate", 4000.0, BNF + "drugs/aspirin/"),
    "387584000": ("Simvastatin", "statin", 80.0, BNF + "drugs/simvastatin/"),
    "373444002": ("Atorvastatin", "statin", 80.0, BNF + "drugs/atorvastatin/"),
    "387487009": ("Clarithromycin", "macrolide", 1000.0, BNF + "drugs/clarithromycin/"),
    "372694001": ("Erythromycin", "macrolide", 4000.0, BNF + "drugs/erythromycin/"),
    "372687004": ("Amoxicillin", "penicillin", 3000.0, BNF + "drugs/amoxicillin/"),
    "387544009": ("Flucloxacillin", "penicillin", 4000.0, BNF + "drugs/flucloxacillin/"),
    "372725003": ("Phenoxymethylpenicillin", "penicillin", 4000.0, BNF + "drugs/phenoxymethylpenicillin/"),
    "372833007": ("Cefuroxime", "cephalosporin", 1000.0, BNF + "drugs/cefuroxime/"),
    "372594008": ("Sertraline", "ssri", 200.0, BNF + "drugs/sertraline/"),
    "372767007": ("Fluoxetine", "ssri", 60.0, BNF + "drugs/fluoxetine/"),
    "372596005": ("Citalopram", "ssri", 40.0, BNF + "drugs/citalopram/"),
    "418734001": ("Rasagiline", "mao-inhibitor", 1.0, BNF + "drugs/rasagiline/"),
    "387137007": ("Omeprazole", "ppi", 80.0, BNF + "drugs/omeprazole/"),
    "386888004": ("Lansoprazole", "ppi", 60.0, BNF + "drugs/lansoprazole/"),
    "387517004": ("Paracetamol", "analgesic", 4000.0, BNF + "drugs/paracetamol/"),
    "372567009": ("Metformin", "biguanide", 2000.0, BNF + "drugs/metformin-hydrochloride/"),
    "386872004": ("Ramipril", "ace-inhibitor", 10.0, BNF + "drugs/ramipril/"),
    "387494007": ("Codeine", "opioid", 240.0, BNF + "drugs/codeine-phosphate/"),
    "386858008": ("Tramadol", "opioid", 400.0, BNF + "drugs/tramadol-hydrochloride/"),
    "373440006": ("Tizanidine", "muscle-relaxant", 36.0, BNF + "drugs/tizanidine/"),
    "372840008": ("Ciprofloxacin", "quinolone", 1500.0, BNF + "drugs/ciprofloxacin/"),
}

#: Interacting classes (or medicine codes): (one, other, level, why, source).
INTERACTIONS = [
    ("anticoagulant", "nsaid", "critical",
     "An NSAID with warfarin raises the risk of bleeding: avoid, or monitor INR closely", BNF_INTERACTIONS),
    ("anticoagulant", "salicylate", "critical",
     "Aspirin with warfarin raises the risk of bleeding", BNF_INTERACTIONS),
    ("anticoagulant", "macrolide", "warning",
     "A macrolide may raise the INR of a patient on warfarin: check the INR", BNF_INTERACTIONS),
    ("387584000", "macrolide", "critical",
     "Simvastatin with clarithromycin or erythromycin: contraindicated (myopathy, rhabdomyolysis); stop simvastatin during the course",
     MHRA_SIMVASTATIN),
    ("373444002", "387487009", "warning",
     "Atorvastatin with clarithromycin raises atorvastatin exposure: use the lowest dose", MHRA_SIMVASTATIN),
    ("ssri", "nsaid", "warning",
     "An SSRI with an NSAID raises the risk of gastro-intestinal bleeding: consider a PPI", NICE_NSAIDS),
    ("ssri", "386858008", "warning",
     "Tramadol with an SSRI risks serotonin syndrome and seizures", BNF_INTERACTIONS),
    ("mao-inhibitor", "ssri", "critical",
     "An SSRI with an MAO inhibitor risks serotonin syndrome: avoid", BNF_INTERACTIONS),
    ("ace-inhibitor", "nsaid", "warning",
     "An NSAID with an ACE inhibitor may reduce renal function: check renal function", NICE_NSAIDS),
    ("372840008", "373440006", "critical",
     "Ciprofloxacin with tizanidine: contraindicated (tizanidine exposure rises tenfold)", BNF_INTERACTIONS),
]

#: Recorded allergy codes Heron reads as a class: SNOMED CT code -> class.
ALLERGY_CLASSES = {
    "91936005": "penicillin",  # Allergy to penicillin
    "294505008": "penicillin",  # Allergy to amoxicillin
    "293586001": "salicylate",  # Allergy to aspirin
}


@dataclass
class Finding:
    """One thing Heron has to say about a draft."""

    summary: str
    detail: str
    level: str  # "info", "warning" or "critical"
    category: str  # "interaction", "dose-range", "allergy", "duplicate-therapy", "other"
    source_label: str
    source_url: Optional[str]
    #: Suggestions: (label, action, argument), the action "remove-draft",
    #: "stop-current" (argument: the request id) or "replace-with" (a code).
    suggestions: List[Tuple[str, str, Optional[str]]] = field(default_factory=list)


@dataclass
class Current:
    """An active prescription of the patient."""

    request_id: str
    code: str


def name(code: str) -> str:
    """A medicine's name, or its code if Heron does not know it."""
    return MEDICINES.get(code, (code,))[0]


def classes(code: str) -> set:
    """What a code stands for in the tables: itself and its class."""
    medicine = MEDICINES.get(code)
    return {code} | ({medicine[1]} if medicine else set())


def assess(code: str, dose_mg: float, unit: str, per_day: int, age_years: int,
           current: List[Current], allergies: List[str]) -> List[Finding]:
    """Everything Heron finds about a draft of `code`, `dose_mg` `per_day`
    times a day, for a patient of `age_years`, on `current`, with these
    recorded allergy codes."""
    findings: List[Finding] = []
    drug = name(code)
    medicine = MEDICINES.get(code)
    mine = classes(code)

    # Allergies first: they stop a prescription outright.
    for allergy in allergies:
        allergic_to = {ALLERGY_CLASSES[allergy]} if allergy in ALLERGY_CLASSES else classes(allergy)
        if mine & allergic_to:
            findings.append(Finding(
                f"{drug}: the patient is allergic to {sorted(allergic_to)[0]}s",
                f"A recorded allergy ({allergy}) covers {drug}. Choose a medicine of another class.",
                "critical", "allergy", "BNF: allergy and cross-sensitivity", BNF,
                [("Remove the draft", "remove-draft", None)]))
        elif "penicillin" in allergic_to and medicine and medicine[1] == "cephalosporin":
            findings.append(Finding(
                f"{drug}: cephalosporin for a patient allergic to penicillin",
                "About 0.5–6.5% of patients allergic to penicillin react to cephalosporins; avoid after an immediate reaction.",
                "warning", "allergy", "BNF: penicillins, cross-sensitivity", BNF + "treatment-summaries/penicillins/"))

    # Interactions with what the patient already takes.
    for other in current:
        theirs = classes(other.code)
        for one, two, level, why, source in INTERACTIONS:
            if (one in mine and two in theirs) or (two in mine and one in theirs):
                findings.append(Finding(
                    f"{drug} with {name(other.code)}: {'avoid' if level == 'critical' else 'caution'}",
                    why, level, "interaction", "BNF interactions" if source == BNF_INTERACTIONS else source, source,
                    [(f"Stop {name(other.code)}", "stop-current", other.request_id)]))
                break
        if medicine and other.code != code and MEDICINES.get(other.code, (None, None))[1] == medicine[1]:
            findings.append(Finding(
                f"{drug}: the patient already takes {name(other.code)}, of the same class",
                f"Two {medicine[1]} medicines at once: stop one.",
                "warning", "duplicate-therapy", "BNF", BNF,
                [(f"Stop {name(other.code)}", "stop-current", other.request_id)]))
        elif other.code == code:
            findings.append(Finding(
                f"{drug} is already prescribed",
                "An active prescription of the same medicine stands.",
                "warning", "duplicate-therapy", "BNF", BNF,
                [(f"Stop the current {drug}", "stop-current", other.request_id)]))

    # The dose against the adult maximum.
    if medicine and unit == "mg":
        daily = dose_mg * per_day
        most = medicine[2]
        if daily >= 1.5 * most:
            level = "critical"
        elif daily > most:
            level = "warning"
        else:
            level = None
        if level:
            findings.append(Finding(
                f"{drug} {daily:g} mg a day is above the adult maximum of {most:g} mg",
                f"The BNF gives at most {most:g} mg a day for adults. Check the dose.",
                level, "dose-range", f"BNF: {drug}", medicine[3],
                [("Remove the draft", "remove-draft", None)]))

    # Age.
    if code == "387458008" and age_years < 16:
        findings.append(Finding(
            "Aspirin under 16: avoid (Reye's syndrome)",
            "Aspirin is not given to children under 16 except on specialist advice.",
            "critical", "other", "BNF: aspirin", MHRA_ASPIRIN))
    if code == "387494007" and age_years < 12:
        findings.append(Finding(
            "Codeine under 12: contraindicated",
            "Codeine is contraindicated for pain in children under 12 (morphine toxicity).",
            "critical", "other", "MHRA Drug Safety Update (2013)", MHRA_CODEINE))
    if medicine and medicine[1] == "nsaid" and age_years >= 65:
        findings.append(Finding(
            f"{drug} for a patient of {age_years}: gastro-intestinal risk",
            "From 65 the risk of bleeding with an NSAID rises: use the lowest dose for the shortest time, and consider a PPI.",
            "warning", "other", "NICE CKS: NSAIDs, prescribing issues", NICE_NSAIDS))
    return findings
