// lib/router.ts
// createTokenRouter: validates options once, mounts POST /token, and exposes the host-side APIs.
import { Router, type Request, type Response } from 'express';
import { createCodeMinter, type AuthorizationCodeInput, type IssuedAuthorizationCode } from './authorization-codes';
import { createDeviceAuthorizationHandler, createDeviceVerification, type DeviceVerification } from './device-authorization';
import { DEVICE_CODE_GRANT_TYPE, type DeviceCodeGrant } from './grants/device-code';
import type { RegisteredClient } from './clients/types';
import { buildJwks, buildMetadata, createWellKnownRouter } from './discovery';
import { OAuthError } from './errors';
import type { AuthorizationCodeGrant } from './grants/authorization-code';
import { createRateLimiter } from './http/rate-limit';
import { writeError } from './http/respond';
import type { TokenRouterOptions } from './options';
import { resolveOptions } from './resolve-options';
import type { AuthorizationCodeStore, DeviceCodeStore } from './storage/types';
import { createRefreshTokenService } from './refresh/refresh-token-service';
import type { RefreshTokenStore } from './storage/types';
import { createSubjectResolver } from './subjects';
import { createTokenEndpoint } from './token-endpoint';
import { createAccessTokenService } from './tokens/access-token';
import { createIdTokenService } from './tokens/id-token';
import type { PublicJwk } from './tokens/signing-keys';

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
  /** The discovery document (as served). */
  metadata(): Readonly<Record<string, unknown>>;
  /** The JWKS (as served): the public part of every configured key. */
  jwks(): { keys: PublicJwk[] };
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
  const activeKey = resolved.signingKeys[0];
  if (!resolved.signingKeys.some((key) => key.alg === 'RS256')) {
    resolved.logger.warn('No RS256 signing key is configured: OpenID Connect Discovery §3 requires RS256 among id_token_signing_alg_values_supported, and some relying parties accept nothing else.');
  }
  const signingKey = () => activeKey;
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

  const metadata = buildMetadata(
    {
      issuer: resolved.issuer,
      grantTypes: [...resolved.grants.keys()],
      signingKeys: resolved.signingKeys,
      pkceMethods: !codeGrant?.settings ? [] : codeGrant.settings.allowPlainPkce ? ['S256', 'plain'] : ['S256'],
      pairwiseEnabled: resolved.pairwiseSalt !== undefined,
      extra: deviceDeps ? { device_authorization_endpoint: resolved.discovery.deviceAuthorizationEndpoint ?? `${base}/connect/deviceauthorization` } : {},
    },
    resolved.discovery,
  );
  Object.freeze(metadata);
  const jwks = Object.freeze(buildJwks(resolved.signingKeys));

  const router = Router() as TokenRouter;
  const limiter = resolved.rateLimit
    ? [createRateLimiter(resolved.rateLimit, (ip, clientId) => endpoint.emit({ type: 'rate_limited', at: resolved.clock(), ip, clientId }))]
    : [];
  router.post('/token', endpoint.parseBody, ...limiter, endpoint.handle);
  router.all('/token', methodNotAllowed);
  if (deviceDeps) {
    router.post('/deviceauthorization', endpoint.parseBody, ...limiter, createDeviceAuthorizationHandler({ ...deviceDeps, authenticate: endpoint.authenticate }));
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
    wellKnown: createWellKnownRouter(metadata, jwks, resolved.discovery.maxAgeSeconds ?? 300),
    metadata: () => metadata,
    jwks: () => jwks,
    subjectFor: (client: RegisteredClient, localSubject: string) => subjects.subjectFor(client, localSubject),
  });
  return router;
}

// RFC 6749 §3.2 / RFC 8628 §3.1: POST only. RFC 9110 §15.5.6: a 405 names the allowed methods.
function methodNotAllowed(_req: Request, res: Response): void {
  writeError(res, new OAuthError('invalid_request', 'This endpoint accepts POST only.', { status: 405, headers: { Allow: 'POST' } }));
}

function missingDeviceGrant(): DeviceVerification {
  const fail = () => Promise.reject(new Error('deviceVerification needs the built-in deviceCode({ verificationUri }) grant in options.grants.'));
  return { lookup: fail, approve: fail, deny: fail };
}
