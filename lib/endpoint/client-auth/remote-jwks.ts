// lib/endpoint/client-auth/remote-jwks.ts
// The public keys of private_key_jwt clients registered with a jwks_uri (RFC 7591 §2). They are
// fetched inside the request that needs them, so every fetch is bounded (timeout; the built-in
// fetcher also caps the body), cached per URI (LRU), one at a time per URI, and at most one per
// minimum interval per URI whatever its cause: no request can start an unbounded fetch, and no
// stream of requests can make the server fetch a URI more often than that.
import { createPublicKey, type JsonWebKey, type KeyObject } from 'node:crypto';
import { PRIVATE_JWK_MEMBERS } from '../../clients/client-record';
import type { Logger } from '../../contracts/logger';
import type { FetchedJwks, JwksFetch } from '../../options/types';

/** Most entries a fetched JWK Set may have. */
export const MAX_REMOTE_JWKS_KEYS = 100;
/** Longest error text put in a log line. */
const MAX_CAUSE_LENGTH = 300;

/** Resolved `clientAuthentication.jwks` settings, in ms. */
export interface RemoteJwksSettings {
  readonly fetch: JwksFetch;
  readonly timeoutMs: number;
  readonly cacheTtlMs: number;
  readonly minRefetchIntervalMs: number;
  readonly staleIfErrorMs: number;
  readonly maxCachedUris: number;
  /** The router's clock: cache ages and refetch intervals are measured on it. */
  readonly clock: () => number;
  readonly logger: Logger;
}

/** The keys of clients' `jwks_uri`. */
export interface RemoteJwks {
  /**
   * The key to verify an assertion of `clientId` with, from the set at `uri`: the one with the
   * header's `kid`, or the only key when the header has none. Undefined when there is none (the set
   * is unavailable, the kid is unknown even after a permitted refetch, or ambiguous). Never throws.
   */
  keyFor(clientId: string, uri: string, kid: string | undefined): Promise<KeyObject | undefined>;
}

interface RemoteKey {
  readonly kid: string | undefined;
  readonly key: KeyObject;
}

interface CacheEntry {
  /** The last set fetched successfully. */
  keys: readonly RemoteKey[] | undefined;
  /** When `keys` were fetched (router clock). */
  fetchedAt: number;
  /** When the last fetch started, successful or not (router clock). */
  lastAttemptAt: number | undefined;
  /** The fetch under way: every request that needs this URI meanwhile waits for it. */
  inFlight: Promise<void> | undefined;
}

/** Why a JWK Set could not be used (for the log). */
class JwksError extends Error {
  override readonly name = 'JwksError';
}

const UNKNOWN_KID = Symbol('unknown kid');

