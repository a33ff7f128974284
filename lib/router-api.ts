// lib/router-api.ts
// The router createTokenRouter returns: an Express router plus the host-side APIs. Members a
// grant contributes (issueAuthorizationCode, deviceVerification) are typed here for hosts and
// answer with a clear rejection when that grant is not served.
import type { RequestHandler, Router } from 'express';
import type { RegisteredClient } from './contracts/clients';
import type { PublicJwk, SigningKeyInput } from './contracts/tokens';
import type { AuthorizationCodeInput, IssuedAuthorizationCode } from './grants/authorization-code/code-minter';
import type { AuthorizationRequestParameters, AuthorizationRequestVerdict, AuthorizationResponse, AuthorizationResponseTarget } from './grants/authorization-code/authorization-request';
import type { DeviceVerification } from './grants/device-code/verification';
import type { RequireAccessTokenOptions } from './resource-server/types';

/**
 * The Express router returned by {@link createTokenRouter}, plus the host-side APIs that share
 * its configuration (storage, clock, keys, grant settings).
 */
export interface TokenRouter extends Router {
  /**
   * Mints an authorization code after the user authenticated at your authorization endpoint.
   * Contributed by the `authorizationCode()` grant (rejects without it).
   * Stores only the code's digest with everything the token request will need. Requires the
   * `authorizationCode()` grant. Throws OAuthError for problems of the authorization request
   * (unknown client, unregistered redirect_uri, scope, PKCE), TypeError for misuse, and a plain
   * Error for a server misconfiguration (a pairwise client without a usable sector or salt).
   */
  issueAuthorizationCode(input: AuthorizationCodeInput): Promise<IssuedAuthorizationCode>;
  /**
   * Checks an authorization request before your login page (RFC 6749 §4.1.1, OIDC Core §3.1.2.1):
   * the client exists and may use the code flow, `redirect_uri` is exactly registered,
   * `response_type=code`, the scope is within the client's, PKCE per the grant's policy, `state`
   * and `nonce` sizes, `resource` (RFC 8707), `dpop_jkt`, `prompt`, `max_age`. The verdict says
   * whether an error may be redirected to the client or must be shown to the user. Contributed by
   * the `authorizationCode()` grant (rejects without it).
   *
   * @example
   * app.get('/authorize', async (req, res) => {
   *   const verdict = await tokenRouter.validateAuthorizationRequest(req.query);
   *   if (!verdict.valid && !verdict.redirect) return res.status(400).send(errorPage(verdict.error.message));
   *   if (!verdict.valid) return res.redirect(tokenRouter.authorizationResponseUrl(verdict, verdict.error));
   *   // … sign the user in, then:
   *   const { code } = await tokenRouter.issueAuthorizationCode({ ...verdict.request, subject: user.id });
   *   res.redirect(tokenRouter.authorizationResponseUrl(verdict.request, { code }));
   * });
   */
  validateAuthorizationRequest(parameters: AuthorizationRequestParameters): Promise<AuthorizationRequestVerdict>;
  /**
   * The redirect back to the client: `target.redirectUri` (a validated request's, or a redirectable
   * verdict's) with `code` or `error`/`error_description` added to its query (an existing query is
   * kept; values are percent-encoded), `state` when the request had one, and `iss` = this issuer
   * (RFC 9207). Contributed by the `authorizationCode()` grant.
   */
  authorizationResponseUrl(target: AuthorizationResponseTarget, response: AuthorizationResponse): string;
  /**
   * Serves `/.well-known/openid-configuration`, `/.well-known/oauth-authorization-server` and
   * `/.well-known/jwks.json`. Mount it at the issuer's path: `app.use(tokenRouter.wellKnown)`.
   */
  readonly wellKnown: Router;
  /** The discovery document, as served now (it changes only with {@link TokenRouter.setSigningKeys}). */
  metadata(): Readonly<Record<string, unknown>>;
  /**
   * The JWKS, as served now: the public part of every key of the current set — `active` first,
   * then `next`, then `retiring` keys.
   */
  jwks(): {
    /** The public keys, in that order. */
    keys: PublicJwk[];
  };
  /**
   * Replaces the signing keys of this router in one step: the keys are parsed and checked now,
   * exactly as the `signingKeys` option (same shape, same rules: with statuses, exactly one
   * `active`), then the signers, the JWKS, the discovery document and `jwks()`/`metadata()` all
   * switch to the new set at once. Requests never re-parse keys.
   *
   * Throws a {@link ConfigurationError} (code `ERR_TOKEN_ROUTER_SIGNING_KEY`) listing every
   * problem, and then keeps the current set untouched. Also refused: a `kid` the current set
   * publishes for a different key or alg (relying parties cache keys by kid).
   *
   * Affects this router (this process) only: with several instances, follow the three-step
   * rollout of docs/signing-keys.md: publish as `next` everywhere, wait the
   * JWKS cache lifetime, make it `active` (the old key `retiring`), drop the old key once its
   * tokens have expired. Logs a warning when a key becomes active without having been published
   * by this router first, or when a key is dropped less than the longest token lifetime after it
   * last signed here.
   *
   * @example
   * tokenRouter.setSigningKeys([
   *   { kid: '2026-07', privateKey: newPem, status: 'active' },
   *   { kid: '2026-01', privateKey: oldPem, status: 'retiring' },
   * ]);
   */
  setSigningKeys(keys: readonly SigningKeyInput[]): void;
  /**
   * The verification-page API of the device grant: look up a user code, approve or deny it.
   * Contributed by the `deviceCode()` grant (its methods reject without it).
   */
  readonly deviceVerification: DeviceVerification;
  /** The `sub` a client sees for one of your users (public or pairwise), e.g. for a userinfo endpoint. */
  subjectFor(client: RegisteredClient, localSubject: string): string;
  /**
   * Middleware protecting your own API routes with this router's access tokens (RFC 6750 Bearer,
   * RFC 9068): verified like introspection does — the router's current key set, `typ` at+jwt,
   * `iss`, `exp`/`nbf` (and `iat`) within `clockToleranceSeconds`, the revocation list and the
   * grant's revocation mark when the storage has them — then `aud` must contain one of `audience`
   * and the token must carry every `scope`. The verified token is read with `accessTokenOf(req)`.
   *
   * Only the Authorization header is read. Answers (with `WWW-Authenticate` and, for errors, a
   * JSON body `{ error, error_description }`, `Cache-Control: no-store`):
   * - no credentials (or another scheme): 401 `Bearer realm="…"`, no error code, empty body;
   * - malformed header, several Authorization headers, an `access_token` in the query or a parsed
   *   body: 400 `invalid_request`;
   * - any token that does not pass (forged, expired, revoked, another issuer's or audience, an ID
   *   token, a sender-constrained token with `cnf`): 401 `invalid_token`, with one fixed description;
   * - a missing scope: 403 `insufficient_scope` with `scope="…"` (the scopes the route requires).
   * A storage failure in the revocation check goes to `next(err)` (your error handler, 500).
   * Options are checked here: a mistake throws a `ConfigurationError`.
   *
   * @example
   * app.get('/api/me', tokenRouter.requireAccessToken({ audience: 'https://api.example.com', scope: 'profile' }), (req, res) => {
   *   res.json({ sub: accessTokenOf(req).claims.sub });
   * });
   */
  requireAccessToken(options: RequireAccessTokenOptions): RequestHandler;
}

