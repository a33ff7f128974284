// lib/contracts/storage.ts
// The storage adapter contract: one narrow interface per concern, each method's atomicity stated.
//
// Conventions for every adapter:
// - Codes, refresh tokens and device codes are stored only as digests (`*Hash` fields:
//   base64url SHA-256 of the raw value). The raw value never reaches the adapter.
// - Times are milliseconds since the epoch (numbers), judged by the library's clock.
// - Records are plain data: adapters may serialise them as JSON.
// - An adapter may delete a record once its `expiresAt` has passed (a rotated refresh token only
//   after its `retainUntil`; device codes preferably DEVICE_CODE_GRACE_MS later, see retention.ts);
//   the library checks expiry itself and never relies on eviction.
// - Any thrown error or rejected promise becomes a 500 `server_error` for the client and
//   is reported to the logger; nothing is issued.

/** Facts about the end user's authentication, carried from login to every token of a grant. */
export interface SessionFacts {
  /** The host's local subject identifier for the user (before any pairwise mapping). */
  readonly subject: string;
  /** When the user authenticated, in seconds since the epoch (OIDC `auth_time`). */
  readonly authTime?: number;
  /** Authentication context class reference (OIDC `acr`). */
  readonly acr?: string;
  /** Authentication methods references (OIDC `amr`). */
  readonly amr?: readonly string[];
  /** Session id (OIDC `sid`). */
  readonly sid?: string;
  /**
   * Extra claims the host wants in the tokens of this grant, per token (e.g. `tnuid` in the
   * access token, `name` in the ID token). JSON values only; protected claims are ignored.
   */
  readonly claims?: TokenClaims;
}

/** Host claims per token type, in the shape of the OIDC `claims` request parameter. */
export interface TokenClaims {
  /** Extra claims for the access token. */
  readonly access_token?: Readonly<Record<string, unknown>>;
  /** Extra claims for the ID token (and the userinfo response, where the host serves one). */
  readonly id_token?: Readonly<Record<string, unknown>>;
}

/** An authorization code, minted by the host's authorization endpoint. */
export interface AuthorizationCodeRecord extends SessionFacts {
  /** base64url SHA-256 of the code. */
  readonly codeHash: string;
  /** The client the code was issued to; only it may redeem the code. */
  readonly clientId: string;
  /** The exact redirect_uri of the authorization request. */
  readonly redirectUri: string;
  /** Granted scope tokens. */
  readonly scope: readonly string[];
  /**
   * Resource indicators (RFC 8707) granted with the code; the token request may narrow to a subset.
   * Absent when none were granted (adapters must read an absent field back as absent).
   */
  readonly resources?: readonly string[];
  /** OIDC nonce from the authorization request. */
  readonly nonce?: string;
  /** PKCE code_challenge (RFC 7636). */
  readonly codeChallenge?: string;
  /** PKCE code_challenge_method (RFC 7636 §4.3); `plain` only when the grant allows it. */
  readonly codeChallengeMethod?: 'S256' | 'plain';
  /** Ties together every token issued from this authorization (revocation unit). */
  readonly grantId: string;
  /** The DPoP key (RFC 7638 thumbprint) the code is bound to (RFC 9449 §10 `dpop_jkt`). */
  readonly dpopJkt?: string;
  /** When the code was minted, ms since the epoch. */
  readonly issuedAt: number;
  /** When the code stops working, ms since the epoch. */
  readonly expiresAt: number;
  /** Set once, by {@link AuthorizationCodeStore.consumeAuthorizationCode}. */
  readonly consumedAt?: number;
  /**
   * Set with `consumedAt` when the consume names one: the consumed code is kept at least this long,
   * even past `expiresAt`, so a replay is still detected (and revokes the grant) while tokens of
   * its grant may live.
   */
  readonly retainUntil?: number;
}

/** Authorization codes. */
export interface AuthorizationCodeStore {
  /** Inserts a code. Rejects if a record with the same `codeHash` exists. */
  saveAuthorizationCode(record: AuthorizationCodeRecord): Promise<void>;
  /**
   * Plain read. Returns consumed codes too (with `consumedAt` set), so a replay can be
   * detected and the grant revoked; may return `undefined` once `expiresAt` has passed.
   */
  findAuthorizationCode(codeHash: string): Promise<AuthorizationCodeRecord | undefined>;
  /**
   * Compare-and-set `consumedAt` from unset to `consumedAt`, and when `retainUntil` is given, keep
   * the consumed code (at least `codeHash`, `clientId`, `grantId`, `redirectUri`, the PKCE
   * challenge and `consumedAt`) until then even past its `expiresAt`: a replay arriving later must
   * still be recognised as one. Atomicity: of N concurrent callers for one code, exactly one
   * resolves `true`; unknown or already-consumed codes resolve `false`. Never a read-then-write in
   * two steps.
   */
  consumeAuthorizationCode(codeHash: string, consumedAt: number, retainUntil?: number): Promise<boolean>;
}

