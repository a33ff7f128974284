// lib/tokens/jwt.ts
// Signs JWTs with the active signing key (jsonwebtoken over a pre-parsed KeyObject).
import jwt from 'jsonwebtoken';
import type { SigningKey } from './signing-keys';

/** Signs `payload` as a compact JWS with the given `typ` header. */
export function signJwt(payload: Record<string, unknown>, key: SigningKey, typ: string): string {
  // The payload already carries iat/exp/nbf from the library's clock; jsonwebtoken keeps a
  // payload iat as given (it only fills one in when absent).
  return jwt.sign(payload, key.privateKey, { algorithm: key.alg, keyid: key.kid, header: { alg: key.alg, typ } });
}
