// lib/grants/client-credentials/grant.ts
// The client_credentials grant (RFC 6749 §4.4): a confidential client gets a token for itself.
import { OAuthError } from '../../contracts/errors';
import type { RegisteredClient } from '../../contracts/clients';
import { allowedScopes, assertScopesAllowed, formatScope, parseScope } from '../../issuance/scope';
import type { GrantStrategy, TokenResponse } from '../../contracts/grant';

/** Options for {@link clientCredentials}. */
export interface ClientCredentialsOptions {
  /**
   * The access token's `sub`. Defaults to the client id (RFC 9068 §2.2). Make sure no user
   * subject can equal a client id, e.g. by giving one of them a prefix.
   */
  subject?: (client: RegisteredClient) => string;
}

// Scopes that only make sense with an end user (RFC 6749 §4.4: no refresh token; OIDC: no ID token).
const USER_ONLY_SCOPES: ReadonlySet<string> = new Set(['openid', 'offline_access']);

/**
 * The `client_credentials` grant.
 *
 * Scope: a requested scope must be a subset of the client's registered `scope`; `openid`
 * and `offline_access` are `invalid_scope` (there is no end user). Without `scope`, the
 * client gets its `default_scope`, or else every registered scope except those two; the
 * response's `scope` says what was granted.
 *
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-4.4
 */
export function clientCredentials(options: ClientCredentialsOptions = {}): GrantStrategy {
  const subjectOf = options.subject ?? ((client: RegisteredClient) => client.client_id);
  return {
    grantType: 'client_credentials',
    parameters: {},
    // RFC 6749 §4.4: "The client credentials grant type MUST only be used by confidential clients."
    allowPublicClients: false,
    async handle(ctx): Promise<TokenResponse> {
      const client = ctx.client.metadata;
      const allowed = allowedScopes(client);
      let scope: readonly string[];
      if (ctx.requestedScope !== undefined) {
        for (const token of ctx.requestedScope) {
          if (USER_ONLY_SCOPES.has(token)) {
            throw new OAuthError('invalid_scope', `The scope '${token}' needs an end user and cannot be used with client_credentials.`);
          }
        }
        assertScopesAllowed(ctx.requestedScope, allowed);
        scope = ctx.requestedScope;
      } else {
        scope = defaultScope(client, allowed);
      }
      const subject = subjectOf(client);
      const accessToken = await ctx.accessTokens.issue({ client: ctx.client, grantType: ctx.grantType, subject, scope });
      ctx.emit({
        type: 'token.issued',
        at: ctx.now(),
        grantType: ctx.grantType,
        clientId: ctx.client.clientId,
        subject,
        jti: accessToken.jti,
        scope,
        refreshTokenIssued: false,
        idTokenIssued: false,
      });
      return {
        access_token: accessToken.token,
        token_type: 'Bearer',
        expires_in: accessToken.expiresIn,
        scope: scope.length > 0 ? formatScope(scope) : undefined,
      };
    },
  };
}

function defaultScope(client: RegisteredClient, allowed: ReadonlySet<string>): readonly string[] {
  if (client.default_scope !== undefined) {
    const scope = parseScope(client.default_scope).filter((token) => !USER_ONLY_SCOPES.has(token));
    // A default outside the registered scope is a registry mistake: grant only the overlap.
    return scope.filter((token) => allowed.has(token));
  }
  return [...allowed].filter((token) => !USER_ONLY_SCOPES.has(token));
}
