// spec/demo-app.spec.ts
// The demo host: createDemoApp through supertest (token endpoint, the authorization code flow through
// the demo's login page, the device flow through its /device page, revocation, introspection,
// token exchange and the protected GET /api/me), then the real `npm run demo` entry as a process.
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, createPrivateKey, createPublicKey, randomBytes, type JsonWebKey, type KeyObject } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import jwt from 'jsonwebtoken';
import request from 'supertest';
import type { Express } from 'express';
import { createDemoApp, type DemoStore, DEFAULT_CLIENTS_FILE, DEFAULT_PAGE_SECRET_FILE, DEFAULT_PAIRWISE_SALT_FILE, DEFAULT_SIGNING_KEY_FILE, DEFAULT_USERS_FILE, formatEvent } from '../demo-app/app';
import { EVENT_TYPES, type TokenEndpointEvent } from '../lib';
import { EVENT_SHAPES, type FieldSpec } from './audit/event-shapes';
import { formOf, visibleText } from './helpers/html-page';
import { keyPair } from './helpers/keys';
import { describeWithPostgres, dropSchema, freshSchema } from './helpers/postgres';

const ROOT = join(__dirname, '..');
const DEMO_ID = 'demo-service';
const DEMO_SECRET = 'demo-service-secret-change-me-0123456789';
const ISSUER = 'http://localhost:3000';
const BASIC = `Basic ${Buffer.from(`${DEMO_ID}:${DEMO_SECRET}`).toString('base64')}`;

function decodeHeader(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[0], 'base64url').toString());
}

describe('createDemoApp', () => {
  let dir: string;
  let keyFile: string;
  let pairwiseSaltFile: string;
  let pageSecretFile: string;
  const lines: string[] = [];
  const writeLine = (line: string) => lines.push(line);

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'demo-app-'));
    keyFile = join(dir, 'nested', 'signing-key.pem');
    // Temp files, so tests never create or read the developer's demo-app/.data.
    pairwiseSaltFile = join(dir, 'nested', 'pairwise-salt');
    pageSecretFile = join(dir, 'nested', 'page-secret');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('resolves its default files from the demo-app folder, not the working directory', () => {
    expect(DEFAULT_CLIENTS_FILE).toBe(join(ROOT, 'demo-app', 'clients.json'));
    expect(DEFAULT_SIGNING_KEY_FILE).toBe(join(ROOT, 'demo-app', '.data', 'signing-key.pem'));
    expect(DEFAULT_PAIRWISE_SALT_FILE).toBe(join(ROOT, 'demo-app', '.data', 'pairwise-salt'));
    expect(DEFAULT_PAGE_SECRET_FILE).toBe(join(ROOT, 'demo-app', '.data', 'page-secret'));
    expect(DEFAULT_USERS_FILE).toBe(join(ROOT, 'demo-app', 'users.json'));
  });

  it('creates the key file (PKCS#8, 0600) and issues an RS256 at+jwt for demo-service over HTTP Basic', async () => {
    const app = createDemoApp({ issuer: ISSUER, signingKeyFile: keyFile, pairwiseSaltFile, pageSecretFile, writeLine });
    expect(existsSync(keyFile)).toBe(true);
    const pem = readFileSync(keyFile, 'utf8');
    expect(pem).toMatch(/^-----BEGIN PRIVATE KEY-----/);
    if (process.platform !== 'win32') expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    expect(lines.some((line) => line.includes('Generated a new RSA-2048 signing key') && line.includes(keyFile))).toBe(true);

    const res = await request(app).post('/connect/token').set('Authorization', BASIC).type('form').send('grant_type=client_credentials&scope=api:read');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ access_token: expect.any(String), token_type: 'Bearer', expires_in: 3600, scope: 'api:read' });
    const header = decodeHeader(res.body.access_token);
    expect(header).toEqual({ alg: 'RS256', typ: 'at+jwt', kid: expect.stringMatching(/^[A-Za-z0-9_-]{16}$/) });
    const payload = jwt.verify(res.body.access_token, createPublicKey(pem), { algorithms: ['RS256'], issuer: ISSUER, audience: ISSUER }) as jwt.JwtPayload;
    // client_credentials tokens name the client as `client:<client_id>`, never a bare id a user could have.
    expect(payload).toMatchObject({ sub: `client:${DEMO_ID}`, client_id: DEMO_ID, scope: 'api:read' });
  });

  it('logs each event as one JSON line with an "event" field and no secrets', async () => {
    lines.length = 0;
    const app = createDemoApp({ issuer: ISSUER, signingKeyFile: keyFile, pairwiseSaltFile, pageSecretFile, writeLine });
    const ok = await request(app).post('/connect/token').set('Authorization', BASIC).type('form').send('grant_type=client_credentials');
    await request(app).post('/connect/token').type('form').send(`grant_type=client_credentials&client_id=${DEMO_ID}&client_secret=wrong-secret-0123456789`);
    const events = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(events).toEqual([
      expect.objectContaining({ event: 'token.issued', clientId: DEMO_ID, grantType: 'client_credentials', time: expect.any(String) }),
      expect.objectContaining({ event: 'client.authentication_failed', clientId: DEMO_ID, reason: 'invalid_secret' }),
    ]);
    const output = lines.join('\n');
    expect(output).not.toContain(DEMO_SECRET);
    expect(output).not.toContain('wrong-secret');
    expect(output).not.toContain(ok.body.access_token);
  });

  it('reuses an existing key file: same kid, nothing regenerated', async () => {
    const before = readFileSync(keyFile, 'utf8');
    const kidOf = async () => {
      const app = createDemoApp({ issuer: ISSUER, signingKeyFile: keyFile, pairwiseSaltFile, pageSecretFile, writeLine });
      const res = await request(app).post('/connect/token').set('Authorization', BASIC).type('form').send('grant_type=client_credentials');
      expect(res.status).toBe(200);
      return decodeHeader(res.body.access_token).kid;
    };
    lines.length = 0;
    const first = await kidOf();
    const second = await kidOf();
    expect(second).toBe(first);
    expect(readFileSync(keyFile, 'utf8')).toBe(before);
    expect(lines.some((line) => line.includes('Generated'))).toBe(false);
  });

  it('rejects a clients file that is not a JSON array', () => {
    const bad = join(dir, 'clients.json');
    writeFileSync(bad, '{"client_id":"x"}');
    expect(() => createDemoApp({ issuer: ISSUER, signingKeyFile: keyFile, pairwiseSaltFile, pageSecretFile, clientsFile: bad, writeLine })).toThrow(/JSON array/);
  });
});

describe('formatEvent (the demo\'s audit log)', () => {
  // One sample per event type of the schema, every documented field set; strings carry a line
  // break and a quote, which must not break the one-line-per-event format.
  const sampleValue = (spec: FieldSpec, field: string): unknown => {
    const kind = spec.replace('?', '');
    if (kind === 'number') return 1234;
    if (kind === 'boolean') return true;
    if (kind === 'string[]') return ['openid', 'api:read'];
    return `${field}-"value"\nsecond line`;
  };

  it.each([...EVENT_TYPES])('writes %s as one JSON line with event, time and every field', (type) => {
    const at = Date.UTC(2026, 0, 1);
    const fields = Object.fromEntries(Object.entries(EVENT_SHAPES[type] as Readonly<Record<string, FieldSpec>>).map(([field, spec]) => [field, sampleValue(spec, field)]));
    const event = { ...fields, type, at } as unknown as TokenEndpointEvent;
    const line = formatEvent(event);
    expect(line).not.toContain('\n');
    const { type: _type, at: _at, ...rest } = fields;
    expect(JSON.parse(line)).toEqual({ event: type, time: '2026-01-01T00:00:00.000Z', ...rest });
  });
});

