// lib/endpoint/rate-limit.ts
// The token endpoint's rate limiter: express-rate-limit keyed by client IP + client id.
import type { Request, RequestHandler } from 'express';
import { ipKeyGenerator, rateLimit } from 'express-rate-limit';
import { OAuthError } from '../contracts/errors';
import type { RateLimitOptions } from '../options/types';
import { peekClientId } from './client-auth/credentials';
import type { FormParameters } from './read-form';
import { writeError } from './respond';

/** Called when a request is refused, for the `rate_limited` event (and telemetry). */
export type OnRateLimited = (req: Request, clientId: string | undefined) => void;

/**
 * Builds the limiter. It runs after the body is parsed (req.body holds the form) so it can key
 * by client id: one client hammering the endpoint from an address does not use up the budget
 * of other clients behind the same NAT, and one address cannot exhaust a client's budget
 * from elsewhere. Requests over the limit get 429 with the OAuth JSON envelope, no-store
 * and Retry-After.
 */
export function createRateLimiter(options: RateLimitOptions, onLimited: OnRateLimited): RequestHandler {
  return rateLimit({
    standardHeaders: false,
    legacyHeaders: false,
    keyGenerator: (req) => {
      const ip = req.ip ? ipKeyGenerator(req.ip) : 'unknown-ip';
      const clientId = peekClientId(req.headers.authorization, (req.body ?? {}) as FormParameters) ?? '';
      return `${ip}|${clientId.slice(0, 256)}`;
    },
    ...options,
    handler: (req, res, _next, used) => {
      const info = (req as typeof req & { rateLimit?: { resetTime?: Date } }).rateLimit;
      const resetMs = info?.resetTime ? info.resetTime.getTime() - Date.now() : used.windowMs;
      const retryAfter = Math.max(1, Math.ceil(resetMs / 1000));
      onLimited(req, peekClientId(req.headers.authorization, (req.body ?? {}) as FormParameters));
      // RFC 6585 §4: 429 with Retry-After. The body keeps the OAuth envelope so clients parse one shape.
      writeError(res, new OAuthError('temporarily_unavailable', `Too many requests; retry after ${retryAfter} seconds.`, {
        status: 429,
        headers: { 'Retry-After': String(retryAfter) },
      }));
    },
  });
}
