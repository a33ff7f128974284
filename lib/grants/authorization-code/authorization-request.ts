// lib/grants/authorization-code/authorization-request.ts
// The host's authorization endpoint, before the login page: checks an authorization request
// (RFC 6749 §4.1.1, OIDC Core §3.1.2.1, RFC 7636 §4.3, RFC 8707, RFC 9449 §10) the way the
// token endpoint will judge what it mints, and builds the redirect back to the client
// (RFC 6749 §4.1.2, RFC 9207 `iss`).
import type { ClientRegistry, RegisteredClient } from '../../contracts/clients';
import { OAuthError, type OAuthErrorCode } from '../../contracts/errors';
import { allowedScopes, assertScopesAllowed, parseScope } from '../../issuance/scope';
import { parseResourceParameters } from '../../issuance/resources';
import { CODE_VERIFIER_PATTERN, S256_CHALLENGE_PATTERN, type PkceMethod } from './pkce';
import type { AuthorizationCodeSettings } from './settings';

/**
 * An authorization request's parameters as your route has them: `req.query` (or a parsed form
 * body), a `URLSearchParams`, or the raw query string. A repeated parameter (an array) is refused
 * (RFC 6749 §3.1), except `resource` (RFC 8707).
 */
export type AuthorizationRequestParameters = URLSearchParams | string | Readonly<Record<string, unknown>>;

/** What the `prompt` parameter may ask for (OIDC Core §3.1.2.1). */
export type PromptValue = 'none' | 'login' | 'consent' | 'select_account';

/** A valid authorization request: everything `issueAuthorizationCode` needs besides the user. */
export interface ValidatedAuthorizationRequest {
  /** The requesting client's `client_id`. */
  readonly clientId: string;
  /** The client's record (its name for the login page, its metadata). */
  readonly client: RegisteredClient;
  /** Exactly as registered (compared character for character, RFC 9700 §2.1). */
  readonly redirectUri: string;
  /** Always `code`: the only response type offered (RFC 6749 §4.1.1). */
  readonly responseType: 'code';
  /** The requested scope, each one within the client's registration. */
  readonly scope: readonly string[];
  /** Echo it in the response (`authorizationResponseUrl` does). At most 1024 characters. */
  readonly state?: string;
  /** OIDC `nonce`, for the ID token. At most 512 characters. */
  readonly nonce?: string;
  /** PKCE `code_challenge` (RFC 7636 §4.2), required per the grant's PKCE settings. */
  readonly codeChallenge?: string;
  /** PKCE `code_challenge_method`; `plain` only when the grant allows it. */
  readonly codeChallengeMethod?: PkceMethod;
  /** RFC 8707 resource indicators, each in the client's `resources`. */
  readonly resources?: readonly string[];
  /** RFC 9449 §10 `dpop_jkt`: the code will be bound to this DPoP key. */
  readonly dpopJkt?: string;
  /** OIDC `prompt` values; `none` never comes with another. Yours to honour (e.g. `login_required`). */
  readonly prompt?: readonly PromptValue[];
  /** OIDC `max_age` in seconds: re-authenticate a user who signed in longer ago. */
  readonly maxAge?: number;
  /** OIDC `login_hint` (at most 1024 characters): a hint, never an identity. */
  readonly loginHint?: string;
  /** OIDC `acr_values`, in order of preference. */
  readonly acrValues?: readonly string[];
}

/**
 * The verdict on an authorization request:
 * - `valid`: show the login (and consent) page, then `issueAuthorizationCode({ ...request, subject })`;
 * - not valid, `redirect: false`: the client or the redirect URI cannot be trusted (unknown client,
 *   a client not registered for the code flow, unregistered or missing `redirect_uri`, a repeated
 *   `client_id`/`redirect_uri`): show the error to the user (`error.toJSON().error_description`),
 *   **never redirect** (RFC 6749 §4.1.2.1 — that would make you an open redirector);
 * - not valid, `redirect: true`: send the error back to the client with
 *   `authorizationResponseUrl(verdict, verdict.error)`.
 * Descriptions never repeat the request's values.
 */
export type AuthorizationRequestVerdict =
  | {
      /** The request passed every check. */
      readonly valid: true;
      /** The checked request, to keep (e.g. in the session) until the user decided. */
      readonly request: ValidatedAuthorizationRequest;
    }
  | {
      /** The request failed a check. */
      readonly valid: false;
      /** Show the error to the user; never redirect. */
      readonly redirect: false;
      /** What was wrong (`invalid_request`). */
      readonly error: OAuthError;
    }
  | {
      /** The request failed a check. */
      readonly valid: false;
      /** Send the error to the client's redirect URI. */
      readonly redirect: true;
      /** What was wrong, with the RFC 6749 §4.1.2.1 error code. */
      readonly error: OAuthError;
      /** The registered redirect URI the error goes to. */
      readonly redirectUri: string;
      /** The request's `state`, echoed back. */
      readonly state?: string;
    };

