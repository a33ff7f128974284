// spec/seams/custom-grants.spec.ts
// Issue 12: a grant written from exported names only gets the built-ins' guarantees by default
// (scope checked against the client, pairwise subjects, token.issued), declares the storage it
// needs (checked at startup; ctx.storage holds exactly that), and contributes endpoints,
// discovery members and host API through the same contract, with clashes refused at startup.
import request from 'supertest';
import {
  authorizationCode,
  ConfigurationError,
  createMemoryClientRegistry,
  createMemoryStorage,
  createTokenRouter,
  defineFormEndpoint,
  defineGrant,
  OAuthError,
  refreshToken,
  type AnyGrantStrategy,
  type RefreshGrantExtension,
  type TokenRouterOptions,
} from '../../lib';
import { createExampleApp, main } from '../../examples/custom-grant/token-exchange';
import { basic, createCodeTestApp, createTestApp, decodeJwt, SERVICE_SECRET, WEB_REDIRECT } from '../helpers/create-app';
import { rsaKey } from '../helpers/keys';

const EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const GATEWAY = basic('gateway', 'gateway-secret-0123456789abcdef');

describe('the README custom grant (examples/custom-grant)', () => {
  const { app, events } = createExampleApp();
  const exchange = (scope: string) => request(app).post('/connect/token').set('Authorization', GATEWAY).type('form')
    .send({ grant_type: EXCHANGE, subject_token: 'subject-token-of-alice', subject_token_type: 'urn:ietf:params:oauth:token-type:access_token', scope });

  it('refuses scope=admin superuser for a client registered without them', async () => {
    const res = await exchange('admin superuser');
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ error: 'invalid_scope', error_description: 'A requested scope is not allowed for this client.' });
  });

  it('grants a registered scope and reports token.issued', async () => {
    events.length = 0;
    const res = await exchange('orders:read');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ token_type: 'Bearer', scope: 'orders:read', issued_token_type: 'urn:ietf:params:oauth:token-type:access_token' });
    expect(decodeJwt(res.body.access_token).payload).toMatchObject({ sub: 'alice', client_id: 'gateway', scope: 'orders:read' });
    expect(events).toEqual([expect.objectContaining({ type: 'token.issued', grantType: EXCHANGE, clientId: 'gateway', subject: 'alice', scope: ['orders:read'], idTokenIssued: false })]);
  });

  it('runs as a script against a real loopback server', async () => {
    await expect(main()).resolves.toBeUndefined();
  });
});

const SALT = 'pairwise-salt-for-custom-grants-0123456789';
const userGrant = defineGrant({
  grantType: 'urn:example:user',
  parameters: { user: { required: true, maxLength: 64 }, note: { maxLength: 16 } },
  allowPublicClients: false,
  requires: ['isGrantRevoked'],
  async handle(ctx) {
    const user: string = ctx.params.user;
    // @ts-expect-error an optional parameter may be undefined: it is not typed as a string
    const note: string = ctx.params.note;
    void note;
    const tokens = await ctx.issueTokens({ scope: ctx.grantScope(ctx.requestedScope), session: { subject: user }, grantId: 'g-1' });
    return { ...tokens.body, storage_methods: Object.keys(ctx.storage).join(',') };
  },
});

