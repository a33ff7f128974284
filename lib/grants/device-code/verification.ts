// lib/grants/device-code/verification.ts
// RFC 8628 §3.3: the host's verification-page API (look up a user code, approve, deny), with a
// brute-force limit on wrong codes per caller key.
import { DEFAULTS } from '../../options/defaults';
import { isIP } from 'node:net';
import { MemoryStore, type Options as RateLimitLibraryOptions, type Store } from 'express-rate-limit';
import type { ClientRegistry, RegisteredClient } from '../../contracts/clients';
import type { TokenEndpointEvent } from '../../contracts/events';
import type { DeviceCodeRecord, DeviceCodeStore, SessionFacts } from '../../contracts/storage';
import type { SubjectResolver } from '../../contracts/subjects';
import { ipKey } from '../../endpoint/brute-force';
import { assertLocalSubject } from '../../issuance/subjects';
import { formatUserCode, hashUserCode, normalizeUserCode } from './user-codes';
import type { DeviceCodeSettings } from './settings';

/** What a lookup of a user code found. */
export type DeviceLookupResult =
  | {
      /** Waiting for the user's decision: show the consent page. */
      readonly status: 'pending';
      /** The code as it should be shown (normalised, with dashes). */
      readonly userCode: string;
      /** The device's client. */
      readonly clientId: string;
      /** The client's registry record without secret material, for the consent page. */
      readonly client: RegisteredClient | undefined;
      /** The scope the device asked for. */
      readonly scope: readonly string[];
      /** The resource indicators (RFC 8707) the device asked for, for the consent page; absent when none. */
      readonly resources?: readonly string[];
      /** ms since the epoch. */
      readonly expiresAt: number;
    }
  | {
      /** No live request has this code (mistyped, never issued, or already deleted). */
      readonly status: 'invalid';
    }
  | {
      /** The request's lifetime (`expiresIn`) has passed. */
      readonly status: 'expired';
    }
  | {
      /** Already approved or denied. */
      readonly status: 'already_decided';
    }
  | {
      /** Too many wrong codes from this key: tell the user to wait. */
      readonly status: 'rate_limited';
      /** Seconds until the key may try again. */
      readonly retryAfterSeconds: number;
    };

/** Outcome of approve/deny. */
export type DeviceDecisionResult =
  | {
      /** The decision was recorded; the polling device gets tokens or `access_denied`. */
      readonly status: 'approved' | 'denied';
    }
  | Exclude<
      DeviceLookupResult,
      {
        /** Every lookup outcome but `pending`: a decision is never left pending. */
        status: 'pending';
      }
    >;

/** The user who approves, with the same session facts a code carries. */
export type DeviceApproval = SessionFacts;

/** Context of a verification call. */
export interface VerificationContext {
  /**
   * Who is trying codes, for brute-force limiting: pass `req.ip` (or a session id). An IP address
   * is grouped like the token endpoint's limiters group addresses (IPv6 by its /56 prefix), so
   * the addresses of one host count as one. Without a key every caller shares one counter, which
   * lets one attacker lock out everybody.
   */
  readonly key?: string;
}

/**
 * The host's verification-page API (RFC 8628 §3.3): look up the request behind a user code,
 * then approve it for the signed-in user or deny it. User codes are matched case-insensitively,
 * ignoring dashes and spaces.
 */
export interface DeviceVerification {
  /** Finds the pending request behind a user code, for the consent page. Counts misses per `context.key`. */
  lookup(userCode: string, context?: VerificationContext): Promise<DeviceLookupResult>;
  /** Approves the request for the signed-in user (once: a second decision is `already_decided`). */
  approve(userCode: string, approval: DeviceApproval, context?: VerificationContext): Promise<DeviceDecisionResult>;
  /** Denies the request: the device's next poll gets `access_denied` (RFC 8628 §3.5). */
  deny(userCode: string, context?: VerificationContext): Promise<DeviceDecisionResult>;
}

/** What the verification API needs. */
export interface DeviceVerificationDeps {
  readonly settings: DeviceCodeSettings;
  readonly storage: Pick<DeviceCodeStore, 'findDeviceCodeByUserCode' | 'decideDeviceCode'>;
  readonly clients: ClientRegistry;
  readonly subjects: SubjectResolver;
  readonly clock: () => number;
  readonly emit: (event: TokenEndpointEvent) => void;
}

const MAX_USER_CODE_INPUT = 64;

