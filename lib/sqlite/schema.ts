// lib/sqlite/schema.ts
// Tables of the SQLite adapter, their migrations, and the mapping between records and rows.
import { ConfigurationError } from '../contracts/errors';
import type { SqliteDatabase } from './driver';

/** The schema version this adapter writes. */
export const SCHEMA_VERSION = 5;

/** Table names for a prefix. */
export interface TableNames {
  readonly meta: string;
  readonly codes: string;
  readonly refreshTokens: string;
  readonly revokedGrants: string;
  readonly revokedAccessTokens: string;
  readonly oneTimeUses: string;
  readonly deviceCodes: string;
}

export function tableNames(prefix: string): TableNames {
  return {
    meta: `${prefix}meta`,
    codes: `${prefix}authorization_codes`,
    refreshTokens: `${prefix}refresh_tokens`,
    revokedGrants: `${prefix}revoked_grants`,
    revokedAccessTokens: `${prefix}revoked_access_tokens`,
    oneTimeUses: `${prefix}one_time_uses`,
    deviceCodes: `${prefix}device_codes`,
  };
}

/**
 * Migrations by target version: each is idempotent (IF NOT EXISTS) and runs inside the same
 * immediate transaction that reads and bumps `schema_version`, so processes opening one file
 * at the same time migrate it once.
 *
 * Conventions: digests are the primary keys; times are INTEGER ms since the epoch; arrays,
 * claims and sessions are JSON text; `extra` holds (as JSON) record fields this version does
 * not know, so they survive a round trip.
 */
const MIGRATIONS: ReadonlyArray<(t: TableNames) => string> = [
  // 1: initial schema.
  (t) => `
    CREATE TABLE IF NOT EXISTS ${t.codes} (
      code_hash TEXT PRIMARY KEY NOT NULL,
      client_id TEXT NOT NULL,
      redirect_uri TEXT NOT NULL,
      scope TEXT NOT NULL,
      subject TEXT NOT NULL,
      auth_time INTEGER,
      acr TEXT,
      amr TEXT,
      sid TEXT,
      claims TEXT,
      nonce TEXT,
      code_challenge TEXT,
      code_challenge_method TEXT,
      grant_id TEXT NOT NULL,
      issued_at INTEGER NOT NULL,
      expires_at INTEGER NOT NULL,
      consumed_at INTEGER,
      extra TEXT
    );
    CREATE INDEX IF NOT EXISTS ${t.codes}_grant_id ON ${t.codes} (grant_id);
    CREATE INDEX IF NOT EXISTS ${t.codes}_expires_at ON ${t.codes} (expires_at);

    CREATE TABLE IF NOT EXISTS ${t.refreshTokens} (
      token_hash TEXT PRIMARY KEY NOT NULL,
      grant_id TEXT NOT NULL,
      client_id TEXT NOT NULL,
      scope TEXT NOT NULL,
      subject TEXT NOT NULL,
      auth_time INTEGER,
      acr TEXT,
      amr TEXT,
      sid TEXT,
      claims TEXT,
      issued_at INTEGER NOT NULL,
      expires_at INTEGER NOT NULL,
      family_expires_at INTEGER,
      parent_hash TEXT,
      consumed_at INTEGER,
      successor_envelope TEXT,
      revoked_at INTEGER,
      retain_until INTEGER,
      purge_at INTEGER NOT NULL,
      extra TEXT
    );
    CREATE INDEX IF NOT EXISTS ${t.refreshTokens}_grant_id ON ${t.refreshTokens} (grant_id);
    CREATE INDEX IF NOT EXISTS ${t.refreshTokens}_expires_at ON ${t.refreshTokens} (expires_at);
    CREATE INDEX IF NOT EXISTS ${t.refreshTokens}_purge_at ON ${t.refreshTokens} (purge_at);

    CREATE TABLE IF NOT EXISTS ${t.revokedGrants} (
      grant_id TEXT PRIMARY KEY NOT NULL,
      revoked_at INTEGER NOT NULL,
      retain_until INTEGER NOT NULL
    );
    CREATE INDEX IF NOT EXISTS ${t.revokedGrants}_retain_until ON ${t.revokedGrants} (retain_until);

    CREATE TABLE IF NOT EXISTS ${t.deviceCodes} (
      device_code_hash TEXT PRIMARY KEY NOT NULL,
      user_code_hash TEXT NOT NULL,
      client_id TEXT NOT NULL,
      scope TEXT NOT NULL,
      grant_id TEXT NOT NULL,
      issued_at INTEGER NOT NULL,
      expires_at INTEGER NOT NULL,
      interval INTEGER NOT NULL,
      last_polled_at INTEGER,
      status TEXT NOT NULL,
      session TEXT,
      consumed_at INTEGER,
      extra TEXT
    );
    CREATE INDEX IF NOT EXISTS ${t.deviceCodes}_user_code_hash ON ${t.deviceCodes} (user_code_hash, expires_at);
    CREATE INDEX IF NOT EXISTS ${t.deviceCodes}_grant_id ON ${t.deviceCodes} (grant_id);
    CREATE INDEX IF NOT EXISTS ${t.deviceCodes}_expires_at ON ${t.deviceCodes} (expires_at);
  `,
  // 2: retry envelopes are dropped 2 minutes after the rotation (SUCCESSOR_ENVELOPE_RETENTION_MS);
  // the purge finds them through a partial index that holds only rows still carrying one.
  (t) => `
    CREATE INDEX IF NOT EXISTS ${t.refreshTokens}_envelope_consumed_at ON ${t.refreshTokens} (consumed_at) WHERE successor_envelope IS NOT NULL;
  `,
  // 3: consumed codes are kept until retain_until (replay detection past expiry, issue 13).
  (t) => `
    ALTER TABLE ${t.codes} ADD COLUMN retain_until INTEGER;
    CREATE INDEX IF NOT EXISTS ${t.codes}_retain_until ON ${t.codes} (retain_until) WHERE retain_until IS NOT NULL;
  `,
  // 4: access tokens revoked before their exp (RFC 7009), one row per jti until that exp.
  (t) => `
    CREATE TABLE IF NOT EXISTS ${t.revokedAccessTokens} (
      jti TEXT PRIMARY KEY NOT NULL,
      expires_at INTEGER NOT NULL
    );
    CREATE INDEX IF NOT EXISTS ${t.revokedAccessTokens}_expires_at ON ${t.revokedAccessTokens} (expires_at);
  `,
  // 5: one-time values (assertion and DPoP proof jtis, issue 15), one row per key until the value expires.
  (t) => `
    CREATE TABLE IF NOT EXISTS ${t.oneTimeUses} (
      key TEXT PRIMARY KEY NOT NULL,
      expires_at INTEGER NOT NULL
    );
    CREATE INDEX IF NOT EXISTS ${t.oneTimeUses}_expires_at ON ${t.oneTimeUses} (expires_at);
  `,
];

