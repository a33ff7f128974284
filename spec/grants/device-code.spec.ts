// spec/grants/device-code.spec.ts
// Polling the token endpoint with grant_type=urn:ietf:params:oauth:grant-type:device_code
// (RFC 8628 §3.4-§3.5, security model rules H65–H72): parameters and client binding, client
// authentication, authorization_pending, slow_down with the stored growing interval (capped,
// shared across instances), access_denied, expired_token, the tokens of an approved request
// (as the authorization-code grant issues them), single redemption with revocation, 400 not
// 429, and JSON bodies. The device authorization endpoint is in
// device-authorization-endpoint.spec.ts, the verification API in device-verification.spec.ts,
// parallel polls in device-code-race.spec.ts.
import jwt from 'jsonwebtoken';
import request from 'supertest';
import { createMemoryStorage, hashOpaqueToken, type MemoryStorage, type TokenEndpointEvent } from '../../lib';
import { basic, decodeJwt, ISSUER, SERVICE_SECRET, type CodeTestApp } from '../helpers/create-app';
import { leftHalfHash, publishedKey, seconds } from '../helpers/code-flow';
import { approval, createDeviceTestApp, DEVICE_CLIENTS, DEVICE_GRANT, deviceRecord, pollDevice, SECOND, startApproved, startDevice, TV, TV_B, TV_PUBLIC } from '../helpers/device-flow';

const REFRESH_TOKEN_PATTERN = /^[A-Za-z0-9_-]{43}$/;

type EventOf<T extends TokenEndpointEvent['type']> = Extract<TokenEndpointEvent, { type: T }>;

function eventsOf<T extends TokenEndpointEvent['type']>(events: readonly TokenEndpointEvent[], type: T): EventOf<T>[] {
  return events.filter((event): event is EventOf<T> => event.type === type);
}

/** Asserts the RFC 6749 §5.2 envelope with the given status and error code. */
function expectError(res: request.Response, error: string, status = 400): void {
  expect({ status: res.status, error: res.body.error }).toEqual({ status, error });
  expect(res.headers['content-type']).toMatch(/^application\/json/);
  expect(res.headers['cache-control']).toBe('no-store');
  expect(res.headers.pragma).toBe('no-cache');
  expect(Object.keys(res.body).sort()).toEqual(['error', 'error_description']);
  expect(res.body.access_token).toBeUndefined();
}

/** POST /connect/token with grant_type=refresh_token as the confidential "tv" client. */
function refresh(harness: CodeTestApp, refreshTokenValue: string): request.Test {
  return request(harness.app).post('/connect/token').set('Authorization', basic('tv', SERVICE_SECRET)).type('form')
    .send(`grant_type=refresh_token&refresh_token=${refreshTokenValue}`);
}

