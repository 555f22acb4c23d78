"""{{supplier}}'s prescribing module: a skeleton from `patchbay new`.

As it stands it knows the least the standard asks of a prescribing module:
the handful of facts its conformance suite checks (warfarin with an NSAID,
simvastatin with clarithromycin, a penicillin for a patient allergic to
penicillin, paracetamol above 4 g a day). Your knowledge base goes in the
tables below (or a module of its own, tested natively): coded medicines,
interactions, dose ranges and allergy classes, each with its source. The
standard's rules (refuse issuing while a critical card stands unless
overridden with a reason) are already here.

Build, from this folder: `{{python_build}} . {{name}}.wasm`; then check it:
`patchbay conformance {{name}}.wasm --id {{supplier}}/{{name}}@0.1.0`.
"""

from typing import List, Optional

from wit_world import exports
from wit_world.exports import ordering
from wit_world.imports import patients, records

from patchbay_sdk import nhs_number, outcomes

# Interacting pairs of SNOMED CT substance codes: (one, other, why, source).
# Your knowledge base goes here.
INTERACTIONS = [
    ("372756006", "387207008", "An NSAID with warfarin raises the risk of bleeding",
     "https://bnf.nice.org.uk/interactions/"),
    ("387584000", "387487009", "Simvastatin with clarithromycin is contraindicated",
     "https://www.gov.uk/drug-safety-update/simvastatin-updated-advice-on-drug-interactions"),
]
# Recorded allergy codes and the medicines they cover.
ALLERGIES = {"91936005": ["372687004"]}  # allergy to penicillin: amoxicillin
# Adult maximum daily doses in mg: medicine -> (most, source).
MAX_DAILY_MG = {"387517004": (4000.0, "https://bnf.nice.org.uk/drugs/paracetamol/")}


def card(summary: str, indicator, category, source: str) -> ordering.Card:
    return ordering.Card(summary=summary, detail=None, indicator=indicator, category=category,
                         source=ordering.Source(label="{{supplier}}", url=source), suggestions=[])


def active(patient: str) -> List[records.MedicationRequest]:
    return [r for r in records.medication_requests(patient) if r.status == records.RequestStatus.ACTIVE]


def cards_for(draft: ordering.Draft) -> List[ordering.Card]:
    nhs_number.check(draft.patient, "subject")
    if patients.lookup(draft.patient) is None:
        raise outcomes.not_found(f"no patient with NHS number {draft.patient} is registered here", "subject")
    code = draft.medication.code
    cards = []
    for current in active(draft.patient):
        theirs = current.medication.code
        for one, other, why, source in INTERACTIONS:
            if (code, theirs) in ((one, other), (other, one)):
                cards.append(card(why, ordering.Indicator.CRITICAL, ordering.CardCategory.INTERACTION, source))
    for allergy in records.allergies(draft.patient):
        if code in ALLERGIES.get(allergy.code.code, []):
            cards.append(card("The patient is allergic to this medicine", ordering.Indicator.CRITICAL,
                              ordering.CardCategory.ALLERGY, "https://bnf.nice.org.uk/"))
    if code in MAX_DAILY_MG and draft.dosage.unit == "mg":
        most, source = MAX_DAILY_MG[code]
        daily = draft.dosage.dose * draft.dosage.frequency_per_day
        if daily > most:
            cards.append(card(f"{daily:g} mg a day is above the adult maximum of {most:g} mg",
                              ordering.Indicator.WARNING, ordering.CardCategory.DOSE_RANGE, source))
    # Your policy: more checks (age, duplicate therapy, renal function...).
    return cards


class Ordering(exports.Ordering):
    def check(self, draft: ordering.Draft) -> List[ordering.Card]:
        return cards_for(draft)

    def issue(self, draft: ordering.Draft, override_reason: Optional[str]) -> ordering.Issued:
        cards = cards_for(draft)
        reason = override_reason if override_reason and override_reason.strip() else None
        outcomes.check_length(reason, 500, "overrideReason")
        if reason is None and any(c.indicator == ordering.Indicator.CRITICAL for c in cards):
            raise outcomes.business_rule(
                "not issued: a critical warning stands; change the prescription or give an override reason")
        request = records.create_request(records.NewRequest(
            patient=draft.patient, medication=draft.medication, dosage=draft.dosage,
            intent=draft.intent, override_reason=reason))
        return ordering.Issued(request=request, cards=cards)

    def cancel(self, request_id: str, reason: str) -> records.MedicationRequest:
        request = self.read(request_id)
        if request.status != records.RequestStatus.ACTIVE:
            raise outcomes.business_rule(f"medication request '{request_id}' is not active")
        if not reason.strip():
            raise outcomes.invalid("a cancellation needs a reason", "statusReason")
        return records.set_status(request_id, records.RequestStatus.CANCELLED, reason)

    def read(self, request_id: str) -> records.MedicationRequest:
        found = records.get_medication_request(request_id)
        if found is None:
            raise outcomes.not_found(f"there is no medication request '{request_id}'")
        return found

    def active(self, patient: str) -> List[records.MedicationRequest]:
        nhs_number.check(patient, "subject")
        return active(patient)
