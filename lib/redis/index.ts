// lib/redis/index.ts
// The Redis StorageAdapter (`express-token-endpoint/redis`): shared state for several instances of
// the token endpoint, on an ioredis client (standalone, Sentinel or Cluster) that the host passes in.
//
// Key design (prefix `ete:` by default):
//
//   ete:code:<codeHash>                 hash  authorization code
//   ete:rt:<tokenHash>                  str   index: refresh-token hash → grantId
//   ete:{<grantId>}:rt:<tokenHash>      hash  refresh token
//   ete:{<grantId>}:revoked             hash  grant tombstone (revokedAt, retainUntil)
//   ete:{<grantId>}:env:<tokenHash>     str   a rotated token's retry envelope (2-minute TTL)
//   ete:atr:<jti>                       str   revoked access token, until the token's exp
//   ete:otu:<key>                       str   one-time use (assertion / DPoP proof jti), until the value expires
//   ete:dc:<deviceCodeHash>             hash  device authorization request
//   ete:uc:<userCodeHash>               hash  user-code reservation (holder's deviceCodeHash + expiresAt)
//
// Every atomic step is one Lua script (or one SET NX) over keys that share a cluster slot:
// - Codes and device codes: each compare-and-set touches one key.
// - One-time uses: one SET NX PX; the key's TTL (the value's expiry plus the grace) drops it.
// - Refresh tokens: rotation must check the old token, the grant's tombstone and the successor in
//   one step, so all three live under the hash tag `{<grantId>}` (one slot per grant family).
//   findRefreshToken only knows the token hash, so a small index key `rt:<tokenHash>` (its own
//   slot) maps it to the grantId; the token and its tombstone are then read together by one
//   script. The index of a successor is written (SET NX) before the rotation script runs: if the
//   rotation loses, the loser deletes its index again; if the process dies in between, the index
//   points at no record (a miss) and expires with its TTL. A token is never visible without its
//   record, and a record is never written without its index. On standalone Redis (and Sentinel),
//   where one node holds every key, the index lookup and the family's reads (or the index
//   reservation and the rotation) run as one script each (`…Indexed` in scripts.ts): the same
//   steps, one round trip each.
// - revokeGrant is one write to the tombstone key: no scan of the family. Tokens saved after a
//   revocation still read as revoked, because every read and rotation looks at the tombstone.
// - saveDeviceCode reserves the user code first (a script that refuses while a live request holds
//   it, judged by the adapter clock passed as an argument), then inserts the request. decide,
//   poll and consume are one script each on the request's key.
// - With `waitForReplicas`, each consuming or rotating step goes out as [write, WAIT] on one
//   connection (replicas.ts) and throws when too few replicas acknowledged it.
//
// Records are hashes: field `d` holds the JSON of the fields that never change; every field a
// script compares or changes has its own hash field, stored as the exact string the adapter passed
// (scripts never re-encode JSON). Every key gets a TTL: the record's expiry (or retainUntil)
// minus the adapter clock's "now", plus `ttlGraceMs`, applied with PEXPIRE relative to Redis'
// own time. So Redis drops what the library would treat as expired, a little after the library
// stops using it, also when the adapter clock is not the wall clock (tests). Device requests get
// at least 10 minutes of grace, so a late poll still hears `expired_token`.
import { createHash } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';
import { ConfigurationError } from '../contracts/errors';
import { checkFunction, checkKeys, isPlainObject } from '../options/checks';
import { DEVICE_CODE_GRACE_MS, SUCCESSOR_ENVELOPE_RETENTION_MS } from '../storage/retention';
import type { AuthorizationCodeRecord, DeviceCodeRecord, DevicePollResult, RefreshTokenRecord, SessionFacts, StorageAdapter } from '../contracts/storage';
import { checkWaitForReplicas, createReplicatedWriter, type WaitForReplicasOptions } from './replicas';
import { F, SCRIPTS, type ScriptName } from './scripts';

export { ReplicationTimeoutError, type WaitForReplicasOptions } from './replicas';

