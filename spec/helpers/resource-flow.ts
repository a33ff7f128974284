// spec/helpers/resource-flow.ts
// Shared pieces of the resource-indicator specs (RFC 8707): the router's `resources` option,
// clients with and without a `resources` list, an app serving every built-in grant, and requests
// that repeat `resource`.
import type { Server } from 'node:http';
import type { Express } from 'express';
import request from 'supertest';
import { authorizationCode, clientCredentials, deviceCode, refreshToken, type AnyGrantStrategy, type MemoryClientDefinition, type TokenRouterOptions } from '../../lib';
import { basic, createCodeTestApp, SERVICE_SECRET, type CodeTestApp } from './create-app';
import { DEVICE_GRANT, VERIFICATION_URI } from './device-flow';

/** Three protected resources: two with scopes and lifetimes, one (a URN) without settings. */
export const ORDERS = 'https://api.example.test/orders';
export const BILLING = 'https://api.example.test/billing';
export const REPORTS = 'urn:example:reports';
/** A well-formed resource the router does not know. */
export const UNKNOWN = 'https://api.example.test/unknown';

export const RESOURCES: NonNullable<TokenRouterOptions['resources']> = {
  [ORDERS]: { scopes: ['orders:read', 'orders:write'], accessTokenTtl: 600 },
  [BILLING]: { scopes: ['billing:read'], accessTokenTtl: 300 },
  [REPORTS]: {},
};

export const RS_REDIRECT = 'https://rs-web.example.test/cb';
const SCOPE = 'openid offline_access profile orders:read orders:write billing:read';

export const RESOURCE_CLIENTS: MemoryClientDefinition[] = [
  // client_credentials, may request all three resources.
  { client_id: 'rs-service', client_secret: SERVICE_SECRET, grant_types: ['client_credentials'], scope: 'profile orders:read orders:write billing:read', resources: [ORDERS, BILLING, REPORTS] },
  // client_credentials, ORDERS only.
  { client_id: 'rs-orders', client_secret: SERVICE_SECRET, grant_types: ['client_credentials'], scope: 'orders:read billing:read', resources: [ORDERS] },
  // client_credentials with its own (short) lifetime.
  { client_id: 'rs-short', client_secret: SERVICE_SECRET, grant_types: ['client_credentials'], scope: 'orders:read', resources: [ORDERS, REPORTS], access_token_ttl: 120 },
  // client_credentials without a resources list: may request none.
  { client_id: 'rs-none', client_secret: SERVICE_SECRET, grant_types: ['client_credentials'], scope: 'orders:read', access_token_audience: 'https://legacy.example.test' },
  // authorization_code + refresh_token, all three resources.
  { client_id: 'rs-web', client_secret: SERVICE_SECRET, grant_types: ['authorization_code', 'refresh_token'], redirect_uris: [RS_REDIRECT], scope: SCOPE, resources: [ORDERS, BILLING, REPORTS] },
  // authorization_code, ORDERS only.
  { client_id: 'rs-web-orders', client_secret: SERVICE_SECRET, grant_types: ['authorization_code', 'refresh_token'], redirect_uris: [RS_REDIRECT], scope: SCOPE, resources: [ORDERS] },
  // device grant + refresh_token, all three resources.
  { client_id: 'rs-tv', client_secret: SERVICE_SECRET, grant_types: [DEVICE_GRANT, 'refresh_token'], scope: SCOPE, resources: [ORDERS, BILLING, REPORTS] },
];

/** An app serving every built-in grant (plus `extraGrants`) with {@link RESOURCES} and {@link RESOURCE_CLIENTS}. */
export function createResourceTestApp(overrides: Partial<TokenRouterOptions> = {}, extraGrants: readonly AnyGrantStrategy[] = [], clients = RESOURCE_CLIENTS): CodeTestApp {
  return createCodeTestApp(
    {
      resources: RESOURCES,
      grants: [authorizationCode(), clientCredentials(), refreshToken(), deviceCode({ verificationUri: VERIFICATION_URI }), ...extraGrants],
      ...overrides,
    },
    clients,
  );
}

/** A form body: each [name, value] pair in order, names may repeat. */
export function form(pairs: ReadonlyArray<readonly [string, string]>): string {
  return pairs.map(([name, value]) => `${encodeURIComponent(name)}=${encodeURIComponent(value)}`).join('&');
}

/** POST /connect/token as a confidential client (Basic) with a form that may repeat `resource`. */
export function tokenRequest(target: Express | Server, clientId: string, pairs: ReadonlyArray<readonly [string, string]>): request.Test {
  return request(target).post('/connect/token').set('Authorization', basic(clientId, SERVICE_SECRET)).type('form').send(form(pairs));
}

/** `resource` pairs for each URI. */
export function resources(...uris: string[]): Array<readonly [string, string]> {
  return uris.map((uri) => ['resource', uri] as const);
}
