// lib/revocation/revocation-endpoint.ts
// RFC 7009 token revocation as an endpoint plug-in: `POST <mount>/revocation`, through the token
// endpoint's pipeline (strict form, client authentication and its failure budgets, rate limit,
// JSON errors). Uses the public plug-in contract only.
import { OAuthError } from '../contracts/errors';
import { defineEndpointPlugin, defineFormEndpoint, type EndpointPlugin } from '../contracts/grant';
import { checkKeys, httpsUrlProblem } from '../options/checks';
import { looksLikeJwt, TOKEN_PARAMETERS } from '../tokens/presented-token';
import { siblingOfTokenEndpoint } from '../well-known/discovery';

/** Options of {@link revocation}. */
export interface RevocationOptions {
  /**
   * Absolute URL of the endpoint for discovery (`revocation_endpoint`). Defaults to the sibling of
   * `discovery.tokenEndpoint` (`…/revocation`), or `${issuer}/connect/revocation`.
   */
  endpointUrl?: string;
}

const OPTION_KEYS: { readonly [K in keyof Required<RevocationOptions>]: true } = { endpointUrl: true };

type Requires = 'revokeAccessToken' | 'isAccessTokenRevoked' | 'findRefreshToken' | 'revokeGrant' | 'isGrantRevoked';

/**
 * The revocation endpoint (RFC 7009), for the router's `endpoints` option. A client revokes its
 * own tokens (public clients too, §2.1):
 * - a refresh token revokes its whole grant: every refresh token of the family, the code or
 *   device code behind it, and (for introspection and token exchange) the access tokens that carry
 *   its `grant_id` (§2.1 SHOULD);
 * - an access token's `jti` goes on the storage's revocation list until the token expires.
 *
 * Unknown, expired, malformed or already revoked tokens are answered 200 as the RFC says (§2.2);
 * a live token issued to another client is refused with 400 `unauthorized_client` and not revoked.
 * Every revocation is reported as `token.revoked` (and `grant.revoked` for a refresh token).
 * Discovery gains `revocation_endpoint` and `revocation_endpoint_auth_methods_supported`.
 *
 * @example
 * createTokenRouter({ ..., endpoints: [revocation()] }); // POST /connect/revocation
 */
export function revocation(options: RevocationOptions = {}): EndpointPlugin<'revokeAccessToken' | 'isAccessTokenRevoked' | 'findRefreshToken' | 'revokeGrant' | 'isGrantRevoked'> {
  return defineEndpointPlugin<Requires>({
    name: 'revocation',
    requires: ['revokeAccessToken', 'isAccessTokenRevoked', 'findRefreshToken', 'revokeGrant', 'isGrantRevoked'],
    validateSetup: () => {
      const problems: string[] = [];
      if (typeof options !== 'object' || options === null) return ['revocation(options): options must be an object { endpointUrl? }.'];
      checkKeys(options as Record<string, unknown>, 'revocation(options)', Object.keys(OPTION_KEYS), problems);
      if (options.endpointUrl !== undefined) {
        const problem = httpsUrlProblem(options.endpointUrl);
        if (problem) problems.push(`revocation(options).endpointUrl ${problem}.`);
      }
      return problems;
    },
    contribute: ({ storage, tokens, refreshTokens, clock, emit, issuer, discovery, clientAuthMethods }) => ({
      endpoints: [
        defineFormEndpoint({
          path: '/revocation',
          parameters: TOKEN_PARAMETERS,
          allowPublicClients: true,
          async handle({ client, params }) {
            const token = params.token;
            if (looksLikeJwt(token)) {
              const claims = await tokens.accessToken(token);
              if (!claims) {
                // §2.2.1: the client's own ID token is a valid token of a type this server does not revoke.
                // Another client's is answered like an unknown token: nothing is revealed about it.
                const idToken = await tokens.idToken(token);
                if (idToken && [idToken.aud].flat().includes(client.clientId)) throw new OAuthError('unsupported_token_type', 'ID tokens cannot be revoked; revoke the refresh token or access token instead.');
                // §2.2: an invalid, expired or already revoked token is not an error.
                return undefined;
              }
              if (claims.client_id !== client.clientId) throw notYours();
              await storage.revokeAccessToken(claims.jti, claims.exp * 1000);
              emit({ type: 'token.revoked', at: clock(), clientId: client.clientId, tokenType: 'access_token', jti: claims.jti, ...(claims.grant_id !== undefined && { grantId: claims.grant_id }) });
              return undefined;
            }
            const found = await tokens.refreshToken(token);
            if (!found) return undefined;
            const { record } = found;
            if (record.clientId !== client.clientId) {
              // Only a live token of another client is refused; a dead one is answered like an unknown
              // token (§2.2), so no client learns whether another's used token ever existed.
              if (found.active) throw notYours();
              return undefined;
            }
            // Already revoked (by this endpoint, a reuse or a code replay): nothing left to do.
            if (record.revokedAt !== undefined) return undefined;
            const now = clock();
            // A used or expired token of the family still names the grant: its live tokens go too.
            // The mark lives as long as the refresh grant keeps reuse marks (covers the family).
            const retainUntil = Math.max(now + refreshTokens.retentionMs(client.metadata), record.retainUntil ?? 0, record.familyExpiresAt ?? 0, record.expiresAt);
            await storage.revokeGrant(record.grantId, now, retainUntil);
            emit({ type: 'token.revoked', at: now, clientId: client.clientId, tokenType: 'refresh_token', grantId: record.grantId });
            emit({ type: 'grant.revoked', at: now, grantId: record.grantId, clientId: record.clientId, reason: 'revocation_request' });
            return undefined;
          },
        }),
      ],
      metadata: {
        revocation_endpoint: options.endpointUrl ?? siblingOfTokenEndpoint(discovery, issuer, 'revocation'),
        revocation_endpoint_auth_methods_supported: [...clientAuthMethods],
      },
    }),
  });
}

// RFC 7009 §2.1: the request is refused when the token was not issued to the requesting client.
function notYours(): OAuthError {
  return new OAuthError('unauthorized_client', 'The token was not issued to this client.');
}
