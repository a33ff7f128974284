// spec/security-model/state-and-faults.spec.ts
// Rules of docs/security-model.md about state and failures that had no test of their own: refusals
// leave no partial state (L101), consume before mint / record before respond (P122), no caching of
// client records (P124), a failing store (P125) and synchronous revocation (P129).
// Test names start with the rule id.
import request from 'supertest';
import { createMemoryStorage, hashClientSecret, hashOpaqueToken, type ClientRegistry, type MemoryClientDefinition, type MemoryStorage, type RegisteredClient, type StorageAdapter } from '../../lib';
import { basic, createTestApp, SERVICE_SECRET, WEB_REDIRECT } from '../helpers/create-app';
import { CHALLENGE, codeInput, redeem, VERIFIER } from '../helpers/code-flow';
import { approval, createDeviceTestApp, DEVICE_CLIENTS, deviceRecord, pollDevice, SECOND, startApproved, startDevice, TV, TV_B, TV_SCOPE } from '../helpers/device-flow';
import { createRefreshTestApp, GRANT_SCOPE, refresh, RT_REDIRECT, RT_WEB, startGrant, storedToken } from '../helpers/refresh-flow';
import { recordCalls } from '../helpers/record-calls';

/** The storage methods that only read. */
const READS = new Set(['findAuthorizationCode', 'findRefreshToken', 'findDeviceCode', 'findDeviceCodeByUserCode', 'isGrantRevoked']);

const WEB = { id: 'web', secret: SERVICE_SECRET } as const;
const WEB_B = { id: 'web-b', secret: SERVICE_SECRET } as const;
/** The device clients plus a second code client. */
const CLIENTS: MemoryClientDefinition[] = [
  ...DEVICE_CLIENTS,
  { client_id: 'web-b', client_secret: SERVICE_SECRET, grant_types: ['authorization_code', 'refresh_token'], redirect_uris: [WEB_REDIRECT], scope: TV_SCOPE },
];

/** A view of `memory` whose methods reject while they are listed in `down` (a store outage). */
function breakable(memory: MemoryStorage): { storage: StorageAdapter; down: Set<string> } {
  const down = new Set<string>();
  const storage = new Proxy(memory, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property, target);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => (down.has(String(property)) || down.has('*')
        ? Promise.reject(new Error('connect ECONNREFUSED 10.0.0.7:6379'))
        : (value as (...a: unknown[]) => unknown).apply(target, args));
    },
  }) as unknown as StorageAdapter;
  return { storage, down };
}

/** A view of `memory` whose revokeGrant resolves only after `delayMs`. */
function slowRevocation(memory: MemoryStorage, delayMs: number): StorageAdapter {
  return new Proxy(memory, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property, target);
      if (typeof value !== 'function') return value;
      if (property !== 'revokeGrant') return (...args: unknown[]) => (value as (...a: unknown[]) => unknown).apply(target, args);
      return async (...args: unknown[]) => {
        await new Promise((resolve) => setTimeout(resolve, delayMs));
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  }) as unknown as StorageAdapter;
}

/** Asserts the bare 500 answer: no description, no internals, no token. */
function expectServerError(res: request.Response): void {
  expect(res.status).toBe(500);
  expect(res.body).toEqual({ error: 'server_error' });
  expect(res.headers['cache-control']).toBe('no-store');
  expect(res.headers['content-type']).toMatch(/^application\/json/);
  expect(res.text).not.toMatch(/ECONNREFUSED|10\.0\.0\.7|claims backend/);
}

