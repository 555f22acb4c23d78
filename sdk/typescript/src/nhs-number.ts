// NHS number validation (NHS Data Dictionary: Modulus 11), as the Rust
// SDK's `nhs` module: the same rules and the same messages.

/** Why a text is not a valid NHS number. */
export class NhsNumberError extends Error {
  /** `format`: not ten digits; `check-digit`: the Modulus 11 check fails. */
  readonly kind: 'format' | 'check-digit';
  /** The text that was checked. */
  readonly nhsNumber: string;

  constructor(kind: 'format' | 'check-digit', nhsNumber: string) {
    super(
      kind === 'format'
        ? `'${nhsNumber}' is not an NHS number: an NHS number is exactly 10 digits with no spaces`
        : `'${nhsNumber}' is not a valid NHS number: its check digit is wrong (Modulus 11); check it was copied correctly`,
    );
    this.name = 'NhsNumberError';
    this.kind = kind;
    this.nhsNumber = nhsNumber;
  }
}

/**
 * Checks an NHS number: ten digits, the last a Modulus 11 check digit.
 * Returns undefined when it is valid, else the error.
 *
 * Digits 1 to 9 are multiplied by weights 10 down to 2 and summed;
 * `11 - (sum mod 11)` is the check digit, where 11 means 0 and 10 means the
 * number is invalid.
 */
export function check(nhsNumber: string): NhsNumberError | undefined {
  if (!/^[0-9]{10}$/.test(nhsNumber)) {
    return new NhsNumberError('format', nhsNumber);
  }
  let sum = 0;
  for (let i = 0; i < 9; i++) {
    sum += (nhsNumber.charCodeAt(i) - 48) * (10 - i);
  }
  let checkDigit = 11 - (sum % 11);
  if (checkDigit === 11) checkDigit = 0;
  if (checkDigit === 10 || checkDigit !== nhsNumber.charCodeAt(9) - 48) {
    return new NhsNumberError('check-digit', nhsNumber);
  }
  return undefined;
}

/** Whether a text is a valid NHS number. */
export function isValid(nhsNumber: string): boolean {
  return check(nhsNumber) === undefined;
}

/**
 * Whether a valid NHS number is in the test range 999 000 0000 – 999 999
 * 9999, which passes the check but is never issued to a person.
 */
export function isTestNumber(nhsNumber: string): boolean {
  return isValid(nhsNumber) && nhsNumber.startsWith('999');
}
