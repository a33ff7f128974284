// spec/testing/host-helpers.spec.ts
// The host-side test helpers of express-token-endpoint/testing, used as a host uses them: a host
// app with protected routes, tokens minted by the helpers, requests through HTTP (supertest).
import express, { type Express, type RequestHandler } from 'express';
import request from 'supertest';
import {
  accessTokenOf,
  ConfigurationError,
  createMemoryClientRegistry,
  createMemoryStorage,
  createTokenRouter,
  requireAccessToken,
  type MemoryClientDefinition,
  type TokenRouter,
} from 'express-token-endpoint';
import {
  codeExchange,
  createTestClock,
  createTestTokenRouter,
  mintAccessToken,
  TEST_CLIENT,
  TEST_ISSUER,
  TEST_SIGNING_KEY_ID,
  testSigningKey,
  type TestTokenRouter,
} from 'express-token-endpoint/testing';
import { decodeJwt } from '../helpers/create-app';
import { keyPair } from '../helpers/keys';

const API = 'https://api.example.test';
const WEB_SECRET = 'web-secret-0123456789abcdef';
const WEB: MemoryClientDefinition = {
  client_id: 'web',
  client_secret: WEB_SECRET,
  grant_types: ['authorization_code', 'refresh_token', 'client_credentials'],
  redirect_uris: ['https://web.example.test/callback'],
  scope: 'openid offline_access orders:read orders:write',
};
const SPA: MemoryClientDefinition = {
  client_id: 'spa',
  token_endpoint_auth_method: 'none',
  grant_types: ['authorization_code'],
  redirect_uris: ['https://spa.example.test/callback'],
  scope: 'orders:read',
};
const SECOND = 1000;
// The production router below signs with ES256 only, which the router warns about (OIDC wants RS256).
const QUIET = { warn: () => undefined, error: () => undefined };
const bearer = (token: string) => `Bearer ${token}`;

/** A host app: the router at /oauth, and routes guarded by the router's middleware and by the standalone one. */
function hostApp(kit: TestTokenRouter): Express {
  const app = express();
  app.use('/oauth', kit.tokenRouter);
  const echo: RequestHandler = (req, res) => {
    res.json({ sub: accessTokenOf(req).claims.sub, client_id: accessTokenOf(req).claims.client_id, scopes: accessTokenOf(req).scopes });
  };
  app.get('/orders', kit.tokenRouter.requireAccessToken({ audience: kit.audience, scope: 'orders:read' }), echo);
  app.post('/orders', kit.tokenRouter.requireAccessToken({ audience: kit.audience, scope: 'orders:write' }), echo);
  // An API in another app verifies with the issuer's JWKS; it follows the kit's clock only when told to.
  app.get('/standalone/orders', requireAccessToken({ issuer: kit.issuer, jwks: kit.tokenRouter.jwks(), audience: kit.audience, scope: 'orders:read', clock: kit.clock }), echo);
  return app;
}

/** Runs `body` with NODE_ENV set to `value`, restoring it after. */
async function withNodeEnv<T>(value: string, body: () => T | Promise<T>): Promise<T> {
  const saved = process.env.NODE_ENV;
  process.env.NODE_ENV = value;
  try {
    return await body();
  } finally {
    if (saved === undefined) delete process.env.NODE_ENV;
    else process.env.NODE_ENV = saved;
  }
}

