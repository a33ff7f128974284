// lib/clients/client-record.ts
// The client-registry boundary: every record a ClientRegistry returns is checked and normalised
// here before any part of the library reads it (RFC 7591 §2 field types plus our extensions).
import type { RegisteredClient, TokenEndpointAuthMethod } from '../contracts/clients';
import type { ClientAuthenticationMethod } from '../contracts/client-auth';
import type { RefreshPolicy } from '../contracts/refresh-policy';
import { isSecretDigest } from './client-secret';
import { resourceUriProblem } from '../issuance/resources';
import { httpsUrlProblem } from '../options/checks';

/** The client-authentication methods every router serves (RFC 7591 §2 names); more plug in through `clientAuthentication.methods`. */
export const SUPPORTED_AUTH_METHODS: readonly TokenEndpointAuthMethod[] = ['client_secret_basic', 'client_secret_post', 'none', 'private_key_jwt', 'client_secret_jwt'];
/** A method name a plugged-in method may have (checked again against the router's methods where rules apply). */
const PLUGGABLE_METHOD_NAME = /^[A-Za-z0-9_.:-]{1,64}$/;

/** JWS algorithms accepted for `private_key_jwt` assertions (asymmetric only). */
export const PRIVATE_KEY_JWT_ALGS: readonly string[] = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512'];
/** JWS algorithms accepted for `client_secret_jwt` assertions (HMAC only). */
export const CLIENT_SECRET_JWT_ALGS: readonly string[] = ['HS256', 'HS384', 'HS512'];
/** Shortest `client_secret_jwt_key` in bytes: at least as long as the hash of its algorithm (RFC 7518 §3.2). */
export const MIN_CLIENT_SECRET_JWT_KEY_LENGTH = 32;
const MIN_HMAC_KEY_BYTES: Readonly<Record<string, number>> = { HS256: 32, HS384: 48, HS512: 64 };
/** JWK members that only a private or symmetric key has. */
export const PRIVATE_JWK_MEMBERS: readonly string[] = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];

/** Router settings a record must agree with; without them only the record's own shape is checked. */
export interface ClientRecordRules {
  /** Names of `refreshTokens.policies`. */
  readonly policyNames: ReadonlySet<string>;
  /** Problems with an inline refresh policy (`refresh_token_policy` as an object). */
  readonly checkPolicy: (policy: RefreshPolicy, path: string) => string[];
  /** Whether `subjects.pairwiseSalt` is configured. */
  readonly pairwiseSaltConfigured: boolean;
  /** The resource indicators of the router's `resources` option. */
  readonly knownResources: ReadonlySet<string>;
  /** The methods plugged into the client-authentication seam (built-in JWT methods included), by name. */
  readonly authMethods: ReadonlyMap<string, ClientAuthenticationMethod>;
  /** Whether the router serves certificate-bound access tokens (it reads client certificates). */
  readonly certificateBoundTokens: boolean;
}

const MAX_CLIENT_ID_LENGTH = 256;
/** Longest `jwks_uri`. */
const MAX_JWKS_URI_LENGTH = 2048;
// RFC 6749 §3.3 scope-token, and grant types: printable ASCII without spaces.
const SCOPE_TOKEN = /^[\x21\x23-\x5b\x5d-\x7e]+$/;
const GRANT_TYPE = /^[\x21-\x7e]+$/;

/**
 * Checks one record. Returns the normalised, frozen client (arrays copied) when there are no
 * problems; every problem names the field and what is expected, never a secret's value.
 */
