// spec/demo-app-security.spec.ts
// The demo's pages are what hosts copy, so they must be safe (issue 13 items 11 and 12): password
// guessing is throttled per (username, source) and per source without a lockout another address
// can trigger; every form refuses cross-site posts and posts without a valid CSRF token; and the
// device confirmation is signed form state that another instance sharing the store accepts. The
// token services are as narrow as the README says: clients revoke only their own tokens, only
// demo-api introspects, and the token-exchange policy denies everything but its one case.
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import type { Express } from 'express';
import { createDemoApp, type DemoConfig } from '../demo-app/app';
import { formOf, visibleText } from './helpers/html-page';

const ISSUER = 'http://localhost:3000';
const EVIL = 'https://evil.example';
const ALICE = { username: 'alice', password: 'alice-password-demo', subject: '3f9c2a1e-7b4d-4c8e-9a61-2d5e8f0b7c41' };
const BOB = { username: 'bob', password: 'bob-password-demo' };
const WEB = { clientId: 'demo-web', redirectUri: 'http://localhost:8080/callback' };
const TV = { clientId: 'demo-tv' };
const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';
const LOGIN_REQUEST = { response_type: 'code', client_id: WEB.clientId, redirect_uri: WEB.redirectUri, scope: 'openid', state: 'st' };
const LOGIN_PATH = `/connect/authorize?${new URLSearchParams(LOGIN_REQUEST).toString()}`;

type Agent = ReturnType<typeof request.agent>;

/** The `code` of a redirect back to the client, or null. */
function codeOf(res: request.Response): string | null {
  return res.headers.location ? new URL(res.headers.location).searchParams.get('code') : null;
}

/** The name=value of the demo's CSRF cookie in a response's Set-Cookie, or undefined. */
function csrfCookieOf(res: request.Response): string | undefined {
  const setCookie = ([] as string[]).concat(res.headers['set-cookie'] ?? []);
  return setCookie.find((cookie) => cookie.startsWith('demo_csrf='))?.split(';')[0];
}

interface DeviceAuthorization { device_code: string; user_code: string; verification_uri_complete: string }

async function authorizeDevice(target: Express, scope = 'openid profile'): Promise<DeviceAuthorization> {
  const res = await request(target).post('/connect/deviceauthorization').type('form').send(new URLSearchParams({ client_id: TV.clientId, scope }).toString());
  expect(res.status).toBe(200);
  return res.body as DeviceAuthorization;
}

function poll(target: Express, deviceCode: string): request.Test {
  return request(target).post('/connect/token').type('form').send(new URLSearchParams({ grant_type: DEVICE_GRANT, client_id: TV.clientId, device_code: deviceCode }).toString());
}

