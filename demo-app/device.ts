// demo-app/device.ts
// The demo's verification page for the device authorization grant (RFC 8628 §3.3): the user types
// the code the device shows (or follows verification_uri_complete), signs in, sees which client asks
// for what, and approves or denies. Every form is protected against cross-site posts (csrf.ts), the
// password against guessing (throttle.ts). Nothing is kept in process memory between the pages:
// several instances can serve them behind a round-robin proxy.
import { randomUUID } from 'node:crypto';
import express, { Router, type NextFunction, type Request, type Response } from 'express';
import type { DeviceDecisionResult, DeviceLookupResult, RegisteredClient, TokenRouter } from '../lib';
import { CSRF_FIELD, type FormProtection } from './csrf';
import { escapeHtml, hiddenField, noStore, page, sendHtml } from './html';
import type { PageSigner } from './signing';
import { tooManyAttempts, type SignInThrottle } from './throttle';
import { authenticateUser, type DemoUser } from './users';

/** Where the page is mounted; `deviceCode({ verificationUri })` must point here. */
export const DEVICE_PAGE_PATH = '/device';

export interface DevicePageOptions {
  readonly users: readonly DemoUser[];
  /** Its `deviceVerification` looks codes up and records the decision. */
  readonly tokenRouter: TokenRouter;
  readonly writeLine: (line: string) => void;
  /** CSRF protection of the forms. */
  readonly forms: FormProtection;
  /** Shared with the login page. */
  readonly throttle: SignInThrottle;
  /** Signs the confirmation; every instance must use the same secret. */
  readonly signer: PageSigner;
  /** ms since the epoch. */
  readonly clock: () => number;
  /** How long the confirm page stays valid after signing in. Defaults to 5 minutes. */
  readonly confirmationTtlMs?: number;
}

/**
 * What a sign-in on the device page hands to the confirm page, until the user clicks Approve or
 * Deny. It travels in the confirm form (never in a URL), signed with the instances' shared secret,
 * so whichever instance receives the decision can trust it: bound to that user, that one code and
 * that browser (its CSRF cookie), and short-lived. It is not kept anywhere, so it is not single-use
 * by itself; the library is: a code is decided once, and a replay finds it already decided.
 */
interface Confirmation {
  /** The user code, as shown. */
  readonly userCode: string;
  readonly username: string;
  readonly clientId: string;
  readonly scope: readonly string[];
  /** When the user signed in, in seconds since the epoch (auth_time). */
  readonly authTime: number;
  readonly sid: string;
  /** ms since the epoch. */
  readonly expiresAt: number;
}

const CONFIRMATION_PURPOSE = 'device confirmation';
/** Longer than any user code format (16 characters plus dashes), short enough to reflect safely. */
const MAX_CODE_INPUT = 64;

/** What each scope means, for the confirm page (unknown scopes are shown by name only). */
const SCOPE_DESCRIPTIONS: Readonly<Record<string, string>> = {
  openid: 'sign you in (your user id)',
  profile: 'your name',
  email: 'your email address',
  offline_access: 'stay connected when you are not using it (refresh tokens)',
  'api:read': 'read your data in the demo API',
  'api:write': 'change your data in the demo API',
};

/**
 * `GET /device` shows the code + sign-in form (`?user_code=` prefills the code: that is where
 * verification_uri_complete points). `POST /device` checks the code and the password and shows the
 * confirm page; `POST /device/decision` approves or denies. Mount it at {@link DEVICE_PAGE_PATH}.
 */
