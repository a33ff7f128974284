// lib/index.ts
// The public API of express-token-endpoint, listed in one place: everything a host imports comes
// from here (spec/public-api.spec.ts pins the runtime names). Anything not listed is internal.

// The router.
export { createTokenRouter } from './router';
export type { TokenRouter } from './router-api';
export type { TokenRouterOptions, DpopOptions, AccessTokenOptions, IdTokenOptions, SubjectOptions, ClientAuthenticationOptions, RateLimitOptions, ProtectedResourceOptions } from './options/types';
export type { BruteForceOptions, ClientAuthFailureLimits, ClientAuthBackoff, GrantFailureLimits, JwksFetchOptions, JwksFetch, FetchedJwks } from './options/types';
export { defaultGrants } from './options/resolve';

// Contracts: the grant, client-registry and storage seams, refresh policies, token services, events, errors.
export { OAuthError, ConfigurationError, EVENT_SCHEMA_VERSION, EVENT_TYPES, STORAGE_METHODS, defineGrant, defineFormEndpoint, defineEndpointPlugin } from './contracts';
export type {
  // client authentication (the seam)
  ClientAuthenticationMethod,
  ClientAuthenticationCredential,
  ClientAuthenticationRequest,
  ClientAuthenticationResult,
  ClientAuthenticationMethodFailure,
  PresentedClientCertificate,
  // errors
  OAuthErrorCode,
  OAuthErrorOptions,
  ConfigurationErrorCode,
  // grants
  GrantStrategy,
  AnyGrantStrategy,
  EndpointPlugin,
  AnyEndpointPlugin,
  GrantContext,
  GrantSetupContext,
  GrantContributionContext,
  GrantContribution,
  FormEndpoint,
  FormEndpointContext,
  GrantParameters,
  GrantStorage,
  GrantedScope,
  ScopeRules,
  GrantedResources,
  ResourceRules,
  IssueTokensRequest,
  IssuedTokens,
  ParameterSpec,
  ParameterSpecs,
  RequiredParameterSpec,
  ParamsDtoClass,
  RequestFacts,
  StorageMethodName,
  TokenResponse,
  // clients
  ClientRegistry,
  RegisteredClient,
  ClientSecretDigest,
  TokenEndpointAuthMethod,
  ClientJwk,
  AuthenticatedClient,
  // storage
  StorageAdapter,
  AuthorizationCodeStore,
  RefreshTokenStore,
  GrantStore,
  AccessTokenRevocationStore,
  OneTimeUseStore,
  DeviceCodeStore,
  AuthorizationCodeRecord,
  RefreshTokenRecord,
  DeviceCodeRecord,
  DeviceCodeStatus,
  DevicePollResult,
  SessionFacts,
  TokenClaims,
  // refresh policies and families
  RefreshPolicy,
  NoRefreshPolicy,
  AbsoluteRefreshPolicy,
  SlidingRefreshPolicy,
  RefreshTokenOptions,
  RefreshTokenService,
  NoRefreshReason,
  // tokens and keys
  AccessTokenClaimsHook,
  AccessTokenClaimsContext,
  AccessTokenInput,
  AccessTokenService,
  IssuedAccessToken,
  IdTokenClaimsHook,
  IdTokenClaimsContext,
  IdTokenInput,
  IdTokenService,
  TokenInspector,
  AccessTokenClaims,
  IdTokenClaims,
  InspectedRefreshToken,
  SigningAlgorithm,
  SigningKeyInput,
  SigningKeyStatus,
  PublicJwk,
  OpaqueToken,
  SubjectResolver,
  DiscoveryOptions,
  Logger,
  // events
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
  TokenRevokedEvent,
  GrantRevocationReason,
  AuthorizationCodeReplayedEvent,
  DeviceCodeReplayedEvent,
  ReplayDetection,
  RefreshTokenReusedEvent,
  RefreshTokenRetryEvent,
  DeviceCodeApprovedEvent,
  DeviceCodeDeniedEvent,
  EventListener,
  // telemetry (the `telemetry` option; express-token-endpoint/opentelemetry implements it)
  TelemetryHooks,
  TelemetryScope,
  RequestTelemetry,
  RequestTelemetryStart,
  RequestOutcome,
  OperationTelemetry,
  SigningTelemetryStart,
} from './contracts';