/** Options of {@link createRedisStorage}. */
export interface RedisStorageOptions {
  /**
   * A connected ioredis client: `new Redis(url, options)` or `new Redis.Cluster(nodes, options)`.
   * For a token endpoint that fails fast while Redis is down (500 `server_error` instead of
   * requests queued until a timeout), create it with `enableOfflineQueue: false`,
   * `maxRetriesPerRequest: 1`, a short `connectTimeout` and `commandTimeout`; `enableAutoPipelining:
   * true` lets concurrent requests share writes to Redis (the conformance kit runs with it too).
   * The adapter defines its Lua scripts on it (`defineCommand`, names starting `ete_`).
   */
  client: Redis | Cluster;
  /** Prepended to every key. Defaults to `'ete:'`. */
  prefix?: string;
  /** Milliseconds-since-epoch clock used to compute TTLs and user-code liveness. Defaults to `Date.now`. */
  clock?: () => number;
  /**
   * Keys live this many ms past their record's expiry (or retainUntil), so the library, not
   * Redis, judges expiry near the boundary and small clock differences between hosts do not
   * drop a record early. Defaults to 60 000. Device requests always get at least 10 minutes, so a
   * late poll still hears `expired_token`.
   */
  ttlGraceMs?: number;
  /**
   * Opt-in: after every step that consumes or rotates — authorization-code consume, refresh-token
   * rotation (and its successor's index), device-code approval/denial and consume, one-time-use
   * records (assertion and DPoP proof jtis), grant and access-token revocation — send Redis
   * `WAIT replicas timeoutMs` on the connection that wrote (in a Cluster: to the primary owning the
   * key's slot), and answer only once `replicas` replicas acknowledged the write. Redis
   * replication is asynchronous: without this, a primary that fails over right after answering
   * may hand over to a replica that never got the write, and the same code or refresh token can
   * then be accepted again.
   *
   * When fewer replicas acknowledge within `timeoutMs`, the step throws
   * {@link ReplicationTimeoutError} and the request is answered `500 server_error` with nothing
   * issued. The write itself already happened on the primary and stands: the code (or token) is
   * consumed, so a retry of the same request fails with `invalid_grant` (the safe direction; the
   * client starts a new authorization). Saves of new codes, tokens and device requests are not
   * waited for: losing one on failover makes a just-issued credential unusable, never reusable.
   *
   * Costs one extra round trip per such step and, while a WAIT is pending, holds back the
   * commands behind it on that connection (Redis blocks the connection), so keep `timeoutMs`
   * short (e.g. 100–500 ms) and below the client's `commandTimeout` (checked here). Needs at least
   * `replicas` replicas per primary, or every such request fails. Defaults to off.
   */
  waitForReplicas?: WaitForReplicasOptions;
}

/** The Redis adapter. */
export interface RedisStorage extends StorageAdapter {
  /** The key prefix in use. */
  readonly prefix: string;
  /**
   * Quits the client (`client.quit()`) and resolves once the connection has ended. Call it on
   * shutdown when the storage owns the connection; when the client is shared with other code,
   * close that client yourself instead.
   */
  close(): Promise<void>;
}

/** Every option of {@link RedisStorageOptions}: adding one there without listing it here does not compile. */
const KNOWN_OPTIONS: { readonly [K in keyof Required<RedisStorageOptions>]: true } = { client: true, prefix: true, clock: true, ttlGraceMs: true, waitForReplicas: true };

/** Shortest TTL given to any key, in ms (a record saved already expired lives this long). */
const MIN_TTL_MS = 1_000;

type Arg = string | number;
type ScriptCall = (...args: Arg[]) => Promise<unknown>;

/**
 * Creates the Redis storage adapter on an ioredis client (standalone, Sentinel or Cluster).
 * State is shared by every instance that uses the same Redis and prefix; each atomic promise of
 * the StorageAdapter contract is kept by a single Lua script or command (see the key design in
 * this file's header and docs/storage-redis.md). ioredis is an optional peer dependency: install it next to
 * this package to use this entry point.
 *
 * @example
 * import Redis from 'ioredis';
 * import { createRedisStorage } from 'express-token-endpoint/redis';
 * const client = new Redis(process.env.REDIS_URL!, { enableOfflineQueue: false, maxRetriesPerRequest: 1, connectTimeout: 2000, commandTimeout: 2000 });
 * const storage = createRedisStorage({ client, prefix: 'ete:' });
 */
