// lib/options/resolve.ts
// Validates TokenRouterOptions once and turns them into the resolved settings the router runs on.
import { createCheckedRegistry, checkRegistryEntries, warnUnservedGrantTypes } from '../clients/checked-registry';
import type { ClientRecordRules } from '../clients/client-record';
import { ConfigurationError } from '../contracts/errors';
import type { ClientRegistry, RegisteredClient } from '../contracts/clients';
import type { EventListener } from '../contracts/events';
import type { AnyGrantStrategy } from '../contracts/grant';
import { prepareEndpointPlugins, prepareGrants, type PreparedEndpointPlugin, type PreparedGrant } from '../endpoint/grant-registry';
import { authorizationCode } from '../grants/authorization-code/grant';
import { clientCredentials } from '../grants/client-credentials/grant';
import { refreshToken } from '../grants/refresh-token/grant';
import { checkPolicy, createPolicyResolver } from '../issuance/refresh-policies';
import { resolveResources, type ResourceCatalogue } from '../issuance/resources';
import { checkBoolean, checkFunction, checkInt, checkKeys, checkObject } from './checks';
import { checkBruteForceNumbers, checkFailureStores, checkRateLimit, readBruteForce, resolveBruteForce, type ResolvedBruteForce } from './limits';
import { ClockedMemoryStore } from '../endpoint/brute-force';
import { DEFAULTS } from './defaults';
import { consoleLogger } from '../internal/logger';
import { createNonceService, type NonceService } from '../dpop/nonce';
import { jwtClientAuthenticationMethods, type AssertionSettings } from '../endpoint/client-auth/client-assertion';
import { resolveClientAuthMethods, type ClientAuthMethods } from '../endpoint/client-auth/methods';
import { certificateFromTlsSocket } from '../mtls/certificate';
import type { PresentedClientCertificate } from '../contracts/client-auth';
import type { IncomingMessage } from 'node:http';
import { X509Certificate } from 'node:crypto';
import { builtInJwksFetch, createRemoteJwks } from '../endpoint/client-auth/remote-jwks';
import type { JwksFetchOptions, RateLimitOptions, TokenRouterOptions } from './types';
import type { StorageAdapter } from '../contracts/storage';
import { parseSigningKeys, type SigningKey } from '../tokens/signing-keys';
import type { DiscoveryOptions } from '../contracts/discovery';
import type { RefreshPolicy } from '../contracts/refresh-policy';
import type { Logger } from '../contracts/logger';
import type { AccessTokenClaimsHook, IdTokenClaimsHook } from '../contracts/tokens';
import { createRouterTelemetry, type RouterTelemetry } from '../telemetry/router-telemetry';

/** Options after validation, with defaults applied. */
export interface ResolvedOptions {
  readonly issuer: string;
  readonly signingKeys: readonly SigningKey[];
  readonly clients: ClientRegistry;
  readonly storage: Partial<StorageAdapter> | undefined;
  readonly grants: ReadonlyMap<string, PreparedGrant>;
  readonly endpointPlugins: readonly PreparedEndpointPlugin[];
  readonly accessTokenTtl: number;
  readonly accessTokenAudience: string | readonly string[];
  readonly accessTokenClaims: AccessTokenClaimsHook | undefined;
  /** The `resources` option (RFC 8707), checked and indexed. */
  readonly resources: ResourceCatalogue;
  readonly idTokenTtl: number;
  readonly idTokenClaims: IdTokenClaimsHook | undefined;
  readonly pairwiseSalt: string | undefined;
  readonly discovery: DiscoveryOptions;
  /** The refresh policy of a client. */
  readonly refreshPolicyFor: (client: RegisteredClient) => RefreshPolicy;
  /** How long revoked-grant marks are kept at least (ms). */
  readonly grantRetentionMs: number;
  readonly enforceRegisteredAuthMethod: boolean;
  readonly ignorePublicClientSecret: boolean;
  /** JWT client authentication: accepted audiences and the single-use jti store. */
  readonly clientAssertions: AssertionSettings;
  /** The client-authentication seam: built-in JWT methods and `clientAuthentication.methods`. */
  readonly clientAuthMethods: ClientAuthMethods;
  /** Certificate-bound access tokens are served: an mTLS method or a `clientCertificate` reader is configured. */
  readonly certificateBoundTokens: boolean;
  /** Reads a request's TLS client certificate (`clientAuthentication.clientCertificate`). */
  readonly clientCertificate: (req: IncomingMessage) => PresentedClientCertificate | undefined;
  /** Server-provided DPoP nonces (RFC 9449 §8), when `dpop.nonce` is set. */
  readonly dpopNonces: NonceService | undefined;
  readonly accessTokenScopeClaim: 'string' | 'array';
  readonly rateLimit: RateLimitOptions | false;
  /** Failure budgets; `undefined` = that limiter is off. */
  readonly bruteForce: ResolvedBruteForce;
  /** Refuse plain-HTTP requests (`req.secure` false). */
  readonly requireHttps: boolean;
  readonly maxBodyBytes: number;
  /** `unexpectedErrors: 'next'`: 5xx errors go to Express's next(err) after logging. */
  readonly forwardUnexpectedErrors: boolean;
  readonly logger: Logger;
  readonly onEvent: EventListener | undefined;
  /** The `telemetry` option wrapped for the router (hook failures contained); undefined = off. */
  readonly telemetry: RouterTelemetry | undefined;
  readonly clock: () => number;
}

