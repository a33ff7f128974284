// spec/grants/token-exchange.spec.ts
// RFC 8693 token exchange through HTTP: default deny, the policy, impersonation and delegation
// (act, may_act), our access/ID/refresh tokens and trusted JWTs as subject tokens, revocation and
// expiry checked, requested_token_type, scope, errors per §2.2.2.

import jwt from 'jsonwebtoken';
import request from 'supertest';
import {
  authorizationCode, clientCredentials, ConfigurationError, createMemoryClientRegistry, createMemoryStorage, createTokenRouter, refreshToken, TOKEN_EXCHANGE_GRANT_TYPE, TOKEN_TYPES, tokenExchange,
  type MemoryClientDefinition, type TokenExchangeOptions, type TokenExchangeRequest,
} from '../../lib';
import { basic, decodeJwt, ISSUER, SERVICE_SECRET } from '../helpers/create-app';
import { rsaKey, keyPair } from '../helpers/keys';
import type { Caller } from '../helpers/code-flow';
import { refresh, RT_REDIRECT, RT_SCOPE, RT_WEB, startGrant } from '../helpers/refresh-flow';
import { createServiceApp, introspect, revoke, SERVICE_CLIENTS } from '../token-service/helpers';

const GATEWAY: Caller = { id: 'gateway', secret: SERVICE_SECRET };
const TE_WEB: Caller = { id: 'te-web', secret: SERVICE_SECRET };
const PARTNER = 'https://partner.example';
const partnerKeys = keyPair('ec', { namedCurve: 'P-256' });

const CLIENTS: MemoryClientDefinition[] = [
  ...SERVICE_CLIENTS,
  { client_id: 'gateway', client_secret: SERVICE_SECRET, grant_types: [TOKEN_EXCHANGE_GRANT_TYPE, 'client_credentials', 'refresh_token'], scope: 'openid offline_access api:read api:write orders:read' },
  { client_id: 'te-web', client_secret: SERVICE_SECRET, grant_types: ['authorization_code', 'refresh_token', TOKEN_EXCHANGE_GRANT_TYPE], redirect_uris: [RT_REDIRECT], scope: RT_SCOPE },
  { client_id: 'te-public', token_endpoint_auth_method: 'none', grant_types: [TOKEN_EXCHANGE_GRANT_TYPE], scope: 'api:read' },
];

function app(policy: TokenExchangeOptions['policy'], extra: Partial<TokenExchangeOptions> = {}) {
  return createServiceApp({
    grants: [authorizationCode(), clientCredentials(), refreshToken(), tokenExchange({ policy, trustedIssuers: [{ issuer: PARTNER, keys: [{ kid: 'p1', key: partnerKeys.publicKey }], algorithms: ['ES256'] }], ...extra })],
  }, {}, CLIENTS);
}

function exchange(target: Parameters<typeof request>[0], params: Readonly<Record<string, string>>, caller: Caller = GATEWAY) {
  const body = new URLSearchParams({ grant_type: TOKEN_EXCHANGE_GRANT_TYPE, ...params });
  const req = request(target).post('/connect/token').type('form');
  if ('secret' in caller) req.set('Authorization', basic(caller.id, caller.secret));
  else body.set('client_id', caller.id);
  return req.send(body.toString());
}

const allowOrders = () => ({ scope: ['orders:read', 'api:read'] });

function partnerJwt(claims: Record<string, unknown>): string {
  return jwt.sign({ sub: 'partner-user-7', aud: ISSUER, ...claims }, partnerKeys.privateKey, { algorithm: 'ES256', keyid: 'p1', issuer: PARTNER, ...(claims.exp === undefined && { expiresIn: 300 }) });
}