export function checkClientRecord(record: unknown, rules?: ClientRecordRules): { client: RegisteredClient | undefined; problems: string[] } {
  const problems: string[] = [];
  if (typeof record !== 'object' || record === null || Array.isArray(record)) {
    return { client: undefined, problems: [`must be an object with client_id (got ${describe(record)})`] };
  }
  const r = record as Record<string, unknown>;
  if (typeof r.client_id !== 'string' || r.client_id.length === 0 || r.client_id.length > MAX_CLIENT_ID_LENGTH) {
    problems.push(`client_id must be a string of 1 to ${MAX_CLIENT_ID_LENGTH} characters (got ${describe(r.client_id)})`);
  }
  optionalString(r, 'client_name', problems);

  const method = r.token_endpoint_auth_method ?? 'client_secret_basic';
  const builtIn = SUPPORTED_AUTH_METHODS.includes(method as TokenEndpointAuthMethod);
  // A plugged-in method's record is checked by the method (its checkClient), below.
  const plugged = builtIn || typeof method !== 'string' ? undefined : rules?.authMethods.get(method);
  if (!builtIn && plugged === undefined && (rules !== undefined || typeof method !== 'string' || !PLUGGABLE_METHOD_NAME.test(method))) {
    const supported = [...new Set([...SUPPORTED_AUTH_METHODS, ...(rules?.authMethods.keys() ?? [])])];
    problems.push(`token_endpoint_auth_method ${describeName(method)} is not supported by this server (supported: ${supported.join(', ')})`);
  }
  const grantTypes = stringArray(r, 'grant_types', GRANT_TYPE, 'grant type values (RFC 7591 §2), e.g. ["client_credentials"]', problems);
  const redirectUris = stringArray(r, 'redirect_uris', undefined, 'absolute URIs', problems);
  redirectUris?.forEach((uri, i) => {
    const problem = uriProblem(uri, false);
    if (problem) problems.push(`redirect_uris[${i}] ${problem}`);
  });
  scopeString(r, 'scope', problems);
  scopeString(r, 'default_scope', problems);
  // RFC 8707 resource indicators, each one the router knows (like refresh_token_policy names).
  const resources = stringArray(r, 'resources', undefined, 'resource URIs (RFC 8707), e.g. ["https://api.example.com"]', problems);
  resources?.forEach((uri, i) => {
    const problem = resourceUriProblem(uri);
    if (problem) problems.push(`resources[${i}] ${problem}`);
    else if (rules && !rules.knownResources.has(uri)) problems.push(`resources[${i}] is not one of the router's resources (add it to the resources option, or remove it here)`);
  });

  // Secrets: digests only; a plaintext secret in a record is a migration mistake, refused loudly.
  if (r.client_secret !== undefined) {
    problems.push('client_secret holds a plaintext secret; a registry must store digests only: client_secrets: [{ sha256: hashClientSecret(secret) }] (or verify_client_secret for slow hashes such as scrypt)');
  }
  const digests = r.client_secrets;
  if (digests !== undefined) {
    if (!Array.isArray(digests)) problems.push(`client_secrets must be an array of { sha256, expires_at? } (got ${describe(digests)})`);
    else {
      digests.forEach((entry: unknown, i) => {
        const e = entry as { sha256?: unknown; expires_at?: unknown } | null;
        if (typeof e !== 'object' || e === null || !isSecretDigest(e.sha256)) problems.push(`client_secrets[${i}].sha256 must be a base64url SHA-256 digest from hashClientSecret()`);
        const expiry = expiryProblem(e?.expires_at);
        if (expiry) problems.push(`client_secrets[${i}].expires_at ${expiry}`);
      });
    }
  }
  if (r.verify_client_secret !== undefined && typeof r.verify_client_secret !== 'function') {
    problems.push(`verify_client_secret must be a function (secret) => boolean | Promise<boolean> (got ${typeof r.verify_client_secret})`);
  }
  const hasSecret = (Array.isArray(digests) && digests.length > 0) || typeof r.verify_client_secret === 'function';
  const jwtMethod = method === 'private_key_jwt' || method === 'client_secret_jwt';
  checkJwtClientAuth(r, method, problems);
  if ((jwtMethod || (!builtIn && typeof method === 'string' && PLUGGABLE_METHOD_NAME.test(method))) && hasSecret) problems.push(`token_endpoint_auth_method is "${String(method)}", which never uses client_secrets or verify_client_secret; remove them (a client authenticates with one method)`);
  if (method === 'none' && hasSecret) problems.push('token_endpoint_auth_method is "none" (a public client) but the record has a secret; remove it or choose client_secret_basic/client_secret_post');
  if (!jwtMethod && method !== 'none' && SUPPORTED_AUTH_METHODS.includes(method as TokenEndpointAuthMethod) && !hasSecret && r.client_secret === undefined) {
    problems.push(`token_endpoint_auth_method is "${String(method)}" but the record has no client_secrets digest or verify_client_secret`);
  }

  if (r.subject_type !== undefined && r.subject_type !== 'public' && r.subject_type !== 'pairwise') {
    problems.push(`subject_type must be "public" or "pairwise" (got ${describeName(r.subject_type)})`);
  }
  if (r.sector_identifier_uri !== undefined) {
    const problem = typeof r.sector_identifier_uri === 'string' ? uriProblem(r.sector_identifier_uri, true) : `must be a string (got ${describe(r.sector_identifier_uri)})`;
    if (problem) problems.push(`sector_identifier_uri ${problem}`);
  }
  if (r.subject_type === 'pairwise') {
    if (rules && !rules.pairwiseSaltConfigured) problems.push('subject_type is "pairwise" but the router has no subjects.pairwiseSalt');
    if (r.sector_identifier_uri === undefined && redirectUris !== undefined) {
      const hosts = new Set(redirectUris.map((uri) => hostOf(uri)));
      if (hosts.size !== 1) problems.push(`subject_type is "pairwise" but redirect_uris span ${hosts.size} hosts; register a sector_identifier_uri (OIDC Core §8.1)`);
    } else if (r.sector_identifier_uri === undefined) {
      problems.push('subject_type is "pairwise" but there is neither a sector_identifier_uri nor redirect_uris to take the sector from (OIDC Core §8.1)');
    }
  }

  const policy = r.refresh_token_policy;
  if (policy !== undefined) {
    if (typeof policy === 'string') {
      if (rules && !rules.policyNames.has(policy)) {
        problems.push(`refresh_token_policy names the policy ${describeName(policy)}, which is not in the router's refreshTokens.policies (known: ${[...rules.policyNames].join(', ') || 'none'})`);
      }
    } else if (typeof policy === 'object' && policy !== null) {
      if (rules) problems.push(...rules.checkPolicy(policy as RefreshPolicy, 'refresh_token_policy'));
    } else problems.push(`refresh_token_policy must be a policy name or a policy object (got ${describe(policy)})`);
  }
  if (r.update_access_token_claims !== undefined && typeof r.update_access_token_claims !== 'boolean') {
    problems.push(`update_access_token_claims must be true or false (got ${describe(r.update_access_token_claims)})`);
  }
  if (r.dpop_bound_access_tokens !== undefined && typeof r.dpop_bound_access_tokens !== 'boolean') {
    problems.push(`dpop_bound_access_tokens must be true or false (got ${describe(r.dpop_bound_access_tokens)})`);
  }
  if (r.tls_client_certificate_bound_access_tokens !== undefined && typeof r.tls_client_certificate_bound_access_tokens !== 'boolean') {
    problems.push(`tls_client_certificate_bound_access_tokens must be true or false (got ${describe(r.tls_client_certificate_bound_access_tokens)})`);
  } else if (r.tls_client_certificate_bound_access_tokens === true && rules && !rules.certificateBoundTokens) {
    problems.push('tls_client_certificate_bound_access_tokens is true but the router reads no client certificates: add tlsClientAuth() or selfSignedTlsClientAuth() to clientAuthentication.methods, or set clientAuthentication.clientCertificate');
  }
  if (r.introspection_allowed !== undefined && typeof r.introspection_allowed !== 'boolean') {
    problems.push(`introspection_allowed must be true or false (got ${describe(r.introspection_allowed)})`);
  }
  const audience = r.access_token_audience;
  if (audience !== undefined && !(typeof audience === 'string' ? audience.length > 0 : Array.isArray(audience) && audience.length > 0 && audience.every((a) => typeof a === 'string' && a.length > 0))) {
    problems.push(`access_token_audience must be a non-empty string or a non-empty array of non-empty strings (got ${describe(audience)})`);
  }
  const ttl = r.access_token_ttl;
  if (ttl !== undefined && (!Number.isInteger(ttl) || (ttl as number) < 1 || (ttl as number) > 86_400)) {
    problems.push(`access_token_ttl must be a whole number of seconds from 1 to 86400 (got ${describe(ttl)})`);
  }
  if (r.metadata !== undefined && (typeof r.metadata !== 'object' || r.metadata === null || Array.isArray(r.metadata))) {
    problems.push(`metadata must be an object (got ${describe(r.metadata)})`);
  }
  if (problems.length > 0) return { client: undefined, problems };

  // Normalised copy: arrays copied and frozen, so changing the host's object later changes nothing.
  const client: Record<string, unknown> = { ...r };
  if (grantTypes) client.grant_types = Object.freeze([...grantTypes]);
  if (redirectUris) client.redirect_uris = Object.freeze([...redirectUris]);
  if (resources) client.resources = Object.freeze([...resources]);
  if (Array.isArray(digests)) client.client_secrets = Object.freeze(digests.map((d) => Object.freeze({ ...(d as object) })));
  if (Array.isArray(audience)) client.access_token_audience = Object.freeze([...audience]);
  const checked = Object.freeze(client) as unknown as RegisteredClient;
  if (plugged?.checkClient !== undefined) {
    let methodProblems: readonly string[];
    try {
      methodProblems = plugged.checkClient(checked);
    } catch {
      methodProblems = [`token_endpoint_auth_method "${plugged.name}": the method's checkClient threw`];
    }
    if (!Array.isArray(methodProblems) || methodProblems.some((p) => typeof p !== 'string')) methodProblems = [`token_endpoint_auth_method "${plugged.name}": the method's checkClient must return an array of strings`];
    if (methodProblems.length > 0) return { client: undefined, problems: [...methodProblems] };
  }
  return { client: checked, problems };
}

