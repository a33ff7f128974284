// spec/grants/device-verification.spec.ts
// The host's verification-page API, tokenRouter.deviceVerification (RFC 8628 §3.3): lookup by
// user code (case, dash and space insensitive), expiry, approve/deny as compare-and-set, the
// user-code guessing limit per caller key (RFC 8628 §5.1, security model rule H73), approval input checks,
// and concurrent decisions. What the approval puts into tokens is in device-code.spec.ts.
import { MemoryStore } from 'express-rate-limit';
import { createMemoryClientRegistry, createMemoryStorage, normalizeUserCode, OAuthError, type DeviceApproval, type DeviceDecisionResult, type MemoryClientDefinition, type MemoryStorage, type StorageAdapter } from '../../lib';
import { SERVICE_SECRET, type CodeTestApp } from '../helpers/create-app';
import { approval, authorizeDevice, createDeviceTestApp, DEVICE_CLIENTS, DEVICE_GRANT, deviceRecord, pollDevice, SECOND, startDevice, TV_PUBLIC } from '../helpers/device-flow';
import { configurationErrorOf, expectInvalidRecord, expectLoggedInvalidRecord, hostRecord, hostRegistry, rejectionOf } from '../helpers/host-registry';
import { withLatency } from '../helpers/latency-storage';

/** "GKNL-GDZS" → "gknl-gdzs", "GKNLGDZS", " gknl gdzs " and friends. */
function spellings(display: string): string[] {
  const bare = display.replace(/-/g, '');
  return [
    display.toLowerCase(),
    bare,
    bare.toLowerCase(),
    ` ${display.toLowerCase().replace(/-/g, ' ')} `,
    `${bare.slice(0, 2)} ${bare.slice(2, 6)}-${bare.slice(6)}`,
    `\t${display}\n`,
  ];
}

/** A user code of the default format that is not `taken` (a guaranteed miss). */
function otherCode(taken: string): string {
  return taken.startsWith('BBBB') ? 'CCCC-CCCC' : 'BBBB-BBBB';
}

