// spec/grants/resource-indicators.spec.ts
// RFC 8707 resource indicators on every grant: `resource` checked against the client's registered
// `resources` and the router's `resources` option (`invalid_target` otherwise), the access token's
// `aud` = the resources, its lifetime and scope per resource, narrowing (never widening) on the
// code, refresh and device grants, and a custom grant through ctx.grantResources.
import { defineGrant, hashOpaqueToken, type GrantedResources, type MemoryStorage, type TokenEndpointEvent } from '../../lib';
import { basic, decodeJwt, ISSUER, SERVICE_SECRET } from '../helpers/create-app';
import { CHALLENGE, redeem, VERIFIER } from '../helpers/code-flow';
import { approval, deviceRecord, pollDevice, startDevice } from '../helpers/device-flow';
import { refresh } from '../helpers/refresh-flow';
import { BILLING, createResourceTestApp, ORDERS, REPORTS, resources, RS_REDIRECT, tokenRequest, UNKNOWN } from '../helpers/resource-flow';
import request from 'supertest';

const CC = ['grant_type', 'client_credentials'] as const;
const payloadOf = (token: string) => decodeJwt(token).payload;
const issued = (events: TokenEndpointEvent[]) => events.filter((event) => event.type === 'token.issued');

describe('client_credentials with resource indicators (RFC 8707)', () => {
  const harness = createResourceTestApp();
  const { app } = harness;

  it('one resource: aud is that resource (a string), scope narrowed to its scopes plus scopes of no resource, lifetime its own', async () => {
    const res = await tokenRequest(app, 'rs-service', [CC, ['scope', 'profile orders:read billing:read'], ...resources(ORDERS)]);
    expect(res.status).toBe(200);
    expect(res.body.scope).toBe('profile orders:read');
    expect(res.body.expires_in).toBe(600);
    const payload = payloadOf(res.body.access_token);
    expect(payload.aud).toBe(ORDERS);
    expect(payload.scope).toBe('profile orders:read');
    expect((payload.exp as number) - (payload.iat as number)).toBe(600);
  });

  it('several resources (repeated parameter): aud is an array in request order, scopes of each kept, the shortest lifetime applies', async () => {
    const res = await tokenRequest(app, 'rs-service', [CC, ...resources(ORDERS), ['scope', 'orders:read billing:read'], ...resources(BILLING)]);
    expect(res.status).toBe(200);
    expect(payloadOf(res.body.access_token).aud).toEqual([ORDERS, BILLING]);
    expect(res.body.scope).toBe('orders:read billing:read');
    expect(res.body.expires_in).toBe(300);
  });

  it('a resource without settings: scopes that belong to other resources are left out, the router lifetime applies', async () => {
    const res = await tokenRequest(app, 'rs-service', [CC, ['scope', 'profile orders:read'], ...resources(REPORTS)]);
    expect(res.status).toBe(200);
    expect(payloadOf(res.body.access_token).aud).toBe(REPORTS);
    expect(res.body.scope).toBe('profile');
    expect(res.body.expires_in).toBe(3600);
  });

  it('the same resource twice counts once', async () => {
    const res = await tokenRequest(app, 'rs-service', [CC, ['scope', 'orders:read'], ...resources(ORDERS, ORDERS)]);
    expect(res.status).toBe(200);
    expect(payloadOf(res.body.access_token).aud).toBe(ORDERS);
  });

  it('a client access_token_ttl and a resource lifetime: the shorter wins', async () => {
    const orders = await tokenRequest(app, 'rs-short', [CC, ...resources(ORDERS)]);
    expect(orders.body.expires_in).toBe(120);
    // REPORTS sets no lifetime: the client's own applies.
    const reports = await tokenRequest(app, 'rs-short', [CC, ...resources(REPORTS)]);
    expect(reports.body.expires_in).toBe(120);
  });

  it('without resource: aud and lifetime as before (the router default, or the client audience), scope not narrowed', async () => {
    const res = await tokenRequest(app, 'rs-service', [CC, ['scope', 'orders:read billing:read']]);
    expect(res.status).toBe(200);
    expect(payloadOf(res.body.access_token).aud).toBe(ISSUER);
    expect(res.body.scope).toBe('orders:read billing:read');
    expect(res.body.expires_in).toBe(3600);
    const legacy = await tokenRequest(app, 'rs-none', [CC]);
    expect(payloadOf(legacy.body.access_token).aud).toBe('https://legacy.example.test');
  });

  it.each<[string, string, string[]]>([
    ['a resource outside the client\'s list', 'rs-orders', [BILLING]],
    ['one allowed and one not', 'rs-orders', [ORDERS, BILLING]],
    ['a resource the router does not know', 'rs-service', [UNKNOWN]],
    ['any resource for a client without a resources list', 'rs-none', [ORDERS]],
  ])('%s → 400 invalid_target, nothing issued, nothing of the request echoed', async (_what, clientId, uris) => {
    harness.events.length = 0;
    const res = await tokenRequest(app, clientId, [CC, ...resources(...uris)]);
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ error: 'invalid_target', error_description: 'A requested resource is not allowed for this client.' });
    expect(res.text).not.toContain('example.test');
    expect(issued(harness.events)).toEqual([]);
  });

  it('reports the resources in token.issued, with the narrowed scope', async () => {
    harness.events.length = 0;
    const res = await tokenRequest(app, 'rs-service', [CC, ['scope', 'orders:read billing:read'], ...resources(BILLING, REPORTS)]);
    expect(res.status).toBe(200);
    expect(issued(harness.events)).toEqual([expect.objectContaining({ grantType: 'client_credentials', scope: ['billing:read'], resources: [BILLING, REPORTS] })]);
    harness.events.length = 0;
    await tokenRequest(app, 'rs-service', [CC, ['scope', 'orders:read']]);
    expect(issued(harness.events)[0]).not.toHaveProperty('resources');
  });
});

