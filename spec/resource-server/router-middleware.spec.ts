// spec/resource-server/router-middleware.spec.ts
// tokenRouter.requireAccessToken through HTTP (supertest): a protected route of the app that serves
// the token endpoint accepts the router's own access tokens and answers every failure as RFC 6750
// says (status, WWW-Authenticate, JSON body), with the verified token on the request.
import type { AddressInfo } from 'node:net';
import express from 'express';
import request from 'supertest';
import { accessTokenOf, ConfigurationError, createMemoryStorage, defineEndpointPlugin, type StorageAdapter } from '../../lib';
import { basic, decodeJwt, ISSUER, SERVICE_SECRET, type CodeTestApp } from '../helpers/create-app';
import { keyPair, rsaKey } from '../helpers/keys';
import { refresh, RT_WEB, startGrant } from '../helpers/refresh-flow';
import { createServiceApp, revoke, RS } from '../token-service/helpers';
import { accessClaims, challengeOf, getRaw, INVALID_TOKEN_DESCRIPTION, protect, signToken } from './helpers';

const INVALID = challengeOf(ISSUER, 'invalid_token', INVALID_TOKEN_DESCRIPTION);
const SECOND = 1000;

/** A client_credentials token of the `rs` client (scope api:read, aud = the issuer). */
async function serviceToken(harness: CodeTestApp, scope = 'api:read'): Promise<string> {
  const res = await request(harness.app).post('/connect/token').set('Authorization', basic(RS.id, SERVICE_SECRET)).type('form').send(`grant_type=client_credentials&scope=${encodeURIComponent(scope)}`);
  expect(res.status).toBe(200);
  return res.body.access_token as string;
}

/** The service app with `GET /api` (aud = issuer, scope api:read) and `GET /api/write` (api:read api:write). */
function protectedApp(overrides: Parameters<typeof createServiceApp>[0] = {}): CodeTestApp & { errors: unknown[] } {
  const harness = createServiceApp(overrides);
  const errors: unknown[] = [];
  protect(harness.app, '/api/write', harness.tokenRouter.requireAccessToken({ audience: ISSUER, scope: ['api:read', 'api:write'] }), errors);
  protect(harness.app, '/api', harness.tokenRouter.requireAccessToken({ audience: ISSUER, scope: 'api:read' }), errors);
  return { ...harness, errors };
}

const bearer = (token: string) => `Bearer ${token}`;

describe('tokenRouter.requireAccessToken: valid tokens', () => {
  it('lets a valid token through and puts the verified token on the request (accessTokenOf)', async () => {
    const harness = protectedApp();
    const token = await serviceToken(harness);
    const res = await request(harness.app).get('/api').set('Authorization', bearer(token));
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ scheme: 'Bearer', tokenLength: token.length, sub: 'client:rs', client_id: 'rs', scopes: ['api:read'] });
  });

  it('a user token of a grant, with the scheme name in any case and several spaces', async () => {
    const harness = protectedApp();
    const grant = await startGrant(harness, RT_WEB);
    for (const header of [`Bearer ${grant.body.access_token}`, `bearer ${grant.body.access_token}`, `BEARER   ${grant.body.access_token}`]) {
      const res = await request(harness.app).get('/api/write').set('Authorization', header);
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ sub: 'user-1', client_id: 'rt-web', scopes: ['openid', 'offline_access', 'api:read', 'api:write'] });
    }
  });

  it('reads the array form of the scope claim (accessToken.scopeClaim: "array")', async () => {
    const harness = protectedApp({ accessToken: { scopeClaim: 'array' } });
    const grant = await startGrant(harness, RT_WEB);
    expect(Array.isArray(decodeJwt(grant.body.access_token).payload.scope)).toBe(true);
    const res = await request(harness.app).get('/api/write').set('Authorization', bearer(grant.body.access_token));
    expect(res.status).toBe(200);
    expect(res.body.scopes).toEqual(['openid', 'offline_access', 'api:read', 'api:write']);
  });

  it('audience: one of several configured, against a token whose aud is an array', async () => {
    const harness = createServiceApp({ accessToken: { audience: ['https://orders.example.test', 'https://billing.example.test'] } });
    protect(harness.app, '/billing', harness.tokenRouter.requireAccessToken({ audience: ['https://billing.example.test', 'https://other.example.test'] }));
    protect(harness.app, '/mail', harness.tokenRouter.requireAccessToken({ audience: 'https://mail.example.test' }));
    const token = await serviceToken(harness);
    expect((await request(harness.app).get('/billing').set('Authorization', bearer(token))).status).toBe(200);
    const wrong = await request(harness.app).get('/mail').set('Authorization', bearer(token));
    expect(wrong.status).toBe(401);
    expect(wrong.headers['www-authenticate']).toBe(challengeOf('https://mail.example.test', 'invalid_token', INVALID_TOKEN_DESCRIPTION));
  });
});

