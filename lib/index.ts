// lib/index.ts
// Public API of express-token-endpoint: everything a host imports comes from here.
export { createTokenRouter } from './router';
export type { TokenRouter } from './router';
export type { TokenRouterOptions, AccessTokenOptions, IdTokenOptions, SubjectOptions, ClientAuthenticationOptions, RateLimitOptions } from './options';
export type { BruteForceOptions, ClientAuthFailureLimits, GrantFailureLimits } from './options';
export type { DiscoveryOptions } from './discovery';
export type { AuthorizationCodeInput, IssuedAuthorizationCode } from './authorization-codes';
export { defaultGrants } from './resolve-options';

export { OAuthError, ConfigurationError } from './errors';
export type { OAuthErrorCode, OAuthErrorOptions, ConfigurationErrorCode } from './errors';

export { clientCredentials, authorizationCode, refreshToken, PROFILE_SCOPE } from './grants';
export type {
  ClientCredentialsOptions,
  AuthorizationCodeOptions,
  AuthorizationCodeGrant,
  RefreshTokenGrantOptions,
  SessionCheckHook,
  SessionCheckContext,
  SessionUpdate,
  ProfileSwitchContext,
} from './grants';
export { deviceCode, DEVICE_CODE_GRANT_TYPE, USER_CODE_FORMATS } from './grants/device-code';
export type { DeviceCodeOptions, DeviceCodeGrant, UserCodeFormat } from './grants/device-code';
export { normalizeUserCode } from './device-authorization';
export type {
  DeviceVerification,
  DeviceLookupResult,
  DeviceDecisionResult,
  DeviceApproval,
  UserCodeAttemptOptions,
  VerificationContext,
} from './device-authorization';
export { TELENORID_REFRESH_POLICIES } from './refresh/policies';
export type { RefreshPolicy, NoRefreshPolicy, AbsoluteRefreshPolicy, SlidingRefreshPolicy, RefreshTokenOptions } from './refresh/policies';
export type { RefreshTokenService, NoRefreshReason } from './refresh/refresh-token-service';
export { s256Challenge } from './grants/pkce';
export type { PkceMethod } from './grants/pkce';
export type { UserTokenRequest, MintedUserTokens } from './grants/user-tokens';
export { issueUserTokens, mintUserTokens, reportUserTokens } from './grants/user-tokens';
export type {
  GrantStrategy,
  GrantContext,
  GrantSetupContext,
  GrantParameters,
  ParameterSpec,
  ParameterSpecs,
  ParamsDtoClass,
  TokenResponse,
} from './grants/types';

export { createMemoryClientRegistry } from './clients/memory-client-registry';
export type { MemoryClientDefinition } from './clients/memory-client-registry';
export { hashClientSecret } from './clients/client-secret';
export type { ClientRegistry, RegisteredClient, ClientSecretDigest, TokenEndpointAuthMethod, AuthenticatedClient } from './clients/types';

export { createMemoryStorage } from './storage/memory-storage';
export type { MemoryStorage, MemoryStorageOptions } from './storage/memory-storage';
export type {
  StorageAdapter,
  AuthorizationCodeStore,
  RefreshTokenStore,
  GrantStore,
  DeviceCodeStore,
  AuthorizationCodeRecord,
  RefreshTokenRecord,
  DeviceCodeRecord,
  DeviceCodeStatus,
  DevicePollResult,
  SessionFacts,
  TokenClaims,
} from './storage/types';

export type {
  AccessTokenClaimsHook,
  AccessTokenClaimsContext,
  AccessTokenInput,
  AccessTokenService,
  IssuedAccessToken,
} from './tokens/access-token';
export type { SigningAlgorithm, SigningKeyInput, SigningKeyStatus, PublicJwk } from './tokens/signing-keys';
export type { IdTokenClaimsHook, IdTokenClaimsContext, IdTokenInput, IdTokenService } from './tokens/id-token';
export type { SubjectResolver } from './subjects';
export { createOpaqueToken, hashOpaqueToken } from './tokens/opaque-token';
export type { OpaqueToken } from './tokens/opaque-token';

export { EVENT_SCHEMA_VERSION, EVENT_TYPES } from './events';
export type {
  TokenEndpointEvent,
  TokenEndpointEventType,
  TokenEndpointEventOf,
  TokenIssuedEvent,
  ClientAuthenticationFailedEvent,
  ClientAuthFailureReason,
  RequestRejectedEvent,
  RateLimitedEvent,
  RateLimiterName,
  GrantRevokedEvent,
  GrantRevocationReason,
  AuthorizationCodeReplayedEvent,
  DeviceCodeReplayedEvent,
  ReplayDetection,
  RefreshTokenReusedEvent,
  RefreshTokenRetryEvent,
  DeviceCodeApprovedEvent,
  DeviceCodeDeniedEvent,
  EventListener,
} from './events';
export type { Logger } from './logger';
export { parseScope, formatScope, allowedScopes, assertScopesAllowed } from './scope';
