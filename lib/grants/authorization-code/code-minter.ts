// lib/grants/authorization-code/code-minter.ts
// The host-side API that mints authorization codes after the user authenticated.
import { randomUUID } from 'node:crypto';
import type { ClientRegistry, RegisteredClient } from '../../contracts/clients';
import { OAuthError } from '../../contracts/errors';
import { CODE_VERIFIER_PATTERN, S256_CHALLENGE_PATTERN, type PkceMethod } from './pkce';
import { allowedScopes, assertScopesAllowed, parseScope } from '../../issuance/scope';
import { assertLocalSubject } from '../../issuance/subjects';
import type { AuthorizationCodeStore, TokenClaims } from '../../contracts/storage';
import { createOpaqueToken } from '../../tokens/opaque-token';
import type { SubjectResolver } from '../../contracts/subjects';
import type { AuthorizationCodeSettings } from './settings';

/** What the host's authorization endpoint knows once the user has authenticated and consented. */
export interface AuthorizationCodeInput {
  /** The client of the authorization request. */
  readonly clientId: string;
  /** The redirect_uri of the authorization request; must be registered for the client. */
  readonly redirectUri: string;
  /** Granted scope: space-separated or an array. Must be within the client's registered scope. */
  readonly scope: string | readonly string[];
  /**
   * Granted resource indicators (RFC 8707): the `resource` parameters of the authorization request,
   * one URI or an array. Each must be an absolute URI without fragment in the client's `resources`
   * (an OAuthError `invalid_target` otherwise). The token request may narrow them to a subset;
   * without `resource` its access token is for all of them (`aud`), and refreshes keep them.
   */
  readonly resources?: string | readonly string[];
  /** The host's subject identifier for the user (mapped to pairwise per client when configured). */
  readonly subject: string;
  /** When the user authenticated, in seconds since the epoch. */
  readonly authTime?: number;
  /** The OIDC `nonce` of the authorization request, echoed in the ID token. */
  readonly nonce?: string;
  /** Authentication context class reference (OIDC `acr`), echoed in the ID token. */
  readonly acr?: string;
  /** Authentication methods used (OIDC `amr`, e.g. `pwd`, `otp`), echoed in the ID token. */
  readonly amr?: readonly string[];
  /** Session id (OIDC `sid`). */
  readonly sid?: string;
  /** Claims for the tokens of this grant (`access_token` / `id_token`). */
  readonly claims?: TokenClaims;
  /** PKCE `code_challenge` of the authorization request. */
  readonly codeChallenge?: string;
  /** PKCE method. When a challenge is given without a method, `plain` is assumed (RFC 7636 §4.3), which needs `allowPlainPkce`. */
  readonly codeChallengeMethod?: PkceMethod;
  /**
   * The authorization request's `dpop_jkt` (RFC 9449 §10): the code can then only be redeemed with a
   * DPoP proof of that key. A malformed value is `OAuthError('invalid_request')`.
   */
  readonly dpopJkt?: string;
}

/** A freshly minted code. */
export interface IssuedAuthorizationCode {
  /** The code to put in the redirect. Shown once; only its digest is stored. */
  readonly code: string;
  /** Ties together every token issued from this authorization (revocation unit). */
  readonly grantId: string;
  /** Expiry, ms since the epoch. */
  readonly expiresAt: number;
  /** Lifetime in seconds. */
  readonly expiresIn: number;
}

export interface CodeMinterDependencies {
  readonly storage: Pick<AuthorizationCodeStore, 'saveAuthorizationCode'>;
  readonly clients: ClientRegistry;
  readonly settings: AuthorizationCodeSettings;
  readonly subjects: SubjectResolver;
  readonly clock: () => number;
  /** Checks resource indicators against the client (see GrantContributionContext.checkResources). */
  readonly checkResources: (client: RegisteredClient, requested: readonly string[]) => readonly string[];
}

const MAX_NONCE_LENGTH = 512;

/**
 * Creates the mint function. Problems that come from the authorization request (unknown client,
 * unregistered redirect URI, scope not allowed, a resource malformed or not allowed
 * (`invalid_target`), bad or missing PKCE challenge) throw an
 * {@link OAuthError} the host can turn into an authorization error response; mistakes in the
 * host's own call (no subject, auth_time in ms) throw a TypeError.
 */