export function createDevicePageRouter(options: DevicePageOptions): Router {
  const { users, tokenRouter, writeLine, forms, throttle, signer, clock } = options;
  const ttlMs = options.confirmationTtlMs ?? 5 * 60_000;
  const router = Router();
  // The form bodies are parsed on these routes only; small, flat, no nested objects.
  const form = express.urlencoded({ extended: false, limit: '4kb', parameterLimit: 8 });
  const log = (event: string, fields: Record<string, unknown>) => writeLine(JSON.stringify({ event, time: new Date().toISOString(), ...fields }));

  router.get('/', noStore, (req: Request, res: Response) => {
    const values = new URLSearchParams(rawQuery(req)).getAll('user_code');
    const prefill = values.length === 1 ? values[0].slice(0, MAX_CODE_INPUT) : '';
    sendCodePage(res, req.baseUrl, forms.token(req, res, 'device'), 200, prefill, '');
  });

  // The CSRF check comes before anything else: a forged post tries no code and no password.
  router.post('/', noStore, form, forms.verify('device'), async (req: Request, res: Response) => {
    const body = bodyFields(req.body);
    const userCode = (body.get('user_code') ?? '').trim().slice(0, MAX_CODE_INPUT);
    const username = body.get('username') ?? '';
    const codePage = (status: number, code: string, message: string) => sendCodePage(res, req.baseUrl, forms.token(req, res, 'device'), status, code, username, message);
    if (userCode === '') return codePage(400, '', 'Enter the code shown on your device.');

    // The code first: every wrong code counts against this IP, whatever the password.
    const found = await tokenRouter.deviceVerification.lookup(userCode, { key: req.ip });
    if (found.status !== 'pending') {
      if (found.status === 'rate_limited') res.set('Retry-After', String(found.retryAfterSeconds));
      return codePage(found.status === 'rate_limited' ? 429 : 400, userCode, codeMessage(found));
    }

    // Throttled before the password is looked at, with the login page's throttle.
    const wait = throttle.retryAfterSeconds(username, req.ip);
    if (wait > 0) {
      log('demo.device_login_throttled', { clientId: found.clientId, retryAfter: wait });
      res.set('Retry-After', String(wait));
      return codePage(429, found.userCode, tooManyAttempts(wait));
    }
    const password = body.get('password');
    const user = username !== '' && password !== undefined ? authenticateUser(users, username, password) : undefined;
    if (!user) {
      throttle.failed(username, req.ip);
      log('demo.device_login_failed', { clientId: found.clientId });
      return codePage(200, found.userCode, 'Wrong username or password.');
    }
    throttle.succeeded(username, req.ip);

    const now = clock();
    const confirmation = seal({
      userCode: found.userCode,
      username: user.username,
      clientId: found.clientId,
      scope: found.scope,
      authTime: Math.floor(now / 1000),
      sid: randomUUID(),
      expiresAt: now + ttlMs,
    }, forms.browserId(req));
    log('demo.device_signed_in', { clientId: found.clientId, subject: user.subject });
    sendConfirmPage(res, req.baseUrl, forms.token(req, res, 'device-decision'), confirmation, found, user);
  });

  router.post('/decision', noStore, form, forms.verify('device-decision'), async (req: Request, res: Response) => {
    const body = bodyFields(req.body);
    const decision = body.get('decision');
    const entry = unseal(body.get('confirmation') ?? '', forms.browserId(req));
    const user = entry && users.find((candidate) => candidate.username === entry.username);
    if (!entry || !user || clock() >= entry.expiresAt) {
      return sendResult(res, req.baseUrl, 400, 'Confirmation expired', 'This confirmation has expired or was already used. Enter the code again to start over.', true);
    }
    if (decision !== 'approve' && decision !== 'deny') {
      return sendResult(res, req.baseUrl, 400, 'No decision', 'Choose Approve or Deny. Enter the code again to start over.', true);
    }

    const key = { key: req.ip };
    let result: DeviceDecisionResult;
    if (decision === 'approve') {
      const granted = new Set(entry.scope);
      // The library decides a code once: a double click or a replayed confirmation finds it decided.
      result = await tokenRouter.deviceVerification.approve(entry.userCode, {
        subject: user.subject,
        authTime: entry.authTime,
        amr: ['pwd'],
        sid: entry.sid,
        // OIDC Core §5.4: name comes with the profile scope, email with the email scope.
        claims: { id_token: { ...(granted.has('profile') && { name: user.name }), ...(granted.has('email') && { email: user.email }) } },
      }, key);
    } else {
      result = await tokenRouter.deviceVerification.deny(entry.userCode, key);
    }
    log('demo.device_decision', { clientId: entry.clientId, subject: user.subject, decision, result: result.status });
    if (isDecided(result)) {
      return result.status === 'approved'
        ? sendResult(res, req.baseUrl, 200, 'Device connected', 'Approved. You may return to your device; it is signing in now.', false)
        : sendResult(res, req.baseUrl, 200, 'Request denied', 'Denied: the device will not be connected. You may return to your device.', false);
    }
    sendResult(res, req.baseUrl, result.status === 'rate_limited' ? 429 : 400, 'Code not accepted', codeMessage(result), true, result);
  });

  for (const path of ['/', '/decision']) {
    router.all(path, noStore, (req: Request, res: Response) => {
      res.set('Allow', path === '/' ? 'GET, POST' : 'POST');
      // A link on, not a dead end: the decision URL opened from the address bar or a bookmark lands here.
      sendHtml(res, 405, page('Method not allowed', `<h1>Method not allowed</h1>\n<p class="error">Use the form on the <a href="${escapeHtml(req.baseUrl)}">device page</a>.</p>`));
    });
  }

  // Body-parser errors (too large, too many fields) and anything unexpected: a page, never a stack trace.
  router.use((error: unknown, req: Request, res: Response, next: NextFunction) => {
    if (res.headersSent) return next(error);
    const reported = (error as { status?: unknown } | null)?.status;
    const status = typeof reported === 'number' && reported >= 400 && reported < 500 ? reported : 500;
    if (status === 500) log('demo.error', { message: (error as { message?: string } | null)?.message ?? String(error) });
    sendResult(res, req.baseUrl, status, 'Error', status === 500 ? 'Something went wrong on the server.' : 'The request could not be read.', true);
  });

  /** The confirmation as a signed form value, bound to this browser. */
  function seal(confirmation: Confirmation, browserId: string | undefined): string {
    return signer.sign(CONFIRMATION_PURPOSE, Buffer.from(JSON.stringify(confirmation)).toString('base64url'), browserId);
  }

  /** The confirmation, if this instance or another signed it for this browser; its expiry is checked by the caller. */
  function unseal(value: string, browserId: string | undefined): Confirmation | undefined {
    const data = signer.verify(CONFIRMATION_PURPOSE, value, browserId);
    return data === undefined ? undefined : (JSON.parse(Buffer.from(data, 'base64url').toString()) as Confirmation);
  }

  return router;
}

