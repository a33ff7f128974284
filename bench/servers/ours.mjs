// bench/servers/ours.mjs
// Our row: a demo-style host (Express app, token router at /connect, Confidential refresh policy:
// rotation + reuse detection with the default 5 s retry window) on the memory, SQLite or Redis
// store (BENCH_STORE). Rate limiting is off. Pre-generated refresh tokens, codes and device codes
// are clones of records the library itself wrote through the real flow (template records), with a
// fresh digest and grant id each, written through the store's public adapter API. For the
// token_exchange and introspection scenarios (BENCH_SCENARIO) the router also serves
// tokenExchange with a permissive policy and introspection() for a resource-server client; the
// token every request presents is a user access token from the real authorization-code flow.
// private_key_jwt registers an ES256 private_key_jwt client (inline jwks); dpop_refresh a public
// client whose refresh families, seeded through the real code flow with a DPoP proof, are bound to
// the holder's key.
/* global fetch */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import express from 'express';
import {
  authorizationCode,
  clientCredentials,
  createMemoryClientRegistry,
  createMemoryStorage,
  createTokenRouter,
  deviceCode,
  hashOpaqueToken,
  introspection,
  refreshToken,
  TELENORID_REFRESH_POLICIES,
  TOKEN_EXCHANGE_GRANT_TYPE,
  tokenExchange,
} from 'express-token-endpoint';
import {
  announceReady,
  API_AUDIENCE,
  BASIC,
  CLIENT_ID,
  CLIENT_SECRET,
  CODE_CHALLENGE,
  dpopProof,
  exitWithParent,
  forEachLimit,
  listen,
  loadSigningKey,
  PKJWT_CLIENT_ID,
  PKJWT_PUBLIC_JWK,
  PUBLIC_CLIENT_ID,
  randomToken,
  randomUUID,
  REDIRECT_URI,
  RS_CLIENT_ID,
  RS_CLIENT_SECRET,
  SCENARIOS,
  SUBJECT,
  withBenchControl,
} from '../common.mjs';

const require = createRequire(import.meta.url);
const STORE = process.env.BENCH_STORE ?? 'memory';
const MOUNT = '/connect';
const clock = () => Date.now();

/** Imports a subpath entry (`express-token-endpoint/sqlite`), or its dist file when the package does not export it yet. */
async function importEntry(subpath) {
  try {
    return await import(`express-token-endpoint/${subpath}`);
  } catch (error) {
    if (error?.code !== 'ERR_PACKAGE_PATH_NOT_EXPORTED') throw error;
    const file = join(dirname(require.resolve('express-token-endpoint/package.json')), 'dist', subpath, 'index.js');
    if (!existsSync(file)) throw error;
    return import(pathToFileURL(file).href);
  }
}

/**
 * The OpenTelemetry SDK as a production host sets it up (from the package root's dev
 * dependencies): spans through a BatchSpanProcessor to an exporter that drops them, metrics
 * aggregated by a MeterProvider with a periodic reader, an AsyncLocalStorage context manager.
 * What is measured is the instrumentation and the SDK's in-process work, not an export over the network.
 */
async function openTelemetrySdk() {
  const fromRoot = createRequire(require.resolve('express-token-endpoint/package.json'));
  const { context } = fromRoot('@opentelemetry/api');
  const { AsyncLocalStorageContextManager } = fromRoot('@opentelemetry/context-async-hooks');
  const { BasicTracerProvider, BatchSpanProcessor } = fromRoot('@opentelemetry/sdk-trace-base');
  const { InMemoryMetricExporter, AggregationTemporality, MeterProvider, PeriodicExportingMetricReader } = fromRoot('@opentelemetry/sdk-metrics');
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  const dropping = { export: (_spans, done) => done({ code: 0 }), shutdown: async () => {} };
  const tracerProvider = new BasicTracerProvider({ spanProcessors: [new BatchSpanProcessor(dropping)] });
  const meterProvider = new MeterProvider({ readers: [new PeriodicExportingMetricReader({ exporter: new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE), exportIntervalMillis: 10_000 })] });
  const { openTelemetry } = await importEntry('opentelemetry');
  return openTelemetry({ tracerProvider, meterProvider });
}

