// bench/common.mjs
// What every bench process shares: the one client every server registers, the scenarios (request
// bodies and what a good answer looks like), the signing key, and the readiness protocol of servers.
import { createHash, createPrivateKey, createPublicKey, randomBytes, randomUUID, sign as cryptoSign } from 'node:crypto';
import { readFileSync } from 'node:fs';

/** The one confidential client every server registers (HTTP Basic, all four grants). */
export const CLIENT_ID = 'bench-client';
export const CLIENT_SECRET = 'bench-client-secret-0123456789abcdefghijklmnopqrstuv';
export const BASIC = `Basic ${Buffer.from(`${encodeURIComponent(CLIENT_ID)}:${encodeURIComponent(CLIENT_SECRET)}`).toString('base64')}`;
export const REDIRECT_URI = 'http://localhost:8080/callback';
/** Audience of access tokens (oidc-provider: the resource server; others: `aud`). */
export const API_AUDIENCE = 'https://api.bench.example';
/** The end user every user-grant token is issued for. */
export const SUBJECT = 'user-0001';
export const DEVICE_CODE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';
export const TOKEN_EXCHANGE_GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange';
export const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';

/** The resource server that introspects (a confidential client allowed to; introspection scenario). */
export const RS_CLIENT_ID = 'bench-rs';
export const RS_CLIENT_SECRET = 'bench-rs-secret-0123456789abcdefghijklmnopqrstuvwxyz';
export const RS_BASIC = `Basic ${Buffer.from(`${encodeURIComponent(RS_CLIENT_ID)}:${encodeURIComponent(RS_CLIENT_SECRET)}`).toString('base64')}`;

/**
 * The private_key_jwt client (scenario private_key_jwt): client_credentials, authenticated by an
 * ES256 client assertion (RFC 7523) whose public key the server registers inline (`jwks`). A fixed
 * bench-only P-256 key, so that the load generator and every server share it without a file.
 */
export const PKJWT_CLIENT_ID = 'bench-pkjwt';
const PKJWT_JWK = { kty: 'EC', crv: 'P-256', x: 'vBuBb9F64l2tg-skXyUKFwYt1d0OfhtcwNBEjHZsAoA', y: 'wrTg5sDSE5_m3OZe3sO0qcp1CMOXRzb74VeLhn6Qaus', d: 'cE6TBjZmTDiYJNq_pwSPRshfeHwpfGakL1p6T2d-mBE' };
export const PKJWT_KID = 'bench-pkjwt-es256';
const pkjwtPrivate = createPrivateKey({ key: PKJWT_JWK, format: 'jwk' });
/** The client's registered public JWK (kid, alg ES256). */
export const PKJWT_PUBLIC_JWK = { kty: 'EC', crv: 'P-256', x: PKJWT_JWK.x, y: PKJWT_JWK.y, kid: PKJWT_KID, alg: 'ES256', use: 'sig' };
export const JWT_BEARER_ASSERTION = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

/**
 * The public client of the DPoP scenario (dpop_refresh): authorization_code + refresh_token,
 * no client authentication, its refresh family bound to the holder's DPoP key (a fixed P-256 key).
 */
export const PUBLIC_CLIENT_ID = 'bench-spa';
const DPOP_JWK = { kty: 'EC', crv: 'P-256', x: 'eKxgAoTJKaac_zhq734_jBPsCwwbCdUH3nRPC0CrOjk', y: 'dV1N4KSybJrW6dH1unGCuL117989GhL7g32RRdLgSJM', d: 'lyoupHHxbK6UF5Gt4ZV4CW20jjmuHKScj03LjJG64Qk' };
const dpopPrivate = createPrivateKey({ key: DPOP_JWK, format: 'jwk' });
export const DPOP_PUBLIC_JWK = { kty: 'EC', crv: 'P-256', x: DPOP_JWK.x, y: DPOP_JWK.y };
/** RFC 7638 thumbprint of the DPoP key (what cnf.jkt must say). */
export const DPOP_JKT = createHash('sha256').update(JSON.stringify({ crv: 'P-256', kty: 'EC', x: DPOP_JWK.x, y: DPOP_JWK.y })).digest('base64url');