describe('tokenRouter.requireAccessToken: RFC 6750 answers', () => {
  const harness = protectedApp();
  let token: string;
  beforeAll(async () => {
    token = await serviceToken(harness);
  });

  it('no credentials: 401 with a bare challenge (no error code, no body), §3.1', async () => {
    // (`DPoP …` is a scheme the router accepts: see spec/dpop/resource-server-dpop.spec.ts.)
    for (const header of [undefined, 'Basic cnM6c2VjcmV0', token]) {
      const req = request(harness.app).get('/api');
      const res = await (header === undefined ? req : req.set('Authorization', header));
      expect(res.status).toBe(401);
      // Both schemes the router accepts (RFC 6750 §3.1, RFC 9449 §7.1: DPoP names its algorithms).
      expect(res.headers['www-authenticate']).toBe(`Bearer realm="${ISSUER}", DPoP realm="${ISSUER}", algs="ES256 ES384 ES512 RS256 RS384 RS512 PS256 PS384 PS512"`);
      expect(res.headers['cache-control']).toBe('no-store');
      expect(res.text).toBe('');
    }
  });

  it('a malformed Authorization header: 400 invalid_request, with the challenge and a JSON body', async () => {
    for (const header of ['Bearer', 'Bearer ', `Bearer ${token} extra`, 'Bearer a"b', `Bearer\t${token}`]) {
      const res = await request(harness.app).get('/api').set('Authorization', header);
      expect(res.status).toBe(400);
      const description = 'The Authorization header is not "Bearer" followed by an access token.';
      expect(res.headers['www-authenticate']).toBe(challengeOf(ISSUER, 'invalid_request', description));
      expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
      expect(res.headers['cache-control']).toBe('no-store');
      expect(res.body).toEqual({ error: 'invalid_request', error_description: description });
    }
  });

  it('a token in the query or in a parsed body: 400 invalid_request (header only), also next to a header', async () => {
    const bodyApp = express();
    bodyApp.use(express.json());
    protect(bodyApp, '/api', harness.tokenRouter.requireAccessToken({ audience: ISSUER }));
    const elsewhere = 'Send the access token in the Authorization header; the query and the body are not accepted.';
    const twice = 'The request carries an access token in more than one place.';
    const cases: Array<[request.Test, string]> = [
      [request(harness.app).get(`/api?access_token=${token}`), elsewhere],
      [request(harness.app).get(`/api?x=1&access_token=`), elsewhere],
      [request(harness.app).get(`/api?access_token=${token}`).set('Authorization', bearer(token)), twice],
      [request(bodyApp).get('/api').send({ access_token: token }), elsewhere],
      [request(bodyApp).get('/api').set('Authorization', bearer(token)).send({ access_token: token }), twice],
    ];
    for (const [req, description] of cases) {
      const res = await req;
      expect(res.status).toBe(400);
      expect(res.headers['www-authenticate']).toBe(challengeOf(ISSUER, 'invalid_request', description));
      expect(res.body).toEqual({ error: 'invalid_request', error_description: description });
    }
    // A body without access_token is none of the middleware's business.
    expect((await request(bodyApp).get('/api').set('Authorization', bearer(token)).send({ other: 1 })).status).toBe(200);
  });

  it('several Authorization headers: 400 invalid_request, whichever comes first', async () => {
    const server = harness.app.listen(0, '127.0.0.1');
    await new Promise<void>((resolve) => server.once('listening', () => resolve()));
    try {
      const { port } = server.address() as AddressInfo;
      expect((await getRaw(port, '/api', [['Authorization', bearer(token)]])).status).toBe(200);
      const res = await getRaw(port, '/api', [['Authorization', bearer(token)], ['authorization', 'Bearer forged']]);
      expect(res.status).toBe(400);
      expect(JSON.parse(res.body)).toEqual({ error: 'invalid_request', error_description: 'The request has more than one Authorization header.' });
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it('a forged, truncated, garbage or oversized token: 401 invalid_token with one fixed description', async () => {
    const [h, p, s] = token.split('.');
    const forgedPayload = Buffer.from(JSON.stringify({ ...decodeJwt(token).payload, scope: 'api:read api:write' })).toString('base64url');
    for (const candidate of [`${h}.${forgedPayload}.${s}`, `${h}.${p}`, `${h}.${p}.${s.slice(0, -4)}AAAA`, 'not-a-jwt', `${h}.${p}.${s}${'A'.repeat(8200)}`]) {
      const res = await request(harness.app).get('/api').set('Authorization', bearer(candidate));
      expect(res.status).toBe(401);
      expect(res.headers['www-authenticate']).toBe(INVALID);
      expect(res.body).toEqual({ error: 'invalid_token', error_description: INVALID_TOKEN_DESCRIPTION });
    }
  });

  it('a missing scope: 403 insufficient_scope naming every scope the route requires', async () => {
    const res = await request(harness.app).get('/api/write').set('Authorization', bearer(token));
    expect(res.status).toBe(403);
    const description = 'The access token does not carry the scope this resource requires.';
    expect(res.headers['www-authenticate']).toBe(challengeOf(ISSUER, 'insufficient_scope', description, 'api:read api:write'));
    expect(res.body).toEqual({ error: 'insufficient_scope', error_description: description });
  });

  it('accessTokenOf throws on a route no middleware protected (a bug to surface, not an anonymous request)', async () => {
    const app = express();
    app.get('/open', (req, res) => {
      try {
        accessTokenOf(req);
        res.json({ found: true });
      } catch (error) {
        res.json({ thrown: (error as Error).message });
      }
    });
    expect((await request(app).get('/open').set('Authorization', bearer(token))).body).toEqual({ thrown: expect.stringContaining('put requireAccessToken(...) in front of the route') });
  });
});

describe('tokenRouter.requireAccessToken: tokens that do not pass', () => {
  it('expired: passes within the default 5 s of skew after exp, then 401; clockToleranceSeconds: 0 ends it at exp', async () => {
    const harness = protectedApp();
    protect(harness.app, '/strict', harness.tokenRouter.requireAccessToken({ audience: ISSUER, clockToleranceSeconds: 0 }));
    const token = await serviceToken(harness);
    const ttl = decodeJwt(token).payload.exp as number - (decodeJwt(token).payload.iat as number);
    harness.clock.advance((ttl - 1) * SECOND);
    expect((await request(harness.app).get('/strict').set('Authorization', bearer(token))).status).toBe(200);
    harness.clock.advance(1 * SECOND);
    expect((await request(harness.app).get('/strict').set('Authorization', bearer(token))).status).toBe(401);
    harness.clock.advance(4 * SECOND);
    expect((await request(harness.app).get('/api').set('Authorization', bearer(token))).status).toBe(200);
    harness.clock.advance(1 * SECOND);
    const res = await request(harness.app).get('/api').set('Authorization', bearer(token));
    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toBe(INVALID);
  });

  it('not yet valid (nbf and iat ahead of the clock): passes within the skew, then 401', async () => {
    const harness = protectedApp();
    protect(harness.app, '/lenient', harness.tokenRouter.requireAccessToken({ audience: ISSUER, clockToleranceSeconds: 30 }));
    const token = await serviceToken(harness);
    harness.clock.advance(-5 * SECOND);
    expect((await request(harness.app).get('/api').set('Authorization', bearer(token))).status).toBe(200);
    harness.clock.advance(-1 * SECOND);
    expect((await request(harness.app).get('/api').set('Authorization', bearer(token))).status).toBe(401);
    expect((await request(harness.app).get('/lenient').set('Authorization', bearer(token))).status).toBe(200);
  });

  it('revoked at the revocation endpoint (RFC 7009): 401 invalid_token', async () => {
    const harness = protectedApp();
    const grant = await startGrant(harness, RT_WEB);
    const get = () => request(harness.app).get('/api').set('Authorization', bearer(grant.body.access_token));
    expect((await get()).status).toBe(200);
    expect((await revoke(harness.app, grant.body.access_token, RT_WEB)).status).toBe(200);
    const res = await get();
    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toBe(INVALID);
  });

  it('its grant revoked by a refresh-token reuse: 401 invalid_token', async () => {
    const harness = protectedApp();
    const grant = await startGrant(harness, RT_WEB);
    const rotated = await refresh(harness.app, grant.refreshToken);
    expect(rotated.status).toBe(200);
    expect((await request(harness.app).get('/api').set('Authorization', bearer(rotated.body.access_token))).status).toBe(200);
    // The first refresh token again, after the retry window: reuse, the grant is revoked.
    harness.clock.advance(60 * SECOND);
    expect((await refresh(harness.app, grant.refreshToken)).status).toBe(400);
    for (const token of [grant.body.access_token, rotated.body.access_token]) {
      expect((await request(harness.app).get('/api').set('Authorization', bearer(token))).status).toBe(401);
    }
  });

  it('another issuer, an ID token, HS256 with the public key, alg none, another key under our kid: 401 invalid_token', async () => {
    const harness = protectedApp();
    const grant = await startGrant(harness, RT_WEB, { scope: 'openid offline_access api:read' });
    const idToken = grant.body.id_token ?? '';
    expect(decodeJwt(idToken).header.typ).toBe('JWT');
    const now = harness.clock();
    const claims = accessClaims(ISSUER, ISSUER, now);
    const publicPem = rsaKey().publicKey.export({ format: 'pem', type: 'spki' }).toString();
    const header = Buffer.from(JSON.stringify({ alg: 'none', typ: 'at+jwt', kid: 'test-key' })).toString('base64url');
    const unsigned = `${header}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.`;
    const tokens = {
      control: signToken(claims, rsaKey().privateKey, { kid: 'test-key' }),
      otherIssuer: signToken(accessClaims('https://evil.example.test', ISSUER, now), rsaKey().privateKey, { kid: 'test-key' }),
      idToken,
      jwtTyp: signToken(claims, rsaKey().privateKey, { kid: 'test-key', typ: 'JWT' }),
      noTyp: signToken(claims, rsaKey().privateKey, { kid: 'test-key', typ: '' }),
      hs256: signToken(claims, publicPem, { kid: 'test-key', alg: 'HS256' }),
      none: unsigned,
      otherKey: signToken(claims, keyPair('rsa', { modulusLength: 2048 }).privateKey, { kid: 'test-key' }),
      unknownKid: signToken(claims, rsaKey().privateKey, { kid: 'other-key' }),
      noClientId: signToken({ ...claims, client_id: undefined }, rsaKey().privateKey, { kid: 'test-key' }),
    };
    const statuses: Record<string, number> = {};
    for (const [name, candidate] of Object.entries(tokens)) {
      const res = await request(harness.app).get('/api').set('Authorization', bearer(candidate));
      statuses[name] = res.status;
      if (res.status === 401) expect(res.headers['www-authenticate']).toBe(INVALID);
    }
    expect(statuses).toEqual({ control: 200, otherIssuer: 401, idToken: 401, jwtTyp: 401, noTyp: 401, hs256: 401, none: 401, otherKey: 401, unknownKid: 401, noClientId: 401 });
  });

  it('a sender-constrained token (cnf) presented as a bearer token: 401 invalid_token (RFC 9449 §7.2)', async () => {
    const harness = protectedApp();
    const claims = accessClaims(ISSUER, ISSUER, harness.clock(), { cnf: { jkt: '0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I' } });
    const res = await request(harness.app).get('/api').set('Authorization', bearer(signToken(claims, rsaKey().privateKey, { kid: 'test-key' })));
    expect(res.status).toBe(401);
    const description = 'The access token is bound to a key and cannot be used as a bearer token.';
    expect(res.headers['www-authenticate']).toBe(challengeOf(ISSUER, 'invalid_token', description));
    expect(res.body).toEqual({ error: 'invalid_token', error_description: description });
  });

  it('an iat in the future (beyond the skew) or a malformed scope claim: 401 invalid_token', async () => {
    const harness = protectedApp();
    const now = harness.clock();
    const future = accessClaims(ISSUER, ISSUER, now, { iat: Math.floor(now / 1000) + 60 });
    const oddScope = accessClaims(ISSUER, ISSUER, now, { scope: { read: true } });
    for (const claims of [future, oddScope]) {
      expect((await request(harness.app).get('/api').set('Authorization', bearer(signToken(claims, rsaKey().privateKey, { kid: 'test-key' })))).status).toBe(401);
    }
  });

  it('a token whose key the router no longer publishes: 401', async () => {
    const harness = protectedApp();
    const token = await serviceToken(harness);
    const next = keyPair('rsa', { modulusLength: 2048 }).privateKey;
    harness.tokenRouter.setSigningKeys([{ kid: 'test-key', privateKey: rsaKey().privateKey, status: 'retiring' }, { kid: 'key-2', privateKey: next, status: 'active' }]);
    expect((await request(harness.app).get('/api').set('Authorization', bearer(token))).status).toBe(200);
    harness.tokenRouter.setSigningKeys([{ kid: 'key-2', privateKey: next }]);
    expect((await request(harness.app).get('/api').set('Authorization', bearer(token))).status).toBe(401);
  });
});

describe('tokenRouter.requireAccessToken: failures of the server', () => {
  it('a storage failure in the revocation check goes to next(err) (the host answers 500), never "valid"', async () => {
    let failing = false;
    const harness = protectedApp((clock) => {
      const storage = createMemoryStorage({ clock });
      const check = storage.isAccessTokenRevoked.bind(storage);
      const wrapped: StorageAdapter = Object.assign(Object.create(storage) as StorageAdapter, {
        isAccessTokenRevoked: (jti: string) => (failing ? Promise.reject(new Error('storage down')) : check(jti)),
      });
      return { storage: wrapped };
    });
    const token = await serviceToken(harness);
    expect((await request(harness.app).get('/api').set('Authorization', bearer(token))).status).toBe(200);
    failing = true;
    const res = await request(harness.app).get('/api').set('Authorization', bearer(token));
    expect(res.status).toBe(500);
    expect(res.body).toEqual({ failed: 'storage down' });
    expect(harness.errors).toEqual([expect.objectContaining({ message: 'storage down' })]);
  });
});

describe('tokenRouter.requireAccessToken: options are checked when the middleware is created', () => {
  const harness = createServiceApp();
  const problemsOf = (options: unknown): readonly string[] => {
    try {
      harness.tokenRouter.requireAccessToken(options as Parameters<typeof harness.tokenRouter.requireAccessToken>[0]);
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigurationError);
      expect((error as ConfigurationError).code).toBe('ERR_TOKEN_ROUTER_OPTIONS');
      return (error as ConfigurationError).problems;
    }
    throw new Error('no ConfigurationError');
  };

  it.each<[string, unknown, RegExp]>([
    ['no options', undefined, /must be an object \{ audience/],
    ['no audience', {}, /audience is required/],
    ['an empty audience', { audience: [] }, /audience is required/],
    ['an unknown key', { audience: ISSUER, scopes: 'api:read' }, /Unknown option "requireAccessToken\(options\)\.scopes"/],
    ['a skew over 30 s', { audience: ISSUER, clockToleranceSeconds: 31 }, /clockToleranceSeconds must be at most 30/],
    ['a negative skew', { audience: ISSUER, clockToleranceSeconds: -1 }, /clockToleranceSeconds must be at least 0/],
    ['a fractional skew', { audience: ISSUER, clockToleranceSeconds: 1.5 }, /clockToleranceSeconds must be a whole number/],
    ['an empty scope', { audience: ISSUER, scope: '' }, /scope must be scope tokens/],
    ['a scope with a quote', { audience: ISSUER, scope: ['a"b'] }, /scope must be scope tokens/],
    ['a realm with a quote', { audience: ISSUER, realm: 'a"b' }, /realm must be 1 to 256 printable ASCII/],
    ['an audience unfit as the realm', { audience: 'urn:"api"' }, /first audience cannot serve as the challenge's realm/],
  ])('%s', (_name, options, problem) => {
    expect(problemsOf(options)).toEqual(expect.arrayContaining([expect.stringMatching(problem)]));
  });

  it('a realm of its own is used in every challenge', async () => {
    const app = express();
    protect(app, '/api', harness.tokenRouter.requireAccessToken({ audience: 'urn:"api"', realm: 'orders' }));
    const res = await request(app).get('/api');
    expect(res.headers['www-authenticate']).toBe(`Bearer realm="orders", DPoP realm="orders", algs="ES256 ES384 ES512 RS256 RS384 RS512 PS256 PS384 PS512"`);
  });

  it('no grant or plug-in can contribute a member named requireAccessToken', () => {
    const plugin = defineEndpointPlugin({ name: 'squatter', contribute: () => ({ hostApi: { requireAccessToken: () => undefined } }) });
    expect(() => createServiceApp({ endpoints: [plugin] })).toThrow(/contributes the router member requireAccessToken, which is already taken/);
  });
});