describe('poll parameters and client binding', () => {
  const harness = createDeviceTestApp();
  const { app } = harness;

  it.each<[string, string | undefined]>([
    ['device_code missing', undefined],
    ['device_code empty (= absent)', ''],
    ['device_code over 512 characters', 'A'.repeat(513)],
  ])('%s → 400 invalid_request', async (_name, value) => {
    const res = await pollDevice(app, value);
    expectError(res, 'invalid_request');
  });

  it('device_code in the URL query → 400 invalid_request, and the poll is not registered', async () => {
    const started = await startDevice(app);
    const res = await request(app).post(`/connect/token?device_code=${started.device_code}`).set('Authorization', basic('tv', SERVICE_SECRET)).type('form')
      .send(`grant_type=${encodeURIComponent(DEVICE_GRANT)}`);
    expectError(res, 'invalid_request');
    expect((await deviceRecord(harness, started.device_code)).lastPolledAt).toBeUndefined();
  });

  it.each([
    ['an unknown device code', 'A'.repeat(43)],
    ['garbage', 'not a device code'],
  ])('%s → 400 invalid_grant', async (_name, value) => {
    expectError(await pollDevice(app, value), 'invalid_grant');
  });

  it('client A\'s device code polled by client B → invalid_grant, and A\'s request is untouched', async () => {
    const started = await startDevice(app);
    expectError(await pollDevice(app, started.device_code, TV_B), 'invalid_grant');
    expectError(await pollDevice(app, started.device_code, TV_PUBLIC), 'invalid_grant');
    const record = await deviceRecord(harness, started.device_code);
    expect(record.lastPolledAt).toBeUndefined();
    expect(record.interval).toBe(5);
    // A's own first poll is not judged as "too soon" because of B's attempts.
    expectError(await pollDevice(app, started.device_code, TV), 'authorization_pending');
  });

  it('an approved device code polled by another client → invalid_grant: not consumed, not revoked, the owner still gets tokens', async () => {
    const started = await startApproved(harness);
    expectError(await pollDevice(app, started.device_code, TV_B), 'invalid_grant');
    expect(await harness.storage.isGrantRevoked(started.grantId)).toBe(false);
    expect((await deviceRecord(harness, started.device_code)).consumedAt).toBeUndefined();
    expect((await pollDevice(app, started.device_code, TV)).status).toBe(200);
  });

  it('unknown and foreign device codes get the same answer (no oracle)', async () => {
    const started = await startDevice(app);
    const foreign = await pollDevice(app, started.device_code, TV_B);
    const unknown = await pollDevice(app, 'B'.repeat(43), TV_B);
    expect(foreign.body).toEqual(unknown.body);
  });

  it('a client without the device grant → 400 unauthorized_client, before the code is looked at', async () => {
    const started = await startDevice(app);
    expectError(await pollDevice(app, started.device_code, { id: 'web', secret: SERVICE_SECRET }), 'unauthorized_client');
    expect((await deviceRecord(harness, started.device_code)).lastPolledAt).toBeUndefined();
  });

  it('a scope parameter on the poll cannot widen the grant', async () => {
    const started = await startApproved(harness, { scope: 'api:read' });
    const res = await pollDevice(app, started.device_code, TV, { scope: 'openid api:read api:write offline_access' });
    expect(res.status).toBe(200);
    expect(res.body.scope).toBe('api:read');
    expect(decodeJwt(res.body.access_token).payload.scope).toBe('api:read');
    expect(res.body.id_token).toBeUndefined();
    expect(res.body.refresh_token).toBeUndefined();
  });
});

describe('client authentication on the poll', () => {
  const harness = createDeviceTestApp();
  const { app } = harness;

  it('a confidential device client authenticates with Basic', async () => {
    const started = await startDevice(app);
    expectError(await pollDevice(app, started.device_code, TV), 'authorization_pending');
  });

  it('a confidential device client may send its secret in the body', async () => {
    const started = await startDevice(app);
    expectError(await pollDevice(app, started.device_code, { id: 'tv', secret: SERVICE_SECRET, inBody: true }), 'authorization_pending');
  });

  it('a public device client identifies itself with client_id and gets tokens', async () => {
    const started = await startApproved(harness, { scope: 'openid api:read' }, approval(), TV_PUBLIC);
    const res = await pollDevice(app, started.device_code, TV_PUBLIC);
    expect(res.status).toBe(200);
    expect(decodeJwt(res.body.access_token).payload.client_id).toBe('tv-public');
  });

  it('a public client without client_id → 401 invalid_client', async () => {
    const started = await startDevice(app, undefined, TV_PUBLIC);
    expectError(await pollDevice(app, started.device_code, { anonymous: true }), 'invalid_client', 401);
  });

  it('a wrong secret → 401 invalid_client with WWW-Authenticate; the poll is not registered and nothing is consumed', async () => {
    const started = await startApproved(harness);
    const res = await pollDevice(app, started.device_code, { id: 'tv', secret: 'wrong-secret-0000000000' });
    expectError(res, 'invalid_client', 401);
    expect(res.headers['www-authenticate']).toMatch(/^Basic realm=/);
    const record = await deviceRecord(harness, started.device_code);
    expect(record.lastPolledAt).toBeUndefined();
    expect(record.consumedAt).toBeUndefined();
    expect((await pollDevice(app, started.device_code, TV)).status).toBe(200);
  });
});

