// lib/endpoint/client-auth/authenticate-client.ts
// Authenticates the client of a token request (RFC 6749 §2.3, §3.2.1) in constant time.
import { OAuthError } from '../../contracts/errors';
import type { ClientAuthFailureReason } from '../../contracts/events';
import { burnSecretComparison, verifyClientSecret } from '../../clients/client-secret';
import type { AuthenticatedClient, ClientRegistry, RegisteredClient, TokenEndpointAuthMethod } from '../../contracts/clients';
import type { PresentedCredentials } from './credentials';
import type { ClientAuthenticationMethod, ClientAuthenticationMethodFailure, ClientAuthenticationRequest, PresentedClientCertificate } from '../../contracts/client-auth';
import { sha256Base64Url } from '../../internal/digest';

/** Settings for client authentication. */
export interface ClientAuthSettings {
  readonly clients: ClientRegistry;
  /** Realm for `WWW-Authenticate: Basic realm="..."`. */
  readonly realm: string;
  /** When true, a confidential client must use exactly its registered method. */
  readonly enforceRegisteredMethod: boolean;
  /** When true, a secret sent by a public client is ignored instead of failing (compatibility switch). */
  readonly ignorePublicClientSecret: boolean;
  /** The methods plugged into the seam (private_key_jwt, client_secret_jwt, mTLS, the host's), by name. */
  readonly methods: ReadonlyMap<string, ClientAuthenticationMethod>;
}

/** What a method may read of the request, besides the credentials (see {@link ClientAuthenticationRequest}). */
export interface ClientAuthRequestFacts {
  readonly headers: ClientAuthenticationRequest['headers'];
  readonly form: ClientAuthenticationRequest['form'];
  readonly clientCertificate: () => PresentedClientCertificate | undefined;
  /** The storage's one-time-use record, un-namespaced; undefined when the storage has none. */
  readonly recordOneTimeUse: ((key: string, expiresAt: number) => Promise<boolean>) | undefined;
}

/** Thrown for every authentication failure; `reason` is for events only, never sent. */
export class ClientAuthenticationError extends OAuthError {
  readonly reason: ClientAuthFailureReason;
  readonly clientId: string | undefined;

  constructor(reason: ClientAuthFailureReason, clientId: string | undefined, usedAuthorizationHeader: boolean, realm: string) {
    // One description for every reason: unknown client and wrong secret must be indistinguishable
    // (RFC 6819 §4.3.5). RFC 6749 §5.2: 401, with WWW-Authenticate when Authorization was used.
    super('invalid_client', 'Client authentication failed.', {
      status: 401,
      headers: usedAuthorizationHeader ? { 'WWW-Authenticate': `Basic realm="${realm}", charset="UTF-8"` } : {},
    });
    this.reason = reason;
    this.clientId = clientId;
  }
}

/** Longest client id and secret accepted before any lookup or hashing. */
export const MAX_CLIENT_ID_LENGTH = 256;
export const MAX_CLIENT_SECRET_LENGTH = 512;

/**
 * Looks the client up and checks its credentials. Unknown clients cost the same secret
 * comparison as known ones. Returns the authenticated client or throws
 * {@link ClientAuthenticationError} (401 invalid_client).
 */