describe('demo sign-in throttle (login page and device page)', () => {
  let dir: string;
  let app: Express;
  let now: number;
  const lines: string[] = [];

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'demo-throttle-'));
    now = Date.now();
    lines.length = 0;
    // trustProxy 'loopback': supertest connects from loopback, so X-Forwarded-For plays the source address.
    app = createDemoApp({
      issuer: ISSUER,
      signingKeyFile: join(dir, 'key.pem'),
      pairwiseSaltFile: join(dir, 'salt'),
      pageSecretFile: join(dir, 'page-secret'),
      writeLine: (line) => lines.push(line),
      trustProxy: 'loopback',
      clock: () => now,
    });
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  /** A browser at this address: keeps its CSRF cookie and sends the pages' own Origin. */
  const browserAt = (address: string): Agent => request.agent(app).set('Origin', ISSUER).set('X-Forwarded-For', address);

  /** Opens the login page; its fields (hidden request parameters and CSRF token) for posting. */
  async function openLogin(browser: Agent): Promise<Record<string, string>> {
    const page = await browser.get(LOGIN_PATH);
    expect(page.status).toBe(200);
    return formOf(page.text).fields;
  }

  function submitLogin(browser: Agent, fields: Record<string, string>, username: string, password: string): request.Test {
    return browser.post('/connect/authorize').type('form').send(new URLSearchParams({ ...fields, username, password }).toString());
  }

  const events = (name: string) => lines.filter((line) => line.includes(`"event":"${name}"`));

  it('300 wrong passwords for alice from one address: 4 evaluated, the rest 429; the right password works from another address at once, and from that address after the back-off', async () => {
    const attacker = browserAt('203.0.113.7');
    const form = await openLogin(attacker);
    const statuses: number[] = [];
    for (let i = 0; i < 300; i += 1) statuses.push((await submitLogin(attacker, form, ALICE.username, `guess-${i}`)).status);

    // Three free failures, the fourth starts the back-off; nothing after it reaches the password check.
    expect(statuses.slice(0, 4)).toEqual([200, 200, 200, 200]);
    expect(statuses.slice(4).every((status) => status === 429)).toBe(true);
    expect(events('demo.login_failed')).toHaveLength(4);
    expect(events('demo.login_throttled')).toHaveLength(296);

    // Throttled before the password is looked at: the right one gets the same 429 and no code.
    const blocked = await submitLogin(attacker, form, ALICE.username, ALICE.password);
    expect(blocked.status).toBe(429);
    expect(blocked.headers['retry-after']).toBe('1');
    expect(blocked.headers.location).toBeUndefined();
    expect(blocked.headers['cache-control']).toBe('no-store');
    expect(visibleText(blocked.text)).toContain('Too many sign-in attempts. Wait 1 second before trying again.');
    // The page is the login form again, ready for when the wait is over.
    expect(formOf(blocked.text).fields).toMatchObject({ client_id: WEB.clientId, username: ALICE.username });

    // No lockout: alice, from her own address, signs in at once.
    const alice = browserAt('198.51.100.9');
    const signedIn = await submitLogin(alice, await openLogin(alice), ALICE.username, ALICE.password);
    expect(signedIn.status).toBe(302);
    expect(codeOf(signedIn)).toMatch(/^[A-Za-z0-9_-]{43}$/);

    // And from the throttled address once the back-off is over.
    now += Number(blocked.headers['retry-after']) * 1000;
    const later = await submitLogin(attacker, form, ALICE.username, ALICE.password);
    expect(later.status).toBe(302);
    expect(codeOf(later)).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it('doubles the wait with each further failure, and a right password resets it', async () => {
    const browser = browserAt('203.0.113.8');
    const form = await openLogin(browser);
    const waits: number[] = [];
    // Wrong passwords, sleeping through each 429 on the test clock, until three waits were seen.
    for (let i = 0; i < 20 && waits.length < 3; i += 1) {
      const res = await submitLogin(browser, form, BOB.username, 'wrong');
      if (res.status === 429) {
        const wait = Number(res.headers['retry-after']);
        waits.push(wait);
        now += wait * 1000;
      }
    }
    // Failures 4, 5, 6 (after each wait) block for 1, 2, 4 seconds.
    expect(waits).toEqual([1, 2, 4]);
    now += 60_000;
    expect((await submitLogin(browser, form, BOB.username, BOB.password)).status).toBe(302);
    // Reset: three free failures again.
    for (let i = 0; i < 3; i += 1) expect((await submitLogin(browser, form, BOB.username, 'wrong')).status).toBe(200);
  });

  it('limits one address across usernames (password spraying), without touching other addresses', async () => {
    const sprayer = browserAt('203.0.113.9');
    const form = await openLogin(sprayer);
    // One failure per username never starts a back-off; the source's budget of 20 failures runs out.
    for (let i = 0; i < 20; i += 1) expect((await submitLogin(sprayer, form, `user${i}`, 'Summer2024!')).status).toBe(200);
    const blocked = await submitLogin(sprayer, form, BOB.username, BOB.password);
    expect(blocked.status).toBe(429);
    expect(blocked.headers['retry-after']).toBe('30');

    const bob = browserAt('198.51.100.10');
    expect((await submitLogin(bob, await openLogin(bob), BOB.username, BOB.password)).status).toBe(302);

    // The budget refills: one failure's worth every 30 seconds.
    now += 30_000;
    expect((await submitLogin(sprayer, form, BOB.username, BOB.password)).status).toBe(302);
  });

  it('is shared with the device page: a throttled address gets 429 there too, another address signs in', async () => {
    const attacker = browserAt('203.0.113.10');
    const form = await openLogin(attacker);
    for (let i = 0; i < 4; i += 1) await submitLogin(attacker, form, ALICE.username, `guess-${i}`);

    const device = await authorizeDevice(app);
    const signInOnDevicePage = async (browser: Agent) => {
      const url = new URL(device.verification_uri_complete);
      const page = await browser.get(url.pathname + url.search);
      const { action, fields } = formOf(page.text);
      return browser.post(action).type('form').send(new URLSearchParams({ ...fields, username: ALICE.username, password: ALICE.password }).toString());
    };
    const blocked = await signInOnDevicePage(attacker);
    expect(blocked.status).toBe(429);
    expect(Number(blocked.headers['retry-after'])).toBeGreaterThan(0);
    expect(visibleText(blocked.text)).toMatch(/Too many sign-in attempts\. Wait \d+ seconds? before trying again\./);
    expect(blocked.text).not.toContain('name="confirmation"');
    expect(events('demo.device_login_throttled')).toHaveLength(1);

    const confirm = await signInOnDevicePage(browserAt('198.51.100.11'));
    expect(confirm.status).toBe(200);
    expect(confirm.text).toContain('name="confirmation"');
  });
});