describe('lookup', () => {
  const harness = createDeviceTestApp();
  const { app, tokenRouter, clock } = harness;
  const verification = tokenRouter.deviceVerification;

  it('finds a pending request by its user code: client, scope, expiresAt and the code as displayed', async () => {
    const started = await startDevice(app, { scope: 'openid api:read' });
    const found = await verification.lookup(started.user_code, { key: 'lookup-1' });
    expect(found).toEqual({
      status: 'pending',
      userCode: started.user_code,
      clientId: 'tv',
      client: expect.objectContaining({ client_id: 'tv', scope: 'openid profile offline_access api:read api:write' }),
      scope: ['openid', 'api:read'],
      expiresAt: clock() + 1800 * SECOND,
    });
  });

  it('matches ignoring case, dashes and spaces ("gknl-gdzs", "GKNLGDZS", " gknl gdzs "), and always shows XXXX-XXXX', async () => {
    const started = await startDevice(app);
    for (const typed of spellings(started.user_code)) {
      const found = await verification.lookup(typed, { key: 'lookup-2' });
      expect(found).toMatchObject({ status: 'pending', userCode: started.user_code, clientId: 'tv' });
    }
  });

  // A host may render or serialise `found` wholesale on its consent page: no secret material in it.
  it('the client in a lookup carries no secret digests or verifier', async () => {
    const started = await startDevice(app);
    const found = await verification.lookup(started.user_code, { key: 'lookup-3' });
    if (found.status !== 'pending') throw new Error(`unexpected ${found.status}`);
    expect(found.client).toMatchObject({ client_id: 'tv' });
    expect(found.client).not.toHaveProperty('client_secrets');
    expect(found.client).not.toHaveProperty('verify_client_secret');
  });

  it('normalizeUserCode is exported and does the same', () => {
    expect(normalizeUserCode(' gknl-gdzs ')).toBe('GKNLGDZS');
    expect(normalizeUserCode('GKNL GDZS')).toBe('GKNLGDZS');
  });

  it('9-digit codes match with or without separators', async () => {
    const digits = createDeviceTestApp({ userCode: 'digits' });
    const started = await startDevice(digits.app);
    const code = started.user_code;
    for (const typed of [code, `${code.slice(0, 3)}-${code.slice(3, 6)}-${code.slice(6)}`, ` ${code.slice(0, 3)} ${code.slice(3, 6)} ${code.slice(6)} `]) {
      expect(await digits.tokenRouter.deviceVerification.lookup(typed)).toMatchObject({ status: 'pending', userCode: code });
    }
  });

  it.each([
    ['a code nobody was given', 'BBBB-BBBB'],
    ['one character short', 'BCDF-GHJ'],
    ['one character too many', 'BCDF-GHJKL'],
    ['empty', ''],
    ['only separators', ' - - '],
    ['very long input', `${'B'.repeat(4)}-${'-'.repeat(100)}BBBB`],
  ])('%s → invalid', async (_name, typed) => {
    await startDevice(app);
    expect(await verification.lookup(typed, { key: `invalid-${typed.length}` })).toEqual({ status: 'invalid' });
  });

  it('a code of the right shape but one letter off → invalid', async () => {
    const started = await startDevice(app);
    const last = started.user_code.slice(-1);
    const typo = `${started.user_code.slice(0, -1)}${last === 'B' ? 'C' : 'B'}`;
    expect(await verification.lookup(typo, { key: 'typo' })).toEqual({ status: 'invalid' });
  });

  it('pending until just before expires_in, expired from then on (lookup, approve and deny)', async () => {
    const local = createDeviceTestApp();
    const started = await startDevice(local.app);
    local.clock.advance(1800 * SECOND - 1);
    expect((await local.tokenRouter.deviceVerification.lookup(started.user_code)).status).toBe('pending');
    local.clock.advance(1);
    expect(await local.tokenRouter.deviceVerification.lookup(started.user_code, { key: 'a' })).toEqual({ status: 'expired' });
    expect(await local.tokenRouter.deviceVerification.approve(started.user_code, approval(), { key: 'b' })).toEqual({ status: 'expired' });
    expect(await local.tokenRouter.deviceVerification.deny(started.user_code, { key: 'c' })).toEqual({ status: 'expired' });
    expect((await deviceRecord(local, started.device_code)).status).toBe('pending');
  });

  it('expiresIn is followed', async () => {
    const local = createDeviceTestApp({ expiresIn: 60 });
    const started = await startDevice(local.app);
    local.clock.advance(60 * SECOND);
    expect(await local.tokenRouter.deviceVerification.lookup(started.user_code)).toEqual({ status: 'expired' });
  });
});

