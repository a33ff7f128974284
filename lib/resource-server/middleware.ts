// lib/resource-server/middleware.ts
// The resource-server middleware both variants share (the router's `requireAccessToken` and the
// standalone one): reads the presented token, lets a verifier check it, then checks what the
// route requires (audience, key binding, scopes) and answers RFC 6750 errors. The verified token
// goes on the request, read with accessTokenOf(req).
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { AccessTokenClaims } from '../contracts/tokens';
import { writeJson, setNoStore } from '../endpoint/respond';
import { DEFAULTS } from '../options/defaults';
import { checkInt, checkKeys, isPlainObject } from '../options/checks';
import { BEARER_ONLY, MAX_ACCESS_TOKEN_LENGTH, readPresentation, type PresentationSchemes } from './presentation';
import type { RequireAccessTokenOptions, VerifiedAccessToken } from './types';

/** The checked options every variant has. */
export interface Requirement {
  readonly audiences: readonly string[];
  readonly scopes: readonly string[];
  readonly toleranceSeconds: number;
  readonly realm: string;
}

/**
 * Verifies a presented token: signature, `typ` at+jwt, `iss`, `exp`/`nbf` within `toleranceSeconds`,
 * the claims RFC 9068 requires, revocation. Undefined for any token that does not pass (never
 * why); rejects only for a server-side failure (a storage or key lookup that threw).
 */
export type AccessTokenVerifier = (token: string) => Promise<AccessTokenClaims | undefined>;

const COMMON_KEYS: { readonly [K in keyof Required<RequireAccessTokenOptions>]: true } = { audience: true, scope: true, clockToleranceSeconds: true, realm: true };
export const REQUIREMENT_KEYS: readonly string[] = Object.keys(COMMON_KEYS);

// scope-token = 1*( %x21 / %x23-5B / %x5D-7E ) (RFC 6749 §3.3): also safe inside a quoted-string.
const SCOPE_TOKEN = /^[\x21\x23-\x5b\x5d-\x7e]+$/;
// A quoted-string without escapes: printable ASCII but `"` and `\`.
const REALM = /^[\x20\x21\x23-\x5b\x5d-\x7e]{1,256}$/;

/**
 * Checks `options` (`known` = every key the variant accepts) and returns the common part, or
 * undefined when something is wrong (then `problems` says what).
 */
export function checkRequirement(options: unknown, path: string, known: readonly string[], problems: string[]): Requirement | undefined {
  if (!isPlainObject(options)) {
    problems.push(`${path} must be an object { audience, scope?, clockToleranceSeconds?, realm? }.`);
    return undefined;
  }
  const before = problems.length;
  checkKeys(options, path, known, problems);
  const given = options as Partial<Record<keyof RequireAccessTokenOptions, unknown>>;
  const audiences = typeof given.audience === 'string' ? [given.audience] : given.audience;
  if (!Array.isArray(audiences) || audiences.length === 0 || !audiences.every((a) => typeof a === 'string' && a !== '')) {
    problems.push(`${path}.audience is required: the API's identifier (a non-empty string or array of strings) that the token's aud must contain.`);
  }
  const scopes = scopesOf(given.scope, `${path}.scope`, problems);
  checkInt(given.clockToleranceSeconds, `${path}.clockToleranceSeconds`, 0, 30, 'seconds', problems, 'a larger skew keeps expired tokens alive; fix the clocks (NTP) instead');
  let realm = given.realm;
  if (realm !== undefined && (typeof realm !== 'string' || !REALM.test(realm))) {
    problems.push(`${path}.realm must be 1 to 256 printable ASCII characters without " and \\.`);
  } else if (realm === undefined && Array.isArray(audiences) && typeof audiences[0] === 'string' && audiences[0] !== '') {
    realm = audiences[0];
    if (!REALM.test(audiences[0])) problems.push(`${path}.realm: the first audience cannot serve as the challenge's realm (it has " or \\, a non-ASCII character or over 256 characters); set realm.`);
  }
  if (problems.length > before) return undefined;
  return Object.freeze({
    audiences: Object.freeze([...(audiences as string[])]),
    scopes,
    toleranceSeconds: (given.clockToleranceSeconds as number | undefined) ?? DEFAULTS.accessTokenClockToleranceSeconds,
    realm: realm as string,
  });
}

function scopesOf(value: unknown, path: string, problems: string[]): readonly string[] {
  if (value === undefined) return Object.freeze([]);
  const list = typeof value === 'string' ? value.split(' ').filter((s) => s !== '') : value;
  if (!Array.isArray(list) || list.length === 0 || !list.every((s) => typeof s === 'string' && SCOPE_TOKEN.test(s))) {
    problems.push(`${path} must be scope tokens (RFC 6749 §3.3): a space-separated string or an array of strings, non-empty (omit it to require none).`);
    return Object.freeze([]);
  }
  return Object.freeze([...new Set(list as string[])]);
}

/** An RFC 6750 §3.1 error. */
interface Refusal {
  readonly status: 400 | 401 | 403;
  readonly error: 'invalid_request' | 'invalid_token' | 'insufficient_scope' | 'invalid_dpop_proof';
  readonly description: string;
  readonly scope?: string;
}

// One description for every token that does not pass: no oracle for a token's state.
const INVALID_TOKEN: Refusal = { status: 401, error: 'invalid_token', description: 'The access token is invalid, expired or revoked, or not for this resource.' };

