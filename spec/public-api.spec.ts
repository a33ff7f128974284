// spec/public-api.spec.ts
// The published surface: exported names, and no `any` leaking into the declaration files.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import * as api from '../lib';

function declarationFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return declarationFiles(path);
    return name.endsWith('.d.ts') ? [path] : [];
  });
}

// The public surface, listed once in lib/index.ts and pinned here: a name added to or dropped from
// the package is a visible change of this list (and a CHANGELOG entry), never an accident.
const RUNTIME_EXPORTS = [
    'ConfigurationError', 'DEVICE_CODE_GRANT_TYPE', 'EVENT_SCHEMA_VERSION', 'EVENT_TYPES', 'OAuthError',
    'PROFILE_SCOPE', 'STORAGE_METHODS', 'TELENORID_REFRESH_POLICIES', 'USER_CODE_FORMATS', 'allowedScopes',
    'assertScopesAllowed', 'authorizationCode', 'clientCredentials', 'createMemoryClientRegistry',
    'createMemoryStorage', 'createOpaqueToken', 'createTokenRouter', 'defaultGrants', 'defineFormEndpoint',
    'defineGrant', 'deviceCode', 'formatScope', 'hashClientSecret', 'hashOpaqueToken', 'normalizeUserCode',
    'parseScope', 'refreshToken', 's256Challenge', 'tnuIdProfileSwitch',
    // Issue 14: endpoint plug-ins.
    'defineEndpointPlugin', 'introspection', 'revocation',
    'tokenExchange', 'TOKEN_EXCHANGE_GRANT_TYPE', 'TOKEN_TYPES',
    // Issue 15: resource-server middleware.
    'requireAccessToken', 'accessTokenOf',
    // Issue 15: the client-authentication seam's mutual-TLS methods and certificate helpers.
    'tlsClientAuth', 'selfSignedTlsClientAuth', 'certificateFromClientCertHeader', 'certificateThumbprint',
];

