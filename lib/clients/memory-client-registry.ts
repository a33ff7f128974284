// lib/clients/memory-client-registry.ts
// An in-memory ClientRegistry that takes plaintext secrets once and keeps only their digests.
import { ConfigurationError } from '../contracts/errors';
import { checkClientRecord, expiryProblem } from './client-record';
import { hashClientSecret, isSecretDigest } from './client-secret';
import type { ClientRegistry, ClientSecretDigest, RegisteredClient, TokenEndpointAuthMethod } from '../contracts/clients';

/**
 * A client definition for {@link createMemoryClientRegistry}: RFC 7591 metadata that may
 * carry plaintext secrets. They are hashed at construction and the plaintext is dropped.
 */
export interface MemoryClientDefinition extends Omit<RegisteredClient, 'client_secrets'> {
  /** One plaintext secret (RFC 7591 `client_secret`). */
  readonly client_secret?: string;
  /** Several plaintext secrets, e.g. old and new during rotation, optionally expiring. */
  readonly client_secret_list?: ReadonlyArray<
    | string
    | {
        /** The plaintext secret. */
        readonly secret: string;
        /** When it stops being accepted, in seconds since the epoch (as RFC 7591 `client_secret_expires_at`). */
        readonly expires_at?: number;
      }
  >;
  /** Already-hashed secrets (see hashClientSecret). */
  readonly client_secrets?: readonly ClientSecretDigest[];
}

/** The methods that authenticate with a secret the registry holds (as digests). */
const SECRET_METHODS: readonly TokenEndpointAuthMethod[] = ['client_secret_basic', 'client_secret_post'];

/**
 * Builds a {@link ClientRegistry} from a list of client definitions. Validates every entry
 * and throws one {@link ConfigurationError} listing all problems.
 *
 * @example
 * const clients = createMemoryClientRegistry([
 *   { client_id: 'svc', client_secret: process.env.SVC_SECRET, grant_types: ['client_credentials'], scope: 'api:read' },
 * ]);
 */
export function createMemoryClientRegistry(definitions: readonly MemoryClientDefinition[]): ClientRegistry {
  if (!Array.isArray(definitions)) {
    throw new ConfigurationError('ERR_TOKEN_ROUTER_CLIENT', ['createMemoryClientRegistry expects an array of client definitions.']);
  }
  const problems: string[] = [];
  const byId = new Map<string, RegisteredClient>();
  definitions.forEach((definition, index) => {
    const path = `clients[${index}]`;
    const own = problems.length;
    const draft = normaliseDefinition(definition, path, problems);
    if (!draft) return;
    // Then the same record checks every registry's records get at the router (field types,
    // URIs, scope syntax …), unless the definition itself was already refused.
    const { client, problems: recordProblems } = checkClientRecord(draft);
    if (problems.length === own) for (const problem of recordProblems) problems.push(`${path}.${problem}.`);
    if (!client) return;
    if (byId.has(client.client_id)) problems.push(`${path}.client_id "${client.client_id}" is registered twice; client ids must be unique.`);
    byId.set(client.client_id, client);
  });
  if (problems.length > 0) throw new ConfigurationError('ERR_TOKEN_ROUTER_CLIENT', problems);
  return {
    findClient: (clientId: string) => Promise.resolve(byId.get(clientId)),
    // Lets createTokenRouter check every client against its own settings (policy names,
    // pairwise salt) at startup.
    entries: () => byId.values(),
  };
}

function normaliseDefinition(definition: MemoryClientDefinition, path: string, problems: string[]): RegisteredClient | undefined {
  if (typeof definition !== 'object' || definition === null) {
    problems.push(`${path} must be an object with at least client_id.`);
    return undefined;
  }
  const { client_secret, client_secret_list, client_secrets, ...rest } = definition;
  if (typeof rest.client_id !== 'string' || rest.client_id.length === 0) {
    problems.push(`${path}.client_id must be a non-empty string.`);
    return undefined;
  }
  // The method name itself is checked by checkClientRecord (and, at the router, against its methods).
  const method = rest.token_endpoint_auth_method ?? 'client_secret_basic';
  const digests: ClientSecretDigest[] = [];
  if (client_secret !== undefined) digests.push({ sha256: hashPlain(client_secret, `${path}.client_secret`, problems) });
  for (const [field, value] of [['client_secret_list', client_secret_list], ['client_secrets', client_secrets]] as const) {
    if (value !== undefined && !Array.isArray(value)) problems.push(`${path}.${field} must be an array.`);
  }
  for (const [i, entry] of (Array.isArray(client_secret_list) ? client_secret_list : []).entries()) {
    const secret = typeof entry === 'string' ? entry : entry?.secret;
    const digest: ClientSecretDigest = { sha256: hashPlain(secret, `${path}.client_secret_list[${i}]`, problems) };
    const expiresAt = typeof entry === 'object' ? entry.expires_at : undefined;
    checkExpiry(expiresAt, `${path}.client_secret_list[${i}].expires_at`, problems);
    digests.push(expiresAt !== undefined ? { ...digest, expires_at: expiresAt } : digest);
  }
  for (const [i, entry] of (Array.isArray(client_secrets) ? client_secrets : []).entries()) {
    checkExpiry(entry?.expires_at, `${path}.client_secrets[${i}].expires_at`, problems);
    if (!isSecretDigest(entry?.sha256)) problems.push(`${path}.client_secrets[${i}].sha256 must be a base64url SHA-256 digest from hashClientSecret().`);
    else digests.push({ ...entry });
  }
  const hasSecret = digests.length > 0 || typeof rest.verify_client_secret === 'function';
  if (method === 'none' && hasSecret) {
    problems.push(`${path} is a public client (token_endpoint_auth_method "none") but has a secret; remove the secret or choose client_secret_basic/client_secret_post.`);
  }
  // Other methods authenticate with keys (jwks), client_secret_jwt_key or a certificate; checkClientRecord and the method check those.
  if (SECRET_METHODS.includes(method) && !hasSecret) {
    problems.push(`${path} uses ${method} but has no secret; add client_secret (or client_secrets digests), or set token_endpoint_auth_method to "none" for a public client.`);
  }
  // checkClientRecord copies and freezes the arrays: changing the host's input later changes nothing.
  const client: Record<string, unknown> = { ...rest };
  if (digests.length > 0) client.client_secrets = digests;
  return client as unknown as RegisteredClient;
}

function checkExpiry(value: unknown, path: string, problems: string[]): void {
  const problem = expiryProblem(value);
  if (problem) problems.push(`${path} ${problem}.`);
}

function hashPlain(secret: unknown, path: string, problems: string[]): string {
  if (typeof secret !== 'string' || secret.length === 0) {
    problems.push(`${path} must be a non-empty string.`);
    return '';
  }
  if (secret.length < 16) problems.push(`${path} is too short to be safe; use at least 16 random characters (32 random bytes recommended).`);
  return hashClientSecret(secret);
}
