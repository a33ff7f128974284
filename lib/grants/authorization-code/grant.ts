// lib/grants/authorization-code/grant.ts
// The authorization_code grant (RFC 6749 §4.1.3) with PKCE (RFC 7636) and OIDC ID tokens.
import { DEFAULTS } from '../../options/defaults';
import type { AuthorizationCodeOptions, AuthorizationCodeSettings } from './settings';
import { checkOptionKeys } from '../../options/checks';
import { OAuthError } from '../../contracts/errors';
import type { ReplayDetection } from '../../contracts/events';
import { hashOpaqueToken } from '../../tokens/opaque-token';
import type { AuthorizationCodeRecord } from '../../contracts/storage';
import { CODE_VERIFIER_PATTERN, verifyPkce } from './pkce';
import type { GrantContext, GrantStrategy, ParameterSpec, RequiredParameterSpec, TokenResponse } from '../../contracts/grant';
import { sessionOf } from '../../issuance/refresh-tokens';
import { createAuthorizationRequestValidator, createAuthorizationResponseUrl } from './authorization-request';
import { createCodeMinter } from './code-minter';

/** Longest accepted `code` (ours are 43 characters). */
const MAX_CODE_LENGTH = 512;

/** The storage methods the authorization_code grant calls. */
const REQUIRES = ['saveAuthorizationCode', 'findAuthorizationCode', 'consumeAuthorizationCode', 'revokeGrant', 'isGrantRevoked'] as const;
type Requires = (typeof REQUIRES)[number];

/** The form parameters of the `authorization_code` token request (RFC 6749 §4.1.3, RFC 7636 §4.5). */
export type AuthorizationCodeParameters = {
  /** The code from the authorization response; at most 512 characters. */
  readonly code: RequiredParameterSpec;
  /** The redirect_uri of the authorization request, compared exactly. */
  readonly redirect_uri: RequiredParameterSpec;
  /** The PKCE verifier: 43 to 128 characters of `[A-Za-z0-9-._~]`. */
  readonly code_verifier: ParameterSpec;
};

const PARAMETERS: AuthorizationCodeParameters = {
  code: { required: true, maxLength: MAX_CODE_LENGTH },
  // RFC 6749 §4.1.3: required when it was in the authorization request, and the library
  // only mints codes bound to a redirect_uri, so it is always required.
  redirect_uri: { required: true, maxLength: 2048 },
  code_verifier: { maxLength: 128, pattern: CODE_VERIFIER_PATTERN, patternDescription: '43-128 characters of [A-Za-z0-9-._~]' },
};

/** The built-in authorization_code strategy; its settings also govern code minting. */
export interface AuthorizationCodeGrant extends GrantStrategy<AuthorizationCodeParameters, Requires> {
  readonly grantType: 'authorization_code';
  /** The resolved settings (defaults applied), frozen. */
  readonly settings: AuthorizationCodeSettings;
}

// One description for unknown, expired, used and foreign codes: the endpoint is no oracle.
const INVALID_CODE = 'The authorization code is invalid, expired or already used, or was issued to another client.';

/**
 * The `authorization_code` grant. Codes are minted by the host's authorization endpoint with
 * `tokenRouter.issueAuthorizationCode(...)`, which this grant contributes to the router.
 *
 * Order of checks: code known → issued to this client → unexpired → not yet used (a replay
 * revokes the grant) → identical redirect_uri → PKCE → scope subset → resource subset (RFC 8707)
 * → atomic consume → tokens.
 * Everything is validated before the code is consumed, so a third party cannot burn someone
 * else's code with a bad request.
 *
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-4.1.3
 * @see https://www.rfc-editor.org/rfc/rfc7636#section-4.6
 */
export function authorizationCode(options: AuthorizationCodeOptions = {}): AuthorizationCodeGrant {
  const settings: AuthorizationCodeSettings = Object.freeze({
    codeTtl: options.codeTtl ?? DEFAULTS.codeTtl,
    allowPlainPkce: options.allowPlainPkce ?? DEFAULTS.allowPlainPkce,
    requirePkceForConfidentialClients: options.requirePkceForConfidentialClients ?? DEFAULTS.requirePkceForConfidentialClients,
  });
  return {
    grantType: 'authorization_code',
    settings,
    parameters: PARAMETERS,
    allowPublicClients: true,
    requires: REQUIRES,
    validateSetup() {
      const problems: string[] = [];
      checkOptionKeys(options, ['codeTtl', 'allowPlainPkce', 'requirePkceForConfidentialClients'], problems);
      if (!Number.isInteger(settings.codeTtl) || settings.codeTtl < 1 || settings.codeTtl > 600) {
        problems.push(`codeTtl must be an integer from 1 to 600 seconds (RFC 6749 §4.1.2 recommends at most 10 minutes); got ${String(settings.codeTtl)}.`);
      }
      return problems;
    },
    contribute: ({ storage, clients, subjects, clock, checkResources, issuer }) => ({
      hostApi: {
        issueAuthorizationCode: createCodeMinter({ storage, clients, settings, subjects, clock, checkResources }),
        validateAuthorizationRequest: createAuthorizationRequestValidator({ clients, settings, checkResources }),
        authorizationResponseUrl: createAuthorizationResponseUrl(issuer),
      },
      metadata: { code_challenge_methods_supported: settings.allowPlainPkce ? ['S256', 'plain'] : ['S256'] },
    }),
    handle: (ctx) => redeem(ctx, settings),
  };
}

