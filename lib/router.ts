// lib/router.ts
// createTokenRouter: validates options once, mounts POST /token and what the grants contribute,
// and exposes the host-side APIs. Knows no grant by name: grants plug in through their contract.
import { Router, type Request, type RequestHandler, type Response } from 'express';
import type { RegisteredClient } from './contracts/clients';
import { ConfigurationError, OAuthError } from './contracts/errors';
import type { TokenEndpointEvent } from './contracts/events';
import type { FormEndpoint, GrantContribution, GrantContributionContext, GrantStorage, StorageMethodName } from './contracts/grant';
import type { SigningKeyInput } from './contracts/tokens';
import { createRateLimiter, type OnRateLimited } from './endpoint/rate-limit';
import { writeError } from './endpoint/respond';
import { createTokenEndpoint } from './endpoint/token-endpoint';
import { requireHttps } from './endpoint/transport-security';
import { checkParameterSpecs } from './endpoint/grant-registry';
import { eventText } from './internal/event-text';
import { describeError } from './internal/logger';
import { createRefreshTokenService, refreshStoreOf } from './issuance/refresh-tokens';
import { createSubjectResolver } from './issuance/subjects';
import type { RateLimitOptions, TokenRouterOptions } from './options/types';
import { DEFAULTS } from './options/defaults';
import { resolveOptions, type ResolvedOptions } from './options/resolve';
import { resourceServerHostApi } from './resource-server/router-member';
import { hostApiShapeProblem, missingHostApi, ROUTER_OWN_MEMBERS, type TokenRouter } from './router-api';
import { createAccessTokenService } from './tokens/access-token';
import { createIdTokenService } from './tokens/id-token';
import { createTokenInspector } from './tokens/token-inspector';
import { signJwt } from './tokens/jwt';
import type { SigningKey } from './tokens/signing-keys';
import { COMPUTED_METADATA_MEMBERS, createWellKnownRouter } from './well-known/discovery';
import { createSigningKeySet, type SigningKeySet } from './well-known/signing-key-set';

export type { TokenRouter } from './router-api';

