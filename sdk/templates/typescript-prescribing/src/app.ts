// {{supplier}}'s prescribing module: a skeleton from `patchbay new`.
//
// As it stands it knows the least the standard asks of a prescribing
// module: the handful of facts its conformance suite checks (warfarin with
// an NSAID, simvastatin with clarithromycin, a penicillin for a patient
// allergic to penicillin, paracetamol above 4 g a day). Your knowledge base
// goes in src/knowledge.ts (plain TypeScript, tested in Node): coded
// medicines, interactions, dose ranges and allergy classes, each with its
// source. The standard's rules (refuse issuing while a critical card
// stands unless overridden with a reason) are already here.
//
// Build, from this folder: `{{typescript_build}} . {{name}}.wasm`; then check it:
// `patchbay conformance {{name}}.wasm --id {{supplier}}/{{name}}@0.1.0`.

import type * as Ordering from 'care:prescribing/ordering@0.1.0';
import type { Card, Draft, Issued } from 'care:prescribing/ordering@0.1.0';
import {
  allergies,
  createRequest,
  getMedicationRequest,
  medicationRequests,
  setStatus,
  type MedicationRequest,
} from 'care:prescribing/records@0.1.0';
import { lookup } from 'care:types/patients@0.1.0';
import { outcomes } from '@patchbay/sdk';
import { cardsFor } from './knowledge.js';

/** The patient's active requests. */
function activeRequests(patient: string): MedicationRequest[] {
  return medicationRequests(patient).filter((r) => r.status === 'active');
}

/** The cards for a draft, after checking its patient is registered here. */
function check(draft: Draft): Card[] {
  outcomes.checkNhsNumber(draft.patient, 'subject');
  if (lookup(draft.patient) === undefined) {
    throw outcomes
      .notFound(`no patient with NHS number ${draft.patient} is registered with this organisation`)
      .at('subject');
  }
  return cardsFor(
    draft.medication,
    draft.dosage,
    activeRequests(draft.patient).map((r) => r.medication),
    allergies(draft.patient).map((a) => a.code),
  );
}

function issue(draft: Draft, overrideReason: string | undefined): Issued {
  const cards = check(draft);
  const reason = overrideReason !== undefined && overrideReason.trim() !== '' ? overrideReason : undefined;
  outcomes.checkLength(reason, 500, 'overrideReason');
  // Your policy: more reasons to refuse (a controlled drug, a prescriber's
  // scope...). The standard's: a critical card stands without a reason.
  if (reason === undefined && cards.some((c) => c.indicator === 'critical')) {
    throw outcomes.businessRule(
      'not issued: a critical warning stands; change the prescription or give an override reason',
    );
  }
  const request = createRequest({
    patient: draft.patient,
    medication: draft.medication,
    dosage: draft.dosage,
    intent: draft.intent,
    overrideReason: reason,
  });
  return { request, cards };
}

function cancel(requestId: string, reason: string): MedicationRequest {
  const request = read(requestId);
  if (request.status !== 'active') {
    throw outcomes.businessRule(`medication request '${requestId}' is not active`);
  }
  if (reason.trim() === '') {
    throw outcomes.invalid('a cancellation needs a reason').at('statusReason');
  }
  return setStatus(requestId, 'cancelled', reason);
}

function read(requestId: string): MedicationRequest {
  const found = getMedicationRequest(requestId);
  if (found === undefined) {
    throw outcomes.notFound(`there is no medication request '${requestId}'`);
  }
  return found;
}

function active(patient: string): MedicationRequest[] {
  outcomes.checkNhsNumber(patient, 'subject');
  return activeRequests(patient);
}

/** The exported interface, by its name in the world: `ordering`. */
export const ordering: typeof Ordering = {
  check,
  issue,
  cancel,
  read,
  active,
};
