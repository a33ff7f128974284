// spec/token-service/helpers.ts
// An app with the revocation and introspection endpoints, resource-server clients, and callers.
import type { Server } from 'node:http';
import type { Express } from 'express';
import request from 'supertest';
import { introspection, revocation, type IntrospectionOptions, type MemoryClientDefinition, type TokenRouterOptions } from '../../lib';
import { basic, SERVICE_SECRET, type CodeTestApp, type TestClock } from '../helpers/create-app';
import type { Caller } from '../helpers/code-flow';
import { createRefreshTestApp, REFRESH_CLIENTS } from '../helpers/refresh-flow';

/** A resource server allowed to introspect every token. */
export const RS: Caller = { id: 'rs', secret: SERVICE_SECRET };
/** A confidential client without the flag. */
export const RS_PLAIN: Caller = { id: 'rs-plain', secret: SERVICE_SECRET };

export const SERVICE_CLIENTS: MemoryClientDefinition[] = [
  ...REFRESH_CLIENTS,
  { client_id: 'rs', client_secret: SERVICE_SECRET, grant_types: ['client_credentials'], scope: 'api:read', introspection_allowed: true },
  { client_id: 'rs-plain', client_secret: SERVICE_SECRET, grant_types: ['client_credentials'], scope: 'api:read' },
];

/** The refresh test app with `endpoints: [revocation(), introspection(introspectionOptions)]`. */
export function createServiceApp(
  overrides: Partial<TokenRouterOptions> | ((clock: TestClock) => Partial<TokenRouterOptions>) = {},
  introspectionOptions: IntrospectionOptions = {},
  clients: MemoryClientDefinition[] = SERVICE_CLIENTS,
): CodeTestApp {
  return createRefreshTestApp((clock) => ({
    endpoints: [revocation(), introspection(introspectionOptions)],
    ...(typeof overrides === 'function' ? overrides(clock) : overrides),
  }), clients);
}

/** POST /connect/<path> as `caller` (Basic for confidential clients, client_id in the body for public ones). */
export function post(target: Express | Server, path: 'revocation' | 'introspection', params: Readonly<Record<string, string>>, caller: Caller): request.Test {
  const body = new URLSearchParams(params);
  const req = request(target).post(`/connect/${path}`).type('form');
  if ('secret' in caller) req.set('Authorization', basic(caller.id, caller.secret));
  else body.set('client_id', caller.id);
  return req.send(body.toString());
}

export function revoke(target: Express | Server, token: string, caller: Caller, hint?: string): request.Test {
  return post(target, 'revocation', hint === undefined ? { token } : { token, token_type_hint: hint }, caller);
}

export function introspect(target: Express | Server, token: string, caller: Caller = RS, hint?: string, extra: Readonly<Record<string, string>> = {}): request.Test {
  return post(target, 'introspection', { ...(hint === undefined ? { token } : { token, token_type_hint: hint }), ...extra }, caller);
}
