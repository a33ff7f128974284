// spec/helpers/record-calls.ts
// A storage view that records every call and its arguments (to prove raw secrets never reach storage).
import type { MemoryStorage, StorageAdapter } from '../../lib';

export interface RecordedCall {
  readonly method: string;
  readonly args: unknown[];
}

export function recordCalls(adapter: MemoryStorage): { storage: StorageAdapter; calls: RecordedCall[] } {
  const calls: RecordedCall[] = [];
  const storage = new Proxy(adapter, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property, target);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        calls.push({ method: String(property), args });
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { storage, calls };
}
