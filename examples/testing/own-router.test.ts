// examples/testing/own-router.test.ts
// When your app builds its token router itself: hand it the kit's options, or assemble a router
// from testSigningKey() and createTestClock() and mint with the standalone helpers. CI compiles it
// with --strict (`npm run examples`) and runs it with jest against the built package
// (spec/testing/example-tests.spec.ts).
import { describe, expect, it } from '@jest/globals';
import express, { type Express } from 'express';
import request from 'supertest';
import {
  accessTokenOf,
  createMemoryClientRegistry,
  createMemoryStorage,
  createTokenRouter,
  requireAccessToken,
  type MemoryClientDefinition,
  type TokenRouterOptions,
} from 'express-token-endpoint';
import { codeExchange, createTestClock, createTestTokenRouter, mintAccessToken, testSigningKey } from 'express-token-endpoint/testing';

const API = 'https://api.example.com';
const WEB_SECRET = 'web-secret-for-tests-only-0123456789';
const clients: MemoryClientDefinition[] = [
  { client_id: 'web', client_secret: WEB_SECRET, grant_types: ['authorization_code', 'client_credentials'], redirect_uris: ['https://web.example.com/callback'], scope: 'orders:read' },
  { client_id: 'spa', token_endpoint_auth_method: 'none', grant_types: ['authorization_code'], redirect_uris: ['https://spa.example.com/callback'], scope: 'openid orders:read' },
];

// #region factory
/** Your app's factory: it creates the token router from options (production passes its own). */
export function createApp(tokenRouterOptions: TokenRouterOptions): Express {
  const tokenRouter = createTokenRouter({ ...tokenRouterOptions, accessToken: { audience: API, ttl: 600 } });
  const app = express();
  app.use('/oauth', tokenRouter);
  app.get('/api/orders', tokenRouter.requireAccessToken({ audience: API, scope: 'orders:read' }), (req, res) => {
    res.json({ owner: accessTokenOf(req).claims.sub });
  });
  return app;
}
// #endregion factory

describe('an app that builds its own token router', () => {
  it('accepts the tokens of a kit whose options it was given', async () => {
    // #region kit-options
    // The app's router shares the kit's storage, clock, key, issuer and clients; the audience is the app's.
    const kit = createTestTokenRouter({ clients, accessToken: { audience: API } });
    const app = createApp(kit.options);
    const token = await kit.mintAccessToken({ clientId: 'web', subject: 'alice', scope: 'orders:read' });
    // #endregion kit-options
    const res = await request(app).get('/api/orders').set('Authorization', `Bearer ${token}`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ owner: 'alice' });
    kit.close();
  });

  it('mints with the standalone helpers from a router assembled with the test key and clock', async () => {
    // #region standalone
    const clock = createTestClock(Date.UTC(2030, 0, 1)); // the same iat and exp in every run
    const tokenRouter = createTokenRouter({
      issuer: 'https://id.example.com',
      signingKeys: [testSigningKey()],
      clients: createMemoryClientRegistry(clients),
      storage: createMemoryStorage({ clock }), // or your own adapter, on the same clock
      clock,
    });
    const app = express().use('/oauth', tokenRouter);
    const token = await mintAccessToken(tokenRouter, {
      clientId: 'web', clientSecret: WEB_SECRET, subject: 'alice', scope: 'orders:read', redirectUri: 'https://web.example.com/callback',
    });
    const tokens = await codeExchange(app, {
      tokenRouter, tokenPath: '/oauth/token', clientId: 'spa', subject: 'bob', scope: 'openid orders:read', redirectUri: 'https://spa.example.com/callback',
    });
    // #endregion standalone

    // #region resource-server
    // An API in another app: the standalone middleware reads Date.now unless it is given the clock.
    const api = express();
    api.get('/orders', requireAccessToken({ issuer: 'https://id.example.com', jwks: tokenRouter.jwks(), audience: 'https://id.example.com', scope: 'orders:read', clock }), (req, res) => {
      res.json({ owner: accessTokenOf(req).claims.sub });
    });
    // #endregion resource-server

    expect(JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString())).toMatchObject({ iat: Date.UTC(2030, 0, 1) / 1000, exp: Date.UTC(2030, 0, 1) / 1000 + 3600 });
    expect((await request(api).get('/orders').set('Authorization', `Bearer ${token}`)).body).toEqual({ owner: 'alice' });
    expect((await request(api).get('/orders').set('Authorization', `Bearer ${tokens.access_token}`)).body).toEqual({ owner: 'bob' });
    clock.advance(3606 * 1000);
    expect((await request(api).get('/orders').set('Authorization', `Bearer ${token}`)).status).toBe(401);
  });
});