describe('token exchange: impersonation with our access token', () => {
  it('issues an access token for the same user to the asking client, with issued_token_type, and shows the policy what it decides on', async () => {
    const seen: TokenExchangeRequest[] = [];
    const harness = app((req) => {
      seen.push(req);
      return allowOrders();
    });
    const grant = await startGrant(harness, RT_WEB);
    const subject = decodeJwt(grant.body.access_token).payload;
    const res = await exchange(harness.app, { subject_token: grant.body.access_token, subject_token_type: TOKEN_TYPES.accessToken, scope: 'orders:read' });
    expect(res.status).toBe(200);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.body).toEqual({ access_token: expect.any(String), issued_token_type: TOKEN_TYPES.accessToken, token_type: 'Bearer', expires_in: 3600, scope: 'orders:read' });
    const issued = decodeJwt(res.body.access_token).payload;
    expect(issued).toMatchObject({ sub: subject.sub, client_id: 'gateway', scope: 'orders:read', iss: ISSUER });
    expect(issued.act).toBeUndefined();
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({
      client: expect.objectContaining({ client_id: 'gateway' }),
      subjectToken: { tokenType: TOKEN_TYPES.accessToken, issuer: ISSUER, subject: subject.sub, localSubject: 'user-1', clientId: 'rt-web', scope: ['openid', 'offline_access', 'api:read', 'api:write'] },
      actorToken: undefined,
      requestedTokenType: TOKEN_TYPES.accessToken,
      audience: [],
      resources: [],
      scope: ['orders:read'],
    });
  });

  it('without a scope request the new token gets what the policy permits (within the client\'s registered scope)', async () => {
    const harness = app(() => ({ scope: ['orders:read', 'api:read', 'not-registered'] }));
    const grant = await startGrant(harness, RT_WEB);
    const res = await exchange(harness.app, { subject_token: grant.body.access_token, subject_token_type: TOKEN_TYPES.accessToken });
    expect(res.body.scope).toBe('orders:read api:read');
  });

  it('the new access token belongs to the subject token\'s grant: revoking the user\'s refresh token makes it inactive', async () => {
    const harness = app(allowOrders);
    const grant = await startGrant(harness, RT_WEB);
    const res = await exchange(harness.app, { subject_token: grant.body.access_token, subject_token_type: TOKEN_TYPES.accessToken });
    expect(decodeJwt(res.body.access_token).payload.grant_id).toBe(grant.grantId);
    expect((await introspect(harness.app, res.body.access_token)).body.active).toBe(true);
    expect((await revoke(harness.app, grant.refreshToken, RT_WEB)).status).toBe(200);
    expect((await introspect(harness.app, res.body.access_token)).body).toEqual({ active: false });
  });

  it('a scope beyond what the policy permits is invalid_scope', async () => {
    const harness = app(allowOrders);
    const grant = await startGrant(harness, RT_WEB);
    const res = await exchange(harness.app, { subject_token: grant.body.access_token, subject_token_type: TOKEN_TYPES.accessToken, scope: 'orders:read api:write' });
    expect(res.status).toBe(400);
    expect(res.body.error).toBe('invalid_scope');
  });
});