describe('a custom grant gets the guarantees by default', () => {
  const clients = [
    { client_id: 'pw', client_secret: SERVICE_SECRET, grant_types: ['urn:example:user'], scope: 'openid api', subject_type: 'pairwise' as const, redirect_uris: ['https://pw.example/cb'] },
    { client_id: 'pub', client_secret: SERVICE_SECRET, grant_types: ['urn:example:user'], scope: 'openid api' },
  ];
  const harness = createTestApp({ grants: [userGrant], subjects: { pairwiseSalt: SALT } }, clients);
  const post = (id: string, body: string) => request(harness.app).post('/connect/token').set('Authorization', basic(id, SERVICE_SECRET)).type('form').send(`grant_type=urn%3Aexample%3Auser&${body}`);

  it('maps the subject for a pairwise client in both tokens, and reports the mapped sub', async () => {
    harness.events.length = 0;
    const res = await post('pw', 'user=alice&scope=openid api');
    expect(res.status).toBe(200);
    const sub = decodeJwt(res.body.access_token).payload.sub;
    expect(sub).not.toBe('alice');
    expect(decodeJwt(res.body.id_token).payload.sub).toBe(sub);
    expect(harness.events).toEqual([expect.objectContaining({ type: 'token.issued', subject: sub, grantId: 'g-1', idTokenIssued: true })]);
    // A public-subject client sees the local subject.
    expect(decodeJwt((await post('pub', 'user=alice&scope=api')).body.access_token).payload.sub).toBe('alice');
  });

  it('hands the grant exactly the storage methods it declared', async () => {
    const res = await post('pub', 'user=alice');
    expect(res.body.storage_methods).toBe('isGrantRevoked');
  });

  it('refuses a scope outside the client registration before anything is minted', async () => {
    harness.events.length = 0;
    const res = await post('pub', 'user=alice&scope=api admin');
    expect(res.body).toEqual({ error: 'invalid_scope', error_description: 'A requested scope is not allowed for this client.' });
    expect(harness.events.filter((event) => event.type === 'token.issued')).toEqual([]);
  });

  it('reports token.issued only for the body answered: minted then refused → no event', async () => {
    const minting = defineGrant({
      grantType: 'urn:example:mint-then-fail',
      parameters: {},
      allowPublicClients: false,
      async handle(ctx) {
        await ctx.issueTokens({ scope: ctx.grantScope(undefined), session: { subject: 'u' } });
        throw new OAuthError('invalid_grant', 'Lost a race.');
      },
    });
    const app = createTestApp({ grants: [minting] }, [{ client_id: 'c', client_secret: SERVICE_SECRET, grant_types: ['urn:example:mint-then-fail'] }]);
    const res = await request(app.app).post('/connect/token').set('Authorization', basic('c', SERVICE_SECRET)).type('form').send('grant_type=urn%3Aexample%3Amint-then-fail');
    expect(res.status).toBe(400);
    expect(app.events.map((event) => event.type)).toEqual(['request.rejected']);
  });
});

describe('requires and contributions are checked at startup', () => {
  const base = (grants: readonly AnyGrantStrategy[], storage: TokenRouterOptions['storage'] = createMemoryStorage()): TokenRouterOptions => ({
    issuer: 'https://id.example.test',
    signingKeys: [{ kid: 'k1', privateKey: rsaKey().pem }],
    clients: createMemoryClientRegistry([]),
    storage,
    grants,
  });
  const problemsOf = (options: TokenRouterOptions): string => {
    try {
      createTokenRouter(options);
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigurationError);
      return (error as Error).message;
    }
    throw new Error('did not throw');
  };
  const grant = (patch: Partial<AnyGrantStrategy>): AnyGrantStrategy => ({
    grantType: 'urn:example:g',
    parameters: {},
    allowPublicClients: false,
    handle: async () => ({ access_token: 'x', token_type: 'Bearer', expires_in: 1 }),
    ...patch,
  });

  it('a storage without a required method is refused, naming the grant and the method', () => {
    expect(problemsOf(base([grant({ requires: ['findRefreshToken'] })], { saveRefreshToken: async () => undefined }))).toMatch(/grants\[0\] \(urn:example:g\): needs storage\.findRefreshToken\(\)/);
  });

  it('an unknown storage method name is refused', () => {
    expect(problemsOf(base([grant({ requires: ['findToken' as never] })]))).toMatch(/requires names "findToken", which is not a storage method/);
  });

  it.each<[string, Partial<AnyGrantStrategy>, RegExp]>([
    ['an endpoint on /token', { contribute: () => ({ endpoints: [{ path: '/token', handle: async () => ({}) }] }) }, /contributes the endpoint \/token, which the router already serves/],
    ['a computed discovery member', { contribute: () => ({ metadata: { issuer: 'https://evil.example' } }) }, /contributes the discovery member issuer, which is already set/],
    ['a router member', { contribute: () => ({ hostApi: { wellKnown: {} } }) }, /contributes the router member wellKnown, which is already taken/],
    ['an Express router member', { contribute: () => ({ hostApi: { use: () => undefined } }) }, /contributes the router member use, which is already taken/],
    ['a malformed endpoint path', { contribute: () => ({ endpoints: [{ path: 'no-slash', handle: async () => ({}) }] }) }, /contributes an endpoint that is not/],
  ])('a contribution that clashes is refused: %s', (_label, patch, message) => {
    expect(problemsOf(base([grant(patch)]))).toMatch(message);
  });

  it('two grants contributing the same host API member are refused', () => {
    const api = { contribute: () => ({ hostApi: { sameName: () => undefined } }) };
    expect(problemsOf(base([grant(api), grant({ ...api, grantType: 'urn:example:h' })]))).toMatch(/grant "urn:example:h" contributes the router member sameName/);
  });
});