const b64json = (value) => Buffer.from(JSON.stringify(value)).toString('base64url');
/** A compact ES256 JWS with node:crypto (IEEE P1363 signature, as JWS wants). */
function es256(header, payload, key) {
  const input = `${b64json(header)}.${b64json(payload)}`;
  return `${input}.${cryptoSign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' }).toString('base64url')}`;
}

/** A fresh private_key_jwt client assertion for `aud` (the token endpoint URL): new jti, 60 s lifetime. */
export function clientAssertion(aud) {
  const iat = Math.floor(Date.now() / 1000);
  return es256({ alg: 'ES256', typ: 'JWT', kid: PKJWT_KID }, { iss: PKJWT_CLIENT_ID, sub: PKJWT_CLIENT_ID, aud, iat, exp: iat + 60, jti: randomUUID() }, pkjwtPrivate);
}

/** A fresh DPoP proof (RFC 9449 §4.2) for POST `htu`: new jti, iat now. */
export function dpopProof(htu) {
  return es256({ typ: 'dpop+jwt', alg: 'ES256', jwk: DPOP_PUBLIC_JWK }, { htm: 'POST', htu, iat: Math.floor(Date.now() / 1000), jti: randomUUID() }, dpopPrivate);
}

/** One PKCE pair for every pre-minted code: the server still hashes the verifier on each request. */
export const CODE_VERIFIER = 'bench-pkce-verifier-0123456789-abcdefghijklmnopqrstuvwxyz-ABCDEFG';
export const CODE_CHALLENGE = createHash('sha256').update(CODE_VERIFIER).digest('base64url');

/**
 * Scenarios. `scope` is what the pre-minted grant carries; `jwts` is how many signed JWTs a good
 * response holds (the floor signs as many); `pool` says whether each request spends a
 * pre-generated token or code; `reuse` that every request presents the same pre-generated access
 * token (one of the server's own, minted through its real flow); `endpoint` names a path other than
 * the token endpoint the server announces; `authorization` replaces the bench client's Basic header
 * (null: none). `fresh` that each request's body is built anew (`body(token, aud)` with the `aud` of a client
 * assertion: the token endpoint URL the server announces, else the one requested); `dpop` that each request carries a new DPoP
 * proof for that URL; `chain` that each request spends the refresh token the previous answer of the
 * chain returned (rotation: a few seeded DPoP-bound families, each followed from token to token).
 */