describe('authorization_pending and slow_down (RFC 8628 §3.5)', () => {
  it('while the user has not acted → 400 authorization_pending; the first poll is never "too soon"', async () => {
    const harness = createDeviceTestApp();
    const started = await startDevice(harness.app);
    const res = await pollDevice(harness.app, started.device_code);
    expectError(res, 'authorization_pending');
    expect(res.headers['retry-after']).toBeUndefined();
    expect((await deviceRecord(harness, started.device_code)).lastPolledAt).toBe(harness.clock());
  });

  it('a poll exactly one interval later is fine; 1 ms sooner is slow_down and the stored interval grows by 5 s', async () => {
    const harness = createDeviceTestApp();
    const started = await startDevice(harness.app);
    await pollDevice(harness.app, started.device_code);
    harness.clock.advance(5 * SECOND);
    expectError(await pollDevice(harness.app, started.device_code), 'authorization_pending');
    harness.clock.advance(5 * SECOND - 1);
    const slow = await pollDevice(harness.app, started.device_code);
    expectError(slow, 'slow_down');
    expect(slow.body.error_description).toMatch(/\b10 seconds\b/);
    expect(slow.headers['retry-after']).toBeUndefined();
    const record = await deviceRecord(harness, started.device_code);
    expect(record.interval).toBe(10);
    expect(record.lastPolledAt).toBe(harness.clock());
  });

  it('after one slow_down, a poll 6 s later is still too soon (the interval is now 10 s), and it grows again', async () => {
    const harness = createDeviceTestApp();
    const started = await startDevice(harness.app);
    await pollDevice(harness.app, started.device_code);
    harness.clock.advance(1 * SECOND);
    expectError(await pollDevice(harness.app, started.device_code), 'slow_down');
    harness.clock.advance(6 * SECOND);
    expectError(await pollDevice(harness.app, started.device_code), 'slow_down');
    expect((await deviceRecord(harness, started.device_code)).interval).toBe(15);
  });

  it('after one slow_down, a poll 10 s later is fine, and the interval stays 10 s', async () => {
    const harness = createDeviceTestApp();
    const started = await startDevice(harness.app);
    await pollDevice(harness.app, started.device_code);
    harness.clock.advance(1 * SECOND);
    expectError(await pollDevice(harness.app, started.device_code), 'slow_down');
    harness.clock.advance(10 * SECOND);
    expectError(await pollDevice(harness.app, started.device_code), 'authorization_pending');
    harness.clock.advance(10 * SECOND);
    expectError(await pollDevice(harness.app, started.device_code), 'authorization_pending');
    expect((await deviceRecord(harness, started.device_code)).interval).toBe(10);
  });

  it('the interval option is the starting interval', async () => {
    const harness = createDeviceTestApp({ interval: 10 });
    const started = await startDevice(harness.app);
    await pollDevice(harness.app, started.device_code);
    harness.clock.advance(9 * SECOND);
    expectError(await pollDevice(harness.app, started.device_code), 'slow_down');
    expect((await deviceRecord(harness, started.device_code)).interval).toBe(15);
  });

  it('growth stops at 60 s: twenty too-early polls leave the interval at 60; 59 s is too soon, 60 s is fine', async () => {
    const harness = createDeviceTestApp();
    const started = await startDevice(harness.app);
    await pollDevice(harness.app, started.device_code);
    const intervals: number[] = [];
    for (let i = 0; i < 20; i += 1) {
      harness.clock.advance(1 * SECOND);
      expectError(await pollDevice(harness.app, started.device_code), 'slow_down');
      intervals.push((await deviceRecord(harness, started.device_code)).interval);
    }
    expect(intervals).toEqual([10, 15, 20, 25, 30, 35, 40, 45, 50, 55, 60, 60, 60, 60, 60, 60, 60, 60, 60, 60]);
    harness.clock.advance(59 * SECOND);
    expectError(await pollDevice(harness.app, started.device_code), 'slow_down');
    harness.clock.advance(60 * SECOND);
    expectError(await pollDevice(harness.app, started.device_code), 'authorization_pending');
    expect((await deviceRecord(harness, started.device_code)).interval).toBe(60);
  });

  // Growth is min(interval + 5, 60): an interval of 7 stops at exactly 60.
  it('growth stops at 60 s also when the interval option is not a multiple of 5 (interval 7)', async () => {
    const harness = createDeviceTestApp({ interval: 7 });
    const started = await startDevice(harness.app);
    await pollDevice(harness.app, started.device_code);
    for (let i = 0; i < 15; i += 1) {
      harness.clock.advance(1 * SECOND);
      await pollDevice(harness.app, started.device_code);
    }
    expect((await deviceRecord(harness, started.device_code)).interval).toBeLessThanOrEqual(60);
  });

  it('the grown interval is stored: it holds across two app instances sharing one storage', async () => {
    let memory: MemoryStorage | undefined;
    const one = createDeviceTestApp({}, (clock) => {
      memory = createMemoryStorage({ clock });
      return { storage: memory };
    });
    const two = createDeviceTestApp({}, { storage: memory, clock: one.clock });
    const clock = one.clock;
    const started = await startDevice(one.app);
    expectError(await pollDevice(one.app, started.device_code), 'authorization_pending');
    clock.advance(1 * SECOND);
    expectError(await pollDevice(two.app, started.device_code), 'slow_down');
    expect((await two.storage.findDeviceCode(hashOpaqueToken(started.device_code)))?.interval).toBe(10);
    clock.advance(6 * SECOND);
    expectError(await pollDevice(one.app, started.device_code), 'slow_down');
    expect((await one.storage.findDeviceCode(hashOpaqueToken(started.device_code)))?.interval).toBe(15);
    clock.advance(15 * SECOND);
    expectError(await pollDevice(two.app, started.device_code), 'authorization_pending');
    await two.tokenRouter.deviceVerification.approve(started.user_code, approval());
    clock.advance(14 * SECOND);
    expectError(await pollDevice(one.app, started.device_code), 'slow_down');
    clock.advance(20 * SECOND);
    expect((await pollDevice(one.app, started.device_code)).status).toBe(200);
    memory?.close();
  });
});