describe('a contributed endpoint runs the token endpoint pipeline', () => {
  const echo = defineGrant({
    grantType: 'urn:example:echo',
    parameters: {},
    allowPublicClients: false,
    handle: async () => { throw new OAuthError('invalid_grant', 'not used'); },
    contribute: ({ issuer }) => ({
      endpoints: [defineFormEndpoint({
        path: '/echo',
        grantType: 'urn:example:echo',
        parameters: { word: { required: true, maxLength: 8 } },
        handle: async ({ client, params, requestedScope }) => ({ client: client.clientId, word: params.word, scope: requestedScope ?? null }),
      })],
      metadata: { echo_endpoint: `${issuer}/connect/echo` },
      hostApi: { echoHello: () => 'hello' },
    }),
  });
  const clients = [
    { client_id: 'ok', client_secret: SERVICE_SECRET, grant_types: ['urn:example:echo'] },
    { client_id: 'other', client_secret: SERVICE_SECRET, grant_types: ['client_credentials'] },
  ];
  const harness = createTestApp({ grants: [echo] }, clients);
  const post = (auth: string | undefined, body: string) => {
    const req = request(harness.app).post('/connect/echo').type('form');
    return (auth ? req.set('Authorization', auth) : req).send(body);
  };

  it('authenticates the client, checks parameters and answers JSON with no-store', async () => {
    const res = await post(basic('ok', SERVICE_SECRET), 'word=hi&scope=a');
    expect(res.status).toBe(200);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.body).toEqual({ client: 'ok', word: 'hi', scope: ['a'] });
    expect((await post(basic('ok', 'wrong-secret-0123456789'), 'word=hi')).status).toBe(401);
    expect((await post(basic('ok', SERVICE_SECRET), 'word=toolongword')).body).toEqual({ error: 'invalid_request', error_description: 'The word parameter is too long.' });
    expect((await post(basic('other', SERVICE_SECRET), 'word=hi')).body.error).toBe('unauthorized_client');
    expect((await request(harness.app).get('/connect/echo')).status).toBe(405);
    expect((await post(basic('ok', SERVICE_SECRET), 'word=hi').query({ word: 'x' })).body.error).toBe('invalid_request');
  });

  it('publishes the contributed metadata and host API', () => {
    const options: TokenRouterOptions = { issuer: 'https://id.example.test', signingKeys: [{ kid: 'k1', privateKey: rsaKey().pem }], clients: createMemoryClientRegistry([]), grants: [echo] };
    const router = createTokenRouter(options);
    expect(router.metadata().echo_endpoint).toBe('https://id.example.test/connect/echo');
    expect((router as unknown as { echoHello(): string }).echoHello()).toBe('hello');
  });
});

