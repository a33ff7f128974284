// spec/storage/postgres-package.spec.ts
// The PostgreSQL adapter as a consumer of the built package gets it: the
// `express-token-endpoint/postgres` subpath (require, import, types with a pg Pool), pg as an
// optional peer that the main entry never loads, and the subpath loading without pg installed (it
// only uses the pool it is given). Needs dist/ (npm test builds it first); needs no database.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createConsumerProjects, PACKAGE_NAME, PACKAGE_ROOT, readManifest, runInConsumer, subpathEntry, typeCheckConsumer } from '../helpers/consumer-project';

const ROOT = PACKAGE_ROOT;
const NAME = PACKAGE_NAME;

const pkg = readManifest();

// A stand-in for a pg Pool: enough to build the adapter without a server (or without pg at all).
const FAKE_POOL = `{ query: async () => ({ rows: [], rowCount: 0 }), connect: async () => { throw new Error('no server'); }, on() {}, listenerCount: () => 0 }`;

describe('package.json: the ./postgres subpath and the optional driver', () => {
  it('exports ./postgres with import and require conditions and types, like the main entry', () => {
    const entry = subpathEntry('postgres');
    expect(pkg.exports?.['./postgres']).toEqual(entry.exports);
    expect(pkg.typesVersions?.['*']?.postgres).toEqual(entry.typesVersions);
  });

  it('declares pg@8 an optional peer (and pg, @types/pg dev dependencies), never a dependency', () => {
    expect(pkg.peerDependencies?.pg).toMatch(/^\^8/);
    expect(pkg.peerDependenciesMeta?.pg).toEqual({ optional: true });
    expect(pkg.devDependencies?.pg).toMatch(/^\^8/);
    expect(pkg.devDependencies?.['@types/pg']).toMatch(/^\^8/);
    expect(pkg.dependencies?.pg).toBeUndefined();
  });
});

describe('consuming express-token-endpoint/postgres from the built package', () => {
  let dir: string;

  beforeAll(() => {
    if (!existsSync(join(ROOT, 'dist', 'postgres', 'index.js'))) throw new Error('dist/ is missing: run `npm run build` (npm test does it in pretest).');
    dir = mkdtempSync(join(tmpdir(), 'postgres-package-'));
    createConsumerProjects(dir, ['pg', '@types/pg']);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const run = runInConsumer;

  it('the main entry loads neither pg nor the postgres subpath', () => {
    const out = run(join(dir, 'with'), 'main.cjs', `'use strict';
const main = require('${NAME}');
if (typeof main.createTokenRouter !== 'function') throw new Error('no createTokenRouter');
if ('createPostgresStorage' in main) throw new Error('the main entry exposes the PostgreSQL adapter');
const loaded = Object.keys(require.cache).filter((file) => /[\\\\/]node_modules[\\\\/]pg[\\\\/]|[\\\\/]dist[\\\\/]postgres[\\\\/]/.test(file));
if (loaded.length > 0) throw new Error('the main entry loaded ' + loaded.join(', '));
console.log('OK');
`);
    expect(out).toBe('OK');
  });

  it('works with require() (CommonJS), sharing ConfigurationError with the main entry, and never loads pg itself', () => {
    const out = run(join(dir, 'with'), 'postgres.cjs', `'use strict';
const { createPostgresStorage, migratePostgresStorage, SCHEMA_VERSION } = require('${NAME}/postgres');
const { ConfigurationError } = require('${NAME}');
if (require.resolve('${NAME}/postgres') !== require('node:fs').realpathSync(${JSON.stringify(join(ROOT, 'dist', 'postgres', 'index.js'))})) throw new Error('resolved ' + require.resolve('${NAME}/postgres'));
const storage = createPostgresStorage({ pool: ${FAKE_POOL}, schema: 'idp', purgeIntervalMs: 0 });
if (storage.schema !== 'idp' || typeof storage.rotateRefreshToken !== 'function' || typeof migratePostgresStorage !== 'function' || !Number.isInteger(SCHEMA_VERSION)) throw new Error('unexpected exports');
try { createPostgresStorage({ pool: {} }); throw new Error('accepted a bad pool'); } catch (error) { if (!(error instanceof ConfigurationError)) throw error; }
if (Object.keys(require.cache).some((file) => /[\\\\/]node_modules[\\\\/]pg[\\\\/]/.test(file))) throw new Error('the subpath loaded pg');
console.log('OK');
`);
    expect(out).toBe('OK');
  });

  it('works with import (ES module), sharing one instance with require(), with a real pg Pool', () => {
    const out = run(join(dir, 'with'), 'postgres.mjs', `import { createRequire } from 'node:module';
import pg from 'pg';
import { createPostgresStorage } from '${NAME}/postgres';
import defaultExport from '${NAME}/postgres';
if (createRequire(import.meta.url)('${NAME}/postgres').createPostgresStorage !== createPostgresStorage || defaultExport.createPostgresStorage !== createPostgresStorage) throw new Error('ESM and CJS load different copies');
// A real Pool that never connects: building the adapter sends nothing.
const pool = new pg.Pool({ connectionString: 'postgres://nobody@127.0.0.1:1/none' });
const storage = createPostgresStorage({ pool, purgeIntervalMs: 0 });
if (storage.schema !== 'express_token_endpoint' || pool.listenerCount('error') !== 1) throw new Error('unexpected storage');
await pool.end();
console.log('OK');
`);
    expect(out).toBe('OK');
  });

  it('type-checks for TypeScript consumers (moduleResolution node16 and node10), with a pg Pool', () => {
    const consumer = join(dir, 'with');
    const source = `import { Pool } from 'pg';
import { createTokenRouter, type StorageAdapter } from '${NAME}';
import { createPostgresStorage, migratePostgresStorage, SCHEMA_VERSION, type PostgresMigrationResult, type PostgresStorage, type PostgresStorageOptions } from '${NAME}/postgres';
const pool = new Pool({ connectionString: 'postgres://localhost/db' });
const options: PostgresStorageOptions = { pool, schema: 'idp', migrate: true, clock: Date.now, purgeIntervalMs: 0, purgeBatchSize: 500, prepareStatements: false };
const storage: PostgresStorage = createPostgresStorage(options);
const adapter: StorageAdapter = storage;
const migrated: Promise<PostgresMigrationResult> = migratePostgresStorage(pool, { schema: 'idp' });
export const checks: [Promise<number>, Promise<void>, StorageAdapter, typeof createTokenRouter, Promise<PostgresMigrationResult>, number] = [storage.purge(), storage.ready(), adapter, createTokenRouter, migrated, SCHEMA_VERSION];
`;
    expect(typeCheckConsumer(consumer, source)).toEqual({ node16: '', node10: '' });
  });

  it('without pg installed the subpath still loads: it only uses the pool it is given', () => {
    const out = run(join(dir, 'without'), 'bare.cjs', `'use strict';
const { createPostgresStorage } = require('${NAME}/postgres');
const storage = createPostgresStorage({ pool: ${FAKE_POOL}, purgeIntervalMs: 0 });
if (typeof storage.findRefreshToken !== 'function') throw new Error('no adapter');
console.log('OK');
`);
    expect(out).toBe('OK');
  });
});
