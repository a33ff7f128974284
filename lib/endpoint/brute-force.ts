// lib/endpoint/brute-force.ts
// Failure budgets on top of the request rate limit (checklist M102–M106): failed client
// authentications per source IP and per client_id, and invalid_grant answers per source IP.
// Counters live in an express-rate-limit Store (memory by default, rate-limit-redis to share).
import type { Options as RateLimitLibraryOptions, Store } from 'express-rate-limit';
import { ipKeyGenerator } from 'express-rate-limit';
import { OAuthError } from '../contracts/errors';
import type { RateLimiterName } from '../contracts/events';
import { sha256Base64Url } from '../internal/digest';
import { describeError } from '../internal/logger';
import type { Logger } from '../contracts/logger';

/** Fixed-window counters for one failure budget; `store` is an express-rate-limit store. */
export interface FailureBudgetSettings {
  readonly windowMs: number;
  readonly store: Store;
}

/** 429 `temporarily_unavailable` with `Retry-After`, from a failure budget (before any secret check). */
export class TooManyFailuresError extends OAuthError {
  /** The budget that is spent. */
  readonly limiter: RateLimiterName;
  /** The client id the request claimed, if any (for the `rate_limited` event). */
  readonly clientId: string | undefined;

  constructor(limiter: RateLimiterName, retryAfterSeconds: number, clientId: string | undefined) {
    super('temporarily_unavailable', `Too many requests; retry after ${retryAfterSeconds} seconds.`, {
      status: 429,
      headers: { 'Retry-After': String(retryAfterSeconds) },
    });
    this.limiter = limiter;
    this.clientId = clientId;
  }
}

/** The key of a source address: IPv4 as is, IPv6 by its /56 (one host owns a whole prefix). */
export function ipKey(ip: string | undefined): string {
  return ip ? ipKeyGenerator(ip) : 'unknown-ip';
}

/** Client ids over the length cap all fail as unknown; key them by digest to bound key size. */
function clientIdKey(clientId: string): string {
  return clientId.length <= 256 ? clientId : `sha256:${sha256Base64Url(clientId)}`;
}

/** Seconds until `resetTime` (a wall-clock Date, as every express-rate-limit store reports it). */
function retryAfterSeconds(resetTime: Date | undefined, windowMs: number): number {
  const remaining = resetTime ? resetTime.getTime() - Date.now() : windowMs;
  return Math.min(Math.max(1, Math.ceil(remaining / 1000)), Math.max(1, Math.ceil(windowMs / 1000)));
}

/** Calls the store's init once with the window, reporting (not throwing) a failed init. */
function initStore(store: Store, windowMs: number, what: string, logger: Logger): void {
  try {
    const pending = store.init?.({ windowMs } as RateLimitLibraryOptions);
    if (pending && typeof pending.then === 'function') {
      pending.then(undefined, (error: unknown) => logger.error(`${what}: the store's init() failed; requests that need it answer server_error until it works.`, describeError(error)));
    }
  } catch (error) {
    logger.error(`${what}: the store's init() threw; requests that need it answer server_error until it works.`, describeError(error));
  }
}

/** Resolved settings of the client-authentication failure limiter. */
export interface ClientAuthFailureSettings extends FailureBudgetSettings {
  /** Failures per source IP and window; undefined = not counted per IP. */
  readonly perIp: number | undefined;
  /** Failures per claimed client_id and window; undefined = not counted per client id. */
  readonly perClientId: number | undefined;
}

/** Returned by {@link ClientAuthFailureLimiter.reserve}: what to do once authentication is decided. */
export interface AuthAttempt {
  /** Authentication succeeded (or did not get decided): gives the reserved count back. */
  release(): Promise<void>;
}

/**
 * Failed client authentications, per source IP and per claimed client_id.
 *
 * Count first, then check the secret: every attempt takes one unit from both budgets *before*
 * the secret is compared, so parallel guesses cannot all see a counter below the limit (the
 * same rule as the device user-code limiter). A success gives its own unit back right after the
 * comparison, so only failures stay counted and a success never clears anything else — not
 * another IP's failures, not this IP's earlier failures. A request refused here gives its units
 * back too (a refusal is not a failed authentication), so the block ends with the window.
 */
export interface ClientAuthFailureLimiter {
  /** Throws {@link TooManyFailuresError} when either budget is spent (nothing is compared then). */
  reserve(ip: string | undefined, clientId: string | undefined): Promise<AuthAttempt>;
}

interface Budget {
  readonly limiter: RateLimiterName;
  readonly key: string;
  readonly limit: number;
}

