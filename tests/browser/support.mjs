// What the console's browser tests share: a real `patchbay serve` (the
// demo, on a fresh data directory and a free port), Debian's chromium
// through playwright-core, signing in through the console itself, and
// axe-core's checks.

import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, readFileSync, mkdirSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { before, after } from "node:test";
import { chromium } from "playwright-core";

const here = dirname(fileURLToPath(import.meta.url));
/** The repository's root. */
export const ROOT = join(here, "..", "..");
const AXE = readFileSync(join(here, "node_modules", "axe-core", "axe.min.js"), "utf8");

/** A TCP port nothing listens on just now. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/**
 * A running `patchbay serve` with the demo, on `port` (or a free one), with
 * a configuration's text if given; stop() ends it and removes its data.
 */
export async function startServer({ port, config } = {}) {
  const binary = process.env.PATCHBAY_BIN || join(ROOT, "target", "debug", "patchbay");
  const scratch = mkdtempSync(join(tmpdir(), "patchbay-console-"));
  const dataDir = join(scratch, "data");
  port = port || await freePort();
  const url = `http://127.0.0.1:${port}`;
  const args = ["serve", "--listen", `127.0.0.1:${port}`, "--data-dir", dataDir];
  if (config) {
    writeFileSync(join(scratch, "patchbay.toml"), config);
    args.push("--config", join(scratch, "patchbay.toml"));
  }
  let log = "";
  const child = spawn(binary, args, {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, RUST_LOG: process.env.RUST_LOG || "warn" },
  });
  child.stdout.on("data", (d) => { log += d; });
  child.stderr.on("data", (d) => { log += d; });
  const deadline = Date.now() + 180_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`patchbay serve exited (${child.exitCode}):\n${log}`);
    try {
      const response = await fetch(`${url}/healthz`);
      if (response.ok) break;
    } catch { /* not listening yet */ }
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`patchbay serve was not ready within 180 s:\n${log}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    url,
    log: () => log,
    /** A token from the development sign-in, for checking through the API. */
    async token(user, role, nhsNumber) {
      const response = await fetch(`${url}/auth/dev-token`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ user, role, nhs_number: nhsNumber }),
      });
      if (!response.ok) throw new Error(`sign-in refused: ${response.status} ${await response.text()}`);
      return (await response.json()).access_token;
    },
    /** GET through the API as a token; the parsed JSON. */
    async get(path, token) {
      const response = await fetch(`${url}${path}`, { headers: { Authorization: `Bearer ${token}` } });
      const text = await response.text();
      if (!response.ok) throw new Error(`GET ${path}: ${response.status} ${text}`);
      return JSON.parse(text);
    },
    async stop() {
      child.kill("SIGTERM");
      await new Promise((r) => (child.exitCode !== null ? r() : child.once("exit", r)));
      rmSync(scratch, { recursive: true, force: true });
    },
  };
}

/** Debian's chromium, driven by playwright-core. */
export function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-dev-shm-usage"],
  });
}

/** A page in a new context: a phone (375×812) unless told otherwise, in a colour scheme. */
export async function newPage(browser, { width = 375, height = 812, colorScheme = "light" } = {}) {
  const context = await browser.newContext({ viewport: { width, height }, colorScheme, locale: "en-GB", timezoneId: "Europe/London" });
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  page.on("console", (m) => { if (m.type() === "error") errors.push(m.text()); });
  page.errors = errors;
  return page;
}

/** Signs in through the console's own sign-in page as the demo user named. */
export async function signIn(page, url, name) {
  await page.goto(`${url}/#/sign-in`);
  await page.getByLabel(name, { exact: false }).check();
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.locator("h1").filter({ hasNotText: "Sign in" }).waitFor();
}

/** axe-core's serious and critical violations on the page as it stands. */
export async function seriousViolations(page) {
  // Through the debugging protocol: the console's policy refuses inline
  // scripts, and the check must not loosen it.
  await page.evaluate(AXE);
  const result = await page.evaluate(async () => {
    // eslint-disable-next-line no-undef
    return axe.run(document, { resultTypes: ["violations"] });
  });
  return result.violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => `${v.id} (${v.impact}): ${v.help}\n  ${v.nodes.map((n) => n.target.join(" ")).join("\n  ")}`);
}

/** Chooses a day, from tomorrow on, that has free times; leaves them listed. */
export async function findFreeTimes(page) {
  for (let ahead = 1; ahead <= 10; ahead += 1) {
    const date = new Date(Date.now() + ahead * 86_400_000).toISOString().slice(0, 10);
    await page.getByLabel("Day", { exact: true }).fill(date);
    await page.getByRole("button", { name: "Find free times" }).click();
    const outcome = page.locator(".results > p").first();
    await outcome.waitFor();
    await page.waitForFunction(() => !document.querySelector(".results > p")?.textContent.startsWith("Looking"));
    // "3 free times on …", not "No free times on …".
    if (/^\d+ free times on/.test(await outcome.textContent())) return date;
  }
  throw new Error("no free times in the next 10 days");
}

/** Waits until the page's live region (#announce) says something matching `pattern`. */
export async function announced(page, pattern) {
  await page.waitForFunction(
    ([source, flags]) => new RegExp(source, flags).test(document.getElementById("announce").textContent),
    [pattern.source, pattern.flags]);
}

/**
 * Clears the page's announcement, does `act`, and waits for the page to
 * announce something matching `pattern`. A page announces once it has drawn
 * what it was asked for, so what is read or pressed next is that, never
 * something it was about to replace.
 */
export async function announcedAfter(page, pattern, act) {
  await page.evaluate(() => { document.getElementById("announce").textContent = ""; });
  await act();
  await announced(page, pattern);
}

/**
 * On the auditor's page, shows the entries for the filters filled in: waits
 * for the page's first list to be announced, then asks for the filtered list
 * and waits for its announcement, so what is read next is the filtered
 * list, never the first.
 */
export async function showEntries(audit) {
  await announced(audit, /entries shown/);
  await announcedAfter(audit, /entries shown/, () => audit.getByRole("button", { name: "Show entries" }).click());
}

/** Where screenshots go, when asked for (PATCHBAY_SCREENSHOTS=docs/console). */

export async function screenshot(page, name) {
  const dir = process.env.PATCHBAY_SCREENSHOTS;
  if (!dir) return;
  mkdirSync(join(ROOT, dir), { recursive: true });
  // A phone's screen as it is; a desktop's whole page.
  await page.screenshot({ path: join(ROOT, dir, `${name}.png`), fullPage: page.viewportSize().width > 400 });
}

/** Appends one measurement to target/browser-tests/metrics.jsonl. */
export function record(measurement) {
  const dir = join(ROOT, "target", "browser-tests");
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "metrics.jsonl"), `${JSON.stringify(measurement)}\n`, { flag: "a" });
}

/**
 * A test file's server and browser: started before its tests, stopped after.
 * Read them as `suite.server` and `suite.browser` inside the tests.
 */
export function serverAndBrowser() {
  const suite = {};
  before(async () => {
    suite.server = await startServer();
    suite.browser = await launch();
  });
  after(async () => {
    await suite.browser?.close();
    await suite.server?.stop();
  });
  return suite;
}