/** One refresh token of a family (all tokens of a family share `grantId`). */
export interface RefreshTokenRecord extends SessionFacts {
  /** base64url SHA-256 of the refresh token. */
  readonly tokenHash: string;
  /** The grant (family) this token belongs to. */
  readonly grantId: string;
  /** The client the family was issued to; only it may redeem the token. */
  readonly clientId: string;
  /** The grant's scope (a refresh never widens it; RFC 6749 §6). */
  readonly scope: readonly string[];
  /**
   * The grant's resource indicators (RFC 8707), kept whole by every token of the family; a refresh
   * may narrow the new access token's to a subset (RFC 8707 §2.2), never widen them. Absent when none.
   */
  readonly resources?: readonly string[];
  /** When this token was minted, ms since the epoch. */
  readonly issuedAt: number;
  /** When this token stops working (sliding or absolute, per the client's policy). */
  readonly expiresAt: number;
  /** Absolute end of the whole family, if the policy caps it. */
  readonly familyExpiresAt?: number;
  /** Digest of the token this one replaced, if any. */
  readonly parentHash?: string;
  /** Set when the token was rotated (used). */
  readonly consumedAt?: number;
  /**
   * Opaque, encrypted successor handed back to a retry of this token within the
   * concurrent-retry window. Set together with `consumedAt`. Kept at least
   * `SUCCESSOR_ENVELOPE_RETENTION_MS` (2 minutes) after `consumedAt`; adapters should drop it
   * afterwards (the window is at most 60 s), while the used token itself stays.
   */
  readonly successorEnvelope?: string;
  /** Set (by the adapter) when the token or its grant has been revoked. */
  readonly revokedAt?: number;
  /**
   * Set by the adapter on rotation to the successor's `expiresAt`: a used token must be kept at
   * least that long (even past its own `expiresAt`) so its reuse is still detected while its
   * successor lives.
   */
  readonly retainUntil?: number;
  /**
   * The DPoP key (RFC 7638 thumbprint) the family is bound to (RFC 9449 §5: refresh tokens of
   * public clients). A refresh must present a proof with this key; successors keep it.
   */
  readonly dpopJkt?: string;
}

/** Refresh-token families. */
export interface RefreshTokenStore {
  /** Inserts a token. Rejects if a record with the same `tokenHash` exists. */
  saveRefreshToken(record: RefreshTokenRecord): Promise<void>;
  /**
   * Plain read. Returns rotated tokens too (`consumedAt` set) for reuse detection, and
   * sets `revokedAt` when the grant was revoked with {@link GrantStore.revokeGrant}.
   */
  findRefreshToken(tokenHash: string): Promise<RefreshTokenRecord | undefined>;
  /**
   * In one atomic step: if the token `oldHash` exists, is not consumed and its grant is not
   * revoked, set its `consumedAt` (and `successorEnvelope`, if given), keep it at least until
   * `successor.expiresAt` (`retainUntil`), and insert `successor`.
   * Atomicity: of N concurrent callers for one token, exactly one resolves `true` and exactly
   * one successor is stored; the others resolve `false` and store nothing.
   */
  rotateRefreshToken(
    oldHash: string,
    successor: RefreshTokenRecord,
    consumedAt: number,
    successorEnvelope?: string,
  ): Promise<boolean>;
}

/** Grant-level revocation (the unit that ties codes, refresh tokens and device codes together). */
export interface GrantStore {
  /**
   * Revokes every token of a grant. Idempotent. Once it resolves, `findRefreshToken` reports
   * `revokedAt` for every token of the grant (also tokens saved afterwards) and
   * `rotateRefreshToken` resolves `false` for them. The mark is kept until `retainUntil`.
   * Must not scan: one write keyed by `grantId`.
   */
  revokeGrant(grantId: string, revokedAt: number, retainUntil: number): Promise<void>;
  /** Whether {@link revokeGrant} was called for this grant (and the mark is still retained). */
  isGrantRevoked(grantId: string): Promise<boolean>;
}

/**
 * Access tokens revoked before their `exp` (RFC 7009 §2): a list of `jti`s, each kept until the
 * token would have expired anyway, so the list cannot grow without bound.
 */
export interface AccessTokenRevocationStore {
  /**
   * Records that the access token `jti` is revoked. Idempotent (a second call keeps the entry;
   * the later `expiresAt` wins). The entry may be dropped once `expiresAt` (the token's `exp`,
   * in ms) has passed, never before.
   */
  revokeAccessToken(jti: string, expiresAt: number): Promise<void>;
  /** Whether {@link revokeAccessToken} was called for `jti` and its entry is still kept. */
  isAccessTokenRevoked(jti: string): Promise<boolean>;
}

