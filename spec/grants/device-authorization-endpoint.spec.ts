// spec/grants/device-authorization-endpoint.spec.ts
// The device authorization endpoint, POST /connect/deviceauthorization (RFC 8628 §3.1-§3.2):
// body parsing, client authentication and errors as at the token endpoint, client permission,
// scope, the response, what reaches storage, user-code uniqueness, options and discovery
// (security model rules H71, H73). Polling is in device-code.spec.ts, the verification API in
// device-verification.spec.ts, concurrency in device-code-race.spec.ts.
import request from 'supertest';
import { ConfigurationError, clientCredentials, createMemoryStorage, deviceCode, hashOpaqueToken, USER_CODE_FORMATS, type DeviceCodeRecord, type MemoryStorage, type StorageAdapter, type UserCodeFormat } from '../../lib';
import { basic, createCodeTestApp, ISSUER, SERVICE_SECRET } from '../helpers/create-app';
import { authorizeDevice, CONSONANT_USER_CODE, createDeviceTestApp, DEVICE_CLIENTS, DEVICE_CODE_PATTERN, DEVICE_GRANT, DEVICE_PAIRWISE_SALT, deviceRecord, startDevice, TV, TV_PUBLIC, VERIFICATION_URI, type DeviceCaller } from '../helpers/device-flow';
import { recordCalls } from '../helpers/record-calls';

const PATH = '/connect/deviceauthorization';
const BASE64URL_SHA256 = /^[A-Za-z0-9_-]{43}$/;
const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** A view of `adapter` whose first `refusals` saveDeviceCode calls resolve false (a "collision") without storing. */
function collidingStorage(adapter: MemoryStorage, refusals: number): { storage: StorageAdapter; saved: DeviceCodeRecord[] } {
  const saved: DeviceCodeRecord[] = [];
  let left = refusals;
  const storage = new Proxy(adapter, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property, target);
      if (property !== 'saveDeviceCode') return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      return async (record: DeviceCodeRecord): Promise<boolean> => {
        saved.push(record);
        if (left > 0) {
          left -= 1;
          return false;
        }
        return target.saveDeviceCode(record);
      };
    },
  });
  return { storage, saved };
}

function expectEnvelope(res: request.Response, status: number, error: string): void {
  expect(res.status).toBe(status);
  expect(res.headers['content-type']).toMatch(/^application\/json/);
  expect(res.headers['cache-control']).toBe('no-store');
  expect(res.headers.pragma).toBe('no-cache');
  expect(res.body.error).toBe(error);
  expect(res.body.device_code).toBeUndefined();
}

