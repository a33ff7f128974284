// spec/grants/refresh-token.spec.ts
// The refresh_token grant (RFC 6749 §6, RFC 9700 §4.14) through HTTP: when refresh tokens are
// issued and how they are stored, policies and defaults, redemption (client binding, scope),
// the ID token on refresh, the session hook, rotation and the reuse policy, reuse detection and
// the concurrent-retry window, and revocation on code replay. Concurrency is in
// refresh-token-race.spec.ts, lifetimes in refresh-token-lifetimes.spec.ts, the tnuId switch in
// refresh-token-tnuid.spec.ts.
import { authorizationCode, ConfigurationError, createMemoryClientRegistry, createMemoryStorage, createTokenRouter, hashOpaqueToken, refreshToken, TELENORID_REFRESH_POLICIES, type MemoryStorage, type SessionCheckContext, type SessionUpdate, type TokenEndpointEvent } from '../../lib';
import { openSuccessor } from '../../lib/grants/refresh-token/retry-envelope';
import request from 'supertest';
import { basic, decodeJwt, ISSUER, SERVICE_SECRET, type CodeTestApp } from '../helpers/create-app';
import { leftHalfHash, redeem, seconds, VERIFIER } from '../helpers/code-flow';
import { rsaKey } from '../helpers/keys';
import { createRefreshTestApp, DAY, GRANT_SCOPE, MINUTE, redeemNewCode, refresh, REFRESH_CLIENTS, REFRESH_TOKEN_PATTERN, RT_MOBILE, RT_PAIRWISE, RT_PUBLIC, RT_PUBLIC_REUSE, RT_REDIRECT, RT_REUSE, RT_SPA, RT_WEB, RT_WEB_B, SECOND, startGrant, storedToken } from '../helpers/refresh-flow';
import { configurationErrorOf, expectInvalidRecord, expectLoggedInvalidRecord, hostRecord, hostRegistry, rejectionOf } from '../helpers/host-registry';
import { recordCalls } from '../helpers/record-calls';
import type { IdTokenClaimsContext } from '../../lib';

type EventOf<T extends TokenEndpointEvent['type']> = Extract<TokenEndpointEvent, { type: T }>;

function eventsOf<T extends TokenEndpointEvent['type']>(events: readonly TokenEndpointEvent[], type: T): EventOf<T>[] {
  return events.filter((event): event is EventOf<T> => event.type === type);
}

/** Asserts a 400 invalid_grant. */
function expectInvalidGrant(res: { status: number; body: { error?: unknown } }): void {
  expect(res.status).toBe(400);
  expect(res.body.error).toBe('invalid_grant');
}

