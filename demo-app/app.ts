// demo-app/app.ts
// Builds the demo host app: token router and a demo authorization endpoint at /connect, the device
// verification page at /device, an API route protected with the router's access tokens at
// /api/me, discovery and JWKS at the root, with file-based clients and users and a persisted
// signing key, pairwise salt and page secret.
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import express, { type Express } from 'express';
import {
  accessTokenOf,
  authorizationCode,
  clientCredentials,
  createMemoryClientRegistry,
  createMemoryStorage,
  createTokenRouter,
  deviceCode,
  introspection,
  refreshToken,
  revocation,
  TELENORID_REFRESH_POLICIES,
  TOKEN_TYPES,
  tokenExchange,
  type ClientRegistry,
  type MemoryClientDefinition,
  type RegisteredClient,
  type SigningAlgorithm,
  type TokenEndpointEvent,
  type TokenExchangeDecision,
  type TokenExchangeRequest,
} from '../lib';
import { Redis } from 'ioredis';
import { Pool } from 'pg';
import { createPostgresStorage } from '../lib/postgres';
import { createRedisStorage } from '../lib/redis';
import { createSqliteStorage } from '../lib/sqlite';
import type { StorageAdapter } from '../lib';
import { createAuthorizeRouter } from './authorize';
import { createFormProtection } from './csrf';
import { createDevicePageRouter, DEVICE_PAGE_PATH } from './device';
import { createPageSigner } from './signing';
import { createSignInThrottle } from './throttle';
import { loadUsers, type DemoUser } from './users';

/** Where the router is mounted; the token endpoint is `${MOUNT_PATH}/token`. */
export const MOUNT_PATH = '/connect';
/** The demo's own API route, protected with `tokenRouter.requireAccessToken` (Bearer, RFC 6750). */
export const API_ME_PATH = '/api/me';
/** The scope `GET /api/me` requires. */
export const API_ME_SCOPE = 'api:read';
/** Defaults resolved from this file's folder, so they do not depend on the working directory. */
export const DEFAULT_CLIENTS_FILE = join(__dirname, 'clients.json');
export const DEFAULT_SIGNING_KEY_FILE = join(__dirname, '.data', 'signing-key.pem');
export const DEFAULT_PAIRWISE_SALT_FILE = join(__dirname, '.data', 'pairwise-salt');
export const DEFAULT_PAGE_SECRET_FILE = join(__dirname, '.data', 'page-secret');
export const DEFAULT_USERS_FILE = join(__dirname, 'users.json');
/** The demo's durable store when STORE=sqlite (the default of `npm run demo`); git-ignored. */
export const DEFAULT_SQLITE_FILE = join(__dirname, '.data', 'demo.sqlite');

/** Where the demo keeps codes, refresh tokens and device codes. */
export type DemoStore =
  | { readonly kind: 'memory' }
  | { readonly kind: 'sqlite'; readonly file: string }
  | { readonly kind: 'redis'; readonly url: string; readonly prefix?: string }
  | { readonly kind: 'postgres'; readonly url: string; readonly schema?: string };
/** Published as `scopes_supported`: every scope some demo client may request. */
export const SCOPES_SUPPORTED = ['openid', 'profile', 'email', 'offline_access', 'api:read', 'api:write', 'orders:read'] as const;

/** The one client the demo lets exchange tokens (RFC 8693): an API gateway calling the orders service for a user. */
export const EXCHANGE_CLIENT_ID = 'demo-gateway';
/** Whose users' access tokens the gateway may exchange. */
export const EXCHANGEABLE_CLIENT_IDS: readonly string[] = ['demo-web', 'demo-spa'];
/** What an exchanged token carries: only the orders scope, whatever the user's token had. */
export const EXCHANGED_SCOPE: readonly string[] = ['orders:read'];

export interface DemoConfig {
  /** `iss` of every token. */
  issuer: string;
  /** JSON array of RFC 7591 client metadata (plaintext `client_secret` allowed: demo only). */
  clientsFile?: string;
  /** PKCS#8 PEM private key; generated (RSA-2048, mode 0600) when missing. */
  signingKeyFile?: string;
  /** Secret salt for pairwise subjects; generated (32 random bytes, base64url, mode 0600) when missing. */
  pairwiseSaltFile?: string;
  /**
   * Secret that signs the pages' CSRF tokens and device confirmations; generated like the salt when
   * missing. Instances that serve the same users (behind one proxy) must share it.
   */
  pageSecretFile?: string;
  /** JSON array of demo users ({ username, password, subject, name, email }). */
  usersFile?: string;
  /** Receives each output line (events, notices); defaults to stdout. */
  writeLine?: (line: string) => void;
  /** Storage; defaults to memory here (tests). `npm run demo` picks SQLite unless STORE says otherwise. */
  store?: DemoStore;
  /**
   * Express's `trust proxy` setting, e.g. 'loopback' or a number of hops, when the demo runs behind a
   * reverse proxy: the sign-in throttle counts per client address, and without it every request
   * seems to come from the proxy. Never `true` (anyone could claim any address in X-Forwarded-For).
   */
  trustProxy?: string | number;
  /** ms since the epoch, for the pages (sign-in back-off, confirmation expiry, auth_time); inject one in tests. Defaults to Date.now. */
  clock?: () => number;
}