describe('demo CSRF protection (every form)', () => {
  let dir: string;
  let app: Express;
  const lines: string[] = [];

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'demo-csrf-'));
    app = createDemoApp({ issuer: ISSUER, signingKeyFile: join(dir, 'key.pem'), pairwiseSaltFile: join(dir, 'salt'), pageSecretFile: join(dir, 'page-secret'), writeLine: (line) => lines.push(line) });
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** What a browser has after opening the login page: the CSRF cookie and the form's fields. */
  async function loginPage(): Promise<{ cookie: string; fields: Record<string, string> }> {
    const page = await request(app).get(LOGIN_PATH);
    expect(page.status).toBe(200);
    const cookie = csrfCookieOf(page);
    if (!cookie) throw new Error('the login page set no CSRF cookie');
    return { cookie, fields: { ...formOf(page.text).fields, username: ALICE.username, password: ALICE.password } };
  }

  function postLogin(fields: Record<string, string>, headers: Record<string, string>): request.Test {
    const req = request(app).post('/connect/authorize').type('form');
    for (const [name, value] of Object.entries(headers)) req.set(name, value);
    return req.send(new URLSearchParams(fields).toString());
  }

  function expectRefused(res: request.Response): void {
    expect(res.status).toBe(403);
    expect(res.headers.location).toBeUndefined();
    expect(res.headers['cache-control']).toBe('no-store');
    expect(visibleText(res.text)).toContain('This form was sent from another site, or it has expired. Go back, reload the page and try again.');
  }

  it('sets an HttpOnly, SameSite=Lax cookie and puts a signed token in the form; the browser flow (same Origin) signs in', async () => {
    const page = await request(app).get(LOGIN_PATH);
    const setCookie = ([] as string[]).concat(page.headers['set-cookie'] ?? []).find((cookie) => cookie.startsWith('demo_csrf='));
    expect(setCookie).toMatch(/^demo_csrf=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Lax$/);
    const { fields } = formOf(page.text);
    expect(fields.csrf_token).toMatch(/^[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}$/);
    // A page opened again in the same browser keeps its cookie and gets a new token.
    const cookie = csrfCookieOf(page) ?? '';
    const again = await request(app).get(LOGIN_PATH).set('Cookie', cookie);
    expect(again.headers['set-cookie']).toBeUndefined();
    expect(formOf(again.text).fields.csrf_token).not.toBe(fields.csrf_token);

    const res = await postLogin({ ...fields, username: ALICE.username, password: ALICE.password }, { Cookie: cookie, Origin: ISSUER });
    expect(res.status).toBe(302);
    expect(codeOf(res)).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it('refuses a cross-site post (Origin https://evil.example) with 403 and no code, even with a valid cookie and token', async () => {
    lines.length = 0;
    const { cookie, fields } = await loginPage();
    const res = await postLogin(fields, { Cookie: cookie, Origin: EVIL });
    expectRefused(res);
    expect(codeOf(res)).toBeNull();
    // Refused before the password is looked at.
    expect(lines.some((line) => line.includes('"event":"demo.signed_in"') || line.includes('"event":"demo.login_failed"'))).toBe(false);
    expect(lines).toEqual([expect.stringContaining('"event":"demo.csrf_refused"')]);
    expect(JSON.parse(lines[0])).toMatchObject({ form: 'login', reason: 'origin' });
  });

  it.each([
    ['Origin: null (sandboxed frame)', { Origin: 'null' }],
    ['a cross-site Referer and no Origin', { Referer: `${EVIL}/page` }],
    ['a same-site but other-origin Origin', { Origin: 'http://localhost:3001' }],
    ['an https Origin for the http pages', { Origin: 'https://localhost:3000' }],
  ])('refuses %s', async (_name, headers) => {
    const { cookie, fields } = await loginPage();
    expectRefused(await postLogin(fields, { Cookie: cookie, ...headers }));
  });

  it('refuses posts without a valid token for this form and this browser', async () => {
    const { cookie, fields } = await loginPage();
    const { csrf_token: token, ...withoutToken } = fields;
    const other = await loginPage();
    const tampered = `${token.slice(0, -1)}${token.endsWith('A') ? 'B' : 'A'}`;
    const device = await request(app).get('/device').set('Cookie', cookie);
    const deviceToken = formOf(device.text).fields.csrf_token;
    const headers = { Cookie: cookie, Origin: ISSUER };

    expectRefused(await postLogin(withoutToken, headers));
    expectRefused(await postLogin(fields, { Origin: ISSUER })); // token but no cookie
    expectRefused(await postLogin({ ...fields, csrf_token: other.fields.csrf_token }, headers)); // another browser's token
    expectRefused(await postLogin({ ...fields, csrf_token: tampered }, headers));
    expectRefused(await postLogin({ ...fields, csrf_token: deviceToken }, headers)); // a token for another form
    expect(lines.filter((line) => line.includes('"reason":"token"')).length).toBeGreaterThanOrEqual(5);
  });

  it('refuses a token whose last character differs only in its unused bits (a second spelling of the same MAC)', async () => {
    // The MAC is 32 bytes: its 43rd base64url character carries 4 bits and 2 unused ones, so three
    // other characters decode to the same bytes. Only the exact token that was issued is accepted.
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const { cookie, fields } = await loginPage();
    const token = fields.csrf_token;
    const last = alphabet.indexOf(token.slice(-1));
    for (const variant of [last ^ 1, last ^ 2, last ^ 3]) {
      const respelled = `${token.slice(0, -1)}${alphabet[variant]}`;
      expect(Buffer.from(respelled.slice(respelled.lastIndexOf('.') + 1), 'base64url')).toEqual(Buffer.from(token.slice(token.lastIndexOf('.') + 1), 'base64url'));
      expectRefused(await postLogin({ ...fields, csrf_token: respelled }, { Cookie: cookie, Origin: ISSUER }));
    }
  });

  it('accepts a valid token without Origin or Referer (a non-browser client such as curl), and a same-origin Referer', async () => {
    const first = await loginPage();
    expect((await postLogin(first.fields, { Cookie: first.cookie })).status).toBe(302);
    const second = await loginPage();
    expect((await postLogin(second.fields, { Cookie: second.cookie, Referer: `${ISSUER}${LOGIN_PATH}` })).status).toBe(302);
  });

  it('protects the device code form and the approve/deny form the same way', async () => {
    const device = await authorizeDevice(app);
    const browser = request.agent(app).set('Origin', ISSUER);
    const page = await browser.get(`/device?user_code=${device.user_code}`);
    const signInFields: Record<string, string> = { ...formOf(page.text).fields, username: ALICE.username, password: ALICE.password };
    const postAs = (path: string, fields: Record<string, string>, origin = ISSUER) => browser.post(path).set('Origin', origin).type('form').send(new URLSearchParams(fields).toString());

    // Code entry: cross-site or without a token, nothing is looked up or signed in.
    expectRefused(await postAs('/device', signInFields, EVIL));
    const { csrf_token: _codeToken, ...noCodeToken } = signInFields;
    expectRefused(await postAs('/device', noCodeToken));
    const confirm = await postAs('/device', signInFields);
    expect(confirm.status).toBe(200);
    const { fields } = formOf(confirm.text);

    // Approve/deny: cross-site, without a token, or with the code form's token: nothing decided.
    expectRefused(await postAs('/device/decision', { ...fields, decision: 'approve' }, EVIL));
    const { csrf_token: _decisionToken, ...noDecisionToken } = fields;
    expectRefused(await postAs('/device/decision', { ...noDecisionToken, decision: 'approve' }));
    expectRefused(await postAs('/device/decision', { ...fields, csrf_token: signInFields.csrf_token, decision: 'approve' }));
    expect((await poll(app, device.device_code)).body.error).toBe('authorization_pending');

    // The real click still works.
    expect((await postAs('/device/decision', { ...fields, decision: 'deny' })).status).toBe(200);
  });
});

