// lib/sqlite/index.ts
// The SQLite StorageAdapter (`express-token-endpoint/sqlite`): embedded, durable, shareable by
// the processes of one host through one database file. Needs the optional peer better-sqlite3@12.
import { ConfigurationError } from '../contracts/errors';
import { checkFunction, checkKeys, isPlainObject } from '../options/checks';
import type { AuthorizationCodeRecord, DeviceCodeRecord, DevicePollResult, RefreshTokenRecord, SessionFacts, StorageAdapter } from '../contracts/storage';
import { loadDriver, openDatabase, type SqliteDatabase } from './driver';
import { CODE_COLUMNS, DEVICE_COLUMNS, fromRow, insertSql, migrate, REFRESH_COLUMNS, tableNames, toRow, type Row } from './schema';
import { DEVICE_CODE_GRACE_MS, SUCCESSOR_ENVELOPE_RETENTION_MS } from '../storage/retention';

export type { SqliteDatabase, SqliteStatement, SqliteRunResult, ArgumentsOf } from './driver';
export { SCHEMA_VERSION } from './schema';

/** Options for {@link createSqliteStorage}: exactly one of `filename` and `database`. */
export interface SqliteStorageOptions {
  /**
   * Path of the database file; created (with its tables) when missing. The adapter opens it in
   * WAL mode with `synchronous` as {@link SqliteStorageOptions.synchronous} says and a busy
   * timeout, and closes it on {@link SqliteStorage.close}.
   */
  filename?: string;
  /**
   * An open better-sqlite3 `Database` of yours (e.g. to share one file with your own tables).
   * The adapter creates its tables in it but leaves its pragmas (journal mode, busy timeout) and
   * its lifetime to you: `close()` does not close it.
   */
  database?: SqliteDatabase;
  /** Milliseconds-since-epoch clock: judges live user codes and what {@link SqliteStorage.purge} deletes. Defaults to `Date.now`. */
  clock?: () => number;
  /** How often expired rows are purged, in ms. Defaults to 60 000; 0 disables the timer. The timer is unref'd. */
  purgeIntervalMs?: number;
  /** Prefix of the adapter's table names (letters, digits, `_`). Defaults to `oauth_`. */
  tablePrefix?: string;
  /** With `filename`: how long a write waits for another connection's lock, in ms. Defaults to 5 000. */
  busyTimeoutMs?: number;
  /**
   * With `filename`: SQLite's `synchronous` setting. `'full'` (the default) fsyncs every commit,
   * so a consumed code or rotated refresh token survives a power cut or OS crash. `'normal'` (in
   * WAL mode) survives a crash of the process but may lose the last commits on power loss or an
   * OS crash; the database stays consistent. On the benchmark machine `'normal'` roughly doubles
   * refresh throughput (docs/benchmarks.md); see docs/decisions.md before choosing it.
   */
  synchronous?: 'full' | 'normal';
}

/** The SQLite adapter, plus housekeeping. */
export interface SqliteStorage extends StorageAdapter {
  /**
   * Deletes the rows whose time is up now (by the adapter's clock): authorization codes past
   * `expiresAt`, device codes 10 minutes past `expiresAt` (a late poll still gets `expired_token`),
   * refresh tokens past both `expiresAt` and `retainUntil`, grant revocations past their
   * `retainUntil`, revoked access tokens and one-time uses past their `expiresAt`. Also clears
   * retry envelopes of tokens rotated more than 2 minutes ago (the used token stays). Returns how
   * many rows were deleted.
   */
  purge(): number;
  /** Stops the purge timer and closes the database if the adapter opened it. Idempotent. */
  close(): void;
}

/** Every option of {@link SqliteStorageOptions}: adding one there without listing it here does not compile. */
const KNOWN_OPTIONS: { readonly [K in keyof Required<SqliteStorageOptions>]: true } = {
  filename: true,
  database: true,
  clock: true,
  purgeIntervalMs: true,
  tablePrefix: true,
  busyTimeoutMs: true,
  synchronous: true,
};