describe('authorization_code with resource indicators', () => {
  const harness = createResourceTestApp();
  const { app, tokenRouter } = harness;
  const mint = (resourcesGranted: string | readonly string[] | undefined, clientId = 'rs-web') =>
    tokenRouter.issueAuthorizationCode({
      clientId,
      redirectUri: RS_REDIRECT,
      scope: 'openid offline_access profile orders:read billing:read',
      subject: 'user-1',
      codeChallenge: CHALLENGE,
      codeChallengeMethod: 'S256',
      ...(resourcesGranted !== undefined && { resources: resourcesGranted }),
    });
  const redeemWith = (code: string, extra: ReadonlyArray<readonly [string, string]> = []) =>
    tokenRequest(app, 'rs-web', [['grant_type', 'authorization_code'], ['code', code], ['redirect_uri', RS_REDIRECT], ['code_verifier', VERIFIER], ...extra]);

  it('issueAuthorizationCode stores the granted resources with the code (duplicates dropped)', async () => {
    const { code } = await mint([ORDERS, BILLING, ORDERS]);
    expect((await harness.storage.findAuthorizationCode(hashOpaqueToken(code)))?.resources).toEqual([ORDERS, BILLING]);
    const { code: single } = await mint(REPORTS);
    expect((await harness.storage.findAuthorizationCode(hashOpaqueToken(single)))?.resources).toEqual([REPORTS]);
    const { code: none } = await mint(undefined);
    expect(await harness.storage.findAuthorizationCode(hashOpaqueToken(none))).not.toHaveProperty('resources');
  });

  it.each<[string, string | readonly string[], string, RegExp]>([
    ['a resource outside the client\'s list', [ORDERS, BILLING], 'rs-web-orders', /not allowed for this client/],
    ['a resource the router does not know', [UNKNOWN], 'rs-web', /not allowed for this client/],
    ['a relative URI', ['/orders'], 'rs-web', /absolute URI without a fragment/],
    ['a fragment', [`${ORDERS}#x`], 'rs-web', /absolute URI without a fragment/],
  ])('issueAuthorizationCode refuses %s with an OAuthError invalid_target (nothing stored)', async (_what, granted, clientId, description) => {
    const before = (harness.storage as MemoryStorage).size().codes;
    await expect(mint(granted, clientId)).rejects.toMatchObject({ name: 'OAuthError', error: 'invalid_target', description: expect.stringMatching(description) });
    expect((harness.storage as MemoryStorage).size().codes).toBe(before);
  });

  it('issueAuthorizationCode refuses a resources value that is not a string or an array of strings with a TypeError', async () => {
    await expect(mint([42] as unknown as string[])).rejects.toBeInstanceOf(TypeError);
  });

  it('without resource the token is for every granted resource; the ID token is unaffected', async () => {
    const { code } = await mint([ORDERS, BILLING]);
    const res = await redeemWith(code);
    expect(res.status).toBe(200);
    expect(payloadOf(res.body.access_token).aud).toEqual([ORDERS, BILLING]);
    expect(res.body.scope).toBe('openid offline_access profile orders:read billing:read');
    expect(res.body.expires_in).toBe(300);
    expect(payloadOf(res.body.id_token).aud).toBe('rs-web');
  });

  it('resource narrows the access token to a subset; scope follows; the refresh family keeps every granted resource and the whole scope', async () => {
    const { code } = await mint([ORDERS, BILLING]);
    const res = await redeemWith(code, resources(ORDERS));
    expect(res.status).toBe(200);
    expect(payloadOf(res.body.access_token).aud).toBe(ORDERS);
    expect(res.body.scope).toBe('openid offline_access profile orders:read');
    expect(res.body.expires_in).toBe(600);
    const family = await harness.storage.findRefreshToken(hashOpaqueToken(res.body.refresh_token));
    expect(family?.resources).toEqual([ORDERS, BILLING]);
    expect(family?.scope).toEqual(['openid', 'offline_access', 'profile', 'orders:read', 'billing:read']);
  });

  it.each<[string, string[] | undefined, string[]]>([
    ['a resource the code was not granted for (widening)', [ORDERS], [BILLING]],
    ['one granted and one not', [ORDERS], [ORDERS, REPORTS]],
    ['any resource when the code has none', undefined, [ORDERS]],
  ])('%s → invalid_target, and the code is not burnt', async (_what, granted, requested) => {
    const { code } = await mint(granted);
    const refused = await redeemWith(code, resources(...requested));
    expect(refused.status).toBe(400);
    expect(refused.body).toEqual({ error: 'invalid_target', error_description: 'A requested resource is not allowed for this authorization code (it may only narrow the granted resources).' });
    // Every check runs before the consume (decision D38/D43): the code still works.
    expect((await redeemWith(code)).status).toBe(200);
  });
});

