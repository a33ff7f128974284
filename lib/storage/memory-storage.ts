// lib/storage/memory-storage.ts
// The in-memory StorageAdapter: single-process, for development, tests and single-instance hosts.
import { ConfigurationError } from '../contracts/errors';
import { checkFunction, checkKeys, isPlainObject } from '../options/checks';
import type { AuthorizationCodeRecord, DeviceCodeRecord, DevicePollResult, RefreshTokenRecord, SessionFacts, StorageAdapter } from '../contracts/storage';
import { DEVICE_CODE_GRACE_MS, SUCCESSOR_ENVELOPE_RETENTION_MS } from './retention';

/** Options for {@link createMemoryStorage}. */
export interface MemoryStorageOptions {
  /** Milliseconds-since-epoch clock used to evict expired records. Defaults to `Date.now`. */
  clock?: () => number;
  /** How often expired records are swept, in ms. Defaults to 60 000. The timer is unref'd. */
  sweepIntervalMs?: number;
  /**
   * Most records kept per kind (codes, refresh tokens, device codes, grant marks, revoked
   * access tokens, one-time uses).
   * When full, expired records are swept first; if it is still full the write rejects
   * (the client gets a 500) rather than evicting live tokens. Defaults to 2 000 000.
   */
  maxEntriesPerKind?: number;
}

/** Every option of {@link MemoryStorageOptions}: adding one there without listing it here does not compile. */
const KNOWN_OPTIONS: { readonly [K in keyof Required<MemoryStorageOptions>]: true } = { clock: true, sweepIntervalMs: true, maxEntriesPerKind: true };

/** The in-memory adapter, plus housekeeping helpers for tests and shutdown. */
export interface MemoryStorage extends StorageAdapter {
  /** Deletes every expired record now, and drops retry envelopes past their retention; returns how many records were removed. */
  sweep(): number;
  /** Number of records held, per kind. */
  size(): {
    /** Authorization codes, consumed ones included. */
    codes: number;
    /** Refresh tokens, rotated ones included. */
    refreshTokens: number;
    /** Device authorization requests. */
    deviceCodes: number;
    /** Revocation marks of grants. */
    revokedGrants: number;
  };
  /** Stops the sweep timer. */
  close(): void;
}

/**
 * Creates the in-memory storage adapter. Every compare-and-set runs its check and its write
 * in the same synchronous turn (no `await` in between), which is what makes it atomic in a
 * single Node process. Records are copied on the way in (nested data deeply frozen) and
 * handed out as copies, so callers cannot mutate stored state. State is lost on restart and not shared between processes: use the SQLite or
 * Redis adapter for that.
 */