describe('issuance: a refresh token only with offline_access, the grant type, the served grant and a policy', () => {
  it('a confidential client with offline_access gets a 256-bit base64url token; only its digest is stored (default: absolute 14 days)', async () => {
    const harness = createRefreshTestApp();
    const { grantId, body, refreshToken: rt } = await startGrant(harness, RT_WEB);
    expect(rt).toMatch(REFRESH_TOKEN_PATTERN);
    expect(Buffer.from(rt, 'base64url')).toHaveLength(32);
    expect(body).toEqual({
      access_token: expect.any(String), token_type: 'Bearer', expires_in: 3600, scope: GRANT_SCOPE, refresh_token: rt, id_token: expect.any(String),
    });
    expect(await harness.storage.findRefreshToken(rt)).toBeUndefined();
    const now = harness.clock();
    const record = await storedToken(harness.storage, rt);
    expect(record).toEqual({
      tokenHash: hashOpaqueToken(rt),
      grantId,
      clientId: 'rt-web',
      scope: GRANT_SCOPE.split(' '),
      subject: 'user-1',
      issuedAt: now,
      expiresAt: now + 14 * DAY,
      familyExpiresAt: now + 14 * DAY,
    });
    expect(JSON.stringify(record)).not.toContain(rt);
    expect(eventsOf(harness.events, 'token.issued')).toEqual([expect.objectContaining({ grantType: 'authorization_code', grantId, refreshTokenIssued: true })]);
  });

  it('every refresh token is different (20 grants, 20 values)', async () => {
    const harness = createRefreshTestApp();
    const tokens = new Set<string>();
    for (let i = 0; i < 20; i += 1) tokens.add((await startGrant(harness, RT_WEB)).refreshToken);
    expect(tokens.size).toBe(20);
  });

  it('no offline_access granted → no refresh token, nothing stored', async () => {
    const memory = createMemoryStorage();
    const harness = createRefreshTestApp({ storage: memory });
    const { body } = await redeemNewCode(harness, RT_WEB, { scope: 'openid api:read' });
    expect('refresh_token' in body).toBe(false);
    expect(memory.size().refreshTokens).toBe(0);
    expect(eventsOf(harness.events, 'token.issued')[0].refreshTokenIssued).toBe(false);
  });

  it('refresh_token not in the client\'s grant_types → no refresh token', async () => {
    const harness = createRefreshTestApp();
    const { body } = await redeemNewCode(harness, { id: 'rt-noreg', secret: SERVICE_SECRET });
    expect(body.scope).toBe(GRANT_SCOPE);
    expect('refresh_token' in body).toBe(false);
  });

  it('the refresh_token grant not served → no refresh token', async () => {
    const harness = createRefreshTestApp({ grants: [authorizationCode()] });
    const { body } = await redeemNewCode(harness, RT_WEB);
    expect('refresh_token' in body).toBe(false);
  });

  it.each([
    ['a named none policy', { id: 'rt-none', secret: SERVICE_SECRET }],
    ['an inline none policy', { id: 'rt-inline-none', secret: SERVICE_SECRET }],
    ['a public client without a policy (default none)', RT_PUBLIC],
  ] as const)('%s → no refresh token', async (_name, caller) => {
    const harness = createRefreshTestApp();
    const { body } = await redeemNewCode(harness, caller);
    expect(body.access_token).toEqual(expect.any(String));
    expect('refresh_token' in body).toBe(false);
  });

  it('a public client with a named sliding policy (Mobile) gets one, living 90 days from issue, with no family cap', async () => {
    const harness = createRefreshTestApp();
    const { refreshToken: rt } = await startGrant(harness, RT_MOBILE);
    const record = await storedToken(harness.storage, rt);
    expect(record?.expiresAt).toBe(harness.clock() + 90 * DAY);
    expect(record?.familyExpiresAt).toBeUndefined();
  });

  it('PublicWeb: 10 minutes', async () => {
    const harness = createRefreshTestApp();
    const { refreshToken: rt } = await startGrant(harness, RT_SPA);
    expect((await storedToken(harness.storage, rt))?.expiresAt).toBe(harness.clock() + 600 * SECOND);
  });

  it('refreshTokens.defaultPolicy changes the defaults per client type (by name and inline)', async () => {
    const harness = createRefreshTestApp({
      refreshTokens: { policies: TELENORID_REFRESH_POLICIES, defaultPolicy: { confidential: 'Mobile', public: { type: 'sliding', lifetime: 120 } } },
    });
    const web = await startGrant(harness, RT_WEB);
    const pub = await startGrant(harness, RT_PUBLIC);
    expect((await storedToken(harness.storage, web.refreshToken))?.expiresAt).toBe(harness.clock() + 90 * DAY);
    expect((await storedToken(harness.storage, pub.refreshToken))?.expiresAt).toBe(harness.clock() + 120 * SECOND);
  });

  it('TELENORID_REFRESH_POLICIES are the TelenorID+ client types', () => {
    expect(TELENORID_REFRESH_POLICIES).toEqual({
      NoRefresh: { type: 'none' },
      Confidential: { type: 'absolute', lifetime: 14 * 24 * 3600 },
      Mobile: { type: 'sliding', lifetime: 90 * 24 * 3600 },
      PublicWeb: { type: 'sliding', lifetime: 600 },
      Web: { type: 'sliding', lifetime: 600 },
    });
    expect(Object.isFrozen(TELENORID_REFRESH_POLICIES)).toBe(true);
  });

  it('the refresh token follows the grant\'s scope when the code request narrowed the access token', async () => {
    const harness = createRefreshTestApp();
    const { body } = await redeemNewCode(harness, RT_WEB, {}, { scope: 'api:read' });
    expect(body.scope).toBe('api:read');
    expect(body.refresh_token).toMatch(REFRESH_TOKEN_PATTERN);
    expect((await storedToken(harness.storage, body.refresh_token as string))?.scope).toEqual(GRANT_SCOPE.split(' '));
  });

  it('a client naming an unknown policy is a startup error naming the client and the field', () => {
    const clients = [...REFRESH_CLIENTS, { ...REFRESH_CLIENTS[0], client_id: 'rt-broken', refresh_token_policy: 'NoSuchPolicy' }];
    const error = configurationErrorOf(() => createRefreshTestApp({}, clients));
    expect(error.code).toBe('ERR_TOKEN_ROUTER_OPTIONS');
    expect(error.problems).toEqual([
      `clients["rt-broken"].refresh_token_policy names the policy "NoSuchPolicy", which is not in the router's refreshTokens.policies (known: ${Object.keys(TELENORID_REFRESH_POLICIES).join(', ')})`,
    ]);
  });

  it('a host registry client naming an unknown policy → 500 at the code request, and the code is not burnt', async () => {
    const wellConfigured = hostRecord({ ...REFRESH_CLIENTS[0], client_id: 'rt-broken', refresh_token_policy: 'Confidential' });
    const broken = { ...wellConfigured, refresh_token_policy: 'NoSuchPolicy' };
    const POLICY_PROBLEM = /refresh_token_policy names the policy "NoSuchPolicy", which is not in the router's refreshTokens\.policies/;
    const records: Record<string, object> = { 'rt-broken': broken };
    const harness = createRefreshTestApp({ clients: hostRegistry(records) }, []);
    const input = { clientId: 'rt-broken', redirectUri: RT_REDIRECT, scope: GRANT_SCOPE, subject: 'user-1' };
    // The host API refuses to mint a code for the bad record.
    expectInvalidRecord(await rejectionOf(harness.tokenRouter.issueAuthorizationCode(input)), 'rt-broken', POLICY_PROBLEM);
    expect((harness.storage as MemoryStorage).size().codes).toBe(0);
    // A code minted while the record was well configured, then the policy name breaks.
    records['rt-broken'] = wellConfigured;
    const { code } = await harness.tokenRouter.issueAuthorizationCode(input);
    records['rt-broken'] = broken;
    harness.logged.length = 0;
    const caller = { id: 'rt-broken', secret: SERVICE_SECRET };
    const res = await redeem(harness.app, { code, redirect_uri: RT_REDIRECT }, caller);
    expect(res.status).toBe(500);
    expect(res.body.error).toBe('server_error');
    expect(res.body.access_token).toBeUndefined();
    expectLoggedInvalidRecord(harness.logged, 'rt-broken', POLICY_PROBLEM);
    expect(eventsOf(harness.events, 'token.issued')).toEqual([]);
    expect((harness.storage as MemoryStorage).size().refreshTokens).toBe(0);
    expect((await harness.storage.findAuthorizationCode(hashOpaqueToken(code)))?.consumedAt).toBeUndefined();
    // Not burnt: once the record is fixed, the same code redeems, with a refresh token.
    records['rt-broken'] = wellConfigured;
    const fixed = await redeem(harness.app, { code, redirect_uri: RT_REDIRECT }, caller);
    expect(fixed.status).toBe(200);
    expect(fixed.body.refresh_token).toMatch(REFRESH_TOKEN_PATTERN);
  });

  describe('configuration is checked at createTokenRouter', () => {
    const base = () => ({
      issuer: ISSUER,
      signingKeys: [{ kid: 'k', privateKey: rsaKey().privateKey }],
      clients: createMemoryClientRegistry([]),
      storage: createMemoryStorage(),
    });
    it.each([61, -1, 1.5])('retryWindowSeconds %p → ConfigurationError', (retryWindowSeconds) => {
      expect(() => createTokenRouter({ ...base(), grants: [refreshToken({ retryWindowSeconds })] })).toThrow(ConfigurationError);
    });
    it('a default policy naming an unknown policy → ConfigurationError', () => {
      expect(() => createTokenRouter({ ...base(), refreshTokens: { defaultPolicy: { confidential: 'Nope' } } })).toThrow(ConfigurationError);
    });
    it('a sliding policy with maxLifetime < lifetime → ConfigurationError', () => {
      expect(() => createTokenRouter({ ...base(), refreshTokens: { policies: { bad: { type: 'sliding', lifetime: 600, maxLifetime: 60 } } } })).toThrow(ConfigurationError);
    });
    it('a storage without the refresh methods → ConfigurationError', () => {
      expect(() => createTokenRouter({ ...base(), storage: {}, grants: [refreshToken()] })).toThrow(ConfigurationError);
    });
  });
});

