// A patient on a phone (375×812) books, sees and cancels an appointment
// through the console; the API then shows it cancelled with the reason.

import { test } from "node:test";
import assert from "node:assert/strict";
import { serverAndBrowser, newPage, signIn, findFreeTimes, screenshot, showEntries } from "./support.mjs";

const NHS = "9990000018";
const suite = serverAndBrowser();

test("a patient on a phone books, sees and cancels an appointment", async () => {
  const page = await newPage(suite.browser, { width: 375, height: 812 });
  await signIn(page, suite.server.url, "Demo Patient One");
  assert.equal(await page.locator("h1").textContent(), "My appointments");
  // The heading comes first; the list when the API has answered.
  await page.locator("#upcoming").getByText("You have no appointments booked.").waitFor();

  await findFreeTimes(page);
  const first = page.locator(".results button").first();
  const label = await first.textContent();
  await first.click();
  const booked = page.locator(".success");
  await booked.waitFor();
  assert.match(await booked.textContent(), /^Booked: /);
  // The announcement reaches screen readers through the live region.
  await page.waitForFunction(() => document.getElementById("announce").textContent.startsWith("Booked"));
  const cards = page.locator("#upcoming li.card");
  await cards.first().waitFor();
  assert.equal(await cards.count(), 1);
  await screenshot(page, "patient-375");
  const id = await cards.first().getAttribute("data-appointment");
  const chosenTime = label.match(/\d\d:\d\d/)[0];
  const bookedWhen = await cards.first().locator("h3").textContent();
  assert.ok(bookedWhen.includes(chosenTime), `the booked time (${bookedWhen}) is the one chosen (${label})`);

  // Cancelling asks why; an empty reason is refused next to the field.
  await cards.first().getByRole("button", { name: /Cancel the appointment/ }).click();
  await page.getByRole("button", { name: "Cancel appointment" }).click();
  assert.equal(await page.getByLabel("Why are you cancelling?").getAttribute("aria-invalid"), "true");
  assert.match(await page.locator(".field-error:not([hidden])").textContent(), /Give a reason/);
  await page.getByLabel("Why are you cancelling?").fill("Feeling better");
  await page.getByRole("button", { name: "Cancel appointment" }).click();
  await page.locator("#upcoming").getByText("You have no appointments booked.").waitFor();

  const token = await suite.server.token("patient-check", "patient", NHS);
  const appointment = await suite.server.get(`/fhir/Appointment/${id}`, token);
  assert.equal(appointment.status, "cancelled");
  assert.equal(appointment.cancelationReason.text, "Feeling better");
  assert.deepEqual(page.errors, []);

  // The auditor's page shows the patient's booking and cancellation.
  const audit = await newPage(suite.browser, { width: 1280, height: 900 });
  await signIn(audit, suite.server.url, "Demo Auditor");
  await audit.getByLabel("User").fill(`patient-${NHS}`);
  await showEntries(audit);
  const rows = await audit.locator("#entries tbody tr").allTextContents();
  assert.ok(rows.some((r) => r.includes("appointment.book") && r.includes(`Appointment/${id}`)), rows.join("\n"));
  assert.ok(rows.some((r) => r.includes("appointment.update") && r.includes(`Appointment/${id}`)), rows.join("\n"));
});

test("a patient sees their active prescriptions and no one else's records", async () => {
  // The demo's current medication is not a prescription issued here, so a
  // clinician prescribes first.
  const clinician = await suite.server.token("gp-check", "clinician");
  const response = await fetch(`${suite.server.url}/fhir/MedicationRequest`, {
    method: "POST",
    headers: { Authorization: `Bearer ${clinician}`, "Content-Type": "application/fhir+json" },
    body: JSON.stringify({
      resourceType: "MedicationRequest", status: "active", intent: "order",
      medicationCodeableConcept: { coding: [{ system: "http://snomed.info/sct", code: "387517004", display: "Paracetamol" }] },
      subject: { identifier: { system: "https://fhir.nhs.uk/Id/nhs-number", value: "9990000042" } },
      dosageInstruction: [{ text: "1 g four times a day", timing: { repeat: { frequency: 4, period: 1, periodUnit: "d" } },
        doseAndRate: [{ doseQuantity: { value: 1000, unit: "mg", system: "http://unitsofmeasure.org", code: "mg" } }] }],
    }),
  });
  assert.equal(response.status, 201, await response.text());
  const page = await newPage(suite.browser, { width: 375, height: 812 });
  await signIn(page, suite.server.url, "Demo Patient Four");
  const medicines = page.locator("section[aria-labelledby=prescriptions-heading] li.card");
  await medicines.first().waitFor();
  const mine = await suite.server.token("patient-four", "patient", "9990000042");
  const active = await suite.server.get("/fhir/MedicationRequest?patient=9990000042&status=active", mine);
  assert.equal(await medicines.count(), active.entry.length, "every active prescription is shown");
  const paracetamol = medicines.filter({ hasText: "Paracetamol" });
  assert.equal(await paracetamol.count(), 1);
  assert.match(await paracetamol.textContent(), /1 g four times a day/);
  // Another patient's prescriptions are refused by the API, whatever the page asks.
  const theirs = await fetch(`${suite.server.url}/fhir/MedicationRequest?patient=9990000034&status=active`,
    { headers: { Authorization: `Bearer ${mine}` } });
  assert.equal(theirs.status, 403);
  assert.deepEqual(page.errors, []);
});