export function createRedisStorage(options: RedisStorageOptions): RedisStorage {
  const given: unknown = options; // checked as it came, not as the type claims
  if (!isPlainObject(given)) {
    throw new ConfigurationError('ERR_TOKEN_ROUTER_STORAGE', ['createRedisStorage: options must be an object { client, prefix?, clock?, ttlGraceMs?, waitForReplicas? }.']);
  }
  const problems: string[] = [];
  checkKeys(given, 'createRedisStorage', Object.keys(KNOWN_OPTIONS), problems);
  const client = options.client;
  if (!client || typeof client.defineCommand !== 'function') problems.push('createRedisStorage: client must be an ioredis Redis or Cluster instance.');
  const prefix = options.prefix ?? 'ete:';
  if (typeof prefix !== 'string') problems.push('createRedisStorage: prefix must be a string.');
  const clock = options.clock ?? Date.now;
  checkFunction(clock, 'createRedisStorage: clock', 'a function returning ms since the epoch', problems);
  const graceMs = options.ttlGraceMs ?? 60_000;
  if (!Number.isInteger(graceMs) || graceMs < 0) problems.push('createRedisStorage: ttlGraceMs must be a whole number of ms, 0 or more.');
  const waitFor = checkWaitForReplicas(options.waitForReplicas, client, problems);
  if (problems.length > 0) throw new ConfigurationError('ERR_TOKEN_ROUTER_STORAGE', problems);

  const run = defineScripts(client);
  const replicated = waitFor ? createReplicatedWriter(client, waitFor) : undefined;
  /** A consuming or rotating script: with waitForReplicas, answered only once replicas have it. */
  const atomic = (name: ScriptName, ...args: Arg[]): Promise<unknown> =>
    replicated ? replicated({ script: { ...SCRIPTS[name], sha: scriptSha(name) }, args }) : run[name](...args);
  /** SET key value PX ttl NX, likewise. 'OK' when set, null when the key existed. */
  const setNx = (key: string, value: string, ttlMs: number): Promise<unknown> =>
    replicated ? replicated({ command: 'set', args: [key, value, 'PX', ttlMs, 'NX'] }) : client.set(key, value, 'PX', ttlMs, 'NX');
  const keys = keyFunctions(prefix);
  /** TTL in ms for a record that may be dropped at `until` (adapter clock), relative to now. */
  const ttl = (until: number, grace = graceMs): number => Math.max(Math.floor(until - clock()) + grace, MIN_TTL_MS);

  // One node holds every key (standalone or Sentinel): the index lookup and the reads or writes of
  // the family go in one script, one round trip instead of two (read) or two and a half (rotate).
  // A Cluster keeps the slot-safe sequence: the index has a slot of its own.
  const standalone = (client as { isCluster?: unknown }).isCluster !== true;

  async function readToken(tokenHash: string): Promise<RefreshTokenRecord | undefined> {
    let reply: unknown;
    if (standalone) {
      reply = await run.readTokenIndexed(keys.tokenIndex(tokenHash), prefix, tokenHash);
      if (reply === null) return undefined;
    } else {
      const grantId = await client.get(keys.tokenIndex(tokenHash));
      if (grantId === null) return undefined;
      reply = await run.readToken(keys.token(grantId, tokenHash), keys.tombstone(grantId), keys.envelope(grantId, tokenHash));
    }
    if (!Array.isArray(reply) || reply.length !== 3) throw new Error('unexpected reply from the Redis readToken script');
    const fields = toFields(reply[0]);
    const data = fields.get(F.data);
    if (data === undefined) return undefined;
    const record = JSON.parse(data) as RefreshTokenRecord;
    const ownRevokedAt = numberField(fields, F.revokedAt);
    const tombRevokedAt = typeof reply[1] === 'string' && reply[1] !== '' ? Number(reply[1]) : undefined;
    const revokedAt = ownRevokedAt ?? tombRevokedAt;
    return {
      ...record,
      ...optional('consumedAt', numberField(fields, F.consumedAt)),
      // A key of its own (expires 2 minutes after the rotation); the hash field is where earlier builds of this adapter kept it.
      ...optional('successorEnvelope', typeof reply[2] === 'string' && reply[2] !== '' ? reply[2] : fields.get(F.envelope)),
      ...optional('retainUntil', numberField(fields, F.retainUntil)),
      ...optional('revokedAt', revokedAt),
    };
  }

  async function readDevice(deviceCodeHash: string): Promise<DeviceCodeRecord | undefined> {
    return deviceFromFields(toFields(await client.hgetall(keys.device(deviceCodeHash))));
  }

  return {
    prefix,

    async saveAuthorizationCode(record) {
      const { consumedAt, ...data } = record;
      const pairs: Arg[] = [F.data, JSON.stringify(data)];
      if (consumedAt !== undefined) pairs.push(F.consumedAt, String(consumedAt));
      if ((await run.insert(keys.code(record.codeHash), ttl(record.expiresAt), ...pairs)) !== 1) {
        throw new Error('authorization code hash already stored');
      }
    },
    async findAuthorizationCode(codeHash) {
      const fields = toFields(await client.hgetall(keys.code(codeHash)));
      const data = fields.get(F.data);
      if (data === undefined) return undefined;
      return { ...(JSON.parse(data) as AuthorizationCodeRecord), ...optional('consumedAt', numberField(fields, F.consumedAt)) };
    },
    async consumeAuthorizationCode(codeHash, consumedAt, retainUntil) {
      return (await atomic('consumeCode', keys.code(codeHash), String(consumedAt), retainUntil === undefined ? '' : String(ttl(retainUntil)))) === 1;
    },

    async saveRefreshToken(record) {
      const lifetime = ttl(Math.max(record.expiresAt, record.retainUntil ?? 0));
      // The index first (SET NX: the uniqueness check), then the record under the grant's tag.
      if ((await client.set(keys.tokenIndex(record.tokenHash), record.grantId, 'PX', lifetime, 'NX')) !== 'OK') {
        throw new Error('refresh token hash already stored');
      }
      if ((await run.insert(keys.token(record.grantId, record.tokenHash), lifetime, ...tokenFields(record))) !== 1) {
        throw new Error('refresh token hash already stored');
      }
    },
    findRefreshToken: readToken,
    async rotateRefreshToken(oldHash, successor, consumedAt, successorEnvelope) {
      // The successor carries its family's grant id, so the old token's record key is known
      // without reading its index: if oldHash belongs to another grant (or to none), the
      // rotation script finds no record under this grant's tag and refuses.
      const grantId = successor.grantId;
      const lifetime = ttl(Math.max(successor.expiresAt, successor.retainUntil ?? 0));
      const successorIndex = keys.tokenIndex(successor.tokenHash);
      const rotateArgs: Arg[] = [
        String(consumedAt),
        successorEnvelope ?? '',
        successorEnvelope === undefined ? '0' : '1',
        clock(),
        graceMs,
        MIN_TTL_MS,
        lifetime,
        String(successor.expiresAt),
        ttl(consumedAt + SUCCESSOR_ENVELOPE_RETENTION_MS),
        ...tokenFields(successor),
      ];
      const familyKeys = [keys.token(grantId, oldHash), keys.token(grantId, successor.tokenHash), keys.tombstone(grantId), keys.envelope(grantId, oldHash)];
      if (standalone) {
        return (await atomic('rotateIndexed', successorIndex, keys.tokenIndex(oldHash), ...familyKeys, grantId, lifetime, ...rotateArgs)) === 1;
      }
      // Two keys in two slots, sent together (one round trip): reserve the successor's index, and
      // make the old token's index live as long as its retained record (reuse detection). The
      // extension is harmless when the rotation then loses: the index only outlives its record.
      const [reserved] = await Promise.all([
        setNx(successorIndex, grantId, lifetime),
        run.extendTtl(keys.tokenIndex(oldHash), lifetime),
      ]);
      if (reserved !== 'OK') return false;
      let rotated = false;
      try {
        rotated = (await atomic('rotate', ...familyKeys, ...rotateArgs)) === 1;
        return rotated;
      } finally {
        // A lost rotation stores nothing: remove the index this call wrote (best effort; it expires anyway).
        if (!rotated) await client.del(successorIndex).catch(() => undefined);
      }
    },

    async revokeGrant(grantId, revokedAt, retainUntil) {
      await atomic('revokeGrant', keys.tombstone(grantId), String(revokedAt), String(retainUntil), ttl(retainUntil));
    },
    async isGrantRevoked(grantId) {
      return (await client.exists(keys.tombstone(grantId))) === 1;
    },

    async revokeAccessToken(jti, expiresAt) {
      const key = keys.revokedAccessToken(jti);
      const lifetime = ttl(expiresAt);
      // Both steps only ever add or lengthen the entry, so two revocations in any order keep the later expiry.
      if ((await setNx(key, '1', lifetime)) === null) await atomic('extendTtl', key, lifetime);
    },
    async isAccessTokenRevoked(jti) {
      return (await client.exists(keys.revokedAccessToken(jti))) === 1;
    },

    async recordOneTimeUse(key, expiresAt) {
      // One command: of racing callers exactly one creates the key ('OK'); the rest get null. Redis
      // drops the key after its TTL, so a key used again after its expiry is a new use.
      return (await setNx(keys.oneTimeUse(key), '1', ttl(expiresAt))) === 'OK';
    },

    async saveDeviceCode(record) {
      // Device requests (and their user-code reservations) outlive expiry by DEVICE_CODE_GRACE_MS
      // at least, so a late poll still hears expired_token, as with every adapter the library ships.
      const lifetime = ttl(record.expiresAt, Math.max(graceMs, DEVICE_CODE_GRACE_MS));
      const userKey = keys.userCode(record.userCodeHash);
      // Reserve the user code first: false (nothing stored) while a live request holds it.
      if ((await run.reserveUserCode(userKey, record.deviceCodeHash, String(record.expiresAt), clock(), lifetime)) !== 1) return false;
      const { interval, lastPolledAt, status, session, consumedAt, ...data } = record;
      const pairs: Arg[] = [F.data, JSON.stringify(data), F.interval, String(interval), F.status, status];
      if (lastPolledAt !== undefined) pairs.push(F.lastPolledAt, String(lastPolledAt));
      if (session !== undefined) pairs.push(F.session, JSON.stringify(session));
      if (consumedAt !== undefined) pairs.push(F.consumedAt, String(consumedAt));
      let inserted = false;
      try {
        inserted = (await run.insert(keys.device(record.deviceCodeHash), lifetime, ...pairs)) === 1;
      } finally {
        if (!inserted) await run.releaseUserCode(userKey, record.deviceCodeHash).catch(() => undefined);
      }
      if (!inserted) throw new Error('device code hash already stored');
      return true;
    },
    findDeviceCode: readDevice,
    async findDeviceCodeByUserCode(userCodeHash) {
      const holder = await client.hget(keys.userCode(userCodeHash), F.holder);
      return holder === null ? undefined : readDevice(holder);
    },
    async decideDeviceCode(userCodeHash, decision) {
      const holder = await client.hget(keys.userCode(userCodeHash), F.holder);
      if (holder === null) return false;
      const session = decision.status === 'approved' ? JSON.stringify(decision.session) : '';
      return (await atomic('decideDevice', keys.device(holder), decision.status, session)) === 1;
    },
    async pollDeviceCode(deviceCodeHash, at, slowDownSeconds, maxIntervalSeconds): Promise<DevicePollResult | undefined> {
      const reply = await run.pollDevice(keys.device(deviceCodeHash), String(at), String(slowDownSeconds), maxIntervalSeconds === undefined ? '' : String(maxIntervalSeconds));
      if (reply === null) return undefined;
      if (!Array.isArray(reply) || reply.length !== 2) throw new Error('unexpected reply from the Redis pollDevice script');
      const record = deviceFromFields(toFields(reply[1]));
      if (!record) return undefined;
      return { record, tooSoon: reply[0] === 1 };
    },
    async consumeDeviceCode(deviceCodeHash, consumedAt) {
      return (await atomic('consumeDevice', keys.device(deviceCodeHash), String(consumedAt))) === 1;
    },

    async close() {
      if (client.status === 'end') return;
      const ended = new Promise<void>((resolve) => client.once('end', () => resolve()));
      await client.quit();
      await ended;
    },
  };
}

