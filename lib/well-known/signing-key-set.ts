// lib/well-known/signing-key-set.ts
// The router's current signing keys and the documents that publish them, swapped whole by
// setSigningKeys (key rotation: next → active → retiring), with the rotation-safety warnings.
import { buildJwks, buildMetadata, wellKnownDocuments, type MetadataFacts, type WellKnownDocuments } from './discovery';
import { ConfigurationError } from '../contracts/errors';
import { parseSigningKeys, type SigningKey } from '../tokens/signing-keys';
import type { DiscoveryOptions } from '../contracts/discovery';
import type { Logger } from '../contracts/logger';
import type { SigningKeyInput } from '../contracts/tokens';

/** One checked key set with the documents that publish it. */
interface KeySet {
  /** In publishing order: active, next, retiring. */
  readonly keys: readonly SigningKey[];
  /** The only key that signs. */
  readonly active: SigningKey;
  readonly documents: WellKnownDocuments;
}

export interface SigningKeySetSettings {
  /** The keys of the `signingKeys` option, already parsed and checked. */
  readonly initial: readonly SigningKey[];
  /** What the discovery document says besides the keys. */
  readonly metadataFacts: Omit<MetadataFacts, 'signingKeys'>;
  readonly discovery: DiscoveryOptions;
  /** How long relying parties may cache the JWKS (s): the wait between rotation steps. */
  readonly maxAgeSeconds: number;
  /** Longest lifetime of a token this router signs (ms): how long a dropped key is still needed. */
  readonly longestTokenTtlMs: number;
  readonly clock: () => number;
  readonly logger: Logger;
  /** Warns when a set has no RS256 key (called for the initial set by the router). */
  readonly checkAlgorithms: (keys: readonly SigningKey[]) => void;
}

/** The current key set: signers read `active()` per token; nothing is parsed per request. */
export interface SigningKeySet {
  active(): SigningKey;
  /** The published key with this `kid` (any status), for verifying our own tokens. */
  find(kid: string): SigningKey | undefined;
  documents(): WellKnownDocuments;
  /** Parses, checks and swaps in a new set (see TokenRouter.setSigningKeys); throws ConfigurationError and keeps the old set on bad input. */
  replace(input: readonly SigningKeyInput[]): void;
}

export function createSigningKeySet(settings: SigningKeySetSettings): SigningKeySet {
  const { metadataFacts, discovery, maxAgeSeconds, longestTokenTtlMs, clock, logger } = settings;
  const keySetOf = (keys: readonly SigningKey[]): KeySet => ({
    keys,
    // parseSigningKeys returns a checked set in publishing order: the active key first.
    active: keys[0],
    documents: wellKnownDocuments(buildMetadata({ ...metadataFacts, signingKeys: keys }, discovery), buildJwks(keys)),
  });
  // One object, replaced whole, so the signers and both documents always agree.
  let current = keySetOf(settings.initial);
  /** When a key that was active here stopped signing (ms), for the early-drop warning. */
  const signedUntil = new Map<string, number>();

  function replace(input: readonly SigningKeyInput[]): void {
    const problems: string[] = [];
    const keys = parseSigningKeys(input, 'keys', problems);
    for (const key of problems.length > 0 ? [] : keys) {
      const published = current.keys.find((old) => old.kid === key.kid);
      if (published && JSON.stringify(published.publicJwk) !== JSON.stringify(key.publicJwk)) {
        problems.push(`keys: kid "${key.kid}" is published now for a different key or alg; relying parties cache keys by kid, so give a new key a new kid.`);
      }
    }
    if (problems.length > 0) throw new ConfigurationError('ERR_TOKEN_ROUTER_SIGNING_KEY', problems.map((problem) => `setSigningKeys: ${problem}`));
    const previous = current;
    const now = clock();
    current = keySetOf(keys);
    if (previous.active.kid !== current.active.kid) signedUntil.set(previous.active.kid, now);
    settings.checkAlgorithms(keys);
    if (!previous.keys.some((key) => key.kid === current.active.kid)) {
      logger.warn(
        `setSigningKeys: key "${current.active.kid}" signs now but was not published before. Relying parties that fetched the JWKS in the last ${maxAgeSeconds} s cannot verify its tokens yet; publish a new key as 'next' first and wait discovery.maxAgeSeconds before making it active.`,
        { kid: current.active.kid, maxAgeSeconds },
      );
    }
    for (const dropped of previous.keys.filter((old) => !keys.some((key) => key.kid === old.kid))) {
      const lastSigned = signedUntil.get(dropped.kid);
      signedUntil.delete(dropped.kid);
      if (lastSigned === undefined || lastSigned + longestTokenTtlMs <= now) continue;
      const safeFrom = new Date(lastSigned + longestTokenTtlMs).toISOString();
      logger.warn(
        `setSigningKeys: key "${dropped.kid}" was dropped while tokens it signed here may still be valid (until ${safeFrom}, by accessToken.ttl and idToken.ttl; longer if a client has its own access_token_ttl); those tokens no longer verify. Keep a key 'retiring' until every token it signed has expired.`,
        { kid: dropped.kid, safeFrom },
      );
    }
  }

  return { active: () => current.active, find: (kid) => current.keys.find((key) => key.kid === kid), documents: () => current.documents, replace };
}
