// lib/resource-server/jwks.ts
// The standalone `requireAccessToken(options)`, for an API in another app: verifies RFC 9068
// access tokens of one issuer with jsonwebtoken against keys of a JWKS object the host provides
// (parsed once, here) or of the host's own key lookup. Never fetches anything itself.
import { decodeJwsHeader } from '../tokens/jws-header';
import { createPublicKey, KeyObject, type JsonWebKey } from 'node:crypto';
import type { RequestHandler } from 'express';
import jwt from 'jsonwebtoken';
import { ConfigurationError } from '../contracts/errors';
import type { AccessTokenClaims, SigningAlgorithm } from '../contracts/tokens';
import { checkFunction, isPlainObject } from '../options/checks';
import { SIGNING_ALGORITHMS } from '../tokens/signing-keys';
import { isPublishedTestKey, publishedTestKeyProblem, publishedTestKeyRefused } from '../tokens/published-test-key';
import { checkRequirement, createAccessTokenMiddleware, REQUIREMENT_KEYS, type AccessTokenVerifier } from './middleware';
import type { JwksAccessTokenOptions } from './types';

const STANDALONE_KEYS: { readonly [K in Exclude<keyof Required<JwksAccessTokenOptions>, 'audience' | 'scope' | 'clockToleranceSeconds' | 'realm'>]: true } = {
  issuer: true, jwks: true, algorithms: true, isRevoked: true, clock: true,
};
const KNOWN_KEYS: readonly string[] = [...REQUIREMENT_KEYS, ...Object.keys(STANDALONE_KEYS)];

const CURVE_BY_ALG: Partial<Record<SigningAlgorithm, string>> = { ES256: 'prime256v1', ES384: 'secp384r1', ES512: 'secp521r1' };

/** A key of the JWKS, parsed once. */
interface JwksKey {
  readonly kid: string | undefined;
  readonly key: KeyObject;
  /** The algorithms this key may verify: its JWK `alg`, else every accepted one its type fits. */
  readonly algorithms: readonly SigningAlgorithm[];
}

/** Finds the key for a token's `kid` and `alg`; rejects only when the host's lookup fails. */
type KeyFinder = (kid: string | undefined, alg: SigningAlgorithm) => Promise<readonly KeyObject[]>;

/**
 * Middleware for an API in another app: lets a request through only with a valid access token of
 * `issuer` (RFC 9068), verified with jsonwebtoken against `jwks` — `typ` at+jwt, an accepted
 * asymmetric `alg` and the key's own, the signature, `iss`, `aud` (one of `audience`), `exp`
 * (required), `nbf` and `iat` within `clockToleranceSeconds`, the claims RFC 9068 requires, and
 * `isRevoked` when given — then the required `scope`. Errors as RFC 6750 says (see
 * `TokenRouter.requireAccessToken`); the verified token is read with `accessTokenOf(req)`.
 * Throws a `ConfigurationError` for bad options (unknown keys, a private or HMAC key in the JWKS,
 * no usable key, a skew over 30 s).
 *
 * @example
 * const jwks = JSON.parse(readFileSync('issuer-jwks.json', 'utf8')); // or your own cached fetch, as getKey
 * app.get('/orders', requireAccessToken({ issuer: 'https://id.example.com', jwks, audience: 'https://orders.example.com', scope: 'orders:read' }), listOrders);
 */
