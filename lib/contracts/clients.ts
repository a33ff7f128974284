import type { RefreshPolicy } from './refresh-policy';
// lib/contracts/clients.ts
// Client metadata (RFC 7591 names plus documented extensions) and the ClientRegistry adapter.

/**
 * How a client authenticates at the token endpoint.
 * - `client_secret_basic`: HTTP Basic, id and secret form-urlencoded first (RFC 6749 §2.3.1).
 * - `client_secret_post`: `client_id` and `client_secret` in the form body.
 * - `none`: a public client; it sends `client_id` only and never holds a secret.
 * - `private_key_jwt`: a JWT signed with the client's private key (RFC 7523 §2.2, OIDC Core §9),
 *   verified with the public keys in `jwks` or at `jwks_uri`.
 * - `client_secret_jwt`: a JWT signed with HMAC over the client's secret (`client_secret_jwt_key`).
 * - `tls_client_auth`, `self_signed_tls_client_auth`: mutual TLS (RFC 8705 §2), with `tlsClientAuth()` /
 *   `selfSignedTlsClientAuth()` in `clientAuthentication.methods`.
 * - any other name: a method of the host's in `clientAuthentication.methods`.
 * @see https://www.rfc-editor.org/rfc/rfc7591#section-2
 */
export type TokenEndpointAuthMethod =
  | 'client_secret_basic'
  | 'client_secret_post'
  | 'none'
  | 'private_key_jwt'
  | 'client_secret_jwt'
  | 'tls_client_auth'
  | 'self_signed_tls_client_auth'
  | (string & {});

/** A public key in JWK form (RFC 7517), as a client registers it in `jwks`. */
export interface ClientJwk {
  /** Key type (RFC 7517 §4.1). */
  readonly kty: 'RSA' | 'EC' | (string & {});
  /** Matched against the assertion's `kid` header. */
  readonly kid?: string;
  /** The algorithm the key is meant for (RFC 7517 §4.4). */
  readonly alg?: string;
  /** Intended use (RFC 7517 §4.2): `sig` for signing keys. */
  readonly use?: string;
  readonly [member: string]: unknown;
}

/**
 * A stored client secret, as a digest: the library never needs the plaintext.
 * `sha256` is the base64url (no padding) SHA-256 of the UTF-8 secret; make it with
 * {@link hashClientSecret}. Secrets must be high-entropy (≥ 128 bits, e.g. 32 random
 * bytes); for low-entropy or legacy secrets use {@link RegisteredClient.verify_client_secret}
 * with a slow hash (scrypt/argon2) instead.
 */
export interface ClientSecretDigest {
  /** base64url SHA-256 digest of the secret (43 characters). */
  readonly sha256: string;
  /** Seconds since the epoch after which this secret stops working; absent = never. */
  readonly expires_at?: number;
}

/**
 * What a {@link ClientRegistry} returns for a client. Field names follow RFC 7591
 * (`client_id`, `grant_types`, `redirect_uris`, `scope`, `token_endpoint_auth_method`);
 * the extensions are documented on each field.
 */