describe('approve and deny', () => {
  const harness = createDeviceTestApp();
  const { app, tokenRouter, events } = harness;
  const verification = tokenRouter.deviceVerification;

  it('approve → approved: stored with the session facts, and a device_code.approved event', async () => {
    const started = await startDevice(app);
    events.length = 0;
    const session: DeviceApproval = { subject: 'user-1', authTime: 1_767_225_000, acr: 'urn:acr:2', amr: ['pwd'], sid: 'sid-1', claims: { id_token: { name: 'Ann' } } };
    expect(await verification.approve(started.user_code.toLowerCase(), session, { key: 'approve-1' })).toEqual({ status: 'approved' });
    const record = await deviceRecord(harness, started.device_code);
    expect(record.status).toBe('approved');
    expect(record.session).toEqual(session);
    expect(events).toEqual([{ type: 'device_code.approved', at: harness.clock(), grantId: record.grantId, clientId: 'tv', subject: 'user-1' }]);
  });

  it('the stored session is a copy: changing the approval object afterwards changes nothing', async () => {
    const started = await startDevice(app);
    const amr = ['pwd'];
    const claims = { id_token: { name: 'Ann' } };
    await verification.approve(started.user_code, { subject: 'user-1', amr, claims });
    amr.push('otp');
    claims.id_token.name = 'Mallory';
    expect((await deviceRecord(harness, started.device_code)).session).toEqual({ subject: 'user-1', amr: ['pwd'], claims: { id_token: { name: 'Ann' } } });
  });

  it('deny → denied, and a device_code.denied event', async () => {
    const started = await startDevice(app, undefined, TV_PUBLIC);
    events.length = 0;
    expect(await verification.deny(` ${started.user_code} `, { key: 'deny-1' })).toEqual({ status: 'denied' });
    const record = await deviceRecord(harness, started.device_code);
    expect(record.status).toBe('denied');
    expect(record.session).toBeUndefined();
    expect(events).toEqual([{ type: 'device_code.denied', at: harness.clock(), grantId: record.grantId, clientId: 'tv-public' }]);
  });

  it('after approval: lookup, approve and deny → already_decided, and the first decision stands', async () => {
    const started = await startDevice(app);
    await verification.approve(started.user_code, approval({ subject: 'first' }));
    events.length = 0;
    expect(await verification.lookup(started.user_code)).toEqual({ status: 'already_decided' });
    expect(await verification.approve(started.user_code, approval({ subject: 'second' }))).toEqual({ status: 'already_decided' });
    expect(await verification.deny(started.user_code)).toEqual({ status: 'already_decided' });
    const record = await deviceRecord(harness, started.device_code);
    expect(record.status).toBe('approved');
    expect(record.session?.subject).toBe('first');
    expect(events).toEqual([]);
  });

  it('after denial: lookup, approve and deny → already_decided, and it stays denied', async () => {
    const started = await startDevice(app);
    await verification.deny(started.user_code);
    expect(await verification.lookup(started.user_code)).toEqual({ status: 'already_decided' });
    expect(await verification.approve(started.user_code, approval())).toEqual({ status: 'already_decided' });
    expect(await verification.deny(started.user_code)).toEqual({ status: 'already_decided' });
    expect((await deviceRecord(harness, started.device_code)).status).toBe('denied');
  });

  it('approve or deny of an unknown code → invalid', async () => {
    expect(await verification.approve('BBBB-BBBB', approval(), { key: 'unknown-approve' })).toEqual({ status: 'invalid' });
    expect(await verification.deny('BBBB-BBBB', { key: 'unknown-deny' })).toEqual({ status: 'invalid' });
  });

  it('deciding one request leaves the others pending', async () => {
    const a = await startDevice(app);
    const b = await startDevice(app);
    await verification.approve(a.user_code, approval());
    expect((await verification.lookup(b.user_code)).status).toBe('pending');
  });
});

/** A pairwise device client with no sector to take (no sector_identifier_uri, no redirect_uris). */
const NO_SECTOR: MemoryClientDefinition = { client_id: 'tv-pairwise-nosector', client_secret: SERVICE_SECRET, grant_types: [DEVICE_GRANT], scope: 'openid api:read', subject_type: 'pairwise' };

