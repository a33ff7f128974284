// lib/tokens/signing-keys.ts
// Parses and checks the configured signing keys once, at router creation.
import { createPrivateKey, createPublicKey, KeyObject } from 'node:crypto';

/** JWS algorithms the library signs with. All asymmetric: `none` and HMAC are never allowed. */
export type SigningAlgorithm = 'RS256' | 'RS384' | 'RS512' | 'PS256' | 'PS384' | 'PS512' | 'ES256' | 'ES384' | 'ES512';

export const SIGNING_ALGORITHMS: readonly SigningAlgorithm[] = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512'];

/** A signing key as the host configures it. */
export interface SigningKeyInput {
  /** Key id, sent as the JWT `kid` header and published in the JWKS. Must be unique. */
  readonly kid: string;
  /** Defaults to `RS256`. */
  readonly alg?: SigningAlgorithm;
  /** PEM (PKCS#8 or PKCS#1/SEC1), a DER Buffer, or a private `KeyObject`. */
  readonly privateKey: string | Buffer | KeyObject;
}

/** A public key in JWK form, as published in a JWKS. */
export interface PublicJwk {
  readonly kty: string;
  readonly kid: string;
  readonly alg: SigningAlgorithm;
  readonly use: 'sig';
  readonly [member: string]: unknown;
}

/** A parsed, checked signing key. */
export interface SigningKey {
  readonly kid: string;
  readonly alg: SigningAlgorithm;
  /** Parsed once: signing with a KeyObject avoids re-parsing PEM on every token. */
  readonly privateKey: KeyObject;
  readonly publicJwk: PublicJwk;
}

const CURVE_BY_ALG: Partial<Record<SigningAlgorithm, string>> = { ES256: 'prime256v1', ES384: 'secp384r1', ES512: 'secp521r1' };

/**
 * Parses every key and collects problems (named by option path) instead of throwing on the first.
 */
export function parseSigningKeys(input: unknown, path: string, problems: string[]): SigningKey[] {
  if (!Array.isArray(input) || input.length === 0) {
    problems.push(`${path} must be a non-empty array of { kid, alg, privateKey }; the first key signs tokens.`);
    return [];
  }
  const keys: SigningKey[] = [];
  const seen = new Set<string>();
  input.forEach((entry: Partial<SigningKeyInput> | undefined, index) => {
    const at = `${path}[${index}]`;
    if (typeof entry !== 'object' || entry === null) {
      problems.push(`${at} must be an object { kid, alg, privateKey }.`);
      return;
    }
    const alg = entry.alg ?? 'RS256';
    if (typeof entry.kid !== 'string' || entry.kid.length === 0) problems.push(`${at}.kid must be a non-empty string.`);
    else if (seen.has(entry.kid)) problems.push(`${at}.kid "${entry.kid}" is used twice; key ids must be unique.`);
    else seen.add(entry.kid);
    if (!SIGNING_ALGORITHMS.includes(alg)) {
      problems.push(`${at}.alg must be one of ${SIGNING_ALGORITHMS.join(', ')} (got "${String(alg)}").`);
      return;
    }
    const key = toPrivateKey(entry.privateKey, at, problems);
    if (!key || typeof entry.kid !== 'string') return;
    if (!keyFitsAlgorithm(key, alg, at, problems)) return;
    const jwk = createPublicKey(key).export({ format: 'jwk' });
    keys.push(Object.freeze({ kid: entry.kid, alg, privateKey: key, publicJwk: Object.freeze({ ...jwk, kid: entry.kid, alg, use: 'sig' as const, kty: String(jwk.kty) }) }));
  });
  return keys;
}

function toPrivateKey(value: unknown, at: string, problems: string[]): KeyObject | undefined {
  if (value instanceof KeyObject) {
    if (value.type !== 'private') {
      problems.push(`${at}.privateKey is a ${value.type} KeyObject; pass the private key.`);
      return undefined;
    }
    return value;
  }
  if (typeof value !== 'string' && !Buffer.isBuffer(value)) {
    problems.push(`${at}.privateKey must be a PEM string, a DER Buffer or a private KeyObject.`);
    return undefined;
  }
  try {
    return typeof value === 'string' || value.subarray(0, 10).toString('latin1').startsWith('-----')
      ? createPrivateKey(value)
      : createPrivateKey({ key: value, format: 'der', type: 'pkcs8' });
  } catch {
    problems.push(`${at}.privateKey could not be parsed as a private key (expected PEM "-----BEGIN PRIVATE KEY-----" or PKCS#8 DER).`);
    return undefined;
  }
}

function keyFitsAlgorithm(key: KeyObject, alg: SigningAlgorithm, at: string, problems: string[]): boolean {
  const type = key.asymmetricKeyType;
  if (alg.startsWith('RS') || alg.startsWith('PS')) {
    if (type !== 'rsa' && !(alg.startsWith('PS') && type === 'rsa-pss')) {
      problems.push(`${at}: alg ${alg} needs an RSA key, got ${type ?? 'unknown'}.`);
      return false;
    }
    const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
    if (bits < 2048) {
      problems.push(`${at}: RSA keys must be at least 2048 bits (got ${bits}).`);
      return false;
    }
    return true;
  }
  const curve = key.asymmetricKeyDetails?.namedCurve;
  if (type !== 'ec' || curve !== CURVE_BY_ALG[alg]) {
    problems.push(`${at}: alg ${alg} needs an EC key on curve ${CURVE_BY_ALG[alg]}, got ${type ?? 'unknown'}${curve ? ` (${curve})` : ''}.`);
    return false;
  }
  return true;
}
