// demo-app/server.ts
// Entry point of `npm run demo`: reads the environment, builds the demo app and listens.
import { createServer } from 'node:http';
import { resolve } from 'node:path';
import { API_ME_PATH, createDemoApp, type DemoApp, DEFAULT_CLIENTS_FILE, DEFAULT_PAGE_SECRET_FILE, DEFAULT_PAIRWISE_SALT_FILE, DEFAULT_SIGNING_KEY_FILE, DEFAULT_SQLITE_FILE, DEFAULT_USERS_FILE, MOUNT_PATH, type DemoStore } from './app';

function fail(message: string): never {
  console.error(message);
  process.exit(1);
}

const port = Number(process.env.PORT ?? 3000);
if (!Number.isInteger(port) || port < 0 || port > 65535) fail(`PORT must be an integer from 0 to 65535 (got "${process.env.PORT}").`);
if (port === 0 && !process.env.ISSUER) fail('PORT=0 picks a random port, so ISSUER cannot default to it: set ISSUER or choose a port.');
// Loopback by default: the demo client's secret is public, so do not expose it to the network unasked.
const host = process.env.HOST || '127.0.0.1';
const issuer = process.env.ISSUER || `http://localhost:${port}`;
// Paths given in the environment are relative to the working directory, as usual for CLI input.
const clientsFile = process.env.CLIENTS_FILE ? resolve(process.env.CLIENTS_FILE) : DEFAULT_CLIENTS_FILE;
const signingKeyFile = process.env.SIGNING_KEY_FILE ? resolve(process.env.SIGNING_KEY_FILE) : DEFAULT_SIGNING_KEY_FILE;
const pairwiseSaltFile = process.env.PAIRWISE_SALT_FILE ? resolve(process.env.PAIRWISE_SALT_FILE) : DEFAULT_PAIRWISE_SALT_FILE;
const pageSecretFile = process.env.PAGE_SECRET_FILE ? resolve(process.env.PAGE_SECRET_FILE) : DEFAULT_PAGE_SECRET_FILE;
const usersFile = process.env.USERS_FILE ? resolve(process.env.USERS_FILE) : DEFAULT_USERS_FILE;
// Behind a reverse proxy: which proxies to believe about the client address (express 'trust proxy':
// 'loopback', subnets, or a number of hops). Unset: the socket address is the client.
const trustProxyText = process.env.TRUST_PROXY || undefined;
const trustProxy = trustProxyText !== undefined && /^\d+$/.test(trustProxyText) ? Number(trustProxyText) : trustProxyText;
if (trustProxy === 'true') fail('TRUST_PROXY=true would believe any X-Forwarded-For: name the proxies (e.g. loopback) or the number of hops.');
// SQLite by default, so a restart keeps refresh tokens and pending device codes.
const storeKind = process.env.STORE || 'sqlite';
let store: DemoStore;
if (storeKind === 'sqlite') store = { kind: 'sqlite', file: process.env.SQLITE_FILE ? resolve(process.env.SQLITE_FILE) : DEFAULT_SQLITE_FILE };
else if (storeKind === 'redis') store = { kind: 'redis', url: process.env.REDIS_URL || fail('STORE=redis needs REDIS_URL, e.g. redis://127.0.0.1:6379.') };
else if (storeKind === 'postgres') store = { kind: 'postgres', url: process.env.PG_URL || fail('STORE=postgres needs PG_URL, e.g. postgres://user:password@127.0.0.1:5432/db.') };
else if (storeKind === 'memory') store = { kind: 'memory' };
else fail(`STORE must be sqlite (default), redis, postgres or memory (got "${storeKind}").`);

function buildApp(): DemoApp {
  try {
    return createDemoApp({ issuer, clientsFile, signingKeyFile, pairwiseSaltFile, pageSecretFile, usersFile, store, trustProxy });
  } catch (error) {
    return fail(`Demo configuration error: ${error instanceof Error ? error.message : String(error)}`);
  }
}

const app = buildApp();
const server = createServer(app);
server.on('error', (error) => fail(`Cannot listen on ${host}:${port}: ${error.message}`));
server.listen(port, host, () => {
  const endpoint = `http://localhost:${port}${MOUNT_PATH}/token`;
  console.log(`Token endpoint listening on ${endpoint} (issuer ${issuer}, store ${store.kind === 'sqlite' ? `sqlite ${store.file}` : store.kind})`);
  // The demo credentials are only known to be valid for the bundled clients.json.
  const credentials = clientsFile === DEFAULT_CLIENTS_FILE ? 'demo-service:demo-service-secret-change-me-0123456789' : '<client_id>:<client_secret>';
  console.log('Try (client_credentials, HTTP Basic):');
  console.log(`  curl -s -u '${credentials}' -d grant_type=client_credentials -d 'scope=api:read' ${endpoint}`);
  const base = issuer.replace(/\/+$/, '');
  console.log(`Discovery: ${base}/.well-known/openid-configuration`);
  console.log(`Protected API (api:read): curl -s -H "Authorization: Bearer $ACCESS_TOKEN" ${base}${API_ME_PATH}`);
  if (clientsFile === DEFAULT_CLIENTS_FILE) {
    console.log('Device flow (demo-tv; open the verification_uri_complete it returns, then poll):');
    console.log(`  curl -s -d client_id=demo-tv --data-urlencode 'scope=openid profile offline_access' ${base}${MOUNT_PATH}/deviceauthorization`);
    // demo-web is confidential, so this works without PKCE; the README walks demo-spa with PKCE.
    const query = new URLSearchParams({ response_type: 'code', client_id: 'demo-web', redirect_uri: 'http://localhost:8080/callback', scope: 'openid profile email', state: 'demo-state' });
    console.log('Sign in (authorization code flow, users in demo-app/README.md):');
    console.log(`  ${base}${MOUNT_PATH}/authorize?${query}`);
  }
});

let stopping = false;
function shutdown(signal: NodeJS.Signals): void {
  if (stopping) process.exit(1); // a second signal means "now"
  stopping = true;
  console.log(`${signal} received, closing the server`);
  // Then the store: its purge timer, and the SQLite file, Redis connection or PostgreSQL pool.
  server.close(() => {
    app.close().then(() => process.exit(0), (error: unknown) => fail(`Closing the store failed: ${error instanceof Error ? error.message : String(error)}`));
  });
  // Keep-alive connections would otherwise hold close() open until they time out.
  server.closeIdleConnections();
}
process.on('SIGINT', shutdown);
process.on('SIGTERM', shutdown);
