// axe-core finds no serious or critical accessibility problem on any page
// of the console, in the light and the dark scheme, at 375 px and 1280 px;
// every page fits 320 px without sideways scrolling and can be worked by
// keyboard. Each page's first-load weight and time to interactive are
// recorded (target/browser-tests/metrics.jsonl) for docs/benchmarks.md.

import { test } from "node:test";
import assert from "node:assert/strict";
import { serverAndBrowser, newPage, signIn, findFreeTimes, seriousViolations, screenshot, record } from "./support.mjs";

const suite = serverAndBrowser();

/** Each page, brought to a state that shows most of what it can show. */
const PAGES = {
  "sign-in": async (page) => {
    await page.goto(`${suite.server.url}/#/sign-in`);
    await page.getByRole("button", { name: "Sign in" }).waitFor();
  },
  patient: async (page) => {
    await signIn(page, suite.server.url, "Demo Patient Five");
    await findFreeTimes(page);
  },
  reception: async (page) => {
    await signIn(page, suite.server.url, "Demo Receptionist");
    await page.getByLabel("Patient's NHS number").fill("999 000 0018");
    await page.getByRole("button", { name: "Find patient" }).click();
    await page.locator("#patient-heading").waitFor();
    await findFreeTimes(page);
  },
  prescribe: async (page) => {
    await signIn(page, suite.server.url, "Demo GP");
    await page.getByLabel("Patient's NHS number").fill("999 000 0034");
    await page.getByRole("button", { name: "Find patient" }).click();
    await page.locator("#patient-heading").waitFor();
    await page.getByLabel("Medicine").selectOption({ label: "Ibuprofen" });
    await page.locator("#cards [data-indicator=critical]").first().waitFor();
    await page.getByRole("button", { name: "Sign and issue" }).click();
    await page.getByLabel("Reason for going ahead despite the critical warning").waitFor();
  },
  admin: async (page) => {
    await signIn(page, suite.server.url, "Demo Service Manager");
    await page.locator("section[data-function=scheduling]").waitFor();
  },
  audit: async (page) => {
    await signIn(page, suite.server.url, "Demo Auditor");
    await page.locator("#entries table").waitFor();
    await page.locator("#chain .success").waitFor();
  },
};

for (const [name, open] of Object.entries(PAGES)) {
  for (const colorScheme of ["light", "dark"]) {
    for (const width of [375, 1280]) {
      test(`${name}, ${colorScheme}, ${width} px: no serious or critical accessibility violation`, async () => {
        const page = await newPage(suite.browser, { width, height: width === 375 ? 812 : 900, colorScheme });
        await open(page);
        const violations = await seriousViolations(page);
        assert.deepEqual(violations, [], violations.join("\n"));
        assert.deepEqual(page.errors, []);
        if (colorScheme === "light") await screenshot(page, `${name}-${width}`);
        else if (width === 375) await screenshot(page, `${name}-${width}-dark`);
        await page.context().close();
      });
    }
  }
}

test("every page fits 320 px wide without scrolling sideways", async () => {
  for (const [name, open] of Object.entries(PAGES)) {
    const page = await newPage(suite.browser, { width: 320, height: 640 });
    await open(page);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `${name} is ${overflow} px wider than 320 px`);
    await page.context().close();
  }
});

test("the sign-in and a booking work by keyboard alone", async () => {
  const page = await newPage(suite.browser, { width: 375, height: 812 });
  await page.goto(`${suite.server.url}/#/sign-in`);
  await page.getByRole("button", { name: "Sign in" }).waitFor();
  // The page opens with focus on its heading; the skip link is the first
  // stop before it, and moves focus to the main content.
  assert.equal(await page.evaluate(() => document.activeElement.tagName), "H1");
  for (let i = 0; i < 5; i += 1) {
    await page.keyboard.press("Shift+Tab");
    if (await page.evaluate(() => document.activeElement.id === "skip")) break;
  }
  assert.equal(await page.evaluate(() => document.activeElement.textContent), "Skip to main content");
  assert.ok(await page.evaluate(() => document.activeElement.getBoundingClientRect().top >= 0), "the skip link shows when focused");
  await page.keyboard.press("Enter");
  assert.equal(await page.evaluate(() => document.activeElement.id), "main");
  // Tab to the first user, choose them with Space, submit with Enter.
  for (let i = 0; i < 20; i += 1) {
    await page.keyboard.press("Tab");
    if (await page.evaluate(() => document.activeElement.name === "user")) break;
  }
  await page.keyboard.press("Space");
  await page.keyboard.press("Enter");
  await page.locator("h1", { hasText: "My appointments" }).waitFor();
  // The new page's heading has the focus.
  assert.equal(await page.evaluate(() => document.activeElement.tagName), "H1");
  // Search by keyboard: Tab to the button, Enter.
  for (let i = 0; i < 30; i += 1) {
    await page.keyboard.press("Tab");
    if (await page.evaluate(() => document.activeElement.textContent === "Find free times")) break;
  }
  await page.keyboard.press("Enter");
  await page.locator(".results > p").first().waitFor();
  assert.deepEqual(page.errors, []);
});

test("each page's first load: weight and time to interactive (recorded, not asserted)", async () => {
  const routes = { "sign-in": "#/sign-in", patient: "#/patient", reception: "#/reception", prescribe: "#/prescribe", admin: "#/admin", audit: "#/audit" };
  const users = { patient: "Demo Patient One", reception: "Demo Receptionist", prescribe: "Demo GP", admin: "Demo Service Manager", audit: "Demo Auditor" };
  for (const [name, hash] of Object.entries(routes)) {
    for (const width of [375, 1280]) {
      const page = await newPage(suite.browser, { width, height: 800 });
      if (users[name]) await signIn(page, suite.server.url, users[name]);
      // A fresh load of the page, cache empty.
      const cdp = await page.context().newCDPSession(page);
      await cdp.send("Network.clearBrowserCache");
      await page.goto(`${suite.server.url}/${hash}`);
      await page.waitForFunction(() => document.activeElement && document.activeElement.tagName === "H1");
      const metrics = await page.evaluate(() => {
        const entries = [...performance.getEntriesByType("navigation"), ...performance.getEntriesByType("resource")];
        return {
          transferred: entries.reduce((sum, e) => sum + (e.transferSize || 0), 0),
          decoded: entries.reduce((sum, e) => sum + (e.decodedBodySize || 0), 0),
          requests: entries.length,
          interactive_ms: performance.now(),
        };
      });
      record({ page: name, width, ...metrics });
      assert.ok(metrics.transferred > 0, "the load was measured");
      await page.context().close();
    }
  }
});
