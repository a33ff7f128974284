// spec/token-service/revocation.spec.ts
// RFC 7009 token revocation through HTTP: refresh tokens revoke their grant, access tokens go on
// the revocation list, other clients' tokens are refused, invalid tokens are 200 (§2.2).

import jwt from 'jsonwebtoken';
import request from 'supertest';
import { ConfigurationError, createMemoryClientRegistry, createMemoryStorage, createTokenRouter, revocation, type StorageAdapter } from '../../lib';
import { decodeJwt, ISSUER } from '../helpers/create-app';
import { rsaKey, keyPair } from '../helpers/keys';
import { withLatency } from '../helpers/latency-storage';
import { refresh, RT_MOBILE, RT_WEB, RT_WEB_B, startGrant } from '../helpers/refresh-flow';
import { createServiceApp, introspect, post, revoke } from './helpers';

describe('revocation endpoint: refresh tokens (RFC 7009 §2.1)', () => {
  it('revokes the whole grant: 200 with an empty body and no-store; the family, its access tokens and the token itself stop working', async () => {
    const harness = createServiceApp();
    const { app, events } = harness;
    const grant = await startGrant(harness, RT_WEB);
    const rotated = await refresh(app, grant.refreshToken);
    expect(rotated.status).toBe(200);
    events.length = 0;

    const res = await revoke(app, rotated.body.refresh_token, RT_WEB, 'refresh_token');
    expect(res.status).toBe(200);
    expect(res.text).toBe('');
    expect(res.headers['cache-control']).toBe('no-store');
    const reported = [...events];

    expect((await refresh(app, rotated.body.refresh_token)).body.error).toBe('invalid_grant');
    // Every access token of the grant, old and new, reads inactive.
    expect((await introspect(app, grant.body.access_token)).body).toEqual({ active: false });
    expect((await introspect(app, rotated.body.access_token)).body).toEqual({ active: false });
    expect(reported).toEqual([
      { type: 'token.revoked', at: expect.any(Number), clientId: 'rt-web', tokenType: 'refresh_token', grantId: grant.grantId },
      { type: 'grant.revoked', at: expect.any(Number), clientId: 'rt-web', grantId: grant.grantId, reason: 'revocation_request' },
    ]);
  });

  it('an already-rotated token of the family still revokes the grant (its live successor stops working)', async () => {
    const harness = createServiceApp();
    const grant = await startGrant(harness, RT_WEB);
    const rotated = await refresh(harness.app, grant.refreshToken);
    expect((await revoke(harness.app, grant.refreshToken, RT_WEB)).status).toBe(200);
    expect((await refresh(harness.app, rotated.body.refresh_token)).body.error).toBe('invalid_grant');
  });

  it('a public client revokes its own refresh token with client_id only', async () => {
    const harness = createServiceApp();
    const grant = await startGrant(harness, RT_MOBILE);
    const res = await revoke(harness.app, grant.refreshToken, RT_MOBILE);
    expect(res.status).toBe(200);
    expect((await refresh(harness.app, grant.refreshToken, RT_MOBILE)).body.error).toBe('invalid_grant');
  });

  it('a second revocation of the same token is 200 and reports nothing more', async () => {
    const harness = createServiceApp();
    const grant = await startGrant(harness, RT_WEB);
    await revoke(harness.app, grant.refreshToken, RT_WEB);
    harness.events.length = 0;
    expect((await revoke(harness.app, grant.refreshToken, RT_WEB)).status).toBe(200);
    expect(harness.events).toEqual([]);
  });

  it('refuses another client\'s refresh token with 400 unauthorized_client and revokes nothing', async () => {
    const harness = createServiceApp();
    const grant = await startGrant(harness, RT_WEB);
    harness.events.length = 0;
    const res = await revoke(harness.app, grant.refreshToken, RT_WEB_B);
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ error: 'unauthorized_client', error_description: 'The token was not issued to this client.' });
    expect(harness.events.filter((event) => event.type === 'token.revoked' || event.type === 'grant.revoked')).toEqual([]);
    expect((await refresh(harness.app, grant.refreshToken)).status).toBe(200);
  });
});