// The type-only names (interfaces and type aliases) of the public surface.
const TYPE_EXPORTS = [
   'AbsoluteRefreshPolicy', 'AccessTokenClaimsContext', 'AccessTokenClaimsHook', 'AccessTokenInput',
   'AccessTokenOptions', 'AccessTokenService', 'AnyGrantStrategy', 'AuthenticatedClient',
   'AuthorizationCodeGrant', 'AuthorizationCodeInput', 'AuthorizationCodeOptions', 'AuthorizationCodeRecord',
   'AuthorizationCodeReplayedEvent', 'AuthorizationCodeSettings', 'AuthorizationCodeStore',
   'BruteForceOptions', 'ClientAuthFailureLimits', 'ClientAuthFailureReason',
   'ClientAuthenticationFailedEvent', 'ClientAuthenticationOptions', 'ClientCredentialsOptions',
   'ClientRegistry', 'ClientSecretDigest', 'ConfigurationErrorCode', 'DeviceApproval',
   'DeviceCodeApprovedEvent', 'DeviceCodeDeniedEvent', 'DeviceCodeGrant', 'DeviceCodeOptions',
   'DeviceCodeRecord', 'DeviceCodeReplayedEvent', 'DeviceCodeSettings', 'DeviceCodeStatus', 'DeviceCodeStore',
   'DeviceDecisionResult', 'DeviceLookupResult', 'DevicePollResult', 'DeviceVerification', 'DiscoveryOptions',
   'EventListener', 'FormEndpoint', 'FormEndpointContext', 'GrantContext', 'GrantContribution',
   'GrantContributionContext', 'GrantFailureLimits', 'GrantParameters', 'GrantRevocationReason',
   'GrantRevokedEvent', 'GrantSetupContext', 'GrantStorage', 'GrantStore', 'GrantStrategy', 'GrantedResources', 'GrantedScope',
   'IdTokenClaimsContext', 'IdTokenClaimsHook', 'IdTokenInput', 'IdTokenOptions', 'IdTokenService',
   'IssueTokensRequest', 'IssuedAccessToken', 'IssuedAuthorizationCode', 'IssuedTokens', 'Logger',
   'MemoryClientDefinition', 'MemoryStorage', 'MemoryStorageOptions', 'NoRefreshPolicy', 'NoRefreshReason',
   'OAuthErrorCode', 'OAuthErrorOptions', 'OpaqueToken', 'ParameterSpec', 'ParameterSpecs', 'ParamsDtoClass',
   'PkceMethod', 'ProfileSwitchContext', 'ProfileSwitchOptions', 'ProtectedResourceOptions', 'PublicJwk', 'RateLimitOptions',
   'RateLimitedEvent', 'RateLimiterName', 'RefreshExtensionContext', 'RefreshGrantExtension', 'RefreshPolicy',
   'RefreshTokenGrantOptions', 'RefreshTokenOptions', 'RefreshTokenRecord', 'RefreshTokenRetryEvent',
   'RefreshTokenReusedEvent', 'RefreshTokenService', 'RefreshTokenStore', 'RegisteredClient',
   'ReplayDetection', 'RequestFacts', 'RequestRejectedEvent', 'ResourceRules', 'ScopeRules', 'SessionCheckContext',
   'SessionCheckHook', 'SessionFacts', 'SessionUpdate', 'SigningAlgorithm', 'SigningKeyInput',
   'SigningKeyStatus', 'SlidingRefreshPolicy', 'StorageAdapter', 'StorageMethodName', 'SubjectOptions',
   'SubjectResolver', 'TokenClaims', 'TokenEndpointAuthMethod', 'TokenEndpointEvent', 'TokenEndpointEventOf',
   'TokenEndpointEventType', 'TokenIssuedEvent', 'TokenResponse', 'TokenRouter', 'TokenRouterOptions',
   'UserCodeAttemptOptions', 'UserCodeFormat', 'VerificationContext',
   // Issue 14: endpoint plug-ins, the token inspector, the access-token revocation list.
   'AccessTokenClaims', 'AccessTokenRevocationStore', 'AnyEndpointPlugin', 'EndpointPlugin', 'IdTokenClaims',
   'InspectedRefreshToken', 'IntrospectedToken', 'IntrospectionAuthorizationContext', 'IntrospectionOptions',
   'RevocationOptions', 'TokenInspector', 'TokenRevokedEvent',
   // Issue 15: JWT client authentication.
   'ClientJwk', 'DpopOptions',
   // Issue 15: clients' jwks_uri.
   'JwksFetchOptions', 'JwksFetch', 'FetchedJwks',
   'TokenExchangeOptions', 'TokenExchangeRequest', 'TokenExchangeDecision', 'ExchangedToken', 'TrustedIssuer', 'TrustedKey',
   // Issue 15: single use of assertion and DPoP proof jtis.
   'OneTimeUseStore',
   // Issue 15: resource-server middleware.
   'RequireAccessTokenOptions', 'JwksAccessTokenOptions', 'JwksKeySource', 'VerifiedAccessToken',
   // Issue 15: the client-authentication seam.
   'ClientAuthenticationMethod', 'ClientAuthenticationCredential', 'ClientAuthenticationRequest',
   'ClientAuthenticationResult', 'ClientAuthenticationMethodFailure', 'PresentedClientCertificate',
   // Issue 17: checking authorization requests and building their responses.
   'AuthorizationRequestParameters', 'AuthorizationRequestVerdict', 'ValidatedAuthorizationRequest', 'AuthorizationResponse',
   'AuthorizationResponseTarget', 'PromptValue',
   // Issue 16: the telemetry seam (express-token-endpoint/opentelemetry implements it).
   'TelemetryHooks', 'TelemetryScope', 'RequestTelemetry', 'RequestTelemetryStart', 'RequestOutcome', 'OperationTelemetry', 'SigningTelemetryStart',
   // Issue 17: named for the generated API reference (the grants' parameter tables, the back-off settings).
   'RequiredParameterSpec', 'AuthorizationCodeParameters', 'RefreshTokenParameters', 'DeviceCodeParameters', 'TokenExchangeParameters',
   'ClientAuthBackoff',
];

