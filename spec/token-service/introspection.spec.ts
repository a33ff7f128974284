// spec/token-service/introspection.spec.ts
// RFC 7662 token introspection through HTTP: who may introspect (default deny), the §2.2 members
// for our access and refresh tokens, and `{ active: false }` for everything else, without a reason.

import jwt from 'jsonwebtoken';
import request from 'supertest';
import { ConfigurationError, createMemoryClientRegistry, createMemoryStorage, createTokenRouter, introspection, type IntrospectionAuthorizationContext } from '../../lib';
import { decodeJwt, ISSUER } from '../helpers/create-app';
import { rsaKey, keyPair } from '../helpers/keys';
import { refresh, RT_MOBILE, RT_PAIRWISE, RT_WEB, startGrant } from '../helpers/refresh-flow';
import { createServiceApp, introspect, post, RS, RS_PLAIN } from './helpers';

describe('introspection: access tokens', () => {
  it('answers active with the RFC 7662 §2.2 members of one of our access tokens', async () => {
    const harness = createServiceApp();
    const grant = await startGrant(harness, RT_WEB, { acr: 'urn:loa:2', amr: ['pwd'], authTime: 1_767_225_000 });
    const { payload } = decodeJwt(grant.body.access_token);
    const res = await introspect(harness.app, grant.body.access_token);
    expect(res.status).toBe(200);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.body).toEqual({
      active: true,
      scope: 'openid offline_access api:read api:write',
      client_id: 'rt-web',
      sub: payload.sub,
      exp: payload.exp,
      iat: payload.iat,
      nbf: payload.nbf,
      aud: payload.aud,
      iss: ISSUER,
      jti: payload.jti,
      token_type: 'Bearer',
      auth_time: 1_767_225_000,
      acr: 'urn:loa:2',
      amr: ['pwd'],
    });
  });

  it('scope is a space-separated string even when access tokens carry it as an array', async () => {
    const harness = createServiceApp({ accessToken: { scopeClaim: 'array' } });
    const grant = await startGrant(harness, RT_WEB);
    expect(decodeJwt(grant.body.access_token).payload.scope).toEqual(['openid', 'offline_access', 'api:read', 'api:write']);
    expect((await introspect(harness.app, grant.body.access_token)).body.scope).toBe('openid offline_access api:read api:write');
  });

  it('inactive once expired (router clock), when its grant was revoked by a refresh-token reuse, and for an ID token', async () => {
    const harness = createServiceApp();
    const grant = await startGrant(harness, RT_WEB);
    expect((await introspect(harness.app, grant.body.id_token ?? '')).body).toEqual({ active: false });
    const rotated = await refresh(harness.app, grant.refreshToken);
    expect((await introspect(harness.app, rotated.body.access_token)).body.active).toBe(true);
    // Reuse of the rotated token revokes the grant: its access tokens go with it.
    harness.clock.advance(120_000);
    expect((await refresh(harness.app, grant.refreshToken)).body.error).toBe('invalid_grant');
    expect((await introspect(harness.app, rotated.body.access_token)).body).toEqual({ active: false });

    const fresh = await startGrant(harness, RT_WEB);
    harness.clock.advance(3600 * 1000);
    expect((await introspect(harness.app, fresh.body.access_token)).body).toEqual({ active: false });
  });

  it.each([
    ['garbage', 'garbage'],
    ['a JWT signed by a key we do not publish', jwt.sign({ jti: 'j', client_id: 'rt-web', sub: 's' }, keyPair('rsa', { modulusLength: 2048 }).privateKey, { algorithm: 'RS256', keyid: 'test-key', header: { typ: 'at+jwt', alg: 'RS256' }, issuer: ISSUER, expiresIn: 3600 })],
    ['an HS256 JWT naming our kid (only the key\'s own alg is accepted)', jwt.sign({ jti: 'j', client_id: 'rt-web', sub: 's' }, 'public-key-as-secret', { algorithm: 'HS256', keyid: 'test-key', header: { typ: 'at+jwt', alg: 'HS256' }, issuer: ISSUER, expiresIn: 3600 })],
  ])('%s → { active: false }', async (_what, token) => {
    const harness = createServiceApp();
    const res = await introspect(harness.app, token);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ active: false });
  });
});

describe('introspection: refresh tokens', () => {
  it('answers active with client_id, scope, the pairwise sub, exp and iat; inactive once rotated or revoked', async () => {
    const harness = createServiceApp();
    const grant = await startGrant(harness, RT_PAIRWISE);
    const res = await introspect(harness.app, grant.refreshToken, RS, 'refresh_token');
    const accessTokenSub = decodeJwt(grant.body.access_token).payload.sub;
    expect(res.body).toEqual({
      active: true,
      scope: 'openid offline_access api:read api:write',
      client_id: 'rt-pairwise',
      sub: accessTokenSub,
      exp: expect.any(Number),
      iat: Math.floor(harness.clock() / 1000),
      iss: ISSUER,
    });
    expect(accessTokenSub).not.toBe('user-1');
    const rotated = await refresh(harness.app, grant.refreshToken, RT_PAIRWISE);
    expect((await introspect(harness.app, grant.refreshToken)).body).toEqual({ active: false });
    expect((await introspect(harness.app, rotated.body.refresh_token)).body.active).toBe(true);
    await post(harness.app, 'revocation', { token: rotated.body.refresh_token }, RT_PAIRWISE);
    expect((await introspect(harness.app, rotated.body.refresh_token)).body).toEqual({ active: false });
  });
});