// Keeps the runtime list of known option names in step with the TokenRouterOptions type:
// adding an option without listing it here is a compile error.
const KNOWN_OPTIONS: { [K in keyof Required<TokenRouterOptions>]: true } = {
  issuer: true,
  signingKeys: true,
  clients: true,
  storage: true,
  grants: true,
  endpoints: true,
  accessToken: true,
  resources: true,
  refreshTokens: true,
  idToken: true,
  subjects: true,
  discovery: true,
  clientAuthentication: true,
  dpop: true,
  rateLimit: true,
  bruteForce: true,
  requireHttps: true,
  maxBodyBytes: true,
  unexpectedErrors: true,
  logger: true,
  onEvent: true,
  telemetry: true,
  clock: true,
};

/** Validates every option, collecting all problems into one ConfigurationError. */
export function resolveOptions(options: TokenRouterOptions): ResolvedOptions {
  if (typeof options !== 'object' || options === null) {
    throw new ConfigurationError('ERR_TOKEN_ROUTER_OPTIONS', ['createTokenRouter(options) needs an options object with issuer, signingKeys and clients.']);
  }
  const problems: string[] = [];
  checkKeys(options as unknown as Record<string, unknown>, '', Object.keys(KNOWN_OPTIONS), problems);


  const bruteForce = readBruteForce(options.bruteForce, problems);
  if (typeof options.issuer !== 'string') problems.push('issuer must be a string such as "https://id.example.com".');
  else checkIssuer(options.issuer, problems);
  const accessToken = checkObject(options.accessToken, 'accessToken', ['ttl', 'audience', 'claims', 'scopeClaim'], '{ ttl?, audience?, claims?, scopeClaim? }', problems);
  if (accessToken?.scopeClaim !== undefined && accessToken.scopeClaim !== 'string' && accessToken.scopeClaim !== 'array') problems.push("accessToken.scopeClaim must be 'string' (RFC 9068) or 'array'.");
  checkInt(accessToken?.ttl, 'accessToken.ttl', 1, 86_400, 'seconds', problems, 'JWT access tokens cannot be recalled, keep them short');
  const idToken = checkObject(options.idToken, 'idToken', ['ttl', 'claims'], '{ ttl?, claims? }', problems);
  checkInt(idToken?.ttl, 'idToken.ttl', 60, 86_400, 'seconds', problems);
  const subjectsOption = checkObject(options.subjects, 'subjects', ['pairwiseSalt'], '{ pairwiseSalt? }', problems);
  const salt = subjectsOption?.pairwiseSalt;
  if (salt !== undefined && (typeof salt !== 'string' || salt.length < 32)) problems.push('subjects.pairwiseSalt must be a string of at least 32 characters of secret randomness.');
  checkInt(options.maxBodyBytes, 'maxBodyBytes', 1024, 1_048_576, 'bytes', problems, '1 MiB');
  if (options.unexpectedErrors !== undefined && options.unexpectedErrors !== 'respond' && options.unexpectedErrors !== 'next') problems.push("unexpectedErrors must be 'respond' (the router answers 500 server_error) or 'next' (passed to your Express error handler).");
  const clientAuthentication = checkObject(options.clientAuthentication, 'clientAuthentication', ['enforceRegisteredMethod', 'ignorePublicClientSecret', 'jwks', 'methods', 'clientCertificate'], '{ enforceRegisteredMethod?, ignorePublicClientSecret?, jwks?, methods?, clientCertificate? }', problems);
  checkBoolean(clientAuthentication?.enforceRegisteredMethod, 'clientAuthentication.enforceRegisteredMethod', problems);
  checkBoolean(clientAuthentication?.ignorePublicClientSecret, 'clientAuthentication.ignorePublicClientSecret', problems);
  checkJwksOptions(clientAuthentication?.jwks, problems);
  checkFunction(clientAuthentication?.clientCertificate, 'clientAuthentication.clientCertificate', 'a function (req) => { certificate: X509Certificate, chainVerified: boolean } | undefined', problems);
  checkBoolean(options.requireHttps, 'requireHttps', problems, ' (it defaults to process.env.NODE_ENV === "production")');
  checkBruteForceNumbers(bruteForce, problems);

  const signingKeys = parseSigningKeys(options.signingKeys, 'signingKeys', problems);

  if (typeof options.clients !== 'object' || options.clients === null || typeof options.clients.findClient !== 'function') {
    problems.push('clients must be a ClientRegistry: an object with findClient(clientId) returning a Promise (see createMemoryClientRegistry).');
  }
  checkFunction(options.clock, 'clock', 'a function returning milliseconds since the epoch', problems);
  checkFunction(options.onEvent, 'onEvent', 'a function receiving TokenEndpointEvent objects', problems);
  checkTelemetry(options.telemetry, problems);
  checkFunction(options.accessToken?.claims, 'accessToken.claims', 'a function returning extra claims', problems);
  checkFunction(options.idToken?.claims, 'idToken.claims', 'a function returning extra claims', problems);
  checkDiscovery(options.discovery, problems);
  checkRateLimit(options.rateLimit, problems);
  if (options.logger !== undefined && (typeof options.logger?.warn !== 'function' || typeof options.logger?.error !== 'function')) {
    problems.push('logger must have warn(message, details) and error(message, details) methods (console works).');
  }
  const audience = options.accessToken?.audience;
  if (audience !== undefined && !isAudience(audience)) problems.push('accessToken.audience must be a non-empty string or a non-empty array of non-empty strings.');

  checkFailureStores(bruteForce, options.rateLimit, problems);
  const resources = resolveResources(options.resources, problems);
  const dpopNonces = resolveDpopNonces(options.dpop, problems);

  const clock = options.clock ?? Date.now;
  const logger = options.logger ?? consoleLogger;
  // With telemetry, the storage adapter's methods are wrapped once, here, before anything binds
  // them (grant views, the token inspector, one-time use); without it the adapter is used as given.
  const telemetry = options.telemetry !== undefined && problems.length === 0 ? createRouterTelemetry(options.telemetry, logger) : undefined;
  if (telemetry !== undefined) options = { ...options, storage: telemetry.instrumentStorage(options.storage) };
  // The JWT methods need settings built from valid options; until then the host's methods are
  // checked on their own (the built-in names are reserved either way).
  const clientAssertions = problems.length === 0 ? assertionSettings(options, clock, logger) : undefined;
  const clientAuthMethods = resolveClientAuthMethods(clientAssertions ? jwtClientAuthenticationMethods(clientAssertions) : [], clientAuthentication?.methods, problems);
  // RFC 8705 §3: binding needs certificates, which the host serves with an mTLS method or its own reader.
  const certificateBoundTokens = clientAuthMethods.usesClientCertificates || clientAuthentication?.clientCertificate !== undefined;

  const policies = createPolicyResolver(options.refreshTokens);
  problems.push(...policies.problems);
  const grants = resolveGrants(options, problems);
  const endpointPlugins = prepareEndpointPlugins(options.endpoints, options.storage, typeof options.issuer === 'string' ? options.issuer : '', problems);
  // The client-registry boundary: every record is checked against these settings before use,
  // all of them now when the registry can list them.
  const recordRules: ClientRecordRules = { policyNames: policies.names, checkPolicy, pairwiseSaltConfigured: typeof salt === 'string', knownResources: resources.uris, authMethods: clientAuthMethods.byName, certificateBoundTokens };
  const registryUsable = typeof options.clients === 'object' && options.clients !== null && typeof options.clients.findClient === 'function';
  if (registryUsable && problems.length === 0) checkRegistryEntries(options.clients, recordRules, problems);

  if (problems.length > 0 || clientAssertions === undefined) throw new ConfigurationError('ERR_TOKEN_ROUTER_OPTIONS', problems);
  warnUnservedGrantTypes(options.clients, new Set(grants.keys()), (message) => logger.warn(message));
  const readCertificate = options.clientAuthentication?.clientCertificate;
  return {
    issuer: options.issuer,
    signingKeys,
    clients: registryUsable ? createCheckedRegistry(options.clients, recordRules) : options.clients,
    storage: options.storage,
    grants,
    endpointPlugins,
    accessTokenTtl: options.accessToken?.ttl ?? DEFAULTS.accessTokenTtl,
    accessTokenAudience: audience ?? options.issuer,
    accessTokenClaims: options.accessToken?.claims,
    resources,
    idTokenTtl: options.idToken?.ttl ?? DEFAULTS.idTokenTtl,
    idTokenClaims: options.idToken?.claims,
    pairwiseSalt: options.subjects?.pairwiseSalt,
    discovery: options.discovery ?? {},
    refreshPolicyFor: policies.policyFor,
    grantRetentionMs: DEFAULTS.grantRetentionMs,
    enforceRegisteredAuthMethod: options.clientAuthentication?.enforceRegisteredMethod ?? DEFAULTS.enforceRegisteredMethod,
    ignorePublicClientSecret: options.clientAuthentication?.ignorePublicClientSecret ?? DEFAULTS.ignorePublicClientSecret,
    clientAssertions,
    clientAuthMethods,
    certificateBoundTokens,
    clientCertificate: readCertificate === undefined ? certificateFromTlsSocket : (req) => checkedCertificate(readCertificate(req)),
    dpopNonces,
    accessTokenScopeClaim: options.accessToken?.scopeClaim ?? DEFAULTS.accessTokenScopeClaim,
    rateLimit: options.rateLimit === false ? false : { ...DEFAULTS.rateLimit, store: new ClockedMemoryStore(clock), ...options.rateLimit },
    bruteForce: resolveBruteForce(bruteForce, clock),
    requireHttps: options.requireHttps ?? process.env.NODE_ENV === 'production',
    maxBodyBytes: options.maxBodyBytes ?? DEFAULTS.maxBodyBytes,
    forwardUnexpectedErrors: options.unexpectedErrors === 'next',
    logger,
    onEvent: options.onEvent,
    telemetry,
    clock,
  };
}