describe('access_denied and expired_token', () => {
  it('denied → 400 access_denied on every poll until the code expires, then expired_token', async () => {
    const harness = createDeviceTestApp();
    const started = await startDevice(harness.app);
    await pollDevice(harness.app, started.device_code);
    await harness.tokenRouter.deviceVerification.deny(started.user_code);
    harness.clock.advance(5 * SECOND);
    expectError(await pollDevice(harness.app, started.device_code), 'access_denied');
    harness.clock.advance(5 * SECOND);
    expectError(await pollDevice(harness.app, started.device_code), 'access_denied');
    // Too soon is still slow_down, whatever the decision.
    expectError(await pollDevice(harness.app, started.device_code), 'slow_down');
    harness.clock.set((await deviceRecord(harness, started.device_code)).expiresAt);
    expectError(await pollDevice(harness.app, started.device_code), 'expired_token');
    expect(eventsOf(harness.events, 'token.issued')).toHaveLength(0);
  });

  it('pending until 1 ms before expires_in, expired_token from then on', async () => {
    const harness = createDeviceTestApp();
    const started = await startDevice(harness.app);
    harness.clock.advance(1800 * SECOND - 1);
    expectError(await pollDevice(harness.app, started.device_code), 'authorization_pending');
    harness.clock.advance(1);
    expectError(await pollDevice(harness.app, started.device_code), 'expired_token');
  });

  it('an approved request that was not polled before expiry → expired_token, no tokens', async () => {
    const harness = createDeviceTestApp({ expiresIn: 120 });
    const started = await startApproved(harness);
    harness.clock.advance(120 * SECOND);
    expectError(await pollDevice(harness.app, started.device_code), 'expired_token');
    expect(eventsOf(harness.events, 'token.issued')).toHaveLength(0);
    expect((await deviceRecord(harness, started.device_code)).consumedAt).toBeUndefined();
  });
});

