// spec/resource-server/helpers.ts
// Shared pieces of the resource-server middleware specs: a protected route that echoes what
// accessTokenOf(req) found, tokens signed by hand (for what the router never mints), and the
// RFC 6750 challenge the specs expect.
import { request as httpRequest } from 'node:http';
import type { KeyObject } from 'node:crypto';
import express, { type ErrorRequestHandler, type Express, type RequestHandler } from 'express';
import jwt from 'jsonwebtoken';
import { accessTokenOf } from '../../lib';

/** Mounts `GET <path>` behind `guard`, answering 200 with what the middleware verified; errors → 500 `{ failed: message }`. */
export function protect(app: Express, path: string, guard: RequestHandler, errors: unknown[] = []): void {
  app.get(path, guard, (req, res) => {
    const { scheme, token, claims, scopes } = accessTokenOf(req);
    res.json({ scheme, tokenLength: token.length, sub: claims.sub, client_id: claims.client_id, scopes });
  });
  const onError: ErrorRequestHandler = (error: unknown, _req, res, _next) => {
    errors.push(error);
    res.status(500).json({ failed: error instanceof Error ? error.message : String(error) });
  };
  app.use(path, onError);
}

/** A fresh app with only the protected route. */
export function apiApp(guard: RequestHandler, errors: unknown[] = []): Express {
  const app = express();
  protect(app, '/api', guard, errors);
  return app;
}

/** The challenge of an RFC 6750 §3.1 error. */
export function challengeOf(realm: string, error: string, description: string, scope?: string): string {
  return `Bearer realm="${realm}", error="${error}", error_description="${description}"${scope === undefined ? '' : `, scope="${scope}"`}`;
}

export const INVALID_TOKEN_DESCRIPTION = 'The access token is invalid, expired or revoked, or not for this resource.';

/** Signs an access-token-shaped JWT by hand (what the router never mints: other issuers, cnf, odd headers); `iat` comes from the payload. */
export function signToken(
  payload: Record<string, unknown>,
  key: KeyObject | string,
  options: { alg?: jwt.Algorithm; typ?: string; kid?: string; header?: Record<string, unknown> } = {},
): string {
  const header = { alg: options.alg ?? 'RS256', ...(options.typ !== '' && { typ: options.typ ?? 'at+jwt' }), ...(options.kid !== undefined && { kid: options.kid }), ...options.header };
  // A claim set to undefined is left out (jsonwebtoken would refuse e.g. `exp: undefined`).
  const claims = Object.fromEntries(Object.entries(payload).filter(([, value]) => value !== undefined));
  return jwt.sign(claims, key, { algorithm: options.alg ?? 'RS256', header: header as jwt.JwtHeader });
}

/** RFC 9068 claims at `nowMs`, valid for an hour. */
export function accessClaims(issuer: string, audience: string | string[], nowMs: number, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const iat = Math.floor(nowMs / 1000);
  return { iss: issuer, sub: 'user-1', aud: audience, client_id: 'some-client', jti: `jti-${Math.random()}`, iat, nbf: iat, exp: iat + 3600, scope: 'api:read', ...extra };
}

/** GET with raw header lines (supertest cannot send one header twice). */
export function getRaw(port: number, path: string, headers: Array<[string, string]>): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, method: 'GET' }, (res) => {
      let text = '';
      res.on('data', (chunk: Buffer) => { text += chunk.toString(); });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
    });
    req.on('error', reject);
    for (const [name, value] of headers) req.appendHeader(name, value);
    req.end();
  });
}