export function createClientAuthFailureLimiter(settings: ClientAuthFailureSettings, logger: Logger): ClientAuthFailureLimiter {
  const { store, windowMs, perIp, perClientId } = settings;
  initStore(store, windowMs, 'bruteForce.clientAuthFailures', logger);
  const giveBack = async (budgets: readonly Budget[]): Promise<void> => {
    try {
      await Promise.all(budgets.map((budget) => store.decrement(budget.key)));
    } catch (error) {
      // The count stays one too high until the window ends: the safe direction.
      logger.error('bruteForce.clientAuthFailures: the store failed to give a count back.', describeError(error));
    }
  };

  return {
    async reserve(ip, clientId) {
      const budgets: Budget[] = [];
      if (perIp !== undefined) budgets.push({ limiter: 'bruteForce.clientAuthFailures.perIp', key: `auth-ip:${ipKey(ip)}`, limit: perIp });
      if (perClientId !== undefined && clientId !== undefined) {
        budgets.push({ limiter: 'bruteForce.clientAuthFailures.perClientId', key: `auth-client:${clientIdKey(clientId)}`, limit: perClientId });
      }
      // A store failure rejects here: the request answers server_error and no secret is compared.
      const counts = await Promise.all(budgets.map((budget) => store.increment(budget.key)));
      let refused: { limiter: RateLimiterName; retryAfter: number } | undefined;
      budgets.forEach((budget, i) => {
        if (counts[i].totalHits <= budget.limit) return;
        const retryAfter = retryAfterSeconds(counts[i].resetTime, windowMs);
        if (!refused || retryAfter > refused.retryAfter) refused = { limiter: budget.limiter, retryAfter };
      });
      if (refused) {
        await giveBack(budgets);
        throw new TooManyFailuresError(refused.limiter, refused.retryAfter, clientId);
      }
      let released = false;
      return {
        release: async () => {
          if (released) return;
          released = true;
          await giveBack(budgets);
        },
      };
    },
  };
}

/** Resolved settings of the invalid_grant limiter. */
export interface GrantFailureSettings extends FailureBudgetSettings {
  /** invalid_grant answers per source IP and window. */
  readonly perIp: number;
}

/**
 * invalid_grant answers per source IP (guessing codes, refresh tokens, device codes). Checked
 * before the grant runs, counted after it failed: the values guessed are 256-bit random, so the
 * few guesses in flight when the budget runs out do not matter, and counting first would hold a
 * unit for the whole grant (storage, signing) and push busy NAT addresses over for nothing.
 */
export interface GrantFailureLimiter {
  /** Throws {@link TooManyFailuresError} when the address has spent its budget. */
  check(ip: string | undefined, clientId: string | undefined): Promise<void>;
  /** Counts one invalid_grant answer; a store failure is logged, never thrown. */
  record(ip: string | undefined): Promise<void>;
}

export function createGrantFailureLimiter(settings: GrantFailureSettings, logger: Logger): GrantFailureLimiter {
  const { store, windowMs, perIp } = settings;
  initStore(store, windowMs, 'bruteForce.grantFailures', logger);
  const get = store.get;
  if (typeof get !== 'function') throw new TypeError('bruteForce.grantFailures.store needs get(key)');
  return {
    async check(ip, clientId) {
      const info = await get.call(store, `grant-ip:${ipKey(ip)}`);
      if (info && info.totalHits >= perIp) {
        throw new TooManyFailuresError('bruteForce.grantFailures.perIp', retryAfterSeconds(info.resetTime, windowMs), clientId);
      }
    },
    async record(ip) {
      try {
        await store.increment(`grant-ip:${ipKey(ip)}`);
      } catch (error) {
        logger.error('bruteForce.grantFailures: the store failed to count an invalid_grant answer.', describeError(error));
      }
    },
  };
}

/**
 * The default store: fixed windows in process memory, timed by the router's clock (so tests can
 * move time), with expired entries swept at most once per window. `resetTime` is reported as
 * a wall-clock Date like every express-rate-limit store. Per process: several instances need a
 * shared store (rate-limit-redis) to share the budgets.
 */
export class ClockedMemoryStore implements Store {
  readonly localKeys = true;
  private windowMs = 60_000;
  private readonly entries = new Map<string, { hits: number; resetAt: number }>();
  private nextSweepAt = 0;

  constructor(private readonly clock: () => number) {}

  init(options: RateLimitLibraryOptions): void {
    this.windowMs = options.windowMs;
  }

  get(key: string): { totalHits: number; resetTime: Date } | undefined {
    const entry = this.live(key, this.clock());
    return entry ? this.info(entry) : undefined;
  }

  increment(key: string): { totalHits: number; resetTime: Date } {
    const now = this.clock();
    this.sweep(now);
    let entry = this.live(key, now);
    if (!entry) {
      entry = { hits: 0, resetAt: now + this.windowMs };
      this.entries.set(key, entry);
    }
    entry.hits += 1;
    return this.info(entry);
  }

  decrement(key: string): void {
    const entry = this.live(key, this.clock());
    if (entry && entry.hits > 0) entry.hits -= 1;
  }

  resetKey(key: string): void {
    this.entries.delete(key);
  }

  resetAll(): void {
    this.entries.clear();
  }

  private live(key: string, now: number): { hits: number; resetAt: number } | undefined {
    const entry = this.entries.get(key);
    if (entry && entry.resetAt <= now) {
      this.entries.delete(key);
      return undefined;
    }
    return entry;
  }

  private info(entry: { hits: number; resetAt: number }): { totalHits: number; resetTime: Date } {
    return { totalHits: entry.hits, resetTime: new Date(Date.now() + (entry.resetAt - this.clock())) };
  }

  private sweep(now: number): void {
    if (now < this.nextSweepAt) return;
    this.nextSweepAt = now + this.windowMs;
    for (const [key, entry] of this.entries) if (entry.resetAt <= now) this.entries.delete(key);
  }
}