describe('an approved request → tokens exactly as the authorization-code grant issues them', () => {
  const harness = createDeviceTestApp();
  const { app, tokenRouter, clock, events } = harness;
  const session = approval({
    subject: 'user-1',
    authTime: seconds(Date.UTC(2026, 0, 1)) - 60,
    acr: 'urn:acr:2',
    amr: ['pwd', 'otp'],
    sid: 'sid-1',
    claims: { access_token: { tnuid: 'tn-1' }, id_token: { name: 'Ann' } },
  });

  it('the response: access_token, Bearer, expires_in, scope, id_token and refresh_token, with no-store headers', async () => {
    const started = await startApproved(harness, { scope: 'openid offline_access api:read' }, session);
    events.length = 0;
    const res = await pollDevice(app, started.device_code);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/json; charset=utf-8$/i);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.headers.pragma).toBe('no-cache');
    expect(res.body).toEqual({
      access_token: expect.any(String),
      token_type: 'Bearer',
      expires_in: 3600,
      scope: 'openid offline_access api:read',
      id_token: expect.any(String),
      refresh_token: expect.stringMatching(REFRESH_TOKEN_PATTERN),
    });
    expect(res.text).not.toContain(started.device_code);
    expect(eventsOf(events, 'token.issued')).toEqual([{
      type: 'token.issued', at: clock(), grantType: DEVICE_GRANT, clientId: 'tv', subject: 'user-1', jti: decodeJwt(res.body.access_token).payload.jti,
      grantId: started.grantId, scope: ['openid', 'offline_access', 'api:read'], refreshTokenIssued: true, idTokenIssued: true,
    }]);
    expect(JSON.stringify(events)).not.toContain(started.device_code);
    expect((await deviceRecord(harness, started.device_code)).consumedAt).toBe(clock());
  });

  it('the access token (RFC 9068) carries sub, auth_time, acr, amr, sid and the session\'s claims', async () => {
    const started = await startApproved(harness, { scope: 'openid api:read' }, session);
    const res = await pollDevice(app, started.device_code);
    const verified = jwt.verify(res.body.access_token, publishedKey(tokenRouter, 'test-key'), { algorithms: ['RS256'], clockTimestamp: seconds(clock()), complete: true });
    expect(verified.header).toEqual({ alg: 'RS256', typ: 'at+jwt', kid: 'test-key' });
    const iat = seconds(clock());
    expect(verified.payload).toEqual({
      iss: ISSUER,
      sub: 'user-1',
      aud: ISSUER,
      client_id: 'tv',
      iat,
      nbf: iat,
      exp: iat + 3600,
      jti: expect.any(String),
      scope: 'openid api:read',
      auth_time: session.authTime,
      acr: 'urn:acr:2',
      amr: ['pwd', 'otp'],
      sid: 'sid-1',
      tnuid: 'tn-1',
      grant_id: expect.any(String),
    });
  });

  it('the ID token: aud = the client, the session facts, at_hash, the host claims, and no nonce', async () => {
    const started = await startApproved(harness, { scope: 'openid api:read' }, session);
    const res = await pollDevice(app, started.device_code);
    const verified = jwt.verify(res.body.id_token, publishedKey(tokenRouter, 'test-key'), { algorithms: ['RS256'], audience: 'tv', issuer: ISSUER, clockTimestamp: seconds(clock()), complete: true });
    expect(verified.header).toEqual({ alg: 'RS256', typ: 'JWT', kid: 'test-key' });
    const iat = seconds(clock());
    expect(verified.payload).toEqual({
      iss: ISSUER,
      sub: 'user-1',
      aud: 'tv',
      iat,
      nbf: iat,
      exp: iat + 300,
      auth_time: session.authTime,
      acr: 'urn:acr:2',
      amr: ['pwd', 'otp'],
      sid: 'sid-1',
      at_hash: leftHalfHash(res.body.access_token, 'sha256'),
      name: 'Ann',
      grant_id: started.grantId ?? expect.any(String),
    });
    expect('nonce' in (verified.payload as Record<string, unknown>)).toBe(false);
  });

  it('leaves auth_time, acr, amr and sid out (not null) when the approval had none', async () => {
    const started = await startApproved(harness, { scope: 'openid api:read' }, { subject: 'user-2' });
    const res = await pollDevice(app, started.device_code);
    for (const token of [res.body.access_token, res.body.id_token]) {
      const { payload } = decodeJwt(token);
      expect(payload.sub).toBe('user-2');
      for (const claim of ['auth_time', 'acr', 'amr', 'sid', 'nonce']) expect(claim in payload).toBe(false);
      expect(Object.values(payload)).not.toContain(null);
    }
  });

  it('no openid → no ID token', async () => {
    const started = await startApproved(harness, { scope: 'api:read' });
    const res = await pollDevice(app, started.device_code);
    expect(res.body).toEqual({ access_token: expect.any(String), token_type: 'Bearer', expires_in: 3600, scope: 'api:read' });
  });

  it('the refresh token is stored (digest only) in the device grant\'s family with the session, and refreshes', async () => {
    const started = await startApproved(harness, { scope: 'openid offline_access api:read' }, session);
    const res = await pollDevice(app, started.device_code);
    const stored = await harness.storage.findRefreshToken(hashOpaqueToken(res.body.refresh_token));
    expect(stored).toMatchObject({ grantId: started.grantId, clientId: 'tv', scope: ['openid', 'offline_access', 'api:read'], subject: 'user-1', sid: 'sid-1', acr: 'urn:acr:2' });
    expect(stored?.revokedAt).toBeUndefined();
    expect(await harness.storage.findRefreshToken(res.body.refresh_token)).toBeUndefined();
    const refreshed = await refresh(harness, res.body.refresh_token);
    expect(refreshed.status).toBe(200);
    expect(decodeJwt(refreshed.body.access_token).payload).toMatchObject({ sub: 'user-1', sid: 'sid-1', client_id: 'tv' });
  });

  it.each<[string, string, Parameters<typeof pollDevice>[2]]>([
    ['without offline_access', 'openid api:read', TV],
    ['for a client without the refresh_token grant type', 'openid offline_access api:read', { id: 'tv-no-refresh', secret: SERVICE_SECRET }],
    ['for a public client (default policy: none)', 'openid offline_access api:read', TV_PUBLIC],
  ])('no refresh token %s', async (_name, scope, caller) => {
    const started = await startApproved(harness, { scope }, approval(), caller);
    const res = await pollDevice(app, started.device_code, caller);
    expect(res.status).toBe(200);
    expect('refresh_token' in res.body).toBe(false);
    expect(res.body.scope).toBe(scope);
  });

  it('a pairwise client sees the pairwise sub in both tokens, as tokenRouter.subjectFor says', async () => {
    const caller = { id: 'tv-pairwise', secret: SERVICE_SECRET } as const;
    const started = await startApproved(harness, { scope: 'openid api:read' }, approval(), caller);
    const res = await pollDevice(app, started.device_code, caller);
    const client = DEVICE_CLIENTS.find((c) => c.client_id === 'tv-pairwise');
    if (!client) throw new Error('no pairwise client');
    const expected = tokenRouter.subjectFor(client, 'user-1');
    expect(expected).not.toBe('user-1');
    expect(decodeJwt(res.body.access_token).payload.sub).toBe(expected);
    expect(decodeJwt(res.body.id_token).payload.sub).toBe(expected);
  });

  it('a too-early poll after approval is slow_down, and the next proper poll gets the tokens', async () => {
    const started = await startDevice(app);
    await pollDevice(app, started.device_code);
    await tokenRouter.deviceVerification.approve(started.user_code, approval());
    clock.advance(2 * SECOND);
    expectError(await pollDevice(app, started.device_code), 'slow_down');
    clock.advance(10 * SECOND);
    expect((await pollDevice(app, started.device_code)).status).toBe(200);
  });
});

