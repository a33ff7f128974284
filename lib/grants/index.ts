// lib/grants/index.ts
// The built-in grant factories, each from its own folder.
export { clientCredentials, type ClientCredentialsOptions } from './client-credentials/grant';
export { authorizationCode, type AuthorizationCodeGrant, type AuthorizationCodeParameters } from './authorization-code/grant';
export type { AuthorizationCodeOptions, AuthorizationCodeSettings } from './authorization-code/settings';
export { refreshToken, type RefreshTokenGrantOptions, type RefreshGrantExtension, type RefreshExtensionContext, type SessionCheckHook, type SessionCheckContext, type SessionUpdate, type RefreshTokenParameters } from './refresh-token/grant';
export { deviceCode, DEVICE_CODE_GRANT_TYPE, type DeviceCodeGrant, type DeviceCodeParameters } from './device-code/grant';
export type { DeviceCodeOptions, DeviceCodeSettings, UserCodeAttemptOptions } from './device-code/settings';
export { tokenExchange, TOKEN_EXCHANGE_GRANT_TYPE, TOKEN_TYPES, type TokenExchangeOptions, type TokenExchangeRequest, type TokenExchangeDecision, type ExchangedToken, type TokenExchangeParameters } from './token-exchange/grant';
export type { TrustedIssuer, TrustedKey } from './token-exchange/trusted-issuers';