describe('only digests of refresh tokens reach storage', () => {
  it('no argument of any storage call (issue, rotate, retry, reuse) contains a raw refresh token or access token', async () => {
    const memory = createMemoryStorage();
    const { storage, calls } = recordCalls(memory);
    const harness = createRefreshTestApp({ storage });
    const first = await startGrant(harness, RT_WEB);
    const second = await refresh(harness.app, first.refreshToken);
    const retry = await refresh(harness.app, first.refreshToken);
    expect(retry.body.refresh_token).toBe(second.body.refresh_token);
    const third = await refresh(harness.app, second.body.refresh_token);
    expect(third.status).toBe(200);
    harness.clock.advance(10 * SECOND);
    expectInvalidGrant(await refresh(harness.app, first.refreshToken));
    expect(calls.map((call) => call.method)).toEqual(expect.arrayContaining(['saveRefreshToken', 'findRefreshToken', 'rotateRefreshToken', 'revokeGrant']));
    const stored = JSON.stringify(calls);
    for (const raw of [first.refreshToken, second.body.refresh_token, third.body.refresh_token, second.body.access_token, third.body.access_token]) {
      expect(typeof raw).toBe('string');
      expect(stored).not.toContain(raw);
    }
    expect(stored).toContain(hashOpaqueToken(first.refreshToken));
    // Events never carry tokens either.
    const events = JSON.stringify(harness.events);
    for (const raw of [first.refreshToken, second.body.refresh_token, third.body.refresh_token]) expect(events).not.toContain(raw);
    memory.close();
  });
});

describe('redemption', () => {
  const harness = createRefreshTestApp();
  const { app, storage, events } = harness;
  beforeEach(() => { events.length = 0; });

  it('happy path: 200 with a new access token, a new refresh token, scope and ID token; no-store', async () => {
    const { refreshToken: rt, body: first, grantId } = await startGrant(harness, RT_WEB);
    const res = await refresh(app, rt);
    expect(res.status).toBe(200);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.headers.pragma).toBe('no-cache');
    expect(res.body).toEqual({
      access_token: expect.any(String), token_type: 'Bearer', expires_in: 3600, scope: GRANT_SCOPE, refresh_token: expect.stringMatching(REFRESH_TOKEN_PATTERN), id_token: expect.any(String),
    });
    expect(res.body.refresh_token).not.toBe(rt);
    expect(res.body.access_token).not.toBe(first.access_token);
    const at = decodeJwt(res.body.access_token).payload;
    expect(at).toMatchObject({ iss: ISSUER, sub: 'user-1', client_id: 'rt-web', scope: GRANT_SCOPE });
    expect(eventsOf(events, 'token.issued').filter((e) => e.grantType === 'refresh_token')).toEqual([
      expect.objectContaining({ grantType: 'refresh_token', clientId: 'rt-web', grantId, subject: 'user-1', refreshTokenIssued: true, idTokenIssued: true, jti: at.jti }),
    ]);
    expect(res.text).not.toContain(rt);
  });

  it('missing refresh_token → 400 invalid_request', async () => {
    const res = await refresh(app, undefined);
    expect(res.status).toBe(400);
    expect(res.body.error).toBe('invalid_request');
  });

  it('empty refresh_token (= absent) → 400 invalid_request', async () => {
    const res = await refresh(app, '');
    expect(res.status).toBe(400);
    expect(res.body.error).toBe('invalid_request');
  });

  it('a refresh_token over 512 characters → 400 invalid_request', async () => {
    const res = await refresh(app, 'A'.repeat(513));
    expect(res.status).toBe(400);
    expect(res.body.error).toBe('invalid_request');
  });

  it('a refresh_token in the URL query → 400 invalid_request, and the token is not used', async () => {
    const { refreshToken: rt } = await startGrant(harness, RT_WEB);
    const res = await request(app).post(`/connect/token?refresh_token=${rt}`).set('Authorization', basic('rt-web', SERVICE_SECRET)).type('form')
      .send(`grant_type=refresh_token&refresh_token=${rt}`);
    expect(res.status).toBe(400);
    expect(res.body.error).toBe('invalid_request');
    expect((await storedToken(storage, rt))?.consumedAt).toBeUndefined();
  });

  it.each([['unknown', 'A'.repeat(43)], ['garbage', 'not a token']])('%s refresh token → 400 invalid_grant', async (_name, token) => {
    expectInvalidGrant(await refresh(app, token));
  });

  it('a confidential client refreshing without authenticating → 401 invalid_client; the token is not used', async () => {
    const { refreshToken: rt } = await startGrant(harness, RT_WEB);
    const res = await refresh(app, rt, { id: 'rt-web', public: true });
    expect(res.status).toBe(401);
    expect(res.body.error).toBe('invalid_client');
    expect((await storedToken(storage, rt))?.consumedAt).toBeUndefined();
    expect((await refresh(app, rt)).status).toBe(200);
  });

  it('a confidential client with a wrong secret → 401 invalid_client; the token is not used', async () => {
    const { refreshToken: rt } = await startGrant(harness, RT_WEB);
    const res = await refresh(app, rt, { id: 'rt-web', secret: 'wrong-secret-000000000000' });
    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toMatch(/^Basic /);
    expect((await refresh(app, rt)).status).toBe(200);
  });

  it('a public client refreshes with client_id only', async () => {
    const { refreshToken: rt } = await startGrant(harness, RT_MOBILE);
    const res = await refresh(app, rt, RT_MOBILE);
    expect(res.status).toBe(200);
    expect(res.body.refresh_token).toMatch(REFRESH_TOKEN_PATTERN);
  });

  it('a public client without client_id → 401 invalid_client', async () => {
    const { refreshToken: rt } = await startGrant(harness, RT_MOBILE);
    const res = await refresh(app, rt, { id: '', public: true });
    expect(res.status).toBe(401);
    expect((await refresh(app, rt, RT_MOBILE)).status).toBe(200);
  });

  describe('bound to the client (RFC 6749 §6, §10.4)', () => {
    it('another client\'s token → invalid_grant with the description of an unknown token; nothing revoked, not used', async () => {
      const { refreshToken: rt, grantId } = await startGrant(harness, RT_WEB);
      const stolen = await refresh(app, rt, RT_WEB_B);
      const unknown = await refresh(app, 'B'.repeat(43), RT_WEB_B);
      expectInvalidGrant(stolen);
      expect(stolen.body).toEqual(unknown.body);
      expect(await storage.isGrantRevoked(grantId)).toBe(false);
      expect((await storedToken(storage, rt))?.consumedAt).toBeUndefined();
      expect(eventsOf(events, 'grant.revoked')).toHaveLength(0);
      expect(eventsOf(events, 'refresh_token.reused')).toHaveLength(0);
      expect((await refresh(app, rt)).status).toBe(200);
    });

    it('another client presenting an already rotated token → invalid_grant, no revocation (also after the retry window)', async () => {
      const { refreshToken: rt, grantId } = await startGrant(harness, RT_WEB);
      const next = await refresh(app, rt);
      const used = await refresh(app, rt, RT_WEB_B);
      expectInvalidGrant(used);
      expect(used.body).toEqual((await refresh(app, 'C'.repeat(43), RT_WEB_B)).body);
      harness.clock.advance(60 * SECOND);
      expectInvalidGrant(await refresh(app, rt, RT_WEB_B));
      expect(await storage.isGrantRevoked(grantId)).toBe(false);
      expect(eventsOf(events, 'grant.revoked')).toHaveLength(0);
      expect((await refresh(app, next.body.refresh_token)).status).toBe(200);
    });

    it('a public client presenting a confidential client\'s token → invalid_grant, nothing revoked', async () => {
      const { refreshToken: rt, grantId } = await startGrant(harness, RT_WEB);
      expectInvalidGrant(await refresh(app, rt, RT_MOBILE));
      expect(await storage.isGrantRevoked(grantId)).toBe(false);
      expect((await refresh(app, rt)).status).toBe(200);
    });
  });

  describe('scope (RFC 6749 §6: narrow the access token, never the grant)', () => {
    it('a subset narrows the new access token only; the rotated token keeps the grant\'s scope', async () => {
      const { refreshToken: rt } = await startGrant(harness, RT_WEB);
      const narrowed = await refresh(app, rt, RT_WEB, { scope: 'api:read' });
      expect(narrowed.status).toBe(200);
      expect(narrowed.body.scope).toBe('api:read');
      expect(decodeJwt(narrowed.body.access_token).payload.scope).toBe('api:read');
      expect(narrowed.body.id_token).toBeUndefined();
      expect((await storedToken(storage, narrowed.body.refresh_token))?.scope).toEqual(GRANT_SCOPE.split(' '));
      const full = await refresh(app, narrowed.body.refresh_token);
      expect(full.status).toBe(200);
      expect(full.body.scope).toBe(GRANT_SCOPE);
      expect(decodeJwt(full.body.access_token).payload.scope).toBe(GRANT_SCOPE);
      expect(full.body.id_token).toEqual(expect.any(String));
    });

    it('a whitespace-only scope counts as absent: the grant\'s full scope', async () => {
      const { refreshToken: rt } = await startGrant(harness, RT_WEB);
      const res = await refresh(app, rt, RT_WEB, { scope: '   ' });
      expect(res.status).toBe(200);
      expect(res.body.scope).toBe(GRANT_SCOPE);
    });

    it('a narrowed refresh keeping openid still gets an ID token', async () => {
      const { refreshToken: rt } = await startGrant(harness, RT_WEB);
      const res = await refresh(app, rt, RT_WEB, { scope: 'openid api:write' });
      expect(res.body.scope).toBe('openid api:write');
      expect(res.body.id_token).toEqual(expect.any(String));
    });

    it.each([
      ['a scope the client has but the grant lacks', 'api:read profile'],
      ['a scope nobody has', 'admin'],
    ])('a superset (%s) → invalid_scope, and the token is not used', async (_name, scope) => {
      const { refreshToken: rt } = await startGrant(harness, RT_WEB);
      const res = await refresh(app, rt, RT_WEB, { scope });
      expect(res.status).toBe(400);
      expect(res.body.error).toBe('invalid_scope');
      expect((await storedToken(storage, rt))?.consumedAt).toBeUndefined();
      expect((await refresh(app, rt)).body.scope).toBe(GRANT_SCOPE);
    });
  });
});

