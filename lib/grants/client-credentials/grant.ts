// lib/grants/client-credentials/grant.ts
// The client_credentials grant (RFC 6749 §4.4): a confidential client gets a token for itself.
import { checkOptionKeys } from '../../options/checks';
import { OAuthError } from '../../contracts/errors';
import type { RegisteredClient } from '../../contracts/clients';
import { allowedScopes, parseScope } from '../../issuance/scope';
import { CLIENT_SUBJECT_PREFIX } from '../../issuance/subjects';
import { defineGrant, type GrantStrategy, type TokenResponse } from '../../contracts/grant';

/** Options for {@link clientCredentials}. */
export interface ClientCredentialsOptions {
  /**
   * The access token's `sub`. Defaults to `client:<client_id>` — an identifier of the client
   * (RFC 9068 §2.2) in a form no user subject may take (user subjects starting with `client:` are
   * refused), so a client whose id equals a user's subject cannot pass for that user
   * (RFC 9700 §4.15.1). The client id itself is in the `client_id` claim. If you choose another
   * form, keep it apart from your user subjects yourself.
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
 * Resources (RFC 8707): each `resource` must be in the client's `resources`; the token's `aud` is
 * then the resources and its scope narrowed to theirs. Without `resource`, the default audience.
 *
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-4.4
 */
export function clientCredentials(options: ClientCredentialsOptions = {}): GrantStrategy {
  const subjectOf = options.subject ?? ((client: RegisteredClient) => `${CLIENT_SUBJECT_PREFIX}${client.client_id}`);
  return defineGrant({
    grantType: 'client_credentials',
    parameters: {},
    // RFC 6749 §4.4: "The client credentials grant type MUST only be used by confidential clients."
    allowPublicClients: false,
    validateSetup() {
      const problems: string[] = [];
      checkOptionKeys(options, ['subject'], problems);
      if (options.subject !== undefined && typeof options.subject !== 'function') problems.push('subject must be a function (client) => string.');
      return problems;
    },
    async handle(ctx): Promise<TokenResponse> {
      const client = ctx.client.metadata;
      if (ctx.requestedScope !== undefined) {
        for (const token of ctx.requestedScope) {
          if (USER_ONLY_SCOPES.has(token)) {
            throw new OAuthError('invalid_scope', 'The scopes openid and offline_access need an end user and cannot be used with client_credentials.');
          }
        }
      }
      const scope = ctx.grantScope(ctx.requestedScope, { fallback: ctx.requestedScope === undefined ? defaultScope(client) : undefined });
      // RFC 8707: each `resource` must be one of the client's; without any, the default audience.
      const resources = ctx.grantResources(ctx.requestedResources);
      const tokens = await ctx.issueTokens({ scope, resources, clientSubject: subjectOf(client) });
      return tokens.body;
    },
  });
}

// Without `scope`: the client's default_scope (a default outside the registered scope is a
// registry mistake: grantScope keeps only the overlap), else every registered scope but the user-only ones.
function defaultScope(client: RegisteredClient): readonly string[] {
  if (client.default_scope !== undefined) return parseScope(client.default_scope).filter((token) => !USER_ONLY_SCOPES.has(token));
  return [...allowedScopes(client)].filter((token) => !USER_ONLY_SCOPES.has(token));
}