async function openStore() {
  if (STORE === 'memory') return { storage: createMemoryStorage({ clock }), seedStorage: undefined, stats: undefined, close: async () => {} };
  if (STORE === 'sqlite') {
    const { createSqliteStorage } = await importEntry('sqlite');
    const filename = process.env.BENCH_SQLITE_FILE;
    if (!filename) throw new Error('BENCH_SQLITE_FILE is not set');
    // BENCH_SQLITE_SYNC=normal measures the adapter's opt-in `synchronous: 'normal'` (row ours-sqlite-normal).
    const storage = createSqliteStorage({ filename, clock, synchronous: process.env.BENCH_SQLITE_SYNC === 'normal' ? 'normal' : 'full' });
    // Seeding goes through a second connection to the same file (the adapter supports several) with
    // synchronous = OFF and batched transactions: a million fsyncs would take hours. The measured
    // adapter above keeps its own settings (WAL, synchronous = FULL).
    const Database = createRequire(require.resolve('express-token-endpoint/package.json'))('better-sqlite3');
    const seedDb = new Database(filename);
    seedDb.pragma('busy_timeout = 30000');
    seedDb.pragma('synchronous = OFF');
    const seedStorage = createSqliteStorage({ database: seedDb, clock, purgeIntervalMs: 0 });
    const fileBytes = (suffix) => (existsSync(filename + suffix) ? statSync(filename + suffix).size : 0);
    return {
      storage,
      seedStorage,
      batch: (fn) => seedDb.transaction(fn)(),
      // Move the seeded pages from the WAL into the database file now, not during the measurement.
      afterSeed: () => seedDb.pragma('wal_checkpoint(TRUNCATE)'),
      stats: async () => {
        seedDb.pragma('wal_checkpoint(PASSIVE)');
        const pageSize = seedDb.pragma('page_size', { simple: true });
        const pages = seedDb.pragma('page_count', { simple: true });
        const free = seedDb.pragma('freelist_count', { simple: true });
        return { kind: 'sqlite', bytes: (pages - free) * pageSize, fileBytes: fileBytes(''), walBytes: fileBytes('-wal') };
      },
      close: async () => {
        storage.close();
        seedStorage.close();
        seedDb.close();
      },
    };
  }
  if (STORE === 'redis') {
    const { createRedisStorage } = await importEntry('redis');
    const { Redis } = await import('ioredis');
    const url = process.env.BENCH_REDIS_URL;
    if (!url) throw new Error('BENCH_REDIS_URL is not set');
    // The client settings the adapter's documentation recommends for a token endpoint.
    const client = new Redis(url, { enableOfflineQueue: false, maxRetriesPerRequest: 1, connectTimeout: 2000, commandTimeout: 5000, lazyConnect: true, enableAutoPipelining: true });
    await client.connect();
    const prefix = process.env.BENCH_REDIS_PREFIX ?? `bench:${process.pid}:`;
    const storage = createRedisStorage({ client, prefix, clock });
    return {
      storage,
      seedStorage: undefined,
      stats: async () => {
        const info = await client.info('memory');
        const used = Number(/used_memory:(\d+)/.exec(info)?.[1] ?? NaN);
        return { kind: 'redis', bytes: used, keys: await client.dbsize() };
      },
      close: async () => {
        await client.quit().catch(() => {});
      },
    };
  }
  if (STORE === 'postgres') {
    const { createPostgresStorage } = await importEntry('postgres');
    const { default: pg } = await import('pg');
    const url = process.env.BENCH_PG_URL;
    const schema = process.env.BENCH_PG_SCHEMA;
    if (!url || !schema) throw new Error('BENCH_PG_URL and BENCH_PG_SCHEMA must be set');
    // The pool settings the adapter's documentation recommends for a token endpoint (fail fast), sized above the load's connections.
    const pool = new pg.Pool({ connectionString: url, max: 20, connectionTimeoutMillis: 2000, query_timeout: 5000 });
    const storage = createPostgresStorage({ pool, schema, clock, migrate: true });
    await storage.ready();
    return {
      storage,
      seedStorage: undefined,
      stats: async () => {
        const { rows } = await pool.query("SELECT COALESCE(sum(pg_total_relation_size(c.oid)), 0)::bigint AS bytes FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relkind = 'r'", [schema]);
        return { kind: 'postgres', bytes: Number(rows[0].bytes) };
      },
      close: async () => {
        await storage.close();
        await pool.end();
      },
    };
  }
  throw new Error(`BENCH_STORE must be memory, sqlite, redis or postgres (got ${STORE})`);
}

