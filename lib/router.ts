// lib/router.ts
// createTokenRouter: validates options once, mounts POST /token, and exposes the host-side APIs.
import { Router, type Request, type Response } from 'express';
import { createCodeMinter, type AuthorizationCodeInput, type IssuedAuthorizationCode } from './grants/authorization-code/code-minter';
import { createDeviceAuthorizationHandler, createDeviceVerification, type DeviceVerification } from './grants/device-code/device-authorization';
import { DEVICE_CODE_GRANT_TYPE, type DeviceCodeGrant } from './grants/device-code/grant';
import type { RegisteredClient } from './contracts/clients';
import { createWellKnownRouter } from './well-known/discovery';
import { OAuthError } from './contracts/errors';
import type { AuthorizationCodeGrant } from './grants/authorization-code/grant';
import { createRateLimiter } from './endpoint/rate-limit';
import { writeError } from './endpoint/respond';
import { eventText } from './internal/event-text';
import { requireHttps } from './endpoint/transport-security';
import type { TokenRouterOptions } from './options/types';
import { resolveOptions, type ResolvedOptions } from './options/resolve';
import type { AuthorizationCodeStore, DeviceCodeStore } from './contracts/storage';
import { createRefreshTokenService } from './issuance/refresh-tokens';
import type { RefreshTokenStore } from './contracts/storage';
import { createSubjectResolver } from './issuance/subjects';
import { createTokenEndpoint } from './endpoint/token-endpoint';
import { createAccessTokenService } from './tokens/access-token';
import { createIdTokenService } from './tokens/id-token';
import { createSigningKeySet, type SigningKeySet } from './well-known/signing-key-set';
import type { PublicJwk, SigningKey, SigningKeyInput } from './tokens/signing-keys';

/**
 * The Express router returned by {@link createTokenRouter}, plus the host-side APIs that share
 * its configuration (storage, clock, keys, grant settings).
 */
export interface TokenRouter extends Router {
  /**
   * Mints an authorization code after the user authenticated at your authorization endpoint.
   * Stores only the code's digest with everything the token request will need. Requires the
   * `authorizationCode()` grant. Throws OAuthError for problems of the authorization request
   * (unknown client, unregistered redirect_uri, scope, PKCE), TypeError for misuse, and a plain
   * Error for a server misconfiguration (a pairwise client without a usable sector or salt).
   */
  issueAuthorizationCode(input: AuthorizationCodeInput): Promise<IssuedAuthorizationCode>;
  /**
   * Serves `/.well-known/openid-configuration`, `/.well-known/oauth-authorization-server` and
   * `/.well-known/jwks.json`. Mount it at the issuer's path: `app.use(tokenRouter.wellKnown)`.
   */
  readonly wellKnown: Router;
  /** The discovery document, as served now (it changes only with {@link TokenRouter.setSigningKeys}). */
  metadata(): Readonly<Record<string, unknown>>;
  /**
   * The JWKS, as served now: the public part of every key of the current set — `active` first,
   * then `next`, then `retiring` keys.
   */
  jwks(): { keys: PublicJwk[] };
  /**
   * Replaces the signing keys of this router in one step: the keys are parsed and checked now,
   * exactly as the `signingKeys` option (same shape, same rules: with statuses, exactly one
   * `active`), then the signers, the JWKS, the discovery document and `jwks()`/`metadata()` all
   * switch to the new set at once. Requests never re-parse keys.
   *
   * Throws a {@link ConfigurationError} (code `ERR_TOKEN_ROUTER_SIGNING_KEY`) listing every
   * problem, and then keeps the current set untouched. Also refused: a `kid` the current set
   * publishes for a different key or alg (relying parties cache keys by kid).
   *
   * Affects this router (this process) only: with several instances, follow the three-step
   * rollout of the README ("Signing keys and rotation"): publish as `next` everywhere, wait the
   * JWKS cache lifetime, make it `active` (the old key `retiring`), drop the old key once its
   * tokens have expired. Logs a warning when a key becomes active without having been published
   * by this router first, or when a key is dropped less than the longest token lifetime after it
   * last signed here.
   *
   * @example
   * tokenRouter.setSigningKeys([
   *   { kid: '2026-07', privateKey: newPem, status: 'active' },
   *   { kid: '2026-01', privateKey: oldPem, status: 'retiring' },
   * ]);
   */
  setSigningKeys(keys: readonly SigningKeyInput[]): void;
  /**
   * The verification-page API of the device grant: look up a user code, approve or deny it.
   * Requires the `deviceCode()` grant (its methods reject otherwise).
   */
  readonly deviceVerification: DeviceVerification;
  /** The `sub` a client sees for one of your users (public or pairwise), e.g. for a userinfo endpoint. */
  subjectFor(client: RegisteredClient, localSubject: string): string;
}

