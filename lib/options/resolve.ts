// lib/options/resolve.ts
// Validates TokenRouterOptions once and turns them into the resolved settings the router runs on.
import { plainToInstance } from 'class-transformer';
import { IsBoolean, IsInt, IsOptional, IsString, Max, Min, MinLength, validateSync } from 'class-validator';
import { ConfigurationError } from '../contracts/errors';
import type { ClientRegistry, RegisteredClient } from '../contracts/clients';
import type { EventListener } from '../contracts/events';
import type { DiscoveryOptions } from '../well-known/discovery';
import { authorizationCode } from '../grants/authorization-code/grant';
import { clientCredentials } from '../grants/client-credentials/grant';
import { refreshToken } from '../grants/refresh-token/grant';
import { createPolicyResolver } from '../issuance/refresh-policies';
import type { RefreshPolicy } from '../issuance/refresh-policies';
import type { GrantStrategy } from '../contracts/grant';
import { ClockedMemoryStore, type ClientAuthFailureSettings, type GrantFailureSettings } from '../endpoint/brute-force';
import { consoleLogger, type Logger } from '../internal/logger';
import type { BruteForceOptions, RateLimitOptions, TokenRouterOptions } from './types';
import type { StorageAdapter } from '../contracts/storage';
import type { AccessTokenClaimsHook } from '../tokens/access-token';
import type { IdTokenClaimsHook } from '../tokens/id-token';
import { parseSigningKeys, type SigningKey } from '../tokens/signing-keys';

/** Options after validation, with defaults applied. */
export interface ResolvedOptions {
  readonly issuer: string;
  readonly signingKeys: readonly SigningKey[];
  readonly clients: ClientRegistry;
  readonly storage: Partial<StorageAdapter> | undefined;
  readonly grants: ReadonlyMap<string, GrantStrategy>;
  readonly accessTokenTtl: number;
  readonly accessTokenAudience: string | readonly string[];
  readonly accessTokenClaims: AccessTokenClaimsHook | undefined;
  readonly idTokenTtl: number;
  readonly idTokenClaims: IdTokenClaimsHook | undefined;
  readonly pairwiseSalt: string | undefined;
  readonly discovery: DiscoveryOptions;
  /** The refresh policy of a client. */
  readonly refreshPolicyFor: (client: RegisteredClient) => RefreshPolicy;
  /** How long revoked-grant marks are kept at least (ms). */
  readonly grantRetentionMs: number;
  readonly enforceRegisteredAuthMethod: boolean;
  readonly rateLimit: RateLimitOptions | false;
  /** Failure budgets; `undefined` = that limiter is off. */
  readonly bruteForce: {
    readonly clientAuthFailures: ClientAuthFailureSettings | undefined;
    readonly grantFailures: GrantFailureSettings | undefined;
  };
  /** Refuse plain-HTTP requests (`req.secure` false). */
  readonly requireHttps: boolean;
  readonly maxBodyBytes: number;
  readonly logger: Logger;
  readonly onEvent: EventListener | undefined;
  readonly clock: () => number;
}

export const DEFAULT_ACCESS_TOKEN_TTL = 3600;
export const DEFAULT_MAX_BODY_BYTES = 64 * 1024;
export const DEFAULT_ID_TOKEN_TTL = 300;
/** Revoked-grant marks outlive any token of the grant: longer than the longest refresh family. */
export const DEFAULT_GRANT_RETENTION_MS = 400 * 24 * 3600 * 1000;
export const DEFAULT_RATE_LIMIT = { windowMs: 60_000, limit: 300 } as const;
/** Failure budgets (checklist M102/M103): 15-minute fixed windows. */
export const DEFAULT_BRUTE_FORCE = {
  clientAuthFailures: { perIp: 30, perClientId: 100, windowMs: 15 * 60_000 },
  grantFailures: { perIp: 100, windowMs: 15 * 60_000 },
} as const;
const MAX_FAILURE_WINDOW_MS = 24 * 3600 * 1000;

