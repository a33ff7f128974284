// lib/dpop/proof.ts
// DPoP proofs at the token endpoint (RFC 9449 §4): the `DPoP` header's JWT is checked — typ,
// an asymmetric alg with the public `jwk` it carries, htm/htu of this request, iat window, a
// single-use jti — and yields the key's thumbprint (RFC 7638) that tokens are then bound to.
import { createHash, createPublicKey, type JsonWebKey, type KeyObject } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { OAuthError } from '../contracts/errors';
import { sha256Base64Url } from '../internal/digest';
import type { NonceService } from './nonce';

/** Asymmetric JWS algorithms accepted for proofs (RFC 9449 §4.2: never none or a MAC). */
export const DPOP_ALGORITHMS: readonly jwt.Algorithm[] = ['ES256', 'ES384', 'ES512', 'RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512'];
/** How old a proof's iat may be, and how far ahead (clock skew), in seconds (RFC 9449 §11.1). */
export const DPOP_MAX_AGE_SECONDS = 60;
export const DPOP_MAX_FUTURE_SECONDS = 5;
/** How long past its acceptance a proof's jti is kept (clock differences between instances). */
const DPOP_RETENTION_MARGIN_SECONDS = 60;
/** Longest proof accepted before parsing. */
export const MAX_DPOP_PROOF_LENGTH = 8192;
const MAX_JTI_LENGTH = 256;
const PRIVATE_JWK_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];

/** What a proof is checked against. */
export interface ProofCheck {
  /** The request method, e.g. POST. */
  readonly method: string;
  /** The request URL — scheme and host as Express sees them through `trust proxy` (`req.protocol`, `req.host`) — path without query. */
  readonly url: string;
  readonly nowMs: number;
  /** Records a proof's jti as used; false when it was used before (storage, atomic). */
  readonly recordOneTimeUse: ((key: string, expiresAt: number) => Promise<boolean>) | undefined;
  /** At a resource server: the access token presented with the proof, whose hash `ath` must carry (§4.2). */
  readonly accessToken?: string;
  /** Server-provided nonces (§8): the proof's `nonce` must be one of them. */
  readonly nonces?: NonceService;
  /** At a resource: the key the access token is bound to (`cnf.jkt`); another key is refused before anything is recorded. */
  readonly expectedJkt?: string;
}

/** A verified proof. */
export interface VerifiedProof {
  /** base64url SHA-256 JWK thumbprint of the proof's key (RFC 7638): `cnf.jkt` of bound tokens. */
  readonly jkt: string;
}

/** Invalid proofs are 400 `invalid_dpop_proof` (RFC 9449 §5), with a fixed description. */
function invalid(): OAuthError {
  return new OAuthError('invalid_dpop_proof', 'The DPoP proof is invalid.');
}

/**
 * Verifies the request's DPoP header, if any: undefined when the request has none. Several DPoP
 * headers, or a malformed, expired, replayed or mismatched proof, throw `invalid_dpop_proof`.
 */
