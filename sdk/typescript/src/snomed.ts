// Code systems of the care standards and SNOMED CT identifier checks
// (SNOMED CT technical implementation guide, section 6.2), as the Rust
// SDK's `coding` module.

/** SNOMED CT. */
export const SNOMED_CT = 'http://snomed.info/sct';
/** The NHS Dictionary of Medicines and Devices; its codes are SNOMED CT identifiers in the UK extension. */
export const DMD = 'https://dmd.nhs.uk';
/** NHS number identifiers. */
export const NHS_NUMBER = 'https://fhir.nhs.uk/Id/nhs-number';
/** ODS organisation codes. */
export const ODS_ORGANISATION = 'https://fhir.nhs.uk/Id/ods-organization-code';

/** Whether a code system's codes are SNOMED CT identifiers. */
export function isSnomedSystem(system: string): boolean {
  return system === SNOMED_CT || system === DMD;
}

/** Why a text is not a SNOMED CT identifier. */
export class SctIdError extends Error {
  /** `format`: not 6 to 18 digits, or a leading zero; `check-digit`: the Verhoeff check fails. */
  readonly kind: 'format' | 'check-digit';
  /** The text that was checked. */
  readonly code: string;

  constructor(kind: 'format' | 'check-digit', code: string) {
    super(
      kind === 'format'
        ? `'${code}' is not a SNOMED CT identifier: it must be 6 to 18 digits with no leading zero`
        : `'${code}' is not a SNOMED CT identifier: its Verhoeff check digit is wrong`,
    );
    this.name = 'SctIdError';
    this.kind = kind;
    this.code = code;
  }
}

const VERHOEFF_D: readonly (readonly number[])[] = [
  [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
  [1, 2, 3, 4, 0, 6, 7, 8, 9, 5],
  [2, 3, 4, 0, 1, 7, 8, 9, 5, 6],
  [3, 4, 0, 1, 2, 8, 9, 5, 6, 7],
  [4, 0, 1, 2, 3, 9, 5, 6, 7, 8],
  [5, 9, 8, 7, 6, 0, 4, 3, 2, 1],
  [6, 5, 9, 8, 7, 1, 0, 4, 3, 2],
  [7, 6, 5, 9, 8, 2, 1, 0, 4, 3],
  [8, 7, 6, 5, 9, 3, 2, 1, 0, 4],
  [9, 8, 7, 6, 5, 4, 3, 2, 1, 0],
];

const VERHOEFF_P: readonly (readonly number[])[] = [
  [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
  [1, 5, 7, 6, 2, 8, 3, 0, 9, 4],
  [5, 8, 0, 3, 7, 9, 6, 1, 4, 2],
  [8, 9, 1, 6, 0, 4, 3, 5, 2, 7],
  [9, 4, 5, 3, 1, 2, 6, 8, 7, 0],
  [4, 2, 8, 6, 5, 7, 3, 9, 0, 1],
  [2, 7, 9, 3, 8, 0, 6, 4, 1, 5],
  [7, 0, 4, 6, 9, 1, 3, 2, 5, 8],
];

/**
 * Checks a SNOMED CT identifier: 6 to 18 digits, no leading zero, and a
 * valid Verhoeff check digit last. Returns undefined when it is valid, else
 * the error.
 */
export function checkSctId(code: string): SctIdError | undefined {
  if (!/^[1-9][0-9]{5,17}$/.test(code)) {
    return new SctIdError('format', code);
  }
  let c = 0;
  for (let i = 0; i < code.length; i++) {
    const digit = code.charCodeAt(code.length - 1 - i) - 48;
    c = VERHOEFF_D[c]![VERHOEFF_P[i % 8]![digit]!]!;
  }
  return c === 0 ? undefined : new SctIdError('check-digit', code);
}

/** Whether a text is a SNOMED CT identifier (concept, description or relationship id). */
export function isSctId(code: string): boolean {
  return checkSctId(code) === undefined;
}

import type { Coding } from 'care:types/types@0.1.0';

/** A SNOMED CT coding. */
export function snomedCoding(code: string, display: string): Coding {
  return { system: SNOMED_CT, code, display };
}

/** A dm+d coding. */
export function dmdCoding(code: string, display: string): Coding {
  return { system: DMD, code, display };
}

/** Whether a coding is the given code in a SNOMED CT based system (SNOMED CT itself or dm+d). */
export function isSnomedCode(coding: Coding, code: string): boolean {
  return isSnomedSystem(coding.system) && coding.code === code;
}
