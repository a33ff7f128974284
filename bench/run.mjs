// bench/run.mjs
// `npm run bench`: starts each server as its own process on loopback (pinned to one core), verifies it
// returns a token of the kind claimed, drives it with autocannon from another process on another core
// (warm-up, then a fixed measured duration), samples the server's CPU and peak RSS from /proc, and
// prints one markdown report (also written to bench/results/<time>/). Knobs: see README "Benchmarks".
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { arch, cpus, release, totalmem } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { SCENARIOS } from './common.mjs';
import {
  CORES,
  createSampler,
  HAS_TASKSET,
  pathFor,
  pinned,
  procAvailable,
  seed,
  startServer,
  stats,
  stopServer,
  tokenRequest,
  verifyTokenResponse,
} from './harness.mjs';

const BENCH_DIR = dirname(fileURLToPath(import.meta.url));
const ROOT = dirname(BENCH_DIR);
const log = (message) => process.stderr.write(`[bench] ${message}\n`);

// ---------------------------------------------------------------------------------------------
// Configuration (environment knobs)

function number(name, fallback) {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0) throw new Error(`${name} must be a non-negative number (got "${raw}")`);
  return value;
}
function list(name) {
  const raw = process.env[name];
  return raw ? raw.split(',').map((s) => s.trim()).filter(Boolean) : undefined;
}

const duration = number('BENCH_DURATION', 10);
const config = {
  duration,
  warmup: number('BENCH_WARMUP', Math.min(5, duration)),
  connections: number('BENCH_CONNECTIONS', 10),
  poolRate: number('BENCH_POOL_RATE', 6000),
  rows: list('BENCH_ROWS'),
  scenarios: list('BENCH_SCENARIOS'),
  growth: process.env.BENCH_GROWTH === '1',
  growthFamilies: (list('BENCH_GROWTH_FAMILIES') ?? ['1e3', '1e5']).map(Number),
  sign: process.env.BENCH_SIGN !== '0',
  alg: process.env.BENCH_ALG === 'ES256' ? 'ES256' : 'RS256',
  redisUrl: process.env.REDIS_URL || undefined,
  pgUrl: process.env.PG_URL || undefined,
  sqliteDir: process.env.BENCH_SQLITE_DIR || undefined,
};
if (config.duration <= 0) throw new Error('BENCH_DURATION must be > 0');
if (config.growthFamilies.some((n) => !Number.isInteger(n) || n < 0) || config.growthFamilies.length < 2) {
  throw new Error('BENCH_GROWTH_FAMILIES must list at least two whole numbers, e.g. 1e3,1e6');
}
if (process.env.BENCH_ALG !== undefined && process.env.BENCH_ALG !== 'RS256' && process.env.BENCH_ALG !== 'ES256') throw new Error('BENCH_ALG must be RS256 or ES256');
const KNOBS = ['BENCH_ALG', 'BENCH_DURATION', 'BENCH_WARMUP', 'BENCH_CONNECTIONS', 'BENCH_POOL_RATE', 'BENCH_ROWS', 'BENCH_SCENARIOS', 'BENCH_GROWTH', 'BENCH_GROWTH_FAMILIES', 'BENCH_SIGN', 'BENCH_SQLITE_DIR', 'REDIS_URL', 'PG_URL'];

const SERVER_CORE = 0;
const LOAD_CORE = CORES > 1 ? 1 : undefined;
const REDIS_CORE = CORES > 2 ? 2 : 0;

// ---------------------------------------------------------------------------------------------
// Rows

// oidc-provider 9 has no RFC 8693 grant (only the custom-grant API), and refuses to introspect structured
// (JWT) access tokens, which its rows issue (lib/shared/reject_structured_tokens.js).
const OIDC_PROVIDER_UNSUPPORTED = {
  token_exchange: 'no token-exchange grant in the library (only a custom grant type)',
  introspection: 'refuses to introspect JWT access tokens (the format this row issues)',
  // The library has both (clientAuthMethods private_key_jwt, features.dPoP); this row does not wire them yet.
  private_key_jwt: 'not wired in this row yet (the library supports private_key_jwt)',
  dpop_refresh: 'not wired in this row yet (the library supports DPoP)',
};