export async function verifyDpopProof(header: string | string[] | undefined, check: ProofCheck): Promise<VerifiedProof | undefined> {
  if (header === undefined) return undefined;
  // RFC 9449 §4.3: exactly one DPoP header.
  if (Array.isArray(header) || header.includes(',')) throw invalid();
  if (header.length === 0 || header.length > MAX_DPOP_PROOF_LENGTH) throw invalid();
  let decoded: jwt.Jwt | null;
  try {
    decoded = jwt.decode(header, { complete: true });
  } catch {
    throw invalid();
  }
  if (!decoded || typeof decoded.payload !== 'object') throw invalid();
  const head = decoded.header as jwt.JwtHeader & { jwk?: unknown };
  if (head.typ !== 'dpop+jwt' || !DPOP_ALGORITHMS.includes(head.alg as jwt.Algorithm)) throw invalid();
  // RFC 7515 §4.1.11: no critical extension is understood here.
  if ('crit' in head) throw invalid();
  const jwk = head.jwk;
  if (typeof jwk !== 'object' || jwk === null || Array.isArray(jwk) || PRIVATE_JWK_MEMBERS.some((member) => member in jwk)) throw invalid();
  // A huge RSA modulus or exponent makes one verification cost many normal ones: only the usual
  // exponent (65537) and at most 4096-bit moduli (684 base64url characters).
  const rsa = jwk as { kty?: unknown; e?: unknown; n?: unknown };
  if (rsa.kty === 'RSA' && (rsa.e !== 'AQAB' || typeof rsa.n !== 'string' || rsa.n.length > 684)) throw invalid();
  // The cheap checks first, on the decoded (not yet verified) claims: the signature is checked after.
  const unverified = decoded.payload as jwt.JwtPayload;
  const now = Math.floor(check.nowMs / 1000);
  if (typeof unverified.jti !== 'string' || unverified.jti.length === 0 || unverified.jti.length > MAX_JTI_LENGTH) throw invalid();
  if (typeof unverified.iat !== 'number' || unverified.iat < now - DPOP_MAX_AGE_SECONDS || unverified.iat > now + DPOP_MAX_FUTURE_SECONDS) throw invalid();
  if (unverified.htm !== check.method) throw invalid();
  // Both sides must be URLs: a request URL that does not parse (a junk Host) must not lift the binding.
  const expectedHtu = normalizeHtu(check.url);
  if (typeof unverified.htu !== 'string' || expectedHtu === undefined || normalizeHtu(unverified.htu) !== expectedHtu) throw invalid();
  // RFC 9449 §4.2/§7: at a resource, the proof names the access token it accompanies.
  if (check.accessToken !== undefined && unverified.ath !== createHash('sha256').update(check.accessToken, 'ascii').digest('base64url')) throw invalid();
  const jkt = thumbprint(jwk as Record<string, unknown>);
  if (jkt === undefined) throw invalid();
  // At a resource: the proof's key must be the token's, checked before anything is recorded.
  if (check.expectedJkt !== undefined && jkt !== check.expectedJkt) throw invalid();
  let key = importedKeys.get(jkt);
  if (key === undefined) {
    try {
      key = createPublicKey({ key: jwk as JsonWebKey, format: 'jwk' });
    } catch {
      throw invalid();
    }
    rememberKey(jkt, key);
  }
  let claims: jwt.JwtPayload;
  try {
    const verified = jwt.verify(header, key, { algorithms: [head.alg as jwt.Algorithm], clockTimestamp: now });
    if (typeof verified !== 'object' || verified === null) throw invalid();
    claims = verified;
  } catch {
    throw invalid();
  }
  // §8: checked after the signature, so only a genuine proof learns the nonce is stale.
  if (check.nonces && !check.nonces.accepts(claims.nonce, check.nowMs)) {
    const nonce = check.nonces.current(check.nowMs);
    throw new OAuthError('use_dpop_nonce', 'Use the server-provided DPoP nonce in the proof.', { headers: { 'DPoP-Nonce': nonce } });
  }
  // Without a one-time-use store a proof cannot be made single-use: refused, never a 500 (startup warned).
  if (!check.recordOneTimeUse) throw invalid();
  // §11.1: a proof is used once. Kept a minute past the last moment any instance accepts it, so an
  // instance whose clock runs ahead of another cannot drop the entry while the proof still passes there.
  const fresh = await check.recordOneTimeUse(sha256Base64Url(`dpop\u0000${jkt}\u0000${claims.jti as string}`), (unverified.iat + DPOP_MAX_AGE_SECONDS + DPOP_RETENTION_MARGIN_SECONDS) * 1000);
  if (fresh !== true) throw invalid();
  return { jkt };
}

// A client reuses one key for all its proofs: importing the JWK per proof cost ~70 µs (bench
// dpop_refresh, ~9 % of CPU). Keyed by the RFC 7638 thumbprint, which fixes the key material;
// bounded, oldest dropped first.
const MAX_IMPORTED_KEYS = 10_000;
const importedKeys = new Map<string, KeyObject>();

function rememberKey(jkt: string, key: KeyObject): void {
  if (importedKeys.size >= MAX_IMPORTED_KEYS) importedKeys.delete(importedKeys.keys().next().value as string);
  importedKeys.set(jkt, key);
}

/**
 * RFC 9449 §4.3: htu is compared without query and fragment, after syntax-based normalisation
 * (RFC 3986 §6.2.2: scheme and host lower case, default port dropped) — `new URL` does exactly that.
 */
export function normalizeHtu(value: string): string | undefined {
  try {
    const url = new URL(value);
    if (url.protocol !== 'https:' && url.protocol !== 'http:') return undefined;
    return `${url.protocol}//${url.host}${url.pathname}`;
  } catch {
    return undefined;
  }
}

/** RFC 7638 JWK thumbprint (SHA-256, base64url) of an RSA or EC public key; undefined for others. */
export function thumbprint(jwk: Record<string, unknown>): string | undefined {
  const members = jwk.kty === 'RSA' ? ['e', 'kty', 'n'] : jwk.kty === 'EC' ? ['crv', 'kty', 'x', 'y'] : undefined;
  if (!members || !members.every((name) => typeof jwk[name] === 'string')) return undefined;
  // Required members only, in lexicographic order, no whitespace (RFC 7638 §3.2).
  const canonical = `{${members.map((name) => `${JSON.stringify(name)}:${JSON.stringify(jwk[name])}`).join(',')}}`;
  return createHash('sha256').update(canonical, 'utf8').digest('base64url');
}