describe('approve input checks (host misuse → TypeError, nothing decided, nothing counted)', () => {
  const harness = createDeviceTestApp({ userCodeAttempts: { limit: 1 } });
  const verification = harness.tokenRouter.deviceVerification;

  it.each<[string, unknown]>([
    ['no approval object', undefined],
    ['null', null],
    ['no subject', {}],
    ['empty subject', { subject: '' }],
    ['numeric subject', { subject: 42 }],
    ['subject over 255 characters', { subject: 's'.repeat(256) }],
    ['non-ASCII subject', { subject: 'üser' }],
    ['subject with a control character', { subject: 'user\n1' }],
    ['subject with a leading space', { subject: ' user' }],
    ['authTime in milliseconds', { subject: 'user-1', authTime: Date.UTC(2026, 0, 1) }],
    ['fractional authTime', { subject: 'user-1', authTime: 1_767_225_000.5 }],
    ['negative authTime', { subject: 'user-1', authTime: -1 }],
    ['amr not an array', { subject: 'user-1', amr: 'pwd' }],
    ['amr with a number', { subject: 'user-1', amr: ['pwd', 1] }],
  ])('%s', async (_name, input) => {
    const started = await startDevice(harness.app);
    const error = await verification.approve(started.user_code, input as DeviceApproval, { key: 'misuse' }).then(
      () => undefined,
      (rejected: unknown) => rejected,
    );
    expect(error).toBeInstanceOf(TypeError);
    expect(error).not.toBeInstanceOf(OAuthError);
    expect((await deviceRecord(harness, started.device_code)).status).toBe('pending');
    // Validation comes first: even with a wrong code, misuse is a TypeError and never a counted miss.
    await expect(verification.approve('BBBB-BBBB', input as DeviceApproval, { key: 'misuse' })).rejects.toBeInstanceOf(TypeError);
    expect((await verification.lookup(started.user_code, { key: 'misuse' })).status).toBe('pending');
  });

  it('authTime in seconds, acr, amr, sid and claims are accepted', async () => {
    const started = await startDevice(harness.app);
    const result = await verification.approve(started.user_code, { subject: 'user-1', authTime: 1_767_225_000, acr: 'a', amr: [], sid: 's', claims: {} });
    expect(result).toEqual({ status: 'approved' });
  });

  it('a pairwise client without a usable sector is refused when the memory registry is built, naming the client and the field', () => {
    const error = configurationErrorOf(() => createMemoryClientRegistry([...DEVICE_CLIENTS, NO_SECTOR]));
    expect(error.code).toBe('ERR_TOKEN_ROUTER_CLIENT');
    expect(error.problems).toEqual([
      `clients[${DEVICE_CLIENTS.length}].subject_type is "pairwise" but there is neither a sector_identifier_uri nor redirect_uris to take the sector from (OIDC Core §8.1).`,
    ]);
    // The same client with a sector is accepted: the refusal is about the missing sector.
    expect(() => createMemoryClientRegistry([...DEVICE_CLIENTS, { ...NO_SECTOR, sector_identifier_uri: 'https://tv.example.net/sector.json' }])).not.toThrow();
  });

  it('a host registry whose pairwise client loses its sector: approval rejects (server misconfiguration), nothing is decided, and a poll is a logged 500 that consumes nothing', async () => {
    const good = hostRecord({ ...NO_SECTOR, sector_identifier_uri: 'https://tv.example.net/sector.json' });
    const records: Record<string, object> = { [NO_SECTOR.client_id]: good };
    const host = createDeviceTestApp({}, { clients: hostRegistry(records) }, []);
    const caller = { id: NO_SECTOR.client_id, secret: SERVICE_SECRET };
    const approvedEarlier = await startDevice(host.app, { scope: 'api:read' }, caller);
    expect(await host.tokenRouter.deviceVerification.approve(approvedEarlier.user_code, approval())).toEqual({ status: 'approved' });
    const started = await startDevice(host.app, { scope: 'api:read' }, caller);
    // The host edits its client table: the sector is gone.
    records[NO_SECTOR.client_id] = hostRecord(NO_SECTOR);
    const error = await rejectionOf(host.tokenRouter.deviceVerification.approve(started.user_code, approval()));
    expect(error).toBeInstanceOf(Error);
    expect(error).not.toBeInstanceOf(TypeError);
    expect(String(error)).toMatch(/sector_identifier_uri/);
    expectInvalidRecord(error, NO_SECTOR.client_id, /^subject_type is "pairwise" but there is neither a sector_identifier_uri nor redirect_uris/);
    expect((await deviceRecord(host, started.device_code)).status).toBe('pending');
    expect(host.events.filter((event) => event.type === 'device_code.approved')).toHaveLength(1);
    // The poll of the request approved earlier gets no token either: 500 server_error, logged with the client and the field.
    host.logged.length = 0;
    const polled = await pollDevice(host.app, approvedEarlier.device_code, caller);
    expect(polled.status).toBe(500);
    expect(polled.body).toEqual({ error: 'server_error' });
    expect(polled.headers['cache-control']).toBe('no-store');
    expectLoggedInvalidRecord(host.logged, NO_SECTOR.client_id, /subject_type is "pairwise" but there is neither a sector_identifier_uri nor redirect_uris/);
    expect(host.events.some((event) => event.type === 'token.issued')).toBe(false);
    const approvedRecord = await deviceRecord(host, approvedEarlier.device_code);
    expect(approvedRecord.status).toBe('approved');
    expect(approvedRecord.consumedAt).toBeUndefined();
    // A new device authorization for the client is refused the same way and stores nothing.
    const stored = (host.storage as MemoryStorage).size().deviceCodes;
    host.logged.length = 0;
    const refused = await authorizeDevice(host.app, { scope: 'api:read' }, caller);
    expect(refused.status).toBe(500);
    expect(refused.body).toEqual({ error: 'server_error' });
    expectLoggedInvalidRecord(host.logged, NO_SECTOR.client_id, /subject_type is "pairwise" but there is neither a sector_identifier_uri nor redirect_uris/);
    expect((host.storage as MemoryStorage).size().deviceCodes).toBe(stored);
    // Nothing was consumed: once the record is fixed, the same device code gets its tokens.
    records[NO_SECTOR.client_id] = good;
    const fixed = await pollDevice(host.app, approvedEarlier.device_code, caller);
    expect(fixed.status).toBe(200);
    expect(fixed.body.access_token).toEqual(expect.any(String));
  });
});