describe('introspection: who may introspect (default deny)', () => {
  it('a confidential client without introspection_allowed gets 400 unauthorized_client, whatever the token', async () => {
    const harness = createServiceApp();
    const grant = await startGrant(harness, RT_WEB);
    const res = await introspect(harness.app, grant.body.access_token, RS_PLAIN);
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ error: 'unauthorized_client', error_description: 'This client may not use the introspection endpoint.' });
  });

  it('a public client gets 400 unauthorized_client; bad credentials get 401 invalid_client', async () => {
    const harness = createServiceApp();
    const grant = await startGrant(harness, RT_MOBILE);
    const pub = await introspect(harness.app, grant.body.access_token, RT_MOBILE);
    expect(pub.status).toBe(400);
    expect(pub.body.error).toBe('unauthorized_client');
    const wrong = await introspect(harness.app, grant.body.access_token, { id: 'rs', secret: 'nope' });
    expect(wrong.status).toBe(401);
    expect(wrong.body.error).toBe('invalid_client');
  });

  it('the authorize hook decides per token: it sees the caller and the active token, false answers inactive', async () => {
    const seen: IntrospectionAuthorizationContext[] = [];
    const harness = createServiceApp({}, {
      authorize: (context) => {
        seen.push(context);
        return context.client.client_id === 'rs-plain' && context.token.client_id === 'rt-web';
      },
    });
    const web = await startGrant(harness, RT_WEB);
    const mobile = await startGrant(harness, RT_MOBILE);
    expect((await introspect(harness.app, web.body.access_token, RS_PLAIN)).body.active).toBe(true);
    expect((await introspect(harness.app, mobile.body.access_token, RS_PLAIN)).body).toEqual({ active: false });
    // With a hook, the flag alone no longer lets a client see a token.
    expect((await introspect(harness.app, web.body.access_token, RS)).body).toEqual({ active: false });
    expect(seen.map((context) => [context.client.client_id, context.token.client_id, context.token.tokenKind])).toEqual([
      ['rs-plain', 'rt-web', 'access_token'],
      ['rs-plain', 'rt-mobile', 'access_token'],
      ['rs', 'rt-web', 'access_token'],
    ]);
    // Inactive tokens never reach the hook.
    expect((await introspect(harness.app, 'garbage', RS_PLAIN)).body).toEqual({ active: false });
    expect(seen).toHaveLength(3);
  });

  it('a throwing hook is a logged 500 server_error, never an answer', async () => {
    const harness = createServiceApp({}, { authorize: () => { throw new Error('policy store down'); } });
    const grant = await startGrant(harness, RT_WEB);
    const res = await introspect(harness.app, grant.body.access_token, RS);
    expect(res.status).toBe(500);
    expect(res.body).toEqual({ error: 'server_error' });
    expect(harness.logged.some((entry) => entry.level === 'error' && JSON.stringify(entry.details).includes('policy store down'))).toBe(true);
  });
});

describe('introspection: setup and discovery', () => {
  const base = { issuer: ISSUER, signingKeys: [{ kid: 'k', privateKey: rsaKey().privateKey }], clients: createMemoryClientRegistry([]), storage: createMemoryStorage() };

  it('advertises introspection_endpoint and confidential auth methods only when enabled', () => {
    const on = createTokenRouter({ ...base, endpoints: [introspection()] });
    expect(on.metadata()).toMatchObject({ introspection_endpoint: `${ISSUER}/connect/introspection`, introspection_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'private_key_jwt', 'client_secret_jwt'] });
    expect(createTokenRouter(base).metadata()).not.toHaveProperty('introspection_endpoint');
  });

  it('refuses a hook that is not a function and unknown options at startup', () => {
    expect(() => createTokenRouter({ ...base, endpoints: [introspection({ authorize: true as never, allowAll: true } as never)] })).toThrow(ConfigurationError);
    try {
      createTokenRouter({ ...base, endpoints: [introspection({ authorize: true as never, allowAll: true } as never)] });
    } catch (error) {
      expect((error as ConfigurationError).problems).toEqual([
        expect.stringContaining('Unknown option "introspection(options).allowAll"'),
        'endpoints[0] (introspection): introspection(options).authorize must be ({ client, token }) => boolean.',
      ]);
    }
  });

  it('a client record with a non-boolean introspection_allowed is a logged 500 naming the field', async () => {
    const storage = createMemoryStorage();
    const logged: string[] = [];
    const registry = { findClient: async () => ({ client_id: 'rs', client_secrets: [], introspection_allowed: 'yes' }) } as never;
    const router = createTokenRouter({ ...base, storage, clients: registry, endpoints: [introspection()], logger: { warn: () => undefined, error: (_message, details) => logged.push(JSON.stringify(details)) }, rateLimit: false, bruteForce: false });
    const express = (await import('express')).default;
    const app = express().use('/connect', router);
    const res = await request(app).post('/connect/introspection').set('Authorization', 'Basic ' + Buffer.from('rs:x').toString('base64')).type('form').send('token=x');
    expect(res.status).toBe(500);
    expect(logged.join('\n')).toContain('introspection_allowed must be true or false');
  });
});
