// lib/tokens/jws-header.ts
// The protected header of a compact JWS, decoded without verification, for choosing the key.
import jwt from 'jsonwebtoken';

const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

/**
 * The header of `token` when it is a compact JWS (three base64url parts) that decodes, else
 * undefined. Nothing is verified: the caller picks the key by `kid`/`alg` and verifies.
 */
export function decodeJwsHeader(token: string): jwt.JwtHeader | undefined {
  if (!COMPACT_JWS.test(token)) return undefined;
  try {
    return jwt.decode(token, { complete: true })?.header ?? undefined;
  } catch {
    return undefined;
  }
}
