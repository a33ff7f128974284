// lib/tokens/opaque-token.ts
// Random opaque values (codes, refresh tokens, device codes) and the digests stored for them.
import { sha256Base64Url } from '../internal/digest';
import { randomSlice } from '../internal/random';

/** A fresh random value and the digest the store keeps instead of it. */
export interface OpaqueToken {
  /** Handed to the client once; never stored. */
  readonly value: string;
  /** base64url SHA-256 of `value`: the storage key. */
  readonly hash: string;
}

/** 256 bits of randomness, base64url (43 characters). */
export function createOpaqueToken(bytes = 32): OpaqueToken {
  const value = randomSlice(bytes).toString('base64url');
  return { value, hash: sha256Base64Url(value) };
}

/** The storage key for a value presented by a client. */
export function hashOpaqueToken(value: string): string {
  return sha256Base64Url(value);
}