/**
 * One-time values that must not be accepted twice while they are valid: the `jti` of a client's
 * assertion (RFC 7523 §3, OIDC Core §9) and of a DPoP proof (RFC 9449 §11.1). Each entry is kept
 * only until the value expires, so the store is bounded by the values seen within one lifetime.
 */
export interface OneTimeUseStore {
  /**
   * Records that the one-time value `key` (an assertion's or a DPoP proof's jti, namespaced and
   * hashed by the caller) was used, kept until `expiresAt` (ms). Atomicity: of N concurrent callers
   * with one key, exactly one resolves `true`; every later call before `expiresAt` resolves `false`.
   * After `expiresAt` the entry may be dropped (the caller refuses expired values itself).
   * Never a read-then-write in two steps.
   */
  recordOneTimeUse(key: string, expiresAt: number): Promise<boolean>;
}

/** State of a device authorization request (RFC 8628). */
export type DeviceCodeStatus = 'pending' | 'approved' | 'denied';

/** A device authorization request. */
export interface DeviceCodeRecord {
  /** base64url SHA-256 of the device_code. */
  readonly deviceCodeHash: string;
  /** base64url SHA-256 of the normalised user_code (upper case, no separators). */
  readonly userCodeHash: string;
  /** The client (device) that started the request. */
  readonly clientId: string;
  /** The requested scope values, granted as a whole on approval. */
  readonly scope: readonly string[];
  /** Resource indicators (RFC 8707) of the device authorization request; the poll may narrow them. Absent when none. */
  readonly resources?: readonly string[];
  /** Ties together every token issued from this request (revocation unit). */
  readonly grantId: string;
  /** When the request was made, ms since the epoch. */
  readonly issuedAt: number;
  /** When the device_code and user_code stop working, ms since the epoch (RFC 8628 §3.2 `expires_in`). */
  readonly expiresAt: number;
  /** Current minimum polling interval in seconds (grows by 5 on each slow_down). */
  readonly interval: number;
  /** Time of the last poll by the device. */
  readonly lastPolledAt?: number;
  /** Whether the user has decided yet. */
  readonly status: DeviceCodeStatus;
  /** The approving user's session, set on approval. */
  readonly session?: SessionFacts;
  /** Set once, when the approved code was redeemed for tokens. */
  readonly consumedAt?: number;
}

/** Outcome of {@link DeviceCodeStore.pollDeviceCode}. */
export interface DevicePollResult {
  /** The record after the poll was registered. */
  readonly record: DeviceCodeRecord;
  /** True when this poll came sooner than the interval; the interval was raised by `slowDownSeconds`. */
  readonly tooSoon: boolean;
}

/** Device codes (RFC 8628). */
export interface DeviceCodeStore {
  /**
   * Inserts a request. Resolves `false` (and stores nothing) when a live request already
   * uses the same `userCodeHash`, so the caller can draw a new user code. Atomic.
   */
  saveDeviceCode(record: DeviceCodeRecord): Promise<boolean>;
  /** The request with this device_code digest, whatever its state; undefined when unknown (or dropped after expiry). */
  findDeviceCode(deviceCodeHash: string): Promise<DeviceCodeRecord | undefined>;
  /** The request with this user_code digest (of the normalised code), for the verification page; undefined when unknown. */
  findDeviceCodeByUserCode(userCodeHash: string): Promise<DeviceCodeRecord | undefined>;
  /**
   * Compare-and-set from `pending` to `approved` (with `session`) or `denied`.
   * Atomicity: of N concurrent decisions exactly one resolves `true`.
   */
  decideDeviceCode(
    userCodeHash: string,
    decision: { readonly status: 'approved'; readonly session: SessionFacts } | { readonly status: 'denied' },
  ): Promise<boolean>;
  /**
   * Registers a poll at `at` atomically: when less than the record's `interval` passed since
   * `lastPolledAt`, the interval grows by `slowDownSeconds` (never beyond `maxIntervalSeconds`,
   * when given, and never shrinking an interval already above it) and `tooSoon` is true. Either way
   * `lastPolledAt` becomes `at`. Concurrent polls are serialised: a burst cannot slip under
   * the interval. Resolves `undefined` for an unknown code.
   */
  pollDeviceCode(deviceCodeHash: string, at: number, slowDownSeconds: number, maxIntervalSeconds?: number): Promise<DevicePollResult | undefined>;
  /**
   * Compare-and-set `consumedAt` on an `approved`, unconsumed request.
   * Atomicity: of N concurrent callers exactly one resolves `true`.
   */
  consumeDeviceCode(deviceCodeHash: string, consumedAt: number): Promise<boolean>;
}

/**
 * The full storage adapter the built-in grants use. A host may implement only the parts its
 * grants need: each grant checks at `createTokenRouter` time that its methods exist.
 */
export interface StorageAdapter extends AuthorizationCodeStore, RefreshTokenStore, GrantStore, AccessTokenRevocationStore, OneTimeUseStore, DeviceCodeStore {}