describe('L. no partial state', () => {
  it('L101 refusals write nothing to storage, for every grant: only lookups, and everything stays usable', async () => {
    const memory = createMemoryStorage();
    const { storage, calls } = recordCalls(memory);
    const harness = createDeviceTestApp({}, { storage }, CLIENTS);
    const { app, tokenRouter, clock } = harness;
    const mint = async () => (await tokenRouter.issueAuthorizationCode(codeInput({ scope: 'openid offline_access api:read', codeChallenge: CHALLENGE, codeChallengeMethod: 'S256' }))).code;
    const code = await mint();
    const expiring = await mint();
    const first = await redeem(app, { code: await mint(), redirect_uri: WEB_REDIRECT, code_verifier: VERIFIER });
    const rt = first.body.refresh_token as string;
    const device = await startDevice(app);
    calls.length = 0;

    const refusals: Array<[string, request.Response, string]> = [];
    const refuse = async (label: string, pending: request.Test, error: string) => { refusals.push([label, await pending, error]); };
    await refuse('code: wrong redirect_uri', redeem(app, { code, redirect_uri: `${WEB_REDIRECT}/`, code_verifier: VERIFIER }), 'invalid_grant');
    await refuse('code: no verifier', redeem(app, { code, redirect_uri: WEB_REDIRECT }), 'invalid_grant');
    await refuse('code: wrong verifier', redeem(app, { code, redirect_uri: WEB_REDIRECT, code_verifier: 'B'.repeat(43) }), 'invalid_grant');
    await refuse('code: malformed verifier', redeem(app, { code, redirect_uri: WEB_REDIRECT, code_verifier: 'short' }), 'invalid_request');
    await refuse('code: wider scope', redeem(app, { code, redirect_uri: WEB_REDIRECT, code_verifier: VERIFIER, scope: 'openid profile' }), 'invalid_scope');
    await refuse('code: another client', redeem(app, { code, redirect_uri: WEB_REDIRECT, code_verifier: VERIFIER }, WEB_B), 'invalid_grant');
    await refuse('code: unknown', redeem(app, { code: 'A'.repeat(43), redirect_uri: WEB_REDIRECT }), 'invalid_grant');
    await refuse('code: client without the grant', redeem(app, { code, redirect_uri: WEB_REDIRECT, code_verifier: VERIFIER }, { id: 'tv', secret: SERVICE_SECRET }), 'unauthorized_client');
    await refuse('refresh: unknown', refresh(app, 'A'.repeat(43), WEB), 'invalid_grant');
    await refuse('refresh: another client', refresh(app, rt, WEB_B), 'invalid_grant');
    await refuse('refresh: wider scope', refresh(app, rt, WEB, { scope: 'api:read api:write' }), 'invalid_scope');
    await refuse('refresh: missing', refresh(app, undefined, WEB), 'invalid_request');
    await refuse('device: unknown', pollDevice(app, 'A'.repeat(43)), 'invalid_grant');
    await refuse('device: another client', pollDevice(app, device.device_code, TV_B), 'invalid_grant');
    await refuse('device: client without the grant', pollDevice(app, device.device_code, WEB), 'unauthorized_client');
    await refuse('unsupported grant', request(app).post('/connect/token').set('Authorization', basic('web', SERVICE_SECRET)).type('form').send('grant_type=password'), 'unsupported_grant_type');
    await refuse('json body', request(app).post('/connect/token').set('Authorization', basic('web', SERVICE_SECRET)).type('json').send({ grant_type: 'refresh_token', refresh_token: rt }), 'invalid_request');
    clock.advance(1800 * SECOND);
    await refuse('code: expired', redeem(app, { code: expiring, redirect_uri: WEB_REDIRECT, code_verifier: VERIFIER }), 'invalid_grant');
    await refuse('device: expired', pollDevice(app, device.device_code), 'expired_token');

    expect(refusals.map(([label, res]) => [label, res.status === 400 ? res.body.error : res.status])).toEqual(refusals.map(([label, , error]) => [label, error]));
    expect(calls.map((call) => call.method)).toEqual(expect.arrayContaining(['findAuthorizationCode', 'findRefreshToken', 'findDeviceCode']));
    const writes = calls.filter((call) => !READS.has(call.method)).map((call) => call.method);
    expect(writes).toEqual([]);
    // Nothing consumed, rotated, polled or revoked.
    expect((await memory.findAuthorizationCode(hashOpaqueToken(code)))?.consumedAt).toBeUndefined();
    expect((await storedToken(memory, rt))?.consumedAt).toBeUndefined();
    expect((await deviceRecord({ storage: memory }, device.device_code)).lastPolledAt).toBeUndefined();
    expect((await refresh(app, rt, WEB)).status).toBe(200);
    memory.close();
  });
});

