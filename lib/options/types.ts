// lib/options/types.ts
// The options of createTokenRouter, documented field by field (the public configuration surface).
import type { Options as RateLimitLibraryOptions, Store as RateLimitStore } from 'express-rate-limit';
import type { IncomingMessage } from 'node:http';
import type { ClientRegistry } from '../contracts/clients';
import type { ClientAuthenticationMethod, PresentedClientCertificate } from '../contracts/client-auth';
import type { EventListener } from '../contracts/events';
import type { AnyEndpointPlugin, AnyGrantStrategy } from '../contracts/grant';
import type { StorageAdapter } from '../contracts/storage';
import type { TelemetryHooks } from '../contracts/telemetry';
import type { Logger } from '../contracts/logger';
import type { DiscoveryOptions } from '../contracts/discovery';
import type { RefreshTokenOptions } from '../contracts/refresh-policy';
import type { AccessTokenClaimsHook, IdTokenClaimsHook, SigningKeyInput } from '../contracts/tokens';

/** Access-token settings. */
export interface AccessTokenOptions {
  /** Lifetime in seconds (`expires_in`, `exp − iat`). 1 to 86 400. Defaults to 3600. */
  ttl?: number;
  /**
   * `aud` of every access token (RFC 9068 §2.2 requires one): your API's identifier.
   * A client's `access_token_audience` overrides it. Defaults to the issuer.
   */
  audience?: string | readonly string[];
  /** Adds claims to every access token; protected claims cannot be overridden. */
  claims?: AccessTokenClaimsHook;
  /**
   * Form of the access token's `scope` claim: `'string'` (space-separated, RFC 9068 §2.2.3) or
   * `'array'` (TelenorID+ compatibility: a JSON array, as APIs built for TelenorID+ tokens read
   * it). The response's `scope` member is a string either way (RFC 6749 §5.1). Defaults to 'string'.
   */
  scopeClaim?: 'string' | 'array';
}

/**
 * Settings of one protected resource (an API, by its RFC 8707 resource indicator): an entry of
 * {@link TokenRouterOptions.resources}.
 */
export interface ProtectedResourceOptions {
  /**
   * Scopes that belong to this resource. An access token issued for resources keeps, of the granted
   * scope, the scopes that belong to one of its resources and those that belong to no configured
   * resource (e.g. `profile`); scopes of other resources are left out, and the response's `scope`
   * says what the token carries. The grant (the refresh-token family) keeps its whole scope. A scope
   * may belong to several resources; `openid` and `offline_access` belong to none (refused here).
   * Tokens without resources are not narrowed. Defaults to none.
   */
  scopes?: readonly string[];
  /**
   * Access-token lifetime in seconds (1 to 86 400) when the token is for this resource. With several
   * resources, or with a client `access_token_ttl`, the shortest of them applies. Without any, the
   * client's `access_token_ttl`, else `accessToken.ttl`.
   */
  accessTokenTtl?: number;
}

/** ID-token settings (OpenID Connect). */
export interface IdTokenOptions {
  /** Lifetime in seconds (60 to 86 400). Defaults to 300, as TelenorID+. */
  ttl?: number;
  /** Adds claims (e.g. name, tnuid) to ID tokens; protected claims cannot be overridden. */
  claims?: IdTokenClaimsHook;
}

/** Subject-identifier settings. */
export interface SubjectOptions {
  /**
   * Secret salt (at least 32 characters) for pairwise subjects: needed as soon as any client has
   * `subject_type: "pairwise"`. Keep it stable forever: changing it changes every pairwise `sub`.
   */
  pairwiseSalt?: string;
}

