// lib/tokens/opaque-token.ts
// Random opaque values (codes, refresh tokens, device codes) and the digests stored for them.
import { sha256Base64Url } from '../internal/digest';
import { randomSlice } from '../internal/random';
import type { OpaqueToken } from '../contracts/tokens';

/** 256 bits of randomness, base64url (43 characters). */
export function createOpaqueToken(bytes = 32): OpaqueToken {
  const value = randomSlice(bytes).toString('base64url');
  return { value, hash: sha256Base64Url(value) };
}

/** The storage key for a value presented by a client. */
export function hashOpaqueToken(value: string): string {
  return sha256Base64Url(value);
}