export function requireAccessToken(options: JwksAccessTokenOptions): RequestHandler {
  const path = 'requireAccessToken(options)';
  const problems: string[] = [];
  const requirement = checkRequirement(options, path, KNOWN_KEYS, problems);
  if (!isPlainObject(options)) throw new ConfigurationError('ERR_TOKEN_ROUTER_OPTIONS', problems);
  const given = options as Partial<Record<keyof JwksAccessTokenOptions, unknown>>;
  if (typeof given.issuer !== 'string' || given.issuer === '') problems.push(`${path}.issuer must be the issuer identifier (exactly the tokens' iss).`);
  const algorithms = given.algorithms ?? SIGNING_ALGORITHMS;
  if (!Array.isArray(algorithms) || algorithms.length === 0 || !algorithms.every((alg) => SIGNING_ALGORITHMS.includes(alg))) {
    problems.push(`${path}.algorithms must list asymmetric JWS algorithms (${SIGNING_ALGORITHMS.join(', ')}); never none or HMAC.`);
  }
  checkFunction(given.isRevoked, `${path}.isRevoked`, 'a function (claims) => boolean | Promise<boolean>', problems);
  checkFunction(given.clock, `${path}.clock`, 'a function () => milliseconds since the epoch', problems);
  const findKeys = keyFinder(given.jwks, Array.isArray(algorithms) ? algorithms : [], `${path}.jwks`, problems);
  if (requirement === undefined || findKeys === undefined || problems.length > 0) throw new ConfigurationError('ERR_TOKEN_ROUTER_OPTIONS', problems);
  const clock = (given.clock as (() => number) | undefined) ?? Date.now;
  const verify = createJwksVerifier({
    issuer: given.issuer as string,
    algorithms: algorithms as readonly SigningAlgorithm[],
    findKeys,
    isRevoked: given.isRevoked as JwksAccessTokenOptions['isRevoked'],
    clock,
    toleranceSeconds: requirement.toleranceSeconds,
  });
  return createAccessTokenMiddleware(requirement, verify, clock);
}

interface VerifierSettings {
  readonly issuer: string;
  readonly algorithms: readonly SigningAlgorithm[];
  readonly findKeys: KeyFinder;
  readonly isRevoked: JwksAccessTokenOptions['isRevoked'];
  readonly clock: () => number;
  readonly toleranceSeconds: number;
}

function createJwksVerifier(settings: VerifierSettings): AccessTokenVerifier {
  return async (token) => {
    const header = decodeJwsHeader(token);
    // RFC 9068 §4: typ at+jwt. RFC 7515 §4.1.11: no extension we would have to understand.
    if (!header || typeof header.typ !== 'string' || !['at+jwt', 'application/at+jwt'].includes(header.typ.toLowerCase()) || (header as { crit?: unknown }).crit !== undefined) return undefined;
    const alg = settings.algorithms.find((candidate) => candidate === header.alg);
    if (alg === undefined || (header.kid !== undefined && (typeof header.kid !== 'string' || header.kid.length > 256))) return undefined;
    for (const key of await settings.findKeys(header.kid, alg)) {
      let payload: string | jwt.JwtPayload;
      try {
        payload = jwt.verify(token, key, {
          algorithms: [alg],
          issuer: settings.issuer,
          clockTimestamp: Math.floor(settings.clock() / 1000),
          clockTolerance: settings.toleranceSeconds,
        });
      } catch {
        continue;
      }
      if (!isAccessTokenClaims(payload)) return undefined;
      if (settings.isRevoked && (await settings.isRevoked(payload)) !== false) return undefined;
      return payload;
    }
    return undefined;
  };
}

/** RFC 9068 §2.2: iss, exp, aud, sub, client_id, iat, jti are required. */
function isAccessTokenClaims(payload: unknown): payload is AccessTokenClaims {
  if (!isPlainObject(payload)) return false;
  const { iss, sub, aud, client_id: clientId, jti, exp, iat } = payload;
  return typeof iss === 'string' && typeof sub === 'string' && typeof clientId === 'string' && typeof jti === 'string' && typeof exp === 'number' && typeof iat === 'number' &&
    (typeof aud === 'string' || (Array.isArray(aud) && aud.every((a) => typeof a === 'string')));
}

/** The key lookup for the `jwks` option, or undefined (problems pushed). */
function keyFinder(source: unknown, algorithms: readonly SigningAlgorithm[], path: string, problems: string[]): KeyFinder | undefined {
  const shape = '{ keys: [...] } (a JWKS) or { getKey(kid) }';
  if (!isPlainObject(source) || (source.keys === undefined) === (source.getKey === undefined)) {
    problems.push(`${path} must be ${shape}.`);
    return undefined;
  }
  if (source.getKey !== undefined) {
    if (typeof source.getKey !== 'function') {
      problems.push(`${path}.getKey must be a function (kid) => KeyObject | undefined (or a promise of one).`);
      return undefined;
    }
    const getKey = source.getKey as (kid: string | undefined) => unknown;
    return async (kid, alg) => {
      const key = await getKey(kid);
      return key instanceof KeyObject && key.type === 'public' && fits(key, alg) ? [key] : [];
    };
  }
  const keys = parseJwks(source.keys, algorithms, `${path}.keys`, problems);
  if (keys === undefined) return undefined;
  return async (kid, alg) => keys.filter((key) => key.kid === kid && key.algorithms.includes(alg)).map((key) => key.key);
}

