// spec/interop/openid-client.interop.mjs
// Interoperability: openid-client, a certified OpenID Connect relying-party library, against the real
// demo server (discovery, the login form, the authorization code grant with PKCE and ID tokens, the
// device authorization grant through the demo's /device page, token revocation (RFC 7009),
// introspection (RFC 7662) and token exchange (RFC 8693)).
// A node:test file (openid-client is ESM-only); spec/interop.spec.ts runs it under jest.
/* global AbortSignal, crypto, fetch, URLSearchParams */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createPublicKey, verify } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { clearTimeout, setTimeout } from 'node:timers';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import * as oauth from 'oauth4webapi';
import * as client from 'openid-client';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const ALICE = JSON.parse(readFileSync(join(ROOT, 'demo-app', 'users.json'), 'utf8')).find((user) => user.username === 'alice');
const SPA = { clientId: 'demo-spa', redirectUri: 'http://localhost:5173/callback' };
const WEB = { clientId: 'demo-web', secret: 'demo-web-secret-change-me-0123456789', redirectUri: 'http://localhost:8080/callback' };
const TV = { clientId: 'demo-tv' };
const GATEWAY = { clientId: 'demo-gateway', secret: 'demo-gateway-secret-change-me-0123456789' };
const API = { clientId: 'demo-api', secret: 'demo-api-secret-change-me-0123456789' };
// The published demo key of demo-jwt-service (its public JWK is in demo-app/clients.json); also in
// demo-app/private-key-jwt.mjs, the README walk-through, which a test below runs.
const JWT_SERVICE = {
  clientId: 'demo-jwt-service',
  kid: 'demo-jwt-service-2026',
  privateJwk: { kty: 'EC', crv: 'P-256', x: 'UKs5TS1Pw1y5zvt1zTkPlpUGHSVNBTGuhS_eo9HcePo', y: 'ZEPQRzW6rtFVr4dRI2-FanUeRJXBImTy-BMtZxUUcpc', d: 'xOh2L3fskn2wTtQkRGdrBdeKXKU6WCYOIfCSjl0xI18' },
};
const HMAC_SERVICE = { clientId: 'demo-hmac-service', key: 'demo-hmac-service-key-change-me-0123456789' };
const DPOP_SPA = { clientId: 'demo-dpop-spa', redirectUri: 'http://localhost:5174/callback' };
const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';

let dir;
let server;
let output = '';
let issuer;

/** A port that was free a moment ago (the demo needs a concrete port in its issuer). */
function freePort() {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

/** Resolves once the server printed its listening line; rejects if it exits or takes too long. */
function waitForListening(child, timeoutMs) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => finish(new Error(`demo did not start within ${timeoutMs} ms; output:\n${output}`)), timeoutMs);
    const onData = () => { if (/Token endpoint listening on /.test(output)) finish(); };
    const onExit = (code) => finish(new Error(`demo exited with code ${code}; output:\n${output}`));
    function finish(error) {
      clearTimeout(timer);
      child.stdout.off('data', onData);
      child.off('exit', onExit);
      if (error) reject(error);
      else resolve();
    }
    child.stdout.on('data', onData);
    child.once('exit', onExit);
  });
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'interop-'));
  const port = await freePort();
  // 127.0.0.1 rather than localhost: no dependence on how the machine resolves localhost.
  issuer = `http://127.0.0.1:${port}`;
  // cwd is the repo root: tsx reads tsconfig.json (decorator settings) from it. The server gets its
  // own process group (detached), so after() can end tsx and the node process it starts together.
  server = spawn(join(ROOT, 'node_modules', '.bin', 'tsx'), ['demo-app/server.ts'], {
    cwd: ROOT,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      PORT: String(port),
      HOST: '127.0.0.1',
      ISSUER: issuer,
      SIGNING_KEY_FILE: join(dir, 'signing-key.pem'),
      PAIRWISE_SALT_FILE: join(dir, 'pairwise-salt'),
      PAGE_SECRET_FILE: join(dir, 'page-secret'),
      // The demo's default store: a fresh SQLite file, so the interop run also exercises it.
      STORE: 'sqlite',
      SQLITE_FILE: join(dir, 'demo.sqlite'),
      CLIENTS_FILE: '',
      USERS_FILE: '',
    },
  });
  server.stdout.on('data', (chunk) => { output += chunk; });
  server.stderr.on('data', (chunk) => { output += chunk; });
  await waitForListening(server, 30_000);
}, { timeout: 40_000 });

