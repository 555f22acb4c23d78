// A receptionist finds a patient by NHS number (a wrong number is caught as
// it is typed), books for them and moves the appointment; an auditor then
// sees those actions in the trail, with the chain verified.

import { test } from "node:test";
import assert from "node:assert/strict";
import { serverAndBrowser, newPage, signIn, findFreeTimes, screenshot, showEntries } from "./support.mjs";

const NHS = "9990000026";
const suite = serverAndBrowser();

test("a receptionist books for a patient and moves the appointment; the auditor sees it", async () => {
  const page = await newPage(suite.browser, { width: 1280, height: 900 });
  await signIn(page, suite.server.url, "Demo Receptionist");
  assert.equal(await page.locator("h1").textContent(), "Appointments");

  const number = page.getByLabel("Patient's NHS number");
  // The check digit of 999 000 0027 is wrong: caught as it is typed.
  await number.fill("999 000 0027");
  assert.equal(await number.getAttribute("aria-invalid"), "true");
  assert.match(await page.locator(".field-error:not([hidden])").textContent(), /not a valid NHS number/);
  await number.fill("999 000 0026");
  assert.equal(await number.getAttribute("aria-invalid"), null);
  assert.equal(await page.locator("#nhs-valid").textContent(), "Valid NHS number");
  await page.getByRole("button", { name: "Find patient" }).click();
  await page.locator("#patient-heading").waitFor();
  assert.equal(await page.locator("#patient-heading").textContent(), "Demo Patient Two");

  await findFreeTimes(page);
  const times = page.locator(".results button");
  await times.first().click();
  await page.locator(".success").filter({ hasText: "Booked Demo Patient Two" }).waitFor();
  const card = page.locator("li.card[data-appointment]");
  await card.first().waitFor();
  const id = await card.first().getAttribute("data-appointment");
  const staff = await suite.server.token("reception-check", "receptionist");
  const before = await suite.server.get(`/fhir/Appointment/${id}`, staff);
  await screenshot(page, "reception-1280");

  // Move: choose the appointment, then a new time.
  await card.first().getByRole("button", { name: /Move the appointment/ }).click();
  await page.getByText(/^Moving the appointment on/).waitFor();
  await page.getByRole("button", { name: "Find free times" }).click();
  await page.waitForFunction((old) => {
    const buttons = [...document.querySelectorAll(".results button")];
    return buttons.length > 0 && !buttons.some((b) => b.disabled);
  }, before.slot[0].reference);
  await page.locator(".results button").first().click();
  await page.locator(".success").filter({ hasText: "Moved to" }).waitFor();
  const moved = await suite.server.get(`/fhir/Appointment/${id}`, staff);
  assert.equal(moved.status, "booked");
  assert.notEqual(moved.slot[0].reference, before.slot[0].reference, "the appointment is in the new slot");

  // The day's list shows it, under its schedule, and opens its patient.
  const day = moved.start.slice(0, 10);
  await page.getByLabel("Show appointments on").fill(day);
  await page.getByRole("button", { name: "Show the day" }).click();
  const listed = page.locator(`#day-list li[data-day-appointment="${id}"]`);
  await listed.waitFor();
  assert.match(await listed.textContent(), /Demo Patient Two · Booked/);
  const staffList = await suite.server.get(`/fhir/Appointment?date=${day}`, staff);
  assert.ok(staffList.entry.some((e) => e.resource.id === id), "the API's day list has it");
  await listed.getByRole("button", { name: /^Open Demo Patient Two/ }).click();
  await page.locator("#patient-heading", { hasText: "Demo Patient Two" }).waitFor();
  assert.deepEqual(page.errors, []);

  // The auditor sees the booking and the move, about this patient, and an intact chain.
  const audit = await newPage(suite.browser, { width: 1280, height: 900 });
  await signIn(audit, suite.server.url, "Demo Auditor");
  assert.equal(await audit.locator("h1").textContent(), "Audit trail");
  await audit.locator("#chain .success").waitFor();
  assert.match(await audit.locator("#chain").textContent(), /Chain intact: all \d+ entries/);
  await audit.getByLabel("Patient's NHS number").fill(NHS);
  await showEntries(audit);
  const rows = await audit.locator("#entries tbody tr").allTextContents();
  const actions = rows.map((r) => r);
  assert.ok(actions.some((r) => r.includes("appointment.book") && r.includes("reception-1")), rows.join("\n"));
  assert.ok(actions.some((r) => r.includes("appointment.update") && r.includes("reception-1")), rows.join("\n"));
  assert.ok(rows.every((r) => r.includes(NHS)), "only this patient's entries");
  await screenshot(audit, "audit-1280");
  assert.deepEqual(audit.errors, []);
});