// Keeps the runtime list of known option names in step with the TokenRouterOptions type:
// adding an option without listing it here is a compile error.
const KNOWN_OPTIONS: { [K in keyof Required<TokenRouterOptions>]: true } = {
  issuer: true,
  signingKeys: true,
  clients: true,
  storage: true,
  grants: true,
  accessToken: true,
  refreshTokens: true,
  idToken: true,
  subjects: true,
  discovery: true,
  clientAuthentication: true,
  rateLimit: true,
  bruteForce: true,
  requireHttps: true,
  maxBodyBytes: true,
  logger: true,
  onEvent: true,
  clock: true,
};

/** The scalar options, checked with class-validator (decorators compile once per process). */
class ScalarOptionsDto {
  @IsString({ message: 'issuer must be a string such as "https://id.example.com"' })
  issuer!: string;

  @IsOptional()
  @IsInt({ message: 'accessToken.ttl must be an integer number of seconds' })
  @Min(1, { message: 'accessToken.ttl must be at least 1 second' })
  @Max(86_400, { message: 'accessToken.ttl must be at most 86400 seconds (24 h); JWT access tokens cannot be recalled, keep them short' })
  accessTokenTtl?: number;

  @IsOptional()
  @IsInt({ message: 'idToken.ttl must be an integer number of seconds' })
  @Min(60, { message: 'idToken.ttl must be at least 60 seconds' })
  @Max(86_400, { message: 'idToken.ttl must be at most 86400 seconds' })
  idTokenTtl?: number;

  @IsOptional()
  @IsString({ message: 'subjects.pairwiseSalt must be a string' })
  @MinLength(32, { message: 'subjects.pairwiseSalt must be at least 32 characters of secret randomness' })
  pairwiseSalt?: string;

  @IsOptional()
  @IsInt({ message: 'discovery.maxAgeSeconds must be an integer' })
  @Min(0, { message: 'discovery.maxAgeSeconds must not be negative' })
  discoveryMaxAge?: number;

  @IsOptional()
  @IsInt({ message: 'maxBodyBytes must be an integer number of bytes' })
  @Min(1024, { message: 'maxBodyBytes must be at least 1024' })
  @Max(1_048_576, { message: 'maxBodyBytes must be at most 1048576 (1 MiB)' })
  maxBodyBytes?: number;

  @IsOptional()
  @IsBoolean({ message: 'clientAuthentication.enforceRegisteredMethod must be a boolean' })
  enforceRegisteredMethod?: boolean;

  @IsOptional()
  @IsBoolean({ message: 'requireHttps must be true or false (it defaults to process.env.NODE_ENV === "production")' })
  requireHttps?: boolean;

  @IsOptional()
  @IsInt({ message: 'bruteForce.clientAuthFailures.perIp must be a whole number of failures, or false to not count per IP' })
  @Min(1, { message: 'bruteForce.clientAuthFailures.perIp must be at least 1 (or false to not count per IP)' })
  @Max(1_000_000, { message: 'bruteForce.clientAuthFailures.perIp must be at most 1000000' })
  authFailuresPerIp?: number;

  @IsOptional()
  @IsInt({ message: 'bruteForce.clientAuthFailures.perClientId must be a whole number of failures, or false to not count per client id' })
  @Min(1, { message: 'bruteForce.clientAuthFailures.perClientId must be at least 1 (or false to not count per client id)' })
  @Max(1_000_000, { message: 'bruteForce.clientAuthFailures.perClientId must be at most 1000000' })
  authFailuresPerClientId?: number;

  @IsOptional()
  @IsInt({ message: 'bruteForce.clientAuthFailures.windowMs must be a whole number of milliseconds' })
  @Min(1000, { message: 'bruteForce.clientAuthFailures.windowMs must be at least 1000 (1 second)' })
  @Max(MAX_FAILURE_WINDOW_MS, { message: 'bruteForce.clientAuthFailures.windowMs must be at most 86400000 (24 h): a longer block is a lockout, not a back-off' })
  authFailuresWindowMs?: number;

