// bench/servers/oidc-provider.mjs
// oidc-provider v9, standalone (its own Koa app: BENCH_MODE=standalone) or mounted in Express
// (`app.use('/oidc', provider.callback())`: BENCH_MODE=express). It issues RS256 JWT access tokens
// only through its resource-server settings (resourceIndicators: accessTokenFormat 'jwt'), so every
// grant resolves the one API resource. Refresh tokens rotate (rotateRefreshToken: true; a reused
// one revokes the grant). Storage is an unbounded Map adapter with the semantics of the bundled
// memory adapter, which is an LRU of 1 000 entries and would evict the pre-generated tokens.
import { createServer } from 'node:http';
import express from 'express';
import Provider from 'oidc-provider';
import {
  announceReady,
  API_AUDIENCE,
  CLIENT_ID,
  CLIENT_SECRET,
  CODE_CHALLENGE,
  DEVICE_CODE_GRANT,
  exitWithParent,
  forEachLimit,
  listen,
  loadSigningKey,
  randomToken,
  REDIRECT_URI,
  SCENARIOS,
  SUBJECT,
  withBenchControl,
} from '../common.mjs';

const MODE = process.env.BENCH_MODE ?? 'standalone';
if (MODE !== 'standalone' && MODE !== 'express') throw new Error(`BENCH_MODE must be standalone or express (got ${MODE})`);
const MOUNT = MODE === 'express' ? '/oidc' : '';
// The peers' setups are RSA-only: RS256 whatever BENCH_ALG says.
const key = loadSigningKey('RS256');

const GRANTABLE = new Set(['AccessToken', 'AuthorizationCode', 'RefreshToken', 'DeviceCode', 'BackchannelAuthenticationRequest']);
const records = new Map();
const byGrant = new Map();
const byUserCode = new Map();
const byUid = new Map();

/** An unbounded in-memory adapter (oidc-provider's adapter interface). */
class MapAdapter {
  constructor(name) {
    this.name = name;
  }

  key(id) {
    return `${this.name}:${id}`;
  }

  async upsert(id, payload, expiresIn) {
    const key = this.key(id);
    records.set(key, { payload, expiresAt: typeof expiresIn === 'number' ? Date.now() + expiresIn * 1000 : Infinity });
    if (GRANTABLE.has(this.name) && payload.grantId) {
      let members = byGrant.get(payload.grantId);
      if (!members) byGrant.set(payload.grantId, (members = new Set()));
      members.add(key);
    }
    if (payload.userCode) byUserCode.set(payload.userCode, id);
    if (this.name === 'Session' && payload.uid) byUid.set(payload.uid, id);
  }

  async find(id) {
    const key = this.key(id);
    const entry = records.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt <= Date.now()) {
      records.delete(key);
      return undefined;
    }
    return entry.payload;
  }

  async findByUserCode(userCode) {
    const id = byUserCode.get(userCode);
    return id === undefined ? undefined : this.find(id);
  }

  async findByUid(uid) {
    const id = byUid.get(uid);
    return id === undefined ? undefined : this.find(id);
  }

  async consume(id) {
    const entry = records.get(this.key(id));
    if (entry) entry.payload.consumed = Math.floor(Date.now() / 1000);
  }

  async destroy(id) {
    const key = this.key(id);
    const entry = records.get(key);
    records.delete(key);
    if (entry?.payload.grantId) byGrant.get(entry.payload.grantId)?.delete(key);
    if (entry?.payload.userCode) byUserCode.delete(entry.payload.userCode);
  }

  async revokeByGrantId(grantId) {
    const members = byGrant.get(grantId);
    if (!members) return;
    for (const key of members) records.delete(key);
    byGrant.delete(grantId);
  }
}

