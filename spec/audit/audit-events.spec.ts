// spec/audit/audit-events.spec.ts
// Every flow through HTTP, every audit event and every logger line collected, then scanned for
// the raw values the run used (security model rules L98, L99; issue #8): client secrets (right, wrong,
// weird, over-long), Basic headers, authorization codes, PKCE verifiers, access, refresh and ID
// tokens, device and user codes, a password sent to an unsupported grant — raw, JSON-escaped,
// percent-/form-encoded, base64 and base64url. Error responses (body and headers) are scanned
// too. Each event must match its documented shape, and every event type of the schema must
// have been emitted at least once across the run.
import express, { type Express } from 'express';
import request from 'supertest';
import { introspection, revocation, tnuIdProfileSwitch, authorizationCode, clientCredentials, createMemoryClientRegistry, createMemoryStorage, createTokenRouter, deviceCode, EVENT_TYPES, refreshToken, type MemoryClientDefinition, type MemoryStorage, type StorageAdapter, type TokenEndpointEvent, type TokenEndpointEventOf, type TokenEndpointEventType, type TokenRouter, type TokenRouterOptions } from '../../lib';
import { CHALLENGE, VERIFIER } from '../helpers/code-flow';
import { createClock, ISSUER, WEIRD_SECRET, type TestClock } from '../helpers/create-app';
import { rsaKey } from '../helpers/keys';
import { shapeProblems } from './event-shapes';

const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';
const REDIRECT = 'https://web.example.com/cb';
const SPA_REDIRECT = 'https://spa.example.com/cb';
const SECOND = 1000;

// Distinct secrets per client, so a leak names its source. Two are deliberately hostile: form
// and Basic delimiters, percent signs, plus, spaces, quotes, backslash, control characters,
// non-ASCII and an astral character (JSON escapes some of these, so the scan checks both forms).
const SECRETS = {
  basic: 'audit-basic-secret-Q1w2E3r4T5y6U7i8',
  post: 'audit-post-secret-A9s8D7f6G5h4J3k2',
  weird: WEIRD_SECRET,
  hostile: 'ho"st\\ile\t:%41+ sp\nünï😀<x>&y;=',
  web: 'audit-web-secret-Z1x2C3v4B5n6M7m8',
  tv: 'audit-tv-secret-P0o9I8u7Y6t5R4e3',
} as const;

const CLIENTS: MemoryClientDefinition[] = [
  { client_id: 'svc-basic', client_secret: SECRETS.basic, grant_types: ['client_credentials'], scope: 'api:read api:write' },
  { client_id: 'svc-post', client_secret: SECRETS.post, token_endpoint_auth_method: 'client_secret_post', grant_types: ['client_credentials'], scope: 'api:read' },
  { client_id: 'weird:id', client_secret: SECRETS.weird, grant_types: ['client_credentials'], scope: 'api:read' },
  { client_id: 'hostile', client_secret: SECRETS.hostile, token_endpoint_auth_method: 'client_secret_post', grant_types: ['client_credentials'], scope: 'api:read' },
  {
    client_id: 'web',
    client_secret: SECRETS.web,
    grant_types: ['authorization_code', 'refresh_token'],
    redirect_uris: [REDIRECT],
    scope: 'openid profile offline_access api:read api:write account.profiles',
    update_access_token_claims: true,
  },
  { client_id: 'spa', token_endpoint_auth_method: 'none', grant_types: ['authorization_code'], redirect_uris: [SPA_REDIRECT], scope: 'openid api:read' },
  { client_id: 'tv', client_secret: SECRETS.tv, grant_types: [DEVICE_GRANT, 'refresh_token'], scope: 'openid offline_access api:read' },
  { client_id: 'tv-public', token_endpoint_auth_method: 'none', grant_types: [DEVICE_GRANT], scope: 'openid api:read' },
  { client_id: 'resource-server', client_secret: SECRETS.basic, grant_types: ['client_credentials'], introspection_allowed: true },
];

// ---------------------------------------------------------------------------------------------
// What the run collects: events, logger lines, error responses, and the values that must not leak.

const events: TokenEndpointEvent[] = [];
const logged: Array<{ level: string; message: string; details?: Readonly<Record<string, unknown>> }> = [];
const errorResponses: Array<{ status: number; body: unknown; headers: unknown }> = [];
const sensitive = new Map<string, string>();