export interface LoadedSigningKey {
  kid: string;
  alg: SigningAlgorithm;
  privateKey: KeyObject;
  publicKey: KeyObject;
  /** True when the file did not exist and the key was generated now. */
  created: boolean;
}

const writeStdout = (line: string): void => {
  process.stdout.write(`${line}\n`);
};

/** The demo's Express app, plus `close()`: stops its store's purge timer and closes the connections the demo opened for it. */
export type DemoApp = Express & {
  /** Closes the store (its purge timer, and the SQLite file, Redis client or PostgreSQL pool the demo opened). Call it after the server closed. */
  close(): Promise<void>;
};

/** Builds the Express app. Throws (with the library's ConfigurationError when relevant) on bad config. */
export function createDemoApp(config: DemoConfig): DemoApp {
  const writeLine = config.writeLine ?? writeStdout;
  const keyFile = config.signingKeyFile ?? DEFAULT_SIGNING_KEY_FILE;
  const key = loadOrCreateSigningKey(keyFile);
  if (key.created) writeLine(`Generated a new RSA-2048 signing key (kid ${key.kid}) at ${keyFile}`);
  const saltFile = config.pairwiseSaltFile ?? DEFAULT_PAIRWISE_SALT_FILE;
  const salt = loadOrCreatePairwiseSalt(saltFile);
  if (salt.created) writeLine(`Generated a new pairwise-subject salt at ${saltFile}`);
  const pageSecretFile = config.pageSecretFile ?? DEFAULT_PAGE_SECRET_FILE;
  const pageSecret = loadOrCreateSecret(pageSecretFile, 'Page secret');
  if (pageSecret.created) writeLine(`Generated a new page secret (CSRF tokens, device confirmations) at ${pageSecretFile}`);
  const users = loadUsers(config.usersFile ?? DEFAULT_USERS_FILE);
  const clock = config.clock ?? Date.now;

  const base = config.issuer.replace(/\/+$/, '');
  // One registry for both endpoints, so they always agree on clients and redirect URIs.
  const clients = createMemoryClientRegistry(loadClients(config.clientsFile ?? DEFAULT_CLIENTS_FILE));
  // The policy needs the router (pairwise subjects); it only runs inside requests, after this is set.
  let subjectFor: (client: RegisteredClient, localSubject: string) => string = () => {
    throw new Error('the token router is not ready');
  };
  const store = openStore(config.store ?? { kind: 'memory' });
  const tokenRouter = createTokenRouter({
    issuer: config.issuer,
    signingKeys: [{ kid: key.kid, alg: key.alg, privateKey: key.privateKey }],
    clients,
    storage: store.storage,
    grants: [
      // 5 minutes instead of the default 60 s: the README walk-through has a human copy the code
      // from the browser into curl. Still within RFC 6749 §4.1.2's 10-minute maximum.
      authorizationCode({ codeTtl: 300 }),
      clientCredentials(),
      refreshToken({ retryWindowSeconds: 5 }),
      // RFC 8628: POST /connect/deviceauthorization; users approve on the demo's page at /device.
      deviceCode({ verificationUri: `${base}${DEVICE_PAGE_PATH}` }),
      // RFC 8693: demo-gateway may trade a demo-web or demo-spa user's access token for an
      // orders:read token for the same user; every other exchange is refused (the policy below).
      tokenExchange({ policy: createExchangePolicy({ clients, users, subjectFor: (client, subject) => subjectFor(client, subject) }) }),
    ],
    // RFC 7009 at POST /connect/revocation (any client, its own tokens) and RFC 7662 at
    // POST /connect/introspection (clients registered with introspection_allowed: demo-api).
    endpoints: [revocation(), introspection()],
    // Clients name a TelenorID+ policy: Confidential (14 days absolute), PublicWeb (10 min sliding), Mobile (90 days sliding).
    refreshTokens: { policies: TELENORID_REFRESH_POLICIES },
    subjects: { pairwiseSalt: salt.salt },
    discovery: {
      authorizationEndpoint: `${base}${MOUNT_PATH}/authorize`,
      deviceAuthorizationEndpoint: `${base}${MOUNT_PATH}/deviceauthorization`,
      scopesSupported: SCOPES_SUPPORTED,
      // The demo authorization endpoint sends `iss` in every response (RFC 9207 §3).
      metadata: { authorization_response_iss_parameter_supported: true },
    },
    onEvent: (event) => writeLine(formatEvent(event)),
  });
  subjectFor = (client, localSubject) => tokenRouter.subjectFor(client, localSubject);

  // What the login and device pages share: one CSRF protection, one password throttle (so
  // alternating between the pages gains an attacker nothing), one signer for their form state.
  const signer = createPageSigner(pageSecret.secret);
  const forms = createFormProtection({ origin: new URL(base).origin, signer, secureCookie: base.startsWith('https:'), writeLine });
  const throttle = createSignInThrottle(clock);

  const app = express();
  app.disable('x-powered-by');
  if (config.trustProxy !== undefined) app.set('trust proxy', config.trustProxy);
  app.use(MOUNT_PATH, tokenRouter);
  app.use(MOUNT_PATH, createAuthorizeRouter({ users, tokenRouter, writeLine, forms, throttle, clock }));
  app.use(DEVICE_PAGE_PATH, createDevicePageRouter({ users, tokenRouter, writeLine, forms, throttle, signer, clock }));
  // An API of the host's own, protected with the router's access tokens: aud must be the issuer
  // (the demo's tokens carry the default audience) and the token must carry api:read. No token:
  // 401 with a Bearer challenge; a bad, expired or revoked one: 401 invalid_token; without
  // api:read (e.g. demo-gateway's exchanged orders:read token): 403 insufficient_scope.
  app.get(API_ME_PATH, tokenRouter.requireAccessToken({ audience: config.issuer, scope: API_ME_SCOPE }), (req, res) => {
    const { claims, scopes } = accessTokenOf(req);
    res.set('Cache-Control', 'no-store').json({ sub: claims.sub, client_id: claims.client_id, scope: scopes.join(' ') });
  });
  // The issuer has no path, so discovery and JWKS live at the root.
  app.use(tokenRouter.wellKnown);
  return Object.assign(app, { close: store.close });
}