after(async () => {
  if (server && server.exitCode === null && server.signalCode === null) {
    const exited = new Promise((resolve) => server.once('exit', resolve));
    const signalGroup = (signal) => {
      try {
        process.kill(-server.pid, signal);
      } catch {
        server.kill(signal); // no process groups (Windows) or the group is already gone
      }
    };
    signalGroup('SIGTERM');
    const timer = setTimeout(() => signalGroup('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
  }
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/**
 * Discovery from the issuer identifier, as openid-client recommends: it checks that the document's
 * `issuer` is exactly the one asked for. Every default check stays on. The one relaxation is
 * allowInsecureRequests: openid-client refuses plain-http endpoints, and the demo issuer is a
 * loopback http URL (no TLS certificate in a test). Because nothing authenticates the server at
 * the transport level here, enableNonRepudiationChecks adds a check instead of removing one: the
 * ID token's signature is verified against the keys at jwks_uri.
 */
function discover(clientId, clientAuth, metadata) {
  return client.discovery(new URL(issuer), clientId, metadata, clientAuth, {
    execute: [client.allowInsecureRequests, client.enableNonRepudiationChecks],
  });
}

/**
 * The demo's forms need what a browser sends: the CSRF cookie its page set (fetch keeps no cookies)
 * and the page's own Origin (fetch sends none). Returns the Cookie header value for the form's post.
 */
function csrfCookie(response) {
  return response.headers.getSetCookie().map((cookie) => cookie.split(';')[0]).find((cookie) => cookie.startsWith('demo_csrf=')) ?? '';
}

const ENTITIES = { '&quot;': '"', '&#39;': "'", '&lt;': '<', '&gt;': '>', '&amp;': '&' };
const decode = (value) => value.replace(/&quot;|&#39;|&lt;|&gt;|&amp;/g, (entity) => ENTITIES[entity]);

/**
 * Plays the browser: loads the authorization URL, fills in the login form (hidden fields as
 * rendered, the form's action resolved against the page URL) and submits it. Returns the
 * redirect's Location without following it: that URL is what the client's callback receives.
 */
async function signIn(authorizationUrl, username, password) {
  const page = await fetch(authorizationUrl, { redirect: 'manual' });
  const html = await page.text();
  assert.equal(page.status, 200, `authorize page: ${html}`);
  const action = /<form method="post" action="([^"]*)">/.exec(html);
  assert.ok(action, 'the page has a login form');
  const form = new URLSearchParams();
  for (const [, name, value] of html.matchAll(/<input type="hidden" name="([^"]*)" value="([^"]*)">/g)) form.append(decode(name), decode(value));
  form.append('username', username);
  form.append('password', password);
  const headers = { cookie: csrfCookie(page), origin: new URL(authorizationUrl).origin };
  const response = await fetch(new URL(decode(action[1]), authorizationUrl), { method: 'POST', body: form, redirect: 'manual', headers });
  assert.equal(response.status, 302, `login response: ${await response.text()}`);
  return new URL(response.headers.get('location'));
}

/** One complete authorization code flow, with openid-client's PKCE, state and nonce helpers. */
async function codeFlow(config, { redirectUri, scope }, grantOptions) {
  const codeVerifier = client.randomPKCECodeVerifier();
  const codeChallenge = await client.calculatePKCECodeChallenge(codeVerifier);
  const state = client.randomState();
  const nonce = client.randomNonce();
  const authorizationUrl = client.buildAuthorizationUrl(config, {
    redirect_uri: redirectUri,
    scope,
    state,
    nonce,
    code_challenge: codeChallenge,
    code_challenge_method: 'S256',
  });
  const currentUrl = await signIn(authorizationUrl, ALICE.username, ALICE.password);
  assert.equal(currentUrl.origin + currentUrl.pathname, redirectUri);
  // Checks state, iss (RFC 9207, advertised in the metadata), PKCE, the ID token's claims and
  // nonce, and (non-repudiation) its signature.
  const tokens = await client.authorizationCodeGrant(config, currentUrl, {
    pkceCodeVerifier: codeVerifier,
    expectedState: state,
    expectedNonce: nonce,
    idTokenExpected: true,
  }, undefined, grantOptions);
  return { tokens, claims: tokens.claims(), nonce, currentUrl, codeVerifier, state };
}

const subjects = {};

test('discovery: metadata of the demo issuer', async () => {
  const config = await discover(SPA.clientId, client.None());
  const metadata = config.serverMetadata();
  assert.equal(metadata.issuer, issuer);
  assert.equal(metadata.authorization_endpoint, `${issuer}/connect/authorize`);
  assert.equal(metadata.token_endpoint, `${issuer}/connect/token`);
  assert.equal(metadata.authorization_response_iss_parameter_supported, true);
  assert.deepEqual(metadata.code_challenge_methods_supported, ['S256']);
  assert.ok(metadata.subject_types_supported.includes('pairwise'));
  assert.equal(metadata.revocation_endpoint, `${issuer}/connect/revocation`);
  assert.equal(metadata.introspection_endpoint, `${issuer}/connect/introspection`);
  assert.ok(metadata.grant_types_supported.includes(TOKEN_EXCHANGE));
});

test('public PKCE client demo-spa (token_endpoint_auth_method none, pairwise subject)', async () => {
  const config = await discover(SPA.clientId, client.None());
  const { tokens, claims, nonce } = await codeFlow(config, { redirectUri: SPA.redirectUri, scope: 'openid profile email api:read' });
  assert.equal(tokens.token_type.toLowerCase(), 'bearer');
  assert.equal(typeof tokens.access_token, 'string');
  assert.equal(tokens.scope, 'openid profile email api:read');
  assert.equal(claims.iss, issuer);
  assert.equal(claims.aud, SPA.clientId);
  assert.equal(claims.nonce, nonce);
  assert.equal(claims.name, ALICE.name);
  assert.equal(claims.email, ALICE.email);
  assert.deepEqual(claims.amr, ['pwd']);
  assert.match(claims.sub, /^[A-Za-z0-9_-]{43}$/);
  subjects.spa = claims.sub;
});

test('confidential client demo-web (client_secret_basic, public subject)', async () => {
  // A bare string secret would mean client_secret_post in openid-client; the client is registered for Basic.
  const config = await discover(WEB.clientId, client.ClientSecretBasic(WEB.secret));
  const { claims } = await codeFlow(config, { redirectUri: WEB.redirectUri, scope: 'openid profile' });
  assert.equal(claims.iss, issuer);
  assert.equal(claims.aud, WEB.clientId);
  assert.equal(claims.sub, ALICE.subject);
  assert.equal(claims.name, ALICE.name);
  assert.equal(claims.email, undefined, 'no email claim without the email scope');
  subjects.web = claims.sub;
});

test('one user, two subjects: pairwise for demo-spa, public for demo-web', () => {
  assert.ok(subjects.spa && subjects.web, 'both flows ran');
  assert.notEqual(subjects.spa, subjects.web);
});

test("openid-client's checks are on: a response with another state is refused before the token request", async () => {
  const config = await discover(SPA.clientId, client.None());
  const codeVerifier = client.randomPKCECodeVerifier();
  const authorizationUrl = client.buildAuthorizationUrl(config, {
    redirect_uri: SPA.redirectUri,
    scope: 'openid',
    state: client.randomState(),
    code_challenge: await client.calculatePKCECodeChallenge(codeVerifier),
    code_challenge_method: 'S256',
  });
  const currentUrl = await signIn(authorizationUrl, ALICE.username, ALICE.password);
  await assert.rejects(
    client.authorizationCodeGrant(config, currentUrl, { pkceCodeVerifier: codeVerifier, expectedState: client.randomState(), idTokenExpected: true }),
    (error) => error instanceof client.ClientError && /"state"/.test(String(error.cause?.message)),
  );
});

/** The form's action (resolved against the page URL) and every input that carries a value, decoded. */
function formOf(html, pageUrl) {
  const action = /<form method="post" action="([^"]*)">/.exec(html);
  assert.ok(action, `the page has a form: ${html}`);
  const fields = new URLSearchParams();
  for (const [, name, value] of html.matchAll(/<input [^>]*name="([^"]*)"[^>]* value="([^"]*)"[^>]*>/g)) fields.set(decode(name), decode(value));
  return { action: new URL(decode(action[1]), pageUrl), fields };
}

/**
 * Plays the user on a second screen: opens verification_uri_complete (the code is prefilled), signs
 * in, and clicks Approve or Deny on the confirm page. Returns the final page's HTML.
 */
async function decideOnDevicePage(verificationUriComplete, username, password, decision) {
  const page = await fetch(verificationUriComplete);
  const html = await page.text();
  assert.equal(page.status, 200, `device page: ${html}`);
  const login = formOf(html, verificationUriComplete);
  login.fields.set('username', username);
  login.fields.set('password', password);
  const headers = { cookie: csrfCookie(page), origin: new URL(verificationUriComplete).origin };
  const confirm = await fetch(login.action, { method: 'POST', body: login.fields, headers });
  const confirmHtml = await confirm.text();
  assert.equal(confirm.status, 200, `confirm page: ${confirmHtml}`);
  const choice = formOf(confirmHtml, login.action);
  choice.fields.set('decision', decision);
  const done = await fetch(choice.action, { method: 'POST', body: choice.fields, headers });
  const doneHtml = await done.text();
  assert.equal(done.status, 200, `decision page: ${doneHtml}`);
  return doneHtml;
}

test('device authorization grant for demo-tv: initiate, approve on the device page as alice, poll for tokens', { timeout: 30_000 }, async () => {
  const config = await discover(TV.clientId, client.None());
  assert.equal(config.serverMetadata().device_authorization_endpoint, `${issuer}/connect/deviceauthorization`);
  const response = await client.initiateDeviceAuthorization(config, { scope: 'openid profile offline_access api:read' });
  assert.match(response.user_code, /^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$/);
  assert.equal(response.verification_uri, `${issuer}/device`);
  assert.equal(response.verification_uri_complete, `${issuer}/device?user_code=${response.user_code}`);
  assert.equal(response.interval, 5);

  // The device polls (openid-client waits `interval` seconds before each request) while the user
  // approves on another screen. The no-op catch only keeps an early rejection from being unhandled.
  const polling = client.pollDeviceAuthorizationGrant(config, response, undefined, { signal: AbortSignal.timeout(25_000) });
  polling.catch(() => {});
  const page = await decideOnDevicePage(response.verification_uri_complete, ALICE.username, ALICE.password, 'approve');
  assert.match(page, /You may return to your device/);

  // Checks the ID token's iss, aud, exp, iat and (non-repudiation) signature.
  const tokens = await polling;
  assert.equal(tokens.token_type.toLowerCase(), 'bearer');
  assert.equal(tokens.scope, 'openid profile offline_access api:read');
  assert.equal(typeof tokens.refresh_token, 'string');
  const claims = tokens.claims();
  assert.ok(claims, 'an ID token was issued and validated');
  assert.equal(claims.iss, issuer);
  assert.equal(claims.aud, TV.clientId);
  assert.equal(claims.sub, ALICE.subject);
  assert.equal(claims.name, ALICE.name);
  assert.deepEqual(claims.amr, ['pwd']);
  assert.equal(typeof claims.auth_time, 'number');

  // The refresh token works, and openid-client checks the new ID token is for the same subject.
  const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token);
  assert.equal(refreshed.claims()?.sub, ALICE.subject);
  assert.notEqual(refreshed.refresh_token, tokens.refresh_token);
});