describe('P. consume before mint, record before respond', () => {
  it('P122 the refresh token is stored before the code is consumed, and both before the response', async () => {
    const memory = createMemoryStorage();
    const { storage, calls } = recordCalls(memory);
    const harness = createRefreshTestApp({ storage });
    const { code } = await harness.tokenRouter.issueAuthorizationCode({ clientId: 'rt-web', redirectUri: RT_REDIRECT, scope: GRANT_SCOPE, subject: 'user-1' });
    calls.length = 0;
    const res = await redeem(harness.app, { code, redirect_uri: RT_REDIRECT }, RT_WEB);
    expect(res.status).toBe(200);
    expect(calls.map((call) => call.method)).toEqual(['findAuthorizationCode', 'isGrantRevoked', 'saveRefreshToken', 'consumeAuthorizationCode']);
    expect(await storedToken(memory, res.body.refresh_token)).toMatchObject({ clientId: 'rt-web' });
    expect((await memory.findAuthorizationCode(hashOpaqueToken(code)))?.consumedAt).toBeDefined();
    memory.close();
  });

  it('P122 minting fails after the consume: 500 server_error, no token, the code stays burnt and a retry is a replay', async () => {
    let failing = true;
    const harness = createRefreshTestApp({ accessToken: { claims: () => { if (failing) throw new Error('claims backend down'); return undefined; } } });
    const { code, grantId } = await harness.tokenRouter.issueAuthorizationCode({ clientId: 'rt-web', redirectUri: RT_REDIRECT, scope: GRANT_SCOPE, subject: 'user-1' });
    const res = await redeem(harness.app, { code, redirect_uri: RT_REDIRECT }, RT_WEB);
    expectServerError(res);
    expect((await harness.storage.findAuthorizationCode(hashOpaqueToken(code)))?.consumedAt).toBeDefined();
    expect(harness.events.filter((e) => e.type === 'token.issued')).toHaveLength(0);
    expect(harness.logged).toContainEqual(expect.objectContaining({ level: 'error' }));
    failing = false;
    const retry = await redeem(harness.app, { code, redirect_uri: RT_REDIRECT }, RT_WEB);
    expect(retry.status).toBe(400);
    expect(retry.body.error).toBe('invalid_grant');
    expect(await harness.storage.isGrantRevoked(grantId)).toBe(true);
    expect(harness.events.filter((e) => e.type === 'token.issued')).toHaveLength(0);
  });

  it('P122 a device poll that fails after the consume: 500, the device code stays used and the next poll is a replay', async () => {
    let failing = false;
    const harness = createDeviceTestApp({}, { accessToken: { claims: () => { if (failing) throw new Error('claims backend down'); return undefined; } } });
    const started = await startApproved(harness, { scope: 'openid offline_access api:read' }, approval());
    failing = true;
    expectServerError(await pollDevice(harness.app, started.device_code));
    expect((await deviceRecord(harness, started.device_code)).consumedAt).toBeDefined();
    failing = false;
    harness.clock.advance(10 * SECOND);
    expect((await pollDevice(harness.app, started.device_code)).body.error).toBe('invalid_grant');
    expect(await harness.storage.isGrantRevoked(started.grantId)).toBe(true);
    expect(harness.events.filter((e) => e.type === 'token.issued')).toHaveLength(0);
  });
});