describe('the guarantees hold at run time, not only in the types', () => {
  const clients = [{ client_id: 'c', client_secret: SERVICE_SECRET, grant_types: ['urn:example:cast', 'refresh_token'], scope: 'api' }];
  const post = (app: ReturnType<typeof createTestApp>, body = '') => request(app.app).post('/connect/token').set('Authorization', basic('c', SERVICE_SECRET)).type('form').send(`grant_type=urn%3Aexample%3Acast&${body}`);

  it('issueTokens refuses a scope that did not come from grantScope (a cast or plain JavaScript): 500, no token', async () => {
    const casting: AnyGrantStrategy = {
      grantType: 'urn:example:cast',
      parameters: {},
      allowPublicClients: false,
      async handle(ctx) {
        const tokens = await ctx.issueTokens({ scope: ctx.requestedScope as never, session: { subject: 'u' } });
        return tokens.body;
      },
    };
    const app = createTestApp({ grants: [casting] }, clients);
    const res = await post(app, 'scope=admin');
    expect(res.status).toBe(500);
    expect(res.body).toEqual({ error: 'server_error' });
    expect(app.events.some((event) => event.type === 'token.issued')).toBe(false);
    expect(app.logged.find((entry) => entry.level === 'error')?.details?.errorMessage).toMatch(/issueTokens: scope must be the value ctx\.grantScope\(\) returned/);
  });

  it('grantScope hands out a frozen copy: changing it after the check cannot widen the tokens', async () => {
    const widening: AnyGrantStrategy = {
      grantType: 'urn:example:cast',
      parameters: {},
      allowPublicClients: false,
      async handle(ctx) {
        const scope = ctx.grantScope(ctx.requestedScope);
        expect(() => (scope as unknown as string[]).push('admin')).toThrow(TypeError);
        return (await ctx.issueTokens({ scope, session: { subject: 'u' } })).body;
      },
    };
    const res = await post(createTestApp({ grants: [widening] }, clients), 'scope=api');
    expect(res.status).toBe(200);
    expect(res.body.scope).toBe('api');
  });

  it('refreshTokens.issueFirst refuses an unchecked scope: no refresh family for scopes the client lacks', async () => {
    const family: AnyGrantStrategy = {
      grantType: 'urn:example:cast',
      parameters: {},
      allowPublicClients: false,
      async handle(ctx) {
        const refreshToken = await ctx.refreshTokens.issueFirst({ client: ctx.client, grantId: 'g', session: { subject: 'u' }, scope: ['offline_access', 'admin'] as never, now: ctx.now() });
        return { access_token: 'x', token_type: 'Bearer', expires_in: 1, refresh_token: refreshToken };
      },
    };
    const app = createTestApp({ grants: [family, refreshToken()] }, clients);
    const res = await post(app);
    expect(res.status).toBe(500);
    expect(app.logged.find((entry) => entry.level === 'error')?.details?.errorMessage).toMatch(/refreshTokens\.issueFirst: scope must be the value ctx\.grantScope\(\) returned/);
  });

  it('a refresh extension sees only the parameters it declared, never the refresh token', async () => {
    const seen: Array<Readonly<Record<string, string | undefined>>> = [];
    const extension: RefreshGrantExtension = { name: 'spy', parameters: { profile: { maxLength: 16 } }, async onRefresh({ params }) { seen.push(params); return undefined; } };
    const web = { client_id: 'web-app', client_secret: SERVICE_SECRET, grant_types: ['authorization_code', 'refresh_token'], redirect_uris: [WEB_REDIRECT], scope: 'openid offline_access' };
    const harness = createCodeTestApp({ grants: [authorizationCode(), refreshToken({ extensions: [extension] })] }, [web]);
    const code = await harness.tokenRouter.issueAuthorizationCode({ clientId: 'web-app', redirectUri: WEB_REDIRECT, scope: 'openid offline_access', subject: 'u' });
    const first = await request(harness.app).post('/connect/token').set('Authorization', basic('web-app', SERVICE_SECRET)).type('form').send({ grant_type: 'authorization_code', code: code.code, redirect_uri: WEB_REDIRECT });
    const refreshed = await request(harness.app).post('/connect/token').set('Authorization', basic('web-app', SERVICE_SECRET)).type('form').send({ grant_type: 'refresh_token', refresh_token: first.body.refresh_token, profile: 'p1' });
    expect(refreshed.status).toBe(200);
    expect(seen).toEqual([{ profile: 'p1' }]);
  });
});