const TELEMETRY_HOOKS = ['request', 'storage', 'signing', 'event'] as const;

function checkTelemetry(value: unknown, problems: string[]): void {
  if (value === undefined) return;
  const hooks = value as Partial<Record<(typeof TELEMETRY_HOOKS)[number], unknown>> | null;
  if (typeof hooks !== 'object' || hooks === null || !TELEMETRY_HOOKS.every((name) => typeof hooks[name] === 'function')) {
    problems.push(`telemetry must be TelemetryHooks (${TELEMETRY_HOOKS.join(', ')} functions), e.g. openTelemetry() from express-token-endpoint/opentelemetry; leave it out for no telemetry.`);
  }
}

/** The built-in grants served when `grants` is not set. */
export function defaultGrants(): AnyGrantStrategy[] {
  return [authorizationCode(), clientCredentials(), refreshToken()];
}

function resolveGrants(options: TokenRouterOptions, problems: string[]): Map<string, PreparedGrant> {
  const list = options.grants ?? defaultGrants();
  if (!Array.isArray(list) || list.length === 0) {
    problems.push('grants must be a non-empty array of grant strategies, e.g. [clientCredentials()].');
    return new Map();
  }
  const defaults = options.grants === undefined;
  return prepareGrants(
    list,
    options.storage,
    typeof options.issuer === 'string' ? options.issuer : '',
    (index) => (defaults ? `grants (default built-in grant ${index})` : `grants[${index}]`),
    // The default grants include stateful ones; a host without storage may want client_credentials only.
    defaults ? ' (or serve only grants: [clientCredentials()], which needs no storage)' : '',
    problems,
  );
}

