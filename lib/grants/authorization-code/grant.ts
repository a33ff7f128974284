// lib/grants/authorization-code/grant.ts
// The authorization_code grant (RFC 6749 §4.1.3) with PKCE (RFC 7636) and OIDC ID tokens.
import { OAuthError } from '../../contracts/errors';
import type { ReplayDetection } from '../../contracts/events';
import { hashOpaqueToken } from '../../tokens/opaque-token';
import { assertScopesAllowed } from '../../issuance/scope';
import type { AuthorizationCodeRecord } from '../../contracts/storage';
import { CODE_VERIFIER_PATTERN, verifyPkce } from './pkce';
import type { GrantContext, GrantStrategy, TokenResponse } from '../../contracts/grant';
import { issueUserTokens } from '../../issuance/issue-tokens';

/** Options for {@link authorizationCode}. */
export interface AuthorizationCodeOptions {
  /** Lifetime of minted codes in seconds (1 to 600, RFC 6749 §4.1.2). Defaults to 60. */
  codeTtl?: number;
  /**
   * Accept the `plain` PKCE method. Defaults to false: S256 only (RFC 9700 §2.1.1). Turn it on
   * only for legacy clients that cannot hash.
   */
  allowPlainPkce?: boolean;
  /** Require PKCE from confidential clients too (public clients always need it). Defaults to false. */
  requirePkceForConfidentialClients?: boolean;
}

/** The built-in authorization_code strategy; its settings also govern code minting. */
export interface AuthorizationCodeGrant extends GrantStrategy {
  readonly grantType: 'authorization_code';
  readonly settings: Readonly<Required<AuthorizationCodeOptions>>;
}

/** Longest accepted `code` (ours are 43 characters). */
const MAX_CODE_LENGTH = 512;

// One description for unknown, expired, used and foreign codes: the endpoint is no oracle.
const INVALID_CODE = 'The authorization code is invalid, expired or already used, or was issued to another client.';

/**
 * The `authorization_code` grant. Codes are minted by the host's authorization endpoint with
 * `tokenRouter.issueAuthorizationCode(...)`.
 *
 * Order of checks: code known → issued to this client → unexpired → not yet used (a replay
 * revokes the grant) → identical redirect_uri → PKCE → scope subset → atomic consume → tokens.
 * Everything is validated before the code is consumed, so a third party cannot burn someone
 * else's code with a bad request.
 *
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-4.1.3
 * @see https://www.rfc-editor.org/rfc/rfc7636#section-4.6
 */
export function authorizationCode(options: AuthorizationCodeOptions = {}): AuthorizationCodeGrant {
  const settings = Object.freeze({
    codeTtl: options.codeTtl ?? 60,
    allowPlainPkce: options.allowPlainPkce ?? false,
    requirePkceForConfidentialClients: options.requirePkceForConfidentialClients ?? false,
  });
  return {
    grantType: 'authorization_code',
    settings,
    parameters: {
      code: { required: true, maxLength: MAX_CODE_LENGTH },
      // RFC 6749 §4.1.3: required when it was in the authorization request, and the library
      // only mints codes bound to a redirect_uri, so it is always required.
      redirect_uri: { required: true, maxLength: 2048 },
      code_verifier: { maxLength: 128, pattern: CODE_VERIFIER_PATTERN, patternDescription: '43-128 characters of [A-Za-z0-9-._~]' },
    },
    allowPublicClients: true,
    validateSetup({ storage }) {
      const problems: string[] = [];
      if (!Number.isInteger(settings.codeTtl) || settings.codeTtl < 1 || settings.codeTtl > 600) {
        problems.push(`codeTtl must be an integer from 1 to 600 seconds (RFC 6749 §4.1.2 recommends at most 10 minutes); got ${String(settings.codeTtl)}.`);
      }
      for (const method of ['saveAuthorizationCode', 'findAuthorizationCode', 'consumeAuthorizationCode', 'revokeGrant'] as const) {
        if (typeof storage?.[method] !== 'function') problems.push(`needs storage.${method}(); pass storage: createMemoryStorage() or a durable adapter.`);
      }
      return problems;
    },
    handle: (ctx) => redeem(ctx, settings),
  };
}

async function redeem(ctx: GrantContext, settings: AuthorizationCodeGrant['settings']): Promise<TokenResponse> {
  const { params, storage, client } = ctx;
  const now = ctx.now();
  const record = await storage.findAuthorizationCode(hashOpaqueToken(params.code as string));
  // RFC 6749 §4.1.3: ensure the code was issued to the authenticated client. A foreign code is
  // left untouched: neither consumed nor used to revoke anything.
  if (!record || record.clientId !== client.clientId) throw new OAuthError('invalid_grant', INVALID_CODE);
  // RFC 6749 §4.1.2: a code used twice → deny, and revoke the tokens issued from it — also when
  // the second use comes after the code's expiry (checked first, so lateness cannot skip it).
  if (record.consumedAt !== undefined) await rejectReplay(ctx, record, 'already_consumed');
  if (now >= record.expiresAt) throw new OAuthError('invalid_grant', INVALID_CODE);
  // RFC 6749 §4.1.3: redirect_uri identical to the one in the authorization request, no normalisation.
  if (params.redirect_uri !== record.redirectUri) throw new OAuthError('invalid_grant', 'The redirect_uri does not match the one the code was issued for.');
  checkPkce(ctx, record, settings);
  const scope = narrowScope(ctx.requestedScope, record.scope);
  // A misconfigured pairwise client must fail before the code is burnt, not after.
  ctx.subjects.subjectFor(client.metadata, record.subject);

  // The refresh token (per the grant's scope, not a narrowed request) is stored *before* the code
  // is consumed: a crash in between leaves the code redeemable, never a burnt code without its
  // family. If the consume below loses, the replay path revokes the grant, this token included.
  const refreshToken = await ctx.refreshTokens.issueFirst({ client, grantId: record.grantId, session: record, scope: record.scope, now });
  // The compare-and-set decides the single winner among concurrent redemptions.
  if (!(await storage.consumeAuthorizationCode(record.codeHash, now))) await rejectReplay(ctx, record, 'lost_race');

  // From here on the code is burnt: a failure below answers 500 and issues nothing (fail closed).
  return issueUserTokens(ctx, { session: record, scope, grantId: record.grantId, nonce: record.nonce, refreshToken });
}

function checkPkce(ctx: GrantContext, record: AuthorizationCodeRecord, settings: AuthorizationCodeGrant['settings']): void {
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

function narrowScope(requested: readonly string[] | undefined, granted: readonly string[]): readonly string[] {
  if (requested === undefined) return granted;
  assertScopesAllowed(requested, new Set(granted), 'this authorization code (it may only narrow the granted scope)');
  return requested;
}

async function rejectReplay(ctx: GrantContext, record: AuthorizationCodeRecord, detection: ReplayDetection): Promise<never> {
  const now = ctx.now();
  // Reported before the revocation is attempted: a storage failure below must not hide the replay.
  ctx.emit({ type: 'authorization_code.replayed', at: now, grantId: record.grantId, clientId: record.clientId, detection });
  // Revoke by grant id, not by listing tokens: tokens the winner stores later are covered too.
  await ctx.storage.revokeGrant(record.grantId, now, now + ctx.grantRetentionMs);
  ctx.emit({ type: 'grant.revoked', at: now, grantId: record.grantId, clientId: record.clientId, reason: 'authorization_code_replay' });
  throw new OAuthError('invalid_grant', INVALID_CODE);
}