/** The usable keys of a JWKS; keys for encryption or for algorithms we do not verify are skipped. */
function parseJwks(value: unknown, algorithms: readonly SigningAlgorithm[], path: string, problems: string[]): JwksKey[] | undefined {
  if (!Array.isArray(value)) {
    problems.push(`${path} must be the array of a JWKS ({ keys: [...] }).`);
    return undefined;
  }
  const before = problems.length;
  const keys: JwksKey[] = [];
  value.forEach((entry: unknown, index) => {
    const at = `${path}[${index}]`;
    if (!isPlainObject(entry)) {
      problems.push(`${at} must be a JWK (an object).`);
      return;
    }
    const jwk = entry as JsonWebKey & { kid?: unknown; use?: unknown; alg?: unknown };
    if (jwk.kty === 'oct') {
      problems.push(`${at} is a symmetric (kty oct) key: HMAC tokens are never accepted; pass the issuer's public keys.`);
      return;
    }
    if (jwk.d !== undefined) {
      problems.push(`${at} has private members (d): pass the issuer's public JWKS, never its private keys.`);
      return;
    }
    if (jwk.kid !== undefined && (typeof jwk.kid !== 'string' || jwk.kid === '')) {
      problems.push(`${at}.kid must be a non-empty string.`);
      return;
    }
    // Keys for encryption, or for algorithms the library does not verify (EdDSA, RSA-OAEP…): not for us.
    if ((jwk.use !== undefined && jwk.use !== 'sig') || (jwk.alg !== undefined && !algorithms.includes(jwk.alg as SigningAlgorithm))) return;
    let key: KeyObject;
    try {
      key = createPublicKey({ key: jwk, format: 'jwk' });
    } catch {
      problems.push(`${at} could not be parsed as a public JWK.`);
      return;
    }
    if (publishedTestKeyRefused() && isPublishedTestKey(jwk)) {
      problems.push(publishedTestKeyProblem(at));
      return;
    }
    if (key.asymmetricKeyType === 'rsa' && (key.asymmetricKeyDetails?.modulusLength ?? 0) < 2048) {
      problems.push(`${at}: RSA keys must be at least 2048 bits.`);
      return;
    }
    const usable = (jwk.alg !== undefined ? [jwk.alg as SigningAlgorithm] : algorithms).filter((alg) => fits(key, alg));
    if (usable.length === 0) return;
    if (jwk.kid !== undefined && keys.some((k) => k.kid === jwk.kid)) {
      problems.push(`${at}.kid ${JSON.stringify(jwk.kid)} is used twice: a token's kid must name one key.`);
      return;
    }
    keys.push(Object.freeze({ kid: jwk.kid as string | undefined, key, algorithms: Object.freeze(usable) }));
  });
  if (problems.length > before) return undefined;
  if (keys.length === 0) {
    problems.push(`${path} has no key that can verify tokens: it needs an RSA (2048 bits or more) or EC (P-256, P-384, P-521) signing key for one of the accepted algorithms.`);
    return undefined;
  }
  return keys;
}

/** `alg` can be verified with `key` (RFC 7518 §3: RSA for RS/PS, the matching curve for ES). */
function fits(key: KeyObject, alg: SigningAlgorithm): boolean {
  const type = key.asymmetricKeyType;
  if (alg.startsWith('RS')) return type === 'rsa';
  if (alg.startsWith('PS')) return type === 'rsa' || type === 'rsa-pss';
  return type === 'ec' && key.asymmetricKeyDetails?.namedCurve === CURVE_BY_ALG[alg];
}