describe('demo device flow across two instances (shared store and page secret)', () => {
  let dir: string;
  let now: number;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'demo-instances-'));
    now = Date.now();
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  /** An instance as `npm run demo` would start it: the shared files and the shared SQLite database. */
  function instance(overrides: Partial<DemoConfig> = {}): Express {
    return createDemoApp({
      issuer: ISSUER,
      signingKeyFile: join(dir, 'key.pem'),
      pairwiseSaltFile: join(dir, 'salt'),
      pageSecretFile: join(dir, 'page-secret'),
      store: { kind: 'sqlite', file: join(dir, 'shared.sqlite') },
      writeLine: () => undefined,
      clock: () => now,
      ...overrides,
    });
  }

  /**
   * One browser behind a round-robin proxy: each request may reach either instance. It keeps its
   * cookie itself (a supertest agent is tied to one app) and sends the pages' Origin.
   */
  function browser() {
    let cookie = '';
    const remember = (res: request.Response) => {
      cookie = csrfCookieOf(res) ?? cookie;
      return res;
    };
    return {
      get: async (target: Express, path: string) => remember(await request(target).get(path).set('Cookie', cookie)),
      post: async (target: Express, path: string, fields: Record<string, string>) =>
        remember(await request(target).post(path).set('Cookie', cookie).set('Origin', ISSUER).type('form').send(new URLSearchParams(fields).toString())),
    };
  }

  /** Opens the code page on `pageOn`, signs in as `user` on `signInOn`: the confirm page's fields. */
  async function confirmPage(user: ReturnType<typeof browser>, device: DeviceAuthorization, pageOn: Express, signInOn: Express, who: { username: string; password: string } = ALICE): Promise<Record<string, string>> {
    const page = await user.get(pageOn, `/device?user_code=${device.user_code}`);
    const confirm = await user.post(signInOn, '/device', { ...formOf(page.text).fields, username: who.username, password: who.password });
    expect(confirm.status).toBe(200);
    return formOf(confirm.text).fields;
  }

  it('confirms on instance A, approves on instance B, and the device gets tokens', async () => {
    const a = instance();
    const b = instance();
    const device = await authorizeDevice(a, 'openid profile offline_access');
    const user = browser();
    // The code page from B, the sign-in (and so the confirm page) from A, the approval to B.
    const fields = await confirmPage(user, device, b, a);
    const approved = await user.post(b, '/device/decision', { ...fields, decision: 'approve' });
    expect(approved.status).toBe(200);
    expect(visibleText(approved.text)).toMatch(/Approved\. You may return to your device/);

    const tokens = await poll(b, device.device_code);
    expect(tokens.status).toBe(200);
    expect(tokens.body).toMatchObject({ token_type: 'Bearer', scope: 'openid profile offline_access', access_token: expect.any(String), refresh_token: expect.any(String), id_token: expect.any(String) });
    const idToken = JSON.parse(Buffer.from(String(tokens.body.id_token).split('.')[1], 'base64url').toString()) as Record<string, unknown>;
    expect(idToken).toMatchObject({ sub: ALICE.subject, name: 'Alice Andersen', amr: ['pwd'] });

    // A replay on A decides nothing: the code was decided once, on B.
    const replay = await user.post(a, '/device/decision', { ...fields, decision: 'deny' });
    expect(replay.status).toBe(400);
    expect(visibleText(replay.text)).toContain('That code has already been approved or denied.');
  });

  it('an instance with another page secret refuses the other instance\'s forms', async () => {
    const a = instance();
    const stranger = instance({ pageSecretFile: join(dir, 'other-page-secret') });
    const device = await authorizeDevice(a);
    const user = browser();
    const fields = await confirmPage(user, device, a, a);
    expect((await user.post(stranger, '/device/decision', { ...fields, decision: 'approve' })).status).toBe(403);
    expect((await poll(a, device.device_code)).body.error).toBe('authorization_pending');
  });

  it('refuses a confirmation that expired, was altered, or comes from another browser', async () => {
    const a = instance();
    const b = instance();
    const device = await authorizeDevice(a, 'openid');
    const alice = browser();
    const fields = await confirmPage(alice, device, a, a);
    const expired = 'This confirmation has expired or was already used.';

    // Another browser (its own cookie and a valid decision token from its own sign-in) cannot use alice's confirmation.
    const other = browser();
    const otherFields = await confirmPage(other, await authorizeDevice(a, 'openid'), b, b, BOB);
    const lifted = await other.post(b, '/device/decision', { ...otherFields, confirmation: fields.confirmation, decision: 'approve' });
    expect(lifted.status).toBe(400);
    expect(visibleText(lifted.text)).toContain(expired);

    // Altered: a broader scope in the payload, the old signature.
    const [payload, mac] = fields.confirmation.split('.');
    const altered = { ...JSON.parse(Buffer.from(payload, 'base64url').toString()), scope: ['openid', 'profile', 'email'] };
    const forged = `${Buffer.from(JSON.stringify(altered)).toString('base64url')}.${mac}`;
    const alteredRes = await alice.post(b, '/device/decision', { ...fields, confirmation: forged, decision: 'approve' });
    expect(alteredRes.status).toBe(400);
    expect(visibleText(alteredRes.text)).toContain(expired);

    // Expired: 5 minutes after the sign-in.
    now += 5 * 60_000;
    const late = await alice.post(b, '/device/decision', { ...fields, decision: 'approve' });
    expect(late.status).toBe(400);
    expect(visibleText(late.text)).toContain(expired);
    expect((await poll(a, device.device_code)).body.error).toBe('authorization_pending');
  });
});

