// lib/events.ts
// The typed events the endpoint reports (audit trail). Events never carry secrets, tokens or codes.
import type { OAuthErrorCode } from './errors';

/** Why a client failed to authenticate (never sent to the client: it sees one generic message). */
export type ClientAuthFailureReason =
  | 'missing_credentials'
  | 'unknown_client'
  | 'invalid_secret'
  | 'secret_sent_by_public_client'
  | 'auth_method_not_allowed';

/** An access token (and possibly more) was issued. */
export interface TokenIssuedEvent {
  readonly type: 'token.issued';
  readonly at: number;
  readonly grantType: string;
  readonly clientId: string;
  /** The `sub` of the access token. */
  readonly subject: string;
  /** The access token's `jti`. */
  readonly jti: string;
  readonly grantId?: string;
  readonly scope: readonly string[];
  readonly refreshTokenIssued: boolean;
  readonly idTokenIssued: boolean;
}

/** Client authentication failed (401 invalid_client). */
export interface ClientAuthenticationFailedEvent {
  readonly type: 'client.authentication_failed';
  readonly at: number;
  /** The claimed client id, if any (it may not exist). */
  readonly clientId?: string;
  readonly reason: ClientAuthFailureReason;
  readonly ip?: string;
}

/** A request was answered with an OAuth error (other than invalid_client). */
export interface RequestRejectedEvent {
  readonly type: 'request.rejected';
  readonly at: number;
  readonly error: OAuthErrorCode;
  readonly grantType?: string;
  readonly clientId?: string;
  readonly ip?: string;
}

/** A request was refused by the rate limiter (429). */
export interface RateLimitedEvent {
  readonly type: 'rate_limited';
  readonly at: number;
  readonly clientId?: string;
  readonly ip?: string;
}

/** Every token of a grant was revoked. Access tokens already issued stay valid until they expire: resource servers that introspect or keep a deny-list should act on this event. */
export interface GrantRevokedEvent {
  readonly type: 'grant.revoked';
  readonly at: number;
  readonly grantId: string;
  readonly clientId: string;
  readonly reason: 'authorization_code_replay' | 'refresh_token_reuse' | 'session_ended' | 'device_code_replay' | (string & {});
}

/**
 * A refresh token that was already rotated was presented again (outside the retry window, or a
 * grandparent): the whole family is revoked (a `grant.revoked` event follows).
 */
export interface RefreshTokenReusedEvent {
  readonly type: 'refresh_token.reused';
  readonly at: number;
  readonly grantId: string;
  readonly clientId: string;
  /** Milliseconds since the presented token was rotated. */
  readonly sinceRotationMs: number;
}

/** A retry of a just-rotated refresh token got the same successor pair (concurrent-retry window). */
export interface RefreshTokenRetryEvent {
  readonly type: 'refresh_token.retry_served';
  readonly at: number;
  readonly grantId: string;
  readonly clientId: string;
  readonly sinceRotationMs: number;
}

/** The user approved a device authorization request on the verification page. */
export interface DeviceCodeApprovedEvent {
  readonly type: 'device_code.approved';
  readonly at: number;
  readonly grantId: string;
  readonly clientId: string;
  /** The host's subject of the approving user. */
  readonly subject: string;
}

/** The user denied a device authorization request. */
export interface DeviceCodeDeniedEvent {
  readonly type: 'device_code.denied';
  readonly at: number;
  readonly grantId: string;
  readonly clientId: string;
}

/** Everything `onEvent` can receive. Switch on `type`. */
export type TokenEndpointEvent =
  | TokenIssuedEvent
  | ClientAuthenticationFailedEvent
  | RequestRejectedEvent
  | RateLimitedEvent
  | GrantRevokedEvent
  | RefreshTokenReusedEvent
  | RefreshTokenRetryEvent
  | DeviceCodeApprovedEvent
  | DeviceCodeDeniedEvent;

/** Receives every event. Exceptions it throws are logged and otherwise ignored. */
export type EventListener = (event: TokenEndpointEvent) => void;
