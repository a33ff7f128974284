// demo-app/authorize.ts
// A minimal authorization endpoint for the demo: the token router checks the request
// (validateAuthorizationRequest) and builds the redirects (authorizationResponseUrl, with iss);
// the demo shows a login form and mints the code.
// The form is protected against cross-site posts (csrf.ts) and password guessing (throttle.ts).
import { randomUUID } from 'node:crypto';
import express, { Router, type NextFunction, type Request, type Response } from 'express';
import {
  OAuthError,
  type AuthorizationRequestParameters,
  type AuthorizationRequestVerdict,
  type IssuedAuthorizationCode,
  type TokenRouter,
  type ValidatedAuthorizationRequest,
} from '../lib';
import { CSRF_FIELD, type FormProtection } from './csrf';
import { escapeHtml, hiddenField, noStore, page, sendHtml } from './html';
import { tooManyAttempts, type SignInThrottle } from './throttle';
import { authenticateUser, type DemoUser } from './users';

export interface AuthorizeEndpointOptions {
  readonly users: readonly DemoUser[];
  readonly tokenRouter: TokenRouter;
  readonly writeLine: (line: string) => void;
  /** CSRF protection of the login form. */
  readonly forms: FormProtection;
  /** Shared with the device page. */
  readonly throttle: SignInThrottle;
  /** ms since the epoch, for auth_time. */
  readonly clock: () => number;
}

/**
 * `GET /authorize` shows the login form; `POST /authorize` checks the credentials and redirects
 * back to the client with a code. Mount it where the token router is mounted.
 */
export function createAuthorizeRouter(options: AuthorizeEndpointOptions): Router {
  const { tokenRouter, writeLine, forms, throttle, clock } = options;
  const router = Router();

  // The request is checked by the token router (validateAuthorizationRequest) before the login
  // page: the same client, redirect URI, scope and PKCE rules it applies when minting the code.
  router.get('/authorize', noStore, async (req: Request, res: Response) => {
    const checked = await checkRequest(queryOf(req));
    if (!checked.valid) return answerFailure(res, checked);
    sendLoginPage(res, forms.token(req, res, 'login'), checked.request, '');
  });

  // The form body is parsed here only: the token router reads its own body, strictly.
  // The CSRF check comes before anything else: a forged post gets no answer about the request or the password.
  router.post('/authorize', noStore, express.urlencoded({ extended: false, limit: '16kb', parameterLimit: 32 }), forms.verify('login'), async (req: Request, res: Response) => {
    const { username: sentUsername, password, [CSRF_FIELD]: _csrf, ...params } = (req.body ?? {}) as Record<string, unknown>;
    const checked = await checkRequest(params);
    if (!checked.valid) return answerFailure(res, checked);
    const { request } = checked;
    const username = typeof sentUsername === 'string' ? sentUsername : '';
    // Throttled before the password is looked at, so a throttled guess tells nothing.
    const wait = throttle.retryAfterSeconds(username, req.ip);
    if (wait > 0) {
      writeLine(JSON.stringify({ event: 'demo.login_throttled', time: new Date().toISOString(), clientId: request.clientId, retryAfter: wait }));
      res.set('Retry-After', String(wait));
      return sendLoginPage(res, forms.token(req, res, 'login'), request, username, tooManyAttempts(wait), 429);
    }
    const user = username !== '' && typeof password === 'string' ? authenticateUser(options.users, username, password) : undefined;
    if (!user) {
      throttle.failed(username, req.ip);
      writeLine(JSON.stringify({ event: 'demo.login_failed', time: new Date().toISOString(), clientId: request.clientId }));
      return sendLoginPage(res, forms.token(req, res, 'login'), request, username, 'Wrong username or password.');
    }
    throttle.succeeded(username, req.ip);

    const granted = new Set(request.scope);
    let issued: IssuedAuthorizationCode;
    try {
      issued = await tokenRouter.issueAuthorizationCode({
        ...request,
        subject: user.subject,
        authTime: Math.floor(clock() / 1000),
        amr: ['pwd'],
        sid: randomUUID(),
        // OIDC Core §5.4: name comes with the profile scope, email with the email scope.
        claims: { id_token: { ...(granted.has('profile') && { name: user.name }), ...(granted.has('email') && { email: user.email }) } },
      });
    } catch (error) {
      // Problems of the authorization request go back to the client (RFC 6749 §4.1.2.1).
      if (!(error instanceof OAuthError)) throw error;
      return redirect(res, tokenRouter.authorizationResponseUrl(request, error));
    }
    writeLine(JSON.stringify({ event: 'demo.signed_in', time: new Date().toISOString(), clientId: request.clientId, subject: user.subject }));
    redirect(res, tokenRouter.authorizationResponseUrl(request, { code: issued.code }));
  });

  router.all('/authorize', noStore, (_req: Request, res: Response) => {
    res.set('Allow', 'GET, POST');
    sendHtml(res, 405, errorPage('The authorization endpoint accepts GET and POST only.'));
  });

  // Body-parser errors (too large, bad encoding) and anything unexpected: a page, never a stack trace.
  router.use((error: unknown, _req: Request, res: Response, next: NextFunction) => {
    if (res.headersSent) return next(error);
    const reported = (error as { status?: unknown } | null)?.status;
    const status = typeof reported === 'number' && reported >= 400 && reported < 500 ? reported : 500;
    if (status === 500) writeLine(JSON.stringify({ event: 'demo.error', time: new Date().toISOString(), message: (error as { message?: string } | null)?.message ?? String(error) }));
    sendHtml(res, status, errorPage(status === 500 ? 'Something went wrong on the server.' : 'The request could not be read.'));
  });

  /** The token router's checks, plus the demo's own: it keeps no sessions, so prompt=none cannot be honoured. */
  async function checkRequest(params: AuthorizationRequestParameters): Promise<AuthorizationRequestVerdict> {
    const verdict = await tokenRouter.validateAuthorizationRequest(params);
    // OIDC Core §3.1.2.6: without a session there is never a silent sign-in.
    if (verdict.valid && verdict.request.prompt?.includes('none')) {
      return { valid: false, redirect: true, redirectUri: verdict.request.redirectUri, ...(verdict.request.state !== undefined && { state: verdict.request.state }), error: new OAuthError('login_required', 'The user must sign in.') };
    }
    return verdict;
  }

  function answerFailure(res: Response, failure: Exclude<AuthorizationRequestVerdict, { valid: true }>): void {
    if (!failure.redirect) return sendHtml(res, 400, errorPage(failure.error.toJSON().error_description ?? 'The authorization request is not valid.'));
    redirect(res, tokenRouter.authorizationResponseUrl(failure, failure.error));
  }

  return router;
}

