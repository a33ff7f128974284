// lib/endpoint/client-auth/authenticate-client.ts
// Authenticates the client of a token request (RFC 6749 §2.3, §3.2.1) in constant time.
import { OAuthError } from '../../contracts/errors';
import type { ClientAuthFailureReason } from '../../contracts/events';
import { burnSecretComparison, verifyClientSecret } from '../../clients/client-secret';
import type { AuthenticatedClient, ClientRegistry, TokenEndpointAuthMethod } from '../../contracts/clients';
import type { PresentedCredentials } from './credentials';
import { verifyClientAssertion, type AssertionSettings } from './client-assertion';

/** Settings for client authentication. */
export interface ClientAuthSettings {
  readonly clients: ClientRegistry;
  /** Realm for `WWW-Authenticate: Basic realm="..."`. */
  readonly realm: string;
  /** When true, a confidential client must use exactly its registered method. */
  readonly enforceRegisteredMethod: boolean;
  /** When true, a secret sent by a public client is ignored instead of failing (compatibility switch). */
  readonly ignorePublicClientSecret: boolean;
  /** JWT client authentication (private_key_jwt, client_secret_jwt). */
  readonly assertions: AssertionSettings;
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
  const jwtMethod = registered === 'private_key_jwt' || registered === 'client_secret_jwt';
  if (credentials.assertion !== undefined) {
    // Only a client registered for a JWT method may present an assertion, and it must (RFC 7591 §2:
    // the registered method is the one the client uses).
    if (!jwtMethod) throw fail('auth_method_not_allowed');
    const failure = await verifyClientAssertion(client, clientId, credentials.assertion, settings.assertions, nowMs);
    if (failure !== undefined) throw fail(failure);
    return { metadata: client, clientId, authMethod: registered, isPublic: false };
  }
  // A client registered for a JWT method never authenticates with a shared secret or as public.
  if (jwtMethod) {
    if (secret !== undefined) burnSecretComparison(secret);
    throw fail(secret === undefined ? 'missing_credentials' : 'auth_method_not_allowed');
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
