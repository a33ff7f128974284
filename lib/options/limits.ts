// lib/options/limits.ts
// The rate-limit and brute-force options: shapes, numbers, stores, and their resolved settings.
import { ClockedMemoryStore, type ClientAuthFailureSettings, type GrantFailureSettings } from '../endpoint/brute-force';
import { checkFunction, checkInt, checkKeys, hasMethods, isPlainObject } from './checks';
import { DEFAULTS, MAX_FAILURE_WINDOW_MS } from './defaults';
import type { BruteForceOptions, RateLimitOptions, TokenRouterOptions } from './types';

/** Failure budgets; `undefined` = that limiter is off. */
export interface ResolvedBruteForce {
  readonly clientAuthFailures: ClientAuthFailureSettings | undefined;
  readonly grantFailures: GrantFailureSettings | undefined;
}

// Every express-rate-limit option the router passes through (handler is the router's own), keyed
// by the library's type so a new option there is a compile error here until it is listed.
const RATE_LIMIT_KEYS: { readonly [K in keyof Required<RateLimitOptions>]: true } = {
  windowMs: true,
  limit: true,
  max: true,
  message: true,
  statusCode: true,
  legacyHeaders: true,
  standardHeaders: true,
  identifier: true,
  requestPropertyName: true,
  skipFailedRequests: true,
  skipSuccessfulRequests: true,
  keyGenerator: true,
  ipv6Subnet: true,
  skip: true,
  requestWasSuccessful: true,
  store: true,
  validate: true,
  passOnStoreError: true,
  retryAfter: true,
  headers: true,
  logger: true,
};

/** `rateLimit`: express-rate-limit's options, checked here so a typo is a startup error, not its logged warning. */
export function checkRateLimit(value: TokenRouterOptions['rateLimit'], problems: string[]): void {
  if (value === undefined || value === false) return;
  if (!isPlainObject(value)) {
    problems.push('rateLimit must be false or an object of express-rate-limit options (windowMs, limit, store, ...).');
    return;
  }
  if ('handler' in value) {
    problems.push('rateLimit.handler cannot be set: the router answers 429 with the OAuth JSON error and Retry-After itself.');
  }
  checkKeys(value, 'rateLimit', Object.keys(RATE_LIMIT_KEYS).filter((key) => key !== 'handler'), problems);
  checkInt(value.windowMs, 'rateLimit.windowMs', 1, 2_147_483_647, 'milliseconds', problems);
  for (const key of ['limit', 'max'] as const) {
    const limit = value[key];
    if (limit !== undefined && typeof limit !== 'function') checkInt(limit, `rateLimit.${key}`, 1, Number.MAX_SAFE_INTEGER, 'requests per window (or a function)', problems);
  }
  if (value.store !== undefined && !hasMethods(value.store, ['increment'])) problems.push('rateLimit.store must be an express-rate-limit Store (e.g. new RedisStore(...) from rate-limit-redis).');
  for (const key of ['keyGenerator', 'skip', 'requestWasSuccessful'] as const) checkFunction(value[key], `rateLimit.${key}`, 'a function', problems);
}

/** The numbers of `bruteForce` (the shape is checked by readBruteForce). */
export function checkBruteForceNumbers(parts: BruteForceParts, problems: string[]): void {
  const auth = parts.clientAuthFailures;
  const grant = parts.grantFailures;
  const budgets = [
    ['bruteForce.clientAuthFailures.perIp', auth?.perIp, '(or false to not count per IP)'],
    ['bruteForce.grantFailures.perIp', grant?.perIp, '(or set grantFailures: false to turn the limiter off)'],
  ] as const;
  for (const [path, value, orElse] of budgets) {
    if ((value as unknown) !== false && (value as unknown) !== true) checkInt(value, path, 1, 1_000_000, 'failures', problems, '', orElse);
  }
  const backoff = isPlainObject(auth?.backoff) ? auth?.backoff : undefined;
  checkInt(backoff?.afterFailures, 'bruteForce.clientAuthFailures.backoff.afterFailures', 1, 1000, 'failures', problems);
  checkInt(backoff?.baseMs, 'bruteForce.clientAuthFailures.backoff.baseMs', 100, 60_000, 'milliseconds', problems);
  checkInt(backoff?.maxMs, 'bruteForce.clientAuthFailures.backoff.maxMs', 1000, MAX_FAILURE_WINDOW_MS, 'milliseconds', problems, '24 h');
  const lockout = '24 h; a longer block is a lockout, not a back-off';
  checkInt(auth?.windowMs, 'bruteForce.clientAuthFailures.windowMs', 1000, MAX_FAILURE_WINDOW_MS, 'milliseconds', problems, lockout);
  checkInt(grant?.windowMs, 'bruteForce.grantFailures.windowMs', 1000, MAX_FAILURE_WINDOW_MS, 'milliseconds', problems, lockout);
}

