// lib/endpoint/respond.ts
// Writes token and error responses with the headers RFC 6749 §5.1/§5.2 require.
import type { ServerResponse } from 'node:http';
import { OAuthError } from '../contracts/errors';

/** Sets the anti-caching headers every token-endpoint response carries (RFC 6749 §5.1). */
export function setNoStore(res: ServerResponse): void {
  res.setHeader('Cache-Control', 'no-store');
  res.setHeader('Pragma', 'no-cache');
}

/**
 * Writes a JSON body directly (not through res.json): no ETag computation, no
 * content negotiation, nothing but the bytes and the headers a token response needs.
 */
export function writeJson(res: ServerResponse, status: number, body: unknown, headers?: Readonly<Record<string, string>>): void {
  if (res.headersSent) return;
  const payload = JSON.stringify(body);
  res.statusCode = status;
  setNoStore(res);
  if (headers) for (const name of Object.keys(headers)) res.setHeader(name, headers[name]);
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.setHeader('Content-Length', Buffer.byteLength(payload));
  res.end(payload);
}

/** Writes an OAuthError as the RFC 6749 §5.2 JSON envelope. */
export function writeError(res: ServerResponse, error: OAuthError): void {
  writeJson(res, error.status, error.toJSON(), error.headers);
}

/** Drops `undefined` and `null` members: a token response never carries them (RFC 6749 §5.1). */
export function compactBody(body: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(body)) {
    const value = body[key];
    if (value !== undefined && value !== null) out[key] = value;
  }
  return out;
}
