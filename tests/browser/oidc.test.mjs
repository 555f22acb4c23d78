// With an identity provider configured, the console signs people in with
// OpenID Connect (authorisation code with PKCE) against a real provider,
// and the host accepts the provider's token; development sign-in is gone.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startServer, launch, newPage, freePort } from "./support.mjs";
import { startIdentityProvider } from "./identity-provider.mjs";

let server;
let provider;
let browser;
let dir;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "patchbay-oidc-"));
  const port = await freePort();
  provider = await startIdentityProvider(`http://127.0.0.1:${port}`, dir);
  server = await startServer({
    port,
    config: `demo = true\n[identity]\nissuer = "${provider.issuer}"\naudience = "patchbay"\n`
      + `jwks_file = "${provider.jwksFile}"\nconsole_client_id = "${provider.clientId}"\n`,
  });
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await server?.stop();
  await provider?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test("development sign-in is refused while an identity provider is configured", async () => {
  const users = await fetch(`${server.url}/auth/dev-users`);
  assert.equal(users.status, 404);
  const token = await fetch(`${server.url}/auth/dev-token`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ user: "admin-1", role: "admin" }),
  });
  assert.equal(token.status, 404);
  assert.match(await token.text(), /identity provider/);
  const config = await (await fetch(`${server.url}/auth/config`)).json();
  assert.deepEqual(config, { mode: "oidc", issuer: provider.issuer, client_id: provider.clientId, scope: "openid" });
});

test("a receptionist signs in at the identity provider and works with its token", async () => {
  const page = await newPage(browser, { width: 1280, height: 900 });
  await page.goto(`${server.url}/#/sign-in`);
  await page.getByRole("button", { name: "Sign in with your organisation's account" }).click();
  // The provider's own login page.
  await page.waitForURL((url) => url.href.startsWith(provider.issuer));
  await page.waitForLoadState();
  await page.locator("input[name=login]").fill("reception-9");
  await page.locator("input[name=password]").fill("any");
  await page.locator("button[type=submit]").click();
  // The first time, the provider asks the person to let the console in.
  const consent = page.getByRole("button", { name: "Continue" });
  await consent.or(page.locator("h1", { hasText: "Appointments" })).first().waitFor();
  if (await consent.count()) await consent.click();
  // Back on the console, signed in.
  await page.locator("h1", { hasText: "Appointments" }).waitFor();
  assert.equal(new URL(page.url()).search, "", "the code is not left in the address");
  assert.match(await page.locator("#who").textContent(), /Robin Reception \(receptionist, Y90001\)/);
  // The provider's pages fetch fonts from the internet, which this machine
  // cannot reach: only the console's own errors count from here.
  page.errors.length = 0;
  await page.getByLabel("Patient's NHS number").fill("9990000018");
  await page.getByRole("button", { name: "Find patient" }).click();
  await page.locator("#patient-heading", { hasText: "Demo Patient One" }).waitFor();
  assert.deepEqual(page.errors, []);

  // The host verified the provider's token and audited the user it names.
  const token = await page.evaluate(() => JSON.parse(sessionStorage.getItem("patchbay.session")).token);
  const [, payload] = token.split(".");
  const claims = JSON.parse(Buffer.from(payload, "base64url").toString());
  assert.equal(claims.iss, provider.issuer);
  assert.equal(claims.sub, "reception-9");
  const response = await fetch(`${server.url}/fhir/Patient/9990000018`, { headers: { Authorization: `Bearer ${token}` } });
  assert.equal(response.status, 200);
});

test("a sign-in that did not start on this page is refused", async () => {
  const page = await newPage(browser, { width: 375, height: 812 });
  await page.goto(`${server.url}/?code=stolen&state=forged#/sign-in`);
  await page.locator(".error").waitFor();
  assert.match(await page.locator(".error").textContent(), /not started from this page/);
  assert.equal(await page.evaluate(() => sessionStorage.getItem("patchbay.session")), null);
});
