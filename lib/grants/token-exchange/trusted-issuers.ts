// lib/grants/token-exchange/trusted-issuers.ts
// JWTs from issuers the host trusts (RFC 8693 subject/actor tokens of type jwt): keys parsed once
// at startup, verification with jsonwebtoken, no network fetch inside a request unless the host
// supplies its own (cached) key lookup.
import { createPublicKey, type JsonWebKey, type KeyObject } from 'node:crypto';
import jwt from 'jsonwebtoken';
import type { SigningAlgorithm } from '../../contracts/tokens';
import { checkKeys } from '../../options/checks';

/** A public key of a trusted issuer. */
export interface TrustedKey {
  /** Matched against the JWT's `kid` header; a key without `kid` matches tokens without one. */
  readonly kid?: string;
  /** PEM (SPKI or certificate), a public `KeyObject`, or a public JWK. */
  readonly key: string | KeyObject | JsonWebKey;
}

/** An issuer whose JWTs a token exchange accepts as `subject_token` / `actor_token` (type `urn:ietf:params:oauth:token-type:jwt`). */
export interface TrustedIssuer {
  /** Exactly the `iss` of its tokens. */
  readonly issuer: string;
  /** Its public keys, parsed once at startup. */
  readonly keys?: readonly TrustedKey[];
  /**
   * Your own key lookup (e.g. a JWKS cache you refresh in the background), called inside the
   * request for a `kid` none of `keys` has: answer from memory; the library never fetches.
   */
  readonly getKey?: (kid: string | undefined) => KeyObject | undefined | Promise<KeyObject | undefined>;
  /** Accepted `alg` values. Defaults to RS256, PS256 and ES256 (never `none` nor HMAC). */
  readonly algorithms?: readonly SigningAlgorithm[];
  /** The `aud` its tokens must carry (one of). Defaults to this router's issuer identifier. */
  readonly audience?: string | readonly string[];
  /** Clock skew allowed on `exp`/`nbf`, in seconds (0–300). Defaults to 30. */
  readonly clockToleranceSeconds?: number;
}

const ASYMMETRIC: readonly SigningAlgorithm[] = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512'];
const ISSUER_KEYS: { readonly [K in keyof Required<TrustedIssuer>]: true } = { issuer: true, keys: true, getKey: true, algorithms: true, audience: true, clockToleranceSeconds: true };

/** A trusted issuer after the startup checks. */
export interface PreparedIssuer {
  readonly issuer: string;
  readonly keys: ReadonlyArray<{ readonly kid: string | undefined; readonly key: KeyObject }>;
  readonly getKey: TrustedIssuer['getKey'];
  readonly algorithms: readonly SigningAlgorithm[];
  readonly audience: readonly string[] | undefined;
  readonly clockTolerance: number;
}

