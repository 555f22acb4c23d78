// A trust's admin starts a shadow, reads its report, ends it, starts a
// canary, promotes it, then rolls back, each with a reason, while a second
// browser keeps booking and cancelling without an error; the auditor then
// sees every one of those actions.

import { test } from "node:test";
import assert from "node:assert/strict";
import { serverAndBrowser, newPage, signIn, screenshot, showEntries, announcedAfter } from "./support.mjs";

const CANDIDATE = "bramble/scheduling@2.1.0";
const suite = serverAndBrowser();

/** A patient booking the first free time tomorrow and cancelling it, over and over, in its own browser. */
function keepBooking(page) {
  const state = { running: true, rounds: 0, problems: [] };
  const tomorrow = new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);
  state.done = (async () => {
    while (state.running) {
      await page.getByLabel("Day", { exact: true }).fill(tomorrow);
      await page.getByRole("button", { name: "Find free times" }).click();
      const first = page.locator(".results button").first();
      await first.waitFor();
      await first.click();
      const outcome = page.locator(".success, .error").first();
      await outcome.waitFor();
      const text = await outcome.textContent();
      if (!text.startsWith("Booked")) {
        state.problems.push(text);
        await page.reload();
        await page.locator("h1").waitFor();
        continue;
      }
      const card = page.locator("#upcoming li.card").first();
      await card.waitFor();
      await card.getByRole("button", { name: /Cancel the appointment/ }).click();
      await page.getByLabel("Why are you cancelling?").fill("Testing the swap");
      await page.getByRole("button", { name: "Cancel appointment" }).click();
      const cancelled = page.locator("#upcoming").getByText("You have no appointments booked.")
        .or(page.locator("#upcoming .error"));
      await cancelled.first().waitFor();
      const problem = page.locator("#upcoming .error");
      if (await problem.count()) state.problems.push(await problem.first().textContent());
      // The success box is replaced by the next round's.
      await page.evaluate(() => document.querySelectorAll(".success").forEach((e) => e.remove()));
      state.rounds += 1;
    }
  })();
  return state;
}

/** Fills the reason of the form whose button is `button`, and presses it. */
async function withReason(section, button, reason) {
  const form = section.locator("form").filter({ has: section.page().getByRole("button", { name: button, exact: true }) });
  await form.getByLabel("Reason").fill(reason);
  await form.getByRole("button", { name: button, exact: true }).click();
}

test("an admin shadows, canaries, promotes and rolls back while a patient keeps booking", async () => {
  const patient = await newPage(suite.browser, { width: 375, height: 812 });
  await signIn(patient, suite.server.url, "Demo Patient Two");
  const booking = keepBooking(patient);
  try {
    await adminSession(booking, patient);
  } finally {
    booking.running = false;
    await booking.done.catch(() => {});
  }
});

async function adminSession(booking, patient) {

  const page = await newPage(suite.browser, { width: 1280, height: 900 });
  await signIn(page, suite.server.url, "Demo Service Manager");
  assert.equal(await page.locator("h1").textContent(), "Care functions");
  const slot = () => page.locator("section[data-function=scheduling]");
  const status = page.locator("#admin-status .success");
  assert.equal(await slot().locator(".active-module").textContent(), "meridian/scheduling@1.0.0");
  assert.match(await slot().textContent(), /Healthy/);

  // A shadow of Bramble beside Meridian.
  await slot().getByLabel("Module").selectOption(CANDIDATE);
  await slot().getByLabel("Shadow: compare answers, writes discarded").check();
  await withReason(slot(), "Start", "Compare Bramble's answers before choosing");
  await status.filter({ hasText: `The shadow of ${CANDIDATE} has started` }).waitFor();
  assert.match(await slot().locator("h3").first().textContent(), /Shadow of bramble\/scheduling@2\.1\.0 \(100%\)/);
  // Its report fills as the patient books.
  for (let i = 0; i < 60; i += 1) {
    const report = await slot().locator(".agreement").textContent();
    if (/\d+ of \d+ answers agree/.test(report)) break;
    await page.waitForTimeout(500);
    // Refresh draws the sections again when its answer comes: a reason
    // typed before that would be lost with its form, and the new form's
    // button refuses to act without one.
    await announcedAfter(page, /Care functions updated/, () => page.getByRole("button", { name: "Refresh" }).click());
  }
  assert.match(await slot().locator(".agreement").textContent(), /\d+ of \d+ answers agree/);
  assert.ok(await slot().locator("table").count() >= 1, "the agreement by function is shown");
  await screenshot(page, "admin-1280");

  // End it; a canary for half the patients; promote it.
  await withReason(slot(), "Abort", "Seen enough of the shadow");
  await status.filter({ hasText: "has ended" }).waitFor();
  await slot().getByLabel("Module").selectOption(CANDIDATE);
  await slot().getByLabel("Canary: a share of patients").check();
  await slot().getByLabel("Share (%)").fill("50");
  await withReason(slot(), "Start", "Half the patients to Bramble");
  await status.filter({ hasText: `The canary of ${CANDIDATE} has started` }).waitFor();
  await withReason(slot(), "Promote", "Canary went well");
  await status.filter({ hasText: `${CANDIDATE} is now the active scheduling module` }).waitFor();
  assert.equal(await slot().locator(".active-module").textContent(), CANDIDATE);

  // Roll back to Meridian.
  await withReason(slot(), "Roll back", "Back to Meridian for the audit");
  await status.filter({ hasText: "rolled back" }).waitFor();
  assert.equal(await slot().locator(".active-module").textContent(), "meridian/scheduling@1.0.0");
  const timeline = await slot().locator("ol.timeline li").allTextContents();
  assert.match(timeline[0], /Rollback: meridian\/scheduling@1\.0\.0.*Back to Meridian for the audit/s);
  assert.match(timeline[1], /Promote: bramble\/scheduling@2\.1\.0.*Canary went well/s);

  // The patient kept booking throughout, without an error.
  const roundsBefore = booking.rounds;
  await patient.waitForFunction(() => true);
  for (let i = 0; i < 40 && booking.rounds < roundsBefore + 1; i += 1) await page.waitForTimeout(250);
  booking.running = false;
  await booking.done;
  assert.ok(booking.rounds >= 3, `the patient booked and cancelled ${booking.rounds} times`);
  assert.deepEqual(booking.problems, []);
  assert.deepEqual(patient.errors, []);
  assert.deepEqual(page.errors, []);

  // The auditor sees each action, with its reason.
  const auditor = await suite.server.token("audit-check", "auditor");
  const trail = (await suite.server.get("/audit?action=slot.&limit=1000", auditor)).entries;
  const actions = trail.filter((e) => e.user === "admin-1").map((e) => e.action);
  for (const action of ["slot.shadow.start", "slot.abort", "slot.canary.start", "slot.promote", "slot.rollback"]) {
    assert.ok(actions.includes(action), `${action} is in the trail: ${actions.join(", ")}`);
  }
  const audit = await newPage(suite.browser, { width: 1280, height: 900 });
  await signIn(audit, suite.server.url, "Demo Auditor");
  await audit.getByLabel("User").fill("admin-1");
  await audit.getByLabel("Action").fill("slot.");
  await showEntries(audit);
  const rows = (await audit.locator("#entries tbody tr").allTextContents()).join("\n");
  for (const action of ["slot.shadow.start", "slot.abort", "slot.canary.start", "slot.promote", "slot.rollback"]) {
    assert.ok(rows.includes(action), `the auditor's page shows ${action}`);
  }
}