/** Remembers a value that must never appear in an event, a log line or an error response. */
function secret(label: string, value: string | undefined): string {
  if (typeof value !== 'string' || value.length === 0) throw new Error(`no value for ${label}`);
  if (!sensitive.has(value)) sensitive.set(value, label);
  return value;
}

const formEncode = (value: string) => encodeURIComponent(value).replace(/%20/g, '+');

/** An RFC 6749 §2.3.1 Basic header; the secret, the header and its base64 part are all remembered. */
function basicHeader(id: string, secretValue: string, label: string): string {
  secret(label, secretValue);
  const encoded = Buffer.from(`${formEncode(id)}:${formEncode(secretValue)}`).toString('base64');
  secret(`${label} (Basic credentials)`, encoded);
  return secret(`${label} (Authorization header)`, `Basic ${encoded}`);
}

type Auth =
  | { readonly basic: readonly [id: string, secret: string] }
  | { readonly body: readonly [id: string, secret: string] }
  | { readonly clientId: string }
  | { readonly header: string }
  | undefined;

/** Remembers every token-like value a response hands out. */
function harvest(body: unknown): void {
  if (typeof body !== 'object' || body === null) return;
  for (const name of ['access_token', 'refresh_token', 'id_token', 'device_code', 'user_code'] as const) {
    const value = (body as Record<string, unknown>)[name];
    if (typeof value === 'string') {
      secret(name, value);
      if (name === 'user_code') secret('user_code (normalised)', value.replace(/[^A-Z0-9]/gi, ''));
    }
  }
}

// ---------------------------------------------------------------------------------------------
// The host: every grant, strict auth methods, a storage that can fail or lose a race on demand.

type StorageMethod = Exclude<keyof StorageAdapter, symbol>;

interface FaultyStorage {
  readonly storage: StorageAdapter;
  /** The next call of `method` throws an error whose message carries nothing secret. */
  failNext(method: StorageMethod): void;
  /** The next consume of a code really consumes it but reports a lost race (another instance won). */
  loseNext(method: 'consumeAuthorizationCode' | 'consumeDeviceCode'): void;
}

function faultyStorage(inner: MemoryStorage): FaultyStorage {
  const failing = new Set<string>();
  const losing = new Set<string>();
  const storage = new Proxy(inner as StorageAdapter, {
    get(target, prop, receiver) {
      const value: unknown = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function' || typeof prop !== 'string') return value;
      const method = value as (...args: unknown[]) => unknown;
      return async (...args: unknown[]) => {
        if (failing.delete(prop)) throw new Error(`storage unavailable (simulated failure of ${prop})`);
        if (losing.delete(prop)) {
          await method.apply(target, args);
          return false;
        }
        return method.apply(target, args);
      };
    },
  });
  return { storage, failNext: (method) => failing.add(method), loseNext: (method) => losing.add(method) };
}

interface Host {
  readonly app: Express;
  readonly tokenRouter: TokenRouter;
  readonly clock: TestClock;
  readonly faults: FaultyStorage;
  readonly memory: MemoryStorage;
}

function createHost(overrides: Partial<TokenRouterOptions> = {}): Host {
  const clock = createClock();
  const memory = createMemoryStorage({ clock });
  const faults = faultyStorage(memory);
  const tokenRouter = createTokenRouter({
    issuer: ISSUER,
    signingKeys: [{ kid: 'audit-key', alg: 'RS256', privateKey: rsaKey().privateKey }],
    clients: createMemoryClientRegistry(CLIENTS),
    storage: faults.storage,
    grants: [
      clientCredentials(),
      authorizationCode(),
      refreshToken({
        retryWindowSeconds: 5,
        checkSession: ({ session }) => session.subject !== 'signed-out-user',
        extensions: [tnuIdProfileSwitch({ verifyProfile: ({ tnuId }) => tnuId === 'profile-2' })],
      }),
      deviceCode({ verificationUri: 'https://id.example.test/device' }),
    ],
    endpoints: [revocation(), introspection()],
    clientAuthentication: { enforceRegisteredMethod: true },
    rateLimit: false,
    clock,
    onEvent: (event) => events.push(event),
    logger: {
      warn: (message, details) => logged.push({ level: 'warn', message, details }),
      error: (message, details) => logged.push({ level: 'error', message, details }),
    },
    ...overrides,
  });
  const app = express();
  app.use('/connect', tokenRouter);
  return { app, tokenRouter, clock, faults, memory };
}