  @IsOptional()
  @IsInt({ message: 'bruteForce.grantFailures.perIp must be a whole number of invalid_grant answers' })
  @Min(1, { message: 'bruteForce.grantFailures.perIp must be at least 1 (or set grantFailures: false to turn the limiter off)' })
  @Max(1_000_000, { message: 'bruteForce.grantFailures.perIp must be at most 1000000' })
  grantFailuresPerIp?: number;

  @IsOptional()
  @IsInt({ message: 'bruteForce.grantFailures.windowMs must be a whole number of milliseconds' })
  @Min(1000, { message: 'bruteForce.grantFailures.windowMs must be at least 1000 (1 second)' })
  @Max(MAX_FAILURE_WINDOW_MS, { message: 'bruteForce.grantFailures.windowMs must be at most 86400000 (24 h): a longer block is a lockout, not a back-off' })
  grantFailuresWindowMs?: number;
}

/** Validates every option, collecting all problems into one ConfigurationError. */
export function resolveOptions(options: TokenRouterOptions): ResolvedOptions {
  if (typeof options !== 'object' || options === null) {
    throw new ConfigurationError('ERR_TOKEN_ROUTER_OPTIONS', ['createTokenRouter(options) needs an options object with issuer, signingKeys and clients.']);
  }
  const problems: string[] = [];
  for (const key of Object.keys(options)) {
    if (!(key in KNOWN_OPTIONS)) problems.push(`Unknown option "${key}". Known options: ${Object.keys(KNOWN_OPTIONS).join(', ')}.`);
  }

  const bruteForce = readBruteForce(options.bruteForce, problems);
  const scalars = plainToInstance(ScalarOptionsDto, {
    issuer: options.issuer,
    accessTokenTtl: options.accessToken?.ttl,
    idTokenTtl: options.idToken?.ttl,
    pairwiseSalt: options.subjects?.pairwiseSalt,
    discoveryMaxAge: options.discovery?.maxAgeSeconds,
    maxBodyBytes: options.maxBodyBytes,
    enforceRegisteredMethod: options.clientAuthentication?.enforceRegisteredMethod,
    requireHttps: options.requireHttps,
    authFailuresPerIp: numberOrFalse(bruteForce.clientAuthFailures?.perIp),
    authFailuresPerClientId: numberOrFalse(bruteForce.clientAuthFailures?.perClientId),
    authFailuresWindowMs: bruteForce.clientAuthFailures?.windowMs,
    grantFailuresPerIp: bruteForce.grantFailures?.perIp,
    grantFailuresWindowMs: bruteForce.grantFailures?.windowMs,
  });
  for (const error of validateSync(scalars)) problems.push(...Object.values(error.constraints ?? {}).map((m) => `${m}.`));
  if (typeof options.issuer === 'string') checkIssuer(options.issuer, problems);

  const signingKeys = parseSigningKeys(options.signingKeys, 'signingKeys', problems);

  if (typeof options.clients !== 'object' || options.clients === null || typeof options.clients.findClient !== 'function') {
    problems.push('clients must be a ClientRegistry: an object with findClient(clientId) returning a Promise (see createMemoryClientRegistry).');
  }
  checkFunction(options.clock, 'clock', 'a function returning milliseconds since the epoch', problems);
  checkFunction(options.onEvent, 'onEvent', 'a function receiving TokenEndpointEvent objects', problems);
  checkFunction(options.accessToken?.claims, 'accessToken.claims', 'a function returning extra claims', problems);
  checkFunction(options.idToken?.claims, 'idToken.claims', 'a function returning extra claims', problems);
  checkDiscovery(options.discovery, problems);
  if (options.logger !== undefined && (typeof options.logger?.warn !== 'function' || typeof options.logger?.error !== 'function')) {
    problems.push('logger must have warn(message, details) and error(message, details) methods (console works).');
  }
  const audience = options.accessToken?.audience;
  if (audience !== undefined && !isAudience(audience)) problems.push('accessToken.audience must be a non-empty string or a non-empty array of non-empty strings.');
  if (options.rateLimit !== undefined && options.rateLimit !== false && (typeof options.rateLimit !== 'object' || options.rateLimit === null)) {
    problems.push('rateLimit must be false or an object of express-rate-limit options (windowMs, limit, store, ...).');
  } else if (options.rateLimit && 'handler' in options.rateLimit) {
    problems.push('rateLimit.handler cannot be set: the router answers 429 with the OAuth JSON error and Retry-After itself.');
  }

  checkFailureStores(bruteForce, options.rateLimit, problems);

  const grants = resolveGrants(options, problems);
  const policies = createPolicyResolver(options.refreshTokens);
  problems.push(...policies.problems);

  if (problems.length > 0) throw new ConfigurationError('ERR_TOKEN_ROUTER_OPTIONS', problems);
  const clock = options.clock ?? Date.now;
  return {
    issuer: options.issuer,
    signingKeys,
    clients: options.clients,
    storage: options.storage,
    grants,
    accessTokenTtl: options.accessToken?.ttl ?? DEFAULT_ACCESS_TOKEN_TTL,
    accessTokenAudience: audience ?? options.issuer,
    accessTokenClaims: options.accessToken?.claims,
    idTokenTtl: options.idToken?.ttl ?? DEFAULT_ID_TOKEN_TTL,
    idTokenClaims: options.idToken?.claims,
    pairwiseSalt: options.subjects?.pairwiseSalt,
    discovery: options.discovery ?? {},
    refreshPolicyFor: policies.policyFor,
    grantRetentionMs: DEFAULT_GRANT_RETENTION_MS,
    enforceRegisteredAuthMethod: options.clientAuthentication?.enforceRegisteredMethod ?? false,
    rateLimit: options.rateLimit === false ? false : { ...DEFAULT_RATE_LIMIT, ...options.rateLimit },
    bruteForce: resolveBruteForce(bruteForce, clock),
    requireHttps: options.requireHttps ?? process.env.NODE_ENV === 'production',
    maxBodyBytes: options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES,
    logger: options.logger ?? consoleLogger,
    onEvent: options.onEvent,
    clock,
  };
}

