// spec/storage/memory-storage.spec.ts
// The in-memory adapter against the storage contract in lib/contracts/storage.ts. Every contract test
// runs twice: against the store as is, and wrapped so each call answers with 1–5 ms of latency on
// both legs (a synchronous in-process map answers in call order and would hide races).
import { createHash } from 'node:crypto';
import { ConfigurationError } from '../../lib';
import { createMemoryStorage, type MemoryStorage, type MemoryStorageOptions } from '../../lib/storage/memory-storage';
import { SUCCESSOR_ENVELOPE_RETENTION_MS } from '../../lib/storage/retention';
import type { AuthorizationCodeRecord, DeviceCodeRecord, RefreshTokenRecord, SessionFacts, StorageAdapter } from '../../lib';
import { withLatency } from '../helpers/latency-storage';
import { storageConfigurationErrorOf } from '../helpers/host-registry';

const T0 = Date.UTC(2026, 0, 1);
const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;

interface Clock {
  (): number;
  set(ms: number): void;
  advance(ms: number): void;
}

function createClock(start = T0): Clock {
  let now = start;
  const clock = (() => now) as Clock;
  clock.set = (ms) => {
    now = ms;
  };
  clock.advance = (ms) => {
    now += ms;
  };
  return clock;
}

/** base64url SHA-256, the shape of every `*Hash` field. */
function digest(value: string): string {
  return createHash('sha256').update(value, 'utf8').digest('base64url');
}

function codeRecord(name: string, overrides: Partial<AuthorizationCodeRecord> = {}): AuthorizationCodeRecord {
  return {
    codeHash: digest(`code:${name}`),
    clientId: 'web-app',
    redirectUri: 'https://app.example.test/cb',
    scope: ['openid', 'api:read'],
    nonce: 'n-0S6_WzA2Mj',
    codeChallenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
    codeChallengeMethod: 'S256',
    grantId: `grant:${name}`,
    subject: 'user-1',
    authTime: Math.floor(T0 / 1000),
    amr: ['pwd'],
    issuedAt: T0,
    expiresAt: T0 + MINUTE,
    ...overrides,
  };
}

function refreshRecord(name: string, overrides: Partial<RefreshTokenRecord> = {}): RefreshTokenRecord {
  return {
    tokenHash: digest(`refresh:${name}`),
    grantId: 'grant-1',
    clientId: 'web-app',
    scope: ['openid', 'offline_access', 'api:read'],
    subject: 'user-1',
    issuedAt: T0,
    expiresAt: T0 + 30 * 24 * 60 * MINUTE,
    ...overrides,
  };
}

function deviceRecord(name: string, overrides: Partial<DeviceCodeRecord> = {}): DeviceCodeRecord {
  return {
    deviceCodeHash: digest(`device:${name}`),
    userCodeHash: digest(`user:${name}`),
    clientId: 'tv-app',
    scope: ['api:read'],
    grantId: `grant:${name}`,
    issuedAt: T0,
    expiresAt: T0 + 10 * MINUTE,
    interval: 5,
    status: 'pending',
    ...overrides,
  };
}

const session: SessionFacts = { subject: 'user-1', authTime: Math.floor(T0 / 1000), amr: ['pwd', 'otp'], sid: 'sid-1' };

/** Runs `count` calls concurrently and returns their results in call order. */
function parallel<R>(count: number, call: (index: number) => Promise<R>): Promise<R[]> {
  return Promise.all(Array.from({ length: count }, (_, index) => call(index)));
}

function indexesOfTrue(results: readonly boolean[]): number[] {
  return results.flatMap((result, index) => (result ? [index] : []));
}

/** Tries a mutation that a frozen copy may refuse with a TypeError; other errors propagate. */
function tryMutate(mutate: () => void): void {
  try {
    mutate();
  } catch (error) {
    if (!(error instanceof TypeError)) throw error;
  }
}

type Variant = readonly [name: string, wrap: (memory: MemoryStorage) => StorageAdapter];

const variants: readonly Variant[] = [
  ['plain', (memory) => memory],
  ['answering with 1–5 ms latency', (memory) => withLatency<StorageAdapter>(memory, () => 1 + Math.random() * 4)],
];

