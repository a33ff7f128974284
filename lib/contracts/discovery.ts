// lib/contracts/discovery.ts
// What the discovery document publishes beyond what the library computes.

/** Settings for the discovery document. */
export interface DiscoveryOptions {
  /** Absolute URL of your authorization endpoint (the host owns it). */
  authorizationEndpoint?: string;
  /** Absolute URL of the token endpoint. Defaults to `${issuer}/connect/token`. */
  tokenEndpoint?: string;
  /** Absolute URL of the device authorization endpoint. Defaults to `${issuer}/connect/deviceauthorization` when the device grant is served. */
  deviceAuthorizationEndpoint?: string;
  /** Absolute URL of the JWKS. Defaults to `${issuer}/.well-known/jwks.json` (served by `wellKnown`). */
  jwksUri?: string;
  /** `scopes_supported`. Defaults to none listed. */
  scopesSupported?: readonly string[];
  /** More members your own endpoints add (userinfo_endpoint, end_session_endpoint, …); they cannot replace the ones the library computes. */
  metadata?: Readonly<Record<string, unknown>>;
  /** `Cache-Control: max-age` of both documents, in seconds. Defaults to 300. */
  maxAgeSeconds?: number;
}
