// lib/redis/scripts.ts
// The Lua scripts behind every atomic promise of the Redis adapter. Each runs as one EVALSHA
// (ioredis `defineCommand`), so its checks and writes happen with no other command in between.
//
// Rules every script follows:
// - It touches only the keys passed in KEYS, and all of them share one hash tag (one cluster slot).
//   Exception: the `…Indexed` scripts, used only on standalone Redis (and Sentinel), where one node
//   holds every key: they read an index and compute the family's keys, saving round trips.
// - It never decodes or re-encodes the JSON record (`d` field): Redis' cjson would turn `[]` into
//   `{}` and round numbers to 14 digits. The fields a script compares or changes live in their own
//   hash fields, stored as the exact strings the adapter passed.
// - TTLs are computed by the adapter (relative milliseconds, see index.ts) and passed in ARGV.

/** Hash fields of the stored records (short: they are repeated in every key). */
export const F = {
  /** JSON of the record's immutable fields. */
  data: 'd',
  /** expiresAt (refresh tokens, user-code reservations). */
  expiresAt: 'e',
  consumedAt: 'c',
  /** successorEnvelope (refresh tokens) as earlier builds of this adapter stored it; now a key of its own (`…:env:<hash>`). */
  envelope: 's',
  /** revokedAt set on the token itself (refresh tokens; grant revocation lives in the tombstone). */
  revokedAt: 'v',
  retainUntil: 'u',
  /** Tombstone: when the grant was revoked. */
  tombRevokedAt: 'r',
  /** Device codes: interval, lastPolledAt, status, session JSON. */
  interval: 'i',
  lastPolledAt: 'p',
  status: 'st',
  session: 'se',
  /** User-code reservation: the holder's deviceCodeHash. */
  holder: 'h',
} as const;

export interface ScriptDefinition {
  readonly numberOfKeys: number;
  readonly lua: string;
}

/**
 * KEYS[1] = record. ARGV[1] = TTL ms, ARGV[2..] = field/value pairs.
 * Creates the hash only if the key does not exist. Returns 1 when created, 0 when it existed.
 */
const insert: ScriptDefinition = {
  numberOfKeys: 1,
  lua: `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 2))
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 1`,
};

/**
 * KEYS[1] = authorization code. ARGV[1] = consumedAt.
 * Compare-and-set consumedAt from unset. Returns 1 for the one winner, 0 otherwise.
 */
const consumeCode: ScriptDefinition = {
  numberOfKeys: 1,
  // ARGV[2] = TTL in ms for the consumed code (replay detection past expiry), or '' for none:
  // the key only ever lives longer, never shorter.
  lua: `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if redis.call('HEXISTS', KEYS[1], '${F.consumedAt}') == 1 then return 0 end
redis.call('HSET', KEYS[1], '${F.consumedAt}', ARGV[1])
local keep = tonumber(ARGV[2])
if keep and keep > redis.call('PTTL', KEYS[1]) then redis.call('PEXPIRE', KEYS[1], keep) end
return 1`,
};

/**
 * KEYS[1] = old token, KEYS[2] = successor token, KEYS[3] = grant tombstone, KEYS[4] = the old
 * token's envelope key (one hash tag: the grantId).
 * ARGV[1] = consumedAt, ARGV[2] = successorEnvelope, ARGV[3] = '1' when an envelope is given,
 * ARGV[4] = now (adapter clock), ARGV[5] = TTL grace ms, ARGV[6] = minimum TTL ms,
 * ARGV[7] = successor TTL ms, ARGV[8] = successor expiresAt, ARGV[9] = envelope TTL ms,
 * ARGV[10..] = successor field/value pairs.
 * If the old token exists, is neither consumed nor revoked, its grant has no tombstone and the
 * successor does not exist: marks the old token consumed with
 * retainUntil = max(old.expiresAt, successor.expiresAt), keeps its key at least that long, stores
 * the envelope in its own short-lived key (it only serves the retry window), and inserts the
 * successor. Returns 1 when rotated, 0 (nothing written) otherwise.
 */
