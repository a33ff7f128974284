// lib/grants/authorization-code/settings.ts
// Options of the authorization_code grant and its settings with defaults applied.

/** Options for {@link authorizationCode}. */
export interface AuthorizationCodeOptions {
  /** Lifetime of minted codes in seconds (1 to 600, RFC 6749 §4.1.2). Defaults to 60. */
  codeTtl?: number;
  /**
   * Accept the `plain` PKCE method. Defaults to false: S256 only (RFC 9700 §2.1.1). Turn it on
   * only for legacy clients that cannot hash.
   */
  allowPlainPkce?: boolean;
  /** Require PKCE from confidential clients too (public clients always need it). Defaults to false. */
  requirePkceForConfidentialClients?: boolean;
}

/** The settings of an {@link authorizationCode} grant, defaults applied. */
export type AuthorizationCodeSettings = Readonly<Required<AuthorizationCodeOptions>>;
