// lib/endpoint/brute-force.ts
// Failure budgets on top of the request rate limit (online guessing of client secrets, RFC 6819 §4.3.5): completed failed client
// authentications per source, back-off per (confidential client, source), and invalid_grant
// answers per (source, public client).
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

/** The invalid_grant budget's key: source and client. */
function grantKey(ip: string | undefined, clientId: string): string {
  return `grant:${ipKey(ip)}|${clientIdKey(clientId)}`;
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
  /** Completed failures per source (IPv6 by prefix) and window; undefined = not counted per source. */
  readonly perIp: number | undefined;
  /** Exponential back-off per (confidential client, source); undefined = off. */
  readonly backoff: { readonly afterFailures: number; readonly baseMs: number; readonly maxMs: number } | undefined;
  /** The router's clock (back-off state is timed by it). */
  readonly clock: () => number;
}

/** One authentication attempt, admitted by {@link ClientAuthFailureLimiter.admit}. */
export interface AuthAttempt {
  /**
   * Called right before a secret is compared (after the registry lookup): waits for one of the
   * source's evaluation slots. At most as many comparisons run at once for a source as its
   * failure budget has left, so a parallel burst cannot evaluate more guesses than the budget.
   */
  enter(): Promise<void>;
  /** The authentication succeeded, or ended without a decision: frees the slot, counts nothing. */
  done(): void;
  /**
   * The authentication failed: when a secret was presented (a guess), counts one failure for the
   * source and feeds the back-off of the (client id, source) pair — for any client id, existing or
   * not, so the answers do not reveal which ids exist — then frees the slot. Requests without a
   * secret guess nothing: they are neither counted nor refused.
   */
  failed(namesClient: boolean): Promise<void>;
}

/**
 * Failed client authentications (online guessing of client secrets, RFC 6819 §4.3.5), designed so that no legitimate traffic
 * pattern is throttled and nobody can lock out a client he is not:
 * - only **completed** failures count: a request in flight holds no unit, so concurrent valid
 *   requests never spend the budget; instead, the number of secret comparisons running at once
 *   for a source is capped at what its budget has left (requests beyond wait a moment, never
 *   refused for it), so a parallel burst of guesses cannot slip past the budget either;
 * - per **source** (IPv6 by prefix): the budget an attacker spends is his own;
 * - per (**confidential client, source**): exponential back-off after a few failures — the client
 *   from any other address is unaffected, so there is no lockout switch for someone who knows a
 *   client id; public clients have no secret to guess and no per-client budget at all.
 */
export interface ClientAuthFailureLimiter {
  /** Throws {@link TooManyFailuresError} when the source's budget is spent or the pair is backing off. */
  admit(ip: string | undefined, clientId: string | undefined, withSecret: boolean): Promise<AuthAttempt>;
}

/** Most requests that may wait for a slot per source; more are refused (429) rather than queued. */
const MAX_WAITING = 1000;
/** Most (client, source) pairs with back-off state kept; the oldest are dropped beyond it. */
const MAX_BACKOFF_PAIRS = 100_000;

