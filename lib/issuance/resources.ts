// lib/issuance/resources.ts
// Resource indicators (RFC 8707): the syntax of a `resource` value, the router's catalogue of
// protected resources (the scopes that belong to each, access-token lifetimes), and the checks of
// requested resources against the client and the grant.
import type { RegisteredClient } from '../contracts/clients';
import { OAuthError } from '../contracts/errors';
import type { GrantedResources, ResourceRules } from '../contracts/resources';
import type { ProtectedResourceOptions } from '../options/types';
import { checkInt, checkKeys, isPlainObject } from '../options/checks';

/** Longest resource indicator accepted (as long as a redirect URI may be). */
export const MAX_RESOURCE_LENGTH = 2048;
/** Most `resource` parameters in one request. */
export const MAX_RESOURCES_PER_REQUEST = 10;

// RFC 3986 URIs are printable ASCII: no spaces, no control or non-ASCII characters (which the
// WHATWG parser would silently strip, encode or trim).
const URI_CHARACTERS = /^[\x21-\x7e]+$/;
// RFC 6749 §3.3 scope-token.
const SCOPE_TOKEN = /^[\x21\x23-\x5b\x5d-\x7e]+$/;
/** Scopes about the end user and the grant, never about one API: they cannot belong to a resource. */
const GRANT_SCOPES: ReadonlySet<string> = new Set(['openid', 'offline_access']);

/**
 * Why `value` is not a usable resource indicator (RFC 8707 §2: an absolute URI without fragment,
 * here also printable ASCII and at most {@link MAX_RESOURCE_LENGTH} characters), or undefined.
 * Messages never repeat the value.
 */
export function resourceUriProblem(value: unknown): string | undefined {
  if (typeof value !== 'string' || value.length === 0) return 'must be a non-empty string';
  if (value.length > MAX_RESOURCE_LENGTH) return `must be at most ${MAX_RESOURCE_LENGTH} characters`;
  if (!URI_CHARACTERS.test(value)) return 'must be a URI of printable ASCII characters without spaces (RFC 3986)';
  if (value.includes('#')) return 'must not have a fragment (RFC 8707 §2)';
  try {
    new URL(value);
  } catch {
    return 'must be an absolute URI (RFC 8707 §2)';
  }
  return undefined;
}

/**
 * The `resource` values of a request, syntax-checked (400 `invalid_target`, RFC 8707 §2, without
 * repeating caller text), duplicates dropped, frozen; undefined when there are none.
 */
export function parseResourceParameters(values: readonly string[]): readonly string[] | undefined {
  if (values.length === 0) return undefined;
  if (values.length > MAX_RESOURCES_PER_REQUEST) throw new OAuthError('invalid_target', `Too many resource parameters (at most ${MAX_RESOURCES_PER_REQUEST}).`);
  for (const value of values) {
    if (resourceUriProblem(value) !== undefined) throw new OAuthError('invalid_target', 'A resource parameter is not an absolute URI without a fragment (RFC 8707 section 2).');
  }
  return Object.freeze([...new Set(values)]);
}

/** The router's `resources` option, checked and indexed once. */
export interface ResourceCatalogue {
  /** The configured resource indicators. */
  readonly uris: ReadonlySet<string>;
  /** The longest `accessTokenTtl` of any resource (seconds), for key-rotation timing; 0 when none sets one. */
  readonly longestTtl: number;
  /** The shortest `accessTokenTtl` among `resources` (seconds), or undefined when none of them sets one. */
  ttlFor(resources: readonly string[]): number | undefined;
  /**
   * The scope an access token for `resources` carries: the scopes that belong to one of them or to
   * no configured resource. `scope` itself when `resources` is empty.
   */
  narrowScope(scope: readonly string[], resources: readonly string[]): readonly string[];
  /**
   * Checks requested resources against the client's registered `resources` (kept only when the
   * router knows them) and `rules`; see `GrantContext.grantResources`.
   */
  grant(client: RegisteredClient, requested: readonly string[] | undefined, rules?: ResourceRules): GrantedResources;
  /** Syntax, count and the client's list, for resources requested outside `/token` (see `GrantContributionContext.checkResources`). */
  check(client: RegisteredClient, requested: readonly string[]): readonly string[];
}

interface ResourceEntry {
  readonly accessTokenTtl: number | undefined;
}

/**
 * Checks the `resources` option (problems pushed with the option path, resource URIs shown as
 * configured) and builds the catalogue. Undefined means no resources.
 */
