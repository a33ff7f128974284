// lib/resource-server/presentation.ts
// How a client presents an access token to a protected route (RFC 6750 §2), and what each
// presentation scheme checks of a verified token's key binding. Bearer only today; DPoP
// (RFC 9449) is the second scheme (router variant): its proof check, its `cnf.jkt` comparison and
// its challenge parameters.
import type { IncomingMessage } from 'node:http';
import type { AccessTokenClaims } from '../contracts/tokens';
import { OAuthError } from '../contracts/errors';
import { DPOP_ALGORITHMS, verifyDpopProof } from '../dpop/proof';
import { isPlainObject } from '../options/checks';
import type { PresentedClientCertificate } from '../contracts/client-auth';
import { certificateFromTlsSocket, certificateThumbprint } from '../mtls/certificate';

/** Reads the request's TLS client certificate (for certificate-bound tokens, RFC 8705 §3). */
export type CertificateReader = (req: IncomingMessage) => PresentedClientCertificate | undefined;

const CERTIFICATE_MISMATCH: BindingProblem = { error: 'invalid_token', description: 'The access token is bound to a TLS client certificate this request was not made with.' };

// RFC 8705 §3: a certificate-bound token (cnf["x5t#S256"]) is used only over a connection made with
// that certificate; undefined when the token has no such binding or the certificate matches.
function certificateBindingProblem(claims: AccessTokenClaims, req: IncomingMessage, readCertificate: CertificateReader): BindingProblem | undefined {
  const cnf = claims.cnf as Record<string, unknown> | undefined;
  const thumbprint = cnf?.['x5t#S256'];
  if (thumbprint === undefined) return undefined;
  const presented = typeof thumbprint === 'string' ? readCertificate(req) : undefined;
  return presented !== undefined && certificateThumbprint(presented.certificate) === thumbprint ? undefined : CERTIFICATE_MISMATCH;
}

/** A token longer than this is not one we could have issued: not verified at all. */
export const MAX_ACCESS_TOKEN_LENGTH = 8192;

/** What the request carries. */
export type Presentation =
  /** No credentials of a scheme we accept (none at all, or e.g. Basic): RFC 6750 §3.1, a bare challenge. */
  | { readonly kind: 'none' }
  /** A malformed or ambiguous presentation: 400 `invalid_request`. */
  | { readonly kind: 'malformed'; readonly description: string }
  | { readonly kind: 'token'; readonly scheme: PresentationScheme; readonly token: string };

/** Why a verified token may not be used as presented: the 401 error code and a fixed description. */
export interface BindingProblem {
  readonly error: 'invalid_token' | 'invalid_dpop_proof';
  readonly description: string;
}

/** One way of presenting an access token (an HTTP authentication scheme). */
export interface PresentationScheme {
  /** The scheme as sent in challenges (`Bearer`, `DPoP`). */
  readonly name: 'Bearer' | 'DPoP';
  /** Extra challenge parameters (DPoP: `algs`, RFC 9449 §7.1). */
  readonly challengeParameters: readonly string[];
  /** Why a verified token may not be used with this scheme, or undefined. */
  bindingProblem(claims: AccessTokenClaims, req: IncomingMessage & { readonly originalUrl?: string; readonly protocol?: string; readonly host?: string }, token: string): Promise<BindingProblem | undefined>;
}

/**
 * RFC 6750: any holder may use the token — unless it is sender-constrained. A DPoP-bound token
 * (`cnf.jkt`, or any binding we do not know) presented as a bearer token is refused (RFC 9449
 * §7.2); a certificate-bound one (only `cnf["x5t#S256"]`) is a bearer token used over a connection
 * with its certificate (RFC 8705 §3).
 */
export function bearerScheme(readCertificate: CertificateReader): PresentationScheme {
  return {
    name: 'Bearer',
    challengeParameters: [],
    bindingProblem: async (claims, req) => {
      if (claims.cnf === undefined) return undefined;
      const members = isPlainObject(claims.cnf) ? Object.keys(claims.cnf) : [];
      if (members.length !== 1 || members[0] !== 'x5t#S256') return { error: 'invalid_token', description: 'The access token is bound to a key and cannot be used as a bearer token.' };
      return certificateBindingProblem(claims, req, readCertificate);
    },
  };
}

/** What the DPoP scheme needs: single-use proof jtis, the clock, and the TLS certificate (a token may carry both bindings). */
export interface DpopSchemeDependencies {
  readonly recordOneTimeUse: (key: string, expiresAt: number) => Promise<boolean>;
  readonly clock: () => number;
  readonly readCertificate: CertificateReader;
}

/**
 * RFC 9449 §7: `Authorization: DPoP <token>` with a `DPoP` proof of the key in `cnf.jkt`, made for
 * this request (htm, htu) and this token (`ath`), used once.
 */