export async function authenticateClient(
  credentials: PresentedCredentials,
  settings: ClientAuthSettings,
  facts: ClientAuthRequestFacts,
  nowMs: number,
  beforeComparing?: () => Promise<void>,
): Promise<AuthenticatedClient> {
  const { clientId, secret, usedAuthorizationHeader } = credentials;
  const fail = (reason: ClientAuthFailureReason): ClientAuthenticationError =>
    new ClientAuthenticationError(reason, clientId, usedAuthorizationHeader, settings.realm);

  if (clientId === undefined) throw fail('missing_credentials');
  if (clientId.length > MAX_CLIENT_ID_LENGTH || (secret !== undefined && secret.length > MAX_CLIENT_SECRET_LENGTH)) {
    throw fail('unknown_client');
  }
  const client = await settings.clients.findClient(clientId);
  // The failure budget's evaluation slot: taken after the (possibly slow) registry lookup, so only
  // the comparison itself is bounded, never the lookup of valid requests.
  await beforeComparing?.();
  if (!client || client.client_id !== clientId) {
    if (secret !== undefined) burnSecretComparison(secret);
    throw fail('unknown_client');
  }
  const registered: TokenEndpointAuthMethod = client.token_endpoint_auth_method ?? 'client_secret_basic';
  const method = settings.methods.get(registered);
  if (credentials.assertion !== undefined) {
    // Only a client registered for an assertion method of this type may present an assertion, and it
    // must (RFC 7591 §2: the registered method is the one the client uses).
    if (method === undefined || typeof method.credential !== 'object' || method.credential.assertionType !== credentials.assertionType) throw fail('auth_method_not_allowed');
    return authenticateWithMethod(method, client, clientId, credentials.assertion, facts, nowMs, fail);
  }
  // A client registered for a method of the seam never authenticates with a shared secret or as public.
  if (method !== undefined) {
    if (secret !== undefined) {
      burnSecretComparison(secret);
      throw fail('auth_method_not_allowed');
    }
    if (method.credential !== 'client_id') throw fail('missing_credentials');
    return authenticateWithMethod(method, client, clientId, undefined, facts, nowMs, fail);
  }
  if (registered === 'none') {
    // A public client is never authenticated by a secret (RFC 6749 §2.3): one that sends
    // a secret is confused or an impostor.
    if (secret !== undefined && !settings.ignorePublicClientSecret) throw fail('secret_sent_by_public_client');
    return { metadata: client, clientId, authMethod: 'none', isPublic: true };
  }
  if (secret === undefined) {
    burnSecretComparison('');
    throw fail('missing_credentials');
  }
  const valid = await verifyClientSecret(client, secret, Math.floor(nowMs / 1000));
  if (!valid) throw fail('invalid_secret');
  const used: TokenEndpointAuthMethod = credentials.method === 'client_assertion' ? registered : credentials.method;
  if (settings.enforceRegisteredMethod && used !== registered) throw fail('auth_method_not_allowed');
  return { metadata: client, clientId, authMethod: used, isPublic: false };
}

async function authenticateWithMethod(
  method: ClientAuthenticationMethod,
  client: RegisteredClient,
  clientId: string,
  assertion: string | undefined,
  facts: ClientAuthRequestFacts,
  nowMs: number,
  fail: (reason: ClientAuthFailureReason) => ClientAuthenticationError,
): Promise<AuthenticatedClient> {
  const record = facts.recordOneTimeUse;
  const request: ClientAuthenticationRequest = {
    headers: facts.headers,
    form: facts.form,
    assertion,
    clientCertificate: facts.clientCertificate,
    now: nowMs,
    async recordOneTimeUse(key, expiresAt) {
      if (typeof key !== 'string' || !Number.isFinite(expiresAt)) throw new TypeError(`recordOneTimeUse(key, expiresAt) of client-authentication method "${method.name}": key must be a string and expiresAt a number of ms since the epoch.`);
      if (record === undefined) throw new Error(`Client-authentication method "${method.name}" needs storage.recordOneTimeUse() (single-use values); use a storage adapter that has it.`);
      // Namespaced per method and client, and hashed: one client's values never block another's,
      // and the stored key has a fixed size whatever the method passes.
      // JSON keeps the parts apart whatever they contain (a NUL in a client id or a jti).
      return record(sha256Base64Url(JSON.stringify(['client_auth', method.name, clientId, key])), expiresAt);
    },
  };
  const verdict = await method.authenticate(client, request);
  if (verdict?.authenticated === true) return { metadata: client, clientId, authMethod: method.name, isPublic: false };
  if (verdict?.authenticated === false && METHOD_FAILURES.has(verdict.reason)) throw fail(verdict.reason);
  // Anything else is a broken method: the server's problem, never an authenticated client.
  throw new Error(`Client-authentication method "${method.name}" resolved neither { authenticated: true } nor { authenticated: false, reason } with a known reason.`);
}

const METHOD_FAILURES: ReadonlySet<string> = new Set<ClientAuthenticationMethodFailure>(['invalid_client_assertion', 'client_assertion_replayed', 'invalid_client_certificate', 'invalid_credentials']);
