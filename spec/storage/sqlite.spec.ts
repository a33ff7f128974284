// spec/storage/sqlite.spec.ts
// The SQLite adapter: the public conformance kit, then what only a durable, shared file adds:
// WAL, schema and migrations, durability across a restart, purge and retention, two connections
// and two processes racing on one file, and the token endpoint itself surviving a restart.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import request from 'supertest';
import { authorizationCode, ConfigurationError, deviceCode, refreshToken, type AuthorizationCodeRecord, type DeviceCodeRecord, type MemoryClientDefinition, type RefreshTokenRecord } from '../../lib';
import { createSqliteStorage, SCHEMA_VERSION, type SqliteDatabase, type SqliteStorage } from '../../lib/sqlite';
import { SUCCESSOR_ENVELOPE_RETENTION_MS } from '../../lib/storage/retention';
import { loadDriver } from '../../lib/sqlite/driver';
import { runStorageConformance } from '../../lib/testing';
import { basic, createCodeTestApp, SERVICE_SECRET, type CodeTestApp } from '../helpers/create-app';
import { createRefreshTestApp, refresh, RT_WEB, startGrant, type TokenBody } from '../helpers/refresh-flow';

const execFileAsync = promisify(execFile);
const ROOT = join(__dirname, '..', '..');
const T0 = Date.UTC(2026, 0, 1);
const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;

