// NHS numbers: ten digits, the last a Modulus 11 check digit (NHS Data
// Dictionary), checked as a person types so a mistyped number is caught
// before anything is sent.

/** Digits only, from what a person typed ("943 476 5919" → "9434765919"). */
export function digits(text) {
  return text.replace(/[\s-]/g, "");
}

/** Why a typed NHS number is not one, or null when it is. */
export function problem(text) {
  const number = digits(text);
  if (number.length === 0) return "Enter the patient's NHS number";
  if (!/^\d+$/.test(number)) return "An NHS number has digits only";
  if (number.length !== 10) return `An NHS number has 10 digits; this has ${number.length}`;
  let sum = 0;
  for (let i = 0; i < 9; i += 1) sum += Number(number[i]) * (10 - i);
  let check = 11 - (sum % 11);
  if (check === 11) check = 0;
  if (check === 10 || check !== Number(number[9])) {
    return "This is not a valid NHS number: check the digits (the last one does not match)";
  }
  return null;
}

/** "943 476 5919" for display. */
export function spaced(number) {
  return `${number.slice(0, 3)} ${number.slice(3, 6)} ${number.slice(6)}`;
}