function optionalString(r: Record<string, unknown>, field: string, problems: string[]): void {
  if (r[field] !== undefined && typeof r[field] !== 'string') problems.push(`${field} must be a string (got ${describe(r[field])})`);
}

function stringArray(r: Record<string, unknown>, field: string, pattern: RegExp | undefined, what: string, problems: string[]): readonly string[] | undefined {
  const value = r[field];
  if (value === undefined) return undefined;
  if (!Array.isArray(value)) {
    problems.push(`${field} must be an array of ${what} (got ${describe(value)})`);
    return undefined;
  }
  const bad = value.findIndex((item) => typeof item !== 'string' || item.length === 0 || (pattern !== undefined && !pattern.test(item)));
  if (bad !== -1) {
    problems.push(`${field}[${bad}] must be a non-empty string${pattern ? ' without spaces' : ''} (got ${describe(value[bad])})`);
    return undefined;
  }
  return value as string[];
}

function scopeString(r: Record<string, unknown>, field: string, problems: string[]): void {
  const value = r[field];
  if (value === undefined) return;
  if (typeof value !== 'string') {
    problems.push(`${field} must be a space-separated string of scopes (RFC 7591 §2), e.g. "api:read api:write" (got ${describe(value)})`);
    return;
  }
  if (!value.split(' ').every((token) => token.length === 0 || SCOPE_TOKEN.test(token))) {
    problems.push(`${field} contains characters outside the RFC 6749 §3.3 scope syntax`);
  }
}