const dir = mkdtempSync(join(tmpdir(), 'sqlite-storage-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;
/** A path for a new database file in this run's temp folder. */
function freshFile(): string {
  files += 1;
  return join(dir, `db-${files}.sqlite`);
}

runStorageConformance<SqliteStorage>({
  name: 'sqlite',
  create: (clock) => createSqliteStorage({ filename: freshFile(), clock }),
  destroy: (storage) => storage.close(),
  housekeeping: (storage) => void storage.purge(),
});

function digest(label: string): string {
  return createHash('sha256').update(label).digest('base64url');
}

function codeRecord(name: string, overrides: Partial<AuthorizationCodeRecord> = {}): AuthorizationCodeRecord {
  return {
    codeHash: digest(`code-${name}`),
    clientId: 'client-a',
    redirectUri: 'https://client.example/cb',
    scope: ['openid', 'api:read'],
    subject: 'user-1',
    grantId: `grant-${name}`,
    issuedAt: T0,
    expiresAt: T0 + MINUTE,
    ...overrides,
  };
}

function tokenRecord(name: string, overrides: Partial<RefreshTokenRecord> = {}): RefreshTokenRecord {
  return {
    tokenHash: digest(`token-${name}`),
    grantId: `grant-${name}`,
    clientId: 'client-a',
    scope: ['openid', 'offline_access'],
    subject: 'user-1',
    issuedAt: T0,
    expiresAt: T0 + DAY,
    ...overrides,
  };
}

function deviceRecord(name: string, overrides: Partial<DeviceCodeRecord> = {}): DeviceCodeRecord {
  return {
    deviceCodeHash: digest(`device-${name}`),
    userCodeHash: digest(`user-${name}`),
    clientId: 'tv',
    scope: ['openid', 'api:read'],
    grantId: `grant-device-${name}`,
    issuedAt: T0,
    expiresAt: T0 + 30 * MINUTE,
    interval: 5,
    status: 'pending',
    ...overrides,
  };
}

/** Plain JSON of a record (what an adapter that serialises must give back). */
function json(value: unknown): unknown {
  return value === undefined ? undefined : JSON.parse(JSON.stringify(value));
}

/** An adapter on a fresh file with a movable clock; closed after each test. */
function harness(): { storage: () => SqliteStorage; filename: () => string; clock: { now: number }; reopen: () => SqliteStorage } {
  const clock = { now: T0 };
  let storage: SqliteStorage | undefined;
  let filename = '';
  beforeEach(() => {
    clock.now = T0;
    filename = freshFile();
    storage = createSqliteStorage({ filename, clock: () => clock.now, purgeIntervalMs: 0 });
  });
  afterEach(() => storage?.close());
  return {
    storage: () => storage as SqliteStorage,
    filename: () => filename,
    clock,
    reopen: () => {
      storage?.close();
      storage = createSqliteStorage({ filename, clock: () => clock.now, purgeIntervalMs: 0 });
      return storage;
    },
  };
}

describe('createSqliteStorage: options', () => {
  function problemsOf(run: () => unknown): readonly string[] {
    try {
      run();
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigurationError);
      expect((error as ConfigurationError).code).toBe('ERR_TOKEN_ROUTER_STORAGE');
      return (error as ConfigurationError).problems;
    }
    throw new Error('expected a ConfigurationError');
  }

  it('needs exactly one of filename and database', () => {
    expect(problemsOf(() => createSqliteStorage({}))).toEqual([expect.stringMatching(/^createSqliteStorage: filename .* or database .* is required/)]);
    const db = new Database(':memory:');
    expect(problemsOf(() => createSqliteStorage({ filename: freshFile(), database: db }))).toEqual([expect.stringContaining('either filename or database, not both')]);
    db.close();
    expect(problemsOf(() => createSqliteStorage(undefined as unknown as { filename: string }))[0]).toMatch(/options object/);
  });

  it('names every bad option', () => {
    const problems = problemsOf(() =>
      createSqliteStorage({
        filename: ' ',
        clock: 5 as unknown as () => number,
        purgeIntervalMs: -1,
        tablePrefix: 'bad prefix;',
        busyTimeoutMs: 1.5,
        synchronous: 'off' as 'full',
      }),
    );
    expect(problems).toEqual([
      expect.stringMatching(/^createSqliteStorage: filename must be a non-empty path/),
      expect.stringMatching(/^createSqliteStorage: clock must be a function/),
      expect.stringMatching(/^createSqliteStorage: purgeIntervalMs must be a whole number.*got -1/),
      expect.stringMatching(/^createSqliteStorage: tablePrefix may hold only.*"bad prefix;"/),
      expect.stringMatching(/^createSqliteStorage: busyTimeoutMs must be a whole number.*got 1.5/),
      expect.stringMatching(/^createSqliteStorage: synchronous must be 'full' or 'normal'.*"off"/),
    ]);
    const own = new Database(':memory:');
    expect(problemsOf(() => createSqliteStorage({ database: own, synchronous: 'normal' }))).toEqual([expect.stringContaining('synchronous applies to a database the adapter opens')]);
    own.close();
  });

  it('rejects an unknown option (a typo must not fall back to the default), naming it and listing the known options', () => {
    const filename = freshFile();
    expect(problemsOf(() => createSqliteStorage({ filename, tablePrefx: 'app_' } as unknown as { filename: string }))).toEqual([
      'Unknown option "createSqliteStorage.tablePrefx". Known options: filename, database, clock, purgeIntervalMs, tablePrefix, busyTimeoutMs, synchronous.',
    ]);
    expect(() => createSqliteStorage({ filename, synchronus: 'normal' } as unknown as { filename: string })).toThrow(/Unknown option "createSqliteStorage\.synchronus"\. Known options: filename, database/);
  });

  it('lists unknown options together with the bad values in one ConfigurationError', () => {
    const problems = problemsOf(() => createSqliteStorage({ filename: freshFile(), busyTimeoutMs: -1, tablePrefx: 'app_', purgeInterval: 0 } as unknown as { filename: string }));
    expect(problems).toEqual([
      expect.stringMatching(/^Unknown option "createSqliteStorage\.tablePrefx"\. Known options: filename, database, clock, purgeIntervalMs, tablePrefix, busyTimeoutMs, synchronous\.$/),
      expect.stringMatching(/^Unknown option "createSqliteStorage\.purgeInterval"\./),
      expect.stringMatching(/^createSqliteStorage: busyTimeoutMs must be a whole number.*got -1/),
    ]);
  });

  it('rejects an options argument that is not an object with a ConfigurationError', () => {
    for (const options of [null, 'tokens.db', [{ filename: 'tokens.db' }]]) {
      expect(problemsOf(() => createSqliteStorage(options as unknown as { filename: string }))).toEqual([expect.stringMatching(/^createSqliteStorage: pass an options object with filename or database/)]);
    }
  });

  it.each([
    [undefined, 'synchronous = FULL'],
    ['full', 'synchronous = FULL'],
    ['normal', 'synchronous = NORMAL'],
  ] as const)('with synchronous %s sets %s on the connection it opens (and still rotates)', async (synchronous, pragma) => {
    const spy = jest.spyOn(Database.prototype, 'pragma');
    try {
      const storage = createSqliteStorage({ filename: freshFile(), purgeIntervalMs: 0, clock: () => T0, ...(synchronous && { synchronous }) });
      const set = spy.mock.calls.map((call) => call[0]).filter((source) => /^synchronous/i.test(source));
      expect(set).toEqual([pragma]);
      await storage.saveRefreshToken(tokenRecord('sync-1'));
      expect(await storage.rotateRefreshToken(tokenRecord('sync-1').tokenHash, tokenRecord('sync-2', { grantId: 'grant-sync-1', parentHash: tokenRecord('sync-1').tokenHash }), T0 + 1)).toBe(true);
      storage.close();
    } finally {
      spy.mockRestore();
    }
  });

  it('rejects a database that is not a better-sqlite3 Database, is closed or is read-only', () => {
    expect(problemsOf(() => createSqliteStorage({ database: {} as SqliteDatabase }))).toEqual([expect.stringContaining('database must be a better-sqlite3 Database')]);
    const closed = new Database(':memory:');
    closed.close();
    expect(problemsOf(() => createSqliteStorage({ database: closed }))).toEqual([expect.stringContaining('database is closed')]);
    const filename = freshFile();
    new Database(filename).close();
    const readonly = new Database(filename, { readonly: true });
    expect(problemsOf(() => createSqliteStorage({ database: readonly }))).toEqual([expect.stringContaining('database is read-only')]);
    readonly.close();
  });

  it('says to install better-sqlite3@12 when the driver is missing, and rethrows other loading errors', () => {
    const missing = Object.assign(new Error("Cannot find module 'better-sqlite3'\nRequire stack:\n- /app/x.js"), { code: 'MODULE_NOT_FOUND' });
    expect(() => loadDriver(() => { throw missing; })).toThrow(ConfigurationError);
    expect(() => loadDriver(() => { throw missing; })).toThrow(/install the optional peer dependency better-sqlite3@12/);
    const brokenDependency = Object.assign(new Error("Cannot find module 'bindings'\nRequire stack:\n- /app/node_modules/better-sqlite3/lib/database.js"), { code: 'MODULE_NOT_FOUND' });
    expect(() => loadDriver(() => { throw brokenDependency; })).toThrow(brokenDependency);
    expect(() => loadDriver(() => ({}))).toThrow(/did not return the Database constructor/);
    expect(loadDriver()).toBe(Database);
  });
});

describe('createSqliteStorage: the database file', () => {
  const env = harness();

  it('turns on WAL mode (persistent in the file) and creates its tables with a schema_version row', async () => {
    await env.storage().saveAuthorizationCode(codeRecord('wal'));
    const other = new Database(env.filename());
    try {
      expect(other.pragma('journal_mode', { simple: true })).toBe('wal');
      expect(other.prepare("SELECT value FROM oauth_meta WHERE key = 'schema_version'").get()).toEqual({ value: String(SCHEMA_VERSION) });
      const names = (other.prepare("SELECT type, name FROM sqlite_master WHERE name LIKE 'oauth_%' ORDER BY name").all() as Array<{ type: string; name: string }>).map((r) => `${r.type} ${r.name}`);
      expect(names).toEqual(expect.arrayContaining([
        'table oauth_authorization_codes',
        'table oauth_refresh_tokens',
        'table oauth_revoked_grants',
        'table oauth_revoked_access_tokens',
        'table oauth_one_time_uses',
        'table oauth_device_codes',
        'table oauth_meta',
        'index oauth_device_codes_user_code_hash',
        'index oauth_refresh_tokens_grant_id',
        'index oauth_authorization_codes_expires_at',
        'index oauth_refresh_tokens_purge_at',
        'index oauth_refresh_tokens_envelope_consumed_at',
        'index oauth_one_time_uses_expires_at',
      ]));
    } finally {
      other.close();
    }
  });

  it('opens an existing file again without migrating twice, and refuses a schema newer than it knows', () => {
    env.reopen();
    env.reopen();
    const other = new Database(env.filename());
    expect(other.prepare('SELECT count(*) AS n FROM oauth_meta').get()).toEqual({ n: 1 });
    other.prepare("UPDATE oauth_meta SET value = ? WHERE key = 'schema_version'").run(String(SCHEMA_VERSION + 1));
    other.close();
    expect(() => createSqliteStorage({ filename: env.filename() })).toThrow(new RegExp(`schema is version ${SCHEMA_VERSION + 1}, newer than this adapter's ${SCHEMA_VERSION}`));
  });

  it('upgrades a version-1 file: migration 2 adds the partial index the envelope purge uses, migration 3 the code retention column, data untouched', async () => {
    const token = tokenRecord('v1');
    await env.storage().saveRefreshToken(token);
    const code = codeRecord('v1');
    await env.storage().saveAuthorizationCode(code);
    const old = new Database(env.filename());
    old.exec('DROP INDEX oauth_refresh_tokens_envelope_consumed_at');
    old.exec('DROP INDEX oauth_authorization_codes_retain_until');
    old.exec('ALTER TABLE oauth_authorization_codes DROP COLUMN retain_until');
    old.prepare("UPDATE oauth_meta SET value = '1' WHERE key = 'schema_version'").run();
    old.close();
    const upgraded = env.reopen();
    expect(await upgraded.findRefreshToken(token.tokenHash)).toEqual(token);
    expect(await upgraded.findAuthorizationCode(code.codeHash)).toEqual(code);
    expect(await upgraded.consumeAuthorizationCode(code.codeHash, T0 + 1, T0 + 7 * 24 * 3600 * 1000)).toBe(true);
    expect((await upgraded.findAuthorizationCode(code.codeHash))?.retainUntil).toBe(T0 + 7 * 24 * 3600 * 1000);
    const check = new Database(env.filename());
    try {
      expect(check.prepare("SELECT value FROM oauth_meta WHERE key = 'schema_version'").get()).toEqual({ value: String(SCHEMA_VERSION) });
      expect(check.prepare("SELECT sql FROM sqlite_master WHERE name = 'oauth_refresh_tokens_envelope_consumed_at'").get()).toEqual({ sql: expect.stringContaining('WHERE successor_envelope IS NOT NULL') });
    } finally {
      check.close();
    }
  });

  it('upgrades a version-4 file: migration 5 adds the one-time-use table, data untouched', async () => {
    const code = codeRecord('v4');
    await env.storage().saveAuthorizationCode(code);
    await env.storage().revokeAccessToken('jti-v4', T0 + MINUTE);
    const old = new Database(env.filename());
    old.exec('DROP TABLE oauth_one_time_uses');
    old.prepare("UPDATE oauth_meta SET value = '4' WHERE key = 'schema_version'").run();
    old.close();
    const upgraded = env.reopen();
    expect(await upgraded.findAuthorizationCode(code.codeHash)).toEqual(code);
    expect(await upgraded.isAccessTokenRevoked('jti-v4')).toBe(true);
    expect(await upgraded.recordOneTimeUse('otu:v4', T0 + MINUTE)).toBe(true);
    expect(await upgraded.recordOneTimeUse('otu:v4', T0 + MINUTE)).toBe(false);
    const check = new Database(env.filename());
    try {
      expect(check.prepare("SELECT value FROM oauth_meta WHERE key = 'schema_version'").get()).toEqual({ value: String(SCHEMA_VERSION) });
      expect(check.prepare("SELECT name FROM sqlite_master WHERE name = 'oauth_one_time_uses_expires_at'").get()).toEqual({ name: 'oauth_one_time_uses_expires_at' });
    } finally {
      check.close();
    }
  });

  it('keeps adapters with different table prefixes in one file apart', async () => {
    const filename = env.filename();
    const other = createSqliteStorage({ filename, tablePrefix: 'tenant_b_', purgeIntervalMs: 0 });
    try {
      await env.storage().saveAuthorizationCode(codeRecord('prefixed'));
      expect(await other.findAuthorizationCode(codeRecord('prefixed').codeHash)).toBeUndefined();
      await other.saveAuthorizationCode(codeRecord('prefixed'));
      expect(await other.consumeAuthorizationCode(codeRecord('prefixed').codeHash, T0)).toBe(true);
      expect(await env.storage().consumeAuthorizationCode(codeRecord('prefixed').codeHash, T0)).toBe(true);
    } finally {
      other.close();
    }
  });

  it('uses a better-sqlite3 Database it is given, leaving it open on close()', async () => {
    const db = new Database(freshFile());
    const storage = createSqliteStorage({ database: db, purgeIntervalMs: 0 });
    await storage.saveAuthorizationCode(codeRecord('given'));
    storage.close();
    storage.close();
    expect(db.open).toBe(true);
    expect(db.prepare('SELECT count(*) AS n FROM oauth_authorization_codes').get()).toEqual({ n: 1 });
    await expect(storage.findAuthorizationCode(codeRecord('given').codeHash)).rejects.toThrow(/closed/);
    db.close();
  });

  it('returns fresh records: changing one does not change what is stored', async () => {
    await env.storage().saveAuthorizationCode(codeRecord('fresh', { amr: ['pwd'], claims: { id_token: { name: 'A' } } }));
    const first = (await env.storage().findAuthorizationCode(codeRecord('fresh').codeHash)) as AuthorizationCodeRecord;
    (first.scope as string[]).push('admin');
    (first.amr as string[]).push('otp');
    (first.claims?.id_token as Record<string, unknown>).name = 'B';
    const second = await env.storage().findAuthorizationCode(codeRecord('fresh').codeHash);
    expect(second).not.toBe(first);
    expect(second?.scope).toEqual(['openid', 'api:read']);
    expect(second?.amr).toEqual(['pwd']);
    expect(second?.claims).toEqual({ id_token: { name: 'A' } });
  });

  it('keeps record fields it has no column for (a newer library version) through a round trip', async () => {
    const record = { ...tokenRecord('extra'), futureField: { a: [1, 2] }, futureFlag: true } as RefreshTokenRecord;
    await env.storage().saveRefreshToken(record);
    expect(json(await env.storage().findRefreshToken(record.tokenHash))).toEqual(json(record));
  });
});

describe('createSqliteStorage: durability across a restart', () => {
  const env = harness();

  it('keeps codes, refresh tokens, grant revocations and device codes when the file is opened again', async () => {
    const s = env.storage();
    const code = codeRecord('durable', { nonce: 'n', codeChallenge: 'c'.repeat(43), codeChallengeMethod: 'S256', authTime: 1_767_225_600, acr: 'urn:acr:2', amr: ['pwd', 'otp'], sid: 'sid-1', claims: { access_token: { tnuid: 't-1' } } });
    const used = codeRecord('durable-used');
    const token = tokenRecord('durable', { familyExpiresAt: T0 + 30 * DAY, claims: { id_token: { name: 'Ann' } } });
    const successor = tokenRecord('durable-next', { grantId: token.grantId, parentHash: token.tokenHash, expiresAt: T0 + 2 * DAY });
    const revoked = tokenRecord('durable-revoked');
    const pending = deviceRecord('pending');
    const approved = deviceRecord('approved');
    await s.saveAuthorizationCode(code);
    await s.saveAuthorizationCode(used);
    expect(await s.consumeAuthorizationCode(used.codeHash, T0 + 1)).toBe(true);
    await s.saveRefreshToken(token);
    expect(await s.rotateRefreshToken(token.tokenHash, successor, T0 + 2, 'sealed-envelope')).toBe(true);
    await s.saveRefreshToken(revoked);
    await s.revokeGrant(revoked.grantId, T0 + 3, T0 + 10 * DAY);
    expect(await s.saveDeviceCode(pending)).toBe(true);
    expect(await s.saveDeviceCode(approved)).toBe(true);
    expect(await s.decideDeviceCode(approved.userCodeHash, { status: 'approved', session: { subject: 'user-9', amr: ['pwd'], authTime: 1_767_225_000 } })).toBe(true);
    expect(await s.pollDeviceCode(approved.deviceCodeHash, T0 + 4, 5)).toEqual(expect.objectContaining({ tooSoon: false }));

    const r = env.reopen();
    expect(json(await r.findAuthorizationCode(code.codeHash))).toEqual(json(code));
    expect(await r.findAuthorizationCode(used.codeHash)).toEqual({ ...used, consumedAt: T0 + 1 });
    expect(await r.consumeAuthorizationCode(used.codeHash, T0 + 5)).toBe(false);
    expect(await r.findRefreshToken(token.tokenHash)).toEqual({ ...token, consumedAt: T0 + 2, successorEnvelope: 'sealed-envelope', retainUntil: successor.expiresAt });
    expect(await r.findRefreshToken(successor.tokenHash)).toEqual(successor);
    expect(await r.rotateRefreshToken(token.tokenHash, tokenRecord('durable-again'), T0 + 5)).toBe(false);
    expect(await r.findRefreshToken(revoked.tokenHash)).toEqual({ ...revoked, revokedAt: T0 + 3 });
    expect(await r.isGrantRevoked(revoked.grantId)).toBe(true);
    expect(await r.findDeviceCodeByUserCode(pending.userCodeHash)).toEqual(pending);
    expect(await r.findDeviceCode(approved.deviceCodeHash)).toEqual({ ...approved, status: 'approved', session: { subject: 'user-9', amr: ['pwd'], authTime: 1_767_225_000 }, lastPolledAt: T0 + 4 });
    expect(await r.saveDeviceCode(deviceRecord('other', { userCodeHash: pending.userCodeHash }))).toBe(false);
    expect(await r.consumeDeviceCode(approved.deviceCodeHash, T0 + 6)).toBe(true);
    expect(await r.consumeDeviceCode(approved.deviceCodeHash, T0 + 7)).toBe(false);
  });
});

describe('createSqliteStorage: group commit (writes of one event-loop turn share a transaction)', () => {
  const env = harness();

  it('a write that fails in a batch rejects alone; the others of the batch are stored', async () => {
    const s = env.storage();
    const first = tokenRecord('batch-1');
    await s.saveRefreshToken(first);
    // Issued in the same turn: one batch. The duplicate insert throws inside its own statement.
    const results = await Promise.allSettled([
      s.saveRefreshToken(tokenRecord('batch-2')),
      s.saveRefreshToken(first),
      s.rotateRefreshToken(first.tokenHash, tokenRecord('batch-3', { grantId: first.grantId, parentHash: first.tokenHash }), T0 + 1),
      s.saveAuthorizationCode(codeRecord('batch-code')),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'fulfilled']);
    expect((results[2] as PromiseFulfilledResult<boolean>).value).toBe(true);
    const other = new Database(env.filename(), { readonly: true });
    try {
      // Settled means committed: another connection sees every stored write of the batch.
      const hashes = (other.prepare('SELECT token_hash FROM oauth_refresh_tokens ORDER BY token_hash').all() as Array<{ token_hash: string }>).map((r) => r.token_hash);
      expect(hashes.sort()).toEqual([first.tokenHash, tokenRecord('batch-2').tokenHash, tokenRecord('batch-3').tokenHash].sort());
      expect(other.prepare('SELECT consumed_at FROM oauth_refresh_tokens WHERE token_hash = ?').get(first.tokenHash)).toEqual({ consumed_at: T0 + 1 });
      expect(other.prepare('SELECT 1 AS found FROM oauth_authorization_codes WHERE code_hash = ?').get(codeRecord('batch-code').codeHash)).toEqual({ found: 1 });
    } finally {
      other.close();
    }
  });

  it('compare-and-sets inside one batch still have exactly one winner, in call order', async () => {
    const s = env.storage();
    const code = codeRecord('batch-race');
    await s.saveAuthorizationCode(code);
    const token = tokenRecord('batch-race');
    await s.saveRefreshToken(token);
    const consumes = await Promise.all(Array.from({ length: 20 }, (_, i) => s.consumeAuthorizationCode(code.codeHash, T0 + i)));
    const rotations = await Promise.all(Array.from({ length: 20 }, (_, i) => s.rotateRefreshToken(token.tokenHash, tokenRecord(`batch-race-${i}`, { grantId: token.grantId, parentHash: token.tokenHash }), T0 + i)));
    expect(consumes).toEqual([true, ...Array(19).fill(false)]);
    expect(rotations).toEqual([true, ...Array(19).fill(false)]);
    expect((await s.findAuthorizationCode(code.codeHash))?.consumedAt).toBe(T0);
    expect(await s.findRefreshToken(tokenRecord('batch-race-1').tokenHash)).toBeUndefined();
  });

  it('when the COMMIT itself fails, every write of the batch rejects and nothing of it is stored', async () => {
    const s = createSqliteStorage({ filename: env.filename(), busyTimeoutMs: 50, purgeIntervalMs: 0 });
    // Another connection holds the write lock past the adapter's busy timeout: BEGIN IMMEDIATE fails.
    const blocker = new Database(env.filename());
    blocker.exec('BEGIN IMMEDIATE');
    try {
      const results = await Promise.allSettled([s.saveRefreshToken(tokenRecord('locked-1')), s.saveAuthorizationCode(codeRecord('locked-2'))]);
      expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    } finally {
      blocker.exec('ROLLBACK');
      blocker.close();
    }
    expect(await s.findRefreshToken(tokenRecord('locked-1').tokenHash)).toBeUndefined();
    expect(await s.findAuthorizationCode(codeRecord('locked-2').codeHash)).toBeUndefined();
    // The adapter is usable again once the lock is gone.
    await s.saveRefreshToken(tokenRecord('locked-1'));
    expect(await s.findRefreshToken(tokenRecord('locked-1').tokenHash)).toEqual(tokenRecord('locked-1'));
    s.close();
  });
});

describe('createSqliteStorage: purge', () => {
  const env = harness();

  function count(table: string): number {
    const db = new Database(env.filename());
    try {
      return (db.prepare(`SELECT count(*) AS n FROM oauth_${table}`).get() as { n: number }).n;
    } finally {
      db.close();
    }
  }

  it('deletes a revoked access token\'s row once its exp has passed, not before, and keeps it across a restart', async () => {
    await env.storage().revokeAccessToken('jti-a', T0 + MINUTE);
    await env.storage().revokeAccessToken('jti-b', T0 + 2 * MINUTE);
    env.clock.now = T0 + MINUTE - 1;
    env.storage().purge();
    expect(count('revoked_access_tokens')).toBe(2);
    const reopened = env.reopen();
    expect(await reopened.isAccessTokenRevoked('jti-a')).toBe(true);
    env.clock.now = T0 + MINUTE;
    reopened.purge();
    expect(count('revoked_access_tokens')).toBe(1);
    expect(await reopened.isAccessTokenRevoked('jti-a')).toBe(false);
    expect(await reopened.isAccessTokenRevoked('jti-b')).toBe(true);
  });

  it('deletes a one-time use\'s row once its expiresAt has passed, not before, and keeps it across a restart', async () => {
    expect(await env.storage().recordOneTimeUse('otu:a', T0 + MINUTE)).toBe(true);
    expect(await env.storage().recordOneTimeUse('otu:b', T0 + 2 * MINUTE)).toBe(true);
    env.clock.now = T0 + MINUTE - 1;
    expect(env.storage().purge()).toBe(0);
    expect(count('one_time_uses')).toBe(2);
    const reopened = env.reopen();
    expect(await reopened.recordOneTimeUse('otu:a', T0 + MINUTE)).toBe(false);
    env.clock.now = T0 + MINUTE;
    expect(reopened.purge()).toBe(1);
    expect(count('one_time_uses')).toBe(1);
    expect(await reopened.recordOneTimeUse('otu:b', T0 + 2 * MINUTE)).toBe(false);
    expect(await reopened.recordOneTimeUse('otu:a', T0 + 3 * MINUTE)).toBe(true);
  });

  it('takes over an expired one-time use\'s row before the purge, in one statement: one row, the new expiry, a live row untouched', async () => {
    const s = env.storage();
    expect(await s.recordOneTimeUse('otu:a', T0 + MINUTE)).toBe(true);
    expect(await s.recordOneTimeUse('otu:live', T0 + DAY)).toBe(true);
    env.clock.now = T0 + MINUTE;
    const again = await Promise.all(Array.from({ length: 20 }, () => s.recordOneTimeUse('otu:a', T0 + 5 * MINUTE)));
    expect(again).toEqual([true, ...Array(19).fill(false)]);
    expect(await s.recordOneTimeUse('otu:live', T0 + 2 * DAY)).toBe(false);
    const db = new Database(env.filename(), { readonly: true });
    try {
      expect(db.prepare('SELECT key, expires_at FROM oauth_one_time_uses ORDER BY key').all()).toEqual([
        { key: 'otu:a', expires_at: T0 + 5 * MINUTE },
        { key: 'otu:live', expires_at: T0 + DAY },
      ]);
    } finally {
      db.close();
    }
  });

  it('clears a retry envelope 2 minutes after the rotation and keeps the used token (reuse still detected)', async () => {
    const s = env.storage();
    const old = tokenRecord('env-old');
    await s.saveRefreshToken(old);
    expect(await s.rotateRefreshToken(old.tokenHash, tokenRecord('env-next', { grantId: old.grantId, parentHash: old.tokenHash }), T0 + 1000, 'sealed-successor')).toBe(true);
    env.clock.now = T0 + 1000 + SUCCESSOR_ENVELOPE_RETENTION_MS - 1;
    expect(s.purge()).toBe(0);
    expect((await s.findRefreshToken(old.tokenHash))?.successorEnvelope).toBe('sealed-successor');
    env.clock.now = T0 + 1000 + SUCCESSOR_ENVELOPE_RETENTION_MS;
    expect(s.purge()).toBe(0);
    expect(await s.findRefreshToken(old.tokenHash)).toEqual({ ...old, consumedAt: T0 + 1000, retainUntil: old.expiresAt });
    expect(await s.rotateRefreshToken(old.tokenHash, tokenRecord('env-again', { grantId: old.grantId }), T0 + 3 * MINUTE)).toBe(false);
  });

  it('deletes rows whose expiry passed, but keeps a used refresh token until its successor expires', async () => {
    const s = env.storage();
    await s.saveAuthorizationCode(codeRecord('short', { expiresAt: T0 + MINUTE }));
    await s.saveAuthorizationCode(codeRecord('long', { expiresAt: T0 + 2 * DAY }));
    const old = tokenRecord('old', { expiresAt: T0 + DAY });
    const next = tokenRecord('next', { grantId: old.grantId, parentHash: old.tokenHash, expiresAt: T0 + 3 * DAY });
    const plain = tokenRecord('plain', { expiresAt: T0 + DAY });
    await s.saveRefreshToken(old);
    await s.saveRefreshToken(plain);
    expect(await s.rotateRefreshToken(old.tokenHash, next, T0 + MINUTE)).toBe(true);
    expect((await s.findRefreshToken(old.tokenHash))?.retainUntil).toBe(next.expiresAt);
    await s.revokeGrant('grant-gone', T0, T0 + DAY);
    await s.revokeGrant('grant-kept', T0, T0 + 5 * DAY);
    expect(await s.saveDeviceCode(deviceRecord('dev', { expiresAt: T0 + 30 * MINUTE }))).toBe(true);

    expect(s.purge()).toBe(0);
    env.clock.now = T0 + 30 * MINUTE;
    // The device code expired, but is kept 10 minutes more so a late poll hears expired_token.
    expect(s.purge()).toBe(1); // the short code
    expect(await s.findDeviceCode(deviceRecord('dev').deviceCodeHash)).toBeDefined();
    env.clock.now = T0 + DAY;
    // Plain token (expired, never used), the revocation kept one day, the device code.
    expect(s.purge()).toBe(3);
    expect(await s.findAuthorizationCode(codeRecord('short').codeHash)).toBeUndefined();
    expect(await s.findAuthorizationCode(codeRecord('long').codeHash)).toBeDefined();
    expect(await s.findRefreshToken(plain.tokenHash)).toBeUndefined();
    // Past its own expiresAt, the used token stays: presenting it again must still be detected as reuse.
    expect(await s.findRefreshToken(old.tokenHash)).toEqual(expect.objectContaining({ consumedAt: T0 + MINUTE }));
    expect(await s.isGrantRevoked('grant-gone')).toBe(false);
    expect(await s.isGrantRevoked('grant-kept')).toBe(true);
    expect(await s.findDeviceCode(deviceRecord('dev').deviceCodeHash)).toBeUndefined();

    env.clock.now = T0 + 3 * DAY;
    expect(s.purge()).toBe(3); // long code, used token, its successor
    expect(await s.findRefreshToken(old.tokenHash)).toBeUndefined();
    expect(count('refresh_tokens')).toBe(0);
    expect(count('authorization_codes')).toBe(0);
    expect(count('revoked_grants')).toBe(1);
  });

  it('purges on its own timer (purgeIntervalMs) by the adapter clock', async () => {
    const clock = { now: T0 };
    const filename = freshFile();
    const s = createSqliteStorage({ filename, clock: () => clock.now, purgeIntervalMs: 20 });
    try {
      await s.saveAuthorizationCode(codeRecord('timer'));
      clock.now = T0 + 2 * MINUTE;
      const deadline = Date.now() + 5_000;
      while ((await s.findAuthorizationCode(codeRecord('timer').codeHash)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      expect(await s.findAuthorizationCode(codeRecord('timer').codeHash)).toBeUndefined();
    } finally {
      s.close();
    }
  });
});

describe('createSqliteStorage: connections and processes sharing one file', () => {
  const env = harness();

  it('two connections on one file see each other and only one wins each compare-and-set', async () => {
    const a = env.storage();
    const b = createSqliteStorage({ filename: env.filename(), clock: () => env.clock.now, purgeIntervalMs: 0 });
    try {
      const codes = Array.from({ length: 20 }, (_, i) => codeRecord(`two-${i}`));
      const tokens = Array.from({ length: 20 }, (_, i) => tokenRecord(`two-${i}`));
      for (const code of codes) await a.saveAuthorizationCode(code);
      for (const token of tokens) await b.saveRefreshToken(token);
      const consumed = await Promise.all(codes.flatMap((code) => [a, b].map((s) => s.consumeAuthorizationCode(code.codeHash, T0))));
      expect(consumed.filter(Boolean)).toHaveLength(codes.length);
      const rotated = await Promise.all(tokens.flatMap((token, i) => [a, b].map((s, j) => s.rotateRefreshToken(token.tokenHash, tokenRecord(`two-${i}-next-${j}`, { grantId: token.grantId }), T0))));
      expect(rotated.filter(Boolean)).toHaveLength(tokens.length);
      for (const [i, token] of tokens.entries()) {
        const successors = await Promise.all([0, 1].map((j) => b.findRefreshToken(tokenRecord(`two-${i}-next-${j}`).tokenHash)));
        expect(successors.filter(Boolean)).toHaveLength(1);
        expect((await a.findRefreshToken(token.tokenHash))?.consumedAt).toBe(T0);
      }
      // A user code held by a live request on one connection is taken for the other.
      expect(await a.saveDeviceCode(deviceRecord('shared'))).toBe(true);
      expect(await b.saveDeviceCode(deviceRecord('shared-2', { userCodeHash: deviceRecord('shared').userCodeHash }))).toBe(false);
      const uses = await Promise.all(Array.from({ length: 20 }, (_, i) => [a, b].map((s) => s.recordOneTimeUse(`otu:two-${i}`, T0 + MINUTE))).flat());
      expect(Array.from({ length: 20 }, (_, i) => Number(uses[2 * i]) + Number(uses[2 * i + 1]))).toEqual(Array(20).fill(1));
      await b.revokeGrant(tokens[0].grantId, T0, T0 + DAY);
      expect((await a.findRefreshToken(tokenRecord('two-0-next-0').tokenHash)) ?? (await a.findRefreshToken(tokenRecord('two-0-next-1').tokenHash))).toEqual(expect.objectContaining({ revokedAt: T0 }));
    } finally {
      b.close();
    }
  });

  it('two processes racing 50 consumes, 50 rotations and 50 one-time uses on one file: exactly one winner each', async () => {
    const n = 50;
    const s = env.storage();
    for (let i = 0; i < n; i += 1) {
      await s.saveAuthorizationCode(codeRecord(`race-${i}`, { codeHash: digest(`race-code-${i}`), expiresAt: Date.now() + 10 * MINUTE }));
      await s.saveRefreshToken(tokenRecord(`race-${i}`, { tokenHash: digest(`race-token-${i}`), expiresAt: Date.now() + DAY }));
    }
    const worker = join(__dirname, 'fixtures', 'sqlite-race-worker.ts');
    const startAt = Date.now() + 3_000;
    const runs = await Promise.all(['A', 'B'].map((id) =>
      execFileAsync(process.execPath, ['--import', 'tsx', worker, env.filename(), String(n), String(startAt), id], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 }),
    ));
    const results = runs.map((run) => JSON.parse(run.stdout.trim()) as { workerId: string; codes: number[]; tokens: number[]; uses: number[] });
    const wins = (kind: 'codes' | 'tokens' | 'uses') => Array.from({ length: n }, (_, i) => results.filter((r) => r[kind].includes(i)).length);
    expect(wins('codes')).toEqual(Array(n).fill(1));
    expect(wins('tokens')).toEqual(Array(n).fill(1));
    expect(wins('uses')).toEqual(Array(n).fill(1));
    // Exactly one successor stored per token, and it belongs to the winning process.
    const db = new Database(env.filename(), { readonly: true });
    try {
      const successors = db.prepare('SELECT parent_hash, count(*) AS n FROM oauth_refresh_tokens WHERE parent_hash IS NOT NULL GROUP BY parent_hash').all() as Array<{ n: number }>;
      expect(successors).toHaveLength(n);
      expect(successors.every((row) => row.n === 1)).toBe(true);
    } finally {
      db.close();
    }
    for (let i = 0; i < n; i += 1) {
      const winner = results.find((r) => r.tokens.includes(i))?.workerId;
      expect((await s.findRefreshToken(digest(`race-token-${i}`)))?.successorEnvelope).toBe(`envelope-${winner}`);
      expect(await s.findRefreshToken(digest(`race-token-${i}-successor-${winner}`))).toBeDefined();
    }
  }, 90_000);
});

describe('the token endpoint on SQLite storage, across a restart', () => {
  const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';
  const VERIFICATION_URI = 'https://id.example.test/device';
  const DEVICE_CLIENTS: MemoryClientDefinition[] = [
    { client_id: 'tv', client_secret: SERVICE_SECRET, grant_types: [DEVICE_GRANT, 'refresh_token'], scope: 'openid offline_access api:read' },
  ];
  const opened: SqliteStorage[] = [];
  afterEach(() => opened.splice(0).forEach((s) => s.close()));

  /** A router on `filename`, its clock started at `at` (a restart keeps the file, not the process). */
  function refreshApp(filename: string, at: number): CodeTestApp {
    const harness = createRefreshTestApp((clock) => {
      clock.set(at);
      const storage = createSqliteStorage({ filename, clock });
      opened.push(storage);
      return { storage };
    });
    return harness;
  }

  function deviceApp(filename: string, at: number): CodeTestApp {
    return createCodeTestApp((clock) => {
      clock.set(at);
      const storage = createSqliteStorage({ filename, clock });
      opened.push(storage);
      return { storage, grants: [deviceCode({ verificationUri: VERIFICATION_URI }), authorizationCode(), refreshToken()] };
    }, DEVICE_CLIENTS);
  }

  function pollDevice(harness: CodeTestApp, device_code: string): request.Test {
    return request(harness.app)
      .post('/connect/token')
      .type('form')
      .set('Authorization', basic('tv', SERVICE_SECRET))
      .send(new URLSearchParams({ grant_type: DEVICE_GRANT, device_code }).toString());
  }

  it('redeems a code and rotates its refresh token, then a new router on the same file refreshes the token issued before', async () => {
    const filename = freshFile();
    const before = refreshApp(filename, T0);
    const grant = await startGrant(before, RT_WEB);
    const rotated = await refresh(before.app, grant.refreshToken);
    expect(rotated.status).toBe(200);
    const issuedBeforeRestart = (rotated.body as TokenBody).refresh_token as string;
    expect(issuedBeforeRestart).toEqual(expect.any(String));
    opened.splice(0).forEach((s) => s.close());

    const after = refreshApp(filename, T0 + 10 * MINUTE);
    const res = await refresh(after.app, issuedBeforeRestart);
    expect(res.status).toBe(200);
    const next = (res.body as TokenBody).refresh_token as string;
    expect(next).toEqual(expect.any(String));
    expect(next).not.toBe(issuedBeforeRestart);
    // The used token is remembered across the restart too: presenting it again is reuse, and revokes the family.
    const reuse = await refresh(after.app, grant.refreshToken);
    expect(reuse.status).toBe(400);
    expect(reuse.body).toEqual(expect.objectContaining({ error: 'invalid_grant' }));
    expect((await refresh(after.app, next)).status).toBe(400);
    expect(after.events.map((e) => e.type)).toEqual(expect.arrayContaining(['refresh_token.reused', 'grant.revoked']));
  });

  it('after a restart, a refresh token issued before still works and a pending device code can be approved and polled', async () => {
    const filename = freshFile();
    const before = deviceApp(filename, T0);
    // A device signed in before the restart: its refresh token.
    const signedIn = await request(before.app).post('/connect/deviceauthorization').type('form').set('Authorization', basic('tv', SERVICE_SECRET)).send('scope=openid%20offline_access%20api%3Aread');
    expect(signedIn.status).toBe(200);
    expect((await before.tokenRouter.deviceVerification.approve(signedIn.body.user_code as string, { subject: 'user-1' }, { key: 'k' })).status).toBe('approved');
    const first = await pollDevice(before, signedIn.body.device_code as string);
    expect(first.status).toBe(200);
    const refreshBeforeRestart = (first.body as TokenBody).refresh_token as string;
    expect(refreshBeforeRestart).toEqual(expect.any(String));
    // A second device is waiting for its user when the server restarts.
    const pending = await request(before.app).post('/connect/deviceauthorization').type('form').set('Authorization', basic('tv', SERVICE_SECRET)).send('scope=openid%20api%3Aread');
    expect(pending.status).toBe(200);
    const early = await pollDevice(before, pending.body.device_code as string);
    expect(early.body).toEqual(expect.objectContaining({ error: 'authorization_pending' }));
    opened.splice(0).forEach((s) => s.close());

    const after = deviceApp(filename, T0 + MINUTE);
    const refreshed = await request(after.app)
      .post('/connect/token')
      .type('form')
      .set('Authorization', basic('tv', SERVICE_SECRET))
      .send(new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshBeforeRestart }).toString());
    expect(refreshed.status).toBe(200);
    expect(refreshed.body).toEqual(expect.objectContaining({ access_token: expect.any(String), refresh_token: expect.any(String) }));

    expect(await after.tokenRouter.deviceVerification.lookup(pending.body.user_code as string, { key: 'k' })).toEqual(expect.objectContaining({ status: 'pending', clientId: 'tv' }));
    expect((await after.tokenRouter.deviceVerification.approve(pending.body.user_code as string, { subject: 'user-2' }, { key: 'k' })).status).toBe('approved');
    const tokens = await pollDevice(after, pending.body.device_code as string);
    expect(tokens.status).toBe(200);
    expect(tokens.body).toEqual(expect.objectContaining({ access_token: expect.any(String), token_type: 'Bearer', scope: 'openid api:read' }));
    // Redeemed exactly once, across the restart as well.
    expect((await pollDevice(after, pending.body.device_code as string)).status).toBe(400);
  });
});
