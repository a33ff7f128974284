// bench/servers/floor.mjs
// The floor: the least work a token response can cost. Bare Express, urlencoded parsing, one
// client-secret check (constant-time, against a SHA-256 digest) and one jsonwebtoken RS256 sign
// with a KeyObject per JWT the scenario's answer carries (1; 2 with an ID token). No storage: a
// refresh token, code or device code is not looked up, and a refresh answer carries a random value.
// Token exchange: one jsonwebtoken RS256 verify of the subject token (signature, exp) and one sign.
// Introspection (POST /introspect, the resource server's secret): one verify, the claims answered.
// Neither looks anything up (no revocation list, no revoked grants).
// private_key_jwt: one jsonwebtoken ES256 verify of the client assertion (iss, sub, aud, exp) and one
// sign. dpop_refresh: one ES256 verify of the DPoP proof with its embedded jwk (typ, htm, htu, iat),
// its RFC 7638 thumbprint, one sign with cnf.jkt and a random refresh token. Neither remembers a jti
// nor looks the refresh token up (our rows do both, in the store).
import { createHash, createPublicKey, timingSafeEqual } from 'node:crypto';
import { createServer } from 'node:http';
import express from 'express';
import jwt from 'jsonwebtoken';
import {
  ACCESS_TOKEN_TYPE,
  announceReady,
  API_AUDIENCE,
  CLIENT_ID,
  CLIENT_SECRET,
  DEVICE_CODE_GRANT,
  exitWithParent,
  JWT_BEARER_ASSERTION,
  listen,
  loadSigningKey,
  PKJWT_CLIENT_ID,
  PKJWT_PUBLIC_JWK,
  PUBLIC_CLIENT_ID,
  randomToken,
  randomUUID,
  RS_CLIENT_ID,
  RS_CLIENT_SECRET,
  SCENARIOS,
  SUBJECT,
  TOKEN_EXCHANGE_GRANT,
  withBenchControl,
} from '../common.mjs';

const ISSUER = 'http://127.0.0.1/floor';
const key = loadSigningKey();
const digest = (secret) => createHash('sha256').update(secret).digest();
const secretDigests = new Map([[CLIENT_ID, digest(CLIENT_SECRET)], [RS_CLIENT_ID, digest(RS_CLIENT_SECRET)]]);

/** Whether the request authenticates as `clientId` (HTTP Basic). */
function authenticated(req, clientId) {
  const header = req.headers.authorization;
  if (typeof header !== 'string' || !header.startsWith('Basic ')) return false;
  const decoded = Buffer.from(header.slice(6), 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0 || decodeURIComponent(decoded.slice(0, colon)) !== clientId) return false;
  return timingSafeEqual(digest(decodeURIComponent(decoded.slice(colon + 1))), secretDigests.get(clientId));
}

const sign = (payload, typ) => jwt.sign(payload, key.privateKey, { algorithm: key.alg, keyid: key.kid, header: { typ } });
const verify = (token) => {
  try {
    return jwt.verify(token, key.publicKey, { algorithms: [key.alg], issuer: ISSUER });
  } catch {
    return undefined;
  }
};
const pkjwtKey = createPublicKey({ key: PKJWT_PUBLIC_JWK, format: 'jwk' });
const tokenUrl = (req) => `${req.protocol}://${req.headers.host}${req.originalUrl.split('?')[0]}`;
const accessToken = (sub, now) => sign({ iss: ISSUER, sub, aud: API_AUDIENCE, client_id: CLIENT_ID, scope: 'api:read', iat: now, exp: now + 3600, jti: randomUUID() }, 'at+jwt');

const app = express();
app.disable('x-powered-by');
/** private_key_jwt: one jsonwebtoken ES256 verify of the assertion (iss = sub = client, aud, exp). No jti memory. */
function assertionClient(req) {
  const { client_id: clientId, client_assertion_type: type, client_assertion: assertion } = req.body ?? {};
  if (clientId !== PKJWT_CLIENT_ID || type !== JWT_BEARER_ASSERTION || typeof assertion !== 'string') return undefined;
  try {
    const claims = jwt.verify(assertion, pkjwtKey, { algorithms: ['ES256'], audience: [ISSUER, tokenUrl(req)], issuer: PKJWT_CLIENT_ID, subject: PKJWT_CLIENT_ID });
    return typeof claims.exp === 'number' && typeof claims.jti === 'string' ? PKJWT_CLIENT_ID : undefined;
  } catch {
    return undefined;
  }
}