/** `bruteForce` with its parts: `undefined` for a part means "default", `false` means off. */
export interface BruteForceParts {
  readonly clientAuthFailures: Exclude<BruteForceOptions['clientAuthFailures'], false> | undefined;
  readonly grantFailures: Exclude<BruteForceOptions['grantFailures'], false> | undefined;
  readonly clientAuthOff: boolean;
  readonly grantOff: boolean;
}

const BRUTE_FORCE_KEYS = ['clientAuthFailures', 'grantFailures'];
const CLIENT_AUTH_FAILURE_KEYS = ['perIp', 'backoff', 'windowMs', 'store'];
const BACKOFF_KEYS = ['afterFailures', 'baseMs', 'maxMs'];
const GRANT_FAILURE_KEYS = ['perIp', 'windowMs', 'store'];

/** Checks the shape of `bruteForce` (the numbers go through the DTO). */
export function readBruteForce(value: TokenRouterOptions['bruteForce'], problems: string[]): BruteForceParts {
  const off: BruteForceParts = { clientAuthFailures: undefined, grantFailures: undefined, clientAuthOff: true, grantOff: true };
  if (value === false) return off;
  if (value === undefined) return { ...off, clientAuthOff: false, grantOff: false };
  if (!isPlainObject(value)) {
    problems.push('bruteForce must be false or an object { clientAuthFailures?, grantFailures? }.');
    return off;
  }
  checkKeys(value, 'bruteForce', BRUTE_FORCE_KEYS, problems);
  let authValue: unknown = value.clientAuthFailures;
  if (isPlainObject(authValue) && 'perClientId' in authValue) {
    problems.push('bruteForce.clientAuthFailures.perClientId was removed: a failure budget per client id let anyone who knows the id lock the client out. Failures now back off per (client, source): see bruteForce.clientAuthFailures.backoff.');
    const { perClientId: _removed, ...rest } = authValue;
    authValue = rest;
  }
  const auth = readPart(authValue, 'bruteForce.clientAuthFailures', '{ perIp?, backoff?, windowMs?, store? }', CLIENT_AUTH_FAILURE_KEYS, problems);
  const grant = readPart(value.grantFailures, 'bruteForce.grantFailures', '{ perIp?, windowMs?, store? }', GRANT_FAILURE_KEYS, problems);
  const backoff = auth.value?.backoff;
  if (backoff !== undefined && backoff !== false) {
    if (!isPlainObject(backoff)) problems.push('bruteForce.clientAuthFailures.backoff must be false or an object { afterFailures?, baseMs?, maxMs? }.');
    else checkKeys(backoff, 'bruteForce.clientAuthFailures.backoff', BACKOFF_KEYS, problems);
  }
  if (auth.value && auth.value.perIp === false && auth.value.backoff === false) {
    problems.push('bruteForce.clientAuthFailures counts nothing with perIp and backoff both false; set clientAuthFailures: false to turn it off.');
  }
  if (auth.value?.perIp === true) problems.push('bruteForce.clientAuthFailures.perIp must be a whole number of failures, or false to not count.');
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

/** Each failure limiter needs a store with the methods it calls, and a store of its own. */
export function checkFailureStores(parts: BruteForceParts, rateLimit: TokenRouterOptions['rateLimit'], problems: string[]): void {
  const authStore: unknown = parts.clientAuthFailures?.store;
  const grantStore: unknown = parts.grantFailures?.store;
  const example = 'e.g. new RedisStore({ prefix, sendCommand }) from rate-limit-redis';
  if (authStore !== undefined && !hasMethods(authStore, ['get', 'increment'])) {
    problems.push(`bruteForce.clientAuthFailures.store must be an express-rate-limit Store with get(key) and increment(key) (${example}).`);
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

export function resolveBruteForce(parts: BruteForceParts, clock: () => number): ResolvedBruteForce {
  const authDefaults = DEFAULTS.clientAuthFailures;
  const grantDefaults = DEFAULTS.grantFailures;
  const auth = parts.clientAuthFailures;
  const grant = parts.grantFailures;
  return {
    clientAuthFailures: parts.clientAuthOff
      ? undefined
      : {
          perIp: auth?.perIp === false ? undefined : (auth?.perIp ?? authDefaults.perIp),
          backoff: auth?.backoff === false ? undefined : withDefaults(authDefaults.backoff, auth?.backoff),
          windowMs: auth?.windowMs ?? authDefaults.windowMs,
          store: auth?.store ?? new ClockedMemoryStore(clock),
          clock,
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

/** `defaults` with the members of `given` that are set (an explicit `undefined` keeps the default). */
function withDefaults<T extends object>(defaults: T, given: object | undefined): T {
  const out = { ...defaults };
  for (const [key, value] of Object.entries(given ?? {})) if (value !== undefined) (out as Record<string, unknown>)[key] = value;
  return out;
}
