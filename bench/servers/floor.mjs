// bench/servers/floor.mjs
// The floor: the least work a token response can cost. Bare Express, urlencoded parsing, one
// client-secret check (constant-time, against a SHA-256 digest) and one jsonwebtoken RS256 sign
// with a KeyObject per JWT the scenario's answer carries (1; 2 with an ID token). No storage: a
// refresh token, code or device code is not looked up, and a refresh answer carries a random value.
import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer } from 'node:http';
import express from 'express';
import jwt from 'jsonwebtoken';
import { announceReady, API_AUDIENCE, CLIENT_ID, CLIENT_SECRET, DEVICE_CODE_GRANT, exitWithParent, listen, loadSigningKey, randomToken, randomUUID, SUBJECT, withBenchControl } from '../common.mjs';

const ISSUER = 'http://127.0.0.1/floor';
const key = loadSigningKey();
const secretDigest = createHash('sha256').update(CLIENT_SECRET).digest();

function authenticated(req) {
  const header = req.headers.authorization;
  if (typeof header !== 'string' || !header.startsWith('Basic ')) return false;
  const decoded = Buffer.from(header.slice(6), 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0 || decodeURIComponent(decoded.slice(0, colon)) !== CLIENT_ID) return false;
  const digest = createHash('sha256').update(decodeURIComponent(decoded.slice(colon + 1))).digest();
  return timingSafeEqual(digest, secretDigest);
}

const sign = (payload, typ) => jwt.sign(payload, key.privateKey, { algorithm: 'RS256', keyid: key.kid, header: { typ } });

const app = express();
app.disable('x-powered-by');
app.post('/token', express.urlencoded({ extended: false }), (req, res) => {
  if (!authenticated(req)) return res.status(401).json({ error: 'invalid_client' });
  const grantType = req.body?.grant_type;
  const now = Math.floor(Date.now() / 1000);
  const user = grantType !== 'client_credentials';
  const body = {
    access_token: sign({ iss: ISSUER, sub: user ? SUBJECT : CLIENT_ID, aud: API_AUDIENCE, client_id: CLIENT_ID, scope: 'api:read', iat: now, exp: now + 3600, jti: randomUUID() }, 'at+jwt'),
    token_type: 'Bearer',
    expires_in: 3600,
    scope: 'api:read',
  };
  if (grantType === 'refresh_token') body.refresh_token = randomToken();
  if (grantType === 'authorization_code' || grantType === DEVICE_CODE_GRANT) {
    body.scope = 'openid api:read';
    body.id_token = sign({ iss: ISSUER, sub: SUBJECT, aud: CLIENT_ID, iat: now, exp: now + 300, auth_time: now }, 'JWT');
  }
  res.set('Cache-Control', 'no-store').json(body);
});

const server = await listen(createServer(withBenchControl(app, { seed: async (_scenario, count, background) => (background ? [] : Array.from({ length: count }, randomToken)) })));
exitWithParent();
announceReady(server, '/token');
