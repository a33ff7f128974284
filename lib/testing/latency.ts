// lib/testing/latency.ts
// Wraps any adapter so every call answers after a delay: races a synchronous map hides show up.

/**
 * Returns a proxy of `adapter` whose methods wait `delayMs` (a number or a function drawing one
 * per leg) before calling the original and again before resolving. Non-function members pass through.
 */
export function withLatency<T extends object>(adapter: T, delayMs: number | (() => number)): T {
  const delay = () => new Promise<void>((resolve) => setTimeout(resolve, typeof delayMs === 'function' ? delayMs() : delayMs));
  return new Proxy(adapter, {
    get(target, property, receiver) {
      const value: unknown = Reflect.get(target, property, receiver);
      if (typeof value !== 'function') return value;
      return async (...args: unknown[]) => {
        await delay();
        try {
          return await (value as (...a: unknown[]) => unknown).apply(target, args);
        } finally {
          await delay();
        }
      };
    },
  });
}