describe('token exchange: default deny and errors (RFC 8693 §2.2.2)', () => {
  it('a policy that answers false refuses with 400 invalid_request', async () => {
    const harness = app(() => false);
    const grant = await startGrant(harness, RT_WEB);
    const res = await exchange(harness.app, { subject_token: grant.body.access_token, subject_token_type: TOKEN_TYPES.accessToken });
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ error: 'invalid_request', error_description: 'The token exchange is not permitted.' });
  });

  it('is not served, nor advertised, unless enabled; without a policy the router does not start', () => {
    const base = { issuer: ISSUER, signingKeys: [{ kid: 'k', privateKey: rsaKey().privateKey }], clients: createMemoryClientRegistry([]), storage: createMemoryStorage() };
    expect(createTokenRouter(base).metadata().grant_types_supported).not.toContain(TOKEN_EXCHANGE_GRANT_TYPE);
    expect(createTokenRouter({ ...base, grants: [tokenExchange({ policy: () => false })] }).metadata().grant_types_supported).toEqual([TOKEN_EXCHANGE_GRANT_TYPE]);
    expect(() => createTokenRouter({ ...base, grants: [tokenExchange({} as TokenExchangeOptions)] })).toThrow(/policy is required/);
    expect(() => createTokenRouter({ ...base, grants: [tokenExchange({ policy: () => false, trustedIssuers: [{ issuer: PARTNER, keys: [{ key: 'not a key' }], algorithms: ['HS256' as 'RS256'] }] })] })).toThrow(ConfigurationError);
  });

  it.each([
    ['garbage', { subject_token: 'garbage', subject_token_type: TOKEN_TYPES.accessToken }],
    ['an unsupported subject_token_type', { subject_token: 'x', subject_token_type: 'urn:example:saml' }],
    ['actor_token without actor_token_type', { subject_token: 'x', subject_token_type: TOKEN_TYPES.accessToken, actor_token: 'y' }],
    ['an unsupported requested_token_type', { subject_token: 'x', subject_token_type: TOKEN_TYPES.accessToken, requested_token_type: TOKEN_TYPES.idToken }],
  ])('%s → 400 invalid_request without echoing the value', async (_what, params) => {
    const harness = app(allowOrders);
    const res = await exchange(harness.app, params);
    expect(res.status).toBe(400);
    expect(res.body.error).toBe('invalid_request');
    expect(JSON.stringify(res.body)).not.toContain('garbage');
    expect(JSON.stringify(res.body)).not.toContain('urn:example:saml');
  });

  it('a missing subject_token is invalid_request naming it; a public client is unauthorized_client', async () => {
    const harness = app(allowOrders);
    const missing = await exchange(harness.app, { subject_token_type: TOKEN_TYPES.accessToken });
    expect(missing.body).toEqual({ error: 'invalid_request', error_description: expect.stringContaining('subject_token') });
    const pub = await exchange(harness.app, { subject_token: 'x', subject_token_type: TOKEN_TYPES.accessToken }, { id: 'te-public', public: true });
    expect(pub.body.error).toBe('unauthorized_client');
  });

  it('a token revoked a moment earlier, or expired, is invalid_request', async () => {
    const harness = app(allowOrders);
    const grant = await startGrant(harness, RT_WEB);
    expect((await revoke(harness.app, grant.body.access_token, RT_WEB)).status).toBe(200);
    expect((await exchange(harness.app, { subject_token: grant.body.access_token, subject_token_type: TOKEN_TYPES.accessToken })).body.error).toBe('invalid_request');
    const other = await startGrant(harness, RT_WEB);
    // Revoking the refresh token revokes the grant: its access token cannot be exchanged either.
    await revoke(harness.app, other.refreshToken, RT_WEB);
    expect((await exchange(harness.app, { subject_token: other.body.access_token, subject_token_type: TOKEN_TYPES.accessToken })).body.error).toBe('invalid_request');
    const third = await startGrant(harness, RT_WEB);
    harness.clock.advance(3601 * 1000);
    expect((await exchange(harness.app, { subject_token: third.body.access_token, subject_token_type: TOKEN_TYPES.accessToken })).body.error).toBe('invalid_request');
  });

  it('a policy that throws or answers a malformed decision is a logged 500, never a token', async () => {
    const throwing = app(() => { throw new Error('policy backend down'); });
    const grant = await startGrant(throwing, RT_WEB);
    const res = await exchange(throwing.app, { subject_token: grant.body.access_token, subject_token_type: TOKEN_TYPES.accessToken });
    expect(res.status).toBe(500);
    expect(res.body).toEqual({ error: 'server_error' });
    const malformed = app(() => ({ scope: 'orders:read' }) as never);
    const grant2 = await startGrant(malformed, RT_WEB);
    const bad = await exchange(malformed.app, { subject_token: grant2.body.access_token, subject_token_type: TOKEN_TYPES.accessToken });
    expect(bad.status).toBe(500);
    expect(malformed.logged.some((entry) => JSON.stringify(entry.details).includes('scope must be an array'))).toBe(true);
  });
});

