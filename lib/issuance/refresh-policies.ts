// lib/issuance/refresh-policies.ts
// Refresh-token policies: whether a client gets refresh tokens, how long they live, whether they rotate.
import type { RegisteredClient } from '../contracts/clients';

/** Never issue refresh tokens. */
export interface NoRefreshPolicy {
  readonly type: 'none';
}

/**
 * A fixed lifetime from the start of the grant (the first token): refreshing never extends it.
 * TelenorID+ "Confidential": 14 days.
 */
export interface AbsoluteRefreshPolicy {
  readonly type: 'absolute';
  /** Seconds from the first refresh token of the grant. */
  readonly lifetime: number;
  /**
   * `rotate` (default): every refresh returns a new refresh token and the old one dies.
   * `reuse`: the same token stays valid until the family expires (confidential clients only;
   * public clients always rotate, RFC 9700 §4.14.2).
   */
  readonly rotation?: 'rotate' | 'reuse';
}

/**
 * Each refresh renews the lifetime (always rotating). TelenorID+ "Mobile": 90 days;
 * "PublicWeb"/"Web": 10 minutes. `maxLifetime` caps the whole family from its start.
 */
export interface SlidingRefreshPolicy {
  readonly type: 'sliding';
  /** Seconds each token lives after it is issued. */
  readonly lifetime: number;
  /** Optional absolute cap in seconds from the start of the grant. */
  readonly maxLifetime?: number;
}

/** A refresh policy. */
export type RefreshPolicy = NoRefreshPolicy | AbsoluteRefreshPolicy | SlidingRefreshPolicy;

const DAY = 24 * 3600;

/** The TelenorID+ client-type policies, by their TelenorID+ names (an example configuration). */
export const TELENORID_REFRESH_POLICIES: Readonly<Record<'NoRefresh' | 'Confidential' | 'Mobile' | 'PublicWeb' | 'Web', RefreshPolicy>> = Object.freeze({
  NoRefresh: { type: 'none' },
  Confidential: { type: 'absolute', lifetime: 14 * DAY },
  Mobile: { type: 'sliding', lifetime: 90 * DAY },
  PublicWeb: { type: 'sliding', lifetime: 600 },
  Web: { type: 'sliding', lifetime: 600 },
});

/** Router-level refresh settings (see `TokenRouterOptions.refreshTokens`). */
export interface RefreshTokenOptions {
  /** Named policies clients can reference with `refresh_token_policy: "<name>"`. */
  policies?: Readonly<Record<string, RefreshPolicy>>;
  /**
   * Policy for clients without `refresh_token_policy`: a policy or a name. Defaults to
   * `{ confidential: { type: 'absolute', lifetime: 14 days }, public: { type: 'none' } }`
   * (TelenorID+'s Confidential and Public client types).
   */
  defaultPolicy?: { readonly confidential?: RefreshPolicy | string; readonly public?: RefreshPolicy | string };
}

export const DEFAULT_CONFIDENTIAL_POLICY: RefreshPolicy = TELENORID_REFRESH_POLICIES.Confidential;
export const DEFAULT_PUBLIC_POLICY: RefreshPolicy = TELENORID_REFRESH_POLICIES.NoRefresh;

/** Problems with one policy, each naming `path`. */
export function checkPolicy(policy: unknown, path: string): string[] {
  if (typeof policy !== 'object' || policy === null) return [`${path} must be a refresh policy object ({ type: 'none' | 'absolute' | 'sliding', ... }).`];
  const p = policy as { type?: unknown; lifetime?: unknown; maxLifetime?: unknown; rotation?: unknown };
  const problems: string[] = [];
  const seconds = (value: unknown, name: string) => {
    if (!Number.isInteger(value) || (value as number) < 1) problems.push(`${path}.${name} must be a positive whole number of seconds.`);
  };
  if (p.type === 'none') return problems;
  if (p.type === 'absolute') {
    seconds(p.lifetime, 'lifetime');
    if (p.rotation !== undefined && p.rotation !== 'rotate' && p.rotation !== 'reuse') problems.push(`${path}.rotation must be 'rotate' or 'reuse'.`);
    return problems;
  }
  if (p.type === 'sliding') {
    seconds(p.lifetime, 'lifetime');
    if (p.maxLifetime !== undefined) {
      seconds(p.maxLifetime, 'maxLifetime');
      if (Number.isInteger(p.lifetime) && (p.maxLifetime as number) < (p.lifetime as number)) problems.push(`${path}.maxLifetime must not be shorter than lifetime.`);
    }
    if (p.rotation !== undefined) problems.push(`${path}.rotation is not supported on sliding policies: they always rotate (a reused token could not slide).`);
    return problems;
  }
  return [`${path}.type must be 'none', 'absolute' or 'sliding' (got ${JSON.stringify(p.type)}).`];
}

/** Resolves the policy of a client: its own (inline or by name) or the default for its type. */
export function createPolicyResolver(options: RefreshTokenOptions | undefined): {
  policyFor(client: RegisteredClient): RefreshPolicy;
  problems: string[];
} {
  const named = options?.policies ?? {};
  const problems: string[] = [];
  for (const [name, policy] of Object.entries(named)) problems.push(...checkPolicy(policy, `refreshTokens.policies.${name}`));
  const lookup = (value: RefreshPolicy | string, path: string): RefreshPolicy | undefined => {
    if (typeof value !== 'string') {
      problems.push(...checkPolicy(value, path));
      return value;
    }
    if (!(value in named)) problems.push(`${path} names the policy "${value}", which is not in refreshTokens.policies.`);
    return named[value];
  };
  const confidential = lookup(options?.defaultPolicy?.confidential ?? DEFAULT_CONFIDENTIAL_POLICY, 'refreshTokens.defaultPolicy.confidential') ?? DEFAULT_CONFIDENTIAL_POLICY;
  const publicPolicy = lookup(options?.defaultPolicy?.public ?? DEFAULT_PUBLIC_POLICY, 'refreshTokens.defaultPolicy.public') ?? DEFAULT_PUBLIC_POLICY;

  const cache = new WeakMap<RegisteredClient, RefreshPolicy>();
  return {
    problems,
    policyFor(client) {
      const cached = cache.get(client);
      if (cached) return cached;
      const own = client.refresh_token_policy;
      let policy: RefreshPolicy;
      if (own === undefined) policy = client.token_endpoint_auth_method === 'none' ? publicPolicy : confidential;
      else if (typeof own === 'string') {
        const found = named[own];
        if (!found) throw new Error(`client "${client.client_id}" names refresh_token_policy "${own}", which is not in refreshTokens.policies.`);
        policy = found;
      } else {
        const issues = checkPolicy(own, `client "${client.client_id}" refresh_token_policy`);
        if (issues.length > 0) throw new Error(issues.join(' '));
        policy = own;
      }
      cache.set(client, policy);
      return policy;
    },
  };
}

/** The longest a single token of this policy can live, in seconds (for revocation retention). */
export function longestTokenLifetime(policy: RefreshPolicy): number {
  if (policy.type === 'none') return 0;
  if (policy.type === 'absolute') return policy.lifetime;
  return Math.min(policy.lifetime, policy.maxLifetime ?? policy.lifetime);
}