describe('request envelope: same parsing and errors as the token endpoint', () => {
  const harness = createDeviceTestApp();
  const { app } = harness;

  it('a JSON body → 400 invalid_request', async () => {
    const res = await request(app).post(PATH).set('Authorization', basic('tv', SERVICE_SECRET)).type('json').send({ scope: 'openid api:read' });
    expectEnvelope(res, 400, 'invalid_request');
  });

  it('a repeated parameter → 400 invalid_request', async () => {
    const res = await request(app).post(PATH).set('Authorization', basic('tv', SERVICE_SECRET)).type('form').send('scope=openid&scope=api:read');
    expectEnvelope(res, 400, 'invalid_request');
  });

  it('bracket syntax → 400 invalid_request', async () => {
    const res = await request(app).post(PATH).set('Authorization', basic('tv', SERVICE_SECRET)).type('form').send('scope[]=openid');
    expectEnvelope(res, 400, 'invalid_request');
  });

  it('credentials in the URL query → 400 invalid_request', async () => {
    const res = await request(app).post(`${PATH}?client_id=tv-public`).type('form').send('scope=api:read');
    expectEnvelope(res, 400, 'invalid_request');
  });

  it.each(['get', 'put', 'delete', 'patch'] as const)('%s → 405 invalid_request with Allow: POST', async (method) => {
    const res = await request(app)[method](PATH).set('Authorization', basic('tv', SERVICE_SECRET));
    expectEnvelope(res, 405, 'invalid_request');
    expect(res.headers.allow).toBe('POST');
  });

  it('a wrong secret with Basic → 401 invalid_client with WWW-Authenticate: Basic, and an event', async () => {
    harness.events.length = 0;
    const res = await authorizeDevice(app, { scope: 'api:read' }, { id: 'tv', secret: 'wrong-secret-0000000000' });
    expectEnvelope(res, 401, 'invalid_client');
    expect(res.headers['www-authenticate']).toBe(`Basic realm="${ISSUER}", charset="UTF-8"`);
    expect(harness.events).toContainEqual(expect.objectContaining({ type: 'client.authentication_failed', clientId: 'tv', reason: 'invalid_secret' }));
  });

  it('a wrong secret in the body → 401 invalid_client without WWW-Authenticate', async () => {
    const res = await authorizeDevice(app, { scope: 'api:read' }, { id: 'tv', secret: 'wrong-secret-0000000000', inBody: true });
    expectEnvelope(res, 401, 'invalid_client');
    expect(res.headers['www-authenticate']).toBeUndefined();
  });

  it.each<[string, DeviceCaller]>([
    ['an unknown client (Basic)', { id: 'nobody', secret: SERVICE_SECRET }],
    ['an unknown client (client_id only)', { id: 'nobody', public: true }],
    ['a confidential client without its secret', { id: 'tv', public: true }],
    ['no client at all', { anonymous: true }],
  ])('%s → 401 invalid_client', async (_name, caller) => {
    const res = await authorizeDevice(app, { scope: 'api:read' }, caller);
    expectEnvelope(res, 401, 'invalid_client');
  });

  it('a public client that sends a secret → 401 invalid_client', async () => {
    const res = await authorizeDevice(app, { scope: 'api:read' }, { id: 'tv-public', secret: SERVICE_SECRET });
    expectEnvelope(res, 401, 'invalid_client');
  });

  it('a confidential client authenticates with Basic', async () => {
    const res = await authorizeDevice(app, { scope: 'api:read' }, TV);
    expect(res.status).toBe(200);
  });

  it('a confidential client may also send its secret in the body (client_secret_post)', async () => {
    const res = await authorizeDevice(app, { scope: 'api:read' }, { id: 'tv', secret: SERVICE_SECRET, inBody: true });
    expect(res.status).toBe(200);
  });

  it('a public client identifies itself with client_id', async () => {
    const res = await authorizeDevice(app, { scope: 'api:read' }, TV_PUBLIC);
    expect(res.status).toBe(200);
    expect((await deviceRecord(harness, res.body.device_code)).clientId).toBe('tv-public');
  });

  it('no device code is stored for a refused request', async () => {
    const memory = createMemoryStorage();
    const local = createDeviceTestApp({}, { storage: memory });
    await authorizeDevice(local.app, { scope: 'api:read' }, { id: 'tv', secret: 'wrong-secret-0000000000' });
    await authorizeDevice(local.app, { scope: 'admin' }, TV);
    await request(local.app).post(PATH).set('Authorization', basic('tv', SERVICE_SECRET)).type('json').send({ scope: 'api:read' });
    expect(memory.size().deviceCodes).toBe(0);
    memory.close();
  });
});

describe('which clients may start a device authorization', () => {
  const { app } = createDeviceTestApp();

  it.each([
    ['a client whose grant_types lack the device grant', 'web'],
    ['a client without grant_types (= authorization_code only)', 'no-grants'],
  ])('%s → 400 unauthorized_client', async (_name, id) => {
    const res = await authorizeDevice(app, { scope: 'api:read' }, { id, secret: SERVICE_SECRET });
    expectEnvelope(res, 400, 'unauthorized_client');
    // The token endpoint's own check and wording: the endpoint runs in its shared pipeline.
    expect(res.body.error_description).toBe('This client is not allowed to use this grant_type.');
  });
});

