// examples/custom-grant/assertion-grant.ts
// The grant docs/custom-grants.md walks through: `urn:example:grant-type:my-grant` trades an
// assertion your code verifies for tokens, with a contributed start endpoint and a discovery member.
// `npm run examples` compiles it with --strict against the built package and runs main() (supertest).
import { strict as assert } from 'node:assert';
import { generateKeyPairSync } from 'node:crypto';
import request from 'supertest';
import express from 'express';
import { createMemoryClientRegistry, createMemoryStorage, createTokenRouter, defaultGrants } from 'express-token-endpoint';
// #region imports
import { defineFormEndpoint, defineGrant, OAuthError } from 'express-token-endpoint';
// #endregion imports

/** Your own verification of the assertion (a stand-in: a table of known assertions). */
async function verifyAssertion(assertion: string): Promise<{ id: string; authTime: number } | undefined> {
  return assertion === 'assertion-of-alice' ? { id: 'alice', authTime: 1_767_225_600 } : undefined;
}

// #region grant
export const myGrant = defineGrant({
  grantType: 'urn:example:grant-type:my-grant', // the exact grant_type value
  parameters: { // only these (plus scope and resource) reach handle()
    assertion: { required: true, maxLength: 4096 }, // required → a string in handle
    audience: { maxLength: 200, pattern: /^https:\/\//, patternDescription: 'an https URL' },
  },
  allowPublicClients: false, // public clients get unauthorized_client
  requires: ['revokeGrant'], // the storage methods handle() may call, checked at createTokenRouter
  validateSetup: () => [], // your own option checks, at createTokenRouter
  // #region handle
  async handle(ctx) {
    const user = await verifyAssertion(ctx.params.assertion);
    if (!user) throw new OAuthError('invalid_grant', 'The assertion is not valid.');
    const scope = ctx.grantScope(ctx.requestedScope, { fallback: ['api:read'] });
    const resources = ctx.grantResources(ctx.requestedResources); // RFC 8707: the token's aud
    const tokens = await ctx.issueTokens({ scope, resources, session: { subject: user.id, authTime: user.authTime } });
    return tokens.body;
  },
  // #endregion handle
  // #region contribute
  contribute({ issuer }) {
    return {
      endpoints: [
        defineFormEndpoint({
          path: '/my-start', // POST <mount>/my-start, with the token endpoint's pipeline
          grantType: 'urn:example:grant-type:my-grant', // only clients allowed this grant
          parameters: {},
          handle: async ({ client, requestedScope }) => ({ started: true, client_id: client.metadata.client_id, scope: requestedScope?.join(' ') }),
        }),
      ],
      metadata: { my_start_endpoint: `${issuer}/connect/my-start` }, // a discovery member
    };
  },
  // #endregion contribute
});
// #endregion grant

async function main(): Promise<void> {
  const privateKey = generateKeyPairSync('rsa', { modulusLength: 2048, privateKeyEncoding: { type: 'pkcs8', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' } }).privateKey;
  const tokenRouter = createTokenRouter({
    issuer: 'https://id.example.com',
    signingKeys: [{ kid: 'k1', privateKey }],
    clients: createMemoryClientRegistry([
      { client_id: 'partner', client_secret: 'partner-secret-0123456789abcdef', grant_types: ['urn:example:grant-type:my-grant'], scope: 'api:read api:write' },
      { client_id: 'app', token_endpoint_auth_method: 'none', grant_types: ['urn:example:grant-type:my-grant'], scope: 'api:read' },
    ]),
    storage: createMemoryStorage(),
    grants: [...defaultGrants(), myGrant],
    onEvent: () => undefined,
  });
  const app = express().use('/connect', tokenRouter).use(tokenRouter.wellKnown);
  const post = (path: string, body: Record<string, string>) => request(app).post(path).auth('partner', 'partner-secret-0123456789abcdef').type('form').send(body);

  const granted = await post('/connect/token', { grant_type: 'urn:example:grant-type:my-grant', assertion: 'assertion-of-alice' });
  assert.equal(granted.status, 200, JSON.stringify(granted.body));
  assert.equal(granted.body.scope, 'api:read');
  assert.equal((await post('/connect/token', { grant_type: 'urn:example:grant-type:my-grant', assertion: 'forged' })).body.error, 'invalid_grant');
  assert.equal((await post('/connect/token', { grant_type: 'urn:example:grant-type:my-grant' })).body.error, 'invalid_request');
  assert.equal((await post('/connect/token', { grant_type: 'urn:example:grant-type:my-grant', assertion: 'assertion-of-alice', scope: 'admin' })).body.error, 'invalid_scope');
  const publicClient = await request(app).post('/connect/token').type('form').send({ grant_type: 'urn:example:grant-type:my-grant', client_id: 'app', assertion: 'assertion-of-alice' });
  assert.equal(publicClient.body.error, 'unauthorized_client');
  const started = await post('/connect/my-start', { scope: 'api:write' });
  assert.deepEqual(started.body, { started: true, client_id: 'partner', scope: 'api:write' });
  const discovery = await request(app).get('/.well-known/openid-configuration');
  assert.equal(discovery.body.my_start_endpoint, 'https://id.example.com/connect/my-start');
  assert.ok((discovery.body.grant_types_supported as string[]).includes('urn:example:grant-type:my-grant'));
  console.log('assertion grant example: tokens for a valid assertion; forged, missing, too wide and public-client requests refused; start endpoint and discovery member served');
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
}