export interface ExchangePolicyDependencies {
  readonly clients: ClientRegistry;
  readonly users: readonly DemoUser[];
  /** The router's `subjectFor`: maps a demo user to the `sub` a client sees (pairwise for demo-spa). */
  readonly subjectFor: (client: RegisteredClient, localSubject: string) => string;
}

/**
 * The demo's token-exchange policy, default deny: only {@link EXCHANGE_CLIENT_ID}, only for an
 * access token a demo user got through one of {@link EXCHANGEABLE_CLIENT_IDS} with `api:read`,
 * only for a new access token (no refresh token, no actor token), and then only
 * {@link EXCHANGED_SCOPE}. The new token is for the same user: a pairwise subject (demo-spa) is
 * mapped back to the demo user it stands for.
 */
export function createExchangePolicy(deps: ExchangePolicyDependencies): (request: TokenExchangeRequest) => Promise<TokenExchangeDecision | false> {
  return async ({ client, subjectToken, actorToken, requestedTokenType }) => {
    if (client.client_id !== EXCHANGE_CLIENT_ID) return false;
    if (actorToken !== undefined || requestedTokenType !== TOKEN_TYPES.accessToken) return false;
    if (subjectToken.tokenType !== TOKEN_TYPES.accessToken || !subjectToken.scope.includes('api:read')) return false;
    const owner = subjectToken.clientId !== undefined && EXCHANGEABLE_CLIENT_IDS.includes(subjectToken.clientId) ? await deps.clients.findClient(subjectToken.clientId) : undefined;
    if (!owner) return false;
    const user = deps.users.find((candidate) => deps.subjectFor(owner, candidate.subject) === subjectToken.subject);
    if (!user) return false;
    return { scope: EXCHANGED_SCOPE, subject: user.subject };
  };
}

/** One JSON line per event; the library guarantees events carry no secrets or tokens. */
export function formatEvent(event: TokenEndpointEvent): string {
  const { type, at, ...rest } = event;
  return JSON.stringify({ event: type, time: new Date(at).toISOString(), ...rest });
}

/** Reads the clients file; entry-level validation is left to createMemoryClientRegistry. */
export function loadClients(file: string): MemoryClientDefinition[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new Error(`Cannot read clients file ${file}: ${(error as { message?: string } | null)?.message ?? String(error)}`);
  }
  if (!Array.isArray(parsed)) throw new Error(`Clients file ${file} must contain a JSON array of client metadata objects.`);
  return parsed as MemoryClientDefinition[];
}