export function createCodeMinter(deps: CodeMinterDependencies): (input: AuthorizationCodeInput) => Promise<IssuedAuthorizationCode> {
  const { settings } = deps;
  return async function issueAuthorizationCode(input) {
    checkHostInput(input);
    const client = await deps.clients.findClient(input.clientId);
    if (!client) throw new OAuthError('invalid_request', 'Unknown client_id.');
    if (!(client.grant_types ?? ['authorization_code']).includes('authorization_code')) {
      throw new OAuthError('unauthorized_client', 'This client is not allowed to use the authorization code flow.');
    }
    // RFC 9700 §2.1: exact string matching of redirect URIs.
    if (!(client.redirect_uris ?? []).includes(input.redirectUri)) {
      throw new OAuthError('invalid_request', 'The redirect_uri is not registered for this client.');
    }
    const scope = typeof input.scope === 'string' ? parseScope(input.scope) : parseScope(input.scope.join(' '));
    assertScopesAllowed(scope, allowedScopes(client));
    const resources = input.resources === undefined ? [] : deps.checkResources(client, typeof input.resources === 'string' ? [input.resources] : input.resources);
    const isPublic = client.token_endpoint_auth_method === 'none';
    const method = checkChallenge(input, settings.allowPlainPkce, isPublic || settings.requirePkceForConfidentialClients);
    // Throws for a pairwise client without a usable sector or salt: better now than after login.
    deps.subjects.subjectFor(client, input.subject);

    const now = deps.clock();
    const code = createOpaqueToken();
    const grantId = randomUUID();
    const expiresAt = now + settings.codeTtl * 1000;
    await deps.storage.saveAuthorizationCode({
      codeHash: code.hash,
      clientId: client.client_id,
      redirectUri: input.redirectUri,
      scope,
      ...(resources.length > 0 && { resources }),
      ...(input.dpopJkt !== undefined && { dpopJkt: input.dpopJkt }),
      subject: input.subject,
      ...(input.authTime !== undefined && { authTime: input.authTime }),
      ...(input.nonce !== undefined && { nonce: input.nonce }),
      ...(input.acr !== undefined && { acr: input.acr }),
      ...(input.amr !== undefined && { amr: [...input.amr] }),
      ...(input.sid !== undefined && { sid: input.sid }),
      ...(input.claims !== undefined && { claims: input.claims }),
      ...(input.codeChallenge !== undefined && { codeChallenge: input.codeChallenge, codeChallengeMethod: method }),
      grantId,
      issuedAt: now,
      expiresAt,
    });
    return { code: code.value, grantId, expiresAt, expiresIn: settings.codeTtl };
  };
}

function checkChallenge(input: AuthorizationCodeInput, allowPlain: boolean, required: boolean): PkceMethod | undefined {
  const { codeChallenge: challenge, codeChallengeMethod } = input;
  if (challenge === undefined) {
    if (codeChallengeMethod !== undefined) throw new OAuthError('invalid_request', 'code_challenge_method was given without a code_challenge.');
    if (required) throw new OAuthError('invalid_request', 'PKCE is required for this client: send code_challenge with code_challenge_method=S256.');
    return undefined;
  }
  const method = codeChallengeMethod ?? 'plain';
  if (method === 'S256') {
    if (!S256_CHALLENGE_PATTERN.test(challenge)) throw new OAuthError('invalid_request', 'The S256 code_challenge must be 43 base64url characters.');
    return method;
  }
  if (method !== 'plain') throw new OAuthError('invalid_request', 'code_challenge_method must be S256.');
  if (!allowPlain) throw new OAuthError('invalid_request', 'The plain PKCE method is not allowed; use code_challenge_method=S256.');
  if (!CODE_VERIFIER_PATTERN.test(challenge)) throw new OAuthError('invalid_request', 'A plain code_challenge must be 43-128 characters of [A-Za-z0-9-._~].');
  return method;
}

function checkHostInput(input: AuthorizationCodeInput): void {
  if (typeof input !== 'object' || input === null) throw new TypeError('issueAuthorizationCode(input) needs an object.');
  if (typeof input.clientId !== 'string' || input.clientId.length === 0) throw new TypeError('issueAuthorizationCode: clientId must be a non-empty string.');
  if (typeof input.redirectUri !== 'string') throw new TypeError('issueAuthorizationCode: redirectUri must be a string.');
  assertLocalSubject(input.subject, 'issueAuthorizationCode');
  if (typeof input.scope !== 'string' && !Array.isArray(input.scope)) throw new TypeError('issueAuthorizationCode: scope must be a string or an array of strings.');
  if (input.resources !== undefined && typeof input.resources !== 'string' && !(Array.isArray(input.resources) && input.resources.every((v) => typeof v === 'string'))) {
    throw new TypeError('issueAuthorizationCode: resources must be a resource URI or an array of them.');
  }
  if (input.authTime !== undefined && (!Number.isInteger(input.authTime) || input.authTime < 0 || input.authTime > 1e11)) {
    throw new TypeError('issueAuthorizationCode: authTime must be whole seconds since the epoch (not milliseconds).');
  }
  if (input.nonce !== undefined && typeof input.nonce !== 'string') throw new TypeError('issueAuthorizationCode: nonce must be a string.');
  // RFC 9449 §10: a base64url SHA-256 JWK thumbprint; it came from the client's authorization request.
  if (input.dpopJkt !== undefined && (typeof input.dpopJkt !== 'string' || !/^[A-Za-z0-9_-]{43}$/.test(input.dpopJkt))) {
    throw new OAuthError('invalid_request', 'The dpop_jkt must be a base64url SHA-256 JWK thumbprint (43 characters).');
  }
  if (input.nonce !== undefined && input.nonce.length > MAX_NONCE_LENGTH) {
    throw new OAuthError('invalid_request', `The nonce is longer than ${MAX_NONCE_LENGTH} characters.`);
  }
  if (input.amr !== undefined && (!Array.isArray(input.amr) || !input.amr.every((v) => typeof v === 'string'))) {
    throw new TypeError('issueAuthorizationCode: amr must be an array of strings.');
  }
}
