// lib/testing/host/test-router.ts
// A ready token router for hosts' tests: memory storage and clients, the published test key, a
// clock that moves only when told, no rate limits; plus methods that mint real tokens for it.
import type { RequestListener } from 'node:http';
import { createMemoryClientRegistry, type MemoryClientDefinition } from '../../clients/memory-client-registry';
import type { ClientRegistry } from '../../contracts/clients';
import { ConfigurationError } from '../../contracts/errors';
import type { TokenResponse } from '../../contracts/grant';
import type { TokenRouterOptions } from '../../options/types';
import { createTokenRouter } from '../../router';
import type { TokenRouter } from '../../router-api';
import { createMemoryStorage, type MemoryStorage } from '../../storage/memory-storage';
import { createTestClock, type TestClock } from './clock';
import { testSigningKey } from './signing-key';
import { checkRequest, clientCredentials, exchangeCode, routerApp, tokenPathOf, type TestClientSecretMethod, type TestTokenRequest } from './token-requests';

/** The issuer of {@link createTestTokenRouter} unless you choose one. */
export const TEST_ISSUER = 'https://issuer.example.test';

/**
 * The client of {@link createTestTokenRouter} unless you list your own: a confidential client
 * (secret `test-client-secret-0123456789abcdef`, sent with Basic) allowed the code flow, refresh and
 * client credentials, redirect URI `https://client.example.test/callback`, scope
 * `openid profile email offline_access`. Your API's scopes need clients of your own.
 */
export const TEST_CLIENT: MemoryClientDefinition = Object.freeze({
  client_id: 'test-client',
  client_secret: 'test-client-secret-0123456789abcdef',
  grant_types: Object.freeze(['authorization_code', 'refresh_token', 'client_credentials']),
  redirect_uris: Object.freeze(['https://client.example.test/callback']),
  scope: 'openid profile email offline_access',
});

/**
 * Options of {@link createTestTokenRouter}: any option of `createTokenRouter` (they override the
 * test defaults), with clients as definitions, so the kit knows their secrets and redirect URIs.
 */
export interface TestTokenRouterOptions extends Partial<Omit<TokenRouterOptions, 'clients' | 'clock' | 'storage'>> {
  /** The clients, as for `createMemoryClientRegistry` (plaintext secrets). Defaults to `[TEST_CLIENT]`. */
  clients?: readonly MemoryClientDefinition[];
  /** The clock of the router and its storage. Defaults to `createTestClock()` (now, standing still). */
  clock?: TestClock;
}

/** What {@link TestTokenRouter.codeExchange} takes: a request with a user, and where to send it. */
export interface TestCodeExchangeInput extends TestTokenRequest {
  /** Your identifier of the user who "signed in". */
  readonly subject: string;
  /**
   * Your app with the router mounted (any Node request listener), to exchange the code through your
   * own mounting. Defaults to the router alone, mounted at the root.
   */
  readonly app?: RequestListener;
  /** Where the token endpoint is in `app`: your mount path + `/token`. Defaults to `/token`. */
  readonly tokenPath?: string;
}

/** A ready router for tests and what a test needs around it; from {@link createTestTokenRouter}. */
export interface TestTokenRouter {
  /** The router: mount it in your app (`app.use('/oauth', tokenRouter)`) and protect routes with its `requireAccessToken`. */
  readonly tokenRouter: TokenRouter;
  /** The clock of the router and its storage: `clock.advance(ms)` lets tokens, codes and refresh tokens expire. */
  readonly clock: TestClock;
  /** The router's memory storage (codes, refresh tokens, revocations), on the same clock. */
  readonly storage: MemoryStorage;
  /** The client registry built from the definitions. */
  readonly clients: ClientRegistry;
  /** The issuer (`iss` of every token). */
  readonly issuer: string;
  /** The `aud` of access tokens issued without resource indicators: `accessToken.audience`, else the issuer. */
  readonly audience: string | readonly string[];
  /**
   * The options the router was created with, for an app that builds its own router: a router made
   * from them shares the storage, clock, key and clients, so tokens minted here pass there.
   */
  readonly options: TokenRouterOptions;
  /**
   * Mints an access token as {@link mintAccessToken} does, filling in from the client's definition
   * what the request leaves out: its secret and how it sends it, its first redirect URI, and (for a
   * user's token) its whole registered scope.
   *
   * @example
   * const token = await kit.mintAccessToken({ clientId: 'web', subject: 'alice', scope: 'orders:read' });
   */
  mintAccessToken(input: TestTokenRequest): Promise<string>;
  /**
   * Runs the code flow as {@link codeExchange} does, through `input.app` when given (else the router
   * alone), filling in from the client's definition as {@link TestTokenRouter.mintAccessToken} does.
   * Resolves with the whole token response (refresh and ID tokens included).
   */
  codeExchange(input: TestCodeExchangeInput): Promise<TokenResponse>;
  /** Stops the memory storage's sweep timer (it is unref'd: calling this is tidy, not required). */
  close(): void;
}

/**
 * A token router ready for your tests: memory storage and client registry, {@link testSigningKey},
 * a {@link TestClock}, issuer {@link TEST_ISSUER}, and no rate limit or brute-force budgets (tests
 * send many requests, often failing ones, from one address). Every `createTokenRouter` option may
 * be given to override these. Mount `kit.tokenRouter` in your app and mint tokens with
 * `kit.mintAccessToken`.
 *
 * Throws as `createTokenRouter` does for bad options (a `ConfigurationError`), and a
 * `ConfigurationError` whenever `NODE_ENV=production`, whatever the options: it is no production router.
 *
 * @example
 * const kit = createTestTokenRouter({
 *   clients: [{ client_id: 'web', client_secret: 'web-secret-0123456789', redirect_uris: ['https://web.example.com/cb'], scope: 'orders:read' }],
 * });
 * app.use('/oauth', kit.tokenRouter);
 * app.get('/api/orders', kit.tokenRouter.requireAccessToken({ audience: kit.audience, scope: 'orders:read' }), listOrders);
 * const token = await kit.mintAccessToken({ clientId: 'web', subject: 'alice', scope: 'orders:read' });
 */
