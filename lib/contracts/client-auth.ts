// lib/contracts/client-auth.ts
// The client-authentication seam: a method a client registers as its `token_endpoint_auth_method`
// (RFC 7591 §2), plugged in like a grant. The JWT methods (private_key_jwt, client_secret_jwt) and
// the mutual-TLS methods (RFC 8705) are built on it; a host adds its own the same way
// (`clientAuthentication.methods`).
import type { X509Certificate } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { RegisteredClient } from './clients';

/** The TLS client certificate a request came with (RFC 8705 §2). */
export interface PresentedClientCertificate {
  /** The client's (leaf) certificate. */
  readonly certificate: X509Certificate;
  /**
   * True when the certificate chains to a CA the TLS server trusts (Node's `socket.authorized`, or
   * what a TLS-terminating proxy verified). `tls_client_auth` needs it; `self_signed_tls_client_auth`
   * does not (the certificate itself is registered).
   */
  readonly chainVerified: boolean;
}

/** What a client-authentication method sees of a token request. */
export interface ClientAuthenticationRequest {
  /** The request headers (lower-case names, as Node gives them). */
  readonly headers: IncomingHttpHeaders;
  /** The form parameters (one value each; the router already refused repeated ones). */
  readonly form: Readonly<Record<string, string | undefined>>;
  /** `client_assertion`, for a method whose credential is an assertion. */
  readonly assertion: string | undefined;
  /** The TLS client certificate, read once per request (`clientAuthentication.clientCertificate`). */
  clientCertificate(): PresentedClientCertificate | undefined;
  /**
   * Records `key` as used until `expiresAt` (ms since the epoch) in the router's storage, atomically:
   * true the first time, false for a replay. Keys are namespaced per method and client, so one
   * client's values never block another's. Throws when the storage has no `recordOneTimeUse`.
   */
  recordOneTimeUse(key: string, expiresAt: number): Promise<boolean>;
  /** The request's time on the router's clock, in ms since the epoch. */
  readonly now: number;
}

/**
 * Why a method refused a client (for the `client.authentication_failed` event only: the client
 * always gets the same 401 `invalid_client`).
 */
export type ClientAuthenticationMethodFailure =
  /** A client assertion failed verification (signature, alg, iss/sub/aud, exp, iat or jti). */
  | 'invalid_client_assertion'
  /** A single-use value (an assertion's `jti`) was used before. */
  | 'client_assertion_replayed'
  /** No TLS client certificate, or not the registered one (RFC 8705). */
  | 'invalid_client_certificate'
  /** A host method's credentials did not verify. */
  | 'invalid_credentials';

/** A method's verdict on one request. */
export type ClientAuthenticationResult =
  | {
      /** The credential proves the client's identity. */
      readonly authenticated: true;
    }
  | {
      /** The credential was checked and is wrong. */
      readonly authenticated: false;
      /** Why, for the `client.authentication_failed` event (the client only sees `invalid_client`). */
      readonly reason: ClientAuthenticationMethodFailure;
    };

/**
 * How the request carries the client's identity for this method:
 * - `'client_id'`: `client_id` in the form (or an HTTP Basic user-id with an empty password), and no
 *   secret or assertion — the proof travels elsewhere (a TLS certificate, a signed header);
 * - `{ assertionType }`: `client_assertion` with `client_assertion_type` equal to `assertionType`
 *   (RFC 7521 §4.2); `client_id` optional when {@link ClientAuthenticationMethod.assertionSubject}
 *   can read it from the assertion.
 */
export type ClientAuthenticationCredential =
  | 'client_id'
  | {
      /** The `client_assertion_type` URN this method answers for. */
      readonly assertionType: string;
    };

/**
 * A client-authentication method. A client uses it by registering its `name` as
 * `token_endpoint_auth_method`; the router looks the client up by the id the request carries and
 * calls {@link authenticate} only for clients registered for this method. Mixing methods in one
 * request (an assertion and a secret, Basic and a body secret) is refused before any method runs;
 * a client authenticated by a method is confidential.
 *
 * @example A method that checks an HMAC header (see docs/client-authentication.md)
 * const signedRequest: ClientAuthenticationMethod = {
 *   name: 'example_signed_request',
 *   credential: 'client_id',
 *   async authenticate(client, request) {
 *     const ok = verifySignatureHeader(request.headers['x-signature'], client.metadata);
 *     return ok ? { authenticated: true } : { authenticated: false, reason: 'invalid_credentials' };
 *   },
 * };
 */
export interface ClientAuthenticationMethod {
  /**
   * The `token_endpoint_auth_method` value (RFC 7591 §2), published in
   * `token_endpoint_auth_methods_supported`: letters, digits, `_`, `-`, `.`, `:`; not a built-in name.
   */
  readonly name: string;
  /** How the request names the client (see {@link ClientAuthenticationCredential}). */
  readonly credential: ClientAuthenticationCredential;
  /**
   * For an assertion credential: the client id an (unverified) assertion names, used when the
   * request sends no `client_id` (RFC 7523 §3: `sub`). Undefined when it names none.
   */
  assertionSubject?(assertion: string): string | undefined;
  /**
   * Verifies the request's credentials for `client` (checked by the client-record boundary and
   * {@link checkClient}). Resolves the verdict; throw only for server problems (answered 500 and
   * logged), never for a client's mistake.
   */
  authenticate(client: RegisteredClient, request: ClientAuthenticationRequest): Promise<ClientAuthenticationResult>;
  /**
   * Problems with a client record registered for this method (the fields it needs), each naming
   * the field; run at the client-registry boundary (startup for listed clients, else first use).
   */
  checkClient?(client: RegisteredClient): readonly string[];
  /**
   * True when the method reads TLS client certificates: the router then advertises certificate-bound
   * access tokens (`tls_client_certificate_bound_access_tokens`) and accepts clients registered for them.
   */
  readonly usesClientCertificates?: boolean;
  /** JWS algorithms the method accepts, published in `token_endpoint_auth_signing_alg_values_supported`. */
  readonly signingAlgorithms?: readonly string[];
  /** Extra discovery members (RFC 8414 §2), e.g. `tls_client_certificate_bound_access_tokens`; computed members cannot be replaced. */
  readonly discovery?: Readonly<Record<string, unknown>>;
}