/** Loads the PEM key at `file`, or generates and stores one when the file does not exist. */
export function loadOrCreateSigningKey(file: string): LoadedSigningKey {
  let pem: string;
  let created = false;
  try {
    pem = readFileSync(file, 'utf8');
  } catch (error) {
    if (!isErrno(error, 'ENOENT')) throw error;
    // PEM straight from the generator (not a KeyObject exported afterwards): see spec/helpers/keys.ts.
    pem = generateKeyPairSync('rsa', { modulusLength: 2048, publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } }).privateKey;
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    try {
      // 'wx': never overwrite a key another process wrote in the meantime; use theirs instead.
      writeFileSync(file, pem, { mode: 0o600, flag: 'wx' });
      created = true;
    } catch (writeError) {
      if (!isErrno(writeError, 'EEXIST')) throw writeError;
      pem = readFileSync(file, 'utf8');
    }
  }
  const privateKey = createPrivateKey(pem);
  const publicKey = createPublicKey(privateKey);
  return { kid: keyId(publicKey), alg: algorithmFor(privateKey, file), privateKey, publicKey, created };
}

export interface LoadedPairwiseSalt {
  salt: string;
  /** True when the file did not exist and the salt was generated now. */
  created: boolean;
}

/**
 * Loads the pairwise salt at `file`, or generates and stores one when the file does not exist.
 * Like the signing key it must survive restarts: a new salt changes every pairwise `sub`.
 */
export function loadOrCreatePairwiseSalt(file: string): LoadedPairwiseSalt {
  const { secret, created } = loadOrCreateSecret(file, 'Pairwise salt');
  return { salt: secret, created };
}

export interface LoadedSecret {
  secret: string;
  /** True when the file did not exist and the secret was generated now. */
  created: boolean;
}

/** Loads the secret at `file`, or generates and stores 32 random bytes (base64url, mode 0600) when it does not exist. */
export function loadOrCreateSecret(file: string, what: string): LoadedSecret {
  let created = false;
  let content: string;
  try {
    content = readFileSync(file, 'utf8');
  } catch (error) {
    if (!isErrno(error, 'ENOENT')) throw error;
    content = randomBytes(32).toString('base64url');
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    try {
      // 'wx' as for the key: never overwrite a secret another process wrote in the meantime.
      writeFileSync(file, `${content}\n`, { mode: 0o600, flag: 'wx' });
      created = true;
    } catch (writeError) {
      if (!isErrno(writeError, 'EEXIST')) throw writeError;
      content = readFileSync(file, 'utf8');
    }
  }
  // Trimmed, so a secret written by hand with a trailing newline is the same secret.
  const secret = content.trim();
  if (secret.length < 32) throw new Error(`${what} file ${file} must hold at least 32 characters of secret randomness.`);
  return { secret, created };
}

/** Derived from the public key, so it is stable across restarts and changes when the key does. */
export function keyId(publicKey: KeyObject): string {
  return createHash('sha256').update(publicKey.export({ format: 'der', type: 'spki' })).digest('base64url').slice(0, 16);
}

function algorithmFor(key: KeyObject, file: string): SigningAlgorithm {
  if (key.asymmetricKeyType === 'rsa') return 'RS256';
  if (key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1') return 'ES256';
  throw new Error(`Signing key ${file} must be an RSA or P-256 EC private key (got ${key.asymmetricKeyType ?? 'unknown'}).`);
}

// Duck-typed: `instanceof Error` fails for Node's own errors inside jest's VM context.
function isErrno(error: unknown, code: string): boolean {
  return typeof error === 'object' && error !== null && (error as NodeJS.ErrnoException).code === code;
}

/** A store the demo opened and how to close it. */
export interface OpenedStore {
  storage: Partial<StorageAdapter>;
  /**
   * Stops the adapter's purge timer and closes what the demo opened for it. The timer is unref'd,
   * so it never keeps a process alive, but in a process that lives on (a test runner's worker) it
   * would still fire later, on a pool nobody uses any more.
   */
  close(): Promise<void>;
}

/** Opens the configured store (SQLite creates its directory and schema; Redis connects lazily; PostgreSQL creates its schema before the first statement). */
export function openStore(store: DemoStore): OpenedStore {
  if (store.kind === 'sqlite') {
    mkdirSync(dirname(store.file), { recursive: true });
    const storage = createSqliteStorage({ filename: store.file });
    return { storage, close: async () => storage.close() };
  }
  if (store.kind === 'redis') {
    const storage = createRedisStorage({ client: new Redis(store.url, { maxRetriesPerRequest: 1 }), prefix: store.prefix ?? 'ete-demo:' });
    return { storage, close: () => storage.close() };
  }
  if (store.kind === 'postgres') {
    // Fail fast while the database is down (500 server_error) instead of queueing requests.
    const pool = new Pool({ connectionString: store.url, connectionTimeoutMillis: 2000, query_timeout: 5000, allowExitOnIdle: true });
    const storage = createPostgresStorage({ pool, schema: store.schema ?? 'ete_demo', migrate: true });
    return {
      storage,
      close: async () => {
        await storage.close();
        await pool.end();
      },
    };
  }
  const storage = createMemoryStorage();
  return { storage, close: async () => storage.close() };
}
