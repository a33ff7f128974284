// node-test.test.mjs — run with: node --test
// The conformance kit finds node:test by itself: no describe/it globals, nothing to pass.
import { runStorageConformance } from 'express-token-endpoint/testing';
// Your adapter's factory goes here; the library's in-memory adapter stands in for it.
import { createMemoryStorage as createMyStorage } from 'express-token-endpoint';

runStorageConformance({
  name: 'my storage',
  // A fresh, empty adapter for every test, reading "now" from the clock the kit moves.
  create: (clock) => createMyStorage({ clock }),
  // Called after every test with what `create` returned.
  destroy: (storage) => storage.close(),
});