const ROWS = [
  { id: 'floor', name: 'floor: Express + 1 secret check + jsonwebtoken RS256', script: 'servers/floor.mjs' },
  { id: 'ours-memory', name: 'express-token-endpoint (memory)', script: 'servers/ours.mjs', env: { BENCH_STORE: 'memory' }, store: 'memory' },
  // The same host with the concurrent-retry window off (strict reuse detection, RFC 9700 reading): what the window costs.
  { id: 'ours-memory-strict', name: 'express-token-endpoint (memory, retry window off)', script: 'servers/ours.mjs', env: { BENCH_STORE: 'memory', BENCH_RETRY_WINDOW: '0' }, store: 'memory', only: ['refresh_token'], growth: false },
  // The default limits on (rateLimit and bruteForce): what the protection costs; it must not answer 429 here.
  { id: 'ours-memory-limits', name: 'express-token-endpoint (memory, default limits on)', script: 'servers/ours.mjs', env: { BENCH_STORE: 'memory', BENCH_LIMITS: '1' }, store: 'memory', only: ['client_credentials', 'refresh_token'], growth: false },
  // openTelemetry() on (BatchSpanProcessor, MeterProvider): what tracing and metrics cost per request.
  { id: 'ours-otel', name: 'express-token-endpoint (memory, OpenTelemetry on)', script: 'servers/ours.mjs', env: { BENCH_STORE: 'memory', BENCH_TELEMETRY: '1' }, store: 'memory', only: ['client_credentials', 'refresh_token'], growth: false },
  { id: 'ours-sqlite', name: 'express-token-endpoint (SQLite)', script: 'servers/ours.mjs', env: { BENCH_STORE: 'sqlite' }, store: 'sqlite' },
  // The adapter's opt-in `synchronous: 'normal'` (no fsync per commit; process-crash safe only). Not in the growth runs.
  { id: 'ours-sqlite-normal', name: "express-token-endpoint (SQLite, synchronous: 'normal')", script: 'servers/ours.mjs', env: { BENCH_STORE: 'sqlite', BENCH_SQLITE_SYNC: 'normal' }, store: 'sqlite', growth: false },
  { id: 'ours-redis', name: 'express-token-endpoint (Redis)', script: 'servers/ours.mjs', env: { BENCH_STORE: 'redis' }, store: 'redis' },
  // Needs PG_URL (a database the run may create and drop schemas in); one schema per measurement.
  { id: 'ours-postgres', name: 'express-token-endpoint (PostgreSQL)', script: 'servers/ours.mjs', env: { BENCH_STORE: 'postgres' }, store: 'postgres' },
  { id: 'oidc-provider', name: 'oidc-provider 9 (standalone)', script: 'servers/oidc-provider.mjs', env: { BENCH_MODE: 'standalone' }, unsupported: OIDC_PROVIDER_UNSUPPORTED },
  { id: 'oidc-provider-express', name: 'oidc-provider 9 (in Express)', script: 'servers/oidc-provider.mjs', env: { BENCH_MODE: 'express' }, unsupported: OIDC_PROVIDER_UNSUPPORTED },
  {
    id: 'oauth2-server',
    name: '@node-oauth/oauth2-server 5',
    script: 'servers/oauth2-server.mjs',
    unsupported: { device_code: 'no device authorization grant in the library', token_exchange: 'no token-exchange grant in the library', introspection: 'no introspection endpoint in the library', private_key_jwt: 'no private_key_jwt client authentication in the library', dpop_refresh: 'no DPoP in the library' },
  },
  { id: 'fixed', name: 'Express fixed JSON (HTTP ceiling)', script: 'servers/fixed.mjs', only: ['client_credentials'], expectJwt: false },
];
const OURS = 'ours-memory';

if (config.rows) {
  const unknown = config.rows.filter((id) => !ROWS.some((r) => r.id === id));
  if (unknown.length) throw new Error(`BENCH_ROWS: unknown row(s) ${unknown.join(', ')}; rows are ${ROWS.map((r) => r.id).join(', ')}`);
}
if (config.scenarios) {
  const unknown = config.scenarios.filter((id) => !(id in SCENARIOS));
  if (unknown.length) throw new Error(`BENCH_SCENARIOS: unknown scenario(s) ${unknown.join(', ')}; scenarios are ${Object.keys(SCENARIOS).join(', ')}`);
}
const selectedRows = ROWS.filter((r) => !config.rows || config.rows.includes(r.id));
const selectedScenarios = Object.keys(SCENARIOS).filter((s) => !config.scenarios || config.scenarios.includes(s));

// ---------------------------------------------------------------------------------------------
// Preconditions and optional stores

const children = new Set();
function track(child) {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}
const stopChildren = () => {
  for (const child of children) child.kill('SIGTERM');
};
process.on('exit', stopChildren);
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    stopChildren();
    process.exit(130);
  });
}

const requireBench = createRequire(join(BENCH_DIR, 'package.json'));
function libraryRoot() {
  try {
    return realpathSync(dirname(requireBench.resolve('express-token-endpoint/package.json')));
  } catch {
    return undefined;
  }
}

function preconditions() {
  if (!existsSync(join(BENCH_DIR, 'node_modules', 'autocannon'))) {
    throw new Error('bench dependencies are not installed: run `npm --prefix bench ci` (or `npm run bench` at the root, which does it).');
  }
  const lib = libraryRoot();
  if (!lib || !existsSync(join(lib, 'dist', 'index.js'))) throw new Error('the library is not built: run `npm run build` at the repository root (or `npm run bench`, which does it).');
  return lib;
}

