// lib/dpop/nonce.ts
// Server-provided DPoP nonces (RFC 9449 §8), stateless: a nonce is a time window and an HMAC over
// it with the host's secret, so every instance sharing the secret accepts every other's nonces.
import { createHmac } from 'node:crypto';
import { constantTimeEqual } from '../internal/digest';

/** Issues and checks nonces. */
export interface NonceService {
  /** The nonce to hand out now (the `DPoP-Nonce` header). */
  current(nowMs: number): string;
  /** Whether `nonce` was issued in the current or the previous window. */
  accepts(nonce: unknown, nowMs: number): boolean;
}

/** Stateless nonces valid for one to two windows of `lifetimeSeconds`. */
export function createNonceService(secret: string, lifetimeSeconds: number): NonceService {
  const windowOf = (nowMs: number) => Math.floor(nowMs / 1000 / lifetimeSeconds);
  const nonceFor = (window: number) => `${window.toString(36)}.${createHmac('sha256', secret).update(`dpop-nonce:${window}`).digest('base64url')}`;
  return {
    current: (nowMs) => nonceFor(windowOf(nowMs)),
    accepts(nonce, nowMs) {
      if (typeof nonce !== 'string' || nonce.length > 128) return false;
      const window = windowOf(nowMs);
      // The current window, or the one before (a nonce handed out just before the window turned).
      return constantTimeEqual(nonce, nonceFor(window)) || constantTimeEqual(nonce, nonceFor(window - 1));
    },
  };
}
