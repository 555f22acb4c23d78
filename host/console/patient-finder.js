// Finding a patient by NHS number, checked as it is typed (reception and
// clinicians): a form that calls `onFound(patient, nhsNumber)` with the
// registered patient.

import { get } from "./api.js";
import { problem as nhsProblem, digits, spaced } from "./nhs-number.js";
import { h, field, showProblem } from "./view.js";

/** The patient finder's form; problems are shown in `place`. */
export function patientFinder(place, onFound) {
  const number = h("input", {
    type: "text", name: "nhs-number", inputmode: "numeric", autocomplete: "off", maxlength: 12,
  });
  const numberField = field("Patient's NHS number", number, "10 digits, for example 999 000 0018");
  const valid = h("p", { class: "status status-ok", id: "nhs-valid", "aria-live": "polite" });
  const form = h("form", { novalidate: true, role: "search", "aria-label": "Find a patient" },
    numberField, valid, h("button", { type: "submit" }, "Find patient"));

  // As the number is typed: an error once it is long enough to judge.
  number.addEventListener("input", () => {
    const typed = digits(number.value);
    const why = nhsProblem(number.value);
    if (typed.length >= 10 || (why && /digits only/.test(why))) {
      numberField.setError(why);
      valid.textContent = why ? "" : "Valid NHS number";
    } else {
      numberField.setError(null);
      valid.textContent = "";
    }
  });

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const why = nhsProblem(number.value);
    if (why) {
      numberField.setError(why);
      number.focus();
      return;
    }
    const nhsNumber = digits(number.value);
    let patient;
    try {
      patient = await get(`/fhir/Patient/${nhsNumber}`);
    } catch (error) {
      if (error.status === 404) {
        error.message = `No patient with NHS number ${spaced(nhsNumber)} is registered here. Check the number with the patient.`;
      }
      showProblem(place, error, "find the patient");
      return;
    }
    await onFound(patient, nhsNumber);
  });
  return form;
}

/** A patient's name, in words. */
export function patientName(patient) {
  return patient.name?.[0]?.text || spaced(patient.id);
}
