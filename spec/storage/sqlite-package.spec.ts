// spec/storage/sqlite-package.spec.ts
// The SQLite adapter as a consumer of the built package gets it: the `express-token-endpoint/sqlite`
// subpath (require, import, types), the main entry never loading the driver, and the error when
// the optional driver is not installed. Needs dist/ (npm test builds it first).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createConsumerProjects, PACKAGE_NAME, PACKAGE_ROOT, runInConsumer } from '../helpers/consumer-project';

const ROOT = PACKAGE_ROOT;
const NAME = PACKAGE_NAME;

const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  exports?: Record<string, unknown>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
  devDependencies?: Record<string, string>;
  dependencies?: Record<string, string>;
  allowScripts?: Record<string, unknown>;
};

// Uses the subpath: a storage on a file, one code saved, consumed once; then says OK.
const USE = (file: string) => `
const storage = createSqliteStorage({ filename: ${JSON.stringify(file)}, purgeIntervalMs: 0 });
const record = { codeHash: 'h', clientId: 'c', redirectUri: 'https://c.example/cb', scope: ['openid'], subject: 'u', grantId: 'g', issuedAt: 1, expiresAt: Date.now() + 60000 };
await storage.saveAuthorizationCode(record);
const first = await storage.consumeAuthorizationCode('h', 2);
const second = await storage.consumeAuthorizationCode('h', 3);
storage.close();
if (first !== true || second !== false) throw new Error('consume answered ' + first + ', ' + second);
`;

describe('package.json: the ./sqlite subpath and the optional driver', () => {
  it('exports ./sqlite with import and require conditions and types, like the main entry', () => {
    expect(pkg.exports?.['./sqlite']).toEqual({
      import: { types: './dist/sqlite/index.d.mts', default: './dist/sqlite/index.mjs' },
      require: { types: './dist/sqlite/index.d.ts', default: './dist/sqlite/index.js' },
    });
  });

  it('declares better-sqlite3@12 an optional peer (and a dev dependency whose install script may run), never a dependency', () => {
    expect(pkg.peerDependencies?.['better-sqlite3']).toMatch(/^\^12/);
    expect(pkg.peerDependenciesMeta?.['better-sqlite3']).toEqual({ optional: true });
    expect(pkg.devDependencies?.['better-sqlite3']).toMatch(/^\^12/);
    expect(pkg.dependencies?.['better-sqlite3']).toBeUndefined();
    expect(pkg.allowScripts?.['better-sqlite3']).toBe(true);
  });
});

describe('consuming express-token-endpoint/sqlite from the built package', () => {
  let dir: string;

  beforeAll(() => {
    if (!existsSync(join(ROOT, 'dist', 'sqlite', 'index.js'))) throw new Error('dist/ is missing: run `npm run build` (npm test does it in pretest).');
    dir = mkdtempSync(join(tmpdir(), 'sqlite-package-'));
    createConsumerProjects(dir, []);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const run = runInConsumer;

  it('the main entry does not load better-sqlite3 (nor the sqlite subpath)', () => {
    const out = run(join(dir, 'with'), 'main.cjs', `'use strict';
const main = require('${NAME}');
if (typeof main.createTokenRouter !== 'function') throw new Error('no createTokenRouter');
if ('createSqliteStorage' in main) throw new Error('the main entry exposes the SQLite adapter');
const loaded = Object.keys(require.cache).filter((file) => /better-sqlite3|[\\\\/]dist[\\\\/]sqlite[\\\\/]/.test(file));
if (loaded.length > 0) throw new Error('the main entry loaded ' + loaded.join(', '));
console.log('OK');
`);
    expect(out).toBe('OK');
  });

  it('works with require() (CommonJS)', () => {
    const out = run(join(dir, 'with'), 'sqlite.cjs', `'use strict';
const { createSqliteStorage } = require('${NAME}/sqlite');
if (require.resolve('${NAME}/sqlite') !== require('node:fs').realpathSync(${JSON.stringify(join(ROOT, 'dist', 'sqlite', 'index.js'))})) throw new Error('resolved ' + require.resolve('${NAME}/sqlite'));
(async () => {
${USE(join(dir, 'cjs.sqlite'))}
console.log('OK');
})().catch((error) => { console.error(error); process.exit(1); });
`);
    expect(out).toBe('OK');
  });

  it('works with import (ES module), sharing one instance with require()', () => {
    const out = run(join(dir, 'with'), 'sqlite.mjs', `import { createRequire } from 'node:module';
import { createSqliteStorage } from '${NAME}/sqlite';
import defaultExport from '${NAME}/sqlite';
if (createRequire(import.meta.url)('${NAME}/sqlite').createSqliteStorage !== createSqliteStorage || defaultExport.createSqliteStorage !== createSqliteStorage) throw new Error('ESM and CJS load different copies');
${USE(join(dir, 'esm.sqlite'))}
console.log('OK');
`);
    expect(out).toBe('OK');
  });

  it('type-checks for TypeScript consumers (moduleResolution node16), a better-sqlite3 Database included', () => {
    const consumer = join(dir, 'with');
    const source = `import Database from 'better-sqlite3';
import { createTokenRouter, type StorageAdapter } from '${NAME}';
import { createSqliteStorage, type SqliteStorage, type SqliteStorageOptions } from '${NAME}/sqlite';
const options: SqliteStorageOptions = { filename: 'x.sqlite', purgeIntervalMs: 0, tablePrefix: 'idp_', clock: Date.now };
const fromFile: SqliteStorage = createSqliteStorage(options);
const adapter: StorageAdapter = createSqliteStorage({ database: new Database(':memory:') });
export const checks: [number, StorageAdapter, typeof createTokenRouter] = [fromFile.purge(), adapter, createTokenRouter];
`;
    writeFileSync(join(consumer, 'types.mts'), source);
    writeFileSync(join(consumer, 'types.cts'), source);
    const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
    const flags = ['--noEmit', '--strict', '--module', 'node16', '--moduleResolution', 'node16', '--esModuleInterop', '--skipLibCheck', '--types', 'node', '--typeRoots', join(ROOT, 'node_modules', '@types')];
    expect(execFileSync(process.execPath, [tsc, ...flags, 'types.mts', 'types.cts'], { cwd: consumer, encoding: 'utf8' }).trim()).toBe('');
  });

  it('without the driver installed the subpath still loads, and createSqliteStorage says to install better-sqlite3@12', () => {
    const consumer = join(dir, 'without');
    const out = run(consumer, 'missing.cjs', `'use strict';
const { createSqliteStorage } = require('${NAME}/sqlite');
try {
  createSqliteStorage({ filename: 'x.sqlite' });
} catch (error) {
  if (error.name !== 'ConfigurationError' || error.code !== 'ERR_TOKEN_ROUTER_STORAGE') throw error;
  console.log(error.message);
  process.exit(0);
}
throw new Error('no error without the driver');
`);
    expect(out).toMatch(/^express-token-endpoint: createSqliteStorage: the SQLite driver is not installed: install the optional peer dependency better-sqlite3@12/);
    expect(existsSync(join(consumer, 'x.sqlite'))).toBe(false);
  });
});
