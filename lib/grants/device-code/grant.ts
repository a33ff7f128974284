// lib/grants/device-code/grant.ts
// The device authorization grant (RFC 8628): polling at the token endpoint.
import { OAuthError } from '../../contracts/errors';
import type { ReplayDetection } from '../../contracts/events';
import { hashOpaqueToken } from '../../tokens/opaque-token';
import type { UserCodeAttemptOptions } from './device-authorization';
import type { DeviceCodeRecord } from '../../contracts/storage';
import type { GrantContext, GrantStrategy, TokenResponse } from '../../contracts/grant';
import { issueUserTokens } from '../../issuance/issue-tokens';

export const DEVICE_CODE_GRANT_TYPE = 'urn:ietf:params:oauth:grant-type:device_code';

/** How user codes look. */
export interface UserCodeFormat {
  /** Characters to draw from. Defaults to 20 consonants `BCDFGHJKLMNPQRSTVWXZ` (RFC 8628 §6.1). */
  readonly alphabet: string;
  /** Number of characters. Defaults to 8 (20^8 ≈ 2^34.6). */
  readonly length: number;
  /** Characters per dash-separated group when displayed (0 = no dashes). Defaults to 4: `BDFH-KLMN`. */
  readonly groupSize: number;
}

/** Built-in formats: consonants (the default, RFC 8628 §6.1) and TelenorID+'s 9 digits. */
export const USER_CODE_FORMATS: Readonly<Record<'consonants' | 'digits', UserCodeFormat>> = Object.freeze({
  consonants: { alphabet: 'BCDFGHJKLMNPQRSTVWXZ', length: 8, groupSize: 4 },
  digits: { alphabet: '0123456789', length: 9, groupSize: 0 },
});

/** Options for {@link deviceCode}. */
export interface DeviceCodeOptions {
  /** Absolute URL of your verification page (where the user types the code). Required. */
  verificationUri: string;
  /**
   * Builds `verification_uri_complete` (for QR codes). Defaults to
   * `${verificationUri}?user_code=<code>`.
   */
  verificationUriComplete?: (verificationUri: string, userCode: string) => string;
  /** Lifetime of device and user codes in seconds (60 to 3600). Defaults to 1800 (TelenorID+). */
  expiresIn?: number;
  /** Minimum polling interval in seconds (1 to 60). Defaults to 5 (RFC 8628 §3.2, TelenorID+). */
  interval?: number;
  /** User-code format: a built-in name or your own. Defaults to `'consonants'`. */
  userCode?: 'consonants' | 'digits' | UserCodeFormat;
  /**
   * Brute-force limit on wrong user codes at your verification page (per `context.key` of the
   * verification calls). Defaults to 10 misses per 15 minutes, in memory.
   */
  userCodeAttempts?: UserCodeAttemptOptions;
}

/** The built-in device_code strategy; its settings also govern the device authorization endpoint. */
export interface DeviceCodeGrant extends GrantStrategy {
  readonly grantType: typeof DEVICE_CODE_GRANT_TYPE;
  readonly settings: Readonly<{
    verificationUri: string;
    verificationUriComplete: (verificationUri: string, userCode: string) => string;
    expiresIn: number;
    interval: number;
    userCode: UserCodeFormat;
    userCodeAttempts: UserCodeAttemptOptions | undefined;
  }>;
}

/** RFC 8628 §3.5: the interval grows by 5 seconds on every slow_down… */
export const SLOW_DOWN_SECONDS = 5;
/** …up to this many seconds, so a burst of parallel polls cannot push it to hours. */
export const MAX_POLL_INTERVAL = 60;

/**
 * The device authorization grant. Requests start at `POST /deviceauthorization` on the same
 * router; the user approves on your verification page through `tokenRouter.deviceVerification`;
 * the device polls `POST /token` with `grant_type=urn:ietf:params:oauth:grant-type:device_code`.
 *
 * Polling answers (RFC 8628 §3.5): `authorization_pending`, `slow_down` (and the interval grows
 * by 5 s, stored with the request), `access_denied`, `expired_token`; once approved, tokens as the
 * authorization-code grant issues them — exactly once: a later poll is `invalid_grant` and
 * revokes what was issued.
 *
 * @see https://www.rfc-editor.org/rfc/rfc8628
 */
