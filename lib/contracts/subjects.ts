// lib/contracts/subjects.ts
// Subject identifiers as a client sees them (public or pairwise, OIDC Core §8).
import type { RegisteredClient } from './clients';

/** Maps the host's local subject to the `sub` a given client sees. */
export interface SubjectResolver {
  /**
   * The `sub` for `localSubject` at `client`: the local subject itself for `public` clients, a
   * keyed hash for `pairwise` ones. Stable: the same inputs always give the same value.
   * Throws (a server error) when a pairwise client has no usable sector identifier or no salt
   * is configured.
   */
  subjectFor(client: RegisteredClient, localSubject: string): string;
}