/** Members of {@link TokenRouter} the router itself provides; a grant's `hostApi` cannot replace them. */
export const ROUTER_OWN_MEMBERS: readonly string[] = ['wellKnown', 'metadata', 'jwks', 'setSigningKeys', 'subjectFor', 'requireAccessToken'];

/** Stand-ins for the contributed members, for a router whose grants do not contribute them. */
export function missingHostApi(): Pick<TokenRouter, 'issueAuthorizationCode' | 'validateAuthorizationRequest' | 'authorizationResponseUrl' | 'deviceVerification'> {
  const missing = (what: string, grant: string) => () => Promise.reject(new Error(`${what} needs the built-in ${grant} grant in options.grants.`));
  const device = missing('deviceVerification', 'deviceCode({ verificationUri })');
  return {
    issueAuthorizationCode: missing('issueAuthorizationCode', 'authorizationCode()'),
    validateAuthorizationRequest: missing('validateAuthorizationRequest', 'authorizationCode()'),
    authorizationResponseUrl: () => {
      throw new Error('authorizationResponseUrl needs the built-in authorizationCode() grant in options.grants.');
    },
    deviceVerification: { lookup: device, approve: device, deny: device },
  };
}

/**
 * The members TokenRouter types for hosts must have that shape when a grant contributes them
 * (a host calls them without looking). Returns what is wrong, or undefined.
 */
export function hostApiShapeProblem(member: string, value: unknown): string | undefined {
  if (member === 'issueAuthorizationCode' && typeof value !== 'function') return 'it must be a function (input) => Promise<IssuedAuthorizationCode>';
  if (member === 'validateAuthorizationRequest' && typeof value !== 'function') return 'it must be a function (parameters) => Promise<AuthorizationRequestVerdict>';
  if (member === 'authorizationResponseUrl' && typeof value !== 'function') return 'it must be a function (target, response) => string';
  if (member === 'deviceVerification') {
    const methods = ['lookup', 'approve', 'deny'];
    if (typeof value !== 'object' || value === null || !methods.every((name) => typeof (value as Record<string, unknown>)[name] === 'function')) {
      return 'it must be an object with lookup, approve and deny methods';
    }
  }
  return undefined;
}
