// lib/contracts/tokens.ts
// Token contracts: the services grants mint with, the claims hooks hosts plug in, key shapes.
import type { AuthenticatedClient, RegisteredClient } from './clients';
import type { KeyObject } from 'node:crypto';
import type { RefreshTokenRecord, SessionFacts } from './storage';

/** What the access-token claims hook sees. */
export interface AccessTokenClaimsContext {
  /** The client the token is issued to. */
  readonly client: RegisteredClient;
  /** The `grant_type` being served, e.g. `authorization_code` or a custom grant's URN. */
  readonly grantType: string;
  /** The token's `sub`. */
  readonly subject: string;
  /** The granted scope values (after scope rules were applied). */
  readonly scope: readonly string[];
  /** The user's session, for user grants; undefined for client_credentials. */
  readonly session: SessionFacts | undefined;
  /** The resource indicators (RFC 8707) the token is for (its `aud`); undefined when none. */
  readonly resources?: readonly string[];
}

/**
 * Adds claims to access tokens. Protected claims (iss, sub, aud, exp, nbf, iat, jti, grant_id, cnf,
 * act, may_act, client_id, scope, auth_time, acr, amr, sid) cannot be overridden: such keys are ignored (`aud`
 * comes from resource indicators, the client's or the router's audience).
 * May be async; keep it fast, it runs on every token.
 */
export type AccessTokenClaimsHook = (
  context: AccessTokenClaimsContext,
) => Readonly<Record<string, unknown>> | undefined | Promise<Readonly<Record<string, unknown>> | undefined>;

/** What a grant asks for. */
export interface AccessTokenInput {
  /** The authenticated client the token is issued to (its `client_id` claim). */
  readonly client: AuthenticatedClient;
  /** The `grant_type` being served. */
  readonly grantType: string;
  /** The `sub` claim: the user's subject (as the client sees it) or the client id. */
  readonly subject: string;
  /** The granted scope values, written to the `scope` claim. */
  readonly scope: readonly string[];
  /** The user's session facts (auth_time, acr, amr, sid, host claims), for user grants. */
  readonly session?: SessionFacts;
  /** Grant-specific claims (protected claims still win). */
  readonly claims?: Readonly<Record<string, unknown>>;
  /**
   * The grant (revocation unit) the token belongs to, carried as the `grant_id` claim so
   * introspection and token exchange can tell that its grant was revoked.
   */
  readonly grantId?: string;
  /**
   * The `act` claim of a delegated token (RFC 8693 §4.1): who acts for the subject. Only set this
   * way (act and may_act are protected from every claims source).
   */
  readonly act?: Readonly<Record<string, unknown>>;
  /**
   * Resource indicators (RFC 8707) the token is for: its `aud` (a string for one, an array for
   * several) and its lifetime per the router's `resources` option. Not checked here: grants pass
   * `IssueTokensRequest.resources` from `ctx.grantResources`. Absent or empty: the default audience.
   */
  readonly resources?: readonly string[];
  /** The DPoP key thumbprint the token is bound to (RFC 9449 §6): the `cnf.jkt` claim. */
  readonly dpopJkt?: string;
  /** The TLS client certificate's thumbprint the token is bound to (RFC 8705 §3.1): the `cnf["x5t#S256"]` claim. */
  readonly certificateThumbprint?: string;
}

/** A minted access token. */
export interface IssuedAccessToken {
  /** The compact JWT. */
  readonly token: string;
  /** Seconds until `exp` (= exp − iat). */
  readonly expiresIn: number;
  /** The token's unique id (`jti` claim), the key of the revocation list. */
  readonly jti: string;
  /** Every claim of the signed token. */
  readonly claims: Readonly<Record<string, unknown>>;
}

/** Mints access tokens; available to grants as `ctx.accessTokens`. */
export interface AccessTokenService {
  /** Signs an access token (RFC 9068 JWT) with the router's active key. */
  issue(input: AccessTokenInput): Promise<IssuedAccessToken>;
}

