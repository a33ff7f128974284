// vitest.test.mjs — run with: npx vitest run
// vitest has no globals by default: pass its test functions to the kit.
import { describe, it, beforeEach, afterEach } from 'vitest';
import { runStorageConformance } from 'express-token-endpoint/testing';
// Your adapter's factory goes here; the library's in-memory adapter stands in for it.
import { createMemoryStorage as createMyStorage } from 'express-token-endpoint';

runStorageConformance({
  name: 'my storage',
  // A fresh, empty adapter for every test, reading "now" from the clock the kit moves.
  create: (clock) => createMyStorage({ clock }),
  // Called after every test with what `create` returned.
  destroy: (storage) => storage.close(),
  test: { describe, it, beforeEach, afterEach },
});