describe('createTestTokenRouter + kit.mintAccessToken: testing protected routes', () => {
  let kit: TestTokenRouter;
  let app: Express;
  beforeEach(() => {
    kit = createTestTokenRouter({ clients: [WEB, SPA] });
    app = hostApp(kit);
  });
  afterEach(() => kit.close());

  it('mints a user token both middlewares accept, for the client, user and scope asked', async () => {
    const token = await kit.mintAccessToken({ clientId: 'web', subject: 'alice', scope: 'orders:read' });
    for (const path of ['/orders', '/standalone/orders']) {
      const res = await request(app).get(path).set('Authorization', bearer(token));
      expect({ path, status: res.status, body: res.body }).toEqual({ path, status: 200, body: { sub: 'alice', client_id: 'web', scopes: ['orders:read'] } });
    }
  });

  it('signs with the test key, on the kit clock, as the test issuer (the same in every run but for the start time)', async () => {
    const token = await kit.mintAccessToken({ clientId: 'web', subject: 'alice', scope: 'orders:read' });
    const { header, payload } = decodeJwt(token);
    expect(header).toMatchObject({ alg: 'RS256', kid: TEST_SIGNING_KEY_ID, typ: 'at+jwt' });
    expect(payload).toMatchObject({ iss: TEST_ISSUER, aud: TEST_ISSUER, iat: kit.clock() / SECOND, exp: kit.clock() / SECOND + 3600 });
    expect(kit.issuer).toBe(TEST_ISSUER);
    expect(kit.tokenRouter.jwks().keys.map((key) => key.kid)).toEqual([TEST_SIGNING_KEY_ID]);
  });

  it('a token without the route\'s scope is refused: 403 insufficient_scope', async () => {
    const token = await kit.mintAccessToken({ clientId: 'web', subject: 'alice', scope: 'orders:read' });
    const res = await request(app).post('/orders').set('Authorization', bearer(token));
    expect(res.status).toBe(403);
    expect(res.body.error).toBe('insufficient_scope');
    expect(res.headers['www-authenticate']).toContain('scope="orders:write"');
  });

  it('advancing the kit clock past the lifetime expires the token at both middlewares: 401 invalid_token', async () => {
    const token = await kit.mintAccessToken({ clientId: 'web', subject: 'alice', scope: 'orders:read' });
    kit.clock.advance(3599 * SECOND);
    for (const path of ['/orders', '/standalone/orders']) expect((await request(app).get(path).set('Authorization', bearer(token))).status).toBe(200);
    // Past exp and the default 5 s of clock tolerance.
    kit.clock.advance(7 * SECOND);
    for (const path of ['/orders', '/standalone/orders']) {
      const res = await request(app).get(path).set('Authorization', bearer(token));
      expect({ path, status: res.status, error: res.body.error }).toEqual({ path, status: 401, error: 'invalid_token' });
    }
  });

  it('without a subject, mints the client\'s own token (client_credentials); without a scope, a user token has the client\'s whole scope', async () => {
    const own = await kit.mintAccessToken({ clientId: 'web', scope: 'orders:read' });
    expect((await request(app).get('/orders').set('Authorization', bearer(own))).body).toEqual({ sub: 'client:web', client_id: 'web', scopes: ['orders:read'] });
    const all = await kit.mintAccessToken({ clientId: 'web', subject: 'bob' });
    expect(decodeJwt(all).payload.scope).toBe('openid offline_access orders:read orders:write');
    expect((await request(app).post('/orders').set('Authorization', bearer(all))).status).toBe(200);
  });

  it('mints for a public client (no secret) and for a client_secret_post client (its registered method)', async () => {
    const post: MemoryClientDefinition = { ...WEB, client_id: 'post', token_endpoint_auth_method: 'client_secret_post' };
    const strict = createTestTokenRouter({ clients: [SPA, post], clientAuthentication: { enforceRegisteredMethod: true } });
    const strictApp = hostApp(strict);
    for (const clientId of ['spa', 'post']) {
      const token = await strict.mintAccessToken({ clientId, subject: 'carol', scope: 'orders:read' });
      expect((await request(strictApp).get('/orders').set('Authorization', bearer(token))).body).toMatchObject({ sub: 'carol', client_id: clientId });
    }
    strict.close();
  });

  it('a token revoked in the kit storage is refused (the router checks the revocation list)', async () => {
    const token = await kit.mintAccessToken({ clientId: 'web', subject: 'alice', scope: 'orders:read' });
    const { jti, exp } = decodeJwt(token).payload as { jti: string; exp: number };
    await kit.storage.revokeAccessToken(jti, exp * SECOND);
    expect((await request(app).get('/orders').set('Authorization', bearer(token))).status).toBe(401);
  });

  it('mints for a resource (RFC 8707): aud is the resource, so a route of that API accepts it and the default audience does not', async () => {
    const resourceKit = createTestTokenRouter({ clients: [{ ...WEB, resources: [API] }], resources: { [API]: { scopes: ['orders:read'] } } });
    const api = express();
    api.get('/api', resourceKit.tokenRouter.requireAccessToken({ audience: API, scope: 'orders:read' }), (_req, res) => void res.json({ ok: true }));
    api.get('/issuer', resourceKit.tokenRouter.requireAccessToken({ audience: resourceKit.audience }), (_req, res) => void res.json({ ok: true }));
    for (const subject of ['alice', undefined]) {
      const token = await resourceKit.mintAccessToken({ clientId: 'web', subject, scope: 'orders:read', resource: API });
      expect(decodeJwt(token).payload.aud).toBe(API);
      expect((await request(api).get('/api').set('Authorization', bearer(token))).status).toBe(200);
      expect((await request(api).get('/issuer').set('Authorization', bearer(token))).status).toBe(401);
    }
    resourceKit.close();
  });

  it('a router built from kit.options (a host app that makes its own router) accepts the kit tokens', async () => {
    const own = createTokenRouter({ ...kit.options, accessToken: { ttl: 600 } });
    const ownApp = express();
    ownApp.get('/orders', own.requireAccessToken({ audience: kit.audience, scope: 'orders:read' }), (_req, res) => void res.json({ ok: true }));
    const token = await kit.mintAccessToken({ clientId: 'web', subject: 'alice', scope: 'orders:read' });
    expect((await request(ownApp).get('/orders').set('Authorization', bearer(token))).status).toBe(200);
    kit.clock.advance(3606 * SECOND);
    expect((await request(ownApp).get('/orders').set('Authorization', bearer(token))).status).toBe(401);
  });
});

