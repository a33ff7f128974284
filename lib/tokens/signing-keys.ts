// lib/tokens/signing-keys.ts
// Parses and checks signing keys once (at router creation and on setSigningKeys), with their
// rotation status: exactly one active key signs; next and retiring keys are only published.
import { createPrivateKey, createPublicKey, KeyObject } from 'node:crypto';
import { checkKeys } from '../options/checks';
import { isPublishedTestKey, publishedTestKeyProblem, publishedTestKeyRefused } from './published-test-key';
import type { PublicJwk, SigningAlgorithm, SigningKeyInput, SigningKeyStatus } from '../contracts/tokens';

export const SIGNING_ALGORITHMS: readonly SigningAlgorithm[] = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512'];

export const SIGNING_KEY_STATUSES: readonly SigningKeyStatus[] = ['next', 'active', 'retiring'];

/** A parsed, checked signing key. */
export interface SigningKey {
  readonly kid: string;
  readonly alg: SigningAlgorithm;
  /** The configured status, or the default one (first key active, the others retiring). */
  readonly status: SigningKeyStatus;
  /** Parsed once: signing with a KeyObject avoids re-parsing PEM on every token. */
  readonly privateKey: KeyObject;
  readonly publicJwk: PublicJwk;
}

const CURVE_BY_ALG: Partial<Record<SigningAlgorithm, string>> = { ES256: 'prime256v1', ES384: 'secp384r1', ES512: 'secp521r1' };

/**
 * Parses every key and collects problems (named by `path`) instead of throwing on the first.
 * Without problems, the result holds exactly one `active` key and is in publishing order: the
 * active key first, then `next` keys, then `retiring` keys, each group in configured order.
 */
// The fields of SigningKeyInput, typed so a new field cannot be forgotten here.
const SIGNING_KEY_FIELD_SET: { readonly [K in keyof Required<SigningKeyInput>]: true } = { kid: true, alg: true, privateKey: true, status: true };
const SIGNING_KEY_FIELDS = Object.keys(SIGNING_KEY_FIELD_SET);

export function parseSigningKeys(input: unknown, path: string, problems: string[]): SigningKey[] {
  if (!Array.isArray(input) || input.length === 0) {
    problems.push(`${path} must be a non-empty array of { kid, alg, privateKey, status }; exactly one key is active (signs tokens).`);
    return [];
  }
  const entries = input as ReadonlyArray<Partial<SigningKeyInput> | undefined>;
  const statuses = resolveStatuses(entries, path, problems);
  const keys: SigningKey[] = [];
  const seen = new Set<string>();
  entries.forEach((entry, index) => {
    const at = `${path}[${index}]`;
    if (typeof entry !== 'object' || entry === null) {
      problems.push(`${at} must be an object { kid, alg, privateKey, status }.`);
      return;
    }
    checkKeys(entry as Record<string, unknown>, at, SIGNING_KEY_FIELDS, problems);
    const alg = entry.alg ?? 'RS256';
    if (typeof entry.kid !== 'string' || entry.kid.length === 0) problems.push(`${at}.kid must be a non-empty string.`);
    else if (seen.has(entry.kid)) problems.push(`${at}.kid "${entry.kid}" is used twice; key ids must be unique (give the new key a new kid).`);
    else seen.add(entry.kid);
    if (!SIGNING_ALGORITHMS.includes(alg)) {
      problems.push(`${at}.alg must be one of ${SIGNING_ALGORITHMS.join(', ')} (got "${String(alg)}").`);
      return;
    }
    const key = toPrivateKey(entry.privateKey, at, problems);
    const status = statuses[index];
    if (!key || typeof entry.kid !== 'string' || status === undefined) return;
    if (!keyFitsAlgorithm(key, alg, at, problems)) return;
    const jwk = createPublicKey(key).export({ format: 'jwk' });
    if (publishedTestKeyRefused() && isPublishedTestKey(jwk)) {
      problems.push(publishedTestKeyProblem(`${at}.privateKey`));
      return;
    }
    keys.push(Object.freeze({ kid: entry.kid, alg, status, privateKey: key, publicJwk: Object.freeze({ ...jwk, kid: entry.kid, alg, use: 'sig' as const, kty: String(jwk.kty) }) }));
  });
  const rank: Record<SigningKeyStatus, number> = { active: 0, next: 1, retiring: 2 };
  // Array.prototype.sort is stable: configured order is kept within each status.
  return keys.sort((a, b) => rank[a.status] - rank[b.status]);
}

/**
 * The status of each entry (undefined where invalid). Statuses are all-or-nothing: a set with
 * none is today's rule (first key active, the rest retiring); a set with some needs them on
 * every key, exactly one of them `active`.
 */
function resolveStatuses(entries: ReadonlyArray<Partial<SigningKeyInput> | undefined>, path: string, problems: string[]): Array<SigningKeyStatus | undefined> {
  const given = entries.map((entry) => (typeof entry === 'object' && entry !== null ? (entry.status as unknown) : undefined));
  if (given.every((status) => status === undefined)) return entries.map((_entry, index) => (index === 0 ? 'active' : 'retiring'));
  const statuses = given.map((status, index): SigningKeyStatus | undefined => {
    const at = `${path}[${index}].status`;
    if (typeof entries[index] !== 'object' || entries[index] === null) return undefined; // reported by the caller
    if (status === undefined) {
      problems.push(`${at} is missing: once any key has a status, every key needs one ('next', 'active' or 'retiring').`);
      return undefined;
    }
    if (!SIGNING_KEY_STATUSES.includes(status as SigningKeyStatus)) {
      problems.push(`${at} must be 'next', 'active' or 'retiring' (got ${JSON.stringify(status)}).`);
      return undefined;
    }
    return status as SigningKeyStatus;
  });
  const active = statuses.flatMap((status, index) => (status === 'active' ? [`${path}[${index}]`] : []));
  if (active.length > 1) {
    problems.push(`${path} has ${active.length} active keys (${active.join(', ')}); exactly one key signs: keep one 'active' and mark the others 'next' (not signing yet) or 'retiring' (signed before).`);
  } else if (active.length === 0 && statuses.every((status) => status !== undefined)) {
    problems.push(`${path} has no active key; mark exactly one key status: 'active' (the one that signs tokens), the others 'next' or 'retiring'.`);
  }
  return statuses;
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
