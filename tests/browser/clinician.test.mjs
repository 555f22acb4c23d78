// A clinician prescribes ibuprofen for a patient on warfarin: the critical
// interaction card appears as the draft is written (order-select), signing
// asks for the override reason (order-sign), and the reason shows on the
// issued prescription, in the console and through the API.

import { test } from "node:test";
import assert from "node:assert/strict";
import { serverAndBrowser, newPage, signIn, screenshot, announced, announcedAfter } from "./support.mjs";

const ON_WARFARIN = "9990000034";
const suite = serverAndBrowser();

test("a clinician overrides a critical card with a reason, kept on the prescription", async () => {
  const page = await newPage(suite.browser, { width: 1280, height: 900 });
  await signIn(page, suite.server.url, "Demo GP");
  assert.equal(await page.locator("h1").textContent(), "Prescribe");
  await page.getByLabel("Patient's NHS number").fill(ON_WARFARIN);
  await page.getByRole("button", { name: "Find patient" }).click();
  await page.locator("#patient-heading").waitFor();

  // Paracetamol first: the cards follow the draft as it changes. The page
  // checks its first draft as it opens the patient; the cards read here are
  // the ones announced after that, for Paracetamol's draft.
  await announced(page, /warnings/i);
  await announcedAfter(page, /warnings/i, async () => {
    await page.getByLabel("Medicine").selectOption({ label: "Paracetamol" });
    await page.getByLabel("Dose (mg)").fill("1000");
  });
  assert.equal(await page.locator("#cards [data-indicator=critical]").count(), 0);
  await page.getByLabel("Medicine").selectOption({ label: "Ibuprofen" });
  await page.getByLabel("Dose (mg)").fill("400");
  const critical = page.locator("#cards [data-indicator=critical]");
  await critical.first().waitFor();
  assert.match((await critical.first().textContent()).toLowerCase(), /warfarin/);
  await screenshot(page, "prescribe-1280");

  // Signing asks for the reason, and refuses to go on without one.
  await page.getByRole("button", { name: "Sign and issue" }).click();
  const reason = page.getByLabel("Reason for going ahead despite the critical warning");
  await reason.waitFor();
  assert.equal(await page.evaluate(() => document.activeElement.name), "override");
  await page.getByRole("button", { name: "Sign and issue" }).click();
  await page.locator("textarea[name=override][aria-invalid=true]").waitFor();
  assert.match(await page.locator(".field-error:not([hidden])").textContent(), /Give the reason for going ahead/);
  await reason.fill("Agreed with haematology; INR checked in 3 days");
  await page.getByRole("button", { name: "Sign and issue" }).click();
  await page.locator(".success").filter({ hasText: "Issued Ibuprofen" }).waitFor();
  const issued = page.locator("#current-prescriptions li.card").filter({ hasText: "Ibuprofen" });
  await issued.waitFor();
  assert.match(await issued.locator(".override").textContent(), /Agreed with haematology; INR checked in 3 days/);

  const id = await issued.getAttribute("data-prescription");
  const token = await suite.server.token("gp-check", "clinician");
  const request = await suite.server.get(`/fhir/MedicationRequest/${id}`, token);
  assert.equal(request.extension[0].valueString, "Agreed with haematology; INR checked in 3 days");
  const auditor = await suite.server.token("audit-check", "auditor");
  const trail = await suite.server.get(`/audit?patient=${ON_WARFARIN}&action=medication-request.issue`, auditor);
  assert.ok(trail.entries.some((e) => e.user === "gp-1" && (e.detail || "").includes("Agreed with haematology")),
    JSON.stringify(trail.entries));
  assert.deepEqual(page.errors, []);
});