/** The claims of an access token this router issued, after {@link TokenInspector.accessToken} verified it. */
export interface AccessTokenClaims {
  /** The router's issuer identifier. */
  readonly iss: string;
  /** The subject as the token's client sees it (pairwise for pairwise clients), or the client id. */
  readonly sub: string;
  /** The audience: resource indicators, the client's or the router's default audience. */
  readonly aud: string | readonly string[];
  /** The client the token was issued to. */
  readonly client_id: string;
  /** Unique token id. */
  readonly jti: string;
  /** Seconds since the epoch. */
  readonly exp: number;
  /** Issued at, seconds since the epoch. */
  readonly iat: number;
  /** Not before, seconds since the epoch. */
  readonly nbf?: number;
  /** Space-separated (RFC 9068), or an array with `accessToken.scopeClaim: 'array'`. */
  readonly scope?: string | readonly string[];
  /** The grant the token belongs to (absent for client_credentials tokens). */
  readonly grant_id?: string;
  readonly [claim: string]: unknown;
}

/** The claims of an ID token this router issued, after {@link TokenInspector.idToken} verified it. */
export interface IdTokenClaims {
  /** The router's issuer identifier. */
  readonly iss: string;
  /** The subject as the client sees it (pairwise for pairwise clients). */
  readonly sub: string;
  /** The client the ID token was issued to. */
  readonly aud: string | readonly string[];
  /** Expiry, seconds since the epoch. */
  readonly exp: number;
  /** Issued at, seconds since the epoch. */
  readonly iat: number;
  readonly [claim: string]: unknown;
}

/** A refresh token this router issued, found by its digest. */
export interface InspectedRefreshToken {
  /** The stored record (the raw token never is). */
  readonly record: RefreshTokenRecord;
  /**
   * Whether the token can still be redeemed: not rotated, not revoked (nor its grant), not past
   * its own or its family's expiry.
   */
  readonly active: boolean;
}

/**
 * Checks tokens this router issued, for endpoints and grants that accept them as input
 * (revocation, introspection, token exchange) and for `requireAccessToken`. Never says why a token is not valid: every
 * failure is `undefined`.
 */
export interface TokenInspector {
  /**
   * Verifies one of our access tokens with jsonwebtoken against the router's current key set:
   * `typ` at+jwt, a published `kid` with its own `alg`, the signature, `iss`, `exp`/`nbf` on the
   * router's clock (with `options.clockToleranceSeconds` of skew, 0 to 30, default 0); then the
   * revocation list and the revocation mark of its grant, when the storage has them (a failing
   * storage call rejects: the caller answers 500, never "valid"). `aud` is not checked here: each
   * caller knows which audience it serves.
   */
  accessToken(token: string, options?: { readonly clockToleranceSeconds?: number }): Promise<AccessTokenClaims | undefined>;
  /**
   * Verifies one of our ID tokens the same way (`typ` JWT, signature, `iss`, `exp`/`nbf`), and the
   * revocation mark of its grant (`grant_id`) when the storage has one.
   */
  idToken(token: string): Promise<IdTokenClaims | undefined>;
  /**
   * Finds one of our refresh tokens by its digest, whatever its state (`active` says whether it
   * can still be redeemed). Undefined for an unknown token or a storage without `findRefreshToken`.
   */
  refreshToken(token: string): Promise<InspectedRefreshToken | undefined>;
}

/** What the ID-token claims hook sees. */
export interface IdTokenClaimsContext {
  /** The client the ID token is issued to (its `aud`). */
  readonly client: RegisteredClient;
  /** The `grant_type` being served. */
  readonly grantType: string;
  /** The `sub` the client sees (pairwise when the client uses pairwise subjects). */
  readonly subject: string;
  /** The host's own subject identifier for the user. */
  readonly localSubject: string;
  /** The granted scope values (`openid` among them). */
  readonly scope: readonly string[];
  /** The user's authentication session (`auth_time`, `acr`, `amr`, `sid` and host claims). */
  readonly session: SessionFacts;
}