test('device authorization grant denied on the device page: polling ends with access_denied', { timeout: 30_000 }, async () => {
  const config = await discover(TV.clientId, client.None());
  const response = await client.initiateDeviceAuthorization(config, { scope: 'openid' });
  const polling = assert.rejects(
    client.pollDeviceAuthorizationGrant(config, response, undefined, { signal: AbortSignal.timeout(25_000) }),
    (error) => error instanceof client.ResponseBodyError && error.error === 'access_denied',
  );
  const page = await decideOnDevicePage(response.verification_uri_complete, ALICE.username, ALICE.password, 'deny');
  assert.match(page, /You may return to your device/);
  await polling;
});

/** The resource server demo-api (introspection_allowed), authenticating with HTTP Basic as registered. */
const resourceServer = () => discover(API.clientId, client.ClientSecretBasic(API.secret));

test('introspection by demo-api of a demo-web access token, then revocation by demo-web: active false', async () => {
  const web = await discover(WEB.clientId, client.ClientSecretBasic(WEB.secret));
  const { tokens } = await codeFlow(web, { redirectUri: WEB.redirectUri, scope: 'openid api:read' });
  const api = await resourceServer();

  const active = await client.tokenIntrospection(api, tokens.access_token);
  assert.equal(active.active, true);
  assert.equal(active.client_id, WEB.clientId);
  assert.equal(active.sub, ALICE.subject);
  assert.equal(active.scope, 'openid api:read');
  assert.equal(active.iss, issuer);
  assert.equal(active.aud, issuer);
  assert.equal(active.token_type, 'Bearer');
  assert.equal(typeof active.jti, 'string');
  assert.ok(active.exp > Date.now() / 1000, 'not expired');

  // openid-client checks the 200 with an empty body; a second revocation is 200 too (RFC 7009 §2.2).
  await client.tokenRevocation(web, tokens.access_token, { token_type_hint: 'access_token' });
  await client.tokenRevocation(web, tokens.access_token);
  const inactive = await client.tokenIntrospection(api, tokens.access_token);
  assert.deepEqual({ ...inactive }, { active: false });
});