export interface RegisteredClient {
  /** The client identifier. */
  readonly client_id: string;
  /** Human-readable name, e.g. for a consent or device-verification page (RFC 7591 §2). */
  readonly client_name?: string;
  /** Defaults to `client_secret_basic` (RFC 7591 §2). */
  readonly token_endpoint_auth_method?: TokenEndpointAuthMethod;
  /** Grant types the client may use. Defaults to `["authorization_code"]` (RFC 7591 §2). */
  readonly grant_types?: readonly string[];
  /** Registered redirect URIs (compared character for character). */
  readonly redirect_uris?: readonly string[];
  /**
   * Space-separated scopes the client may request. A client without `scope`
   * may request none (fail closed).
   */
  readonly scope?: string;
  /**
   * Extension: scopes granted when a `client_credentials` request omits `scope`.
   * Defaults to every scope in `scope` (except `openid` and `offline_access`).
   */
  readonly default_scope?: string;
  /**
   * Extension: valid secrets as digests. Several entries allow rotation: during a
   * rollover both the old and the new secret are listed.
   */
  readonly client_secrets?: readonly ClientSecretDigest[];
  /**
   * Extension: verify a presented secret yourself (e.g. against scrypt/argon2 hashes
   * or a secrets service). Used instead of `client_secrets` when present. Must not throw
   * for a wrong secret; return false.
   */
  readonly verify_client_secret?: (presentedSecret: string) => boolean | Promise<boolean>;
  /**
   * OIDC subject type (OpenID Connect Dynamic Client Registration §2): `public` (default) sends
   * the host's subject as is; `pairwise` sends a per-sector keyed hash of it.
   */
  readonly subject_type?: 'public' | 'pairwise';
  /**
   * For pairwise clients whose redirect URIs span several hosts: its host is the sector
   * identifier. The library does not fetch it; validate its contents at registration.
   */
  readonly sector_identifier_uri?: string;
  /**
   * Extension: the client's refresh-token policy, inline or by the name of one in the router's
   * `refreshTokens.policies`. Defaults by client type (see `refreshTokens.defaultPolicy`).
   */
  readonly refresh_token_policy?: RefreshPolicy | string;
  /**
   * Extension (TelenorID+ "Update AT claims"): the client may switch the access token's profile
   * with the deprecated `tnuId` parameter on `refresh_token` requests.
   */
  readonly update_access_token_claims?: boolean;
  /**
   * Resource indicators (RFC 8707 §2) the client may request: absolute URIs without fragment,
   * each one of the router's `resources` option (a record naming another is invalid: 500, logged).
   * Compared character for character. A `resource` outside this list is `invalid_target`; a client
   * without it may request none.
   */
  readonly resources?: readonly string[];
  /**
   * Extension: `aud` of access tokens issued to this client (overrides the router default). Not
   * used for a token issued for resources: its `aud` is the resources.
   */
  readonly access_token_audience?: string | readonly string[];
  /**
   * Extension: access-token lifetime in seconds for this client (overrides the router default). For
   * a token issued for resources, the shortest of this and their `accessTokenTtl` applies.
   */
  readonly access_token_ttl?: number;
  /**
   * Extension: this (confidential) client — typically a resource server — may call the
   * introspection endpoint (`introspection()` in the router's `endpoints`) for any token. Without
   * it, only the plug-in's `authorize` hook can let a client introspect. Defaults to false.
   */
  readonly introspection_allowed?: boolean;
  /**
   * The client's public keys (RFC 7591 §2 `jwks`) for `private_key_jwt`: RSA or EC public JWKs,
   * each with a unique `kid` when there are several. Private members (`d`, …) are refused.
   */
  readonly jwks?: {
    /** The client's public keys. */
    readonly keys: readonly ClientJwk[];
  };
  /**
   * Where the client publishes its public keys (RFC 7591 §2 `jwks_uri`) for `private_key_jwt`,
   * instead of `jwks` (never both): an https URL (http only for localhost), fetched and cached by the
   * router (`clientAuthentication.jwks`). The set may hold other keys; the RSA and EC signing keys
   * are used, and a set with private key material is refused.
   */
  readonly jwks_uri?: string;
  /**
   * The JWS algorithm the client signs its assertions with (RFC 7591 §2): only this one is
   * accepted. Defaults to RS256, PS256 and ES256 for `private_key_jwt`, HS256 for `client_secret_jwt`.
   */
  readonly token_endpoint_auth_signing_alg?: string;
  /**
   * Extension, `client_secret_jwt` only: the shared secret itself (at least 32 characters). An HMAC
   * can only be verified with the key, so this one secret is held in the clear — keep such records
   * in your secret store, encrypted at rest. A client with only `client_secrets` digests cannot use
   * `client_secret_jwt`.
   */
  readonly client_secret_jwt_key?: string;
  /**
   * RFC 9449 §5.2: the client must use DPoP at the token endpoint (a token request without a proof
   * is 400 `invalid_request`), so all its access tokens are sender-constrained. Defaults to false.
   */
  readonly dpop_bound_access_tokens?: boolean;
  /**
   * RFC 8705 §3.4: access tokens issued to this client are bound to the TLS client certificate of
   * the token request (`cnf["x5t#S256"]`); a token request without a certificate is 400
   * `invalid_request`. Defaults to false.
   */
  readonly tls_client_certificate_bound_access_tokens?: boolean;
  /** `tls_client_auth` (RFC 8705 §2.1.2): the certificate's subject distinguished name, in RFC 4514 form ("CN=client,O=Example,C=NO"). */
  readonly tls_client_auth_subject_dn?: string;
  /** `tls_client_auth`: a dNSName the certificate's subjectAltName must contain (exact, case-insensitive). */
  readonly tls_client_auth_san_dns?: string;
  /** `tls_client_auth`: a uniformResourceIdentifier the certificate's subjectAltName must contain (exact). */
  readonly tls_client_auth_san_uri?: string;
  /** `tls_client_auth`: an iPAddress (IPv4 dotted or IPv6 text) the certificate's subjectAltName must contain. */
  readonly tls_client_auth_san_ip?: string;
  /** `tls_client_auth`: an rfc822Name the certificate's subjectAltName must contain (exact). */
  readonly tls_client_auth_san_email?: string;
  /** Extension: free-form data the host's hooks can read; never sent to clients. */
  readonly metadata?: Readonly<Record<string, unknown>>;
}

/**
 * The host's client store. Looked up once per token request, after the request is
 * parsed and before any grant-specific work.
 *
 * @example
 * const clients: ClientRegistry = {
 *   async findClient(clientId) { return db.clients.get(clientId); },
 * };
 */
export interface ClientRegistry {
  /**
   * The client with this id, or `undefined` when there is none. Never throws for an unknown id.
   * Every record returned is checked and normalised by the router before use (RFC 7591 field
   * types, supported methods, known refresh policies …): a bad record answers 500
   * `server_error` and the logger names the client id and the field. The check is cached per
   * record object, so returning the same (frozen) object again costs nothing.
   */
  findClient(clientId: string): Promise<RegisteredClient | undefined>;
  /**
   * Optional: every client, when the registry knows them all up front (as
   * `createMemoryClientRegistry` does). `createTokenRouter` then checks each record at startup,
   * so a bad record is a `ConfigurationError` instead of a 500 on its first request.
   */
  entries?(): Iterable<RegisteredClient>;
}

/** A client after successful authentication at the token endpoint. */
export interface AuthenticatedClient {
  /** The registry's record. */
  readonly metadata: RegisteredClient;
  /** The client id (same as `metadata.client_id`). */
  readonly clientId: string;
  /** How the client authenticated on this request. */
  readonly authMethod: TokenEndpointAuthMethod;
  /** True for `none` (public) clients. */
  readonly isPublic: boolean;
  /**
   * The `x5t#S256` thumbprint of the TLS client certificate the client's access tokens are bound to
   * on this request (RFC 8705 §3), for clients registered with `tls_client_certificate_bound_access_tokens`.
   */
  readonly certificateThumbprint?: string;
}