describe('the ID token on refresh (OIDC Core §12.2)', () => {
  it('same sub, the session\'s auth_time/acr/amr/sid, no nonce, a fresh iat and at_hash, and the idToken.claims hook runs again', async () => {
    const seen: IdTokenClaimsContext[] = [];
    let displayName = 'Ann';
    const harness = createRefreshTestApp({
      idToken: { claims: (context) => { seen.push(context); return { name: displayName }; } },
    });
    const authTime = seconds(harness.clock()) - 30;
    const { refreshToken: rt, body } = await startGrant(harness, RT_WEB, {
      nonce: 'n-0S6_WzA2Mj', authTime, acr: 'urn:acr:2', amr: ['pwd'], sid: 'sid-1', claims: { id_token: { email: 'ann@example.com' } },
    });
    const original = decodeJwt(body.id_token as string).payload;
    expect(original.nonce).toBe('n-0S6_WzA2Mj');
    harness.clock.advance(10 * 60 * SECOND);
    displayName = 'Ann B.';
    const res = await refresh(harness.app, rt);
    const id = decodeJwt(res.body.id_token).payload;
    const iat = seconds(harness.clock());
    expect(id).toEqual({
      iss: ISSUER,
      sub: 'user-1',
      aud: 'rt-web',
      iat,
      nbf: iat,
      exp: iat + 300,
      auth_time: authTime,
      acr: 'urn:acr:2',
      amr: ['pwd'],
      sid: 'sid-1',
      at_hash: leftHalfHash(res.body.access_token, 'sha256'),
      email: 'ann@example.com',
      name: 'Ann B.',
      grant_id: original.grant_id,
    });
    expect('nonce' in id).toBe(false);
    expect(id.sub).toBe(original.sub);
    expect(id.auth_time).toBe(original.auth_time);
    expect(seen.map((context) => context.grantType)).toEqual(['authorization_code', 'refresh_token']);
    expect(seen[1]).toMatchObject({ subject: 'user-1', localSubject: 'user-1', session: expect.objectContaining({ subject: 'user-1', authTime }) });
  });

  it('no nonce on later rotations either', async () => {
    const harness = createRefreshTestApp();
    const { refreshToken: rt } = await startGrant(harness, RT_WEB, { nonce: 'n-1' });
    const second = await refresh(harness.app, rt);
    const third = await refresh(harness.app, second.body.refresh_token);
    for (const res of [second, third]) expect('nonce' in decodeJwt(res.body.id_token).payload).toBe(false);
  });

  it('a pairwise client gets the same pairwise sub in the refreshed ID and access tokens', async () => {
    const harness = createRefreshTestApp();
    const { refreshToken: rt, body } = await startGrant(harness, RT_PAIRWISE);
    const sub = decodeJwt(body.id_token as string).payload.sub;
    expect(sub).not.toBe('user-1');
    expect(sub).toBe(harness.tokenRouter.subjectFor({ client_id: 'rt-pairwise', subject_type: 'pairwise', redirect_uris: [RT_REDIRECT] }, 'user-1'));
    const res = await refresh(harness.app, rt, RT_PAIRWISE);
    expect(decodeJwt(res.body.id_token).payload.sub).toBe(sub);
    expect(decodeJwt(res.body.access_token).payload.sub).toBe(sub);
  });

  it('no ID token when openid was not granted', async () => {
    const harness = createRefreshTestApp();
    const { refreshToken: rt } = await startGrant(harness, RT_WEB, { scope: 'offline_access api:read' });
    const res = await refresh(harness.app, rt);
    expect(res.status).toBe(200);
    expect('id_token' in res.body).toBe(false);
  });

  it('the access token carries the session facts and host claims of the grant', async () => {
    const harness = createRefreshTestApp();
    const authTime = seconds(harness.clock()) - 30;
    const { refreshToken: rt } = await startGrant(harness, RT_WEB, { authTime, acr: 'urn:acr:2', amr: ['pwd'], sid: 'sid-1', claims: { access_token: { tnuid: 'tn-1' } } });
    const res = await refresh(harness.app, rt);
    expect(decodeJwt(res.body.access_token).payload).toMatchObject({ sub: 'user-1', client_id: 'rt-web', auth_time: authTime, acr: 'urn:acr:2', amr: ['pwd'], sid: 'sid-1', tnuid: 'tn-1' });
  });
});

