// lib/grants/refresh-token/grant.ts
// The refresh_token grant (RFC 6749 §6): rotation, reuse detection, the concurrent-retry window,
// session checks and the deprecated TelenorID+ tnuId profile switch.
import type { RegisteredClient } from '../../contracts/clients';
import { OAuthError } from '../../contracts/errors';
import { sessionOf } from '../../issuance/refresh-tokens';
import { openSuccessor, sealSuccessor } from './retry-envelope';
import { allowedScopes, assertScopesAllowed } from '../../issuance/scope';
import type { RefreshTokenRecord, SessionFacts } from '../../contracts/storage';
import { hashOpaqueToken } from '../../tokens/opaque-token';
import type { GrantContext, GrantStrategy, TokenResponse } from '../../contracts/grant';
import { mintUserTokens, reportUserTokens } from '../../issuance/issue-tokens';

/** What the session hook sees. */
export interface SessionCheckContext {
  readonly client: RegisteredClient;
  readonly grantId: string;
  /** The session facts stored with the refresh token. */
  readonly session: SessionFacts;
  /** The grant's scope. */
  readonly scope: readonly string[];
}

/** Fresh session facts from the host (e.g. a step-up raised acr); merged into the family. */
export type SessionUpdate = Partial<Omit<SessionFacts, 'subject'>>;

/**
 * Decides whether the user's session/grant is still valid: `false` fails the refresh with
 * invalid_grant and revokes the family; `true` or an update (merged into this and later tokens)
 * lets it proceed.
 */
export type SessionCheckHook = (context: SessionCheckContext) => boolean | SessionUpdate | Promise<boolean | SessionUpdate>;

/** What the profile-switch hook sees. */
export interface ProfileSwitchContext {
  readonly client: RegisteredClient;
  readonly grantId: string;
  readonly session: SessionFacts;
  /** The requested profile (the `tnuId` parameter, verbatim). */
  readonly tnuId: string;
}

/** Options for {@link refreshToken}. */
export interface RefreshTokenGrantOptions {
  /**
   * Concurrent-retry window in seconds: a retry of the immediately previous token by the same
   * client within this time gets the same successor pair instead of revoking the family.
   * 0 disables it (strict reuse detection). Defaults to 5. At most 60.
   */
  retryWindowSeconds?: number;
  /** Host check that the user's session or grant is still valid (SSO session ended, user disabled …). */
  checkSession?: SessionCheckHook;
  /**
   * Enables the deprecated TelenorID+ `tnuId` profile switch. `verifyProfile` must confirm the
   * profile belongs to the same user. Prefer RFC 8693 token exchange for new integrations.
   */
  profileSwitch?: {
    verifyProfile: (context: ProfileSwitchContext) => boolean | Promise<boolean>;
    /** `Deprecation` response header (RFC 9745). Defaults to `@1654041600` (2022-06-01). */
    deprecation?: string;
    /** `Link` to the successor mechanism, sent with rel="deprecation". Defaults to RFC 8693. */
    deprecationLink?: string;
  };
}

/** The scope the grant must hold for a tnuId switch (TelenorID+). */
export const PROFILE_SCOPE = 'account.profiles';
const MAX_TOKEN_LENGTH = 512;
const INVALID_TOKEN = 'The refresh token is invalid, expired or revoked, or was issued to another client.';

/**
 * The `refresh_token` grant.
 *
 * Order of checks: token known and issued to this client → not revoked → not already used (within
 * the retry window and for the immediate parent: the same successor pair; otherwise the family is
 * revoked) → unexpired → host session check → scope subset → tnuId switch → mint → atomic rotate.
 *
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-6
 * @see https://www.rfc-editor.org/rfc/rfc9700#section-4.14.2
 */