/** POSTs a form to the host; records error responses for the scan and harvests tokens. */
async function post(app: Express, path: string, params: Readonly<Record<string, string | undefined>>, auth?: Auth): Promise<request.Response> {
  const body = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) if (value !== undefined) body.set(name, value);
  const req = request(app).post(`/connect${path}`).type('form');
  if (auth && 'basic' in auth) req.set('Authorization', basicHeader(auth.basic[0], auth.basic[1], `secret of ${auth.basic[0]}`));
  if (auth && 'header' in auth) req.set('Authorization', auth.header);
  if (auth && 'body' in auth) {
    body.set('client_id', auth.body[0]);
    body.set('client_secret', secret(`secret of ${auth.body[0]}`, auth.body[1]));
  }
  if (auth && 'clientId' in auth) body.set('client_id', auth.clientId);
  return record(await req.send(body.toString()));
}

function record(res: request.Response): request.Response {
  if (res.status >= 400) errorResponses.push({ status: res.status, body: res.body, headers: res.headers });
  else harvest(res.body);
  return res;
}

const token = (app: Express, params: Readonly<Record<string, string | undefined>>, auth?: Auth) => post(app, '/token', params, auth);

// ---------------------------------------------------------------------------------------------

const host = createHost();
const WEB_AUTH: Auth = { basic: ['web', SECRETS.web] };
const TV_AUTH: Auth = { basic: ['tv', SECRETS.tv] };

/** Mints a code for `web` (PKCE S256, openid, nonce) and remembers it. */
async function mintCode(subject = 'user-1', clientId = 'web', redirectUri = REDIRECT): Promise<{ code: string; grantId: string }> {
  const issued = await host.tokenRouter.issueAuthorizationCode({
    clientId,
    redirectUri,
    scope: clientId === 'web' ? 'openid offline_access api:read account.profiles' : 'openid api:read',
    subject,
    nonce: 'n-0S6_WzA2Mj',
    codeChallenge: CHALLENGE,
    codeChallengeMethod: 'S256',
  });
  secret('authorization code', issued.code);
  return issued;
}

const redeemCode = (code: string, auth: Auth = WEB_AUTH, extra: Readonly<Record<string, string>> = {}) =>
  token(host.app, { grant_type: 'authorization_code', code, redirect_uri: REDIRECT, code_verifier: secret('code_verifier', VERIFIER), ...extra }, auth);

const refreshWith = (refreshTokenValue: string, extra: Readonly<Record<string, string>> = {}) =>
  token(host.app, { grant_type: 'refresh_token', refresh_token: secret('refresh token', refreshTokenValue), ...extra }, WEB_AUTH);

const poll = (deviceCodeValue: string, auth: Auth = TV_AUTH) => token(host.app, { grant_type: DEVICE_GRANT, device_code: secret('device code', deviceCodeValue) }, auth);

function eventsOf<T extends TokenEndpointEventType>(type: T): Array<TokenEndpointEventOf<T>> {
  return events.filter((event): event is TokenEndpointEventOf<T> => event.type === type);
}

/** Runs `act` and returns the events it caused, without the `request.rejected` every error answer adds. */
async function auditOf(act: () => Promise<unknown>): Promise<TokenEndpointEvent[]> {
  const mark = events.length;
  await act();
  return events.slice(mark).filter((event) => event.type !== 'request.rejected');
}

afterAll(() => host.memory.close());

