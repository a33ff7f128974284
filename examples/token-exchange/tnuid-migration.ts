// examples/token-exchange/tnuid-migration.ts
// Migrating from the deprecated TelenorID+ `tnuId` profile switch to RFC 8693 token exchange.
// Run it: `npm run examples` (CI compiles and runs it).
//
// Before: the client refreshed with `tnuId=<profile>` and got an access token with a `tnuid`
// claim (refreshToken({ extensions: [tnuIdProfileSwitch({ verifyProfile })] })).
// After: the client exchanges its current access token for one of the profile, naming the
// profile as the exchange's `audience`. The same checks move into the exchange policy: the client
// is allowed to switch (`update_access_token_claims`), the grant holds `account.profiles`, and the
// profile belongs to the user.
import { strict as assert } from 'node:assert';
import { generateKeyPairSync } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import express from 'express';
import {
  authorizationCode,
  createMemoryClientRegistry,
  createMemoryStorage,
  createTokenRouter,
  PROFILE_SCOPE,
  refreshToken,
  s256Challenge,
  TOKEN_EXCHANGE_GRANT_TYPE,
  TOKEN_TYPES,
  tokenExchange,
  type TokenRouter,
} from 'express-token-endpoint';

/** How the client names the profile it wants: `audience=urn:example:profile:<tnuId>`. */
const PROFILE_AUDIENCE = 'urn:example:profile:';

/** Your own check that a profile belongs to a user (what `verifyProfile` did). */
const PROFILES: Readonly<Record<string, readonly string[]>> = { alice: ['tnu-alice-private', 'tnu-alice-work'] };
const ownsProfile = (user: string, tnuId: string) => PROFILES[user]?.includes(tnuId) === true;

// #region profile-exchange
export const profileExchange = tokenExchange({
  policy: ({ client, subjectToken, audience }) => {
    const profile = audience.length === 1 && audience[0].startsWith(PROFILE_AUDIENCE) ? audience[0].slice(PROFILE_AUDIENCE.length) : undefined;
    if (profile === undefined) return false;
    // The checks tnuIdProfileSwitch made, now in the policy (any false answers invalid_request).
    if (client.update_access_token_claims !== true) return false;
    if (subjectToken.tokenType !== TOKEN_TYPES.accessToken || subjectToken.clientId !== client.client_id) return false;
    if (!subjectToken.scope.includes(PROFILE_SCOPE) || subjectToken.localSubject === undefined) return false;
    if (!ownsProfile(subjectToken.localSubject, profile)) return false;
    // Same user and scope; the profile travels as the `tnuid` claim, as before (the audience named
    // the profile, not an API: the token keeps its usual `aud`).
    return { scope: subjectToken.scope, claims: { tnuid: profile }, audienceServed: true };
  },
});
// #endregion profile-exchange

const CLIENT = { id: 'tv-app', secret: 'tv-app-secret-0123456789abcdef', redirect: 'https://tv.example.com/cb' } as const;

export function createMigratedRouter(): TokenRouter {
  // A PEM, as you would load from your secret store.
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048, publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } });
  return createTokenRouter({
    issuer: 'http://localhost:3000',
    signingKeys: [{ kid: 'example', alg: 'RS256', privateKey }],
    clients: createMemoryClientRegistry([{
      client_id: CLIENT.id,
      client_secret: CLIENT.secret,
      grant_types: ['authorization_code', 'refresh_token', TOKEN_EXCHANGE_GRANT_TYPE],
      redirect_uris: [CLIENT.redirect],
      scope: `openid offline_access ${PROFILE_SCOPE}`,
      update_access_token_claims: true,
    }]),
    storage: createMemoryStorage(),
    grants: [authorizationCode(), refreshToken(), profileExchange],
  });
}

/** Runs the migrated flow against a real server on a loopback port and checks the answers. */
export async function main(): Promise<void> {
  const tokenRouter = createMigratedRouter();
  const app = express().use('/connect', tokenRouter);
  const server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const { port } = server.address() as AddressInfo;
  const post = async (params: Record<string, string>) => {
    const res = await fetch(`http://127.0.0.1:${port}/connect/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${CLIENT.id}:${CLIENT.secret}`).toString('base64')}` },
      body: new URLSearchParams(params),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  const claimsOf = (jwt: unknown) => JSON.parse(Buffer.from(String(jwt).split('.')[1], 'base64url').toString()) as Record<string, unknown>;
  try {
    const verifier = 'a-pkce-verifier-of-at-least-43-characters-0123456789';
    const { code } = await tokenRouter.issueAuthorizationCode({
      clientId: CLIENT.id, redirectUri: CLIENT.redirect, scope: `openid ${PROFILE_SCOPE}`, subject: 'alice',
      codeChallenge: s256Challenge(verifier), codeChallengeMethod: 'S256',
    });
    const signedIn = await post({ grant_type: 'authorization_code', code, redirect_uri: CLIENT.redirect, code_verifier: verifier });
    assert.equal(signedIn.status, 200);

    // Formerly: grant_type=refresh_token&refresh_token=…&tnuId=tnu-alice-work
    const switched = await post({
      grant_type: TOKEN_EXCHANGE_GRANT_TYPE,
      subject_token: String(signedIn.body.access_token),
      subject_token_type: TOKEN_TYPES.accessToken,
      audience: `${PROFILE_AUDIENCE}tnu-alice-work`,
    });
    assert.equal(switched.status, 200);
    assert.equal(switched.body.issued_token_type, TOKEN_TYPES.accessToken);
    assert.equal(claimsOf(switched.body.access_token).tnuid, 'tnu-alice-work');
    assert.equal(claimsOf(switched.body.access_token).sub, 'alice');

    const someoneElses = await post({
      grant_type: TOKEN_EXCHANGE_GRANT_TYPE,
      subject_token: String(signedIn.body.access_token),
      subject_token_type: TOKEN_TYPES.accessToken,
      audience: `${PROFILE_AUDIENCE}tnu-bob-private`,
    });
    assert.equal(someoneElses.status, 400);
    assert.equal(someoneElses.body.error, 'invalid_request');
    console.log('tnuId migration example: switched to tnu-alice-work with token exchange; another user\'s profile refused');
  } finally {
    server.close();
  }
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
}
