// spec/storage/memory-conformance.spec.ts
// The in-memory adapter against the public conformance kit.
import { createMemoryStorage, type MemoryStorage } from '../../lib';
import { runStorageConformance } from '../../lib/testing';

runStorageConformance<MemoryStorage>({
  name: 'memory',
  create: (clock) => createMemoryStorage({ clock }),
  destroy: (storage) => storage.close(),
  housekeeping: (storage) => void storage.sweep(),
});