describe('kit.codeExchange and codeExchange: the code flow through the host app', () => {
  it('exchanges a code with PKCE at the host\'s mount path and returns the whole response; the refresh token works there too', async () => {
    const kit = createTestTokenRouter({ clients: [WEB] });
    const app = hostApp(kit);
    const tokens = await kit.codeExchange({ app, tokenPath: '/oauth/token', clientId: 'web', subject: 'alice', scope: 'openid offline_access orders:read' });
    expect(tokens).toMatchObject({ token_type: 'Bearer', expires_in: 3600, scope: 'openid offline_access orders:read' });
    expect(decodeJwt(String(tokens.id_token)).payload).toMatchObject({ sub: 'alice', aud: 'web', iss: TEST_ISSUER });
    expect((await request(app).get('/orders').set('Authorization', bearer(tokens.access_token))).status).toBe(200);
    const refreshed = await request(app).post('/oauth/token').auth('web', WEB_SECRET).type('form').send({ grant_type: 'refresh_token', refresh_token: String(tokens.refresh_token) });
    expect(refreshed.status).toBe(200);
    expect((await request(app).get('/orders').set('Authorization', bearer(refreshed.body.access_token as string))).body).toMatchObject({ sub: 'alice', client_id: 'web' });
    kit.close();
  });

  it('the kit defaults: TEST_CLIENT, openid and offline_access give an ID token and a refresh token', async () => {
    const kit = createTestTokenRouter();
    const tokens = await kit.codeExchange({ clientId: TEST_CLIENT.client_id, subject: 'alice' });
    expect(Object.keys(tokens).sort()).toEqual(['access_token', 'expires_in', 'id_token', 'refresh_token', 'scope', 'token_type']);
    expect(tokens.scope).toBe(TEST_CLIENT.scope);
    kit.close();
  });

  it('has no failure budgets: 40 failed client authentications from one address are all 401, never 429', async () => {
    const kit = createTestTokenRouter({ clients: [WEB] });
    const app = hostApp(kit);
    const statuses = new Set<number>();
    for (let i = 0; i < 40; i += 1) {
      statuses.add((await request(app).post('/oauth/token').auth('web', 'wrong-secret').type('form').send({ grant_type: 'client_credentials' })).status);
    }
    expect([...statuses]).toEqual([401]);
    kit.close();
  });
});