export function deviceCode(options: DeviceCodeOptions): DeviceCodeGrant {
  const format = typeof options?.userCode === 'object' ? options.userCode : USER_CODE_FORMATS[options?.userCode ?? 'consonants'];
  const settings = Object.freeze({
    verificationUri: options?.verificationUri,
    verificationUriComplete: options?.verificationUriComplete ?? ((uri: string, code: string) => `${uri}${uri.includes('?') ? '&' : '?'}user_code=${encodeURIComponent(code)}`),
    expiresIn: options?.expiresIn ?? 1800,
    interval: options?.interval ?? 5,
    userCode: format,
    userCodeAttempts: options?.userCodeAttempts,
  });
  return {
    grantType: DEVICE_CODE_GRANT_TYPE,
    settings,
    parameters: { device_code: { required: true, maxLength: 512 } },
    allowPublicClients: true,
    validateSetup({ storage }) {
      const problems: string[] = [];
      try {
        if (!/^https?:$/.test(new URL(settings.verificationUri).protocol)) throw new Error('scheme');
      } catch {
        problems.push(`verificationUri must be an absolute http(s) URL of your verification page; got ${JSON.stringify(settings.verificationUri)}.`);
      }
      if (!Number.isInteger(settings.expiresIn) || settings.expiresIn < 60 || settings.expiresIn > 3600) problems.push(`expiresIn must be a whole number of seconds from 60 to 3600; got ${String(settings.expiresIn)}.`);
      if (!Number.isInteger(settings.interval) || settings.interval < 1 || settings.interval > 60) problems.push(`interval must be a whole number of seconds from 1 to 60; got ${String(settings.interval)}.`);
      problems.push(...checkUserCodeFormat(format));
      const attempts = settings.userCodeAttempts;
      if (attempts?.limit !== undefined && (!Number.isInteger(attempts.limit) || attempts.limit < 1)) problems.push('userCodeAttempts.limit must be a positive whole number.');
      if (attempts?.windowMs !== undefined && (!Number.isInteger(attempts.windowMs) || attempts.windowMs < 1000)) problems.push('userCodeAttempts.windowMs must be at least 1000.');
      for (const method of ['saveDeviceCode', 'findDeviceCode', 'findDeviceCodeByUserCode', 'decideDeviceCode', 'pollDeviceCode', 'consumeDeviceCode', 'revokeGrant'] as const) {
        if (typeof storage?.[method] !== 'function') problems.push(`needs storage.${method}(); pass storage: createMemoryStorage() or a durable adapter.`);
      }
      return problems;
    },
    handle: poll,
  };
}

function checkUserCodeFormat(format: UserCodeFormat | undefined): string[] {
  if (typeof format !== 'object' || format === null) return [`userCode must be 'consonants', 'digits' or { alphabet, length, groupSize }.`];
  const problems: string[] = [];
  const alphabet = typeof format.alphabet === 'string' ? format.alphabet : '';
  if (!/^[A-Z0-9]+$/.test(alphabet) || new Set(alphabet).size !== alphabet.length || alphabet.length < 10) {
    problems.push('userCode.alphabet must be at least 10 distinct characters from A-Z and 0-9 (user codes are matched case-insensitively).');
  }
  if (!Number.isInteger(format.length) || format.length < 6 || format.length > 16) problems.push('userCode.length must be from 6 to 16.');
  else if (alphabet.length >= 2 && format.length * Math.log2(alphabet.length) < 29) {
    problems.push(`userCode has only ${(format.length * Math.log2(alphabet.length)).toFixed(1)} bits of entropy; use at least ~30 (e.g. 8 consonants or 9 digits).`);
  }
  if (!Number.isInteger(format.groupSize) || format.groupSize < 0) problems.push('userCode.groupSize must be a whole number (0 for no dashes).');
  return problems;
}

async function poll(ctx: GrantContext): Promise<TokenResponse> {
  const { storage, client } = ctx;
  const now = ctx.now();
  const hash = hashOpaqueToken(ctx.params.device_code as string);
  const record = await storage.findDeviceCode(hash);
  if (!record || record.clientId !== client.clientId) throw new OAuthError('invalid_grant', 'The device_code is invalid or was issued to another client.');
  if (record.consumedAt === undefined && now >= record.expiresAt) {
    throw new OAuthError('expired_token', 'The device_code has expired; start a new device authorization.');
  }
  // The atomic throttle comes first: of a burst of parallel polls at most one gets past it, so
  // a device that double-polls gets slow_down rather than tripping the replay revocation below.
  const polled = await storage.pollDeviceCode(hash, now, SLOW_DOWN_SECONDS, MAX_POLL_INTERVAL);
  if (!polled) throw new OAuthError('invalid_grant', 'The device_code is invalid or was issued to another client.');
  if (polled.tooSoon) {
    throw new OAuthError('slow_down', `Polling too fast: wait at least ${polled.record.interval} seconds between requests.`);
  }
  const current = polled.record;
  // Already redeemed: a second success must never happen; revoke what the first one got.
  if (current.consumedAt !== undefined) await rejectReplay(ctx, current, 'already_consumed');
  if (current.status === 'pending') throw new OAuthError('authorization_pending', 'The user has not yet approved the request.');
  if (current.status === 'denied') throw new OAuthError('access_denied', 'The user denied the request.');
  const session = current.session;
  if (!session) throw new Error('approved device code without a session');
  ctx.subjects.subjectFor(client.metadata, session.subject);
  // Stored before the consume, as in the code grant: never a used device code without its family.
  const refreshToken = await ctx.refreshTokens.issueFirst({ client, grantId: current.grantId, session, scope: current.scope, now });
  // Exactly one poll wins the approved code; the others are replays (which revoke this family).
  if (!(await storage.consumeDeviceCode(hash, now))) await rejectReplay(ctx, current, 'lost_race');
  return issueUserTokens(ctx, { session, scope: current.scope, grantId: current.grantId, refreshToken });
}

async function rejectReplay(ctx: GrantContext, record: DeviceCodeRecord, detection: ReplayDetection): Promise<never> {
  const now = ctx.now();
  // Reported before the revocation is attempted: a storage failure below must not hide the replay.
  ctx.emit({ type: 'device_code.replayed', at: now, grantId: record.grantId, clientId: record.clientId, detection });
  await ctx.storage.revokeGrant(record.grantId, now, now + ctx.refreshTokens.retentionMs(ctx.client.metadata));
  ctx.emit({ type: 'grant.revoked', at: now, grantId: record.grantId, clientId: record.clientId, reason: 'device_code_replay' });
  throw new OAuthError('invalid_grant', 'The device_code has already been used.');
}