describe('audit events: every flow through HTTP', () => {
  it('client_credentials: Basic, body secret, a weird and a hostile secret', async () => {
    expect((await token(host.app, { grant_type: 'client_credentials', scope: 'api:read' }, { basic: ['svc-basic', SECRETS.basic] })).status).toBe(200);
    expect((await token(host.app, { grant_type: 'client_credentials' }, { body: ['svc-post', SECRETS.post] })).status).toBe(200);
    expect((await token(host.app, { grant_type: 'client_credentials' }, { basic: ['weird:id', SECRETS.weird] })).status).toBe(200);
    expect((await token(host.app, { grant_type: 'client_credentials' }, { body: ['hostile', SECRETS.hostile] })).status).toBe(200);
    expect(eventsOf('token.issued').filter((e) => e.grantType === 'client_credentials').map((e) => e.clientId)).toEqual(['svc-basic', 'svc-post', 'weird:id', 'hostile']);
  });

  it('client authentication failures of every reason', async () => {
    const before = events.length;
    const cc = { grant_type: 'client_credentials' };
    // missing_credentials: nothing at all, and a confidential client without its secret.
    expect((await token(host.app, cc)).status).toBe(401);
    expect((await token(host.app, cc, { clientId: 'svc-post' })).status).toBe(401);
    // unknown_client: an unknown id with a secret, and a right id with an over-long secret.
    expect((await token(host.app, cc, { basic: ['nobody', 'guessed-secret-for-nobody-1234'] })).status).toBe(401);
    expect((await token(host.app, cc, { body: ['svc-post', `${SECRETS.post}${'x'.repeat(600)}`] })).status).toBe(401);
    // invalid_secret: wrong secrets by Basic and in the body, wrong weird ones.
    expect((await token(host.app, cc, { basic: ['svc-basic', 'wrong-basic-secret-0123456789'] })).status).toBe(401);
    expect((await token(host.app, cc, { body: ['svc-post', 'wrong-post-secret-0123456789'] })).status).toBe(401);
    expect((await token(host.app, cc, { basic: ['weird:id', `${SECRETS.weird}!`] })).status).toBe(401);
    expect((await token(host.app, cc, { body: ['hostile', `${SECRETS.hostile}"\\`] })).status).toBe(401);
    // secret_sent_by_public_client.
    expect((await token(host.app, { grant_type: 'authorization_code', code: 'x'.repeat(43), redirect_uri: SPA_REDIRECT }, { body: ['spa', 'public-client-sent-a-secret-0123'] })).status).toBe(401);
    // auth_method_not_allowed: the right secret by the wrong method (enforceRegisteredMethod).
    expect((await token(host.app, cc, { body: ['svc-basic', SECRETS.basic] })).status).toBe(401);
    expect((await token(host.app, cc, { basic: ['svc-post', SECRETS.post] })).status).toBe(401);
    const reasons = events.slice(before).map((e) => (e.type === 'client.authentication_failed' ? e.reason : e.type));
    expect(reasons).toEqual([
      'missing_credentials',
      'missing_credentials',
      'unknown_client',
      'unknown_client',
      'invalid_secret',
      'invalid_secret',
      'invalid_secret',
      'invalid_secret',
      'secret_sent_by_public_client',
      'auth_method_not_allowed',
      'auth_method_not_allowed',
    ]);
  });

  it('malformed requests carrying secrets: query, JSON, duplicates, brackets, two methods, bad Basic, unsupported grant, oversized body', async () => {
    const before = events.length;
    const basicSvc = basicHeader('svc-basic', SECRETS.basic, 'secret of svc-basic');
    const send = (path: string, body: string, headers: Readonly<Record<string, string>> = {}, type = 'application/x-www-form-urlencoded') => {
      const req = request(host.app).post(path).set('Content-Type', type);
      for (const [name, value] of Object.entries(headers)) req.set(name, value);
      return req.send(body).then(record);
    };
    const postSecret = formEncode(SECRETS.post);
    const { code } = await mintCode();
    const statuses = [
      (await send(`/connect/token?client_secret=${postSecret}`, 'grant_type=client_credentials&client_id=svc-post')).status,
      (await send(`/connect/token?code=${code}`, `grant_type=authorization_code&redirect_uri=${REDIRECT}`, { Authorization: basicHeader('web', SECRETS.web, 'secret of web') })).status,
      (await send('/connect/token', JSON.stringify({ grant_type: 'client_credentials', client_id: 'svc-post', client_secret: SECRETS.post }), {}, 'application/json')).status,
      (await send('/connect/token', `grant_type=client_credentials&client_id=svc-post&client_secret=${postSecret}&client_secret=${postSecret}`)).status,
      (await send('/connect/token', `grant_type=client_credentials&client_id=svc-post&client_secret[]=${postSecret}`)).status,
      (await send('/connect/token', `grant_type=client_credentials&client_secret=${postSecret}`, { Authorization: basicSvc })).status,
      (await send('/connect/token', 'grant_type=client_credentials', { Authorization: secret('malformed Basic header', `Basic ${SECRETS.basic}!`) })).status,
      (await send('/connect/token', 'grant_type=client_credentials', { Authorization: secret('Basic header without colon', `Basic ${Buffer.from(SECRETS.basic).toString('base64')}`) })).status,
      (await send('/connect/token', `grant_type=password&username=alice&password=${formEncode(secret('password', 'alice-password-Zz9!'))}`, { Authorization: basicSvc })).status,
      (await send('/connect/token', `client_id=svc-post&client_secret=${postSecret}`)).status,
      (await send('/connect/token', `grant_type=client_credentials&client_id=svc-post&client_secret=${postSecret}&pad=${'p'.repeat(70_000)}`)).status,
    ];
    expect(statuses).toEqual([400, 400, 400, 400, 400, 400, 400, 400, 400, 400, 413]);
    // The code sent in the query was not burnt, and a GET with secrets in the URL is refused.
    expect((await redeemCode(code)).status).toBe(200);
    expect((await request(host.app).get(`/connect/token?client_id=svc-post&client_secret=${postSecret}`).then(record)).status).toBe(405);
    expect(events.slice(before).filter((e) => e.type === 'request.rejected').length).toBeGreaterThanOrEqual(10);
  });

  it('authorization_code with PKCE and openid (confidential and public), bad verifier, replay → revocation', async () => {
    const { code, grantId } = await mintCode();
    // A wrong verifier and an unknown code are invalid_grant and burn nothing.
    expect((await redeemCode(code, WEB_AUTH, { code_verifier: secret('wrong code_verifier', `${VERIFIER.slice(0, -4)}AAAA`) })).body.error).toBe('invalid_grant');
    expect((await redeemCode(secret('unknown code', 'unknown-code-0123456789abcdefghijklmnopqrstu'))).body.error).toBe('invalid_grant');
    const first = await redeemCode(code);
    expect(first.status).toBe(200);
    expect(first.body).toEqual(expect.objectContaining({ access_token: expect.any(String), refresh_token: expect.any(String), id_token: expect.any(String) }));
    const replayed = await auditOf(async () => expect((await redeemCode(code)).body.error).toBe('invalid_grant'));
    expect(replayed).toEqual([
      { type: 'authorization_code.replayed', at: host.clock(), grantId, clientId: 'web', detection: 'already_consumed', verified: true },
      { type: 'grant.revoked', at: host.clock(), grantId, clientId: 'web', reason: 'authorization_code_replay' },
    ]);
    expect((await refreshWith(first.body.refresh_token)).body.error).toBe('invalid_grant');

    const spa = await mintCode('user-2', 'spa', SPA_REDIRECT);
    const spaRes = await token(host.app, { grant_type: 'authorization_code', code: spa.code, redirect_uri: SPA_REDIRECT, code_verifier: VERIFIER }, { clientId: 'spa' });
    expect(spaRes.status).toBe(200);
    expect(spaRes.body.id_token).toEqual(expect.any(String));
  });

  it('authorization_code: the loser of a race (another instance redeemed first) is a replay too', async () => {
    const { code, grantId } = await mintCode();
    host.faults.loseNext('consumeAuthorizationCode');
    const lost = await auditOf(async () => expect((await redeemCode(code)).body.error).toBe('invalid_grant'));
    expect(lost).toEqual([
      { type: 'authorization_code.replayed', at: host.clock(), grantId, clientId: 'web', detection: 'lost_race', verified: true },
      { type: 'grant.revoked', at: host.clock(), grantId, clientId: 'web', reason: 'authorization_code_replay' },
    ]);
  });

  it('refresh_token: rotation, a retry inside the window, reuse after it → family revoked; tnuId switch; scope widening; ended session', async () => {
    const { code, grantId } = await mintCode();
    const started = await redeemCode(code);
    const first = started.body.refresh_token as string;
    const rotated = await refreshWith(first);
    expect(rotated.status).toBe(200);
    expect(rotated.body.refresh_token).not.toBe(first);
    host.clock.advance(2 * SECOND);
    let retry: request.Response | undefined;
    expect(await auditOf(async () => (retry = await refreshWith(first)))).toEqual([
      { type: 'refresh_token.retry_served', at: host.clock(), grantId, clientId: 'web', sinceRotationMs: 2 * SECOND },
    ]);
    expect(retry?.body.refresh_token).toBe(rotated.body.refresh_token);
    expect((await refreshWith(rotated.body.refresh_token, { scope: 'api:write' })).body.error).toBe('invalid_scope');
    const switched = await refreshWith(rotated.body.refresh_token, { tnuId: 'profile-2' });
    expect(switched.status).toBe(200);
    expect((await refreshWith(switched.body.refresh_token, { tnuId: 'profile-of-someone-else' })).body.error).toBe('invalid_grant');
    host.clock.advance(6 * SECOND);
    const reused = await auditOf(async () => expect((await refreshWith(first)).body.error).toBe('invalid_grant'));
    expect(reused).toEqual([
      expect.objectContaining({ type: 'refresh_token.reused', grantId, clientId: 'web' }),
      expect.objectContaining({ type: 'grant.revoked', grantId, reason: 'refresh_token_reuse' }),
    ]);
    expect((await refreshWith(switched.body.refresh_token)).body.error).toBe('invalid_grant');
    expect((await refreshWith(secret('unknown refresh token', 'unknown-refresh-token-0123456789abcdefghijk'))).body.error).toBe('invalid_grant');

    const ended = await mintCode('signed-out-user');
    const endedRes = await redeemCode(ended.code);
    const revoked = await auditOf(async () => expect((await refreshWith(endedRes.body.refresh_token)).body.error).toBe('invalid_grant'));
    expect(revoked).toEqual([{ type: 'grant.revoked', at: host.clock(), grantId: ended.grantId, clientId: 'web', reason: 'session_ended' }]);
  });

  it('revocation and introspection: an access token, a refresh token (its grant), another client\'s token, garbage', async () => {
    const { code, grantId } = await mintCode();
    const started = await redeemCode(code);
    const accessToken = secret('access token', started.body.access_token as string);
    const refreshTokenValue = secret('refresh token', started.body.refresh_token as string);
    const jti = JSON.parse(Buffer.from(accessToken.split('.')[1], 'base64url').toString()).jti as string;
    const rs: Auth = { basic: ['resource-server', SECRETS.basic] };
    expect((await post(host.app, '/introspection', { token: accessToken }, rs)).body.active).toBe(true);
    expect((await post(host.app, '/introspection', { token: refreshTokenValue, token_type_hint: 'refresh_token' }, rs)).body.active).toBe(true);
    expect(await auditOf(() => post(host.app, '/revocation', { token: accessToken, token_type_hint: 'access_token' }, WEB_AUTH))).toEqual([
      { type: 'token.revoked', at: host.clock(), clientId: 'web', tokenType: 'access_token', jti, grantId },
    ]);
    expect((await post(host.app, '/revocation', { token: refreshTokenValue }, TV_AUTH)).body.error).toBe('unauthorized_client');
    expect(await auditOf(() => post(host.app, '/revocation', { token: refreshTokenValue }, WEB_AUTH))).toEqual([
      { type: 'token.revoked', at: host.clock(), clientId: 'web', tokenType: 'refresh_token', grantId },
      { type: 'grant.revoked', at: host.clock(), clientId: 'web', grantId, reason: 'revocation_request' },
    ]);
    expect((await post(host.app, '/introspection', { token: refreshTokenValue }, rs)).body).toEqual({ active: false });
    expect((await post(host.app, '/introspection', { token: accessToken }, WEB_AUTH)).body.error).toBe('unauthorized_client');
    expect((await post(host.app, '/revocation', { token: secret('unknown refresh token', 'unknown-revoked-token-0123456789abcdefghijk') }, WEB_AUTH)).status).toBe(200);
  });

  it('device flow: authorization, pending, slow_down, approve, tokens, replay; deny; a lost race; an unknown device code', async () => {
    const started = await post(host.app, '/deviceauthorization', { scope: 'openid offline_access api:read' }, TV_AUTH);
    expect(started.status).toBe(200);
    const { device_code: deviceCodeValue, user_code: userCode } = started.body as { device_code: string; user_code: string };
    expect((await poll(deviceCodeValue)).body.error).toBe('authorization_pending');
    expect((await poll(deviceCodeValue)).body.error).toBe('slow_down');
    expect((await host.tokenRouter.deviceVerification.lookup(userCode.toLowerCase(), { key: 'tester' })).status).toBe('pending');
    expect((await host.tokenRouter.deviceVerification.approve(userCode, { subject: 'user-1' }, { key: 'tester' })).status).toBe('approved');
    host.clock.advance(11 * SECOND);
    const issued = await poll(deviceCodeValue);
    expect(issued.status).toBe(200);
    expect(issued.body.refresh_token).toEqual(expect.any(String));
    host.clock.advance(11 * SECOND);
    const replayed = await auditOf(async () => expect((await poll(deviceCodeValue)).body.error).toBe('invalid_grant'));
    expect(replayed).toEqual([
      expect.objectContaining({ type: 'device_code.replayed', clientId: 'tv', detection: 'already_consumed' }),
      expect.objectContaining({ type: 'grant.revoked', clientId: 'tv', reason: 'device_code_replay' }),
    ]);

    const denied = await post(host.app, '/deviceauthorization', { scope: 'openid api:read' }, { clientId: 'tv-public' });
    expect((await host.tokenRouter.deviceVerification.deny(denied.body.user_code, { key: 'tester' })).status).toBe('denied');
    expect((await poll(denied.body.device_code, { clientId: 'tv-public' })).body.error).toBe('access_denied');

    const raced = await post(host.app, '/deviceauthorization', { scope: 'openid api:read' }, TV_AUTH);
    await host.tokenRouter.deviceVerification.approve(raced.body.user_code, { subject: 'user-3' }, { key: 'tester' });
    host.faults.loseNext('consumeDeviceCode');
    const lost = await auditOf(async () => expect((await poll(raced.body.device_code)).body.error).toBe('invalid_grant'));
    expect(lost).toEqual([
      expect.objectContaining({ type: 'device_code.replayed', clientId: 'tv', detection: 'lost_race' }),
      expect.objectContaining({ type: 'grant.revoked', clientId: 'tv', reason: 'device_code_replay' }),
    ]);

    expect((await poll(secret('unknown device code', 'unknown-device-code-0123456789abcdefghijklm'))).body.error).toBe('invalid_grant');
    // A wrong user code at the verification page is no event and no log line.
    expect((await host.tokenRouter.deviceVerification.lookup(secret('mistyped user code', 'WXYZ-QRST'), { key: 'tester' })).status).toBe('invalid');
    // The device authorization endpoint authenticates like the token endpoint.
    expect((await post(host.app, '/deviceauthorization', { scope: 'api:read' }, { basic: ['tv', 'wrong-tv-secret-0123456789'] })).status).toBe(401);
  });

  it('rate-limited requests (Basic, body secret, unknown client)', async () => {
    const limited = createHost({ rateLimit: { limit: 1, windowMs: 60_000 } });
    const cc = { grant_type: 'client_credentials' };
    const attempts: Auth[] = [
      { basic: ['svc-basic', SECRETS.basic] },
      { body: ['svc-post', SECRETS.post] },
      { basic: ['nobody', 'rate-limited-guess-0123456789'] },
    ];
    for (const auth of attempts) {
      await token(limited.app, cc, auth);
      expect((await token(limited.app, cc, auth)).status).toBe(429);
    }
    expect(eventsOf('rate_limited').map((e) => e.clientId)).toEqual(['svc-basic', 'svc-post', 'nobody']);
    limited.memory.close();
  });

  it('a forced server_error (throwing storage) answers a bare 500; the details go to the logger', async () => {
    const before = logged.length;
    const { code, grantId } = await mintCode();
    host.faults.failNext('findAuthorizationCode');
    const failed = await redeemCode(code);
    expect(failed.status).toBe(500);
    expect(failed.body).toEqual({ error: 'server_error' });
    // The code survives the failure; the storage failing on a refresh and on a poll is the same.
    const redeemed = await redeemCode(code);
    expect(redeemed.status).toBe(200);
    host.faults.failNext('rotateRefreshToken');
    expect((await refreshWith(redeemed.body.refresh_token)).status).toBe(500);
    const device = await post(host.app, '/deviceauthorization', { scope: 'api:read' }, TV_AUTH);
    host.faults.failNext('pollDeviceCode');
    expect((await poll(device.body.device_code)).status).toBe(500);
    // A replay whose revocation fails is still reported (replayed first), but not as revoked.
    host.faults.failNext('revokeGrant');
    const unrevoked = await auditOf(async () => expect((await redeemCode(code)).status).toBe(500));
    expect(unrevoked).toEqual([{ type: 'authorization_code.replayed', at: host.clock(), grantId, clientId: 'web', detection: 'already_consumed', verified: true }]);
    const errors = logged.slice(before).filter((line) => line.level === 'error');
    expect(errors).toHaveLength(4);
    for (const line of errors) expect(line.details).toEqual(expect.objectContaining({ errorMessage: expect.stringMatching(/^storage unavailable/) }));
  });

  it('an onEvent listener that throws is logged (event type only) and the request still succeeds', async () => {
    const throwing = createHost({
      onEvent: (event) => {
        events.push(event);
        throw new Error('listener failed');
      },
    });
    expect((await token(throwing.app, { grant_type: 'client_credentials' }, { basic: ['svc-basic', SECRETS.basic] })).status).toBe(200);
    expect(logged.at(-1)).toEqual(expect.objectContaining({ level: 'error', details: expect.objectContaining({ eventType: 'token.issued' }) }));
    throwing.memory.close();
  });
});

