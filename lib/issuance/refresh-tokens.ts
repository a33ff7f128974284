// lib/issuance/refresh-tokens.ts
// Decides whether a grant gets a refresh token, mints families and successors per the client's policy.
import type { AuthenticatedClient, RegisteredClient } from '../contracts/clients';
import type { RefreshTokenRecord, RefreshTokenStore, SessionFacts } from '../contracts/storage';
import { createOpaqueToken, type OpaqueToken } from '../tokens/opaque-token';
import { longestTokenLifetime, type RefreshPolicy } from './refresh-policies';

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
  /** Starts a family: stores the first token (digest only) and returns its value, or undefined when none is due. */
  issueFirst(input: { client: AuthenticatedClient; grantId: string; session: SessionFacts; scope: readonly string[]; now: number }): Promise<string | undefined>;
  /** Builds (does not store) the successor of `parent` per the policy. */
  successor(parent: RefreshTokenRecord, client: AuthenticatedClient, session: SessionFacts, now: number): { token: OpaqueToken; record: RefreshTokenRecord };
  /** Whether the client's tokens rotate on use (public clients always do). */
  rotates(client: AuthenticatedClient): boolean;
  /** How long a revocation mark of this client's grants must be kept (ms). */
  retentionMs(client: RegisteredClient): number;
}

export interface RefreshTokenServiceDeps {
  readonly policyFor: (client: RegisteredClient) => RefreshPolicy;
  readonly refreshGrantServed: boolean;
  readonly storage: RefreshTokenStore | undefined;
  readonly minimumRetentionMs: number;
}

export function createRefreshTokenService(deps: RefreshTokenServiceDeps): RefreshTokenService {
  const { policyFor } = deps;
  const service: RefreshTokenService = {
    policyFor,
    whyNot(client, scope) {
      if (!scope.includes('offline_access')) return 'no_offline_access';
      if (!(client.metadata.grant_types ?? ['authorization_code']).includes('refresh_token')) return 'grant_type_not_registered';
      if (!deps.refreshGrantServed || !deps.storage) return 'refresh_grant_not_served';
      if (policyFor(client.metadata).type === 'none') return 'policy_none';
      return undefined;
    },
    async issueFirst({ client, grantId, session, scope, now }) {
      if (service.whyNot(client, scope) !== undefined) return undefined;
      const policy = policyFor(client.metadata);
      if (policy.type === 'none') return undefined;
      const familyExpiresAt = policy.type === 'absolute' ? now + policy.lifetime * 1000 : policy.maxLifetime !== undefined ? now + policy.maxLifetime * 1000 : undefined;
      const token = createOpaqueToken();
      const record: RefreshTokenRecord = {
        ...sessionOf(session),
        tokenHash: token.hash,
        grantId,
        clientId: client.clientId,
        scope: [...scope],
        issuedAt: now,
        expiresAt: policy.type === 'absolute' ? (familyExpiresAt as number) : capped(now + policy.lifetime * 1000, familyExpiresAt),
        ...(familyExpiresAt !== undefined && { familyExpiresAt }),
      };
      // Record before respond: the token is durable before the client ever sees it.
      await (deps.storage as RefreshTokenStore).saveRefreshToken(record);
      return token.value;
    },
    successor(parent, client, session, now) {
      const policy = policyFor(client.metadata);
      const token = createOpaqueToken();
      const expiresAt = policy.type === 'sliding' ? capped(now + policy.lifetime * 1000, parent.familyExpiresAt) : parent.expiresAt;
      const record: RefreshTokenRecord = {
        ...sessionOf(session),
        tokenHash: token.hash,
        grantId: parent.grantId,
        clientId: parent.clientId,
        // RFC 6749 §6: the new refresh token keeps the scope of the grant, whatever the AT got.
        scope: parent.scope,
        issuedAt: now,
        expiresAt,
        ...(parent.familyExpiresAt !== undefined && { familyExpiresAt: parent.familyExpiresAt }),
        parentHash: parent.tokenHash,
      };
      return { token, record };
    },
    rotates(client) {
      const policy = policyFor(client.metadata);
      // RFC 9700 §4.14.2: refresh tokens of public clients MUST rotate (or be sender-constrained).
      return client.isPublic || policy.type !== 'absolute' || policy.rotation !== 'reuse';
    },
    retentionMs(client) {
      // A revoked family's tokens die with the longest single-token lifetime: keep the mark that long.
      return Math.max(deps.minimumRetentionMs, longestTokenLifetime(policyFor(client)) * 1000 + 24 * 3600 * 1000);
    },
  };
  return service;
}

function capped(expiresAt: number, cap: number | undefined): number {
  return cap === undefined ? expiresAt : Math.min(expiresAt, cap);
}

/** Just the session facts of a record (codes and refresh tokens carry them alongside other fields). */
export function sessionOf(session: SessionFacts): SessionFacts {
  return {
    subject: session.subject,
    ...(session.authTime !== undefined && { authTime: session.authTime }),
    ...(session.acr !== undefined && { acr: session.acr }),
    ...(session.amr !== undefined && { amr: session.amr }),
    ...(session.sid !== undefined && { sid: session.sid }),
    ...(session.claims !== undefined && { claims: session.claims }),
  };
}
