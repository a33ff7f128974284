// lib/postgres/index.ts
// The PostgreSQL StorageAdapter (`express-token-endpoint/postgres`): shared, durable state for any
// number of token-endpoint processes, on a node-postgres Pool the host passes in (pg@8 is an
// optional peer dependency: this module never loads it).
import { ConfigurationError } from '../contracts/errors';
import type { AuthorizationCodeRecord, DeviceCodeRecord, DevicePollResult, RefreshTokenRecord, SessionFacts, StorageAdapter } from '../contracts/storage';
import { checkFunction, checkKeys, isPlainObject } from '../options/checks';
import { DEVICE_CODE_GRACE_MS, SUCCESSOR_ENVELOPE_RETENTION_MS } from '../storage/retention';
import type { PostgresPool } from './pool';
import { checkSchema, DEFAULT_SCHEMA, migrateSchema, SCHEMA_VERSION, schemaNameProblem, tableNames } from './schema';
import { bind, statements, type Statement } from './sql';

export type { PostgresPool, PostgresPoolClient, PostgresQuery, PostgresQueryResult } from './pool';
export { SCHEMA_VERSION, DEFAULT_SCHEMA } from './schema';

/** Options of {@link createPostgresStorage}. */
export interface PostgresStorageOptions {
  /**
   * A node-postgres `Pool` (`new Pool({ connectionString, ... })`), shared with your code or not;
   * the adapter never ends it. For a token endpoint that fails fast while the database is down
   * (500 `server_error` instead of requests waiting), give it a `connectionTimeoutMillis` (e.g.
   * 2 000) and a `query_timeout` or `statement_timeout`. Leave `synchronous_commit` on (the
   * default): with it off, a commit the adapter reported may be lost in a database crash, and a
   * consumed code or rotated refresh token could then be redeemed again. When the pool has no
   * `'error'` listener, the adapter adds one that reports errors of idle clients (a restarted
   * server) as process warnings instead of letting them crash the process.
   */
  pool: PostgresPool;
  /**
   * The PostgreSQL schema holding the adapter's tables: lower-case letters, digits and `_`, not
   * starting with a digit or `pg_`, at most 63 characters. Defaults to `'express_token_endpoint'`.
   * Processes that share a schema share every code and token.
   */
  schema?: string;
  /**
   * `true`: create or upgrade the schema's tables before the first statement (see
   * {@link migratePostgresStorage}; safe while other processes do the same). `false` (the
   * default): only check, before the first statement, that the schema is at this adapter's
   * version, and fail every call with a ConfigurationError saying what to run if it is not —
   * for deployments that migrate as a separate step, with a role the endpoint does not use.
   */
  migrate?: boolean;
  /** Milliseconds-since-epoch clock: judges live user codes, reused one-time values and what {@link PostgresStorage.purge} deletes. Defaults to `Date.now`. */
  clock?: () => number;
  /** How often expired rows are purged, in ms. Defaults to 60 000; 0 disables the timer (run {@link PostgresStorage.purge} yourself). The timer is unref'd. */
  purgeIntervalMs?: number;
  /**
   * Rows deleted per purge statement (each statement is its own short transaction, so requests
   * are never held up behind one long delete). Defaults to 1 000; 1 to 100 000.
   */
  purgeBatchSize?: number;
  /**
   * Named (prepared) statements: PostgreSQL plans each statement once per connection instead of
   * once per call. Defaults to `true`; set `false` behind a connection pooler in transaction mode
   * that cannot carry prepared statements across server connections (PgBouncer before 1.21).
   */
  prepareStatements?: boolean;
}

/** The PostgreSQL adapter, plus housekeeping. */
export interface PostgresStorage extends StorageAdapter {
  /** The PostgreSQL schema in use. */
  readonly schema: string;
  /**
   * Resolves once the schema has been checked (or migrated, with `migrate: true`); rejects with
   * the reason otherwise. Every method waits for this itself: call it at startup to fail early.
   * After a rejection caused by the database being unreachable, the next call tries again.
   */
  ready(): Promise<void>;
  /**
   * Deletes the rows whose time is up now (by the adapter's clock), in batches of
   * `purgeBatchSize`: authorization codes past `expiresAt` and their `retainUntil`, device codes
   * and their user-code reservations 10 minutes past `expiresAt` (a late poll still gets
   * `expired_token`), refresh tokens past both `expiresAt` and `retainUntil`, grant revocations
   * past their `retainUntil`, revoked access tokens and one-time uses past their `expiresAt`.
   * Also clears retry envelopes of tokens rotated more than 2 minutes ago (the used token stays).
   * Resolves how many rows were deleted. Several processes may purge at once.
   */
  purge(): Promise<number>;
  /**
   * Stops the purge timer and waits for a purge in progress. Does not end the pool (it is yours:
   * `await pool.end()` after this). Idempotent; the adapter rejects calls afterwards.
   */
  close(): Promise<void>;
}