describe('refresh_token with resource indicators', () => {
  const harness = createResourceTestApp();
  const { app, tokenRouter } = harness;
  const caller = { id: 'rs-web', secret: SERVICE_SECRET };

  async function start(granted: readonly string[] | undefined, narrowTo: readonly string[] = []): Promise<string> {
    const { code } = await tokenRouter.issueAuthorizationCode({
      clientId: 'rs-web',
      redirectUri: RS_REDIRECT,
      scope: 'openid offline_access orders:read billing:read',
      subject: 'user-1',
      codeChallenge: CHALLENGE,
      codeChallengeMethod: 'S256',
      ...(granted !== undefined && { resources: granted }),
    });
    const res = await tokenRequest(app, 'rs-web', [['grant_type', 'authorization_code'], ['code', code], ['redirect_uri', RS_REDIRECT], ['code_verifier', VERIFIER], ...resources(...narrowTo)]);
    expect(res.status).toBe(200);
    return res.body.refresh_token as string;
  }
  const refreshWith = (token: string, extra: ReadonlyArray<readonly [string, string]> = []) => tokenRequest(app, 'rs-web', [['grant_type', 'refresh_token'], ['refresh_token', token], ...extra]);

  it('a refresh without resource is for every resource of the grant, also after the code request narrowed its token', async () => {
    const token = await start([ORDERS, BILLING], [ORDERS]);
    const res = await refreshWith(token);
    expect(res.status).toBe(200);
    expect(payloadOf(res.body.access_token).aud).toEqual([ORDERS, BILLING]);
    expect(res.body.scope).toBe('openid offline_access orders:read billing:read');
  });

  it('a refresh may narrow to any subset of the grant (RFC 8707 §2.2); the successor keeps the whole set', async () => {
    const token = await start([ORDERS, BILLING, REPORTS]);
    const billing = await refreshWith(token, resources(BILLING));
    expect(billing.status).toBe(200);
    expect(payloadOf(billing.body.access_token).aud).toBe(BILLING);
    expect(billing.body.scope).toBe('openid offline_access billing:read');
    expect(billing.body.expires_in).toBe(300);
    const successor = await harness.storage.findRefreshToken(hashOpaqueToken(billing.body.refresh_token));
    expect(successor?.resources).toEqual([ORDERS, BILLING, REPORTS]);
    // The next refresh may ask for another resource of the grant.
    const both = await refreshWith(billing.body.refresh_token, resources(REPORTS, ORDERS));
    expect(both.status).toBe(200);
    expect(payloadOf(both.body.access_token).aud).toEqual([REPORTS, ORDERS]);
  });

  it.each<[string, string[] | undefined, string[]]>([
    ['a resource outside the grant (widening)', [ORDERS], [BILLING]],
    ['a resource when the grant has none', undefined, [ORDERS]],
  ])('%s → invalid_target, the refresh token still works', async (_what, granted, requested) => {
    const token = await start(granted);
    const refused = await refreshWith(token, resources(...requested));
    expect(refused.status).toBe(400);
    expect(refused.body).toEqual({ error: 'invalid_target', error_description: 'A requested resource is not allowed for this refresh token (it may only narrow the granted resources).' });
    expect((await refreshWith(token)).status).toBe(200);
  });

  it('refresh() of the shared helper sends one resource as well', async () => {
    const token = await start([ORDERS, BILLING]);
    const res = await refresh(app, token, caller, { resource: ORDERS });
    expect(res.status).toBe(200);
    expect(payloadOf(res.body.access_token).aud).toBe(ORDERS);
  });
});

