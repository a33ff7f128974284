// lib/introspection/introspection-endpoint.ts
// RFC 7662 token introspection as an endpoint plug-in: `POST <mount>/introspection`, through the
// token endpoint's pipeline. Who may introspect is the host's decision; the default is nobody.
import type { RegisteredClient } from '../contracts/clients';
import { OAuthError } from '../contracts/errors';
import { defineEndpointPlugin, defineFormEndpoint, type EndpointPlugin } from '../contracts/grant';
import type { AccessTokenClaims, TokenInspector } from '../contracts/tokens';
import type { ClientRegistry } from '../contracts/clients';
import type { SubjectResolver } from '../contracts/subjects';
import { formatScope } from '../issuance/scope';
import { checkFunction, checkKeys, httpsUrlProblem } from '../options/checks';
import { looksLikeJwt, TOKEN_PARAMETERS } from '../tokens/presented-token';
import { siblingOfTokenEndpoint } from '../well-known/discovery';

/** An active token, as the `authorize` hook and the response see it (RFC 7662 §2.2 members). */
export interface IntrospectedToken {
  /** Always `true` here: inactive tokens are answered `{ "active": false }` only. */
  readonly active: true;
  /** `access_token` (our JWTs) or `refresh_token`. Not sent in the response (RFC 7662 has `token_type` for that, `Bearer` for access tokens). */
  readonly tokenKind: 'access_token' | 'refresh_token';
  /** Space-separated scope (RFC 7662 §2.2). */
  readonly scope?: string;
  /** The client the token was issued to. */
  readonly client_id: string;
  /** As the token's client sees it (pairwise for pairwise clients). */
  readonly sub: string;
  /** Seconds since the epoch. */
  readonly exp: number;
  /** Issued at, seconds since the epoch. */
  readonly iat: number;
  /** Not before, seconds since the epoch (access tokens). */
  readonly nbf?: number;
  /** The token's audience (access tokens). */
  readonly aud?: string | readonly string[];
  /** The router's issuer identifier. */
  readonly iss: string;
  /** Access tokens only. */
  readonly jti?: string;
  /** `Bearer` for access tokens (`DPoP` for DPoP-bound ones, RFC 9449 §6.2); absent for refresh tokens. */
  readonly token_type?: string;
  /**
   * The key binding of a sender-constrained access token: `jkt` (DPoP, RFC 9449 §6.2) and/or
   * `x5t#S256` (mutual TLS, RFC 8705 §3.2), so the resource server can check the proof.
   */
  readonly cnf?: Readonly<Record<string, string>>;
  /** When the user authenticated, seconds since the epoch (user grants). */
  readonly auth_time?: number;
  /** Authentication context class reference of the user's session. */
  readonly acr?: string;
  /** Authentication methods of the user's session. */
  readonly amr?: readonly string[];
  /** Who acts for the subject (RFC 8693 §4.1), for a delegated access token. */
  readonly act?: Readonly<Record<string, unknown>>;
}

/** What {@link IntrospectionOptions.authorize} decides on. */
export interface IntrospectionAuthorizationContext {
  /** The authenticated caller (a confidential client, typically a resource server). */
  readonly client: RegisteredClient;
  /** The presented token, active and verified. */
  readonly token: IntrospectedToken;
}

/** Options of {@link introspection}. */
export interface IntrospectionOptions {
  /**
   * Decides, per request, whether the caller may learn about this (active) token, e.g. only
   * tokens whose `aud` names the calling resource server. `false` answers `{ "active": false }`.
   * With the hook, every confidential client may call the endpoint and the hook decides; without
   * it, only clients registered with `introspection_allowed: true` may call it (others get 400
   * `unauthorized_client`) and they see every token. Default: no hook.
   */
  authorize?: (context: IntrospectionAuthorizationContext) => boolean | Promise<boolean>;
  /**
   * Absolute URL of the endpoint for discovery (`introspection_endpoint`). Defaults to the sibling
   * of `discovery.tokenEndpoint` (`…/introspection`), or `${issuer}/connect/introspection`.
   */
  endpointUrl?: string;
}

const OPTION_KEYS: { readonly [K in keyof Required<IntrospectionOptions>]: true } = { authorize: true, endpointUrl: true };

const INACTIVE = Object.freeze({ active: false });

type Requires = 'findRefreshToken' | 'isAccessTokenRevoked' | 'isGrantRevoked';

/**
 * The introspection endpoint (RFC 7662), for the router's `endpoints` option. Resource servers
 * (confidential clients) send a token and get `active` plus the §2.2 members:
 * - our access tokens: verified with jsonwebtoken against the router's keys (signature, `iss`,
 *   `exp`/`nbf`), not on the revocation list, their grant not revoked;
 * - our refresh tokens: found by digest, not rotated, not revoked, not expired.
 *
 * Everything else — and any token the caller may not see — is `{ "active": false }`, with no
 * reason. Public clients are refused. The RFC 9701 JWT response is not offered (plain JSON only).
 * Discovery gains `introspection_endpoint` and `introspection_endpoint_auth_methods_supported`.
 *
 * @example
 * createTokenRouter({ ..., endpoints: [introspection({ authorize: ({ client, token }) => audiences(token).includes(client.client_id) })] });
 */
