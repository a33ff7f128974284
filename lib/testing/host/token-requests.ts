// lib/testing/host/token-requests.ts
// Real tokens for hosts' tests, through the real issuance path: the router mints an authorization
// code (issueAuthorizationCode, with PKCE), and the code, or client credentials, are exchanged at
// POST /token over HTTP — on a server that listens on a free loopback port for that one request.
// No test framework or HTTP client is needed (supertest stays the host's choice).
import { randomBytes } from 'node:crypto';
import { createServer, request as httpRequest, type RequestListener } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import type { TokenResponse } from '../../contracts/grant';
import type { AuthorizationCodeInput } from '../../grants/authorization-code/code-minter';
import { s256Challenge } from '../../grants/authorization-code/pkce';
import type { TokenRouter } from '../../router-api';

/** How a confidential client sends its secret at the token endpoint (RFC 6749 §2.3.1). */
export type TestClientSecretMethod = 'client_secret_basic' | 'client_secret_post';

/**
 * The token a test wants: for which client, user and scope. With a `subject`, the tokens come from
 * the authorization-code flow with PKCE (the client needs the `authorization_code` grant and a
 * registered redirect URI); without one, from `client_credentials` (a confidential client; the
 * token's `sub` is the client's, `client:<client_id>` by default).
 */
export interface TestTokenRequest {
  /** The client the token is issued to (`client_id`). */
  readonly clientId: string;
  /** Your identifier of the user (the token's `sub`, pairwise for a pairwise client). Leave it out for a client's own token. */
  readonly subject?: string;
  /**
   * The scope: space-separated or an array, within the client's registered scope. Without it, a
   * code is granted no scope (the kit's methods: the client's whole registered scope) and
   * `client_credentials` gets the router's default.
   */
  readonly scope?: string | readonly string[];
  /** RFC 8707 resource indicator(s): the token's `aud`. Each must be in the router's `resources` and the client's. */
  readonly resource?: string | readonly string[];
  /**
   * The client's plaintext secret; leave it out for a public client. The kit's methods take it
   * from the client's definition (`client_secret`, or the first plaintext `client_secret_list` entry).
   */
  readonly clientSecret?: string;
  /** How the secret is sent. Defaults to `client_secret_basic` (the kit's methods: the client's registered method). */
  readonly clientSecretMethod?: TestClientSecretMethod;
  /** The redirect URI of the code flow, registered for the client. The kit's methods default to the first registered one. */
  readonly redirectUri?: string;
  /** More facts of the authentication, for the authorization code (the ID token echoes them). */
  readonly authorization?: Pick<AuthorizationCodeInput, 'authTime' | 'nonce' | 'acr' | 'amr' | 'sid' | 'claims'>;
  /** More form parameters of the token request (e.g. `client_assertion` for `private_key_jwt`). */
  readonly parameters?: Readonly<Record<string, string>>;
  /** More headers of the token request (e.g. `DPoP`). */
  readonly headers?: Readonly<Record<string, string>>;
}

/** What {@link codeExchange} needs besides a {@link TestTokenRequest}: the router, the user and the redirect URI. */
export interface CodeExchangeInput extends TestTokenRequest {
  /** The router that mints the code: the one mounted in the app (or one sharing its storage, keys and issuer). */
  readonly tokenRouter: TokenRouter;
  /** Your identifier of the user who "signed in". */
  readonly subject: string;
  /** The redirect URI of the authorization request, registered for the client. */
  readonly redirectUri: string;
  /** Where the token endpoint is in the app: the router's mount path + `/token`. Defaults to `/token`. */
  readonly tokenPath?: string;
}

/**
 * Mints an access token through the router's real issuance path, for a test of your protected
 * routes: with a `subject`, `issueAuthorizationCode` (PKCE S256) and then `POST /token` with the
 * code; without one, `POST /token` with `client_credentials`. Requests go to the router itself (on
 * a loopback port open for that request), so the token is exactly what clients get: it passes
 * `tokenRouter.requireAccessToken` and the standalone `requireAccessToken` given the router's JWKS.
 *
 * Rejects with a TypeError for bad input, and with an Error naming the answer when the router
 * refuses (e.g. `invalid_scope`, `invalid_client`).
 *
 * @example
 * const token = await mintAccessToken(tokenRouter, { clientId: 'web', clientSecret: 'web-secret', subject: 'alice', scope: 'orders:read', redirectUri: 'https://web.example.com/cb' });
 * await request(app).get('/api/orders').set('Authorization', `Bearer ${token}`).expect(200);
 */