describe('device authorization grant with resource indicators', () => {
  const harness = createResourceTestApp();
  const { app, tokenRouter } = harness;
  const TV = { id: 'rs-tv', secret: SERVICE_SECRET };
  const authorize = (pairs: ReadonlyArray<readonly [string, string]>) =>
    request(app).post('/connect/deviceauthorization').set('Authorization', basic('rs-tv', SERVICE_SECRET)).type('form').send(pairs.map(([n, v]) => `${n}=${encodeURIComponent(v)}`).join('&'));

  async function approved(requested: readonly string[]): Promise<string> {
    const res = await authorize([['scope', 'openid offline_access orders:read billing:read'], ...resources(...requested)]);
    expect(res.status).toBe(200);
    await tokenRouter.deviceVerification.approve(res.body.user_code, approval(), { key: 'approver' });
    return res.body.device_code as string;
  }

  it('the device authorization request stores its resources with the device code; the verification page sees them', async () => {
    const res = await authorize([['scope', 'openid orders:read'], ...resources(ORDERS, BILLING)]);
    expect(res.status).toBe(200);
    expect(await tokenRouter.deviceVerification.lookup(res.body.user_code, { key: 'approver' })).toMatchObject({ status: 'pending', resources: [ORDERS, BILLING] });
    expect((await deviceRecord(harness, res.body.device_code)).resources).toEqual([ORDERS, BILLING]);
    const without = await authorize([['scope', 'openid']]);
    expect(await tokenRouter.deviceVerification.lookup(without.body.user_code, { key: 'approver' })).not.toHaveProperty('resources');
  });

  it('a resource the client may not request, or a malformed one, is refused at the device authorization endpoint', async () => {
    const unknown = await authorize([['scope', 'openid'], ...resources(UNKNOWN)]);
    expect(unknown.status).toBe(400);
    expect(unknown.body).toEqual({ error: 'invalid_target', error_description: 'A requested resource is not allowed for this client.' });
    const fragment = await authorize([['scope', 'openid'], ...resources(`${ORDERS}#frag`)]);
    expect(fragment.body.error).toBe('invalid_target');
  });

  it('the poll without resource gets every requested resource; the family keeps them', async () => {
    const deviceCodeValue = await approved([ORDERS, BILLING]);
    harness.clock.advance(6000);
    const res = await pollDevice(app, deviceCodeValue, TV);
    expect(res.status).toBe(200);
    expect(payloadOf(res.body.access_token).aud).toEqual([ORDERS, BILLING]);
    expect((await harness.storage.findRefreshToken(hashOpaqueToken(res.body.refresh_token)))?.resources).toEqual([ORDERS, BILLING]);
  });

  it('the poll may narrow to a subset; the family keeps the whole set', async () => {
    const deviceCodeValue = await approved([ORDERS, BILLING]);
    harness.clock.advance(6000);
    const res = await pollDevice(app, deviceCodeValue, TV, { resource: BILLING });
    expect(res.status).toBe(200);
    expect(payloadOf(res.body.access_token).aud).toBe(BILLING);
    expect(res.body.scope).toBe('openid offline_access billing:read');
    expect((await harness.storage.findRefreshToken(hashOpaqueToken(res.body.refresh_token)))?.resources).toEqual([ORDERS, BILLING]);
  });

  it('the poll cannot widen: invalid_target, and the approved code is still redeemable', async () => {
    const deviceCodeValue = await approved([ORDERS]);
    harness.clock.advance(6000);
    const refused = await pollDevice(app, deviceCodeValue, TV, { resource: REPORTS });
    expect(refused.status).toBe(400);
    expect(refused.body).toEqual({ error: 'invalid_target', error_description: 'A requested resource is not allowed for this device authorization (it may only narrow the requested resources).' });
    harness.clock.advance(6000);
    const ok = await pollDevice(app, deviceCodeValue, TV);
    expect(ok.status).toBe(200);
    expect(payloadOf(ok.body.access_token).aud).toBe(ORDERS);
  });

  it('a device request without resources keeps the default audience', async () => {
    const started = await startDevice(app, { scope: 'openid' }, TV);
    await tokenRouter.deviceVerification.approve(started.user_code, approval(), { key: 'approver' });
    harness.clock.advance(6000);
    const res = await pollDevice(app, started.device_code, TV);
    expect(res.status).toBe(200);
    expect(payloadOf(res.body.access_token).aud).toBe(ISSUER);
  });
});

