// lib/tokens/id-token.ts
// Mints OpenID Connect ID tokens (OIDC Core §2, §3.1.3.6).
import { createHash } from 'node:crypto';
import { signJwt, type SignJwt } from './jwt';
import type { SigningKey } from './signing-keys';
import type { SigningAlgorithm } from '../contracts/tokens';
import type { IdTokenClaimsHook, IdTokenService } from '../contracts/tokens';

export interface IdTokenSettings {
  readonly issuer: string;
  readonly ttlSeconds: number;
  readonly claims: IdTokenClaimsHook | undefined;
  readonly signingKey: () => SigningKey;
  /** Signs the token; defaults to {@link signJwt} (the router passes a wrapped one with telemetry). */
  readonly sign?: SignJwt;
  readonly clock: () => number;
}

export const PROTECTED_ID_TOKEN_CLAIMS: ReadonlySet<string> = new Set([
  'iss', 'sub', 'aud', 'exp', 'iat', 'nbf', 'auth_time', 'nonce', 'acr', 'amr', 'sid', 'azp', 'at_hash', 'c_hash', 's_hash', 'jti', 'grant_id',
]);

const HASH_BY_ALG: Record<SigningAlgorithm, string> = {
  RS256: 'sha256', PS256: 'sha256', ES256: 'sha256',
  RS384: 'sha384', PS384: 'sha384', ES384: 'sha384',
  RS512: 'sha512', PS512: 'sha512', ES512: 'sha512',
};

/**
 * OIDC Core §3.1.3.6: base64url of the left-most half of the hash of the ASCII token, with the
 * hash function of the ID token's `alg`.
 */
export function tokenHash(token: string, alg: SigningAlgorithm): string {
  const digest = createHash(HASH_BY_ALG[alg]).update(token, 'ascii').digest();
  return digest.subarray(0, digest.length / 2).toString('base64url');
}

export function createIdTokenService(settings: IdTokenSettings): IdTokenService {
  const sign = settings.sign ?? signJwt;
  return {
    async issue(input) {
      const iat = Math.floor(settings.clock() / 1000);
      const claims: Record<string, unknown> = {};
      addUnprotected(claims, input.session.claims?.id_token);
      if (settings.claims) {
        addUnprotected(claims, await settings.claims({
          client: input.client, grantType: input.grantType, subject: input.subject, localSubject: input.localSubject, scope: input.scope, session: input.session,
        }));
      }
      claims.iss = settings.issuer;
      claims.sub = input.subject;
      // A single audience (the client) as a plain string; azp is only needed with several (OIDC Core §2).
      claims.aud = input.client.client_id;
      claims.iat = iat;
      claims.nbf = iat;
      claims.exp = iat + settings.ttlSeconds;
      const { session } = input;
      if (session.authTime !== undefined) claims.auth_time = session.authTime;
      if (input.nonce !== undefined) claims.nonce = input.nonce;
      if (session.acr !== undefined) claims.acr = session.acr;
      if (session.amr !== undefined && session.amr.length > 0) claims.amr = session.amr;
      if (session.sid !== undefined) claims.sid = session.sid;
      if (input.grantId !== undefined) claims.grant_id = input.grantId;
      // The key is read after the claims hook, right before signing: a token started before a
      // rotation (setSigningKeys) is still signed by the key active when it is signed.
      const key = settings.signingKey();
      if (input.accessToken !== undefined) claims.at_hash = tokenHash(input.accessToken, key.alg);
      // typ "JWT" (never at+jwt), so resource servers can tell ID tokens from access tokens (RFC 9068 §4).
      return sign(claims, key, 'JWT');
    },
  };
}

function addUnprotected(target: Record<string, unknown>, source: Readonly<Record<string, unknown>> | undefined): void {
  if (!source) return;
  for (const key of Object.keys(source)) {
    const value = source[key];
    if (!PROTECTED_ID_TOKEN_CLAIMS.has(key) && value !== undefined && value !== null) target[key] = value;
  }
}