describe('scope on the device authorization request', () => {
  const harness = createDeviceTestApp();
  const { app } = harness;

  it('a scope within the client\'s is granted as asked and stored with the request', async () => {
    const started = await startDevice(app, { scope: 'openid offline_access api:write' });
    expect((await deviceRecord(harness, started.device_code)).scope).toEqual(['openid', 'offline_access', 'api:write']);
  });

  it.each([
    ['a scope the client does not have', 'openid admin'],
    ['characters outside RFC 6749 §3.3', 'openid "api:read"'],
    ['a scope over 2048 characters', `api:read ${'x'.repeat(2048)}`],
  ])('%s → 400 invalid_scope', async (_name, scope) => {
    const res = await authorizeDevice(app, { scope }, TV);
    expectEnvelope(res, 400, 'invalid_scope');
  });

  it('missing → the client\'s default_scope (only the part the client may have)', async () => {
    const started = await startDevice(app, {}, { id: 'tv-defaulted', secret: SERVICE_SECRET });
    expect((await deviceRecord(harness, started.device_code)).scope).toEqual(['api:read']);
  });

  it('only spaces → treated as missing: the default_scope', async () => {
    const started = await startDevice(app, { scope: '   ' }, { id: 'tv-defaulted', secret: SERVICE_SECRET });
    expect((await deviceRecord(harness, started.device_code)).scope).toEqual(['api:read']);
  });

  it('missing without a default_scope → 400 invalid_scope (never all the client\'s scopes)', async () => {
    const res = await authorizeDevice(app, {}, { id: 'tv-no-default', secret: SERVICE_SECRET });
    expectEnvelope(res, 400, 'invalid_scope');
    expect((await authorizeDevice(app, {}, TV)).body.error).toBe('invalid_scope');
  });
});

describe('the device authorization response (RFC 8628 §3.2)', () => {
  const harness = createDeviceTestApp();
  const { app, clock } = harness;

  it('has exactly device_code, user_code, verification_uri(_complete), expires_in 1800 and interval 5, with no-store headers', async () => {
    const res = await authorizeDevice(app, { scope: 'openid api:read' }, TV);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/json; charset=utf-8$/i);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.headers.pragma).toBe('no-cache');
    expect(res.body).toEqual({
      device_code: expect.stringMatching(DEVICE_CODE_PATTERN),
      user_code: expect.stringMatching(CONSONANT_USER_CODE),
      verification_uri: VERIFICATION_URI,
      verification_uri_complete: `${VERIFICATION_URI}?user_code=${res.body.user_code}`,
      expires_in: 1800,
      interval: 5,
    });
    expect(res.body.verification_uri_complete).toContain(res.body.user_code);
  });

  it('stores the request under the device code digest, with a user-code digest, and never the raw codes', async () => {
    const started = await startDevice(app, { scope: 'openid api:read' });
    expect(await harness.storage.findDeviceCode(started.device_code)).toBeUndefined();
    const record = await harness.storage.findDeviceCode(hashOpaqueToken(started.device_code));
    expect(record).toEqual({
      deviceCodeHash: hashOpaqueToken(started.device_code),
      userCodeHash: expect.stringMatching(BASE64URL_SHA256),
      clientId: 'tv',
      scope: ['openid', 'api:read'],
      grantId: expect.stringMatching(UUID_PATTERN),
      issuedAt: clock(),
      expiresAt: clock() + 1800 * 1000,
      interval: 5,
      status: 'pending',
    });
    const stored = JSON.stringify(record);
    expect(stored).not.toContain(started.device_code);
    expect(stored).not.toContain(started.user_code);
    expect(stored).not.toContain(started.user_code.replace('-', ''));
  });

  it('no argument of any storage call contains the raw device code or user code', async () => {
    const memory = createMemoryStorage();
    const { storage, calls } = recordCalls(memory);
    const local = createDeviceTestApp({}, { storage });
    const started = await startDevice(local.app);
    await local.tokenRouter.deviceVerification.lookup(started.user_code);
    await local.tokenRouter.deviceVerification.approve(started.user_code, { subject: 'user-1' });
    expect((await request(local.app).post('/connect/token').set('Authorization', basic('tv', SERVICE_SECRET)).type('form')
      .send(`grant_type=${encodeURIComponent(DEVICE_GRANT)}&device_code=${started.device_code}`)).status).toBe(200);
    expect(calls.map((call) => call.method)).toEqual(
      expect.arrayContaining(['saveDeviceCode', 'findDeviceCodeByUserCode', 'decideDeviceCode', 'findDeviceCode', 'pollDeviceCode', 'consumeDeviceCode']),
    );
    const text = JSON.stringify(calls);
    expect(text).not.toContain(started.device_code);
    expect(text).not.toContain(started.user_code);
    expect(text).not.toContain(started.user_code.replace('-', ''));
    memory.close();
  });

  it('device codes are 256-bit and user codes are drawn anew every time (200 requests, all distinct)', async () => {
    const all = await Promise.all(Array.from({ length: 200 }, () => startDevice(app, { scope: 'api:read' })));
    expect(new Set(all.map((s) => s.device_code)).size).toBe(200);
    expect(new Set(all.map((s) => s.user_code)).size).toBe(200);
    expect(Buffer.from(all[0].device_code, 'base64url')).toHaveLength(32);
    // Every consonant shows up somewhere in 1 600 draws; no other character does.
    const seen = new Set(all.map((s) => s.user_code.replace('-', '')).join(''));
    expect([...seen].sort().join('')).toBe('BCDFGHJKLMNPQRSTVWXZ');
  });
});