function checkIssuer(issuer: string, problems: string[]): void {
  let url: URL;
  try {
    url = new URL(issuer);
  } catch {
    problems.push(`issuer "${issuer}" is not an absolute URL; use e.g. "https://id.example.com".`);
    return;
  }
  if (url.search || url.hash || issuer.includes('?') || issuer.includes('#')) problems.push('issuer must not have a query or fragment (OIDC Core §2, RFC 8414 §2).');
  const local = ['localhost', '127.0.0.1', '[::1]'].includes(url.hostname);
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && local)) {
    problems.push(`issuer must use https (http is accepted only for localhost during development); got "${issuer}".`);
  }
}

const DISCOVERY_KEYS: { readonly [K in keyof Required<DiscoveryOptions>]: true } = {
  authorizationEndpoint: true,
  tokenEndpoint: true,
  deviceAuthorizationEndpoint: true,
  jwksUri: true,
  scopesSupported: true,
  metadata: true,
  maxAgeSeconds: true,
};

function checkDiscovery(value: DiscoveryOptions | undefined, problems: string[]): void {
  const discovery = checkObject(value, 'discovery', Object.keys(DISCOVERY_KEYS), '{ authorizationEndpoint?, tokenEndpoint?, jwksUri?, scopesSupported?, metadata?, maxAgeSeconds? }', problems) as DiscoveryOptions | undefined;
  if (discovery === undefined) return;
  checkInt(discovery.maxAgeSeconds, 'discovery.maxAgeSeconds', 0, 31_536_000, 'seconds', problems);
  for (const key of ['authorizationEndpoint', 'tokenEndpoint', 'jwksUri', 'deviceAuthorizationEndpoint'] as const) {
    const value = discovery[key];
    if (value === undefined) continue;
    try {
      new URL(value);
    } catch {
      problems.push(`discovery.${key} must be an absolute URL (got "${String(value)}").`);
    }
  }
  if (discovery.scopesSupported !== undefined && (!Array.isArray(discovery.scopesSupported) || !discovery.scopesSupported.every((s) => typeof s === 'string'))) {
    problems.push('discovery.scopesSupported must be an array of scope strings.');
  }
  if (discovery.metadata !== undefined && (typeof discovery.metadata !== 'object' || discovery.metadata === null)) {
    problems.push('discovery.metadata must be an object of extra metadata members.');
  }
}

