// spec/helpers/device-flow.ts
// Shared pieces of the device authorization grant specs (RFC 8628): device clients, an app
// serving deviceCode(), the device authorization request, the poll, and "start + approve".
import type { Server } from 'node:http';
import type { Express } from 'express';
import request from 'supertest';
import { authorizationCode, deviceCode, hashOpaqueToken, refreshToken, type DeviceApproval, type DeviceCodeRecord, type MemoryClientDefinition, type TokenRouterOptions } from '../../lib';
import { basic, createCodeTestApp, SERVICE_SECRET, type CodeTestApp, type TestClock } from './create-app';
import type { DeviceCodeOptions } from '../../lib';

export const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';
export const VERIFICATION_URI = 'https://id.example.test/device';
export const SECOND = 1000;

/** device_code: 32 random bytes, base64url without padding. */
export const DEVICE_CODE_PATTERN = /^[A-Za-z0-9_-]{43}$/;
/** The default user code: 8 of the 20 consonants, shown XXXX-XXXX. */
export const CONSONANT_USER_CODE = /^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$/;

/** Scope of the device test clients. */
export const TV_SCOPE = 'openid profile offline_access api:read api:write';

/**
 * Device clients: confidential (Basic) with refresh tokens, a second confidential one, a public
 * one (client_id only), one with a default_scope, one without the device grant, one without the
 * refresh_token grant type, and a pairwise one.
 */
export const DEVICE_CLIENTS: MemoryClientDefinition[] = [
  { client_id: 'tv', client_secret: SERVICE_SECRET, grant_types: [DEVICE_GRANT, 'refresh_token'], scope: TV_SCOPE },
  { client_id: 'tv-b', client_secret: SERVICE_SECRET, grant_types: [DEVICE_GRANT, 'refresh_token'], scope: TV_SCOPE },
  { client_id: 'tv-public', token_endpoint_auth_method: 'none', grant_types: [DEVICE_GRANT], scope: 'openid api:read offline_access' },
  { client_id: 'tv-defaulted', client_secret: SERVICE_SECRET, grant_types: [DEVICE_GRANT], scope: 'api:read api:write', default_scope: 'api:read admin' },
  { client_id: 'tv-no-default', client_secret: SERVICE_SECRET, grant_types: [DEVICE_GRANT], scope: 'api:read' },
  { client_id: 'tv-no-refresh', client_secret: SERVICE_SECRET, grant_types: [DEVICE_GRANT], scope: TV_SCOPE },
  {
    client_id: 'tv-pairwise',
    client_secret: SERVICE_SECRET,
    grant_types: [DEVICE_GRANT],
    scope: 'openid api:read',
    subject_type: 'pairwise',
    sector_identifier_uri: 'https://tv.example.net/sector.json',
  },
  { client_id: 'web', client_secret: SERVICE_SECRET, grant_types: ['authorization_code', 'refresh_token'], redirect_uris: ['https://web.example.com/cb'], scope: TV_SCOPE },
  { client_id: 'no-grants', client_secret: SERVICE_SECRET, scope: 'api:read' },
];

export const DEVICE_PAIRWISE_SALT = 'device-pairwise-salt-0123456789abcdef';

/** Who calls: a confidential client (Basic, or its secret in the body) or a public one (client_id in the body). */
export type DeviceCaller =
  | { readonly id: string; readonly secret: string; readonly inBody?: boolean }
  | { readonly id: string; readonly public: true }
  | { readonly anonymous: true };

export const TV: DeviceCaller = { id: 'tv', secret: SERVICE_SECRET };
export const TV_B: DeviceCaller = { id: 'tv-b', secret: SERVICE_SECRET };
export const TV_PUBLIC: DeviceCaller = { id: 'tv-public', public: true };

type Target = Express | Server;
type Params = Readonly<Record<string, string | undefined>>;