export function resolveResources(value: unknown, problems: string[]): ResourceCatalogue {
  const entries = new Map<string, ResourceEntry>();
  // scope → the resources it belongs to.
  const owners = new Map<string, Set<string>>();
  if (value !== undefined && !isPlainObject(value)) {
    problems.push('resources must be an object { [resource URI]: { scopes?, accessTokenTtl? } }.');
  } else if (value !== undefined) {
    for (const [uri, settings] of Object.entries(value)) {
      const path = `resources[${JSON.stringify(uri.length > 100 ? `${uri.slice(0, 100)}…` : uri)}]`;
      const problem = resourceUriProblem(uri);
      if (problem) problems.push(`${path}: the key is the resource indicator and ${problem}.`);
      if (!isPlainObject(settings)) {
        problems.push(`${path} must be an object { scopes?, accessTokenTtl? } (use {} for a resource without settings).`);
        continue;
      }
      const options = settings as ProtectedResourceOptions;
      checkKeys(settings, path, ['scopes', 'accessTokenTtl'], problems);
      checkInt(options.accessTokenTtl, `${path}.accessTokenTtl`, 1, 86_400, 'seconds', problems, 'JWT access tokens cannot be recalled, keep them short');
      const scopes: unknown = options.scopes;
      if (scopes !== undefined) {
        if (!Array.isArray(scopes) || !scopes.every((scope) => typeof scope === 'string' && SCOPE_TOKEN.test(scope))) {
          problems.push(`${path}.scopes must be an array of scope tokens (RFC 6749 §3.3), e.g. ["orders:read"].`);
        } else {
          for (const scope of scopes as string[]) {
            if (GRANT_SCOPES.has(scope)) problems.push(`${path}.scopes must not contain ${scope}: it is about the user and the grant, not one resource.`);
            let set = owners.get(scope);
            if (!set) owners.set(scope, (set = new Set()));
            set.add(uri);
          }
        }
      }
      entries.set(uri, { accessTokenTtl: typeof options.accessTokenTtl === 'number' ? options.accessTokenTtl : undefined });
    }
  }
  return createCatalogue(entries, owners);
}

function createCatalogue(entries: ReadonlyMap<string, ResourceEntry>, owners: ReadonlyMap<string, ReadonlySet<string>>): ResourceCatalogue {
  const uris: ReadonlySet<string> = new Set(entries.keys());
  let longestTtl = 0;
  for (const entry of entries.values()) longestTtl = Math.max(longestTtl, entry.accessTokenTtl ?? 0);
  // Per client record: what it may request (its list, limited to what the router knows).
  const allowedCache = new WeakMap<RegisteredClient, ReadonlySet<string>>();
  const allowedFor = (client: RegisteredClient): ReadonlySet<string> => {
    let allowed = allowedCache.get(client);
    if (!allowed) {
      allowed = new Set((client.resources ?? []).filter((uri) => uris.has(uri)));
      allowedCache.set(client, allowed);
    }
    return allowed;
  };
  const assertAllowed = (requested: readonly string[], allowed: ReadonlySet<string>, what: string): void => {
    for (const uri of requested) {
      if (typeof uri !== 'string' || !allowed.has(uri)) throw new OAuthError('invalid_target', `A requested resource is not allowed for ${what}.`);
    }
  };
  return {
    uris,
    longestTtl,
    ttlFor(resources) {
      let ttl: number | undefined;
      for (const uri of resources) {
        const own = entries.get(uri)?.accessTokenTtl;
        if (own !== undefined && (ttl === undefined || own < ttl)) ttl = own;
      }
      return ttl;
    },
    narrowScope(scope, resources) {
      if (resources.length === 0) return scope;
      return scope.filter((token) => {
        const of = owners.get(token);
        return of === undefined || resources.some((uri) => of.has(uri));
      });
    },
    grant(client, requested, rules) {
      const allowed = allowedFor(client);
      if (requested === undefined) {
        const fallback = rules?.fallback ?? [];
        const kept = fallback.filter((uri) => allowed.has(uri));
        // A grant for resources must not turn into a token for the default audience.
        if (fallback.length > 0 && kept.length === 0) throw new OAuthError('invalid_target', 'None of the granted resources is still allowed for this client.');
        return granted([...new Set(kept)]);
      }
      if (!Array.isArray(requested)) throw new TypeError('grantResources: requested must be an array of resource URIs or undefined.');
      if (rules?.within !== undefined) assertAllowed(requested, new Set(rules.within), rules.withinDescription ?? 'this grant');
      assertAllowed(requested, allowed, 'this client');
      return granted([...new Set(requested)]);
    },
    check(client, requested) {
      const parsed = parseResourceParameters(requested) ?? [];
      assertAllowed(parsed, allowedFor(client), 'this client');
      return parsed;
    },
  };
}

// Arrays handed out by grant(): frozen (the grant cannot change them after the check), remembered
// so issueTokens and issueFirst refuse any other array, cast or not.
const grantedLists = new WeakSet<readonly string[]>();

function granted(resources: string[]): GrantedResources {
  Object.freeze(resources);
  grantedLists.add(resources);
  return resources as readonly string[] as GrantedResources;
}

/** Throws (a server error: the grant's bug, not the client's) unless `resources` came from grantResources. */
export function assertGrantedResources(resources: unknown, where: string): asserts resources is GrantedResources {
  if (!Array.isArray(resources) || !grantedLists.has(resources)) {
    throw new TypeError(`${where}: resources must be the value ctx.grantResources() returned (checked against the client), not another array.`);
  }
}