describe('token exchange: delegation (act, may_act)', () => {
  it('an actor_token makes the new token carry act naming the actor; exchanging that token again nests the earlier actor', async () => {
    const harness = app(() => ({ scope: ['api:read'] }));
    const grant = await startGrant(harness, RT_WEB);
    const actor = await request(harness.app).post('/connect/token').set('Authorization', basic('gateway', SERVICE_SECRET)).type('form').send('grant_type=client_credentials&scope=api:read');
    const first = await exchange(harness.app, { subject_token: grant.body.access_token, subject_token_type: TOKEN_TYPES.accessToken, actor_token: actor.body.access_token, actor_token_type: TOKEN_TYPES.accessToken });
    expect(first.status).toBe(200);
    expect(decodeJwt(first.body.access_token).payload.act).toEqual({ sub: 'client:gateway' });
    const partnerActor = partnerJwt({ sub: 'partner-service' });
    const second = await exchange(harness.app, { subject_token: first.body.access_token, subject_token_type: TOKEN_TYPES.accessToken, actor_token: partnerActor, actor_token_type: TOKEN_TYPES.jwt });
    expect(second.status).toBe(200);
    expect(decodeJwt(second.body.access_token).payload.act).toEqual({ sub: 'partner-service', iss: PARTNER, act: { sub: 'client:gateway' } });
  });

  it('may_act in the subject token must name the actor (or, without one, the asking client)', async () => {
    // A partner's user is mapped to ours by the policy (never taken as a local subject as is).
    const harness = app(({ subjectToken }) => ({ scope: ['api:read'], subject: `partner-${subjectToken.subject}` }));
    // Our tokens name clients client:<id>; without an actor token the asking client is the actor.
    // may_act without iss names an actor of the subject token's own issuer (here the partner's), so
    // a partner token names our client with our issuer.
    const allowed = partnerJwt({ may_act: { sub: 'client:gateway', iss: ISSUER } });
    expect((await exchange(harness.app, { subject_token: partnerJwt({ may_act: { sub: 'client:gateway' } }), subject_token_type: TOKEN_TYPES.jwt })).body.error).toBe('invalid_request');
    expect((await exchange(harness.app, { subject_token: allowed, subject_token_type: TOKEN_TYPES.jwt })).status).toBe(200);
    const other = partnerJwt({ may_act: { sub: 'someone-else' } });
    // A bare client id is a user-namespace value: it does not name the client.
    expect((await exchange(harness.app, { subject_token: partnerJwt({ may_act: { sub: 'gateway', iss: ISSUER } }), subject_token_type: TOKEN_TYPES.jwt })).body.error).toBe('invalid_request');
    const refused = await exchange(harness.app, { subject_token: other, subject_token_type: TOKEN_TYPES.jwt });
    expect(refused.status).toBe(400);
    expect(refused.body).toEqual({ error: 'invalid_request', error_description: 'The actor is not allowed to act for the subject (may_act).' });
    const actor = partnerJwt({ sub: 'someone-else' });
    const withActor = await exchange(harness.app, { subject_token: other, subject_token_type: TOKEN_TYPES.jwt, actor_token: actor, actor_token_type: TOKEN_TYPES.jwt });
    expect(withActor.status).toBe(200);
    expect(decodeJwt(withActor.body.access_token).payload.act).toEqual({ sub: 'someone-else', iss: PARTNER });
  });
});

describe('token exchange: subject token types', () => {
  it('trusted JWTs: right issuer, key, alg and audience only; their user is the policy\'s to map', async () => {
    const seen: TokenExchangeRequest[] = [];
    const harness = app((req) => {
      seen.push(req);
      return { scope: ['api:read'], subject: req.subjectToken.subject === 'partner-user-7' ? 'user-1' : undefined };
    });
    const ok = await exchange(harness.app, { subject_token: partnerJwt({ client_id: 'web' }), subject_token_type: TOKEN_TYPES.jwt });
    expect(ok.status).toBe(200);
    expect(decodeJwt(ok.body.access_token).payload.sub).toBe('user-1');
    // The partner's namespaces are not ours: no local subject, no client of ours, and no mapping → refused.
    expect(seen[0].subjectToken).toMatchObject({ issuer: PARTNER, subject: 'partner-user-7', localSubject: undefined, clientId: undefined });
    expect((await exchange(harness.app, { subject_token: partnerJwt({ sub: 'partner-user-8' }), subject_token_type: TOKEN_TYPES.jwt })).body).toEqual({ error: 'invalid_request', error_description: 'The subject_token does not identify its user to this server.' });
    const stranger = keyPair('ec', { namedCurve: 'P-256' });
    for (const token of [
      partnerJwt({ aud: 'https://someone-else.example' }),
      jwt.sign({ sub: 'x', aud: ISSUER }, stranger.privateKey, { algorithm: 'ES256', keyid: 'p1', issuer: PARTNER, expiresIn: 300 }),
      jwt.sign({ sub: 'x', aud: ISSUER }, stranger.privateKey, { algorithm: 'ES256', keyid: 'p1', issuer: 'https://unknown.example', expiresIn: 300 }),
      jwt.sign({ sub: 'x', aud: ISSUER }, 'shared-secret', { algorithm: 'HS256', keyid: 'p1', issuer: PARTNER, expiresIn: 300 }),
      // Expired on the router's clock (past the 30 s default tolerance).
      partnerJwt({ iat: Math.floor(harness.clock() / 1000) - 600, exp: Math.floor(harness.clock() / 1000) - 60 }),
    ].entries()) {
      expect([token[0], (await exchange(harness.app, { subject_token: token[1], subject_token_type: TOKEN_TYPES.jwt })).body.error]).toEqual([token[0], 'invalid_request']);
    }
  });

  it('a host key lookup (getKey) is used for an unknown kid, with no fetch by the library', async () => {
    const rotated = keyPair('ec', { namedCurve: 'P-256' });
    const asked: Array<string | undefined> = [];
    const harness = createServiceApp({ grants: [tokenExchange({ policy: () => ({ scope: ['api:read'], subject: 'user-1' }), trustedIssuers: [{ issuer: PARTNER, algorithms: ['ES256'], getKey: (kid) => { asked.push(kid); return kid === 'p2' ? rotated.publicKey : undefined; } }] })] }, {}, CLIENTS);
    const token = jwt.sign({ sub: 'u', aud: ISSUER }, rotated.privateKey, { algorithm: 'ES256', keyid: 'p2', issuer: PARTNER, expiresIn: 300 });
    expect((await exchange(harness.app, { subject_token: token, subject_token_type: TOKEN_TYPES.jwt })).status).toBe(200);
    expect(asked).toEqual(['p2']);
  });

  it('our refresh token: only its own client may present it; it is not consumed', async () => {
    const harness = app(() => ({ scope: ['api:read'] }));
    const grant = await startGrant(harness, TE_WEB);
    expect((await exchange(harness.app, { subject_token: grant.refreshToken, subject_token_type: TOKEN_TYPES.refreshToken })).body.error).toBe('invalid_request');
    const own = await exchange(harness.app, { subject_token: grant.refreshToken, subject_token_type: TOKEN_TYPES.refreshToken }, TE_WEB);
    expect(own.status).toBe(200);
    expect(decodeJwt(own.body.access_token).payload).toMatchObject({ sub: 'user-1', client_id: 'te-web' });
    expect((await refresh(harness.app, grant.refreshToken, TE_WEB)).status).toBe(200);
  });

  it('our ID token: only the client it was issued to may present it', async () => {
    const harness = app(() => ({ scope: ['api:read'] }));
    const grant = await startGrant(harness, TE_WEB);
    const idToken = grant.body.id_token ?? '';
    expect((await exchange(harness.app, { subject_token: idToken, subject_token_type: TOKEN_TYPES.idToken }, TE_WEB)).status).toBe(200);
    expect((await exchange(harness.app, { subject_token: idToken, subject_token_type: TOKEN_TYPES.idToken })).body.error).toBe('invalid_request');
    // An ID token is not an access token (typ JWT vs at+jwt) and the other way round.
    expect((await exchange(harness.app, { subject_token: idToken, subject_token_type: TOKEN_TYPES.accessToken }, TE_WEB)).body.error).toBe('invalid_request');
    expect((await exchange(harness.app, { subject_token: grant.body.access_token, subject_token_type: TOKEN_TYPES.idToken }, TE_WEB)).body.error).toBe('invalid_request');
  });
});