// The demo's users and clients, as documented in demo-app/README.md.
const ALICE = { username: 'alice', password: 'alice-password-demo', subject: '3f9c2a1e-7b4d-4c8e-9a61-2d5e8f0b7c41', name: 'Alice Andersen', email: 'alice@example.com' };
const SPA = { clientId: 'demo-spa', redirectUri: 'http://localhost:5173/callback' };
const WEB = { clientId: 'demo-web', secret: 'demo-web-secret-change-me-0123456789', redirectUri: 'http://localhost:8080/callback' };

/** An RFC 7636 §4.1 verifier (32 random bytes → 43 base64url characters) and its S256 challenge (§4.2). */
function pkcePair(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier, 'ascii').digest('base64url') };
}

/** A CSRF token as the pages render it: a random nonce and its HMAC, both base64url. */
const CSRF_TOKEN = expect.stringMatching(/^[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}$/);

function authorizePath(params: Record<string, string>): string {
  return `/connect/authorize?${new URLSearchParams(params).toString()}`;
}

/** The login form's hidden fields, decoded as a browser would (only the five escapes the demo emits). */
function hiddenFields(html: string): Record<string, string> {
  const decode = (value: string) => value.replace(/&quot;|&#39;|&lt;|&gt;|&amp;/g, (entity) => ({ '&quot;': '"', '&#39;': "'", '&lt;': '<', '&gt;': '>', '&amp;': '&' })[entity] ?? entity);
  const fields: Record<string, string> = {};
  for (const match of html.matchAll(/<input type="hidden" name="([^"]*)" value="([^"]*)">/g)) fields[decode(match[1])] = decode(match[2]);
  return fields;
}

describe('demo authorization code flow', () => {
  let dir: string;
  let app: Express;
  const lines: string[] = [];

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'demo-flow-'));
    app = createDemoApp({ issuer: ISSUER, signingKeyFile: join(dir, 'key.pem'), pairwiseSaltFile: join(dir, 'salt'), pageSecretFile: join(dir, 'page-secret'), writeLine: (line) => lines.push(line) });
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /**
   * GET the authorize page, then POST its form as a browser would, with these credentials: with the
   * CSRF cookie the page set (the agent keeps it), the form's CSRF token and the page's own Origin.
   */
  async function signIn(params: Record<string, string>, username: string, password: string, target: Express = app): Promise<request.Response> {
    const browser = request.agent(target).set('Origin', ISSUER);
    const page = await browser.get(authorizePath(params));
    expect(page.status).toBe(200);
    return browser.post('/connect/authorize').type('form').send(new URLSearchParams({ ...hiddenFields(page.text), username, password }).toString());
  }

  /** The id_token verified against the key the demo publishes at /.well-known/jwks.json. */
  async function verifyIdToken(idToken: string, audience: string): Promise<jwt.JwtPayload> {
    const jwks = await request(app).get('/.well-known/jwks.json');
    expect(jwks.status).toBe(200);
    const { kid } = decodeHeader(idToken);
    const jwk = (jwks.body as { keys: Array<JsonWebKey & { kid?: string }> }).keys.find((key) => key.kid === kid);
    if (!jwk) throw new Error(`no key ${String(kid)} in the JWKS`);
    const key = createPublicKey({ key: jwk, format: 'jwk' });
    return jwt.verify(idToken, key, { algorithms: ['RS256'], issuer: ISSUER, audience }) as jwt.JwtPayload;
  }

  it('publishes discovery with the authorization endpoint, pairwise subjects and RFC 9207 iss', async () => {
    const res = await request(app).get('/.well-known/openid-configuration');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      issuer: ISSUER,
      authorization_endpoint: `${ISSUER}/connect/authorize`,
      token_endpoint: `${ISSUER}/connect/token`,
      jwks_uri: `${ISSUER}/.well-known/jwks.json`,
      scopes_supported: expect.arrayContaining(['openid', 'profile', 'email', 'api:read']),
      subject_types_supported: ['public', 'pairwise'],
      code_challenge_methods_supported: ['S256'],
      authorization_response_iss_parameter_supported: true,
    });
  });

  it('renders the login form with no-store and anti-framing headers, escaping a malicious state', async () => {
    const state = `"><script>alert('x')</script>&amp;`;
    const res = await request(app).get(authorizePath({ response_type: 'code', client_id: WEB.clientId, redirect_uri: WEB.redirectUri, scope: 'openid profile', state }));
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/html/);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.headers['x-frame-options']).toBe('DENY');
    const csp = String(res.headers['content-security-policy']);
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).toContain("form-action 'self' http://localhost:8080");
    expect(res.text).not.toContain('<script>');
    expect(res.text).toContain('value="&quot;&gt;&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;amp;"');
    expect(res.text).toMatch(/<form method="post" action="authorize">/);
    // The browser decodes the escaped value back to exactly what the client sent.
    expect(hiddenFields(res.text)).toEqual({ client_id: WEB.clientId, redirect_uri: WEB.redirectUri, response_type: 'code', scope: 'openid profile', state, csrf_token: CSRF_TOKEN });
  });

  it.each([
    ['an unknown client', { client_id: 'nobody', redirect_uri: WEB.redirectUri }, /client_id is not known/],
    ['a client without authorization_code', { client_id: 'demo-service', redirect_uri: WEB.redirectUri }, /not allowed to use the authorization code flow/],
    ['an unregistered redirect_uri', { client_id: WEB.clientId, redirect_uri: 'https://attacker.example/callback' }, /redirect_uri is not registered/],
    ['a redirect_uri that only differs by a trailing slash', { client_id: WEB.clientId, redirect_uri: `${WEB.redirectUri}/` }, /redirect_uri is not registered/],
    ['a missing redirect_uri', { client_id: WEB.clientId }, /no redirect_uri/],
    ['a repeated client_id', `client_id=${WEB.clientId}&client_id=${SPA.clientId}&redirect_uri=${encodeURIComponent(WEB.redirectUri)}`, /more than once/],
  ])('shows an error page and never redirects for %s', async (_name, params, message) => {
    const query = typeof params === 'string' ? params : new URLSearchParams({ response_type: 'code', scope: 'openid', state: 's', ...params }).toString();
    const res = await request(app).get(`/connect/authorize?${query}`);
    expect(res.status).toBe(400);
    expect(res.headers.location).toBeUndefined();
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.text).toMatch(message);
    expect(res.text).not.toContain('<form');
  });

  it.each([
    ['response_type=token', { response_type: 'token' }, 'unsupported_response_type'],
    ['a scope the client may not request', { scope: 'openid api:write' }, 'invalid_scope'],
    ['a public client without PKCE', { client_id: SPA.clientId, redirect_uri: SPA.redirectUri }, 'invalid_request'],
    ['the plain PKCE method', { code_challenge: 'a'.repeat(43), code_challenge_method: 'plain' }, 'invalid_request'],
    ['prompt=none (the demo keeps no sessions)', { prompt: 'none' }, 'login_required'],
  ])('redirects with an error, state and iss for %s', async (_name, params, error) => {
    const base = { response_type: 'code', client_id: WEB.clientId, redirect_uri: WEB.redirectUri, scope: 'openid', state: 'st&te' };
    const merged: Record<string, string> = { ...base, ...params };
    const res = await request(app).get(authorizePath(merged));
    expect(res.status).toBe(302);
    const location = new URL(res.headers.location);
    expect(location.origin + location.pathname).toBe(merged.redirect_uri);
    expect(location.searchParams.get('error')).toBe(error);
    expect(location.searchParams.get('error_description')).toEqual(expect.any(String));
    expect(location.searchParams.get('state')).toBe('st&te');
    expect(location.searchParams.get('iss')).toBe(ISSUER);
    expect(location.searchParams.has('code')).toBe(false);
  });

  it('shows the form again, with a message and without the password, after a wrong password', async () => {
    const { challenge } = pkcePair();
    const params = { response_type: 'code', client_id: SPA.clientId, redirect_uri: SPA.redirectUri, scope: 'openid', state: 'abc', code_challenge: challenge, code_challenge_method: 'S256' };
    const res = await signIn(params, 'alice', 'not-alices-password');
    expect(res.status).toBe(200);
    expect(res.headers.location).toBeUndefined();
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.text).toContain('Wrong username or password.');
    expect(res.text).toContain('value="alice"');
    expect(res.text).not.toContain('not-alices-password');
    expect(hiddenFields(res.text)).toMatchObject({ client_id: SPA.clientId, state: 'abc', code_challenge: challenge });
    expect(lines.some((line) => line.includes('"event":"demo.login_failed"'))).toBe(true);
  });

  it('runs the full flow for the public PKCE client: code + state + iss, tokens, a verifiable pairwise ID token', async () => {
    const { verifier, challenge } = pkcePair();
    const state = randomBytes(16).toString('base64url');
    const nonce = randomBytes(16).toString('base64url');
    const login = await signIn(
      { response_type: 'code', client_id: SPA.clientId, redirect_uri: SPA.redirectUri, scope: 'openid profile email api:read', state, nonce, code_challenge: challenge, code_challenge_method: 'S256' },
      ALICE.username,
      ALICE.password,
    );
    expect(login.status).toBe(302);
    expect(login.headers['cache-control']).toBe('no-store');
    const location = new URL(login.headers.location);
    expect(location.origin + location.pathname).toBe(SPA.redirectUri);
    expect(location.searchParams.get('state')).toBe(state);
    expect(location.searchParams.get('iss')).toBe(ISSUER);
    const code = location.searchParams.get('code') ?? '';
    expect(code).toMatch(/^[A-Za-z0-9_-]{43}$/);

    const tokens = await request(app).post('/connect/token').type('form').send(new URLSearchParams({
      grant_type: 'authorization_code', client_id: SPA.clientId, code, redirect_uri: SPA.redirectUri, code_verifier: verifier,
    }).toString());
    expect(tokens.status).toBe(200);
    expect(tokens.body).toMatchObject({ token_type: 'Bearer', scope: 'openid profile email api:read', id_token: expect.any(String) });

    const claims = await verifyIdToken(tokens.body.id_token, SPA.clientId);
    expect(claims).toMatchObject({ iss: ISSUER, aud: SPA.clientId, nonce, name: ALICE.name, email: ALICE.email, amr: ['pwd'] });
    // Pairwise: a keyed hash, not alice's own id, and the same in the access token.
    expect(claims.sub).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(claims.sub).not.toBe(ALICE.subject);
    expect(jwt.decode(tokens.body.access_token)).toMatchObject({ sub: claims.sub, client_id: SPA.clientId });

    // Codes work once (RFC 6749 §4.1.2).
    const replay = await request(app).post('/connect/token').type('form').send(new URLSearchParams({
      grant_type: 'authorization_code', client_id: SPA.clientId, code, redirect_uri: SPA.redirectUri, code_verifier: verifier,
    }).toString());
    expect(replay.status).toBe(400);
    expect(replay.body.error).toBe('invalid_grant');
  });

  it('runs the flow for the confidential client without PKCE, authenticating with HTTP Basic', async () => {
    const login = await signIn({ response_type: 'code', client_id: WEB.clientId, redirect_uri: WEB.redirectUri, scope: 'openid profile', state: 'web-state' }, ALICE.username, ALICE.password);
    expect(login.status).toBe(302);
    const location = new URL(login.headers.location);
    expect(location.searchParams.get('state')).toBe('web-state');
    const code = location.searchParams.get('code') ?? '';

    const basic = `Basic ${Buffer.from(`${WEB.clientId}:${WEB.secret}`).toString('base64')}`;
    const tokens = await request(app).post('/connect/token').set('Authorization', basic).type('form').send(new URLSearchParams({
      grant_type: 'authorization_code', code, redirect_uri: WEB.redirectUri,
    }).toString());
    expect(tokens.status).toBe(200);
    const claims = await verifyIdToken(tokens.body.id_token, WEB.clientId);
    // Public subject type: alice's own id; no email claim without the email scope.
    expect(claims).toMatchObject({ iss: ISSUER, aud: WEB.clientId, sub: ALICE.subject, name: ALICE.name });
    expect(claims).not.toHaveProperty('email');
    expect(claims).not.toHaveProperty('nonce');
  });

  it('gives the confidential client a rotating refresh token with offline_access (TelenorID+ Confidential policy)', async () => {
    const login = await signIn({ response_type: 'code', client_id: WEB.clientId, redirect_uri: WEB.redirectUri, scope: 'openid offline_access api:read', state: 's' }, ALICE.username, ALICE.password);
    const code = new URL(login.headers.location).searchParams.get('code') ?? '';
    const basic = `Basic ${Buffer.from(`${WEB.clientId}:${WEB.secret}`).toString('base64')}`;
    const post = (body: Record<string, string>) => request(app).post('/connect/token').set('Authorization', basic).type('form').send(new URLSearchParams(body).toString());
    const first = await post({ grant_type: 'authorization_code', code, redirect_uri: WEB.redirectUri });
    expect(first.status).toBe(200);
    expect(first.body.refresh_token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const refreshed = await post({ grant_type: 'refresh_token', refresh_token: first.body.refresh_token });
    expect(refreshed.status).toBe(200);
    expect(refreshed.body.refresh_token).not.toBe(first.body.refresh_token);
    const claims = await verifyIdToken(refreshed.body.id_token, WEB.clientId);
    expect(claims).toMatchObject({ sub: ALICE.subject });
  });

  it('persists the pairwise salt (0600) and keeps pairwise subjects stable across restarts', async () => {
    const saltFile = join(dir, 'salt');
    const salt = readFileSync(saltFile, 'utf8');
    expect(salt.trim()).toMatch(/^[A-Za-z0-9_-]{43}$/);
    if (process.platform !== 'win32') expect(statSync(saltFile).mode & 0o777).toBe(0o600);

    const spaSubject = async (target: Express): Promise<string> => {
      const { verifier, challenge } = pkcePair();
      const login = await signIn({ response_type: 'code', client_id: SPA.clientId, redirect_uri: SPA.redirectUri, scope: 'openid', code_challenge: challenge, code_challenge_method: 'S256' }, 'bob', 'bob-password-demo', target);
      const code = new URL(login.headers.location).searchParams.get('code') ?? '';
      const tokens = await request(target).post('/connect/token').type('form').send(new URLSearchParams({
        grant_type: 'authorization_code', client_id: SPA.clientId, code, redirect_uri: SPA.redirectUri, code_verifier: verifier,
      }).toString());
      expect(tokens.status).toBe(200);
      return String(jwt.decode(tokens.body.id_token, { json: true })?.sub);
    };
    const first = await spaSubject(app);
    const restarted = await spaSubject(createDemoApp({ issuer: ISSUER, signingKeyFile: join(dir, 'key.pem'), pairwiseSaltFile: saltFile, pageSecretFile: join(dir, 'page-secret'), writeLine: () => undefined }));
    const otherSalt = await spaSubject(createDemoApp({ issuer: ISSUER, signingKeyFile: join(dir, 'key.pem'), pairwiseSaltFile: join(dir, 'other-salt'), pageSecretFile: join(dir, 'page-secret'), writeLine: () => undefined }));
    expect(restarted).toBe(first);
    expect(otherSalt).not.toBe(first);
    expect(readFileSync(saltFile, 'utf8')).toBe(salt);
  });
});

