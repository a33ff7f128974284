// lib/endpoint/client-auth/client-assertion.ts
// JWT client authentication (RFC 7523 §2.2 / §3, OIDC Core §9): private_key_jwt and
// client_secret_jwt assertions, verified with jsonwebtoken; each `jti` is single-use.
import { createPublicKey, createSecretKey, type KeyObject } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { CLIENT_SECRET_JWT_ALGS, PRIVATE_KEY_JWT_ALGS } from '../../clients/client-record';
import type { RegisteredClient } from '../../contracts/clients';
import type { ClientAuthenticationMethod, ClientAuthenticationRequest } from '../../contracts/client-auth';
import type { RemoteJwks } from './remote-jwks';

/** RFC 7523 §2.2: the only assertion type. */
export const JWT_BEARER_ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

/** Longest assertion accepted before any parsing. */
export const MAX_CLIENT_ASSERTION_LENGTH = 8192;
/** An assertion may not live longer than this (exp − now), in seconds: they are minted per request. */
export const MAX_ASSERTION_LIFETIME_SECONDS = 300;
/** Clock skew allowed on exp, nbf and iat, in seconds. */
export const ASSERTION_CLOCK_SKEW_SECONDS = 30;
const MAX_JTI_LENGTH = 256;

/** What verification needs besides the client. */
export interface AssertionSettings {
  /** Accepted `aud` values: the issuer identifier and the token endpoint URL. */
  readonly audiences: readonly [string, ...string[]];
  /** Records a jti as used until it expires; false when it was used before (storage, atomic). */
  readonly recordOneTimeUse: ((key: string, expiresAt: number) => Promise<boolean>) | undefined;
  /** The keys of clients registered with a `jwks_uri`: fetched, cached, refetched on an unknown kid. */
  readonly remoteJwks: RemoteJwks;
}

/** Why an assertion was refused (for the event only). */
export type AssertionFailure = 'invalid_client_assertion' | 'client_assertion_replayed';

/**
 * private_key_jwt and client_secret_jwt as methods of the client-authentication seam: the same
 * contract a host's own method implements.
 */
export function jwtClientAuthenticationMethods(settings: AssertionSettings): ClientAuthenticationMethod[] {
  const method = (name: 'private_key_jwt' | 'client_secret_jwt', signingAlgorithms: readonly string[]): ClientAuthenticationMethod => ({
    name,
    credential: { assertionType: JWT_BEARER_ASSERTION_TYPE },
    signingAlgorithms,
    assertionSubject,
    async authenticate(client, request) {
      const failure = await verifyClientAssertion(client, request.assertion ?? '', settings, request);
      return failure === undefined ? { authenticated: true } : { authenticated: false, reason: failure };
    },
  });
  return [method('private_key_jwt', PRIVATE_KEY_JWT_ALGS), method('client_secret_jwt', CLIENT_SECRET_JWT_ALGS)];
}

/** The unverified `sub` of an assertion, to look the client up when no client_id was sent. */
export function assertionSubject(assertion: string): string | undefined {
  try {
    const payload = jwt.decode(assertion, { json: true });
    return typeof payload?.sub === 'string' ? payload.sub : undefined;
  } catch {
    return undefined;
  }
}

// Keys parsed once per (frozen, cached) client record.
const keysByClient = new WeakMap<RegisteredClient, ReadonlyArray<{ readonly kid: string | undefined; readonly key: KeyObject }>>();

function publicKeysOf(client: RegisteredClient): ReadonlyArray<{ readonly kid: string | undefined; readonly key: KeyObject }> {
  let keys = keysByClient.get(client);
  if (!keys) {
    keys = (client.jwks?.keys ?? []).map((jwk) => ({ kid: jwk.kid, key: createPublicKey({ key: jwk as import('node:crypto').JsonWebKey, format: 'jwk' }) }));
    keysByClient.set(client, keys);
  }
  return keys;
}

