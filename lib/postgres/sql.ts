// lib/postgres/sql.ts
// Every statement of the adapter. Each atomic promise of the StorageAdapter contract is ONE
// statement: a conditional UPDATE … RETURNING, an INSERT … ON CONFLICT, or a data-modifying CTE
// whose parts commit together. Under READ COMMITTED (PostgreSQL's default) a racing writer waits
// for the row lock and re-evaluates the WHERE clause on the row as committed, so of N racers on
// one row exactly one matches; no statement reads in JavaScript and writes afterwards.
import { createHash } from 'node:crypto';
import type { PostgresQuery } from './pool';
import type { TableNames } from './schema';

/** A statement with a stable name (prepared once per connection). */
export interface Statement {
  readonly name: string;
  readonly text: string;
}

function statement(text: string): Statement {
  // Named by content: two adapters on one pool (two schemas) never share a name for different text.
  return { name: `ete_${createHash('sha1').update(text).digest('hex').slice(0, 16)}`, text };
}

/** A query of `s` with `values`, prepared when `prepare` is on. */
export function bind(s: Statement, values: unknown[], prepare: boolean): PostgresQuery {
  return prepare ? { name: s.name, text: s.text, values } : { text: s.text, values };
}

const REFRESH_SELECT = 'r.data::text AS data, r.consumed_at, r.successor_envelope, r.revoked_at, r.retain_until';
const DEVICE_SELECT = 'd.data::text AS data, d.interval_seconds, d.last_polled_at, d.status, d.session::text AS session, d.consumed_at';