describe('redeemed once: a later poll is invalid_grant and revokes what was issued (rule H70)', () => {
  it('the second poll → invalid_grant, grant.revoked, and the first success\'s refresh token is revoked', async () => {
    const harness = createDeviceTestApp();
    const started = await startApproved(harness, { scope: 'openid offline_access api:read' });
    const first = await pollDevice(harness.app, started.device_code);
    expect(first.status).toBe(200);
    expect(await harness.storage.isGrantRevoked(started.grantId)).toBe(false);
    harness.events.length = 0;
    harness.clock.advance(10 * SECOND);
    const second = await pollDevice(harness.app, started.device_code);
    expectError(second, 'invalid_grant');
    expect(await harness.storage.isGrantRevoked(started.grantId)).toBe(true);
    expect(harness.events).toContainEqual({ type: 'grant.revoked', at: harness.clock(), grantId: started.grantId, clientId: 'tv', reason: 'device_code_replay' });
    expect(eventsOf(harness.events, 'token.issued')).toHaveLength(0);
    expect((await harness.storage.findRefreshToken(hashOpaqueToken(first.body.refresh_token)))?.revokedAt).toBe(harness.clock());
    expectError(await refresh(harness, first.body.refresh_token), 'invalid_grant');
  });

  // The throttle runs first: a device that double-polls gets slow_down, not a revocation of its
  // own tokens; a poll that respects the interval after the success is the replay.
  it('a replay right away (sooner than the interval) is slow_down; once the interval passed it is invalid_grant and revokes', async () => {
    const harness = createDeviceTestApp();
    const started = await startApproved(harness);
    expect((await pollDevice(harness.app, started.device_code)).status).toBe(200);
    expectError(await pollDevice(harness.app, started.device_code), 'slow_down');
    expect(await harness.storage.isGrantRevoked(started.grantId)).toBe(false);
    harness.clock.advance(11 * SECOND);
    expectError(await pollDevice(harness.app, started.device_code), 'invalid_grant');
    expect(await harness.storage.isGrantRevoked(started.grantId)).toBe(true);
  });

  it('a replay after the code expired is still invalid_grant (not expired_token) and revokes', async () => {
    const harness = createDeviceTestApp();
    const started = await startApproved(harness);
    expect((await pollDevice(harness.app, started.device_code)).status).toBe(200);
    harness.clock.advance(1800 * SECOND);
    expectError(await pollDevice(harness.app, started.device_code), 'invalid_grant');
    expect(await harness.storage.isGrantRevoked(started.grantId)).toBe(true);
  });

  it('another client presenting the used device code → invalid_grant, and cannot revoke the owner\'s grant', async () => {
    const harness = createDeviceTestApp();
    const started = await startApproved(harness);
    expect((await pollDevice(harness.app, started.device_code)).status).toBe(200);
    expectError(await pollDevice(harness.app, started.device_code, TV_B), 'invalid_grant');
    expect(await harness.storage.isGrantRevoked(started.grantId)).toBe(false);
  });
});