describe('revocation endpoint: access tokens', () => {
  it('puts the jti on the revocation list: introspection says inactive, the grant (refresh) keeps working', async () => {
    const harness = createServiceApp();
    const { app, events } = harness;
    const grant = await startGrant(harness, RT_WEB);
    const jti = decodeJwt(grant.body.access_token).payload.jti;
    expect((await introspect(app, grant.body.access_token)).body.active).toBe(true);
    events.length = 0;
    const res = await revoke(app, grant.body.access_token, RT_WEB, 'access_token');
    expect(res.status).toBe(200);
    expect((await introspect(app, grant.body.access_token)).body).toEqual({ active: false });
    expect(await harness.storage.isAccessTokenRevoked(String(jti))).toBe(true);
    expect(events).toEqual([{ type: 'token.revoked', at: expect.any(Number), clientId: 'rt-web', tokenType: 'access_token', jti, grantId: grant.grantId }]);
    const next = await refresh(app, grant.refreshToken);
    expect(next.status).toBe(200);
    expect((await introspect(app, next.body.access_token)).body.active).toBe(true);
  });

  it('keeps the entry until the token expires (the revocation list is bounded by exp)', async () => {
    const stored: Array<{ jti: string; expiresAt: number }> = [];
    const harness = createServiceApp((clock) => {
      const base = createMemoryStorage({ clock });
      return { storage: { ...base, revokeAccessToken: async (jti: string, expiresAt: number) => { stored.push({ jti, expiresAt }); return base.revokeAccessToken(jti, expiresAt); } } as unknown as StorageAdapter };
    });
    const grant = await startGrant(harness, RT_WEB);
    await revoke(harness.app, grant.body.access_token, RT_WEB);
    const { jti, exp } = decodeJwt(grant.body.access_token).payload;
    expect(stored).toEqual([{ jti, expiresAt: Number(exp) * 1000 }]);
  });

  it('a wrong token_type_hint is ignored (§2.1): an access token sent as refresh_token is revoked', async () => {
    const harness = createServiceApp();
    const grant = await startGrant(harness, RT_WEB);
    expect((await revoke(harness.app, grant.body.access_token, RT_WEB, 'refresh_token')).status).toBe(200);
    expect((await introspect(harness.app, grant.body.access_token)).body.active).toBe(false);
    expect((await revoke(harness.app, grant.refreshToken, RT_WEB, 'id_token')).status).toBe(200);
    expect((await refresh(harness.app, grant.refreshToken)).body.error).toBe('invalid_grant');
  });

  it('refuses another client\'s access token with 400 unauthorized_client and keeps it active', async () => {
    const harness = createServiceApp();
    const grant = await startGrant(harness, RT_WEB);
    const res = await revoke(harness.app, grant.body.access_token, RT_WEB_B);
    expect(res.status).toBe(400);
    expect(res.body.error).toBe('unauthorized_client');
    expect((await introspect(harness.app, grant.body.access_token)).body.active).toBe(true);
  });
});