/** Client-authentication policy. */
export interface ClientAuthenticationOptions {
  /**
   * When true, a confidential client must authenticate with exactly its registered
   * `token_endpoint_auth_method` (Basic or body); the other method gets 401 invalid_client.
   * Defaults to false: like TelenorID+, a confidential client may send its secret either
   * way (never both at once).
   */
  enforceRegisteredMethod?: boolean;
  /**
   * TelenorID+ / IdentityServer compatibility: a public client (`token_endpoint_auth_method:
   * "none"`) that sends a secret anyway (some client libraries always send one) is served as the
   * public client it is, the secret ignored. Defaults to false: such a request is 401
   * `invalid_client` (RFC 6749 §2.3: a public client holds no secret). Confidential clients are
   * unaffected.
   */
  ignorePublicClientSecret?: boolean;
  /**
   * How the keys of `private_key_jwt` clients registered with a `jwks_uri` (RFC 7591 §2) are
   * fetched and cached; see {@link JwksFetchOptions}. Used only when some client has a `jwks_uri`.
   */
  jwks?: JwksFetchOptions;
  /**
   * More client-authentication methods (RFC 7591 `token_endpoint_auth_method` values): the mutual-TLS
   * methods of RFC 8705 (`tlsClientAuth()`, `selfSignedTlsClientAuth()`) or your own
   * {@link ClientAuthenticationMethod}s. The built-in methods (`client_secret_basic`,
   * `client_secret_post`, `none`, `private_key_jwt`, `client_secret_jwt`) are always served; a name
   * may be registered once. Each method is published in `token_endpoint_auth_methods_supported`.
   */
  methods?: readonly ClientAuthenticationMethod[];
  /**
   * Where a request's TLS client certificate comes from (RFC 8705): by default the TLS connection
   * itself (an `https` server with `requestCert: true`; `chainVerified` is `socket.authorized`).
   * Behind a TLS-terminating proxy, read the certificate the proxy forwards, e.g. with
   * `certificateFromClientCertHeader(req.headers['client-cert'])` (RFC 9440) — only from your
   * proxy, which must strip that header from clients' requests. Called at most once per request,
   * only when a method or a certificate-bound client needs the certificate.
   */
  clientCertificate?: (req: IncomingMessage) => PresentedClientCertificate | undefined;
}

/** What a JWKS fetcher returns: the parsed JWK Set (RFC 7517 §5), checked by the router like a fetched one. */
export interface FetchedJwks {
  /** The JWKs. Keys that are not usable RSA or EC signing keys are ignored; private key material is refused. */
  readonly keys: readonly unknown[];
}

/**
 * Fetches a client's JWK Set from its `jwks_uri`. It must stop when `signal` aborts (the router's
 * timeout); the router stops waiting then anyway.
 */
export type JwksFetch = (uri: string, signal: AbortSignal) => Promise<FetchedJwks>;

/**
 * Fetching and caching of the JWK Sets at clients' `jwks_uri`. A fetch only ever happens inside the
 * request that needs the keys, bounded by `timeoutMs`, at most one at a time per URI (concurrent
 * requests wait for the same one) and at most one per `minRefetchIntervalSeconds` per URI, whatever
 * its cause (first use, expiry, an assertion with an unknown `kid`, a retry after a failure). A set
 * that cannot be fetched, is not a JSON object with a `keys` array, or holds private key material is
 * refused: the client cannot authenticate (401 `invalid_client`), and `logger.warn` names the client
 * id, the URI and the cause.
 */
export interface JwksFetchOptions {
  /**
   * Your own fetcher (e.g. through an egress proxy, or with an allow-list of hosts), used instead
   * of the built-in one, which uses Node's global `fetch`: GET, no redirects followed, status 200
   * only, the body read up to `maxBytes`. The router still applies the timeout, parses and checks
   * the keys, and caches them. Defaults to the built-in fetcher.
   */
  fetch?: JwksFetch;
  /** Longest wait for one fetch, in ms: 100 to 10 000 (it runs inside a token request). Defaults to 2000. */
  timeoutMs?: number;
  /** Largest JWK Set body the built-in fetcher reads, in bytes: 1 024 to 1 048 576. Defaults to 65 536. */
  maxBytes?: number;
  /** How long a fetched JWK Set is used before it is fetched again, in seconds: 1 to 86 400. Defaults to 600. */
  cacheTtlSeconds?: number;
  /**
   * Least time between two fetches of one URI, in seconds: 1 to 3 600, and at most `cacheTtlSeconds`.
   * An assertion whose `kid` the cached set lacks (key rotation) triggers a fetch only when the last
   * one is older; a failed fetch is not retried sooner either. Defaults to 30.
   */
  minRefetchIntervalSeconds?: number;
  /**
   * When a fetch fails after the cached set expired, the expired set is still used for this many
   * seconds past its expiry (as HTTP's stale-if-error), so an outage of the client's key server does not
   * lock the client out at once: 0 (never) to 86 400. Defaults to 3600.
   */
  staleIfErrorSeconds?: number;
  /** How many URIs' JWK Sets are kept, least recently used dropped first: 1 to 100 000. Defaults to 1000. */
  maxCachedUris?: number;
}