export const SCENARIOS = {
  client_credentials: {
    label: 'client_credentials',
    pool: false,
    scope: 'api:read',
    jwts: 1,
    body: () => 'grant_type=client_credentials&scope=api%3Aread',
  },
  refresh_token: {
    label: 'refresh_token (rotation)',
    pool: true,
    scope: 'offline_access api:read',
    jwts: 1,
    body: (token) => `grant_type=refresh_token&refresh_token=${encodeURIComponent(token)}`,
  },
  authorization_code: {
    label: 'authorization_code + openid (PKCE)',
    pool: true,
    scope: 'openid api:read',
    jwts: 2,
    body: (code) =>
      `grant_type=authorization_code&code=${encodeURIComponent(code)}&redirect_uri=${encodeURIComponent(REDIRECT_URI)}&code_verifier=${CODE_VERIFIER}`,
  },
  device_code: {
    label: 'device_code poll (approved) + openid',
    pool: true,
    scope: 'openid api:read',
    jwts: 2,
    body: (code) => `grant_type=${encodeURIComponent(DEVICE_CODE_GRANT)}&device_code=${encodeURIComponent(code)}`,
  },
  token_exchange: {
    label: 'token exchange (RFC 8693): our access token for a new one',
    pool: false,
    reuse: true,
    scope: 'api:read',
    jwts: 1,
    body: (token) =>
      `grant_type=${encodeURIComponent(TOKEN_EXCHANGE_GRANT)}&subject_token=${encodeURIComponent(token)}&subject_token_type=${encodeURIComponent(ACCESS_TOKEN_TYPE)}&scope=api%3Aread`,
  },
  introspection: {
    label: 'introspection (RFC 7662) of a valid access token by a resource server',
    pool: false,
    reuse: true,
    endpoint: 'introspection',
    authorization: RS_BASIC,
    scope: 'api:read',
    jwts: 0,
    body: (token) => `token=${encodeURIComponent(token)}&token_type_hint=access_token`,
  },
  private_key_jwt: {
    label: 'client_credentials, private_key_jwt (ES256 client assertion, fresh jti per request)',
    pool: false,
    fresh: true,
    authorization: null,
    scope: 'api:read',
    jwts: 1,
    body: (_token, aud) =>
      `grant_type=client_credentials&scope=api%3Aread&client_id=${PKJWT_CLIENT_ID}&client_assertion_type=${encodeURIComponent(JWT_BEARER_ASSERTION)}&client_assertion=${clientAssertion(aud)}`,
  },
  dpop_refresh: {
    label: 'refresh_token of a public client, DPoP-bound family (ES256 proof per request, rotation chained)',
    pool: false,
    chain: true,
    dpop: true,
    authorization: null,
    scope: 'offline_access api:read',
    jwts: 1,
    body: (token) => `grant_type=refresh_token&refresh_token=${encodeURIComponent(token)}&client_id=${PUBLIC_CLIENT_ID}`,
  },
};

/** Request headers of one request of `scenario` to `url` (a new DPoP proof for a `dpop` scenario). */
export function requestHeaders(scenario, url) {
  const s = SCENARIOS[scenario];
  const headers = { 'content-type': 'application/x-www-form-urlencoded' };
  const authorization = s?.authorization === undefined ? BASIC : s.authorization;
  if (authorization) headers.authorization = authorization;
  if (s?.dpop) headers.dpop = dpopProof(url);
  return headers;
}

/**
 * The signing key of the run, as KeyObjects with a stable kid: RSA-2048 (RS256, PKCS#8 PEM in
 * BENCH_KEY_FILE) or, for `alg` ES256 (BENCH_ALG=ES256), the P-256 key the runner writes next to it
 * (`…-es256.pem`). The peers' rows always ask for RS256 (their setups are RSA-only).
 */
export function loadSigningKey(alg = process.env.BENCH_ALG === 'ES256' ? 'ES256' : 'RS256', file = process.env.BENCH_KEY_FILE) {
  if (!file) throw new Error('BENCH_KEY_FILE is not set (the runner writes the key of the run and passes its path).');
  const pem = readFileSync(alg === 'ES256' ? file.replace(/\.pem$/, '-es256.pem') : file, 'utf8');
  const privateKey = createPrivateKey(pem);
  const publicKey = createPublicKey(privateKey);
  const kid = createHash('sha256').update(publicKey.export({ format: 'der', type: 'spki' })).digest('base64url').slice(0, 16);
  return { pem, alg, privateKey, publicKey, kid, jwk: { ...privateKey.export({ format: 'jwk' }), kid, alg, use: 'sig' } };
}

/** A random value shaped like the libraries' opaque tokens (256 bits, base64url). */
export function randomToken() {
  return randomBytes(32).toString('base64url');
}

export { randomUUID };

/**
 * Readiness protocol: a server listens on an ephemeral loopback port and prints one line
 * `BENCH_READY {"port":…,"tokenPath":"/…/token"}` on stdout (plus `paths: { introspection }` when it
 * serves other endpoints a scenario names).
 */