describe.each(variants)('memory storage contract (%s)', (_name, wrap) => {
  let clock: Clock;
  let memory: MemoryStorage;
  let storage: StorageAdapter;

  beforeEach(() => {
    clock = createClock();
    memory = createMemoryStorage({ clock });
    storage = wrap(memory);
  });

  afterEach(() => {
    memory.close();
  });

  describe('authorization codes', () => {
    it('finds a saved code (round trip)', async () => {
      const record = codeRecord('a', { claims: { access_token: { tnuid: 'tn-1' } }, acr: 'urn:acr:2', sid: 'sid-1' });
      await storage.saveAuthorizationCode(record);
      expect(await storage.findAuthorizationCode(record.codeHash)).toEqual(record);
    });

    it('returns undefined for an unknown code', async () => {
      expect(await storage.findAuthorizationCode(digest('nope'))).toBeUndefined();
    });

    it('rejects a second save with the same codeHash and keeps the first record', async () => {
      const first = codeRecord('a');
      await storage.saveAuthorizationCode(first);
      await expect(storage.saveAuthorizationCode({ ...first, clientId: 'attacker' })).rejects.toThrow();
      expect(await storage.findAuthorizationCode(first.codeHash)).toEqual(first);
    });

    it('consumes a code once: true, then false', async () => {
      const record = codeRecord('a');
      await storage.saveAuthorizationCode(record);
      expect(await storage.consumeAuthorizationCode(record.codeHash, T0 + 1000)).toBe(true);
      expect(await storage.consumeAuthorizationCode(record.codeHash, T0 + 2000)).toBe(false);
    });

    it('resolves false when consuming an unknown code', async () => {
      expect(await storage.consumeAuthorizationCode(digest('nope'), T0)).toBe(false);
    });

    it('still finds a consumed code, with consumedAt set (for replay detection)', async () => {
      const record = codeRecord('a');
      await storage.saveAuthorizationCode(record);
      await storage.consumeAuthorizationCode(record.codeHash, T0 + 1000);
      expect(await storage.findAuthorizationCode(record.codeHash)).toEqual({ ...record, consumedAt: T0 + 1000 });
      // A losing consume does not overwrite the winner's time.
      await storage.consumeAuthorizationCode(record.codeHash, T0 + 5000);
      expect((await storage.findAuthorizationCode(record.codeHash))?.consumedAt).toBe(T0 + 1000);
    });

    it('of 50 parallel consumes of one code, exactly one resolves true', async () => {
      const record = codeRecord('race');
      await storage.saveAuthorizationCode(record);
      const results = await parallel(50, (i) => storage.consumeAuthorizationCode(record.codeHash, T0 + 1000 + i));
      const winners = indexesOfTrue(results);
      expect(winners).toHaveLength(1);
      expect((await storage.findAuthorizationCode(record.codeHash))?.consumedAt).toBe(T0 + 1000 + winners[0]);
    });
  });

  describe('refresh tokens', () => {
    it('finds a saved token (round trip)', async () => {
      const record = refreshRecord('a', { familyExpiresAt: T0 + 90 * 24 * 60 * MINUTE, parentHash: digest('refresh:parent'), claims: { access_token: { tnuid: 'tn-1' } } });
      await storage.saveRefreshToken(record);
      expect(await storage.findRefreshToken(record.tokenHash)).toEqual(record);
      expect(await storage.findRefreshToken(digest('nope'))).toBeUndefined();
    });

    it('rejects a second save with the same tokenHash and keeps the first record', async () => {
      const first = refreshRecord('a');
      await storage.saveRefreshToken(first);
      await expect(storage.saveRefreshToken({ ...first, clientId: 'attacker' })).rejects.toThrow();
      expect(await storage.findRefreshToken(first.tokenHash)).toEqual(first);
    });

    it('rotates: marks the old token consumed with the successor envelope and stores the successor', async () => {
      const old = refreshRecord('old');
      const successor = refreshRecord('new', { parentHash: old.tokenHash, issuedAt: T0 + 1000 });
      await storage.saveRefreshToken(old);
      expect(await storage.rotateRefreshToken(old.tokenHash, successor, T0 + 1000, 'envelope-1')).toBe(true);
      expect(await storage.findRefreshToken(old.tokenHash)).toEqual({ ...old, consumedAt: T0 + 1000, successorEnvelope: 'envelope-1', retainUntil: old.expiresAt });
      expect(await storage.findRefreshToken(successor.tokenHash)).toEqual(successor);
    });

    it('rotates without an envelope: consumedAt only', async () => {
      const old = refreshRecord('old');
      const successor = refreshRecord('new');
      await storage.saveRefreshToken(old);
      expect(await storage.rotateRefreshToken(old.tokenHash, successor, T0 + 1000)).toBe(true);
      const found = await storage.findRefreshToken(old.tokenHash);
      expect(found).toEqual({ ...old, consumedAt: T0 + 1000, retainUntil: old.expiresAt });
      expect(found).not.toHaveProperty('successorEnvelope');
    });

    it('a second rotation of the same token resolves false and stores nothing', async () => {
      const old = refreshRecord('old');
      await storage.saveRefreshToken(old);
      expect(await storage.rotateRefreshToken(old.tokenHash, refreshRecord('new-1'), T0 + 1000, 'envelope-1')).toBe(true);
      const second = refreshRecord('new-2');
      expect(await storage.rotateRefreshToken(old.tokenHash, second, T0 + 2000, 'envelope-2')).toBe(false);
      expect(await storage.findRefreshToken(second.tokenHash)).toBeUndefined();
      expect(await storage.findRefreshToken(old.tokenHash)).toEqual({ ...old, consumedAt: T0 + 1000, successorEnvelope: 'envelope-1', retainUntil: old.expiresAt });
    });

    it('resolves false when rotating an unknown token, and stores nothing', async () => {
      const successor = refreshRecord('new');
      expect(await storage.rotateRefreshToken(digest('nope'), successor, T0)).toBe(false);
      expect(await storage.findRefreshToken(successor.tokenHash)).toBeUndefined();
    });

    it('of 50 parallel rotations of one token, exactly one resolves true and exactly one successor is stored', async () => {
      const old = refreshRecord('old');
      await storage.saveRefreshToken(old);
      const successors = Array.from({ length: 50 }, (_, i) => refreshRecord(`successor-${i}`, { parentHash: old.tokenHash }));
      const results = await parallel(50, (i) => storage.rotateRefreshToken(old.tokenHash, successors[i], T0 + 1000 + i, `envelope-${i}`));
      const winners = indexesOfTrue(results);
      expect(winners).toHaveLength(1);
      const found = await Promise.all(successors.map((s) => storage.findRefreshToken(s.tokenHash)));
      const stored = indexesOfTrue(found.map((record) => record !== undefined));
      expect(stored).toEqual(winners);
      expect(await storage.findRefreshToken(old.tokenHash)).toEqual({
        ...old,
        consumedAt: T0 + 1000 + winners[0],
        successorEnvelope: `envelope-${winners[0]}`,
        retainUntil: old.expiresAt,
      });
    });

    it('rotation resolves false (and stores nothing) once the grant is revoked', async () => {
      const old = refreshRecord('old', { grantId: 'grant-r' });
      await storage.saveRefreshToken(old);
      await storage.revokeGrant('grant-r', T0 + 500, T0 + 60 * MINUTE);
      const successor = refreshRecord('new', { grantId: 'grant-r' });
      expect(await storage.rotateRefreshToken(old.tokenHash, successor, T0 + 1000, 'envelope')).toBe(false);
      expect(await storage.findRefreshToken(successor.tokenHash)).toBeUndefined();
      expect((await storage.findRefreshToken(old.tokenHash))?.consumedAt).toBeUndefined();
    });

    it('findRefreshToken reports revokedAt for every token of a revoked grant, also tokens saved afterwards', async () => {
      const before = refreshRecord('before', { grantId: 'grant-r' });
      const otherGrant = refreshRecord('other', { grantId: 'grant-other' });
      await storage.saveRefreshToken(before);
      await storage.saveRefreshToken(otherGrant);
      await storage.revokeGrant('grant-r', T0 + 500, T0 + 60 * MINUTE);
      const after = refreshRecord('after', { grantId: 'grant-r' });
      await storage.saveRefreshToken(after);

      expect(await storage.findRefreshToken(before.tokenHash)).toEqual({ ...before, revokedAt: T0 + 500 });
      expect(await storage.findRefreshToken(after.tokenHash)).toEqual({ ...after, revokedAt: T0 + 500 });
      expect((await storage.findRefreshToken(otherGrant.tokenHash))?.revokedAt).toBeUndefined();
      expect(await storage.rotateRefreshToken(after.tokenHash, refreshRecord('after-successor', { grantId: 'grant-r' }), T0 + 1000)).toBe(false);
    });

    it('revokeGrant is idempotent: a second call resolves and keeps the first revokedAt', async () => {
      const token = refreshRecord('a', { grantId: 'grant-r' });
      await storage.saveRefreshToken(token);
      await storage.revokeGrant('grant-r', T0 + 500, T0 + 60 * MINUTE);
      await expect(storage.revokeGrant('grant-r', T0 + 900, T0 + 60 * MINUTE)).resolves.toBeUndefined();
      expect(await storage.isGrantRevoked('grant-r')).toBe(true);
      expect((await storage.findRefreshToken(token.tokenHash))?.revokedAt).toBe(T0 + 500);
      expect(memory.size().revokedGrants).toBe(1);
    });

    it('revokeGrant is safe to call concurrently', async () => {
      await parallel(20, (i) => storage.revokeGrant('grant-r', T0 + i, T0 + 60 * MINUTE));
      expect(await storage.isGrantRevoked('grant-r')).toBe(true);
      expect(memory.size().revokedGrants).toBe(1);
    });

    it('isGrantRevoked is false for grants never revoked, true after revokeGrant', async () => {
      expect(await storage.isGrantRevoked('grant-r')).toBe(false);
      await storage.revokeGrant('grant-r', T0, T0 + MINUTE);
      expect(await storage.isGrantRevoked('grant-r')).toBe(true);
      expect(await storage.isGrantRevoked('grant-other')).toBe(false);
    });
  });

  describe('device codes', () => {
    it('saves (resolves true) and finds by device code and by user code', async () => {
      const record = deviceRecord('a');
      expect(await storage.saveDeviceCode(record)).toBe(true);
      expect(await storage.findDeviceCode(record.deviceCodeHash)).toEqual(record);
      expect(await storage.findDeviceCodeByUserCode(record.userCodeHash)).toEqual(record);
    });

    it('resolves false and stores nothing when a live request already uses the user code', async () => {
      const first = deviceRecord('a');
      const second = deviceRecord('b', { userCodeHash: first.userCodeHash });
      expect(await storage.saveDeviceCode(first)).toBe(true);
      clock.set(first.expiresAt - 1);
      expect(await storage.saveDeviceCode(second)).toBe(false);
      expect(await storage.findDeviceCode(second.deviceCodeHash)).toBeUndefined();
      expect(await storage.findDeviceCodeByUserCode(first.userCodeHash)).toEqual(first);
    });

    it('of concurrent saves with one user code, exactly one resolves true', async () => {
      const records = Array.from({ length: 20 }, (_, i) => deviceRecord(`d${i}`, { userCodeHash: digest('user:shared') }));
      const results = await parallel(20, (i) => storage.saveDeviceCode(records[i]));
      const winners = indexesOfTrue(results);
      expect(winners).toHaveLength(1);
      expect((await storage.findDeviceCodeByUserCode(digest('user:shared')))?.deviceCodeHash).toBe(records[winners[0]].deviceCodeHash);
    });

    it('lets a user code be reused once the request holding it has expired', async () => {
      const first = deviceRecord('a');
      const second = deviceRecord('b', { userCodeHash: first.userCodeHash, issuedAt: first.expiresAt, expiresAt: first.expiresAt + 10 * MINUTE });
      await storage.saveDeviceCode(first);
      clock.set(first.expiresAt);
      expect(await storage.saveDeviceCode(second)).toBe(true);
      expect(await storage.findDeviceCodeByUserCode(first.userCodeHash)).toEqual(second);
      // Sweeping the expired first request (kept 10 minutes past expiry so late polls hear
      // expired_token) must not drop the user-code index of the second.
      clock.set(first.expiresAt + 10 * MINUTE);
      memory.sweep();
      expect(await storage.findDeviceCode(first.deviceCodeHash)).toBeUndefined();
      expect(await storage.findDeviceCodeByUserCode(first.userCodeHash)).toEqual(second);
    });

    it('approves a pending request once, with the session; a later decision resolves false', async () => {
      const record = deviceRecord('a');
      await storage.saveDeviceCode(record);
      expect(await storage.decideDeviceCode(record.userCodeHash, { status: 'approved', session })).toBe(true);
      expect(await storage.decideDeviceCode(record.userCodeHash, { status: 'denied' })).toBe(false);
      expect(await storage.decideDeviceCode(record.userCodeHash, { status: 'approved', session: { subject: 'user-2' } })).toBe(false);
      expect(await storage.findDeviceCode(record.deviceCodeHash)).toEqual({ ...record, status: 'approved', session });
    });

    it('denies a pending request once', async () => {
      const record = deviceRecord('a');
      await storage.saveDeviceCode(record);
      expect(await storage.decideDeviceCode(record.userCodeHash, { status: 'denied' })).toBe(true);
      expect(await storage.decideDeviceCode(record.userCodeHash, { status: 'approved', session })).toBe(false);
      const found = await storage.findDeviceCode(record.deviceCodeHash);
      expect(found).toEqual({ ...record, status: 'denied' });
      expect(found?.session).toBeUndefined();
    });

    it('of 50 parallel decisions, exactly one resolves true and its decision is the one stored', async () => {
      const record = deviceRecord('a');
      await storage.saveDeviceCode(record);
      const decision = (i: number) =>
        i % 2 === 0 ? ({ status: 'approved', session: { subject: `user-${i}` } } as const) : ({ status: 'denied' } as const);
      const results = await parallel(50, (i) => storage.decideDeviceCode(record.userCodeHash, decision(i)));
      const winners = indexesOfTrue(results);
      expect(winners).toHaveLength(1);
      const found = await storage.findDeviceCode(record.deviceCodeHash);
      const winning = decision(winners[0]);
      expect(found?.status).toBe(winning.status);
      expect(found?.session).toEqual(winning.status === 'approved' ? winning.session : undefined);
    });

    it('polling: the first poll is not too soon; one within the interval is, and raises the interval', async () => {
      const record = deviceRecord('a');
      await storage.saveDeviceCode(record);

      const first = await storage.pollDeviceCode(record.deviceCodeHash, T0 + 1000, 5);
      expect(first).toEqual({ tooSoon: false, record: { ...record, lastPolledAt: T0 + 1000 } });

      const second = await storage.pollDeviceCode(record.deviceCodeHash, T0 + 3000, 5);
      expect(second).toEqual({ tooSoon: true, record: { ...record, lastPolledAt: T0 + 3000, interval: 10 } });

      // 7 s later: enough for the old 5 s interval but not for the raised 10 s one.
      const third = await storage.pollDeviceCode(record.deviceCodeHash, T0 + 10_000, 5);
      expect(third).toEqual({ tooSoon: true, record: { ...record, lastPolledAt: T0 + 10_000, interval: 15 } });

      // Exactly the raised interval later: not too soon, and the interval stays.
      const fourth = await storage.pollDeviceCode(record.deviceCodeHash, T0 + 25_000, 5);
      expect(fourth).toEqual({ tooSoon: false, record: { ...record, lastPolledAt: T0 + 25_000, interval: 15 } });

      expect(await storage.findDeviceCode(record.deviceCodeHash)).toEqual({ ...record, lastPolledAt: T0 + 25_000, interval: 15 });
    });

    it('polling uses the given slowDownSeconds', async () => {
      const record = deviceRecord('a');
      await storage.saveDeviceCode(record);
      await storage.pollDeviceCode(record.deviceCodeHash, T0, 7);
      expect((await storage.pollDeviceCode(record.deviceCodeHash, T0 + 1, 7))?.record.interval).toBe(12);
    });

    it.each([
      ['a fresh request', undefined],
      ['a request last polled long ago', T0 - 60_000],
    ])('a burst of 20 parallel polls at one instant on %s: at most one is not too soon', async (_label, lastPolledAt) => {
      const record = deviceRecord('a', lastPolledAt === undefined ? {} : { lastPolledAt });
      await storage.saveDeviceCode(record);
      const results = await parallel(20, () => storage.pollDeviceCode(record.deviceCodeHash, T0, 5));
      const notTooSoon = results.filter((result) => result !== undefined && !result.tooSoon);
      expect(notTooSoon.length).toBeLessThanOrEqual(1);
      expect(results.every((result) => result !== undefined)).toBe(true);
      const found = await storage.findDeviceCode(record.deviceCodeHash);
      expect(found?.lastPolledAt).toBe(T0);
      expect(found?.interval).toBe(5 + 5 * (20 - notTooSoon.length));
    });

    it('consumes only an approved request: pending and denied resolve false', async () => {
      const pending = deviceRecord('pending');
      const denied = deviceRecord('denied');
      const approved = deviceRecord('approved');
      for (const record of [pending, denied, approved]) await storage.saveDeviceCode(record);
      await storage.decideDeviceCode(denied.userCodeHash, { status: 'denied' });
      await storage.decideDeviceCode(approved.userCodeHash, { status: 'approved', session });

      expect(await storage.consumeDeviceCode(pending.deviceCodeHash, T0 + 1000)).toBe(false);
      expect(await storage.consumeDeviceCode(denied.deviceCodeHash, T0 + 1000)).toBe(false);
      expect(await storage.consumeDeviceCode(approved.deviceCodeHash, T0 + 1000)).toBe(true);
      expect(await storage.consumeDeviceCode(approved.deviceCodeHash, T0 + 2000)).toBe(false);
      expect((await storage.findDeviceCode(approved.deviceCodeHash))?.consumedAt).toBe(T0 + 1000);
      expect((await storage.findDeviceCode(pending.deviceCodeHash))?.consumedAt).toBeUndefined();
    });

    it('of 50 parallel consumes of an approved request, exactly one resolves true', async () => {
      const record = deviceRecord('a');
      await storage.saveDeviceCode(record);
      await storage.decideDeviceCode(record.userCodeHash, { status: 'approved', session });
      const results = await parallel(50, (i) => storage.consumeDeviceCode(record.deviceCodeHash, T0 + 1000 + i));
      const winners = indexesOfTrue(results);
      expect(winners).toHaveLength(1);
      expect((await storage.findDeviceCode(record.deviceCodeHash))?.consumedAt).toBe(T0 + 1000 + winners[0]);
    });

    it('answers undefined / false for unknown codes', async () => {
      const unknown = digest('nope');
      expect(await storage.findDeviceCode(unknown)).toBeUndefined();
      expect(await storage.findDeviceCodeByUserCode(unknown)).toBeUndefined();
      expect(await storage.decideDeviceCode(unknown, { status: 'denied' })).toBe(false);
      expect(await storage.decideDeviceCode(unknown, { status: 'approved', session })).toBe(false);
      expect(await storage.pollDeviceCode(unknown, T0, 5)).toBeUndefined();
      expect(await storage.consumeDeviceCode(unknown, T0)).toBe(false);
    });
  });
});

