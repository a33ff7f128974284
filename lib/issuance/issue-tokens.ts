// lib/issuance/issue-tokens.ts
// Shared by the user grants (code, device, refresh): mint the access token and, with openid, the ID token.
import type { SessionFacts } from '../contracts/storage';
import { formatScope } from './scope';
import type { GrantContext, TokenResponse } from '../contracts/grant';

/** What the user grants hand over once their own checks passed. */
export interface UserTokenRequest {
  readonly session: SessionFacts;
  /** Scope of the tokens to issue (already checked against the grant). */
  readonly scope: readonly string[];
  readonly grantId: string;
  /** OIDC nonce (authorization code only). */
  readonly nonce?: string;
  /** Extra access-token claims (e.g. the tnuId profile switch). */
  readonly accessTokenClaims?: Readonly<Record<string, unknown>>;
  /** A refresh token to return, already stored by the grant. */
  readonly refreshToken?: string;
}

/** Tokens minted for a user grant, before they are reported. */
export interface MintedUserTokens {
  readonly body: TokenResponse;
  /** The `sub` the client sees. */
  readonly subject: string;
  readonly jti: string;
  /** When the access token expires (ms). */
  readonly accessTokenExpiresAt: number;
}

/**
 * Mints the access token (and an ID token when `openid` is in scope) and builds the response
 * body, without reporting it. Access and ID token carry the same `sub` for the client.
 */
export async function mintUserTokens(ctx: GrantContext, request: UserTokenRequest): Promise<MintedUserTokens> {
  const client = ctx.client.metadata;
  const localSubject = request.session.subject;
  const subject = ctx.subjects.subjectFor(client, localSubject);
  const accessToken = await ctx.accessTokens.issue({
    client: ctx.client,
    grantType: ctx.grantType,
    subject,
    scope: request.scope,
    session: request.session,
    claims: request.accessTokenClaims,
  });
  const idToken = request.scope.includes('openid')
    ? await ctx.idTokens.issue({
        client,
        grantType: ctx.grantType,
        subject,
        localSubject,
        scope: request.scope,
        session: request.session,
        nonce: request.nonce,
        accessToken: accessToken.token,
      })
    : undefined;
  const body: TokenResponse = {
    access_token: accessToken.token,
    token_type: 'Bearer',
    expires_in: accessToken.expiresIn,
    scope: request.scope.length > 0 ? formatScope(request.scope) : undefined,
    refresh_token: request.refreshToken,
    id_token: idToken,
  };
  return { body, subject, jti: accessToken.jti, accessTokenExpiresAt: ((accessToken.claims.exp as number) ?? 0) * 1000 };
}

/** Reports `token.issued` for minted tokens. */
export function reportUserTokens(ctx: GrantContext, minted: MintedUserTokens, request: Pick<UserTokenRequest, 'grantId' | 'scope'>): void {
  ctx.emit({
    type: 'token.issued',
    at: ctx.now(),
    grantType: ctx.grantType,
    clientId: ctx.client.clientId,
    subject: minted.subject,
    jti: minted.jti,
    grantId: request.grantId,
    scope: request.scope,
    refreshTokenIssued: typeof minted.body.refresh_token === 'string',
    idTokenIssued: typeof minted.body.id_token === 'string',
  });
}

/** Mints and reports: what the code and device grants use once their own checks passed. */
export async function issueUserTokens(ctx: GrantContext, request: UserTokenRequest): Promise<TokenResponse> {
  const minted = await mintUserTokens(ctx, request);
  reportUserTokens(ctx, minted, request);
  return minted.body;
}
