// lib/issuance/subjects.ts
// Subject identifiers per client: public (the host's own id) or pairwise (OIDC Core §8).
import { createHmac } from 'node:crypto';
import type { RegisteredClient } from '../contracts/clients';
import type { SubjectResolver } from '../contracts/subjects';

/**
 * The sector identifier of a pairwise client (OIDC Core §8.1): the host name (no port) of its
 * `sector_identifier_uri`, else of its redirect URIs when they all share one.
 */
export function sectorIdentifier(client: RegisteredClient): string {
  if (client.sector_identifier_uri) return new URL(client.sector_identifier_uri).hostname;
  const hosts = new Set((client.redirect_uris ?? []).map((uri) => new URL(uri).hostname));
  if (hosts.size !== 1) {
    throw new Error(
      `client "${client.client_id}" uses pairwise subjects but its redirect_uris span ${hosts.size} hosts; register a sector_identifier_uri (OIDC Core §8.1).`,
    );
  }
  return [...hosts][0];
}

/**
 * Creates the resolver. Pairwise `sub` = base64url(HMAC-SHA-256(salt, sector ‖ 0x00 ‖ local
 * subject)): one user gets the same value at every client of one sector and unrelated values
 * across sectors, and nobody without the salt can reverse or correlate them.
 */
export function createSubjectResolver(pairwiseSalt: string | undefined): SubjectResolver {
  const sectorCache = new WeakMap<RegisteredClient, string>();
  return {
    subjectFor(client, localSubject) {
      if ((client.subject_type ?? 'public') === 'public') return localSubject;
      if (!pairwiseSalt) {
        throw new Error(`client "${client.client_id}" uses pairwise subjects but subjects.pairwiseSalt is not configured.`);
      }
      let sector = sectorCache.get(client);
      if (sector === undefined) {
        sector = sectorIdentifier(client);
        sectorCache.set(client, sector);
      }
      return createHmac('sha256', pairwiseSalt).update(sector).update('\0').update(localSubject).digest('base64url');
    },
  };
}

// OIDC Core §2: sub is at most 255 ASCII characters; printable, no padding spaces.
const SUBJECT_PATTERN = /^[\x21-\x7e](?:[\x20-\x7e]{0,253}[\x21-\x7e])?$/;

/**
 * The `sub` form of tokens without an end user (client_credentials): `client:<client_id>`. No
 * user subject may start with it, so a client whose id equals a user's subject can never get a
 * token a resource server would take for that user's (RFC 9700 §4.15.1).
 */
export const CLIENT_SUBJECT_PREFIX = 'client:';

/**
 * Throws a TypeError naming `where` unless `subject` is 1-255 printable ASCII characters and not
 * in the client form ({@link CLIENT_SUBJECT_PREFIX}).
 */
export function assertLocalSubject(subject: unknown, where: string): void {
  if (typeof subject !== 'string' || !SUBJECT_PATTERN.test(subject)) {
    throw new TypeError(`${where}: subject must be 1-255 printable ASCII characters (OIDC Core §2), without leading or trailing spaces.`);
  }
  if (subject.startsWith(CLIENT_SUBJECT_PREFIX)) {
    throw new TypeError(`${where}: subject must not start with "${CLIENT_SUBJECT_PREFIX}": that form is the sub of client_credentials tokens, and a user's tokens must never be mistaken for a client's.`);
  }
}