/** Every name lib/index.ts exports, types included, read with the TypeScript checker. */
function exportedNames(): string[] {
  const entry = join(__dirname, '..', 'lib', 'index.ts');
  const program = ts.createProgram([entry], { strict: true, experimentalDecorators: true, skipLibCheck: true });
  const checker = program.getTypeChecker();
  const module = checker.getSymbolAtLocation(program.getSourceFile(entry) as ts.SourceFile) as ts.Symbol;
  return checker.getExportsOfModule(module).map((symbol) => symbol.name).sort();
}

describe('public API', () => {
  it('exports exactly the listed runtime names', () => {
    expect(Object.keys(api).sort()).toEqual([...RUNTIME_EXPORTS].sort());
  });

  it('exports exactly the listed types too, and no internal service (those are reached through the grant context)', () => {
    const names = exportedNames();
    for (const internal of ['mintUserTokens', 'issueUserTokens', 'reportUserTokens', 'createRefreshTokenService', 'createAccessTokenService', 'createCodeMinter', 'createDeviceVerification', 'RequestGrantContext', 'sanitizeDescription']) {
      expect(names).not.toContain(internal);
    }
    // The contracts a host implements or receives are all public.
    for (const contract of ['GrantStrategy', 'GrantContext', 'ClientRegistry', 'RegisteredClient', 'StorageAdapter', 'RefreshTokenService', 'TokenEndpointEvent', 'RefreshGrantExtension', 'FormEndpoint']) {
      expect(names).toContain(contract);
    }
    expect(names).toEqual([...RUNTIME_EXPORTS, ...TYPE_EXPORTS].sort());
  });

  it('exports the router factory, grants, adapters, errors and helpers', () => {
    for (const name of ['createTokenRouter', 'clientCredentials', 'createMemoryClientRegistry', 'createMemoryStorage', 'hashClientSecret', 'OAuthError', 'ConfigurationError', 'defaultGrants', 'createOpaqueToken', 'hashOpaqueToken', 'parseScope', 'allowedScopes', 'assertScopesAllowed']) {
      expect(typeof (api as Record<string, unknown>)[name]).toBe('function');
    }
  });

  it('exports the event schema version and the list of event types', () => {
    expect(api.EVENT_SCHEMA_VERSION).toBe(2);
    expect(Object.isFrozen(api.EVENT_TYPES)).toBe(true);
    expect(api.EVENT_TYPES).toEqual(expect.arrayContaining(['token.issued', 'client.authentication_failed', 'authorization_code.replayed', 'device_code.replayed', 'grant.revoked', 'rate_limited']));
  });

  it('has no `any` in the built declaration files (npm test builds dist/ first)', () => {
    const dist = join(__dirname, '..', 'dist');
    const files = declarationFiles(dist);
    expect(files.length).toBeGreaterThan(10);
    const offenders: string[] = [];
    for (const file of files) {
      const code = readFileSync(file, 'utf8').replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/.*$/gm, '');
      if (/\bany\b/.test(code)) offenders.push(file);
    }
    expect(offenders).toEqual([]);
  });

  it.each<[string, string[]]>([
    ['testing', ['CONFORMANCE_T0', 'TEST_CLIENT', 'TEST_ISSUER', 'TEST_SIGNING_KEY_ID', 'codeExchange', 'createTestClock', 'createTestTokenRouter', 'mintAccessToken', 'runStorageConformance', 'testSigningKey', 'withLatency']],
    ['sqlite', ['SCHEMA_VERSION', 'createSqliteStorage']],
    ['redis', ['ReplicationTimeoutError', 'createRedisStorage', 'redisStorageKeys']],
    ['postgres', ['DEFAULT_SCHEMA', 'SCHEMA_VERSION', 'createPostgresStorage', 'migratePostgresStorage']],
  ])('the %s entry point exports exactly its listed names', async (entry, names) => {
    const loaded = (await import(`../lib/${entry}`)) as Record<string, unknown>;
    expect(Object.keys(loaded).filter((name) => name !== 'default' && name !== '__esModule').sort()).toEqual(names);
  });
});
