// examples/testing/protected-route.test.ts
// Testing your own protected routes and sign-in flow with jest and supertest: a ready token router
// from express-token-endpoint/testing, real tokens for a client, a user and a scope, and a clock the
// test moves. CI compiles it with --strict (`npm run examples`) and runs it with jest against the
// built package (spec/testing/example-tests.spec.ts).
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import express, { type Express } from 'express';
import request from 'supertest';
import { accessTokenOf, type TokenRouter } from 'express-token-endpoint';
import { createTestTokenRouter, type TestTokenRouter } from 'express-token-endpoint/testing';

const API = 'https://api.example.com';

// #region app
/** Your app, as production builds it; the token router comes from outside (in tests: the kit's). */
export function createApp(tokenRouter: TokenRouter): Express {
  const app = express();
  app.use('/oauth', tokenRouter);
  app.get('/api/orders', tokenRouter.requireAccessToken({ audience: API, scope: 'orders:read' }), (req, res) => {
    res.json({ owner: accessTokenOf(req).claims.sub, orders: [] });
  });
  app.post('/api/orders', tokenRouter.requireAccessToken({ audience: API, scope: 'orders:write' }), (req, res) => {
    res.status(201).json({ owner: accessTokenOf(req).claims.sub });
  });
  return app;
}
// #endregion app

describe('the orders API', () => {
  let kit: TestTokenRouter;
  let app: Express;

  beforeEach(() => {
    // #region kit
    // Memory storage and clients, the test signing key, a clock that moves only when told.
    kit = createTestTokenRouter({
      accessToken: { audience: API },
      clients: [{
        client_id: 'web',
        client_secret: 'web-secret-for-tests-only-0123456789',
        grant_types: ['authorization_code', 'refresh_token'],
        redirect_uris: ['https://web.example.com/callback'],
        scope: 'openid offline_access orders:read orders:write',
      }],
    });
    app = createApp(kit.tokenRouter);
    // #endregion kit
  });
  afterEach(() => kit.close());

  it('lists the orders of the signed-in user', async () => {
    // #region mint
    const token = await kit.mintAccessToken({ clientId: 'web', subject: 'alice', scope: 'orders:read' });
    const res = await request(app).get('/api/orders').set('Authorization', `Bearer ${token}`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ owner: 'alice', orders: [] });
    // #endregion mint
  });

  it('needs orders:write to create an order', async () => {
    const token = await kit.mintAccessToken({ clientId: 'web', subject: 'alice', scope: 'orders:read' });
    const res = await request(app).post('/api/orders').set('Authorization', `Bearer ${token}`);
    expect(res.status).toBe(403);
    expect(res.body.error).toBe('insufficient_scope');
  });

  it('refuses a token once it has expired', async () => {
    const token = await kit.mintAccessToken({ clientId: 'web', subject: 'alice', scope: 'orders:read' });
    // #region expire
    kit.clock.advance(60 * 60 * 1000 + 10_000); // the default lifetime (1 h) and the 5 s tolerance
    const res = await request(app).get('/api/orders').set('Authorization', `Bearer ${token}`);
    expect(res.status).toBe(401);
    expect(res.body.error).toBe('invalid_token');
    // #endregion expire
  });

  it('refuses a request without a token', async () => {
    const res = await request(app).get('/api/orders');
    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toContain(`Bearer realm="${API}"`);
  });

  it('signs in through /oauth/token and keeps going with the refresh token', async () => {
    // #region sign-in
    // What the client does after your login page: the code (with PKCE) exchanged at your mount path.
    const tokens = await kit.codeExchange({ app, tokenPath: '/oauth/token', clientId: 'web', subject: 'alice' });
    expect(tokens.refresh_token).toEqual(expect.any(String));
    expect(tokens.id_token).toEqual(expect.any(String));

    kit.clock.advance(2 * 60 * 60 * 1000);
    const refreshed = await request(app)
      .post('/oauth/token')
      .auth('web', 'web-secret-for-tests-only-0123456789')
      .type('form')
      .send({ grant_type: 'refresh_token', refresh_token: String(tokens.refresh_token) });
    expect(refreshed.status).toBe(200);
    // #endregion sign-in
    const res = await request(app).post('/api/orders').set('Authorization', `Bearer ${refreshed.body.access_token}`);
    expect(res.status).toBe(201);
  });
});
