// lib/grants/device-code/grant.ts
// The device authorization grant (RFC 8628): polling at the token endpoint.
import { DEFAULTS } from '../../options/defaults';
import { checkOptionKeys, httpsUrlProblem } from '../../options/checks';
import { OAuthError } from '../../contracts/errors';
import type { ReplayDetection } from '../../contracts/events';
import { hashOpaqueToken } from '../../tokens/opaque-token';
import type { DeviceCodeRecord } from '../../contracts/storage';
import type { GrantContext, GrantStrategy, RequiredParameterSpec, TokenResponse } from '../../contracts/grant';
import { deviceAuthorizationEndpoint } from './device-authorization-endpoint';
import { checkUserCodeFormat, USER_CODE_FORMATS } from './user-codes';
import type { DeviceCodeOptions, DeviceCodeSettings } from './settings';
import { createDeviceVerification } from './verification';

/** The device_code grant type URN (RFC 8628 §3.4). */
export const DEVICE_CODE_GRANT_TYPE = 'urn:ietf:params:oauth:grant-type:device_code';

/** The storage methods the device grant calls (polling, the endpoint and the verification API). */
const REQUIRES = ['saveDeviceCode', 'findDeviceCode', 'findDeviceCodeByUserCode', 'decideDeviceCode', 'pollDeviceCode', 'consumeDeviceCode', 'revokeGrant', 'isGrantRevoked'] as const;
type Requires = (typeof REQUIRES)[number];

/** The form parameters of the device_code token request (RFC 8628 §3.4). */
export type DeviceCodeParameters = {
  /** The device_code from the device authorization response; at most 512 characters. */
  readonly device_code: RequiredParameterSpec;
};

const PARAMETERS: DeviceCodeParameters = { device_code: { required: true, maxLength: 512 } };

/** The built-in device_code strategy; its settings also govern the device authorization endpoint. */
export interface DeviceCodeGrant extends GrantStrategy<DeviceCodeParameters, Requires> {
  readonly grantType: typeof DEVICE_CODE_GRANT_TYPE;
  /** The resolved settings (defaults applied), frozen. */
  readonly settings: DeviceCodeSettings;
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
  const settings: DeviceCodeSettings = Object.freeze({
    verificationUri: options?.verificationUri,
    verificationUriComplete: options?.verificationUriComplete ?? ((uri: string, code: string) => `${uri}${uri.includes('?') ? '&' : '?'}user_code=${encodeURIComponent(code)}`),
    expiresIn: options?.expiresIn ?? DEFAULTS.deviceExpiresIn,
    interval: options?.interval ?? DEFAULTS.deviceInterval,
    userCode: format,
    userCodeAttempts: options?.userCodeAttempts,
  });
  return {
    grantType: DEVICE_CODE_GRANT_TYPE,
    settings,
    parameters: PARAMETERS,
    allowPublicClients: true,
    acceptsJsonBody: options?.acceptJsonBodies === true,
    requires: REQUIRES,
    validateSetup() {
      const problems: string[] = [];
      checkOptionKeys(options, ['verificationUri', 'verificationUriComplete', 'expiresIn', 'interval', 'userCode', 'userCodeAttempts', 'acceptJsonBodies'], problems);
      if (options?.acceptJsonBodies !== undefined && typeof options.acceptJsonBodies !== 'boolean') problems.push('acceptJsonBodies must be true or false.');
      if (typeof options?.userCodeAttempts === 'object' && options.userCodeAttempts !== null) checkOptionKeys(options.userCodeAttempts, ['limit', 'windowMs', 'store'], problems, 'userCodeAttempts.');
      const uriProblem = checkVerificationUri(settings.verificationUri);
      if (uriProblem) problems.push(uriProblem);
      if (!Number.isInteger(settings.expiresIn) || settings.expiresIn < 60 || settings.expiresIn > 3600) problems.push(`expiresIn must be a whole number of seconds from 60 to 3600; got ${String(settings.expiresIn)}.`);
      if (!Number.isInteger(settings.interval) || settings.interval < 1 || settings.interval > 60) problems.push(`interval must be a whole number of seconds from 1 to 60; got ${String(settings.interval)}.`);
      problems.push(...checkUserCodeFormat(format));
      const attempts = settings.userCodeAttempts;
      if (attempts?.limit !== undefined && (!Number.isInteger(attempts.limit) || attempts.limit < 1)) problems.push('userCodeAttempts.limit must be a positive whole number.');
      if (attempts?.windowMs !== undefined && (!Number.isInteger(attempts.windowMs) || attempts.windowMs < 1000)) problems.push('userCodeAttempts.windowMs must be at least 1000.');
      return problems;
    },
    contribute: ({ storage, clients, subjects, clock, emit, issuer, discovery, checkResources }) => ({
      endpoints: [{ ...deviceAuthorizationEndpoint({ settings, grantType: DEVICE_CODE_GRANT_TYPE, storage, clock, checkResources }), acceptsJsonBody: options?.acceptJsonBodies === true }],
      metadata: { device_authorization_endpoint: discovery.deviceAuthorizationEndpoint ?? `${issuer.replace(/\/+$/, '')}/connect/deviceauthorization` },
      hostApi: { deviceVerification: createDeviceVerification({ settings, storage, clients, subjects, clock, emit }) },
    }),
    handle: poll,
  };
}

