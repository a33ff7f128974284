// lib/grants/refresh-token/grant.ts
// The refresh_token grant (RFC 6749 §6): rotation, reuse detection, the concurrent-retry window,
// session checks, and an extension point for profile-specific parameters.
import { DEFAULTS } from '../../options/defaults';
import { checkOptionKeys } from '../../options/checks';
import type { RegisteredClient } from '../../contracts/clients';
import { OAuthError } from '../../contracts/errors';
import type { GrantContext, GrantStrategy, ParameterSpecs, RequiredParameterSpec, TokenResponse } from '../../contracts/grant';
import type { RefreshTokenRecord, SessionFacts } from '../../contracts/storage';
import { sessionOf } from '../../issuance/refresh-tokens';
import { hashOpaqueToken } from '../../tokens/opaque-token';
import { openSuccessor, sealSuccessor } from './retry-envelope';

/** What the session hook sees. */
export interface SessionCheckContext {
  /** The authenticated client's record. */
  readonly client: RegisteredClient;
  /** The grant (token family) being refreshed. */
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

/** What a refresh extension sees, after the built-in checks passed and before tokens are minted. */
export interface RefreshExtensionContext {
  /** The parameters the extension declared (validated like the grant's own). */
  readonly params: Readonly<Record<string, string | undefined>>;
  /** The authenticated client's record. */
  readonly client: RegisteredClient;
  /** The grant (token family) being refreshed. */
  readonly grantId: string;
  /** The scope of the refresh token's grant. */
  readonly grantScope: readonly string[];
  /** The session facts after `checkSession`. */
  readonly session: SessionFacts;
  /** Adds a header to the success response. */
  setHeader(name: string, value: string): void;
}

/**
 * An extension point of the refresh grant, for profile-specific parameters such as TelenorID+'s
 * deprecated `tnuId` switch (`tnuIdProfileSwitch`). It declares its parameters and may add
 * access-token claims to each refresh, or refuse it with an OAuthError.
 */
export interface RefreshGrantExtension {
  /** A name for messages, e.g. `'tnuIdProfileSwitch'`. */
  readonly name: string;
  /** Parameters the extension reads; added to the refresh grant's declared parameters. */
  readonly parameters: ParameterSpecs;
  /**
   * Runs on every refresh (not on a served retry). Returns extra access-token claims, or
   * undefined for none; throws OAuthError to refuse the refresh.
   */
  onRefresh(context: RefreshExtensionContext): Promise<Readonly<Record<string, unknown>> | undefined>;
  /** Checks made once at createTokenRouter; problems name what to fix. */
  validateSetup?(): readonly string[];
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
   * Extensions that add parameters and access-token claims to refreshes, e.g. TelenorID+'s
   * deprecated `tnuId` profile switch: `extensions: [tnuIdProfileSwitch({ verifyProfile })]`.
   */
  extensions?: readonly RefreshGrantExtension[];
}

const MAX_TOKEN_LENGTH = 512;
const INVALID_TOKEN = 'The refresh token is invalid, expired or revoked, or was issued to another client.';

/**
 * The `refresh_token` grant.
 *
 * Order of checks: token known and issued to this client → not revoked → not already used (within
 * the retry window and for the immediate parent: the same successor pair; otherwise the family is
 * revoked) → unexpired → host session check → scope subset → resource subset (RFC 8707) →
 * extensions → mint → atomic rotate.
 *
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-6
 * @see https://www.rfc-editor.org/rfc/rfc9700#section-4.14.2
 */
export function refreshToken(options: RefreshTokenGrantOptions = {}): GrantStrategy<RefreshTokenParameters, 'saveRefreshToken' | 'findRefreshToken' | 'rotateRefreshToken' | 'revokeGrant'> {
  const windowMs = (options.retryWindowSeconds ?? DEFAULTS.retryWindowSeconds) * 1000;
  const extensions = Array.isArray(options.extensions) ? options.extensions : [];
  const parameters: RefreshParameters = { ...Object.assign({}, ...extensions.map((extension) => extension?.parameters)), ...PARAMETERS };
  return {
    grantType: 'refresh_token',
    parameters,
    allowPublicClients: true,
    requires: REQUIRES,
    validateSetup() {
      const problems: string[] = [];
      checkOptionKeys(options, ['retryWindowSeconds', 'checkSession', 'extensions'], problems);
      const seconds = options.retryWindowSeconds;
      if (seconds !== undefined && (!Number.isInteger(seconds) || seconds < 0 || seconds > 60)) {
        problems.push(`retryWindowSeconds must be a whole number from 0 (off) to 60; got ${String(seconds)}.`);
      }
      if (options.checkSession !== undefined && typeof options.checkSession !== 'function') problems.push('checkSession must be a function.');
      if (options.extensions !== undefined && !Array.isArray(options.extensions)) problems.push('extensions must be an array of refresh extensions (e.g. [tnuIdProfileSwitch({ verifyProfile })]).');
      extensions.forEach((extension, index) => {
        if (typeof extension !== 'object' || extension === null || typeof extension.onRefresh !== 'function' || typeof extension.parameters !== 'object' || extension.parameters === null) {
          problems.push(`extensions[${index}] must be a refresh extension { name, parameters, onRefresh(context) }.`);
          return;
        }
        if ('refresh_token' in extension.parameters) problems.push(`extensions[${index}] (${extension.name}) must not declare refresh_token.`);
        for (const problem of extension.validateSetup?.() ?? []) problems.push(`extensions[${index}] (${extension.name}): ${problem}`);
      });
      return problems;
    },
    handle: (ctx) => refresh(ctx, options, extensions, windowMs),
  };
}

/** The storage methods the refresh grant calls. */
const REQUIRES = ['saveRefreshToken', 'findRefreshToken', 'rotateRefreshToken', 'revokeGrant'] as const;
type Requires = (typeof REQUIRES)[number];
const PARAMETERS = { refresh_token: { required: true, maxLength: MAX_TOKEN_LENGTH } } as const;
/** The form parameters of the refresh_token request (RFC 6749 §6), plus those its extensions declare. */
export type RefreshTokenParameters = ParameterSpecs & {
  /** The refresh token; at most 512 characters. */
  readonly refresh_token: RequiredParameterSpec;
};
type RefreshParameters = RefreshTokenParameters;
type RefreshContext = GrantContext<RefreshParameters, Requires>;

async function refresh(ctx: RefreshContext, options: RefreshTokenGrantOptions, extensions: readonly RefreshGrantExtension[], windowMs: number): Promise<TokenResponse> {
  const presented = ctx.params.refresh_token;
  const record = await ctx.storage.findRefreshToken(hashOpaqueToken(presented));
  // RFC 6749 §6 / §10.4: bound to the client. Another client's token is simply invalid, with no hint.
  if (!record || record.clientId !== ctx.client.clientId) throw new OAuthError('invalid_grant', INVALID_TOKEN);
  if (record.revokedAt !== undefined) throw new OAuthError('invalid_grant', INVALID_TOKEN);
  // RFC 9449 §5: a family bound to a DPoP key is refreshed only with a proof of that key — checked
  // before the reuse path, so a stolen bound token without the key can neither trigger the family's
  // revocation nor be served a retry.
  if (record.dpopJkt !== undefined && ctx.request.dpopJkt !== record.dpopJkt) throw new OAuthError('invalid_grant', 'The refresh token is bound to a DPoP key; send a DPoP proof made with it.');
  if (record.consumedAt !== undefined) return answerReuse(ctx, record, presented, windowMs);
  const now = ctx.now();
  if (now >= record.expiresAt || (record.familyExpiresAt !== undefined && now >= record.familyExpiresAt)) {
    throw new OAuthError('invalid_grant', INVALID_TOKEN);
  }

  // A client whose policy became `none` may not refresh the families it still has.
  if (ctx.refreshTokens.policyFor(ctx.client.metadata).type === 'none') throw new OAuthError('invalid_grant', INVALID_TOKEN);

  const session = await checkSession(ctx, options, record);
  // RFC 6749 §6: `scope` may narrow the new access token, never widen the grant. Scopes the
  // client's registration no longer allows are dropped from new access tokens (asking for one
  // explicitly is invalid_scope); the refresh token keeps the grant's scope.
  const scope = ctx.grantScope(ctx.requestedScope, { within: record.scope, withinDescription: 'this refresh token (it may only narrow the granted scope)', fallback: record.scope });
  // RFC 8707 §2.2: `resource` may narrow the new access token to some of the grant's resources;
  // the family keeps them all.
  const resources = ctx.grantResources(ctx.requestedResources, { within: record.resources ?? [], withinDescription: 'this refresh token (it may only narrow the granted resources)', fallback: record.resources });
  const accessTokenClaims = await runExtensions(ctx, extensions, record, session);

  if (!ctx.refreshTokens.rotates(ctx.client)) {
    // Reuse mode (confidential clients on an absolute policy): the token stays as it is.
    const tokens = await ctx.issueTokens({ session, scope, resources, grantId: record.grantId, accessTokenClaims });
    return tokens.body;
  }

  const next = ctx.refreshTokens.successor(record, ctx.client, session, now);
  const minted = await ctx.issueTokens({ session, scope, resources, grantId: record.grantId, accessTokenClaims, refreshToken: next.token.value });
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
  return minted.body;
}

/**
 * A used token came back. Within the window, from the same client, for the immediate parent of a
 * still-live successor: answer with that successor pair (decrypted with a key only the parent's
 * holder can derive). Anything else is reuse: revoke the whole family (RFC 9700 §4.14.2).
 */
async function answerReuse(ctx: RefreshContext, record: RefreshTokenRecord, presented: string, windowMs: number): Promise<TokenResponse> {
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

async function checkSession(ctx: RefreshContext, options: RefreshTokenGrantOptions, record: RefreshTokenRecord): Promise<SessionFacts> {
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

async function runExtensions(
  ctx: RefreshContext,
  extensions: readonly RefreshGrantExtension[],
  record: RefreshTokenRecord,
  session: SessionFacts,
): Promise<Readonly<Record<string, unknown>> | undefined> {
  let claims: Record<string, unknown> | undefined;
  for (const extension of extensions) {
    // Only what the extension declared: never the refresh token itself.
    const params: Record<string, string | undefined> = {};
    for (const name of Object.keys(extension.parameters)) params[name] = ctx.params[name];
    const added = await extension.onRefresh({
      params,
      client: ctx.client.metadata,
      grantId: record.grantId,
      grantScope: record.scope,
      session,
      setHeader: (name, value) => ctx.setHeader(name, value),
    });
    if (added !== undefined) claims = { ...claims, ...added };
  }
  return claims;
}