export async function mintAccessToken(tokenRouter: TokenRouter, input: TestTokenRequest): Promise<string> {
  const where = 'mintAccessToken';
  checkRouter(tokenRouter, where);
  checkRequest(input, where);
  const app = routerApp(tokenRouter);
  const response = input.subject === undefined
    ? await clientCredentials(app, '/token', input, where)
    : await exchangeCode(app, '/token', tokenRouter, input, input.subject, where);
  return response.access_token;
}

/**
 * Runs the authorization-code flow with PKCE against your app, as a client would after the user
 * signed in: `tokenRouter.issueAuthorizationCode` (what your authorization endpoint calls), then
 * `POST <tokenPath>` in `app` with the code, the redirect URI and the code verifier. Resolves with
 * the token response (`access_token`, `refresh_token` when `offline_access` was granted and the
 * client may refresh, `id_token` with `openid`, …).
 *
 * `app` is your Express app (any Node request listener): it listens on a free loopback port for
 * this one request. Rejects with a TypeError for bad input, and with an Error naming the answer
 * when the token endpoint does not answer 200.
 *
 * @example
 * const tokens = await codeExchange(app, { tokenRouter, tokenPath: '/oauth/token', clientId: 'spa', subject: 'alice', scope: 'openid orders:read', redirectUri: 'https://spa.example.com/cb' });
 */
export async function codeExchange(app: RequestListener, input: CodeExchangeInput): Promise<TokenResponse> {
  const where = 'codeExchange';
  if (typeof app !== 'function') throw new TypeError(`${where}(app, input): app must be your Express app (a request listener).`);
  if (typeof input !== 'object' || input === null) throw new TypeError(`${where}(app, input): input must be an object { tokenRouter, clientId, subject, redirectUri, … }.`);
  checkRouter(input.tokenRouter, `${where}: input.tokenRouter`);
  checkRequest(input, where);
  if (input.subject === undefined) throw new TypeError(`${where}: subject is required (the user who signed in).`);
  return exchangeCode(app, tokenPathOf(input.tokenPath, where), input.tokenRouter, input, input.subject, where);
}

