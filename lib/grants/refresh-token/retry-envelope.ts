// lib/grants/refresh-token/retry-envelope.ts
// Seals the successor response under a key only the holder of the parent refresh token can derive.
import { createCipheriv, createDecipheriv, createHmac } from 'node:crypto';
import { randomSlice } from '../../internal/random';

/** What a retry of the parent token gets back: the successor pair exactly as first issued. */
export interface SealedSuccessor {
  /** Digest of the successor refresh token (checked to be still live before replaying). */
  readonly successorHash: string;
  /** When the access token inside expires (ms), to send an honest `expires_in`. */
  readonly accessTokenExpiresAt: number;
  /** The token response body as first returned. */
  readonly body: Readonly<Record<string, unknown>>;
}

const INFO = Buffer.from('express-token-endpoint refresh retry envelope v1');
const ONE = Buffer.from([1]);

// The key comes from the raw parent token, which the store never sees: a leaked database
// cannot decrypt envelopes, and only a client presenting the parent can open its envelope.
// The token is 256 uniformly random bits, so it can key HKDF-Expand directly (RFC 5869 §3.3
// allows skipping Extract for such input): one HMAC, T(1) = HMAC(token, info ‖ 0x01).
function keyFor(parentToken: string): Buffer {
  return createHmac('sha256', parentToken).update(INFO).update(ONE).digest();
}

/** AES-256-GCM: base64url(iv ‖ tag ‖ ciphertext). */
export function sealSuccessor(parentToken: string, successor: SealedSuccessor): string {
  // Buffer.concat below copies the IV out of the shared pool.
  const iv = randomSlice(12);
  const cipher = createCipheriv('aes-256-gcm', keyFor(parentToken), iv);
  const ciphertext = Buffer.concat([cipher.update(JSON.stringify(successor), 'utf8'), cipher.final()]);
  return Buffer.concat([iv, cipher.getAuthTag(), ciphertext]).toString('base64url');
}

/** Opens an envelope; `undefined` when it was not sealed for this token or is corrupt. */
export function openSuccessor(parentToken: string, envelope: string): SealedSuccessor | undefined {
  try {
    const raw = Buffer.from(envelope, 'base64url');
    const decipher = createDecipheriv('aes-256-gcm', keyFor(parentToken), raw.subarray(0, 12));
    decipher.setAuthTag(raw.subarray(12, 28));
    const plain = Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8');
    return JSON.parse(plain) as SealedSuccessor;
  } catch {
    return undefined;
  }
}
