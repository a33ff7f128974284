// lib/contracts/scope.ts
// A scope that has passed the checks of GrantContext.grantScope.

declare const grantedScopeBrand: unique symbol;

/**
 * Scope that has been checked against the client (and the grant's own limits) by
 * `GrantContext.grantScope`. Only such a scope can be issued with `GrantContext.issueTokens` or
 * start a refresh family: the brand is checked at compile time, and the array itself at run time
 * (a frozen array handed out by `grantScope`), so a cast or plain JavaScript cannot skip it.
 */
export type GrantedScope = readonly string[] & {
  /** Compile-time brand only; no such property exists at run time. */
  readonly [grantedScopeBrand]: true;
};
