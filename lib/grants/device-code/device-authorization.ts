// lib/grants/device-code/device-authorization.ts
// RFC 8628: the device authorization endpoint and the host's verification API (look up, approve, deny).
import { randomInt, randomUUID } from 'node:crypto';
import type { Request, Response } from 'express';
import { MemoryStore, type Options as RateLimitLibraryOptions, type Store } from 'express-rate-limit';
import type { AuthenticatedClient, ClientRegistry, RegisteredClient } from '../../contracts/clients';
import { OAuthError } from '../../contracts/errors';
import type { TokenEndpointEvent } from '../../contracts/events';
import type { DeviceCodeGrant, UserCodeFormat } from './grant';
import type { FormParameters } from '../../endpoint/read-form';
import { writeJson } from '../../endpoint/respond';
import { allowedScopes, assertScopesAllowed, parseScope } from '../../issuance/scope';
import type { DeviceCodeRecord, DeviceCodeStore, SessionFacts } from '../../contracts/storage';
import { assertLocalSubject, type SubjectResolver } from '../../issuance/subjects';
import { sha256Base64Url } from '../../internal/digest';
import { createOpaqueToken } from '../../tokens/opaque-token';

/** What a lookup of a user code found. */
export type DeviceLookupResult =
  | {
      readonly status: 'pending';
      /** The code as it should be shown (normalised, with dashes). */
      readonly userCode: string;
      readonly clientId: string;
      /** The client's registry record without secret material, for the consent page. */
      readonly client: RegisteredClient | undefined;
      readonly scope: readonly string[];
      /** ms since the epoch. */
      readonly expiresAt: number;
    }
  /** No live request has this code (mistyped, never issued, or already deleted). */
  | { readonly status: 'invalid' }
  | { readonly status: 'expired' }
  /** Already approved or denied. */
  | { readonly status: 'already_decided' }
  /** Too many wrong codes from this key: tell the user to wait. */
  | { readonly status: 'rate_limited'; readonly retryAfterSeconds: number };

/** Outcome of approve/deny. */
export type DeviceDecisionResult =
  | { readonly status: 'approved' | 'denied' }
  | Exclude<DeviceLookupResult, { status: 'pending' }>;

/** The user who approves, with the same session facts a code carries. */
export type DeviceApproval = SessionFacts;

/** Options of the user-code guessing limiter (per key, usually the user's IP). */
export interface UserCodeAttemptOptions {
  /** Wrong or expired codes allowed per key and window. Defaults to 10. */
  limit?: number;
  /** Window in ms. Defaults to 15 minutes. */
  windowMs?: number;
  /** An express-rate-limit store to share counters across instances (e.g. rate-limit-redis). */
  store?: Store;
}

/** Context of a verification call. */
export interface VerificationContext {
  /**
   * Who is trying codes, for brute-force limiting: pass `req.ip` (or a session id). Without it
   * every caller shares one counter, which lets one attacker lock out everybody.
   */
  readonly key?: string;
}

/**
 * The host's verification-page API (RFC 8628 §3.3): look up the request behind a user code,
 * then approve it for the signed-in user or deny it. User codes are matched case-insensitively,
 * ignoring dashes and spaces.
 */
export interface DeviceVerification {
  lookup(userCode: string, context?: VerificationContext): Promise<DeviceLookupResult>;
  approve(userCode: string, approval: DeviceApproval, context?: VerificationContext): Promise<DeviceDecisionResult>;
  deny(userCode: string, context?: VerificationContext): Promise<DeviceDecisionResult>;
}

/** Upper case, letters and digits only: "bdfh-klmn" and "BDFH KLMN" are the same code. */
export function normalizeUserCode(input: string): string {
  return input.toUpperCase().replace(/[^A-Z0-9]/g, '');
}

/** Draws a user code (uniformly, from the CSPRNG) and formats it for display. */
export function generateUserCode(format: UserCodeFormat): { display: string; normalized: string } {
  let normalized = '';
  for (let i = 0; i < format.length; i += 1) normalized += format.alphabet[randomInt(format.alphabet.length)];
  const display = format.groupSize > 0 ? (normalized.match(new RegExp(`.{1,${format.groupSize}}`, 'g')) ?? [normalized]).join('-') : normalized;
  return { display, normalized };
}