/** Where an authorization response goes: a validated request, or an error verdict that may be redirected. */
export interface AuthorizationResponseTarget {
  /** The registered redirect URI; an existing query is kept. */
  readonly redirectUri: string;
  /** The request's `state`, echoed back when present. */
  readonly state?: string;
}

/** An authorization response: the code, or an error (an OAuthError, or its code and description). */
export type AuthorizationResponse =
  | {
      /** The authorization code from `issueAuthorizationCode`. */
      readonly code: string;
    }
  | OAuthError
  | {
      /** An RFC 6749 §4.1.2.1 error code, e.g. `access_denied`. */
      readonly error: string;
      /** Human-readable text: printable ASCII without double quotes and backslashes. */
      readonly error_description?: string;
    };

const MAX_PARAMETERS = 64;
const MAX_VALUE_LENGTH = 4096;
const MAX_STATE_LENGTH = 1024;
const MAX_NONCE_LENGTH = 512;
const MAX_LOGIN_HINT_LENGTH = 1024;
const PROMPTS: ReadonlySet<string> = new Set(['none', 'login', 'consent', 'select_account']);
const JKT = /^[A-Za-z0-9_-]{43}$/;
/** RFC 6749 §4.1.2.1: `error` and `error_description` are limited to these characters. */
const ERROR_CHARS = /^[\x20-\x21\x23-\x5b\x5d-\x7e]+$/;

/** Everything the checks need from the router and the grant. */
export interface AuthorizationRequestDependencies {
  readonly clients: ClientRegistry;
  readonly settings: AuthorizationCodeSettings;
  readonly checkResources: (client: RegisteredClient, requested: readonly string[]) => readonly string[];
}

