// spec/storage/postgres-storage.spec.ts
// What is specific to the PostgreSQL adapter, beyond the conformance kit: option validation,
// versioned migrations (explicit, at startup, concurrent, a newer schema refused, a missing one
// named), digests only at rest, purge in bounded batches (also from two processes' adapters at
// once), schemas kept apart, prepared statements, the pool's error
// listener, and close(). (Exact JSON round trips are in the conformance kit.)
import { createHash } from 'node:crypto';
import type { Pool } from 'pg';
import { ConfigurationError, type AuthorizationCodeRecord, type DeviceCodeRecord, type RefreshTokenRecord } from '../../lib';
import { createPostgresStorage, migratePostgresStorage, SCHEMA_VERSION, type PostgresPool, type PostgresQuery, type PostgresStorage } from '../../lib/postgres';
import { startFaultApp } from '../helpers/fault-app';
import { storageConfigurationErrorOf } from '../helpers/host-registry';
import { createPool, describeWithPostgres, dropSchema, freshSchema } from '../helpers/postgres';

const T0 = Date.UTC(2026, 0, 1);
const SECOND = 1000;
const MINUTE = 60 * SECOND;
const DAY = 24 * 60 * MINUTE;

function digest(label: string): string {
  return createHash('sha256').update(label).digest('base64url');
}

function code(name: string, overrides: Partial<AuthorizationCodeRecord> = {}): AuthorizationCodeRecord {
  return { codeHash: digest(`code:${name}`), clientId: 'web', redirectUri: 'https://web.example.com/cb', scope: ['openid'], subject: 'user-1', grantId: `grant-${name}`, issuedAt: T0, expiresAt: T0 + MINUTE, ...overrides };
}

function token(name: string, overrides: Partial<RefreshTokenRecord> = {}): RefreshTokenRecord {
  return { tokenHash: digest(`rt:${name}`), grantId: `grant-${name}`, clientId: 'web', scope: ['openid', 'offline_access'], subject: 'user-1', issuedAt: T0, expiresAt: T0 + DAY, ...overrides };
}

function device(name: string, overrides: Partial<DeviceCodeRecord> = {}): DeviceCodeRecord {
  return { deviceCodeHash: digest(`dc:${name}`), userCodeHash: digest(`uc:${name}`), clientId: 'tv', scope: ['openid'], grantId: `grant-${name}`, issuedAt: T0, expiresAt: T0 + 10 * MINUTE, interval: 5, status: 'pending', ...overrides };
}

/** A stand-in pool for option checks: never queried. */
const FAKE_POOL = { query: async () => ({ rows: [], rowCount: 0 }), connect: async () => ({ query: async () => ({ rows: [], rowCount: 0 }), release: () => undefined }), on: () => undefined, listenerCount: () => 1 } as PostgresPool;

