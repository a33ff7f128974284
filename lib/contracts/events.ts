// lib/contracts/events.ts
// The typed events the endpoint reports (audit trail). Events never carry secrets, tokens or codes.
// A versioned contract: see EVENT_SCHEMA_VERSION for what may change without a version bump.
import type { OAuthErrorCode } from './errors';

/**
 * Version of the event schema (the {@link TokenEndpointEvent} union). Additive changes keep it:
 * a new event type; a new field (only optional on `token.issued` and `grant.revoked`, which custom
 * grants emit too); a new value of an open field (`GrantRevokedEvent.reason`,
 * `TokenIssuedEvent.grantType`, `RequestRejectedEvent.error` for a newly supported error code).
 * Breaking changes bump it (and the package's major version): removing or renaming an event type
 * or field, changing a field's type, unit or meaning, making a required field optional, adding a
 * value to a closed union ({@link ClientAuthFailureReason}, {@link ReplayDetection}), or changing
 * the documented event order. Listeners must ignore event types and fields they do not know.
 */
export const EVENT_SCHEMA_VERSION = 2;

/** Why a client failed to authenticate (never sent to the client: it sees one generic message). Closed union. */
export type ClientAuthFailureReason =
  /** No client id at all (no Basic header, no `client_id`), or a confidential client sent no secret. */
  | 'missing_credentials'
  /** No registered client has the claimed id (or the id or secret is over the length cap). */
  | 'unknown_client'
  /** The secret does not match any of the client's live secrets. */
  | 'invalid_secret'
  /** A public client (`token_endpoint_auth_method: none`) presented a secret. */
  | 'secret_sent_by_public_client'
  /** Right secret, but sent by a method other than the registered one (with `clientAuthentication.enforceRegisteredMethod`). */
  | 'auth_method_not_allowed'
  /** A client assertion (private_key_jwt / client_secret_jwt) failed verification: signature, alg, iss/sub/aud, exp, iat or jti. */
  | 'invalid_client_assertion'
  /** A client assertion's `jti` was used before (RFC 7523 §3, OIDC Core §9): a replay. */
  | 'client_assertion_replayed'
  /** A mutual-TLS client (RFC 8705) sent no certificate, or not the registered one. */
  | 'invalid_client_certificate'
  /** A method of the host's (`clientAuthentication.methods`) refused the credentials. */
  | 'invalid_credentials';

/** Why the library revoked a grant. Hosts' custom grants may report their own reasons. */
export type GrantRevocationReason =
  /** An authorization code was presented again ({@link AuthorizationCodeReplayedEvent} precedes it). */
  | 'authorization_code_replay'
  /** A rotated refresh token was presented again ({@link RefreshTokenReusedEvent} precedes it). */
  | 'refresh_token_reuse'
  /** The host's `checkSession` hook answered false on refresh. */
  | 'session_ended'
  /** An already-redeemed device code was polled again ({@link DeviceCodeReplayedEvent} precedes it). */
  | 'device_code_replay'
  /** The client revoked one of the grant's refresh tokens at the revocation endpoint ({@link TokenRevokedEvent} precedes it). */
  | 'revocation_request';

/**
 * How a code replay was detected. Closed union.
 * - `already_consumed`: the code was already redeemed when the request looked it up (a second use).
 * - `lost_race`: the request passed every check but another request redeemed the code first
 *   (concurrent redemptions; all but one lose, and each loser counts as a replay).
 */
export type ReplayDetection = 'already_consumed' | 'lost_race';

/** An access token (and possibly more) was issued. */
export interface TokenIssuedEvent {
  /** Discriminator. */
  readonly type: 'token.issued';
  /** When, in ms since the epoch (the router's clock). */
  readonly at: number;
  /** The `grant_type` served (built-in or a custom grant's URN). */
  readonly grantType: string;
  /** The authenticated client. */
  readonly clientId: string;
  /** The `sub` of the access token. */
  readonly subject: string;
  /** The access token's `jti`. */
  readonly jti: string;
  /** The grant (authorization, refresh family) the tokens belong to; absent for client_credentials. */
  readonly grantId?: string;
  /** Scope of the access token. */
  readonly scope: readonly string[];
  /** Resource indicators (RFC 8707) the access token is for (its `aud`); absent when none. */
  readonly resources?: readonly string[];
  /** Whether the response carried a refresh token. */
  readonly refreshTokenIssued: boolean;
  /** Whether the response carried an ID token. */
  readonly idTokenIssued: boolean;
}

/** Client authentication failed (401 invalid_client). */
export interface ClientAuthenticationFailedEvent {
  /** Discriminator. */
  readonly type: 'client.authentication_failed';
  /** When, in ms since the epoch. */
  readonly at: number;
  /** The claimed client id, if any (it may not exist); not authenticated; bounded and escaped as {@link RequestRejectedEvent.grantType}. */
  readonly clientId?: string;
  /** Why authentication failed. */
  readonly reason: ClientAuthFailureReason;
  /** The request's `req.ip` (as Express's trust proxy setting resolves it), bounded and escaped like `clientId`. */
  readonly ip?: string;
}

