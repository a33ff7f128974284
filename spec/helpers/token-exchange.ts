// spec/helpers/token-exchange.ts
// Shared setup of the token-exchange hardening specs: the token-service app (revocation + introspection) with
// token exchange enabled, a trusted partner issuer, and the exchange request.

import jwt from 'jsonwebtoken';
import request from 'supertest';
import {
  authorizationCode, clientCredentials, refreshToken, TOKEN_EXCHANGE_GRANT_TYPE, tokenExchange,
  type IntrospectionOptions, type MemoryClientDefinition, type TokenExchangeOptions, type TokenRouterOptions,
} from '../../lib';
import { basic, ISSUER, SERVICE_SECRET, type CodeTestApp, type TestClock } from './create-app';
import type { Caller } from './code-flow';
import { RT_REDIRECT, RT_SCOPE } from './refresh-flow';
import { createServiceApp, SERVICE_CLIENTS } from '../token-service/helpers';
import { keyPair } from '../helpers/keys';

export const GATEWAY: Caller = { id: 'gateway', secret: SERVICE_SECRET };
export const TE_WEB: Caller = { id: 'te-web', secret: SERVICE_SECRET };
export const PARTNER = 'https://partner.example';
export const partnerKeys = keyPair('ec', { namedCurve: 'P-256' });

/** The clients of spec/grants/token-exchange.spec.ts, plus a client registered as `web` (the docs' example). */
export const CLIENTS: MemoryClientDefinition[] = [
  ...SERVICE_CLIENTS,
  { client_id: 'gateway', client_secret: SERVICE_SECRET, grant_types: [TOKEN_EXCHANGE_GRANT_TYPE, 'client_credentials', 'refresh_token'], scope: 'openid offline_access api:read api:write orders:read' },
  { client_id: 'te-web', client_secret: SERVICE_SECRET, grant_types: ['authorization_code', 'refresh_token', TOKEN_EXCHANGE_GRANT_TYPE], redirect_uris: [RT_REDIRECT], scope: RT_SCOPE },
  { client_id: 'web', client_secret: SERVICE_SECRET, grant_types: ['authorization_code', 'refresh_token'], redirect_uris: [RT_REDIRECT], scope: RT_SCOPE },
];

/** The token-service app with token exchange (partner issuer trusted) on the given policy. */
export function exchangeApp(
  policy: TokenExchangeOptions['policy'],
  extra: Partial<TokenExchangeOptions> = {},
  overrides: (clock: TestClock) => Partial<TokenRouterOptions> = () => ({}),
  introspectionOptions: IntrospectionOptions = {},
  clients: MemoryClientDefinition[] = CLIENTS,
): CodeTestApp {
  return createServiceApp((clock) => ({
    grants: [authorizationCode(), clientCredentials(), refreshToken(), tokenExchange({ policy, trustedIssuers: [{ issuer: PARTNER, keys: [{ kid: 'p1', key: partnerKeys.publicKey }], algorithms: ['ES256'] }], ...extra })],
    ...overrides(clock),
  }), introspectionOptions, clients);
}

/** POST /connect/token with the token-exchange grant. */
export function exchange(target: Parameters<typeof request>[0], params: Readonly<Record<string, string>>, caller: Caller = GATEWAY): request.Test {
  const body = new URLSearchParams({ grant_type: TOKEN_EXCHANGE_GRANT_TYPE, ...params });
  const req = request(target).post('/connect/token').type('form');
  if ('secret' in caller) req.set('Authorization', basic(caller.id, caller.secret));
  else body.set('client_id', caller.id);
  return req.send(body.toString());
}

/** A JWT of the trusted partner issuer (ES256, kid p1, aud = our issuer, 5 minutes). */
export function partnerJwt(claims: Record<string, unknown>, clock: TestClock): string {
  const iat = Math.floor(clock() / 1000);
  return jwt.sign({ sub: 'partner-user-7', aud: ISSUER, iat, exp: iat + 300, ...claims }, partnerKeys.privateKey, { algorithm: 'ES256', keyid: 'p1', issuer: PARTNER });
}