/** Options of {@link migratePostgresStorage}. */
export interface PostgresMigrationOptions {
  /** The PostgreSQL schema to create or upgrade (see {@link PostgresStorageOptions.schema}). Defaults to `'express_token_endpoint'`. */
  schema?: string;
}

/** What {@link migratePostgresStorage} did. */
export interface PostgresMigrationResult {
  /** The schema's version before the call (0: it held no tables of the adapter). */
  readonly from: number;
  /** Its version now: {@link SCHEMA_VERSION}. */
  readonly to: number;
}

/** Every option of {@link PostgresStorageOptions}: adding one there without listing it here does not compile. */
const KNOWN_OPTIONS: { readonly [K in keyof Required<PostgresStorageOptions>]: true } = {
  pool: true,
  schema: true,
  migrate: true,
  clock: true,
  purgeIntervalMs: true,
  purgeBatchSize: true,
  prepareStatements: true,
};

interface Settings {
  pool: PostgresPool;
  schema: string;
  migrate: boolean;
  clock: () => number;
  purgeIntervalMs: number;
  purgeBatchSize: number;
  prepareStatements: boolean;
}

/**
 * Creates or upgrades the adapter's tables in `schema` (creating the schema when missing), for
 * deployments that migrate as a step of their own. Runs in one transaction under a
 * transaction-level advisory lock on the schema name, so processes migrating at once are
 * serialised and a version is applied once. Rejects with a ConfigurationError when the schema
 * was written by a newer version of this package.
 *
 * @example
 * import { Pool } from 'pg';
 * import { migratePostgresStorage } from 'express-token-endpoint/postgres';
 * const pool = new Pool({ connectionString: process.env.DATABASE_URL });
 * await migratePostgresStorage(pool, { schema: 'oauth' });
 */
export async function migratePostgresStorage(pool: PostgresPool, options: PostgresMigrationOptions = {}): Promise<PostgresMigrationResult> {
  const problems: string[] = [];
  if (!isPool(pool)) problems.push('migratePostgresStorage: pool must be a node-postgres Pool (new Pool(...)).');
  if (!isPlainObject(options as unknown)) problems.push('migratePostgresStorage: options must be an object { schema? }.');
  else checkKeys(options as Record<string, unknown>, 'migratePostgresStorage', ['schema'], problems);
  const schema = isPlainObject(options as unknown) ? (options.schema ?? DEFAULT_SCHEMA) : DEFAULT_SCHEMA;
  const schemaProblem = schemaNameProblem(schema);
  if (schemaProblem) problems.push(`migratePostgresStorage: ${schemaProblem}`);
  if (problems.length > 0) throw new ConfigurationError('ERR_TOKEN_ROUTER_STORAGE', problems);
  const from = await migrateSchema(pool, schema, 'migratePostgresStorage');
  return { from, to: SCHEMA_VERSION };
}

/**
 * Creates the PostgreSQL storage adapter on a node-postgres Pool. State is shared by every
 * process using the same database and schema.
 *
 * Atomicity: every compare-and-set of the contract is one statement (a conditional `UPDATE …
 * RETURNING`, an `INSERT … ON CONFLICT`, or a data-modifying CTE whose parts commit together),
 * run at PostgreSQL's default READ COMMITTED isolation: a racing writer waits for the row lock and
 * re-checks the condition against the committed row, so of N racers exactly one wins, also across
 * processes. Durability: a method resolves only after PostgreSQL committed its statement.
 *
 * @example
 * import { Pool } from 'pg';
 * import { createPostgresStorage } from 'express-token-endpoint/postgres';
 * const pool = new Pool({ connectionString: process.env.DATABASE_URL, connectionTimeoutMillis: 2000, query_timeout: 5000 });
 * const storage = createPostgresStorage({ pool, schema: 'oauth', migrate: true });
 * await storage.ready(); // optional: fail at startup rather than on the first request
 * app.use('/connect', createTokenRouter({ ...options, storage }));
 */
