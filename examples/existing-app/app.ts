// examples/existing-app/app.ts
// The token endpoint mounted in an Express app that already has routes of its own, as the README
// shows it: one router for POST /connect/token, discovery and JWKS at the issuer, and an API route
// protected with the router's access tokens. `npm run examples` compiles this file with --strict
// against the built package and runs main(), which checks it through HTTP with supertest.
import { strict as assert } from 'node:assert';
import { generateKeyPairSync } from 'node:crypto';
import request from 'supertest';
// #region app
import express from 'express';
import {
  accessTokenOf,
  clientCredentials,
  createMemoryClientRegistry,
  createMemoryStorage,
  createTokenRouter,
} from 'express-token-endpoint';

export function createApp(): express.Express {
  const app = express();
  app.get('/health', (_req, res) => {
    res.json({ ok: true }); // your existing routes stay as they are
  });

  const tokenRouter = createTokenRouter({
    issuer: 'https://id.example.com',
    signingKeys: [{ kid: '2026-01', alg: 'RS256', privateKey: process.env.SIGNING_KEY_PEM! }],
    clients: createMemoryClientRegistry([
      { client_id: 'billing', client_secret: process.env.BILLING_SECRET!, grant_types: ['client_credentials'], scope: 'invoices:read' },
    ]),
    storage: createMemoryStorage(),
    grants: [clientCredentials()],
    accessToken: { audience: 'https://api.example.com', ttl: 900 },
    requireHttps: process.env.NODE_ENV === 'production', // the default; behind a proxy set 'trust proxy' too
    onEvent: (event) => console.log(JSON.stringify(event)), // audit events: never secrets or tokens
  });
  // Mount it before any global body parser: it reads its form body itself, strictly.
  app.use('/connect', tokenRouter); // POST /connect/token
  app.use(tokenRouter.wellKnown); // GET /.well-known/openid-configuration and /.well-known/jwks.json

  // An API route that takes these access tokens (RFC 6750 Bearer, or DPoP-bound).
  app.get('/api/invoices', tokenRouter.requireAccessToken({ audience: 'https://api.example.com', scope: 'invoices:read' }), (req, res) => {
    const { claims } = accessTokenOf(req);
    res.json({ client: claims.client_id, invoices: [] });
  });

  app.use(express.json()); // your own parsers after the router
  return app;
}
// #endregion app

async function main(): Promise<void> {
  // A real deployment reads these from its secret store; the example makes throwaway ones.
  process.env.SIGNING_KEY_PEM = generateKeyPairSync('rsa', { modulusLength: 2048, privateKeyEncoding: { type: 'pkcs8', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' } }).privateKey;
  process.env.BILLING_SECRET = 'billing-secret-change-me-0123456789';
  const log = console.log;
  console.log = () => undefined; // keep the example's output to its result line
  try {
    const app = createApp();
    const token = await request(app).post('/connect/token').auth('billing', process.env.BILLING_SECRET).type('form').send({ grant_type: 'client_credentials' });
    assert.equal(token.status, 200, JSON.stringify(token.body));
    assert.equal(token.headers['cache-control'], 'no-store');
    assert.equal(token.body.scope, 'invoices:read');

    const invoices = await request(app).get('/api/invoices').set('authorization', `Bearer ${token.body.access_token}`);
    assert.equal(invoices.status, 200);
    assert.deepEqual(invoices.body, { client: 'billing', invoices: [] });

    const anonymous = await request(app).get('/api/invoices');
    assert.equal(anonymous.status, 401);
    const wrongSecret = await request(app).post('/connect/token').auth('billing', 'not-the-secret-0123456789').type('form').send({ grant_type: 'client_credentials' });
    assert.equal(wrongSecret.status, 401);
    assert.equal(wrongSecret.body.error, 'invalid_client');
    const discovery = await request(app).get('/.well-known/openid-configuration');
    assert.equal(discovery.body.token_endpoint, 'https://id.example.com/connect/token');
    assert.equal((await request(app).get('/health')).status, 200);
  } finally {
    console.log = log;
  }
  console.log('existing-app example: token issued, GET /api/invoices 200 with it, 401 without, wrong secret 401');
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
}