/**
 * Creates or upgrades the adapter's tables to {@link SCHEMA_VERSION}. Throws a ConfigurationError
 * when the file was written by a newer version of the adapter.
 */
export function migrate(db: SqliteDatabase, t: TableNames): void {
  db.exec(`CREATE TABLE IF NOT EXISTS ${t.meta} (key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL)`);
  const readVersion = db.prepare(`SELECT value FROM ${t.meta} WHERE key = 'schema_version'`);
  const writeVersion = db.prepare(
    `INSERT INTO ${t.meta} (key, value) VALUES ('schema_version', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`,
  );
  db.transaction(() => {
    const row = readVersion.get() as { value: string } | undefined;
    const current = row === undefined ? 0 : Number(row.value);
    if (!Number.isInteger(current) || current < 0) {
      throw new ConfigurationError('ERR_TOKEN_ROUTER_STORAGE', [`createSqliteStorage: ${t.meta}.schema_version holds ${JSON.stringify(row?.value)}, not a version number.`]);
    }
    if (current > SCHEMA_VERSION) {
      throw new ConfigurationError('ERR_TOKEN_ROUTER_STORAGE', [
        `createSqliteStorage: the database's schema is version ${current}, newer than this adapter's ${SCHEMA_VERSION}: upgrade express-token-endpoint (or check tablePrefix).`,
      ]);
    }
    for (let version = current + 1; version <= SCHEMA_VERSION; version += 1) {
      db.exec(MIGRATIONS[version - 1](t));
      writeVersion.run(String(version));
    }
  }).immediate();
}

/** How a record field is stored. */
type ColumnKind = 'value' | 'json';