// The user types this URL: plain http would let anyone on the path read or change the page
// (RFC 8628 §5.1 assumes TLS); http is accepted for loopback development only.
function checkVerificationUri(uri: unknown): string | undefined {
  const problem = httpsUrlProblem(uri);
  return problem && `verificationUri ${problem === 'must be an absolute URL' ? 'must be an absolute https URL of your verification page' : 'must be an https URL (http only for localhost during development)'}; got ${JSON.stringify(uri)}.`;
}

type DeviceContext = GrantContext<DeviceCodeParameters, Requires>;

async function poll(ctx: DeviceContext): Promise<TokenResponse> {
  const { storage, client } = ctx;
  const now = ctx.now();
  const hash = hashOpaqueToken(ctx.params.device_code);
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
  // A misconfigured pairwise client must fail before the code is used, not after.
  ctx.subjects.subjectFor(client.metadata, session.subject);
  // RFC 8707: the poll may narrow to some of the request's resources (never add one); the family keeps them all.
  const resources = ctx.grantResources(ctx.requestedResources, { within: current.resources ?? [], withinDescription: 'this device authorization (it may only narrow the requested resources)', fallback: current.resources });
  const familyResources = ctx.grantResources(undefined, { fallback: current.resources });
  // Stored before the consume, as in the code grant: never a used device code without its family.
  // A revoked grant (e.g. the user revoked a phished device approval) redeems nothing; checked
  // before the consume, as in the code grant (a racing revocation covers the stored family).
  if (await storage.isGrantRevoked(current.grantId)) throw new OAuthError('invalid_grant', 'The device authorization was revoked.');
  const scope = ctx.grantScope(undefined, { fallback: current.scope });
  // RFC 9449 §5: a public client's refresh tokens are bound to its DPoP key when it used one.
  const dpopJkt = client.isPublic ? ctx.request.dpopJkt : undefined;
  const refreshToken = await ctx.refreshTokens.issueFirst({ client, grantId: current.grantId, session, scope, resources: familyResources, ...(dpopJkt !== undefined && { dpopJkt }), now });
  // Exactly one poll wins the approved code; the others are replays (which revoke this family).
  if (!(await storage.consumeDeviceCode(hash, now))) await rejectReplay(ctx, current, 'lost_race');
  const tokens = await ctx.issueTokens({ session, scope, resources, grantId: current.grantId, refreshToken });
  return tokens.body;
}

async function rejectReplay(ctx: DeviceContext, record: DeviceCodeRecord, detection: ReplayDetection): Promise<never> {
  const now = ctx.now();
  // Reported before the revocation is attempted: a storage failure below must not hide the replay.
  ctx.emit({ type: 'device_code.replayed', at: now, grantId: record.grantId, clientId: record.clientId, detection });
  await ctx.storage.revokeGrant(record.grantId, now, now + ctx.refreshTokens.retentionMs(ctx.client.metadata));
  ctx.emit({ type: 'grant.revoked', at: now, grantId: record.grantId, clientId: record.clientId, reason: 'device_code_replay' });
  throw new OAuthError('invalid_grant', 'The device_code has already been used.');
}