const rotate: ScriptDefinition = {
  numberOfKeys: 4,
  lua: `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if redis.call('HEXISTS', KEYS[1], '${F.consumedAt}') == 1 then return 0 end
if redis.call('HEXISTS', KEYS[1], '${F.revokedAt}') == 1 then return 0 end
if redis.call('EXISTS', KEYS[3]) == 1 then return 0 end
if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
local retain = ARGV[8]
local oldExpires = redis.call('HGET', KEYS[1], '${F.expiresAt}')
if oldExpires and tonumber(oldExpires) > tonumber(retain) then retain = oldExpires end
redis.call('HSET', KEYS[1], '${F.consumedAt}', ARGV[1], '${F.retainUntil}', retain)
if ARGV[3] == '1' then redis.call('SET', KEYS[4], ARGV[2], 'PX', ARGV[9]) end
local ttl = math.floor(math.max(tonumber(retain) - tonumber(ARGV[4]) + tonumber(ARGV[5]), tonumber(ARGV[6])))
if redis.call('PTTL', KEYS[1]) < ttl then redis.call('PEXPIRE', KEYS[1], ttl) end
redis.call('HSET', KEYS[2], unpack(ARGV, 10))
redis.call('PEXPIRE', KEYS[2], ARGV[7])
return 1`,
};

/**
 * KEYS[1] = token, KEYS[2] = grant tombstone, KEYS[3] = the token's envelope key.
 * Returns { token fields (HGETALL), tombstone revokedAt or '', envelope or '' } read in one step.
 */
const readToken: ScriptDefinition = {
  numberOfKeys: 3,
  lua: `
local record = redis.call('HGETALL', KEYS[1])
local revokedAt = redis.call('HGET', KEYS[2], '${F.tombRevokedAt}')
local envelope = redis.call('GET', KEYS[3])
return { record, revokedAt or '', envelope or '' }`,
};

/**
 * KEYS[1] = any key. ARGV[1] = TTL ms. Raises the key's TTL to ARGV[1] if it is lower (never shortens).
 * Used for the token-hash index of a rotated token, which must live as long as the retained record.
 */
const extendTtl: ScriptDefinition = {
  numberOfKeys: 1,
  lua: `
local current = redis.call('PTTL', KEYS[1])
if current == -2 then return 0 end
if current == -1 or current < tonumber(ARGV[1]) then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return 1`,
};

/**
 * KEYS[1] = grant tombstone. ARGV[1] = revokedAt, ARGV[2] = retainUntil, ARGV[3] = TTL ms.
 * Idempotent: a second revocation keeps the first revokedAt and only ever extends retainUntil.
 */
const revokeGrant: ScriptDefinition = {
  numberOfKeys: 1,
  lua: `
local retain = redis.call('HGET', KEYS[1], '${F.retainUntil}')
if retain then
  if tonumber(ARGV[2]) > tonumber(retain) then
    redis.call('HSET', KEYS[1], '${F.retainUntil}', ARGV[2])
    if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[3]) then redis.call('PEXPIRE', KEYS[1], ARGV[3]) end
  end
  return 0
end
redis.call('HSET', KEYS[1], '${F.tombRevokedAt}', ARGV[1], '${F.retainUntil}', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1`,
};

/**
 * KEYS[1] = user-code reservation. ARGV[1] = deviceCodeHash, ARGV[2] = its expiresAt,
 * ARGV[3] = now (adapter clock), ARGV[4] = TTL ms.
 * Takes the user code unless a live request (expiresAt > now) holds it. Returns 1 when taken.
 */
const reserveUserCode: ScriptDefinition = {
  numberOfKeys: 1,
  lua: `
local expires = redis.call('HGET', KEYS[1], '${F.expiresAt}')
if expires and tonumber(expires) > tonumber(ARGV[3]) then return 0 end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], '${F.holder}', ARGV[1], '${F.expiresAt}', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return 1`,
};

/** KEYS[1] = user-code reservation. ARGV[1] = deviceCodeHash. Deletes the reservation if that request holds it. */
const releaseUserCode: ScriptDefinition = {
  numberOfKeys: 1,
  lua: `
if redis.call('HGET', KEYS[1], '${F.holder}') == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`,
};

/**
 * KEYS[1] = device code. ARGV[1] = 'approved' | 'denied', ARGV[2] = session JSON (approved only).
 * Compare-and-set the status from 'pending'. Returns 1 for the one winner.
 */
const decideDevice: ScriptDefinition = {
  numberOfKeys: 1,
  lua: `
if redis.call('HGET', KEYS[1], '${F.status}') ~= 'pending' then return 0 end
if ARGV[1] == 'approved' then
  redis.call('HSET', KEYS[1], '${F.status}', ARGV[1], '${F.session}', ARGV[2])
else
  redis.call('HSET', KEYS[1], '${F.status}', ARGV[1])
end
return 1`,
};

