// lib/resource-server/types.ts
// The public shapes of the resource-server middleware: its options (router-bound and standalone)
// and what it puts on a request it lets through.
import type { JsonWebKey, KeyObject } from 'node:crypto';
import type { AccessTokenClaims, SigningAlgorithm } from '../contracts/tokens';

/**
 * Options of `tokenRouter.requireAccessToken(options)`: what an access token must carry to reach
 * the route. Checked when the middleware is created (a mistake throws a `ConfigurationError`).
 */
export interface RequireAccessTokenOptions {
  /**
   * The API's identifier(s): the token's `aud` (a string or an array) must contain one of them
   * (RFC 9068 §4). Required, no default: a token minted for another API of the same issuer must
   * not pass. With the router's defaults, tokens carry `aud` = the issuer; with resource indicators
   * (RFC 8707), the resource URI.
   */
  audience: string | readonly string[];
  /**
   * Scopes the token must all carry: a space-separated string (`'orders:read orders:write'`) or an
   * array. The token's `scope` may be a space-separated string (RFC 9068) or an array
   * (`accessToken.scopeClaim: 'array'`). Missing one: 403 `insufficient_scope` naming these
   * scopes. Defaults to none.
   */
  scope?: string | readonly string[];
  /**
   * Clock skew allowed on `exp`, `nbf` and `iat`, in whole seconds from 0 to 30. Defaults to 5.
   */
  clockToleranceSeconds?: number;
  /**
   * The `realm` of the `WWW-Authenticate` challenge (printable ASCII without `"` and `\`, at most
   * 256 characters). Defaults to the first `audience`.
   */
  realm?: string;
}

/**
 * Where the standalone middleware finds the issuer's public keys: a JWKS object the host
 * provides (parsed once, when the middleware is created), or the host's own key lookup.
 */
export type JwksKeySource =
  | {
      /** The issuer's JWKS (`{ keys: [...] }`, e.g. read from its `jwks_uri` at deployment). Public keys only. */
      readonly keys: readonly JsonWebKey[];
    }
  | {
      /**
       * Your own key lookup, e.g. a JWKS cache you refresh in the background: called inside the
       * request with the token's `kid`, it should answer from memory. The library never fetches.
       * A public `KeyObject`, or undefined for an unknown `kid` (401 `invalid_token`). A throw or a
       * rejection is passed to `next(err)`.
       */
      readonly getKey: (kid: string | undefined) => KeyObject | undefined | Promise<KeyObject | undefined>;
    };

/**
 * Options of the standalone `requireAccessToken(options)`, for an API in another app that
 * accepts this issuer's (or any RFC 9068 issuer's) access tokens.
 */
export interface JwksAccessTokenOptions extends RequireAccessTokenOptions {
  /** Exactly the `iss` of the tokens (the issuer identifier). */
  issuer: string;
  /** The issuer's public keys. */
  jwks: JwksKeySource;
  /**
   * Accepted JWS algorithms (asymmetric only). Defaults to all nine the library signs with
   * (RS256/384/512, PS256/384/512, ES256/384/512); a JWK's own `alg` narrows it for that key.
   */
  algorithms?: readonly SigningAlgorithm[];
  /**
   * Your revocation check, e.g. against a storage the issuer shares:
   * `({ jti, grant_id }) => storage.isAccessTokenRevoked(jti) || …`. Anything but `false` counts as
   * revoked (401 `invalid_token`); a throw or a rejection is passed to `next(err)`. Defaults to none.
   */
  isRevoked?: (claims: AccessTokenClaims) => boolean | Promise<boolean>;
  /** Milliseconds-since-epoch clock; inject one in tests. Defaults to `Date.now`. */
  clock?: () => number;
}

/** What the middleware puts on a request it lets through; read it with `accessTokenOf(req)`. */
export interface VerifiedAccessToken {
  /** How the token was presented: `Bearer` (RFC 6750) or `DPoP` (RFC 9449, with a checked proof). */
  readonly scheme: 'Bearer' | 'DPoP';
  /** The access token as presented. */
  readonly token: string;
  /** Its verified claims. */
  readonly claims: AccessTokenClaims;
  /** Its scopes, parsed (from the space-separated string or the array form). */
  readonly scopes: readonly string[];
}