describe('options of deviceCode()', () => {
  it('expiresIn and interval change the response and the stored request', async () => {
    const harness = createDeviceTestApp({ expiresIn: 600, interval: 10 });
    const started = await startDevice(harness.app);
    expect(started.expires_in).toBe(600);
    expect(started.interval).toBe(10);
    const record = await deviceRecord(harness, started.device_code);
    expect(record.expiresAt - record.issuedAt).toBe(600_000);
    expect(record.interval).toBe(10);
  });

  it('userCode: \'digits\' gives 9 digits without dashes (TelenorID+)', async () => {
    const { app } = createDeviceTestApp({ userCode: 'digits' });
    const started = await startDevice(app);
    expect(started.user_code).toMatch(/^\d{9}$/);
    expect(started.verification_uri_complete).toBe(`${VERIFICATION_URI}?user_code=${started.user_code}`);
  });

  it('a custom format is drawn from its alphabet, length and grouping', async () => {
    const format: UserCodeFormat = { alphabet: '23456789BCDFGHJKMNPQRSTVWXZ', length: 9, groupSize: 3 };
    const { app } = createDeviceTestApp({ userCode: format });
    const started = await startDevice(app);
    expect(started.user_code).toMatch(/^[23456789BCDFGHJKMNPQRSTVWXZ]{3}-[23456789BCDFGHJKMNPQRSTVWXZ]{3}-[23456789BCDFGHJKMNPQRSTVWXZ]{3}$/);
  });

  it('verificationUriComplete builds the QR link; a verificationUri with a query gets &user_code', async () => {
    const custom = createDeviceTestApp({ verificationUriComplete: (uri, code) => `${uri}/${code}` });
    const a = await startDevice(custom.app);
    expect(a.verification_uri_complete).toBe(`${VERIFICATION_URI}/${a.user_code}`);
    const queried = createDeviceTestApp({ verificationUri: 'https://id.example.test/device?lang=nb' });
    const b = await startDevice(queried.app);
    expect(b.verification_uri).toBe('https://id.example.test/device?lang=nb');
    expect(b.verification_uri_complete).toBe(`https://id.example.test/device?lang=nb&user_code=${b.user_code}`);
  });

  it('the built-in formats are the documented ones', () => {
    expect(USER_CODE_FORMATS.consonants).toEqual({ alphabet: 'BCDFGHJKLMNPQRSTVWXZ', length: 8, groupSize: 4 });
    expect(USER_CODE_FORMATS.digits).toEqual({ alphabet: '0123456789', length: 9, groupSize: 0 });
  });

  it.each<[string, Parameters<typeof deviceCode>[0]]>([
    ['a relative verificationUri', { verificationUri: '/device' }],
    ['a non-http verificationUri', { verificationUri: 'javascript:alert(1)' }],
    ['expiresIn 59', { verificationUri: VERIFICATION_URI, expiresIn: 59 }],
    ['expiresIn 3601', { verificationUri: VERIFICATION_URI, expiresIn: 3601 }],
    ['interval 0', { verificationUri: VERIFICATION_URI, interval: 0 }],
    ['interval 61', { verificationUri: VERIFICATION_URI, interval: 61 }],
    ['interval 2.5', { verificationUri: VERIFICATION_URI, interval: 2.5 }],
    ['a lower-case alphabet', { verificationUri: VERIFICATION_URI, userCode: { alphabet: 'bcdfghjklmnpqrstvwxz', length: 8, groupSize: 4 } }],
    ['a repeated letter', { verificationUri: VERIFICATION_URI, userCode: { alphabet: 'BBCDFGHJKLMN', length: 10, groupSize: 0 } }],
    ['too few bits (6 digits)', { verificationUri: VERIFICATION_URI, userCode: { alphabet: '0123456789', length: 6, groupSize: 0 } }],
    ['a tiny alphabet', { verificationUri: VERIFICATION_URI, userCode: { alphabet: 'AB', length: 16, groupSize: 4 } }],
    ['userCodeAttempts.limit 0', { verificationUri: VERIFICATION_URI, userCodeAttempts: { limit: 0 } }],
    ['userCodeAttempts.windowMs 10', { verificationUri: VERIFICATION_URI, userCodeAttempts: { windowMs: 10 } }],
  ])('%s is refused at createTokenRouter', (_name, options) => {
    expect(() => createCodeTestApp({ grants: [deviceCode(options)] }, DEVICE_CLIENTS)).toThrow(ConfigurationError);
  });

  it('a storage without the device methods is refused at createTokenRouter', () => {
    const memory = createMemoryStorage();
    const { saveDeviceCode: _omitted, ...partial } = memory;
    expect(() => createCodeTestApp({ grants: [deviceCode({ verificationUri: VERIFICATION_URI })], storage: partial }, DEVICE_CLIENTS))
      .toThrow(/saveDeviceCode/);
    memory.close();
  });
});

