// lib/storage/memory-storage.ts
// The in-memory StorageAdapter: single-process, for development, tests and single-instance hosts.
import { ConfigurationError } from '../errors';
import type {
  AuthorizationCodeRecord,
  DeviceCodeRecord,
  DevicePollResult,
  RefreshTokenRecord,
  StorageAdapter,
} from './types';
import { DEVICE_CODE_GRACE_MS } from './retention';

/** Options for {@link createMemoryStorage}. */
export interface MemoryStorageOptions {
  /** Milliseconds-since-epoch clock used to evict expired records. Defaults to `Date.now`. */
  clock?: () => number;
  /** How often expired records are swept, in ms. Defaults to 60 000. The timer is unref'd. */
  sweepIntervalMs?: number;
  /**
   * Most records kept per kind (codes, refresh tokens, device codes, grant marks).
   * When full, expired records are swept first; if it is still full the write rejects
   * (the client gets a 500) rather than evicting live tokens. Defaults to 2 000 000.
   */
  maxEntriesPerKind?: number;
}

/** The in-memory adapter, plus housekeeping helpers for tests and shutdown. */
export interface MemoryStorage extends StorageAdapter {
  /** Deletes every expired record now; returns how many were removed. */
  sweep(): number;
  /** Number of records held, per kind. */
  size(): { codes: number; refreshTokens: number; deviceCodes: number; revokedGrants: number };
  /** Stops the sweep timer. */
  close(): void;
}

/**
 * Creates the in-memory storage adapter. Every compare-and-set runs its check and its write
 * in the same synchronous turn (no `await` in between), which is what makes it atomic in a
 * single Node process. Records are copied and deeply frozen on the way in and handed out
 * frozen, so callers cannot mutate stored state. State is lost on restart and not shared between processes: use the SQLite or
 * Redis adapter for that.
 */