/** Why the SQLite row cannot run, or undefined when it can. */
function sqliteUnavailable(lib) {
  if (!existsSync(join(lib, 'dist', 'sqlite', 'index.js'))) return 'dist/sqlite/index.js not found (SQLite adapter not built)';
  try {
    createRequire(join(lib, 'package.json')).resolve('better-sqlite3');
  } catch {
    return 'better-sqlite3 is not installed next to the library (`npm ci` at the root installs it)';
  }
  return undefined;
}

async function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** A Redis to use: REDIS_URL, or a redis-server we start on a free loopback port; or why there is none. */
async function openRedis(lib) {
  if (!existsSync(join(lib, 'dist', 'redis', 'index.js'))) return { unavailable: 'dist/redis/index.js not found (Redis adapter not built)' };
  const { Redis } = await import('ioredis');
  let url = config.redisUrl;
  let child;
  if (!url) {
    if (spawnSync('redis-server', ['--version']).status !== 0) return { unavailable: 'no REDIS_URL and no redis-server binary on PATH' };
    const port = await freePort();
    const [command, args] = pinned(REDIS_CORE, 'redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--protected-mode', 'yes', '--loglevel', 'warning']);
    child = track(spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'] }));
    url = `redis://127.0.0.1:${port}`;
  }
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null });
  client.on('error', () => {});
  for (let attempt = 0; ; attempt += 1) {
    try {
      await client.connect();
      await client.ping();
      break;
    } catch (error) {
      if (attempt >= 50) {
        child?.kill('SIGTERM');
        return { unavailable: `cannot reach Redis at ${url}: ${error.message}` };
      }
      client.disconnect();
      await sleep(100);
    }
  }
  const version = /redis_version:(\S+)/.exec(await client.info('server'))?.[1];
  return {
    url,
    client,
    pid: child?.pid,
    external: !child,
    description: child ? `redis-server ${version} started on ${url} (pinned to core ${HAS_TASKSET ? REDIS_CORE : '-'})` : `Redis ${version} at REDIS_URL`,
    /** Deletes the keys a row wrote (FLUSHDB on the Redis we started, a SCAN by prefix on yours). */
    async clean(prefix) {
      if (child) return void (await client.flushdb());
      let cursor = '0';
      do {
        const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
        cursor = next;
        if (keys.length) await client.unlink(...keys);
      } while (cursor !== '0');
    },
    async close() {
      await client.quit().catch(() => {});
      if (child) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await Promise.race([exited, sleep(3000)]);
      }
    },
  };
}

/** The PostgreSQL at PG_URL, checked reachable; or why there is none. Unlike Redis, the run does not start its own. */
async function openPostgres(lib) {
  if (!existsSync(join(lib, 'dist', 'postgres', 'index.js'))) return { unavailable: 'dist/postgres/index.js not found (PostgreSQL adapter not built)' };
  if (!config.pgUrl) return { unavailable: 'no PG_URL (the PostgreSQL row needs a database it may create and drop schemas in)' };
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: config.pgUrl, connectionTimeoutMillis: 5000 });
  try {
    await client.connect();
  } catch (error) {
    return { unavailable: `cannot reach PostgreSQL at PG_URL: ${error.message}` };
  }
  client.on('error', () => {});
  const version = (await client.query('SHOW server_version')).rows[0]?.server_version;
  const sync = (await client.query('SHOW synchronous_commit')).rows[0]?.synchronous_commit;
  return {
    url: config.pgUrl,
    description: `PostgreSQL ${version} at PG_URL (synchronous_commit ${sync}; not pinned)`,
    /** Drops the schema a row's server created. */
    async clean(schema) {
      await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    },
    async close() {
      await client.end().catch(() => {});
    },
  };
}

// ---------------------------------------------------------------------------------------------
// One measurement

function runLoad(server, scenario, tokensFile, token, pids) {
  const [command, args] = pinned(LOAD_CORE, process.execPath, [join(BENCH_DIR, 'load.mjs')]);
  const child = track(spawn(command, args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }));
  const sampler = createSampler(pids);
  return new Promise((resolve, reject) => {
    let usage;
    child.on('message', (message) => {
      if (message.phase === 'measure') sampler.start();
      else if (message.phase === 'done') {
        usage = sampler.stop();
        resolve({ ...message.result, usage });
      } else if (message.phase === 'error') reject(new Error(message.error));
    });
    child.once('exit', (code) => {
      if (!usage) reject(new Error(`load generator exited with ${code}`));
    });
    child.send({
      url: server.base,
      path: pathFor(server, scenario),
      scenario,
      tokensFile,
      token,
      // The `aud` a client assertion names: the token endpoint URL the server announces (its metadata), else the URL requested.
      audience: server.assertionAudience,
      connections: config.connections,
      warmup: config.warmup,
      duration: config.duration,
    });
  });
}