describe('user codes are unique among live requests', () => {
  it('when storage reports the user code taken (saveDeviceCode → false), another one is drawn for the same device code', async () => {
    const memory = createMemoryStorage();
    const { storage, saved } = collidingStorage(memory, 1);
    const harness = createDeviceTestApp({}, { storage });
    const started = await startDevice(harness.app);
    expect(saved).toHaveLength(2);
    expect(saved[1].deviceCodeHash).toBe(saved[0].deviceCodeHash);
    expect(saved[1].grantId).toBe(saved[0].grantId);
    expect(saved[1].userCodeHash).not.toBe(saved[0].userCodeHash);
    // The response carries the second draw: it is the one that looks up.
    expect((await deviceRecord(harness, started.device_code)).userCodeHash).toBe(saved[1].userCodeHash);
    expect(await harness.tokenRouter.deviceVerification.lookup(started.user_code)).toMatchObject({ status: 'pending', clientId: 'tv' });
    expect(await memory.findDeviceCodeByUserCode(saved[0].userCodeHash)).toBeUndefined();
    memory.close();
  });

  it('four collisions in a row are still retried', async () => {
    const memory = createMemoryStorage();
    const { storage, saved } = collidingStorage(memory, 4);
    const harness = createDeviceTestApp({}, { storage });
    await startDevice(harness.app);
    expect(saved).toHaveLength(5);
    expect(new Set(saved.map((r) => r.userCodeHash)).size).toBe(5);
    memory.close();
  });

  it('when no free user code is found, 500 server_error (no description) and the logger is told', async () => {
    const memory = createMemoryStorage();
    const { storage, saved } = collidingStorage(memory, Number.POSITIVE_INFINITY);
    const harness = createDeviceTestApp({}, { storage });
    const res = await authorizeDevice(harness.app, { scope: 'api:read' }, TV);
    expect(res.status).toBe(500);
    expect(res.body).toEqual({ error: 'server_error' });
    expect(saved.length).toBeGreaterThan(1);
    expect(harness.logged).toContainEqual(expect.objectContaining({ level: 'error' }));
    expect(memory.size().deviceCodes).toBe(0);
    memory.close();
  });
});

