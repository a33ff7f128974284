// demo-app/throttle.ts
// Slows down password guessing on the demo's sign-in forms; the login page and the device page share
// one throttle, so alternating between them gains nothing. Two limits, both keyed by the source
// address, so an attacker elsewhere can never lock a user out:
// - per (username, source): a few free failures, then an exponential back-off (1 s, 2 s, 4 s, ...
//   up to 15 minutes); a right password resets it;
// - per source: a budget of failures across all usernames (a bucket of 20 that refills one every
//   30 s), so one address cannot spray a common password over many usernames.
// Counted in process memory: with several instances each keeps its own counts, which multiplies
// an attacker's guesses by the number of instances but never locks anyone out.
import { ipKeyGenerator } from 'express-rate-limit';

const FREE_FAILURES = 3;
const FIRST_DELAY_MS = 1_000;
const MAX_DELAY_MS = 15 * 60_000;
/** A (username, source) pair is forgotten this long after its last failure. */
const FORGET_AFTER_MS = 60 * 60_000;
const SOURCE_BUDGET = 20;
const SOURCE_REFILL_MS = 30_000;
/** Entries kept at most per map: memory stays bounded however many addresses and usernames arrive. */
const MAX_ENTRIES = 10_000;
/** Usernames are cut to this length in keys, so long fake usernames cannot fill memory. */
const MAX_USERNAME_KEY = 200;

export interface SignInThrottle {
  /**
   * Seconds this source must wait before trying this username, or 0. Call it right before checking
   * the password and record the outcome right after, with no `await` in between: parallel guesses
   * then cannot all pass the check before the first failure is counted.
   */
  retryAfterSeconds(username: string, ip: string | undefined): number;
  failed(username: string, ip: string | undefined): void;
  succeeded(username: string, ip: string | undefined): void;
}

/** The sentence the pages show with a 429. */
export function tooManyAttempts(seconds: number): string {
  return `Too many sign-in attempts. Wait ${seconds} ${seconds === 1 ? 'second' : 'seconds'} before trying again.`;
}

interface PairState { failures: number; blockedUntil: number; lastFailure: number }
interface SourceState { tokens: number; updatedAt: number }

/** `clock`: ms since the epoch. */
export function createSignInThrottle(clock: () => number): SignInThrottle {
  const pairs = new Map<string, PairState>();
  const sources = new Map<string, SourceState>();
  // The addresses of one host count as one: IPv4 as is, IPv6 by its /56 prefix (as the library does).
  const sourceOf = (ip: string | undefined) => (ip ? ipKeyGenerator(ip) : 'unknown');
  const pairOf = (username: string, ip: string | undefined) => `${sourceOf(ip)}\n${username.slice(0, MAX_USERNAME_KEY)}`;

  /** The source's bucket, refilled for the time since it was last touched. */
  function bucket(source: string, now: number): SourceState {
    const state = sources.get(source);
    if (!state) return { tokens: SOURCE_BUDGET, updatedAt: now };
    const tokens = Math.min(SOURCE_BUDGET, state.tokens + (now - state.updatedAt) / SOURCE_REFILL_MS);
    return { tokens, updatedAt: now };
  }

  return {
    retryAfterSeconds(username, ip) {
      const now = clock();
      const pair = pairs.get(pairOf(username, ip));
      const pairWait = pair ? pair.blockedUntil - now : 0;
      const { tokens } = bucket(sourceOf(ip), now);
      const sourceWait = tokens >= 1 ? 0 : (1 - tokens) * SOURCE_REFILL_MS;
      const wait = Math.max(pairWait, sourceWait);
      return wait > 0 ? Math.ceil(wait / 1000) : 0;
    },
    failed(username, ip) {
      const now = clock();
      const key = pairOf(username, ip);
      const previous = pairs.get(key);
      const failures = (previous && now - previous.lastFailure < FORGET_AFTER_MS ? previous.failures : 0) + 1;
      const delay = failures <= FREE_FAILURES ? 0 : Math.min(MAX_DELAY_MS, FIRST_DELAY_MS * 2 ** (failures - FREE_FAILURES - 1));
      put(pairs, key, { failures, blockedUntil: now + delay, lastFailure: now }, now);
      const source = sourceOf(ip);
      const state = bucket(source, now);
      put(sources, source, { tokens: state.tokens - 1, updatedAt: now }, now);
    },
    succeeded(username, ip) {
      // Only the pair: a right password for one account must not refill the source's budget.
      pairs.delete(pairOf(username, ip));
    },
  };

  /** Sets an entry as the newest; when the map is full, drops what has expired, then the oldest. */
  function put<T>(map: Map<string, T>, key: string, value: T, now: number): void {
    map.delete(key);
    if (map.size >= MAX_ENTRIES) {
      for (const [candidate, state] of pairs) if (now - state.lastFailure >= FORGET_AFTER_MS) pairs.delete(candidate);
      for (const [candidate] of sources) if (bucket(candidate, now).tokens >= SOURCE_BUDGET) sources.delete(candidate);
      while (map.size >= MAX_ENTRIES) map.delete(map.keys().next().value as string);
    }
    map.set(key, value);
  }
}