export function createPostgresStorage(options: PostgresStorageOptions): PostgresStorage {
  const settings = validate(options);
  const { pool, schema, clock, purgeBatchSize, prepareStatements } = settings;
  // An idle client's error (the server restarted, a connection was cut) is emitted on the pool;
  // with no listener, Node would turn it into an uncaught exception. The pool drops that client
  // and opens a new one on demand, so reporting it is enough.
  if (pool.listenerCount('error') === 0) {
    pool.on('error', (error: Error) => {
      process.emitWarning(`express-token-endpoint: PostgreSQL pool error (an idle connection was lost; the pool reconnects on demand): ${error.message}`, 'StorageWarning');
    });
  }
  const s = statements(tableNames(schema));

  // Schema check (or migration) once, before the first statement; retried after a failure, so a
  // database that was down at startup is picked up when it returns.
  let readyDone = false;
  let pending: Promise<void> | undefined;
  const ready = (): Promise<void> => {
    if (readyDone) return Promise.resolve();
    pending ??= (settings.migrate ? migrateSchema(pool, schema, 'createPostgresStorage').then(() => undefined) : checkSchema(pool, schema)).then(
      () => {
        readyDone = true;
      },
      (error: unknown) => {
        pending = undefined;
        throw error;
      },
    );
    return pending;
  };

  let closed = false;
  const run = async (st: Statement, values: unknown[]) => {
    if (closed) throw new Error('PostgreSQL storage is closed');
    if (!readyDone) await ready();
    return pool.query(bind(st, values, prepareStatements));
  };
  const changed = async (st: Statement, values: unknown[]): Promise<boolean> => ((await run(st, values)).rowCount ?? 0) === 1;
  const first = async (st: Statement, values: unknown[]): Promise<Record<string, unknown> | undefined> => (await run(st, values)).rows[0];

  let purging: Promise<number> | undefined;
  async function purgeOnce(): Promise<number> {
    const now = clock();
    let removed = 0;
    const batches = async (st: Statement, cutoff: number): Promise<number> => {
      let total = 0;
      // close() during a purge ends it after the current batch (each batch is committed on its own).
      while (!closed) {
        const count = (await run(st, [cutoff, purgeBatchSize])).rowCount ?? 0;
        total += count;
        if (count < purgeBatchSize) break;
      }
      return total;
    };
    await batches(s.dropEnvelopes, now - SUCCESSOR_ENVELOPE_RETENTION_MS);
    removed += await batches(s.purgeCodes, now);
    removed += await batches(s.purgeRefresh, now);
    removed += await batches(s.purgeRevocations, now);
    removed += await batches(s.purgeAccessTokenRevocations, now);
    removed += await batches(s.purgeOneTimeUses, now);
    // Device codes stay DEVICE_CODE_GRACE_MS past expiry, so a late poll still hears expired_token (RFC 8628 §3.5).
    removed += await batches(s.purgeDevices, now - DEVICE_CODE_GRACE_MS);
    removed += await batches(s.purgeUserCodes, now - DEVICE_CODE_GRACE_MS);
    return removed;
  }
  const purge = (): Promise<number> => {
    if (closed) return Promise.reject(new Error('PostgreSQL storage is closed'));
    // One purge at a time per adapter: a timer tick during a long purge joins it.
    purging ??= purgeOnce().finally(() => {
      purging = undefined;
    });
    return purging;
  };

  const timer = settings.purgeIntervalMs > 0 ? setInterval(() => {
    purge().catch((error: unknown) => {
      // Database down, a timeout…: try again next time, but let the operator see it.
      process.emitWarning(`express-token-endpoint: PostgreSQL purge failed: ${error instanceof Error ? error.message : String(error)}`, 'StorageWarning');
    });
  }, settings.purgeIntervalMs) : undefined;
  timer?.unref();

  return {
    schema,
    ready,
    purge,
    async close() {
      if (closed) return;
      if (timer) clearInterval(timer);
      const inProgress = purging;
      closed = true;
      await inProgress?.catch(() => undefined);
    },

    async saveAuthorizationCode(record) {
      const { consumedAt, retainUntil, ...data } = record;
      await run(s.insertCode, [
        record.codeHash, record.grantId, record.clientId, JSON.stringify(data), record.expiresAt, consumedAt ?? null, retainUntil ?? null,
        Math.max(record.expiresAt, retainUntil ?? record.expiresAt),
      ]);
    },
    async findAuthorizationCode(codeHash) {
      const row = await first(s.selectCode, [codeHash]);
      if (!row) return undefined;
      return { ...(parse(row.data) as AuthorizationCodeRecord), ...optional('consumedAt', time(row.consumed_at)), ...optional('retainUntil', time(row.retain_until)) };
    },
    consumeAuthorizationCode: (codeHash, consumedAt, retainUntil) => changed(s.consumeCode, [codeHash, consumedAt, retainUntil ?? null]),

    async saveRefreshToken(record) {
      await run(s.insertRefresh, refreshValues(record));
    },
    async findRefreshToken(tokenHash) {
      const row = await first(s.selectRefresh, [tokenHash]);
      if (!row) return undefined;
      const record = refreshFromRow(row);
      const mark = time(row.mark_revoked_at);
      return record.revokedAt === undefined && mark !== undefined ? { ...record, revokedAt: mark } : record;
    },
    rotateRefreshToken: (oldHash, successor, consumedAt, successorEnvelope) =>
      changed(s.rotate, [oldHash, consumedAt, successorEnvelope ?? null, successor.expiresAt, ...refreshValues(successor)]),

    async revokeGrant(grantId, revokedAt, retainUntil) {
      await run(s.upsertRevocation, [grantId, revokedAt, retainUntil]);
    },
    isGrantRevoked: async (grantId) => (await first(s.selectRevocation, [grantId])) !== undefined,

    async revokeAccessToken(jti, expiresAt) {
      await run(s.upsertAccessTokenRevocation, [jti, expiresAt]);
    },
    isAccessTokenRevoked: async (jti) => (await first(s.selectAccessTokenRevocation, [jti])) !== undefined,

    recordOneTimeUse: (key, expiresAt) => changed(s.recordUse, [key, expiresAt, clock()]),

    async saveDeviceCode(record) {
      const { interval, lastPolledAt, status, session, consumedAt, ...data } = record;
      return changed(s.saveDevice, [
        record.deviceCodeHash, record.userCodeHash, record.grantId, record.clientId, JSON.stringify(data), record.expiresAt,
        interval, lastPolledAt ?? null, status, session === undefined ? null : JSON.stringify(session), consumedAt ?? null, clock(),
      ]);
    },
    findDeviceCode: async (deviceCodeHash) => deviceFromRow(await first(s.selectDevice, [deviceCodeHash])),
    findDeviceCodeByUserCode: async (userCodeHash) => deviceFromRow(await first(s.selectDeviceByUserCode, [userCodeHash])),
    decideDeviceCode(userCodeHash, decision) {
      const session: SessionFacts | undefined = decision.status === 'approved' ? decision.session : undefined;
      return changed(s.decideDevice, [userCodeHash, decision.status, session === undefined ? null : JSON.stringify(session)]);
    },
    async pollDeviceCode(deviceCodeHash, at, slowDownSeconds, maxIntervalSeconds): Promise<DevicePollResult | undefined> {
      const row = await first(s.pollDevice, [deviceCodeHash, at, slowDownSeconds, maxIntervalSeconds ?? null]);
      const record = deviceFromRow(row);
      return row && record ? { record, tooSoon: row.too_soon === true } : undefined;
    },
    consumeDeviceCode: (deviceCodeHash, consumedAt) => changed(s.consumeDevice, [deviceCodeHash, consumedAt]),
  };
}

