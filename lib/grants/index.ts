// lib/grants/index.ts
// The built-in grant factories.
export { clientCredentials, type ClientCredentialsOptions } from './client-credentials/grant';
export { authorizationCode, type AuthorizationCodeOptions, type AuthorizationCodeGrant } from './authorization-code/grant';
export { refreshToken, PROFILE_SCOPE, type RefreshTokenGrantOptions, type SessionCheckHook, type SessionCheckContext, type SessionUpdate, type ProfileSwitchContext } from './refresh-token/grant';