/** The key names (see the file header). Exported for tests and operators inspecting Redis. */
export function redisStorageKeys(prefix = 'ete:') {
  return keyFunctions(prefix);
}

function keyFunctions(prefix: string) {
  // The grant's hash tag: the grantId with `%`, `{` and `}` escaped, so it is never empty, never
  // cut short by a brace inside the id, and two grants never share a tag (or a tombstone).
  const tag = (grantId: string): string => {
    if (grantId === '') throw new Error('refresh tokens need a non-empty grantId');
    return `{${grantId.replace(/[%{}]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)}}`;
  };
  return {
    /** An authorization code, by its hash. */
    code: (codeHash: string) => `${prefix}code:${codeHash}`,
    /** Index from a refresh token's hash to its grant. */
    tokenIndex: (tokenHash: string) => `${prefix}rt:${tokenHash}`,
    /** A refresh token, in its grant's hash slot. */
    token: (grantId: string, tokenHash: string) => `${prefix}${tag(grantId)}:rt:${tokenHash}`,
    /** The revocation mark of a grant. */
    tombstone: (grantId: string) => `${prefix}${tag(grantId)}:revoked`,
    /** The sealed successor kept for a retried refresh (the retry window). */
    envelope: (grantId: string, tokenHash: string) => `${prefix}${tag(grantId)}:env:${tokenHash}`,
    /** An access token on the revocation list, by `jti`. */
    revokedAccessToken: (jti: string) => `${prefix}atr:${jti}`,
    /** A one-time-use mark (assertion or DPoP proof `jti`). */
    oneTimeUse: (key: string) => `${prefix}otu:${key}`,
    /** A device authorization request, by its device_code hash. */
    device: (deviceCodeHash: string) => `${prefix}dc:${deviceCodeHash}`,
    /** Index from a user_code hash to its device request. */
    userCode: (userCodeHash: string) => `${prefix}uc:${userCodeHash}`,
  };
}