describe('mintAccessToken and codeExchange with a router the host built (testSigningKey, createTestClock)', () => {
  const clock = createTestClock(Date.UTC(2030, 0, 1));
  let tokenRouter: TokenRouter;
  let app: Express;
  beforeAll(() => {
    tokenRouter = createTokenRouter({ issuer: 'https://id.example.test', signingKeys: [testSigningKey()], clients: createMemoryClientRegistry([WEB, SPA]), storage: createMemoryStorage({ clock }), clock, accessToken: { audience: API, ttl: 300 } });
    app = express();
    app.use('/connect', tokenRouter);
    app.get('/orders', requireAccessToken({ issuer: 'https://id.example.test', jwks: tokenRouter.jwks(), audience: API, scope: 'orders:read', clock }), (req, res) => void res.json({ sub: accessTokenOf(req).claims.sub }));
  });

  it('mints with the secret given, on the fixed clock (reproducible times), accepted by the standalone middleware on that clock', async () => {
    const token = await mintAccessToken(tokenRouter, { clientId: 'web', clientSecret: WEB_SECRET, subject: 'dave', scope: 'orders:read', redirectUri: 'https://web.example.test/callback' });
    expect(decodeJwt(token).payload).toMatchObject({ iat: Date.UTC(2030, 0, 1) / SECOND, exp: Date.UTC(2030, 0, 1) / SECOND + 300, aud: API });
    expect((await request(app).get('/orders').set('Authorization', bearer(token))).body).toEqual({ sub: 'dave' });
    const post = await mintAccessToken(tokenRouter, { clientId: 'web', clientSecret: WEB_SECRET, clientSecretMethod: 'client_secret_post', scope: 'orders:read' });
    expect((await request(app).get('/orders').set('Authorization', bearer(post))).body).toEqual({ sub: 'client:web' });
  });

  it('codeExchange(app, …) redeems at the app\'s token path, for a public client', async () => {
    const tokens = await codeExchange(app, { tokenRouter, tokenPath: '/connect/token', clientId: 'spa', subject: 'erin', scope: 'orders:read', redirectUri: 'https://spa.example.test/callback' });
    expect((await request(app).get('/orders').set('Authorization', bearer(tokens.access_token))).body).toEqual({ sub: 'erin' });
  });

  it('says what the token endpoint refused: a wrong secret (invalid_client), a missing secret, a scope outside the client\'s', async () => {
    await expect(mintAccessToken(tokenRouter, { clientId: 'web', clientSecret: 'wrong', scope: 'orders:read' })).rejects.toThrow(/^mintAccessToken: POST \/token answered 401 invalid_client/);
    await expect(mintAccessToken(tokenRouter, { clientId: 'web', scope: 'orders:read' })).rejects.toThrow(/answered 401 invalid_client/);
    await expect(mintAccessToken(tokenRouter, { clientId: 'web', clientSecret: WEB_SECRET, scope: 'admin' })).rejects.toThrow(/answered 400 invalid_scope/);
    await expect(mintAccessToken(tokenRouter, { clientId: 'spa', subject: 'x', scope: 'admin', redirectUri: 'https://spa.example.test/callback' })).rejects.toThrow(/issueAuthorizationCode refused the code: invalid_scope/);
    await expect(mintAccessToken(tokenRouter, { clientId: 'spa', subject: 'x', scope: 'orders:read', redirectUri: 'https://elsewhere.example.test/' })).rejects.toThrow(/invalid_request: The redirect_uri is not registered/);
  });

  it('says where the token endpoint was not: codeExchange at a path the app does not serve', async () => {
    await expect(codeExchange(app, { tokenRouter, clientId: 'spa', subject: 'x', scope: 'orders:read', redirectUri: 'https://spa.example.test/callback' }))
      .rejects.toThrow(/^codeExchange: POST \/token answered 404, not a token response \(is the token endpoint at \/token\? tokenPath is your mount path/);
  });

  it('refuses bad input with a TypeError before any request', async () => {
    const base = { clientId: 'web', clientSecret: WEB_SECRET };
    const cases: Array<[string, Promise<unknown>, RegExp]> = [
      ['router', mintAccessToken({} as TokenRouter, base), /needs the router createTokenRouter/],
      ['clientId', mintAccessToken(tokenRouter, { clientId: '' }), /clientId must be a non-empty string/],
      ['subject', mintAccessToken(tokenRouter, { ...base, subject: '' }), /subject must be a non-empty string/],
      ['scope', mintAccessToken(tokenRouter, { ...base, scope: 7 as unknown as string }), /scope must be a space-separated string or an array of strings/],
      ['secret', mintAccessToken(tokenRouter, { ...base, clientSecret: '' }), /clientSecret must be a non-empty string/],
      ['method', mintAccessToken(tokenRouter, { ...base, clientSecretMethod: 'basic' as 'client_secret_basic' }), /clientSecretMethod must be/],
      ['headers', mintAccessToken(tokenRouter, { ...base, headers: { dpop: 1 as unknown as string } }), /headers must be an object of strings/],
      ['redirectUri', mintAccessToken(tokenRouter, { ...base, subject: 'x' }), /redirectUri is required for a code/],
      ['app', codeExchange(undefined as unknown as express.Express, { tokenRouter, clientId: 'spa', subject: 'x', redirectUri: 'https://spa.example.test/callback' }), /app must be your Express app/],
      ['codeExchange subject', codeExchange(app, { tokenRouter, clientId: 'spa', redirectUri: 'https://spa.example.test/callback' } as unknown as Parameters<typeof codeExchange>[1]), /subject is required/],
      ['tokenPath', codeExchange(app, { tokenRouter, clientId: 'spa', subject: 'x', redirectUri: 'https://spa.example.test/callback', tokenPath: 'connect/token' }), /tokenPath must be a path starting with "\/"/],
    ];
    for (const [name, promise, message] of cases) {
      const error = await promise.then(() => undefined, (caught: unknown) => caught);
      expect({ name, type: (error as Error)?.constructor?.name, message: (error as Error)?.message }).toEqual({ name, type: 'TypeError', message: expect.stringMatching(message) });
    }
  });
});

describe('the kit refuses what it cannot do, clearly', () => {
  it('an unknown client, a code flow for a client without redirect URIs, a confidential client known only by digests', async () => {
    const kit = createTestTokenRouter({
      clients: [WEB, { client_id: 'svc', client_secret: WEB_SECRET, grant_types: ['client_credentials'], scope: 'orders:read' }, { client_id: 'hashed', client_secrets: [{ sha256: 'x'.repeat(43) }], grant_types: ['client_credentials'], scope: 'orders:read' }],
    });
    await expect(kit.mintAccessToken({ clientId: 'nobody', subject: 'x' })).rejects.toThrow('kit.mintAccessToken: no client "nobody" among the clients of createTestTokenRouter (web, svc, hashed).');
    await expect(kit.mintAccessToken({ clientId: 'svc', subject: 'x' })).rejects.toThrow('kit.mintAccessToken: client "svc" registers no redirect_uris; the code flow needs one.');
    await expect(kit.mintAccessToken({ clientId: 'hashed' })).rejects.toThrow('kit.mintAccessToken: client "hashed" has no plaintext secret in its definition (only digests); pass clientSecret.');
    await expect(kit.codeExchange({ clientId: 'web', subject: 'x', app: 'app' as unknown as express.Express })).rejects.toThrow(/app must be your Express app/);
    // A public client asking for client_credentials: the router's own answer.
    await expect(createTestTokenRouter({ clients: [SPA] }).mintAccessToken({ clientId: 'spa' })).rejects.toThrow(/answered 40\d (unauthorized_client|invalid_client)/);
    kit.close();
  });

  it('options it cannot honour: another storage, a clock that is not a TestClock, clients that are not definitions', () => {
    expect(() => createTestTokenRouter({ storage: createMemoryStorage() } as never)).toThrow(/makes its own memory storage/);
    expect(() => createTestTokenRouter({ clock: Date.now as never })).toThrow(/clock must be a TestClock from createTestClock/);
    expect(() => createTestTokenRouter({ clients: 'web' as never })).toThrow(/clients must be an array of client definitions/);
    expect(() => createTestTokenRouter({ clients: [{ client_id: '' }] })).toThrow(ConfigurationError);
    expect(() => createTestTokenRouter({ issuer: 'not a url' })).toThrow(ConfigurationError);
  });
});

describe('createTestClock', () => {
  it('stands at a whole second of now by default and moves only when told', () => {
    const before = Date.now();
    const clock = createTestClock();
    expect(clock() % SECOND).toBe(0);
    expect(clock()).toBeGreaterThan(before - SECOND);
    expect(clock()).toBeLessThanOrEqual(Date.now());
    const start = clock();
    expect(clock.now()).toBe(start);
    expect(clock.advance(1500)).toBe(start + 1500);
    expect(clock()).toBe(start + 1500);
    clock.set(new Date(Date.UTC(2030, 0, 1)));
    expect(clock()).toBe(Date.UTC(2030, 0, 1));
    clock.set(0);
    expect(clock.now()).toBe(0);
    expect(createTestClock(new Date(5000))()).toBe(5000);
  });

  it('refuses times that are not milliseconds since the epoch, and going back with advance', () => {
    const clock = createTestClock(1000);
    expect(() => clock.advance(-1)).toThrow(new RangeError('clock.advance(ms) needs a non-negative finite number of milliseconds (got -1); use clock.set(time) to go back.'));
    expect(() => clock.advance(Number.NaN)).toThrow(RangeError);
    expect(() => clock.set(new Date('nonsense'))).toThrow('clock.set(time) needs milliseconds since the epoch or a valid Date (got an invalid Date).');
    expect(() => createTestClock('2030-01-01' as never)).toThrow('createTestClock(start) needs milliseconds since the epoch or a valid Date (got string).');
    expect(() => createTestClock(-1)).toThrow(RangeError);
    expect(() => clock.advance(Infinity)).toThrow(RangeError);
    expect(clock()).toBe(1000);
  });
});

describe('the test key is refused in production', () => {
  const options = () => ({ issuer: 'https://id.example.test', clients: createMemoryClientRegistry([SPA]), storage: createMemoryStorage() });

  /** What `create` throws with NODE_ENV=production. */
  const inProduction = (create: () => unknown) => withNodeEnv('production', () => {
    try {
      create();
      return undefined;
    } catch (caught) {
      return caught;
    }
  });

  it('createTokenRouter throws a ConfigurationError naming the key when NODE_ENV=production', async () => {
    const error = await inProduction(() => createTokenRouter({ ...options(), signingKeys: [testSigningKey()] }));
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as ConfigurationError).problems).toEqual(['signingKeys[0].privateKey is the published test key of express-token-endpoint/testing (testSigningKey()): anyone can sign tokens with it, so it is refused when NODE_ENV=production. Use a key of your own.']);
  });

  it('createTestTokenRouter refuses to run when NODE_ENV=production, even with a key of your own', async () => {
    const { privateKey } = keyPair('ec', { namedCurve: 'prime256v1' });
    for (const create of [() => createTestTokenRouter(), () => createTestTokenRouter({ signingKeys: [{ kid: 'own', alg: 'ES256', privateKey }], logger: QUIET })]) {
      const error = await inProduction(create);
      expect(error).toBeInstanceOf(ConfigurationError);
      expect((error as ConfigurationError).message).toMatch(/createTestTokenRouter is for tests .* refused when NODE_ENV=production/);
    }
  });

  it('setSigningKeys refuses to switch to it in production; another key is accepted there', async () => {
    const { privateKey } = keyPair('ec', { namedCurve: 'prime256v1' });
    const router = await withNodeEnv('production', () => createTokenRouter({ ...options(), signingKeys: [{ kid: 'own', alg: 'ES256', privateKey }], logger: QUIET }));
    await withNodeEnv('production', () => {
      expect(() => router.setSigningKeys([{ kid: 'own', alg: 'ES256', privateKey, status: 'retiring' }, { ...testSigningKey(), status: 'active' }])).toThrow(/published test key/);
    });
    expect(router.jwks().keys.map((key) => key.kid)).toEqual(['own']);
  });

  it('the standalone requireAccessToken refuses a JWKS holding it in production, and accepts it otherwise', async () => {
    const kit = createTestTokenRouter();
    const jwks = kit.tokenRouter.jwks();
    await withNodeEnv('production', () => {
      expect(() => requireAccessToken({ issuer: kit.issuer, jwks, audience: kit.audience })).toThrow(/requireAccessToken\(options\)\.jwks\.keys\[0\] is the published test key/);
    });
    await withNodeEnv('test', () => {
      expect(typeof requireAccessToken({ issuer: kit.issuer, jwks, audience: kit.audience })).toBe('function');
    });
    kit.close();
  });
});
