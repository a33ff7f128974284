// lib/tokens/access-token.ts
// Mints RFC 9068 JWT access tokens.
import { randomUUID } from 'node:crypto';
import { formatScope } from '../issuance/scope';
import { signJwt, type SignJwt } from './jwt';
import type { SigningKey } from './signing-keys';
import type { AccessTokenClaimsHook, AccessTokenService } from '../contracts/tokens';

/** Resolved settings for the access-token service. */
export interface AccessTokenSettings {
  readonly issuer: string;
  readonly ttlSeconds: number;
  readonly audience: string | readonly string[];
  /** The shortest `accessTokenTtl` the router's `resources` option sets for these resources, if any. */
  readonly resourceTtl: (resources: readonly string[]) => number | undefined;
  readonly claims: AccessTokenClaimsHook | undefined;
  readonly signingKey: () => SigningKey;
  /** Signs the token; defaults to {@link signJwt} (the router passes a wrapped one with telemetry). */
  readonly sign?: SignJwt;
  readonly clock: () => number;
  /** `scope` claim as a space-separated string (RFC 9068) or a JSON array (TelenorID+). */
  readonly scopeClaim: 'string' | 'array';
}

export const PROTECTED_ACCESS_TOKEN_CLAIMS: ReadonlySet<string> = new Set([
  'iss', 'sub', 'aud', 'exp', 'nbf', 'iat', 'jti', 'client_id', 'scope', 'auth_time', 'acr', 'amr', 'sid', 'cnf', 'grant_id', 'act', 'may_act',
]);

/** Creates the access-token service. */
export function createAccessTokenService(settings: AccessTokenSettings): AccessTokenService {
  const sign = settings.sign ?? signJwt;
  return {
    async issue(input) {
      const client = input.client.metadata;
      const resources = input.resources !== undefined && input.resources.length > 0 ? input.resources : undefined;
      const ttl = lifetime(settings, client.access_token_ttl, resources);
      const iat = Math.floor(settings.clock() / 1000);
      const jti = randomUUID();
      const claims: Record<string, unknown> = {};
      addUnprotected(claims, input.session?.claims?.access_token);
      if (settings.claims) {
        addUnprotected(claims, await settings.claims({ client, grantType: input.grantType, subject: input.subject, scope: input.scope, session: input.session, ...(resources !== undefined && { resources }) }));
      }
      addUnprotected(claims, input.claims);
      claims.iss = settings.issuer;
      claims.sub = input.subject;
      // RFC 8707 §2: a token for resources is audience-restricted to them.
      claims.aud = resources === undefined ? (client.access_token_audience ?? settings.audience) : resources.length === 1 ? resources[0] : [...resources];
      claims.client_id = input.client.clientId;
      claims.iat = iat;
      claims.nbf = iat;
      claims.exp = iat + ttl;
      claims.jti = jti;
      // Lets introspection, revocation and token exchange see that the token's grant was revoked.
      if (input.grantId !== undefined) claims.grant_id = input.grantId;
      if (input.act !== undefined) claims.act = input.act;
      // RFC 9449 §6.1: a DPoP-bound token carries the key's thumbprint.
      // RFC 8705 §3.1: a certificate-bound token carries the certificate's thumbprint (both may apply).
      if (input.dpopJkt !== undefined || input.certificateThumbprint !== undefined) {
        claims.cnf = { ...(input.dpopJkt !== undefined && { jkt: input.dpopJkt }), ...(input.certificateThumbprint !== undefined && { 'x5t#S256': input.certificateThumbprint }) };
      }
      if (input.scope.length > 0) claims.scope = settings.scopeClaim === 'array' ? [...input.scope] : formatScope(input.scope);
      const session = input.session;
      if (session) {
        if (session.authTime !== undefined) claims.auth_time = session.authTime;
        if (session.acr !== undefined) claims.acr = session.acr;
        if (session.amr !== undefined && session.amr.length > 0) claims.amr = session.amr;
        if (session.sid !== undefined) claims.sid = session.sid;
      }
      const token = sign(claims, settings.signingKey(), 'at+jwt');
      return { token, expiresIn: ttl, jti, claims };
    },
  };
}

/** The client's lifetime, or for resources the shortest of it and theirs; else the router's. */
function lifetime(settings: AccessTokenSettings, clientTtl: number | undefined, resources: readonly string[] | undefined): number {
  const resourceTtl = resources === undefined ? undefined : settings.resourceTtl(resources);
  if (resourceTtl === undefined) return clientTtl ?? settings.ttlSeconds;
  return clientTtl === undefined ? resourceTtl : Math.min(clientTtl, resourceTtl);
}

function addUnprotected(target: Record<string, unknown>, source: Readonly<Record<string, unknown>> | undefined): void {
  if (!source) return;
  for (const key of Object.keys(source)) {
    const value = source[key];
    if (!PROTECTED_ACCESS_TOKEN_CLAIMS.has(key) && value !== undefined && value !== null) target[key] = value;
  }
}