/** `bruteForce` with its parts: `undefined` for a part means "default", `false` means off. */
interface BruteForceParts {
  readonly clientAuthFailures: Exclude<BruteForceOptions['clientAuthFailures'], false> | undefined;
  readonly grantFailures: Exclude<BruteForceOptions['grantFailures'], false> | undefined;
  readonly clientAuthOff: boolean;
  readonly grantOff: boolean;
}

const BRUTE_FORCE_KEYS = ['clientAuthFailures', 'grantFailures'];
const CLIENT_AUTH_FAILURE_KEYS = ['perIp', 'perClientId', 'windowMs', 'store'];
const GRANT_FAILURE_KEYS = ['perIp', 'windowMs', 'store'];

/** Checks the shape of `bruteForce` (the numbers go through the DTO). */
function readBruteForce(value: TokenRouterOptions['bruteForce'], problems: string[]): BruteForceParts {
  const off: BruteForceParts = { clientAuthFailures: undefined, grantFailures: undefined, clientAuthOff: true, grantOff: true };
  if (value === false) return off;
  if (value === undefined) return { ...off, clientAuthOff: false, grantOff: false };
  if (!isPlainObject(value)) {
    problems.push('bruteForce must be false or an object { clientAuthFailures?, grantFailures? }.');
    return off;
  }
  checkKeys(value, 'bruteForce', BRUTE_FORCE_KEYS, problems);
  const auth = readPart(value.clientAuthFailures, 'bruteForce.clientAuthFailures', '{ perIp?, perClientId?, windowMs?, store? }', CLIENT_AUTH_FAILURE_KEYS, problems);
  const grant = readPart(value.grantFailures, 'bruteForce.grantFailures', '{ perIp?, windowMs?, store? }', GRANT_FAILURE_KEYS, problems);
  if (auth.value && auth.value.perIp === false && auth.value.perClientId === false) {
    problems.push('bruteForce.clientAuthFailures counts nothing with perIp and perClientId both false; set clientAuthFailures: false to turn it off.');
  }
  for (const [path, part] of [['bruteForce.clientAuthFailures.perIp', auth.value?.perIp], ['bruteForce.clientAuthFailures.perClientId', auth.value?.perClientId]] as const) {
    if (part === true) problems.push(`${path} must be a whole number of failures, or false to not count.`);
  }
  if ((grant.value as { perIp?: unknown } | undefined)?.perIp === false) {
    problems.push('bruteForce.grantFailures.perIp cannot be false (it is the only budget); set grantFailures: false to turn the limiter off.');
  }
  return {
    clientAuthFailures: auth.value as BruteForceParts['clientAuthFailures'],
    grantFailures: grant.value as BruteForceParts['grantFailures'],
    clientAuthOff: auth.off,
    grantOff: grant.off,
  };
}