const TV = { clientId: 'demo-tv', name: 'Demo TV app' };
const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';
const USER_CODE = /^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$/;

describe('demo device flow (RFC 8628)', () => {
  let dir: string;
  let app: Express;
  const lines: string[] = [];

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'demo-device-'));
    app = createDemoApp({ issuer: ISSUER, signingKeyFile: join(dir, 'key.pem'), pairwiseSaltFile: join(dir, 'salt'), pageSecretFile: join(dir, 'page-secret'), writeLine: (line) => lines.push(line) });
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  interface DeviceAuthorization { device_code: string; user_code: string; verification_uri: string; verification_uri_complete: string; expires_in: number; interval: number }

  async function authorizeDevice(scope = 'openid profile offline_access api:read', target: Express = app): Promise<DeviceAuthorization> {
    const res = await request(target).post('/connect/deviceauthorization').type('form').send(new URLSearchParams({ client_id: TV.clientId, scope }).toString());
    expect(res.status).toBe(200);
    return res.body as DeviceAuthorization;
  }

  function poll(deviceCode: string): request.Test {
    return request(app).post('/connect/token').type('form').send(new URLSearchParams({ grant_type: DEVICE_GRANT, client_id: TV.clientId, device_code: deviceCode }).toString());
  }

  /** A browser on `target`: keeps the demo's CSRF cookie and sends the pages' own Origin with its form posts. */
  const browserOn = (target: Express) => request.agent(target).set('Origin', ISSUER);
  /** The browser of the current test (a fresh one per test, so no cookie leaks between tests). */
  let browser: ReturnType<typeof browserOn>;
  beforeEach(() => {
    browser = browserOn(app);
  });

  /** What the browser does: open verification_uri_complete, fill in the prefilled form and submit it. */
  async function signIn(device: DeviceAuthorization, username: string, password: string, user = browser): Promise<request.Response> {
    const url = new URL(device.verification_uri_complete);
    const page = await user.get(url.pathname + url.search);
    expect(page.status).toBe(200);
    const { action, fields } = formOf(page.text);
    return user.post(action).type('form').send(new URLSearchParams({ ...fields, username, password }).toString());
  }

  /** Clicks Approve or Deny on the confirm page. */
  function decide(confirmPage: string, decision: 'approve' | 'deny', user = browser): request.Test {
    const { action, fields } = formOf(confirmPage);
    return user.post(action).type('form').send(new URLSearchParams({ ...fields, decision }).toString());
  }

  /** Opens /device and posts its form with these fields (the page's CSRF token included), as a browser would. */
  async function postCodeForm(fields: Record<string, string>, user = browser): Promise<request.Response> {
    const page = await user.get('/device');
    return user.post('/device').type('form').send(new URLSearchParams({ csrf_token: formOf(page.text).fields.csrf_token, ...fields }).toString());
  }

  /** Mints tokens and a pending device code on one app, then checks a fresh app on `store` (same key and salt) honours both. */
  async function expectRestartKeeps(store: DemoStore): Promise<void> {
    const files = { issuer: ISSUER, signingKeyFile: join(dir, 'key.pem'), pairwiseSaltFile: join(dir, 'salt'), pageSecretFile: join(dir, 'page-secret'), writeLine: (line: string) => lines.push(line) };
    const pollOn = (target: Express, deviceCode: string) => request(target).post('/connect/token').type('form').send(new URLSearchParams({ grant_type: DEVICE_GRANT, client_id: TV.clientId, device_code: deviceCode }).toString());
    const approveOn = async (target: Express, device: DeviceAuthorization) => {
      const user = browserOn(target);
      const confirm = await signIn(device, ALICE.username, ALICE.password, user);
      expect(confirm.status).toBe(200);
      expect((await decide(confirm.text, 'approve', user)).status).toBe(200);
    };

    // Each app closes its store when done, as server.ts does on SIGTERM: the store's purge timer
    // would otherwise fire in this jest worker after the file's teardown, on a pool whose modules
    // are gone ("purge failed: Cannot read properties of undefined (reading 'Socket')").
    const before = createDemoApp({ ...files, store });
    let refreshToken: string;
    let pending: DeviceAuthorization;
    try {
      const first = await authorizeDevice(undefined, before);
      await approveOn(before, first);
      const tokens = await pollOn(before, first.device_code);
      expect(tokens.status).toBe(200);
      refreshToken = tokens.body.refresh_token;
      pending = await authorizeDevice(undefined, before);
    } finally {
      await before.close();
    }

    // "Restart": a new app on the same key, salt and database file; nothing kept in process memory.
    const after = createDemoApp({ ...files, store });
    try {
      const refreshed = await request(after).post('/connect/token').type('form').send(new URLSearchParams({ grant_type: 'refresh_token', client_id: TV.clientId, refresh_token: refreshToken }).toString());
      expect(refreshed.status).toBe(200);
      expect(refreshed.body.refresh_token).toMatch(/^[A-Za-z0-9_-]{43}$/);
      await approveOn(after, pending);
      const late = await pollOn(after, pending.device_code);
      expect(late.status).toBe(200);
      expect(late.body.access_token).toEqual(expect.any(String));
    } finally {
      await after.close();
    }
  }

  it('keeps refresh tokens and pending device codes across a restart with the SQLite store (the npm run demo default)', async () => {
    await expectRestartKeeps({ kind: 'sqlite', file: join(dir, 'restart.sqlite') });
  });

  describeWithPostgres('with STORE=postgres', (url) => {
    const schema = freshSchema('demo');
    afterAll(() => dropSchema(url(), schema));

    it('keeps refresh tokens and pending device codes across a restart (the app creates its schema on first use)', async () => {
      await expectRestartKeeps({ kind: 'postgres', url: url(), schema });
    });
  });

  it('advertises the device authorization endpoint and grant in discovery', async () => {
    const res = await request(app).get('/.well-known/openid-configuration');
    expect(res.body.device_authorization_endpoint).toBe(`${ISSUER}/connect/deviceauthorization`);
    expect(res.body.grant_types_supported).toContain(DEVICE_GRANT);
  });

  it('runs the whole flow: code, prefilled page, sign-in, confirm, approve, tokens with a verifiable ID token', async () => {
    const device = await authorizeDevice();
    expect(device).toEqual({
      device_code: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/),
      user_code: expect.stringMatching(USER_CODE),
      verification_uri: `${ISSUER}/device`,
      verification_uri_complete: `${ISSUER}/device?user_code=${device.user_code}`,
      expires_in: 1800,
      interval: 5,
    });

    // verification_uri_complete prefills the code; the page carries the login page's protections.
    const url = new URL(device.verification_uri_complete);
    const page = await request(app).get(url.pathname + url.search);
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expect(page.headers['cache-control']).toBe('no-store');
    expect(page.headers['x-frame-options']).toBe('DENY');
    // same-origin: nothing leaks to other sites, and the pages' own form posts keep their Origin (CSRF check).
    expect(page.headers['referrer-policy']).toBe('same-origin');
    const csp = String(page.headers['content-security-policy']);
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).toContain("form-action 'self'");
    expect(formOf(page.text)).toEqual({ action: '/device', fields: { csrf_token: CSRF_TOKEN, user_code: device.user_code, username: '' } });

    const confirm = await signIn(device, ALICE.username, ALICE.password);
    expect(confirm.status).toBe(200);
    expect(confirm.headers['cache-control']).toBe('no-store');
    expect(confirm.headers['x-frame-options']).toBe('DENY');
    const text = visibleText(confirm.text);
    expect(text).toContain(`Signed in as ${ALICE.name} (alice)`);
    expect(text).toContain(`${TV.name} ( ${TV.clientId} ) asks to:`);
    for (const scope of ['openid', 'profile', 'offline_access', 'api:read']) expect(text).toContain(scope);
    expect(text).toContain(device.user_code);
    expect(confirm.text).not.toContain(ALICE.password);
    const { action, fields } = formOf(confirm.text);
    expect(action).toBe('/device/decision');
    expect(Object.keys(fields)).toEqual(['confirmation', 'csrf_token']);
    // Signed (payload.HMAC), so any instance sharing the page secret accepts it.
    expect(fields.confirmation).toMatch(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$/);
    expect(fields.csrf_token).toEqual(CSRF_TOKEN);
    expect(confirm.text).toContain('name="decision" value="approve"');
    expect(confirm.text).toContain('name="decision" value="deny"');

    const approved = await decide(confirm.text, 'approve');
    expect(approved.status).toBe(200);
    expect(approved.headers['cache-control']).toBe('no-store');
    expect(visibleText(approved.text)).toMatch(/Approved\. You may return to your device/);

    // No poll happened before the approval, so this first one is not "too soon".
    const tokens = await poll(device.device_code);
    expect(tokens.status).toBe(200);
    expect(tokens.body).toMatchObject({
      token_type: 'Bearer',
      scope: 'openid profile offline_access api:read',
      access_token: expect.any(String),
      refresh_token: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/),
      id_token: expect.any(String),
    });
    const jwks = await request(app).get('/.well-known/jwks.json');
    const { kid } = decodeHeader(tokens.body.id_token);
    const jwk = (jwks.body as { keys: Array<JsonWebKey & { kid?: string }> }).keys.find((key) => key.kid === kid);
    if (!jwk) throw new Error(`no key ${String(kid)} in the JWKS`);
    const claims = jwt.verify(tokens.body.id_token, createPublicKey({ key: jwk, format: 'jwk' }), { algorithms: ['RS256'], issuer: ISSUER, audience: TV.clientId }) as jwt.JwtPayload;
    expect(claims).toMatchObject({ sub: ALICE.subject, name: ALICE.name, amr: ['pwd'], auth_time: expect.any(Number), sid: expect.any(String) });
    expect(claims).not.toHaveProperty('email');
    expect(jwt.decode(tokens.body.access_token)).toMatchObject({ sub: ALICE.subject, client_id: TV.clientId });

    // The refresh token works for the public device client (TelenorID+ Mobile policy).
    const refreshed = await request(app).post('/connect/token').type('form').send(new URLSearchParams({ grant_type: 'refresh_token', client_id: TV.clientId, refresh_token: tokens.body.refresh_token }).toString());
    expect(refreshed.status).toBe(200);
    expect(refreshed.body.refresh_token).not.toBe(tokens.body.refresh_token);

    // The confirmation decides once: the code is now decided, so a replay decides nothing.
    const again = await decide(confirm.text, 'approve');
    expect(again.status).toBe(400);
    expect(visibleText(again.text)).toContain('That code has already been approved or denied.');
    const reused = await signIn(device, ALICE.username, ALICE.password);
    expect(reused.status).toBe(400);
    expect(visibleText(reused.text)).toContain('That code has already been approved or denied.');
    expect(reused.text).not.toContain('name="confirmation"');

    const events = lines.filter((line) => line.startsWith('{')).map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(events).toEqual(expect.arrayContaining([
      expect.objectContaining({ event: 'demo.device_signed_in', clientId: TV.clientId, subject: ALICE.subject }),
      expect.objectContaining({ event: 'device_code.approved', clientId: TV.clientId, subject: ALICE.subject }),
      expect.objectContaining({ event: 'demo.device_decision', decision: 'approve', result: 'approved' }),
    ]));
    const output = lines.join('\n');
    expect(output).not.toContain(device.user_code);
    expect(output).not.toContain(device.device_code);
    expect(output).not.toContain(fields.confirmation);
  });

  it('answers authorization_pending while the user has not decided, and slow_down to a device that polls too fast', async () => {
    const device = await authorizeDevice('openid');
    const pendingPoll = await poll(device.device_code);
    expect(pendingPoll.status).toBe(400);
    expect(pendingPoll.body.error).toBe('authorization_pending');
    const tooFast = await poll(device.device_code);
    expect(tooFast.status).toBe(400);
    expect(tooFast.body.error).toBe('slow_down');
  });

  it('denies: the page says so and the device gets access_denied', async () => {
    const device = await authorizeDevice('openid profile');
    const confirm = await signIn(device, 'bob', 'bob-password-demo');
    expect(visibleText(confirm.text)).toContain('Signed in as Bob Berg (bob)');
    const denied = await decide(confirm.text, 'deny');
    expect(denied.status).toBe(200);
    expect(visibleText(denied.text)).toMatch(/Denied: the device will not be connected\. You may return to your device\./);
    const res = await poll(device.device_code);
    expect(res.status).toBe(400);
    expect(res.body.error).toBe('access_denied');
    expect(lines.some((line) => line.includes('"event":"device_code.denied"'))).toBe(true);
  });

  it('shows the form again for a wrong code, keeping what was typed except the password', async () => {
    const res = await postCodeForm({ user_code: 'BCDF-GHJK', username: 'alice', password: ALICE.password });
    // Astronomically unlikely to be a live code (1 in 20^8 per live request).
    expect(res.status).toBe(400);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(visibleText(res.text)).toContain('That code is not valid. Check the code shown on your device and try again.');
    expect(formOf(res.text).fields).toEqual({ csrf_token: CSRF_TOKEN, user_code: 'BCDF-GHJK', username: 'alice' });
    expect(res.text).not.toContain(ALICE.password);
    expect(res.text).not.toContain('name="confirmation"');

    const empty = await postCodeForm({ user_code: '', username: 'alice', password: 'x' });
    expect(empty.status).toBe(400);
    expect(visibleText(empty.text)).toContain('Enter the code shown on your device.');
  });

  it('shows the form again for a wrong password, with the code, and never a confirmation', async () => {
    const device = await authorizeDevice('openid');
    const res = await signIn(device, 'alice', 'not-alices-password');
    expect(res.status).toBe(200);
    expect(visibleText(res.text)).toContain('Wrong username or password.');
    expect(formOf(res.text).fields).toEqual({ csrf_token: CSRF_TOKEN, user_code: device.user_code, username: 'alice' });
    expect(res.text).not.toContain('not-alices-password');
    expect(res.text).not.toContain('name="confirmation"');
    expect(lines.some((line) => line.includes('"event":"demo.device_login_failed"'))).toBe(true);
  });

  it('escapes every reflected value', async () => {
    const evil = `"><script>alert('x')</script>&amp;`;
    const page = await browser.get(`/device?${new URLSearchParams({ user_code: evil }).toString()}`);
    expect(page.status).toBe(200);
    expect(page.text).not.toContain('<script>');
    expect(page.text).toContain('value="&quot;&gt;&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;amp;"');
    expect(formOf(page.text).fields.user_code).toBe(evil);

    const posted = await postCodeForm({ user_code: evil, username: `<img src=x onerror=alert(1)>"`, password: 'x' });
    expect(posted.status).toBe(400);
    expect(posted.text).not.toContain('<script>');
    expect(posted.text).not.toContain('<img');
    expect(formOf(posted.text).fields).toEqual({ csrf_token: CSRF_TOKEN, user_code: evil, username: `<img src=x onerror=alert(1)>"` });
  });

  it('refuses a forged confirmation or a missing decision, and other methods', async () => {
    const device = await authorizeDevice('openid');
    const confirm = await signIn(device, ALICE.username, ALICE.password);
    const { fields } = formOf(confirm.text);
    // A valid CSRF token (from the confirm page), but a confirmation the demo did not sign.
    const forged = await browser.post('/device/decision').type('form').send(new URLSearchParams({ csrf_token: fields.csrf_token, confirmation: 'A'.repeat(43), decision: 'approve' }).toString());
    expect(forged.status).toBe(400);
    expect(visibleText(forged.text)).toContain('This confirmation has expired or was already used.');

    const undecided = await browser.post('/device/decision').type('form').send(new URLSearchParams({ ...fields, decision: 'maybe' }).toString());
    expect(undecided.status).toBe(400);
    expect(visibleText(undecided.text)).toContain('Choose Approve or Deny.');
    // Still pending: nothing was decided for the user.
    expect((await poll(device.device_code)).body.error).toBe('authorization_pending');

    const put = await request(app).put('/device');
    expect(put.status).toBe(405);
    expect(put.headers.allow).toBe('GET, POST');
    expect((await request(app).get('/device/decision')).status).toBe(405);
  });

  it('tells a user who tried too many wrong codes to wait (429, Retry-After), even for a right code', async () => {
    const limited = createDemoApp({ issuer: ISSUER, signingKeyFile: join(dir, 'key.pem'), pairwiseSaltFile: join(dir, 'salt'), pageSecretFile: join(dir, 'page-secret'), writeLine: () => undefined });
    const device = await authorizeDevice('openid', limited);
    const user = browserOn(limited);
    const tryCode = (code: string) => postCodeForm({ user_code: code, username: 'alice', password: ALICE.password }, user);
    for (let i = 0; i < 10; i += 1) expect((await tryCode('BCDF-GHJK')).status).toBe(400);
    const blocked = await tryCode(device.user_code);
    expect(blocked.status).toBe(429);
    expect(Number(blocked.headers['retry-after'])).toBeGreaterThan(0);
    expect(visibleText(blocked.text)).toMatch(/Too many wrong codes\. Wait \d+ seconds before trying again\./);
    expect(blocked.text).not.toContain('name="confirmation"');
  });
});

