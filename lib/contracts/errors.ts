// lib/contracts/errors.ts
// The one protocol error type (OAuthError) and the host-facing ConfigurationError.

/**
 * Error codes the token endpoint can answer with.
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-5.2
 * @see https://www.rfc-editor.org/rfc/rfc8628#section-3.5
 */
export type OAuthErrorCode =
  | 'invalid_request'
  | 'invalid_client'
  | 'invalid_grant'
  | 'unauthorized_client'
  | 'unsupported_grant_type'
  | 'invalid_scope'
  | 'authorization_pending'
  | 'slow_down'
  | 'access_denied'
  | 'expired_token'
  | 'invalid_target'
  | 'unsupported_token_type'
  | 'invalid_dpop_proof'
  | 'use_dpop_nonce'
  | 'server_error'
  | 'temporarily_unavailable'
  // Authorization responses (RFC 6749 §4.1.2.1, OIDC Core §3.1.2.6, §6.1), for the host's authorization endpoint.
  | 'unsupported_response_type'
  | 'login_required'
  | 'consent_required'
  | 'interaction_required'
  | 'account_selection_required'
  | 'request_not_supported'
  | 'request_uri_not_supported';

/** HTTP status per error code; RFC 6749 §5.2 says 400 unless stated otherwise. */
const STATUS_BY_CODE: Readonly<Record<OAuthErrorCode, number>> = {
  invalid_request: 400,
  invalid_client: 401,
  invalid_grant: 400,
  unauthorized_client: 400,
  unsupported_grant_type: 400,
  invalid_scope: 400,
  authorization_pending: 400,
  slow_down: 400,
  access_denied: 400,
  expired_token: 400,
  invalid_target: 400,
  unsupported_token_type: 400,
  invalid_dpop_proof: 400,
  use_dpop_nonce: 400,
  server_error: 500,
  temporarily_unavailable: 503,
  // Sent in a redirect, not as an HTTP status; 400 if a host answers one directly.
  unsupported_response_type: 400,
  login_required: 400,
  consent_required: 400,
  interaction_required: 400,
  account_selection_required: 400,
  request_not_supported: 400,
  request_uri_not_supported: 400,
};

/** Options for {@link OAuthError}. */
export interface OAuthErrorOptions {
  /** HTTP status; defaults to the code's status (401 for invalid_client, 500 server_error, 503, else 400). */
  status?: number;
  /** Extra response headers, e.g. `WWW-Authenticate` or `Retry-After`. */
  headers?: Readonly<Record<string, string>>;
  /** Sent as `error_uri` when set. */
  uri?: string;
  /** The underlying error; logged, never sent to the client. */
  cause?: unknown;
}

/**
 * A protocol error, rendered as the RFC 6749 §5.2 JSON body
 * `{ error, error_description?, error_uri? }` with `Cache-Control: no-store`.
 *
 * Grant strategies throw it to reject a request. Anything else thrown while a
 * request is handled becomes `server_error` (500) and is reported to the logger.
 *
 * @example
 * throw new OAuthError('invalid_grant', 'The authorization code is invalid or expired.');
 */
export class OAuthError extends Error {
  /** The registered error code sent as `error`. */
  readonly error: OAuthErrorCode;
  /** Sent as `error_description` (printable ASCII; other characters are replaced). */
  readonly description: string | undefined;
  /** HTTP status of the response. */
  readonly status: number;
  /** Extra response headers. */
  readonly headers: Readonly<Record<string, string>>;
  /** Sent as `error_uri` when set. */
  readonly uri: string | undefined;

  constructor(error: OAuthErrorCode, description?: string, options: OAuthErrorOptions = {}) {
    super(description ? `${error}: ${description}` : error, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'OAuthError';
    this.error = error;
    this.description = description;
    this.status = options.status ?? STATUS_BY_CODE[error] ?? 400;
    this.headers = options.headers ?? {};
    this.uri = options.uri;
  }

  /** The JSON body of the error response (RFC 6749 §5.2). */
  toJSON(): {
    /** The error code (RFC 6749 §5.2). */
    error: OAuthErrorCode;
    /** Human-readable text for the developer, when set. */
    error_description?: string;
    /** A page about the error, when set. */
    error_uri?: string;
  } {
    const body: { error: OAuthErrorCode; error_description?: string; error_uri?: string } = { error: this.error };
    if (this.description) body.error_description = sanitizeDescription(this.description);
    if (this.uri) body.error_uri = this.uri;
    return body;
  }
}

/**
 * RFC 6749 §5.2: error_description is limited to %x20-21 / %x23-5B / %x5D-7E.
 * Replacing (not rejecting) keeps a host's careless message from turning into a 500.
 */
export function sanitizeDescription(text: string): string {
  return text.replace(/[^\x20-\x21\x23-\x5b\x5d-\x7e]/g, '?').slice(0, 300);
}

/** Stable codes carried by {@link ConfigurationError}. */
export type ConfigurationErrorCode =
  | 'ERR_TOKEN_ROUTER_OPTIONS'
  | 'ERR_TOKEN_ROUTER_SIGNING_KEY'
  | 'ERR_TOKEN_ROUTER_GRANT'
  | 'ERR_TOKEN_ROUTER_CLIENT'
  | 'ERR_TOKEN_ROUTER_STORAGE';

/**
 * Thrown synchronously by `createTokenRouter` (and the adapters' factories) when an
 * option is wrong. The message names every offending option path and how to fix it;
 * `problems` lists them one by one. It never reaches an HTTP client.
 */
export class ConfigurationError extends Error {
  /** Which part of the configuration is wrong, for programmatic handling. */
  readonly code: ConfigurationErrorCode;
  /** One entry per problem found, each naming the option path. */
  readonly problems: readonly string[];

  constructor(code: ConfigurationErrorCode, problems: readonly string[]) {
    super(
      problems.length === 1
        ? `express-token-endpoint: ${problems[0]}`
        : `express-token-endpoint: ${problems.length} configuration problems:\n  - ${problems.join('\n  - ')}`,
    );
    this.name = 'ConfigurationError';
    this.code = code;
    this.problems = problems;
  }
}