describe('guessing limit on user codes (per caller key)', () => {
  const harness = createDeviceTestApp();
  const verification = harness.tokenRouter.deviceVerification;

  async function miss(times: number, key: string, via: 'lookup' | 'approve' | 'deny' = 'lookup'): Promise<void> {
    for (let i = 0; i < times; i += 1) {
      const result = via === 'lookup'
        ? await verification.lookup('BBBB-BBBB', { key })
        : via === 'approve' ? await verification.approve('BBBB-BBBB', approval(), { key }) : await verification.deny('BBBB-BBBB', { key });
      expect(result).toEqual({ status: 'invalid' });
    }
  }

  it('after 10 wrong codes from one key: rate_limited with retryAfterSeconds, even for the right code', async () => {
    const started = await startDevice(harness.app);
    await miss(10, 'ip-1');
    const blocked = await verification.lookup('BBBB-BBBB', { key: 'ip-1' });
    expect(blocked).toEqual({ status: 'rate_limited', retryAfterSeconds: expect.any(Number) });
    if (blocked.status !== 'rate_limited') throw new Error('unreachable');
    expect(Number.isInteger(blocked.retryAfterSeconds)).toBe(true);
    expect(blocked.retryAfterSeconds).toBeGreaterThanOrEqual(1);
    expect(blocked.retryAfterSeconds).toBeLessThanOrEqual(15 * 60);
    expect((await verification.lookup(started.user_code, { key: 'ip-1' })).status).toBe('rate_limited');
    expect((await verification.approve(started.user_code, approval(), { key: 'ip-1' })).status).toBe('rate_limited');
    expect((await verification.deny(started.user_code, { key: 'ip-1' })).status).toBe('rate_limited');
    expect((await deviceRecord(harness, started.device_code)).status).toBe('pending');
    // Each refused guess is audited as rate_limited, without the caller key.
    const limited = harness.events.filter((event) => event.type === 'rate_limited');
    expect(limited).toHaveLength(4);
    for (const event of limited) expect(event).toEqual({ type: 'rate_limited', at: expect.any(Number), limiter: 'deviceCode.userCodeAttempts' });
    expect(JSON.stringify(harness.events)).not.toContain('ip-1');
  });

  it('9 misses are still allowed: the 10th guess is answered', async () => {
    const started = await startDevice(harness.app);
    await miss(9, 'ip-9');
    expect((await verification.lookup(started.user_code, { key: 'ip-9' })).status).toBe('pending');
    await miss(1, 'ip-9');
    expect((await verification.lookup(started.user_code, { key: 'ip-9' })).status).toBe('rate_limited');
  });

  it('another key is not affected', async () => {
    const started = await startDevice(harness.app);
    await miss(10, 'ip-2');
    expect((await verification.lookup(started.user_code, { key: 'ip-2' })).status).toBe('rate_limited');
    expect((await verification.lookup(started.user_code, { key: 'ip-3' })).status).toBe('pending');
    expect(await verification.approve(started.user_code, approval(), { key: 'ip-3' })).toEqual({ status: 'approved' });
  });

  it('the right code is never counted as a miss (nor is already_decided)', async () => {
    const started = await startDevice(harness.app);
    const decided = await startDevice(harness.app);
    await verification.deny(decided.user_code, { key: 'ip-4' });
    await miss(9, 'ip-4');
    for (let i = 0; i < 20; i += 1) {
      expect((await verification.lookup(started.user_code, { key: 'ip-4' })).status).toBe('pending');
      expect((await verification.lookup(decided.user_code, { key: 'ip-4' })).status).toBe('already_decided');
    }
    expect(await verification.approve(started.user_code, approval(), { key: 'ip-4' })).toEqual({ status: 'approved' });
  });

  it('misses through approve and deny count too', async () => {
    const started = await startDevice(harness.app);
    await miss(4, 'ip-5', 'approve');
    await miss(3, 'ip-5', 'deny');
    await miss(3, 'ip-5', 'lookup');
    expect((await verification.lookup(started.user_code, { key: 'ip-5' })).status).toBe('rate_limited');
  });

  it('expired codes count as misses', async () => {
    const local = createDeviceTestApp({ userCodeAttempts: { limit: 2 } });
    const expiring = await startDevice(local.app);
    local.clock.advance(1800 * SECOND);
    const fresh = await startDevice(local.app);
    expect((await local.tokenRouter.deviceVerification.lookup(expiring.user_code, { key: 'k' })).status).toBe('expired');
    expect((await local.tokenRouter.deviceVerification.lookup(expiring.user_code, { key: 'k' })).status).toBe('expired');
    expect((await local.tokenRouter.deviceVerification.lookup(fresh.user_code, { key: 'k' })).status).toBe('rate_limited');
  });

  it('without a key every caller shares one counter (as documented: pass req.ip)', async () => {
    const local = createDeviceTestApp({ userCodeAttempts: { limit: 3 } });
    const started = await startDevice(local.app);
    for (let i = 0; i < 3; i += 1) await local.tokenRouter.deviceVerification.lookup('BBBB-BBBB');
    expect((await local.tokenRouter.deviceVerification.lookup(started.user_code)).status).toBe('rate_limited');
    expect((await local.tokenRouter.deviceVerification.lookup(started.user_code, { key: 'someone' })).status).toBe('pending');
  });

  it('userCodeAttempts.limit and windowMs are followed (retryAfterSeconds within the window)', async () => {
    const local = createDeviceTestApp({ userCodeAttempts: { limit: 2, windowMs: 30_000 } });
    await local.tokenRouter.deviceVerification.lookup('BBBB-BBBB', { key: 'k' });
    await local.tokenRouter.deviceVerification.lookup('BBBB-BBBB', { key: 'k' });
    const blocked = await local.tokenRouter.deviceVerification.lookup('BBBB-BBBB', { key: 'k' });
    expect(blocked.status).toBe('rate_limited');
    if (blocked.status !== 'rate_limited') throw new Error('unreachable');
    expect(blocked.retryAfterSeconds).toBeGreaterThanOrEqual(1);
    expect(blocked.retryAfterSeconds).toBeLessThanOrEqual(30);
  });

  it('userCodeAttempts.store shares the counters between routers (instances)', async () => {
    const store = new MemoryStore();
    const one = createDeviceTestApp({ userCodeAttempts: { limit: 4, store } });
    const two = createDeviceTestApp({ userCodeAttempts: { limit: 4, store } });
    const started = await startDevice(two.app);
    await one.tokenRouter.deviceVerification.lookup('BBBB-BBBB', { key: 'shared' });
    await one.tokenRouter.deviceVerification.lookup('BBBB-BBBB', { key: 'shared' });
    await two.tokenRouter.deviceVerification.lookup('BBBB-BBBB', { key: 'shared' });
    await two.tokenRouter.deviceVerification.lookup('BBBB-BBBB', { key: 'shared' });
    expect((await two.tokenRouter.deviceVerification.lookup(started.user_code, { key: 'shared' })).status).toBe('rate_limited');
    store.shutdown();
  });

  // The limiter counts before it looks, so parallel guesses cannot slip under the limit.
  it('concurrent guesses cannot exceed the limit: of 50 parallel misses from one key at most 10 are answered', async () => {
    const started = await startDevice(harness.app);
    const results = await Promise.all(Array.from({ length: 50 }, () => verification.lookup(otherCode(started.user_code), { key: 'burst' })));
    const answered = results.filter((r) => r.status === 'invalid').length;
    expect(answered).toBeLessThanOrEqual(10);
    expect(results.filter((r) => r.status === 'rate_limited')).toHaveLength(50 - answered);
  });
});

