// spec/helpers/code-flow.ts
// Shared pieces of the authorization_code specs: mint input defaults, the token request, JWT checks.
import { createHash, createPublicKey, type KeyObject } from 'node:crypto';
import type { Server } from 'node:http';
import type { Express } from 'express';
import request from 'supertest';
import type { AuthorizationCodeInput, TokenRouter } from '../../lib';
import { basic, SERVICE_SECRET, WEB_REDIRECT } from './create-app';
import type { PublicJwk } from '../../lib';

/** RFC 7636 Appendix B test vector. */
export const VERIFIER = 'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk';
export const CHALLENGE = 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM';

/** Mint input for the confidential "web" client; override what a test needs. */
export function codeInput(overrides: Partial<AuthorizationCodeInput> = {}): AuthorizationCodeInput {
  return { clientId: 'web', redirectUri: WEB_REDIRECT, scope: 'openid api:read', subject: 'user-1', ...overrides };
}

/** Who makes the token request: a confidential client (Basic) or a public one (client_id in the body). */
export type Caller = { readonly id: string; readonly secret: string } | { readonly id: string; readonly public: true };

export const WEB: Caller = { id: 'web', secret: SERVICE_SECRET };
export const WEB_B: Caller = { id: 'web-b', secret: SERVICE_SECRET };
export const SPA: Caller = { id: 'spa', public: true };

/** POST /connect/token with grant_type=authorization_code and the given (form-encoded) parameters. */
export function redeem(target: Express | Server, params: Readonly<Record<string, string | undefined>>, caller: Caller = WEB): request.Test {
  const body = new URLSearchParams({ grant_type: 'authorization_code' });
  for (const [name, value] of Object.entries(params)) if (value !== undefined) body.set(name, value);
  const req = request(target).post('/connect/token').type('form');
  if ('secret' in caller) req.set('Authorization', basic(caller.id, caller.secret));
  else body.set('client_id', caller.id);
  return req.send(body.toString());
}

/** OIDC Core §3.1.3.6: base64url of the left half of the hash of the ASCII access token. */
export function leftHalfHash(token: string, hash: 'sha256' | 'sha384' | 'sha512'): string {
  const digest = createHash(hash).update(token, 'ascii').digest();
  return digest.subarray(0, digest.length / 2).toString('base64url');
}

/** The public key the router publishes for `kid`, converted from its JWK. */
export function publishedKey(tokenRouter: TokenRouter, kid: string): KeyObject {
  const jwk: PublicJwk | undefined = tokenRouter.jwks().keys.find((key) => key.kid === kid);
  if (!jwk) throw new Error(`kid ${kid} is not in the JWKS`);
  return createPublicKey({ key: jwk, format: 'jwk' });
}

/** Seconds since the epoch for a ms clock value, as JWT NumericDates are. */
export function seconds(ms: number): number {
  return Math.floor(ms / 1000);
}