export function refreshToken(options: RefreshTokenGrantOptions = {}): GrantStrategy {
  const windowMs = (options.retryWindowSeconds ?? 5) * 1000;
  return {
    grantType: 'refresh_token',
    parameters: {
      refresh_token: { required: true, maxLength: MAX_TOKEN_LENGTH },
      tnuId: { maxLength: 256, exclusive: true },
    },
    allowPublicClients: true,
    validateSetup({ storage }) {
      const problems: string[] = [];
      const seconds = options.retryWindowSeconds;
      if (seconds !== undefined && (!Number.isInteger(seconds) || seconds < 0 || seconds > 60)) {
        problems.push(`retryWindowSeconds must be a whole number from 0 (off) to 60; got ${String(seconds)}.`);
      }
      if (options.checkSession !== undefined && typeof options.checkSession !== 'function') problems.push('checkSession must be a function.');
      if (options.profileSwitch !== undefined && typeof options.profileSwitch?.verifyProfile !== 'function') problems.push('profileSwitch.verifyProfile must be a function.');
      for (const method of ['saveRefreshToken', 'findRefreshToken', 'rotateRefreshToken', 'revokeGrant'] as const) {
        if (typeof storage?.[method] !== 'function') problems.push(`needs storage.${method}(); pass storage: createMemoryStorage() or a durable adapter.`);
      }
      return problems;
    },
    handle: (ctx) => refresh(ctx, options, windowMs),
  };
}

async function refresh(ctx: GrantContext, options: RefreshTokenGrantOptions, windowMs: number): Promise<TokenResponse> {
  const presented = ctx.params.refresh_token as string;
  const record = await ctx.storage.findRefreshToken(hashOpaqueToken(presented));
  // RFC 6749 §6 / §10.4: bound to the client. Another client's token is simply invalid, with no hint.
  if (!record || record.clientId !== ctx.client.clientId) throw new OAuthError('invalid_grant', INVALID_TOKEN);
  if (record.revokedAt !== undefined) throw new OAuthError('invalid_grant', INVALID_TOKEN);
  if (record.consumedAt !== undefined) return answerReuse(ctx, record, presented, windowMs);
  const now = ctx.now();
  if (now >= record.expiresAt || (record.familyExpiresAt !== undefined && now >= record.familyExpiresAt)) {
    throw new OAuthError('invalid_grant', INVALID_TOKEN);
  }

  // A client whose policy became `none` may not refresh the families it still has.
  if (ctx.refreshTokens.policyFor(ctx.client.metadata).type === 'none') throw new OAuthError('invalid_grant', INVALID_TOKEN);

  const session = await checkSession(ctx, options, record);
  const scope = refreshScope(ctx, record);
  const accessTokenClaims = await switchProfile(ctx, options, record, session);

  if (!ctx.refreshTokens.rotates(ctx.client)) {
    // Reuse mode (confidential clients on an absolute policy): the token stays as it is.
    const minted = await mintUserTokens(ctx, { session, scope, grantId: record.grantId, accessTokenClaims });
    reportUserTokens(ctx, minted, { grantId: record.grantId, scope });
    return minted.body;
  }

  const next = ctx.refreshTokens.successor(record, ctx.client, session, now);
  const minted = await mintUserTokens(ctx, { session, scope, grantId: record.grantId, accessTokenClaims, refreshToken: next.token.value });
  const envelope = windowMs > 0
    ? sealSuccessor(presented, { successorHash: next.record.tokenHash, accessTokenExpiresAt: minted.accessTokenExpiresAt, body: minted.body })
    : undefined;
  // One atomic step: mark the old token used and store its successor. Of N concurrent
  // refreshes exactly one wins; the others are handled as reuse (retry window or revocation).
  if (!(await ctx.storage.rotateRefreshToken(record.tokenHash, next.record, now, envelope))) {
    const current = await ctx.storage.findRefreshToken(record.tokenHash);
    if (!current || current.revokedAt !== undefined || current.consumedAt === undefined) throw new OAuthError('invalid_grant', INVALID_TOKEN);
    return answerReuse(ctx, current, presented, windowMs);
  }
  reportUserTokens(ctx, minted, { grantId: record.grantId, scope });
  return minted.body;
}

/**
 * A used token came back. Within the window, from the same client, for the immediate parent of a
 * still-live successor: answer with that successor pair (decrypted with a key only the parent's
 * holder can derive). Anything else is reuse: revoke the whole family (RFC 9700 §4.14.2).
 */