type CodeContext = GrantContext<typeof PARAMETERS, Requires>;

async function redeem(ctx: CodeContext, settings: AuthorizationCodeSettings): Promise<TokenResponse> {
  const { params, storage, client } = ctx;
  const now = ctx.now();
  const record = await storage.findAuthorizationCode(hashOpaqueToken(params.code));
  // RFC 6749 §4.1.3: ensure the code was issued to the authenticated client. A foreign code is
  // left untouched: neither consumed nor used to revoke anything.
  if (!record || record.clientId !== client.clientId) throw new OAuthError('invalid_grant', INVALID_CODE);
  // RFC 6749 §4.1.2: a code used twice → deny, and revoke the tokens issued from it — also when
  // the second use comes after the code's expiry (checked first, so lateness cannot skip it). But
  // only a replay that would otherwise have been valid (redirect_uri and PKCE verifier match)
  // revokes: anyone who merely saw a used code (logs, history, Referer) must not be able to kill
  // the user's grant with it (RFC 9700 §4.1).
  if (record.consumedAt !== undefined) await rejectReplay(ctx, record, 'already_consumed', replayWouldBeValid(ctx, record, settings));
  if (now >= record.expiresAt) throw new OAuthError('invalid_grant', INVALID_CODE);
  checkRedirectAndPkce(ctx, record, settings);
  const scope = ctx.grantScope(ctx.requestedScope, { within: record.scope, withinDescription: 'this authorization code (it may only narrow the granted scope)', fallback: record.scope });
  // RFC 8707 §2: `resource` may narrow the access token to some of the code's resources, never add one.
  const resources = ctx.grantResources(ctx.requestedResources, { within: record.resources ?? [], withinDescription: 'this authorization code (it may only narrow the granted resources)', fallback: record.resources });
  // A misconfigured pairwise client must fail before the code is burnt, not after.
  ctx.subjects.subjectFor(client.metadata, record.subject);

  // The refresh token (per the grant's scope, not a narrowed request) is stored *before* the code
  // is consumed: a crash in between leaves the code redeemable, never a burnt code without its
  // family. If the consume below loses, the replay path revokes the grant, this token included.
  // A grant revoked before this point (the user ended the session, an admin) redeems nothing. A
  // revocation racing this request may come after the check: it then covers the refresh token
  // stored below (revocation is by grant id), as if this redemption had come first. Checked
  // before the consume, so the single winner of concurrent redemptions never sees the
  // revocation its losers (replays) cause.
  if (await storage.isGrantRevoked(record.grantId)) throw new OAuthError('invalid_grant', INVALID_CODE);
  const familyScope = ctx.grantScope(undefined, { fallback: record.scope });
  const familyResources = ctx.grantResources(undefined, { fallback: record.resources });
  // RFC 9449 §5: a public client's refresh tokens are bound to its DPoP key when it used one.
  const dpopJkt = client.isPublic ? ctx.request.dpopJkt : undefined;
  const refreshToken = await ctx.refreshTokens.issueFirst({ client, grantId: record.grantId, session: record, scope: familyScope, resources: familyResources, ...(dpopJkt !== undefined && { dpopJkt }), now });
  // The compare-and-set decides the single winner among concurrent redemptions.
  if (!(await storage.consumeAuthorizationCode(record.codeHash, now, now + replayDetectionMs(ctx, refreshToken !== undefined)))) await rejectReplay(ctx, record, 'lost_race', true);

  // From here on the code is burnt: a failure below answers 500 and issues nothing (fail closed).
  const tokens = await ctx.issueTokens({ session: sessionOf(record), scope, resources, grantId: record.grantId, nonce: record.nonce, refreshToken });
  return tokens.body;
}

