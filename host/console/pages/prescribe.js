// A clinician writes a prescription: the prescribing module's decision
// support cards follow the draft as it changes (CDS Hooks order-select);
// signing runs order-sign, and where a critical card stands the console
// asks for the reason to go ahead, which is kept on the prescription.

import { call, get, resources } from "../api.js";
import { patientFinder, patientName } from "../patient-finder.js";
import { spaced } from "../nhs-number.js";
import { h, fill, field, when, showProblem, announce, newId } from "../view.js";

/** The FHIR extension that carries an override reason. */
const OVERRIDE_REASON = "https://fhir.patchbay.dev/StructureDefinition/critical-override-reason";
const SNOMED = "http://snomed.info/sct";

/** A picking list of coded medicines (SNOMED CT substances); the checks are the module's. */
const MEDICINES = [
  ["372687004", "Amoxicillin"], ["387458008", "Aspirin"], ["373444002", "Atorvastatin"],
  ["387487009", "Clarithromycin"], ["387494007", "Codeine"], ["387207008", "Ibuprofen"],
  ["372567009", "Metformin"], ["372588000", "Naproxen"], ["387137007", "Omeprazole"],
  ["387517004", "Paracetamol"], ["386872004", "Ramipril"], ["372594008", "Sertraline"],
  ["387584000", "Simvastatin"], ["372756006", "Warfarin"],
];

const INDICATORS = { critical: "Critical", warning: "Warning", info: "Information" };

/** Draws the prescribing page. */
export async function render(main, session) {
  main.append(h("h1", {}, "Prescribe"));
  const place = h("div", { id: "patient" });
  main.append(patientFinder(place, (patient, nhsNumber) => showPatient(place, patient, nhsNumber, session)), place);
}

/** The MedicationRequest the form describes. */
function draftOf(form, nhsNumber, overrideReason) {
  const code = form.medicine.value;
  const name = MEDICINES.find(([c]) => c === code)?.[1];
  const dose = Number(form.dose.value);
  const frequency = Number(form.frequency.value);
  const request = {
    resourceType: "MedicationRequest",
    status: "active",
    intent: "order",
    medicationCodeableConcept: { coding: [{ system: SNOMED, code, display: name }] },
    subject: { identifier: { system: "https://fhir.nhs.uk/Id/nhs-number", value: nhsNumber } },
    dosageInstruction: [{
      text: form.instructions.value.trim() || `${dose} mg ${frequency} times a day`,
      timing: { repeat: { frequency, period: 1, periodUnit: "d" } },
      doseAndRate: [{ doseQuantity: { value: dose, unit: "mg", system: "http://unitsofmeasure.org", code: "mg" } }],
    }],
  };
  if (overrideReason) request.extension = [{ url: OVERRIDE_REASON, valueString: overrideReason }];
  return request;
}

function hookCall(hook, nhsNumber, session, draft) {
  return call("POST", `/cds-services/medication-order-${hook}`, {
    hook: `order-${hook}`,
    hookInstance: crypto.randomUUID(),
    context: {
      userId: `Practitioner/${session.user}`,
      patientId: nhsNumber,
      draftOrders: { resourceType: "Bundle", type: "collection", entry: [{ resource: draft }] },
    },
  });
}

function cardView(card) {
  const kind = INDICATORS[card.indicator] || card.indicator;
  const item = h("li", { class: `card card-${card.indicator}`, "data-indicator": card.indicator },
    h("h4", {}, h("span", { class: `status ${card.indicator === "critical" ? "status-bad" : card.indicator === "warning" ? "status-warn" : ""}` }, `${kind}: `), card.summary));
  if (card.detail) item.append(h("p", {}, card.detail));
  if (card.source?.label) item.append(h("p", { class: "meta" }, `Source: ${card.source.label}`));
  return item;
}

function overrideOf(request) {
  return (request.extension || []).find((e) => e.url === OVERRIDE_REASON)?.valueString;
}