describe('token exchange: requested_token_type refresh_token', () => {
  it('only when the policy allows: the refresh token is in access_token with token_type N_A, and it works at the refresh grant', async () => {
    const harness = app(({ requestedTokenType }) => ({ scope: ['api:read', 'offline_access'], refreshToken: requestedTokenType === TOKEN_TYPES.refreshToken }));
    const grant = await startGrant(harness, RT_WEB);
    const res = await exchange(harness.app, { subject_token: grant.body.access_token, subject_token_type: TOKEN_TYPES.accessToken, requested_token_type: TOKEN_TYPES.refreshToken, scope: 'api:read offline_access' });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ access_token: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/), issued_token_type: TOKEN_TYPES.refreshToken, token_type: 'N_A', expires_in: expect.any(Number), scope: 'api:read offline_access' });
    const used = await refresh(harness.app, res.body.access_token, GATEWAY);
    expect(used.status).toBe(200);
    expect(decodeJwt(used.body.access_token).payload).toMatchObject({ client_id: 'gateway', scope: 'api:read offline_access' });

    const denied = app(() => ({ scope: ['api:read', 'offline_access'] }));
    const grant2 = await startGrant(denied, RT_WEB);
    const refused = await exchange(denied.app, { subject_token: grant2.body.access_token, subject_token_type: TOKEN_TYPES.accessToken, requested_token_type: TOKEN_TYPES.refreshToken });
    expect(refused.body).toEqual({ error: 'invalid_request', error_description: 'A refresh token cannot be issued for this exchange.' });
  });
});

describe('the tnuId migration example (examples/token-exchange)', () => {
  it('switches profile with a token exchange and refuses another user\'s profile', async () => {
    const { main } = await import('../../examples/token-exchange/tnuid-migration');
    const log = jest.spyOn(console, 'log').mockImplementation(() => undefined);
    try {
      await main();
      expect(log).toHaveBeenCalledWith(expect.stringContaining('switched to tnu-alice-work'));
    } finally {
      log.mockRestore();
    }
  });
});