/** DPoP (RFC 9449 §4.3): one jsonwebtoken verify of the proof with the key it carries, typ/htm/htu/iat; its thumbprint. No jti memory. */
function dpopThumbprint(req) {
  const proof = req.headers.dpop;
  if (typeof proof !== 'string') return undefined;
  try {
    const { header } = jwt.decode(proof, { complete: true }) ?? {};
    if (header?.typ !== 'dpop+jwt' || header.alg !== 'ES256' || header.jwk?.kty !== 'EC') return undefined;
    const claims = jwt.verify(proof, createPublicKey({ key: header.jwk, format: 'jwk' }), { algorithms: ['ES256'] });
    const now = Math.floor(Date.now() / 1000);
    if (claims.htm !== 'POST' || claims.htu !== tokenUrl(req) || typeof claims.jti !== 'string' || Math.abs(now - claims.iat) > 60) return undefined;
    const { crv, kty, x, y } = header.jwk;
    return createHash('sha256').update(JSON.stringify({ crv, kty, x, y })).digest('base64url');
  } catch {
    return undefined;
  }
}

app.post('/token', express.urlencoded({ extended: false }), (req, res) => {
  const grantType = req.body?.grant_type;
  const now = Math.floor(Date.now() / 1000);
  if (req.body?.client_assertion !== undefined) {
    const clientId = assertionClient(req);
    if (!clientId || grantType !== 'client_credentials') return res.status(401).json({ error: 'invalid_client' });
    const access = sign({ iss: ISSUER, sub: clientId, aud: API_AUDIENCE, client_id: clientId, scope: 'api:read', iat: now, exp: now + 3600, jti: randomUUID() }, 'at+jwt');
    return res.set('Cache-Control', 'no-store').json({ access_token: access, token_type: 'Bearer', expires_in: 3600, scope: 'api:read' });
  }
  if (req.body?.client_id === PUBLIC_CLIENT_ID && req.headers.authorization === undefined) {
    // The public client's DPoP-bound refresh: the proof checked, the token not looked up.
    const jkt = dpopThumbprint(req);
    if (!jkt || grantType !== 'refresh_token' || typeof req.body.refresh_token !== 'string') return res.status(400).json({ error: 'invalid_dpop_proof' });
    const access = sign({ iss: ISSUER, sub: SUBJECT, aud: API_AUDIENCE, client_id: PUBLIC_CLIENT_ID, scope: 'offline_access api:read', iat: now, exp: now + 3600, jti: randomUUID(), cnf: { jkt } }, 'at+jwt');
    return res.set('Cache-Control', 'no-store').json({ access_token: access, token_type: 'DPoP', expires_in: 3600, scope: 'offline_access api:read', refresh_token: randomToken() });
  }
  if (!authenticated(req, CLIENT_ID)) return res.status(401).json({ error: 'invalid_client' });
  if (grantType === TOKEN_EXCHANGE_GRANT) {
    const subject = req.body.subject_token_type === ACCESS_TOKEN_TYPE ? verify(req.body.subject_token) : undefined;
    if (!subject) return res.status(400).set('Cache-Control', 'no-store').json({ error: 'invalid_request' });
    return res.set('Cache-Control', 'no-store').json({ access_token: accessToken(subject.sub, now), issued_token_type: ACCESS_TOKEN_TYPE, token_type: 'Bearer', expires_in: 3600, scope: 'api:read' });
  }
  const user = grantType !== 'client_credentials';
  const body = {
    access_token: accessToken(user ? SUBJECT : CLIENT_ID, now),
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
app.post('/introspect', express.urlencoded({ extended: false }), (req, res) => {
  if (!authenticated(req, RS_CLIENT_ID)) return res.status(401).json({ error: 'invalid_client' });
  const claims = verify(req.body?.token);
  res.set('Cache-Control', 'no-store');
  if (!claims) return res.json({ active: false });
  const { scope, client_id: clientId, sub, exp, iat, iss, aud, jti } = claims;
  return res.json({ active: true, scope, client_id: clientId, sub, exp, iat, iss, aud, jti, token_type: 'Bearer' });
});

/** Pooled scenarios: random values (nothing is looked up); reuse scenarios: one access token of ours. */
async function seed(scenario, count, background) {
  if (background) return [];
  if (SCENARIOS[scenario].reuse) return Array.from({ length: count }, () => accessToken(SUBJECT, Math.floor(Date.now() / 1000)));
  return Array.from({ length: count }, randomToken);
}

const server = await listen(createServer(withBenchControl(app, { seed })));
exitWithParent();
announceReady(server, '/token', { paths: { introspection: '/introspect' } });