export function dpopScheme(deps: DpopSchemeDependencies): PresentationScheme {
  return {
    name: 'DPoP',
    challengeParameters: [`algs="${DPOP_ALGORITHMS.join(' ')}"`],
    async bindingProblem(claims, req, token) {
      const jkt = (claims.cnf as { jkt?: unknown } | undefined)?.jkt;
      if (typeof jkt !== 'string') return { error: 'invalid_token', description: 'The access token is not bound to a DPoP key.' };
      // Express's req.host follows `trust proxy` like req.protocol; a bare http server has neither.
      const host = req.host ?? req.headers.host ?? '';
      const path = (req.originalUrl ?? req.url ?? '').split('?')[0];
      try {
        const proof = await verifyDpopProof(req.headers.dpop, { method: req.method ?? '', url: `${req.protocol ?? 'http'}://${host}${path}`, nowMs: deps.clock(), recordOneTimeUse: deps.recordOneTimeUse, accessToken: token, expectedJkt: jkt });
        if (proof === undefined || proof.jkt !== jkt) return { error: 'invalid_dpop_proof', description: 'The DPoP proof is missing, invalid, or not made with the key the access token is bound to.' };
      } catch (error) {
        if (error instanceof OAuthError) return { error: 'invalid_dpop_proof', description: 'The DPoP proof is missing, invalid, or not made with the key the access token is bound to.' };
        throw error;
      }
      return certificateBindingProblem(claims, req, deps.readCertificate);
    },
  };
}

/** The schemes accepted, by lower-cased name (RFC 9110 §11.1: scheme names are case-insensitive). */
export type PresentationSchemes = ReadonlyMap<string, PresentationScheme>;

/** Bearer only (a resource server without a one-time-use store cannot check DPoP proofs); certificates from the TLS connection. */
export const BEARER_ONLY: PresentationSchemes = new Map([['bearer', bearerScheme(certificateFromTlsSocket)]]);

/** Bearer and DPoP. */
export function bearerAndDpop(deps: DpopSchemeDependencies): PresentationSchemes {
  return new Map([['bearer', bearerScheme(deps.readCertificate)], ['dpop', dpopScheme(deps)]]);
}

// RFC 6750 §2.1: b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=", after 1*SP.
const B64TOKEN = /^[A-Za-z0-9._~+/-]+=*$/;

const ELSEWHERE = 'Send the access token in the Authorization header; the query and the body are not accepted.';
const NOT_BEARER = 'The Authorization header is not "Bearer" followed by an access token.';

/**
 * Reads the access token from the request. Only the Authorization header is accepted: a token in
 * the URL query (§2.3) or in a parsed body (`access_token`, §2.2) is refused with
 * `invalid_request`, so the client learns that the method is not supported (and that the token was
 * sent where it may be logged) instead of a 401 that looks like a bad token.
 */
export function readPresentation(req: IncomingMessage & { readonly body?: unknown }, schemes: PresentationSchemes = BEARER_ONLY): Presentation {
  // Node keeps only the first of several Authorization headers: an ambiguous request is refused.
  let headers = 0;
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    if (req.rawHeaders[i].length === 13 && req.rawHeaders[i].toLowerCase() === 'authorization') headers += 1;
  }
  if (headers > 1) return { kind: 'malformed', description: 'The request has more than one Authorization header.' };
  const elsewhere = tokenOutsideHeader(req);
  const header = req.headers.authorization;
  const schemeName = header === undefined ? '' : (/^[^ \t]*/.exec(header)?.[0] ?? '');
  const scheme = schemes.get(schemeName.toLowerCase());
  // No header, or another scheme (Basic, a bare token, one we do not serve yet): no credentials
  // for this route (§3.1), unless the token came in a place we refuse.
  if (header === undefined || scheme === undefined) return elsewhere ? { kind: 'malformed', description: ELSEWHERE } : { kind: 'none' };
  const rest = header.slice(schemeName.length);
  const token = rest.replace(/^ +/, '');
  if (token.length === rest.length || !B64TOKEN.test(token)) return { kind: 'malformed', description: NOT_BEARER };
  // RFC 6750 §2: a client must not use more than one method in a request.
  if (elsewhere) return { kind: 'malformed', description: 'The request carries an access token in more than one place.' };
  return { kind: 'token', scheme, token };
}

/** An `access_token` in the URL query or in a body a parser already read. */
function tokenOutsideHeader(req: IncomingMessage & { readonly body?: unknown }): boolean {
  const url = req.url ?? '';
  const query = url.indexOf('?');
  if (query >= 0 && url.includes('access_token', query) && new URLSearchParams(url.slice(query + 1)).has('access_token')) return true;
  return isPlainObject(req.body) && Object.prototype.hasOwnProperty.call(req.body, 'access_token');
}
