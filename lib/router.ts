// lib/router.ts
// createTokenRouter: validates options once and mounts POST /token on an Express router.
import { Router, type Request, type Response } from 'express';
import { OAuthError } from './errors';
import { createRateLimiter } from './http/rate-limit';
import { writeError } from './http/respond';
import type { TokenRouterOptions } from './options';
import { resolveOptions } from './resolve-options';
import { createTokenEndpoint } from './token-endpoint';
import { createAccessTokenService } from './tokens/access-token';

/**
 * Creates an Express router serving the OAuth 2.0 / OpenID Connect token endpoint at
 * `POST /token`, relative to where it is mounted. Every option is validated here, once;
 * a mistake throws a {@link ConfigurationError} naming the option and the fix.
 *
 * Mount it before any global body parser (the router reads the form itself, strictly).
 *
 * @example
 * app.use('/connect', createTokenRouter({
 *   issuer: 'https://id.example.com',
 *   signingKeys: [{ kid: '2026-01', alg: 'RS256', privateKey: process.env.SIGNING_KEY_PEM! }],
 *   clients: createMemoryClientRegistry([{ client_id: 'svc', client_secret: process.env.SVC_SECRET!, grant_types: ['client_credentials'], scope: 'api:read' }]),
 *   grants: [clientCredentials()],
 * }));
 * // POST https://id.example.com/connect/token
 */
export function createTokenRouter(options: TokenRouterOptions): Router {
  const resolved = resolveOptions(options);
  const activeKey = resolved.signingKeys[0];
  const accessTokens = createAccessTokenService({
    issuer: resolved.issuer,
    ttlSeconds: resolved.accessTokenTtl,
    audience: resolved.accessTokenAudience,
    claims: resolved.accessTokenClaims,
    signingKey: () => activeKey,
    clock: resolved.clock,
  });
  const endpoint = createTokenEndpoint(resolved, accessTokens);

  const router = Router();
  const limiter = resolved.rateLimit
    ? [createRateLimiter(resolved.rateLimit, (ip, clientId) => endpoint.emit({ type: 'rate_limited', at: resolved.clock(), ip, clientId }))]
    : [];
  router.post('/token', endpoint.parseBody, ...limiter, endpoint.handle);
  router.all('/token', methodNotAllowed);
  router.use(endpoint.handleError);
  return router;
}

// RFC 6749 §3.2: the token endpoint takes POST only. RFC 9110 §15.5.6: a 405 names the allowed methods.
function methodNotAllowed(_req: Request, res: Response): void {
  writeError(res, new OAuthError('invalid_request', 'The token endpoint accepts POST only.', { status: 405, headers: { Allow: 'POST' } }));
}
