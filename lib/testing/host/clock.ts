// lib/testing/host/clock.ts
// A clock that moves only when the test moves it: token lifetimes, code expiry and refresh-token
// lifetimes can be crossed in a test without waiting, and every timestamp is reproducible.

/**
 * A controllable clock: call it for the current time in milliseconds since the epoch. It is the
 * `() => number` the `clock` options take (`createTokenRouter`, `createMemoryStorage`, the standalone
 * `requireAccessToken`), and stands still until you move it.
 */
export interface TestClock {
  /** The current time, in milliseconds since the epoch. */
  (): number;
  /** The current time, in milliseconds since the epoch (the same as calling the clock). */
  now(): number;
  /** Moves the clock forward by `ms` milliseconds (a non-negative finite number) and returns the new time. */
  advance(ms: number): number;
  /** Sets the clock to `time` (milliseconds since the epoch, or a Date); it may go back, e.g. to test `nbf`. */
  set(time: number | Date): void;
}

/**
 * Creates a {@link TestClock} standing at `start` (milliseconds since the epoch, or a Date).
 *
 * `start` defaults to the current time rounded down to a whole second: then a token is also valid
 * for a verifier on the real clock (a JWT's `iat`/`exp` must make sense on its clock), and, as JWT
 * times are whole seconds, `exp * 1000 - clock()` is exactly the token's lifetime. Pass a fixed
 * `start` for timestamps that are the same in every run — then every verifier must use this clock.
 *
 * @example
 * const clock = createTestClock();
 * const tokenRouter = createTokenRouter({ ...options, clock });
 * clock.advance(3600 * 1000); // an hour later: tokens of the default lifetime have expired
 */
export function createTestClock(start: number | Date = Math.floor(Date.now() / 1000) * 1000): TestClock {
  let current = toTime(start, 'createTestClock(start)');
  const clock = (() => current) as TestClock;
  clock.now = () => current;
  clock.advance = (ms: number) => {
    if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0) {
      throw new RangeError(`clock.advance(ms) needs a non-negative finite number of milliseconds (got ${describe(ms)}); use clock.set(time) to go back.`);
    }
    current = toTime(current + ms, 'clock.advance(ms)');
    return current;
  };
  clock.set = (time: number | Date) => {
    current = toTime(time, 'clock.set(time)');
  };
  return Object.freeze(clock);
}

function toTime(value: unknown, where: string): number {
  const time = value instanceof Date ? value.getTime() : value;
  // From the epoch to the end of Date's range (8.64e15 ms): JWT times are seconds after the epoch.
  if (typeof time !== 'number' || !Number.isFinite(time) || time < 0 || time > 8.64e15) {
    throw new RangeError(`${where} needs milliseconds since the epoch or a valid Date (got ${describe(value)}).`);
  }
  return time;
}

function describe(value: unknown): string {
  if (value instanceof Date) return 'an invalid Date';
  return typeof value === 'number' ? String(value) : typeof value;
}