/** A request was answered with an OAuth error (other than invalid_client). */
export interface RequestRejectedEvent {
  /** Discriminator. */
  readonly type: 'request.rejected';
  /** When, in ms since the epoch. */
  readonly at: number;
  /** The OAuth error code answered. */
  readonly error: OAuthErrorCode;
  /**
   * The `grant_type` parameter as sent, if any (it may name no supported grant). Like every value
   * an event repeats from the request unauthenticated, it is bounded and escaped: a value over 256
   * characters becomes its first 64 characters followed by `…` (U+2026), and control characters
   * (C0, DEL, C1), U+2028/U+2029 and bidirectional formatting characters are written as `\uXXXX`
   * escapes, so plain-text logs cannot be flooded or fed forged lines. Ordinary values are unchanged.
   */
  readonly grantType?: string;
  /**
   * The client as the request names it, if at all: the `client_id` body parameter, else the HTTP
   * Basic user-id (not authenticated: the request may have failed before or during authentication);
   * bounded and escaped as `grantType`.
   */
  readonly clientId?: string;
  /** The request's `req.ip`, bounded and escaped like `clientId` (with trust proxy it comes from X-Forwarded-For). */
  readonly ip?: string;
}

/**
 * Which limiter refused a request, named by the option that sets its budget: the request rate
 * limit (`rateLimit`) or a failure budget of `bruteForce`.
 */
export type RateLimiterName =
  | 'rateLimit'
  | 'bruteForce.clientAuthFailures.perIp'
  /** Not emitted any more: the per-client-id budget was replaced by `backoff` (kept so listeners that name it still compile). */
  | 'bruteForce.clientAuthFailures.perClientId'
  /** Exponential back-off of one (confidential client, source) pair after repeated failures. */
  | 'bruteForce.clientAuthFailures.backoff'
  | 'bruteForce.grantFailures.perIp'
  /** User-code guessing at `tokenRouter.deviceVerification` (`deviceCode({ userCodeAttempts })`); such events carry no `ip` or `clientId` (the caller key may be a session id). */
  | 'deviceCode.userCodeAttempts';

/** A request was refused by the rate limiter (429). */
export interface RateLimitedEvent {
  /** Discriminator. */
  readonly type: 'rate_limited';
  /** When, in ms since the epoch. */
  readonly at: number;
  /** The client id the request claimed (Basic user-id or body `client_id`), if any; not authenticated; bounded and escaped as {@link RequestRejectedEvent.grantType}. */
  readonly clientId?: string;
  /** The request's `req.ip`, bounded and escaped like `clientId` (with trust proxy it comes from X-Forwarded-For). */
  readonly ip?: string;
  /** Which limiter refused the request (the option to tune). */
  readonly limiter: RateLimiterName;
}

/** Every token of a grant was revoked. Access tokens already issued stay valid until they expire: resource servers that introspect or keep a deny-list should act on this event. */
export interface GrantRevokedEvent {
  /** Discriminator. */
  readonly type: 'grant.revoked';
  /** When, in ms since the epoch. */
  readonly at: number;
  /** The revoked grant (every refresh token of the family, and the code or device code behind it). */
  readonly grantId: string;
  /** The client the grant belongs to. */
  readonly clientId: string;
  /** Why: a {@link GrantRevocationReason}, or a custom grant's own reason (open: hosts may add values). */
  readonly reason: GrantRevocationReason | (string & {});
}

/**
 * A client revoked one of its tokens at the revocation endpoint (RFC 7009). A refresh token
 * revokes its whole grant (a `grant.revoked` event with reason `revocation_request` follows once
 * stored); an access token's `jti` goes on the revocation list until the token expires. Requests
 * for unknown, expired or already revoked tokens revoke nothing and report nothing.
 */
export interface TokenRevokedEvent {
  /** Discriminator. */
  readonly type: 'token.revoked';
  /** When, in ms since the epoch. */
  readonly at: number;
  /** The client that revoked it (the token's own client). */
  readonly clientId: string;
  /** Which kind of token was presented. */
  readonly tokenType: 'access_token' | 'refresh_token';
  /** The access token's `jti` (access tokens). */
  readonly jti?: string;
  /** The grant the token belongs to (refresh tokens; access tokens of a grant). */
  readonly grantId?: string;
}

/**
 * An authorization code was presented again (RFC 6749 §4.1.2, §10.5): the request got
 * invalid_grant and the grant is revoked (a `grant.revoked` event with reason
 * `authorization_code_replay` follows once the revocation is stored). Only for the client the
 * code was issued to: another client's use of a code is plain invalid_grant and revokes nothing.
 */