/** Builds every statement for one schema. */
export function statements(t: TableNames) {
  return {
    // Authorization codes.
    insertCode: statement(
      `INSERT INTO ${t.codes} (code_hash, grant_id, client_id, data, expires_at, consumed_at, retain_until, purge_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
    ),
    selectCode: statement(`SELECT data::text AS data, consumed_at, retain_until FROM ${t.codes} WHERE code_hash = $1`),
    // $1 code, $2 consumedAt, $3 retainUntil or NULL.
    consumeCode: statement(
      `UPDATE ${t.codes} SET consumed_at = $2, retain_until = COALESCE($3::bigint, retain_until), purge_at = GREATEST(purge_at, $3::bigint)
        WHERE code_hash = $1 AND consumed_at IS NULL`,
    ),

    // Refresh tokens, read together with their grant's revocation mark.
    insertRefresh: statement(
      `INSERT INTO ${t.refreshTokens} (token_hash, grant_id, client_id, data, expires_at, consumed_at, successor_envelope, revoked_at, retain_until, purge_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
    ),
    selectRefresh: statement(
      `SELECT ${REFRESH_SELECT}, g.revoked_at AS mark_revoked_at FROM ${t.refreshTokens} r LEFT JOIN ${t.revokedGrants} g ON g.grant_id = r.grant_id WHERE r.token_hash = $1`,
    ),
    // One statement: mark the old token used (only if unused, unrevoked, its grant unrevoked and the
    // successor's hash free) and insert the successor from the marked row. Both commit or neither:
    // an insert that still fails (a successor saved concurrently under the same hash) rolls back the mark.
    // $1 old, $2 consumedAt, $3 envelope or NULL, $4 successor.expiresAt, $5.. the successor's row.
    rotate: statement(
      `WITH rotated AS (
         UPDATE ${t.refreshTokens} AS r
            SET consumed_at = $2,
                successor_envelope = $3,
                retain_until = GREATEST(r.expires_at, $4::bigint, COALESCE(r.retain_until, r.expires_at)),
                purge_at = GREATEST(r.purge_at, r.expires_at, $4::bigint, COALESCE(r.retain_until, r.expires_at))
          WHERE r.token_hash = $1 AND r.consumed_at IS NULL AND r.revoked_at IS NULL
            AND NOT EXISTS (SELECT 1 FROM ${t.revokedGrants} g WHERE g.grant_id = r.grant_id)
            AND NOT EXISTS (SELECT 1 FROM ${t.refreshTokens} s WHERE s.token_hash = $5)
         RETURNING 1
       )
       INSERT INTO ${t.refreshTokens} (token_hash, grant_id, client_id, data, expires_at, consumed_at, successor_envelope, revoked_at, retain_until, purge_at)
       SELECT $5::text, $6::text, $7::text, $8::json, $9::bigint, $10::bigint, $11::text, $12::bigint, $13::bigint, $14::bigint FROM rotated`,
    ),

    // Grant revocations: one row per grant; a later retainUntil extends it.
    upsertRevocation: statement(
      `INSERT INTO ${t.revokedGrants} (grant_id, revoked_at, retain_until) VALUES ($1, $2, $3)
       ON CONFLICT (grant_id) DO UPDATE SET retain_until = GREATEST(${t.revokedGrants}.retain_until, EXCLUDED.retain_until)`,
    ),
    selectRevocation: statement(`SELECT 1 FROM ${t.revokedGrants} WHERE grant_id = $1`),

    // Revoked access tokens: one row per jti until the token's exp; the later exp wins.
    upsertAccessTokenRevocation: statement(
      `INSERT INTO ${t.revokedAccessTokens} (jti, expires_at) VALUES ($1, $2)
       ON CONFLICT (jti) DO UPDATE SET expires_at = GREATEST(${t.revokedAccessTokens}.expires_at, EXCLUDED.expires_at)`,
    ),
    selectAccessTokenRevocation: statement(`SELECT 1 FROM ${t.revokedAccessTokens} WHERE jti = $1`),

    // One-time uses: insert the key, or take over a row whose value has expired (a key used again
    // after its expiry is a new use); a live row is left alone and nothing is returned.
    // $1 key, $2 expiresAt, $3 now.
    recordUse: statement(
      `INSERT INTO ${t.oneTimeUses} (key, expires_at) VALUES ($1, $2)
       ON CONFLICT (key) DO UPDATE SET expires_at = EXCLUDED.expires_at WHERE ${t.oneTimeUses}.expires_at <= $3
       RETURNING 1`,
    ),

    // Device codes. Saving reserves the user code (insert, or take over a reservation whose holder
    // has expired) and inserts the request from the reservation, in one statement: no reservation,
    // no request. $1 device, $2 user code, $3 grant, $4 client, $5 data, $6 expiresAt, $7 interval,
    // $8 lastPolledAt, $9 status, $10 session, $11 consumedAt, $12 now.
    saveDevice: statement(
      `WITH reserved AS (
         INSERT INTO ${t.userCodes} (user_code_hash, device_code_hash, expires_at) VALUES ($2, $1, $6)
         ON CONFLICT (user_code_hash) DO UPDATE SET device_code_hash = EXCLUDED.device_code_hash, expires_at = EXCLUDED.expires_at
          WHERE ${t.userCodes}.expires_at <= $12
         RETURNING 1
       )
       INSERT INTO ${t.deviceCodes} (device_code_hash, user_code_hash, grant_id, client_id, data, expires_at, interval_seconds, last_polled_at, status, session, consumed_at)
       SELECT $1::text, $2::text, $3::text, $4::text, $5::json, $6::bigint, $7::double precision, $8::bigint, $9::text, $10::json, $11::bigint FROM reserved`,
    ),
    selectDevice: statement(`SELECT ${DEVICE_SELECT} FROM ${t.deviceCodes} d WHERE d.device_code_hash = $1`),
    selectDeviceByUserCode: statement(
      `SELECT ${DEVICE_SELECT} FROM ${t.userCodes} u JOIN ${t.deviceCodes} d ON d.device_code_hash = u.device_code_hash WHERE u.user_code_hash = $1`,
    ),
    // $1 user code, $2 status, $3 session or NULL.
    decideDevice: statement(
      `UPDATE ${t.deviceCodes} d SET status = $2, session = $3 FROM ${t.userCodes} u
        WHERE u.user_code_hash = $1 AND d.device_code_hash = u.device_code_hash AND d.status = 'pending'`,
    ),
    // The poll reads the row it updates under FOR UPDATE (a concurrent poll waits, then sees this
    // one's lastPolledAt and interval), so a burst is judged one poll after another.
    // $1 device, $2 at, $3 slowDownSeconds, $4 maxIntervalSeconds or NULL.
    pollDevice: statement(
      `UPDATE ${t.deviceCodes} d
          SET last_polled_at = $2,
              interval_seconds = CASE
                WHEN NOT p.too_soon THEN p.interval_seconds
                WHEN $4::double precision IS NULL THEN p.interval_seconds + $3::double precision
                ELSE GREATEST(p.interval_seconds, LEAST(p.interval_seconds + $3::double precision, $4::double precision))
              END
         FROM (SELECT device_code_hash, interval_seconds, (last_polled_at IS NOT NULL AND $2::bigint - last_polled_at < interval_seconds * 1000) AS too_soon
                 FROM ${t.deviceCodes} WHERE device_code_hash = $1 FOR UPDATE) p
        WHERE d.device_code_hash = p.device_code_hash
       RETURNING p.too_soon, ${DEVICE_SELECT}`,
    ),
    consumeDevice: statement(
      `UPDATE ${t.deviceCodes} SET consumed_at = $2 WHERE device_code_hash = $1 AND status = 'approved' AND consumed_at IS NULL`,
    ),

    // Purge, in batches of $2 rows per statement (short locks, short transactions); rows another
    // purger (another process) holds are skipped, not waited for. The condition is checked again
    // on the locked row. $1 the cut-off time.
    purgeCodes: purgeStatement(t.codes, 'purge_at <= $1'),
    purgeRefresh: purgeStatement(t.refreshTokens, 'purge_at <= $1'),
    purgeRevocations: purgeStatement(t.revokedGrants, 'retain_until <= $1'),
    purgeAccessTokenRevocations: purgeStatement(t.revokedAccessTokens, 'expires_at <= $1'),
    purgeOneTimeUses: purgeStatement(t.oneTimeUses, 'expires_at <= $1'),
    purgeDevices: purgeStatement(t.deviceCodes, 'expires_at <= $1'),
    purgeUserCodes: purgeStatement(t.userCodes, 'expires_at <= $1'),
    // A retry envelope serves the retry window only (≤ 60 s); the used token itself stays.
    dropEnvelopes: statement(
      `UPDATE ${t.refreshTokens} SET successor_envelope = NULL
        WHERE ctid IN (SELECT ctid FROM ${t.refreshTokens} WHERE successor_envelope IS NOT NULL AND consumed_at <= $1 LIMIT $2 FOR UPDATE SKIP LOCKED)
          AND successor_envelope IS NOT NULL AND consumed_at <= $1`,
    ),
  };
}

export type Statements = ReturnType<typeof statements>;

function purgeStatement(table: string, condition: string): Statement {
  return statement(`DELETE FROM ${table} WHERE ctid IN (SELECT ctid FROM ${table} WHERE ${condition} LIMIT $2 FOR UPDATE SKIP LOCKED) AND ${condition}`);
}
