// lib/issuance/issue-tokens.ts
// The guarantees every grant's tokens get, built-in or custom: scope checked against the client
// and the grant, pairwise subjects, the client's audience/lifetime, and the token.issued report.
import { randomUUID } from 'node:crypto';
import type { AuthenticatedClient } from '../contracts/clients';
import type { IssuedTokens, IssueTokensRequest, ScopeRules, TokenResponse } from '../contracts/grant';
import type { GrantedScope } from '../contracts/scope';
import type { SubjectResolver } from '../contracts/subjects';
import type { AccessTokenService, IdTokenService } from '../contracts/tokens';
import type { TokenIssuedEvent } from '../contracts/events';
import { allowedScopes, assertScopesAllowed, formatScope } from './scope';
import { assertGrantedResources, type ResourceCatalogue } from './resources';
import { assertLocalSubject } from './subjects';

/** The token services, built once by the router. */
export interface TokenServices {
  readonly accessTokens: AccessTokenService;
  readonly idTokens: IdTokenService;
  readonly subjects: SubjectResolver;
  /** The router's `resources` option (RFC 8707). */
  readonly resources: ResourceCatalogue;
}

/** What one issueTokens call minted, and for what: the access token's scope and resources. */
export interface MintedTokens {
  readonly issued: IssuedTokens;
  /** The access token's scope (the granted scope, narrowed to its resources). */
  readonly scope: readonly string[];
  /** The access token's resources (its `aud`); empty when none. */
  readonly resources: readonly string[];
}

/**
 * Checks `requested` against `rules.within` (first, so the description names the grant's own
 * limit) and the client's registered scope; without a request, `rules.fallback` minus what the
 * client may not request.
 */
export function grantScope(client: AuthenticatedClient, requested: readonly string[] | undefined, rules: ScopeRules | undefined): GrantedScope {
  const allowed = allowedScopes(client.metadata);
  if (requested === undefined) {
    const fallback = rules?.fallback ?? [];
    return granted(fallback.filter((scope) => allowed.has(scope)));
  }
  if (rules?.within !== undefined) assertScopesAllowed(requested, new Set(rules.within), rules.withinDescription ?? 'this grant');
  assertScopesAllowed(requested, allowed);
  return granted([...requested]);
}

// Arrays handed out by grantScope: a frozen copy (the grant cannot change it after the check),
// remembered so issueTokens and issueFirst refuse any other array, cast or not.
const grantedScopes = new WeakSet<readonly string[]>();

function granted(scope: string[]): GrantedScope {
  Object.freeze(scope);
  grantedScopes.add(scope);
  return scope as readonly string[] as GrantedScope;
}

/** Throws (a server error: the grant's bug, not the client's) unless `scope` came from grantScope. */
export function assertGrantedScope(scope: unknown, where: string): asserts scope is GrantedScope {
  if (!Array.isArray(scope) || !grantedScopes.has(scope)) {
    throw new TypeError(`${where}: scope must be the value ctx.grantScope() returned (checked against the client), not another array.`);
  }
}

/** Mints the tokens of one response; `token.issued` is built from the result by {@link issuedEvent}. */
export async function issueTokens(services: TokenServices, client: AuthenticatedClient, grantType: string, request: IssueTokensRequest, dpopJkt?: string): Promise<MintedTokens> {
  assertGrantedScope(request.scope, 'issueTokens');
  if (request.resources !== undefined) assertGrantedResources(request.resources, 'issueTokens');
  const session = request.session;
  if (session !== undefined) assertLocalSubject(session.subject, 'issueTokens');
  const subject = session ? services.subjects.subjectFor(client.metadata, session.subject) : (request.clientSubject ?? client.clientId);
  const resources: readonly string[] = request.resources ?? [];
  // RFC 8707: a token for resources carries only scope that is theirs (or no resource's).
  const scope = services.resources.narrowScope(request.scope, resources);
  // Every token of an end user names a grant, so a token without one is recognisably a client's
  // own (token exchange tells them apart by it); a grant that gave none gets a fresh id.
  const grantId = request.grantId ?? (session !== undefined ? randomUUID() : undefined);
  const accessToken = await services.accessTokens.issue({
    client,
    grantType,
    subject,
    scope,
    ...(session !== undefined && { session }),
    ...(request.accessTokenClaims !== undefined && { claims: request.accessTokenClaims }),
    ...(grantId !== undefined && { grantId }),
    ...(request.actor !== undefined && { act: request.actor }),
    ...(dpopJkt !== undefined && { dpopJkt }),
    ...(client.certificateThumbprint !== undefined && { certificateThumbprint: client.certificateThumbprint }),
    ...(resources.length > 0 && { resources }),
  });
  const idToken = session !== undefined && scope.includes('openid')
    ? await services.idTokens.issue({
        client: client.metadata,
        grantType,
        subject,
        localSubject: session.subject,
        scope,
        session,
        nonce: request.nonce,
        accessToken: accessToken.token,
        ...(grantId !== undefined && { grantId }),
      })
    : undefined;
  const body: TokenResponse = {
    access_token: accessToken.token,
    // RFC 9449 §5: a DPoP-bound access token is of type DPoP.
    token_type: dpopJkt !== undefined ? 'DPoP' : 'Bearer',
    expires_in: accessToken.expiresIn,
    scope: scope.length > 0 ? formatScope(scope) : undefined,
    refresh_token: request.refreshToken,
    id_token: idToken,
  };
  return { issued: { body, subject, jti: accessToken.jti, accessTokenExpiresAt: ((accessToken.claims.exp as number) ?? 0) * 1000 }, scope, resources };
}

/** The `token.issued` event for tokens that were minted and are being answered with `body`. */
export function issuedEvent(at: number, grantType: string, client: AuthenticatedClient, minted: MintedTokens, request: IssueTokensRequest, body: TokenResponse): TokenIssuedEvent {
  const { issued } = minted;
  return {
    type: 'token.issued',
    at,
    grantType,
    clientId: client.clientId,
    subject: issued.subject,
    jti: issued.jti,
    ...(request.grantId !== undefined && { grantId: request.grantId }),
    scope: minted.scope,
    ...(minted.resources.length > 0 && { resources: minted.resources }),
    refreshTokenIssued: typeof body.refresh_token === 'string',
    idTokenIssued: typeof body.id_token === 'string',
  };
}