const DEFAULT_PREFIX = 'oauth_';
/** How long a device code is kept past its expiry (as the memory adapter does). */
const PREFIX_PATTERN = /^[A-Za-z_][A-Za-z0-9_]{0,39}$/;

/**
 * Creates the SQLite storage adapter.
 *
 * Atomicity: better-sqlite3 is synchronous, so every method runs to completion within its
 * process; compare-and-sets are single conditional UPDATEs (`changes === 1`), and the
 * read-check-write steps (rotation, device-code save and poll) run in `BEGIN IMMEDIATE`
 * transactions, which take the file's write lock before reading: processes sharing the file
 * serialise on it, so of N racing callers across processes exactly one wins.
 *
 * @example
 * import { createSqliteStorage } from 'express-token-endpoint/sqlite';
 * const storage = createSqliteStorage({ filename: '/var/lib/my-idp/tokens.db' });
 * app.use('/connect', createTokenRouter({ ...options, storage }));
 */
export function createSqliteStorage(options: SqliteStorageOptions): SqliteStorage {
  const settings = validate(options);
  const db = settings.database ?? openDatabase(loadDriver(), settings.filename as string, settings.busyTimeoutMs);
  const ownsDatabase = settings.database === undefined;
  try {
    if (ownsDatabase) {
      db.pragma(`busy_timeout = ${settings.busyTimeoutMs}`);
      if (!db.memory) db.pragma('journal_mode = WAL');
      // Single-use marks (consumed codes, rotated tokens) should survive a power cut: by default
      // fsync each commit. 'normal' is the host's explicit trade (process-crash safe only).
      db.pragma(settings.synchronous === 'normal' ? 'synchronous = NORMAL' : 'synchronous = FULL');
    }
    const t = tableNames(settings.tablePrefix);
    migrate(db, t);
    return build(db, t, settings.clock, settings.purgeIntervalMs, ownsDatabase);
  } catch (error) {
    if (ownsDatabase) db.close();
    throw error;
  }
}

interface Settings {
  filename?: string;
  database?: SqliteDatabase;
  clock: () => number;
  purgeIntervalMs: number;
  tablePrefix: string;
  busyTimeoutMs: number;
  synchronous: 'full' | 'normal';
}

function validate(options: SqliteStorageOptions): Settings {
  const given: unknown = options; // checked as it came, not as the type claims
  if (!isPlainObject(given)) {
    throw new ConfigurationError('ERR_TOKEN_ROUTER_STORAGE', ['createSqliteStorage: pass an options object with filename or database.']);
  }
  const unknown: string[] = [];
  checkKeys(given, 'createSqliteStorage', Object.keys(KNOWN_OPTIONS), unknown);
  const problems: string[] = [];
  const { filename, database } = options;
  const clock = options.clock ?? Date.now;
  const purgeIntervalMs = options.purgeIntervalMs ?? 60_000;
  const tablePrefix = options.tablePrefix ?? DEFAULT_PREFIX;
  const busyTimeoutMs = options.busyTimeoutMs ?? 5_000;
  const synchronous = options.synchronous ?? 'full';
  if (filename !== undefined && database !== undefined) problems.push('pass either filename or database, not both.');
  else if (filename === undefined && database === undefined) problems.push('filename (a path) or database (an open better-sqlite3 Database) is required.');
  if (filename !== undefined && (typeof filename !== 'string' || filename.trim() === '')) problems.push(`filename must be a non-empty path; got ${describe(filename)}.`);
  if (database !== undefined) {
    const db = database as Partial<SqliteDatabase> | null;
    if (typeof db !== 'object' || db === null || typeof db.prepare !== 'function' || typeof db.transaction !== 'function' || typeof db.exec !== 'function') {
      problems.push('database must be a better-sqlite3 Database (new Database(path)).');
    } else if (db.open !== true) problems.push('database is closed.');
    else if (db.readonly === true) problems.push('database is read-only; the adapter writes.');
  }
  checkFunction(clock, 'clock', 'a function returning ms since the epoch', problems);
  if (!Number.isInteger(purgeIntervalMs) || purgeIntervalMs < 0 || purgeIntervalMs > 2_147_483_647) {
    problems.push(`purgeIntervalMs must be a whole number of milliseconds (0 disables the purge timer); got ${describe(purgeIntervalMs)}.`);
  }
  if (typeof tablePrefix !== 'string' || (tablePrefix !== '' && !PREFIX_PATTERN.test(tablePrefix))) {
    problems.push(`tablePrefix may hold only letters, digits and _ (not starting with a digit, at most 40); got ${describe(tablePrefix)}.`);
  }
  if (!Number.isInteger(busyTimeoutMs) || busyTimeoutMs < 0 || busyTimeoutMs > 2_147_483_647) {
    problems.push(`busyTimeoutMs must be a whole number of milliseconds; got ${describe(busyTimeoutMs)}.`);
  }
  if (synchronous !== 'full' && synchronous !== 'normal') problems.push(`synchronous must be 'full' or 'normal'; got ${describe(synchronous)}.`);
  else if (options.synchronous !== undefined && database !== undefined) problems.push('synchronous applies to a database the adapter opens (filename); set the pragma on your own database yourself.');
  if (unknown.length > 0 || problems.length > 0) throw new ConfigurationError('ERR_TOKEN_ROUTER_STORAGE', [...unknown, ...problems.map((p) => `createSqliteStorage: ${p}`)]);
  return { filename, database, clock, purgeIntervalMs, tablePrefix, busyTimeoutMs, synchronous };
}

