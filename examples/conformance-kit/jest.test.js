// jest.test.js — run with: npx jest
// jest provides describe/it as globals; the kit registers its tests with them.
const { runStorageConformance } = require('express-token-endpoint/testing');
// Your adapter's factory goes here; the library's in-memory adapter stands in for it.
const { createMemoryStorage: createMyStorage } = require('express-token-endpoint');

runStorageConformance({
  name: 'my storage',
  // A fresh, empty adapter for every test, reading "now" from the clock the kit moves.
  create: (clock) => createMyStorage({ clock }),
  // Called after every test with what `create` returned.
  destroy: (storage) => storage.close(),
});