// Absolute, no fragment (RFC 6749 §3.1.2); https only where asked (sector_identifier_uri, OIDC Core §8.1).
function uriProblem(uri: string, httpsOnly: boolean): string | undefined {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    return 'must be an absolute URI';
  }
  if (uri.includes('#')) return 'must not have a fragment (RFC 6749 §3.1.2)';
  if (httpsOnly && url.protocol !== 'https:') return 'must be an https URL';
  return undefined;
}

function hostOf(uri: string): string {
  try {
    return new URL(uri).hostname;
  } catch {
    return uri;
  }
}

// Seconds since the epoch, as RFC 7591's client_secret_expires_at. Values past the year 5138
// are almost certainly milliseconds, which would make a secret live forever.
export function expiryProblem(value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > 1e11) {
    return `must be a number of seconds since the epoch (e.g. Math.floor(Date.now() / 1000) + 86400), not ${typeof value === 'number' ? 'milliseconds' : typeof value}`;
  }
  return undefined;
}

/** A value's type for messages: never the value itself (any field may hold a secret by mistake). */
function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : typeof value === 'string' ? 'a string' : typeof value;
}

/** A value of a field that holds a fixed name (auth method, subject type, policy name): shown when short and printable. */
function describeName(value: unknown): string {
  return typeof value === 'string' && value.length <= 64 && /^[\x21-\x7e]*$/.test(value) ? JSON.stringify(value) : describe(value);
}

