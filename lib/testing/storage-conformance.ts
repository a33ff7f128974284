// lib/testing/storage-conformance.ts
// The storage-adapter conformance suite: registers describe/it blocks (jest, mocha, vitest globals)
// and asserts with node:assert, so it runs under any runner that provides describe/it.
//
// Every test is generic: it uses only the StorageAdapter methods and the clock handed to
// `create`. It never relies on the adapter deleting expired records (adapters MAY evict, need
// not), and never touches adapter-specific housekeeping.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import type { AuthorizationCodeRecord, DeviceCodeRecord, RefreshTokenRecord, SessionFacts, StorageAdapter } from '../contracts/storage';
import { withLatency } from './latency';

// Runner globals (jest, mocha and vitest with globals provide them). Declared here so the
// library builds without any test framework's types.
/**
 * The test functions the kit registers its tests with: jest's, mocha's, vitest's or node:test's
 * `describe`, `it`, `beforeEach` and `afterEach`.
 */
export interface ConformanceTestApi {
  /** Registers a group of tests. */
  describe(name: string, body: () => void): unknown;
  /** Registers one asynchronous test. */
  it(name: string, body: () => Promise<void>): unknown;
  /** Runs before each test of the enclosing group. */
  beforeEach(body: () => Promise<void>): unknown;
  /** Runs after each test of the enclosing group. */
  afterEach(body: () => Promise<void>): unknown;
}

/** The test functions as the kit calls them: `it` takes the timeout in the runner's own way. */
interface BoundTestApi {
  describe(name: string, body: () => void): void;
  it(name: string, body: () => Promise<void>, timeoutMs: number): void;
  beforeEach(body: () => Promise<void>): void;
  afterEach(body: () => Promise<void>): void;
}

// The functions of the runStorageConformance call whose suite is being registered. Runners that
// run a describe body later (vitest collects after the file has loaded) get it back in `describe`.
let current: BoundTestApi | undefined;
const active = (): BoundTestApi => {
  if (!current) throw new Error('storage conformance: registered outside runStorageConformance');
  return current;
};
const describe = (name: string, body: () => void): void => {
  const api = active();
  api.describe(name, () => {
    current = api;
    body();
  });
};
const it = (name: string, body: () => Promise<void>, timeoutMs: number): void => active().it(name, body, timeoutMs);
const beforeEach = (body: () => Promise<void>): void => active().beforeEach(body);
const afterEach = (body: () => Promise<void>): void => active().afterEach(body);

/**
 * Which test functions to register with: the ones given, else the globals (jest, mocha, vitest
 * with `globals: true`), else node:test (`node --test`, or a file run with plain `node`). Under
 * vitest or jest without globals node:test would register nothing that runner sees (it reports
 * "no test found"), so that is an error naming the fix.
 */
function resolveTestApi(given: ConformanceTestApi | undefined): BoundTestApi {
  const names = ['describe', 'it', 'beforeEach', 'afterEach'] as const;
  const fromGlobals = names.every((name) => typeof Reflect.get(globalThis, name) === 'function');
  let api: ConformanceTestApi;
  let nodeTest = false;
  if (given) {
    api = given;
  } else if (fromGlobals) {
    api = { describe: Reflect.get(globalThis, 'describe'), it: Reflect.get(globalThis, 'it'), beforeEach: Reflect.get(globalThis, 'beforeEach'), afterEach: Reflect.get(globalThis, 'afterEach') };
  } else {
    // node --test sets NODE_TEST_CONTEXT in the process running the file; vitest sets VITEST in its
    // workers and jest JEST_WORKER_ID (a child process started by a test inherits them).
    if (process.env.NODE_TEST_CONTEXT === undefined && process.env.VITEST !== undefined) {
      throw new Error("runStorageConformance: vitest without globals: pass test: { describe, it, beforeEach, afterEach } imported from 'vitest' (or set test.globals: true in the vitest config)");
    }
    if (process.env.NODE_TEST_CONTEXT === undefined && process.env.JEST_WORKER_ID !== undefined) {
      throw new Error("runStorageConformance: jest without globals (injectGlobals: false): pass test: { describe, it, beforeEach, afterEach } imported from '@jest/globals'");
    }
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded only when no runner provides globals (Node >= 18 has it)
    api = require('node:test') as ConformanceTestApi;
    nodeTest = true;
  }
  return {
    describe: (name, body) => void api.describe(name, body),
    // Every runner takes (name, fn); jest, mocha and vitest take the timeout third, node:test as an option.
    it: nodeTest
      ? (name, body, timeoutMs) => void Reflect.apply(api.it, api, [name, { timeout: timeoutMs }, body])
      : (name, body, timeoutMs) => void Reflect.apply(api.it, api, [name, body, timeoutMs]),
    beforeEach: (body) => void api.beforeEach(body),
    afterEach: (body) => void api.afterEach(body),
  };
}

/** Options of {@link runStorageConformance}. */
export interface StorageConformanceOptions<S extends StorageAdapter = StorageAdapter> {
  /** Shown in the test titles. */
  name: string;
  /**
   * Makes a fresh, empty adapter whose idea of "now" is `clock` (ms since the epoch; tests move
   * it). Called before every test: isolate tests (new database file, new key prefix, …).
   */
  create(clock: () => number): S | Promise<S>;
  /** Releases what `create` opened. Called after every test. */
  destroy?(storage: S): void | Promise<void>;
  /**
   * Runs the adapter's cleanup now (e.g. `storage.sweep()`, `storage.purge()`), judged by the clock
   * given to `create`, so the suite can check that records the adapter must keep survive it.
   * Leave it out when the adapter has no cleanup of its own.
   */
  housekeeping?(storage: S): void | Promise<void>;
  /** Number of parallel callers in race tests. Defaults to 50 (at least 2). */
  concurrency?: number;
  /** Also run the whole suite through {@link withLatency} (1–5 ms per call leg). Defaults to true. */
  withLatency?: boolean;
  /** Per-test timeout in ms, passed to `it`. Defaults to 20 000. */
  timeoutMs?: number;
  /**
   * The test functions to register with. Defaults to the `describe`/`it`/`beforeEach`/`afterEach`
   * globals (jest, mocha, vitest with `globals: true`), else `node:test` (for `node --test`). Under
   * vitest without globals or jest with `injectGlobals: false`, pass them (from `vitest` or
   * `@jest/globals`): without them the kit throws an error saying so.
   */
  test?: ConformanceTestApi;
}

/** The clock the suite drives: starts at 2026-01-01T00:00:00Z. */
export const CONFORMANCE_T0 = Date.UTC(2026, 0, 1);

const T0 = CONFORMANCE_T0;
const SECOND = 1000;
const MINUTE = 60 * SECOND;
const DAY = 24 * 60 * MINUTE;

/**
 * Registers the conformance suite for a storage adapter: every method's documented promise
 * (save/find/consume of codes, refresh rotation, grant revocation, the access-token revocation
 * list, one-time use, device codes, expiry), and races where N parallel callers must produce
 * exactly one winner with nothing lost or duplicated.
 *
 * @example
 * // my-adapter.spec.ts (jest)
 * import { runStorageConformance } from 'express-token-endpoint/testing';
 * import { createPostgresStorage } from 'express-token-endpoint/postgres';
 * // One migrated schema for the file, emptied before each test (see docs/conformance-kit.md for the whole file).
 * runStorageConformance({ name: 'postgres', create: async (clock) => { await emptyTables(); return createPostgresStorage({ pool, schema, clock, purgeIntervalMs: 0 }); }, destroy: (s) => s.close(), housekeeping: (s) => s.purge().then(() => undefined) });
 */
export function runStorageConformance<S extends StorageAdapter>(options: StorageConformanceOptions<S>): void {
  current = resolveTestApi(options.test);
  const settings: Settings = { n: Math.max(2, Math.floor(options.concurrency ?? 50)), timeout: options.timeoutMs ?? 20_000 };
  const variants: Array<[string, boolean]> = [[options.name, false]];
  if (options.withLatency ?? true) variants.push([`${options.name} (answering with 1-5 ms latency)`, true]);
  for (const [title, slow] of variants) {
    describe(`storage conformance: ${title}`, () => {
      const env = harness(options, slow);
      registerCodeTests(env, settings);
      registerRefreshTests(env, settings);
      registerGrantTests(env, settings);
      registerAccessTokenRevocationTests(env, settings);
      registerOneTimeUseTests(env, settings);
      registerDeviceTests(env, settings);
      registerCopyTests(env, settings);
      registerJsonTests(env, settings);
      registerNothingLostTests(env, settings);
      registerResourceTests(env, settings);
    });
  }
}

/** What each test gets: the adapter under test and the clock it runs on. */
interface Harness {
  storage(): StorageAdapter;
  clock: { now: number };
  /** Runs the adapter's own cleanup, if the options name one. */
  housekeeping(): Promise<void>;
}

interface Settings {
  /** Parallel callers in race tests. */
  n: number;
  /** Per-test timeout. */
  timeout: number;
}