export function createClientAuthFailureLimiter(settings: ClientAuthFailureSettings, logger: Logger): ClientAuthFailureLimiter {
  const { store, windowMs, perIp, backoff, clock } = settings;
  initStore(store, windowMs, 'bruteForce.clientAuthFailures', logger);
  const get = store.get;
  const slots = new Map<string, { running: number; waiting: Array<() => void> }>();
  const pairs = new Map<string, { failures: number; blockedUntil: number; lastAt: number }>();
  // Failures this process recorded per source (a generation counter for the slot logic); the
  // entry goes when the source has no slot any more.
  const recorded = new Map<string, number>();

  // Some stores answer a missing key with totalHits NaN (rate-limit-redis 6): that is zero.
  const failuresOf = async (key: string): Promise<{ totalHits: number; resetTime: Date | undefined } | undefined> => {
    const info = typeof get === 'function' ? await get.call(store, key) : undefined;
    return info && { totalHits: Number.isFinite(info.totalHits) ? info.totalHits : 0, resetTime: info.resetTime };
  };

  function pairState(key: string, now: number) {
    const state = pairs.get(key);
    // Forgotten only after a quiet window following the last failure *and* the last block, so a
    // back-off at its maximum does not restart its ramp when the block ends.
    if (state && now - Math.max(state.lastAt, state.blockedUntil) >= windowMs) {
      pairs.delete(key);
      return undefined;
    }
    return state;
  }

  return {
    async admit(ip, clientId, withSecret) {
      const source = ipKey(ip);
      const sourceKey = `auth-ip:${source}`;
      const pairKey = clientId === undefined ? undefined : `auth-pair:${clientIdKey(clientId)}|${source}`;
      // A request without a secret guesses nothing: the source's budget and the comparison slots
      // do not apply to it (a public client behind a NAT is never refused for a neighbour's failures).
      const budget = withSecret ? perIp : undefined;
      const now = clock();
      if (backoff && pairKey && withSecret) {
        const state = pairState(pairKey, now);
        if (state && state.blockedUntil > now) {
          throw new TooManyFailuresError('bruteForce.clientAuthFailures.backoff', Math.max(1, Math.ceil((state.blockedUntil - now) / 1000)), clientId);
        }
      }
      // A store failure rejects here: the request answers server_error and no secret is compared.
      const spent = budget === undefined ? undefined : await failuresOf(sourceKey);
      if (budget !== undefined && spent && spent.totalHits >= budget) {
        throw new TooManyFailuresError('bruteForce.clientAuthFailures.perIp', retryAfterSeconds(spent.resetTime, windowMs), clientId);
      }
      let holding = false;
      const wakeAll = (key: string): void => {
        const slot = slots.get(key);
        if (!slot) return;
        for (const wake of slot.waiting.splice(0)) wake();
        if (slot.running === 0) {
          slots.delete(key);
          recorded.delete(key);
        }
      };
      const free = (): void => {
        if (!holding) return;
        holding = false;
        const slot = slots.get(sourceKey);
        if (!slot) return;
        slot.running -= 1;
        const next = slot.waiting.shift();
        if (next) next();
        else if (slot.running === 0) {
          slots.delete(sourceKey);
          recorded.delete(sourceKey);
        }
      };
      return {
        async enter() {
          if (budget === undefined || holding) return;
          for (;;) {
            let info: Awaited<ReturnType<typeof failuresOf>>;
            // A failure recorded while the count was being read makes the read stale: read again,
            // or a waiter could take a slot the budget no longer has (a store with latency).
            let seen: number;
            do {
              seen = recorded.get(sourceKey) ?? 0;
              try {
                info = await failuresOf(sourceKey);
              } catch (error) {
                wakeAll(sourceKey);
                throw error;
              }
            } while ((recorded.get(sourceKey) ?? 0) !== seen);
            const left = budget - (info?.totalHits ?? 0);
            if (left <= 0) {
              // Everyone waiting for this source is refused too: wake them to find out.
              wakeAll(sourceKey);
              throw new TooManyFailuresError('bruteForce.clientAuthFailures.perIp', retryAfterSeconds(info?.resetTime, windowMs), clientId);
            }
            let slot = slots.get(sourceKey);
            if (!slot) {
              slot = { running: 0, waiting: [] };
              slots.set(sourceKey, slot);
            }
            if (slot.running < left) {
              slot.running += 1;
              holding = true;
              return;
            }
            if (slot.waiting.length >= MAX_WAITING) throw new TooManyFailuresError('bruteForce.clientAuthFailures.perIp', 1, clientId);
            await new Promise<void>((resolve) => slot.waiting.push(resolve));
          }
        },
        done: free,
        async failed(namesClient) {
          try {
            if (budget !== undefined) {
              await store.increment(sourceKey);
              // Counted before the slot is freed, so a waiter woken by it reads the new count.
              recorded.set(sourceKey, (recorded.get(sourceKey) ?? 0) + 1);
            }
          } catch (error) {
            // Not counted: the safe direction would be to count, but a broken store must not turn
            // every request into a failure; the error is reported.
            logger.error('bruteForce.clientAuthFailures: the store failed to count a failure.', describeError(error));
          } finally {
            free();
          }
          if (backoff && pairKey && namesClient && withSecret) {
            const at = clock();
            const state = pairState(pairKey, at) ?? { failures: 0, blockedUntil: 0, lastAt: at };
            state.failures += 1;
            state.lastAt = at;
            const over = state.failures - backoff.afterFailures;
            if (over > 0) state.blockedUntil = at + Math.min(backoff.baseMs * 2 ** Math.min(over - 1, 30), backoff.maxMs);
            pairs.delete(pairKey);
            pairs.set(pairKey, state);
            if (pairs.size > MAX_BACKOFF_PAIRS) pairs.delete(pairs.keys().next().value as string);
          }
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
 * invalid_grant answers per (source, public client). Codes, refresh tokens and device codes are
 * 256-bit random values: nobody guesses one, so this budget is not about guessing. It bounds the
 * work an unauthenticated caller (a public client needs no secret) can cause with junk values,
 * keyed so that it cannot starve anyone else: a confidential client authenticated and is not
 * counted at all (a busy backend whose users' refresh tokens expire is normal traffic), and one
 * public app's callers do not share a budget with another's. Checked before the grant runs,
 * counted after it failed.
 */
export interface GrantFailureLimiter {
  /** Throws {@link TooManyFailuresError} when the (source, client) pair has spent its budget. */
  check(ip: string | undefined, clientId: string): Promise<void>;
  /** Counts one invalid_grant answer; a store failure is logged, never thrown. */
  record(ip: string | undefined, clientId: string): Promise<void>;
}

export function createGrantFailureLimiter(settings: GrantFailureSettings, logger: Logger): GrantFailureLimiter {
  const { store, windowMs, perIp } = settings;
  initStore(store, windowMs, 'bruteForce.grantFailures', logger);
  const get = store.get;
  if (typeof get !== 'function') throw new TypeError('bruteForce.grantFailures.store needs get(key)');
  return {
    async check(ip, clientId) {
      const info = await get.call(store, grantKey(ip, clientId));
      // A missing key may read as totalHits NaN (rate-limit-redis 6): that is zero.
      if (info && Number.isFinite(info.totalHits) && info.totalHits >= perIp) {
        throw new TooManyFailuresError('bruteForce.grantFailures.perIp', retryAfterSeconds(info.resetTime, windowMs), clientId);
      }
    },
    async record(ip, clientId) {
      try {
        await store.increment(grantKey(ip, clientId));
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