// The demo's token services, as the README walks them: revocation and introspection endpoints, and
// the token exchange demo-gateway may do for demo-web and demo-spa users.
const GATEWAY = { clientId: 'demo-gateway', secret: 'demo-gateway-secret-change-me-0123456789' };
const API = { clientId: 'demo-api', secret: 'demo-api-secret-change-me-0123456789' };
const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';

/** HTTP Basic for a confidential demo client. */
function basicOf(client: { clientId: string; secret: string }): string {
  return `Basic ${Buffer.from(`${client.clientId}:${client.secret}`).toString('base64')}`;
}

describe('demo token services (revocation, introspection, token exchange)', () => {
  let dir: string;
  let app: Express;
  const lines: string[] = [];

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'demo-services-'));
    app = createDemoApp({ issuer: ISSUER, signingKeyFile: join(dir, 'key.pem'), pairwiseSaltFile: join(dir, 'salt'), pageSecretFile: join(dir, 'page-secret'), writeLine: (line) => lines.push(line) });
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** alice signs in at the demo's login page for demo-web (Basic) or demo-spa (PKCE); the token response. */
  async function aliceTokens(client: 'demo-web' | 'demo-spa', scope: string): Promise<{ access_token: string; refresh_token?: string; scope: string }> {
    const spa = client === 'demo-spa';
    const { verifier, challenge } = pkcePair();
    const redirectUri = spa ? SPA.redirectUri : WEB.redirectUri;
    const browser = request.agent(app).set('Origin', ISSUER);
    const page = await browser.get(authorizePath({ response_type: 'code', client_id: client, redirect_uri: redirectUri, scope, state: 's', ...(spa && { code_challenge: challenge, code_challenge_method: 'S256' }) }));
    expect(page.status).toBe(200);
    const login = await browser.post('/connect/authorize').type('form').send(new URLSearchParams({ ...hiddenFields(page.text), username: ALICE.username, password: ALICE.password }).toString());
    expect(login.status).toBe(302);
    const code = new URL(login.headers.location).searchParams.get('code') ?? '';
    const exchange = request(app).post('/connect/token').type('form');
    const body = new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: redirectUri });
    if (spa) {
      body.set('client_id', SPA.clientId);
      body.set('code_verifier', verifier);
    } else exchange.set('Authorization', basicOf({ clientId: WEB.clientId, secret: WEB.secret }));
    const tokens = await exchange.send(body.toString());
    expect(tokens.status).toBe(200);
    return tokens.body as { access_token: string; refresh_token?: string; scope: string };
  }

  const introspect = (token: string) => request(app).post('/connect/introspection').set('Authorization', basicOf(API)).type('form').send(new URLSearchParams({ token }).toString());
  const revokeAsWeb = (token: string) => request(app).post('/connect/revocation').set('Authorization', basicOf({ clientId: WEB.clientId, secret: WEB.secret })).type('form').send(new URLSearchParams({ token }).toString());
  const events = () => lines.filter((line) => line.startsWith('{')).map((line) => JSON.parse(line) as Record<string, unknown>);
  const exchangeAsGateway = (params: Record<string, string>) => request(app).post('/connect/token').set('Authorization', basicOf(GATEWAY)).type('form').send(new URLSearchParams({ grant_type: TOKEN_EXCHANGE, ...params }).toString());

  it('advertises the revocation and introspection endpoints, the token-exchange grant and orders:read in discovery', async () => {
    const res = await request(app).get('/.well-known/openid-configuration');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      revocation_endpoint: `${ISSUER}/connect/revocation`,
      revocation_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'none', 'private_key_jwt', 'client_secret_jwt'],
      introspection_endpoint: `${ISSUER}/connect/introspection`,
      introspection_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'private_key_jwt', 'client_secret_jwt'],
      grant_types_supported: expect.arrayContaining(['authorization_code', 'client_credentials', 'refresh_token', DEVICE_GRANT, TOKEN_EXCHANGE]),
      scopes_supported: expect.arrayContaining(['api:read', 'orders:read']),
    });
  });

  it('demo-api introspects demo-web\'s access token; demo-web revokes it; then it is inactive', async () => {
    const tokens = await aliceTokens('demo-web', 'openid profile api:read');
    const active = await introspect(tokens.access_token);
    expect(active.status).toBe(200);
    expect(active.headers['cache-control']).toBe('no-store');
    expect(active.body).toEqual({
      active: true, scope: 'openid profile api:read', client_id: WEB.clientId, sub: ALICE.subject, token_type: 'Bearer', iss: ISSUER, aud: ISSUER,
      exp: expect.any(Number), iat: expect.any(Number), nbf: expect.any(Number), jti: expect.any(String), auth_time: expect.any(Number), amr: ['pwd'],
    });

    const revoked = await revokeAsWeb(tokens.access_token);
    expect(revoked.status).toBe(200);
    expect(revoked.text).toBe('');
    expect((await introspect(tokens.access_token)).body).toEqual({ active: false });
    // RFC 7009 §2.2: revoking again (or an unknown token) is still 200.
    expect((await revokeAsWeb(tokens.access_token)).status).toBe(200);
    expect((await revokeAsWeb('not-a-token')).status).toBe(200);
    expect(events()).toContainEqual(expect.objectContaining({ event: 'token.revoked', clientId: WEB.clientId, tokenType: 'access_token' }));
  });

  it('revoking demo-web\'s refresh token ends the grant: refresh is invalid_grant, its access token inactive', async () => {
    const tokens = await aliceTokens('demo-web', 'openid offline_access api:read');
    const refreshToken = tokens.refresh_token ?? '';
    expect(refreshToken).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const before = await introspect(refreshToken);
    expect(before.body).toMatchObject({ active: true, client_id: WEB.clientId, sub: ALICE.subject, scope: 'openid offline_access api:read' });
    expect(before.body).not.toHaveProperty('token_type');

    expect((await revokeAsWeb(refreshToken)).status).toBe(200);
    const refresh = await request(app).post('/connect/token').set('Authorization', basicOf({ clientId: WEB.clientId, secret: WEB.secret })).type('form')
      .send(new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken }).toString());
    expect(refresh.status).toBe(400);
    expect(refresh.body.error).toBe('invalid_grant');
    expect((await introspect(refreshToken)).body).toEqual({ active: false });
    // RFC 7009 §2.1 SHOULD: the access tokens of the grant go with it.
    expect((await introspect(tokens.access_token)).body).toEqual({ active: false });
  });

  it('demo-spa (a public client) revokes its own tokens with client_id in the body', async () => {
    const tokens = await aliceTokens('demo-spa', 'openid offline_access api:read');
    const revoke = (token: string) => request(app).post('/connect/revocation').type('form').send(new URLSearchParams({ token, client_id: SPA.clientId }).toString());
    expect((await revoke(tokens.refresh_token ?? '')).status).toBe(200);
    expect((await introspect(tokens.refresh_token ?? '')).body).toEqual({ active: false });
    expect((await introspect(tokens.access_token)).body).toEqual({ active: false });
  });

  it('demo-gateway exchanges a demo-web user\'s access token for an orders:read token for alice, which introspects as active', async () => {
    const tokens = await aliceTokens('demo-web', 'openid api:read');
    const res = await exchangeAsGateway({ subject_token: tokens.access_token, subject_token_type: ACCESS_TOKEN_TYPE });
    expect(res.status).toBe(200);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.body).toEqual({ access_token: expect.any(String), issued_token_type: ACCESS_TOKEN_TYPE, token_type: 'Bearer', expires_in: 3600, scope: 'orders:read' });
    expect(jwt.decode(res.body.access_token)).toMatchObject({ iss: ISSUER, sub: ALICE.subject, client_id: GATEWAY.clientId, scope: 'orders:read', grant_id: expect.any(String) });
    expect((await introspect(res.body.access_token)).body).toMatchObject({ active: true, client_id: GATEWAY.clientId, sub: ALICE.subject, scope: 'orders:read' });
    expect(events()).toContainEqual(expect.objectContaining({ event: 'token.issued', clientId: GATEWAY.clientId, grantType: TOKEN_EXCHANGE }));
  });

  it('GET /api/me answers alice\'s demo-web token with api:read: her sub, the client and the scope', async () => {
    const tokens = await aliceTokens('demo-web', 'openid api:read');
    const res = await request(app).get('/api/me').set('Authorization', `Bearer ${tokens.access_token}`);
    expect(res.status).toBe(200);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.body).toEqual({ sub: ALICE.subject, client_id: WEB.clientId, scope: 'openid api:read' });
  });

  it('GET /api/me refuses as RFC 6750 says: no token 401 (bare challenge), a revoked one 401 invalid_token, orders:read only 403', async () => {
    const bare = await request(app).get('/api/me');
    expect(bare.status).toBe(401);
    expect(bare.headers['www-authenticate']).toBe(`Bearer realm="${ISSUER}", DPoP realm="${ISSUER}", algs="ES256 ES384 ES512 RS256 RS384 RS512 PS256 PS384 PS512"`);
    expect(bare.text).toBe('');

    const tokens = await aliceTokens('demo-web', 'openid api:read');
    const exchanged = await exchangeAsGateway({ subject_token: tokens.access_token, subject_token_type: ACCESS_TOKEN_TYPE });
    const forbidden = await request(app).get('/api/me').set('Authorization', `Bearer ${exchanged.body.access_token}`);
    expect(forbidden.status).toBe(403);
    expect(forbidden.headers['www-authenticate']).toBe(`Bearer realm="${ISSUER}", error="insufficient_scope", error_description="The access token does not carry the scope this resource requires.", scope="api:read"`);
    expect(forbidden.body).toEqual({ error: 'insufficient_scope', error_description: 'The access token does not carry the scope this resource requires.' });

    expect((await revokeAsWeb(tokens.access_token)).status).toBe(200);
    const revoked = await request(app).get('/api/me').set('Authorization', `Bearer ${tokens.access_token}`);
    expect(revoked.status).toBe(401);
    expect(revoked.headers['www-authenticate']).toBe(`Bearer realm="${ISSUER}", error="invalid_token", error_description="The access token is invalid, expired or revoked, or not for this resource."`);
    expect(revoked.body.error).toBe('invalid_token');
  });

  it('maps a demo-spa (pairwise) subject back to the user: the exchanged token names alice', async () => {
    const tokens = await aliceTokens('demo-spa', 'openid api:read');
    expect(jwt.decode(tokens.access_token)).not.toMatchObject({ sub: ALICE.subject });
    const res = await exchangeAsGateway({ subject_token: tokens.access_token, subject_token_type: ACCESS_TOKEN_TYPE, scope: 'orders:read' });
    expect(res.status).toBe(200);
    expect(jwt.decode(res.body.access_token)).toMatchObject({ sub: ALICE.subject, client_id: GATEWAY.clientId, scope: 'orders:read' });
  });
});