function harness<S extends StorageAdapter>(options: StorageConformanceOptions<S>, slow: boolean): Harness {
  const clock = { now: T0 };
  let raw: S | undefined;
  let wrapped: StorageAdapter | undefined;
  beforeEach(async () => {
    clock.now = T0;
    raw = await options.create(() => clock.now);
    wrapped = slow ? withLatency<StorageAdapter>(raw, () => 1 + Math.random() * 4) : raw;
  });
  afterEach(async () => {
    const created = raw;
    raw = undefined;
    wrapped = undefined;
    if (created && options.destroy) await options.destroy(created);
  });
  return {
    storage: () => {
      if (!wrapped) throw new Error('storage used outside a test');
      return wrapped;
    },
    clock,
    housekeeping: async () => {
      if (raw && options.housekeeping) await options.housekeeping(raw);
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Helpers

/**
 * Records are JSON data (adapters may serialise them): compare them as such. An unset optional
 * field must read back as absent: `null` where the record had no value is a mismatch (the
 * library tests `consumedAt === undefined`, `revokedAt !== undefined`).
 */
function assertSameRecord(actual: unknown, expected: unknown, message?: string): void {
  assert.deepEqual(actual === undefined ? undefined : JSON.parse(JSON.stringify(actual)), JSON.parse(JSON.stringify(expected)), message);
}

/** Asserts that a value is present and narrows it. */
function present<T>(value: T | undefined, what: string): T {
  assert.ok(value !== undefined, `${what}: expected a record, got undefined`);
  return value;
}

/** base64url SHA-256, the shape of every `*Hash` field. */
function digest(label: string): string {
  return createHash('sha256').update(label, 'utf8').digest('base64url');
}

/** Runs `count` calls concurrently and returns their results in call order. */
function parallel<R>(count: number, call: (index: number) => Promise<R>): Promise<R[]> {
  return Promise.all(Array.from({ length: count }, (_, index) => call(index)));
}

/** Like {@link parallel}, but keeps rejections as outcomes. */
function parallelSettled<R>(count: number, call: (index: number) => Promise<R>): Promise<Array<PromiseSettledResult<R>>> {
  return Promise.allSettled(Array.from({ length: count }, (_, index) => call(index)));
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

/** A writable view of a record, to try mutating what an adapter returned. */
type Mutable<T> = { -readonly [K in keyof T]: T[K] };

function codeRecord(name: string, overrides: Partial<AuthorizationCodeRecord> = {}): AuthorizationCodeRecord {
  return {
    codeHash: digest(`code:${name}`),
    clientId: 'client-a',
    redirectUri: 'https://client.example/cb',
    scope: ['openid', 'api:read'],
    subject: 'user-1',
    grantId: `grant-code-${name}`,
    issuedAt: T0,
    expiresAt: T0 + MINUTE,
    ...overrides,
  };
}

/** A code with every optional field set. */
function fullCodeRecord(name: string): AuthorizationCodeRecord {
  return codeRecord(name, {
    nonce: 'n-0S6_WzA2Mj',
    codeChallenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
    codeChallengeMethod: 'S256',
    authTime: Math.floor(T0 / 1000),
    acr: 'urn:acr:2',
    amr: ['pwd', 'otp'],
    sid: 'sid-1',
    claims: { access_token: { tnuid: 'tn-1', nested: { list: [1, 'two', true, null] } }, id_token: { name: 'Alice', email_verified: true } },
    resources: [ORDERS_API, 'urn:example:reports'],
  });
}

function refreshRecord(name: string, overrides: Partial<RefreshTokenRecord> = {}): RefreshTokenRecord {
  return {
    tokenHash: digest(`refresh:${name}`),
    grantId: 'grant-1',
    clientId: 'client-a',
    scope: ['openid', 'offline_access', 'api:read'],
    subject: 'user-1',
    issuedAt: T0,
    expiresAt: T0 + 30 * DAY,
    ...overrides,
  };
}

function deviceRecord(name: string, overrides: Partial<DeviceCodeRecord> = {}): DeviceCodeRecord {
  return {
    deviceCodeHash: digest(`device:${name}`),
    userCodeHash: digest(`user:${name}`),
    clientId: 'tv-app',
    scope: ['openid', 'api:read'],
    grantId: `grant-device-${name}`,
    issuedAt: T0,
    expiresAt: T0 + 10 * MINUTE,
    interval: 5,
    status: 'pending',
    ...overrides,
  };
}

/** Resource indicators (RFC 8707) the records carry in the resource tests. */
const ORDERS_API = 'https://api.example/orders';
const BILLING_API = 'https://api.example/billing?tenant=a';

const session: SessionFacts = {
  subject: 'user-1',
  authTime: Math.floor(T0 / 1000),
  acr: 'urn:acr:2',
  amr: ['pwd', 'otp'],
  sid: 'sid-1',
  claims: { access_token: { tnuid: 'tn-1' }, id_token: { name: 'Alice' } },
};

// ---------------------------------------------------------------------------------------------
// Authorization codes

function registerCodeTests(env: Harness, { n, timeout }: Settings): void {
  describe('authorization codes', () => {
    it('saveAuthorizationCode + findAuthorizationCode: round trip with every optional field intact', async () => {
      const storage = env.storage();
      const record = fullCodeRecord('full');
      await storage.saveAuthorizationCode(record);
      assertSameRecord(await storage.findAuthorizationCode(record.codeHash), record);
    }, timeout);

    it('saveAuthorizationCode + findAuthorizationCode: round trip with no optional field (unset fields read back absent, not null)', async () => {
      const storage = env.storage();
      const record = codeRecord('minimal');
      await storage.saveAuthorizationCode(record);
      const found = present(await storage.findAuthorizationCode(record.codeHash), 'findAuthorizationCode');
      assertSameRecord(found, record);
      assert.equal(found.consumedAt, undefined, 'consumedAt of an unconsumed code must be undefined');
    }, timeout);

    it('findAuthorizationCode resolves undefined for an unknown code', async () => {
      assert.equal(await env.storage().findAuthorizationCode(digest('code:unknown')), undefined);
    }, timeout);

    it('saveAuthorizationCode rejects a second save with the same codeHash and keeps the first record', async () => {
      const storage = env.storage();
      const first = codeRecord('dup');
      await storage.saveAuthorizationCode(first);
      await assert.rejects(storage.saveAuthorizationCode({ ...first, clientId: 'attacker', redirectUri: 'https://attacker.example/cb' }));
      assertSameRecord(await storage.findAuthorizationCode(first.codeHash), first);
    }, timeout);

    it('consumeAuthorizationCode consumes a code once: true, then false', async () => {
      const storage = env.storage();
      const record = codeRecord('once');
      await storage.saveAuthorizationCode(record);
      assert.equal(await storage.consumeAuthorizationCode(record.codeHash, T0 + 1000), true);
      assert.equal(await storage.consumeAuthorizationCode(record.codeHash, T0 + 2000), false);
    }, timeout);

    it('consumeAuthorizationCode with retainUntil keeps the consumed code past its expiry and the cleanup (late replays are still detected)', async () => {
      const storage = env.storage();
      const record = codeRecord('kept', { expiresAt: T0 + MINUTE });
      await storage.saveAuthorizationCode(record);
      assert.equal(await storage.consumeAuthorizationCode(record.codeHash, T0 + 1000, T0 + DAY), true);
      env.clock.now = T0 + DAY - 1;
      await env.housekeeping();
      const found = present(await storage.findAuthorizationCode(record.codeHash), 'findAuthorizationCode(consumed code, before its retainUntil, after cleanup)');
      assert.equal(found.consumedAt, T0 + 1000);
      assert.equal(found.grantId, record.grantId);
      assert.equal(found.clientId, record.clientId);
      assert.equal(found.redirectUri, record.redirectUri);
      assert.equal(found.codeChallenge, record.codeChallenge);
      assert.equal(await storage.consumeAuthorizationCode(record.codeHash, env.clock.now, T0 + 2 * DAY), false, 'a kept code is still consumed');
    }, timeout);

    it('consumeAuthorizationCode resolves false for an unknown code and creates nothing', async () => {
      const storage = env.storage();
      const hash = digest('code:unknown');
      assert.equal(await storage.consumeAuthorizationCode(hash, T0), false);
      assert.equal(await storage.findAuthorizationCode(hash), undefined);
    }, timeout);

    it('findAuthorizationCode still returns a consumed code, with consumedAt set; a losing consume does not overwrite it', async () => {
      const storage = env.storage();
      const record = codeRecord('replay');
      await storage.saveAuthorizationCode(record);
      await storage.consumeAuthorizationCode(record.codeHash, T0 + 1000);
      assertSameRecord(await storage.findAuthorizationCode(record.codeHash), { ...record, consumedAt: T0 + 1000 });
      assert.equal(await storage.consumeAuthorizationCode(record.codeHash, T0 + 5000), false);
      assertSameRecord(await storage.findAuthorizationCode(record.codeHash), { ...record, consumedAt: T0 + 1000 });
    }, timeout);

    it(`consumeAuthorizationCode race: of ${n} parallel consumes of one code exactly one resolves true, and its time is stored`, async () => {
      const storage = env.storage();
      const record = codeRecord('race');
      await storage.saveAuthorizationCode(record);
      const results = await parallel(n, (i) => storage.consumeAuthorizationCode(record.codeHash, T0 + 1000 + i));
      const winners = indexesOfTrue(results);
      assert.equal(winners.length, 1, `expected exactly one winner, got ${winners.length}`);
      assertSameRecord(await storage.findAuthorizationCode(record.codeHash), { ...record, consumedAt: T0 + 1000 + winners[0] });
    }, timeout);
  });
}

// ---------------------------------------------------------------------------------------------
// Refresh tokens

function registerRefreshTests(env: Harness, { n, timeout }: Settings): void {
  describe('refresh tokens', () => {
    it('saveRefreshToken + findRefreshToken: round trip with every optional field intact', async () => {
      const storage = env.storage();
      const record = refreshRecord('full', {
        familyExpiresAt: T0 + 90 * DAY,
        parentHash: digest('refresh:parent'),
        authTime: Math.floor(T0 / 1000),
        acr: 'urn:acr:2',
        amr: ['pwd'],
        sid: 'sid-1',
        claims: { access_token: { tnuid: 'tn-1' }, id_token: { name: 'Alice' } },
        resources: [ORDERS_API],
      });
      await storage.saveRefreshToken(record);
      assertSameRecord(await storage.findRefreshToken(record.tokenHash), record);
    }, timeout);

    it('saveRefreshToken + findRefreshToken: round trip with no optional field (unset fields read back absent, not null)', async () => {
      const storage = env.storage();
      const record = refreshRecord('minimal');
      await storage.saveRefreshToken(record);
      const found = present(await storage.findRefreshToken(record.tokenHash), 'findRefreshToken');
      assertSameRecord(found, record);
      assert.equal(found.consumedAt, undefined, 'consumedAt of an unused token must be undefined');
      assert.equal(found.revokedAt, undefined, 'revokedAt of a token of a live grant must be undefined');
    }, timeout);

    it('findRefreshToken resolves undefined for an unknown token', async () => {
      assert.equal(await env.storage().findRefreshToken(digest('refresh:unknown')), undefined);
    }, timeout);

    it('saveRefreshToken rejects a second save with the same tokenHash and keeps the first record', async () => {
      const storage = env.storage();
      const first = refreshRecord('dup');
      await storage.saveRefreshToken(first);
      await assert.rejects(storage.saveRefreshToken({ ...first, clientId: 'attacker' }));
      assertSameRecord(await storage.findRefreshToken(first.tokenHash), first);
    }, timeout);

    it('rotateRefreshToken sets consumedAt, successorEnvelope and retainUntil >= successor.expiresAt on the old token, and stores the successor', async () => {
      const storage = env.storage();
      const old = refreshRecord('old', { expiresAt: T0 + DAY });
      const successor = refreshRecord('new', { parentHash: old.tokenHash, issuedAt: T0 + 1000, expiresAt: T0 + 30 * DAY });
      await storage.saveRefreshToken(old);
      assert.equal(await storage.rotateRefreshToken(old.tokenHash, successor, T0 + 1000, 'envelope-1'), true);
      const found = present(await storage.findRefreshToken(old.tokenHash), 'findRefreshToken(old)');
      assert.equal(typeof found.retainUntil, 'number', 'retainUntil must be set on rotation');
      assert.ok((found.retainUntil ?? 0) >= successor.expiresAt, `retainUntil ${found.retainUntil} is before the successor's expiresAt ${successor.expiresAt}`);
      assertSameRecord(found, { ...old, consumedAt: T0 + 1000, successorEnvelope: 'envelope-1', retainUntil: found.retainUntil });
      assertSameRecord(await storage.findRefreshToken(successor.tokenHash), successor);
    }, timeout);

    it('rotateRefreshToken without an envelope sets consumedAt and leaves successorEnvelope unset', async () => {
      const storage = env.storage();
      const old = refreshRecord('old');
      const successor = refreshRecord('new', { parentHash: old.tokenHash });
      await storage.saveRefreshToken(old);
      assert.equal(await storage.rotateRefreshToken(old.tokenHash, successor, T0 + 1000), true);
      const found = present(await storage.findRefreshToken(old.tokenHash), 'findRefreshToken(old)');
      assert.equal(found.consumedAt, T0 + 1000);
      assert.equal(found.successorEnvelope, undefined);
      assert.ok((found.retainUntil ?? 0) >= successor.expiresAt, `retainUntil ${found.retainUntil} is before the successor's expiresAt ${successor.expiresAt}`);
      assertSameRecord(await storage.findRefreshToken(successor.tokenHash), successor);
    }, timeout);

    it('rotateRefreshToken keeps a rotated token findable past its own expiresAt while its successor lives (reuse detection)', async () => {
      const storage = env.storage();
      const old = refreshRecord('short', { expiresAt: T0 + MINUTE });
      const successor = refreshRecord('long', { parentHash: old.tokenHash, expiresAt: T0 + 10 * MINUTE });
      await storage.saveRefreshToken(old);
      assert.equal(await storage.rotateRefreshToken(old.tokenHash, successor, T0 + 1000), true);
      env.clock.now = successor.expiresAt - 1;
      const found = present(await storage.findRefreshToken(old.tokenHash), 'findRefreshToken(rotated token, 1 ms before its successor expires)');
      assert.equal(found.consumedAt, T0 + 1000);
    }, timeout);

    it('rotateRefreshToken: a second rotation of the same token resolves false and stores nothing', async () => {
      const storage = env.storage();
      const old = refreshRecord('old');
      await storage.saveRefreshToken(old);
      assert.equal(await storage.rotateRefreshToken(old.tokenHash, refreshRecord('new-1'), T0 + 1000, 'envelope-1'), true);
      const after = present(await storage.findRefreshToken(old.tokenHash), 'findRefreshToken(old)');
      const second = refreshRecord('new-2');
      assert.equal(await storage.rotateRefreshToken(old.tokenHash, second, T0 + 2000, 'envelope-2'), false);
      assert.equal(await storage.findRefreshToken(second.tokenHash), undefined, 'the losing successor must not be stored');
      assertSameRecord(await storage.findRefreshToken(old.tokenHash), after, 'a losing rotation must not change the old token');
      assert.equal(after.consumedAt, T0 + 1000);
      assert.equal(after.successorEnvelope, 'envelope-1');
    }, timeout);

    it('rotateRefreshToken resolves false for an unknown token and stores nothing', async () => {
      const storage = env.storage();
      const successor = refreshRecord('new');
      assert.equal(await storage.rotateRefreshToken(digest('refresh:unknown'), successor, T0), false);
      assert.equal(await storage.findRefreshToken(successor.tokenHash), undefined);
      assert.equal(await storage.findRefreshToken(digest('refresh:unknown')), undefined);
    }, timeout);

    it(`rotateRefreshToken race: of ${n} parallel rotations of one token with distinct successors exactly one resolves true and exactly that successor is stored`, async () => {
      const storage = env.storage();
      const old = refreshRecord('old');
      await storage.saveRefreshToken(old);
      const successors = Array.from({ length: n }, (_, i) => refreshRecord(`successor-${i}`, { parentHash: old.tokenHash, issuedAt: T0 + 1000 + i }));
      const results = await parallel(n, (i) => storage.rotateRefreshToken(old.tokenHash, successors[i], T0 + 1000 + i, `envelope-${i}`));
      const winners = indexesOfTrue(results);
      assert.equal(winners.length, 1, `expected exactly one winner, got ${winners.length}`);
      const found = await Promise.all(successors.map((successor) => storage.findRefreshToken(successor.tokenHash)));
      const stored = indexesOfTrue(found.map((record) => record !== undefined));
      assert.deepEqual(stored, winners, 'exactly the winning successor must be stored');
      assertSameRecord(found[winners[0]], successors[winners[0]]);
      const rotated = present(await storage.findRefreshToken(old.tokenHash), 'findRefreshToken(old)');
      assertSameRecord(rotated, { ...old, consumedAt: T0 + 1000 + winners[0], successorEnvelope: `envelope-${winners[0]}`, retainUntil: rotated.retainUntil });
    }, timeout);
  });
}

// ---------------------------------------------------------------------------------------------
// Grant revocation

function registerGrantTests(env: Harness, { n, timeout }: Settings): void {
  describe('grant revocation', () => {
    it('rotateRefreshToken resolves false and stores nothing once the grant is revoked', async () => {
      const storage = env.storage();
      const old = refreshRecord('old', { grantId: 'grant-r' });
      await storage.saveRefreshToken(old);
      await storage.revokeGrant('grant-r', T0 + 500, T0 + 60 * MINUTE);
      const successor = refreshRecord('new', { grantId: 'grant-r' });
      assert.equal(await storage.rotateRefreshToken(old.tokenHash, successor, T0 + 1000, 'envelope'), false);
      assert.equal(await storage.findRefreshToken(successor.tokenHash), undefined);
      const found = present(await storage.findRefreshToken(old.tokenHash), 'findRefreshToken(old)');
      assert.equal(found.consumedAt, undefined, 'a refused rotation must not consume the token');
      assert.equal(found.successorEnvelope, undefined);
    }, timeout);

    it('findRefreshToken reports revokedAt for every token of a revoked grant, also tokens saved after the revocation; other grants unaffected', async () => {
      const storage = env.storage();
      const before = refreshRecord('before', { grantId: 'grant-r' });
      const rotated = refreshRecord('rotated', { grantId: 'grant-r' });
      const rotatedSuccessor = refreshRecord('rotated-successor', { grantId: 'grant-r', parentHash: rotated.tokenHash });
      const otherGrant = refreshRecord('other', { grantId: 'grant-other' });
      await storage.saveRefreshToken(before);
      await storage.saveRefreshToken(rotated);
      assert.equal(await storage.rotateRefreshToken(rotated.tokenHash, rotatedSuccessor, T0 + 100), true);
      await storage.saveRefreshToken(otherGrant);
      await storage.revokeGrant('grant-r', T0 + 500, T0 + 60 * MINUTE);
      const after = refreshRecord('after', { grantId: 'grant-r' });
      await storage.saveRefreshToken(after);

      assertSameRecord(await storage.findRefreshToken(before.tokenHash), { ...before, revokedAt: T0 + 500 });
      assertSameRecord(await storage.findRefreshToken(after.tokenHash), { ...after, revokedAt: T0 + 500 }, 'a token saved after revokeGrant must read as revoked');
      assertSameRecord(await storage.findRefreshToken(rotatedSuccessor.tokenHash), { ...rotatedSuccessor, revokedAt: T0 + 500 });
      const used = present(await storage.findRefreshToken(rotated.tokenHash), 'findRefreshToken(rotated)');
      assert.equal(used.revokedAt, T0 + 500);
      assert.equal(used.consumedAt, T0 + 100);
      assert.equal((await storage.findRefreshToken(otherGrant.tokenHash))?.revokedAt, undefined, 'a token of another grant must not read as revoked');
      assert.equal(await storage.rotateRefreshToken(after.tokenHash, refreshRecord('after-successor', { grantId: 'grant-r' }), T0 + 1000), false);
      assert.equal(await storage.findRefreshToken(refreshRecord('after-successor').tokenHash), undefined);
    }, timeout);

    it('isGrantRevoked is false for a grant never revoked and true after revokeGrant', async () => {
      const storage = env.storage();
      assert.equal(await storage.isGrantRevoked('grant-r'), false);
      await storage.revokeGrant('grant-r', T0, T0 + MINUTE);
      assert.equal(await storage.isGrantRevoked('grant-r'), true);
      assert.equal(await storage.isGrantRevoked('grant-other'), false);
    }, timeout);

    it('revokeGrant is idempotent: a second call resolves and keeps the first revokedAt', async () => {
      const storage = env.storage();
      const token = refreshRecord('a', { grantId: 'grant-r' });
      await storage.saveRefreshToken(token);
      await storage.revokeGrant('grant-r', T0 + 500, T0 + 60 * MINUTE);
      assert.equal(await storage.revokeGrant('grant-r', T0 + 900, T0 + 60 * MINUTE), undefined);
      assert.equal(await storage.isGrantRevoked('grant-r'), true);
      assert.equal((await storage.findRefreshToken(token.tokenHash))?.revokedAt, T0 + 500);
    }, timeout);

    it('revokeGrant keeps the mark until its retainUntil (judged by the adapter clock), also past the tokens\' expiry', async () => {
      const storage = env.storage();
      await storage.revokeGrant('grant-r', T0, T0 + 60 * MINUTE);
      env.clock.now = T0 + 60 * MINUTE - 1;
      assert.equal(await storage.isGrantRevoked('grant-r'), true, 'the mark must be kept until retainUntil');
      const late = refreshRecord('late', { grantId: 'grant-r', issuedAt: env.clock.now, expiresAt: env.clock.now + DAY });
      await storage.saveRefreshToken(late);
      assert.equal((await storage.findRefreshToken(late.tokenHash))?.revokedAt, T0);
    }, timeout);

    it('revokeGrant called again with a later retainUntil keeps the mark until the latest one', async () => {
      const storage = env.storage();
      await storage.revokeGrant('grant-r', T0, T0 + 1000);
      await storage.revokeGrant('grant-r', T0 + 10, T0 + 10_000);
      await storage.revokeGrant('grant-r', T0 + 20, T0 + 5000);
      env.clock.now = T0 + 9999;
      assert.equal(await storage.isGrantRevoked('grant-r'), true, 'the mark must be kept until the latest retainUntil given');
    }, timeout);

    it(`revokeGrant is safe to call ${n} times in parallel: all resolve, the grant reads revoked with one of the given times`, async () => {
      const storage = env.storage();
      const token = refreshRecord('a', { grantId: 'grant-r' });
      await storage.saveRefreshToken(token);
      await parallel(n, (i) => storage.revokeGrant('grant-r', T0 + i, T0 + 60 * MINUTE));
      assert.equal(await storage.isGrantRevoked('grant-r'), true);
      const revokedAt = (await storage.findRefreshToken(token.tokenHash))?.revokedAt;
      assert.ok(typeof revokedAt === 'number' && revokedAt >= T0 && revokedAt < T0 + n, `revokedAt ${revokedAt} is none of the times given`);
    }, timeout);

    it(`rotations racing revokeGrant: ${n} rotations in parallel with a revocation leave every token of the grant reading as revoked and at most one successor`, async () => {
      const storage = env.storage();
      const old = refreshRecord('old', { grantId: 'grant-r' });
      await storage.saveRefreshToken(old);
      const successors = Array.from({ length: n }, (_, i) => refreshRecord(`successor-${i}`, { grantId: 'grant-r', parentHash: old.tokenHash }));
      const half = Math.floor(n / 2);
      const [results] = await Promise.all([
        parallel(n, (i) => storage.rotateRefreshToken(old.tokenHash, successors[i], T0 + 1000 + i)),
        (async () => {
          await Promise.resolve();
          await storage.revokeGrant('grant-r', T0 + 1000 + half, T0 + 60 * MINUTE);
        })(),
      ]);
      const winners = indexesOfTrue(results);
      assert.ok(winners.length <= 1, `expected at most one winner, got ${winners.length}`);
      const found = await Promise.all(successors.map((successor) => storage.findRefreshToken(successor.tokenHash)));
      assert.deepEqual(indexesOfTrue(found.map((record) => record !== undefined)), winners, 'exactly the winning successor (if any) must be stored');
      for (const record of [await storage.findRefreshToken(old.tokenHash), ...found.filter((record) => record !== undefined)]) {
        assert.equal(present(record, 'findRefreshToken').revokedAt, T0 + 1000 + half, 'every token of the revoked grant must read as revoked');
      }
    }, timeout);
  });
}

// ---------------------------------------------------------------------------------------------
// Access-token revocation list

function registerAccessTokenRevocationTests(env: Harness, { n, timeout }: Settings): void {
  describe('access-token revocation list', () => {
    it('isAccessTokenRevoked is false for a jti never revoked and true after revokeAccessToken', async () => {
      const storage = env.storage();
      assert.equal(await storage.isAccessTokenRevoked('jti-a'), false);
      assert.equal(await storage.revokeAccessToken('jti-a', T0 + 10 * MINUTE), undefined);
      assert.equal(await storage.isAccessTokenRevoked('jti-a'), true);
      assert.equal(await storage.isAccessTokenRevoked('jti-b'), false, 'another jti must not read as revoked');
      assert.equal(await storage.isGrantRevoked('jti-a'), false, 'the access-token list is not the grant list');
    }, timeout);

    it('keeps the entry until the token\'s exp, through housekeeping, and a second call only extends it', async () => {
      const storage = env.storage();
      await storage.revokeAccessToken('jti-a', T0 + MINUTE);
      await storage.revokeAccessToken('jti-a', T0 + 10 * MINUTE);
      await storage.revokeAccessToken('jti-a', T0 + 2 * MINUTE);
      env.clock.now = T0 + 10 * MINUTE - 1;
      await env.housekeeping();
      assert.equal(await storage.isAccessTokenRevoked('jti-a'), true, 'the entry must be kept until the latest expiresAt given');
    }, timeout);

    it('housekeeping after one entry expired keeps the entries still live', async () => {
      const storage = env.storage();
      await storage.revokeAccessToken('jti-old', T0 + MINUTE);
      await storage.revokeAccessToken('jti-live', T0 + DAY);
      env.clock.now = T0 + MINUTE + 1;
      await env.housekeeping();
      assert.equal(await storage.isAccessTokenRevoked('jti-live'), true);
    }, timeout);

    it(`revokeAccessToken is safe to call ${n} times in parallel for one jti and for ${n} jtis`, async () => {
      const storage = env.storage();
      await parallel(n, (i) => storage.revokeAccessToken('jti-same', T0 + MINUTE + i));
      await parallel(n, (i) => storage.revokeAccessToken(`jti-${i}`, T0 + MINUTE));
      assert.equal(await storage.isAccessTokenRevoked('jti-same'), true);
      const each = await parallel(n, (i) => storage.isAccessTokenRevoked(`jti-${i}`));
      assert.deepEqual(indexesOfTrue(each).length, n, 'every revoked jti must read as revoked');
    }, timeout);
  });
}

// ---------------------------------------------------------------------------------------------
// One-time use (assertion and DPoP proof jtis)

/** A one-time-use key as the library passes it: namespaced, the value hashed. */
function useKey(name: string): string {
  return `conformance:${digest(name)}`;
}

function registerOneTimeUseTests(env: Harness, { n, timeout }: Settings): void {
  describe('one-time use', () => {
    it('recordOneTimeUse resolves true for the first use of a key, false for every later one, true for another key', async () => {
      const storage = env.storage();
      assert.equal(await storage.recordOneTimeUse(useKey('a'), T0 + 5 * MINUTE), true, 'the first use of a key must resolve true');
      assert.equal(await storage.recordOneTimeUse(useKey('a'), T0 + 5 * MINUTE), false, 'a second use before expiresAt must resolve false');
      assert.equal(await storage.recordOneTimeUse(useKey('a'), T0 + DAY), false, 'a later expiresAt does not make a used key new');
      assert.equal(await storage.recordOneTimeUse(useKey('b'), T0 + 5 * MINUTE), true, 'another key is a use of its own');
      assert.equal(await storage.recordOneTimeUse(useKey('b'), T0 + 5 * MINUTE), false);
    }, timeout);

    it('keeps the use until expiresAt, through housekeeping', async () => {
      const storage = env.storage();
      assert.equal(await storage.recordOneTimeUse(useKey('kept'), T0 + MINUTE), true);
      env.clock.now = T0 + MINUTE - 1;
      await env.housekeeping();
      assert.equal(await storage.recordOneTimeUse(useKey('kept'), T0 + MINUTE), false, 'the use must be kept until its expiresAt');
    }, timeout);

    it('after expiresAt a key may be used again (or still be refused): a new use neither throws nor touches live keys', async () => {
      const storage = env.storage();
      await storage.recordOneTimeUse(useKey('stale'), T0 + MINUTE);
      await storage.recordOneTimeUse(useKey('swept'), T0 + MINUTE);
      await storage.recordOneTimeUse(useKey('live'), T0 + DAY);
      env.clock.now = T0 + MINUTE + 1;
      // Past expiry but before any housekeeping, then after it: either answer is allowed.
      const stale = await storage.recordOneTimeUse(useKey('stale'), T0 + 3 * MINUTE);
      await env.housekeeping();
      const swept = await storage.recordOneTimeUse(useKey('swept'), T0 + 3 * MINUTE);
      for (const [name, again] of [['stale', stale], ['swept', swept]] as const) {
        assert.equal(typeof again, 'boolean', `${name}: recordOneTimeUse must resolve a boolean`);
        // A use that succeeded is a use like any other: kept until its own expiresAt.
        if (again) assert.equal(await storage.recordOneTimeUse(useKey(name), T0 + 3 * MINUTE), false, `${name}: a new use must be kept until its expiresAt`);
      }
      assert.equal(await storage.recordOneTimeUse(useKey('live'), T0 + DAY), false, 'a live use must survive housekeeping');
    }, timeout);

    it(`of ${n} parallel callers with one key exactly one resolves true, and a later call resolves false`, async () => {
      const storage = env.storage();
      const results = await parallel(n, (i) => storage.recordOneTimeUse(useKey('race'), T0 + MINUTE + i));
      assert.equal(indexesOfTrue(results).length, 1, `expected exactly one true, got ${indexesOfTrue(results).length}`);
      assert.equal(await storage.recordOneTimeUse(useKey('race'), T0 + MINUTE), false);
    }, timeout);

    it(`of ${n} parallel callers reusing one expired key at most one resolves true`, async () => {
      const storage = env.storage();
      assert.equal(await storage.recordOneTimeUse(useKey('expired-race'), T0 + MINUTE), true);
      env.clock.now = T0 + 2 * MINUTE;
      const results = await parallel(n, () => storage.recordOneTimeUse(useKey('expired-race'), T0 + 3 * MINUTE));
      assert.ok(indexesOfTrue(results).length <= 1, `expected at most one true, got ${indexesOfTrue(results).length}`);
    }, timeout);

    it(`${n} parallel callers with ${n} distinct keys all resolve true`, async () => {
      const storage = env.storage();
      const results = await parallel(n, (i) => storage.recordOneTimeUse(useKey(`distinct-${i}`), T0 + MINUTE));
      assert.equal(indexesOfTrue(results).length, n, 'every distinct key must be a first use');
    }, timeout);
  });
}

// ---------------------------------------------------------------------------------------------
// Device codes

function registerDeviceTests(env: Harness, { n, timeout }: Settings): void {
  describe('device codes', () => {
    it('saveDeviceCode resolves true; findDeviceCode and findDeviceCodeByUserCode return the record', async () => {
      const storage = env.storage();
      const record = deviceRecord('a');
      assert.equal(await storage.saveDeviceCode(record), true);
      assertSameRecord(await storage.findDeviceCode(record.deviceCodeHash), record);
      assertSameRecord(await storage.findDeviceCodeByUserCode(record.userCodeHash), record);
      const found = present(await storage.findDeviceCode(record.deviceCodeHash), 'findDeviceCode');
      for (const field of ['lastPolledAt', 'session', 'consumedAt'] as const) assert.equal(found[field], undefined, `${field} of a new request must be undefined`);
    }, timeout);

    it('saveDeviceCode resolves false and stores nothing while a live request uses the same userCodeHash', async () => {
      const storage = env.storage();
      const first = deviceRecord('a');
      const second = deviceRecord('b', { userCodeHash: first.userCodeHash });
      assert.equal(await storage.saveDeviceCode(first), true);
      env.clock.now = first.expiresAt - 1;
      assert.equal(await storage.saveDeviceCode(second), false);
      assert.equal(await storage.findDeviceCode(second.deviceCodeHash), undefined, 'the refused request must not be stored');
      assertSameRecord(await storage.findDeviceCodeByUserCode(first.userCodeHash), first);
    }, timeout);

    it('saveDeviceCode lets a user code be reused once the request holding it has expired by the adapter clock; the user code then finds and decides the new request', async () => {
      const storage = env.storage();
      const first = deviceRecord('a');
      const second = deviceRecord('b', { userCodeHash: first.userCodeHash, issuedAt: first.expiresAt, expiresAt: first.expiresAt + 10 * MINUTE });
      assert.equal(await storage.saveDeviceCode(first), true);
      env.clock.now = first.expiresAt;
      assert.equal(await storage.saveDeviceCode(second), true, 'a request is expired from its expiresAt on (now >= expiresAt)');
      assertSameRecord(await storage.findDeviceCodeByUserCode(first.userCodeHash), second);
      assertSameRecord(await storage.findDeviceCode(second.deviceCodeHash), second);
      assert.equal(await storage.decideDeviceCode(first.userCodeHash, { status: 'approved', session }), true);
      assert.equal((await storage.findDeviceCode(second.deviceCodeHash))?.status, 'approved');
      const old = await storage.findDeviceCode(first.deviceCodeHash); // may have been evicted
      if (old) assert.equal(old.status, 'pending', 'the decision must apply to the live request, not the expired one');
    }, timeout);

    it('decideDeviceCode approves a pending request once, storing the session; later decisions resolve false', async () => {
      const storage = env.storage();
      const record = deviceRecord('a');
      await storage.saveDeviceCode(record);
      assert.equal(await storage.decideDeviceCode(record.userCodeHash, { status: 'approved', session }), true);
      assert.equal(await storage.decideDeviceCode(record.userCodeHash, { status: 'denied' }), false);
      assert.equal(await storage.decideDeviceCode(record.userCodeHash, { status: 'approved', session: { subject: 'user-2' } }), false);
      assertSameRecord(await storage.findDeviceCode(record.deviceCodeHash), { ...record, status: 'approved', session });
      assertSameRecord(await storage.findDeviceCodeByUserCode(record.userCodeHash), { ...record, status: 'approved', session });
    }, timeout);

    it('decideDeviceCode denies a pending request once, without a session; later decisions resolve false', async () => {
      const storage = env.storage();
      const record = deviceRecord('a');
      await storage.saveDeviceCode(record);
      assert.equal(await storage.decideDeviceCode(record.userCodeHash, { status: 'denied' }), true);
      assert.equal(await storage.decideDeviceCode(record.userCodeHash, { status: 'approved', session }), false);
      assert.equal(await storage.decideDeviceCode(record.userCodeHash, { status: 'denied' }), false);
      const found = present(await storage.findDeviceCode(record.deviceCodeHash), 'findDeviceCode');
      assertSameRecord(found, { ...record, status: 'denied' });
      assert.equal(found.session, undefined);
    }, timeout);

    it(`decideDeviceCode race: of ${n} parallel approvals and denials exactly one resolves true, and its decision is the one stored`, async () => {
      const storage = env.storage();
      const record = deviceRecord('a');
      await storage.saveDeviceCode(record);
      const decision = (i: number) => (i % 2 === 0 ? ({ status: 'approved', session: { subject: `user-${i}` } } as const) : ({ status: 'denied' } as const));
      const results = await parallel(n, (i) => storage.decideDeviceCode(record.userCodeHash, decision(i)));
      const winners = indexesOfTrue(results);
      assert.equal(winners.length, 1, `expected exactly one winner, got ${winners.length}`);
      const winning = decision(winners[0]);
      assertSameRecord(await storage.findDeviceCode(record.deviceCodeHash), winning.status === 'approved' ? { ...record, status: 'approved', session: winning.session } : { ...record, status: 'denied' });
    }, timeout);

    it('pollDeviceCode: the first poll is not too soon; one within the interval is and raises it; the next is judged against the raised interval', async () => {
      const storage = env.storage();
      const record = deviceRecord('a');
      await storage.saveDeviceCode(record);

      const first = await storage.pollDeviceCode(record.deviceCodeHash, T0 + 1000, 5);
      assertSameRecord(first, { tooSoon: false, record: { ...record, lastPolledAt: T0 + 1000 } }, 'first poll');

      const second = await storage.pollDeviceCode(record.deviceCodeHash, T0 + 3000, 5);
      assertSameRecord(second, { tooSoon: true, record: { ...record, lastPolledAt: T0 + 3000, interval: 10 } }, 'poll 2 s later (interval 5 s)');

      // 7 s later: enough for the old 5 s interval but not for the raised 10 s one.
      const third = await storage.pollDeviceCode(record.deviceCodeHash, T0 + 10_000, 5);
      assertSameRecord(third, { tooSoon: true, record: { ...record, lastPolledAt: T0 + 10_000, interval: 15 } }, 'poll 7 s later (interval 10 s)');

      // Exactly the raised interval later: not too soon, and the interval stays.
      const fourth = await storage.pollDeviceCode(record.deviceCodeHash, T0 + 25_000, 5);
      assertSameRecord(fourth, { tooSoon: false, record: { ...record, lastPolledAt: T0 + 25_000, interval: 15 } }, 'poll exactly 15 s later (interval 15 s)');

      assertSameRecord(await storage.findDeviceCode(record.deviceCodeHash), { ...record, lastPolledAt: T0 + 25_000, interval: 15 });
    }, timeout);

    it('pollDeviceCode raises the interval by the given slowDownSeconds', async () => {
      const storage = env.storage();
      const record = deviceRecord('a');
      await storage.saveDeviceCode(record);
      await storage.pollDeviceCode(record.deviceCodeHash, T0, 7);
      const result = present(await storage.pollDeviceCode(record.deviceCodeHash, T0 + 1, 7), 'pollDeviceCode');
      assert.equal(result.tooSoon, true);
      assert.equal(result.record.interval, 12);
    }, timeout);

    it('pollDeviceCode with maxIntervalSeconds: the interval grows up to the cap and stays there', async () => {
      const storage = env.storage();
      const record = deviceRecord('a');
      await storage.saveDeviceCode(record);
      const intervals: number[] = [];
      for (const at of [T0, T0 + 1, T0 + 2, T0 + 3]) {
        const result = present(await storage.pollDeviceCode(record.deviceCodeHash, at, 5, 12), `poll at +${at - T0} ms`);
        assert.equal(result.tooSoon, at !== T0, `poll at +${at - T0} ms: tooSoon`);
        intervals.push(result.record.interval);
      }
      assert.deepEqual(intervals, [5, 10, 12, 12], 'interval after each poll (slowDownSeconds 5, maxIntervalSeconds 12)');
      assertSameRecord(await storage.findDeviceCode(record.deviceCodeHash), { ...record, lastPolledAt: T0 + 3, interval: 12 });
    }, timeout);

    it('pollDeviceCode with maxIntervalSeconds never shrinks an interval already above the cap', async () => {
      const storage = env.storage();
      const record = deviceRecord('a', { interval: 20, lastPolledAt: T0 - 1000 });
      await storage.saveDeviceCode(record);
      const result = await storage.pollDeviceCode(record.deviceCodeHash, T0, 5, 12);
      assertSameRecord(result, { tooSoon: true, record: { ...record, lastPolledAt: T0, interval: 20 } });
    }, timeout);

    it(`pollDeviceCode burst with maxIntervalSeconds: ${n} parallel polls at one instant: at most one is not too soon, and the interval ends at the cap`, async () => {
      const storage = env.storage();
      const record = deviceRecord('a');
      await storage.saveDeviceCode(record);
      const cap = 5 + 5 * Math.max(1, Math.floor((n - 1) / 2));
      const results = await parallel(n, () => storage.pollDeviceCode(record.deviceCodeHash, T0, 5, cap));
      const polls = results.map((result, i) => present(result, `poll ${i}`));
      const notTooSoon = polls.filter((result) => !result.tooSoon).length;
      assert.ok(notTooSoon <= 1, `${notTooSoon} polls of one burst were not too soon: a burst slipped under the interval`);
      for (const poll of polls) assert.ok(poll.record.interval <= cap, `an interval of ${poll.record.interval} s went past the cap of ${cap} s`);
      const found = present(await storage.findDeviceCode(record.deviceCodeHash), 'findDeviceCode');
      assert.equal(found.interval, Math.min(cap, 5 + 5 * (n - notTooSoon)));
      assert.equal(found.lastPolledAt, T0);
    }, timeout);

    it('pollDeviceCode keeps status and session: polling an approved request reports it approved', async () => {
      const storage = env.storage();
      const record = deviceRecord('a');
      await storage.saveDeviceCode(record);
      await storage.pollDeviceCode(record.deviceCodeHash, T0, 5);
      await storage.decideDeviceCode(record.userCodeHash, { status: 'approved', session });
      const result = await storage.pollDeviceCode(record.deviceCodeHash, T0 + 5000, 5);
      assertSameRecord(result, { tooSoon: false, record: { ...record, status: 'approved', session, lastPolledAt: T0 + 5000 } });
    }, timeout);

    for (const [label, lastPolledAt] of [
      ['a request never polled', undefined],
      ['a request last polled long ago', T0 - MINUTE],
    ] as const) {
      it(`pollDeviceCode burst: ${n} parallel polls at one instant on ${label}: at most one is not too soon, every other one raises the interval`, async () => {
        const storage = env.storage();
        const record = deviceRecord('a', lastPolledAt === undefined ? {} : { lastPolledAt });
        await storage.saveDeviceCode(record);
        const results = await parallel(n, () => storage.pollDeviceCode(record.deviceCodeHash, T0, 5));
        const polls = results.map((result, i) => present(result, `poll ${i}`));
        const notTooSoon = polls.filter((result) => !result.tooSoon).length;
        assert.ok(notTooSoon <= 1, `${notTooSoon} polls of one burst were not too soon: a burst slipped under the interval`);
        const found = present(await storage.findDeviceCode(record.deviceCodeHash), 'findDeviceCode');
        assert.equal(found.lastPolledAt, T0);
        assert.equal(found.interval, 5 + 5 * (n - notTooSoon), 'each too-soon poll must raise the interval once (polls are serialised)');
      }, timeout);
    }

    it('consumeDeviceCode consumes only an approved request, once: pending and denied resolve false', async () => {
      const storage = env.storage();
      const pending = deviceRecord('pending');
      const denied = deviceRecord('denied');
      const approved = deviceRecord('approved');
      for (const record of [pending, denied, approved]) assert.equal(await storage.saveDeviceCode(record), true);
      assert.equal(await storage.decideDeviceCode(denied.userCodeHash, { status: 'denied' }), true);
      assert.equal(await storage.decideDeviceCode(approved.userCodeHash, { status: 'approved', session }), true);

      assert.equal(await storage.consumeDeviceCode(pending.deviceCodeHash, T0 + 1000), false, 'pending');
      assert.equal(await storage.consumeDeviceCode(denied.deviceCodeHash, T0 + 1000), false, 'denied');
      assert.equal(await storage.consumeDeviceCode(approved.deviceCodeHash, T0 + 1000), true, 'approved');
      assert.equal(await storage.consumeDeviceCode(approved.deviceCodeHash, T0 + 2000), false, 'approved, already consumed');
      assertSameRecord(await storage.findDeviceCode(approved.deviceCodeHash), { ...approved, status: 'approved', session, consumedAt: T0 + 1000 });
      assertSameRecord(await storage.findDeviceCode(pending.deviceCodeHash), pending);
      assertSameRecord(await storage.findDeviceCode(denied.deviceCodeHash), { ...denied, status: 'denied' });
    }, timeout);

    it(`consumeDeviceCode race: of ${n} parallel consumes of an approved request exactly one resolves true, and its time is stored`, async () => {
      const storage = env.storage();
      const record = deviceRecord('a');
      await storage.saveDeviceCode(record);
      await storage.decideDeviceCode(record.userCodeHash, { status: 'approved', session });
      const results = await parallel(n, (i) => storage.consumeDeviceCode(record.deviceCodeHash, T0 + 1000 + i));
      const winners = indexesOfTrue(results);
      assert.equal(winners.length, 1, `expected exactly one winner, got ${winners.length}`);
      assert.equal((await storage.findDeviceCode(record.deviceCodeHash))?.consumedAt, T0 + 1000 + winners[0]);
    }, timeout);

    it('unknown device codes: finds resolve undefined, decide and consume false, poll undefined, and nothing is created', async () => {
      const storage = env.storage();
      const unknown = digest('device:unknown');
      assert.equal(await storage.findDeviceCode(unknown), undefined);
      assert.equal(await storage.findDeviceCodeByUserCode(unknown), undefined);
      assert.equal(await storage.decideDeviceCode(unknown, { status: 'denied' }), false);
      assert.equal(await storage.decideDeviceCode(unknown, { status: 'approved', session }), false);
      assert.equal(await storage.pollDeviceCode(unknown, T0, 5), undefined);
      assert.equal(await storage.consumeDeviceCode(unknown, T0), false);
      assert.equal(await storage.findDeviceCode(unknown), undefined);
      assert.equal(await storage.findDeviceCodeByUserCode(unknown), undefined);
    }, timeout);
  });
}

// ---------------------------------------------------------------------------------------------
// JSON values kept exactly

function registerJsonTests(env: Harness, { timeout }: Settings): void {
  describe('records keep their JSON values exactly', () => {
    // What a store that re-encodes JSON gets wrong: `[]` read back as `{}` (Lua cjson), numbers
    // rounded to fewer digits, non-BMP characters mangled.
    const claims = { access_token: { roles: [], meta: {}, ratio: 0.1 + 0.2, big: 9007199254740991, tiny: 1.5e-7, name: 'Zoë 🚀', nested: [{ a: null }] } };

    it('codes, refresh tokens (through a rotation) and device sessions keep empty arrays and objects, floats, the largest safe integer and unicode', async () => {
      const storage = env.storage();
      const code = codeRecord('json', { claims, amr: [] });
      await storage.saveAuthorizationCode(code);
      assert.deepEqual(await storage.findAuthorizationCode(code.codeHash), code);
      const old = refreshRecord('json-old', { claims, amr: [], authTime: 1767225600 });
      const successor = refreshRecord('json-new', { claims, amr: [] });
      await storage.saveRefreshToken(old);
      assert.equal(await storage.rotateRefreshToken(old.tokenHash, successor, T0 + SECOND, 'envelope.with.dots'), true);
      assert.deepEqual(await storage.findRefreshToken(successor.tokenHash), successor);
      assertSameRecord(await storage.findRefreshToken(old.tokenHash), { ...old, consumedAt: T0 + SECOND, successorEnvelope: 'envelope.with.dots', retainUntil: old.expiresAt });
      const device = deviceRecord('json');
      const approvedBy: SessionFacts = { subject: 'user-1', amr: [], claims: { id_token: { e: {}, f: 1.5e-7, name: 'Zoë 🚀' } } };
      await storage.saveDeviceCode(device);
      assert.equal(await storage.decideDeviceCode(device.userCodeHash, { status: 'approved', session: approvedBy }), true);
      assert.deepEqual(present(await storage.findDeviceCode(device.deviceCodeHash), 'findDeviceCode').session, approvedBy);
    }, timeout);
  });
}

// ---------------------------------------------------------------------------------------------
// Records are copies

function registerCopyTests(env: Harness, { timeout }: Settings): void {
  describe('records are copies', () => {
    it('mutating a found authorization code (fields, arrays, nested claims) does not change the stored one', async () => {
      const storage = env.storage();
      const record = fullCodeRecord('a');
      await storage.saveAuthorizationCode(record);
      const found = present(await storage.findAuthorizationCode(record.codeHash), 'findAuthorizationCode');
      const mutable = found as Mutable<AuthorizationCodeRecord>;
      tryMutate(() => {
        mutable.clientId = 'attacker';
      });
      tryMutate(() => {
        mutable.consumedAt = T0;
      });
      tryMutate(() => (found.scope as string[]).push('admin'));
      tryMutate(() => (found.amr as string[]).push('hwk'));
      tryMutate(() => {
        (found.claims?.id_token as Record<string, unknown>).name = 'Mallory';
      });
      assertSameRecord(await storage.findAuthorizationCode(record.codeHash), record);
      assert.equal(await storage.consumeAuthorizationCode(record.codeHash, T0), true, 'the stored code must still be unconsumed');
    }, timeout);

    it('mutating the saved input afterwards does not change the stored authorization code or refresh token', async () => {
      const storage = env.storage();
      const code = { ...codeRecord('a'), scope: ['openid'], claims: { id_token: { name: 'Alice' } } };
      await storage.saveAuthorizationCode(code);
      code.scope.push('admin');
      code.claims.id_token.name = 'Mallory';
      (code as Mutable<AuthorizationCodeRecord>).clientId = 'attacker';
      assertSameRecord(await storage.findAuthorizationCode(code.codeHash), { ...codeRecord('a'), scope: ['openid'], claims: { id_token: { name: 'Alice' } } });

      const token = { ...refreshRecord('a'), scope: ['api:read'] };
      await storage.saveRefreshToken(token);
      token.scope.push('admin');
      (token as Mutable<RefreshTokenRecord>).clientId = 'attacker';
      assertSameRecord(await storage.findRefreshToken(token.tokenHash), { ...refreshRecord('a'), scope: ['api:read'] });
    }, timeout);

    it('mutating a found refresh token or a rotated successor input does not change the stored ones', async () => {
      const storage = env.storage();
      const old = refreshRecord('a');
      await storage.saveRefreshToken(old);
      const successorScope = ['api:read'];
      assert.equal(await storage.rotateRefreshToken(old.tokenHash, { ...refreshRecord('b'), scope: successorScope }, T0, 'envelope'), true);
      successorScope.push('admin');
      assertSameRecord(await storage.findRefreshToken(refreshRecord('b').tokenHash), { ...refreshRecord('b'), scope: ['api:read'] });

      const before = present(await storage.findRefreshToken(old.tokenHash), 'findRefreshToken');
      const token = present(await storage.findRefreshToken(old.tokenHash), 'findRefreshToken');
      tryMutate(() => {
        (token as Mutable<RefreshTokenRecord>).consumedAt = undefined;
      });
      tryMutate(() => {
        (token as Mutable<RefreshTokenRecord>).successorEnvelope = 'forged';
      });
      tryMutate(() => (token.scope as string[]).push('admin'));
      assertSameRecord(await storage.findRefreshToken(old.tokenHash), before);
    }, timeout);

    it('mutating a found device code, its session, a poll result or the decision input does not change the stored one', async () => {
      const storage = env.storage();
      const device = deviceRecord('a');
      await storage.saveDeviceCode(device);
      const pendingCopy = present(await storage.findDeviceCodeByUserCode(device.userCodeHash), 'findDeviceCodeByUserCode');
      tryMutate(() => {
        (pendingCopy as Mutable<DeviceCodeRecord>).status = 'approved';
      });
      tryMutate(() => (pendingCopy.scope as string[]).push('admin'));
      assertSameRecord(await storage.findDeviceCode(device.deviceCodeHash), device);

      const decided = { ...session, amr: ['pwd'] };
      assert.equal(await storage.decideDeviceCode(device.userCodeHash, { status: 'approved', session: decided }), true);
      decided.amr.push('hwk');
      (decided as Mutable<SessionFacts>).subject = 'attacker';
      const expected = { ...device, status: 'approved', session: { ...session, amr: ['pwd'] } };
      assertSameRecord(await storage.findDeviceCode(device.deviceCodeHash), expected, 'mutating the decision input changed the stored session');

      const found = present(await storage.findDeviceCode(device.deviceCodeHash), 'findDeviceCode');
      tryMutate(() => {
        (found.session as Mutable<SessionFacts>).subject = 'attacker';
      });
      tryMutate(() => (found.session?.amr as string[]).push('hwk'));
      assertSameRecord(await storage.findDeviceCode(device.deviceCodeHash), expected, 'mutating a found session changed the stored one');

      const polled = present(await storage.pollDeviceCode(device.deviceCodeHash, T0, 5), 'pollDeviceCode');
      tryMutate(() => {
        (polled.record as Mutable<DeviceCodeRecord>).interval = 1;
      });
      tryMutate(() => {
        (polled.record.session as Mutable<SessionFacts>).subject = 'attacker';
      });
      assertSameRecord(await storage.findDeviceCode(device.deviceCodeHash), { ...expected, lastPolledAt: T0 });
    }, timeout);
  });
}

// ---------------------------------------------------------------------------------------------
// Nothing lost or duplicated under concurrency

function registerNothingLostTests(env: Harness, { n, timeout }: Settings): void {
  describe('nothing lost or duplicated under concurrency', () => {
    it(`${n} parallel saves of distinct authorization codes: all resolve and all are findable intact`, async () => {
      const storage = env.storage();
      const records = Array.from({ length: n }, (_, i) => codeRecord(`bulk-${i}`, { subject: `user-${i}` }));
      await parallel(n, (i) => storage.saveAuthorizationCode(records[i]));
      const found = await Promise.all(records.map((record) => storage.findAuthorizationCode(record.codeHash)));
      found.forEach((record, i) => assertSameRecord(record, records[i], `code ${i}`));
    }, timeout);

    it(`${n} parallel saves with one codeHash: exactly one resolves, the others reject, and the stored code is the one that resolved`, async () => {
      const storage = env.storage();
      const records = Array.from({ length: n }, (_, i) => codeRecord('contended', { clientId: `client-${i}` }));
      const outcomes = await parallelSettled(n, (i) => storage.saveAuthorizationCode(records[i]));
      const winners = indexesOfTrue(outcomes.map((outcome) => outcome.status === 'fulfilled'));
      assert.equal(winners.length, 1, `expected exactly one save to resolve, got ${winners.length}`);
      assertSameRecord(await storage.findAuthorizationCode(records[0].codeHash), records[winners[0]]);
    }, timeout);

    it(`${n} parallel consumes of ${n} distinct codes: every one resolves true`, async () => {
      const storage = env.storage();
      const records = Array.from({ length: n }, (_, i) => codeRecord(`bulk-${i}`));
      for (const record of records) await storage.saveAuthorizationCode(record);
      const results = await parallel(n, (i) => storage.consumeAuthorizationCode(records[i].codeHash, T0 + i));
      assert.equal(indexesOfTrue(results).length, n);
      const found = await Promise.all(records.map((record) => storage.findAuthorizationCode(record.codeHash)));
      found.forEach((record, i) => assertSameRecord(record, { ...records[i], consumedAt: T0 + i }, `code ${i}`));
    }, timeout);

    it(`${n} parallel saves of distinct refresh tokens of one grant: all resolve and all are findable intact`, async () => {
      const storage = env.storage();
      const records = Array.from({ length: n }, (_, i) => refreshRecord(`bulk-${i}`, { issuedAt: T0 + i }));
      await parallel(n, (i) => storage.saveRefreshToken(records[i]));
      const found = await Promise.all(records.map((record) => storage.findRefreshToken(record.tokenHash)));
      found.forEach((record, i) => assertSameRecord(record, records[i], `token ${i}`));
    }, timeout);

    it(`${n} parallel saves with one tokenHash: exactly one resolves, and the stored token is the one that resolved`, async () => {
      const storage = env.storage();
      const records = Array.from({ length: n }, (_, i) => refreshRecord('contended', { clientId: `client-${i}` }));
      const outcomes = await parallelSettled(n, (i) => storage.saveRefreshToken(records[i]));
      const winners = indexesOfTrue(outcomes.map((outcome) => outcome.status === 'fulfilled'));
      assert.equal(winners.length, 1, `expected exactly one save to resolve, got ${winners.length}`);
      assertSameRecord(await storage.findRefreshToken(records[0].tokenHash), records[winners[0]]);
    }, timeout);

    it(`${n} parallel rotations of ${n} distinct tokens: every one resolves true, every successor is stored, every old token is consumed`, async () => {
      const storage = env.storage();
      const olds = Array.from({ length: n }, (_, i) => refreshRecord(`old-${i}`, { grantId: `grant-${i % 3}` }));
      const successors = olds.map((old, i) => refreshRecord(`new-${i}`, { grantId: old.grantId, parentHash: old.tokenHash }));
      for (const old of olds) await storage.saveRefreshToken(old);
      const results = await parallel(n, (i) => storage.rotateRefreshToken(olds[i].tokenHash, successors[i], T0 + i, `envelope-${i}`));
      assert.equal(indexesOfTrue(results).length, n);
      const found = await Promise.all(successors.map((successor) => storage.findRefreshToken(successor.tokenHash)));
      found.forEach((record, i) => assertSameRecord(record, successors[i], `successor ${i}`));
      const rotated = await Promise.all(olds.map((old) => storage.findRefreshToken(old.tokenHash)));
      rotated.forEach((record, i) => {
        const used = present(record, `old token ${i}`);
        assert.equal(used.consumedAt, T0 + i);
        assert.equal(used.successorEnvelope, `envelope-${i}`);
      });
    }, timeout);

    it(`${n} parallel saves of device codes with distinct user codes: all resolve true and all are findable both ways`, async () => {
      const storage = env.storage();
      const records = Array.from({ length: n }, (_, i) => deviceRecord(`bulk-${i}`));
      const results = await parallel(n, (i) => storage.saveDeviceCode(records[i]));
      assert.equal(indexesOfTrue(results).length, n);
      const byDevice = await Promise.all(records.map((record) => storage.findDeviceCode(record.deviceCodeHash)));
      const byUser = await Promise.all(records.map((record) => storage.findDeviceCodeByUserCode(record.userCodeHash)));
      records.forEach((record, i) => {
        assertSameRecord(byDevice[i], record, `device code ${i}`);
        assertSameRecord(byUser[i], record, `user code ${i}`);
      });
    }, timeout);

    it(`${n} parallel saves of device codes with one user code: exactly one resolves true, and only that request is stored`, async () => {
      const storage = env.storage();
      const shared = digest('user:shared');
      const records = Array.from({ length: n }, (_, i) => deviceRecord(`contended-${i}`, { userCodeHash: shared }));
      const results = await parallel(n, (i) => storage.saveDeviceCode(records[i]));
      const winners = indexesOfTrue(results);
      assert.equal(winners.length, 1, `expected exactly one save to resolve true, got ${winners.length}`);
      assertSameRecord(await storage.findDeviceCodeByUserCode(shared), records[winners[0]]);
      const found = await Promise.all(records.map((record) => storage.findDeviceCode(record.deviceCodeHash)));
      assert.deepEqual(indexesOfTrue(found.map((record) => record !== undefined)), winners, 'only the winning request may be stored');
    }, timeout);
  });
}

// ---------------------------------------------------------------------------------------------
// Resource indicators (RFC 8707): an optional field of codes, refresh tokens and device codes

function registerResourceTests(env: Harness, { timeout }: Settings): void {
  describe('resource indicators (RFC 8707) survive every state change', () => {
    const resources = [ORDERS_API, BILLING_API, 'urn:example:reports'];

    it('an authorization code keeps its resources, in order, through find and consume (also a retained code after the cleanup)', async () => {
      const storage = env.storage();
      const record = codeRecord('resources', { resources });
      await storage.saveAuthorizationCode(record);
      assertSameRecord(await storage.findAuthorizationCode(record.codeHash), record);
      assert.equal(await storage.consumeAuthorizationCode(record.codeHash, T0 + 1000, T0 + DAY), true);
      env.clock.now = T0 + 2 * MINUTE;
      await env.housekeeping();
      const consumed = present(await storage.findAuthorizationCode(record.codeHash), 'findAuthorizationCode(consumed)');
      assert.deepEqual(consumed.resources, resources);
      assert.equal(consumed.consumedAt, T0 + 1000);
    }, timeout);

    it('a refresh token keeps its resources through rotation (old token and successor) and revocation', async () => {
      const storage = env.storage();
      const first = refreshRecord('resources-1', { resources });
      await storage.saveRefreshToken(first);
      assertSameRecord(await storage.findRefreshToken(first.tokenHash), first);
      const successor = refreshRecord('resources-2', { resources, parentHash: first.tokenHash, issuedAt: T0 + 1000 });
      assert.equal(await storage.rotateRefreshToken(first.tokenHash, successor, T0 + 1000, 'envelope'), true);
      assertSameRecord(await storage.findRefreshToken(successor.tokenHash), successor);
      assert.deepEqual(present(await storage.findRefreshToken(first.tokenHash), 'findRefreshToken(rotated)').resources, resources);
      await storage.revokeGrant(first.grantId, T0 + 2000, T0 + 90 * DAY);
      const revoked = present(await storage.findRefreshToken(successor.tokenHash), 'findRefreshToken(revoked)');
      assert.deepEqual(revoked.resources, resources);
      assert.equal(revoked.revokedAt, T0 + 2000);
    }, timeout);

    it('a device code keeps its resources through find by either hash, approval, polls and the consume', async () => {
      const storage = env.storage();
      const record = deviceRecord('resources', { resources });
      assert.equal(await storage.saveDeviceCode(record), true);
      assertSameRecord(await storage.findDeviceCode(record.deviceCodeHash), record);
      assertSameRecord(await storage.findDeviceCodeByUserCode(record.userCodeHash), record);
      assert.equal(await storage.decideDeviceCode(record.userCodeHash, { status: 'approved', session }), true);
      const polled = present(await storage.pollDeviceCode(record.deviceCodeHash, T0 + 1000, 5), 'pollDeviceCode');
      assert.deepEqual(polled.record.resources, resources);
      assert.equal(await storage.consumeDeviceCode(record.deviceCodeHash, T0 + 2000), true);
      assertSameRecord(await storage.findDeviceCode(record.deviceCodeHash), { ...record, status: 'approved', session, lastPolledAt: T0 + 1000, consumedAt: T0 + 2000 });
    }, timeout);

    it('mutating found resources or the saved input does not change the stored ones', async () => {
      const storage = env.storage();
      const input = [ORDERS_API];
      const code = codeRecord('resources-copy', { resources: input });
      await storage.saveAuthorizationCode(code);
      input.push('https://attacker.example');
      const found = present(await storage.findAuthorizationCode(code.codeHash), 'findAuthorizationCode');
      tryMutate(() => (found.resources as string[]).push('https://attacker.example'));
      assert.deepEqual(present(await storage.findAuthorizationCode(code.codeHash), 'findAuthorizationCode').resources, [ORDERS_API]);
      const token = refreshRecord('resources-copy', { resources: [ORDERS_API] });
      await storage.saveRefreshToken(token);
      const foundToken = present(await storage.findRefreshToken(token.tokenHash), 'findRefreshToken');
      tryMutate(() => (foundToken.resources as string[]).push('https://attacker.example'));
      assert.deepEqual(present(await storage.findRefreshToken(token.tokenHash), 'findRefreshToken').resources, [ORDERS_API]);
    }, timeout);
  });
}