export function createMemoryStorage(options: MemoryStorageOptions = {}): MemoryStorage {
  const given: unknown = options; // checked as it came, not as the type claims
  if (!isPlainObject(given)) {
    throw new ConfigurationError('ERR_TOKEN_ROUTER_STORAGE', ['createMemoryStorage: options must be an object { clock?, sweepIntervalMs?, maxEntriesPerKind? } (or omitted).']);
  }
  const problems: string[] = [];
  checkKeys(given, 'createMemoryStorage', Object.keys(KNOWN_OPTIONS), problems);
  const clock = options.clock ?? Date.now;
  const sweepIntervalMs = options.sweepIntervalMs ?? 60_000;
  const maxEntries = options.maxEntriesPerKind ?? 2_000_000;
  checkFunction(clock, 'createMemoryStorage: clock', 'a function returning ms since the epoch', problems);
  if (!Number.isInteger(sweepIntervalMs) || sweepIntervalMs <= 0) problems.push('createMemoryStorage: sweepIntervalMs must be a positive integer (milliseconds).');
  if (!Number.isInteger(maxEntries) || maxEntries <= 0) problems.push('createMemoryStorage: maxEntriesPerKind must be a positive integer.');
  if (problems.length > 0) throw new ConfigurationError('ERR_TOKEN_ROUTER_STORAGE', problems);

  const codes = new Map<string, AuthorizationCodeRecord>();
  // Refresh families live for days and a host may hold millions: see encodeToken below.
  const refreshTokens = new Map<string, string>();
  const revokedGrants = new Map<string, { revokedAt: number; retainUntil: number }>();
  // Revoked access tokens: jti → the token's exp (ms); swept once it has passed.
  const revokedAccessTokens = new Map<string, number>();
  // One-time values (assertion and DPoP proof jtis): key → when the value expires (ms); swept once it has passed.
  const oneTimeUses = new Map<string, number>();
  const deviceCodes = new Map<string, DeviceCodeRecord>();
  const deviceCodeByUserCode = new Map<string, string>();
  // Rotated tokens whose record still carries a retry envelope, oldest first (rotations come in
  // clock order): the sweep drops envelopes past SUCCESSOR_ENVELOPE_RETENTION_MS.
  const envelopeQueue: Array<{ readonly tokenHash: string; readonly consumedAt: number }> = [];

  function dropOldEnvelopes(now: number): void {
    let done = 0;
    while (done < envelopeQueue.length && envelopeQueue[done].consumedAt + SUCCESSOR_ENVELOPE_RETENTION_MS <= now) {
      const stored = refreshTokens.get(envelopeQueue[done].tokenHash);
      if (stored !== undefined) {
        const { successorEnvelope: _dropped, ...rest } = decodeToken(stored);
        refreshTokens.set(envelopeQueue[done].tokenHash, encodeToken(rest));
      }
      done += 1;
    }
    envelopeQueue.splice(0, done);
  }

  function sweep(): number {
    const now = clock();
    let removed = 0;
    dropOldEnvelopes(now);
    // A consumed code stays until its retainUntil (replay detection), an unused one until it expires.
    for (const [key, record] of codes) if (Math.max(record.expiresAt, record.retainUntil ?? 0) <= now && codes.delete(key)) removed += 1;
    for (const [key, record] of refreshTokens) {
      if (purgeAtOf(record) <= now && refreshTokens.delete(key)) {
        removed += 1;
      }
    }
    for (const [key, mark] of revokedGrants) if (mark.retainUntil <= now && revokedGrants.delete(key)) removed += 1;
    for (const [jti, expiresAt] of revokedAccessTokens) if (expiresAt <= now && revokedAccessTokens.delete(jti)) removed += 1;
    for (const [key, expiresAt] of oneTimeUses) if (expiresAt <= now && oneTimeUses.delete(key)) removed += 1;
    for (const [key, record] of deviceCodes) {
      // Kept a while past expiry so a late poll still hears expired_token (RFC 8628 §3.5), not invalid_grant.
      if (record.expiresAt + DEVICE_CODE_GRACE_MS > now) continue;
      deviceCodes.delete(key);
      if (deviceCodeByUserCode.get(record.userCodeHash) === key) deviceCodeByUserCode.delete(record.userCodeHash);
      removed += 1;
    }
    return removed;
  }

  function ensureRoom(map: Map<string, unknown>, kind: string): void {
    if (map.size < maxEntries) return;
    sweep();
    if (map.size >= maxEntries) throw new Error(`memory storage is full: ${map.size} ${kind} (maxEntriesPerKind)`);
  }

  function withRevocation(stored: RefreshTokenRecord): RefreshTokenRecord {
    const record = stored;
    const mark = revokedGrants.get(record.grantId);
    // Decoded just now: the caller gets its own object, no copy needed.
    return mark && record.revokedAt === undefined ? { ...record, revokedAt: mark.revokedAt } : record;
  }

  const timer = setInterval(sweep, sweepIntervalMs);
  timer.unref();

  return {
    async saveAuthorizationCode(record) {
      if (codes.has(record.codeHash)) throw new Error('authorization code hash already stored');
      ensureRoom(codes, 'authorization codes');
      codes.set(record.codeHash, storedCopy(record));
    },
    async findAuthorizationCode(codeHash) {
      const record = codes.get(codeHash);
      return record && { ...record };
    },
    async consumeAuthorizationCode(codeHash, consumedAt, retainUntil) {
      const record = codes.get(codeHash);
      if (!record || record.consumedAt !== undefined) return false;
      codes.set(codeHash, { ...record, consumedAt, ...(retainUntil !== undefined && { retainUntil }) });
      return true;
    },

    async saveRefreshToken(record) {
      if (refreshTokens.has(record.tokenHash)) throw new Error('refresh token hash already stored');
      ensureRoom(refreshTokens, 'refresh tokens');
      refreshTokens.set(record.tokenHash, encodeToken(record));
    },
    async findRefreshToken(tokenHash) {
      const stored = refreshTokens.get(tokenHash);
      const record = stored === undefined ? undefined : decodeToken(stored);
      return record && withRevocation(record);
    },
    async rotateRefreshToken(oldHash, successor, consumedAt, successorEnvelope) {
      const stored = refreshTokens.get(oldHash);
      const old = stored === undefined ? undefined : decodeToken(stored);
      if (!old || old.consumedAt !== undefined || old.revokedAt !== undefined) return false;
      if (revokedGrants.has(old.grantId) || refreshTokens.has(successor.tokenHash)) return false;
      ensureRoom(refreshTokens, 'refresh tokens');
      const retainUntil = Math.max(old.expiresAt, successor.expiresAt);
      refreshTokens.set(oldHash, encodeToken(successorEnvelope === undefined ? { ...old, consumedAt, retainUntil } : { ...old, consumedAt, retainUntil, successorEnvelope }));
      if (successorEnvelope !== undefined) envelopeQueue.push({ tokenHash: oldHash, consumedAt });
      refreshTokens.set(successor.tokenHash, encodeToken(successor));
      return true;
    },

    async revokeGrant(grantId, revokedAt, retainUntil) {
      const existing = revokedGrants.get(grantId);
      if (existing) {
        if (retainUntil > existing.retainUntil) revokedGrants.set(grantId, { ...existing, retainUntil });
        return;
      }
      ensureRoom(revokedGrants, 'revoked grants');
      revokedGrants.set(grantId, { revokedAt, retainUntil });
    },
    async isGrantRevoked(grantId) {
      return revokedGrants.has(grantId);
    },

    async revokeAccessToken(jti, expiresAt) {
      const existing = revokedAccessTokens.get(jti);
      if (existing !== undefined) {
        if (expiresAt > existing) revokedAccessTokens.set(jti, expiresAt);
        return;
      }
      ensureRoom(revokedAccessTokens, 'revoked access tokens');
      revokedAccessTokens.set(jti, expiresAt);
    },
    async isAccessTokenRevoked(jti) {
      return revokedAccessTokens.has(jti);
    },

    async recordOneTimeUse(key, expiresAt) {
      const existing = oneTimeUses.get(key);
      // An entry past its expiry (not swept yet) is no longer a use: the key may be used again.
      if (existing !== undefined && existing > clock()) return false;
      if (existing === undefined) ensureRoom(oneTimeUses, 'one-time uses');
      oneTimeUses.set(key, expiresAt);
      return true;
    },

    async saveDeviceCode(record) {
      if (deviceCodes.has(record.deviceCodeHash)) throw new Error('device code hash already stored');
      const holder = deviceCodeByUserCode.get(record.userCodeHash);
      const live = holder === undefined ? undefined : deviceCodes.get(holder);
      if (live && live.expiresAt > clock()) return false;
      ensureRoom(deviceCodes, 'device codes');
      deviceCodes.set(record.deviceCodeHash, storedCopy(record));
      deviceCodeByUserCode.set(record.userCodeHash, record.deviceCodeHash);
      return true;
    },
    async findDeviceCode(deviceCodeHash) {
      const record = deviceCodes.get(deviceCodeHash);
      return record && { ...record };
    },
    async findDeviceCodeByUserCode(userCodeHash) {
      const key = deviceCodeByUserCode.get(userCodeHash);
      const record = key === undefined ? undefined : deviceCodes.get(key);
      return record && { ...record };
    },
    async decideDeviceCode(userCodeHash, decision) {
      const key = deviceCodeByUserCode.get(userCodeHash);
      const record = key === undefined ? undefined : deviceCodes.get(key);
      if (key === undefined || !record || record.status !== 'pending') return false;
      deviceCodes.set(
        key,
        decision.status === 'approved' ? { ...record, status: 'approved' as const, session: frozenClone(decision.session) as SessionFacts } : { ...record, status: 'denied' as const },
      );
      return true;
    },
    async pollDeviceCode(deviceCodeHash, at, slowDownSeconds, maxIntervalSeconds): Promise<DevicePollResult | undefined> {
      const record = deviceCodes.get(deviceCodeHash);
      if (!record) return undefined;
      const tooSoon = record.lastPolledAt !== undefined && at - record.lastPolledAt < record.interval * 1000;
      const grown = maxIntervalSeconds === undefined ? record.interval + slowDownSeconds : Math.max(record.interval, Math.min(record.interval + slowDownSeconds, maxIntervalSeconds));
      const updated: DeviceCodeRecord = { ...record, lastPolledAt: at, interval: tooSoon ? grown : record.interval };
      deviceCodes.set(deviceCodeHash, updated);
      return { record: { ...updated }, tooSoon };
    },
    async consumeDeviceCode(deviceCodeHash, consumedAt) {
      const record = deviceCodes.get(deviceCodeHash);
      if (!record || record.status !== 'approved' || record.consumedAt !== undefined) return false;
      deviceCodes.set(deviceCodeHash, { ...record, consumedAt });
      return true;
    },

    sweep,
    size: () => ({ codes: codes.size, refreshTokens: refreshTokens.size, deviceCodes: deviceCodes.size, revokedGrants: revokedGrants.size }),
    close: () => clearInterval(timer),
  };
}