/** The test's environment minus the demo's own variables, so only the defaults apply. */
function demoEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const name of ['PORT', 'HOST', 'ISSUER', 'CLIENTS_FILE', 'SIGNING_KEY_FILE', 'PAIRWISE_SALT_FILE', 'PAGE_SECRET_FILE', 'USERS_FILE', 'STORE', 'SQLITE_FILE', 'REDIS_URL', 'PG_URL', 'TRUST_PROXY']) delete env[name];
  return env;
}

/** A port that was free a moment ago (the demo needs a concrete port for its default issuer). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

describe('npm run demo (real process)', () => {
  let dir: string;
  let child: ChildProcess | undefined;
  let port: number;
  let output = '';

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'demo-server-'));
    port = await freePort();
    // cwd must be the repo root, as under `npm run demo`: tsx takes tsconfig.json (decorators) from it.
    // `npm run demo` runs tsx's CLI, which starts `node --import <tsx loader> demo-app/server.ts` as
    // a child and relays signals with a 30 ms handshake; on a loaded machine the handshake times out
    // and tsx SIGKILLs the server (exit 143). Loading tsx in-process runs the same entry with the same
    // loader, and the SIGTERM test below then checks server.ts's own shutdown, not tsx's relay.
    child = spawn(process.execPath, ['--import', 'tsx', 'demo-app/server.ts'], {
      cwd: ROOT,
      env: { ...demoEnv(), PORT: String(port), SIGNING_KEY_FILE: join(dir, 'key.pem'), PAIRWISE_SALT_FILE: join(dir, 'salt'), PAGE_SECRET_FILE: join(dir, 'page-secret'), SQLITE_FILE: join(dir, 'demo.sqlite') },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout?.on('data', (chunk: Buffer) => { output += chunk.toString(); });
    child.stderr?.on('data', (chunk: Buffer) => { output += chunk.toString(); });
    // The last line of the startup banner: the output chunks may arrive separately, so waiting for
    // the listening line alone would race the lines the first test checks.
    await waitForOutput(child, /^ {2}http:\/\/localhost:\d+\/connect\/authorize\?response_type=code.*\n/m, 20_000);
  }, 30_000);

  function running(): ChildProcess {
    if (!child) throw new Error('demo was not started');
    return child;
  }

  /** Resolves once the collected output matches; rejects on timeout or if the process exits. */
  function waitForOutput(proc: ChildProcess, pattern: RegExp, timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const done = (error?: Error) => {
        clearInterval(poll);
        clearTimeout(timer);
        proc.off('exit', onExit);
        if (error) reject(error);
        else resolve();
      };
      const onExit = (code: number | null) => done(new Error(`demo exited with code ${code}; output:\n${output}`));
      const poll = setInterval(() => { if (pattern.test(output)) done(); }, 20);
      const timer = setTimeout(() => done(new Error(`no ${pattern} within ${timeoutMs} ms; output:\n${output}`)), timeoutMs);
      proc.once('exit', onExit);
    });
  }

  afterAll(async () => {
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child?.once('exit', resolve));
      child.kill('SIGKILL');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('prints the endpoint and a curl example, and generates its key', () => {
    expect(output).toContain(`http://localhost:${port}/connect/token`);
    expect(output).toMatch(/curl .*-u 'demo-service:demo-service-secret-change-me-0123456789'.*grant_type=client_credentials/);
    expect(output).toContain('Generated a new RSA-2048 signing key');
    expect(existsSync(join(dir, 'key.pem'))).toBe(true);
    expect(output).toContain(`Generated a new pairwise-subject salt at ${join(dir, 'salt')}`);
    expect(output).toContain(`Generated a new page secret (CSRF tokens, device confirmations) at ${join(dir, 'page-secret')}`);
    expect(output).toContain(`http://localhost:${port}/connect/authorize?response_type=code&client_id=demo-web`);
    expect(output).toContain(`curl -s -d client_id=demo-tv --data-urlencode 'scope=openid profile offline_access' http://localhost:${port}/connect/deviceauthorization`);
    expect(output).toContain(`curl -s -H "Authorization: Bearer $ACCESS_TOKEN" http://localhost:${port}/api/me`);
  });

  it('serves GET /api/me to a token with api:read, and a Bearer challenge without one', async () => {
    const base = `http://127.0.0.1:${port}`;
    const issued = await fetch(`${base}/connect/token`, {
      method: 'POST',
      headers: { Authorization: BASIC, 'Content-Type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=client_credentials&scope=api:read',
    });
    const { access_token: token } = (await issued.json()) as { access_token: string };
    const me = await fetch(`${base}/api/me`, { headers: { Authorization: `Bearer ${token}` } });
    expect(me.status).toBe(200);
    expect(await me.json()).toEqual({ sub: `client:${DEMO_ID}`, client_id: DEMO_ID, scope: 'api:read' });
    const bare = await fetch(`${base}/api/me`);
    expect(bare.status).toBe(401);
    expect(bare.headers.get('www-authenticate')).toBe(`Bearer realm="http://localhost:${port}", DPoP realm="http://localhost:${port}", algs="ES256 ES384 ES512 RS256 RS384 RS512 PS256 PS384 PS512"`);
  });

  it('issues a JWT for client_credentials over HTTP', async () => {
    const res = await fetch(`http://127.0.0.1:${port}/connect/token`, {
      method: 'POST',
      headers: { Authorization: BASIC, 'Content-Type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=client_credentials&scope=api:write',
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { access_token: string; scope: string };
    expect(body.scope).toBe('api:write');
    const pem = readFileSync(join(dir, 'key.pem'), 'utf8');
    const issuer = `http://localhost:${port}`;
    expect(jwt.verify(body.access_token, createPublicKey(pem), { algorithms: ['RS256'], issuer, audience: issuer })).toMatchObject({ sub: `client:${DEMO_ID}` });
    await waitForOutput(running(), /^\{"event":"token\.issued".*"clientId":"demo-service"/m, 5_000);
  });

  it('advertises and serves introspection (demo-api) and revocation over HTTP', async () => {
    const base = `http://127.0.0.1:${port}`;
    const issuer = `http://localhost:${port}`;
    const discovery = (await (await fetch(`${base}/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
    expect(discovery).toMatchObject({ revocation_endpoint: `${issuer}/connect/revocation`, introspection_endpoint: `${issuer}/connect/introspection` });
    expect(discovery.grant_types_supported).toContain('urn:ietf:params:oauth:grant-type:token-exchange');

    const form = (authorization: string, body: Record<string, string>) => ({ method: 'POST', headers: { Authorization: authorization, 'Content-Type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(body).toString() });
    const issued = (await (await fetch(`${base}/connect/token`, form(BASIC, { grant_type: 'client_credentials', scope: 'api:read' }))).json()) as { access_token: string };
    const api = `Basic ${Buffer.from('demo-api:demo-api-secret-change-me-0123456789').toString('base64')}`;
    const introspect = async () => (await fetch(`${base}/connect/introspection`, form(api, { token: issued.access_token }))).json();
    expect(await introspect()).toMatchObject({ active: true, client_id: DEMO_ID, sub: `client:${DEMO_ID}`, scope: 'api:read', iss: issuer });
    const revoked = await fetch(`${base}/connect/revocation`, form(BASIC, { token: issued.access_token }));
    expect(revoked.status).toBe(200);
    expect(await introspect()).toEqual({ active: false });
    await waitForOutput(running(), /^\{"event":"token\.revoked".*"clientId":"demo-service"/m, 5_000);
  });

  it('closes the server and exits 0 on SIGTERM', async () => {
    const proc = running();
    const exit = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
    proc.kill('SIGTERM');
    expect(await exit).toBe(0);
    expect(output).toContain('SIGTERM received, closing the server');
  });
});

// The demo's JWT-authenticated and DPoP clients (openid-client and oauth4webapi drive them over HTTP
// in spec/interop). The private key matches demo-jwt-service's public JWK in demo-app/clients.json:
// a published demo key, here and in demo-app/private-key-jwt.mjs only, never in lib/.
const DEMO_JWT_SERVICE_PRIVATE_JWK: JsonWebKey = {
  kty: 'EC', crv: 'P-256', kid: 'demo-jwt-service-2026',
  x: 'UKs5TS1Pw1y5zvt1zTkPlpUGHSVNBTGuhS_eo9HcePo', y: 'ZEPQRzW6rtFVr4dRI2-FanUeRJXBImTy-BMtZxUUcpc', d: 'xOh2L3fskn2wTtQkRGdrBdeKXKU6WCYOIfCSjl0xI18',
};
const DEMO_HMAC_KEY = 'demo-hmac-service-key-change-me-0123456789';

describe('createDemoApp: private_key_jwt, client_secret_jwt and DPoP demo clients', () => {
  let dir: string;
  let app: Express;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'demo-jwt-clients-'));
    app = createDemoApp({ issuer: ISSUER, signingKeyFile: join(dir, 'key.pem'), pairwiseSaltFile: join(dir, 'salt'), pageSecretFile: join(dir, 'page'), writeLine: () => {} });
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const assertionFor = (clientId: string, key: KeyObject | string, options: jwt.SignOptions & { algorithm: jwt.Algorithm }) =>
    jwt.sign({ jti: randomBytes(16).toString('base64url') }, key, { ...options, issuer: clientId, subject: clientId, audience: ISSUER, expiresIn: 60 });
  const clientCredentials = (clientId: string, assertion: string) => request(app).post('/connect/token').type('form').send(new URLSearchParams({
    grant_type: 'client_credentials', scope: 'api:read', client_id: clientId,
    client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', client_assertion: assertion,
  }).toString());

  it('demo-jwt-service authenticates with an ES256 private_key_jwt signed by the demo key; another key is refused', async () => {
    const key = createPrivateKey({ key: DEMO_JWT_SERVICE_PRIVATE_JWK, format: 'jwk' });
    const ok = await clientCredentials('demo-jwt-service', assertionFor('demo-jwt-service', key, { algorithm: 'ES256', keyid: 'demo-jwt-service-2026' }));
    expect(ok.status).toBe(200);
    expect(jwt.decode(ok.body.access_token)).toMatchObject({ sub: 'client:demo-jwt-service', client_id: 'demo-jwt-service', scope: 'api:read' });
    const other = keyPair('ec', { namedCurve: 'P-256' }).privateKey;
    const bad = await clientCredentials('demo-jwt-service', assertionFor('demo-jwt-service', other, { algorithm: 'ES256', keyid: 'demo-jwt-service-2026' }));
    expect(bad.status).toBe(401);
    expect(bad.body.error).toBe('invalid_client');
  });

  it('demo-hmac-service authenticates with an HS256 client_secret_jwt', async () => {
    const ok = await clientCredentials('demo-hmac-service', assertionFor('demo-hmac-service', DEMO_HMAC_KEY, { algorithm: 'HS256' }));
    expect(ok.status).toBe(200);
    expect(jwt.decode(ok.body.access_token)).toMatchObject({ client_id: 'demo-hmac-service' });
  });

  it('demo-dpop-spa (dpop_bound_access_tokens) is refused without a DPoP proof', async () => {
    const res = await request(app).post('/connect/token').type('form').send('grant_type=refresh_token&client_id=demo-dpop-spa&refresh_token=anything');
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ error: 'invalid_request', error_description: expect.stringMatching(/DPoP/) });
  });
});
