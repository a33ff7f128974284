// lib/endpoint/client-auth/credentials.ts
// Extracts the client's credentials from the Authorization header and the form (RFC 6749 §2.3.1).
import { OAuthError } from '../../contracts/errors';
import type { FormParameters } from '../read-form';
import { MAX_CLIENT_ASSERTION_LENGTH } from './client-assertion';

/** The assertion types of the registered methods, each with how to read the client id from an assertion. */
export type AssertionTypes = ReadonlyMap<string, ((assertion: string) => string | undefined) | undefined>;

/** The credentials a request presents, before any lookup. */
export interface PresentedCredentials {
  /** The client id claimed by the request (Basic user-id or body client_id). */
  readonly clientId: string | undefined;
  /** The secret presented, by whichever single method was used. */
  readonly secret: string | undefined;
  /** Which method carried the credentials (`client_assertion`: private_key_jwt or client_secret_jwt). */
  readonly method: 'client_secret_basic' | 'client_secret_post' | 'none' | 'client_assertion';
  /** A client assertion (RFC 7521 §4.2, e.g. RFC 7523 §2.2), when the request used one. */
  readonly assertion?: string;
  /** Its `client_assertion_type`. */
  readonly assertionType?: string;
  /** True when an Authorization header was sent (a failure then answers with WWW-Authenticate). */
  readonly usedAuthorizationHeader: boolean;
}

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
const MAX_HEADER_LENGTH = 4096;

/**
 * Reads credentials, enforcing one authentication method per request (RFC 6749 §2.3):
 * Basic plus a body secret, or a Basic id that differs from the body client_id, is
 * `invalid_request`. Malformed Basic credentials are `invalid_request` too.
 */
export function extractCredentials(authorization: string | undefined, form: FormParameters, assertionTypes: AssertionTypes): PresentedCredentials {
  const bodyId = form.client_id;
  const bodySecret = form.client_secret;
  if (form.client_assertion !== undefined || form.client_assertion_type !== undefined) return assertionCredentials(authorization, form, assertionTypes);
  if (authorization === undefined || authorization.length === 0) {
    return { clientId: bodyId, secret: bodySecret, method: bodySecret === undefined ? 'none' : 'client_secret_post', usedAuthorizationHeader: false };
  }
  const basic = decodeBasic(authorization);
  if (bodySecret !== undefined) {
    throw new OAuthError('invalid_request', 'The client used more than one authentication method (HTTP Basic and client_secret in the body).');
  }
  if (bodyId !== undefined && bodyId !== basic.id) {
    throw new OAuthError('invalid_request', 'The client_id in the body does not match the client authenticated with HTTP Basic.');
  }
  // An empty Basic password is no secret: public clients sometimes identify themselves this way.
  const secret = basic.secret.length > 0 ? basic.secret : undefined;
  return { clientId: basic.id, secret, method: secret === undefined ? 'none' : 'client_secret_basic', usedAuthorizationHeader: true };
}

// RFC 7523 §2.2 / RFC 7521 §4.2: client_assertion_type and client_assertion together, as the only
// method of the request (no Basic header, no client_secret); client_id optional (then the
// assertion names the client, for JWTs its sub; verification requires iss = sub = client_id).
function assertionCredentials(authorization: string | undefined, form: FormParameters, assertionTypes: AssertionTypes): PresentedCredentials {
  const assertion = form.client_assertion;
  const assertionType = form.client_assertion_type;
  if (assertion === undefined || assertionType === undefined) {
    throw new OAuthError('invalid_request', 'client_assertion and client_assertion_type must be sent together.');
  }
  if (!assertionTypes.has(assertionType)) {
    throw new OAuthError('invalid_request', 'The client_assertion_type is not supported by this server.');
  }
  if ((authorization !== undefined && authorization.length > 0) || form.client_secret !== undefined) {
    throw new OAuthError('invalid_request', 'The client used more than one authentication method (a client assertion and a secret).');
  }
  if (assertion.length > MAX_CLIENT_ASSERTION_LENGTH) throw new OAuthError('invalid_request', 'The client_assertion is too long.');
  return { clientId: form.client_id ?? assertionTypes.get(assertionType)?.(assertion), secret: undefined, assertion, assertionType, method: 'client_assertion', usedAuthorizationHeader: false };
}

/** Best-effort client id for keying the rate limiter; never throws. */
export function peekClientId(authorization: string | undefined, form: FormParameters): string | undefined {
  if (form.client_id !== undefined) return form.client_id;
  if (!authorization) return undefined;
  try {
    return decodeBasic(authorization).id;
  } catch {
    return undefined;
  }
}

/**
 * RFC 6749 §2.3.1: the client id and secret are form-urlencoded (App. B) and then joined
 * with ":" and base64-encoded. So: base64-decode, split at the first ":", form-decode each half.
 */
function decodeBasic(header: string): { id: string; secret: string } {
  if (header.length > MAX_HEADER_LENGTH) throw malformed('The Authorization header is too long.');
  const space = header.indexOf(' ');
  if (space === -1 || header.slice(0, space).toLowerCase() !== 'basic') {
    throw malformed('Only the HTTP Basic authentication scheme is supported at the token endpoint.');
  }
  const encoded = header.slice(space + 1).trim();
  if (!BASE64.test(encoded) || encoded.length % 4 === 1) throw malformed('The HTTP Basic credentials are not valid base64.');
  const decoded = Buffer.from(encoded, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon === -1) throw malformed('The HTTP Basic credentials must be "client_id:client_secret".');
  const id = formDecode(decoded.slice(0, colon));
  const secret = formDecode(decoded.slice(colon + 1));
  if (id.length === 0) throw malformed('The HTTP Basic credentials have an empty client id.');
  return { id, secret };
}

function formDecode(text: string): string {
  const spaced = text.includes('+') ? text.replace(/\+/g, ' ') : text;
  if (!spaced.includes('%')) return spaced;
  try {
    return decodeURIComponent(spaced);
  } catch {
    throw malformed('The HTTP Basic credentials contain an invalid percent-escape (id and secret must be form-urlencoded).');
  }
}

function malformed(description: string): OAuthError {
  return new OAuthError('invalid_request', description);
}