export function createTestTokenRouter(options: TestTokenRouterOptions = {}): TestTokenRouter {
  // The kit drops the failure budgets and keeps everything in memory: whatever the key, it is no production router.
  if (process.env.NODE_ENV === 'production') {
    throw new ConfigurationError('ERR_TOKEN_ROUTER_OPTIONS', ['createTestTokenRouter is for tests (memory storage, no rate limits, the published test key) and is refused when NODE_ENV=production; use createTokenRouter.']);
  }
  if (typeof options !== 'object' || options === null) throw new TypeError('createTestTokenRouter(options): options must be an object (or left out).');
  const given = options as TestTokenRouterOptions & { storage?: unknown };
  if (given.storage !== undefined) {
    throw new TypeError('createTestTokenRouter makes its own memory storage (kit.storage, on the kit\'s clock); for another storage, call createTokenRouter with testSigningKey() and createTestClock().');
  }
  if (given.clock !== undefined && (typeof given.clock !== 'function' || typeof given.clock.advance !== 'function')) {
    throw new TypeError('createTestTokenRouter: clock must be a TestClock from createTestClock(start).');
  }
  const { clients: definitions = [TEST_CLIENT], clock = createTestClock(), ...rest } = given;
  if (!Array.isArray(definitions)) throw new TypeError('createTestTokenRouter: clients must be an array of client definitions (as for createMemoryClientRegistry).');
  const clients = createMemoryClientRegistry(definitions);
  const storage = createMemoryStorage({ clock });
  const routerOptions: TokenRouterOptions = {
    issuer: TEST_ISSUER,
    signingKeys: [testSigningKey()],
    rateLimit: false,
    bruteForce: false,
    ...rest,
    clients,
    storage,
    clock,
  };
  let tokenRouter: TokenRouter;
  try {
    tokenRouter = createTokenRouter(routerOptions);
  } catch (error) {
    storage.close();
    throw error;
  }
  const byId = new Map(definitions.map((definition) => [definition.client_id, definition]));

  /** The request with the client's definition filled in. */
  function complete(input: TestTokenRequest, where: string, forUser: boolean): TestTokenRequest {
    checkRequest(input, where);
    const definition = byId.get(input.clientId);
    if (!definition) {
      throw new Error(`${where}: no client "${input.clientId}" among the clients of createTestTokenRouter (${[...byId.keys()].join(', ')}).`);
    }
    const method = definition.token_endpoint_auth_method ?? 'client_secret_basic';
    let clientSecret = input.clientSecret;
    if (clientSecret === undefined && (method === 'client_secret_basic' || method === 'client_secret_post')) {
      clientSecret = plaintextSecret(definition);
      if (clientSecret === undefined) throw new Error(`${where}: client "${input.clientId}" has no plaintext secret in its definition (only digests); pass clientSecret.`);
    }
    const clientSecretMethod: TestClientSecretMethod = input.clientSecretMethod ?? (method === 'client_secret_post' ? 'client_secret_post' : 'client_secret_basic');
    const redirectUri = input.redirectUri ?? definition.redirect_uris?.[0];
    if (forUser && redirectUri === undefined) throw new Error(`${where}: client "${input.clientId}" registers no redirect_uris; the code flow needs one.`);
    return {
      ...input,
      ...(clientSecret !== undefined && { clientSecret, clientSecretMethod }),
      ...(redirectUri !== undefined && { redirectUri }),
      ...(forUser && input.scope === undefined && definition.scope !== undefined && { scope: definition.scope }),
    };
  }

  return Object.freeze({
    tokenRouter,
    clock,
    storage,
    clients,
    issuer: routerOptions.issuer,
    audience: routerOptions.accessToken?.audience ?? routerOptions.issuer,
    options: Object.freeze(routerOptions),
    async mintAccessToken(input: TestTokenRequest): Promise<string> {
      const where = 'kit.mintAccessToken';
      const request = complete(input, where, typeof input === 'object' && input !== null && input.subject !== undefined);
      const response = request.subject === undefined
        ? await clientCredentials(routerApp(tokenRouter), '/token', request, where)
        : await exchangeCode(routerApp(tokenRouter), '/token', tokenRouter, request, request.subject, where);
      return response.access_token;
    },
    async codeExchange(input: TestCodeExchangeInput): Promise<TokenResponse> {
      const where = 'kit.codeExchange';
      const request = complete(input, where, true);
      if (request.subject === undefined) throw new TypeError(`${where}: subject is required (the user who signed in).`);
      if (input.app !== undefined && typeof input.app !== 'function') throw new TypeError(`${where}: app must be your Express app (a request listener).`);
      return exchangeCode(input.app ?? routerApp(tokenRouter), tokenPathOf(input.tokenPath, where), tokenRouter, request, request.subject, where);
    },
    close: () => storage.close(),
  });
}

function plaintextSecret(definition: MemoryClientDefinition): string | undefined {
  if (definition.client_secret !== undefined) return definition.client_secret;
  const first = definition.client_secret_list?.[0];
  return typeof first === 'string' ? first : first?.secret;
}