describe('the session hook: refreshToken({ checkSession })', () => {
  function sessionApp(hook: (context: SessionCheckContext) => boolean | SessionUpdate): CodeTestApp {
    return createRefreshTestApp({ grants: [authorizationCode(), refreshToken({ checkSession: hook })] });
  }

  it('sees the client, grant id, stored session and the grant\'s scope', async () => {
    const seen: SessionCheckContext[] = [];
    const harness = sessionApp((context) => { seen.push(context); return true; });
    const { refreshToken: rt, grantId } = await startGrant(harness, RT_WEB, { acr: 'urn:acr:1', sid: 'sid-1' });
    expect((await refresh(harness.app, rt, RT_WEB, { scope: 'api:read' })).status).toBe(200);
    expect(seen).toHaveLength(1);
    expect(seen[0].client.client_id).toBe('rt-web');
    expect(seen[0].grantId).toBe(grantId);
    expect(seen[0].session).toEqual({ subject: 'user-1', acr: 'urn:acr:1', sid: 'sid-1' });
    expect(seen[0].scope).toEqual(GRANT_SCOPE.split(' '));
  });

  it('false → invalid_grant, the family is revoked (grant.revoked session_ended), and the newest token stays dead', async () => {
    let alive = true;
    const harness = sessionApp(() => alive);
    const { refreshToken: rt, grantId } = await startGrant(harness, RT_WEB);
    const second = await refresh(harness.app, rt);
    expect(second.status).toBe(200);
    alive = false;
    const refused = await refresh(harness.app, second.body.refresh_token);
    expectInvalidGrant(refused);
    expect(await harness.storage.isGrantRevoked(grantId)).toBe(true);
    expect(eventsOf(harness.events, 'grant.revoked')).toEqual([{ type: 'grant.revoked', at: harness.clock(), grantId, clientId: 'rt-web', reason: 'session_ended' }]);
    expect((await storedToken(harness.storage, second.body.refresh_token))?.consumedAt).toBeUndefined();
    alive = true;
    expectInvalidGrant(await refresh(harness.app, second.body.refresh_token));
    expectInvalidGrant(await refresh(harness.app, rt));
  });

  it('an update (step-up: new acr and authTime) goes into the new tokens and stays with the family', async () => {
    let verdict: boolean | SessionUpdate = true;
    const harness = sessionApp(() => verdict);
    const { refreshToken: rt } = await startGrant(harness, RT_WEB, { authTime: seconds(harness.clock()) - 60, acr: 'urn:acr:1' });
    harness.clock.advance(30 * SECOND);
    const stepUp = seconds(harness.clock());
    verdict = { acr: 'urn:acr:3', authTime: stepUp, amr: ['pwd', 'otp'] };
    const updated = await refresh(harness.app, rt);
    expect(updated.status).toBe(200);
    expect(decodeJwt(updated.body.access_token).payload).toMatchObject({ sub: 'user-1', acr: 'urn:acr:3', auth_time: stepUp, amr: ['pwd', 'otp'] });
    expect(decodeJwt(updated.body.id_token).payload).toMatchObject({ sub: 'user-1', acr: 'urn:acr:3', auth_time: stepUp, amr: ['pwd', 'otp'] });
    verdict = true;
    const later = await refresh(harness.app, updated.body.refresh_token);
    expect(decodeJwt(later.body.access_token).payload).toMatchObject({ acr: 'urn:acr:3', auth_time: stepUp });
  });

  it('an update cannot change the subject', async () => {
    const sneaky: SessionUpdate = Object.assign({ acr: 'urn:acr:2' }, { subject: 'admin' });
    const harness = sessionApp(() => sneaky);
    const { refreshToken: rt } = await startGrant(harness, RT_WEB);
    const res = await refresh(harness.app, rt);
    expect(decodeJwt(res.body.access_token).payload).toMatchObject({ sub: 'user-1', acr: 'urn:acr:2' });
    expect(decodeJwt(res.body.id_token).payload.sub).toBe('user-1');
    expect((await storedToken(harness.storage, res.body.refresh_token))?.subject).toBe('user-1');
  });

  it('is not called for a foreign or unknown token', async () => {
    let calls = 0;
    const harness = sessionApp(() => { calls += 1; return true; });
    const { refreshToken: rt } = await startGrant(harness, RT_WEB);
    await refresh(harness.app, rt, RT_WEB_B);
    await refresh(harness.app, 'A'.repeat(43));
    expect(calls).toBe(0);
  });

  // Documented (README): in reuse mode nothing is written on refresh, so an update applies to
  // that response only; the hook runs on every refresh and is expected to return current facts.
  it('reuse mode: an update applies to that response; a later refresh asks the hook again', async () => {
    let verdict: boolean | SessionUpdate = { acr: 'urn:acr:3' };
    const harness = sessionApp(() => verdict);
    const { refreshToken: rt } = await startGrant(harness, RT_REUSE, { acr: 'urn:acr:1' });
    const first = await refresh(harness.app, rt, RT_REUSE);
    expect(decodeJwt(first.body.access_token).payload.acr).toBe('urn:acr:3');
    verdict = true;
    const second = await refresh(harness.app, rt, RT_REUSE);
    expect(decodeJwt(second.body.access_token).payload.acr).toBe('urn:acr:1');
    verdict = { acr: 'urn:acr:2' };
    const third = await refresh(harness.app, rt, RT_REUSE);
    expect(decodeJwt(third.body.access_token).payload.acr).toBe('urn:acr:2');
  });
});