// ---------------------------------------------------------------------------------------------
// The scan.

/** Every string inside `value`: object keys and values, array items, Error name/message/stack/cause. */
function strings(value: unknown, out: string[] = [], seen = new Set<unknown>()): string[] {
  if (typeof value === 'string') out.push(value);
  else if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') out.push(String(value));
  else if (value !== null && typeof value === 'object' && !seen.has(value)) {
    seen.add(value);
    if (value instanceof Error || (typeof (value as Error).message === 'string' && typeof (value as Error).stack === 'string')) {
      const error = value as Error & { cause?: unknown };
      strings([error.name, error.message, error.stack, error.cause], out, seen);
    }
    for (const [key, item] of Object.entries(value)) {
      out.push(key);
      strings(item, out, seen);
    }
  }
  return out;
}

/** The forms of a value that would still give it away. */
function formsOf(value: string): string[] {
  const forms = new Set([
    value,
    JSON.stringify(value).slice(1, -1),
    encodeURIComponent(value),
    formEncode(value),
    Buffer.from(value).toString('base64'),
    Buffer.from(value).toString('base64url'),
  ]);
  return [...forms];
}

interface Leak {
  readonly where: string;
  readonly what: string;
  readonly form: string;
}

function scan(where: string, items: readonly unknown[]): Leak[] {
  const leaks: Leak[] = [];
  items.forEach((item, index) => {
    const haystacks = [JSON.stringify(item) ?? '', ...strings(item)];
    for (const [value, label] of sensitive) {
      for (const form of formsOf(value)) {
        if (haystacks.some((text) => text.includes(form))) {
          leaks.push({ where: `${where}[${index}] ${JSON.stringify(item).slice(0, 200)}`, what: label, form: form === value ? 'raw' : form.slice(0, 40) });
          break;
        }
      }
    }
  });
  return leaks;
}