const SEED_CHUNK = 100_000;

/**
 * Starts `row`'s server, optionally seeds `background` live refresh families, verifies one answer,
 * seeds the pool, runs warm-up + measurement. Returns a result record (status ok | failed).
 */
async function measure(row, scenario, { runDir, redis, postgres, background = 0, tag = '' }) {
  const id = `${row.id}${tag}-${scenario}`;
  // BENCH_SCENARIO lets a server enable what only that scenario needs (ours: token exchange, introspection).
  const env = { BENCH_KEY_FILE: join(runDir, 'signing-key.pem'), BENCH_SCENARIO: scenario, ...row.env };
  let sqliteFile;
  let redisPrefix;
  if (row.store === 'sqlite') {
    sqliteFile = join(config.sqliteDir ?? join(runDir, 'tmp'), `bench-${process.pid}-${id}.db`);
    env.BENCH_SQLITE_FILE = sqliteFile;
  }
  if (row.store === 'redis') {
    redisPrefix = `bench:${process.pid}:${id}:`;
    env.BENCH_REDIS_URL = redis.url;
    env.BENCH_REDIS_PREFIX = redisPrefix;
  }
  let pgSchema;
  if (row.store === 'postgres') {
    pgSchema = `bench_${process.pid}_${id}`.toLowerCase().replace(/[^a-z0-9_]/g, '_').slice(0, 63);
    env.BENCH_PG_URL = postgres.url;
    env.BENCH_PG_SCHEMA = pgSchema;
  }
  const record = { row: row.id, name: row.name, scenario, background, status: 'ok' };
  let server;
  try {
    // BENCH_NODE_ARGS (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof") profiles the servers: how a missed target is investigated.
    server = await startServer(join(BENCH_DIR, row.script), { core: SERVER_CORE, env, label: row.id, nodeArgs: (process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean) });
    track(server.child);
    if (background > 0) {
      const t0 = Date.now();
      for (let done = 0; done < background; done += SEED_CHUNK) await seed(server, 'refresh_token', Math.min(SEED_CHUNK, background - done), true);
      record.seedSeconds = (Date.now() - t0) / 1000;
    }
    record.idle = await stats(server);

    const { pool: pooled, reuse, chain } = SCENARIOS[scenario];
    // A chain scenario follows a few families from token to token: 3 per connection (a run's last
    // in-flight answers are lost when autocannon stops, and the warm-up is a run of its own).
    const poolSize = pooled ? Math.ceil((config.warmup + config.duration) * config.poolRate) : chain ? 3 * config.connections : 0;
    const [probe] = pooled || reuse || chain ? (await seed(server, scenario, 1)).tokens : [''];
    record.verified = verifyTokenResponse(scenario, await tokenRequest(server, (url) => SCENARIOS[scenario].body(probe, server.assertionAudience ?? url), scenario), { spent: probe, expectJwt: row.expectJwt !== false });

    let tokensFile;
    if (pooled || chain) {
      const t0 = Date.now();
      const { tokens } = await seed(server, scenario, poolSize);
      record.poolSeedSeconds = (Date.now() - t0) / 1000;
      tokensFile = join(runDir, 'tmp', `${id}.tokens`);
      writeFileSync(tokensFile, `${tokens.join('\n')}\n`);
    }
    const pids = [server.pid, ...(row.store === 'redis' && redis.pid ? [redis.pid] : [])];
    const load = await runLoad(server, scenario, tokensFile, reuse ? probe : undefined, pids);
    if (tokensFile) rmSync(tokensFile, { force: true });
    record.load = load;
    record.rps = load.rps;
    record.p50 = load.latency.p50;
    record.p99 = load.latency.p99;
    record.non2xx = load.non2xx + load.errors + load.timeouts;
    record.cpu = load.usage[server.pid]?.cpuPercent;
    record.peakRss = load.usage[server.pid]?.peakRss;
    if (redis?.pid && row.store === 'redis') record.redisCpu = load.usage[redis.pid]?.cpuPercent;
    if (load.pool?.exhausted && chain) record.warning = `refresh chains ran dry (${load.pool.exhausted} requests without a token)`;
    else if (load.pool?.exhausted) record.warning = `token pool exhausted (${load.pool.exhausted} requests without a token): raise BENCH_POOL_RATE`;
    if (load.non2xx) record.statusCodes = load.statusCodes;
    if (row.store && background > 0) record.after = await stats(server);
  } catch (error) {
    record.status = 'failed';
    record.error = String(error?.message ?? error).split('\n').slice(0, 6).join(' | ');
  } finally {
    await stopServer(server);
    if (sqliteFile) for (const suffix of ['', '-wal', '-shm']) rmSync(sqliteFile + suffix, { force: true });
    if (redisPrefix) await redis.clean(redisPrefix).catch(() => {});
    if (pgSchema) await postgres.clean(pgSchema).catch(() => {});
  }
  return record;
}