/** Builds `tokenRouter.validateAuthorizationRequest`. */
export function createAuthorizationRequestValidator(deps: AuthorizationRequestDependencies): (parameters: AuthorizationRequestParameters) => Promise<AuthorizationRequestVerdict> {
  return async function validateAuthorizationRequest(parameters) {
    const read = readParameters(parameters);
    const show = (description: string): AuthorizationRequestVerdict => ({ valid: false, redirect: false, error: new OAuthError('invalid_request', description) });
    if (read === undefined) return show('The authorization request has too many or too long parameters, or nested values.');
    const one = (name: string) => single(read, name);

    // RFC 6749 §4.1.2.1: until client_id and redirect_uri are known good, nothing is redirected.
    const clientId = one('client_id');
    if (clientId === REPEATED) return show('The client_id parameter was sent more than once.');
    if (clientId === undefined) return show('The request has no client_id.');
    const client = await deps.clients.findClient(clientId);
    if (!client || client.client_id !== clientId) return show('The client_id is not known to this server.');
    // A client not registered for the code flow gets no redirects at all: its redirect URIs (if
    // any) serve other purposes.
    if (!(client.grant_types ?? ['authorization_code']).includes('authorization_code')) {
      return { valid: false, redirect: false, error: new OAuthError('unauthorized_client', 'This client is not allowed to use the authorization code flow.') };
    }
    const redirectUri = one('redirect_uri');
    if (redirectUri === REPEATED) return show('The redirect_uri parameter was sent more than once.');
    // Required even with one registered URI: the token request must repeat it (RFC 6749 §4.1.3).
    if (redirectUri === undefined) return show('The request has no redirect_uri.');
    if (!(client.redirect_uris ?? []).includes(redirectUri)) return show('The redirect_uri is not registered for this client.');

    const rawState = one('state');
    const state = typeof rawState === 'string' && rawState.length <= MAX_STATE_LENGTH ? rawState : undefined;
    const fail = (error: OAuthErrorCode, description: string): AuthorizationRequestVerdict => ({ valid: false, redirect: true, error: new OAuthError(error, description), redirectUri, ...(state !== undefined && { state }) });
    if (rawState === REPEATED) return fail('invalid_request', 'The state parameter was sent more than once.');
    if (rawState !== undefined && state === undefined) return fail('invalid_request', `The state is longer than ${MAX_STATE_LENGTH} characters.`);

    const names = ['response_type', 'response_mode', 'scope', 'nonce', 'code_challenge', 'code_challenge_method', 'dpop_jkt', 'prompt', 'max_age', 'login_hint', 'acr_values', 'request', 'request_uri'] as const;
    const values: Partial<Record<(typeof names)[number], string>> = {};
    for (const name of names) {
      const value = one(name);
      if (value === REPEATED) return fail('invalid_request', `The ${name} parameter was sent more than once.`);
      if (value !== undefined) values[name] = value;
    }
    // OIDC Core §6: request objects are not supported here.
    if (values.request !== undefined) return fail('request_not_supported', 'Request objects are not supported.');
    if (values.request_uri !== undefined) return fail('request_uri_not_supported', 'request_uri is not supported.');
    if (values.response_type === undefined) return fail('invalid_request', 'The response_type parameter is required.');
    if (values.response_type !== 'code') return fail('unsupported_response_type', 'Only response_type=code is supported.');
    if (values.response_mode !== undefined && values.response_mode !== 'query') return fail('invalid_request', 'Only response_mode=query is supported.');

    // RFC 6749 §3.3: no default scope here, so a missing scope is invalid_scope.
    if (values.scope === undefined) return fail('invalid_scope', 'The scope parameter is required.');
    const scope = parseScope(values.scope);
    if (scope.length === 0) return fail('invalid_scope', 'The scope parameter is required.');
    try {
      assertScopesAllowed(scope, allowedScopes(client));
    } catch (error) {
      if (error instanceof OAuthError) return fail(error.error, 'The requested scope is not allowed for this client.');
      throw error;
    }
    if (values.nonce !== undefined && values.nonce.length > MAX_NONCE_LENGTH) return fail('invalid_request', `The nonce is longer than ${MAX_NONCE_LENGTH} characters.`);

    // PKCE (RFC 7636 §4.4.1), with the policy the token endpoint applies.
    const challenge = values.code_challenge;
    const method = values.code_challenge_method;
    const required = client.token_endpoint_auth_method === 'none' || deps.settings.requirePkceForConfidentialClients;
    if (challenge === undefined && method !== undefined) return fail('invalid_request', 'code_challenge_method was sent without a code_challenge.');
    if (challenge === undefined && required) return fail('invalid_request', 'PKCE is required for this client: send code_challenge with code_challenge_method=S256.');
    let codeChallengeMethod: PkceMethod | undefined;
    if (challenge !== undefined) {
      // A challenge without a method means plain (RFC 7636 §4.3).
      const effective = method ?? 'plain';
      if (effective === 'S256') {
        if (!S256_CHALLENGE_PATTERN.test(challenge)) return fail('invalid_request', 'The S256 code_challenge must be 43 base64url characters.');
      } else if (effective !== 'plain' || !deps.settings.allowPlainPkce) {
        return fail('invalid_request', 'code_challenge_method must be S256.');
      } else if (!CODE_VERIFIER_PATTERN.test(challenge)) {
        return fail('invalid_request', 'A plain code_challenge must be 43-128 characters of [A-Za-z0-9-._~].');
      }
      codeChallengeMethod = effective;
    }

    let resources: readonly string[] | undefined;
    try {
      const requested = parseResourceParameters(read.get('resource') ?? []);
      resources = requested === undefined ? undefined : deps.checkResources(client, requested);
    } catch (error) {
      if (error instanceof OAuthError) return fail('invalid_target', 'A resource is malformed or not allowed for this client.');
      throw error;
    }
    if (values.dpop_jkt !== undefined && !JKT.test(values.dpop_jkt)) return fail('invalid_request', 'The dpop_jkt must be a base64url SHA-256 JWK thumbprint (43 characters).');

    let prompt: PromptValue[] | undefined;
    if (values.prompt !== undefined) {
      const asked = values.prompt.split(' ').filter((p) => p !== '');
      if (!asked.every((p): p is PromptValue => PROMPTS.has(p))) return fail('invalid_request', 'The prompt parameter has a value this server does not know.');
      // OIDC Core §3.1.2.1: none with any other value is an error.
      if (asked.includes('none') && asked.length > 1) return fail('invalid_request', 'prompt=none cannot be combined with other values.');
      prompt = [...new Set(asked)];
    }
    let maxAge: number | undefined;
    if (values.max_age !== undefined) {
      if (!/^\d{1,10}$/.test(values.max_age)) return fail('invalid_request', 'max_age must be a whole number of seconds.');
      maxAge = Number(values.max_age);
    }
    if (values.login_hint !== undefined && values.login_hint.length > MAX_LOGIN_HINT_LENGTH) return fail('invalid_request', `The login_hint is longer than ${MAX_LOGIN_HINT_LENGTH} characters.`);
    const acrValues = values.acr_values === undefined ? undefined : values.acr_values.split(' ').filter((v) => v !== '');

    return {
      valid: true,
      request: Object.freeze({
        clientId,
        client,
        redirectUri,
        responseType: 'code',
        scope: Object.freeze(scope),
        ...(state !== undefined && { state }),
        ...(values.nonce !== undefined && { nonce: values.nonce }),
        ...(challenge !== undefined && { codeChallenge: challenge, codeChallengeMethod }),
        ...(resources !== undefined && resources.length > 0 && { resources }),
        ...(values.dpop_jkt !== undefined && { dpopJkt: values.dpop_jkt }),
        ...(prompt !== undefined && prompt.length > 0 && { prompt: Object.freeze(prompt) }),
        ...(maxAge !== undefined && { maxAge }),
        ...(values.login_hint !== undefined && { loginHint: values.login_hint }),
        ...(acrValues !== undefined && acrValues.length > 0 && { acrValues: Object.freeze(acrValues) }),
      }),
    };
  };
}

