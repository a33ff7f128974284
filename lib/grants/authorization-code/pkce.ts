// lib/grants/authorization-code/pkce.ts
// PKCE (RFC 7636): verifier/challenge syntax and verification.
import { createHash } from 'node:crypto';
import { constantTimeEqual } from '../../internal/digest';

/** RFC 7636 §4.1: code_verifier = 43*128unreserved. */
export const CODE_VERIFIER_PATTERN = /^[A-Za-z0-9\-._~]{43,128}$/;
/** An S256 challenge: unpadded base64url of a SHA-256 digest (always 43 characters). */
export const S256_CHALLENGE_PATTERN = /^[A-Za-z0-9_-]{43}$/;

/** A PKCE `code_challenge_method` (RFC 7636 §4.3). `plain` is refused unless the grant allows it. */
export type PkceMethod = 'S256' | 'plain';

/** BASE64URL(SHA256(ASCII(verifier))), RFC 7636 §4.2. */
export function s256Challenge(verifier: string): string {
  return createHash('sha256').update(verifier, 'ascii').digest('base64url');
}

/** Checks a verifier against the stored challenge in constant time (RFC 7636 §4.6). */
export function verifyPkce(verifier: string, challenge: string, method: PkceMethod): boolean {
  const derived = method === 'S256' ? s256Challenge(verifier) : verifier;
  return constantTimeEqual(derived, challenge);
}