/** One column: SQL name, record field, and how it is stored. */
export interface Column {
  readonly column: string;
  readonly field: string;
  readonly kind: ColumnKind;
}

function columns(spec: ReadonlyArray<readonly [column: string, field: string, kind?: ColumnKind]>): readonly Column[] {
  return spec.map(([column, field, kind]) => ({ column, field, kind: kind ?? 'value' }));
}

const SESSION_COLUMNS = [
  ['subject', 'subject'],
  ['auth_time', 'authTime'],
  ['acr', 'acr'],
  ['amr', 'amr', 'json'],
  ['sid', 'sid'],
  ['claims', 'claims', 'json'],
] as const;

export const CODE_COLUMNS = columns([
  ['code_hash', 'codeHash'],
  ['client_id', 'clientId'],
  ['redirect_uri', 'redirectUri'],
  ['scope', 'scope', 'json'],
  ...SESSION_COLUMNS,
  ['nonce', 'nonce'],
  ['code_challenge', 'codeChallenge'],
  ['code_challenge_method', 'codeChallengeMethod'],
  ['retain_until', 'retainUntil'],
  ['grant_id', 'grantId'],
  ['issued_at', 'issuedAt'],
  ['expires_at', 'expiresAt'],
  ['consumed_at', 'consumedAt'],
]);

export const REFRESH_COLUMNS = columns([
  ['token_hash', 'tokenHash'],
  ['grant_id', 'grantId'],
  ['client_id', 'clientId'],
  ['scope', 'scope', 'json'],
  ...SESSION_COLUMNS,
  ['issued_at', 'issuedAt'],
  ['expires_at', 'expiresAt'],
  ['family_expires_at', 'familyExpiresAt'],
  ['parent_hash', 'parentHash'],
  ['consumed_at', 'consumedAt'],
  ['successor_envelope', 'successorEnvelope'],
  ['revoked_at', 'revokedAt'],
  ['retain_until', 'retainUntil'],
]);

export const DEVICE_COLUMNS = columns([
  ['device_code_hash', 'deviceCodeHash'],
  ['user_code_hash', 'userCodeHash'],
  ['client_id', 'clientId'],
  ['scope', 'scope', 'json'],
  ['grant_id', 'grantId'],
  ['issued_at', 'issuedAt'],
  ['expires_at', 'expiresAt'],
  ['interval', 'interval'],
  ['last_polled_at', 'lastPolledAt'],
  ['status', 'status'],
  ['session', 'session', 'json'],
  ['consumed_at', 'consumedAt'],
]);

/** A row as bound to / read from a statement: column name → SQLite value. */
export type Row = Record<string, string | number | null>;

/** `INSERT INTO table (...) VALUES (@...)` for the columns, `extra` and any additional columns. */
export function insertSql(table: string, cols: readonly Column[], additional: readonly string[] = []): string {
  const names = [...cols.map((c) => c.column), 'extra', ...additional];
  return `INSERT INTO ${table} (${names.join(', ')}) VALUES (${names.map((n) => `@${n}`).join(', ')})`;
}

/**
 * A record as a row: known fields in their columns (absent → NULL), arrays and objects as JSON,
 * every other defined field in `extra`.
 */
export function toRow(record: object, cols: readonly Column[]): Row {
  const source = record as Record<string, unknown>;
  const row: Row = {};
  const known = new Set<string>();
  for (const { column, field, kind } of cols) {
    known.add(field);
    const value = source[field];
    row[column] = value === undefined || value === null ? null : kind === 'json' ? JSON.stringify(value) : (value as string | number);
  }
  const extra: Record<string, unknown> = {};
  let hasExtra = false;
  for (const [field, value] of Object.entries(source)) {
    if (known.has(field) || value === undefined) continue;
    extra[field] = value;
    hasExtra = true;
  }
  row.extra = hasExtra ? JSON.stringify(extra) : null;
  return row;
}

/** A row as a fresh record: NULL columns are left out, JSON parsed, `extra` merged back. */
export function fromRow<T>(row: Row, cols: readonly Column[]): T {
  const record: Record<string, unknown> = typeof row.extra === 'string' ? (JSON.parse(row.extra) as Record<string, unknown>) : {};
  for (const { column, field, kind } of cols) {
    const value = row[column];
    if (value === null || value === undefined) continue;
    record[field] = kind === 'json' ? JSON.parse(String(value)) : value;
  }
  return record as T;
}
