// spec/browser/demo-browser.spec.ts
// The demo in a real browser (issue 17): Debian's Chromium driven by playwright-core — the
// authorization code flow through the login page (CSRF cookie, form, the redirect to the client
// with code, state and iss — no client listens there, the 302 is what counts — then the token
// request), a wrong password, an expired form, a redirect URI that is not registered (an error
// page, never a redirect), and the device flow's pages (code entry, a wrong code, the confirm
// page, approved, denied, a code decided in another tab, the decision URL opened directly). Both
// flows are also driven with the keyboard alone. Every page is checked with axe-core (WCAG 2.0/2.1
// A and AA plus best practices: no violation allowed) and for reflow at 320 px, and saved as
// screenshots in .tmp/screenshots (git-ignored) to look at after a run. Chromium comes from Debian
// (`apt-get install chromium`, done by .ci/run), never a browser download; CHROMIUM_PATH overrides
// /usr/bin/chromium. Without it the specs fail under CI and skip with a message locally.
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AxeResults, RunOptions } from 'axe-core';
import { chromium, type Browser, type BrowserContext, type Locator, type Page } from 'playwright-core';
import { createDemoApp } from '../../demo-app/app';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const BROWSER_SKIP_MESSAGE = `Chromium not found at ${CHROMIUM}: install Debian's chromium (apt-get install chromium) or set CHROMIUM_PATH to run the browser specs`;
const WEB_CALLBACK = 'http://localhost:8080/callback';
const WEB_BASIC = `Basic ${Buffer.from('demo-web:demo-web-secret-change-me-0123456789').toString('base64')}`;

/** Where screenshots of each page go (a test artifact, git-ignored), as `npm test` runs from the repository root. */
const SCREENSHOTS = join(process.cwd(), '.tmp', 'screenshots');

/**
 * axe-core's source, evaluated in the page rather than added with page.addScriptTag: the pages'
 * CSP (default-src 'none', so no script-src) refuses an inline <script>, and a context with
 * bypassCSP would check a page other than the one users get (e.g. unstyled if the style hash broke).
 */
const AXE_SOURCE = readFileSync(require.resolve('axe-core'), 'utf8');
/** WCAG 2.0 and 2.1, levels A and AA, and axe's best practices (landmarks, one h1, …). */
const AXE_OPTIONS: RunOptions = { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] }, resultTypes: ['violations'] };
/** What the spec reads of axe in the page (it compiles without the DOM lib, which axe's types need). */
type AxeInPage = { axe?: { run(options: RunOptions): Promise<AxeResults> } };

/** The axe violations on the page, one line each: rule id, impact, what it is about, and the selectors of the elements. */
async function axeViolations(page: Page): Promise<string[]> {
  if (!(await page.evaluate(() => (globalThis as AxeInPage).axe !== undefined))) await page.evaluate(AXE_SOURCE);
  const violations = await page.evaluate(async (options) => {
    const { axe } = globalThis as AxeInPage;
    if (!axe) throw new Error('axe-core did not load');
    // Only strings come back: axe's results hold DOM references and more than a failure message needs.
    return (await axe.run(options)).violations.map((violation) => ({
      id: violation.id,
      impact: violation.impact ?? 'unknown',
      help: violation.help,
      targets: violation.nodes.map((node) => `${JSON.stringify(node.target)}${node.failureSummary ? ` (${node.failureSummary.replace(/\s+/g, ' ')})` : ''}`),
    }));
  }, AXE_OPTIONS);
  return violations.map((violation) => `${violation.id} [${violation.impact}] ${violation.help}: ${violation.targets.join('; ')}`);
}

/** How far the page scrolls sideways at its current width, in CSS pixels (0: it fits). */
async function sidewaysOverflow(page: Page): Promise<number> {
  return page.evaluate(() => {
    const root = (globalThis as unknown as { document: { documentElement: { scrollWidth: number; clientWidth: number } } }).document.documentElement;
    return root.scrollWidth - root.clientWidth;
  });
}