describe('audit events: the scan', () => {
  it('collected a meaningful run', () => {
    expect(events.length).toBeGreaterThan(60);
    expect(sensitive.size).toBeGreaterThan(40);
    for (const label of ['access_token', 'refresh_token', 'id_token', 'device_code', 'user_code', 'authorization code', 'code_verifier', 'secret of svc-basic (Authorization header)', 'secret of hostile']) {
      expect([...sensitive.values()]).toContain(label);
    }
  });

  it('no event contains a secret, code, verifier, token, device or user code, raw or encoded', () => {
    expect(scan('event', events)).toEqual([]);
  });

  it('no logger line contains one either (the messages and stacks included)', () => {
    expect(logged.length).toBeGreaterThanOrEqual(5);
    expect(scan('log', logged)).toEqual([]);
  });

  it('no error response (body or headers) contains one', () => {
    expect(errorResponses.length).toBeGreaterThan(40);
    expect(scan('error response', errorResponses)).toEqual([]);
  });

  it('every event type of the schema was emitted at least once', () => {
    const seen = new Set(events.map((event) => event.type));
    expect(EVENT_TYPES.filter((type) => !seen.has(type))).toEqual([]);
  });

  it('every event matches its documented shape (required fields present, right types, closed values, nothing undocumented)', () => {
    expect(events.flatMap(shapeProblems)).toEqual([]);
  });

  it('every reason code was seen: each client-auth failure reason, both replay detections for codes and device codes, each built-in revocation reason', () => {
    expect(new Set(eventsOf('client.authentication_failed').map((e) => e.reason))).toEqual(
      new Set(['missing_credentials', 'unknown_client', 'invalid_secret', 'secret_sent_by_public_client', 'auth_method_not_allowed']),
    );
    expect(new Set(eventsOf('authorization_code.replayed').map((e) => e.detection))).toEqual(new Set(['already_consumed', 'lost_race']));
    expect(new Set(eventsOf('device_code.replayed').map((e) => e.detection))).toEqual(new Set(['already_consumed', 'lost_race']));
    expect(new Set(eventsOf('grant.revoked').map((e) => e.reason))).toEqual(new Set(['authorization_code_replay', 'refresh_token_reuse', 'session_ended', 'device_code_replay', 'revocation_request']));
  });
});