function formatUserCode(normalized: string, format: UserCodeFormat): string {
  return format.groupSize > 0 ? (normalized.match(new RegExp(`.{1,${format.groupSize}}`, 'g')) ?? [normalized]).join('-') : normalized;
}

/** The user-code digest the store is keyed by. */
export function hashUserCode(normalized: string): string {
  return sha256Base64Url(`user_code:${normalized}`);
}

export interface DeviceAuthorizationDeps {
  readonly grant: DeviceCodeGrant;
  readonly storage: DeviceCodeStore;
  readonly clients: ClientRegistry;
  readonly subjects: SubjectResolver;
  readonly clock: () => number;
  readonly authenticate: (req: Request, form: FormParameters) => Promise<AuthenticatedClient>;
  readonly emit: (event: TokenEndpointEvent) => void;
  readonly attempts: UserCodeAttemptOptions | undefined;
}

const MAX_USER_CODE_INPUT = 64;
const MAX_SAVE_ATTEMPTS = 5;

/** Builds the POST /deviceauthorization handler (after body parsing and rate limiting). */
export function createDeviceAuthorizationHandler(deps: DeviceAuthorizationDeps): (req: Request, res: Response) => Promise<void> {
  const { settings } = deps.grant;
  return async function deviceAuthorization(req, res) {
    const form = req.body as FormParameters;
    const client = await deps.authenticate(req, form);
    if (!(client.metadata.grant_types ?? ['authorization_code']).includes(deps.grant.grantType)) {
      throw new OAuthError('unauthorized_client', 'This client is not allowed to use the device authorization grant.');
    }
    const scope = requestedScope(form, client.metadata);
    const now = deps.clock();
    const deviceCode = createOpaqueToken();
    const grantId = randomUUID();
    for (let attempt = 0; attempt < MAX_SAVE_ATTEMPTS; attempt += 1) {
      const userCode = generateUserCode(settings.userCode);
      const record: DeviceCodeRecord = {
        deviceCodeHash: deviceCode.hash,
        userCodeHash: hashUserCode(userCode.normalized),
        clientId: client.clientId,
        scope,
        grantId,
        issuedAt: now,
        expiresAt: now + settings.expiresIn * 1000,
        interval: settings.interval,
        status: 'pending',
      };
      // false: a live request holds this user code already; draw another.
      if (await deps.storage.saveDeviceCode(record)) {
        writeJson(res, 200, {
          device_code: deviceCode.value,
          user_code: userCode.display,
          verification_uri: settings.verificationUri,
          verification_uri_complete: settings.verificationUriComplete(settings.verificationUri, userCode.display),
          expires_in: settings.expiresIn,
          interval: settings.interval,
        });
        return;
      }
    }
    throw new Error(`could not draw an unused user code in ${MAX_SAVE_ATTEMPTS} attempts: the user-code space is too small for the number of live requests`);
  };
}

function requestedScope(form: FormParameters, client: RegisteredClient): string[] {
  const allowed = allowedScopes(client);
  if (form.scope !== undefined && form.scope.length > 2048) throw new OAuthError('invalid_scope', 'The scope parameter is too long.');
  const parsed = form.scope === undefined ? [] : parseScope(form.scope);
  if (parsed.length > 0) {
    assertScopesAllowed(parsed, allowed);
    return parsed;
  }
  // RFC 8628 §3.1 makes scope optional; TelenorID+ requires it. Fall back to the client's
  // default_scope when it has one, otherwise insist (never silently grant everything).
  if (client.default_scope !== undefined) {
    const fallback = parseScope(client.default_scope).filter((s) => allowed.has(s));
    if (fallback.length > 0) return fallback;
  }
  throw new OAuthError('invalid_scope', 'The scope parameter is required.');
}

/** Builds the host's verification API. */
export function createDeviceVerification(deps: Omit<DeviceAuthorizationDeps, 'authenticate'>): DeviceVerification {
  const { settings } = deps.grant;
  const windowMs = deps.attempts?.windowMs ?? 15 * 60_000;
  const limit = deps.attempts?.limit ?? 10;
  const store: Store = deps.attempts?.store ?? new MemoryStore();
  store.init?.({ windowMs } as RateLimitLibraryOptions);
  const keyOf = (context: VerificationContext | undefined) => `device-user-code|${context?.key ?? 'anonymous'}`;

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