describe('demo token services: who may revoke, introspect and exchange', () => {
  const WEB_CLIENT = { clientId: 'demo-web', secret: 'demo-web-secret-change-me-0123456789' };
  const GATEWAY = { clientId: 'demo-gateway', secret: 'demo-gateway-secret-change-me-0123456789' };
  const API = { clientId: 'demo-api', secret: 'demo-api-secret-change-me-0123456789' };
  const SERVICE = { clientId: 'demo-service', secret: 'demo-service-secret-change-me-0123456789' };
  const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
  const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';
  let dir: string;
  let app: Express;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'demo-services-security-'));
    app = createDemoApp({ issuer: ISSUER, signingKeyFile: join(dir, 'key.pem'), pairwiseSaltFile: join(dir, 'salt'), pageSecretFile: join(dir, 'page-secret'), writeLine: () => undefined });
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  type Caller = { clientId: string; secret?: string };
  /** POST a form to /connect/<path> as `caller`: HTTP Basic with a secret, client_id in the body without. */
  function post(path: 'token' | 'revocation' | 'introspection', params: Record<string, string>, caller: Caller): request.Test {
    const body = new URLSearchParams(params);
    const req = request(app).post(`/connect/${path}`).type('form');
    if (caller.secret !== undefined) req.set('Authorization', `Basic ${Buffer.from(`${caller.clientId}:${caller.secret}`).toString('base64')}`);
    else body.set('client_id', caller.clientId);
    return req.send(body.toString());
  }

  interface Tokens { access_token: string; refresh_token?: string; id_token: string }

  /** alice signs in at the login page for `client`; the code's tokens (PKCE for public clients). */
  async function aliceTokens(scope: string, client: Caller = WEB_CLIENT, redirectUri = WEB.redirectUri): Promise<Tokens> {
    const verifier = randomBytes(32).toString('base64url');
    const pkce = client.secret === undefined ? { code_challenge: createHash('sha256').update(verifier).digest('base64url'), code_challenge_method: 'S256' } : undefined;
    const browser = request.agent(app).set('Origin', ISSUER);
    const page = await browser.get(`/connect/authorize?${new URLSearchParams({ ...LOGIN_REQUEST, client_id: client.clientId, redirect_uri: redirectUri, scope, ...pkce }).toString()}`);
    const login = await browser.post('/connect/authorize').type('form').send(new URLSearchParams({ ...formOf(page.text).fields, username: ALICE.username, password: ALICE.password }).toString());
    const tokens = await post('token', { grant_type: 'authorization_code', code: codeOf(login) ?? '', redirect_uri: redirectUri, ...(pkce && { code_verifier: verifier }) }, client);
    expect(tokens.status).toBe(200);
    return tokens.body as Tokens;
  }
  const webTokens = (scope: string) => aliceTokens(scope);

  async function serviceToken(): Promise<string> {
    const res = await post('token', { grant_type: 'client_credentials', scope: 'api:read' }, SERVICE);
    expect(res.status).toBe(200);
    return String(res.body.access_token);
  }

  const isActive = async (token: string) => (await post('introspection', { token }, API)).body.active as boolean;

  it('a client cannot revoke another client\'s token (400 unauthorized_client), and the token stays active', async () => {
    const tokens = await webTokens('openid offline_access api:read');
    for (const token of [tokens.access_token, tokens.refresh_token ?? '']) {
      for (const caller of [SERVICE, { clientId: 'demo-spa' }]) {
        const res = await post('revocation', { token }, caller);
        expect(res.status).toBe(400);
        expect(res.body.error).toBe('unauthorized_client');
      }
      expect(await isActive(token)).toBe(true);
    }
    const wrongSecret = await post('revocation', { token: tokens.access_token }, { clientId: WEB_CLIENT.clientId, secret: 'wrong-secret-0123456789' });
    expect(wrongSecret.status).toBe(401);
    expect(wrongSecret.body.error).toBe('invalid_client');
    expect(await isActive(tokens.access_token)).toBe(true);
    // An ID token is not revocable (RFC 7009 §2.2.1).
    expect((await post('revocation', { token: tokens.id_token }, WEB_CLIENT)).body.error).toBe('unsupported_token_type');
  });

  it('only demo-api (introspection_allowed) may introspect: other confidential clients get unauthorized_client, public clients too, nobody unauthenticated', async () => {
    const token = await serviceToken();
    for (const caller of [GATEWAY, SERVICE, WEB_CLIENT, { clientId: 'demo-spa' }]) {
      const res = await post('introspection', { token }, caller);
      expect(res.status).toBe(400);
      expect(res.body).toEqual({ error: 'unauthorized_client', error_description: expect.any(String) });
      expect(JSON.stringify(res.body)).not.toContain('client:demo-service');
    }
    const anonymous = await request(app).post('/connect/introspection').type('form').send(new URLSearchParams({ token }).toString());
    expect(anonymous.status).toBe(401);
    const ok = await post('introspection', { token }, API);
    expect(ok.body).toMatchObject({ active: true, sub: 'client:demo-service', client_id: 'demo-service', scope: 'api:read' });
    // Garbage, or a token signed with another key, is only { active: false }.
    expect((await post('introspection', { token: 'garbage' }, API)).body).toEqual({ active: false });
    const [header, payload] = token.split('.');
    const forged = `${header}.${Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(payload, 'base64url').toString()), scope: 'api:write' })).toString('base64url')}.${token.split('.')[2]}`;
    expect((await post('introspection', { token: forged }, API)).body).toEqual({ active: false });
  });

  it('token exchange is default deny: only demo-gateway, only users\' demo-web/demo-spa access tokens with api:read, only for orders:read', async () => {
    const userToken = (await webTokens('openid api:read')).access_token;
    const exchange = (params: Record<string, string>, caller: Caller = GATEWAY) => post('token', { grant_type: TOKEN_EXCHANGE, subject_token_type: ACCESS_TOKEN_TYPE, ...params }, caller);
    const refused = async (params: Record<string, string>, error: string, caller: Caller = GATEWAY) => {
      const res = await exchange(params, caller);
      expect(res.status).toBe(400);
      expect(res.body.error).toBe(error);
      expect(res.body.access_token).toBeUndefined();
    };

    // Other clients are not registered for the grant.
    await refused({ subject_token: userToken }, 'unauthorized_client', WEB_CLIENT);
    await refused({ subject_token: userToken }, 'unauthorized_client', SERVICE);
    await refused({ subject_token: userToken }, 'unauthorized_client', { clientId: 'demo-spa' });
    // The policy says no: a client's own token (no user), a user token of another client
    // (demo-mobile) or without api:read, a refresh token or an actor (delegation) requested.
    await refused({ subject_token: await serviceToken() }, 'invalid_request');
    await refused({ subject_token: (await aliceTokens('openid api:read', { clientId: 'demo-mobile' }, 'http://127.0.0.1:7777/callback')).access_token }, 'invalid_request');
    await refused({ subject_token: (await webTokens('openid profile')).access_token }, 'invalid_request');
    await refused({ subject_token: userToken, requested_token_type: 'urn:ietf:params:oauth:token-type:refresh_token' }, 'invalid_request');
    await refused({ subject_token: userToken, actor_token: await serviceToken(), actor_token_type: ACCESS_TOKEN_TYPE }, 'invalid_request');
    // demo-web's ID token is for demo-web only (the library refuses it before the policy).
    const idToken = (await webTokens('openid api:read')).id_token;
    await refused({ subject_token: idToken, subject_token_type: 'urn:ietf:params:oauth:token-type:id_token' }, 'invalid_request');
    // More than orders:read, even a scope the user's token had.
    await refused({ subject_token: userToken, scope: 'orders:read api:read' }, 'invalid_scope');

    // A revoked subject token is refused.
    const revocable = await webTokens('openid api:read');
    expect((await post('revocation', { token: revocable.access_token }, WEB_CLIENT)).status).toBe(200);
    await refused({ subject_token: revocable.access_token }, 'invalid_request');

    // The one allowed exchange still works.
    const ok = await exchange({ subject_token: userToken });
    expect(ok.status).toBe(200);
    expect(ok.body.scope).toBe('orders:read');
  });
});