/**
 * Every page the spec sees: screenshots to look at (as opened and 320 px wide), axe must find
 * nothing, and at 320 CSS pixels wide nothing scrolls sideways (WCAG 1.4.10 Reflow, which axe
 * does not test: a 1280 px screen at 400 % zoom, or a small phone).
 */
async function checkPage(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
  const violations = await axeViolations(page);
  if (violations.length > 0) throw new Error(`axe-core found ${violations.length} accessibility violation(s) on the ${name} page (${page.url()}):\n- ${violations.join('\n- ')}`);
  const size = page.viewportSize();
  await page.setViewportSize({ width: 320, height: 640 });
  await page.screenshot({ path: join(SCREENSHOTS, `${name}-320px.png`), fullPage: true });
  const overflow = await sidewaysOverflow(page);
  if (size) await page.setViewportSize(size);
  if (overflow > 0) throw new Error(`The ${name} page (${page.url()}) scrolls ${overflow} px sideways at 320 CSS pixels wide (WCAG 1.4.10 Reflow).`);
}

/** The text of the element once it is there (playwright-core has no expect of its own). */
async function textOf(locator: Locator): Promise<string> {
  await locator.waitFor({ timeout: 10_000 });
  return ((await locator.textContent()) ?? '').trim();
}

/** What has the keyboard focus, and how it shows: the spec compiles without the DOM lib, so the page's objects are described here. */
interface FocusedElement {
  readonly tagName: string;
  getAttribute(name: string): string | null;
  matches(selector: string): boolean;
  readonly textContent: string | null;
}
interface FocusInPage {
  document: { activeElement: FocusedElement | null; body: FocusedElement };
  getComputedStyle(element: FocusedElement): { outlineStyle: string; outlineWidth: string; boxShadow: string };
}
interface Focus {
  /** `input[name=username]`, `button "Sign in"`, `a "Enter a code"`, or `body` when nothing is focused. */
  readonly element: string;
  /** The browser decided to show focus (`:focus-visible`), as it does for keyboard focus. */
  readonly focusVisible: boolean;
  /** An outline or a box-shadow is drawn: the focus indicator can be seen (WCAG 2.4.7). */
  readonly indicator: boolean;
}

async function focused(page: Page): Promise<Focus> {
  return page.evaluate(() => {
    const { document, getComputedStyle } = globalThis as unknown as FocusInPage;
    const element = document.activeElement;
    if (!element || element === document.body) return { element: 'body', focusVisible: false, indicator: false };
    const tag = element.tagName.toLowerCase();
    const name = element.getAttribute('name');
    const description = tag === 'input' ? `input[name=${name ?? ''}]` : `${tag} "${(element.textContent ?? '').trim()}"`;
    const style = getComputedStyle(element);
    const outline = style.outlineStyle !== 'none' && style.outlineWidth !== '0px';
    return { element: description, focusVisible: element.matches(':focus-visible'), indicator: outline || style.boxShadow !== 'none' };
  });
}

/** Presses `key` and says where the focus went; it must be shown (`:focus-visible` with an outline or shadow). */
async function press(page: Page, key: 'Tab' | 'Shift+Tab'): Promise<string> {
  await page.keyboard.press(key);
  const focus = await focused(page);
  expect({ after: key, ...focus }).toEqual({ after: key, element: focus.element, focusVisible: true, indicator: true });
  return focus.element;
}

function describeWithBrowser(title: string, body: () => void): void {
  if (existsSync(CHROMIUM)) return describe(title, body);
  if (process.env.CI) {
    describe(title, () => {
      it('needs Chromium', () => {
        throw new Error(BROWSER_SKIP_MESSAGE);
      });
    });
    return;
  }
  console.warn(`${title}: ${BROWSER_SKIP_MESSAGE}.`);
  describe(title, () => {
    it.skip(BROWSER_SKIP_MESSAGE, () => undefined);
  });
}

