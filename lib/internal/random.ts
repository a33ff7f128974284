// lib/internal/random.ts
// Random bytes for tokens, codes and IVs, drawn from a pre-filled CSPRNG pool.
import { randomFillSync } from 'node:crypto';

// Why a pool: every refresh needs ~60 random bytes in three small draws (refresh token, IV, jti);
// one randomFillSync per 4 KiB instead of one randomBytes call (and Buffer) per draw is what
// Node itself does for randomUUID. Each byte is handed out once and the pool is overwritten on
// refill, so a draw is exactly as random as randomBytes would be.
const POOL_BYTES = 4096;
let pool = Buffer.alloc(0);
let offset = 0;

/** `length` fresh CSPRNG bytes (1…4096). The result shares the pool's memory: copy it to keep it. */
export function randomSlice(length: number): Buffer {
  if (!Number.isInteger(length) || length < 1 || length > POOL_BYTES) throw new RangeError(`randomSlice: length must be 1…${POOL_BYTES}`);
  if (offset + length > pool.length) {
    pool = randomFillSync(Buffer.allocUnsafeSlow(POOL_BYTES));
    offset = 0;
  }
  const slice = pool.subarray(offset, offset + length);
  offset += length;
  return slice;
}