const verifiedTokens = new WeakMap<object, VerifiedAccessToken>();

/**
 * The access token `requireAccessToken` verified for this request: its claims, its parsed scopes,
 * the token itself. Throws when no requireAccessToken middleware let this request through (a
 * route that forgot it is a bug to surface, not an anonymous request).
 *
 * @example
 * app.get('/api/me', tokenRouter.requireAccessToken({ audience: 'https://api.example.com' }), (req, res) => {
 *   const { claims, scopes } = accessTokenOf(req);
 *   res.json({ sub: claims.sub, scopes });
 * });
 */
export function accessTokenOf(req: IncomingMessage): VerifiedAccessToken {
  const verified = verifiedTokens.get(req);
  if (verified === undefined) throw new Error('accessTokenOf(req): no access token was verified for this request; put requireAccessToken(...) in front of the route.');
  return verified;
}

/** The middleware for a checked requirement and a verifier. */
export function createAccessTokenMiddleware(requirement: Requirement, verify: AccessTokenVerifier, clock: () => number, schemes: PresentationSchemes = BEARER_ONLY): RequestHandler {
  const { realm, audiences, scopes: required, toleranceSeconds } = requirement;
  const insufficient: Refusal = { status: 403, error: 'insufficient_scope', description: 'The access token does not carry the scope this resource requires.', scope: required.join(' ') };
  return async (req: Request, res: Response, next: NextFunction): Promise<void> => {
    const presented = readPresentation(req, schemes);
    if (presented.kind === 'none') return challenge(res, realm, schemes);
    if (presented.kind === 'malformed') return refuse(res, realm, { status: 400, error: 'invalid_request', description: presented.description });
    const { token, scheme } = presented;
    const refuseToken = (refusal: Refusal) => refuse(res, realm, refusal, scheme.name, scheme.challengeParameters);
    if (token.length > MAX_ACCESS_TOKEN_LENGTH) return refuseToken(INVALID_TOKEN);
    let claims: AccessTokenClaims | undefined;
    try {
      claims = await verify(token);
    } catch (error) {
      // A storage or key lookup failed: the server's problem (the host's error handler, 500), never "valid".
      return next(error);
    }
    if (claims === undefined || !audienceMatches(claims.aud, audiences)) return refuseToken(INVALID_TOKEN);
    // An iat in the future is as wrong as an nbf in the future (the verifier checked exp and nbf).
    if (typeof claims.iat !== 'number' || claims.iat > Math.floor(clock() / 1000) + toleranceSeconds) return refuseToken(INVALID_TOKEN);
    // The scheme's key-binding check: Bearer refuses sender-constrained tokens, DPoP checks the
    // proof against cnf.jkt (RFC 9449 §7).
    let bindingProblem;
    try {
      bindingProblem = await scheme.bindingProblem(claims, req, token);
    } catch (error) {
      return next(error);
    }
    if (bindingProblem !== undefined) return refuseToken({ ...INVALID_TOKEN, error: bindingProblem.error, description: bindingProblem.description });
    const scopes = scopesOfToken(claims.scope);
    if (scopes === undefined) return refuseToken(INVALID_TOKEN);
    if (!required.every((scope) => scopes.includes(scope))) return refuseToken(insufficient);
    verifiedTokens.set(req, Object.freeze({ scheme: scheme.name, token, claims, scopes }));
    next();
  };
}

/** The token's `aud` (a string or an array of strings) contains one of `audiences`. */
function audienceMatches(aud: unknown, audiences: readonly string[]): boolean {
  if (typeof aud === 'string') return audiences.includes(aud);
  return Array.isArray(aud) && aud.every((a) => typeof a === 'string') && aud.some((a: string) => audiences.includes(a));
}

/** The token's scopes from a space-separated string or an array of strings; undefined when malformed. */
function scopesOfToken(scope: unknown): readonly string[] | undefined {
  if (scope === undefined) return Object.freeze([]);
  if (typeof scope === 'string') return Object.freeze(scope.split(' ').filter((s) => s !== ''));
  if (Array.isArray(scope) && scope.every((s) => typeof s === 'string')) return Object.freeze([...(scope as string[])]);
  return undefined;
}

/**
 * RFC 6750 §3.1: a request without credentials gets a bare challenge per accepted scheme: no error
 * code, no body.
 */
function challenge(res: ServerResponse, realm: string, schemes: PresentationSchemes): void {
  if (res.headersSent) return;
  res.statusCode = 401;
  setNoStore(res);
  res.setHeader('WWW-Authenticate', [...schemes.values()].map((scheme) => [`${scheme.name} realm="${realm}"`, ...scheme.challengeParameters].join(', ')).join(', '));
  res.setHeader('Content-Length', 0);
  res.end();
}

/**
 * RFC 6750 §3: the challenge of `scheme` (the presented one; Bearer for a malformed request) with
 * `error`, `error_description` (fixed text, never the caller's) and `scope`; the same as JSON.
 */
function refuse(res: ServerResponse, realm: string, refusal: Refusal, scheme = 'Bearer', extra: readonly string[] = []): void {
  const parameters = [`realm="${realm}"`, `error="${refusal.error}"`, `error_description="${refusal.description}"`, ...extra];
  if (refusal.scope !== undefined) parameters.push(`scope="${refusal.scope}"`);
  writeJson(res, refusal.status, { error: refusal.error, error_description: refusal.description }, { 'WWW-Authenticate': `${scheme} ${parameters.join(', ')}` });
}