function describe(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value) : typeof value === 'number' ? String(value) : typeof value;
}

type RefreshRow = Row & { mark_revoked_at: number | null };

function build(db: SqliteDatabase, t: ReturnType<typeof tableNames>, clock: () => number, purgeIntervalMs: number, ownsDatabase: boolean): SqliteStorage {
  // Authorization codes.
  const insertCode = db.prepare(insertSql(t.codes, CODE_COLUMNS));
  const selectCode = db.prepare(`SELECT * FROM ${t.codes} WHERE code_hash = ?`);
  const consumeCode = db.prepare(`UPDATE ${t.codes} SET consumed_at = ?, retain_until = ? WHERE code_hash = ? AND consumed_at IS NULL`);

  // Refresh tokens, read together with their grant's revocation mark.
  const insertRefresh = db.prepare(insertSql(t.refreshTokens, REFRESH_COLUMNS, ['purge_at']));
  const selectRefresh = db.prepare(
    `SELECT r.*, g.revoked_at AS mark_revoked_at FROM ${t.refreshTokens} r LEFT JOIN ${t.revokedGrants} g ON g.grant_id = r.grant_id WHERE r.token_hash = ?`,
  );
  const refreshExists = db.prepare(`SELECT 1 FROM ${t.refreshTokens} WHERE token_hash = ?`);
  const markRotated = db.prepare(
    `UPDATE ${t.refreshTokens}
        SET consumed_at = @consumedAt,
            successor_envelope = @envelope,
            retain_until = MAX(expires_at, @successorExpiresAt, COALESCE(retain_until, expires_at)),
            purge_at = MAX(purge_at, expires_at, @successorExpiresAt, COALESCE(retain_until, expires_at))
      WHERE token_hash = @oldHash AND consumed_at IS NULL AND revoked_at IS NULL`,
  );

  // Grant revocations: one row per grant.
  const upsertRevocation = db.prepare(
    `INSERT INTO ${t.revokedGrants} (grant_id, revoked_at, retain_until) VALUES (?, ?, ?)
     ON CONFLICT (grant_id) DO UPDATE SET retain_until = MAX(retain_until, excluded.retain_until)`,
  );
  const selectRevocation = db.prepare(`SELECT 1 FROM ${t.revokedGrants} WHERE grant_id = ?`);
  // Revoked access tokens: one row per jti, kept until the token's exp.
  const upsertAccessTokenRevocation = db.prepare(
    `INSERT INTO ${t.revokedAccessTokens} (jti, expires_at) VALUES (?, ?)
     ON CONFLICT (jti) DO UPDATE SET expires_at = MAX(expires_at, excluded.expires_at)`,
  );
  const selectAccessTokenRevocation = db.prepare(`SELECT 1 FROM ${t.revokedAccessTokens} WHERE jti = ?`);
  // One-time uses: one statement inserts the key, or takes over a row whose value has expired
  // (a key used again after its expiry is a new use); a live row is left alone (changes 0).
  const recordUse = db.prepare(
    `INSERT INTO ${t.oneTimeUses} (key, expires_at) VALUES (@key, @expiresAt)
     ON CONFLICT (key) DO UPDATE SET expires_at = excluded.expires_at WHERE expires_at <= @now`,
  );

  // Device codes. The holder of a user code is the newest request with it (a request is only
  // saved while no live one holds the code, so at most the newest can be live).
  const insertDevice = db.prepare(insertSql(t.deviceCodes, DEVICE_COLUMNS));
  const selectDevice = db.prepare(`SELECT * FROM ${t.deviceCodes} WHERE device_code_hash = ?`);
  const deviceExists = db.prepare(`SELECT 1 FROM ${t.deviceCodes} WHERE device_code_hash = ?`);
  const liveUserCode = db.prepare(`SELECT 1 FROM ${t.deviceCodes} WHERE user_code_hash = ? AND expires_at > ? LIMIT 1`);
  const holderSubquery = `SELECT device_code_hash FROM ${t.deviceCodes} WHERE user_code_hash = ? ORDER BY rowid DESC LIMIT 1`;
  const selectDeviceByUserCode = db.prepare(`SELECT * FROM ${t.deviceCodes} WHERE device_code_hash = (${holderSubquery})`);
  const decideDevice = db.prepare(
    `UPDATE ${t.deviceCodes} SET status = ?, session = ? WHERE device_code_hash = (${holderSubquery}) AND status = 'pending'`,
  );
  const registerPoll = db.prepare(`UPDATE ${t.deviceCodes} SET last_polled_at = ?, interval = ? WHERE device_code_hash = ?`);
  const consumeDevice = db.prepare(
    `UPDATE ${t.deviceCodes} SET consumed_at = ? WHERE device_code_hash = ? AND status = 'approved' AND consumed_at IS NULL`,
  );

  // Purge.
  const purgeCodes = db.prepare(`DELETE FROM ${t.codes} WHERE expires_at <= ? AND (retain_until IS NULL OR retain_until <= ?)`);
  const purgeRefresh = db.prepare(`DELETE FROM ${t.refreshTokens} WHERE purge_at <= ?`);
  const purgeRevocations = db.prepare(`DELETE FROM ${t.revokedGrants} WHERE retain_until <= ?`);
  const purgeAccessTokenRevocations = db.prepare(`DELETE FROM ${t.revokedAccessTokens} WHERE expires_at <= ?`);
  const purgeOneTimeUses = db.prepare(`DELETE FROM ${t.oneTimeUses} WHERE expires_at <= ?`);
  // Device codes stay DEVICE_CODE_GRACE_MS past expiry, so a late poll still hears expired_token (RFC 8628 §3.5).
  const purgeDevices = db.prepare(`DELETE FROM ${t.deviceCodes} WHERE expires_at <= ?`);
  // A retry envelope serves the retry window only (≤ 60 s); the used token itself stays.
  const dropEnvelopes = db.prepare(`UPDATE ${t.refreshTokens} SET successor_envelope = NULL WHERE successor_envelope IS NOT NULL AND consumed_at <= ?`);

  const readRefresh = (tokenHash: string): RefreshTokenRecord | undefined => {
    const row = selectRefresh.get(tokenHash) as RefreshRow | undefined;
    if (!row) return undefined;
    const record = fromRow<RefreshTokenRecord>(row, REFRESH_COLUMNS);
    return record.revokedAt === undefined && row.mark_revoked_at !== null ? { ...record, revokedAt: row.mark_revoked_at } : record;
  };
  const readDevice = (row: unknown): DeviceCodeRecord | undefined => (row ? fromRow<DeviceCodeRecord>(row as Row, DEVICE_COLUMNS) : undefined);

  const rotate = db.transaction((oldHash: string, successor: RefreshTokenRecord, consumedAt: number, envelope: string | null): boolean => {
    const old = selectRefresh.get(oldHash) as RefreshRow | undefined;
    if (!old || old.consumed_at !== null || old.revoked_at !== null || old.mark_revoked_at !== null) return false;
    if (refreshExists.get(successor.tokenHash)) return false;
    const marked = markRotated.run({ oldHash, consumedAt, envelope, successorExpiresAt: successor.expiresAt });
    if (marked.changes !== 1) return false;
    insertRefresh.run(refreshRow(successor));
    return true;
  });

  const saveDevice = db.transaction((record: DeviceCodeRecord, now: number): boolean => {
    if (deviceExists.get(record.deviceCodeHash)) throw new Error('device code hash already stored');
    if (liveUserCode.get(record.userCodeHash, now)) return false;
    insertDevice.run(toRow(record, DEVICE_COLUMNS));
    return true;
  });

  const poll = db.transaction((deviceCodeHash: string, at: number, slowDownSeconds: number, maxIntervalSeconds: number | null): DevicePollResult | undefined => {
    const record = readDevice(selectDevice.get(deviceCodeHash));
    if (!record) return undefined;
    const tooSoon = record.lastPolledAt !== undefined && at - record.lastPolledAt < record.interval * 1000;
    const grown = record.interval + slowDownSeconds;
    // Capped growth, but an interval already above the cap is never lowered.
    const interval = !tooSoon ? record.interval : maxIntervalSeconds === null ? grown : Math.max(record.interval, Math.min(grown, maxIntervalSeconds));
    registerPoll.run(at, interval, deviceCodeHash);
    return { record: { ...record, lastPolledAt: at, interval }, tooSoon };
  });

  const purgeAll = db.transaction((now: number): number => {
    dropEnvelopes.run(now - SUCCESSOR_ENVELOPE_RETENTION_MS);
    return purgeCodes.run(now, now).changes + purgeRefresh.run(now).changes + purgeRevocations.run(now).changes + purgeAccessTokenRevocations.run(now).changes + purgeOneTimeUses.run(now).changes + purgeDevices.run(now - DEVICE_CODE_GRACE_MS).changes;
  });

  let closed = false;
  const open = (): void => {
    if (closed) throw new Error('SQLite storage is closed');
  };
  const write = createGroupCommit(db);

  function purge(): number {
    open();
    return purgeAll.immediate(clock());
  }

  const timer = purgeIntervalMs > 0 ? setInterval(() => {
    try {
      purge();
    } catch (error) {
      // Busy past the timeout, disk full…: try again next time, but let the operator see it.
      process.emitWarning(`express-token-endpoint: SQLite purge failed: ${error instanceof Error ? error.message : String(error)}`, 'StorageWarning');
    }
  }, purgeIntervalMs) : undefined;
  timer?.unref();

  return {
    async saveAuthorizationCode(record: AuthorizationCodeRecord) {
      open();
      await write(() => insertCode.run(toRow(record, CODE_COLUMNS)));
    },
    async findAuthorizationCode(codeHash) {
      open();
      const row = selectCode.get(codeHash) as Row | undefined;
      return row && fromRow<AuthorizationCodeRecord>(row, CODE_COLUMNS);
    },
    async consumeAuthorizationCode(codeHash, consumedAt, retainUntil) {
      open();
      return write(() => consumeCode.run(consumedAt, retainUntil ?? null, codeHash).changes === 1);
    },

    async saveRefreshToken(record) {
      open();
      await write(() => insertRefresh.run(refreshRow(record)));
    },
    async findRefreshToken(tokenHash) {
      open();
      return readRefresh(tokenHash);
    },
    async rotateRefreshToken(oldHash, successor, consumedAt, successorEnvelope) {
      open();
      return write(() => rotate(oldHash, successor, consumedAt, successorEnvelope ?? null));
    },

    async revokeGrant(grantId, revokedAt, retainUntil) {
      open();
      await write(() => upsertRevocation.run(grantId, revokedAt, retainUntil));
    },
    async isGrantRevoked(grantId) {
      open();
      return selectRevocation.get(grantId) !== undefined;
    },

    async revokeAccessToken(jti, expiresAt) {
      open();
      await write(() => upsertAccessTokenRevocation.run(jti, expiresAt));
    },
    async isAccessTokenRevoked(jti) {
      open();
      return selectAccessTokenRevocation.get(jti) !== undefined;
    },

    async recordOneTimeUse(key, expiresAt) {
      open();
      return write(() => recordUse.run({ key, expiresAt, now: clock() }).changes === 1);
    },

    async saveDeviceCode(record) {
      open();
      return write(() => saveDevice(record, clock()));
    },
    async findDeviceCode(deviceCodeHash) {
      open();
      return readDevice(selectDevice.get(deviceCodeHash));
    },
    async findDeviceCodeByUserCode(userCodeHash) {
      open();
      return readDevice(selectDeviceByUserCode.get(userCodeHash));
    },
    async decideDeviceCode(userCodeHash, decision) {
      open();
      const session: SessionFacts | undefined = decision.status === 'approved' ? decision.session : undefined;
      return write(() => decideDevice.run(decision.status, session === undefined ? null : JSON.stringify(session), userCodeHash).changes === 1);
    },
    async pollDeviceCode(deviceCodeHash, at, slowDownSeconds, maxIntervalSeconds) {
      open();
      return write(() => poll(deviceCodeHash, at, slowDownSeconds, maxIntervalSeconds ?? null));
    },
    async consumeDeviceCode(deviceCodeHash, consumedAt) {
      open();
      return write(() => consumeDevice.run(consumedAt, deviceCodeHash).changes === 1);
    },

    purge,
    close() {
      if (closed) return;
      closed = true;
      if (timer) clearInterval(timer);
      if (ownsDatabase) db.close();
    },
  };
}

