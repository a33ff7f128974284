// examples/custom-grant/token-exchange.ts
// A custom grant written against the public API only: RFC 8693 token exchange for a subject
// token the host verifies itself. Run it: `npm run examples` (CI compiles and runs it).
//
// What the router does before `handle`: client authentication, the client's grant_types, the
// declared parameters (presence, length, pattern). What `handle` gets for free through the
// context: ctx.grantScope (the requested scope checked against the client's registered scope)
// and ctx.issueTokens (pairwise subjects, the client's audience and lifetime, claims hooks, and
// the token.issued event).
import { strict as assert } from 'node:assert';
import { generateKeyPairSync } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import express from 'express';
import {
  clientCredentials,
  createMemoryClientRegistry,
  createMemoryStorage,
  createTokenRouter,
  defineGrant,
  OAuthError,
  type TokenEndpointEvent,
} from 'express-token-endpoint';

const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';

/** Your own verification of the incoming token (a stand-in here: a table of known tokens). */
async function verifySubjectToken(token: string): Promise<{ userId: string } | undefined> {
  const known: Record<string, string> = { 'subject-token-of-alice': 'alice' };
  return known[token] ? { userId: known[token] } : undefined;
}

export const tokenExchange = defineGrant({
  grantType: TOKEN_EXCHANGE,
  // Only declared parameters (plus `scope`) reach handle(); each is length-capped (default 2048).
  parameters: {
    subject_token: { required: true, maxLength: 4096 },
    subject_token_type: { required: true, pattern: /^urn:ietf:params:oauth:token-type:/, patternDescription: 'a token-type URN' },
  },
  allowPublicClients: false,
  async handle(ctx) {
    // Declared `required: true`, so a string here: no cast.
    const user = await verifySubjectToken(ctx.params.subject_token);
    if (!user) throw new OAuthError('invalid_grant', 'The subject token is not active.');
    // Refuses (invalid_scope) anything the client is not registered for.
    const scope = ctx.grantScope(ctx.requestedScope);
    const tokens = await ctx.issueTokens({ scope, session: { subject: user.userId } });
    return { ...tokens.body, issued_token_type: ACCESS_TOKEN_TYPE };
  },
});

export interface ExampleApp {
  readonly app: express.Express;
  readonly events: TokenEndpointEvent[];
}

export function createExampleApp(): ExampleApp {
  const events: TokenEndpointEvent[] = [];
  // A PEM, as you would load from your secret store.
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048, publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } });
  const app = express();
  app.use(
    '/connect',
    createTokenRouter({
      issuer: 'http://localhost:3000',
      signingKeys: [{ kid: 'example', alg: 'RS256', privateKey }],
      clients: createMemoryClientRegistry([
        { client_id: 'gateway', client_secret: 'gateway-secret-0123456789abcdef', grant_types: [TOKEN_EXCHANGE], scope: 'orders:read' },
      ]),
      storage: createMemoryStorage(),
      grants: [clientCredentials(), tokenExchange],
      onEvent: (event) => events.push(event),
    }),
  );
  return { app, events };
}

/** Runs the example against a real server on a free loopback port and checks what it answers. */
export async function main(): Promise<void> {
  const { app, events } = createExampleApp();
  const server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const { port } = server.address() as AddressInfo;
  const exchange = async (scope: string) => {
    const res = await fetch(`http://127.0.0.1:${port}/connect/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from('gateway:gateway-secret-0123456789abcdef').toString('base64')}` },
      body: new URLSearchParams({ grant_type: TOKEN_EXCHANGE, subject_token: 'subject-token-of-alice', subject_token_type: ACCESS_TOKEN_TYPE, scope }),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  try {
    const granted = await exchange('orders:read');
    assert.equal(granted.status, 200);
    assert.equal(granted.body.scope, 'orders:read');
    assert.equal(granted.body.issued_token_type, ACCESS_TOKEN_TYPE);
    assert.ok(events.some((event) => event.type === 'token.issued' && event.subject === 'alice'), 'token.issued reported');

    const refused = await exchange('admin superuser');
    assert.equal(refused.status, 400);
    assert.equal(refused.body.error, 'invalid_scope');
    console.log('token exchange example: orders:read granted, "admin superuser" refused with invalid_scope');
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