describe('rotation', () => {
  it('every use rotates: the old token is marked used, the successor links to it, a chain of 5 works', async () => {
    const harness = createRefreshTestApp();
    const { refreshToken: first, grantId } = await startGrant(harness, RT_WEB);
    let current = first;
    const seen = new Set([first]);
    for (let i = 0; i < 5; i += 1) {
      harness.clock.advance(60 * SECOND);
      const res = await refresh(harness.app, current);
      expect(res.status).toBe(200);
      const next = res.body.refresh_token as string;
      expect(seen.has(next)).toBe(false);
      seen.add(next);
      const old = await storedToken(harness.storage, current);
      expect(old?.consumedAt).toBe(harness.clock());
      expect(await storedToken(harness.storage, next)).toMatchObject({ grantId, clientId: 'rt-web', parentHash: hashOpaqueToken(current), issuedAt: harness.clock() });
      current = next;
    }
  });

  it('reuse policy (confidential, absolute): no refresh_token in the response, the same token keeps working, nothing new stored', async () => {
    const memory = createMemoryStorage();
    const harness = createRefreshTestApp({ storage: memory });
    const { refreshToken: rt, grantId } = await startGrant(harness, RT_REUSE);
    expect(memory.size().refreshTokens).toBe(1);
    for (let i = 0; i < 3; i += 1) {
      harness.clock.advance(DAY);
      const res = await refresh(harness.app, rt, RT_REUSE);
      expect(res.status).toBe(200);
      expect('refresh_token' in res.body).toBe(false);
      expect(res.body.access_token).toEqual(expect.any(String));
    }
    expect(memory.size().refreshTokens).toBe(1);
    expect((await storedToken(harness.storage, rt))?.consumedAt).toBeUndefined();
    expect(eventsOf(harness.events, 'token.issued').filter((e) => e.grantType === 'refresh_token')).toHaveLength(3);
    expect(eventsOf(harness.events, 'token.issued').every((e) => e.grantId === grantId)).toBe(true);
    expect(eventsOf(harness.events, 'refresh_token.reused')).toHaveLength(0);
    memory.close();
  });

  it('reuse policy: another client still cannot use the token', async () => {
    const harness = createRefreshTestApp();
    const { refreshToken: rt } = await startGrant(harness, RT_REUSE);
    expectInvalidGrant(await refresh(harness.app, rt, RT_WEB));
    expect((await refresh(harness.app, rt, RT_REUSE)).status).toBe(200);
  });

  it('a public client with a reuse policy still rotates (RFC 9700 §4.14.2)', async () => {
    const harness = createRefreshTestApp();
    const { refreshToken: rt } = await startGrant(harness, RT_PUBLIC_REUSE);
    const res = await refresh(harness.app, rt, RT_PUBLIC_REUSE);
    expect(res.status).toBe(200);
    expect(res.body.refresh_token).toMatch(REFRESH_TOKEN_PATTERN);
    expect(res.body.refresh_token).not.toBe(rt);
    expect((await storedToken(harness.storage, rt))?.consumedAt).toBe(harness.clock());
    harness.clock.advance(10 * SECOND);
    expectInvalidGrant(await refresh(harness.app, rt, RT_PUBLIC_REUSE));
    expectInvalidGrant(await refresh(harness.app, res.body.refresh_token, RT_PUBLIC_REUSE));
  });
});

describe('reuse detection (RFC 9700 §4.14.2)', () => {
  it('a rotated token presented after the retry window → invalid_grant, the family revoked, events reused + grant.revoked', async () => {
    const harness = createRefreshTestApp();
    const { refreshToken: rt, grantId } = await startGrant(harness, RT_WEB);
    const rotated = await refresh(harness.app, rt);
    const rotatedAt = harness.clock();
    harness.clock.advance(5 * SECOND + 1);
    harness.events.length = 0;
    expectInvalidGrant(await refresh(harness.app, rt));
    expect(harness.events).toEqual(expect.arrayContaining([
      { type: 'refresh_token.reused', at: harness.clock(), grantId, clientId: 'rt-web', sinceRotationMs: harness.clock() - rotatedAt },
      { type: 'grant.revoked', at: harness.clock(), grantId, clientId: 'rt-web', reason: 'refresh_token_reuse' },
    ]));
    expect(await harness.storage.isGrantRevoked(grantId)).toBe(true);
    expect((await storedToken(harness.storage, rotated.body.refresh_token))?.revokedAt).toBe(harness.clock());
    expectInvalidGrant(await refresh(harness.app, rotated.body.refresh_token));
    expect(eventsOf(harness.events, 'token.issued')).toHaveLength(0);
  });

  it('revocation reaches every generation: all tokens of a 4-token chain fail after reuse of the first', async () => {
    const harness = createRefreshTestApp();
    const chain = [(await startGrant(harness, RT_WEB)).refreshToken];
    for (let i = 0; i < 3; i += 1) {
      harness.clock.advance(MINUTE);
      chain.push((await refresh(harness.app, chain[chain.length - 1])).body.refresh_token);
    }
    harness.clock.advance(MINUTE);
    for (const token of chain) expectInvalidGrant(await refresh(harness.app, token));
    expect(eventsOf(harness.events, 'grant.revoked')).toHaveLength(1);
  });

  it('a storage failure while revoking cannot hide the reuse: refresh_token.reused is reported, no grant.revoked, 500 server_error', async () => {
    let failRevoke = false;
    let memory: ReturnType<typeof createMemoryStorage> | undefined;
    const harness = createRefreshTestApp((clock) => {
      memory = createMemoryStorage({ clock });
      // A view of the memory store whose revokeGrant throws while failRevoke is set.
      const storage = new Proxy(memory, {
        get(target, property) {
          const value: unknown = Reflect.get(target, property, target);
          if (typeof value !== 'function') return value;
          if (property === 'revokeGrant' && failRevoke) return () => Promise.reject(new Error('storage unavailable (simulated)'));
          return (value as (...args: unknown[]) => unknown).bind(target);
        },
      });
      return { storage };
    });
    const { refreshToken: rt, grantId } = await startGrant(harness, RT_WEB);
    const rotated = await refresh(harness.app, rt);
    const rotatedAt = harness.clock();
    harness.clock.advance(5 * SECOND + 1);
    harness.events.length = 0;
    failRevoke = true;
    const failed = await refresh(harness.app, rt);
    expect(failed.status).toBe(500);
    expect(failed.body).toEqual({ error: 'server_error' });
    expect(failed.headers['cache-control']).toBe('no-store');
    expect(harness.events).toEqual([
      { type: 'refresh_token.reused', at: harness.clock(), grantId, clientId: 'rt-web', sinceRotationMs: harness.clock() - rotatedAt },
    ]);
    expect(harness.logged).toContainEqual(expect.objectContaining({ level: 'error', details: expect.objectContaining({ errorMessage: 'storage unavailable (simulated)' }) }));
    expect(await harness.storage.isGrantRevoked(grantId)).toBe(false);
    // Once the store is back, the same reuse is detected again and the family is revoked.
    failRevoke = false;
    harness.events.length = 0;
    expectInvalidGrant(await refresh(harness.app, rt));
    expect(harness.events.map((event) => event.type)).toEqual(['refresh_token.reused', 'grant.revoked', 'request.rejected']);
    expect(await harness.storage.isGrantRevoked(grantId)).toBe(true);
    expectInvalidGrant(await refresh(harness.app, rotated.body.refresh_token));
    memory?.close();
  });

  it('with retryWindowSeconds: 0 an immediate second use already revokes; no envelope is stored', async () => {
    const harness = createRefreshTestApp({ grants: [authorizationCode(), refreshToken({ retryWindowSeconds: 0 })] });
    const { refreshToken: rt, grantId } = await startGrant(harness, RT_WEB);
    const rotated = await refresh(harness.app, rt);
    expect((await storedToken(harness.storage, rt))?.successorEnvelope).toBeUndefined();
    expectInvalidGrant(await refresh(harness.app, rt));
    expect(await harness.storage.isGrantRevoked(grantId)).toBe(true);
    expectInvalidGrant(await refresh(harness.app, rotated.body.refresh_token));
  });
});

