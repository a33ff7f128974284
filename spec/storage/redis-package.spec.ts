// spec/storage/redis-package.spec.ts
// The Redis adapter as a consumer of the built package gets it: the `express-token-endpoint/redis`
// subpath (require, import, types), ioredis as an optional peer that the main entry never loads,
// and the subpath loading without ioredis installed (it only uses the client it is given).
// Needs dist/ (npm test builds it first); needs no Redis server.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createConsumerProjects, PACKAGE_NAME, PACKAGE_ROOT, runInConsumer, typeCheckConsumer } from '../helpers/consumer-project';

const ROOT = PACKAGE_ROOT;
const NAME = PACKAGE_NAME;

const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  exports?: Record<string, unknown>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
  devDependencies?: Record<string, string>;
  dependencies?: Record<string, string>;
};

// A stand-in for an ioredis client: defineCommand adds a method, as ioredis does. Enough to build
// the adapter without a server (or without ioredis at all).
const FAKE_CLIENT = `{ defineCommand(name) { this[name] = async () => 1; }, status: 'ready' }`;

describe('package.json: the ./redis subpath and the optional drivers', () => {
  it('exports ./redis with import and require conditions and types, like the main entry', () => {
    expect(pkg.exports?.['./redis']).toEqual({
      import: { types: './dist/redis/index.d.mts', default: './dist/redis/index.mjs' },
      require: { types: './dist/redis/index.d.ts', default: './dist/redis/index.js' },
    });
  });

  it('declares ioredis@5 and rate-limit-redis optional peers (and dev dependencies), never dependencies', () => {
    for (const [name, range] of [['ioredis', /^\^5/], ['rate-limit-redis', /^\^6/]] as const) {
      expect(pkg.peerDependencies?.[name]).toMatch(range);
      expect(pkg.peerDependenciesMeta?.[name]).toEqual({ optional: true });
      expect(pkg.devDependencies?.[name]).toMatch(range);
      expect(pkg.dependencies?.[name]).toBeUndefined();
    }
  });
});

describe('consuming express-token-endpoint/redis from the built package', () => {
  let dir: string;

  beforeAll(() => {
    if (!existsSync(join(ROOT, 'dist', 'redis', 'index.js'))) throw new Error('dist/ is missing: run `npm run build` (npm test does it in pretest).');
    dir = mkdtempSync(join(tmpdir(), 'redis-package-'));
    createConsumerProjects(dir, ['ioredis']);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const run = runInConsumer;

  it('the main entry loads neither ioredis nor the redis subpath', () => {
    const out = run(join(dir, 'with'), 'main.cjs', `'use strict';
const main = require('${NAME}');
if (typeof main.createTokenRouter !== 'function') throw new Error('no createTokenRouter');
if ('createRedisStorage' in main) throw new Error('the main entry exposes the Redis adapter');
const loaded = Object.keys(require.cache).filter((file) => /ioredis|[\\\\/]dist[\\\\/]redis[\\\\/]/.test(file));
if (loaded.length > 0) throw new Error('the main entry loaded ' + loaded.join(', '));
console.log('OK');
`);
    expect(out).toBe('OK');
  });

  it('works with require() (CommonJS), sharing ConfigurationError with the main entry', () => {
    const out = run(join(dir, 'with'), 'redis.cjs', `'use strict';
const { createRedisStorage, redisStorageKeys } = require('${NAME}/redis');
const { ConfigurationError } = require('${NAME}');
if (require.resolve('${NAME}/redis') !== require('node:fs').realpathSync(${JSON.stringify(join(ROOT, 'dist', 'redis', 'index.js'))})) throw new Error('resolved ' + require.resolve('${NAME}/redis'));
const storage = createRedisStorage({ client: ${FAKE_CLIENT} });
if (storage.prefix !== 'ete:' || typeof storage.rotateRefreshToken !== 'function') throw new Error('unexpected storage');
if (redisStorageKeys().tombstone('g') !== 'ete:{g}:revoked') throw new Error('unexpected key layout');
try { createRedisStorage({ client: {} }); throw new Error('accepted a bad client'); } catch (error) { if (!(error instanceof ConfigurationError)) throw error; }
console.log('OK');
`);
    expect(out).toBe('OK');
  });

  it('works with import (ES module), sharing one instance with require()', () => {
    const out = run(join(dir, 'with'), 'redis.mjs', `import { createRequire } from 'node:module';
import Redis from 'ioredis';
import { createRedisStorage } from '${NAME}/redis';
import defaultExport from '${NAME}/redis';
if (createRequire(import.meta.url)('${NAME}/redis').createRedisStorage !== createRedisStorage || defaultExport.createRedisStorage !== createRedisStorage) throw new Error('ESM and CJS load different copies');
// A real ioredis client that never connects: the adapter only defines its scripts on it.
const client = new Redis({ lazyConnect: true });
const storage = createRedisStorage({ client, prefix: 'app:' });
if (storage.prefix !== 'app:') throw new Error('prefix');
if (!Object.keys(client).concat(Object.keys(Object.getPrototypeOf(client))).some((name) => name.startsWith('ete_'))) throw new Error('no scripts defined');
client.disconnect();
console.log('OK');
`);
    expect(out).toBe('OK');
  });

  it('type-checks for TypeScript consumers (moduleResolution node16 and node10), with an ioredis Redis and Cluster', () => {
    const consumer = join(dir, 'with');
    const source = `import { Cluster, Redis } from 'ioredis';
import { createTokenRouter, type StorageAdapter } from '${NAME}';
import { createRedisStorage, redisStorageKeys, type RedisStorage, type RedisStorageOptions } from '${NAME}/redis';
const options: RedisStorageOptions = { client: new Redis({ lazyConnect: true }), prefix: 'idp:', clock: Date.now, ttlGraceMs: 1000 };
const single: RedisStorage = createRedisStorage(options);
const clustered: StorageAdapter = createRedisStorage({ client: new Cluster([{ host: '127.0.0.1', port: 7000 }], { lazyConnect: true }) });
export const checks: [Promise<void>, StorageAdapter, typeof createTokenRouter, string] = [single.close(), clustered, createTokenRouter, redisStorageKeys('idp:').code('h')];
`;
    expect(typeCheckConsumer(consumer, source)).toEqual({ node16: '', node10: '' });
  });

  it('without ioredis installed the subpath still loads: it only uses the client it is given', () => {
    const out = run(join(dir, 'without'), 'bare.cjs', `'use strict';
const { createRedisStorage } = require('${NAME}/redis');
const storage = createRedisStorage({ client: ${FAKE_CLIENT} });
if (typeof storage.findRefreshToken !== 'function') throw new Error('no adapter');
console.log('OK');
`);
    expect(out).toBe('OK');
  });
});