// RFC 7523 / OIDC Core §9 client authentication: the keys or the HMAC secret the method needs,
// and the algorithm it may use. Key material is checked for shape here and parsed on first use.
function checkJwtClientAuth(r: Record<string, unknown>, method: unknown, problems: string[]): void {
  const alg = r.token_endpoint_auth_signing_alg;
  const allowed = method === 'client_secret_jwt' ? CLIENT_SECRET_JWT_ALGS : PRIVATE_KEY_JWT_ALGS;
  if (alg !== undefined && (typeof alg !== 'string' || !allowed.includes(alg))) {
    problems.push(`token_endpoint_auth_signing_alg must be one of ${allowed.join(', ')} for ${String(method)} (got ${describeName(alg)}); never none`);
  }
  const jwksUri = r.jwks_uri;
  if (jwksUri !== undefined) {
    // Fetched by the server (clientAuthentication.jwks): https only, like every URL the library calls.
    const problem = typeof jwksUri !== 'string' ? `must be a string (got ${describe(jwksUri)})` : jwksUri.length > MAX_JWKS_URI_LENGTH ? `must be at most ${MAX_JWKS_URI_LENGTH} characters` : httpsUrlProblem(jwksUri);
    if (problem) problems.push(`jwks_uri ${problem}`);
  }
  const jwks = r.jwks;
  if (jwks !== undefined && jwksUri !== undefined) problems.push('the record has both jwks and jwks_uri; a client has one of them, not both (RFC 7591 §2)');
  if (jwks !== undefined) {
    const keys = (jwks as { keys?: unknown } | null)?.keys;
    if (typeof jwks !== 'object' || jwks === null || !Array.isArray(keys) || keys.length === 0) {
      problems.push('jwks must be { keys: [ ...public JWKs ] } with at least one key');
    } else {
      const kids = new Set<string>();
      keys.forEach((key: unknown, i) => {
        const k = key as Record<string, unknown> | null;
        if (typeof k !== 'object' || k === null || (k.kty !== 'RSA' && k.kty !== 'EC')) problems.push(`jwks.keys[${i}] must be an RSA or EC public JWK (kty "RSA" or "EC")`);
        else if (PRIVATE_JWK_MEMBERS.some((member) => member in k)) problems.push(`jwks.keys[${i}] holds private key material; register public keys only`);
        if (k?.kid !== undefined && typeof k.kid !== 'string') problems.push(`jwks.keys[${i}].kid must be a string`);
        if (typeof k?.kid === 'string') {
          if (kids.has(k.kid)) problems.push(`jwks.keys[${i}].kid "${k.kid}" is used twice`);
          kids.add(k.kid);
        }
      });
      if (keys.length > 1 && kids.size !== keys.length) problems.push('jwks with several keys needs a unique kid on every key');
    }
  }
  if (method === 'private_key_jwt' && jwks === undefined && jwksUri === undefined) problems.push('token_endpoint_auth_method is "private_key_jwt" but the record has neither jwks nor jwks_uri (the client\'s public keys)');
  const key = r.client_secret_jwt_key;
  if (key !== undefined) {
    if (method !== 'client_secret_jwt') problems.push('client_secret_jwt_key is only for token_endpoint_auth_method "client_secret_jwt"; remove it (a secret in the clear that nothing needs)');
    else {
      // RFC 7518 §3.2: a key at least as long as the hash output — 32, 48, 64 bytes for HS256/384/512.
      const minimum = MIN_HMAC_KEY_BYTES[typeof alg === 'string' ? alg : 'HS256'] ?? MIN_CLIENT_SECRET_JWT_KEY_LENGTH;
      if (typeof key !== 'string' || Buffer.byteLength(key, 'utf8') < minimum) problems.push(`client_secret_jwt_key must be a string of at least ${minimum} bytes for ${typeof alg === 'string' ? alg : 'HS256'} (RFC 7518 §3.2)`);
    }
  }
  if (method === 'client_secret_jwt' && key === undefined) {
    problems.push('token_endpoint_auth_method is "client_secret_jwt" but the record has no client_secret_jwt_key: an HMAC cannot be verified with a digest (client_secrets); store the secret itself there, or use private_key_jwt');
  }
}