describe('the concurrent-retry window (default 5 s)', () => {
  it('a retry of the immediate parent within the window gets the same pair, with an honest expires_in', async () => {
    const harness = createRefreshTestApp();
    const { refreshToken: rt, grantId } = await startGrant(harness, RT_WEB);
    const original = await refresh(harness.app, rt);
    const rotatedAt = harness.clock();
    harness.clock.advance(2 * SECOND + 400);
    harness.events.length = 0;
    const retry = await refresh(harness.app, rt);
    expect(retry.status).toBe(200);
    expect(retry.body.refresh_token).toBe(original.body.refresh_token);
    expect(retry.body.access_token).toBe(original.body.access_token);
    expect(retry.body.id_token).toBe(original.body.id_token);
    expect(retry.body.scope).toBe(original.body.scope);
    expect(retry.body.expires_in).toBe(3597);
    expect(retry.body.expires_in).toBeLessThanOrEqual(original.body.expires_in);
    expect(harness.events).toEqual([{ type: 'refresh_token.retry_served', at: harness.clock(), grantId, clientId: 'rt-web', sinceRotationMs: harness.clock() - rotatedAt }]);
    expect(await harness.storage.isGrantRevoked(grantId)).toBe(false);
    // The successor is unharmed and rotates normally.
    const next = await refresh(harness.app, retry.body.refresh_token);
    expect(next.status).toBe(200);
  });

  it('several retries within the window all get the same pair', async () => {
    const harness = createRefreshTestApp();
    const { refreshToken: rt } = await startGrant(harness, RT_WEB);
    const original = await refresh(harness.app, rt);
    for (let i = 0; i < 3; i += 1) {
      harness.clock.advance(SECOND);
      expect((await refresh(harness.app, rt)).body.refresh_token).toBe(original.body.refresh_token);
    }
  });

  it('at exactly 5 s the retry is served; at 5.001 s it is reuse', async () => {
    const onTime = createRefreshTestApp();
    const a = await startGrant(onTime, RT_WEB);
    const first = await refresh(onTime.app, a.refreshToken);
    onTime.clock.advance(5 * SECOND);
    expect((await refresh(onTime.app, a.refreshToken)).body.refresh_token).toBe(first.body.refresh_token);

    const late = createRefreshTestApp();
    const b = await startGrant(late, RT_WEB);
    const second = await refresh(late.app, b.refreshToken);
    late.clock.advance(5 * SECOND + 1);
    expectInvalidGrant(await refresh(late.app, b.refreshToken));
    expect(await late.storage.isGrantRevoked(b.grantId)).toBe(true);
    expectInvalidGrant(await refresh(late.app, second.body.refresh_token));
  });

  it('retryWindowSeconds: 30 widens it', async () => {
    const harness = createRefreshTestApp({ grants: [authorizationCode(), refreshToken({ retryWindowSeconds: 30 })] });
    const { refreshToken: rt } = await startGrant(harness, RT_WEB);
    const first = await refresh(harness.app, rt);
    harness.clock.advance(29 * SECOND);
    const retry = await refresh(harness.app, rt);
    expect(retry.body.refresh_token).toBe(first.body.refresh_token);
    expect(retry.body.expires_in).toBe(3600 - 29);
  });

  it('a retry of the grandparent (parent rotated twice) → invalid_grant and the family is revoked', async () => {
    const harness = createRefreshTestApp();
    const { refreshToken: a, grantId } = await startGrant(harness, RT_WEB);
    const b = (await refresh(harness.app, a)).body.refresh_token as string;
    harness.clock.advance(SECOND);
    const c = (await refresh(harness.app, b)).body.refresh_token as string;
    harness.clock.advance(SECOND);
    expectInvalidGrant(await refresh(harness.app, a));
    expect(await harness.storage.isGrantRevoked(grantId)).toBe(true);
    expect(eventsOf(harness.events, 'grant.revoked')).toEqual([expect.objectContaining({ grantId, reason: 'refresh_token_reuse' })]);
    expectInvalidGrant(await refresh(harness.app, c));
  });

  it('a retry after the successor was already used → revokes (a retry once served does not protect later)', async () => {
    const harness = createRefreshTestApp();
    const { refreshToken: a, grantId } = await startGrant(harness, RT_WEB);
    const b = (await refresh(harness.app, a)).body.refresh_token as string;
    expect((await refresh(harness.app, a)).body.refresh_token).toBe(b);
    const c = (await refresh(harness.app, b)).body.refresh_token as string;
    expectInvalidGrant(await refresh(harness.app, a));
    expect(await harness.storage.isGrantRevoked(grantId)).toBe(true);
    expectInvalidGrant(await refresh(harness.app, c));
  });

  it('a retry of the parent by ANOTHER client within the window → invalid_grant without revoking or serving anything', async () => {
    const harness = createRefreshTestApp();
    const { refreshToken: a, grantId } = await startGrant(harness, RT_WEB);
    const b = await refresh(harness.app, a);
    harness.events.length = 0;
    const foreign = await refresh(harness.app, a, RT_WEB_B);
    expectInvalidGrant(foreign);
    expect(foreign.text).not.toContain(b.body.refresh_token);
    expect(await harness.storage.isGrantRevoked(grantId)).toBe(false);
    expect(eventsOf(harness.events, 'refresh_token.retry_served')).toHaveLength(0);
    expect(eventsOf(harness.events, 'grant.revoked')).toHaveLength(0);
    expect((await refresh(harness.app, a)).body.refresh_token).toBe(b.body.refresh_token);
    expect((await refresh(harness.app, b.body.refresh_token)).status).toBe(200);
  });

  it('the successor envelope in the parent\'s record is sealed: no token in clear, and only the parent token opens it', async () => {
    const harness = createRefreshTestApp();
    const { refreshToken: a } = await startGrant(harness, RT_WEB);
    const other = await startGrant(harness, RT_WEB);
    const b = await refresh(harness.app, a);
    const record = await storedToken(harness.storage, a);
    const envelope = record?.successorEnvelope;
    expect(typeof envelope).toBe('string');
    const sealed = envelope as string;
    const stored = JSON.stringify(record);
    for (const secret of [b.body.refresh_token, b.body.access_token, b.body.id_token, a]) {
      expect(stored).not.toContain(secret);
      expect(Buffer.from(sealed, 'base64url').toString('latin1')).not.toContain(secret);
    }
    // Wrong keys: another grant's token, the successor itself, a digest, a tampered envelope.
    expect(openSuccessor(other.refreshToken, sealed)).toBeUndefined();
    expect(openSuccessor(b.body.refresh_token, sealed)).toBeUndefined();
    expect(openSuccessor(hashOpaqueToken(a), sealed)).toBeUndefined();
    const raw = Buffer.from(sealed, 'base64url');
    raw[raw.length - 1] ^= 1;
    expect(openSuccessor(a, raw.toString('base64url'))).toBeUndefined();
    // The holder of the parent token opens it.
    const opened = openSuccessor(a, sealed);
    expect(opened?.successorHash).toBe(hashOpaqueToken(b.body.refresh_token));
    expect(opened?.body.refresh_token).toBe(b.body.refresh_token);
    expect(opened?.body.access_token).toBe(b.body.access_token);
  });
});

