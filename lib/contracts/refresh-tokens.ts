// lib/contracts/refresh-tokens.ts
// The refresh-token family service grants use to start and continue families.
import type { AuthenticatedClient, RegisteredClient } from './clients';
import type { RefreshPolicy } from './refresh-policy';
import type { RefreshTokenRecord, SessionFacts } from './storage';
import type { GrantedResources } from './resources';
import type { GrantedScope } from './scope';
import type { OpaqueToken } from './tokens';

/** Why no refresh token was issued (reported in `token.issued` for debugging). */
export type NoRefreshReason = 'no_offline_access' | 'grant_type_not_registered' | 'refresh_grant_not_served' | 'policy_none';

/** Mints refresh tokens; available to grants as `ctx.refreshTokens`. */
export interface RefreshTokenService {
  /** The client's effective policy. Throws (server error) for a broken client policy. */
  policyFor(client: RegisteredClient): RefreshPolicy;
  /**
   * Why a new grant would not get a refresh token, or `undefined` when it will: `offline_access`
   * granted, `refresh_token` in the client's grant_types, the refresh grant served, policy not none.
   */
  whyNot(client: AuthenticatedClient, scope: readonly string[]): NoRefreshReason | undefined;
  /**
   * Starts a family: stores the first token (digest only) and returns its value, or undefined when
   * none is due. `scope` must come from `ctx.grantScope`, `resources` (the grant's resource
   * indicators, kept by every token of the family) from `ctx.grantResources` (both checked at run time).
   */
  issueFirst(input: { client: AuthenticatedClient; grantId: string; session: SessionFacts; scope: GrantedScope; dpopJkt?: string; resources?: GrantedResources; now: number }): Promise<string | undefined>;
  /** Builds (does not store) the successor of `parent` per the policy. */
  successor(parent: RefreshTokenRecord, client: AuthenticatedClient, session: SessionFacts, now: number): {
    /** The new refresh token (its value goes to the client, its hash into the record). */
    token: OpaqueToken;
    /** The record to store with `rotateRefreshToken`. */
    record: RefreshTokenRecord;
  };
  /** Whether the client's tokens rotate on use (public clients always do). */
  rotates(client: AuthenticatedClient): boolean;
  /** How long a revocation mark of this client's grants must be kept (ms). */
  retentionMs(client: RegisteredClient): number;
}
