// lib/testing/storage-conformance.ts
// The storage-adapter conformance suite: registers describe/it blocks (jest, mocha, vitest globals)
// and asserts with node:assert, so it runs under any runner that provides describe/it.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import type { AuthorizationCodeRecord, StorageAdapter } from '../storage/types';
import { withLatency } from './latency';

// Runner globals (jest, mocha and vitest with globals provide them). Declared here so the
// library builds without any test framework's types.
declare const describe: (name: string, body: () => void) => void;
declare const it: (name: string, body: () => Promise<void> | void, timeoutMs?: number) => void;
declare const beforeEach: (body: () => Promise<void> | void) => void;
declare const afterEach: (body: () => Promise<void> | void) => void;

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
  /** Number of parallel callers in race tests. Defaults to 50 (at least 2). */
  concurrency?: number;
  /** Also run the whole suite through {@link withLatency} (1–5 ms per call leg). Defaults to true. */
  withLatency?: boolean;
  /** Per-test timeout in ms, passed to `it`. Defaults to 20 000. */
  timeoutMs?: number;
}

/** The clock the suite drives: starts at 2026-01-01T00:00:00Z. */
export const CONFORMANCE_T0 = Date.UTC(2026, 0, 1);

/**
 * Registers the conformance suite for a storage adapter: every method's documented promise
 * (save/find/consume of codes, refresh rotation, grant revocation, device codes, expiry), and
 * races where N parallel callers must produce exactly one winner with nothing lost or duplicated.
 *
 * @example
 * // my-adapter.spec.ts (jest)
 * import { runStorageConformance } from 'express-token-endpoint/testing';
 * runStorageConformance({ name: 'postgres', create: (clock) => createPgStorage({ pool, clock, schema: fresh() }), destroy: (s) => s.close() });
 */
export function runStorageConformance<S extends StorageAdapter>(options: StorageConformanceOptions<S>): void {
  const variants: Array<[string, boolean]> = [[options.name, false]];
  if (options.withLatency ?? true) variants.push([`${options.name} (answering with 1-5 ms latency)`, true]);
  for (const [title, slow] of variants) {
    describe(`storage conformance: ${title}`, () => {
      const env = harness(options, slow);
      registerCodeTests(env, options);
    });
  }
}

/** What each test gets: the adapter under test and the clock it runs on. */
interface Harness {
  storage(): StorageAdapter;
  clock: { now: number };
}

function harness<S extends StorageAdapter>(options: StorageConformanceOptions<S>, slow: boolean): Harness {
  const clock = { now: CONFORMANCE_T0 };
  let raw: S | undefined;
  let wrapped: StorageAdapter | undefined;
  beforeEach(async () => {
    clock.now = CONFORMANCE_T0;
    raw = await options.create(() => clock.now);
    wrapped = slow ? withLatency<StorageAdapter>(raw, () => 1 + Math.random() * 4) : raw;
  });
  afterEach(async () => {
    if (raw && options.destroy) await options.destroy(raw);
    raw = undefined;
    wrapped = undefined;
  });
  return {
    storage: () => {
      if (!wrapped) throw new Error('storage used outside a test');
      return wrapped;
    },
    clock,
  };
}

/** Records are JSON data (adapters may serialise them): compare them as such. */
function assertSameRecord(actual: unknown, expected: unknown, message?: string): void {
  assert.deepEqual(actual === undefined ? undefined : JSON.parse(JSON.stringify(actual)), JSON.parse(JSON.stringify(expected)), message);
}

function digest(label: string): string {
  return createHash('sha256').update(label).digest('base64url');
}

function codeRecord(name: string, overrides: Partial<AuthorizationCodeRecord> = {}): AuthorizationCodeRecord {
  return {
    codeHash: digest(`code:${name}`),
    clientId: 'client-a',
    redirectUri: 'https://client.example/cb',
    scope: ['openid', 'api:read'],
    subject: 'user-1',
    grantId: `grant-${name}`,
    issuedAt: CONFORMANCE_T0,
    expiresAt: CONFORMANCE_T0 + 60_000,
    ...overrides,
  };
}

function registerCodeTests<S extends StorageAdapter>(env: Harness, options: StorageConformanceOptions<S>): void {
  const n = Math.max(2, options.concurrency ?? 50);
  const timeout = options.timeoutMs ?? 20_000;
  describe('authorization codes', () => {
    it('finds a saved code with every field intact', async () => {
      const record = codeRecord('a', { nonce: 'n-1', codeChallenge: 'c'.repeat(43), codeChallengeMethod: 'S256', amr: ['pwd'], claims: { id_token: { name: 'A' } } });
      await env.storage().saveAuthorizationCode(record);
      assertSameRecord(await env.storage().findAuthorizationCode(record.codeHash), record);
    }, timeout);

    it(`of ${n} concurrent consumes of one code exactly one resolves true`, async () => {
      const record = codeRecord('race');
      await env.storage().saveAuthorizationCode(record);
      const results = await Promise.all(Array.from({ length: n }, (_, i) => env.storage().consumeAuthorizationCode(record.codeHash, CONFORMANCE_T0 + i)));
      assert.equal(results.filter(Boolean).length, 1);
      const stored = await env.storage().findAuthorizationCode(record.codeHash);
      assert.equal(typeof stored?.consumedAt, 'number');
    }, timeout);
  });
}