async function showPatient(place, patient, nhsNumber, session) {
  const name = patientName(patient);
  const heading = h("h2", { id: "patient-heading", tabindex: "-1" }, name);
  const current = h("div", { id: "current-prescriptions" });
  const status = h("div");

  async function refresh() {
    try {
      const active = resources(await get("/fhir/MedicationRequest", { patient: nhsNumber, status: "active" }));
      fill(current, active.length === 0 ? h("p", {}, "No active prescriptions issued here.")
        : h("ul", { class: "cards", "aria-label": `${name}'s active prescriptions` }, active.map((r) => {
          const reason = overrideOf(r);
          return h("li", { class: "card", "data-prescription": r.id },
            h("h4", {}, r.medicationCodeableConcept?.coding?.[0]?.display || r.medicationCodeableConcept?.coding?.[0]?.code),
            h("p", {}, r.dosageInstruction?.[0]?.text || ""),
            reason ? h("p", { class: "override" }, h("strong", {}, "Critical warning overridden: "), reason) : null,
            h("p", { class: "meta" }, `Issued ${when(r.authoredOn)}`));
        })));
    } catch (error) {
      showProblem(current, error, "load the prescriptions");
    }
  }

  const medicine = h("select", { name: "medicine" }, MEDICINES.map(([code, display]) => h("option", { value: code }, display)));
  const dose = h("input", { type: "number", name: "dose", min: "0", step: "any", inputmode: "decimal", value: "400" });
  const frequency = h("input", { type: "number", name: "frequency", min: "1", max: "24", step: "1", inputmode: "numeric", value: "3" });
  const instructions = h("input", { type: "text", name: "instructions", autocomplete: "off" });
  const cardsHeadingId = newId("cards");
  const cards = h("div", { id: "cards" });
  const overridePlace = h("div");
  const form = h("form", { novalidate: true, "aria-label": "New prescription" },
    field("Medicine", medicine),
    field("Dose (mg)", dose),
    field("Times a day", frequency),
    field("Instructions for the patient", instructions, "Optional: how to take it"),
    overridePlace,
    h("button", { type: "submit" }, "Sign and issue"));
  const cardsSection = h("section", { "aria-labelledby": cardsHeadingId },
    h("h3", { id: cardsHeadingId }, "Decision support"), cards);

  function invalidDraft() {
    let bad = false;
    const doseField = dose.closest(".field");
    const frequencyField = frequency.closest(".field");
    if (!(Number(dose.value) > 0)) { doseField.setError("Enter a dose above 0 mg"); bad = true; } else doseField.setError(null);
    if (!(Number.isInteger(Number(frequency.value)) && Number(frequency.value) >= 1)) {
      frequencyField.setError("Enter how many times a day, 1 or more"); bad = true;
    } else frequencyField.setError(null);
    return bad;
  }

  let generation = 0;
  let timer = null;
  /** Shows a hook's cards under "Decision support"; returns them. */
  function showCards(answered) {
    const list = answered || [];
    fill(cards, list.length === 0 ? h("p", {}, "No warnings for this prescription.")
      : h("ul", { class: "cards" }, list.map(cardView)));
    return list;
  }
  async function check() {
    if (invalidDraft()) return;
    generation += 1;
    const mine = generation;
    let answer;
    try {
      answer = await hookCall("select", nhsNumber, session, draftOf(form, nhsNumber));
    } catch (error) {
      if (mine === generation) showProblem(cards, error, "check the prescription");
      return;
    }
    if (mine !== generation) return; // a newer draft is being checked
    const standing = showCards(answer.cards);
    const critical = standing.filter((c) => c.indicator === "critical").length;
    announce(standing.length === 0 ? "No warnings" : `${standing.length} warnings${critical ? `, ${critical} critical` : ""}`);
  }
  form.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(check, 300);
  });

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (invalidDraft()) return;
    const reasonInput = form.querySelector("textarea[name=override]");
    const reason = reasonInput?.value.trim();
    let signed;
    try {
      signed = await hookCall("sign", nhsNumber, session, draftOf(form, nhsNumber));
    } catch (error) {
      showProblem(status, error, "check the prescription before signing");
      return;
    }
    const critical = showCards(signed.cards).filter((c) => c.indicator === "critical");
    if (critical.length > 0 && !reason) {
      if (!reasonInput) {
        const textarea = h("textarea", { name: "override", required: true, maxlength: 500 });
        const reasonField = field("Reason for going ahead despite the critical warning", textarea,
          `${critical.map((c) => c.summary).join("; ")}. The reason is kept on the prescription and in the audit trail.`);
        fill(overridePlace, reasonField);
        textarea.focus();
      } else {
        reasonInput.closest(".field").setError("Give the reason for going ahead, or change the prescription");
        reasonInput.focus();
      }
      announce("A critical warning stands: give a reason to go ahead, or change the prescription");
      return;
    }
    try {
      const issued = await call("POST", "/fhir/MedicationRequest", draftOf(form, nhsNumber, critical.length > 0 ? reason : undefined));
      const message = `Issued ${issued.medicationCodeableConcept?.coding?.[0]?.display || "the prescription"} for ${name}`;
      fill(status, h("p", { class: "success", tabindex: "-1" }, message));
      fill(overridePlace);
      announce(message);
      await refresh();
      status.firstChild.focus();
    } catch (error) {
      showProblem(status, error, "issue the prescription");
    }
  });

  fill(place,
    h("section", { "aria-labelledby": "patient-heading" },
      heading,
      h("p", { class: "meta" }, `NHS number ${spaced(nhsNumber)}`),
      h("h3", {}, "Active prescriptions"), current),
    h("section", { "aria-label": "New prescription" }, h("h3", {}, "New prescription"), status, form, cardsSection));
  heading.focus();
  await refresh();
  await check();
}