/**
 * KEYS[1] = device code. ARGV[1] = at, ARGV[2] = slowDownSeconds, ARGV[3] = maxIntervalSeconds or ''.
 * Registers a poll: sooner than the interval since the last poll → the interval grows (capped,
 * never shrinking) and tooSoon = 1. lastPolledAt becomes `at` either way.
 * Returns nil for an unknown code, else { tooSoon, fields after the update (HGETALL) }.
 */
const pollDevice: ScriptDefinition = {
  numberOfKeys: 1,
  lua: `
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
local interval = tonumber(redis.call('HGET', KEYS[1], '${F.interval}'))
local last = redis.call('HGET', KEYS[1], '${F.lastPolledAt}')
local tooSoon = 0
if last and tonumber(ARGV[1]) - tonumber(last) < interval * 1000 then
  tooSoon = 1
  local grown = interval + tonumber(ARGV[2])
  if ARGV[3] ~= '' then grown = math.max(interval, math.min(grown, tonumber(ARGV[3]))) end
  if grown ~= interval then redis.call('HSET', KEYS[1], '${F.interval}', tostring(grown)) end
end
redis.call('HSET', KEYS[1], '${F.lastPolledAt}', ARGV[1])
return { tooSoon, redis.call('HGETALL', KEYS[1]) }`,
};

/**
 * KEYS[1] = device code. ARGV[1] = consumedAt.
 * Compare-and-set consumedAt on an approved, unconsumed request. Returns 1 for the one winner.
 */
const consumeDevice: ScriptDefinition = {
  numberOfKeys: 1,
  lua: `
if redis.call('HGET', KEYS[1], '${F.status}') ~= 'approved' then return 0 end
if redis.call('HEXISTS', KEYS[1], '${F.consumedAt}') == 1 then return 0 end
redis.call('HSET', KEYS[1], '${F.consumedAt}', ARGV[1])
return 1`,
};

/**
 * Standalone Redis only (one node holds every key, so a script may name keys it computes): the
 * index lookup and the token read of {@link readToken} in one step. KEYS[1] = the token-hash index.
 * ARGV[1] = key prefix, ARGV[2] = token hash. Returns false when the index is missing, else
 * readToken's reply. The key names follow index.ts keyFunctions (`<prefix>{<grantId>}:…`).
 */
const readTokenIndexed: ScriptDefinition = {
  numberOfKeys: 1,
  lua: `
local function readToken(KEYS)
${readToken.lua}
end
local grantId = redis.call('GET', KEYS[1])
if not grantId then return false end
-- The hash tag as index.ts keyFunctions writes it: %, { and } escaped as %XX.
local tag = (string.gsub(grantId, '[%%{}]', function (c) return string.format('%%%02X', string.byte(c)) end))
local family = ARGV[1] .. '{' .. tag .. '}:'
return readToken({ family .. 'rt:' .. ARGV[2], family .. 'revoked', family .. 'env:' .. ARGV[2] })`,
};

/**
 * Standalone Redis only: the whole rotation in one step — reserve the successor's index (SET NX),
 * keep the old token's index as long as its retained record, then {@link rotate}; a lost rotation
 * releases the reservation. KEYS[1] = successor index, KEYS[2] = old token's index, KEYS[3..6] =
 * rotate's KEYS. ARGV[1] = grant id, ARGV[2] = the indexes' TTL ms, ARGV[3..] = rotate's ARGV.
 * Returns 1 when rotated, 0 (nothing written) otherwise.
 */
const rotateIndexed: ScriptDefinition = {
  numberOfKeys: 6,
  lua: `
local function rotate(KEYS, ARGV)
${rotate.lua}
end
if not redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2], 'NX') then return 0 end
local current = redis.call('PTTL', KEYS[2])
if current == -1 or (current ~= -2 and current < tonumber(ARGV[2])) then redis.call('PEXPIRE', KEYS[2], ARGV[2]) end
if rotate({ KEYS[3], KEYS[4], KEYS[5], KEYS[6] }, { unpack(ARGV, 3) }) == 1 then return 1 end
redis.call('DEL', KEYS[1])
return 0`,
};

/** Every script, by the name the adapter calls it. */
export const SCRIPTS = {
  insert,
  consumeCode,
  rotate,
  readToken,
  readTokenIndexed,
  rotateIndexed,
  extendTtl,
  revokeGrant,
  reserveUserCode,
  releaseUserCode,
  decideDevice,
  pollDevice,
  consumeDevice,
} as const satisfies Record<string, ScriptDefinition>;

export type ScriptName = keyof typeof SCRIPTS;