async function answerReuse(ctx: GrantContext, record: RefreshTokenRecord, presented: string, windowMs: number): Promise<TokenResponse> {
  const now = ctx.now();
  const since = now - (record.consumedAt as number);
  if (since <= windowMs && record.successorEnvelope !== undefined) {
    const sealed = openSuccessor(presented, record.successorEnvelope);
    const successor = sealed && (await ctx.storage.findRefreshToken(sealed.successorHash));
    // The successor must still be unused: a retry of a grandparent is reuse, not a retry.
    if (sealed && successor && successor.consumedAt === undefined && successor.revokedAt === undefined) {
      // A genuine retry whose sealed access token already expired (an access-token lifetime
      // shorter than the window): nothing valid to hand back, but no theft either — no revocation.
      if (sealed.accessTokenExpiresAt <= now) throw new OAuthError('invalid_grant', INVALID_TOKEN);
      ctx.emit({ type: 'refresh_token.retry_served', at: now, grantId: record.grantId, clientId: record.clientId, sinceRotationMs: since });
      return { ...sealed.body, expires_in: Math.max(1, Math.floor((sealed.accessTokenExpiresAt - now) / 1000)) } as TokenResponse;
    }
  }
  // Reported before the revocation is attempted, so a storage failure (500) cannot hide the
  // reuse; grant.revoked follows only once the revocation is stored (as for code replays).
  ctx.emit({ type: 'refresh_token.reused', at: now, grantId: record.grantId, clientId: record.clientId, sinceRotationMs: since });
  await ctx.storage.revokeGrant(record.grantId, now, now + ctx.refreshTokens.retentionMs(ctx.client.metadata));
  ctx.emit({ type: 'grant.revoked', at: now, grantId: record.grantId, clientId: record.clientId, reason: 'refresh_token_reuse' });
  throw new OAuthError('invalid_grant', INVALID_TOKEN);
}

/**
 * RFC 6749 §6: `scope` may narrow the new access token, never widen the grant. Scopes the
 * client's registration no longer allows are dropped from new access tokens (asking for one
 * explicitly is invalid_scope); the refresh token keeps the grant's scope.
 */
function refreshScope(ctx: GrantContext, record: RefreshTokenRecord): readonly string[] {
  const registered = allowedScopes(ctx.client.metadata);
  if (ctx.requestedScope === undefined) return record.scope.filter((scope) => registered.has(scope));
  assertScopesAllowed(ctx.requestedScope, new Set(record.scope), 'this refresh token (it may only narrow the granted scope)');
  assertScopesAllowed(ctx.requestedScope, registered);
  return ctx.requestedScope;
}

async function checkSession(ctx: GrantContext, options: RefreshTokenGrantOptions, record: RefreshTokenRecord): Promise<SessionFacts> {
  const session = sessionOf(record);
  if (!options.checkSession) return session;
  const verdict = await options.checkSession({ client: ctx.client.metadata, grantId: record.grantId, session, scope: record.scope });
  if (verdict === false) {
    const now = ctx.now();
    await ctx.storage.revokeGrant(record.grantId, now, now + ctx.refreshTokens.retentionMs(ctx.client.metadata));
    ctx.emit({ type: 'grant.revoked', at: now, grantId: record.grantId, clientId: record.clientId, reason: 'session_ended' });
    throw new OAuthError('invalid_grant', 'The user session behind this refresh token has ended.');
  }
  if (verdict === true) return session;
  // The subject never changes on refresh; everything else may be refreshed by the host.
  const { subject: _ignored, ...update } = verdict as SessionUpdate & { subject?: string };
  return { ...session, ...update, subject: session.subject };
}

async function switchProfile(
  ctx: GrantContext,
  options: RefreshTokenGrantOptions,
  record: RefreshTokenRecord,
  session: SessionFacts,
): Promise<Readonly<Record<string, unknown>> | undefined> {
  const tnuId = ctx.params.tnuId;
  if (tnuId === undefined) return undefined;
  if (!options.profileSwitch || ctx.client.metadata.update_access_token_claims !== true) {
    throw new OAuthError('unauthorized_client', 'This client may not switch profiles with tnuId.');
  }
  if (!record.scope.includes(PROFILE_SCOPE)) {
    throw new OAuthError('invalid_scope', `Switching profiles with tnuId needs the ${PROFILE_SCOPE} scope.`);
  }
  const ok = await options.profileSwitch.verifyProfile({ client: ctx.client.metadata, grantId: record.grantId, session, tnuId });
  if (ok !== true) throw new OAuthError('invalid_grant', 'The requested profile does not belong to this user.');
  ctx.setHeader('Deprecation', options.profileSwitch.deprecation ?? '@1654041600');
  ctx.setHeader('Link', `<${options.profileSwitch.deprecationLink ?? 'https://www.rfc-editor.org/rfc/rfc8693'}>; rel="deprecation"`);
  return { tnuid: tnuId };
}
