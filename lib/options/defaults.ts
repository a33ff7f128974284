// lib/options/defaults.ts
// Every router default, written once. The TSDoc of the options (options/types.ts) states them
// for readers; spec/options/defaults-doc.spec.ts fails when the two disagree.
export const DEFAULTS = Object.freeze({
  /** dpop.nonce.lifetimeSeconds. */
  dpopNonceLifetimeSeconds: 300,
  /** accessToken.ttl, seconds. */
  accessTokenTtl: 3600,
  /** idToken.ttl, seconds (TelenorID+). */
  idTokenTtl: 300,
  /** maxBodyBytes (64 KiB). */
  maxBodyBytes: 64 * 1024,
  /** discovery.maxAgeSeconds. */
  discoveryMaxAgeSeconds: 300,
  /** clientAuthentication.enforceRegisteredMethod. */
  enforceRegisteredMethod: false,
  /** clientAuthentication.ignorePublicClientSecret. */
  ignorePublicClientSecret: false,
  /**
   * clientAuthentication.jwks: fetching clients' jwks_uri inside a request, so short and small;
   * cached for 10 minutes, refetched (key rotation, retry) at most every 30 s per URI, an expired set
   * used for up to an hour while its server fails.
   */
  jwks: Object.freeze({ timeoutMs: 2000, maxBytes: 64 * 1024, cacheTtlSeconds: 600, minRefetchIntervalSeconds: 30, staleIfErrorSeconds: 3600, maxCachedUris: 1000 }),
  /** accessToken.scopeClaim. */
  accessTokenScopeClaim: 'string' as 'string' | 'array',
  /**
   * rateLimit: per client IP + client id. Sized so no legitimate sender meets it (a server-side app
   * sends all its users' token requests from one address): 120 000 a minute is 2 000 a second, about
   * what one 2-core server answers. It stops a runaway or looping client from taking everyone's
   * capacity; floods from many addresses are a gateway's job.
   */
  rateLimit: Object.freeze({ windowMs: 60_000, limit: 120_000 }),
  /** bruteForce (online guessing, RFC 6819 §4.3.5): completed failures per source in 15-minute fixed windows, back-off per (client, source). */
  clientAuthFailures: Object.freeze({ perIp: 30, windowMs: 15 * 60_000, backoff: Object.freeze({ afterFailures: 5, baseMs: 1000, maxMs: 15 * 60_000 }) }),
  grantFailures: Object.freeze({ perIp: 100, windowMs: 15 * 60_000 }),
  /** Revoked-grant marks outlive any token of the grant: longer than the longest refresh family. */
  grantRetentionMs: 400 * 24 * 3600 * 1000,
  /** authorizationCode({ codeTtl }), seconds (RFC 6749 §4.1.2: short). */
  codeTtl: 60,
  /** authorizationCode({ allowPlainPkce, requirePkceForConfidentialClients }). */
  allowPlainPkce: false,
  requirePkceForConfidentialClients: false,
  /** refreshToken({ retryWindowSeconds }). */
  retryWindowSeconds: 5,
  /** deviceCode({ expiresIn, interval }), seconds (TelenorID+). */
  deviceExpiresIn: 1800,
  deviceInterval: 5,
  /** deviceCode({ userCodeAttempts }): wrong codes per key and window. */
  userCodeAttempts: Object.freeze({ limit: 10, windowMs: 15 * 60_000 }),
  /** requireAccessToken({ clockToleranceSeconds }): skew on exp/nbf/iat at a protected route. */
  accessTokenClockToleranceSeconds: 5,
});

/** Longest failure window: a longer block is a lockout, not a back-off. */
export const MAX_FAILURE_WINDOW_MS = 24 * 3600 * 1000;