/**
 * Rate-limit settings: any express-rate-limit option except `handler` (the router always
 * answers 429 with the OAuth JSON envelope and `Retry-After`). Pass `store` to share limits
 * across instances.
 */
export type RateLimitOptions = Partial<Omit<RateLimitLibraryOptions, 'handler'>>;

/**
 * Exponential back-off of one (confidential client, source) pair after repeated failed
 * authentications: after `afterFailures` failures in the window, that client from that source
 * is refused (429, `Retry-After`) for `baseMs`, then twice as long after each further failure, up
 * to `maxMs`. The same client from any other source is unaffected: knowing a client id gives no
 * way to lock the client out.
 */
export interface ClientAuthBackoff {
  /** Failures of the pair allowed before back-off starts: 1 to 1 000. Defaults to 5. */
  afterFailures?: number;
  /** First back-off in ms: 100 to 60 000. Defaults to 1000. */
  baseMs?: number;
  /** Longest back-off in ms: 1 000 to 86 400 000. Defaults to 900 000. */
  maxMs?: number;
}

/**
 * Failed client authentications (401 `invalid_client`, at the token endpoint and every endpoint a
 * grant adds), designed so that legitimate traffic is never throttled and nobody can lock out a
 * client he is not:
 * - **perIp**: completed failures per source address (IPv6 by its /56) and window. Only finished
 *   failures count, never requests in flight, so concurrent valid requests spend nothing; the
 *   secret comparisons running at once for a source are capped at what its budget has left, so a
 *   parallel burst cannot evaluate more guesses than the budget either (extra requests wait a
 *   moment instead). Once spent: 429 `temporarily_unavailable` with `Retry-After` for that source only.
 * - **backoff**: per (confidential client, source), see {@link ClientAuthBackoff}.
 * - Public clients have no secret to guess: they have no per-client budget at all.
 */
export interface ClientAuthFailureLimits {
  /** Completed failed authentications per source (`req.ip`, IPv6 by prefix) and window. 1 to 1 000 000, or `false` (not counted per source). Defaults to 30. */
  perIp?: number | false;
  /** Back-off per (confidential client, source), or `false` for none. Defaults to `{ afterFailures: 5, baseMs: 1000, maxMs: 900000 }`. */
  backoff?: ClientAuthBackoff | false;
  /** Window length in ms (fixed window from the first failure): 1 000 to 86 400 000 (24 h). Defaults to 900 000 (15 minutes). */
  windowMs?: number;
  /**
   * Where the per-source counters live: any express-rate-limit store with `get` and `increment`
   * (e.g. rate-limit-redis) to share the budget between instances. Defaults to process memory.
   * Give this limiter its own store instance (a store has one window). The back-off state and the
   * comparison slots are per process.
   */
  store?: RateLimitStore;
}

/**
 * Budget of `invalid_grant` answers per (source, **public** client), in fixed windows. Codes,
 * refresh tokens and device codes are 256-bit random values nobody can guess; this budget bounds
 * the work an unauthenticated caller can cause with junk values. Confidential clients
 * authenticated and are never counted: a backend whose users come back with expired refresh
 * tokens is normal traffic. Once spent, token requests of that public client from that source get
 * 429 `temporarily_unavailable` with `Retry-After` before the grant runs. Device polling answers
 * (`authorization_pending`, `slow_down`, `access_denied`, `expired_token`) are not counted.
 */
export interface GrantFailureLimits {
  /** invalid_grant answers per (source, public client) and window: 1 to 1 000 000. Defaults to 100. */
  perIp?: number;
  /** Window length in ms (fixed window from the first failure): 1 000 to 86 400 000 (24 h). Defaults to 900 000 (15 minutes). */
  windowMs?: number;
  /**
   * Where counters live: any express-rate-limit store with `get` and `increment` (e.g.
   * rate-limit-redis) to share the budget between instances. Defaults to process memory.
   * Give this limiter its own store instance (a store has one window).
   */
  store?: RateLimitStore;
}