const key = loadSigningKey();
const store = await openStore();
// Token exchange and introspection only for their scenarios: the other scenarios keep measuring the same host as before.
const TOKEN_SERVICE = ['token_exchange', 'introspection'].includes(process.env.BENCH_SCENARIO ?? '');
// The private_key_jwt client and the public DPoP client only for their scenarios (same reason).
const DPOP_REFRESH = process.env.BENCH_SCENARIO === 'dpop_refresh';
const clients = createMemoryClientRegistry([
  {
    client_id: CLIENT_ID,
    client_secret: CLIENT_SECRET,
    token_endpoint_auth_method: 'client_secret_basic',
    grant_types: ['client_credentials', 'authorization_code', 'refresh_token', 'urn:ietf:params:oauth:grant-type:device_code', ...(TOKEN_SERVICE ? [TOKEN_EXCHANGE_GRANT_TYPE] : [])],
    redirect_uris: [REDIRECT_URI],
    scope: 'openid offline_access api:read',
    refresh_token_policy: 'Confidential',
  },
  ...(process.env.BENCH_SCENARIO === 'private_key_jwt'
    ? [{ client_id: PKJWT_CLIENT_ID, token_endpoint_auth_method: 'private_key_jwt', token_endpoint_auth_signing_alg: 'ES256', jwks: { keys: [PKJWT_PUBLIC_JWK] }, grant_types: ['client_credentials'], scope: 'api:read' }]
    : []),
  ...(DPOP_REFRESH
    ? [{ client_id: PUBLIC_CLIENT_ID, token_endpoint_auth_method: 'none', grant_types: ['authorization_code', 'refresh_token'], redirect_uris: [REDIRECT_URI], scope: 'offline_access api:read', refresh_token_policy: 'Mobile' }]
    : []),
  ...(TOKEN_SERVICE ? [{ client_id: RS_CLIENT_ID, client_secret: RS_CLIENT_SECRET, grant_types: ['client_credentials'], scope: 'api:read', introspection_allowed: true }] : []),
]);

const tokenRouter = createTokenRouter({
  issuer: 'http://localhost',
  signingKeys: [{ kid: key.kid, alg: key.alg, privateKey: key.privateKey }],
  clients,
  storage: store.storage,
  grants: [
    authorizationCode({ codeTtl: 600 }),
    clientCredentials(),
    refreshToken({ retryWindowSeconds: Number(process.env.BENCH_RETRY_WINDOW ?? 5) }),
    deviceCode({ verificationUri: 'http://localhost/device' }),
    // Permissive: any verified subject token, for api:read.
    ...(TOKEN_SERVICE ? [tokenExchange({ policy: () => ({ scope: ['api:read'] }) })] : []),
  ],
  ...(TOKEN_SERVICE ? { endpoints: [introspection()] } : {}),
  refreshTokens: { policies: TELENORID_REFRESH_POLICIES },
  accessToken: { audience: API_AUDIENCE },
  // Limiters off, as in every other row (none of them rate-limits): the bench measures token work.
  // BENCH_LIMITS=1 (row ours-memory-limits): the default rate limit and failure budgets on, to show
  // what that protection costs per request (the defaults never answer 429 to this load).
  ...(process.env.BENCH_LIMITS === '1' ? {} : { rateLimit: false, bruteForce: false }),
  // BENCH_TELEMETRY=1 (row ours-otel): openTelemetry() on an SDK set up as production would.
  ...(process.env.BENCH_TELEMETRY === '1' ? { telemetry: await openTelemetrySdk() } : {}),
  clock,
});