describe('revocation endpoint: invalid tokens are 200 (§2.2), request errors are RFC errors', () => {
  const harness = createServiceApp();
  const { app } = harness;

  it.each([
    ['an unknown refresh-token-shaped value', 'x'.repeat(43)],
    ['garbage', 'not a token at all'],
    ['a JWT signed by another key', jwt.sign({ jti: 'j', client_id: 'rt-web', sub: 's', iat: 1, exp: 4102444800 }, keyPair('rsa', { modulusLength: 2048 }).privateKey, { algorithm: 'RS256', keyid: 'test-key', header: { typ: 'at+jwt', alg: 'RS256' }, issuer: ISSUER })],
    ['an unsigned JWT (alg none)', `${Buffer.from('{"alg":"none","typ":"at+jwt","kid":"test-key"}').toString('base64url')}.${Buffer.from('{"jti":"j","client_id":"rt-web","sub":"s","iat":1,"exp":4102444800}').toString('base64url')}.`],
  ])('%s → 200 and nothing revoked', async (_what, token) => {
    harness.events.length = 0;
    const res = await revoke(app, token, RT_WEB);
    expect(res.status).toBe(200);
    expect(harness.events.filter((event) => event.type === 'token.revoked')).toEqual([]);
  });

  it('one of our ID tokens is 400 unsupported_token_type (RFC 7009 §2.2.1): nothing revokes it', async () => {
    const grant = await startGrant(harness, RT_WEB);
    const res = await revoke(app, grant.body.id_token ?? '', RT_WEB, 'id_token');
    expect(res.status).toBe(400);
    expect(res.body.error).toBe('unsupported_token_type');
    expect((await refresh(app, grant.refreshToken)).status).toBe(200);
  });

  it('an expired access token → 200, nothing stored', async () => {
    const local = createServiceApp();
    const grant = await startGrant(local, RT_WEB);
    local.clock.advance(2 * 3600 * 1000);
    local.events.length = 0;
    expect((await revoke(local.app, grant.body.access_token, RT_WEB)).status).toBe(200);
    expect(local.events).toEqual([]);
    expect(await local.storage.isAccessTokenRevoked(String(decodeJwt(grant.body.access_token).payload.jti))).toBe(false);
  });

  it('a scope parameter is not one of the endpoint\'s and is ignored, malformed or too long (RFC 6749 §3.2; found by the fuzzing)', async () => {
    for (const scope of ['openid "api:read"', `api:read ${'x'.repeat(2048)}`]) {
      const grant = await startGrant(harness, RT_WEB);
      const res = await post(app, 'revocation', { token: grant.refreshToken, scope }, RT_WEB);
      expect(res.status).toBe(200);
      expect((await refresh(app, grant.refreshToken)).body.error).toBe('invalid_grant');
      const other = await startGrant(harness, RT_WEB);
      expect((await introspect(app, other.body.access_token, undefined, undefined, { scope })).body.active).toBe(true);
    }
  });

  it('a missing token is 400 invalid_request naming the parameter', async () => {
    const res = await post(app, 'revocation', {}, RT_WEB);
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ error: 'invalid_request', error_description: expect.stringContaining('token') });
  });

  it('a token longer than 8192 characters is 400 invalid_request without echoing it', async () => {
    const res = await revoke(app, 'A'.repeat(8193), RT_WEB);
    expect(res.status).toBe(400);
    expect(res.body.error).toBe('invalid_request');
    expect(JSON.stringify(res.body)).not.toContain('AAAA');
  });

  it('a wrong secret is 401 invalid_client with WWW-Authenticate', async () => {
    const res = await revoke(app, 'x', { id: 'rt-web', secret: 'wrong' });
    expect(res.status).toBe(401);
    expect(res.body.error).toBe('invalid_client');
    expect(res.headers['www-authenticate']).toMatch(/^Basic/);
  });

  it('the token in the URL query is refused; GET is 405; a repeated token parameter is 400', async () => {
    const grant = await startGrant(harness, RT_WEB);
    const query = await request(app).post(`/connect/revocation?token=${grant.refreshToken}`).set('Authorization', 'Basic ' + Buffer.from('rt-web:service-secret-0123456789abcdef').toString('base64')).type('form').send('');
    expect(query.status).toBe(400);
    expect(query.body.error).toBe('invalid_request');
    const get = await request(app).get('/connect/revocation');
    expect(get.status).toBe(405);
    expect(get.headers.allow).toBe('POST');
    const repeated = await request(app).post('/connect/revocation').set('Authorization', 'Basic ' + Buffer.from('rt-web:service-secret-0123456789abcdef').toString('base64')).type('form').send(`token=${grant.refreshToken}&token=x`);
    expect(repeated.status).toBe(400);
    expect(repeated.body.error).toBe('invalid_request');
    expect((await refresh(app, grant.refreshToken)).status).toBe(200);
  });
});