function validate(options: PostgresStorageOptions): Settings {
  const given: unknown = options; // checked as it came, not as the type claims
  if (!isPlainObject(given)) {
    throw new ConfigurationError('ERR_TOKEN_ROUTER_STORAGE', ['createPostgresStorage: pass an options object { pool, schema?, migrate?, clock?, purgeIntervalMs?, purgeBatchSize?, prepareStatements? }.']);
  }
  const problems: string[] = [];
  checkKeys(given, 'createPostgresStorage', Object.keys(KNOWN_OPTIONS), problems);
  const { pool } = options;
  const schema = options.schema ?? DEFAULT_SCHEMA;
  const migrate = options.migrate ?? false;
  const clock = options.clock ?? Date.now;
  const purgeIntervalMs = options.purgeIntervalMs ?? 60_000;
  const purgeBatchSize = options.purgeBatchSize ?? 1_000;
  const prepareStatements = options.prepareStatements ?? true;
  if (!isPool(pool)) problems.push('createPostgresStorage: pool must be a node-postgres Pool (new Pool({ connectionString })).');
  const schemaProblem = schemaNameProblem(schema);
  if (schemaProblem) problems.push(`createPostgresStorage: ${schemaProblem}`);
  if (typeof migrate !== 'boolean') problems.push(`createPostgresStorage: migrate must be true or false; got ${describe(migrate)}.`);
  checkFunction(clock, 'createPostgresStorage: clock', 'a function returning ms since the epoch', problems);
  if (!Number.isInteger(purgeIntervalMs) || purgeIntervalMs < 0 || purgeIntervalMs > 2_147_483_647) {
    problems.push(`createPostgresStorage: purgeIntervalMs must be a whole number of milliseconds (0 disables the purge timer); got ${describe(purgeIntervalMs)}.`);
  }
  if (!Number.isInteger(purgeBatchSize) || purgeBatchSize < 1 || purgeBatchSize > 100_000) {
    problems.push(`createPostgresStorage: purgeBatchSize must be a whole number of rows from 1 to 100000; got ${describe(purgeBatchSize)}.`);
  }
  if (typeof prepareStatements !== 'boolean') problems.push(`createPostgresStorage: prepareStatements must be true or false; got ${describe(prepareStatements)}.`);
  if (problems.length > 0) throw new ConfigurationError('ERR_TOKEN_ROUTER_STORAGE', problems);
  return { pool, schema, migrate, clock, purgeIntervalMs, purgeBatchSize, prepareStatements };
}