// Built-in grants.
export { clientCredentials, authorizationCode, refreshToken, deviceCode, DEVICE_CODE_GRANT_TYPE, tokenExchange, TOKEN_EXCHANGE_GRANT_TYPE, TOKEN_TYPES } from './grants';
export type {
  ClientCredentialsOptions,
  AuthorizationCodeOptions,
  AuthorizationCodeGrant,
  AuthorizationCodeSettings,
  AuthorizationCodeParameters,
  RefreshTokenGrantOptions,
  RefreshGrantExtension,
  RefreshExtensionContext,
  SessionCheckHook,
  SessionCheckContext,
  SessionUpdate,
  RefreshTokenParameters,
  DeviceCodeOptions,
  DeviceCodeGrant,
  DeviceCodeSettings,
  DeviceCodeParameters,
  UserCodeAttemptOptions,
  TokenExchangeOptions,
  TokenExchangeRequest,
  TokenExchangeDecision,
  ExchangedToken,
  TokenExchangeParameters,
  TrustedIssuer,
  TrustedKey,
} from './grants';
export type { AuthorizationCodeInput, IssuedAuthorizationCode } from './grants/authorization-code/code-minter';
export type { AuthorizationRequestParameters, AuthorizationRequestVerdict, ValidatedAuthorizationRequest, AuthorizationResponse, AuthorizationResponseTarget, PromptValue } from './grants/authorization-code/authorization-request';
export { s256Challenge } from './grants/authorization-code/pkce';
export type { PkceMethod } from './grants/authorization-code/pkce';
export { USER_CODE_FORMATS, normalizeUserCode } from './grants/device-code/user-codes';
export type { UserCodeFormat } from './grants/device-code/user-codes';
export type { DeviceVerification, DeviceLookupResult, DeviceDecisionResult, DeviceApproval, VerificationContext } from './grants/device-code/verification';

// Endpoint plug-ins (the router's `endpoints` option).
export { revocation } from './revocation/revocation-endpoint';
export type { RevocationOptions } from './revocation/revocation-endpoint';
export { introspection } from './introspection/introspection-endpoint';
export type { IntrospectionOptions, IntrospectionAuthorizationContext, IntrospectedToken } from './introspection/introspection-endpoint';

// Resource-server middleware (the router's own `tokenRouter.requireAccessToken` is a member of TokenRouter).
export { requireAccessToken } from './resource-server/jwks';
// Client authentication: mutual TLS (RFC 8705) as methods of the seam, and reading certificates.
export { tlsClientAuth, selfSignedTlsClientAuth } from './mtls/methods';
export { certificateFromClientCertHeader, certificateThumbprint } from './mtls/certificate';
export { accessTokenOf } from './resource-server/middleware';
export type { RequireAccessTokenOptions, JwksAccessTokenOptions, JwksKeySource, VerifiedAccessToken } from './resource-server/types';

// TelenorID+ extras (opt-in).
export { tnuIdProfileSwitch, PROFILE_SCOPE, TELENORID_REFRESH_POLICIES } from './extensions/telenorid';
export type { ProfileSwitchContext, ProfileSwitchOptions } from './extensions/telenorid';

// Adapters and helpers.
export { createMemoryClientRegistry } from './clients/memory-client-registry';
export type { MemoryClientDefinition } from './clients/memory-client-registry';
export { hashClientSecret } from './clients/client-secret';
export { createMemoryStorage } from './storage/memory-storage';
export type { MemoryStorage, MemoryStorageOptions } from './storage/memory-storage';
export { createOpaqueToken, hashOpaqueToken } from './tokens/opaque-token';
export { parseScope, formatScope, allowedScopes, assertScopesAllowed } from './issuance/scope';