/**
 * Adds claims (e.g. `name`, `tnuid`) to ID tokens. Protected claims (iss, sub, aud, exp, iat,
 * nbf, auth_time, nonce, acr, amr, sid, azp, at_hash, c_hash, s_hash, jti, grant_id) cannot be overridden.
 */
export type IdTokenClaimsHook = (
  context: IdTokenClaimsContext,
) => Readonly<Record<string, unknown>> | undefined | Promise<Readonly<Record<string, unknown>> | undefined>;

/** What a grant asks for. */
export interface IdTokenInput {
  /** The client the ID token is issued to (its `aud`). */
  readonly client: RegisteredClient;
  /** The `grant_type` being served. */
  readonly grantType: string;
  /** The `sub` claim as the client sees it (pairwise when the client uses pairwise subjects). */
  readonly subject: string;
  /** The host's own subject identifier for the user (passed to the claims hook). */
  readonly localSubject: string;
  /** The granted scope values. */
  readonly scope: readonly string[];
  /** The user's authentication session. */
  readonly session: SessionFacts;
  /** OIDC nonce of the authorization request; omitted on refresh and device grants. */
  readonly nonce?: string;
  /** The access token issued alongside, for `at_hash`. */
  readonly accessToken?: string;
  /** The grant the token belongs to (`grant_id` claim), so a revoked grant makes it unusable as a token-exchange subject. */
  readonly grantId?: string;
}

/** Mints ID tokens; available to grants as `ctx.idTokens`. */
export interface IdTokenService {
  /** Signs an OpenID Connect ID token with the router's active key; resolves to the compact JWT. */
  issue(input: IdTokenInput): Promise<string>;
}

/** JWS algorithms the library signs with. All asymmetric: `none` and HMAC are never allowed. */
export type SigningAlgorithm = 'RS256' | 'RS384' | 'RS512' | 'PS256' | 'PS384' | 'PS512' | 'ES256' | 'ES384' | 'ES512';

/**
 * Where a key is in its rotation. Every state is published in the JWKS; only `active` signs.
 * - `next`: published ahead of use, so relying parties have it cached before it signs.
 * - `active`: signs every access token and ID token. Exactly one key is active.
 * - `retiring`: no longer signs; stays published until every token it signed has expired.
 */
export type SigningKeyStatus = 'next' | 'active' | 'retiring';

/** A signing key as the host configures it. */
export interface SigningKeyInput {
  /** Key id, sent as the JWT `kid` header and published in the JWKS. Must be unique. */
  readonly kid: string;
  /** Defaults to `RS256`. Keys of one set may use different algorithms. */
  readonly alg?: SigningAlgorithm;
  /** PEM (PKCS#8 or PKCS#1/SEC1), a DER Buffer, or a private `KeyObject`. */
  readonly privateKey: string | Buffer | KeyObject;
  /**
   * Rotation state: `'next'`, `'active'` or `'retiring'` (see {@link SigningKeyStatus}).
   * Either every key of the set has a status, with exactly one `'active'`, or none has: then
   * the first key is active and the others are retiring (published, never signing).
   */
  readonly status?: SigningKeyStatus;
}

/** A public key in JWK form, as published in a JWKS. */
export interface PublicJwk {
  /** Key type: `RSA` or `EC`. */
  readonly kty: string;
  /** Key id, as in the JWT `kid` header. */
  readonly kid: string;
  /** The one algorithm this key signs with. */
  readonly alg: SigningAlgorithm;
  /** Always `sig`: the keys only sign. */
  readonly use: 'sig';
  readonly [member: string]: unknown;
}

/** A fresh random value and the digest the store keeps instead of it. */
export interface OpaqueToken {
  /** Handed to the client once; never stored. */
  readonly value: string;
  /** base64url SHA-256 of `value`: the storage key. */
  readonly hash: string;
}