describe('polling errors are 400, never 429 (rule H72)', () => {
  it('with the default rate limit, 30 polls at 5 s intervals all get 400 authorization_pending', async () => {
    const harness = createDeviceTestApp({}, { rateLimit: undefined });
    const started = await startDevice(harness.app);
    const answers: Array<[number, string]> = [];
    for (let i = 0; i < 30; i += 1) {
      const res = await pollDevice(harness.app, started.device_code);
      answers.push([res.status, res.body.error]);
      harness.clock.advance(5 * SECOND);
    }
    expect(answers).toEqual(Array.from({ length: 30 }, () => [400, 'authorization_pending']));
    expect(eventsOf(harness.events, 'rate_limited')).toHaveLength(0);
  });

  it('with the default rate limit, a device polling as fast as it can gets 400 slow_down, not 429', async () => {
    const harness = createDeviceTestApp({}, { rateLimit: undefined });
    const started = await startDevice(harness.app);
    await pollDevice(harness.app, started.device_code);
    for (let i = 0; i < 30; i += 1) {
      const res = await pollDevice(harness.app, started.device_code);
      expectError(res, 'slow_down');
      expect(res.headers['retry-after']).toBeUndefined();
    }
  });
});

describe('JSON bodies on the poll (TelenorID+ accepts them; we do not)', () => {
  it('→ 400 invalid_request; the poll is not registered and the request can still be redeemed with a form', async () => {
    const harness = createDeviceTestApp();
    const started = await startApproved(harness);
    const res = await request(harness.app).post('/connect/token').set('Authorization', basic('tv', SERVICE_SECRET)).type('json')
      .send({ grant_type: DEVICE_GRANT, device_code: started.device_code, client_id: 'tv' });
    expectError(res, 'invalid_request');
    expect(res.text).not.toContain(started.device_code);
    const record = await deviceRecord(harness, started.device_code);
    expect(record.lastPolledAt).toBeUndefined();
    expect(record.consumedAt).toBeUndefined();
    expect((await pollDevice(harness.app, started.device_code)).status).toBe(200);
  });

  it('→ 400 invalid_request for a public client too', async () => {
    const harness = createDeviceTestApp();
    const started = await startDevice(harness.app, undefined, TV_PUBLIC);
    const res = await request(harness.app).post('/connect/token').set('Content-Type', 'application/json')
      .send(JSON.stringify({ grant_type: DEVICE_GRANT, device_code: started.device_code, client_id: 'tv-public' }));
    expectError(res, 'invalid_request');
  });
});