function readPart(value: unknown, path: string, shape: string, known: readonly string[], problems: string[]): { value: Record<string, unknown> | undefined; off: boolean } {
  if (value === false) return { value: undefined, off: true };
  if (value === undefined) return { value: undefined, off: false };
  if (!isPlainObject(value)) {
    problems.push(`${path} must be false or an object ${shape}.`);
    return { value: undefined, off: true };
  }
  checkKeys(value, path, known, problems);
  return { value, off: false };
}

function checkKeys(value: Record<string, unknown>, path: string, known: readonly string[], problems: string[]): void {
  for (const key of Object.keys(value)) {
    if (!known.includes(key)) problems.push(`Unknown option "${path}.${key}". Known options: ${known.join(', ')}.`);
  }
}

/** Each failure limiter needs a store with the methods it calls, and a store of its own. */
function checkFailureStores(parts: BruteForceParts, rateLimit: TokenRouterOptions['rateLimit'], problems: string[]): void {
  const authStore: unknown = parts.clientAuthFailures?.store;
  const grantStore: unknown = parts.grantFailures?.store;
  const example = 'e.g. new RedisStore({ prefix, sendCommand }) from rate-limit-redis';
  if (authStore !== undefined && !hasMethods(authStore, ['increment', 'decrement'])) {
    problems.push(`bruteForce.clientAuthFailures.store must be an express-rate-limit Store with increment(key) and decrement(key) (${example}).`);
  }
  if (grantStore !== undefined && !hasMethods(grantStore, ['get', 'increment'])) {
    problems.push(`bruteForce.grantFailures.store must be an express-rate-limit Store with get(key) and increment(key) (${example}).`);
  }
  const rateLimitStore: unknown = rateLimit ? rateLimit.store : undefined;
  for (const [path, store] of [['bruteForce.clientAuthFailures.store', authStore], ['bruteForce.grantFailures.store', grantStore]] as const) {
    if (store !== undefined && store === rateLimitStore) {
      problems.push(`${path} is the same object as rateLimit.store; a store has one window, so give each limiter its own instance (e.g. another RedisStore with its own prefix).`);
    }
  }
  if (authStore !== undefined && authStore === grantStore) {
    problems.push('bruteForce.clientAuthFailures.store and bruteForce.grantFailures.store are the same object; a store has one window, so give each limiter its own instance (e.g. two RedisStores with different prefixes).');
  }
}

function resolveBruteForce(parts: BruteForceParts, clock: () => number): ResolvedOptions['bruteForce'] {
  const authDefaults = DEFAULT_BRUTE_FORCE.clientAuthFailures;
  const grantDefaults = DEFAULT_BRUTE_FORCE.grantFailures;
  const auth = parts.clientAuthFailures;
  const grant = parts.grantFailures;
  return {
    clientAuthFailures: parts.clientAuthOff
      ? undefined
      : {
          perIp: auth?.perIp === false ? undefined : (auth?.perIp ?? authDefaults.perIp),
          perClientId: auth?.perClientId === false ? undefined : (auth?.perClientId ?? authDefaults.perClientId),
          windowMs: auth?.windowMs ?? authDefaults.windowMs,
          store: auth?.store ?? new ClockedMemoryStore(clock),
        },
    grantFailures: parts.grantOff
      ? undefined
      : {
          perIp: grant?.perIp ?? grantDefaults.perIp,
          windowMs: grant?.windowMs ?? grantDefaults.windowMs,
          store: grant?.store ?? new ClockedMemoryStore(clock),
        },
  };
}