/**
 * Failure budgets on top of `rateLimit` (online guessing of client secrets, RFC 6819 §4.3.5): temporary back-off (a fixed
 * window), never a permanent lockout. `false` in place of a member turns that limiter off.
 */
export interface BruteForceOptions {
  /** Failed client authentications per source IP and per client id. */
  clientAuthFailures?: ClientAuthFailureLimits | false;
  /** invalid_grant answers per source IP. */
  grantFailures?: GrantFailureLimits | false;
}

/** DPoP settings (see {@link TokenRouterOptions.dpop}). */
export interface DpopOptions {
  /** Require server-provided nonces in proofs at the token endpoint (RFC 9449 §8). Off by default. */
  nonce?: {
    /** HMAC key for the stateless nonces: at least 32 characters, the same on every instance. */
    secret: string;
    /** How long a nonce is accepted, in seconds (10 … 3600): one to two windows of this. Defaults to 300. */
    lifetimeSeconds?: number;
  };
}

/** Options of {@link createTokenRouter}. Validated once, when the router is created. */
export interface TokenRouterOptions {
  /**
   * The issuer identifier: `iss` of every token. An https URL without query or fragment;
   * `http:` is accepted only for localhost / 127.0.0.1 / [::1] (development).
   */
  issuer: string;
  /**
   * Signing keys, parsed once at startup, each with a rotation `status`:
   * - `'active'`: signs every access token and ID token — exactly one key;
   * - `'next'`: published in the JWKS before it signs, so relying parties have it cached;
   * - `'retiring'`: no longer signs, published until every token it signed has expired.
   *
   * Every key is published in the JWKS, the active one first. Statuses are all-or-nothing:
   * without any, the first key is active and the others are retiring. Algorithms may differ
   * between keys. Rotate at runtime with `tokenRouter.setSigningKeys(keys)` or by restarting
   * with a new list (docs/signing-keys.md).
   *
   * @example
   * signingKeys: [
   *   { kid: '2026-07', alg: 'ES256', privateKey: nextPem, status: 'next' },
   *   { kid: '2026-01', alg: 'RS256', privateKey: currentPem, status: 'active' },
   * ]
   */
  signingKeys: readonly SigningKeyInput[];
  /** Where clients are looked up. */
  clients: ClientRegistry;
  /**
   * The storage adapter. Needed by every grant that keeps state (authorization_code,
   * refresh_token, device_code); a router serving only `grants: [clientCredentials()]` may omit it.
   */
  storage?: Partial<StorageAdapter>;
  /**
   * The grant strategies served. Grant types must be unique. Defaults to `defaultGrants()`:
   * `authorizationCode()`, `clientCredentials()` and `refreshToken()`; add `deviceCode({ verificationUri })`
   * yourself (it needs your page's URL).
   */
  grants?: readonly AnyGrantStrategy[];
  /**
   * Endpoints besides the token endpoint, as plug-ins: `revocation()` (RFC 7009, `POST /revocation`)
   * and `introspection(options)` (RFC 7662, `POST /introspection`), or your own
   * `defineEndpointPlugin(...)`. Each runs the token endpoint's pipeline (HTTPS check, strict form,
   * client authentication with its failure budgets, rate limit, JSON errors) and is advertised in
   * discovery. Defaults to none.
   */
  endpoints?: readonly AnyEndpointPlugin[];
  /** Access-token settings. */
  accessToken?: AccessTokenOptions;
  /**
   * The protected resources tokens may be issued for with RFC 8707 resource indicators, keyed by
   * their URI (absolute, no fragment, at most 2048 characters; compared character for character).
   * The `resource` parameter (at `/token` on every grant, and at the device authorization
   * endpoint) and `issueAuthorizationCode({ resources })` may name only resources listed here and
   * in the client's `resources`; anything else is `invalid_target`. An access token issued for
   * resources has them as `aud` (a string for one, an array for several). Defaults to none: then
   * every `resource` is `invalid_target` and tokens carry the default audience as before.
   *
   * @example
   * resources: {
   *   'https://api.example.com/orders': { scopes: ['orders:read', 'orders:write'], accessTokenTtl: 600 },
   *   'https://api.example.com/billing': { scopes: ['billing:read'] },
   * }
   */
  resources?: Readonly<Record<string, ProtectedResourceOptions>>;
  /**
   * Refresh-token issuance: named policies and the defaults per client type. A grant gets a
   * refresh token only when `offline_access` was granted, the client's grant_types include
   * `refresh_token`, the refresh grant is served and the client's policy is not `none`.
   */
  refreshTokens?: RefreshTokenOptions;
  /** ID-token settings. */
  idToken?: IdTokenOptions;
  /** Subject identifiers (pairwise salt). */
  subjects?: SubjectOptions;
  /** What `tokenRouter.wellKnown` publishes (discovery document and JWKS). */
  discovery?: DiscoveryOptions;
  /** Client-authentication policy, and the fetching of clients' `jwks_uri` keys. */
  clientAuthentication?: ClientAuthenticationOptions;
  /**
   * DPoP (RFC 9449) settings. Proofs are always accepted; `nonce` makes the token endpoint require
   * server-provided nonces (§8): every token response carries `DPoP-Nonce`, and a proof without the
   * current nonce is answered 400 `use_dpop_nonce` with the nonce to retry with. Nonces are stateless
   * (an HMAC over a time window with `secret`): give every instance the same secret.
   */
  dpop?: DpopOptions;
  /**
   * Rate limiting with express-rate-limit, keyed by client IP + client id so one abusive
   * client or address cannot exhaust the budget of others. Defaults to 120000 requests per
   * minute per key (2 000 a second: no legitimate sender, not even a busy backend sending all its
   * users' requests from one address, meets it; it stops a runaway or looping client, floods from
   * many addresses are a gateway's job), counted in process memory on the router's clock. `false` turns it off (e.g. when a gateway limits already).
   */
  rateLimit?: RateLimitOptions | false;
  /**
   * Brute-force protection: failure budgets that legitimate traffic never reaches, answered with
   * 429 and `Retry-After`. On by default (`clientAuthFailures`: 30 completed failures per IP and
   * back-off per (client, source); `grantFailures`: 100 per IP and public client; 15-minute
   * windows, in process memory). `false` turns both off.
   * Source IPs are `req.ip`: set Express's `trust proxy` to exactly your proxies.
   */
  bruteForce?: BruteForceOptions | false;
  /**
   * Refuse requests that did not arrive over HTTPS (`req.secure` false) with 400
   * `invalid_request`, before reading the body. `X-Forwarded-Proto` counts only through Express's
   * `trust proxy` setting. Defaults to `process.env.NODE_ENV === 'production'`, read when the
   * router is created.
   */
  requireHttps?: boolean;
  /** Largest accepted request body in bytes (1 024 to 1 048 576). Defaults to 65 536 (64 KiB). */
  maxBodyBytes?: number;
  /** Receives warnings and unexpected errors (with stack). Defaults to JSON lines on stderr. */
  logger?: Logger;
  /**
   * Where unexpected errors go (a storage or registry failure, a bug: anything that is not an OAuth
   * answer). `'respond'` (default): the router answers 500 `server_error` itself and logs the error.
   * `'next'`: the router logs it and passes the original error to Express's `next(err)`, so your
   * error handler (error tracking, your own 500 page) answers — it must not show the error to the
   * client. OAuth errors (every answer with an OAuth error code) are always answered by the router.
   */
  unexpectedErrors?: 'respond' | 'next';
  /** Receives typed audit events (never carrying secrets, tokens or codes). */
  onEvent?: EventListener;
  /**
   * Tracing and metrics: `openTelemetry()` from `express-token-endpoint/opentelemetry` (needs the
   * optional peer `@opentelemetry/api`), or your own {@link TelemetryHooks}. With it, every
   * request at `/token` and at the contributed endpoints (device authorization, revocation,
   * introspection) is a span with its grant type, client id, outcome and OAuth error code, with
   * child spans for storage calls and JWT signing; metrics count requests, limiter hits and
   * replay detections and measure request and storage latency (docs/observability.md). Nothing
   * recorded carries a secret, token or code. A hook that throws never fails a request: the first
   * failure is logged. Defaults to none: then no hook, wrapper or telemetry code runs at all.
   *
   * @example
   * import { openTelemetry } from 'express-token-endpoint/opentelemetry';
   * createTokenRouter({ ...options, telemetry: openTelemetry() });
   */
  telemetry?: TelemetryHooks;
  /** Milliseconds-since-epoch clock; inject one in tests. Defaults to `Date.now`. */
  clock?: () => number;
}
