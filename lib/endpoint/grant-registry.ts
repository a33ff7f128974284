// lib/endpoint/grant-registry.ts
// Checks the grant strategies once, at createTokenRouter: shape, unique grant types, parameter
// rules, and the storage methods each declares in `requires` (one central check, instead of each
// grant re-checking its own). Each grant then gets a storage view with exactly those methods.
import { STORAGE_METHODS, type AnyEndpointPlugin, type AnyGrantStrategy, type GrantStorage, type ParameterSpec, type ParameterSpecs, type StorageMethodName } from '../contracts/grant';
import { checkKeys } from '../options/checks';
import type { StorageAdapter } from '../contracts/storage';
import { compileParameters, type CompiledParameters } from './validate-parameters';

/** A grant strategy after the startup checks. */
export interface PreparedGrant {
  readonly strategy: AnyGrantStrategy;
  readonly parameters: CompiledParameters;
  /** The methods the strategy declared in `requires`, bound to the storage adapter. */
  readonly storage: GrantStorage<StorageMethodName>;
}

// The fields of ParameterSpec, typed so a new field cannot be forgotten here.
const PARAMETER_SPEC_KEY_SET: { readonly [K in keyof Required<ParameterSpec>]: true } = { required: true, maxLength: true, pattern: true, patternDescription: true, exclusive: true };
const PARAMETER_SPEC_KEYS = Object.keys(PARAMETER_SPEC_KEY_SET);

/** Parameters the router reads itself; a grant cannot declare them (`resource`: RFC 8707, see ctx.requestedResources). */
const ROUTER_PARAMETERS = new Set(['grant_type', 'client_id', 'client_secret', 'client_assertion', 'client_assertion_type', 'scope', 'resource']);

/**
 * Checks every strategy and prepares it. `describe(index)` names a strategy in messages (the
 * option path); `hint` is appended to storage problems. Problems are pushed, never thrown.
 */
export function prepareGrants(
  list: readonly AnyGrantStrategy[],
  storage: Partial<StorageAdapter> | undefined,
  issuer: string,
  describe: (index: number) => string,
  hint: string,
  problems: string[],
): Map<string, PreparedGrant> {
  const map = new Map<string, PreparedGrant>();
  list.forEach((grant, index) => {
    const at = describe(index);
    if (typeof grant !== 'object' || grant === null) {
      problems.push(`${at} must be a grant strategy object (e.g. clientCredentials()).`);
      return;
    }
    if (typeof grant.grantType !== 'string' || !/^[\x21-\x7e]+$/.test(grant.grantType)) {
      problems.push(`${at}.grantType must be a non-empty grant_type value or URN without spaces.`);
      return;
    }
    if (map.has(grant.grantType)) {
      problems.push(`${at}.grantType "${grant.grantType}" is already served by another strategy; each grant type may appear once.`);
      return;
    }
    if (typeof grant.handle !== 'function') problems.push(`${at}.handle must be an async function (ctx) => TokenResponse.`);
    if (typeof grant.allowPublicClients !== 'boolean') problems.push(`${at}.allowPublicClients must be true or false.`);
    if (grant.contribute !== undefined && typeof grant.contribute !== 'function') problems.push(`${at}.contribute must be a function (context) => contribution.`);
    if (grant.validateSetup !== undefined && typeof grant.validateSetup !== 'function') problems.push(`${at}.validateSetup must be a function (setup) => problems.`);
    checkParameterSpecs(grant.parameters, `${at}.parameters`, problems);
    if (grant.paramsDto !== undefined && typeof grant.paramsDto !== 'function') problems.push(`${at}.paramsDto must be a class (constructor).`);
    if (typeof grant.validateSetup === 'function') {
      const found: unknown = grant.validateSetup({ storage, issuer });
      if (!Array.isArray(found)) problems.push(`${at} (${grant.grantType}): validateSetup must return an array of problem messages (empty when all is well).`);
      else for (const problem of found) problems.push(`${at} (${grant.grantType}): ${String(problem)}`);
    }
    const view = storageView(grant.requires, storage, `${at} (${grant.grantType})`, hint, problems);
    map.set(grant.grantType, { strategy: grant, parameters: compileParameters(grant.parameters ?? {}), storage: view });
  });
  return map;
}

/** An endpoint plug-in after the startup checks. */
export interface PreparedEndpointPlugin {
  readonly plugin: AnyEndpointPlugin;
  /** Names it in messages: `endpoints[0] (revocation)`. */
  readonly at: string;
  readonly storage: GrantStorage<StorageMethodName>;
}