async function signBench(runDir) {
  const seconds = Math.max(1, Math.min(5, config.duration / 2));
  const [command, args] = pinned(SERVER_CORE, process.execPath, [join(BENCH_DIR, 'sign.mjs'), String(seconds)]);
  const result = spawnSync(command, args, { env: { ...process.env, BENCH_KEY_FILE: join(runDir, 'signing-key.pem') }, encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`sign.mjs failed: ${result.stderr}`);
  return JSON.parse(result.stdout.trim().split('\n').pop());
}

// ---------------------------------------------------------------------------------------------
// Report

const fmt = {
  int: (n) => (n === undefined || Number.isNaN(n) ? '–' : Math.round(n).toLocaleString('en-US')),
  ms: (n) => (n === undefined || Number.isNaN(n) ? '–' : n.toFixed(2)),
  pct: (n) => (n === undefined || Number.isNaN(n) ? '–' : `${Math.round(n)}`),
  mb: (n) => (n === undefined || Number.isNaN(n) ? '–' : `${Math.round(n / 1048576)}`),
  ratio: (n) => (n === undefined || !Number.isFinite(n) ? '–' : n.toFixed(2)),
  bytes: (n) => (n === undefined || !Number.isFinite(n) ? '–' : `${Math.round(n).toLocaleString('en-US')} B`),
};

function machine() {
  const cpu = cpus()[0]?.model?.trim() ?? 'unknown CPU';
  const git = (args) => spawnSync('git', args, { cwd: ROOT, encoding: 'utf8' }).stdout?.trim();
  const commit = git(['rev-parse', '--short', 'HEAD']);
  const dirty = git(['status', '--porcelain', '--untracked-files=no']) ? ' (uncommitted changes)' : '';
  const pinning = HAS_TASKSET
    ? `server on core ${SERVER_CORE}, autocannon on core ${LOAD_CORE ?? SERVER_CORE} (taskset)`
    : 'no taskset: processes not pinned';
  return {
    cpu,
    cores: CORES,
    memoryGb: Math.round(totalmem() / 2 ** 30),
    os: `${process.platform} ${release()} ${arch()}`,
    node: process.version,
    pinning,
    commit: commit ? `${commit}${dirty}` : 'unknown',
    line: `${cpu}, ${CORES} cores, ${Math.round(totalmem() / 2 ** 30)} GB RAM, ${process.platform} ${release()}; Node ${process.version}; ${pinning}`,
  };
}

function commandLine() {
  const set = KNOBS.filter((k) => process.env[k] !== undefined && process.env[k] !== '').map((k) => `${k}=${k === 'REDIS_URL' || k === 'PG_URL' ? '<url>' : process.env[k]}`);
  return [...set, 'npm run bench'].join(' ');
}

function ratio(a, b) {
  return a !== undefined && b ? a / b : undefined;
}

function renderReport({ started, results, signs, growth, redisNote, postgresNote, skipped }) {
  const m = machine();
  const out = [];
  out.push(`## Benchmark run ${started.toISOString()}`, '');
  out.push(`- Machine: ${m.line}.`);
  out.push(`- Command: \`${commandLine()}\` at commit ${m.commit}.`);
  out.push(`- Load: autocannon, ${config.connections} connections, ${config.warmup} s warm-up then ${config.duration} s measured per row; each row is a fresh server process on 127.0.0.1.`);
  if (redisNote) out.push(`- Redis: ${redisNote.replace(/\.+$/, '')}.`);
  if (postgresNote) out.push(`- PostgreSQL: ${postgresNote.replace(/\.+$/, '')}.`);
  out.push('');
  out.push('| server | scenario | req/s | p50 ms | p99 ms | non-2xx | server CPU % | peak RSS MB | × floor | × ours |');
  out.push('|---|---|--:|--:|--:|--:|--:|--:|--:|--:|');
  for (const scenario of selectedScenarios) {
    const rows = results.filter((r) => r.scenario === scenario);
    const floor = rows.find((r) => r.row === 'floor' && r.status === 'ok');
    const ours = rows.find((r) => r.row === OURS && r.status === 'ok');
    for (const r of rows) {
      if (r.status !== 'ok') {
        out.push(`| ${r.name} | ${scenario} | ${r.status} | | | | | | | |`);
        continue;
      }
      out.push(
        `| ${r.name} | ${scenario} | ${fmt.int(r.rps)} | ${fmt.ms(r.p50)} | ${fmt.ms(r.p99)} | ${fmt.int(r.non2xx)} | ${fmt.pct(r.cpu)} | ${fmt.mb(r.peakRss)} | ${fmt.ratio(ratio(r.rps, floor?.rps))} | ${fmt.ratio(ratio(r.rps, ours?.rps))} |`,
      );
    }
  }
  out.push('');
  out.push('Scenarios: `client_credentials` (scope api:read); `refresh_token` (each request spends one pre-generated token; rotation + reuse detection on); `authorization_code` (pre-minted codes with PKCE S256, scope `openid api:read`: access token + ID token, two signatures); `device_code` (poll of a pre-approved device code, scope `openid api:read`: two signatures); `token_exchange` (RFC 8693: the server\'s own user access token, minted through its real flow, exchanged for a new access token under a permissive policy: one RS256 verify + one sign); `introspection` (RFC 7662: a resource-server client introspects that access token: one RS256 verify, no sign); `private_key_jwt` (client_credentials authenticated by an ES256 client assertion, RFC 7523, signed by the load generator per request: new jti, aud = the token endpoint URL; one ES256 verify + one RS256 sign, our rows also record the jti); `dpop_refresh` (a public client\'s DPoP-bound refresh family: each request carries a new ES256 proof for the token endpoint and spends the refresh token the previous answer of its chain returned; one ES256 verify + one RS256 sign, our rows also record the proof jti and rotate the family). The floor signs as many JWTs as the scenario returns (and verifies the presented one) and keeps no state. × ours: ratio to express-token-endpoint (memory) in the same scenario.');
  out.push('');

  if (signs) {
    out.push('Raw jsonwebtoken signatures (and RS256 verifications) on one core:', '');
    out.push('| alg | ops/s | µs per op |', '|---|--:|--:|');
    for (const [alg, s] of Object.entries(signs)) out.push(`| ${alg} | ${fmt.int(s.signsPerSecond)} | ${s.microsPerSign.toFixed(0)} |`);
    const floorCc = results.find((r) => r.row === 'floor' && r.scenario === 'client_credentials' && r.status === 'ok');
    if (floorCc) out.push('', `RS256 sign alone ≈ ${signs.RS256.microsPerSign.toFixed(0)} µs of the floor's ≈ ${(1e6 / floorCc.rps).toFixed(0)} µs per client_credentials request.`);
    const verify = signs['RS256 verify'];
    const perRequest = (row, scenario) => {
      const r = results.find((x) => x.row === row && x.scenario === scenario && x.status === 'ok');
      return r ? `${(1e6 / r.rps).toFixed(0)} µs` : '–';
    };
    if (verify && results.some((r) => r.scenario === 'token_exchange' && r.status === 'ok')) {
      out.push('', `token_exchange: RS256 verify + sign ≈ ${(verify.microsPerSign + signs.RS256.microsPerSign).toFixed(0)} µs of ≈ ${perRequest('floor', 'token_exchange')} per request at the floor, ≈ ${perRequest(OURS, 'token_exchange')} at ${OURS}.`);
    }
    const es256Verify = signs['ES256 verify'];
    for (const scenario of ['private_key_jwt', 'dpop_refresh']) {
      if (es256Verify && results.some((r) => r.scenario === scenario && r.status === 'ok')) {
        out.push('', `${scenario}: ES256 verify ≈ ${es256Verify.microsPerSign.toFixed(0)} µs (+ RS256 sign ≈ ${signs.RS256.microsPerSign.toFixed(0)} µs) of ≈ ${perRequest('floor', scenario)} per request at the floor, ≈ ${perRequest(OURS, scenario)} at ${OURS}.`);
      }
    }
    if (verify && results.some((r) => r.scenario === 'introspection' && r.status === 'ok')) {
      out.push('', `introspection: RS256 verify ≈ ${verify.microsPerSign.toFixed(0)} µs of ≈ ${perRequest('floor', 'introspection')} per request at the floor, ≈ ${perRequest(OURS, 'introspection')} at ${OURS}.`);
    }
    out.push('');
  }

  if (growth.length) {
    out.push(`Growth: refresh_token throughput with N live refresh families already in the store (plus the pre-generated pool):`, '');
    out.push('| store | live families | req/s | p99 ms | peak RSS MB | heap after GC MB | store size | × smallest N |', '|---|--:|--:|--:|--:|--:|--:|--:|');
    for (const store of ['memory', 'sqlite', 'redis', 'postgres']) {
      const rows = growth.filter((g) => g.store === store);
      if (!rows.length) continue;
      const base = rows.find((g) => g.status === 'ok');
      for (const g of rows) {
        if (g.status !== 'ok') {
          out.push(`| ${store} | ${fmt.int(g.background)} | ${g.status} | | | | | |`);
          continue;
        }
        const size = g.idle?.store?.bytes;
        out.push(
          `| ${store} | ${fmt.int(g.background)} | ${fmt.int(g.rps)} | ${fmt.ms(g.p99)} | ${fmt.mb(g.peakRss)} | ${fmt.mb(g.idle?.memory?.heapUsed)} | ${size === undefined ? '–' : `${fmt.mb(size)} MB`} | ${fmt.ratio(ratio(g.rps, base?.rps))} |`,
        );
      }
      const ok = rows.filter((g) => g.status === 'ok');
      if (ok.length >= 2) {
        const [a, b] = [ok[0], ok[ok.length - 1]];
        const dn = b.background - a.background;
        const perFamily = store === 'memory' ? (b.idle.memory.heapUsed - a.idle.memory.heapUsed) / dn : (b.idle.store.bytes - a.idle.store.bytes) / dn;
        const rssPerFamily = (b.idle.memory.rss - a.idle.memory.rss) / dn;
        const what = store === 'memory' ? 'V8 heap after GC' : store === 'sqlite' ? 'database pages in use' : store === 'postgres' ? 'PostgreSQL tables with their indexes and TOAST' : 'Redis used_memory';
        out.push(`| ${store}: bytes per live family | | | | | | ${fmt.bytes(perFamily)} (${what}); server RSS ${fmt.bytes(rssPerFamily)} | |`);
      }
    }
    out.push('');
  }

  const targets = assessTargets(results, growth);
  if (targets.length) {
    out.push('Targets (goals from the issue, measured in this run):', '');
    for (const t of targets) out.push(`- ${t.ok === undefined ? '⚪' : t.ok ? '✅' : '❌'} ${t.text}`);
    out.push('');
  }

  const notes = [];
  for (const r of [...results, ...growth]) {
    const label = `${r.name}${r.background ? ` with ${fmt.int(r.background)} families` : ''} / ${r.scenario}`;
    if (r.status === 'ok') notes.push(`${label}: verified ${r.verified}${r.redisCpu !== undefined ? `; redis-server CPU ${fmt.pct(r.redisCpu)} %` : ''}${r.warning ? `; ⚠ ${r.warning}` : ''}${r.statusCodes ? `; status codes ${JSON.stringify(r.statusCodes)}` : ''}`);
    else notes.push(`${label}: ${r.status}: ${r.error}`);
  }
  for (const s of skipped) notes.push(`${s.name}: skipped: ${s.reason}`);
  out.push('<details><summary>Row notes (verification, skips, warnings)</summary>', '');
  for (const n of notes) out.push(`- ${n}`);
  out.push('', '</details>', '');
  return out.join('\n');
}

function assessTargets(results, growth) {
  const get = (row, scenario) => results.find((r) => r.row === row && r.scenario === scenario && r.status === 'ok');
  const targets = [];
  const check = (text, value, goal) => {
    targets.push({ text: `${text}: ${value === undefined ? 'not measured' : fmt.ratio(value)} (goal ≥ ${goal})`, ok: value === undefined ? undefined : value >= goal });
  };
  const cc = (row) => get(row, 'client_credentials');
  const ours = cc(OURS);
  check('client_credentials: ours / floor', ratio(ours?.rps, cc('floor')?.rps), 0.95);
  check('client_credentials: ours / oidc-provider standalone', ratio(ours?.rps, cc('oidc-provider')?.rps), 1.0);
  check('client_credentials: ours / oidc-provider in Express', ratio(ours?.rps, cc('oidc-provider-express')?.rps), 1.25);
  check('client_credentials: ours / oauth2-server', ratio(ours?.rps, cc('oauth2-server')?.rps), 1.1);
  const p99gap = ours && cc('floor') ? ours.p99 - cc('floor').p99 : undefined;
  targets.push({ text: `client_credentials: ours p99 − floor p99: ${p99gap === undefined ? 'not measured' : `${p99gap.toFixed(2)} ms`} (goal ≤ 2 ms)`, ok: p99gap === undefined ? undefined : p99gap <= 2 });
  const rt = (row) => get(row, 'refresh_token');
  const oursRt = rt(OURS);
  check('refresh_token (memory): ours / floor', ratio(oursRt?.rps, rt('floor')?.rps), 0.9);
  check('refresh_token (memory, retry window off): ours / floor', ratio(rt('ours-memory-strict')?.rps, rt('floor')?.rps), 0.9);
  for (const peer of ['oidc-provider', 'oidc-provider-express', 'oauth2-server']) check(`refresh_token (memory): ours / ${peer}`, ratio(oursRt?.rps, rt(peer)?.rps), 1.0);
  check('refresh_token: SQLite / memory', ratio(rt('ours-sqlite')?.rps, oursRt?.rps), 0.8);
  check("refresh_token: SQLite (synchronous: 'normal') / memory", ratio(rt('ours-sqlite-normal')?.rps, oursRt?.rps), 0.8);
  check('refresh_token: Redis / memory', ratio(rt('ours-redis')?.rps, oursRt?.rps), 0.8);
  check('refresh_token: PostgreSQL / memory', ratio(rt('ours-postgres')?.rps, oursRt?.rps), 0.8);
  for (const store of ['memory', 'sqlite', 'redis', 'postgres']) {
    const ok = growth.filter((g) => g.store === store && g.status === 'ok');
    if (ok.length >= 2) {
      const [a, b] = [ok[0], ok[ok.length - 1]];
      check(`growth ${store}: refresh rate with ${fmt.int(b.background)} / ${fmt.int(a.background)} live families`, ratio(b.rps, a.rps), 0.9);
    }
  }
  return targets;
}

// ---------------------------------------------------------------------------------------------
// Main

async function main() {
  const lib = preconditions();
  const started = new Date();
  const stamp = started.toISOString().replace(/[:.]/g, '-');
  const runDir = join(BENCH_DIR, 'results', stamp);
  mkdirSync(join(runDir, 'tmp'), { recursive: true });
  const { generateKeyPairSync } = await import('node:crypto');
  writeFileSync(join(runDir, 'signing-key.pem'), generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'pem', type: 'pkcs8' }), { mode: 0o600 });
  // BENCH_ALG=ES256: the floor and our rows sign with this P-256 key instead (the peers stay RS256).
  writeFileSync(join(runDir, 'signing-key-es256.pem'), generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'pem', type: 'pkcs8' }), { mode: 0o600 });
  log(`results in ${relative(ROOT, runDir)}; ${machine().line}`);
  if (!procAvailable) log('no /proc: server CPU% and RSS are not sampled');

  const skipped = [];
  const unavailable = new Map();
  const needSqlite = selectedRows.some((r) => r.store === 'sqlite');
  const needRedis = selectedRows.some((r) => r.store === 'redis');
  if (needSqlite) {
    const why = sqliteUnavailable(lib);
    if (why) unavailable.set('sqlite', why);
  }
  let postgres;
  if (selectedRows.some((r) => r.store === 'postgres')) {
    postgres = await openPostgres(lib);
    if (postgres.unavailable) {
      unavailable.set('postgres', postgres.unavailable);
      postgres = undefined;
    }
  }
  let redis;
  if (needRedis) {
    redis = await openRedis(lib);
    if (redis.unavailable) {
      unavailable.set('redis', redis.unavailable);
      redis = undefined;
    }
  }

  const results = [];
  const growth = [];
  let signs;
  try {
    if (config.sign) {
      log('raw jsonwebtoken signs/s (RS256, ES256) on one core');
      signs = await signBench(runDir);
    }
    const plan = [];
    for (const scenario of selectedScenarios) {
      for (const row of selectedRows) {
        if (row.only && !row.only.includes(scenario)) continue;
        if (row.store && unavailable.has(row.store)) {
          if (!skipped.some((s) => s.name === row.name)) skipped.push({ name: row.name, reason: unavailable.get(row.store) });
          continue;
        }
        if (row.unsupported?.[scenario]) {
          results.push({ row: row.id, name: row.name, scenario, status: 'n/a', error: row.unsupported[scenario] });
          continue;
        }
        plan.push({ row, scenario });
      }
    }
    let index = 0;
    for (const { row, scenario } of plan) {
      index += 1;
      log(`[${index}/${plan.length}] ${row.id} × ${scenario}`);
      const record = await measure(row, scenario, { runDir, redis, postgres });
      log(record.status === 'ok' ? `  ${fmt.int(record.rps)} req/s, p99 ${fmt.ms(record.p99)} ms, non-2xx ${record.non2xx}, CPU ${fmt.pct(record.cpu)} %` : `  ${record.status}: ${record.error}`);
      results.push(record);
    }

    if (config.growth) {
      const stores = selectedRows.filter((r) => r.store && r.growth !== false && !unavailable.has(r.store));
      for (const row of stores) {
        for (const families of [...config.growthFamilies].sort((a, b) => a - b)) {
          log(`growth: ${row.id} with ${families.toLocaleString('en-US')} live refresh families`);
          const record = await measure(row, 'refresh_token', { runDir, redis, postgres, background: families, tag: `-growth${families}` });
          record.store = row.store;
          log(record.status === 'ok' ? `  ${fmt.int(record.rps)} req/s, seeded in ${(record.seedSeconds ?? 0).toFixed(1)} s` : `  ${record.status}: ${record.error}`);
          growth.push(record);
        }
      }
    }
  } finally {
    await redis?.close();
    await postgres?.close();
    rmSync(join(runDir, 'tmp'), { recursive: true, force: true });
  }

  const report = renderReport({ started, results, signs, growth, redisNote: redis?.description ?? unavailable.get('redis'), postgresNote: postgres?.description ?? unavailable.get('postgres'), skipped });
  writeFileSync(join(runDir, 'results.md'), report);
  writeFileSync(join(runDir, 'results.json'), `${JSON.stringify({ started, machine: machine(), config, signs, results, growth, skipped }, null, 2)}\n`);
  process.stdout.write(`${report}\n`);
  log(`written ${relative(ROOT, join(runDir, 'results.md'))} and results.json`);
}

main().catch((error) => {
  log(`failed: ${error?.stack ?? error}`);
  process.exitCode = 1;
});
