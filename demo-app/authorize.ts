// demo-app/authorize.ts
// A minimal authorization endpoint for the demo: checks the request, shows a login form, mints a code.
// The form is protected against cross-site posts (csrf.ts) and password guessing (throttle.ts).
import { randomUUID } from 'node:crypto';
import express, { Router, type NextFunction, type Request, type Response } from 'express';
import {
  allowedScopes,
  assertScopesAllowed,
  OAuthError,
  parseScope,
  type ClientRegistry,
  type IssuedAuthorizationCode,
  type PkceMethod,
  type RegisteredClient,
  type TokenRouter,
} from '../lib';
import { CSRF_FIELD, type FormProtection } from './csrf';
import { escapeHtml, hiddenField, noStore, page, sendHtml } from './html';
import { tooManyAttempts, type SignInThrottle } from './throttle';
import { authenticateUser, type DemoUser } from './users';

export interface AuthorizeEndpointOptions {
  /** Sent as `iss` in every authorization response (RFC 9207). */
  readonly issuer: string;
  /** The same registry the token router uses. */
  readonly clients: ClientRegistry;
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

/** A checked authorization request (RFC 6749 §4.1.1, OIDC Core §3.1.2.1, RFC 7636 §4.3). */
interface AuthorizationRequest {
  readonly clientId: string;
  readonly redirectUri: string;
  readonly scope: string;
  readonly state?: string;
  readonly nonce?: string;
  readonly codeChallenge?: string;
  readonly codeChallengeMethod?: PkceMethod;
}

/** What checking a request gives: go on, an error page (never a redirect), or an error redirect. */
type Checked =
  | { readonly kind: 'ok'; readonly client: RegisteredClient; readonly request: AuthorizationRequest }
  | { readonly kind: 'page'; readonly message: string }
  | { readonly kind: 'redirect'; readonly redirectUri: string; readonly state?: string; readonly error: string; readonly description: string };

/** Every value of every parameter, so that repeated parameters can be refused (RFC 6749 §3.1). */
type Params = ReadonlyMap<string, readonly string[]>;

const REPEATED = Symbol('repeated');
/** OIDC-sized limits: long enough for any real client, short enough to keep pages and codes small. */
const MAX_STATE_LENGTH = 1024;
const MAX_NONCE_LENGTH = 512;
const S256_CHALLENGE = /^[A-Za-z0-9_-]{43}$/;

/**
 * `GET /authorize` shows the login form; `POST /authorize` checks the credentials and redirects
 * back to the client with a code. Mount it where the token router is mounted.
 */
export function createAuthorizeRouter(options: AuthorizeEndpointOptions): Router {
  const { issuer, tokenRouter, writeLine, forms, throttle, clock } = options;
  const router = Router();

  router.get('/authorize', noStore, async (req: Request, res: Response) => {
    const checked = await checkRequest(queryParams(req));
    if (checked.kind !== 'ok') return answerFailure(res, checked);
    sendLoginPage(res, forms.token(req, res, 'login'), checked, '');
  });

  // The form body is parsed here only: the token router reads its own body, strictly.
  // The CSRF check comes before anything else: a forged post gets no answer about the request or the password.
  router.post('/authorize', noStore, express.urlencoded({ extended: false, limit: '16kb', parameterLimit: 32 }), forms.verify('login'), async (req: Request, res: Response) => {
    const params = bodyParams(req.body);
    const checked = await checkRequest(params);
    if (checked.kind !== 'ok') return answerFailure(res, checked);
    const sentUsername = read(params, 'username');
    const username = typeof sentUsername === 'string' ? sentUsername : '';
    const password = read(params, 'password');
    // Throttled before the password is looked at, so a throttled guess tells nothing.
    const wait = throttle.retryAfterSeconds(username, req.ip);
    if (wait > 0) {
      writeLine(JSON.stringify({ event: 'demo.login_throttled', time: new Date().toISOString(), clientId: checked.request.clientId, retryAfter: wait }));
      res.set('Retry-After', String(wait));
      return sendLoginPage(res, forms.token(req, res, 'login'), checked, username, tooManyAttempts(wait), 429);
    }
    const user = username !== '' && typeof password === 'string' ? authenticateUser(options.users, username, password) : undefined;
    if (!user) {
      throttle.failed(username, req.ip);
      writeLine(JSON.stringify({ event: 'demo.login_failed', time: new Date().toISOString(), clientId: checked.request.clientId }));
      return sendLoginPage(res, forms.token(req, res, 'login'), checked, username, 'Wrong username or password.');
    }
    throttle.succeeded(username, req.ip);

    const { request } = checked;
    const granted = new Set(request.scope.split(' '));
    let issued: IssuedAuthorizationCode;
    try {
      issued = await tokenRouter.issueAuthorizationCode({
        clientId: request.clientId,
        redirectUri: request.redirectUri,
        scope: request.scope,
        subject: user.subject,
        authTime: Math.floor(clock() / 1000),
        nonce: request.nonce,
        amr: ['pwd'],
        sid: randomUUID(),
        codeChallenge: request.codeChallenge,
        codeChallengeMethod: request.codeChallengeMethod,
        // OIDC Core §5.4: name comes with the profile scope, email with the email scope.
        claims: { id_token: { ...(granted.has('profile') && { name: user.name }), ...(granted.has('email') && { email: user.email }) } },
      });
    } catch (error) {
      // Problems of the authorization request go back to the client (RFC 6749 §4.1.2.1).
      if (!(error instanceof OAuthError)) throw error;
      const { error: code, error_description: description } = error.toJSON();
      return redirectTo(res, request.redirectUri, { error: code, error_description: description, state: request.state, iss: issuer });
    }
    writeLine(JSON.stringify({ event: 'demo.signed_in', time: new Date().toISOString(), clientId: request.clientId, subject: user.subject }));
    redirectTo(res, request.redirectUri, { code: issued.code, state: request.state, iss: issuer });
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

  /**
   * Checks in the order of RFC 6749 §4.1.2.1: client_id and redirect_uri first, because until both
   * are known good, redirecting would make the endpoint an open redirector; then the rest.
   */
  async function checkRequest(params: Params): Promise<Checked> {
    const clientId = read(params, 'client_id');
    if (clientId === REPEATED) return { kind: 'page', message: 'The client_id parameter was sent more than once.' };
    if (clientId === undefined) return { kind: 'page', message: 'The request has no client_id.' };
    const client = await options.clients.findClient(clientId);
    if (!client) return { kind: 'page', message: 'The client_id is not known to this server.' };
    if (!(client.grant_types ?? ['authorization_code']).includes('authorization_code')) {
      return { kind: 'page', message: 'This client is not allowed to use the authorization code flow.' };
    }
    const redirectUri = read(params, 'redirect_uri');
    if (redirectUri === REPEATED) return { kind: 'page', message: 'The redirect_uri parameter was sent more than once.' };
    // Required even with one registered URI: the token request must repeat it (RFC 6749 §4.1.3).
    if (redirectUri === undefined) return { kind: 'page', message: 'The request has no redirect_uri.' };
    // RFC 9700 §2.1: exact string comparison, no normalisation.
    if (!(client.redirect_uris ?? []).includes(redirectUri)) return { kind: 'page', message: 'The redirect_uri is not registered for this client.' };

    const rawState = read(params, 'state');
    const state = typeof rawState === 'string' && rawState.length <= MAX_STATE_LENGTH ? rawState : undefined;
    const fail = (error: string, description: string): Checked => ({ kind: 'redirect', redirectUri, state, error, description });
    if (rawState === REPEATED) return fail('invalid_request', 'The state parameter was sent more than once.');
    if (typeof rawState === 'string' && state === undefined) return fail('invalid_request', `The state is longer than ${MAX_STATE_LENGTH} characters.`);

    const single: Record<string, string | undefined> = {};
    for (const name of ['response_type', 'response_mode', 'scope', 'nonce', 'code_challenge', 'code_challenge_method', 'prompt']) {
      const value = read(params, name);
      if (value === REPEATED) return fail('invalid_request', `The ${name} parameter was sent more than once.`);
      single[name] = value;
    }
    const { response_type: responseType, response_mode: responseMode, scope, nonce, code_challenge: challenge, code_challenge_method: method, prompt } = single;

    if (responseType === undefined) return fail('invalid_request', 'The response_type parameter is required.');
    if (responseType !== 'code') return fail('unsupported_response_type', 'Only response_type=code is supported.');
    if (responseMode !== undefined && responseMode !== 'query') return fail('invalid_request', 'Only response_mode=query is supported.');
    // RFC 6749 §3.3: without a default scope, a missing scope is invalid_scope.
    if (scope === undefined) return fail('invalid_scope', 'The scope parameter is required.');
    try {
      assertScopesAllowed(parseScope(scope), allowedScopes(client));
    } catch (error) {
      if (error instanceof OAuthError) return fail(error.error, error.toJSON().error_description ?? 'The scope is not allowed.');
      throw error;
    }
    if (nonce !== undefined && nonce.length > MAX_NONCE_LENGTH) return fail('invalid_request', `The nonce is longer than ${MAX_NONCE_LENGTH} characters.`);

    // PKCE (RFC 7636 §4.4.1), checked before the login so a bad request does not cost a sign-in.
    // The methods come from the token router's metadata, so this matches what it will accept.
    const supported = pkceMethods(tokenRouter);
    if (challenge === undefined && method !== undefined) return fail('invalid_request', 'code_challenge_method was sent without a code_challenge.');
    if (challenge === undefined && client.token_endpoint_auth_method === 'none') {
      return fail('invalid_request', 'PKCE is required for this client: send code_challenge with code_challenge_method=S256.');
    }
    // A challenge without a method means plain (RFC 7636 §4.3).
    const effectiveMethod = challenge === undefined ? undefined : (method ?? 'plain');
    if (effectiveMethod !== undefined && !isPkceMethod(effectiveMethod, supported)) {
      return fail('invalid_request', `code_challenge_method must be ${supported.join(' or ')}.`);
    }
    if (effectiveMethod === 'S256' && challenge !== undefined && !S256_CHALLENGE.test(challenge)) {
      return fail('invalid_request', 'The S256 code_challenge must be 43 base64url characters.');
    }
    // OIDC Core §3.1.2.6: the demo keeps no sessions, so it can never sign in without a form.
    if (prompt !== undefined && prompt.split(' ').includes('none')) return fail('login_required', 'The user must sign in.');

    return {
      kind: 'ok',
      client,
      request: {
        clientId,
        redirectUri,
        scope,
        ...(state !== undefined && { state }),
        ...(nonce !== undefined && { nonce }),
        ...(challenge !== undefined && { codeChallenge: challenge, codeChallengeMethod: effectiveMethod }),
      },
    };
  }

  function answerFailure(res: Response, failure: Exclude<Checked, { kind: 'ok' }>): void {
    if (failure.kind === 'page') return sendHtml(res, 400, errorPage(failure.message));
    redirectTo(res, failure.redirectUri, { error: failure.error, error_description: failure.description, state: failure.state, iss: issuer });
  }

  return router;
}

function sendLoginPage(res: Response, csrfToken: string, checked: Extract<Checked, { kind: 'ok' }>, username: string, message?: string, status = 200): void {
  const { request } = checked;
  const hidden: Array<[string, string | undefined]> = [
    ['client_id', request.clientId],
    ['redirect_uri', request.redirectUri],
    ['response_type', 'code'],
    ['scope', request.scope],
    ['state', request.state],
    ['nonce', request.nonce],
    ['code_challenge', request.codeChallenge],
    ['code_challenge_method', request.codeChallengeMethod],
    [CSRF_FIELD, csrfToken],
  ];
  const fields = hidden
    .filter((entry): entry is [string, string] => entry[1] !== undefined)
    .map(([name, value]) => hiddenField(name, value))
    .join('\n');
  const body = `<h1>Sign in</h1>
<p>to continue to <strong>${escapeHtml(request.clientId)}</strong>, which asks for <code>${escapeHtml(request.scope)}</code>.</p>
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

/** 302 to a registered redirect URI, adding the response parameters to its query. */
function redirectTo(res: Response, redirectUri: string, params: Readonly<Record<string, string | undefined>>): void {
  const url = new URL(redirectUri);
  for (const [name, value] of Object.entries(params)) if (value !== undefined) url.searchParams.append(name, value);
  res.status(302).set('Location', url.href).end();
}


/** The one value of a parameter; empty values count as absent (RFC 6749 §3.1). */
function read(params: Params, name: string): string | undefined | typeof REPEATED {
  const values = (params.get(name) ?? []).filter((value) => value !== '');
  if (values.length > 1) return REPEATED;
  return values[0];
}

/** Query parameters read from the raw URL, keeping repeats (req.query would merge them differently per parser). */
function queryParams(req: Request): Params {
  const q = req.originalUrl.indexOf('?');
  const params = new Map<string, string[]>();
  for (const [name, value] of new URLSearchParams(q === -1 ? '' : req.originalUrl.slice(q + 1))) params.set(name, [...(params.get(name) ?? []), value]);
  return params;
}

/** express.urlencoded({ extended: false }) gives a string per parameter, or an array when repeated. */
function bodyParams(body: unknown): Params {
  const params = new Map<string, string[]>();
  if (typeof body !== 'object' || body === null) return params;
  for (const [name, value] of Object.entries(body as Record<string, unknown>)) {
    const values: unknown[] = Array.isArray(value) ? value : [value];
    params.set(name, values.filter((item): item is string => typeof item === 'string'));
  }
  return params;
}

function pkceMethods(tokenRouter: TokenRouter): PkceMethod[] {
  const advertised = tokenRouter.metadata().code_challenge_methods_supported;
  return Array.isArray(advertised) ? advertised.filter((method): method is PkceMethod => method === 'S256' || method === 'plain') : ['S256'];
}

function isPkceMethod(method: string, supported: readonly PkceMethod[]): method is PkceMethod {
  return (supported as readonly string[]).includes(method);
}