/**
 * Creates an Express router serving the OAuth 2.0 / OpenID Connect token endpoint at
 * `POST /token`, relative to where it is mounted. Every option is validated here, once;
 * a mistake throws a {@link ConfigurationError} naming the option and the fix.
 *
 * Mount it before any global body parser (the router reads the form itself, strictly).
 *
 * @example
 * const tokenRouter = createTokenRouter({
 *   issuer: 'https://id.example.com',
 *   signingKeys: [{ kid: '2026-01', alg: 'RS256', privateKey: process.env.SIGNING_KEY_PEM! }],
 *   clients: createMemoryClientRegistry([...]),
 *   storage: createMemoryStorage(),
 * });
 * app.use('/connect', tokenRouter);      // POST https://id.example.com/connect/token
 * app.use(tokenRouter.wellKnown);        // discovery + JWKS
 */
export function createTokenRouter(options: TokenRouterOptions): TokenRouter {
  const resolved = resolveOptions(options);
  warnWithoutRs256(resolved, resolved.signingKeys);
  // `keys` is created below (its discovery document needs the grants); signers only call this
  // per token, after createTokenRouter returned.
  const signingKey = () => keys.active();
  const subjects = createSubjectResolver(resolved.pairwiseSalt);
  const accessTokens = createAccessTokenService({
    issuer: resolved.issuer,
    ttlSeconds: resolved.accessTokenTtl,
    audience: resolved.accessTokenAudience,
    claims: resolved.accessTokenClaims,
    signingKey,
    clock: resolved.clock,
  });
  const idTokens = createIdTokenService({ issuer: resolved.issuer, ttlSeconds: resolved.idTokenTtl, claims: resolved.idTokenClaims, signingKey, clock: resolved.clock });
  const refreshTokens = createRefreshTokenService({
    policyFor: resolved.refreshPolicyFor,
    refreshGrantServed: resolved.grants.has('refresh_token'),
    storage: resolved.storage as RefreshTokenStore | undefined,
    minimumRetentionMs: resolved.grantRetentionMs,
  });
  const endpoint = createTokenEndpoint(resolved, { accessTokens, idTokens, subjects, refreshTokens });

  const codeGrant = resolved.grants.get('authorization_code') as AuthorizationCodeGrant | undefined;
  const mintCode = codeGrant?.settings
    ? createCodeMinter({ storage: resolved.storage as AuthorizationCodeStore, clients: resolved.clients, grant: codeGrant, subjects, clock: resolved.clock })
    : undefined;

  const deviceGrant = resolved.grants.get(DEVICE_CODE_GRANT_TYPE) as DeviceCodeGrant | undefined;
  const deviceDeps = deviceGrant?.settings
    ? {
        grant: deviceGrant,
        storage: resolved.storage as DeviceCodeStore,
        clients: resolved.clients,
        subjects,
        clock: resolved.clock,
        emit: endpoint.emit,
        attempts: deviceGrant.settings.userCodeAttempts,
      }
    : undefined;
  const base = resolved.issuer.replace(/\/+$/, '');

  const metadataFacts = {
    issuer: resolved.issuer,
    grantTypes: [...resolved.grants.keys()],
    pkceMethods: !codeGrant?.settings ? [] : codeGrant.settings.allowPlainPkce ? ['S256', 'plain'] : ['S256'],
    pairwiseEnabled: resolved.pairwiseSalt !== undefined,
    extra: deviceDeps ? { device_authorization_endpoint: resolved.discovery.deviceAuthorizationEndpoint ?? `${base}/connect/deviceauthorization` } : {},
  };
  const maxAgeSeconds = resolved.discovery.maxAgeSeconds ?? 300;
  const keys: SigningKeySet = createSigningKeySet({
    initial: resolved.signingKeys,
    metadataFacts,
    discovery: resolved.discovery,
    maxAgeSeconds,
    longestTokenTtlMs: Math.max(resolved.accessTokenTtl, resolved.idTokenTtl) * 1000,
    clock: resolved.clock,
    logger: resolved.logger,
    checkAlgorithms: (set) => warnWithoutRs256(resolved, set),
  });

  const router = Router() as TokenRouter;
  const limiter = resolved.rateLimit
    ? [createRateLimiter(resolved.rateLimit, (ip, clientId) => endpoint.emit({ type: 'rate_limited', at: resolved.clock(), ip: eventText(ip), clientId: eventText(clientId), limiter: 'rateLimit' }))]
    : [];
  // Checklist A3: plain HTTP is refused before the body is read.
  const https = resolved.requireHttps ? [requireHttps] : [];
  router.post('/token', ...https, endpoint.parseBody, ...limiter, endpoint.handle);
  router.all('/token', methodNotAllowed);
  if (deviceDeps) {
    router.post('/deviceauthorization', ...https, endpoint.parseBody, ...limiter, createDeviceAuthorizationHandler({ ...deviceDeps, authenticate: endpoint.authenticate }));
    router.all('/deviceauthorization', methodNotAllowed);
  }
  router.use(endpoint.handleError);

  Object.assign(router, {
    issueAuthorizationCode(input: AuthorizationCodeInput): Promise<IssuedAuthorizationCode> {
      if (!mintCode) {
        return Promise.reject(new Error('issueAuthorizationCode needs the built-in authorizationCode() grant in options.grants.'));
      }
      return mintCode(input);
    },
    deviceVerification: deviceDeps ? createDeviceVerification(deviceDeps) : missingDeviceGrant(),
    wellKnown: createWellKnownRouter(() => keys.documents(), maxAgeSeconds),
    metadata: () => keys.documents().metadata,
    jwks: () => keys.documents().jwks,
    setSigningKeys: (input: readonly SigningKeyInput[]) => keys.replace(input),
    subjectFor: (client: RegisteredClient, localSubject: string) => subjects.subjectFor(client, localSubject),
  });
  return router;
}

function warnWithoutRs256(resolved: ResolvedOptions, keys: readonly SigningKey[]): void {
  if (!keys.some((key) => key.alg === 'RS256')) {
    resolved.logger.warn('No RS256 signing key is configured: OpenID Connect Discovery §3 requires RS256 among id_token_signing_alg_values_supported, and some relying parties accept nothing else.');
  }
}

// RFC 6749 §3.2 / RFC 8628 §3.1: POST only. RFC 9110 §15.5.6: a 405 names the allowed methods.
function methodNotAllowed(_req: Request, res: Response): void {
  writeError(res, new OAuthError('invalid_request', 'This endpoint accepts POST only.', { status: 405, headers: { Allow: 'POST' } }));
}

function missingDeviceGrant(): DeviceVerification {
  const fail = () => Promise.reject(new Error('deviceVerification needs the built-in deviceCode({ verificationUri }) grant in options.grants.'));
  return { lookup: fail, approve: fail, deny: fail };
}