describe('createPostgresStorage and migratePostgresStorage options', () => {
  it('rejects a missing or wrong pool with a ConfigurationError', () => {
    expect(() => createPostgresStorage({ pool: undefined as unknown as PostgresPool })).toThrow(ConfigurationError);
    expect(() => createPostgresStorage({ pool: { query: () => undefined } as unknown as PostgresPool })).toThrow(/pool must be a node-postgres Pool/);
  });

  it.each([
    ['upper case', 'OAuth'],
    ['a leading digit', '1oauth'],
    ['the reserved pg_ prefix', 'pg_oauth'],
    ['a quote (SQL injection)', 'oauth"; DROP TABLE users; --'],
    ['a dot', 'public.oauth'],
    ['64 characters', 'a'.repeat(64)],
    ['the empty string', ''],
  ])('rejects a schema name with %s, naming the rule', (_label, schema) => {
    expect(storageConfigurationErrorOf(() => createPostgresStorage({ pool: FAKE_POOL, schema })).problems).toEqual([expect.stringMatching(/^createPostgresStorage: schema must be a PostgreSQL schema name of lower-case letters, digits and _/)]);
  });

  it('accepts a schema name of 63 lower-case characters, digits and _', () => {
    expect(createPostgresStorage({ pool: FAKE_POOL, schema: `a_1${'b'.repeat(60)}`, purgeIntervalMs: 0 }).schema).toHaveLength(63);
  });

  it('lists every bad value in one ConfigurationError', () => {
    const error = storageConfigurationErrorOf(() =>
      createPostgresStorage({ pool: FAKE_POOL, migrate: 'yes' as unknown as boolean, clock: 5 as unknown as () => number, purgeIntervalMs: -1, purgeBatchSize: 0, prepareStatements: 1 as unknown as boolean }),
    );
    expect(error.problems).toEqual([
      'createPostgresStorage: migrate must be true or false; got "yes".',
      'createPostgresStorage: clock must be a function returning ms since the epoch.',
      'createPostgresStorage: purgeIntervalMs must be a whole number of milliseconds (0 disables the purge timer); got -1.',
      'createPostgresStorage: purgeBatchSize must be a whole number of rows from 1 to 100000; got 0.',
      'createPostgresStorage: prepareStatements must be true or false; got 1.',
    ]);
  });

  it('rejects an unknown option (a typo must not fall back to the default), naming it and listing the known options', () => {
    const error = storageConfigurationErrorOf(() => createPostgresStorage({ pool: FAKE_POOL, schemaName: 'oauth' } as unknown as Parameters<typeof createPostgresStorage>[0]));
    expect(error.problems).toEqual(['Unknown option "createPostgresStorage.schemaName". Known options: pool, schema, migrate, clock, purgeIntervalMs, purgeBatchSize, prepareStatements.']);
  });

  it('rejects an options argument that is not an object', () => {
    for (const options of [undefined, null, 'postgres://localhost/db', [FAKE_POOL]]) {
      expect(storageConfigurationErrorOf(() => createPostgresStorage(options as unknown as Parameters<typeof createPostgresStorage>[0])).problems).toEqual([expect.stringMatching(/^createPostgresStorage: pass an options object \{ pool, schema\?/)]);
    }
  });

  it('migratePostgresStorage checks its pool, schema and options before touching the database', async () => {
    await expect(migratePostgresStorage({} as PostgresPool)).rejects.toThrow(/migratePostgresStorage: pool must be a node-postgres Pool/);
    await expect(migratePostgresStorage(FAKE_POOL, { schema: 'Bad' })).rejects.toThrow(/migratePostgresStorage: schema must be/);
    await expect(migratePostgresStorage(FAKE_POOL, { schem: 'x' } as unknown as { schema: string })).rejects.toThrow(/Unknown option "migratePostgresStorage.schem"/);
  });

  it('adds an error listener to a pool that has none (an idle client error must not crash the process), and none to a pool that has one', () => {
    const added: string[] = [];
    const pool = (count: number) => ({ ...FAKE_POOL, on: (event: string) => added.push(event), listenerCount: () => count }) as PostgresPool;
    createPostgresStorage({ pool: pool(0), purgeIntervalMs: 0 });
    expect(added).toEqual(['error']);
    createPostgresStorage({ pool: pool(1), purgeIntervalMs: 0 });
    expect(added).toEqual(['error']);
  });
});

describeWithPostgres('PostgreSQL adapter', (url) => {
  let pool: Pool;
  const schemas: string[] = [];
  /** A fresh schema for one test, dropped after the file. */
  const schema = (label: string) => {
    const name = freshSchema(label);
    schemas.push(name);
    return name;
  };
  let clockNow = T0;
  const clock = () => clockNow;

  beforeAll(() => {
    pool = createPool(url(), { max: 12 });
  });
  beforeEach(() => {
    clockNow = T0;
  });
  afterAll(async () => {
    await pool?.end();
    for (const name of schemas) await dropSchema(url(), name);
  });

  async function rows(sql: string, values: unknown[] = []): Promise<Array<Record<string, unknown>>> {
    return (await pool.query(sql, values)).rows;
  }

  async function migrated(label: string, options: Partial<Parameters<typeof createPostgresStorage>[0]> = {}): Promise<PostgresStorage> {
    const name = schema(label);
    await migratePostgresStorage(pool, { schema: name });
    return createPostgresStorage({ pool, schema: name, clock, purgeIntervalMs: 0, ...options });
  }

  describe('migrations', () => {
    it('creates the schema, its tables and one schema_version row per version; a second run does nothing', async () => {
      const name = schema('mig');
      expect(await migratePostgresStorage(pool, { schema: name })).toEqual({ from: 0, to: SCHEMA_VERSION });
      const tables = await rows("SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY table_name", [name]);
      expect(tables.map((t) => t.table_name)).toEqual(['authorization_codes', 'device_codes', 'one_time_uses', 'refresh_tokens', 'revoked_access_tokens', 'revoked_grants', 'schema_version', 'user_codes']);
      expect(await migratePostgresStorage(pool, { schema: name })).toEqual({ from: SCHEMA_VERSION, to: SCHEMA_VERSION });
      expect(await rows(`SELECT version FROM "${name}".schema_version ORDER BY version`)).toEqual(Array.from({ length: SCHEMA_VERSION }, (_, i) => ({ version: i + 1 })));
    });

    it('8 pools migrating one new schema at once: all resolve, exactly one found it empty, each version applied once', async () => {
      const name = schema('race');
      const pools = Array.from({ length: 8 }, () => createPool(url(), { max: 1 }));
      try {
        const results = await Promise.all(pools.map((p) => migratePostgresStorage(p, { schema: name })));
        expect(results.filter((r) => r.from === 0)).toHaveLength(1);
        expect(results.every((r) => r.to === SCHEMA_VERSION)).toBe(true);
        expect(await rows(`SELECT count(*)::int AS n FROM "${name}".schema_version`)).toEqual([{ n: SCHEMA_VERSION }]);
      } finally {
        await Promise.all(pools.map((p) => p.end()));
      }
    });

    it('without migrate, an unmigrated schema fails every call with what to run; once migrated, the same adapter works', async () => {
      const name = schema('unmigrated');
      const storage = createPostgresStorage({ pool, schema: name, clock, purgeIntervalMs: 0 });
      await expect(storage.ready()).rejects.toThrow(ConfigurationError);
      await expect(storage.findAuthorizationCode('x')).rejects.toThrow(`run migratePostgresStorage(pool, { schema: '${name}' }) once (or pass migrate: true)`);
      await migratePostgresStorage(pool, { schema: name });
      await storage.saveAuthorizationCode(code('a'));
      expect(await storage.consumeAuthorizationCode(code('a').codeHash, T0)).toBe(true);
    });

    it('with migrate: true the first call creates the tables; adapters starting together migrate once', async () => {
      const name = schema('auto');
      const adapters = Array.from({ length: 4 }, () => createPostgresStorage({ pool, schema: name, migrate: true, clock, purgeIntervalMs: 0 }));
      await Promise.all(adapters.map((storage, i) => storage.saveAuthorizationCode(code(`a${i}`))));
      expect(await rows(`SELECT count(*)::int AS n FROM "${name}".authorization_codes`)).toEqual([{ n: 4 }]);
      expect(await rows(`SELECT count(*)::int AS n FROM "${name}".schema_version`)).toEqual([{ n: SCHEMA_VERSION }]);
    });

    it('refuses a schema written by a newer version of the adapter, saying to upgrade', async () => {
      const name = schema('newer');
      await migratePostgresStorage(pool, { schema: name });
      await pool.query(`INSERT INTO "${name}".schema_version (version) VALUES ($1)`, [SCHEMA_VERSION + 1]);
      await expect(migratePostgresStorage(pool, { schema: name })).rejects.toThrow(`migratePostgresStorage: the schema "${name}" is at version ${SCHEMA_VERSION + 1}, newer than this adapter's ${SCHEMA_VERSION}: upgrade express-token-endpoint`);
      for (const migrate of [false, true]) {
        const storage = createPostgresStorage({ pool, schema: name, migrate, clock, purgeIntervalMs: 0 });
        await expect(storage.findRefreshToken('x')).rejects.toThrow(/newer than this adapter's/);
      }
    });
  });

  describe('records at rest', () => {
    it('stores codes and tokens only as digests: after a code redemption and a refresh through the router, no table holds a raw value', async () => {
      const name = schema('digests');
      await migratePostgresStorage(pool, { schema: name });
      const app = await startFaultApp((testClock) => createPostgresStorage({ pool, schema: name, clock: testClock, purgeIntervalMs: 0 }));
      const minted = await app.mint();
      const redeemed = await app.redeem(minted.code);
      const refreshed = await app.refresh(redeemed.body.refresh_token as string);
      await app.close();
      expect([redeemed.status, refreshed.status]).toEqual([200, 200]);
      const dump = JSON.stringify(await Promise.all(['authorization_codes', 'refresh_tokens'].map((table) => rows(`SELECT * FROM "${name}".${table}`))));
      for (const raw of [minted.code, redeemed.body.refresh_token as string, refreshed.body.refresh_token as string]) {
        expect(dump).not.toContain(raw);
        expect(dump).toContain(digest(raw));
      }
    });

    it('keeps schemas apart: two adapters on one database do not see each other', async () => {
      const a = await migrated('iso_a');
      const b = await migrated('iso_b');
      await a.saveAuthorizationCode(code('x'));
      expect(await b.findAuthorizationCode(code('x').codeHash)).toBeUndefined();
      await b.saveAuthorizationCode(code('x', { clientId: 'other' }));
      expect((await a.findAuthorizationCode(code('x').codeHash))?.clientId).toBe('web');
    });

    it('refuses a rotation whose successor hash is already stored, marking nothing', async () => {
      const storage = await migrated('dup');
      await storage.saveRefreshToken(token('1'));
      await storage.saveRefreshToken(token('2'));
      expect(await storage.rotateRefreshToken(token('1').tokenHash, token('2', { grantId: token('1').grantId }), T0)).toBe(false);
      expect((await storage.findRefreshToken(token('1').tokenHash))?.consumedAt).toBeUndefined();
    });
  });

  describe('purge', () => {
    /** A pool that records each statement's text and row count. */
    function recording(): { pool: PostgresPool; log: Array<{ text: string; rowCount: number | null; name?: string }> } {
      const log: Array<{ text: string; rowCount: number | null; name?: string }> = [];
      const wrapped: PostgresPool = {
        query: async (query: PostgresQuery) => {
          const result = await pool.query(query);
          log.push({ text: query.text, rowCount: result.rowCount, name: query.name });
          return result;
        },
        connect: () => pool.connect(),
        on: () => undefined,
        listenerCount: () => 1,
      };
      return { pool: wrapped, log };
    }

    it('deletes expired rows in batches of purgeBatchSize and keeps every row still owed', async () => {
      const name = schema('purge');
      await migratePostgresStorage(pool, { schema: name });
      const { pool: spy, log } = recording();
      const storage = createPostgresStorage({ pool: spy, schema: name, clock, purgeIntervalMs: 0, purgeBatchSize: 7 });
      // Due at T0 + 3 min: 30 codes, 20 tokens, 10 one-time uses, 5 revoked access tokens, 3 revocations.
      await Promise.all(Array.from({ length: 30 }, (_, i) => storage.saveAuthorizationCode(code(`old${i}`))));
      await Promise.all(Array.from({ length: 20 }, (_, i) => storage.saveRefreshToken(token(`old${i}`, { expiresAt: T0 + MINUTE }))));
      await Promise.all(Array.from({ length: 10 }, (_, i) => storage.recordOneTimeUse(`use-${i}`, T0 + MINUTE)));
      await Promise.all(Array.from({ length: 5 }, (_, i) => storage.revokeAccessToken(`jti-${i}`, T0 + MINUTE)));
      await Promise.all(Array.from({ length: 3 }, (_, i) => storage.revokeGrant(`revoked-${i}`, T0, T0 + MINUTE)));
      // Owed: a consumed code retained for a day, a used token whose successor lives, a device
      // code within its 10-minute grace, live entries of every kind.
      await storage.saveAuthorizationCode(code('retained'));
      await storage.consumeAuthorizationCode(code('retained').codeHash, T0 + SECOND, T0 + DAY);
      await storage.saveRefreshToken(token('used', { expiresAt: T0 + MINUTE }));
      await storage.rotateRefreshToken(token('used').tokenHash, token('next', { grantId: token('used').grantId, expiresAt: T0 + DAY }), T0 + SECOND, 'sealed');
      await storage.saveDeviceCode(device('late', { expiresAt: T0 + MINUTE }));
      await storage.recordOneTimeUse('use-live', T0 + DAY);
      await storage.revokeAccessToken('jti-live', T0 + DAY);
      await storage.revokeGrant('revoked-live', T0, T0 + DAY);

      clockNow = T0 + 3 * MINUTE;
      log.length = 0;
      expect(await storage.purge()).toBe(30 + 20 + 10 + 5 + 3);
      const deletes = log.filter((entry) => entry.text.startsWith('DELETE'));
      expect(Math.max(...deletes.map((entry) => entry.rowCount ?? 0))).toBe(7);
      expect(deletes.filter((entry) => entry.text.includes('authorization_codes')).map((entry) => entry.rowCount)).toEqual([7, 7, 7, 7, 2]);

      expect((await storage.findAuthorizationCode(code('retained').codeHash))?.consumedAt).toBe(T0 + SECOND);
      const used = await storage.findRefreshToken(token('used').tokenHash);
      expect(used?.consumedAt).toBe(T0 + SECOND);
      expect(used?.successorEnvelope).toBeUndefined(); // dropped 2 minutes after the rotation; the used token stays
      expect(await storage.findRefreshToken(token('next').tokenHash)).toBeDefined();
      expect(await storage.findDeviceCode(device('late').deviceCodeHash)).toBeDefined();
      expect(await storage.findDeviceCodeByUserCode(device('late').userCodeHash)).toBeDefined();
      expect(await storage.recordOneTimeUse('use-live', T0 + DAY)).toBe(false);
      expect(await storage.isAccessTokenRevoked('jti-live')).toBe(true);
      expect(await storage.isGrantRevoked('revoked-live')).toBe(true);

      // Past the device grace: the request and its user-code reservation go.
      clockNow = T0 + MINUTE + 10 * MINUTE;
      expect(await storage.purge()).toBe(2);
      expect(await storage.findDeviceCodeByUserCode(device('late').userCodeHash)).toBeUndefined();
    });

    it('two adapters (as in two processes) purging one schema at once delete each row once', async () => {
      const name = schema('purge2');
      await migratePostgresStorage(pool, { schema: name });
      const other = createPool(url(), { max: 4 });
      try {
        const a = createPostgresStorage({ pool, schema: name, clock, purgeIntervalMs: 0, purgeBatchSize: 10 });
        const b = createPostgresStorage({ pool: other, schema: name, clock, purgeIntervalMs: 0, purgeBatchSize: 10 });
        await Promise.all(Array.from({ length: 200 }, (_, i) => a.saveAuthorizationCode(code(`c${i}`))));
        clockNow = T0 + 2 * MINUTE;
        const [fromA, fromB] = await Promise.all([a.purge(), b.purge()]);
        expect(fromA + fromB).toBe(200);
        expect(await rows(`SELECT count(*)::int AS n FROM "${name}".authorization_codes`)).toEqual([{ n: 0 }]);
      } finally {
        await other.end();
      }
    });

    it('purges on its timer (purgeIntervalMs), and close() stops it without ending the pool', async () => {
      const name = schema('timer');
      await migratePostgresStorage(pool, { schema: name });
      const storage = createPostgresStorage({ pool, schema: name, clock, purgeIntervalMs: 20 });
      await storage.saveAuthorizationCode(code('gone'));
      clockNow = T0 + 2 * MINUTE;
      const deadline = Date.now() + 5_000;
      while ((await rows(`SELECT 1 FROM "${name}".authorization_codes`)).length > 0) {
        if (Date.now() > deadline) throw new Error('the timer did not purge');
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      await storage.close();
      await storage.close();
      await expect(storage.findAuthorizationCode('x')).rejects.toThrow('PostgreSQL storage is closed');
      await expect(storage.purge()).rejects.toThrow('PostgreSQL storage is closed');
      expect((await pool.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    });
  });

  describe('statements', () => {
    it('names (prepares) every statement by default, and sends none named with prepareStatements: false', async () => {
      const name = schema('prep');
      await migratePostgresStorage(pool, { schema: name });
      for (const prepareStatements of [true, false]) {
        const names: Array<string | undefined> = [];
        const spy: PostgresPool = { query: (query) => { names.push(query.name); return pool.query(query); }, connect: () => pool.connect(), on: () => undefined, listenerCount: () => 1 };
        const storage = createPostgresStorage({ pool: spy, schema: name, clock, purgeIntervalMs: 0, prepareStatements });
        await storage.saveAuthorizationCode(code(`p${prepareStatements}`));
        expect(await storage.consumeAuthorizationCode(code(`p${prepareStatements}`).codeHash, T0)).toBe(true);
        // The first query is the schema check (unnamed); the two calls follow.
        expect(names.slice(1).map((n) => (n === undefined ? 'unnamed' : /^ete_[0-9a-f]{16}$/.test(n) ? 'named' : n))).toEqual(prepareStatements ? ['named', 'named'] : ['unnamed', 'unnamed']);
      }
    });
  });
});