type Decided = Extract<DeviceDecisionResult, { status: 'approved' | 'denied' }>;

function isDecided(result: DeviceDecisionResult): result is Decided {
  return result.status === 'approved' || result.status === 'denied';
}

/** The user-facing sentence for a code the library did not accept. */
function codeMessage(result: Exclude<DeviceLookupResult, { status: 'pending' }>): string {
  switch (result.status) {
    case 'invalid':
      return 'That code is not valid. Check the code shown on your device and try again.';
    case 'expired':
      return 'That code has expired. Start again on your device to get a new code.';
    case 'already_decided':
      return 'That code has already been approved or denied. Start again on your device if you need a new one.';
    case 'rate_limited':
      return `Too many wrong codes. Wait ${result.retryAfterSeconds} seconds before trying again.`;
  }
}

/** The code + sign-in form. Never echoes the password. */
function sendCodePage(res: Response, action: string, csrfToken: string, status: number, userCode: string, username: string, message?: string): void {
  const body = `<h1>Connect a device</h1>
<p>Enter the code shown on your device and sign in.</p>
${message ? `<p class="error" role="alert">${escapeHtml(message)}</p>` : ''}
<form method="post" action="${escapeHtml(action)}">
${hiddenField(CSRF_FIELD, csrfToken)}
<label>Code <input name="user_code" required autocomplete="off" autocapitalize="characters" spellcheck="false" value="${escapeHtml(userCode)}"></label>
<label>Username <input name="username" autocomplete="username" required value="${escapeHtml(username)}"></label>
<label>Password <input name="password" type="password" autocomplete="current-password" required></label>
<button type="submit">Continue</button>
</form>`;
  sendHtml(res, status, page('Connect a device', body), "'self'");
}

/** Which client asks for what, for whom, with Approve and Deny (RFC 8628 §5.4: name the client, warn about remote phishing). */
function sendConfirmPage(res: Response, baseUrl: string, csrfToken: string, confirmation: string, found: Extract<DeviceLookupResult, { status: 'pending' }>, user: DemoUser): void {
  const name = clientName(found.client);
  const who = name ? `<strong>${escapeHtml(name)}</strong> (<code>${escapeHtml(found.clientId)}</code>)` : `<strong>${escapeHtml(found.clientId)}</strong>`;
  const scopes = found.scope
    .map((scope) => `<li><code>${escapeHtml(scope)}</code>${SCOPE_DESCRIPTIONS[scope] ? `: ${escapeHtml(SCOPE_DESCRIPTIONS[scope])}` : ''}</li>`)
    .join('\n');
  const body = `<h1>Connect this device?</h1>
<p>Signed in as <strong>${escapeHtml(user.name)}</strong> (${escapeHtml(user.username)}).</p>
<p>${who} asks to:</p>
<ul>
${scopes}
</ul>
<p>Code <code>${escapeHtml(found.userCode)}</code>. Approve only if you started this yourself and your device shows this code right now; if someone sent you this code or link, deny.</p>
<form method="post" action="${escapeHtml(`${baseUrl}/decision`)}">
${hiddenField('confirmation', confirmation)}
${hiddenField(CSRF_FIELD, csrfToken)}
<button type="submit" name="decision" value="approve">Approve</button>
<button type="submit" name="decision" value="deny">Deny</button>
</form>`;
  sendHtml(res, 200, page('Connect this device?', body), "'self'");
}

function sendResult(res: Response, baseUrl: string, status: number, title: string, message: string, offerRetry: boolean, result?: DeviceDecisionResult): void {
  if (result?.status === 'rate_limited') res.set('Retry-After', String(result.retryAfterSeconds));
  const retry = offerRetry ? `\n<p><a href="${escapeHtml(baseUrl)}">Enter a code</a></p>` : '';
  sendHtml(res, status, page(title, `<h1>${escapeHtml(title)}</h1>\n<p${status >= 400 ? ' class="error" role="alert"' : ''}>${escapeHtml(message)}</p>${retry}`));
}

/** RFC 7591 `client_name`, when the registry keeps it (the demo's clients.json sets one). */
function clientName(client: RegisteredClient | undefined): string | undefined {
  const name = client?.client_name;
  return typeof name === 'string' && name !== '' ? name : undefined;
}

function rawQuery(req: Request): string {
  const q = req.originalUrl.indexOf('?');
  return q === -1 ? '' : req.originalUrl.slice(q + 1);
}

/** One string per field; repeated or non-string fields count as absent. */
function bodyFields(body: unknown): Map<string, string> {
  const fields = new Map<string, string>();
  if (typeof body !== 'object' || body === null) return fields;
  for (const [name, value] of Object.entries(body as Record<string, unknown>)) if (typeof value === 'string') fields.set(name, value);
  return fields;
}