/** The cache of clients' JWK Sets, one per router. */
export function createRemoteJwks(settings: RemoteJwksSettings): RemoteJwks {
  const { clock, logger } = settings;
  // A Map iterates in insertion order: re-inserting on use makes the first entry the least recently used.
  const entries = new Map<string, CacheEntry>();

  function entryFor(uri: string): CacheEntry {
    const found = entries.get(uri);
    if (found) {
      entries.delete(uri);
      entries.set(uri, found);
      return found;
    }
    const created: CacheEntry = { keys: undefined, fetchedAt: 0, lastAttemptAt: undefined, inFlight: undefined };
    entries.set(uri, created);
    if (entries.size > settings.maxCachedUris) entries.delete(entries.keys().next().value as string);
    return created;
  }

  const age = (entry: CacheEntry): number => clock() - entry.fetchedAt;
  const isFresh = (entry: CacheEntry): boolean => entry.keys !== undefined && age(entry) < settings.cacheTtlMs;
  // An expired set is used only while a refetch is failing (see refresh), and only for staleIfErrorMs.
  const usableKeys = (entry: CacheEntry): readonly RemoteKey[] =>
    entry.keys !== undefined && age(entry) < settings.cacheTtlMs + settings.staleIfErrorMs ? entry.keys : [];

  /** Starts a fetch when none is under way and the last one is old enough; resolves when it ends. Never rejects. */
  function refresh(entry: CacheEntry, clientId: string, uri: string): Promise<void> {
    if (entry.inFlight) return entry.inFlight;
    const startedAt = clock();
    if (entry.lastAttemptAt !== undefined && startedAt - entry.lastAttemptAt < settings.minRefetchIntervalMs) return Promise.resolve();
    entry.lastAttemptAt = startedAt;
    const attempt = fetchKeySet(uri).then(
      (keys) => {
        entry.keys = keys;
        entry.fetchedAt = clock();
      },
      (error: unknown) => {
        const staleForMs = entry.keys === undefined ? 0 : settings.cacheTtlMs + settings.staleIfErrorMs - age(entry);
        // Never the assertion: the client id, the URI and the cause are what an operator needs.
        try {
          logger.warn('The JWK Set at a client\'s jwks_uri could not be fetched or used; its private_key_jwt assertions fail (401 invalid_client) unless its cached keys are still usable.', {
            clientId,
            jwksUri: uri,
            cause: causeOf(error),
            cachedKeys: entry.keys === undefined ? 'none' : isFresh(entry) ? 'fresh' : staleForMs > 0 ? `expired, used for ${Math.ceil(staleForMs / 1000)} s more` : 'expired, no longer used',
            nextAttemptInSeconds: Math.ceil(settings.minRefetchIntervalMs / 1000),
          });
        } catch {
          // A failing logger changes nothing here: the request fails as it would anyway.
        }
      },
    ).finally(() => {
      entry.inFlight = undefined;
    });
    entry.inFlight = attempt;
    return attempt;
  }

  async function fetchKeySet(uri: string): Promise<readonly RemoteKey[]> {
    const signal = AbortSignal.timeout(settings.timeoutMs);
    let onAbort = (): void => undefined;
    // The router stops waiting at the timeout even when a host fetcher ignores the signal.
    const deadline = new Promise<never>((_resolve, reject) => {
      onAbort = () => reject(new JwksError(`no complete answer within ${settings.timeoutMs} ms`));
      signal.addEventListener('abort', onAbort, { once: true });
    });
    const fetching = Promise.resolve().then(() => settings.fetch(uri, signal));
    fetching.catch(() => undefined); // its failure after the deadline is nobody's concern
    let value: unknown;
    try {
      value = await Promise.race([fetching, deadline]);
    } catch (error) {
      throw signal.aborted ? new JwksError(`no complete answer within ${settings.timeoutMs} ms`) : error;
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
    return parseKeySet(value);
  }

  return {
    async keyFor(clientId, uri, kid) {
      const entry = entryFor(uri);
      if (!isFresh(entry)) await refresh(entry, clientId, uri);
      let key = select(usableKeys(entry), kid);
      // Key rotation: a kid the cached set lacks may be a new key; fetch again (rate-limited) and look once more.
      if (key === UNKNOWN_KID) {
        await refresh(entry, clientId, uri);
        key = select(usableKeys(entry), kid);
      }
      return key === UNKNOWN_KID ? undefined : key;
    },
  };
}

/** The key named by `kid`, or the only key when there is no kid; UNKNOWN_KID when the set lacks the kid. */
function select(keys: readonly RemoteKey[], kid: string | undefined): KeyObject | typeof UNKNOWN_KID | undefined {
  if (kid === undefined) return keys.length === 1 ? keys[0].key : undefined;
  const matches = keys.filter((k) => k.kid === kid);
  if (matches.length === 0) return UNKNOWN_KID;
  return matches.length === 1 ? matches[0].key : undefined;
}

/**
 * The usable keys of a fetched JWK Set (RFC 7517 §5): RSA and EC keys for signatures. Entries of
 * other types or uses, or that do not parse, are ignored as §5 says; a set with private or
 * symmetric key material is refused whole (its publisher leaks secrets: trust none of it).
 */
export function parseKeySet(value: unknown): readonly RemoteKey[] {
  const keys = isObject(value) ? value.keys : undefined;
  if (!Array.isArray(keys)) throw new JwksError('the answer is not a JWK Set (a JSON object with a "keys" array)');
  if (keys.length > MAX_REMOTE_JWKS_KEYS) throw new JwksError(`the JWK Set has ${keys.length} keys (at most ${MAX_REMOTE_JWKS_KEYS} are accepted)`);
  const parsed: RemoteKey[] = [];
  keys.forEach((jwk: unknown, i) => {
    if (!isObject(jwk)) return;
    if (PRIVATE_JWK_MEMBERS.some((member) => member in jwk)) throw new JwksError(`keys[${i}] holds private or symmetric key material; a jwks_uri must publish public keys only`);
    if ((jwk.kty !== 'RSA' && jwk.kty !== 'EC') || (jwk.use !== undefined && jwk.use !== 'sig') || (jwk.kid !== undefined && typeof jwk.kid !== 'string')) return;
    try {
      parsed.push({ kid: jwk.kid, key: createPublicKey({ key: jwk as JsonWebKey, format: 'jwk' }) });
    } catch {
      // Not a usable key (missing or malformed members): ignored, as RFC 7517 §5 says.
    }
  });
  if (parsed.length === 0) throw new JwksError('the JWK Set has no usable RSA or EC signing key');
  return parsed;
}

/**
 * The built-in fetcher: Node's global fetch, GET, redirects refused (the registered URI is the one
 * trusted), status 200 only, the body streamed and abandoned past `maxBytes`, JSON with a `keys` array.
 */
export function builtInJwksFetch(maxBytes: number): JwksFetch {
  return async (uri, signal) => {
    const response = await fetch(uri, { signal, redirect: 'error', headers: { accept: 'application/jwk-set+json, application/json' } });
    if (response.status !== 200) {
      await response.body?.cancel().catch(() => undefined);
      throw new JwksError(`HTTP status ${response.status} (200 expected)`);
    }
    const declared = Number(response.headers.get('content-length') ?? '0');
    if (declared > maxBytes) {
      await response.body?.cancel().catch(() => undefined);
      throw new JwksError(`the body is larger than ${maxBytes} bytes (Content-Length ${declared})`);
    }
    const text = await readCapped(response, maxBytes);
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      throw new JwksError('the body is not JSON');
    }
    if (!isObject(value) || !Array.isArray(value.keys)) throw new JwksError('the answer is not a JWK Set (a JSON object with a "keys" array)');
    return value as unknown as FetchedJwks;
  };
}

/** The body as UTF-8 text; reading stops (and the stream is cancelled) as soon as it passes `maxBytes`. */
async function readCapped(response: Response, maxBytes: number): Promise<string> {
  if (response.body === null) return '';
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel().catch(() => undefined);
      throw new JwksError(`the body is larger than ${maxBytes} bytes`);
    }
    chunks.push(value);
  }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(Buffer.concat(chunks));
  } catch {
    throw new JwksError('the body is not UTF-8');
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * An error's message (and its cause's: Node's fetch says "fetch failed" and puts the reason there),
 * bounded. Duck-typed: Node's fetch throws errors of another realm under test runners.
 */
function causeOf(error: unknown): string {
  const message = (value: unknown): string | undefined =>
    typeof value === 'object' && value !== null && typeof (value as { message?: unknown }).message === 'string' ? (value as { message: string }).message : undefined;
  const own = message(error) ?? String(error);
  const cause = typeof error === 'object' && error !== null ? message((error as { cause?: unknown }).cause) : undefined;
  return (cause === undefined ? own : `${own}: ${cause}`).slice(0, MAX_CAUSE_LENGTH);
}
