// {{supplier}}'s knowledge base: the least the prescribing standard asks
// for, the handful of facts its conformance suite checks, each with its
// source. Your knowledge base goes here: coded medicines, interactions,
// dose ranges and allergy classes, each with its source.
//
// Pure functions over plain data (no host imports), so they run in Node as
// well as in the component: write test/*.test.mjs importing knowledge.js
// from $PATCHBAY_MODULE_JS and run them with the SDK's `test` script (beside
// its `build`): `sdk/typescript/test .` from this folder, by its full path.

import type { Card, CardCategory, Indicator } from 'care:prescribing/ordering@0.1.0';
import type { Dosage } from 'care:prescribing/records@0.1.0';
import type { Coding } from 'care:types/types@0.1.0';
import { snomed } from '@patchbay/sdk';

/** An interacting pair of SNOMED CT substance codes. */
export interface Interaction {
  one: string;
  other: string;
  why: string;
  source: string;
}

/** Interacting pairs of SNOMED CT substance codes. Your knowledge base goes here. */
export const INTERACTIONS: readonly Interaction[] = [
  {
    one: '372756006', // warfarin
    other: '387207008', // ibuprofen
    why: 'An NSAID with warfarin raises the risk of bleeding',
    source: 'https://bnf.nice.org.uk/interactions/',
  },
  {
    one: '387584000', // simvastatin
    other: '387487009', // clarithromycin
    why: 'Simvastatin with clarithromycin is contraindicated',
    source: 'https://www.gov.uk/drug-safety-update/simvastatin-updated-advice-on-drug-interactions',
  },
];

/** Recorded allergy codes and the medicines they cover. */
export const ALLERGIES: Readonly<Record<string, readonly string[]>> = {
  '91936005': ['372687004'], // allergy to penicillin: amoxicillin
};
/** Where the allergy cards' knowledge comes from. */
export const ALLERGY_SOURCE = 'https://bnf.nice.org.uk/';

/** Adult maximum daily doses in mg, by medicine. */
export const MAX_DAILY_MG: Readonly<Record<string, { most: number; source: string }>> = {
  '387517004': { most: 4000, source: 'https://bnf.nice.org.uk/drugs/paracetamol/' }, // paracetamol
};

function card(summary: string, indicator: Indicator, category: CardCategory, source: string): Card {
  return {
    summary,
    detail: undefined,
    indicator,
    category,
    source: { label: '{{supplier}}', url: source },
    suggestions: [],
  };
}

/**
 * The cards for a medicine and its dosage, given the medicines the patient
 * takes now (their active requests' codings) and the patient's recorded
 * allergies (their codings). Only SNOMED CT codings (or dm+d) are matched.
 */
export function cardsFor(medication: Coding, dosage: Dosage, current: Coding[], allergies: Coding[]): Card[] {
  const cards: Card[] = [];
  if (!snomed.isSnomedSystem(medication.system)) return cards;
  const code = medication.code;
  for (const theirs of current) {
    if (!snomed.isSnomedSystem(theirs.system)) continue;
    for (const { one, other, why, source } of INTERACTIONS) {
      if ((code === one && theirs.code === other) || (code === other && theirs.code === one)) {
        cards.push(card(why, 'critical', 'interaction', source));
      }
    }
  }
  for (const allergy of allergies) {
    if (snomed.isSnomedSystem(allergy.system) && ALLERGIES[allergy.code]?.includes(code)) {
      cards.push(card('The patient is allergic to this medicine', 'critical', 'allergy', ALLERGY_SOURCE));
    }
  }
  const range = MAX_DAILY_MG[code];
  if (range !== undefined && dosage.unit === 'mg') {
    const daily = dosage.dose * dosage.frequencyPerDay;
    if (daily > range.most) {
      cards.push(
        card(`${daily} mg a day is above the adult maximum of ${range.most} mg`, 'warning', 'dose-range', range.source),
      );
    }
  }
  // Your policy: more checks (age, duplicate therapy, renal function...).
  return cards;
}