export function createMemoryStorage(options: MemoryStorageOptions = {}): MemoryStorage {
  const clock = options.clock ?? Date.now;
  const sweepIntervalMs = options.sweepIntervalMs ?? 60_000;
  const maxEntries = options.maxEntriesPerKind ?? 2_000_000;
  if (!Number.isInteger(sweepIntervalMs) || sweepIntervalMs <= 0) {
    throw new ConfigurationError('ERR_TOKEN_ROUTER_STORAGE', ['createMemoryStorage: sweepIntervalMs must be a positive integer (milliseconds).']);
  }
  if (!Number.isInteger(maxEntries) || maxEntries <= 0) {
    throw new ConfigurationError('ERR_TOKEN_ROUTER_STORAGE', ['createMemoryStorage: maxEntriesPerKind must be a positive integer.']);
  }

  const codes = new Map<string, AuthorizationCodeRecord>();
  const refreshTokens = new Map<string, RefreshTokenRecord>();
  const envelopes = new Map<string, Buffer>();
  const revokedGrants = new Map<string, { revokedAt: number; retainUntil: number }>();
  const deviceCodes = new Map<string, DeviceCodeRecord>();
  const deviceCodeByUserCode = new Map<string, string>();

  function sweep(): number {
    const now = clock();
    let removed = 0;
    for (const [key, record] of codes) if (record.expiresAt <= now && codes.delete(key)) removed += 1;
    for (const [key, record] of refreshTokens) {
      if (Math.max(record.expiresAt, record.retainUntil ?? 0) <= now && refreshTokens.delete(key)) {
        envelopes.delete(key);
        removed += 1;
      }
    }
    for (const [key, mark] of revokedGrants) if (mark.retainUntil <= now && revokedGrants.delete(key)) removed += 1;
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
    // Only rotated tokens have an envelope; reading one back (a retry) is rare.
    const envelope = stored.consumedAt === undefined ? undefined : envelopes.get(stored.tokenHash);
    const record = envelope === undefined ? stored : Object.freeze({ ...stored, successorEnvelope: envelope.toString('utf8') });
    const mark = revokedGrants.get(record.grantId);
    return mark && record.revokedAt === undefined ? Object.freeze({ ...record, revokedAt: mark.revokedAt }) : record;
  }

  const timer = setInterval(sweep, sweepIntervalMs);
  timer.unref();

  return {
    async saveAuthorizationCode(record) {
      if (codes.has(record.codeHash)) throw new Error('authorization code hash already stored');
      ensureRoom(codes, 'authorization codes');
      codes.set(record.codeHash, freezeRecord(record));
    },
    async findAuthorizationCode(codeHash) {
      return codes.get(codeHash);
    },
    async consumeAuthorizationCode(codeHash, consumedAt) {
      const record = codes.get(codeHash);
      if (!record || record.consumedAt !== undefined) return false;
      codes.set(codeHash, Object.freeze({ ...record, consumedAt }));
      return true;
    },

    async saveRefreshToken(record) {
      if (refreshTokens.has(record.tokenHash)) throw new Error('refresh token hash already stored');
      ensureRoom(refreshTokens, 'refresh tokens');
      refreshTokens.set(record.tokenHash, freezeRecord(record));
    },
    async findRefreshToken(tokenHash) {
      const record = refreshTokens.get(tokenHash);
      return record && withRevocation(record);
    },
    async rotateRefreshToken(oldHash, successor, consumedAt, successorEnvelope) {
      const old = refreshTokens.get(oldHash);
      if (!old || old.consumedAt !== undefined || old.revokedAt !== undefined) return false;
      if (revokedGrants.has(old.grantId) || refreshTokens.has(successor.tokenHash)) return false;
      ensureRoom(refreshTokens, 'refresh tokens');
      const retainUntil = Math.max(old.expiresAt, successor.expiresAt);
      refreshTokens.set(oldHash, Object.freeze({ ...old, consumedAt, retainUntil }));
      // Kept off the V8 heap: a ~1.4 KB string per rotation would be copied by every scavenge it
      // survives and scanned by every major GC while its token is retained. Envelopes are
      // stored as UTF-8 bytes (base64url is ASCII: one byte per character).
      if (successorEnvelope !== undefined) envelopes.set(oldHash, Buffer.from(successorEnvelope, 'utf8'));
      refreshTokens.set(successor.tokenHash, freezeRecord(successor));
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

    async saveDeviceCode(record) {
      if (deviceCodes.has(record.deviceCodeHash)) throw new Error('device code hash already stored');
      const holder = deviceCodeByUserCode.get(record.userCodeHash);
      const live = holder === undefined ? undefined : deviceCodes.get(holder);
      if (live && live.expiresAt > clock()) return false;
      ensureRoom(deviceCodes, 'device codes');
      deviceCodes.set(record.deviceCodeHash, freezeRecord(record));
      deviceCodeByUserCode.set(record.userCodeHash, record.deviceCodeHash);
      return true;
    },
    async findDeviceCode(deviceCodeHash) {
      return deviceCodes.get(deviceCodeHash);
    },
    async findDeviceCodeByUserCode(userCodeHash) {
      const key = deviceCodeByUserCode.get(userCodeHash);
      return key === undefined ? undefined : deviceCodes.get(key);
    },
    async decideDeviceCode(userCodeHash, decision) {
      const key = deviceCodeByUserCode.get(userCodeHash);
      const record = key === undefined ? undefined : deviceCodes.get(key);
      if (key === undefined || !record || record.status !== 'pending') return false;
      deviceCodes.set(
        key,
        Object.freeze(decision.status === 'approved' ? { ...record, status: 'approved' as const, session: freezeRecord(decision.session) } : { ...record, status: 'denied' as const }),
      );
      return true;
    },
    async pollDeviceCode(deviceCodeHash, at, slowDownSeconds, maxIntervalSeconds): Promise<DevicePollResult | undefined> {
      const record = deviceCodes.get(deviceCodeHash);
      if (!record) return undefined;
      const tooSoon = record.lastPolledAt !== undefined && at - record.lastPolledAt < record.interval * 1000;
      const grown = maxIntervalSeconds === undefined ? record.interval + slowDownSeconds : Math.max(record.interval, Math.min(record.interval + slowDownSeconds, maxIntervalSeconds));
      const updated: DeviceCodeRecord = Object.freeze({ ...record, lastPolledAt: at, interval: tooSoon ? grown : record.interval });
      deviceCodes.set(deviceCodeHash, updated);
      return { record: updated, tooSoon };
    },
    async consumeDeviceCode(deviceCodeHash, consumedAt) {
      const record = deviceCodes.get(deviceCodeHash);
      if (!record || record.status !== 'approved' || record.consumedAt !== undefined) return false;
      deviceCodes.set(deviceCodeHash, Object.freeze({ ...record, consumedAt }));
      return true;
    },

    sweep,
    size: () => ({ codes: codes.size, refreshTokens: refreshTokens.size, deviceCodes: deviceCodes.size, revokedGrants: revokedGrants.size }),
    close: () => clearInterval(timer),
  };
}

// Records hold primitives, string arrays and (in `claims`/`session`) plain JSON data. They are
// stored deeply frozen and handed out as they are: nobody can change what is stored, and a read
// costs no copy (the refresh hot path reads and writes one record per request). A frozen array
// of primitives in the input (a parent token's scope, say) is immutable already and is shared,
// not copied again, so a long-lived family does not multiply identical arrays. (No WeakSet of
// "ours" objects: with millions of records its ephemeron table would slow every major GC.)
function freezeRecord<T extends object>(record: T): T {
  const out = { ...record } as Record<string, unknown>;
  for (const key of Object.keys(out)) {
    const value = out[key];
    if (value === null || typeof value !== 'object') continue;
    if (Array.isArray(value) && Object.isFrozen(value) && value.every(isPrimitive)) continue;
    out[key] = frozenClone(value);
  }
  return Object.freeze(out) as T;
}

function isPrimitive(value: unknown): boolean {
  return value === null || typeof value !== 'object';
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
