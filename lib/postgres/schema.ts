// lib/postgres/schema.ts
// The adapter's tables in their own PostgreSQL schema, versioned migrations, and the version check.
import { ConfigurationError } from '../contracts/errors';
import type { PostgresPool, PostgresPoolClient } from './pool';

/** The schema version this adapter writes. */
export const SCHEMA_VERSION = 1;

/** The PostgreSQL schema the adapter's tables live in unless told otherwise. */
export const DEFAULT_SCHEMA = 'express_token_endpoint';

/**
 * Lower-case letters, digits and `_`, not starting with a digit, at most 63 bytes (PostgreSQL's
 * identifier limit), and not `pg_…` (reserved for system schemas). Lower case only: the name is
 * quoted in every statement, so an upper-case letter would make a schema that `psql` users must
 * quote to reach.
 */
const SCHEMA_PATTERN = /^(?!pg_)[a-z_][a-z0-9_]{0,62}$/;

/** A problem with a schema name, or undefined when it is usable. */
export function schemaNameProblem(schema: unknown): string | undefined {
  if (typeof schema === 'string' && SCHEMA_PATTERN.test(schema)) return undefined;
  return `schema must be a PostgreSQL schema name of lower-case letters, digits and _ (not starting with a digit or pg_, at most 63 characters); got ${typeof schema === 'string' ? JSON.stringify(schema) : typeof schema}.`;
}

/** Schema-qualified, quoted table names. */
export interface TableNames {
  readonly schema: string;
  readonly version: string;
  readonly codes: string;
  readonly refreshTokens: string;
  readonly revokedGrants: string;
  readonly revokedAccessTokens: string;
  readonly oneTimeUses: string;
  readonly deviceCodes: string;
  readonly userCodes: string;
}

/** Table names in `schema` (validated by {@link schemaNameProblem} before it gets here). */
export function tableNames(schema: string): TableNames {
  const q = `"${schema}"`;
  return {
    schema: q,
    version: `${q}.schema_version`,
    codes: `${q}.authorization_codes`,
    refreshTokens: `${q}.refresh_tokens`,
    revokedGrants: `${q}.revoked_grants`,
    revokedAccessTokens: `${q}.revoked_access_tokens`,
    oneTimeUses: `${q}.one_time_uses`,
    deviceCodes: `${q}.device_codes`,
    userCodes: `${q}.user_codes`,
  };
}

/**
 * Migrations by target version, each run in the one transaction that also records it.
 *
 * Conventions: digests are the primary keys; times are BIGINT ms since the epoch; `data` holds the
 * JSON of the record's fields that never change (so a field added to a record type round-trips
 * without a migration); every field a statement compares or changes has its own column;
 * `purge_at` is when a row may go (its expiry or its retention, whichever is later).
 */
const MIGRATIONS: ReadonlyArray<(t: TableNames) => string> = [
  // 1: initial schema.
  (t) => `
    CREATE TABLE ${t.codes} (
      code_hash text PRIMARY KEY,
      grant_id text NOT NULL,
      client_id text NOT NULL,
      data json NOT NULL,
      expires_at bigint NOT NULL,
      consumed_at bigint,
      retain_until bigint,
      purge_at bigint NOT NULL
    );
    CREATE INDEX ON ${t.codes} (purge_at);

    CREATE TABLE ${t.refreshTokens} (
      token_hash text PRIMARY KEY,
      grant_id text NOT NULL,
      client_id text NOT NULL,
      data json NOT NULL,
      expires_at bigint NOT NULL,
      consumed_at bigint,
      successor_envelope text,
      revoked_at bigint,
      retain_until bigint,
      purge_at bigint NOT NULL
    );
    CREATE INDEX ON ${t.refreshTokens} (purge_at);
    -- Only rows still carrying a retry envelope: the purge drops envelopes 2 minutes after the rotation.
    CREATE INDEX ON ${t.refreshTokens} (consumed_at) WHERE successor_envelope IS NOT NULL;

    CREATE TABLE ${t.revokedGrants} (
      grant_id text PRIMARY KEY,
      revoked_at bigint NOT NULL,
      retain_until bigint NOT NULL
    );
    CREATE INDEX ON ${t.revokedGrants} (retain_until);

    CREATE TABLE ${t.revokedAccessTokens} (
      jti text PRIMARY KEY,
      expires_at bigint NOT NULL
    );
    CREATE INDEX ON ${t.revokedAccessTokens} (expires_at);

    CREATE TABLE ${t.oneTimeUses} (
      key text PRIMARY KEY,
      expires_at bigint NOT NULL
    );
    CREATE INDEX ON ${t.oneTimeUses} (expires_at);

    CREATE TABLE ${t.deviceCodes} (
      device_code_hash text PRIMARY KEY,
      user_code_hash text NOT NULL,
      grant_id text NOT NULL,
      client_id text NOT NULL,
      data json NOT NULL,
      expires_at bigint NOT NULL,
      interval_seconds double precision NOT NULL,
      last_polled_at bigint,
      status text NOT NULL CHECK (status IN ('pending', 'approved', 'denied')),
      session json,
      consumed_at bigint
    );
    CREATE INDEX ON ${t.deviceCodes} (expires_at);

    -- Which request holds a user code: one row per user code, taken over only once its holder expired.
    CREATE TABLE ${t.userCodes} (
      user_code_hash text PRIMARY KEY,
      device_code_hash text NOT NULL,
      expires_at bigint NOT NULL
    );
    CREATE INDEX ON ${t.userCodes} (expires_at);
  `,
];