const app = express();
app.disable('x-powered-by');
app.use(MOUNT, tokenRouter);
app.use(tokenRouter.wellKnown);

const server = await listen(createServer(withBenchControl(app, { seed, stats: store.stats })));
const base = `http://127.0.0.1:${server.address().port}${MOUNT}`;

async function post(path, body) {
  const response = await fetch(`${base}${path}`, {
    method: 'POST',
    headers: { authorization: BASIC, 'content-type': 'application/x-www-form-urlencoded' },
    body,
  });
  const json = await response.json();
  if (!response.ok) throw new Error(`${path}: ${response.status} ${JSON.stringify(json)}`);
  return json;
}

// Template records, written by the library through the real flows.
const authTime = Math.floor(Date.now() / 1000);
const templates = {};
{
  const { code } = await tokenRouter.issueAuthorizationCode({
    clientId: CLIENT_ID,
    redirectUri: REDIRECT_URI,
    scope: SCENARIOS.refresh_token.scope,
    subject: SUBJECT,
    authTime,
    codeChallenge: CODE_CHALLENGE,
    codeChallengeMethod: 'S256',
  });
  const tokens = await post('/token', SCENARIOS.authorization_code.body(code));
  if (!tokens.refresh_token) throw new Error(`no refresh token from the template flow: ${JSON.stringify(tokens)}`);
  templates.refresh_token = await store.storage.findRefreshToken(hashOpaqueToken(tokens.refresh_token));
}
{
  const { code } = await tokenRouter.issueAuthorizationCode({
    clientId: CLIENT_ID,
    redirectUri: REDIRECT_URI,
    scope: SCENARIOS.authorization_code.scope,
    subject: SUBJECT,
    authTime,
    nonce: 'bench-nonce-0123456789',
    codeChallenge: CODE_CHALLENGE,
    codeChallengeMethod: 'S256',
  });
  templates.authorization_code = await store.storage.findAuthorizationCode(hashOpaqueToken(code));
}
{
  const device = await post('/deviceauthorization', `scope=${encodeURIComponent(SCENARIOS.device_code.scope)}`);
  const decision = await tokenRouter.deviceVerification.approve(device.user_code, { subject: SUBJECT, authTime, amr: ['pwd'] }, { key: 'bench' });
  if (decision.status !== 'approved') throw new Error(`device approval: ${JSON.stringify(decision)}`);
  templates.device_code = await store.storage.findDeviceCode(hashOpaqueToken(device.device_code));
}
for (const [name, record] of Object.entries(templates)) if (!record) throw new Error(`template ${name} not found in the store`);

function cloneRecord(scenario, hash, now) {
  const grantId = randomUUID();
  if (scenario === 'refresh_token') {
    const lifetime = templates.refresh_token.expiresAt - templates.refresh_token.issuedAt;
    const record = { ...templates.refresh_token, tokenHash: hash, grantId, issuedAt: now, expiresAt: now + lifetime };
    if (record.familyExpiresAt !== undefined) record.familyExpiresAt = now + lifetime;
    return record;
  }
  if (scenario === 'authorization_code') return { ...templates.authorization_code, codeHash: hash, grantId, issuedAt: now, expiresAt: now + 600_000 };
  const device = { ...templates.device_code };
  delete device.lastPolledAt;
  return {
    ...device,
    deviceCodeHash: hash,
    userCodeHash: createHash('sha256').update(randomBytes(16)).digest('base64url'),
    grantId,
    issuedAt: now,
    expiresAt: now + 600_000,
  };
}

