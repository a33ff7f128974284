// lib/tokens/token-inspector.ts
// Verifies tokens this router issued when a client presents them as input (revocation,
// introspection, token exchange) or to a protected route (requireAccessToken): JWTs with jsonwebtoken against the router's own key set,
// refresh tokens by digest. Every failure is `undefined`: callers never learn why.
import { createPublicKey, type KeyObject } from 'node:crypto';
import jwt from 'jsonwebtoken';
import type { StorageAdapter } from '../contracts/storage';
import type { AccessTokenClaims, IdTokenClaims, InspectedRefreshToken, TokenInspector } from '../contracts/tokens';
import { decodeJwsHeader } from './jws-header';
import { hashOpaqueToken } from './opaque-token';
import type { SigningKey } from './signing-keys';

/** What the inspector needs, built once by the router. */
export interface TokenInspectorSettings {
  readonly issuer: string;
  /** The published key with this kid (the router's current set, read per call: rotation applies at once). */
  readonly findKey: (kid: string) => SigningKey | undefined;
  readonly storage: Partial<StorageAdapter> | undefined;
  readonly clock: () => number;
}

const publicKeys = new WeakMap<SigningKey, KeyObject>();

/** The most skew a caller may allow on exp/nbf of our own tokens. */
const MAX_CLOCK_TOLERANCE_SECONDS = 30;

function publicKeyOf(key: SigningKey): KeyObject {
  let publicKey = publicKeys.get(key);
  if (!publicKey) {
    publicKey = createPublicKey(key.privateKey);
    publicKeys.set(key, publicKey);
  }
  return publicKey;
}

/** Creates the inspector. */
export function createTokenInspector(settings: TokenInspectorSettings): TokenInspector {
  const { storage } = settings;

  /** The verified payload of one of our JWTs with header `typ` in `types`, or undefined. */
  function verify(token: string, types: readonly string[], clockTolerance = 0): Record<string, unknown> | undefined {
    // A JWS in compact form is three base64url parts; anything else is not ours (and not parsed).
    const header = decodeJwsHeader(token);
    if (!header || typeof header.kid !== 'string' || typeof header.typ !== 'string' || !types.includes(header.typ.toLowerCase())) return undefined;
    // We never put `crit` in our tokens (RFC 7515 §4.1.11): a token that has one is not ours.
    if ('crit' in header) return undefined;
    const key = settings.findKey(header.kid);
    // The key's own algorithm only: never `none`, never HMAC with a public key (RFC 8725 §3.1).
    if (!key || header.alg !== key.alg) return undefined;
    try {
      const payload = jwt.verify(token, publicKeyOf(key), {
        algorithms: [key.alg],
        issuer: settings.issuer,
        clockTimestamp: Math.floor(settings.clock() / 1000),
        clockTolerance,
      });
      return typeof payload === 'object' && payload !== null ? (payload as Record<string, unknown>) : undefined;
    } catch {
      return undefined;
    }
  }

  return {
    async accessToken(token, options) {
      const tolerance = options?.clockToleranceSeconds ?? 0;
      if (!Number.isInteger(tolerance) || tolerance < 0 || tolerance > MAX_CLOCK_TOLERANCE_SECONDS) {
        throw new TypeError(`TokenInspector.accessToken: clockToleranceSeconds must be a whole number from 0 to ${MAX_CLOCK_TOLERANCE_SECONDS}.`);
      }
      // RFC 9068 §2.1: at+jwt (the media-type form too, RFC 7515 §4.1.9).
      const claims = verify(token, ['at+jwt', 'application/at+jwt'], tolerance);
      if (!claims || !isAccessTokenClaims(claims)) return undefined;
      const grantId = claims.grant_id;
      // Both checks at once; a storage without them cannot revoke, so there is nothing to check.
      const [tokenRevoked, grantRevoked] = await Promise.all([
        storage?.isAccessTokenRevoked ? storage.isAccessTokenRevoked(claims.jti) : false,
        grantId !== undefined && storage?.isGrantRevoked ? storage.isGrantRevoked(grantId) : false,
      ]);
      // Fail closed: anything but a plain `false` from an adapter counts as revoked.
      if (tokenRevoked !== false || grantRevoked !== false) return undefined;
      return claims;
    },
    async idToken(token) {
      // Our ID tokens are typ JWT (never at+jwt), so an access token is never taken for one.
      const claims = verify(token, ['jwt']);
      if (!claims || !isIdTokenClaims(claims)) return undefined;
      const grantId = claims.grant_id;
      if (typeof grantId === 'string' && storage?.isGrantRevoked && (await storage.isGrantRevoked(grantId)) !== false) return undefined;
      return claims;
    },
    async refreshToken(token): Promise<InspectedRefreshToken | undefined> {
      if (!storage?.findRefreshToken || token.length === 0) return undefined;
      const record = await storage.findRefreshToken(hashOpaqueToken(token));
      if (!record) return undefined;
      const now = settings.clock();
      const active = record.consumedAt === undefined && record.revokedAt === undefined && now < record.expiresAt && (record.familyExpiresAt === undefined || now < record.familyExpiresAt);
      return { record, active };
    },
  };
}

function isAccessTokenClaims(claims: Record<string, unknown>): claims is Record<string, unknown> & AccessTokenClaims {
  return typeof claims.sub === 'string' && typeof claims.client_id === 'string' && typeof claims.jti === 'string' && typeof claims.exp === 'number' && typeof claims.iat === 'number' &&
    (claims.grant_id === undefined || typeof claims.grant_id === 'string');
}

function isIdTokenClaims(claims: Record<string, unknown>): claims is Record<string, unknown> & IdTokenClaims {
  return typeof claims.sub === 'string' && (typeof claims.aud === 'string' || Array.isArray(claims.aud)) && typeof claims.exp === 'number' && typeof claims.iat === 'number' &&
    (claims.grant_id === undefined || typeof claims.grant_id === 'string');
}
