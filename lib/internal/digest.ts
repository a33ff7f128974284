// lib/internal/digest.ts
// SHA-256 helpers and the constant-time comparison every secret and token check goes through.
import { createHash, timingSafeEqual } from 'node:crypto';

/** base64url (no padding) SHA-256 of a UTF-8 string. */
export function sha256Base64Url(value: string): string {
  return createHash('sha256').update(value, 'utf8').digest('base64url');
}

/** Raw SHA-256 bytes of a UTF-8 string. */
export function sha256Bytes(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

/**
 * Compares two strings in constant time with respect to their content: both sides are
 * hashed first, so the compared buffers always have equal length (timingSafeEqual demands it)
 * and the comparison leaks neither length nor the position of the first differing byte.
 */
export function constantTimeEqual(a: string, b: string): boolean {
  return timingSafeEqual(sha256Bytes(a), sha256Bytes(b));
}
