// lib/endpoint/transport-security.ts
// The token endpoint refuses plain HTTP (RFC 6749 §3.2, §10.9; RFC 9700 §4.13).
import type { NextFunction, Request, Response } from 'express';
import { OAuthError } from '../contracts/errors';

/**
 * Refuses a request that did not arrive over TLS with 400 `invalid_request` (JSON envelope,
 * no-store, via the router's error handler), before the body is read. `req.secure` is Express's
 * view: the socket's TLS, or `X-Forwarded-Proto: https` only when the `trust proxy` setting trusts
 * the hop that sent it — a forged header from anywhere else does not count.
 */
export function requireHttps(req: Request, _res: Response, next: NextFunction): void {
  if (req.secure) {
    next();
    return;
  }
  next(new OAuthError('invalid_request', 'This endpoint must be called over HTTPS.'));
}