interface QueuedWrite {
  readonly run: () => unknown;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * Group commit. Every write of the adapter is queued and the queue is run at the next turn of
 * the event loop inside ONE `BEGIN IMMEDIATE` transaction, so concurrent requests share one
 * commit (one WAL append and, with synchronous = FULL, one fsync) instead of paying one each.
 *
 * - Atomicity is unchanged: each write runs to completion, in call order, while this
 *   connection holds the database's write lock; compare-and-sets judge everything committed
 *   before and every earlier write of the batch. Writes that are transactions themselves
 *   (rotation, device save and poll) become SAVEPOINTs, so one that throws is rolled back alone.
 * - Durability is unchanged: a caller's promise settles only after the COMMIT returned, so
 *   "record before respond" still holds. If the COMMIT fails, every write of the batch rejects
 *   (nothing of it was stored) and the grants answer server_error.
 * - Reads are not queued: they see what is committed, as readers in other processes do.
 */
function createGroupCommit(db: SqliteDatabase): <T>(run: () => T) => Promise<T> {
  let queue: QueuedWrite[] = [];
  const runBatch = db.transaction((batch: readonly QueuedWrite[], outcomes: Array<{ ok: boolean; value: unknown }>) => {
    for (const item of batch) {
      try {
        outcomes.push({ ok: true, value: item.run() });
      } catch (error) {
        outcomes.push({ ok: false, value: error });
      }
    }
  });
  const flush = (): void => {
    const batch = queue;
    queue = [];
    const outcomes: Array<{ ok: boolean; value: unknown }> = [];
    try {
      runBatch.immediate(batch, outcomes);
    } catch (error) {
      for (const item of batch) item.reject(error);
      return;
    }
    batch.forEach((item, index) => (outcomes[index].ok ? item.resolve(outcomes[index].value) : item.reject(outcomes[index].value)));
  };
  return <T>(run: () => T): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      if (queue.push({ run, resolve: resolve as (value: unknown) => void, reject }) === 1) setImmediate(flush);
    });
}

/** A refresh token's row, with `purge_at`: when both its expiry and its retention have passed. */
function refreshRow(record: RefreshTokenRecord): Row {
  return { ...toRow(record, REFRESH_COLUMNS), purge_at: Math.max(record.expiresAt, record.retainUntil ?? record.expiresAt) };
}