/** The code flow: mint the code, then redeem it at `path` of `app`. */
export async function exchangeCode(app: RequestListener, path: string, tokenRouter: TokenRouter, input: TestTokenRequest, subject: string, where: string): Promise<TokenResponse> {
  if (typeof input.redirectUri !== 'string' || input.redirectUri === '') throw new TypeError(`${where}: redirectUri is required for a code (one the client registered).`);
  // RFC 7636 §4.1: 32 random octets, base64url, is a verifier of 43 characters.
  const verifier = randomBytes(32).toString('base64url');
  let code: string;
  try {
    ({ code } = await tokenRouter.issueAuthorizationCode({
      ...input.authorization,
      clientId: input.clientId,
      redirectUri: input.redirectUri,
      subject,
      scope: input.scope ?? '',
      ...(input.resource !== undefined && { resources: input.resource }),
      codeChallenge: s256Challenge(verifier),
      codeChallengeMethod: 'S256',
    }));
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    throw new Error(`${where}: issueAuthorizationCode refused the code: ${typeof code === 'string' ? `${code}: ` : ''}${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
  const body = new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: input.redirectUri, code_verifier: verifier });
  return requestTokens(app, path, body, input, where);
}

/** The client_credentials grant at `path` of `app`. */
export async function clientCredentials(app: RequestListener, path: string, input: TestTokenRequest, where: string): Promise<TokenResponse> {
  const body = new URLSearchParams({ grant_type: 'client_credentials' });
  if (input.scope !== undefined) body.set('scope', scopeString(input.scope));
  // RFC 8707 §2: one resource parameter per resource.
  for (const resource of input.resource === undefined ? [] : typeof input.resource === 'string' ? [input.resource] : input.resource) body.append('resource', resource);
  return requestTokens(app, path, body, input, where);
}

async function requestTokens(app: RequestListener, path: string, body: URLSearchParams, input: TestTokenRequest, where: string): Promise<TokenResponse> {
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json', ...input.headers };
  if (input.clientSecret === undefined) body.set('client_id', input.clientId);
  else if (input.clientSecretMethod === 'client_secret_post') {
    body.set('client_id', input.clientId);
    body.set('client_secret', input.clientSecret);
  } else {
    // RFC 6749 §2.3.1: id and secret are form-urlencoded before Basic encoding.
    const encode = (value: string) => encodeURIComponent(value).replace(/%20/g, '+');
    headers.authorization = `Basic ${Buffer.from(`${encode(input.clientId)}:${encode(input.clientSecret)}`).toString('base64')}`;
  }
  for (const [name, value] of Object.entries(input.parameters ?? {})) body.set(name, value);
  const answer = await postOnce(app, path, body.toString(), headers);
  let parsed: unknown;
  try {
    parsed = JSON.parse(answer.text);
  } catch {
    parsed = undefined;
  }
  const json = typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>) : undefined;
  if (answer.status === 200 && typeof json?.access_token === 'string') return json as TokenResponse;
  if (json && typeof json.error === 'string') {
    throw new Error(`${where}: POST ${path} answered ${answer.status} ${json.error}${typeof json.error_description === 'string' ? `: ${json.error_description}` : ''}`);
  }
  const start = JSON.stringify(answer.text.replace(/\s+/g, ' ').slice(0, 120));
  throw new Error(`${where}: POST ${path} answered ${answer.status}, not a token response (is the token endpoint at ${path}? tokenPath is your mount path + '/token'): ${start}`);
}

/** Serves `app` on a free loopback port for one POST, then closes the server. */
function postOnce(app: RequestListener, path: string, body: string, headers: Record<string, string>): Promise<{ status: number; text: string }> {
  const server = createServer(app);
  return new Promise<{ status: number; text: string }>((resolve, reject) => {
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      // agent: false: a connection of its own, closed after the answer, so the server closes at once.
      const req = httpRequest({ host: '127.0.0.1', port, path, method: 'POST', agent: false, headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(body);
    });
  }).finally(() => {
    server.closeAllConnections();
    server.close();
  });
}

// One app per router, mounted at the root: the token endpoint is at /token.
const apps = new WeakMap<TokenRouter, RequestListener>();
/** An app serving only `tokenRouter`, at the root (one per router). */
export function routerApp(tokenRouter: TokenRouter): RequestListener {
  let app = apps.get(tokenRouter);
  if (!app) {
    const created = express();
    created.use(tokenRouter);
    app = created;
    apps.set(tokenRouter, app);
  }
  return app;
}

function checkRouter(tokenRouter: unknown, where: string): void {
  if (typeof tokenRouter !== 'function' || typeof (tokenRouter as Partial<TokenRouter>).issueAuthorizationCode !== 'function') {
    throw new TypeError(`${where} needs the router createTokenRouter (or createTestTokenRouter().tokenRouter) returned.`);
  }
}

/** Checks the shape of a request; what the router checks itself (scope, client, redirect URI) is left to it. */
export function checkRequest(input: TestTokenRequest, where: string): void {
  if (typeof input !== 'object' || input === null) throw new TypeError(`${where}: the request must be an object { clientId, subject?, scope?, … }.`);
  if (typeof input.clientId !== 'string' || input.clientId === '') throw new TypeError(`${where}: clientId must be a non-empty string.`);
  if (input.subject !== undefined && (typeof input.subject !== 'string' || input.subject === '')) throw new TypeError(`${where}: subject must be a non-empty string (leave it out for the client's own token).`);
  const strings = (value: unknown) => typeof value === 'string' || (Array.isArray(value) && value.every((item) => typeof item === 'string'));
  if (input.scope !== undefined && !strings(input.scope)) throw new TypeError(`${where}: scope must be a space-separated string or an array of strings.`);
  if (input.resource !== undefined && !strings(input.resource)) throw new TypeError(`${where}: resource must be a URI or an array of URIs.`);
  if (input.clientSecret !== undefined && (typeof input.clientSecret !== 'string' || input.clientSecret === '')) throw new TypeError(`${where}: clientSecret must be a non-empty string (leave it out for a public client).`);
  if (input.clientSecretMethod !== undefined && input.clientSecretMethod !== 'client_secret_basic' && input.clientSecretMethod !== 'client_secret_post') {
    throw new TypeError(`${where}: clientSecretMethod must be 'client_secret_basic' or 'client_secret_post'.`);
  }
  for (const name of ['parameters', 'headers'] as const) {
    const value = input[name];
    if (value !== undefined && (typeof value !== 'object' || value === null || !Object.values(value).every((item) => typeof item === 'string'))) {
      throw new TypeError(`${where}: ${name} must be an object of strings.`);
    }
  }
}

/** The token endpoint's path in an app, checked: defaults to `/token`. */
export function tokenPathOf(path: unknown, where: string): string {
  if (path === undefined) return '/token';
  if (typeof path !== 'string' || !path.startsWith('/')) throw new TypeError(`${where}: tokenPath must be a path starting with "/" (your mount path + '/token').`);
  return path;
}

function scopeString(scope: string | readonly string[]): string {
  return typeof scope === 'string' ? scope : scope.join(' ');
}