describe('P. client records and a failing store', () => {
  it('P124 client records are not cached: a secret rotated or a grant type removed in the registry counts on the next request', async () => {
    const OLD = 'old-secret-0123456789abcdef';
    const NEW = 'new-secret-0123456789abcdef';
    let current: RegisteredClient = { client_id: 'svc', grant_types: ['client_credentials'], scope: 'api:read', client_secrets: [{ sha256: hashClientSecret(OLD) }] };
    const clients: ClientRegistry = { findClient: async (id) => (id === current.client_id ? current : undefined) };
    const { app } = createTestApp({ clients });
    const send = (secret: string) => request(app).post('/connect/token').set('Authorization', basic('svc', secret)).type('form').send('grant_type=client_credentials');
    expect((await send(OLD)).status).toBe(200);
    current = { ...current, client_secrets: [{ sha256: hashClientSecret(NEW) }] };
    expect((await send(OLD)).status).toBe(401);
    expect((await send(NEW)).status).toBe(200);
    current = { ...current, grant_types: ['authorization_code'] };
    expect((await send(NEW)).body.error).toBe('unauthorized_client');
  });

  it('P125 a failing store answers 500 server_error with no token for every grant, falls back to nothing, and nothing was consumed', async () => {
    const memory = createMemoryStorage();
    const { storage, down } = breakable(memory);
    const harness = createDeviceTestApp({}, { storage }, CLIENTS);
    const { app, tokenRouter, events, logged } = harness;
    const mint = async () => (await tokenRouter.issueAuthorizationCode(codeInput({ scope: 'openid offline_access api:read' }))).code;
    const code = await mint();
    const rt = (await redeem(app, { code: await mint(), redirect_uri: WEB_REDIRECT })).body.refresh_token as string;
    const device = await startApproved(harness, { scope: 'openid api:read' }, approval());
    const issued = () => events.filter((e) => e.type === 'token.issued').length;
    const before = issued();
    logged.length = 0;

    down.add('*');
    expectServerError(await redeem(app, { code, redirect_uri: WEB_REDIRECT }));
    expectServerError(await refresh(app, rt, WEB));
    expectServerError(await pollDevice(app, device.device_code));
    expectServerError(await request(app).post('/connect/deviceauthorization').set('Authorization', basic('tv', SERVICE_SECRET)).type('form').send('scope=openid'));
    await expect(mint()).rejects.toThrow();
    // A store that fails only at the deciding write: still nothing issued.
    down.clear();
    down.add('consumeAuthorizationCode');
    down.add('rotateRefreshToken');
    down.add('consumeDeviceCode');
    expectServerError(await redeem(app, { code, redirect_uri: WEB_REDIRECT }));
    expectServerError(await refresh(app, rt, WEB));
    harness.clock.advance(10 * SECOND);
    expectServerError(await pollDevice(app, device.device_code));
    expect(issued()).toBe(before);
    expect(logged.filter((entry) => entry.level === 'error').length).toBeGreaterThanOrEqual(7);

    // Back up: nothing was consumed, rotated or redeemed by the failed requests; each works once.
    down.clear();
    harness.clock.advance(10 * SECOND);
    expect((await redeem(app, { code, redirect_uri: WEB_REDIRECT })).status).toBe(200);
    expect((await redeem(app, { code, redirect_uri: WEB_REDIRECT })).body.error).toBe('invalid_grant');
    expect((await refresh(app, rt, WEB)).status).toBe(200);
    expect((await pollDevice(app, device.device_code, TV)).status).toBe(200);
    memory.close();
  });
});

describe('P. revocation is synchronous', () => {
  it('P129 the replay and reuse answers are sent only after the revocation is stored', async () => {
    const DELAY = 150;
    let memory: MemoryStorage | undefined;
    const harness = createRefreshTestApp((clock) => {
      memory = createMemoryStorage({ clock });
      return { storage: slowRevocation(memory, DELAY) };
    });
    const raw = memory as MemoryStorage;
    // Code replay.
    const { code, grantId } = await harness.tokenRouter.issueAuthorizationCode({ clientId: 'rt-web', redirectUri: RT_REDIRECT, scope: GRANT_SCOPE, subject: 'user-1' });
    expect((await redeem(harness.app, { code, redirect_uri: RT_REDIRECT }, RT_WEB)).status).toBe(200);
    let started = Date.now();
    const replay = await redeem(harness.app, { code, redirect_uri: RT_REDIRECT }, RT_WEB);
    expect(replay.body.error).toBe('invalid_grant');
    expect(await raw.isGrantRevoked(grantId)).toBe(true);
    expect(Date.now() - started).toBeGreaterThanOrEqual(DELAY - 10);
    // Refresh-token reuse outside the retry window.
    const grant = await startGrant(harness, RT_WEB);
    expect((await refresh(harness.app, grant.refreshToken)).status).toBe(200);
    harness.clock.advance(6 * SECOND);
    started = Date.now();
    const reuse = await refresh(harness.app, grant.refreshToken);
    expect(reuse.body.error).toBe('invalid_grant');
    expect(await raw.isGrantRevoked(grant.grantId)).toBe(true);
    expect(Date.now() - started).toBeGreaterThanOrEqual(DELAY - 10);
    raw.close();
  });
});