function sendLoginPage(res: Response, csrfToken: string, request: ValidatedAuthorizationRequest, username: string, message?: string, status = 200): void {
  // The request travels on in hidden fields and is checked again when the form comes back.
  const hidden: Array<[string, string | undefined]> = [
    ['client_id', request.clientId],
    ['redirect_uri', request.redirectUri],
    ['response_type', 'code'],
    ['scope', request.scope.join(' ')],
    ['state', request.state],
    ['nonce', request.nonce],
    ['code_challenge', request.codeChallenge],
    ['code_challenge_method', request.codeChallengeMethod],
    ['dpop_jkt', request.dpopJkt],
    ['prompt', request.prompt?.join(' ')],
    ['max_age', request.maxAge?.toString()],
    ['login_hint', request.loginHint],
    ['acr_values', request.acrValues?.join(' ')],
    [CSRF_FIELD, csrfToken],
  ];
  const resources = (request.resources ?? []).map((uri) => hiddenField('resource', uri));
  const fields = [
    ...hidden.filter((entry): entry is [string, string] => entry[1] !== undefined).map(([name, value]) => hiddenField(name, value)),
    ...resources,
  ].join('\n');
  const body = `<h1>Sign in</h1>
<p>to continue to <strong>${escapeHtml(request.client.client_name ?? request.clientId)}</strong>, which asks for <code>${escapeHtml(request.scope.join(' '))}</code>.</p>
${message ? `<p class="error" role="alert">${escapeHtml(message)}</p>` : ''}
<form method="post" action="authorize">
${fields}
<label>Username <input name="username" autocomplete="username" required value="${escapeHtml(username)}"></label>
<label>Password <input name="password" type="password" autocomplete="current-password" required></label>
<button type="submit">Sign in</button>
</form>`;
  // The form posts to this endpoint, which then redirects to the client: browsers apply
  // form-action to that redirect too, so the redirect_uri's origin must be allowed.
  sendHtml(res, status, page('Sign in', body), `'self' ${sourceOf(request.redirectUri)}`);
}

function errorPage(message: string): string {
  return page('Authorization error', `<h1>Authorization error</h1>\n<p class="error">${escapeHtml(message)}</p>\n<p>The application that sent you here is misconfigured or the link is broken; you were not redirected back to it.</p>`);
}

/** A CSP source for the redirect URI: its origin, or its scheme for custom-scheme (native app) URIs. */
function sourceOf(uri: string): string {
  const url = new URL(uri);
  return url.origin === 'null' ? url.protocol : url.origin;
}

/** 302 to the client (the URL from tokenRouter.authorizationResponseUrl). */
function redirect(res: Response, url: string): void {
  res.status(302).set('Location', url).end();
}

/** The query as parsed from the raw URL, repeats kept (so the router can refuse them). */
function queryOf(req: Request): URLSearchParams {
  const q = req.originalUrl.indexOf('?');
  return new URLSearchParams(q === -1 ? '' : req.originalUrl.slice(q + 1));
}