describe('revocation racing a refresh (storage with latency)', () => {
  it('whatever the order, no refresh token of the family works afterwards', async () => {
    for (let round = 0; round < 10; round += 1) {
      const harness = createServiceApp((clock) => ({ storage: withLatency(createMemoryStorage({ clock }), () => 1 + Math.random() * 4) }));
      const grant = await startGrant(harness, RT_WEB);
      const [refreshed, revoked] = await Promise.all([refresh(harness.app, grant.refreshToken), revoke(harness.app, grant.refreshToken, RT_WEB)]);
      expect(revoked.status).toBe(200);
      if (refreshed.status === 200) {
        expect((await refresh(harness.app, refreshed.body.refresh_token)).body.error).toBe('invalid_grant');
        expect((await introspect(harness.app, refreshed.body.access_token)).body).toEqual({ active: false });
      } else {
        expect(refreshed.body.error).toBe('invalid_grant');
      }
      expect((await refresh(harness.app, grant.refreshToken)).body.error).toBe('invalid_grant');
    }
  });
});

describe('revocation: setup and discovery', () => {
  const base = {
    issuer: ISSUER,
    signingKeys: [{ kid: 'k', privateKey: rsaKey().privateKey }],
    clients: createMemoryClientRegistry([]),
  };

  it('advertises revocation_endpoint (next to the token endpoint) and its auth methods only when enabled', async () => {
    const on = createTokenRouter({ ...base, storage: createMemoryStorage(), endpoints: [revocation()] });
    expect(on.metadata()).toMatchObject({ revocation_endpoint: `${ISSUER}/connect/revocation`, revocation_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'none', 'private_key_jwt', 'client_secret_jwt'] });
    const moved = createTokenRouter({ ...base, storage: createMemoryStorage(), endpoints: [revocation()], discovery: { tokenEndpoint: 'https://id.example.test/oauth2/token' } });
    expect(moved.metadata().revocation_endpoint).toBe('https://id.example.test/oauth2/revocation');
    const own = createTokenRouter({ ...base, storage: createMemoryStorage(), endpoints: [revocation({ endpointUrl: 'https://id.example.test/logout/revoke' })] });
    expect(own.metadata().revocation_endpoint).toBe('https://id.example.test/logout/revoke');
    const off = createTokenRouter({ ...base, storage: createMemoryStorage() });
    expect(off.metadata()).not.toHaveProperty('revocation_endpoint');
    expect(off.metadata()).not.toHaveProperty('revocation_endpoint_auth_methods_supported');
  });

  it('refuses a storage without the revocation-list methods, unknown options and a duplicate plug-in at startup', () => {
    const { revokeAccessToken: _a, isAccessTokenRevoked: _b, ...partial } = createMemoryStorage();
    expect(() => createTokenRouter({ ...base, storage: partial, endpoints: [revocation()] })).toThrow(ConfigurationError);
    try {
      createTokenRouter({ ...base, storage: partial, endpoints: [revocation({ endpointUrl: 'http://evil.example/x', extra: 1 } as never), revocation()] });
    } catch (error) {
      const problems = (error as ConfigurationError).problems.join('\n');
      expect(problems).toContain('endpoints[0] (revocation): needs storage.revokeAccessToken()');
      expect(problems).toContain('endpoints[0] (revocation): needs storage.isAccessTokenRevoked()');
      expect(problems).toContain('Unknown option "revocation(options).extra"');
      expect(problems).toContain('revocation(options).endpointUrl must use https');
      expect(problems).toContain('endpoints[1] (revocation): the plug-in revocation is already in endpoints');
      return;
    }
    throw new Error('createTokenRouter accepted the options');
  });
});