/** Builds the host's verification API. */
export function createDeviceVerification(deps: DeviceVerificationDeps): DeviceVerification {
  const { settings } = deps;
  const attempts = settings.userCodeAttempts;
  const windowMs = attempts?.windowMs ?? DEFAULTS.userCodeAttempts.windowMs;
  const limit = attempts?.limit ?? DEFAULTS.userCodeAttempts.limit;
  const store: Store = attempts?.store ?? new MemoryStore();
  store.init?.({ windowMs } as RateLimitLibraryOptions);
  // A key that is an IP address is grouped as the token endpoint's limiters group addresses (IPv6
  // by prefix): otherwise every address of one /64 would get its own guesses.
  const keyOf = (context: VerificationContext | undefined) => {
    const key = context?.key;
    return `device-user-code|${key === undefined ? 'anonymous' : isIP(key) !== 0 ? `ip:${ipKey(key)}` : key}`;
  };

  async function find(userCode: string, context: VerificationContext | undefined): Promise<{ record?: DeviceCodeRecord; result?: DeviceLookupResult }> {
    // Count first, then look: parallel guesses cannot all read a counter below the limit.
    // A right code gives its count back, so only misses add up.
    const key = keyOf(context);
    const { totalHits, resetTime } = await store.increment(key);
    if (totalHits > limit) {
      // Audited like the endpoint's limiters; the caller key is left out (it may be a session id).
      deps.emit({ type: 'rate_limited', at: deps.clock(), limiter: 'deviceCode.userCodeAttempts' });
      return { result: { status: 'rate_limited', retryAfterSeconds: Math.max(1, Math.ceil(((resetTime?.getTime() ?? Date.now() + windowMs) - Date.now()) / 1000)) } };
    }
    const normalized = typeof userCode === 'string' && userCode.length <= MAX_USER_CODE_INPUT ? normalizeUserCode(userCode) : '';
    const record = normalized.length === settings.userCode.length ? await deps.storage.findDeviceCodeByUserCode(hashUserCode(normalized)) : undefined;
    const now = deps.clock();
    if (!record || now >= record.expiresAt) return { result: record ? { status: 'expired' } : { status: 'invalid' } };
    await store.decrement(key);
    if (record.status !== 'pending') return { record, result: { status: 'already_decided' } };
    return { record };
  }

  return {
    async lookup(userCode, context) {
      const { record, result } = await find(userCode, context);
      if (result) return result;
      const found = record as DeviceCodeRecord;
      return {
        status: 'pending',
        userCode: formatUserCode(normalizeUserCode(userCode), settings.userCode),
        clientId: found.clientId,
        client: publicView(await deps.clients.findClient(found.clientId)),
        scope: found.scope,
        ...(found.resources !== undefined && { resources: found.resources }),
        expiresAt: found.expiresAt,
      };
    },
    async approve(userCode, approval, context) {
      checkApproval(approval);
      const { record, result } = await find(userCode, context);
      if (result) return result as DeviceDecisionResult;
      const found = record as DeviceCodeRecord;
      const client = await deps.clients.findClient(found.clientId);
      // A pairwise client without a usable sector must fail here, not when the device polls.
      if (client) deps.subjects.subjectFor(client, approval.subject);
      const session: SessionFacts = { ...approval, ...(approval.amr !== undefined && { amr: [...approval.amr] }) };
      if (!(await deps.storage.decideDeviceCode(found.userCodeHash, { status: 'approved', session }))) return { status: 'already_decided' };
      deps.emit({ type: 'device_code.approved', at: deps.clock(), grantId: found.grantId, clientId: found.clientId, subject: approval.subject });
      return { status: 'approved' };
    },
    async deny(userCode, context) {
      const { record, result } = await find(userCode, context);
      if (result) return result as DeviceDecisionResult;
      const found = record as DeviceCodeRecord;
      if (!(await deps.storage.decideDeviceCode(found.userCodeHash, { status: 'denied' }))) return { status: 'already_decided' };
      deps.emit({ type: 'device_code.denied', at: deps.clock(), grantId: found.grantId, clientId: found.clientId });
      return { status: 'denied' };
    },
  };
}

// A verification page may render or serialise the lookup result: never hand it secret material.
function publicView(client: RegisteredClient | undefined): RegisteredClient | undefined {
  if (!client) return undefined;
  const { client_secrets: _digests, verify_client_secret: _verify, ...rest } = client;
  return rest;
}

function checkApproval(approval: DeviceApproval): void {
  if (typeof approval !== 'object' || approval === null) throw new TypeError('approve(userCode, approval) needs an approval object with subject.');
  assertLocalSubject(approval.subject, 'approve');
  if (approval.authTime !== undefined && (!Number.isInteger(approval.authTime) || approval.authTime < 0 || approval.authTime > 1e11)) {
    throw new TypeError('approve: authTime must be whole seconds since the epoch (not milliseconds).');
  }
  if (approval.amr !== undefined && (!Array.isArray(approval.amr) || !approval.amr.every((v) => typeof v === 'string'))) {
    throw new TypeError('approve: amr must be an array of strings.');
  }
}
