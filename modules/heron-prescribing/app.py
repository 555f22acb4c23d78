"""Heron Clinical Software Ltd's prescribing module, in Python: the
standard's `ordering` calls mapped onto Heron's knowledge (`knowledge.py`)
through the bindings componentize-py generates from `wit/prescribing`.
Built with `sdk/python/build modules/heron-prescribing OUT.wasm`."""

from typing import List, Optional

from wit_world import exports
from wit_world.exports import ordering
from wit_world.imports import context, patients, records

import knowledge
from patchbay_sdk import nhs_number, outcomes, times

#: The longest override reason kept.
MAX_OVERRIDE_REASON = 500

LEVELS = {
    "info": ordering.Indicator.INFO,
    "warning": ordering.Indicator.WARNING,
    "critical": ordering.Indicator.CRITICAL,
}
CATEGORIES = {
    "interaction": ordering.CardCategory.INTERACTION,
    "dose-range": ordering.CardCategory.DOSE_RANGE,
    "allergy": ordering.CardCategory.ALLERGY,
    "duplicate-therapy": ordering.CardCategory.DUPLICATE_THERAPY,
    "other": ordering.CardCategory.OTHER,
}


def registered_patient(number: str):
    nhs_number.check(number, "subject")
    patient = patients.lookup(number)
    if patient is None:
        raise outcomes.not_found(
            f"no patient with NHS number {number} is registered with this organisation", "subject")
    return patient


def check_draft(draft: ordering.Draft) -> None:
    if not draft.medication.code.strip():
        raise outcomes.invalid("the medication has no code: give a dm+d or SNOMED CT code",
                               "medicationCodeableConcept")
    if not (draft.dosage.dose > 0 and draft.dosage.dose != float("inf")):
        raise outcomes.invalid(f"the dose must be a positive number, not {draft.dosage.dose}",
                               "dosageInstruction.doseAndRate.doseQuantity")
    if draft.dosage.frequency_per_day == 0:
        raise outcomes.invalid("the dose must be given at least once a day",
                               "dosageInstruction.timing.repeat.frequency")


def action(kind: str, argument: Optional[str]):
    if kind == "stop-current":
        return ordering.SuggestedAction_StopCurrent(argument or "")
    if kind == "replace-with":
        from wit_world.imports.care_types_types import Coding
        return ordering.SuggestedAction_ReplaceWith(
            Coding(system="http://snomed.info/sct", code=argument or "", display=knowledge.name(argument or "")))
    return ordering.SuggestedAction_RemoveDraft()


def card(finding: knowledge.Finding) -> ordering.Card:
    return ordering.Card(
        summary=finding.summary,
        detail=finding.detail,
        indicator=LEVELS[finding.level],
        category=CATEGORIES[finding.category],
        source=ordering.Source(label=finding.source_label, url=finding.source_url),
        suggestions=[ordering.Suggestion(label=label, action=action(kind, argument))
                     for label, kind, argument in finding.suggestions],
    )


def active(patient: str) -> List[records.MedicationRequest]:
    return [r for r in records.medication_requests(patient) if r.status == records.RequestStatus.ACTIVE]


def cards_for(draft: ordering.Draft) -> List[ordering.Card]:
    patient = registered_patient(draft.patient)
    check_draft(draft)
    findings = knowledge.assess(
        code=draft.medication.code,
        dose_mg=draft.dosage.dose,
        unit=draft.dosage.unit,
        per_day=draft.dosage.frequency_per_day,
        age_years=times.age_in_years(patient.birth_date, context.now()),
        current=[knowledge.Current(r.id, r.medication.code) for r in active(draft.patient)],
        allergies=[a.code.code for a in records.allergies(draft.patient)],
    )
    return [card(f) for f in findings]


class Ordering(exports.Ordering):
    """Heron's answers to the standard's calls."""

    def check(self, draft: ordering.Draft) -> List[ordering.Card]:
        return cards_for(draft)

    def issue(self, draft: ordering.Draft, override_reason: Optional[str]) -> ordering.Issued:
        cards = cards_for(draft)
        reason = override_reason if override_reason and override_reason.strip() else None
        outcomes.check_length(reason, MAX_OVERRIDE_REASON, "overrideReason")
        critical = [c.summary for c in cards if c.indicator == ordering.Indicator.CRITICAL]
        if critical and reason is None:
            raise outcomes.business_rule(
                f"not issued: {len(critical)} critical warning(s) stand: {'; '.join(critical)}. "
                "Change the prescription, or issue it with an override reason")
        request = records.create_request(records.NewRequest(
            patient=draft.patient, medication=draft.medication, dosage=draft.dosage,
            intent=draft.intent, override_reason=reason))
        return ordering.Issued(request=request, cards=cards)

    def cancel(self, request_id: str, reason: str) -> records.MedicationRequest:
        request = self.read(request_id)
        if request.status != records.RequestStatus.ACTIVE:
            raise outcomes.business_rule(
                f"medication request '{request_id}' is not active and cannot be cancelled")
        if not reason.strip():
            raise outcomes.invalid("a cancellation needs a reason", "statusReason")
        return records.set_status(request_id, records.RequestStatus.CANCELLED, reason)

    def read(self, request_id: str) -> records.MedicationRequest:
        found = records.get_medication_request(request_id)
        if found is None:
            raise outcomes.not_found(f"there is no medication request '{request_id}' in this organisation")
        return found

    def active(self, patient: str) -> List[records.MedicationRequest]:
        nhs_number.check(patient, "subject")
        return active(patient)
