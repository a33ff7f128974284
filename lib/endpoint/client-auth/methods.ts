// lib/endpoint/client-auth/methods.ts
// The client-authentication seam's registry: the built-in JWT methods plus the host's
// `clientAuthentication.methods`, each checked once at startup.
import type { ClientAuthenticationMethod } from '../../contracts/client-auth';
import { isPlainObject } from '../../options/checks';
import { COMPUTED_METADATA_MEMBERS } from '../../well-known/discovery';
import { SUPPORTED_AUTH_METHODS } from '../../clients/client-record';

/** A method name: RFC 7591 leaves it open; we keep it printable and short enough for logs. */
const METHOD_NAME = /^[A-Za-z0-9_.:-]{1,64}$/;
const MAX_ASSERTION_TYPE_LENGTH = 256;

/** The registered methods, by name, with what discovery publishes about them. */
export interface ClientAuthMethods {
  readonly byName: ReadonlyMap<string, ClientAuthenticationMethod>;
  /** `token_endpoint_auth_methods_supported`: the built-ins, then the plugged-in methods. */
  readonly names: readonly string[];
  /** `token_endpoint_auth_signing_alg_values_supported`. */
  readonly signingAlgorithms: readonly string[];
  /** Discovery members the methods add. */
  readonly metadata: Readonly<Record<string, unknown>>;
  /** Some method reads TLS client certificates. */
  readonly usesClientCertificates: boolean;
}

/**
 * Checks the host's methods (every field, at startup) and registers them after the built-in ones.
 * Problems name `clientAuthentication.methods[i]` and the field.
 */
export function resolveClientAuthMethods(builtIn: readonly ClientAuthenticationMethod[], hostMethods: unknown, problems: string[]): ClientAuthMethods {
  const byName = new Map<string, ClientAuthenticationMethod>();
  const assertionTypes = new Set<string>();
  const metadata: Record<string, unknown> = {};
  const add = (method: ClientAuthenticationMethod): void => {
    byName.set(method.name, method);
    if (typeof method.credential === 'object') assertionTypes.add(method.credential.assertionType);
  };
  builtIn.forEach(add);
  if (hostMethods !== undefined && !Array.isArray(hostMethods)) problems.push('clientAuthentication.methods must be an array of client-authentication methods, e.g. [tlsClientAuth()].');
  const list: readonly unknown[] = Array.isArray(hostMethods) ? hostMethods : [];
  list.forEach((candidate, i) => {
    const at = `clientAuthentication.methods[${i}]`;
    const before = problems.length;
    if (!isPlainObject(candidate)) {
      problems.push(`${at} must be a ClientAuthenticationMethod { name, credential, authenticate(client, request) }.`);
      return;
    }
    const m = candidate;
    const name = m.name;
    if (typeof name !== 'string' || !METHOD_NAME.test(name)) problems.push(`${at}.name must be 1 to 64 letters, digits or _ . : - (a token_endpoint_auth_method value).`);
    else if (byName.has(name) || SUPPORTED_AUTH_METHODS.includes(name)) problems.push(`${at}.name "${name}" is already registered (built-in or listed twice).`);
    const credential = m.credential;
    if (credential !== 'client_id') {
      const type = isPlainObject(credential) ? credential.assertionType : undefined;
      if (typeof type !== 'string' || type.length === 0 || type.length > MAX_ASSERTION_TYPE_LENGTH) problems.push(`${at}.credential must be 'client_id' or { assertionType: '<client_assertion_type URI>' }.`);
      else if (assertionTypes.has(type)) problems.push(`${at}.credential.assertionType is already served by another method.`);
    }
    if (typeof m.authenticate !== 'function') problems.push(`${at}.authenticate must be a function (client, request) => Promise<{ authenticated: true } | { authenticated: false, reason }>.`);
    if (m.usesClientCertificates !== undefined && typeof m.usesClientCertificates !== 'boolean') problems.push(`${at}.usesClientCertificates must be true or false.`);
    for (const hook of ['assertionSubject', 'checkClient'] as const) {
      if (m[hook] !== undefined && typeof m[hook] !== 'function') problems.push(`${at}.${hook} must be a function when present.`);
    }
    const algs = m.signingAlgorithms;
    if (algs !== undefined && !(Array.isArray(algs) && algs.every((alg) => typeof alg === 'string' && alg.length > 0 && alg !== 'none'))) problems.push(`${at}.signingAlgorithms must be an array of JWS algorithm names (never "none").`);
    const discovery = m.discovery;
    if (discovery !== undefined) {
      if (!isPlainObject(discovery)) problems.push(`${at}.discovery must be an object of discovery members.`);
      else {
        for (const [member, value] of Object.entries(discovery)) {
          if (COMPUTED_METADATA_MEMBERS.has(member)) problems.push(`${at}.discovery sets ${member}, which the router computes.`);
          // Two methods may publish the same member (both mTLS methods do) only with the same value.
          else if (member in metadata && JSON.stringify(metadata[member]) !== JSON.stringify(value)) problems.push(`${at}.discovery sets ${member}, which another method sets differently.`);
          else metadata[member] = value;
        }
      }
    }
    if (problems.length === before) add(m as unknown as ClientAuthenticationMethod);
  });
  const names = [...SUPPORTED_AUTH_METHODS, ...[...byName.keys()].filter((name) => !SUPPORTED_AUTH_METHODS.includes(name))];
  const signingAlgorithms = [...new Set([...byName.values()].flatMap((method) => method.signingAlgorithms ?? []))];
  const usesClientCertificates = [...byName.values()].some((method) => method.usesClientCertificates === true);
  return { byName, names, signingAlgorithms, metadata, usesClientCertificates };
}