export function introspection(options: IntrospectionOptions = {}): EndpointPlugin<'findRefreshToken' | 'isAccessTokenRevoked' | 'isGrantRevoked'> {
  return defineEndpointPlugin<Requires>({
    name: 'introspection',
    requires: ['findRefreshToken', 'isAccessTokenRevoked', 'isGrantRevoked'],
    validateSetup: () => {
      if (typeof options !== 'object' || options === null) return ['introspection(options): options must be an object { authorize?, endpointUrl? }.'];
      const problems: string[] = [];
      checkKeys(options as Record<string, unknown>, 'introspection(options)', Object.keys(OPTION_KEYS), problems);
      if (options.authorize !== undefined) checkFunction(options.authorize, 'introspection(options).authorize', '({ client, token }) => boolean', problems);
      if (options.endpointUrl !== undefined) {
        const problem = httpsUrlProblem(options.endpointUrl);
        if (problem) problems.push(`introspection(options).endpointUrl ${problem}.`);
      }
      return problems;
    },
    contribute: ({ tokens, clients, subjects, issuer, discovery, clientAuthMethods }) => {
      const authorize = options.authorize;
      return {
        endpoints: [
          defineFormEndpoint({
            path: '/introspection',
            parameters: TOKEN_PARAMETERS,
            // RFC 7662 §2.1: the caller authenticates; a public client cannot.
            allowPublicClients: false,
            async handle({ client, params }) {
              if (authorize === undefined && client.metadata.introspection_allowed !== true) {
                throw new OAuthError('unauthorized_client', 'This client may not use the introspection endpoint.');
              }
              const token = await inspect(params.token, { tokens, clients, subjects, issuer });
              if (!token) return INACTIVE;
              if (authorize !== undefined && (await authorize({ client: client.metadata, token })) !== true) return INACTIVE;
              const { tokenKind: _kind, ...body } = token;
              return body;
            },
          }),
        ],
        metadata: {
          introspection_endpoint: options.endpointUrl ?? siblingOfTokenEndpoint(discovery, issuer, 'introspection'),
          introspection_endpoint_auth_methods_supported: clientAuthMethods.filter((method) => method !== 'none'),
        },
      };
    },
  });
}

interface InspectDependencies {
  readonly tokens: TokenInspector;
  readonly clients: ClientRegistry;
  readonly subjects: SubjectResolver;
  readonly issuer: string;
}

async function inspect(token: string, deps: InspectDependencies): Promise<IntrospectedToken | undefined> {
  if (looksLikeJwt(token)) {
    const claims = await deps.tokens.accessToken(token);
    return claims && fromAccessToken(claims);
  }
  const found = await deps.tokens.refreshToken(token);
  if (!found?.active) return undefined;
  const { record } = found;
  // The subject as the token's client sees it: pairwise clients get their own identifier.
  const owner = await deps.clients.findClient(record.clientId);
  if (!owner) return undefined;
  const seconds = (ms: number) => Math.floor(ms / 1000);
  return {
    active: true,
    tokenKind: 'refresh_token',
    ...(record.scope.length > 0 && { scope: formatScope(record.scope) }),
    client_id: record.clientId,
    sub: deps.subjects.subjectFor(owner, record.subject),
    exp: seconds(record.familyExpiresAt === undefined ? record.expiresAt : Math.min(record.expiresAt, record.familyExpiresAt)),
    iat: seconds(record.issuedAt),
    iss: deps.issuer,
    ...(record.authTime !== undefined && { auth_time: record.authTime }),
    ...(record.acr !== undefined && { acr: record.acr }),
    ...(record.amr !== undefined && record.amr.length > 0 && { amr: record.amr }),
  };
}

function fromAccessToken(claims: AccessTokenClaims): IntrospectedToken {
  const scope = Array.isArray(claims.scope) ? formatScope(claims.scope as readonly string[]) : typeof claims.scope === 'string' ? claims.scope : undefined;
  return {
    active: true,
    tokenKind: 'access_token',
    ...(scope !== undefined && { scope }),
    client_id: claims.client_id,
    sub: claims.sub,
    exp: claims.exp,
    iat: claims.iat,
    ...(typeof claims.nbf === 'number' && { nbf: claims.nbf }),
    aud: claims.aud,
    iss: claims.iss,
    jti: claims.jti,
    ...bindingOf(claims),
    ...(typeof claims.auth_time === 'number' && { auth_time: claims.auth_time }),
    ...(typeof claims.acr === 'string' && { acr: claims.acr }),
    ...(Array.isArray(claims.amr) && { amr: claims.amr as readonly string[] }),
    ...(typeof claims.act === 'object' && claims.act !== null && { act: claims.act as Readonly<Record<string, unknown>> }),
  };
}

// RFC 9449 §6.2 / RFC 8705 §3.2: the confirmation members we issue, and the token type they imply.
function bindingOf(claims: AccessTokenClaims): { token_type: string; cnf?: Readonly<Record<string, string>> } {
  const cnf = typeof claims.cnf === 'object' && claims.cnf !== null ? (claims.cnf as Record<string, unknown>) : undefined;
  const binding: Record<string, string> = {};
  if (typeof cnf?.jkt === 'string') binding.jkt = cnf.jkt;
  if (typeof cnf?.['x5t#S256'] === 'string') binding['x5t#S256'] = cnf['x5t#S256'];
  return { token_type: binding.jkt !== undefined ? 'DPoP' : 'Bearer', ...(Object.keys(binding).length > 0 && { cnf: binding }) };
}