// Access and ID tokens live at most 24 h (the option caps).
const LONGEST_ACCESS_TOKEN_MS = 24 * 3600 * 1000;

/**
 * How long a consumed code is kept so a late replay is still recognised (RFC 6749 §4.1.2: revoke
 * the tokens issued from it): as long as its access token can live, and with a refresh token as
 * long as the family is bounded to (an absolute policy's lifetime, a sliding policy's
 * maxLifetime, else one sliding lifetime). Bounded, and a few hundred bytes per code.
 */
function replayDetectionMs(ctx: CodeContext, withRefreshToken: boolean): number {
  if (!withRefreshToken) return LONGEST_ACCESS_TOKEN_MS;
  const policy = ctx.refreshTokens.policyFor(ctx.client.metadata);
  const familySeconds = policy.type === 'absolute' ? policy.lifetime : policy.type === 'sliding' ? (policy.maxLifetime ?? policy.lifetime) : 0;
  return Math.max(LONGEST_ACCESS_TOKEN_MS, familySeconds * 1000);
}

/** Whether the request passes the code's own checks (redirect_uri, PKCE): a replay that does is the code's holder. */
function replayWouldBeValid(ctx: CodeContext, record: AuthorizationCodeRecord, settings: AuthorizationCodeSettings): boolean {
  // With plain PKCE the verifier is the challenge, which travelled in the authorization URL: a
  // replay proves nothing about who holds the code.
  if (record.codeChallengeMethod === 'plain') return false;
  try {
    checkRedirectAndPkce(ctx, record, settings);
    return true;
  } catch (error) {
    if (error instanceof OAuthError) return false;
    throw error;
  }
}

function checkRedirectAndPkce(ctx: CodeContext, record: AuthorizationCodeRecord, settings: AuthorizationCodeSettings): void {
  // RFC 6749 §4.1.3: redirect_uri identical to the one in the authorization request, no normalisation.
  if (ctx.params.redirect_uri !== record.redirectUri) throw new OAuthError('invalid_grant', 'The redirect_uri does not match the one the code was issued for.');
  checkPkce(ctx, record, settings);
  // RFC 9449 §10: a code bound with dpop_jkt is redeemed only with a proof of that key.
  if (record.dpopJkt !== undefined && ctx.request.dpopJkt !== record.dpopJkt) throw new OAuthError('invalid_grant', 'The code is bound to a DPoP key; send a DPoP proof made with it.');
}

function checkPkce(ctx: CodeContext, record: AuthorizationCodeRecord, settings: AuthorizationCodeSettings): void {
  const verifier = ctx.params.code_verifier;
  if (record.codeChallenge === undefined) {
    // RFC 9700 §2.1.1 / §4.8.2: a verifier for a code minted without a challenge is a downgrade attempt.
    if (verifier !== undefined) throw new OAuthError('invalid_grant', 'A code_verifier was sent, but the code was issued without a code_challenge.');
    // RFC 9700 §2.1.1: public clients MUST use PKCE.
    if (ctx.client.isPublic || settings.requirePkceForConfidentialClients) {
      throw new OAuthError('invalid_grant', 'This client must use PKCE, but the code was issued without a code_challenge.');
    }
    return;
  }
  if (verifier === undefined) throw new OAuthError('invalid_grant', 'The code_verifier is required: the code was issued with a code_challenge.');
  const method = record.codeChallengeMethod ?? 'S256';
  if (method === 'plain' && !settings.allowPlainPkce) throw new OAuthError('invalid_grant', 'The plain PKCE method is not allowed.');
  if (!verifyPkce(verifier, record.codeChallenge, method)) throw new OAuthError('invalid_grant', 'The code_verifier does not match the code_challenge.');
}

async function rejectReplay(ctx: CodeContext, record: AuthorizationCodeRecord, detection: ReplayDetection, verified: boolean): Promise<never> {
  const now = ctx.now();
  // Reported before the revocation is attempted: a storage failure below must not hide the replay.
  ctx.emit({ type: 'authorization_code.replayed', at: now, grantId: record.grantId, clientId: record.clientId, detection, verified });
  if (!verified) throw new OAuthError('invalid_grant', INVALID_CODE);
  // Revoke by grant id, not by listing tokens: tokens the winner stores later are covered too.
  await ctx.storage.revokeGrant(record.grantId, now, now + ctx.grantRetentionMs);
  ctx.emit({ type: 'grant.revoked', at: now, grantId: record.grantId, clientId: record.clientId, reason: 'authorization_code_replay' });
  throw new OAuthError('invalid_grant', INVALID_CODE);
}
