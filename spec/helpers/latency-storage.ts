// spec/helpers/latency-storage.ts
// Wraps a storage adapter so every call answers with latency, like a networked store would.
//
// Project rule: race tests also run against a store that answers with latency, because a
// synchronous in-process map answers every call in the order it was made and so hides races
// that a real database or Redis would expose.

type AnyMethod = (...args: unknown[]) => unknown;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

/**
 * Returns a view of `adapter` in which every function-valued property, when called, first
 * waits `delayMs` (the request leg), then calls the original (with `this` = the original
 * adapter), then waits again (the response leg) before resolving or rejecting with the
 * original's outcome. Non-function properties pass through unchanged.
 *
 * When `delayMs` is a function it is called once per leg, so each leg gets its own jitter,
 * e.g. `() => 1 + Math.random() * 4`.
 *
 * Every wrapped method returns a promise, also methods that were synchronous. Pass the
 * async view of an adapter so the types stay true, e.g.
 * `withLatency<StorageAdapter>(memoryStorage, 2)`, and call synchronous housekeeping
 * (`sweep`, `size`, `close`) on the unwrapped adapter.
 */
export function withLatency<T extends object>(adapter: T, delayMs: number | (() => number)): T {
  const nextDelay = typeof delayMs === 'function' ? delayMs : () => delayMs;
  const wrappers = new WeakMap<AnyMethod, AnyMethod>();

  function wrap(original: AnyMethod): AnyMethod {
    return async (...args: unknown[]): Promise<unknown> => {
      await sleep(nextDelay());
      let outcome: { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly error: unknown };
      try {
        outcome = { ok: true, value: await original.apply(adapter, args) };
      } catch (error) {
        outcome = { ok: false, error };
      }
      await sleep(nextDelay());
      if (!outcome.ok) throw outcome.error;
      return outcome.value;
    };
  }

  return new Proxy(adapter, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property, target);
      if (typeof value !== 'function') return value;
      const original = value as AnyMethod;
      let wrapper = wrappers.get(original);
      if (!wrapper) {
        wrapper = wrap(original);
        wrappers.set(original, wrapper);
      }
      return wrapper;
    },
  });
}