function post(target: Target, path: string, params: Params, caller: DeviceCaller): request.Test {
  const body = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) if (value !== undefined) body.set(name, value);
  const req = request(target).post(path).type('form');
  if ('secret' in caller) {
    if (caller.inBody) {
      body.set('client_id', caller.id);
      body.set('client_secret', caller.secret);
    } else req.set('Authorization', basic(caller.id, caller.secret));
  } else if ('public' in caller) body.set('client_id', caller.id);
  return req.send(body.toString());
}

/** POST /connect/deviceauthorization with the given (form-encoded) parameters. */
export function authorizeDevice(target: Target, params: Params = { scope: 'openid api:read' }, caller: DeviceCaller = TV): request.Test {
  return post(target, '/connect/deviceauthorization', params, caller);
}

/** POST /connect/token with grant_type=device_code and the device code (plus extra parameters). */
export function pollDevice(target: Target, deviceCodeValue: string | undefined, caller: DeviceCaller = TV, extra: Params = {}): request.Test {
  return post(target, '/connect/token', { grant_type: DEVICE_GRANT, device_code: deviceCodeValue, ...extra }, caller);
}

/** The device authorization response (RFC 8628 §3.2). */
export interface DeviceAuthorization {
  readonly device_code: string;
  readonly user_code: string;
  readonly verification_uri: string;
  readonly verification_uri_complete: string;
  readonly expires_in: number;
  readonly interval: number;
}

/** Starts a device authorization and returns its response body (asserting a 200). */
export async function startDevice(target: Target, params: Params = { scope: 'openid api:read' }, caller: DeviceCaller = TV): Promise<DeviceAuthorization> {
  const res = await authorizeDevice(target, params, caller);
  if (res.status !== 200) throw new Error(`device authorization failed: ${res.status} ${res.text}`);
  return res.body as DeviceAuthorization;
}

/** The stored record of a device code (looked up by its digest, as the library does). */
export async function deviceRecord(harness: Pick<CodeTestApp, 'storage'>, deviceCodeValue: string): Promise<DeviceCodeRecord> {
  const record = await harness.storage.findDeviceCode(hashOpaqueToken(deviceCodeValue));
  if (!record) throw new Error('device code not stored');
  return record;
}

/** Session facts most approvals use. */
export function approval(overrides: Partial<DeviceApproval> = {}): DeviceApproval {
  return { subject: 'user-1', ...overrides };
}

/** Starts a device authorization and approves it on the verification API; returns the response and its grant id. */
export async function startApproved(
  harness: CodeTestApp,
  params: Params = { scope: 'openid api:read' },
  session: DeviceApproval = approval(),
  caller: DeviceCaller = TV,
): Promise<DeviceAuthorization & { readonly grantId: string }> {
  const started = await startDevice(harness.app, params, caller);
  const decided = await harness.tokenRouter.deviceVerification.approve(started.user_code, session, { key: 'approver' });
  if (decided.status !== 'approved') throw new Error(`approval failed: ${decided.status}`);
  return { ...started, grantId: (await deviceRecord(harness, started.device_code)).grantId };
}

/**
 * An app serving deviceCode() (with `device` options), authorizationCode() and refreshToken(),
 * the device clients, and the pairwise salt. `overrides` may be a function of the test clock.
 */
export function createDeviceTestApp(
  device: Partial<DeviceCodeOptions> = {},
  overrides: Partial<TokenRouterOptions> | ((clock: TestClock) => Partial<TokenRouterOptions>) = {},
  clients: MemoryClientDefinition[] = DEVICE_CLIENTS,
): CodeTestApp {
  return createCodeTestApp(
    (clock) => ({
      grants: [deviceCode({ verificationUri: VERIFICATION_URI, ...device }), authorizationCode(), refreshToken()],
      subjects: { pairwiseSalt: DEVICE_PAIRWISE_SALT },
      ...(typeof overrides === 'function' ? overrides(clock) : overrides),
    }),
    clients,
  );
}