/**
 * Verifies a client assertion for `client` (already looked up by its id). Resolves undefined
 * when it is valid (and its jti is now used), else the failure. Throws only for server problems
 * (a storage without `recordOneTimeUse`, a broken key in the record).
 */
async function verifyClientAssertion(client: RegisteredClient, assertion: string, settings: AssertionSettings, request: ClientAuthenticationRequest): Promise<AssertionFailure | undefined> {
  const clientId = client.client_id;
  const nowMs = request.now;
  const method = client.token_endpoint_auth_method;
  if (method !== 'private_key_jwt' && method !== 'client_secret_jwt') return 'invalid_client_assertion';
  let header: jwt.JwtHeader;
  try {
    const decoded = jwt.decode(assertion, { complete: true });
    if (!decoded) return 'invalid_client_assertion';
    header = decoded.header;
  } catch {
    return 'invalid_client_assertion';
  }
  // The client's registered algorithm, or the method's defaults; never none, never HMAC with a public key.
  const allowed = client.token_endpoint_auth_signing_alg !== undefined
    ? [client.token_endpoint_auth_signing_alg]
    : method === 'client_secret_jwt' ? ['HS256'] : ['RS256', 'PS256', 'ES256'];
  const family = method === 'client_secret_jwt' ? CLIENT_SECRET_JWT_ALGS : PRIVATE_KEY_JWT_ALGS;
  if (typeof header.alg !== 'string' || !allowed.includes(header.alg) || !family.includes(header.alg)) return 'invalid_client_assertion';
  // RFC 7515 §4.1.11: we understand no critical extension, so a token naming one is invalid.
  if ('crit' in header) return 'invalid_client_assertion';
  let key: KeyObject | undefined;
  if (method === 'client_secret_jwt') {
    key = createSecretKey(Buffer.from(client.client_secret_jwt_key ?? '', 'utf8'));
  } else if (client.jwks_uri !== undefined) {
    // Unavailable keys (fetch failed, timed out, refused set) leave no key: the client cannot
    // authenticate, 401 like any unverifiable assertion (the cause goes to logger.warn).
    key = await settings.remoteJwks.keyFor(clientId, client.jwks_uri, header.kid);
  } else {
    const keys = publicKeysOf(client);
    key = header.kid !== undefined ? keys.find((k) => k.kid === header.kid)?.key : keys.length === 1 ? keys[0].key : undefined;
  }
  if (!key) return 'invalid_client_assertion';
  const now = Math.floor(nowMs / 1000);
  let payload: jwt.JwtPayload;
  try {
    const verified = jwt.verify(assertion, key, {
      algorithms: [header.alg as jwt.Algorithm],
      issuer: clientId,
      subject: clientId,
      audience: [...settings.audiences],
      clockTimestamp: now,
      clockTolerance: ASSERTION_CLOCK_SKEW_SECONDS,
    });
    if (typeof verified !== 'object' || verified === null) return 'invalid_client_assertion';
    payload = verified;
  } catch {
    return 'invalid_client_assertion';
  }
  // RFC 7523 §3: exp is required; we also cap it (assertions are minted per request), and refuse an
  // iat in the future; jti is required (OIDC Core §9) and single-use.
  if (typeof payload.exp !== 'number' || payload.exp - now > MAX_ASSERTION_LIFETIME_SECONDS + ASSERTION_CLOCK_SKEW_SECONDS) return 'invalid_client_assertion';
  if (payload.iat !== undefined && (typeof payload.iat !== 'number' || payload.iat > now + ASSERTION_CLOCK_SKEW_SECONDS)) return 'invalid_client_assertion';
  if (typeof payload.jti !== 'string' || payload.jti.length === 0 || payload.jti.length > MAX_JTI_LENGTH) return 'invalid_client_assertion';
  // Namespaced per client by the seam: one client's jti can never block another's.
  const used = await request.recordOneTimeUse(payload.jti, (payload.exp + ASSERTION_CLOCK_SKEW_SECONDS) * 1000);
  return used === true ? undefined : 'client_assertion_replayed';
}