function numberOrFalse(value: unknown): unknown {
  return value === false ? undefined : value;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function hasMethods(value: unknown, names: readonly string[]): boolean {
  return typeof value === 'object' && value !== null && names.every((name) => typeof (value as Record<string, unknown>)[name] === 'function');
}

/** The built-in grants served when `grants` is not set. */
export function defaultGrants(): GrantStrategy[] {
  return [authorizationCode(), clientCredentials(), refreshToken()];
}

function resolveGrants(options: TokenRouterOptions, problems: string[]): Map<string, GrantStrategy> {
  const list = options.grants ?? defaultGrants();
  const map = new Map<string, GrantStrategy>();
  if (!Array.isArray(list) || list.length === 0) {
    problems.push('grants must be a non-empty array of grant strategies, e.g. [clientCredentials()].');
    return map;
  }
  list.forEach((grant: GrantStrategy, index) => {
    const at = options.grants === undefined ? `grants (default built-in grant ${index})` : `grants[${index}]`;
    if (typeof grant !== 'object' || grant === null) {
      problems.push(`${at} must be a grant strategy object (e.g. clientCredentials()).`);
      return;
    }
    if (typeof grant.grantType !== 'string' || !/^[\x21-\x7e]+$/.test(grant.grantType)) {
      problems.push(`${at}.grantType must be a non-empty grant_type value or URN without spaces.`);
      return;
    }
    if (map.has(grant.grantType)) {
      problems.push(`${at}.grantType "${grant.grantType}" is already served by another strategy; each grant type may appear once.`);
      return;
    }
    if (typeof grant.handle !== 'function') problems.push(`${at}.handle must be an async function (ctx) => TokenResponse.`);
    if (typeof grant.allowPublicClients !== 'boolean') problems.push(`${at}.allowPublicClients must be true or false.`);
    checkParameterSpecs(grant, at, problems);
    if (grant.paramsDto !== undefined && typeof grant.paramsDto !== 'function') problems.push(`${at}.paramsDto must be a class (constructor).`);
    if (typeof grant.validateSetup === 'function') {
      for (const problem of grant.validateSetup({ storage: options.storage, issuer: options.issuer })) {
        const hint = options.grants === undefined ? ' (or serve only grants: [clientCredentials()], which needs no storage)' : '';
        problems.push(`${at} (${grant.grantType}): ${problem}${hint}`);
      }
    }
    map.set(grant.grantType, grant);
  });
  return map;
}

const ROUTER_PARAMETERS = new Set(['grant_type', 'client_id', 'client_secret', 'scope']);

function checkParameterSpecs(grant: GrantStrategy, at: string, problems: string[]): void {
  if (typeof grant.parameters !== 'object' || grant.parameters === null) {
    problems.push(`${at}.parameters must be an object mapping parameter names to { required?, maxLength?, pattern? }.`);
    return;
  }
  for (const [name, spec] of Object.entries(grant.parameters)) {
    if (ROUTER_PARAMETERS.has(name)) problems.push(`${at}.parameters.${name}: the router handles ${name} itself; do not declare it.`);
    if (spec.maxLength !== undefined && (!Number.isInteger(spec.maxLength) || spec.maxLength < 1)) problems.push(`${at}.parameters.${name}.maxLength must be a positive integer.`);
    if (spec.pattern !== undefined && !(spec.pattern instanceof RegExp)) problems.push(`${at}.parameters.${name}.pattern must be a RegExp.`);
    if (spec.pattern?.global || spec.pattern?.sticky) problems.push(`${at}.parameters.${name}.pattern must not use the g or y flag (it would make test() stateful).`);
  }
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

function checkDiscovery(discovery: DiscoveryOptions | undefined, problems: string[]): void {
  if (discovery === undefined) return;
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

function checkFunction(value: unknown, path: string, what: string, problems: string[]): void {
  if (value !== undefined && typeof value !== 'function') problems.push(`${path} must be ${what}.`);
}

function isAudience(value: unknown): boolean {
  if (typeof value === 'string') return value.length > 0;
  return Array.isArray(value) && value.length > 0 && value.every((item) => typeof item === 'string' && item.length > 0);
}