describe('a custom grant sets the audience with ctx.grantResources', () => {
  const EXCHANGE = 'urn:example:grant-type:exchange';
  let castAttempt = false;
  const exchange = defineGrant({
    grantType: EXCHANGE,
    parameters: {},
    allowPublicClients: false,
    async handle(ctx) {
      const scope = ctx.grantScope(ctx.requestedScope);
      // A grant that skips the check (a cast) is refused at run time: 500, nothing issued.
      const resourcesGranted = castAttempt ? ([ORDERS] as readonly string[] as GrantedResources) : ctx.grantResources(ctx.requestedResources, { within: [ORDERS, REPORTS], withinDescription: 'this exchange', fallback: [REPORTS] });
      // `aud` in accessTokenClaims is a protected claim: dropped, whatever the grant asks.
      const tokens = await ctx.issueTokens({ scope, resources: resourcesGranted, session: { subject: 'user-9' }, accessTokenClaims: { aud: 'https://evil.example' }, actor: { sub: ctx.client.clientId } });
      return tokens.body;
    },
  });
  const clients = [{ client_id: 'rs-exchange', client_secret: SERVICE_SECRET, grant_types: [EXCHANGE], scope: 'orders:read billing:read', resources: [ORDERS, BILLING, REPORTS] }];
  const harness = createResourceTestApp({}, [exchange], clients);
  const post = (pairs: ReadonlyArray<readonly [string, string]>) => tokenRequest(harness.app, 'rs-exchange', [['grant_type', EXCHANGE], ...pairs]);

  afterEach(() => { castAttempt = false; });

  it('requested resources checked against the client and the grant\'s own limit become aud; aud in accessTokenClaims is dropped', async () => {
    const res = await post([['scope', 'orders:read billing:read'], ...resources(ORDERS)]);
    expect(res.status).toBe(200);
    const payload = payloadOf(res.body.access_token);
    expect(payload.aud).toBe(ORDERS);
    expect(payload.act).toEqual({ sub: 'rs-exchange' });
    expect(res.body.scope).toBe('orders:read');
  });

  it('the fallback applies without resource', async () => {
    const res = await post([]);
    expect(res.status).toBe(200);
    expect(payloadOf(res.body.access_token).aud).toBe(REPORTS);
  });

  it('a resource outside the grant\'s limit → invalid_target with the grant\'s description', async () => {
    const res = await post(resources(BILLING));
    expect(res.body).toEqual({ error: 'invalid_target', error_description: 'A requested resource is not allowed for this exchange.' });
  });

  it('an unchecked array cast to GrantedResources → 500, nothing issued', async () => {
    castAttempt = true;
    harness.events.length = 0;
    const res = await post(resources(ORDERS));
    expect(res.status).toBe(500);
    expect(issued(harness.events)).toEqual([]);
    expect(harness.logged.some((entry) => entry.level === 'error' && String(entry.details?.errorMessage).includes('ctx.grantResources()'))).toBe(true);
  });

  it('sees the parsed resources in ctx.requestedResources', async () => {
    const seen: Array<readonly string[] | undefined> = [];
    const probe = defineGrant({
      grantType: 'urn:example:grant-type:probe',
      parameters: {},
      allowPublicClients: false,
      async handle(ctx) {
        seen.push(ctx.requestedResources);
        return (await ctx.issueTokens({ scope: ctx.grantScope(undefined) })).body;
      },
    });
    const app = createResourceTestApp({}, [probe], [{ client_id: 'probe', client_secret: SERVICE_SECRET, grant_types: ['urn:example:grant-type:probe'] }]).app;
    await tokenRequest(app, 'probe', [['grant_type', 'urn:example:grant-type:probe'], ...resources(ORDERS, UNKNOWN, ORDERS)]);
    await tokenRequest(app, 'probe', [['grant_type', 'urn:example:grant-type:probe']]);
    expect(seen).toEqual([[ORDERS, UNKNOWN], undefined]);
  });

  it('a grant cannot declare resource as its own parameter (the router reads it)', () => {
    const declaring = defineGrant({ grantType: 'urn:example:grant-type:declares', parameters: { resource: {} }, allowPublicClients: false, handle: async () => ({ access_token: 'x', token_type: 'Bearer', expires_in: 1 }) });
    expect(() => createResourceTestApp({}, [declaring])).toThrow(/parameters\.resource: the router handles resource itself/);
  });
});