describe('concurrent decisions (compare-and-set)', () => {
  const variants: ReadonlyArray<readonly [string, (memory: MemoryStorage) => StorageAdapter]> = [
    ['memory storage', (memory) => memory],
    ['memory storage answering with 1–5 ms latency', (memory) => withLatency<StorageAdapter>(memory, () => 1 + Math.random() * 4)],
  ];

  describe.each(variants)('%s', (_name, wrap) => {
    let memory: MemoryStorage;
    let harness: CodeTestApp;

    beforeAll(() => {
      harness = createDeviceTestApp({}, (clock) => {
        memory = createMemoryStorage({ clock });
        return { storage: wrap(memory) };
      });
    });

    afterAll(() => memory.close());

    it.each([1, 2, 3])('approve + deny at once → exactly one wins, the other is already_decided, and the poll agrees (run %i)', async () => {
      const started = await startDevice(harness.app);
      harness.events.length = 0;
      const verification = harness.tokenRouter.deviceVerification;
      const results: DeviceDecisionResult[] = await Promise.all([
        verification.approve(started.user_code, approval(), { key: 'a' }),
        verification.deny(started.user_code, { key: 'b' }),
      ]);
      const statuses = results.map((r) => r.status);
      expect(statuses.filter((s) => s === 'approved' || s === 'denied')).toHaveLength(1);
      expect(statuses.filter((s) => s === 'already_decided')).toHaveLength(1);
      const winner = statuses.find((s) => s !== 'already_decided');
      expect((await deviceRecord(harness, started.device_code)).status).toBe(winner);
      expect(harness.events.filter((e) => e.type === 'device_code.approved' || e.type === 'device_code.denied')).toHaveLength(1);
      const polled = await pollDevice(harness.app, started.device_code);
      if (winner === 'approved') expect(polled.status).toBe(200);
      else expect(polled.body.error).toBe('access_denied');
    });

    it('10 approvals for different users at once → exactly one wins, and the tokens are that user\'s', async () => {
      const started = await startDevice(harness.app);
      const results = await Promise.all(
        Array.from({ length: 10 }, (_, i) => harness.tokenRouter.deviceVerification.approve(started.user_code, approval({ subject: `user-${i}` }), { key: `k${i}` })),
      );
      const winners = results.map((r, i) => (r.status === 'approved' ? i : -1)).filter((i) => i >= 0);
      expect(winners).toHaveLength(1);
      expect(results.filter((r) => r.status === 'already_decided')).toHaveLength(9);
      const polled = await pollDevice(harness.app, started.device_code);
      expect(polled.status).toBe(200);
      const sub = JSON.parse(Buffer.from(polled.body.access_token.split('.')[1], 'base64url').toString()).sub;
      expect(sub).toBe(`user-${winners[0]}`);
    });
  });
});
