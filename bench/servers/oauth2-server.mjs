// bench/servers/oauth2-server.mjs
// @node-oauth/oauth2-server v5 in Express (express.urlencoded + the library's Request/Response, as
// @node-oauth/express-oauth-server does), with an in-memory model: access tokens are RS256 JWTs
// signed by jsonwebtoken with a KeyObject (model.generateAccessToken); for `openid` codes the model
// adds an RS256 ID token as an extended token attribute (the library has no OpenID Connect). Refresh
// tokens rotate (alwaysIssueNewRefreshToken) and the model detects reuse (a spent token presented
// again revokes its family). No device grant: the library has none.
import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer } from 'node:http';
import express from 'express';
import jwt from 'jsonwebtoken';
import OAuth2Server from '@node-oauth/oauth2-server';
import {
  announceReady,
  API_AUDIENCE,
  CLIENT_ID,
  CLIENT_SECRET,
  CODE_CHALLENGE,
  exitWithParent,
  listen,
  loadSigningKey,
  randomToken,
  randomUUID,
  REDIRECT_URI,
  SCENARIOS,
  SUBJECT,
  withBenchControl,
} from '../common.mjs';

const { Request, Response, OAuthError } = OAuth2Server;
const ISSUER = 'http://localhost';
// The peers' setups are RSA-only: RS256 whatever BENCH_ALG says.
const key = loadSigningKey('RS256');
const secretDigest = createHash('sha256').update(CLIENT_SECRET).digest();
const CLIENT = Object.freeze({
  id: CLIENT_ID,
  grants: ['client_credentials', 'authorization_code', 'refresh_token'],
  redirectUris: [REDIRECT_URI],
  scope: ['openid', 'offline_access', 'api:read'],
});

const codes = new Map();
const refreshTokens = new Map();
const revokedFamilies = new Set();
const sign = (payload, typ) => jwt.sign(payload, key.privateKey, { algorithm: 'RS256', keyid: key.kid, header: { typ } });
const authTime = Math.floor(Date.now() / 1000);

const model = {
  async getClient(clientId, clientSecret) {
    if (clientId !== CLIENT_ID || typeof clientSecret !== 'string') return null;
    return timingSafeEqual(createHash('sha256').update(clientSecret).digest(), secretDigest) ? CLIENT : null;
  },
  async getUserFromClient(client) {
    return { id: client.id };
  },
  async validateScope(_user, client, scope) {
    if (!scope) return ['api:read'];
    return scope.every((s) => client.scope.includes(s)) ? scope : false;
  },
  async generateAccessToken(client, user, scope) {
    const now = Math.floor(Date.now() / 1000);
    return sign(
      { iss: ISSUER, sub: user.id, aud: API_AUDIENCE, client_id: client.id, scope: scope.filter((s) => s === 'api:read').join(' '), iat: now, exp: now + 3600, jti: randomUUID() },
      'at+jwt',
    );
  },
  async saveToken(token, client, user) {
    const scope = token.scope ?? [];
    const saved = { accessToken: token.accessToken, accessTokenExpiresAt: token.accessTokenExpiresAt, scope, client, user };
    if (token.refreshToken && scope.includes('offline_access')) {
      saved.refreshToken = token.refreshToken;
      saved.refreshTokenExpiresAt = token.refreshTokenExpiresAt;
      refreshTokens.set(token.refreshToken, { ...saved, accessToken: undefined, used: false });
    }
    if (token.authorizationCode && scope.includes('openid')) {
      const now = Math.floor(Date.now() / 1000);
      saved.id_token = sign({ iss: ISSUER, sub: user.id, aud: client.id, nonce: user.nonce, auth_time: user.authTime, iat: now, exp: now + 300 }, 'JWT');
    }
    return saved;
  },
  async getAuthorizationCode(code) {
    return codes.get(code) ?? null;
  },
  async revokeAuthorizationCode(code) {
    return codes.delete(code.authorizationCode);
  },
  async getRefreshToken(value) {
    const record = refreshTokens.get(value);
    if (!record || revokedFamilies.has(record.user.familyId)) return null;
    if (record.used) {
      revokedFamilies.add(record.user.familyId);
      return null;
    }
    return record;
  },
  async revokeToken(token) {
    const record = refreshTokens.get(token.refreshToken);
    if (!record || record.used) return false;
    record.used = true;
    return true;
  },
};

const oauth = new OAuth2Server({
  model,
  accessTokenLifetime: 3600,
  refreshTokenLifetime: 14 * 24 * 3600,
  alwaysIssueNewRefreshToken: true,
  allowExtendedTokenAttributes: true,
});

const app = express();
app.disable('x-powered-by');
app.post('/token', express.urlencoded({ extended: false }), async (req, res) => {
  const request = new Request(req);
  const response = new Response(res);
  try {
    await oauth.token(request, response);
  } catch (error) {
    if (!(error instanceof OAuthError)) console.error(error);
  }
  res.set(response.headers).status(response.status).json(response.body);
});

function mint(scenario) {
  const value = randomToken();
  const { scope } = SCENARIOS[scenario];
  const user = { id: SUBJECT, familyId: randomUUID(), authTime };
  if (scenario === 'refresh_token') {
    refreshTokens.set(value, { refreshToken: value, refreshTokenExpiresAt: new Date(Date.now() + 14 * 24 * 3600_000), scope: scope.split(' '), client: CLIENT, user, used: false });
  } else if (scenario === 'authorization_code') {
    codes.set(value, {
      authorizationCode: value,
      expiresAt: new Date(Date.now() + 600_000),
      redirectUri: REDIRECT_URI,
      scope: scope.split(' '),
      client: CLIENT,
      user: { ...user, nonce: 'bench-nonce-0123456789' },
      codeChallenge: CODE_CHALLENGE,
      codeChallengeMethod: 'S256',
    });
  }
  return value;
}

async function seed(scenario, count, background) {
  if (scenario === 'device_code') throw new Error('@node-oauth/oauth2-server has no device authorization grant');
  if (!SCENARIOS[scenario].pool) return background ? [] : Array.from({ length: count }, () => '');
  const tokens = Array.from({ length: count }, () => mint(scenario));
  return background ? [] : tokens;
}

const server = await listen(createServer(withBenchControl(app, { seed })));
exitWithParent(async () => server.close());
announceReady(server, '/token', { unsupported: ['device_code'] });