// Refresh-token records are kept as one string each: "<purgeAt>|<JSON>". A record as a JS object
// is ~8 heap objects (the object, its strings, and a HeapNumber per millisecond timestamp, which
// do not fit a small integer); as a string it is one object that the GC never has to trace into.
// With a million live families that halves the heap and most of the marking work of every major
// GC (bench growth runs), for ~3 µs of JSON per refresh. Every read decodes a fresh object, so
// callers can never change what is stored. The purge time leads the string so a sweep does not
// parse JSON.
function encodeToken(record: RefreshTokenRecord): string {
  return `${Math.max(record.expiresAt, record.retainUntil ?? 0)}|${JSON.stringify(record)}`;
}

function decodeToken(stored: string): RefreshTokenRecord {
  return JSON.parse(stored.slice(stored.indexOf('|') + 1)) as RefreshTokenRecord;
}

function purgeAtOf(stored: string): number {
  return Number(stored.slice(0, stored.indexOf('|')));
}

// Records hold primitives, string arrays and (in `claims`/`session`) plain JSON data. The
// nested arrays and objects are stored deeply frozen, so they can be shared with callers and
// between the records of one family (a successor reuses its parent's scope array). The records
// themselves are stored as plain objects and handed out as shallow copies: a frozen or
// non-extensible object costs V8 ~440 bytes instead of ~130 (measured), which at a million
// live families is 300 MB more heap for every major GC to mark.
function storedCopy<T extends object>(record: T): T {
  const out = { ...record } as Record<string, unknown>;
  for (const key of Object.keys(out)) {
    const value = out[key];
    if (value !== null && typeof value === 'object' && !isDeepFrozen(value)) out[key] = frozenClone(value);
  }
  return out as T;
}

function isDeepFrozen(value: object): boolean {
  if (!Object.isFrozen(value)) return false;
  for (const member of Object.values(value)) if (member !== null && typeof member === 'object' && !isDeepFrozen(member)) return false;
  return true;
}

// A plain recursive clone, not structuredClone: under test runners that run code in a vm
// context (jest), structuredClone builds objects of the outer realm, whose TypeErrors on
// mutation would not be `instanceof TypeError` for the caller.
function frozenClone(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return Object.freeze(value.map(frozenClone));
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value)) out[key] = frozenClone((value as Record<string, unknown>)[key]);
  return Object.freeze(out);
}
