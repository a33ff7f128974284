// lib/issuance/refresh-tokens.ts
// Decides whether a grant gets a refresh token, mints families and successors per the client's policy.
import type { RegisteredClient } from '../contracts/clients';
import type { RefreshTokenRecord, RefreshTokenStore, SessionFacts } from '../contracts/storage';
import { createOpaqueToken } from '../tokens/opaque-token';
import { assertGrantedScope } from './issue-tokens';
import { assertGrantedResources } from './resources';
import { longestTokenLifetime } from './refresh-policies';
import { assertLocalSubject } from './subjects';
import type { RefreshPolicy } from '../contracts/refresh-policy';
import type { RefreshTokenService } from '../contracts/refresh-tokens';

export interface RefreshTokenServiceDeps {
  readonly policyFor: (client: RegisteredClient) => RefreshPolicy;
  /** Where first tokens are saved; undefined when the refresh grant is not served (no refresh tokens then). */
  readonly storage: Pick<RefreshTokenStore, 'saveRefreshToken'> | undefined;
  readonly minimumRetentionMs: number;
}

/** The RFC 6749 §6 grant type: refresh tokens are issued only while a grant serves it. */
const REFRESH_GRANT_TYPE = 'refresh_token';

/** The storage of the served refresh_token grant, if it is served and saves tokens. */
export function refreshStoreOf(grants: ReadonlyMap<string, { readonly storage: Partial<RefreshTokenStore> }>): Pick<RefreshTokenStore, 'saveRefreshToken'> | undefined {
  const storage = grants.get(REFRESH_GRANT_TYPE)?.storage;
  return storage?.saveRefreshToken ? { saveRefreshToken: storage.saveRefreshToken } : undefined;
}

export function createRefreshTokenService(deps: RefreshTokenServiceDeps): RefreshTokenService {
  const { policyFor } = deps;
  const service: RefreshTokenService = {
    policyFor,
    whyNot(client, scope) {
      if (!scope.includes('offline_access')) return 'no_offline_access';
      if (!(client.metadata.grant_types ?? ['authorization_code']).includes('refresh_token')) return 'grant_type_not_registered';
      if (!deps.storage) return 'refresh_grant_not_served';
      if (policyFor(client.metadata).type === 'none') return 'policy_none';
      return undefined;
    },
    async issueFirst({ client, grantId, session, scope, resources, dpopJkt, now }) {
      assertGrantedScope(scope, 'refreshTokens.issueFirst');
      // A family stored with a subject the refresh grant refuses would fail (500) on every refresh.
      assertLocalSubject(session.subject, 'refreshTokens.issueFirst');
      if (resources !== undefined) assertGrantedResources(resources, 'refreshTokens.issueFirst');
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
        ...(resources !== undefined && resources.length > 0 && { resources: [...resources] }),
        issuedAt: now,
        expiresAt: policy.type === 'absolute' ? (familyExpiresAt as number) : capped(now + policy.lifetime * 1000, familyExpiresAt),
        ...(familyExpiresAt !== undefined && { familyExpiresAt }),
        ...(dpopJkt !== undefined && { dpopJkt }),
      };
      // Record before respond: the token is durable before the client ever sees it.
      await (deps.storage as Pick<RefreshTokenStore, 'saveRefreshToken'>).saveRefreshToken(record);
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
        // RFC 8707 §2.2: the family keeps every resource of the grant, whatever the AT got.
        ...(parent.resources !== undefined && { resources: parent.resources }),
        issuedAt: now,
        expiresAt,
        ...(parent.familyExpiresAt !== undefined && { familyExpiresAt: parent.familyExpiresAt }),
        parentHash: parent.tokenHash,
        // RFC 9449 §5: a bound family stays bound to its key.
        ...(parent.dpopJkt !== undefined && { dpopJkt: parent.dpopJkt }),
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