/** SHA-1 of each script's Lua: its EVALSHA name in Redis' script cache. */
const SCRIPT_SHAS = Object.fromEntries(Object.entries(SCRIPTS).map(([name, script]) => [name, createHash('sha1').update(script.lua).digest('hex')])) as Record<ScriptName, string>;
const scriptSha = (name: ScriptName): string => SCRIPT_SHAS[name];

/** Registers every script on the client (EVALSHA, falling back to EVAL once per connection) and returns callers. */
function defineScripts(client: Redis | Cluster): Record<ScriptName, ScriptCall> {
  const calls = {} as Record<ScriptName, ScriptCall>;
  for (const [name, script] of Object.entries(SCRIPTS) as Array<[ScriptName, (typeof SCRIPTS)[ScriptName]]>) {
    // Versioned by content: two versions of this package sharing one client never clash.
    const command = `ete_${name}_${scriptSha(name).slice(0, 12)}`;
    client.defineCommand(command, { numberOfKeys: script.numberOfKeys, lua: script.lua });
    const fn = (client as unknown as Record<string, unknown>)[command];
    if (typeof fn !== 'function') throw new Error(`ioredis did not define the ${command} command`);
    calls[name] = (...args) => (fn as ScriptCall).apply(client, args);
  }
  return calls;
}