/**
 * Creates an Express router serving the OAuth 2.0 / OpenID Connect token endpoint at
 * `POST /token`, relative to where it is mounted, plus the endpoints its grants contribute
 * (`POST /deviceauthorization` with `deviceCode()`). Every option is validated here, once;
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
  const { clock, logger } = resolved;
  warnWithoutRs256(resolved, resolved.signingKeys);
  // `keys` is created below (its discovery document needs the contributions); signers only call
  // this per token, after createTokenRouter returned.
  const signingKey = () => keys.active();
  const { telemetry } = resolved;
  // Signing scopes only with telemetry: otherwise the services call signJwt directly.
  const sign = telemetry ? telemetry.instrumentSigner(signJwt) : signJwt;
  const subjects = createSubjectResolver(resolved.pairwiseSalt);
  const accessTokens = createAccessTokenService({
    issuer: resolved.issuer,
    ttlSeconds: resolved.accessTokenTtl,
    audience: resolved.accessTokenAudience,
    resourceTtl: (resources) => resolved.resources.ttlFor(resources),
    claims: resolved.accessTokenClaims,
    scopeClaim: resolved.accessTokenScopeClaim,
    signingKey,
    sign,
    clock,
  });
  const idTokens = createIdTokenService({ issuer: resolved.issuer, ttlSeconds: resolved.idTokenTtl, claims: resolved.idTokenClaims, signingKey, sign, clock });
  const refreshTokens = createRefreshTokenService({
    policyFor: resolved.refreshPolicyFor,
    storage: refreshStoreOf(resolved.grants),
    minimumRetentionMs: resolved.grantRetentionMs,
  });
  const emit = createEmitter(resolved);
  const tokens = createTokenInspector({ issuer: resolved.issuer, findKey: (kid) => keys.find(kid), storage: resolved.storage, clock });
  const endpoint = createTokenEndpoint(
    { ...resolved, emit },
    {
      services: { accessTokens, idTokens, subjects, resources: resolved.resources },
      refreshTokens,
      tokens,
      clients: resolved.clients,
      issuer: resolved.issuer,
      grantRetentionMs: resolved.grantRetentionMs,
      clock,
      emit,
      logger,
      unchecked: { accessTokens, idTokens },
    },
    [],
  );

  // What the grants add: endpoints, discovery members, host API. Collected once, checked for clashes.
  const endpoints: FormEndpoint[] = [];
  const metadata: Record<string, unknown> = {};
  const hostApi: Record<string, unknown> = {};
  const problems: string[] = [];
  const expressMembers = Router();
  // Grants and endpoint plug-ins contribute through the same context and the same checks.
  const contributors: Array<{ readonly at: string; readonly contribute: (context: GrantContributionContext<StorageMethodName>) => GrantContribution; readonly storage: GrantStorage<StorageMethodName> }> = [];
  for (const [grantType, grant] of resolved.grants) {
    const { contribute } = grant.strategy;
    if (contribute) contributors.push({ at: `grant "${grantType}"`, contribute: (context) => contribute.call(grant.strategy, context), storage: grant.storage });
  }
  for (const prepared of resolved.endpointPlugins) {
    contributors.push({ at: prepared.at, contribute: (context) => prepared.plugin.contribute.call(prepared.plugin, context), storage: prepared.storage });
  }
  for (const { at, contribute, storage } of contributors) {
    const contribution = contribute({
      storage,
      clients: resolved.clients,
      subjects,
      refreshTokens,
      tokens,
      issuer: resolved.issuer,
      discovery: resolved.discovery,
      clientAuthMethods: resolved.clientAuthMethods.names,
      clock,
      checkResources: (client, requested) => resolved.resources.check(client, requested),
      emit,
      logger,
    });
    for (const contributed of contribution?.endpoints ?? []) {
      if (typeof contributed?.path !== 'string' || !/^\/[A-Za-z0-9._~-]+(?:\/[A-Za-z0-9._~-]+)*$/.test(contributed.path) || typeof contributed.handle !== 'function') {
        problems.push(`${at} contributes an endpoint that is not { path: '/name', handle(ctx) }.`);
      } else if (contributed.path.toLowerCase() === '/token' || endpoints.some((e) => e.path.toLowerCase() === contributed.path.toLowerCase())) {
        // Express matches paths case-insensitively: /Token would be shadowed by /token.
        problems.push(`${at} contributes the endpoint ${contributed.path}, which the router already serves.`);
      } else if (contributed.grantType !== undefined && (typeof contributed.grantType !== 'string' || !resolved.grants.has(contributed.grantType))) {
        problems.push(`${at} contributes the endpoint ${contributed.path} for grantType ${JSON.stringify(contributed.grantType)}, which this router does not serve.`);
      } else {
        if (contributed.parameters !== undefined) checkParameterSpecs(contributed.parameters, `${at} endpoint ${contributed.path} parameters`, problems);
        endpoints.push(contributed);
      }
    }
    for (const [member, value] of Object.entries(contribution?.metadata ?? {})) {
      if (COMPUTED_METADATA_MEMBERS.has(member) || member in metadata) problems.push(`${at} contributes the discovery member ${member}, which is already set.`);
      else metadata[member] = value;
    }
    for (const [member, value] of Object.entries(contribution?.hostApi ?? {})) {
      const shapeProblem = hostApiShapeProblem(member, value);
      if (ROUTER_OWN_MEMBERS.includes(member) || member in hostApi || member in expressMembers) problems.push(`${at} contributes the router member ${member}, which is already taken.`);
      else if (shapeProblem) problems.push(`${at} contributes ${member}, but ${shapeProblem}.`);
      else hostApi[member] = value;
    }
  }
  for (const [member, value] of Object.entries(resolved.clientAuthMethods.metadata)) {
    if (member in metadata) problems.push(`clientAuthentication.methods set the discovery member ${member}, which is already set.`);
    else metadata[member] = value;
  }
  if (problems.length > 0) throw new ConfigurationError('ERR_TOKEN_ROUTER_OPTIONS', problems);

  const maxAgeSeconds = resolved.discovery.maxAgeSeconds ?? DEFAULTS.discoveryMaxAgeSeconds;
  const keys: SigningKeySet = createSigningKeySet({
    initial: resolved.signingKeys,
    metadataFacts: {
      issuer: resolved.issuer,
      grantTypes: [...resolved.grants.keys()],
      pairwiseEnabled: resolved.pairwiseSalt !== undefined,
      authMethods: resolved.clientAuthMethods.names,
      authSigningAlgorithms: resolved.clientAuthMethods.signingAlgorithms,
      certificateBoundTokens: resolved.certificateBoundTokens,
      extra: metadata,
    },
    discovery: resolved.discovery,
    maxAgeSeconds,
    longestTokenTtlMs: Math.max(resolved.accessTokenTtl, resolved.resources.longestTtl, resolved.idTokenTtl) * 1000,
    clock,
    logger,
    checkAlgorithms: (set) => warnWithoutRs256(resolved, set),
  });

  const router = Router();
  const limiter = resolved.rateLimit
    ? [rateLimiterOf(resolved.rateLimit, (req, clientId) => {
        telemetry?.noteError(req, 'temporarily_unavailable');
        emit({ type: 'rate_limited', at: clock(), ip: eventText(req.ip), clientId: eventText(clientId), limiter: 'rateLimit' });
      }, logger)]
    : [];
  // RFC 6749 §3.2, §10.9: plain HTTP is refused before the body is read.
  const https = resolved.requireHttps ? [requireHttps] : [];
  // With telemetry, a request scope first in each chain (so everything after runs inside it).
  const servedGrantType = (value: unknown) => (typeof value === 'string' && resolved.grants.has(value) ? value : undefined);
  const traced = (path: string, grantTypeOf: (req: Request) => string | undefined) => (telemetry ? [telemetry.requestScope(path, grantTypeOf)] : []);
  router.post('/token', ...traced('/token', (req) => servedGrantType(req.body?.grant_type)), ...https, endpoint.parseBody, ...limiter, endpoint.handle);
  router.all('/token', methodNotAllowed);
  for (const contributed of endpoints) {
    const grantType = servedGrantType(contributed.grantType);
    router.post(contributed.path, ...traced(contributed.path, () => grantType), ...https, endpoint.parseBodyFor(contributed), ...limiter, endpoint.formEndpoint(contributed));
    router.all(contributed.path, methodNotAllowed);
  }
  router.use(endpoint.handleError);

  const tokenRouter: TokenRouter = Object.assign(router, missingHostApi(), hostApi, {
    wellKnown: createWellKnownRouter(() => keys.documents(), maxAgeSeconds),
    metadata: () => keys.documents().metadata,
    jwks: () => keys.documents().jwks,
    setSigningKeys: (input: readonly SigningKeyInput[]) => keys.replace(input),
    subjectFor: (client: RegisteredClient, localSubject: string) => subjects.subjectFor(client, localSubject),
    // Middleware for the host's own API routes, verifying through the same inspector.
    ...resourceServerHostApi({ tokens, clock, recordOneTimeUse: resolved.clientAssertions.recordOneTimeUse, clientCertificate: resolved.clientCertificate }),
  });
  return tokenRouter;
}

/** express-rate-limit's own refusal of its options, as a ConfigurationError naming the option. */
// express-rate-limit does not throw for bad options: it reports them through its `logger`
// (console by default). While the limiter is created, its complaints are collected and become one
// ConfigurationError; afterwards (checks it runs per request) they go to the router's logger.
function rateLimiterOf(options: RateLimitOptions, onLimited: OnRateLimited, logger: ResolvedOptions['logger']): RequestHandler {
  const complaints: string[] = [];
  let creating = true;
  const report = (level: 'warn' | 'error') => (error: unknown, message?: string) => {
    const text = String(describeError(error).errorMessage ?? message);
    if (creating) complaints.push(`rateLimit: express-rate-limit refused the options: ${text}`);
    else logger[level]('express-rate-limit reported a problem with the rateLimit option.', { ...describeError(error) });
  };
  let limiter: RequestHandler | undefined;
  try {
    limiter = createRateLimiter({ logger: { error: report('error'), warn: report('warn') }, ...options }, onLimited);
  } catch (error) {
    complaints.push(`rateLimit: express-rate-limit refused the options: ${String(describeError(error).errorMessage)}`);
  }
  creating = false;
  if (complaints.length > 0 || limiter === undefined) throw new ConfigurationError('ERR_TOKEN_ROUTER_OPTIONS', complaints);
  return limiter;
}

/**
 * Reports an event to the host's listener (and to telemetry, when configured); a throwing
 * listener is logged, never the request's problem.
 */
function createEmitter(resolved: ResolvedOptions): (event: TokenEndpointEvent) => void {
  const { onEvent, logger, telemetry } = resolved;
  return (event) => {
    telemetry?.event(event);
    if (!onEvent) return;
    try {
      onEvent(event);
    } catch (error) {
      logger.error('onEvent listener threw; the event was dropped.', { eventType: event.type, ...describeError(error) });
    }
  };
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