describe('authorization-code replay revokes the refresh-token family (RFC 6749 §4.1.2)', () => {
  it('the refresh token of the first redemption fails after the second redemption, also after a rotation', async () => {
    const harness = createRefreshTestApp();
    const { code, grantId, body } = await redeemNewCode(harness, RT_WEB);
    const first = body.refresh_token as string;
    const rotated = await refresh(harness.app, first);
    expect(rotated.status).toBe(200);
    const replay = await redeem(harness.app, { code, redirect_uri: RT_REDIRECT, code_verifier: VERIFIER }, RT_WEB);
    expectInvalidGrant(replay);
    expect(eventsOf(harness.events, 'grant.revoked')).toEqual([expect.objectContaining({ grantId, reason: 'authorization_code_replay' })]);
    expectInvalidGrant(await refresh(harness.app, rotated.body.refresh_token));
    expectInvalidGrant(await refresh(harness.app, first));
    expect((await storedToken(harness.storage, rotated.body.refresh_token))?.revokedAt).toBeDefined();
  });

  it('a replay before any refresh: the first refresh token is dead', async () => {
    const harness = createRefreshTestApp();
    const { code, body } = await redeemNewCode(harness, RT_MOBILE);
    expectInvalidGrant(await redeem(harness.app, { code, redirect_uri: RT_REDIRECT, code_verifier: VERIFIER }, RT_MOBILE));
    expectInvalidGrant(await refresh(harness.app, body.refresh_token, RT_MOBILE));
  });

  it('a reuse-mode token dies too', async () => {
    const harness = createRefreshTestApp();
    const { code, body } = await redeemNewCode(harness, RT_REUSE);
    expect((await refresh(harness.app, body.refresh_token, RT_REUSE)).status).toBe(200);
    await redeem(harness.app, { code, redirect_uri: RT_REDIRECT, code_verifier: VERIFIER }, RT_REUSE);
    expectInvalidGrant(await refresh(harness.app, body.refresh_token, RT_REUSE));
  });
});

describe('edge cases', () => {
  // An access-token lifetime shorter than the retry window: the sealed pair holds an expired
  // access token, so the retry is refused — but it is a genuine retry, so nothing is revoked.
  it('a retry inside the window after the sealed access token expired does not revoke the family', async () => {
    const clients = REFRESH_CLIENTS.map((client) => (client.client_id === 'rt-web' ? { ...client, access_token_ttl: 2 } : client));
    const harness = createRefreshTestApp({}, clients);
    const { refreshToken: rt, grantId } = await startGrant(harness, RT_WEB);
    const first = await refresh(harness.app, rt);
    harness.clock.advance(3 * SECOND);
    await refresh(harness.app, rt);
    expect(await harness.storage.isGrantRevoked(grantId)).toBe(false);
    expect((await refresh(harness.app, first.body.refresh_token)).status).toBe(200);
  });

  // Scopes removed from the client's registration are dropped from new access tokens; asking for
  // one explicitly is invalid_scope. The refresh token keeps the grant's scope.
  it('a scope removed from the client\'s registration is dropped from refreshed access tokens', async () => {
    const storage = createMemoryStorage();
    const before = createRefreshTestApp({ storage });
    const reduced = REFRESH_CLIENTS.map((client) => (client.client_id === 'rt-web' ? { ...client, scope: 'openid offline_access api:read' } : client));
    const after = createRefreshTestApp({ storage }, reduced);
    const { refreshToken: rt } = await startGrant(before, RT_WEB);
    const res = await refresh(after.app, rt);
    expect(res.status).toBe(200);
    const scope = String(decodeJwt(res.body.access_token).payload.scope).split(' ');
    expect(scope.every((token) => ['openid', 'offline_access', 'api:read'].includes(token))).toBe(true);
    expect(GRANT_SCOPE.split(' ').some((token) => !scope.includes(token))).toBe(true);
    const removed = GRANT_SCOPE.split(' ').find((token) => !scope.includes(token)) as string;
    const explicit = await refresh(after.app, res.body.refresh_token, undefined, { scope: removed });
    expect(explicit.body.error).toBe('invalid_scope');
    storage.close();
  });

  // A client whose policy became `none` can no longer refresh the families it has.
  it('a client switched to a none policy cannot refresh its existing families', async () => {
    const storage = createMemoryStorage();
    const before = createRefreshTestApp({ storage });
    const none = REFRESH_CLIENTS.map((client) => (client.client_id === 'rt-web' ? { ...client, refresh_token_policy: { type: 'none' as const } } : client));
    const after = createRefreshTestApp({ storage }, none);
    const { refreshToken: rt } = await startGrant(before, RT_WEB);
    expectInvalidGrant(await refresh(after.app, rt));
    storage.close();
  });

  // A retry served from the window does not consult checkSession: the first request just did.
  it('a retry inside the window is served even when checkSession now says the session ended', async () => {
    let alive = true;
    const harness = createRefreshTestApp({ grants: [authorizationCode(), refreshToken({ checkSession: () => alive })] });
    const { refreshToken: rt, grantId } = await startGrant(harness, RT_WEB);
    const first = await refresh(harness.app, rt);
    alive = false;
    harness.clock.advance(SECOND);
    const retry = await refresh(harness.app, rt);
    expect(retry.status).toBe(200);
    expect(retry.body.refresh_token).toBe(first.body.refresh_token);
    expect(await harness.storage.isGrantRevoked(grantId)).toBe(false);
    expectInvalidGrant(await refresh(harness.app, first.body.refresh_token));
    expect(await harness.storage.isGrantRevoked(grantId)).toBe(true);
  });
});