/** Field/value pairs of a refresh token: immutable JSON plus the fields scripts read or change. */
function tokenFields(record: RefreshTokenRecord): Arg[] {
  const { consumedAt, successorEnvelope, revokedAt, retainUntil, ...data } = record;
  const pairs: Arg[] = [F.data, JSON.stringify(data), F.expiresAt, String(record.expiresAt)];
  if (consumedAt !== undefined) pairs.push(F.consumedAt, String(consumedAt));
  if (successorEnvelope !== undefined) pairs.push(F.envelope, successorEnvelope);
  if (revokedAt !== undefined) pairs.push(F.revokedAt, String(revokedAt));
  if (retainUntil !== undefined) pairs.push(F.retainUntil, String(retainUntil));
  return pairs;
}

function deviceFromFields(fields: Map<string, string>): DeviceCodeRecord | undefined {
  const data = fields.get(F.data);
  const status = fields.get(F.status);
  if (data === undefined || (status !== 'pending' && status !== 'approved' && status !== 'denied')) return undefined;
  const session = fields.get(F.session);
  return {
    ...(JSON.parse(data) as Omit<DeviceCodeRecord, 'interval' | 'status'>),
    interval: Number(fields.get(F.interval)),
    status,
    ...optional('lastPolledAt', numberField(fields, F.lastPolledAt)),
    ...optional('session', session === undefined ? undefined : (JSON.parse(session) as SessionFacts)),
    ...optional('consumedAt', numberField(fields, F.consumedAt)),
  };
}

/** HGETALL as ioredis returns it (object) or as a script returns it (flat array). */
function toFields(reply: unknown): Map<string, string> {
  const fields = new Map<string, string>();
  if (Array.isArray(reply)) {
    for (let i = 0; i + 1 < reply.length; i += 2) fields.set(String(reply[i]), String(reply[i + 1]));
  } else if (reply !== null && typeof reply === 'object') {
    for (const [name, value] of Object.entries(reply)) fields.set(name, String(value));
  }
  return fields;
}

function numberField(fields: Map<string, string>, name: string): number | undefined {
  const value = fields.get(name);
  return value === undefined ? undefined : Number(value);
}

/** `{ [name]: value }` when value is defined, else `{}` (records never carry `undefined` fields). */
function optional<K extends string, V>(name: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [name]: value }) as { [P in K]?: V };
}
