// spec/helpers/create-app.ts
// Builds an Express host app around createTokenRouter for supertest, with a controllable clock.
import express, { type Express } from 'express';
import { createMemoryClientRegistry, createMemoryStorage, createTokenRouter, type MemoryClientDefinition, type StorageAdapter, type TokenEndpointEvent, type TokenRouter, type TokenRouterOptions } from '../../lib';
import { rsaKey } from './keys';

export const ISSUER = 'https://id.example.test';
export const SERVICE_SECRET = 'service-secret-0123456789abcdef';
export const WEIRD_SECRET = 'we:ird%sec+ret with space/ø';

/** Clients most tests use. */
export const TEST_CLIENTS: MemoryClientDefinition[] = [
  { client_id: 'service', client_secret: SERVICE_SECRET, grant_types: ['client_credentials'], scope: 'api:read api:write openid offline_access' },
  { client_id: 'post-client', client_secret: SERVICE_SECRET, token_endpoint_auth_method: 'client_secret_post', grant_types: ['client_credentials'], scope: 'api:read' },
  { client_id: 'weird:id', client_secret: WEIRD_SECRET, grant_types: ['client_credentials'], scope: 'api:read' },
  { client_id: 'public-app', token_endpoint_auth_method: 'none', grant_types: ['client_credentials', 'authorization_code'], scope: 'openid api:read' },
  { client_id: 'code-only', client_secret: SERVICE_SECRET, scope: 'api:read' },
  { client_id: 'defaulted', client_secret: SERVICE_SECRET, grant_types: ['client_credentials'], scope: 'api:read api:write', default_scope: 'api:read' },
  { client_id: 'no-scope', client_secret: SERVICE_SECRET, grant_types: ['client_credentials'] },
];

/** A fake clock in ms that tests can move. */
export interface TestClock {
  (): number;
  set(ms: number): void;
  advance(ms: number): void;
}

export function createClock(start = Date.UTC(2026, 0, 1)): TestClock {
  let now = start;
  const clock = (() => now) as TestClock;
  clock.set = (ms) => { now = ms; };
  clock.advance = (ms) => { now += ms; };
  return clock;
}

export interface TestApp {
  app: Express;
  events: TokenEndpointEvent[];
  logged: Array<{ level: string; message: string; details?: Readonly<Record<string, unknown>> }>;
  clock: TestClock;
}

/** An app with the router mounted at /connect; options override the defaults. */
export function createTestApp(overrides: Partial<TokenRouterOptions> = {}, clients: MemoryClientDefinition[] = TEST_CLIENTS): TestApp {
  const events: TokenEndpointEvent[] = [];
  const logged: TestApp['logged'] = [];
  const clock = createClock();
  const app = express();
  app.use('/connect', createTokenRouter({
    issuer: ISSUER,
    signingKeys: [{ kid: 'test-key', alg: 'RS256', privateKey: rsaKey().privateKey }],
    clients: createMemoryClientRegistry(clients),
    storage: createMemoryStorage({ clock }),
    // Limiters are off unless a test turns them on (`rateLimit: undefined` / `bruteForce: undefined`
    // for the defaults): many specs send far more failures from 127.0.0.1 than any budget allows.
    rateLimit: false,
    bruteForce: false,
    clock,
    onEvent: (event) => events.push(event),
    logger: {
      warn: (message, details) => logged.push({ level: 'warn', message, details }),
      error: (message, details) => logged.push({ level: 'error', message, details }),
    },
    ...overrides,
  }));
  return { app, events, logged, clock };
}

/** HTTP Basic value with RFC 6749 §2.3.1 form-encoding of id and secret. */
export function basic(id: string, secret: string): string {
  const enc = (s: string) => encodeURIComponent(s).replace(/%20/g, '+');
  return `Basic ${Buffer.from(`${enc(id)}:${enc(secret)}`).toString('base64')}`;
}

/** Decodes a JWT without verifying it (tests verify separately). */
export function decodeJwt(token: string): { header: Record<string, unknown>; payload: Record<string, unknown> } {
  const [h, p] = token.split('.');
  return { header: JSON.parse(Buffer.from(h, 'base64url').toString()), payload: JSON.parse(Buffer.from(p, 'base64url').toString()) };
}

/** Redirect URIs of the authorization_code test clients. */
export const WEB_REDIRECT = 'https://web.example.com/cb';
export const SPA_REDIRECT = 'https://spa.example.com/cb';

/** Clients for the authorization_code tests: confidential, public, and one without the code grant. */
export const CODE_CLIENTS: MemoryClientDefinition[] = [
  {
    client_id: 'web',
    client_secret: SERVICE_SECRET,
    grant_types: ['authorization_code'],
    redirect_uris: [WEB_REDIRECT, 'https://web.example.com/other', 'https://web.example.com/cb?tenant=a'],
    scope: 'openid profile email offline_access api:read api:write',
  },
  {
    client_id: 'web-b',
    client_secret: SERVICE_SECRET,
    grant_types: ['authorization_code'],
    redirect_uris: ['https://b.example.org/cb'],
    scope: 'openid api:read',
  },
  { client_id: 'spa', token_endpoint_auth_method: 'none', grant_types: ['authorization_code'], redirect_uris: [SPA_REDIRECT], scope: 'openid api:read' },
  { client_id: 'service', client_secret: SERVICE_SECRET, grant_types: ['client_credentials'], redirect_uris: [WEB_REDIRECT], scope: 'api:read' },
];

export interface CodeTestApp extends TestApp {
  /** The router itself, for issueAuthorizationCode, jwks(), metadata() and subjectFor(). */
  tokenRouter: TokenRouter;
  /** The storage the router uses (the memory storage, or what the overrides passed). */
  storage: StorageAdapter;
}

/**
 * Like createTestApp, but also returns the TokenRouter (to mint codes) and its storage, and
 * mounts `tokenRouter.wellKnown` at the root. `overrides` may be a function of the test clock,
 * e.g. to build a storage on it: `(clock) => ({ storage: withLatency(createMemoryStorage({ clock }), 2) })`.
 */
export function createCodeTestApp(
  overrides: Partial<TokenRouterOptions> | ((clock: TestClock) => Partial<TokenRouterOptions>) = {},
  clients: MemoryClientDefinition[] = CODE_CLIENTS,
): CodeTestApp {
  const events: TokenEndpointEvent[] = [];
  const logged: TestApp['logged'] = [];
  const clock = createClock();
  const options = typeof overrides === 'function' ? overrides(clock) : overrides;
  const storage = (options.storage ?? createMemoryStorage({ clock })) as StorageAdapter;
  const tokenRouter = createTokenRouter({
    issuer: ISSUER,
    signingKeys: [{ kid: 'test-key', alg: 'RS256', privateKey: rsaKey().privateKey }],
    clients: createMemoryClientRegistry(clients),
    rateLimit: false,
    bruteForce: false,
    clock,
    onEvent: (event) => events.push(event),
    logger: {
      warn: (message, details) => logged.push({ level: 'warn', message, details }),
      error: (message, details) => logged.push({ level: 'error', message, details }),
    },
    ...options,
    storage,
  });
  const app = express();
  app.use('/connect', tokenRouter);
  app.use(tokenRouter.wellKnown);
  return { app, events, logged, clock, tokenRouter, storage };
}