function isPool(value: unknown): value is PostgresPool {
  if (typeof value !== 'object' || value === null) return false;
  const candidate = value as Record<string, unknown>;
  return ['query', 'connect', 'on', 'listenerCount'].every((name) => typeof candidate[name] === 'function');
}

function describe(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value) : typeof value === 'number' ? String(value) : typeof value;
}

/** The `$n` values of a refresh token's row, in the column order of `insertRefresh` (and of the rotation's successor). */
function refreshValues(record: RefreshTokenRecord): unknown[] {
  const { consumedAt, successorEnvelope, revokedAt, retainUntil, ...data } = record;
  return [
    record.tokenHash, record.grantId, record.clientId, JSON.stringify(data), record.expiresAt, consumedAt ?? null, successorEnvelope ?? null,
    revokedAt ?? null, retainUntil ?? null, Math.max(record.expiresAt, retainUntil ?? record.expiresAt),
  ];
}

function refreshFromRow(row: Record<string, unknown>): RefreshTokenRecord {
  return {
    ...(parse(row.data) as RefreshTokenRecord),
    ...optional('consumedAt', time(row.consumed_at)),
    ...optional('successorEnvelope', typeof row.successor_envelope === 'string' ? row.successor_envelope : undefined),
    ...optional('revokedAt', time(row.revoked_at)),
    ...optional('retainUntil', time(row.retain_until)),
  };
}

function deviceFromRow(row: Record<string, unknown> | undefined): DeviceCodeRecord | undefined {
  if (!row) return undefined;
  const status = row.status;
  if (status !== 'pending' && status !== 'approved' && status !== 'denied') throw new Error(`unexpected device code status in PostgreSQL: ${String(status)}`);
  return {
    ...(parse(row.data) as Omit<DeviceCodeRecord, 'interval' | 'status'>),
    interval: Number(row.interval_seconds),
    status,
    ...optional('lastPolledAt', time(row.last_polled_at)),
    ...optional('session', row.session === null || row.session === undefined ? undefined : (parse(row.session) as SessionFacts)),
    ...optional('consumedAt', time(row.consumed_at)),
  };
}

/** A JSON column read as text (so a host's own type parsers cannot change it): a fresh object every time. */
function parse(value: unknown): unknown {
  if (typeof value !== 'string') throw new Error('unexpected JSON column from PostgreSQL');
  return JSON.parse(value);
}

/** A BIGINT column: node-postgres returns int8 as a string (unless the host set a parser). */
function time(value: unknown): number | undefined {
  return value === null || value === undefined ? undefined : Number(value);
}

/** `{ [name]: value }` when value is defined, else `{}` (records never carry `undefined` fields). */
function optional<K extends string, V>(name: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [name]: value }) as { [P in K]?: V };
}
