// OpenID Connect sign-in (authorisation code with PKCE, a public client):
// read the identity provider's discovery document, send the person there,
// and on their return to this page exchange the code for the provider's
// access token, which the host verifies on every request like any other.

import { start } from "./session.js";

const PENDING = "patchbay.oidc";

function base64url(bytes) {
  return btoa(String.fromCharCode(...new Uint8Array(bytes))).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function randomText() {
  return base64url(crypto.getRandomValues(new Uint8Array(32)));
}

async function discover(issuer) {
  const response = await fetch(`${issuer.replace(/\/$/, "")}/.well-known/openid-configuration`);
  if (!response.ok) throw new Error(`the identity provider's discovery document answered ${response.status}`);
  return response.json();
}

/** This page's address without query or fragment: the redirect URI. */
function redirectUri() {
  return `${location.origin}/`;
}

/** Sends the person to the identity provider to sign in. */
export async function begin(config) {
  const discovery = await discover(config.issuer);
  const verifier = randomText();
  const state = randomText();
  const challenge = base64url(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier)));
  sessionStorage.setItem(PENDING, JSON.stringify({
    verifier, state, token_endpoint: discovery.token_endpoint, client_id: config.client_id,
  }));
  const url = new URL(discovery.authorization_endpoint);
  url.search = new URLSearchParams({
    response_type: "code",
    client_id: config.client_id,
    redirect_uri: redirectUri(),
    scope: config.scope || "openid",
    state,
    code_challenge: challenge,
    code_challenge_method: "S256",
  }).toString();
  location.assign(url.toString());
}

/** The claims of a JWT, unverified (the host verifies it). */
function claims(token) {
  const payload = token.split(".")[1] || "";
  return JSON.parse(atob(payload.replace(/-/g, "+").replace(/_/g, "/")));
}

/**
 * On return from the identity provider (?code=…&state=…): exchanges the
 * code and starts the session. Returns true if it did, false if this is not
 * a return; throws with what went wrong.
 */
export async function complete() {
  const params = new URLSearchParams(location.search);
  if (!params.has("code") && !params.has("error")) return false;
  const pending = JSON.parse(sessionStorage.getItem(PENDING) || "null");
  sessionStorage.removeItem(PENDING);
  history.replaceState(null, "", `${location.pathname}${location.hash}`);
  if (params.has("error")) {
    throw new Error(`the identity provider refused the sign-in: ${params.get("error_description") || params.get("error")}`);
  }
  if (!pending || pending.state !== params.get("state")) {
    throw new Error("this sign-in was not started from this page (its state does not match): sign in again");
  }
  const response = await fetch(pending.token_endpoint, {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({
      grant_type: "authorization_code",
      code: params.get("code"),
      redirect_uri: redirectUri(),
      client_id: pending.client_id,
      code_verifier: pending.verifier,
    }).toString(),
  });
  const answer = await response.json().catch(() => ({}));
  if (!response.ok || !answer.access_token) {
    throw new Error(`the identity provider did not give a token: ${answer.error_description || answer.error || response.status}`);
  }
  const c = claims(answer.access_token);
  const role = Array.isArray(c.roles) ? c.roles[0] : c.roles;
  start({
    access_token: answer.access_token,
    expires_in: answer.expires_in || Math.max(0, c.exp - Date.now() / 1000),
    user: c.sub,
    name: c.name,
    role,
    organisation: c.org,
    nhs_number: c.nhs_number,
  });
  return true;
}