describeWithBrowser('the demo in Chromium', () => {
  let dir: string;
  let server: Server;
  let origin: string;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'demo-browser-'));
    server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    origin = `http://localhost:${(server.address() as AddressInfo).port}`;
    const app = createDemoApp({ issuer: origin, signingKeyFile: join(dir, 'key.pem'), pairwiseSaltFile: join(dir, 'salt'), pageSecretFile: join(dir, 'page-secret'), writeLine: () => undefined });
    server.on('request', app);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    rmSync(dir, { recursive: true, force: true });
  });

  beforeEach(async () => {
    context = await browser.newContext();
    page = await context.newPage();
  });
  afterEach(() => context?.close());

  const pkce = () => {
    const verifier = randomBytes(32).toString('base64url');
    return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
  };
  // Signs in and returns where the demo redirected the browser (the 302's Location). No client listens
  // at the callback, so the browser's own navigation there fails; the redirect is what counts.
  const signIn = async (password: string): Promise<URL> => {
    const redirected = page.waitForResponse((response) => response.url().startsWith(`${origin}/connect/authorize`) && response.request().method() === 'POST' && response.status() === 302);
    await page.getByLabel('Password').fill(password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    return new URL((await redirected).headers().location);
  };
  const authorizeUrl = (params: Record<string, string>) => `${origin}/connect/authorize?${new URLSearchParams({ client_id: 'demo-web', redirect_uri: WEB_CALLBACK, response_type: 'code', scope: 'openid profile', ...params })}`;
  const startDevice = async () => {
    const started = await fetch(`${origin}/connect/deviceauthorization`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ client_id: 'demo-tv', scope: 'openid profile' }) });
    expect(started.status).toBe(200);
    return (await started.json()) as { device_code: string; user_code: string; verification_uri_complete: string };
  };
  const poll = async (deviceCode: string) => {
    const res = await fetch(`${origin}/connect/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ grant_type: 'urn:ietf:params:oauth:grant-type:device_code', client_id: 'demo-tv', device_code: deviceCode }) });
    return { status: res.status, body: (await res.json()) as { token_type?: string; error?: string } };
  };

  it('code flow: sign in on the login page, back at the client with code, state and iss; the code redeems', async () => {
    const { verifier, challenge } = pkce();
    await page.goto(authorizeUrl({ state: 'st-1', nonce: 'n-1', code_challenge: challenge, code_challenge_method: 'S256' }));
    await checkPage(page, 'login');
    await page.getByLabel('Username').fill('alice');
    const back = await signIn('alice-password-demo');
    expect(`${back.origin}${back.pathname}`).toBe(WEB_CALLBACK);
    expect(back.searchParams.get('state')).toBe('st-1');
    expect(back.searchParams.get('iss')).toBe(origin);
    const code = back.searchParams.get('code');
    expect(code).toMatch(/^[A-Za-z0-9_-]{43}$/);

    const res = await fetch(`${origin}/connect/token`, {
      method: 'POST',
      headers: { authorization: WEB_BASIC, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'authorization_code', code: code as string, redirect_uri: WEB_CALLBACK, code_verifier: verifier }),
    });
    expect(res.status).toBe(200);
    const tokens = (await res.json()) as { id_token: string };
    const claims = JSON.parse(Buffer.from(tokens.id_token.split('.')[1], 'base64url').toString()) as Record<string, unknown>;
    expect(claims).toEqual(expect.objectContaining({ iss: origin, aud: 'demo-web', nonce: 'n-1', name: 'Alice Andersen' }));
  }, 60_000);

  it('a wrong password: the page says so and nothing goes back to the client; the right one then works', async () => {
    await page.goto(authorizeUrl({ state: 'st-2' }));
    await page.getByLabel('Username').fill('alice');
    await page.getByLabel('Password').fill('not-her-password');
    const answered = page.waitForResponse((response) => response.url().startsWith(`${origin}/connect/authorize`) && response.request().method() === 'POST');
    await page.getByRole('button', { name: 'Sign in' }).click();
    expect((await answered).status()).toBe(200);
    expect(await textOf(page.getByRole('alert'))).toBe('Wrong username or password.');
    await checkPage(page, 'login-wrong-password');
    const back = await signIn('alice-password-demo');
    expect(back.searchParams.get('state')).toBe('st-2');
    expect(back.searchParams.get('code')).toMatch(/^[A-Za-z0-9_-]{43}$/);
  }, 60_000);

  it('an unregistered redirect_uri: an error page, and the browser is never sent there', async () => {
    let hit = false;
    await context.route('https://evil.example/**', async (route) => {
      hit = true;
      await route.abort();
    });
    const res = await page.goto(authorizeUrl({ redirect_uri: 'https://evil.example/cb', state: 'st-3' }));
    expect(res?.status()).toBe(400);
    expect(await textOf(page.getByRole('heading'))).toBe('Authorization error');
    expect(await textOf(page.locator('p.error'))).toBe('The redirect_uri is not registered for this client.');
    await checkPage(page, 'authorization-error');
    expect(hit).toBe(false);
    expect(page.url().startsWith(origin)).toBe(true);
  }, 60_000);

  it('device flow: the user approves on the verification page; the device then gets its tokens', async () => {
    const device = await startDevice();
    await page.goto(device.verification_uri_complete);
    await checkPage(page, 'device-sign-in');
    await page.getByLabel('Username').fill('bob');
    await page.getByLabel('Password').fill('bob-password-demo');
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.getByText('Demo TV app').first().waitFor();
    await checkPage(page, 'device-confirm');
    await page.getByRole('button', { name: 'Approve' }).click();
    expect(await textOf(page.getByText(/^Approved/))).toMatch(/^Approved\. You may return to your device/);
    await checkPage(page, 'device-approved');

    const polled = await poll(device.device_code);
    expect(polled.status).toBe(200);
    expect(polled.body.token_type).toBe('Bearer');
  }, 60_000);

  it('an expired form (the CSRF cookie is gone): the "Form not accepted" page, and nothing goes back to the client', async () => {
    await page.goto(authorizeUrl({ state: 'st-4' }));
    await context.clearCookies();
    await page.getByLabel('Username').fill('alice');
    await page.getByLabel('Password').fill('alice-password-demo');
    const answered = page.waitForResponse((response) => response.url().startsWith(`${origin}/connect/authorize`) && response.request().method() === 'POST');
    await page.getByRole('button', { name: 'Sign in' }).click();
    expect((await answered).status()).toBe(403);
    expect(await textOf(page.getByRole('heading', { level: 1 }))).toBe('Form not accepted');
    await checkPage(page, 'form-not-accepted');
  }, 60_000);

  it('device page: a wrong code, then the right one denied in one tab and approved in another (already decided)', async () => {
    const device = await startDevice();
    await page.goto(`${origin}/device`);
    await checkPage(page, 'device-enter-code');
    await page.getByLabel('Code').fill('AAAA-AAAA');
    await page.getByLabel('Username').fill('bob');
    await page.getByLabel('Password').fill('bob-password-demo');
    await page.getByRole('button', { name: 'Continue' }).click();
    expect(await textOf(page.getByRole('alert'))).toBe('That code is not valid. Check the code shown on your device and try again.');
    await checkPage(page, 'device-wrong-code');

    // The same code signed in twice, in two tabs of one browser: the first decision wins.
    const signInOnDevicePage = async (tab: Page) => {
      await tab.getByLabel('Code').fill(device.user_code);
      await tab.getByLabel('Username').fill('bob');
      await tab.getByLabel('Password').fill('bob-password-demo');
      await tab.getByRole('button', { name: 'Continue' }).click();
      await tab.getByRole('heading', { name: 'Connect this device?' }).waitFor();
    };
    await signInOnDevicePage(page);
    const other = await context.newPage();
    await other.goto(`${origin}/device`);
    await signInOnDevicePage(other);

    await page.getByRole('button', { name: 'Deny' }).click();
    expect(await textOf(page.getByRole('heading', { level: 1 }))).toBe('Request denied');
    await checkPage(page, 'device-denied');
    const refused = other.waitForResponse((response) => response.url() === `${origin}/device/decision`);
    await other.getByRole('button', { name: 'Approve' }).click();
    expect((await refused).status()).toBe(400);
    expect(await textOf(other.getByRole('alert'))).toBe('That code has already been approved or denied. Start again on your device if you need a new one.');
    await checkPage(other, 'device-already-decided');
    await other.getByRole('link', { name: 'Enter a code' }).click();
    await other.getByLabel('Code').waitFor();
    expect(other.url()).toBe(`${origin}/device`);

    expect(await poll(device.device_code)).toEqual({ status: 400, body: expect.objectContaining({ error: 'access_denied' }) });
  }, 60_000);

  it('the decision URL opened directly (address bar, bookmark): a "Method not allowed" page with a link to the device page', async () => {
    const res = await page.goto(`${origin}/device/decision`);
    expect(res?.status()).toBe(405);
    expect(await textOf(page.getByRole('heading', { level: 1 }))).toBe('Method not allowed');
    await checkPage(page, 'device-method-not-allowed');
    await page.getByRole('link', { name: 'device page' }).click();
    await page.getByLabel('Code').waitFor();
    expect(page.url()).toBe(`${origin}/device`);
  }, 60_000);

  describe('by keyboard alone (Tab, Shift+Tab, Enter, Space; no clicks), with the focus always shown', () => {
    it('code flow: a wrong password, then the right one; Tab goes username, password, Sign in', async () => {
      await page.goto(authorizeUrl({ state: 'st-k' }));
      expect(await press(page, 'Tab')).toBe('input[name=username]');
      await page.keyboard.type('alice');
      expect(await press(page, 'Tab')).toBe('input[name=password]');
      await page.keyboard.type('not-her-password');
      // Enter in a field submits the form, as in any browser form.
      const answered = page.waitForResponse((response) => response.url().startsWith(`${origin}/connect/authorize`) && response.request().method() === 'POST');
      await page.keyboard.press('Enter');
      expect((await answered).status()).toBe(200);
      expect(await textOf(page.getByRole('alert'))).toBe('Wrong username or password.');

      // The page again, the username kept: the first Tab still reaches the first field.
      expect(await press(page, 'Tab')).toBe('input[name=username]');
      expect(await page.locator('input[name=username]').inputValue()).toBe('alice');
      expect(await press(page, 'Tab')).toBe('input[name=password]');
      await page.keyboard.type('alice-password-demo');
      expect(await press(page, 'Tab')).toBe('button "Sign in"');
      expect(await press(page, 'Shift+Tab')).toBe('input[name=password]');
      expect(await press(page, 'Tab')).toBe('button "Sign in"');
      const redirected = page.waitForResponse((response) => response.url().startsWith(`${origin}/connect/authorize`) && response.request().method() === 'POST' && response.status() === 302);
      await page.keyboard.press('Enter');
      const back = new URL((await redirected).headers().location);
      expect(back.searchParams.get('state')).toBe('st-k');
      expect(back.searchParams.get('code')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    }, 60_000);

    it('device flow: Tab goes code, username, password, Continue; then Approve, Deny; Space and Enter press the buttons', async () => {
      const device = await startDevice();
      await page.goto(device.verification_uri_complete);
      expect(await press(page, 'Tab')).toBe('input[name=user_code]');
      expect(await page.locator('input[name=user_code]').inputValue()).toBe(device.user_code);
      expect(await press(page, 'Tab')).toBe('input[name=username]');
      await page.keyboard.type('bob');
      expect(await press(page, 'Tab')).toBe('input[name=password]');
      await page.keyboard.type('bob-password-demo');
      expect(await press(page, 'Tab')).toBe('button "Continue"');
      await page.keyboard.press('Space');
      await page.getByRole('heading', { name: 'Connect this device?' }).waitFor();

      expect(await press(page, 'Tab')).toBe('button "Approve"');
      expect(await press(page, 'Tab')).toBe('button "Deny"');
      expect(await press(page, 'Shift+Tab')).toBe('button "Approve"');
      await page.keyboard.press('Enter');
      expect(await textOf(page.getByRole('heading', { level: 1 }))).toBe('Device connected');

      expect(await poll(device.device_code)).toEqual({ status: 200, body: expect.objectContaining({ token_type: 'Bearer' }) });
    }, 60_000);
  });
});