export function announceReady(server, tokenPath, extra = {}) {
  const { port } = server.address();
  process.stdout.write(`BENCH_READY ${JSON.stringify({ port, tokenPath, pid: process.pid, ...extra })}\n`);
}

/** Listens on 127.0.0.1 with an ephemeral port (or BENCH_PORT) and resolves the server. */
export function listen(server) {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(Number(process.env.BENCH_PORT ?? 0), '127.0.0.1', () => resolve(server));
  });
}

/** How much state to pre-generate: `{ scenario, count, background }` parsed from a seed request body. */
export function parseSeedRequest(json) {
  const scenario = String(json.scenario ?? '');
  if (!(scenario in SCENARIOS)) throw new Error(`unknown scenario ${scenario}`);
  const count = Number(json.count ?? 0);
  if (!Number.isInteger(count) || count < 0 || count > 5_000_000) throw new Error('count must be an integer from 0 to 5e6');
  return { scenario, count, background: json.background === true };
}

/** Runs `fn(i)` for i in [0, count) with at most `concurrency` promises in flight. */
export async function forEachLimit(count, concurrency, fn) {
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const i = next;
      next += 1;
      await fn(i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, Math.max(count, 1)) }, worker));
}

/** Process memory right now, after a full GC when the process runs with --expose-gc. */
export function memoryAfterGc() {
  if (typeof globalThis.gc === 'function') {
    globalThis.gc();
    globalThis.gc();
  }
  const { rss, heapUsed, external, arrayBuffers } = process.memoryUsage();
  return { rss, heapUsed, external, arrayBuffers };
}

/** Decodes a compact JWS header and payload, or returns undefined when it is not one. */
export function decodeJwt(value) {
  if (typeof value !== 'string') return undefined;
  const parts = value.split('.');
  if (parts.length !== 3 || !parts.every((p) => /^[A-Za-z0-9_-]+$/.test(p))) return undefined;
  try {
    return {
      header: JSON.parse(Buffer.from(parts[0], 'base64url').toString('utf8')),
      payload: JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8')),
    };
  } catch {
    return undefined;
  }
}

/**
 * Wraps a server's request handler with the bench-only control routes (never part of a measured
 * request: every row pays the same one `startsWith`):
 * - `POST /_bench/seed {scenario, count, background?}` pre-generates `count` tokens/codes and
 *   answers `{ tokens }` (or `{ count }` for background families that are never spent);
 * - `GET /_bench/stats` answers the process memory after GC and the store's own size, if any.
 */
export function withBenchControl(handler, hooks) {
  return (req, res) => {
    if (!req.url.startsWith('/_bench/')) return handler(req, res);
    controlRoute(req, res, hooks).catch((error) => {
      res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: String(error?.stack ?? error) }));
    });
    return undefined;
  };
}

async function controlRoute(req, res, hooks) {
  const send = (status, body) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  if (req.method === 'POST' && req.url === '/_bench/seed') {
    const chunks = [];
    for await (const chunk of req) chunks.push(chunk);
    const { scenario, count, background } = parseSeedRequest(JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}'));
    const started = Date.now();
    const tokens = await hooks.seed(scenario, count, background);
    return send(200, background ? { count, ms: Date.now() - started } : { tokens, ms: Date.now() - started });
  }
  if (req.method === 'GET' && req.url === '/_bench/stats') {
    return send(200, { memory: memoryAfterGc(), store: hooks.stats ? await hooks.stats() : undefined });
  }
  return send(404, { error: 'not found' });
}

/** Exits when the parent goes away (stdin closes) or on SIGTERM, after `cleanup`. */
export function exitWithParent(cleanup = async () => {}) {
  let closing = false;
  const stop = async () => {
    if (closing) return;
    closing = true;
    try {
      await cleanup();
    } finally {
      process.exit(0);
    }
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  process.stdin.on('end', stop);
  process.stdin.on('close', stop);
  process.stdin.resume();
}