test('revocation of a demo-spa refresh token (public client): refreshing fails with invalid_grant, the grant is gone', async () => {
  const spa = await discover(SPA.clientId, client.None());
  const { tokens, claims } = await codeFlow(spa, { redirectUri: SPA.redirectUri, scope: 'openid offline_access api:read' });
  assert.equal(typeof tokens.refresh_token, 'string');
  const api = await resourceServer();
  const before = await client.tokenIntrospection(api, tokens.refresh_token);
  assert.equal(before.active, true);
  assert.equal(before.client_id, SPA.clientId);
  assert.equal(before.sub, claims.sub, 'the pairwise subject demo-spa sees');

  await client.tokenRevocation(spa, tokens.refresh_token, { token_type_hint: 'refresh_token' });
  await assert.rejects(
    client.refreshTokenGrant(spa, tokens.refresh_token),
    (error) => error instanceof client.ResponseBodyError && error.error === 'invalid_grant' && error.status === 400,
  );
  assert.equal((await client.tokenIntrospection(api, tokens.refresh_token)).active, false);
  // RFC 7009 §2.1: the access tokens of the revoked grant are revoked with it.
  assert.equal((await client.tokenIntrospection(api, tokens.access_token)).active, false);
});

/** An access token's payload after checking its RS256 signature against the keys at the server's jwks_uri. */
async function verifiedPayload(config, jwt) {
  const [header, payload, signature] = jwt.split('.');
  const { kid, alg, typ } = JSON.parse(Buffer.from(header, 'base64url').toString());
  assert.equal(alg, 'RS256');
  assert.equal(typ, 'at+jwt');
  const jwks = await (await fetch(config.serverMetadata().jwks_uri)).json();
  const jwk = jwks.keys.find((key) => key.kid === kid);
  assert.ok(jwk, `the JWKS has the key ${kid}`);
  assert.ok(verify('sha256', Buffer.from(`${header}.${payload}`), createPublicKey({ key: jwk, format: 'jwk' }), Buffer.from(signature, 'base64url')), 'signature');
  return JSON.parse(Buffer.from(payload, 'base64url').toString());
}

