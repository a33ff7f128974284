// lib/issuance/refresh-policies.ts
// Refresh-token policies: whether a client gets refresh tokens, how long they live, whether they rotate.
import type { RegisteredClient } from '../contracts/clients';
import type { RefreshPolicy, RefreshTokenOptions } from '../contracts/refresh-policy';
import { checkKeys, checkObject } from '../options/checks';

const DAY = 24 * 3600;

/** Clients without `refresh_token_policy`: 14 days absolute for confidential clients, none for public ones (TelenorID+'s Confidential and Public types). */
export const DEFAULT_CONFIDENTIAL_POLICY: RefreshPolicy = Object.freeze({ type: 'absolute', lifetime: 14 * DAY });
export const DEFAULT_PUBLIC_POLICY: RefreshPolicy = Object.freeze({ type: 'none' });

/** Problems with one policy, each naming `path`. */
export function checkPolicy(policy: unknown, path: string): string[] {
  if (typeof policy !== 'object' || policy === null) return [`${path} must be a refresh policy object ({ type: 'none' | 'absolute' | 'sliding', ... }).`];
  const p = policy as { type?: unknown; lifetime?: unknown; maxLifetime?: unknown; rotation?: unknown };
  const problems: string[] = [];
  const seconds = (value: unknown, name: string) => {
    if (!Number.isInteger(value) || (value as number) < 1) problems.push(`${path}.${name} must be a positive whole number of seconds.`);
  };
  const known: Record<string, readonly string[]> = { none: ['type'], absolute: ['type', 'lifetime', 'rotation'], sliding: ['type', 'lifetime', 'maxLifetime', 'rotation'] };
  if (typeof p.type === 'string' && p.type in known) checkKeys(policy as Record<string, unknown>, path, known[p.type], problems);
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
  /** Names of the configured policies. */
  names: ReadonlySet<string>;
} {
  const problems: string[] = [];
  const shape = checkObject(options, 'refreshTokens', ['policies', 'defaultPolicy'], '{ policies?, defaultPolicy? }', problems);
  const named = (checkObject(shape?.policies, 'refreshTokens.policies', Object.keys(shape?.policies ?? {}), '{ [name]: RefreshPolicy }', problems) ?? {}) as Readonly<Record<string, RefreshPolicy>>;
  checkObject(shape?.defaultPolicy, 'refreshTokens.defaultPolicy', ['confidential', 'public'], '{ confidential?, public? }', problems);
  for (const [name, policy] of Object.entries(named)) problems.push(...checkPolicy(policy, `refreshTokens.policies.${name}`));
  const lookup = (value: RefreshPolicy | string, path: string): RefreshPolicy | undefined => {
    if (typeof value !== 'string') {
      problems.push(...checkPolicy(value, path));
      return value;
    }
    // Own names only: "constructor" or "toString" must not resolve to Object.prototype members.
    if (!Object.hasOwn(named, value)) {
      problems.push(`${path} names the policy "${value}", which is not in refreshTokens.policies.`);
      return undefined;
    }
    return named[value];
  };
  const confidential = lookup(options?.defaultPolicy?.confidential ?? DEFAULT_CONFIDENTIAL_POLICY, 'refreshTokens.defaultPolicy.confidential') ?? DEFAULT_CONFIDENTIAL_POLICY;
  const publicPolicy = lookup(options?.defaultPolicy?.public ?? DEFAULT_PUBLIC_POLICY, 'refreshTokens.defaultPolicy.public') ?? DEFAULT_PUBLIC_POLICY;

  const cache = new WeakMap<RegisteredClient, RefreshPolicy>();
  return {
    problems,
    names: new Set(Object.keys(named)),
    policyFor(client) {
      const cached = cache.get(client);
      if (cached) return cached;
      const own = client.refresh_token_policy;
      let policy: RefreshPolicy;
      if (own === undefined) policy = client.token_endpoint_auth_method === 'none' ? publicPolicy : confidential;
      else if (typeof own === 'string') {
        const found = Object.hasOwn(named, own) ? named[own] : undefined;
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
