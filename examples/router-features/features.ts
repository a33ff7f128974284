// examples/router-features/features.ts
// The option snippets of the docs pages, each in a `// #region` that the page shows verbatim
// (spec/docs/doc-snippets.spec.ts keeps the copies identical). `npm run examples` compiles this file
// with --strict against the built package and runs main(), which exercises every region through
// HTTP with supertest. `options` stands for your issuer, signing keys, clients and storage.
import { strict as assert } from 'node:assert';
import { generateKeyPairSync } from 'node:crypto';
import request from 'supertest';
import express, { type Request } from 'express';
import {
  accessTokenOf,
  authorizationCode,
  clientCredentials,
  createMemoryClientRegistry,
  createMemoryStorage,
  createTokenRouter,
  defaultGrants,
  deviceCode,
  EVENT_SCHEMA_VERSION,
  introspection,
  refreshToken,
  requireAccessToken,
  revocation,
  TELENORID_REFRESH_POLICIES,
  tokenExchange,
  type JwksKeySource,
  type TokenEndpointEvent,
  type TokenRouter,
  type TokenRouterOptions,
} from 'express-token-endpoint';
import { openTelemetry } from 'express-token-endpoint/opentelemetry';

const pemKey = (type: 'rsa' | 'ec'): string =>
  type === 'rsa'
    ? generateKeyPairSync('rsa', { modulusLength: 2048, privateKeyEncoding: { type: 'pkcs8', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' } }).privateKey
    : generateKeyPairSync('ec', { namedCurve: 'P-256', privateKeyEncoding: { type: 'pkcs8', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' } }).privateKey;
const oldPem = pemKey('rsa');
const newPem = pemKey('ec');
const ISSUER = 'https://id.example.com';
const SECRET = 'secret-change-me-0123456789abcdef';

/** The options every region starts from. */
function baseOptions(): TokenRouterOptions {
  return {
    issuer: ISSUER,
    signingKeys: [{ kid: '2026-01', alg: 'RS256', privateKey: oldPem }],
    clients: createMemoryClientRegistry([
      { client_id: 'web', client_secret: SECRET, grant_types: ['authorization_code', 'refresh_token', 'client_credentials'], redirect_uris: ['https://web.example.com/cb'], scope: 'openid offline_access api:read profile orders:read' },
      { client_id: 'api-gateway', client_secret: SECRET, grant_types: ['urn:ietf:params:oauth:grant-type:token-exchange'], scope: 'orders:read' },
      // #region introspection-client
      { client_id: 'orders-api', client_secret: SECRET, grant_types: ['client_credentials'], introspection_allowed: true },
      // #endregion introspection-client
      { client_id: 'tv-app', token_endpoint_auth_method: 'none', grant_types: ['urn:ietf:params:oauth:grant-type:device_code', 'refresh_token'], scope: 'openid offline_access', refresh_token_policy: 'Mobile' },
    ]),
    storage: createMemoryStorage(),
    refreshTokens: { policies: TELENORID_REFRESH_POLICIES },
    onEvent: () => undefined,
    // These routers share one client list, so each would warn about the clients' grants it does not serve.
    logger: { warn: () => undefined, error: (message, details) => console.error(message, details) },
  };
}

function refreshPolicies(options: TokenRouterOptions): TokenRouter {
  // #region refresh-policies
  const tokenRouter = createTokenRouter({
    ...options,
    refreshTokens: {
      policies: TELENORID_REFRESH_POLICIES, // NoRefresh, Confidential, Mobile, PublicWeb, Web
      defaultPolicy: { confidential: 'Confidential', public: 'NoRefresh' },
    },
    grants: [authorizationCode(), clientCredentials(), refreshToken({ retryWindowSeconds: 5 })],
  });
  // A client picks one by name: { client_id: 'tv-app', token_endpoint_auth_method: 'none', refresh_token_policy: 'Mobile', … }
  // #endregion refresh-policies
  return tokenRouter;
}

function resourceIndicators(options: TokenRouterOptions): TokenRouter {
  // #region resources
  const tokenRouter = createTokenRouter({
    ...options,
    resources: {
      'https://api.example.com/orders': { scopes: ['orders:read', 'orders:write'], accessTokenTtl: 600 },
      'https://api.example.com/billing': { scopes: ['billing:read'] },
    },
    clients: createMemoryClientRegistry([
      {
        client_id: 'shop', client_secret: process.env.SHOP_SECRET!, grant_types: ['client_credentials'],
        scope: 'orders:read billing:read',
        resources: ['https://api.example.com/orders', 'https://api.example.com/billing'],
      },
    ]),
  });
  // #endregion resources
  return tokenRouter;
}

function rotateSigningKeys(tokenRouter: TokenRouter): void {
  // #region signing-key-rotation
  tokenRouter.setSigningKeys([
    { kid: '2026-07', alg: 'ES256', privateKey: newPem, status: 'active' },
    { kid: '2026-01', alg: 'RS256', privateKey: oldPem, status: 'retiring' },
  ]);
  // #endregion signing-key-rotation
}

function behindProxy(app: express.Express): void {
  // #region trust-proxy
  app.set('trust proxy', 1); // one load balancer in front: trust one hop
  app.set('trust proxy', ['loopback', '10.0.0.0/8']); // or the proxies' addresses
  // #endregion trust-proxy
}

function auditEvents(options: TokenRouterOptions, auditLog: { write(line: string): void }, securityAlerts: TokenEndpointEvent[]): TokenRouter {
  // #region audit-events
  function auditLine(event: TokenEndpointEvent): string {
    const { type, at, ...fields } = event;
    return JSON.stringify({ event: type, time: new Date(at).toISOString(), schema: EVENT_SCHEMA_VERSION, ...fields });
  }

  const tokenRouter = createTokenRouter({
    ...options,
    onEvent: (event) => {
      auditLog.write(`${auditLine(event)}\n`);
      switch (event.type) {
        case 'authorization_code.replayed':
        case 'device_code.replayed':
        case 'refresh_token.reused':
          securityAlerts.push(event); // your alerting: likely token theft
          break;
        default:
          break; // ignore types this version of your code does not know
      }
    },
  });
  // #endregion audit-events
  return tokenRouter;
}

function withTelemetry(options: TokenRouterOptions): TokenRouter {
  // #region opentelemetry
  const tokenRouter = createTokenRouter({
    ...options,
    // The global providers (registered by NodeSDK.start() or your own setup), or pass them:
    // openTelemetry({ tracerProvider, meterProvider })
    telemetry: openTelemetry(),
  });
  // #endregion opentelemetry
  return tokenRouter;
}

function protectRoute(app: express.Express, tokenRouter: TokenRouter): void {
  // #region protect-route
  app.get(
    '/api/me',
    tokenRouter.requireAccessToken({
      audience: 'https://id.example.com', // required: the token's aud must contain one of these (string or array)
      scope: 'profile', // optional: every one required (string or array)
      clockToleranceSeconds: 5, // optional: skew on exp/nbf/iat, 0–30 s, default 5
    }),
    (req, res) => {
      const { claims, scopes } = accessTokenOf(req); // the verified token (throws if no middleware ran)
      res.json({ sub: claims.sub, client_id: claims.client_id, scopes });
    },
  );
  // #endregion protect-route
}

function protectOtherApp(app: express.Express, jwks: JwksKeySource, revokedJtis: Set<string>): void {
  // #region protect-other-app
  app.use(
    '/orders',
    requireAccessToken({
      issuer: 'https://id.example.com',
      jwks, // { keys: [...] }: the issuer's JWKS, parsed once here
      // jwks: { getKey: (kid) => cache.get(kid) }, // or your own lookup (a JWKS cache refreshed in the background)
      audience: 'https://orders.example.com',
      scope: ['orders:read'],
      isRevoked: async ({ jti }) => revokedJtis.has(jti), // optional
    }),
  );
  // #endregion protect-other-app
}

/** Your user, as your session knows it. */
interface SignedInUser {
  readonly id: string;
  readonly authTime: number;
}

function devicePage(app: express.Express, tokenRouter: TokenRouter, currentUser: (req: Request) => SignedInUser | undefined): void {
  // #region device-page
  // POST /device: the signed-in user typed the code shown on the device and chose approve or deny.
  app.post('/device', express.urlencoded({ extended: false }), async (req, res) => {
    const user = currentUser(req); // your session: sign the user in first
    if (!user) {
      res.status(401).send('Sign in first.');
      return;
    }
    const body = req.body as { user_code?: unknown; decision?: unknown };
    const userCode = typeof body.user_code === 'string' ? body.user_code : '';
    const context = { key: req.ip }; // wrong codes count per caller: 10 misses in 15 minutes, then rate_limited
    const found = await tokenRouter.deviceVerification.lookup(userCode, context);
    // found.status: 'pending' (with client, scope, resources?, expiresAt) | 'invalid' | 'expired' | 'already_decided' | 'rate_limited'
    if (found.status !== 'pending') {
      res.status(found.status === 'rate_limited' ? 429 : 400).send(`This code cannot be used (${found.status}).`);
      return;
    }
    // A real page shows found.client and found.scope and asks first; here the form carries the decision.
    const result = body.decision === 'approve'
      ? await tokenRouter.deviceVerification.approve(userCode, { subject: user.id, authTime: user.authTime, amr: ['pwd'] }, context)
      : await tokenRouter.deviceVerification.deny(userCode, context);
    res.send(result.status === 'approved' ? 'Approved. You may return to your device.' : `Not approved (${result.status}).`);
  });
  // #endregion device-page
}

function tokenService(options: TokenRouterOptions, partnerPublicPem: string): TokenRouter {
  // #region token-service
  const tokenRouter = createTokenRouter({
    ...options,
    grants: [
      ...defaultGrants(),
      tokenExchange({
        policy: async ({ client, subjectToken }) => {
          // Our own web app's user tokens only (a partner JWT has issuer ≠ ours and no clientId).
          if (client.client_id !== 'api-gateway' || subjectToken.issuer !== ISSUER || subjectToken.clientId !== 'web') return false; // 400 invalid_request
          // Consent is the policy's to keep: orders:read only for tokens the user consented to api:read for.
          if (!subjectToken.scope.includes('api:read')) return false;
          return { scope: ['orders:read'] }; // the most the new token may carry
        },
        trustedIssuers: [{ issuer: 'https://partner.example', keys: [{ kid: 'p1', key: partnerPublicPem }] }],
      }),
    ],
    endpoints: [
      revocation(), // POST <mount>/revocation (RFC 7009): clients revoke their own tokens
      introspection(), // POST <mount>/introspection (RFC 7662): for clients registered with introspection_allowed: true
    ],
  });
  // #endregion token-service
  return tokenRouter;
}

function introspectionByHook(options: TokenRouterOptions): TokenRouter {
  // #region introspection-hook
  // Who may introspect what, decided per token (then introspection_allowed is neither needed nor enough):
  const tokenRouter = createTokenRouter({
    ...options,
    endpoints: [introspection({ authorize: ({ client, token }) => [token.aud].flat().includes(`https://${client.client_id}.example.com`) })],
  });
  // #endregion introspection-hook
  return tokenRouter;
}

async function main(): Promise<void> {
  process.env.SHOP_SECRET = SECRET;
  const form = (app: express.Express, path: string, clientId: string, body: Record<string, string>) =>
    request(app).post(path).auth(clientId, SECRET).type('form').send(body);

  // Refresh policies: the router accepts the TelenorID+ presets and the Mobile client by name.
  const policies = express().use('/connect', refreshPolicies(baseOptions()));
  assert.equal((await form(policies, '/connect/token', 'web', { grant_type: 'client_credentials', scope: 'api:read' })).status, 200);

  // Resource indicators: aud is the resource, the lifetime its accessTokenTtl, the scope narrowed to it.
  const resources = express().use('/connect', resourceIndicators(baseOptions()));
  const forOrders = await form(resources, '/connect/token', 'shop', { grant_type: 'client_credentials', resource: 'https://api.example.com/orders' });
  assert.equal(forOrders.status, 200, JSON.stringify(forOrders.body));
  assert.equal(forOrders.body.expires_in, 600);
  assert.equal(forOrders.body.scope, 'orders:read');
  const claims = JSON.parse(Buffer.from(String(forOrders.body.access_token).split('.')[1], 'base64url').toString()) as { aud: unknown };
  assert.equal(claims.aud, 'https://api.example.com/orders');
  assert.equal((await form(resources, '/connect/token', 'shop', { grant_type: 'client_credentials', resource: 'https://other.example.com' })).body.error, 'invalid_target');

  // Signing-key rotation: both keys published, the new one signs.
  const warnings: string[] = [];
  const rotated = createTokenRouter({ ...baseOptions(), logger: { warn: (message) => warnings.push(message), error: (message) => warnings.push(message) } });
  const rotatedApp = express().use('/connect', rotated).use(rotated.wellKnown);
  rotateSigningKeys(rotated);
  const jwks = (await request(rotatedApp).get('/.well-known/jwks.json')).body as { keys: { kid: string }[] };
  assert.deepEqual(jwks.keys.map((key) => key.kid), ['2026-07', '2026-01']);
  assert.match(warnings.join('\n'), /not published before/); // skipping the 'next' step is reported
  const signed = await form(rotatedApp, '/connect/token', 'web', { grant_type: 'client_credentials', scope: 'api:read' });
  assert.equal(JSON.parse(Buffer.from(String(signed.body.access_token).split('.')[0], 'base64url').toString()).kid, '2026-07');

  // trust proxy: req.ip is the address the proxy appended, not what the client wrote.
  const proxied = express();
  behindProxy(proxied);
  proxied.get('/ip', (req, res) => {
    res.json({ ip: req.ip });
  });
  assert.equal((await request(proxied).get('/ip').set('x-forwarded-for', '203.0.113.9')).body.ip, '203.0.113.9');

  // Audit events: one JSON line per event, alerts for replays.
  const lines: string[] = [];
  const alerts: TokenEndpointEvent[] = [];
  const audited = express().use('/connect', auditEvents(baseOptions(), { write: (line) => lines.push(line) }, alerts));
  await form(audited, '/connect/token', 'web', { grant_type: 'client_credentials', scope: 'api:read' });
  const line = JSON.parse(lines[0]) as Record<string, unknown>;
  assert.equal(line.event, 'token.issued');
  assert.equal(line.schema, EVENT_SCHEMA_VERSION);
  assert.equal(alerts.length, 0);

  // OpenTelemetry: with no SDK registered the API's no-op providers take the spans; requests work as before.
  const traced = express().use('/connect', withTelemetry(baseOptions()));
  assert.equal((await form(traced, '/connect/token', 'web', { grant_type: 'client_credentials', scope: 'api:read' })).status, 200);

  // Protecting routes: in the same app, and in another app from the issuer's JWKS.
  const idp = createTokenRouter({ ...baseOptions(), accessToken: { audience: ['https://id.example.com', 'https://orders.example.com'] } });
  const api = express().use('/connect', idp);
  protectRoute(api, idp);
  const token = String((await form(api, '/connect/token', 'web', { grant_type: 'client_credentials', scope: 'api:read profile' })).body.access_token);
  const me = await request(api).get('/api/me').set('authorization', `Bearer ${token}`);
  assert.equal(me.status, 200);
  assert.equal(me.body.client_id, 'web');
  const narrow = String((await form(api, '/connect/token', 'web', { grant_type: 'client_credentials', scope: 'api:read' })).body.access_token);
  assert.equal((await request(api).get('/api/me').set('authorization', `Bearer ${narrow}`)).status, 403);
  const orders = express();
  const revoked = new Set<string>();
  protectOtherApp(orders, idp.jwks(), revoked);
  orders.get('/orders', (_req, res) => {
    res.json([]);
  });
  const ordersToken = String((await form(api, '/connect/token', 'web', { grant_type: 'client_credentials', scope: 'orders:read' })).body.access_token);
  assert.equal((await request(orders).get('/orders').set('authorization', `Bearer ${ordersToken}`)).status, 200);
  assert.equal((await request(orders).get('/orders').set('authorization', `Bearer ${narrow}`)).status, 403); // no orders:read
  revoked.add(String(JSON.parse(Buffer.from(ordersToken.split('.')[1], 'base64url').toString()).jti));
  assert.equal((await request(orders).get('/orders').set('authorization', `Bearer ${ordersToken}`)).status, 401);

  // The device page: approve a pending device request.
  const devices = createTokenRouter({ ...baseOptions(), grants: [...defaultGrants(), deviceCode({ verificationUri: 'https://id.example.com/device' })] });
  const deviceApp = express().use('/connect', devices);
  devicePage(deviceApp, devices, () => ({ id: 'alice', authTime: Math.floor(Date.now() / 1000) }));
  const started = await request(deviceApp).post('/connect/deviceauthorization').type('form').send({ client_id: 'tv-app', scope: 'openid offline_access' });
  assert.equal(started.status, 200, JSON.stringify(started.body));
  const approved = await request(deviceApp).post('/device').type('form').send({ user_code: started.body.user_code, decision: 'approve' });
  assert.match(approved.text, /^Approved/);
  const polled = await request(deviceApp).post('/connect/token').type('form').send({ grant_type: 'urn:ietf:params:oauth:grant-type:device_code', client_id: 'tv-app', device_code: started.body.device_code });
  assert.equal(polled.status, 200, JSON.stringify(polled.body));
  assert.ok(polled.body.refresh_token, 'the Mobile policy issues a refresh token');

  // The token service: exchange, introspection, revocation.
  const service = tokenService(baseOptions(), generateKeyPairSync('ec', { namedCurve: 'P-256', publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } }).publicKey);
  const serviceApp = express().use('/connect', service);
  const userToken = await issueUserToken(serviceApp, service);
  const exchanged = await form(serviceApp, '/connect/token', 'api-gateway', { grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange', subject_token: userToken, subject_token_type: 'urn:ietf:params:oauth:token-type:access_token', scope: 'orders:read' });
  assert.equal(exchanged.status, 200, JSON.stringify(exchanged.body));
  assert.equal(exchanged.body.scope, 'orders:read');
  assert.equal((await form(serviceApp, '/connect/introspection', 'orders-api', { token: userToken })).body.active, true);
  assert.equal((await form(serviceApp, '/connect/revocation', 'web', { token: userToken })).status, 200);
  assert.equal((await form(serviceApp, '/connect/introspection', 'orders-api', { token: userToken })).body.active, false);
  assert.equal((await form(serviceApp, '/connect/introspection', 'web', { token: userToken })).body.error, 'unauthorized_client');
  // Introspection decided by a hook: orders-api may introspect tokens for https://orders-api.example.com only.
  const hookedApp = express().use('/connect', introspectionByHook({ ...baseOptions(), accessToken: { audience: 'https://orders-api.example.com' } }));
  const forOrdersApi = String((await form(hookedApp, '/connect/token', 'web', { grant_type: 'client_credentials', scope: 'api:read' })).body.access_token);
  assert.equal((await form(hookedApp, '/connect/introspection', 'orders-api', { token: forOrdersApi })).body.active, true);
  assert.deepEqual((await form(hookedApp, '/connect/introspection', 'web', { token: forOrdersApi })).body, { active: false }); // the hook said no
  console.log('router-features example: refresh policies, resources, key rotation, trust proxy, events, telemetry, protected routes, device page, token service');
}

/** A user's access token at `web` through the real code flow (the authorization endpoint's host API). */
async function issueUserToken(app: express.Express, tokenRouter: TokenRouter): Promise<string> {
  const { code } = await tokenRouter.issueAuthorizationCode({ clientId: 'web', redirectUri: 'https://web.example.com/cb', scope: 'openid api:read', subject: 'alice' });
  const tokens = await request(app).post('/connect/token').auth('web', SECRET).type('form').send({ grant_type: 'authorization_code', code, redirect_uri: 'https://web.example.com/cb' });
  assert.equal(tokens.status, 200, JSON.stringify(tokens.body));
  return String(tokens.body.access_token);
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
}