test('token exchange (genericGrantRequest): demo-gateway trades a demo-web user\'s access token for an orders:read token for the same user', async () => {
  const web = await discover(WEB.clientId, client.ClientSecretBasic(WEB.secret));
  const { tokens } = await codeFlow(web, { redirectUri: WEB.redirectUri, scope: 'openid api:read' });
  const gateway = await discover(GATEWAY.clientId, client.ClientSecretBasic(GATEWAY.secret));

  const exchanged = await client.genericGrantRequest(gateway, TOKEN_EXCHANGE, {
    subject_token: tokens.access_token,
    subject_token_type: ACCESS_TOKEN_TYPE,
    scope: 'orders:read',
  });
  assert.equal(exchanged.issued_token_type, ACCESS_TOKEN_TYPE);
  assert.equal(exchanged.token_type.toLowerCase(), 'bearer');
  assert.equal(exchanged.scope, 'orders:read');
  // expiresIn() counts down from when openid-client read the response: a second may tick over under load.
  assert.ok([3599, 3600].includes(exchanged.expiresIn()), `expiresIn ${exchanged.expiresIn()}`);
  assert.equal(exchanged.refresh_token, undefined);
  assert.equal(exchanged.id_token, undefined);

  const claims = await verifiedPayload(gateway, exchanged.access_token);
  assert.equal(claims.iss, issuer);
  assert.equal(claims.aud, issuer);
  assert.equal(claims.sub, ALICE.subject);
  assert.equal(claims.client_id, GATEWAY.clientId);
  assert.equal(claims.scope, 'orders:read');
  assert.equal(claims.act, undefined, 'impersonation: no actor');
  const introspected = await client.tokenIntrospection(await resourceServer(), exchanged.access_token);
  assert.equal(introspected.active, true);
  assert.equal(introspected.sub, ALICE.subject);
  assert.equal(introspected.client_id, GATEWAY.clientId);

  // The demo's policy: nothing beyond orders:read, and no other client may exchange.
  await assert.rejects(
    client.genericGrantRequest(gateway, TOKEN_EXCHANGE, { subject_token: tokens.access_token, subject_token_type: ACCESS_TOKEN_TYPE, scope: 'api:read' }),
    (error) => error instanceof client.ResponseBodyError && error.error === 'invalid_scope',
  );
  await assert.rejects(
    client.genericGrantRequest(web, TOKEN_EXCHANGE, { subject_token: tokens.access_token, subject_token_type: ACCESS_TOKEN_TYPE }),
    (error) => error instanceof client.ResponseBodyError && error.error === 'unauthorized_client',
  );
});