describe('rate limiting applies to the device authorization endpoint too', () => {
  it('over the limit → 429 temporarily_unavailable with Retry-After', async () => {
    const { app } = createDeviceTestApp({}, { rateLimit: { limit: 2, windowMs: 60_000 } });
    expect((await authorizeDevice(app)).status).toBe(200);
    expect((await authorizeDevice(app)).status).toBe(200);
    const limited = await authorizeDevice(app);
    expectEnvelope(limited, 429, 'temporarily_unavailable');
    expect(Number(limited.headers['retry-after'])).toBeGreaterThanOrEqual(1);
  });
});

describe('discovery', () => {
  it('advertises device_authorization_endpoint and the device grant type', async () => {
    const { app, tokenRouter } = createDeviceTestApp();
    const res = await request(app).get('/.well-known/openid-configuration');
    expect(res.status).toBe(200);
    expect(res.body.device_authorization_endpoint).toBe(`${ISSUER}/connect/deviceauthorization`);
    expect(res.body.grant_types_supported).toContain(DEVICE_GRANT);
    expect(tokenRouter.metadata()).toMatchObject({ device_authorization_endpoint: `${ISSUER}/connect/deviceauthorization` });
    expect((await request(app).get('/.well-known/oauth-authorization-server')).body.device_authorization_endpoint).toBe(`${ISSUER}/connect/deviceauthorization`);
  });

  it('discovery.deviceAuthorizationEndpoint overrides the URL', () => {
    const { tokenRouter } = createDeviceTestApp({}, { discovery: { deviceAuthorizationEndpoint: 'https://device.example.test/da' } });
    expect(tokenRouter.metadata().device_authorization_endpoint).toBe('https://device.example.test/da');
  });

  it('without the device grant: no endpoint, no grant type, no route, and deviceVerification rejects', async () => {
    const { app, tokenRouter } = createCodeTestApp({ grants: [clientCredentials()], subjects: { pairwiseSalt: DEVICE_PAIRWISE_SALT } }, DEVICE_CLIENTS);
    expect(tokenRouter.metadata().device_authorization_endpoint).toBeUndefined();
    expect(tokenRouter.metadata().grant_types_supported).not.toContain(DEVICE_GRANT);
    expect((await authorizeDevice(app)).status).toBe(404);
    await expect(tokenRouter.deviceVerification.lookup('BCDF-GHJK')).rejects.toThrow(/deviceCode/);
    await expect(tokenRouter.deviceVerification.approve('BCDF-GHJK', { subject: 'user-1' })).rejects.toThrow(/deviceCode/);
    await expect(tokenRouter.deviceVerification.deny('BCDF-GHJK')).rejects.toThrow(/deviceCode/);
  });
});
