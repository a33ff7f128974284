// lib/storage/retention.ts
// How long adapters keep records past their expiry, shared by every adapter the library ships.

/**
 * Device codes are kept this long past `expiresAt`, so a device that polls late still hears
 * `expired_token` (RFC 8628 §3.5) instead of `invalid_grant`. Adapters should do the same.
 */
export const DEVICE_CODE_GRACE_MS = 10 * 60_000;