/** demo-jwt-service's private key, non-extractable, with the kid its public JWK is registered under. */
async function jwtServiceKey() {
  const key = await crypto.subtle.importKey('jwk', JWT_SERVICE.privateJwk, { name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign']);
  return { key, kid: JWT_SERVICE.kid };
}

/** The payload of a JWT, unverified (for tokens verifiedPayload has no business with). */
const payloadOf = (jwt) => JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString());

test('client_credentials with PrivateKeyJwt (demo-jwt-service, ES256 assertion), then GET /api/me', async () => {
  const config = await discover(JWT_SERVICE.clientId, client.PrivateKeyJwt(await jwtServiceKey()));
  assert.ok(config.serverMetadata().token_endpoint_auth_methods_supported.includes('private_key_jwt'));
  const tokens = await client.clientCredentialsGrant(config, { scope: 'api:read api:write' });
  assert.equal(tokens.token_type.toLowerCase(), 'bearer');
  assert.equal(tokens.scope, 'api:read api:write');
  const claims = await verifiedPayload(config, tokens.access_token);
  assert.equal(claims.client_id, JWT_SERVICE.clientId);
  assert.equal(claims.sub, `client:${JWT_SERVICE.clientId}`);
  const me = await client.fetchProtectedResource(config, tokens.access_token, new URL('/api/me', issuer), 'GET');
  assert.equal(me.status, 200);
  assert.deepEqual(await me.json(), { sub: `client:${JWT_SERVICE.clientId}`, client_id: JWT_SERVICE.clientId, scope: 'api:read api:write' });

  // Another key under the registered kid is refused.
  const { privateKey } = await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign', 'verify']);
  const impostor = await discover(JWT_SERVICE.clientId, client.PrivateKeyJwt({ key: privateKey, kid: JWT_SERVICE.kid }));
  await assert.rejects(client.clientCredentialsGrant(impostor, { scope: 'api:read' }), (error) => error instanceof client.ResponseBodyError && error.error === 'invalid_client');
});

test('client_credentials with ClientSecretJwt (demo-hmac-service, HS256 assertion)', async () => {
  const config = await discover(HMAC_SERVICE.clientId, client.ClientSecretJwt(HMAC_SERVICE.key));
  const tokens = await client.clientCredentialsGrant(config, { scope: 'api:read' });
  assert.equal(tokens.scope, 'api:read');
  assert.equal((await verifiedPayload(config, tokens.access_token)).client_id, HMAC_SERVICE.clientId);
  const wrong = await discover(HMAC_SERVICE.clientId, client.ClientSecretJwt('not-the-key-but-long-enough-0123456789'));
  await assert.rejects(client.clientCredentialsGrant(wrong, { scope: 'api:read' }), (error) => error instanceof client.ResponseBodyError && error.error === 'invalid_client');
});

test('DPoP-bound public client demo-dpop-spa: code flow + PKCE, refresh with the same key, GET /api/me with DPoP', async () => {
  const config = await discover(DPOP_SPA.clientId, client.None());
  assert.ok(config.serverMetadata().dpop_signing_alg_values_supported.includes('ES256'));
  const keyPair = await client.randomDPoPKeyPair('ES256');
  const DPoP = client.getDPoPHandle(config, keyPair);
  const { tokens, claims } = await codeFlow(config, { redirectUri: DPOP_SPA.redirectUri, scope: 'openid offline_access api:read' }, { DPoP });
  assert.equal(tokens.token_type.toLowerCase(), 'dpop');
  assert.equal(claims.aud, DPOP_SPA.clientId);
  assert.equal(typeof tokens.refresh_token, 'string');
  const jkt = payloadOf(tokens.access_token).cnf?.jkt;
  assert.match(jkt, /^[A-Za-z0-9_-]{43}$/, 'the access token is bound to the proof key (cnf.jkt)');

  // The protected API, with a proof (htm, htu, ath) from the same handle.
  const apiMe = new URL('/api/me', issuer);
  const me = await client.fetchProtectedResource(config, tokens.access_token, apiMe, 'GET', undefined, undefined, { DPoP });
  assert.equal(me.status, 200);
  assert.deepEqual(await me.json(), { sub: ALICE.subject, client_id: DPOP_SPA.clientId, scope: 'openid offline_access api:read' });
  // The same token as a Bearer token is refused: it is bound.
  const asBearer = await fetch(apiMe, { headers: { authorization: `Bearer ${tokens.access_token}` } });
  assert.equal(asBearer.status, 401);

  // Refresh with the same key: a new DPoP token for the same key, and the rotated refresh token.
  const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token, undefined, { DPoP });
  assert.equal(refreshed.token_type.toLowerCase(), 'dpop');
  assert.equal(payloadOf(refreshed.access_token).cnf?.jkt, jkt);
  assert.equal(refreshed.claims()?.sub, ALICE.subject);
  assert.notEqual(refreshed.refresh_token, tokens.refresh_token);
  const again = await client.fetchProtectedResource(config, refreshed.access_token, apiMe, 'GET', undefined, undefined, { DPoP });
  assert.equal(again.status, 200);

  // The refresh family is bound to the key: another key cannot use the refresh token.
  const otherDPoP = client.getDPoPHandle(config, await client.randomDPoPKeyPair('ES256'));
  await assert.rejects(
    client.refreshTokenGrant(config, refreshed.refresh_token, undefined, { DPoP: otherDPoP }),
    (error) => error instanceof client.ResponseBodyError && error.status === 400,
  );
  // And without any proof the client is refused (dpop_bound_access_tokens).
  await assert.rejects(
    client.refreshTokenGrant(config, refreshed.refresh_token),
    (error) => error instanceof client.ResponseBodyError && error.error === 'invalid_request',
  );
});

