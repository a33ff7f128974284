// lib/contracts/resources.ts
// Resource indicators (RFC 8707) that have passed the checks of GrantContext.grantResources.

declare const grantedResourcesBrand: unique symbol;

/**
 * Resource indicators (RFC 8707: absolute URIs of the APIs a token is for) checked against the
 * client's registered `resources`, the router's `resources` option and the grant's own limits by
 * `GrantContext.grantResources`. Only such a list sets the access token's `aud` through
 * `GrantContext.issueTokens`: the brand is checked at compile time, and the array itself at run time
 * (a frozen array handed out by `grantResources`), so a cast or plain JavaScript cannot skip it.
 * Empty when the token is for no particular resource (then `aud` is the router's or the client's
 * default audience).
 */
export type GrantedResources = readonly string[] & {
  /** Compile-time brand only; no such property exists at run time. */
  readonly [grantedResourcesBrand]: true;
};

/** Limits for `GrantContext.grantResources` beyond the client's registered `resources`. */
export interface ResourceRules {
  /**
   * The requested resources may only be a subset of these, e.g. the resources an authorization
   * code or a refresh token was granted for (RFC 8707 §2.2: narrow, never widen). A request outside
   * them is `invalid_target`. `[]` allows none.
   */
  readonly within?: readonly string[];
  /** What `within` is, for the `invalid_target` description. Defaults to "this grant". */
  readonly withinDescription?: string;
  /**
   * Granted when no resource was requested, e.g. every resource of the authorization code.
   * Resources the client may no longer request are dropped; when that drops every one of them, the
   * answer is `invalid_target` (the token must not silently fall back to the default audience).
   * Defaults to none.
   */
  readonly fallback?: readonly string[];
}