describe('discovery with resource indicators', () => {
  it('publishes nothing new: RFC 8707 defines no metadata (and RFC 9728 protected_resources is not published)', () => {
    const withResources = createResourceTestApp().tokenRouter.metadata();
    const without = createResourceTestApp({ resources: undefined }, [], []).tokenRouter.metadata();
    expect(withResources).toEqual(without);
    expect(withResources).not.toHaveProperty('protected_resources');
  });
});

describe('a grant whose resources are no longer allowed for the client', () => {
  it('refuses the refresh (invalid_target) instead of issuing a token for the default audience', async () => {
    const base = createResourceTestApp();
    const { code } = await base.tokenRouter.issueAuthorizationCode({ clientId: 'rs-web', redirectUri: RS_REDIRECT, scope: 'openid offline_access', subject: 'user-1', codeChallenge: CHALLENGE, codeChallengeMethod: 'S256', resources: [BILLING] });
    const first = await redeem(base.app, { code, redirect_uri: RS_REDIRECT, code_verifier: VERIFIER }, { id: 'rs-web', secret: SERVICE_SECRET });
    expect(first.status).toBe(200);
    // The same storage behind a router whose client may now request ORDERS only.
    const narrowed = createResourceTestApp({ storage: base.storage }, [], [{ client_id: 'rs-web', client_secret: SERVICE_SECRET, grant_types: ['authorization_code', 'refresh_token'], redirect_uris: [RS_REDIRECT], scope: 'openid offline_access', resources: [ORDERS] }]);
    narrowed.clock.set(base.clock());
    const res = await tokenRequest(narrowed.app, 'rs-web', [['grant_type', 'refresh_token'], ['refresh_token', first.body.refresh_token]]);
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ error: 'invalid_target', error_description: 'None of the granted resources is still allowed for this client.' });
  });
});