/** Checks and parses the `trustedIssuers` option; problems are pushed. */
export function prepareTrustedIssuers(list: unknown, path: string, problems: string[]): PreparedIssuer[] {
  if (list === undefined) return [];
  if (!Array.isArray(list)) {
    problems.push(`${path} must be an array of { issuer, keys?, getKey?, algorithms?, audience? }.`);
    return [];
  }
  const prepared: PreparedIssuer[] = [];
  list.forEach((entry: unknown, index) => {
    const at = `${path}[${index}]`;
    if (typeof entry !== 'object' || entry === null) {
      problems.push(`${at} must be an object { issuer, keys?, getKey?, algorithms?, audience? }.`);
      return;
    }
    const given = entry as Record<string, unknown> & TrustedIssuer;
    checkKeys(given, at, Object.keys(ISSUER_KEYS), problems);
    if (typeof given.issuer !== 'string' || given.issuer === '') problems.push(`${at}.issuer must be the issuer identifier (the tokens' exact iss).`);
    if (given.keys === undefined && given.getKey === undefined) problems.push(`${at} needs keys or getKey (its public keys).`);
    if (given.getKey !== undefined && typeof given.getKey !== 'function') problems.push(`${at}.getKey must be a function (kid) => KeyObject | undefined.`);
    const keys: Array<{ kid: string | undefined; key: KeyObject }> = [];
    if (given.keys !== undefined) {
      if (!Array.isArray(given.keys)) problems.push(`${at}.keys must be an array of { kid?, key }.`);
      else given.keys.forEach((k: TrustedKey, i) => {
        try {
          if (typeof k !== 'object' || k === null || (k.kid !== undefined && typeof k.kid !== 'string')) throw new Error('not { kid?, key }');
          const key = publicKeyOf(k.key);
          if (key.type !== 'public') throw new Error('not a public key');
          keys.push({ kid: k.kid, key });
        } catch {
          problems.push(`${at}.keys[${i}] must be { kid?, key } with an RSA or EC public key (PEM, KeyObject or JWK).`);
        }
      });
    }
    const algorithms = given.algorithms ?? ['RS256', 'PS256', 'ES256'];
    if (!Array.isArray(algorithms) || algorithms.length === 0 || !algorithms.every((alg) => ASYMMETRIC.includes(alg))) {
      problems.push(`${at}.algorithms must list asymmetric JWS algorithms (${ASYMMETRIC.join(', ')}).`);
    }
    const audience = given.audience === undefined ? undefined : typeof given.audience === 'string' ? [given.audience] : given.audience;
    if (audience !== undefined && (!Array.isArray(audience) || audience.length === 0 || !audience.every((a) => typeof a === 'string' && a !== ''))) {
      problems.push(`${at}.audience must be a non-empty string or array of strings.`);
    }
    const tolerance = given.clockToleranceSeconds ?? 30;
    if (!Number.isInteger(tolerance) || tolerance < 0 || tolerance > 300) problems.push(`${at}.clockToleranceSeconds must be a whole number of seconds from 0 to 300.`);
    if (prepared.some((p) => p.issuer === given.issuer)) problems.push(`${at}.issuer ${JSON.stringify(given.issuer)} is listed twice.`);
    prepared.push({ issuer: given.issuer, keys, getKey: given.getKey, algorithms, audience, clockTolerance: tolerance });
  });
  return prepared;
}

// A public KeyObject as is; a private one, a PEM or a JWK through createPublicKey.
function publicKeyOf(input: TrustedKey['key']): KeyObject {
  if (typeof input === 'string') return createPublicKey(input);
  const candidate = input as Partial<KeyObject>;
  if (typeof candidate.export === 'function' && typeof candidate.type === 'string') return candidate.type === 'public' ? (input as KeyObject) : createPublicKey(input as KeyObject);
  return createPublicKey({ key: input as JsonWebKey, format: 'jwk' });
}

/** The verified claims of a JWT from a trusted issuer, or undefined (never says why). */
export async function verifyTrustedJwt(token: string, issuers: readonly PreparedIssuer[], ownIssuer: string, nowMs: number): Promise<Record<string, unknown> | undefined> {
  let decoded: jwt.Jwt | null;
  try {
    decoded = jwt.decode(token, { complete: true });
  } catch {
    return undefined;
  }
  if (!decoded || typeof decoded.payload !== 'object' || decoded.payload === null) return undefined;
  // RFC 7515 §4.1.11: no critical extension is understood here.
  if ('crit' in decoded.header) return undefined;
  const issuer = issuers.find((candidate) => candidate.issuer === (decoded.payload as jwt.JwtPayload).iss);
  if (!issuer) return undefined;
  const kid = decoded.header.kid;
  const key = issuer.keys.find((k) => k.kid === kid)?.key ?? (issuer.getKey ? await issuer.getKey(kid) : undefined);
  if (!key) return undefined;
  try {
    const payload = jwt.verify(token, key, {
      algorithms: [...issuer.algorithms],
      issuer: issuer.issuer,
      audience: [...(issuer.audience ?? [ownIssuer])] as [string, ...string[]],
      clockTimestamp: Math.floor(nowMs / 1000),
      clockTolerance: issuer.clockTolerance,
    });
    if (typeof payload !== 'object' || payload === null || typeof payload.sub !== 'string' || typeof payload.exp !== 'number') return undefined;
    return payload as Record<string, unknown>;
  } catch {
    return undefined;
  }
}
