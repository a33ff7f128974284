// examples/own-storage/json-map-storage.ts
// A storage adapter of your own, checked by the conformance kit. It keeps every record as a JSON
// string in a Map: a template for an adapter on a key-value or document database. What makes it
// correct is the shape of each method, which carries over to a database:
// - every check-and-write happens in one step (here: no `await` between the read and the write;
//   in a database: one conditional write, e.g. `UPDATE … WHERE consumed_at IS NULL`, SET NX, a CAS);
// - records are copied in and out (JSON), so callers cannot change what is stored;
// - expiry is judged by the clock the adapter is given, never by the wall clock.
// `npm run examples` compiles it with --strict and runs it: the kit's ~140 tests under node:test,
// plain and with 1–5 ms of latency on every call.
import type { AuthorizationCodeRecord, DeviceCodeRecord, RefreshTokenRecord, StorageAdapter } from 'express-token-endpoint';
import { runStorageConformance } from 'express-token-endpoint/testing';

export interface JsonMapStorageOptions {
  /** "Now" in ms since the epoch; the kit passes its own clock. */
  readonly clock?: () => number;
}

export function createJsonMapStorage({ clock = Date.now }: JsonMapStorageOptions = {}): StorageAdapter {
  const codes = new Map<string, string>();
  const tokens = new Map<string, string>();
  const revokedGrants = new Map<string, { revokedAt: number; retainUntil: number }>();
  const revokedAccessTokens = new Map<string, number>();
  const oneTimeUses = new Map<string, number>();
  const devices = new Map<string, string>();
  const userCodes = new Map<string, string>(); // userCodeHash → deviceCodeHash of the request holding it

  const read = <T>(map: Map<string, string>, key: string): T | undefined => {
    const json = map.get(key);
    return json === undefined ? undefined : (JSON.parse(json) as T);
  };
  const write = (map: Map<string, string>, key: string, record: object): void => {
    map.set(key, JSON.stringify(record));
  };
  /** A grant's revocation mark, while it is kept. */
  const grantMark = (grantId: string) => {
    const mark = revokedGrants.get(grantId);
    return mark && mark.retainUntil > clock() ? mark : undefined;
  };

  return {
    async saveAuthorizationCode(record) {
      if (codes.has(record.codeHash)) throw new Error('authorization code hash already stored');
      write(codes, record.codeHash, record);
    },
    async findAuthorizationCode(codeHash) {
      return read<AuthorizationCodeRecord>(codes, codeHash);
    },
    async consumeAuthorizationCode(codeHash, consumedAt, retainUntil) {
      const record = read<AuthorizationCodeRecord>(codes, codeHash);
      if (!record || record.consumedAt !== undefined) return false;
      write(codes, codeHash, { ...record, consumedAt, ...(retainUntil !== undefined && { retainUntil }) });
      return true;
    },

    async saveRefreshToken(record) {
      if (tokens.has(record.tokenHash)) throw new Error('refresh token hash already stored');
      write(tokens, record.tokenHash, record);
    },
    async findRefreshToken(tokenHash) {
      const record = read<RefreshTokenRecord>(tokens, tokenHash);
      if (!record) return undefined;
      // A grant revoked after this token was saved (or before) reads as revoked: one mark per grant, no scan.
      const mark = grantMark(record.grantId);
      return mark && record.revokedAt === undefined ? { ...record, revokedAt: mark.revokedAt } : record;
    },
    async rotateRefreshToken(oldHash, successor, consumedAt, successorEnvelope) {
      const old = read<RefreshTokenRecord>(tokens, oldHash);
      if (!old || old.consumedAt !== undefined || old.revokedAt !== undefined || grantMark(old.grantId) || tokens.has(successor.tokenHash)) return false;
      const retainUntil = Math.max(old.retainUntil ?? 0, successor.expiresAt);
      write(tokens, oldHash, { ...old, consumedAt, retainUntil, ...(successorEnvelope !== undefined && { successorEnvelope }) });
      write(tokens, successor.tokenHash, successor);
      return true;
    },

    async revokeGrant(grantId, revokedAt, retainUntil) {
      const mark = revokedGrants.get(grantId);
      // Idempotent: the first revocation time stays, the longest retention wins.
      revokedGrants.set(grantId, { revokedAt: mark?.revokedAt ?? revokedAt, retainUntil: Math.max(mark?.retainUntil ?? 0, retainUntil) });
    },
    async isGrantRevoked(grantId) {
      return grantMark(grantId) !== undefined;
    },

    async revokeAccessToken(jti, expiresAt) {
      revokedAccessTokens.set(jti, Math.max(revokedAccessTokens.get(jti) ?? 0, expiresAt));
    },
    async isAccessTokenRevoked(jti) {
      return revokedAccessTokens.has(jti);
    },

    async recordOneTimeUse(key, expiresAt) {
      const until = oneTimeUses.get(key);
      if (until !== undefined && until > clock()) return false;
      oneTimeUses.set(key, expiresAt);
      return true;
    },

    async saveDeviceCode(record) {
      if (devices.has(record.deviceCodeHash)) throw new Error('device code hash already stored');
      // The user code must be unique among live requests; an expired holder gives it up.
      const holder = userCodes.get(record.userCodeHash);
      const held = holder === undefined ? undefined : read<DeviceCodeRecord>(devices, holder);
      if (held && held.expiresAt > clock()) return false;
      write(devices, record.deviceCodeHash, record);
      userCodes.set(record.userCodeHash, record.deviceCodeHash);
      return true;
    },
    async findDeviceCode(deviceCodeHash) {
      return read<DeviceCodeRecord>(devices, deviceCodeHash);
    },
    async findDeviceCodeByUserCode(userCodeHash) {
      const holder = userCodes.get(userCodeHash);
      return holder === undefined ? undefined : read<DeviceCodeRecord>(devices, holder);
    },
    async decideDeviceCode(userCodeHash, decision) {
      const holder = userCodes.get(userCodeHash);
      const record = holder === undefined ? undefined : read<DeviceCodeRecord>(devices, holder);
      if (!record || record.status !== 'pending') return false;
      write(devices, record.deviceCodeHash, decision.status === 'approved' ? { ...record, status: 'approved', session: decision.session } : { ...record, status: 'denied' });
      return true;
    },
    async pollDeviceCode(deviceCodeHash, at, slowDownSeconds, maxIntervalSeconds) {
      const record = read<DeviceCodeRecord>(devices, deviceCodeHash);
      if (!record) return undefined;
      const tooSoon = record.lastPolledAt !== undefined && at - record.lastPolledAt < record.interval * 1000;
      // Raised by slowDownSeconds, capped, and never lowered when already above the cap.
      const raised = maxIntervalSeconds === undefined ? record.interval + slowDownSeconds : Math.max(record.interval, Math.min(record.interval + slowDownSeconds, maxIntervalSeconds));
      const updated: DeviceCodeRecord = { ...record, lastPolledAt: at, interval: tooSoon ? raised : record.interval };
      write(devices, deviceCodeHash, updated);
      return { record: updated, tooSoon };
    },
    async consumeDeviceCode(deviceCodeHash, consumedAt) {
      const record = read<DeviceCodeRecord>(devices, deviceCodeHash);
      if (!record || record.status !== 'approved' || record.consumedAt !== undefined) return false;
      write(devices, deviceCodeHash, { ...record, consumedAt });
      return true;
    },
  };
}

// #region kit
// json-map-storage.test.ts: the conformance kit against the adapter above. Without describe/it
// globals the kit registers its tests with node:test (run: node --test, or this file with node).
if (require.main === module) {
  runStorageConformance({
    name: 'json map storage',
    create: (clock) => createJsonMapStorage({ clock }),
    concurrency: 20,
  });
}
// #endregion kit