/** Checks the `endpoints` option: plug-in shape, unique names, settings, storage methods. */
export function prepareEndpointPlugins(
  list: readonly AnyEndpointPlugin[] | undefined,
  storage: Partial<StorageAdapter> | undefined,
  issuer: string,
  problems: string[],
): PreparedEndpointPlugin[] {
  if (list === undefined) return [];
  if (!Array.isArray(list)) {
    problems.push('endpoints must be an array of endpoint plug-ins, e.g. [revocation(), introspection({ ... })].');
    return [];
  }
  const prepared: PreparedEndpointPlugin[] = [];
  const names = new Set<string>();
  list.forEach((plugin: unknown, index) => {
    const candidate = plugin as Partial<AnyEndpointPlugin> | null;
    if (typeof candidate !== 'object' || candidate === null || typeof candidate.name !== 'string' || candidate.name === '' || typeof candidate.contribute !== 'function') {
      problems.push(`endpoints[${index}] must be an endpoint plug-in { name, contribute(context) } (e.g. revocation()).`);
      return;
    }
    const at = `endpoints[${index}] (${candidate.name})`;
    if (names.has(candidate.name)) {
      problems.push(`${at}: the plug-in ${candidate.name} is already in endpoints; each may appear once.`);
      return;
    }
    names.add(candidate.name);
    if (candidate.validateSetup !== undefined && typeof candidate.validateSetup !== 'function') problems.push(`${at}.validateSetup must be a function (setup) => problems.`);
    else if (candidate.validateSetup) {
      const found: unknown = candidate.validateSetup({ storage, issuer });
      if (!Array.isArray(found)) problems.push(`${at}: validateSetup must return an array of problem messages (empty when all is well).`);
      else for (const problem of found) problems.push(`${at}: ${String(problem)}`);
    }
    const view = storageView(candidate.requires, storage, at, '', problems);
    prepared.push({ plugin: candidate as AnyEndpointPlugin, at, storage: view });
  });
  return prepared;
}

/**
 * The storage methods `requires` names, bound to the adapter, after checking each exists.
 * Shared by grants and anything else that declares storage needs.
 */
export function storageView(
  requires: readonly StorageMethodName[] | undefined,
  storage: Partial<StorageAdapter> | undefined,
  at: string,
  hint: string,
  problems: string[],
): GrantStorage<StorageMethodName> {
  const view: Record<string, unknown> = {};
  if (requires === undefined) return Object.freeze(view) as GrantStorage<StorageMethodName>;
  if (!Array.isArray(requires)) {
    problems.push(`${at}: requires must be an array of storage method names (e.g. ['findRefreshToken']).`);
    return Object.freeze(view) as GrantStorage<StorageMethodName>;
  }
  for (const method of requires) {
    if (!STORAGE_METHODS.includes(method)) {
      problems.push(`${at}: requires names "${String(method)}", which is not a storage method (known: ${STORAGE_METHODS.join(', ')}).`);
      continue;
    }
    const fn: unknown = storage?.[method as StorageMethodName];
    if (typeof fn !== 'function') {
      problems.push(`${at}: needs storage.${method}(); pass storage: createMemoryStorage() or a durable adapter${hint}.`);
      continue;
    }
    // Looked up on each call (not bound once): an adapter may replace a method at run time (a proxy, a test double).
    const adapter = storage as Record<string, (...args: unknown[]) => unknown>;
    view[method] = (...args: unknown[]) => adapter[method](...args);
  }
  // Only the declared methods: a grant that calls an undeclared one fails loudly in development.
  return Object.freeze(view) as GrantStorage<StorageMethodName>;
}

/** Checks a strategy's (or a contributed endpoint's) parameter rules. */
export function checkParameterSpecs(specs: ParameterSpecs | undefined, at: string, problems: string[]): void {
  if (typeof specs !== 'object' || specs === null) {
    problems.push(`${at} must be an object mapping parameter names to { required?, maxLength?, pattern? }.`);
    return;
  }
  for (const [name, spec] of Object.entries(specs)) {
    if (ROUTER_PARAMETERS.has(name)) problems.push(`${at}.${name}: the router handles ${name} itself; do not declare it.`);
    if (typeof spec !== 'object' || spec === null) {
      problems.push(`${at}.${name} must be an object { required?, maxLength?, pattern?, patternDescription?, exclusive? }.`);
      continue;
    }
    checkKeys(spec as Record<string, unknown>, `${at}.${name}`, PARAMETER_SPEC_KEYS, problems);
    if (spec.maxLength !== undefined && (!Number.isInteger(spec.maxLength) || spec.maxLength < 1)) problems.push(`${at}.${name}.maxLength must be a positive integer.`);
    if (spec.pattern !== undefined && !(spec.pattern instanceof RegExp)) problems.push(`${at}.${name}.pattern must be a RegExp.`);
    if (spec.pattern?.global || spec.pattern?.sticky) problems.push(`${at}.${name}.pattern must not use the g or y flag (it would make test() stateful).`);
  }
}