const issuer = `http://localhost${MOUNT}`;
const provider = new Provider(issuer, {
  adapter: MapAdapter,
  clients: [
    {
      client_id: CLIENT_ID,
      client_secret: CLIENT_SECRET,
      token_endpoint_auth_method: 'client_secret_basic',
      grant_types: ['client_credentials', 'authorization_code', 'refresh_token', DEVICE_CODE_GRANT],
      response_types: ['code'],
      redirect_uris: [REDIRECT_URI],
      scope: 'openid offline_access api:read',
    },
  ],
  jwks: { keys: [key.jwk] },
  cookies: { keys: ['bench-cookie-key-0123456789abcdef'] },
  findAccount: async (_ctx, accountId) => ({ accountId, claims: async () => ({ sub: accountId }) }),
  scopes: ['openid', 'offline_access', 'api:read'],
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    deviceFlow: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => API_AUDIENCE,
      useGrantedResource: () => true,
      getResourceServerInfo: () => ({
        scope: 'api:read',
        audience: API_AUDIENCE,
        accessTokenTTL: 3600,
        accessTokenFormat: 'jwt',
        jwt: { sign: { alg: 'RS256' } },
      }),
    },
  },
  rotateRefreshToken: true,
  ttl: {
    AccessToken: 3600,
    AuthorizationCode: 600,
    ClientCredentials: 3600,
    DeviceCode: 600,
    Grant: 14 * 24 * 3600,
    IdToken: 300,
    Interaction: 3600,
    RefreshToken: 14 * 24 * 3600,
    Session: 14 * 24 * 3600,
  },
});
provider.on('server_error', (_ctx, error) => console.error('oidc-provider server_error', error));

const client = await provider.Client.find(CLIENT_ID);
const authTime = Math.floor(Date.now() / 1000);

async function newGrant(scope) {
  const grant = new provider.Grant({ accountId: SUBJECT, clientId: CLIENT_ID });
  const oidcScopes = scope.split(' ').filter((s) => s === 'openid' || s === 'offline_access');
  if (oidcScopes.length) grant.addOIDCScope(oidcScopes.join(' '));
  grant.addResourceScope(API_AUDIENCE, 'api:read');
  return grant.save();
}

/** One token/code of a scenario, made with the provider's own models (as its flows would). */
async function mint(scenario) {
  const { scope } = SCENARIOS[scenario];
  const grantId = await newGrant(scope);
  const common = { client, accountId: SUBJECT, grantId, scope, resource: API_AUDIENCE, authTime, expiresWithSession: false };
  if (scenario === 'refresh_token') return new provider.RefreshToken({ ...common, gty: 'authorization_code', rotations: 0 }).save();
  if (scenario === 'authorization_code') {
    return new provider.AuthorizationCode({
      ...common,
      redirectUri: REDIRECT_URI,
      nonce: 'bench-nonce-0123456789',
      codeChallenge: CODE_CHALLENGE,
      codeChallengeMethod: 'S256',
    }).save();
  }
  // An approved device code: what the device flow's user-code page leaves behind on approval.
  return new provider.DeviceCode({
    ...common,
    amr: ['pwd'],
    params: { client_id: CLIENT_ID, scope },
    userCode: randomToken().slice(0, 8).toUpperCase(),
    deviceInfo: { ip: '127.0.0.1', ua: 'bench' },
  }).save();
}

async function seed(scenario, count, background) {
  if (!SCENARIOS[scenario].pool) return background ? [] : Array.from({ length: count }, () => '');
  const tokens = background ? undefined : new Array(count);
  await forEachLimit(count, 1, async (i) => {
    const value = await mint(scenario);
    if (tokens) tokens[i] = value;
  });
  return tokens ?? [];
}

let handler;
if (MODE === 'express') {
  const app = express();
  app.disable('x-powered-by');
  app.use(MOUNT, provider.callback());
  handler = app;
} else {
  handler = provider.callback();
}

const server = await listen(createServer(withBenchControl(handler, { seed, stats: async () => ({ kind: 'oidc-provider-map', records: records.size }) })));
exitWithParent(async () => server.close());
announceReady(server, `${MOUNT}/token`, { mode: MODE });