describe('contributed endpoints and host API: the grant\'s rules and shapes', () => {
  const startOnly = (allowPublicClients: boolean, patch: Record<string, unknown> = {}): AnyGrantStrategy => ({
    grantType: 'urn:example:start',
    parameters: {},
    allowPublicClients,
    handle: async () => ({ access_token: 'x', token_type: 'Bearer', expires_in: 1 }),
    contribute: () => ({ endpoints: [{ path: '/start', grantType: 'urn:example:start', handle: async ({ client }) => ({ started_for: client.clientId }) }], ...patch }),
  });
  const clients = [
    { client_id: 'pub', token_endpoint_auth_method: 'none' as const, grant_types: ['urn:example:start'] },
    { client_id: 'conf', client_secret: SERVICE_SECRET, grant_types: ['urn:example:start'] },
  ];

  it('a public client cannot use the endpoint of a confidential-only grant (as at /token)', async () => {
    const harness = createTestApp({ grants: [startOnly(false)] }, clients);
    const pub = await request(harness.app).post('/connect/start').type('form').send('client_id=pub');
    expect(pub.status).toBe(400);
    expect(pub.body.error).toBe('unauthorized_client');
    expect((await request(harness.app).post('/connect/start').set('Authorization', basic('conf', SERVICE_SECRET)).type('form').send('')).body).toEqual({ started_for: 'conf' });
    // The same grant allowing public clients lets it through.
    const open = createTestApp({ grants: [startOnly(true)] }, clients);
    expect((await request(open.app).post('/connect/start').type('form').send('client_id=pub')).body).toEqual({ started_for: 'pub' });
  });

  const options = (grants: readonly AnyGrantStrategy[]): TokenRouterOptions => ({ issuer: 'https://id.example.test', signingKeys: [{ kid: 'k1', privateKey: rsaKey().pem }], clients: createMemoryClientRegistry([]), grants });
  it.each<[string, AnyGrantStrategy, RegExp]>([
    ['an endpoint for a grant type the router does not serve', { ...startOnly(false), contribute: () => ({ endpoints: [{ path: '/x', grantType: 'urn:other', handle: async () => ({}) }] }) }, /endpoint \/x for grantType "urn:other", which this router does not serve/],
    ['an endpoint path differing from /token only in case', { ...startOnly(false), contribute: () => ({ endpoints: [{ path: '/Token', handle: async () => ({}) }] }) }, /contributes the endpoint \/Token, which the router already serves/],
    ['a deviceVerification that is not the verification API', startOnly(false, { hostApi: { deviceVerification: 42 } }), /contributes deviceVerification, but it must be an object with lookup, approve and deny methods/],
    ['an issueAuthorizationCode that is not a function', startOnly(false, { hostApi: { issueAuthorizationCode: 'nope' } }), /contributes issueAuthorizationCode, but it must be a function/],
    ['validateSetup returning no array', { ...startOnly(false), validateSetup: () => undefined as never }, /validateSetup must return an array of problem messages/],
  ])('refused at startup: %s', (_label, grant, message) => {
    expect(() => createTokenRouter(options([grant]))).toThrow(ConfigurationError);
    expect(() => createTokenRouter(options([grant]))).toThrow(message);
  });
});