/**
 * Advisory-lock namespace of the migration lock ("ETE1"); the second key is the schema name's
 * hash, so migrations of different schemas do not wait for each other.
 */
const LOCK_NAMESPACE = 0x45544531;

/** The identity the error messages use for a call: the public function the host called. */
export type Caller = 'createPostgresStorage' | 'migratePostgresStorage';

/**
 * Creates the schema and its tables, or upgrades them to {@link SCHEMA_VERSION}, in one
 * transaction holding a transaction-level advisory lock on the schema name: processes migrating
 * at once run one after the other, and the later ones find nothing left to do. Resolves the
 * version the schema had before. Rejects with a ConfigurationError when the schema was written by
 * a newer version of the adapter.
 */
export async function migrateSchema(pool: PostgresPool, schema: string, caller: Caller): Promise<number> {
  const t = tableNames(schema);
  const client = await pool.connect();
  let failed = false;
  try {
    await client.query({ text: 'BEGIN' });
    try {
      await client.query({ text: 'SELECT pg_advisory_xact_lock($1, hashtext($2))', values: [LOCK_NAMESPACE, schema] });
      // Only create what is missing: CREATE SCHEMA IF NOT EXISTS still needs the CREATE privilege
      // on the database, which a role migrating a schema its DBA created need not have.
      const exists = await client.query({ text: 'SELECT 1 FROM pg_namespace WHERE nspname = $1', values: [schema] });
      if (exists.rowCount !== 1) await client.query({ text: `CREATE SCHEMA ${t.schema}` });
      await client.query({ text: `CREATE TABLE IF NOT EXISTS ${t.version} (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())` });
      const current = await readVersion(client, t);
      if (current > SCHEMA_VERSION) throw newerSchema(caller, schema, current);
      for (let version = current + 1; version <= SCHEMA_VERSION; version += 1) {
        await client.query({ text: MIGRATIONS[version - 1](t) });
        await client.query({ text: `INSERT INTO ${t.version} (version) VALUES ($1)`, values: [version] });
      }
      await client.query({ text: 'COMMIT' });
      return current;
    } catch (error) {
      await client.query({ text: 'ROLLBACK' }).catch(() => undefined);
      throw error;
    }
  } catch (error) {
    failed = true;
    throw error;
  } finally {
    // A client whose transaction failed half-way (connection lost) is not handed out again.
    client.release(failed);
  }
}

/**
 * Checks that `schema` holds this adapter's tables at {@link SCHEMA_VERSION}. Rejects with a
 * ConfigurationError saying what to run when they are missing or older, or to upgrade when newer.
 */
export async function checkSchema(pool: PostgresPool, schema: string): Promise<void> {
  const t = tableNames(schema);
  let current: number;
  try {
    current = await readVersion(pool, t);
  } catch (error) {
    // 42P01 undefined_table, 3F000 invalid_schema_name: nothing migrated yet.
    const code = (error as { code?: unknown } | null)?.code;
    if (code !== '42P01' && code !== '3F000') throw error;
    current = 0;
  }
  if (current > SCHEMA_VERSION) throw newerSchema('createPostgresStorage', schema, current);
  if (current < SCHEMA_VERSION) {
    throw new ConfigurationError('ERR_TOKEN_ROUTER_STORAGE', [
      `createPostgresStorage: the schema "${schema}" is at version ${current}, this adapter needs ${SCHEMA_VERSION}: run migratePostgresStorage(pool, { schema: '${schema}' }) once (or pass migrate: true).`,
    ]);
  }
}

async function readVersion(db: Pick<PostgresPoolClient, 'query'>, t: TableNames): Promise<number> {
  const result = await db.query({ text: `SELECT max(version) AS version FROM ${t.version}` });
  const value = result.rows[0]?.version;
  return value === null || value === undefined ? 0 : Number(value);
}

function newerSchema(caller: Caller, schema: string, current: number): ConfigurationError {
  return new ConfigurationError('ERR_TOKEN_ROUTER_STORAGE', [
    `${caller}: the schema "${schema}" is at version ${current}, newer than this adapter's ${SCHEMA_VERSION}: upgrade express-token-endpoint (or check the schema option).`,
  ]);
}
