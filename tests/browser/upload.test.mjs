// An admin adds a supplier's signed package through the console and sees
// its signature checked, what its manifest says it needs, and its
// standard's conformance report, failed checks and why; the module is then
// offered for the slot.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ROOT, startServer, launch, newPage, signIn } from "./support.mjs";

const binary = process.env.PATCHBAY_BIN || join(ROOT, "target", "debug", "patchbay");
let dir;
let server;
let browser;
let packagePath;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "patchbay-upload-"));
  // A supplier's key, trusted by the host; a package it signs: a test
  // module that books a slot twice, so some of its checks fail.
  execFileSync(binary, ["keygen", "--out", join(dir, "supplier.key")]);
  const publicKey = readFileSync(join(dir, "supplier.pub"), "utf8").trim();
  writeFileSync(join(dir, "manifest.toml"), 'supplier = "oakfield"\nname = "scheduling"\nversion = "0.9.0"\n'
    + 'world = "care:scheduling/scheduling-provider@0.2.0"\ndescription = "Books whatever it is asked"\n'
    + '[limits]\nmemory_bytes = 100663296\n');
  packagePath = join(dir, "oakfield.carepkg");
  execFileSync(binary, ["package", "--component", join(ROOT, "target", "wasm", "wasm32-wasip2", "release", "double_booker.wasm"),
    "--manifest", join(dir, "manifest.toml"), "--key", join(dir, "supplier.key"), "--out", packagePath]);
  server = await startServer({ config: `demo = true\n[trust]\nsuppliers = { oakfield = ["${publicKey}"] }\n` });
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await server?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test("an admin adds a signed package and sees its verification and conformance report", async () => {
  const page = await newPage(browser, { width: 1280, height: 900 });
  await signIn(page, server.url, "Demo Service Manager");
  await page.locator("section[data-function=scheduling]").waitFor();
  // Not a package at all: said at the field, nothing sent.
  await page.getByLabel("Signed package (.carepkg)").setInputFiles({ name: "notes.carepkg", mimeType: "application/json", buffer: Buffer.from("not json") });
  await page.getByRole("button", { name: "Add module" }).click();
  assert.match(await page.locator(".field-error:not([hidden])").textContent(), /not a care package/);

  await page.getByLabel("Signed package (.carepkg)").setInputFiles(packagePath);
  await page.getByRole("button", { name: "Add module" }).click();
  const result = page.locator("#upload-result .success");
  await result.waitFor({ timeout: 120_000 });
  assert.match(await result.textContent(), /Added oakfield\/scheduling@0\.9\.0/);
  assert.match(await result.textContent(), /valid: signed by oakfield's trusted key/);
  // What its manifest says it needs, checked at each deploy.
  assert.match(await result.textContent(), /Needs96 MiB of memory an instance: a deploy is refused where/);
  const verdict = await result.locator(".conformance").textContent();
  const [, passed, total] = verdict.match(/Conformance: (\d+) of (\d+) checks passed/);
  assert.ok(Number(total) > 0 && Number(passed) < Number(total), verdict);
  const failed = result.locator("tbody tr").filter({ hasText: "Failed" });
  assert.ok(await failed.count() >= 1);
  assert.notEqual((await failed.first().locator("td").last().textContent()).trim(), "", "a failed check says why");
  // The module is now offered for the scheduling slot: the page draws the
  // slots again after the report, then puts the focus on the report.
  await page.waitForFunction(() => document.activeElement?.matches("#upload-result .success"));
  const options = await page.locator("section[data-function=scheduling] select[name=module] option").allTextContents();
  assert.ok(options.includes("oakfield/scheduling@0.9.0"), options.join(", "));
  assert.deepEqual(page.errors, []);
});
