// lib/contracts/refresh-policy.ts
// Refresh-token policies: whether a client gets refresh tokens, how long they live, whether they rotate.

/** Never issue refresh tokens. */
export interface NoRefreshPolicy {
  /** Selects this policy. */
  readonly type: 'none';
}

/**
 * A fixed lifetime from the start of the grant (the first token): refreshing never extends it.
 * TelenorID+ "Confidential": 14 days.
 */
export interface AbsoluteRefreshPolicy {
  /** Selects this policy. */
  readonly type: 'absolute';
  /** Seconds from the first refresh token of the grant. */
  readonly lifetime: number;
  /**
   * `rotate` (default): every refresh returns a new refresh token and the old one dies.
   * `reuse`: the same token stays valid until the family expires (confidential clients only;
   * public clients always rotate, RFC 9700 §4.14.2).
   */
  readonly rotation?: 'rotate' | 'reuse';
}

/**
 * Each refresh renews the lifetime (always rotating). TelenorID+ "Mobile": 90 days;
 * "PublicWeb"/"Web": 10 minutes. `maxLifetime` caps the whole family from its start.
 */
export interface SlidingRefreshPolicy {
  /** Selects this policy. */
  readonly type: 'sliding';
  /** Seconds each token lives after it is issued. */
  readonly lifetime: number;
  /** Optional absolute cap in seconds from the start of the grant. */
  readonly maxLifetime?: number;
}

/** A refresh policy. */
export type RefreshPolicy = NoRefreshPolicy | AbsoluteRefreshPolicy | SlidingRefreshPolicy;

/** Router-level refresh settings (see `TokenRouterOptions.refreshTokens`). */
export interface RefreshTokenOptions {
  /** Named policies clients can reference with `refresh_token_policy: "<name>"`. */
  policies?: Readonly<Record<string, RefreshPolicy>>;
  /**
   * Policy for clients without `refresh_token_policy`: a policy or a name. Defaults to
   * `{ confidential: { type: 'absolute', lifetime: 14 days }, public: { type: 'none' } }`
   * (TelenorID+'s Confidential and Public client types).
   */
  defaultPolicy?: {
    /** For confidential clients: a policy, or the name of one in `policies`. */
    readonly confidential?: RefreshPolicy | string;
    /** For public clients: a policy, or the name of one in `policies`. */
    readonly public?: RefreshPolicy | string;
  };
}
