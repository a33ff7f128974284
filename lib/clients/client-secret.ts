// lib/clients/client-secret.ts
// Client-secret digests and their constant-time verification.
import { timingSafeEqual } from 'node:crypto';
import { sha256Base64Url, sha256Bytes } from '../internal/digest';
import type { ClientSecretDigest, RegisteredClient } from '../contracts/clients';

/**
 * The digest to store for a client secret: base64url SHA-256 of its UTF-8 bytes.
 * Fit for high-entropy, server-generated secrets only (see {@link ClientSecretDigest}).
 *
 * @example
 * const client = { client_id: 'svc', client_secrets: [{ sha256: hashClientSecret(secret) }] };
 */
export function hashClientSecret(secret: string): string {
  return sha256Base64Url(secret);
}

const DIGEST_PATTERN = /^[A-Za-z0-9_-]{43}$/;

/** True when `value` has the shape of a {@link hashClientSecret} digest. */
export function isSecretDigest(value: unknown): value is string {
  return typeof value === 'string' && DIGEST_PATTERN.test(value);
}

// Compared against when a client is unknown or has no usable digest, so that path costs the
// same as a real comparison (RFC 6819 §4.3.5: do not let timing reveal which clients exist).
const DUMMY_DIGEST = sha256Bytes('express-token-endpoint:dummy-secret');

/**
 * Checks `presented` against every unexpired digest without short-circuiting, so the time
 * taken does not depend on which entry (if any) matched.
 */
export function matchesSecretDigests(
  presented: string,
  digests: readonly ClientSecretDigest[] | undefined,
  nowSeconds: number,
): boolean {
  const candidate = sha256Bytes(presented);
  let matched = false;
  let compared = 0;
  for (const entry of digests ?? []) {
    if (entry.expires_at !== undefined && entry.expires_at <= nowSeconds) continue;
    const stored = Buffer.from(entry.sha256, 'base64url');
    if (stored.length !== candidate.length) continue;
    compared += 1;
    if (timingSafeEqual(stored, candidate)) matched = true;
  }
  if (compared === 0) timingSafeEqual(DUMMY_DIGEST, candidate);
  return matched;
}

/** Performs the same work as a failed secret check; used for unknown clients. */
export function burnSecretComparison(presented: string): void {
  timingSafeEqual(DUMMY_DIGEST, sha256Bytes(presented));
}

/** Verifies a presented secret for a registered confidential client. */
export async function verifyClientSecret(
  client: RegisteredClient,
  presented: string,
  nowSeconds: number,
): Promise<boolean> {
  if (client.verify_client_secret) return (await client.verify_client_secret(presented)) === true;
  return matchesSecretDigests(presented, client.client_secrets, nowSeconds);
}