function write(target, scenario, record) {
  if (scenario === 'refresh_token') return target.saveRefreshToken(record);
  if (scenario === 'authorization_code') return target.saveAuthorizationCode(record);
  return target.saveDeviceCode(record).then((saved) => {
    if (!saved) throw new Error('saveDeviceCode refused a seeded record');
  });
}

/** A user access token through the real flow (code issued by the host API, redeemed at /token). */
async function userAccessToken() {
  const { code } = await tokenRouter.issueAuthorizationCode({
    clientId: CLIENT_ID,
    redirectUri: REDIRECT_URI,
    scope: 'api:read',
    subject: SUBJECT,
    authTime,
    codeChallenge: CODE_CHALLENGE,
    codeChallengeMethod: 'S256',
  });
  return (await post('/token', SCENARIOS.authorization_code.body(code))).access_token;
}

/** A DPoP-bound refresh token of the public client through the real flow (code + PKCE, redeemed with a proof). */
async function dpopRefreshToken() {
  const { code } = await tokenRouter.issueAuthorizationCode({
    clientId: PUBLIC_CLIENT_ID,
    redirectUri: REDIRECT_URI,
    scope: SCENARIOS.dpop_refresh.scope,
    subject: SUBJECT,
    authTime,
    codeChallenge: CODE_CHALLENGE,
    codeChallengeMethod: 'S256',
  });
  const url = `${base}/token`;
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', dpop: dpopProof(url) },
    body: `${SCENARIOS.authorization_code.body(code)}&client_id=${PUBLIC_CLIENT_ID}`,
  });
  const json = await response.json();
  if (!response.ok || json.token_type !== 'DPoP' || !json.refresh_token) throw new Error(`DPoP code redemption: ${response.status} ${JSON.stringify(json)}`);
  return json.refresh_token;
}

/** Pre-generates `count` tokens of a scenario; `background` ones are live families never spent. */
async function seed(scenario, count, background) {
  if (SCENARIOS[scenario].chain && !background) {
    const tokens = [];
    for (let i = 0; i < count; i += 1) tokens.push(await dpopRefreshToken());
    return tokens;
  }
  if (SCENARIOS[scenario].reuse && !background) {
    const tokens = [];
    for (let i = 0; i < count; i += 1) tokens.push(await userAccessToken());
    return tokens;
  }
  if (!SCENARIOS[scenario].pool) return background ? [] : Array.from({ length: count }, () => '');
  const target = store.seedStorage ?? store.storage;
  const now = clock();
  const tokens = background ? undefined : new Array(count);
  const make = (i) => {
    const value = randomToken();
    if (tokens) tokens[i] = value;
    return write(target, scenario, cloneRecord(scenario, hashOpaqueToken(value), now));
  };
  if (store.batch) {
    const CHUNK = 5000;
    for (let start = 0; start < count; start += CHUNK) {
      const pending = [];
      store.batch(() => {
        for (let i = start; i < Math.min(count, start + CHUNK); i += 1) pending.push(make(i));
      });
      await Promise.all(pending);
    }
  } else {
    // Networked stores take concurrent writes; the in-process ones gain nothing from it.
    await forEachLimit(count, STORE === 'redis' ? 256 : STORE === 'postgres' ? 32 : 1, make);
  }
  store.afterSeed?.();
  return tokens ?? [];
}

exitWithParent(async () => {
  server.close();
  await store.close();
});
// assertionAudience: the token endpoint of the metadata, the `aud` a client assertion names (the issuer's host, not 127.0.0.1).
announceReady(server, `${MOUNT}/token`, { assertionAudience: tokenRouter.metadata().token_endpoint, store: STORE, paths: { introspection: `${MOUNT}/introspection` } });