function isAudience(value: unknown): boolean {
  if (typeof value === 'string') return value.length > 0;
  return Array.isArray(value) && value.length > 0 && value.every((item) => typeof item === 'string' && item.length > 0);
}

// RFC 7523 §3: a client assertion's aud is the issuer identifier or the token endpoint URL (both
// accepted); its jti is recorded through the storage's one-time-use method.
// Clients' jwks_uri keys are fetched on the router's clock (cache ages, refetch intervals).
function assertionSettings(options: TokenRouterOptions, clock: () => number, logger: Logger): AssertionSettings {
  const storage = options.storage;
  const record = storage?.recordOneTimeUse;
  if (record === undefined && storage !== undefined) {
    logger.warn('The storage adapter has no recordOneTimeUse(): DPoP proofs are refused (invalid_dpop_proof) and JWT client assertions fail (500) until it has one; they need single-use jti.', {});
  }
  const tokenEndpoint = options.discovery?.tokenEndpoint ?? `${options.issuer.replace(/\/+$/, '')}/connect/token`;
  const jwks = options.clientAuthentication?.jwks;
  const defaults = DEFAULTS.jwks;
  return {
    audiences: [options.issuer, tokenEndpoint],
    recordOneTimeUse: record === undefined ? undefined : (key, expiresAt) => record.call(storage, key, expiresAt),
    remoteJwks: createRemoteJwks({
      fetch: jwks?.fetch ?? builtInJwksFetch(jwks?.maxBytes ?? defaults.maxBytes),
      timeoutMs: jwks?.timeoutMs ?? defaults.timeoutMs,
      cacheTtlMs: (jwks?.cacheTtlSeconds ?? defaults.cacheTtlSeconds) * 1000,
      minRefetchIntervalMs: (jwks?.minRefetchIntervalSeconds ?? defaults.minRefetchIntervalSeconds) * 1000,
      staleIfErrorMs: (jwks?.staleIfErrorSeconds ?? defaults.staleIfErrorSeconds) * 1000,
      maxCachedUris: jwks?.maxCachedUris ?? defaults.maxCachedUris,
      clock,
      logger,
    }),
  };
}

