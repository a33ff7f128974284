// lib/storage/retention.ts
// How long adapters keep records past their expiry, shared by every adapter the library ships.

/**
 * Device codes are kept this long past `expiresAt`, so a device that polls late still hears
 * `expired_token` (RFC 8628 §3.5) instead of `invalid_grant`. Adapters should do the same.
 */
export const DEVICE_CODE_GRACE_MS = 10 * 60_000;

/**
 * A rotated refresh token's `successorEnvelope` only serves retries inside the concurrent-retry
 * window (at most 60 s). Adapters keep it at least this long after the rotation's `consumedAt`
 * and should drop it afterwards: the used token itself is kept much longer (for reuse
 * detection), and ~1.5 KB of envelope per rotation for the family's whole lifetime would be
 * most of the store.
 */
export const SUCCESSOR_ENVELOPE_RETENTION_MS = 2 * 60_000;
