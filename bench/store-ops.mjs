// bench/store-ops.mjs
// What one refresh costs each storage adapter, without HTTP, signing or the grant: the grant's two
// storage calls (findRefreshToken, then rotateRefreshToken with a retry envelope the size the router
// seals), one refresh at a time (so SQLite's group commit cannot batch). Prints CPU µs of this
// process and wall µs per refresh for every adapter it can reach: memory, SQLite (in memory, and a
// file with synchronous 'full' and 'normal'), Redis with REDIS_URL, PostgreSQL with PG_URL.
// Usage: npm run build && node bench/store-ops.mjs   (STORE_OPS_N=5000 refreshes per adapter;
// STORE_OPS_ONLY=redis,postgresql to measure some adapters, e.g. under --cpu-prof)
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { performance } from 'node:perf_hooks';
import { join } from 'node:path';

const require = createRequire(import.meta.url);
const ROOT = join(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '..');
const lib = (entry) => require(join(ROOT, 'dist', entry));
const N = Number(process.env.STORE_OPS_N ?? 5000);
const digest = () => createHash('sha256').update(randomBytes(32)).digest('base64url');
const now = Date.now();
const record = (tokenHash, grantId) => ({ tokenHash, grantId, clientId: 'bench-client', subject: 'user-0001', scope: ['offline_access', 'api:read'], issuedAt: now, expiresAt: now + 86_400_000, authTime: Math.floor(now / 1000), amr: ['pwd'] });
// The router seals the successor's token response (an RS256 access token and a refresh token): ~1.2 KB of base64url.
const envelope = randomBytes(900).toString('base64url');

const only = process.env.STORE_OPS_ONLY?.split(',');

async function measure(name, storage) {
  if (only !== undefined && !only.some((prefix) => name.startsWith(prefix))) return;
  const tokens = Array.from({ length: N }, digest);
  for (const token of tokens) await storage.saveRefreshToken(record(token, randomUUID()));
  const successors = tokens.map(() => digest());
  const cpu = process.cpuUsage();
  const start = performance.now();
  for (let i = 0; i < N; i += 1) {
    const found = await storage.findRefreshToken(tokens[i]);
    if (!(await storage.rotateRefreshToken(found.tokenHash, { ...record(successors[i], found.grantId), parentHash: found.tokenHash }, now + 1, envelope))) throw new Error(`${name}: a rotation was refused`);
  }
  const used = process.cpuUsage(cpu);
  const wall = performance.now() - start;
  console.log(`${name.padEnd(34)} ${((used.user + used.system) / N).toFixed(1).padStart(7)} µs CPU  ${((wall * 1000) / N).toFixed(1).padStart(7)} µs wall  per refresh`);
}

const dir = mkdtempSync(join(tmpdir(), 'store-ops-'));
try {
  console.log(`store-ops: ${N} refreshes per adapter (find + rotate), one at a time`);
  await measure('memory', lib('index.js').createMemoryStorage());
  const { createSqliteStorage } = lib('sqlite/index.js');
  await measure('sqlite (:memory:)', createSqliteStorage({ filename: ':memory:' }));
  await measure("sqlite file, synchronous 'full'", createSqliteStorage({ filename: join(dir, 'full.db') }));
  await measure("sqlite file, synchronous 'normal'", createSqliteStorage({ filename: join(dir, 'normal.db'), synchronous: 'normal' }));
  if (process.env.REDIS_URL) {
    const { default: Redis } = await import('ioredis');
    const client = new Redis(process.env.REDIS_URL);
    const storage = lib('redis/index.js').createRedisStorage({ client, prefix: `store-ops:${process.pid}:` });
    await measure('redis', storage);
    const keys = await client.keys(`store-ops:${process.pid}:*`);
    for (let i = 0; i < keys.length; i += 500) await client.del(...keys.slice(i, i + 500));
    client.disconnect();
  } else console.log('redis: skipped (no REDIS_URL)');
  if (process.env.PG_URL) {
    const pg = await import('pg');
    const pool = new pg.default.Pool({ connectionString: process.env.PG_URL });
    const schema = `store_ops_${process.pid}`;
    const storage = lib('postgres/index.js').createPostgresStorage({ pool, schema, migrate: true, purgeIntervalMs: 0 });
    await measure('postgresql', storage);
    await storage.close();
    await pool.query(`DROP SCHEMA "${schema}" CASCADE`);
    await pool.end();
  } else console.log('postgresql: skipped (no PG_URL)');
} finally {
  rmSync(dir, { recursive: true, force: true });
}
process.exit(0);