describe('memory storage housekeeping', () => {
  const created: MemoryStorage[] = [];
  function create(options: MemoryStorageOptions = {}): MemoryStorage {
    const storage = createMemoryStorage(options);
    created.push(storage);
    return storage;
  }

  afterEach(() => {
    for (const storage of created.splice(0)) storage.close();
    jest.useRealTimers();
  });

  describe('sweep()', () => {
    it('drops a revoked access token\'s entry once its exp has passed, not before', async () => {
      const clock = createClock();
      const storage = create({ clock });
      await storage.revokeAccessToken('jti-a', T0 + MINUTE);
      clock.set(T0 + MINUTE - 1);
      expect(storage.sweep()).toBe(0);
      expect(await storage.isAccessTokenRevoked('jti-a')).toBe(true);
      clock.set(T0 + MINUTE);
      expect(storage.sweep()).toBe(1);
      expect(await storage.isAccessTokenRevoked('jti-a')).toBe(false);
    });

    it('drops one-time uses once their expiresAt has passed, not before, and keeps the live ones', async () => {
      const clock = createClock();
      const storage = create({ clock });
      expect(await storage.recordOneTimeUse('otu:a', T0 + MINUTE)).toBe(true);
      expect(await storage.recordOneTimeUse('otu:b', T0 + MINUTE)).toBe(true);
      expect(await storage.recordOneTimeUse('otu:live', T0 + DAY)).toBe(true);
      clock.set(T0 + MINUTE - 1);
      expect(storage.sweep()).toBe(0);
      expect(await storage.recordOneTimeUse('otu:a', T0 + MINUTE)).toBe(false);
      clock.set(T0 + MINUTE);
      expect(storage.sweep()).toBe(2);
      expect(await storage.recordOneTimeUse('otu:live', T0 + DAY)).toBe(false);
      // Swept: the key is new again (the library refuses expired values before asking).
      expect(await storage.recordOneTimeUse('otu:a', T0 + 2 * MINUTE)).toBe(true);
      expect(await storage.recordOneTimeUse('otu:a', T0 + 2 * MINUTE)).toBe(false);
    });

    it('treats a one-time use past its expiresAt as gone even before a sweep', async () => {
      const clock = createClock();
      const storage = create({ clock, sweepIntervalMs: 3_600_000 });
      expect(await storage.recordOneTimeUse('otu:a', T0 + MINUTE)).toBe(true);
      clock.set(T0 + MINUTE);
      expect(await storage.recordOneTimeUse('otu:a', T0 + 2 * MINUTE)).toBe(true);
      clock.set(T0 + 2 * MINUTE - 1);
      expect(await storage.recordOneTimeUse('otu:a', T0 + 2 * MINUTE)).toBe(false);
      // Replaced, not added: one entry, dropped at its new expiry.
      clock.set(T0 + 2 * MINUTE);
      expect(storage.sweep()).toBe(1);
    });

    it('keeps a rotated refresh token past its own expiry until its successor expires', async () => {
      const clock = createClock();
      const storage = create({ clock });
      await storage.saveRefreshToken(refreshRecord('used', { expiresAt: T0 + MINUTE }));
      await storage.rotateRefreshToken(digest('refresh:used'), refreshRecord('next', { expiresAt: T0 + 10 * MINUTE }), T0 + 1000);
      clock.set(T0 + 5 * MINUTE);
      storage.sweep();
      expect(await storage.findRefreshToken(digest('refresh:used'))).toMatchObject({ consumedAt: T0 + 1000, retainUntil: T0 + 10 * MINUTE });
      clock.set(T0 + 10 * MINUTE);
      storage.sweep();
      expect(await storage.findRefreshToken(digest('refresh:used'))).toBeUndefined();
    });

    it('drops a retry envelope 2 minutes after the rotation, and keeps the used token (reuse still detected)', async () => {
      const clock = createClock();
      const storage = create({ clock });
      await storage.saveRefreshToken(refreshRecord('enveloped'));
      await storage.saveRefreshToken(refreshRecord('plain'));
      expect(await storage.rotateRefreshToken(digest('refresh:enveloped'), refreshRecord('enveloped-next'), T0 + 1000, 'sealed-successor')).toBe(true);
      expect(await storage.rotateRefreshToken(digest('refresh:plain'), refreshRecord('plain-next'), T0 + 2000)).toBe(true);
      clock.set(T0 + 1000 + SUCCESSOR_ENVELOPE_RETENTION_MS - 1);
      expect(storage.sweep()).toBe(0);
      expect((await storage.findRefreshToken(digest('refresh:enveloped')))?.successorEnvelope).toBe('sealed-successor');
      clock.set(T0 + 1000 + SUCCESSOR_ENVELOPE_RETENTION_MS);
      storage.sweep();
      const used = await storage.findRefreshToken(digest('refresh:enveloped'));
      expect(used).toEqual({ ...refreshRecord('enveloped'), consumedAt: T0 + 1000, retainUntil: refreshRecord('enveloped-next').expiresAt });
      expect(await storage.rotateRefreshToken(digest('refresh:enveloped'), refreshRecord('enveloped-again'), T0 + 3 * MINUTE)).toBe(false);
      expect((await storage.findRefreshToken(digest('refresh:plain')))?.consumedAt).toBe(T0 + 2000);
    });

    it('removes expired records of every kind and keeps live ones', async () => {
      const clock = createClock();
      const storage = create({ clock });
      await storage.saveAuthorizationCode(codeRecord('expiring', { expiresAt: T0 + 1000 }));
      await storage.saveAuthorizationCode(codeRecord('live', { expiresAt: T0 + MINUTE }));
      await storage.saveRefreshToken(refreshRecord('expiring', { expiresAt: T0 + 1000 }));
      await storage.saveRefreshToken(refreshRecord('live', { expiresAt: T0 + MINUTE }));
      await storage.saveDeviceCode(deviceRecord('expiring', { expiresAt: T0 + 1000 }));
      await storage.saveDeviceCode(deviceRecord('live', { expiresAt: T0 + MINUTE }));
      await storage.revokeGrant('grant-expiring', T0, T0 + 1000);
      await storage.revokeGrant('grant-live', T0, T0 + MINUTE);
      expect(storage.size()).toEqual({ codes: 2, refreshTokens: 2, deviceCodes: 2, revokedGrants: 2 });

      expect(storage.sweep()).toBe(0);
      clock.set(T0 + 1000);
      // Device codes stay 10 minutes past expiry (a late poll still gets expired_token).
      expect(storage.sweep()).toBe(3);
      expect(storage.size()).toEqual({ codes: 1, refreshTokens: 1, deviceCodes: 2, revokedGrants: 1 });
      expect(await storage.findDeviceCode(digest('device:expiring'))).toBeDefined();
      await storage.saveDeviceCode(deviceRecord('live-long', { expiresAt: T0 + 30 * MINUTE }));
      clock.set(T0 + 1000 + 10 * MINUTE);
      storage.sweep();

      expect(await storage.findAuthorizationCode(digest('code:expiring'))).toBeUndefined();
      expect(await storage.findRefreshToken(digest('refresh:expiring'))).toBeUndefined();
      expect(await storage.findDeviceCode(digest('device:expiring'))).toBeUndefined();
      expect(await storage.findDeviceCodeByUserCode(digest('user:expiring'))).toBeUndefined();
      expect(await storage.findDeviceCodeByUserCode(digest('user:live-long'))).toBeDefined();
      expect(await storage.isGrantRevoked('grant-expiring')).toBe(false);
    });

    it('keeps a grant mark until the latest retainUntil given for it', async () => {
      const clock = createClock();
      const storage = create({ clock });
      await storage.revokeGrant('grant-r', T0, T0 + 1000);
      await storage.revokeGrant('grant-r', T0 + 10, T0 + 10_000);
      await storage.revokeGrant('grant-r', T0 + 20, T0 + 5000);
      clock.set(T0 + 9999);
      storage.sweep();
      expect(await storage.isGrantRevoked('grant-r')).toBe(true);
      clock.set(T0 + 10_000);
      storage.sweep();
      expect(await storage.isGrantRevoked('grant-r')).toBe(false);
    });
  });

  it('size() counts records per kind', async () => {
    const storage = create({ clock: createClock() });
    expect(storage.size()).toEqual({ codes: 0, refreshTokens: 0, deviceCodes: 0, revokedGrants: 0 });
    await storage.saveAuthorizationCode(codeRecord('a'));
    await storage.saveRefreshToken(refreshRecord('a'));
    await storage.rotateRefreshToken(digest('refresh:a'), refreshRecord('b'), T0);
    await storage.saveDeviceCode(deviceRecord('a'));
    await storage.saveDeviceCode(deviceRecord('b'));
    await storage.saveDeviceCode(deviceRecord('c', { userCodeHash: digest('user:a') })); // refused: user code taken
    await storage.revokeGrant('grant-1', T0, T0 + MINUTE);
    expect(storage.size()).toEqual({ codes: 1, refreshTokens: 2, deviceCodes: 2, revokedGrants: 1 });
  });

  describe('maxEntriesPerKind', () => {
    it('rejects a save beyond the limit while the records are live, and accepts it once earlier ones expired', async () => {
      const clock = createClock();
      const storage = create({ clock, maxEntriesPerKind: 3 });
      for (const name of ['a', 'b', 'c']) await storage.saveAuthorizationCode(codeRecord(name, { expiresAt: T0 + 1000 }));
      await expect(storage.saveAuthorizationCode(codeRecord('d'))).rejects.toThrow(/full/);
      expect(await storage.findAuthorizationCode(digest('code:d'))).toBeUndefined();
      clock.set(T0 + 1000);
      await expect(storage.saveAuthorizationCode(codeRecord('d', { expiresAt: T0 + MINUTE }))).resolves.toBeUndefined();
      expect(storage.size().codes).toBe(1);
    });

    it('applies per kind, to refresh tokens, device codes, grant marks and one-time uses too', async () => {
      const clock = createClock();
      const storage = create({ clock, maxEntriesPerKind: 3 });
      for (const name of ['a', 'b', 'c']) {
        await storage.saveRefreshToken(refreshRecord(name));
        await storage.saveDeviceCode(deviceRecord(name));
        await storage.revokeGrant(`grant-${name}`, T0, T0 + MINUTE);
      }
      await expect(storage.saveRefreshToken(refreshRecord('d'))).rejects.toThrow();
      await expect(storage.saveDeviceCode(deviceRecord('d'))).rejects.toThrow();
      await expect(storage.revokeGrant('grant-d', T0, T0 + MINUTE)).rejects.toThrow();
      // Other kinds still have room.
      for (const name of ['a', 'b', 'c']) await expect(storage.recordOneTimeUse(`otu:${name}`, T0 + MINUTE)).resolves.toBe(true);
      await expect(storage.recordOneTimeUse('otu:d', T0 + MINUTE)).rejects.toThrow(/full: 3 one-time uses/);
      await expect(storage.recordOneTimeUse('otu:a', T0 + MINUTE)).resolves.toBe(false);
      await expect(storage.saveAuthorizationCode(codeRecord('a'))).resolves.toBeUndefined();
    });

    it('a rotation that does not fit rejects and leaves the old token unconsumed', async () => {
      const storage = create({ clock: createClock(), maxEntriesPerKind: 3 });
      for (const name of ['a', 'b', 'c']) await storage.saveRefreshToken(refreshRecord(name));
      const successor = refreshRecord('d');
      await expect(storage.rotateRefreshToken(digest('refresh:a'), successor, T0 + 1000, 'envelope')).rejects.toThrow();
      expect(await storage.findRefreshToken(successor.tokenHash)).toBeUndefined();
      expect((await storage.findRefreshToken(digest('refresh:a')))?.consumedAt).toBeUndefined();
    });
  });

  describe('records are copies', () => {
    it('mutating a found code or its scope array does not change the stored record', async () => {
      const storage = create({ clock: createClock() });
      const record = codeRecord('a');
      await storage.saveAuthorizationCode(record);
      const found = await storage.findAuthorizationCode(record.codeHash);
      if (!found) throw new Error('not found');
      const mutable = found as { -readonly [K in keyof AuthorizationCodeRecord]: AuthorizationCodeRecord[K] };
      tryMutate(() => {
        mutable.clientId = 'attacker';
        mutable.consumedAt = T0;
      });
      tryMutate(() => (found.scope as string[]).push('admin'));
      tryMutate(() => ((found.amr ?? []) as string[]).push('hwk'));
      expect(await storage.findAuthorizationCode(record.codeHash)).toEqual(record);
      expect(await storage.consumeAuthorizationCode(record.codeHash, T0)).toBe(true);
    });

    it('mutating the saved input afterwards does not change the stored record', async () => {
      const storage = create({ clock: createClock() });
      const scope = ['api:read'];
      const input = { ...refreshRecord('a'), scope };
      await storage.saveRefreshToken(input);
      scope.push('admin');
      (input as { clientId: string }).clientId = 'attacker';
      expect(await storage.findRefreshToken(input.tokenHash)).toEqual({ ...refreshRecord('a'), scope: ['api:read'] });
    });

    it('mutating a found refresh token, a rotated successor input or a found device code does not change the stored one', async () => {
      const storage = create({ clock: createClock() });
      await storage.saveRefreshToken(refreshRecord('a'));
      const successorScope = ['api:read'];
      await storage.rotateRefreshToken(digest('refresh:a'), { ...refreshRecord('b'), scope: successorScope }, T0);
      successorScope.push('admin');
      expect((await storage.findRefreshToken(digest('refresh:b')))?.scope).toEqual(['api:read']);

      const token = await storage.findRefreshToken(digest('refresh:a'));
      if (!token) throw new Error('not found');
      tryMutate(() => {
        (token as { consumedAt?: number }).consumedAt = undefined;
      });
      tryMutate(() => (token.scope as string[]).push('admin'));
      expect(await storage.findRefreshToken(digest('refresh:a'))).toEqual({ ...refreshRecord('a'), consumedAt: T0, retainUntil: refreshRecord('a').expiresAt });

      const device = deviceRecord('a');
      await storage.saveDeviceCode(device);
      const foundDevice = await storage.findDeviceCodeByUserCode(device.userCodeHash);
      if (!foundDevice) throw new Error('not found');
      tryMutate(() => {
        (foundDevice as { status: string }).status = 'approved';
      });
      tryMutate(() => (foundDevice.scope as string[]).push('admin'));
      expect(await storage.findDeviceCode(device.deviceCodeHash)).toEqual(device);
    });

    // The nested session must be copied too: a caller must not be able to rewrite the stored
    // subject of an approved request.
    it('mutating the session of a found approved device code does not change the stored one', async () => {
      const storage = create({ clock: createClock() });
      const device = deviceRecord('a');
      await storage.saveDeviceCode(device);
      await storage.decideDeviceCode(device.userCodeHash, { status: 'approved', session });
      const found = await storage.findDeviceCode(device.deviceCodeHash);
      tryMutate(() => {
        (found?.session as { subject: string }).subject = 'attacker';
      });
      expect((await storage.findDeviceCode(device.deviceCodeHash))?.session).toEqual(session);
    });
  });

  it('close() stops the sweep timer', async () => {
    jest.useFakeTimers({ doNotFake: ['nextTick', 'queueMicrotask'] });
    const clock = createClock();
    const storage = create({ clock, sweepIntervalMs: 1000 });

    await storage.saveAuthorizationCode(codeRecord('a', { expiresAt: T0 + 500 }));
    clock.set(T0 + 500);
    jest.advanceTimersByTime(1000);
    expect(storage.size().codes).toBe(0); // the timer sweeps while running

    await storage.saveAuthorizationCode(codeRecord('b', { expiresAt: T0 + 1000 }));
    clock.set(T0 + 1000);
    storage.close();
    expect(jest.getTimerCount()).toBe(0);
    jest.advanceTimersByTime(10_000);
    expect(storage.size().codes).toBe(1);
  });

  it.each([
    ['sweepIntervalMs 0', { sweepIntervalMs: 0 }, /sweepIntervalMs/],
    ['sweepIntervalMs 1.5', { sweepIntervalMs: 1.5 }, /sweepIntervalMs/],
    ['sweepIntervalMs NaN', { sweepIntervalMs: Number.NaN }, /sweepIntervalMs/],
    ['maxEntriesPerKind -1', { maxEntriesPerKind: -1 }, /maxEntriesPerKind/],
    ['maxEntriesPerKind 0', { maxEntriesPerKind: 0 }, /maxEntriesPerKind/],
  ] as const)('throws ConfigurationError for %s', (_label, options, message) => {
    let thrown: unknown;
    try {
      create(options);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ConfigurationError);
    expect(thrown).toMatchObject({ code: 'ERR_TOKEN_ROUTER_STORAGE', message: expect.stringMatching(message) });
  });

  it('rejects an unknown option (a typo must not fall back to the default), naming it and listing the known options', () => {
    const error = storageConfigurationErrorOf(() => create({ sweepIntervalMS: 1000 } as unknown as MemoryStorageOptions));
    expect(error.problems).toEqual(['Unknown option "createMemoryStorage.sweepIntervalMS". Known options: clock, sweepIntervalMs, maxEntriesPerKind.']);
    expect(error.message).toContain('createMemoryStorage.sweepIntervalMS');
  });

  it('lists every problem (unknown keys and bad values) in one ConfigurationError', () => {
    const error = storageConfigurationErrorOf(() =>
      create({ sweepIntervalMs: 0, maxEntriesPerKind: -1, clock: 5, maxEntries: 10, sweep: 1 } as unknown as MemoryStorageOptions),
    );
    expect(error.problems).toEqual([
      expect.stringMatching(/^Unknown option "createMemoryStorage\.maxEntries"\. Known options: clock, sweepIntervalMs, maxEntriesPerKind\.$/),
      expect.stringMatching(/^Unknown option "createMemoryStorage\.sweep"\./),
      expect.stringMatching(/^createMemoryStorage: clock must be a function/),
      'createMemoryStorage: sweepIntervalMs must be a positive integer (milliseconds).',
      'createMemoryStorage: maxEntriesPerKind must be a positive integer.',
    ]);
  });

  it('rejects an options argument that is not an object with a ConfigurationError', () => {
    for (const options of [null, 'fast', 60_000, [{ sweepIntervalMs: 1000 }]]) {
      expect(storageConfigurationErrorOf(() => create(options as unknown as MemoryStorageOptions)).problems).toEqual([expect.stringMatching(/^createMemoryStorage: options must be an object/)]);
    }
  });
});