test('oauth4webapi directly: client_credentials with PrivateKeyJwt and a DPoP proof, then a DPoP protected resource request', async () => {
  const as = await oauth.processDiscoveryResponse(new URL(issuer), await oauth.discoveryRequest(new URL(issuer), { [oauth.allowInsecureRequests]: true }));
  const jwtClient = { client_id: JWT_SERVICE.clientId };
  const DPoP = oauth.DPoP(jwtClient, await oauth.generateKeyPair('ES256'));
  const response = await oauth.clientCredentialsGrantRequest(as, jwtClient, oauth.PrivateKeyJwt(await jwtServiceKey()), { scope: 'api:read' }, { DPoP, [oauth.allowInsecureRequests]: true });
  const tokens = await oauth.processClientCredentialsResponse(as, jwtClient, response);
  assert.equal(tokens.token_type, 'dpop');
  assert.equal(tokens.scope, 'api:read');
  assert.match(payloadOf(tokens.access_token).cnf?.jkt, /^[A-Za-z0-9_-]{43}$/);
  const me = await oauth.protectedResourceRequest(tokens.access_token, 'GET', new URL('/api/me', issuer), undefined, undefined, { DPoP, [oauth.allowInsecureRequests]: true });
  assert.equal(me.status, 200);
  assert.equal((await me.json()).client_id, JWT_SERVICE.clientId);
});

test('README walk-through: node demo-app/private-key-jwt.mjs gets a token with private_key_jwt and calls GET /api/me', async () => {
  const child = spawn(process.execPath, [join(ROOT, 'demo-app', 'private-key-jwt.mjs')], { cwd: ROOT, env: { ...process.env, ISSUER: issuer }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (chunk) => { out += chunk; });
  child.stderr.on('data', (chunk) => { out += chunk; });
  const code = await new Promise((resolve) => child.once('close', resolve));
  assert.equal(code, 0, out);
  assert.match(out, /token_type: 'bearer'/);
  assert.match(out, /GET \/api\/me -> 200/);
  assert.match(out, /client_id: 'demo-jwt-service'/);
});
