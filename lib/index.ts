// lib/index.ts
// Public API of express-token-endpoint: everything a host imports comes from here.
export { createTokenRouter } from './router';
export type { TokenRouter } from './router';
export type { TokenRouterOptions, AccessTokenOptions, IdTokenOptions, SubjectOptions, ClientAuthenticationOptions, RateLimitOptions } from './options/types';
export type { BruteForceOptions, ClientAuthFailureLimits, GrantFailureLimits } from './options/types';
export type { DiscoveryOptions } from './well-known/discovery';
export type { AuthorizationCodeInput, IssuedAuthorizationCode } from './grants/authorization-code/code-minter';
export { defaultGrants } from './options/resolve';

export { OAuthError, ConfigurationError } from './contracts/errors';
export type { OAuthErrorCode, OAuthErrorOptions, ConfigurationErrorCode } from './contracts/errors';

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
export { deviceCode, DEVICE_CODE_GRANT_TYPE, USER_CODE_FORMATS } from './grants/device-code/grant';
export type { DeviceCodeOptions, DeviceCodeGrant, UserCodeFormat } from './grants/device-code/grant';
export { normalizeUserCode } from './grants/device-code/device-authorization';
export type {
  DeviceVerification,
  DeviceLookupResult,
  DeviceDecisionResult,
  DeviceApproval,
  UserCodeAttemptOptions,
  VerificationContext,
} from './grants/device-code/device-authorization';
export { TELENORID_REFRESH_POLICIES } from './issuance/refresh-policies';
export type { RefreshPolicy, NoRefreshPolicy, AbsoluteRefreshPolicy, SlidingRefreshPolicy, RefreshTokenOptions } from './issuance/refresh-policies';
export type { RefreshTokenService, NoRefreshReason } from './issuance/refresh-tokens';
export { s256Challenge } from './grants/authorization-code/pkce';
export type { PkceMethod } from './grants/authorization-code/pkce';
export type { UserTokenRequest, MintedUserTokens } from './issuance/issue-tokens';
export { issueUserTokens, mintUserTokens, reportUserTokens } from './issuance/issue-tokens';
export type {
  GrantStrategy,
  GrantContext,
  GrantSetupContext,
  GrantParameters,
  ParameterSpec,
  ParameterSpecs,
  ParamsDtoClass,
  TokenResponse,
} from './contracts/grant';

export { createMemoryClientRegistry } from './clients/memory-client-registry';
export type { MemoryClientDefinition } from './clients/memory-client-registry';
export { hashClientSecret } from './clients/client-secret';
export type { ClientRegistry, RegisteredClient, ClientSecretDigest, TokenEndpointAuthMethod, AuthenticatedClient } from './contracts/clients';

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
} from './contracts/storage';

export type {
  AccessTokenClaimsHook,
  AccessTokenClaimsContext,
  AccessTokenInput,
  AccessTokenService,
  IssuedAccessToken,
} from './tokens/access-token';
export type { SigningAlgorithm, SigningKeyInput, SigningKeyStatus, PublicJwk } from './tokens/signing-keys';
export type { IdTokenClaimsHook, IdTokenClaimsContext, IdTokenInput, IdTokenService } from './tokens/id-token';
export type { SubjectResolver } from './issuance/subjects';
export { createOpaqueToken, hashOpaqueToken } from './tokens/opaque-token';
export type { OpaqueToken } from './tokens/opaque-token';

export { EVENT_SCHEMA_VERSION, EVENT_TYPES } from './contracts/events';
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
} from './contracts/events';
export type { Logger } from './internal/logger';
export { parseScope, formatScope, allowedScopes, assertScopesAllowed } from './issuance/scope';