// Keeps the runtime list of clientAuthentication.jwks options in step with its type.
const JWKS_OPTIONS: { readonly [K in keyof Required<JwksFetchOptions>]: true } = {
  fetch: true,
  timeoutMs: true,
  maxBytes: true,
  cacheTtlSeconds: true,
  minRefetchIntervalSeconds: true,
  staleIfErrorSeconds: true,
  maxCachedUris: true,
};

function checkJwksOptions(value: unknown, problems: string[]): void {
  const path = 'clientAuthentication.jwks';
  const jwks = checkObject(value, path, Object.keys(JWKS_OPTIONS), `{ ${Object.keys(JWKS_OPTIONS).map((key) => `${key}?`).join(', ')} }`, problems);
  if (jwks === undefined) return;
  checkFunction(jwks.fetch, `${path}.fetch`, 'a function (uri, signal) => Promise<{ keys: [...] }>', problems);
  checkInt(jwks.timeoutMs, `${path}.timeoutMs`, 100, 10_000, 'milliseconds', problems, 'the fetch runs inside a token request');
  checkInt(jwks.maxBytes, `${path}.maxBytes`, 1024, 1_048_576, 'bytes', problems, '1 MiB');
  checkInt(jwks.cacheTtlSeconds, `${path}.cacheTtlSeconds`, 1, 86_400, 'seconds', problems, 'a client\'s removed key must stop working within a day');
  checkInt(jwks.minRefetchIntervalSeconds, `${path}.minRefetchIntervalSeconds`, 1, 3600, 'seconds', problems);
  checkInt(jwks.staleIfErrorSeconds, `${path}.staleIfErrorSeconds`, 0, 86_400, 'seconds', problems);
  checkInt(jwks.maxCachedUris, `${path}.maxCachedUris`, 1, 100_000, 'URIs', problems);
  const ttl = jwks.cacheTtlSeconds ?? DEFAULTS.jwks.cacheTtlSeconds;
  const interval = jwks.minRefetchIntervalSeconds ?? DEFAULTS.jwks.minRefetchIntervalSeconds;
  if (typeof ttl === 'number' && typeof interval === 'number' && interval > ttl) {
    problems.push(`${path}.minRefetchIntervalSeconds (${interval}) must be at most cacheTtlSeconds (${ttl}): an expired set could not be fetched again in time.`);
  }
}

// dpop: { nonce?: { secret, lifetimeSeconds? } }, every level checked.
function resolveDpopNonces(value: unknown, problems: string[]): NonceService | undefined {
  const dpop = checkObject(value, 'dpop', ['nonce'], '{ nonce?: { secret, lifetimeSeconds? } }', problems);
  const nonce = checkObject(dpop?.nonce, 'dpop.nonce', ['secret', 'lifetimeSeconds'], '{ secret, lifetimeSeconds? }', problems);
  if (!nonce) return undefined;
  if (typeof nonce.secret !== 'string' || nonce.secret.length < 32) problems.push('dpop.nonce.secret must be a string of at least 32 characters (the same on every instance).');
  const lifetime = nonce.lifetimeSeconds ?? DEFAULTS.dpopNonceLifetimeSeconds;
  checkInt(lifetime, 'dpop.nonce.lifetimeSeconds', 10, 3600, 'seconds', problems);
  return typeof nonce.secret === 'string' && typeof lifetime === 'number' ? createNonceService(nonce.secret, lifetime) : undefined;
}

// The host's certificate reader is host code: what it returns is checked before any method reads it.
function checkedCertificate(value: unknown): PresentedClientCertificate | undefined {
  if (value === undefined) return undefined;
  const presented = value as Partial<PresentedClientCertificate> | null;
  if (typeof presented !== 'object' || presented === null || !(presented.certificate instanceof X509Certificate) || typeof presented.chainVerified !== 'boolean') {
    throw new TypeError('clientAuthentication.clientCertificate must return undefined or { certificate: X509Certificate, chainVerified: boolean }.');
  }
  return { certificate: presented.certificate, chainVerified: presented.chainVerified };
}
