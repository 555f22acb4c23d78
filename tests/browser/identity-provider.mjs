// A real OpenID Connect provider for the sign-in test: panva's
// oidc-provider (npm, a certified OpenID Provider implementation) with its
// development login pages, one public client (the console, PKCE required),
// and access tokens as ES256 JWTs carrying Patchbay's claims (org, roles,
// nhs_number). The host is given its public keys as a JWKS file, as a trust
// would give it its own provider's.

import { writeFileSync } from "node:fs";
import { join } from "node:path";
import Provider from "oidc-provider";
import * as jose from "jose";
import { freePort } from "./support.mjs";

/** The people this provider signs in, by login. */
export const ACCOUNTS = {
  "reception-9": { name: "Robin Reception", org: "Y90001", roles: ["receptionist"] },
  "patient-9": { name: "Pat Patient", org: "Y90001", roles: ["patient"], nhs_number: "9990000018" },
};

/**
 * Starts the provider for a console at `consoleUrl`; writes its JWKS into
 * `dir`. Returns {issuer, jwksFile, clientId, stop}.
 */
export async function startIdentityProvider(consoleUrl, dir) {
  const port = await freePort();
  const issuer = `http://127.0.0.1:${port}`;
  const { privateKey, publicKey } = await jose.generateKeyPair("ES256", { extractable: true });
  const kid = "test-provider-1";
  const privateJwk = { ...(await jose.exportJWK(privateKey)), kid, alg: "ES256", use: "sig" };
  const publicJwk = { ...(await jose.exportJWK(publicKey)), kid, alg: "ES256", use: "sig" };
  const jwksFile = join(dir, "provider-jwks.json");
  writeFileSync(jwksFile, JSON.stringify({ keys: [publicJwk] }));
  const clientId = "patchbay-console";
  const provider = new Provider(issuer, {
    clients: [{
      client_id: clientId,
      token_endpoint_auth_method: "none",
      application_type: "native",
      redirect_uris: [`${consoleUrl}/`],
      grant_types: ["authorization_code"],
      response_types: ["code"],
      id_token_signed_response_alg: "ES256",
    }],
    jwks: { keys: [privateJwk] },
    pkce: { required: () => true },
    clientBasedCORS: (ctx, origin) => origin === consoleUrl,
    findAccount: (ctx, id) => (ACCOUNTS[id] ? {
      accountId: id,
      claims: () => ({ sub: id, name: ACCOUNTS[id].name }),
    } : undefined),
    features: {
      devInteractions: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => "urn:patchbay",
        useGrantedResource: () => true,
        getResourceServerInfo: () => ({
          scope: "openid",
          audience: "patchbay",
          accessTokenTTL: 3600,
          accessTokenFormat: "jwt",
          jwt: { sign: { alg: "ES256" } },
        }),
      },
    },
    extraTokenClaims: (ctx, token) => {
      const account = ACCOUNTS[token.accountId];
      if (!account) return undefined;
      const { name, org, roles, nhs_number: nhsNumber } = account;
      return nhsNumber ? { name, org, roles, nhs_number: nhsNumber } : { name, org, roles };
    },
  });
  provider.proxy = false;
  const server = provider.listen(port, "127.0.0.1");
  await new Promise((resolve) => server.once("listening", resolve));
  return {
    issuer,
    jwksFile,
    clientId,
    stop: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