export interface AuthorizationCodeReplayedEvent {
  /** Discriminator. */
  readonly type: 'authorization_code.replayed';
  /** When, in ms since the epoch. */
  readonly at: number;
  /** The grant the code belongs to (revoked when `verified`). */
  readonly grantId: string;
  /** The client the code was issued to (and that presented it again). */
  readonly clientId: string;
  /** A second use of a consumed code, or the loser of concurrent redemptions. */
  readonly detection: ReplayDetection;
  /**
   * Whether the replaying request passed the code's own checks (client, redirect_uri, PKCE
   * verifier). Only then is the grant revoked (`grant.revoked` follows); an unverified replay is
   * refused without revoking, so a used code seen in a log cannot end the user's grant.
   */
  readonly verified: boolean;
}

/**
 * An approved device code that was already redeemed was polled again (RFC 8628 §3.5):
 * invalid_grant, and the grant is revoked (a `grant.revoked` event with reason
 * `device_code_replay` follows once the revocation is stored).
 */
export interface DeviceCodeReplayedEvent {
  /** Discriminator. */
  readonly type: 'device_code.replayed';
  /** When, in ms since the epoch. */
  readonly at: number;
  /** The grant the device code belongs to (about to be revoked). */
  readonly grantId: string;
  /** The client the device code was issued to. */
  readonly clientId: string;
  /** A poll after the redemption, or the loser of concurrent redeeming polls. */
  readonly detection: ReplayDetection;
}

/**
 * A refresh token that was already rotated was presented again (outside the retry window, or a
 * grandparent): the whole family is revoked (a `grant.revoked` event with reason
 * `refresh_token_reuse` follows once the revocation is stored; if storage fails, this event
 * stands alone and the request answers 500).
 */
export interface RefreshTokenReusedEvent {
  /** Discriminator. */
  readonly type: 'refresh_token.reused';
  /** When, in ms since the epoch. */
  readonly at: number;
  /** The family (grant) being revoked. */
  readonly grantId: string;
  /** The client the family belongs to. */
  readonly clientId: string;
  /** Milliseconds since the presented token was rotated. */
  readonly sinceRotationMs: number;
}

/** A retry of a just-rotated refresh token got the same successor pair (concurrent-retry window). */
export interface RefreshTokenRetryEvent {
  /** Discriminator. */
  readonly type: 'refresh_token.retry_served';
  /** When, in ms since the epoch. */
  readonly at: number;
  /** The family the retried token belongs to. */
  readonly grantId: string;
  /** The client the family belongs to. */
  readonly clientId: string;
  /** Milliseconds since the presented token was rotated (at most the retry window). */
  readonly sinceRotationMs: number;
}

/** The user approved a device authorization request on the verification page. */
export interface DeviceCodeApprovedEvent {
  /** Discriminator. */
  readonly type: 'device_code.approved';
  /** When, in ms since the epoch. */
  readonly at: number;
  /** The grant the device code starts. */
  readonly grantId: string;
  /** The client (device) that requested it. */
  readonly clientId: string;
  /** The host's subject of the approving user. */
  readonly subject: string;
}

/** The user denied a device authorization request. */
export interface DeviceCodeDeniedEvent {
  /** Discriminator. */
  readonly type: 'device_code.denied';
  /** When, in ms since the epoch. */
  readonly at: number;
  /** The grant the device code would have started. */
  readonly grantId: string;
  /** The client (device) that requested it. */
  readonly clientId: string;
}

/** Everything `onEvent` can receive. Switch on `type`. */
export type TokenEndpointEvent =
  | TokenIssuedEvent
  | ClientAuthenticationFailedEvent
  | RequestRejectedEvent
  | RateLimitedEvent
  | GrantRevokedEvent
  | TokenRevokedEvent
  | RefreshTokenReusedEvent
  | RefreshTokenRetryEvent
  | DeviceCodeApprovedEvent
  | DeviceCodeDeniedEvent
  | AuthorizationCodeReplayedEvent
  | DeviceCodeReplayedEvent;

/** The `type` of every event. */
export type TokenEndpointEventType = TokenEndpointEvent['type'];

/** The event of one `type`, e.g. `TokenEndpointEventOf<'token.issued'>`. */
export type TokenEndpointEventOf<T extends TokenEndpointEventType> = Extract<
  TokenEndpointEvent,
  {
    /** The event type to select. */
    readonly type: T;
  }
>;

/**
 * Every event type of this schema version, for hosts that enumerate them (dashboards, alert
 * rules, routing to a SIEM). Exactly the members of {@link TokenEndpointEventType}.
 */
export const EVENT_TYPES = Object.freeze([
  'token.issued',
  'client.authentication_failed',
  'request.rejected',
  'rate_limited',
  'grant.revoked',
  'token.revoked',
  'authorization_code.replayed',
  'refresh_token.reused',
  'refresh_token.retry_served',
  'device_code.approved',
  'device_code.denied',
  'device_code.replayed',
] as const satisfies readonly TokenEndpointEventType[]);

/** Receives every event. Exceptions it throws are logged and otherwise ignored. */
export type EventListener = (event: TokenEndpointEvent) => void;