/**
 * Builds `tokenRouter.authorizationResponseUrl`: the redirect URI with the response parameters
 * added to its query (RFC 6749 §4.1.2 / §4.1.2.1; an existing query is kept, every value
 * percent-encoded), `state` when the request had one, and `iss` (RFC 9207).
 */
export function createAuthorizationResponseUrl(issuer: string): (target: AuthorizationResponseTarget, response: AuthorizationResponse) => string {
  return function authorizationResponseUrl(target, response) {
    if (typeof target !== 'object' || target === null || typeof target.redirectUri !== 'string') throw new TypeError('authorizationResponseUrl(target, response): target must be the validated request or a redirectable verdict ({ redirectUri, state? }).');
    let url: URL;
    try {
      url = new URL(target.redirectUri);
    } catch {
      throw new TypeError('authorizationResponseUrl: target.redirectUri must be an absolute URI (a registered redirect URI).');
    }
    const params: Array<[string, string]> = [];
    if (response instanceof OAuthError) {
      const body = response.toJSON();
      params.push(['error', body.error]);
      if (body.error_description !== undefined && ERROR_CHARS.test(body.error_description)) params.push(['error_description', body.error_description]);
    } else if (typeof response === 'object' && response !== null && 'code' in response && typeof response.code === 'string' && response.code.length > 0) {
      params.push(['code', response.code]);
    } else if (typeof response === 'object' && response !== null && 'error' in response && typeof response.error === 'string' && ERROR_CHARS.test(response.error) && !response.error.includes(' ')) {
      params.push(['error', response.error]);
      const description = response.error_description;
      if (description !== undefined) {
        if (typeof description !== 'string' || !ERROR_CHARS.test(description)) throw new TypeError('authorizationResponseUrl: error_description must be printable ASCII without " and \\ (RFC 6749 §4.1.2.1).');
        params.push(['error_description', description]);
      }
    } else {
      throw new TypeError('authorizationResponseUrl: response must be { code }, an OAuthError, or { error, error_description? } with an RFC 6749 error code.');
    }
    if (target.state !== undefined) params.push(['state', target.state]);
    params.push(['iss', issuer]);
    for (const [name, value] of params) url.searchParams.append(name, value);
    return url.href;
  };
}

const REPEATED = Symbol('repeated');

/** Parameters as lists of values (empty values dropped: RFC 6749 §3.1 treats them as absent). */
function readParameters(parameters: AuthorizationRequestParameters): ReadonlyMap<string, string[]> | undefined {
  const out = new Map<string, string[]>();
  const add = (name: string, value: string): boolean => {
    if (value.length > MAX_VALUE_LENGTH) return false;
    if (value !== '') out.set(name, [...(out.get(name) ?? []), value]);
    return true;
  };
  if (typeof parameters === 'string' || parameters instanceof URLSearchParams) {
    const search = typeof parameters === 'string' ? new URLSearchParams(parameters.startsWith('?') ? parameters.slice(1) : parameters) : parameters;
    let count = 0;
    for (const [name, value] of search) {
      count += 1;
      if (count > MAX_PARAMETERS || !add(name, value)) return undefined;
    }
    return out;
  }
  if (typeof parameters !== 'object' || parameters === null) return undefined;
  const entries = Object.entries(parameters);
  if (entries.length > MAX_PARAMETERS) return undefined;
  for (const [name, value] of entries) {
    if (value === undefined) continue;
    const list: unknown[] = Array.isArray(value) ? value : [value];
    if (!list.every((item): item is string => typeof item === 'string')) return undefined;
    for (const item of list) if (!add(name, item)) return undefined;
  }
  return out;
}

function single(parameters: ReadonlyMap<string, string[]>, name: string): string | undefined | typeof REPEATED {
  const values = parameters.get(name);
  if (values === undefined) return undefined;
  return values.length > 1 ? REPEATED : values[0];
}
