// spec/helpers/fault-app.ts
// The token endpoint on a shared store, served over real HTTP, for the specs that stop and crash
// the store under it (redis-fault, postgres-fault) or that look at what the store holds after real
// requests (postgres-storage): requests by grant, the failure answer the
// client must get, and a burst of redemptions.
import type { Server } from 'node:http';
import { authorizationCode, clientCredentials, deviceCode, refreshToken, type MemoryClientDefinition, type StorageAdapter } from '../../lib';
import { createCodeTestApp, SERVICE_SECRET, type CodeTestApp, type TestClock } from './create-app';

const REDIRECT = 'https://web.example.com/cb';
const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';
const CLIENTS: MemoryClientDefinition[] = [
  { client_id: 'web', client_secret: SERVICE_SECRET, grant_types: ['authorization_code', 'refresh_token'], redirect_uris: [REDIRECT], scope: 'openid offline_access api:read' },
  { client_id: 'tv', client_secret: SERVICE_SECRET, grant_types: [DEVICE_GRANT, 'refresh_token'], scope: 'openid offline_access api:read' },
  { client_id: 'service', client_secret: SERVICE_SECRET, grant_types: ['client_credentials'], scope: 'api:read' },
];

export interface FaultReply {
  readonly status: number;
  readonly text: string;
  readonly headers: Headers;
  readonly body: Record<string, unknown>;
}

export interface FaultApp {
  readonly harness: CodeTestApp;
  readonly storage: StorageAdapter;
  post(path: string, form: Record<string, string>, clientId: string): Promise<FaultReply>;
  redeem(code: string): Promise<FaultReply>;
  refresh(token: string): Promise<FaultReply>;
  poll(deviceCode: string): Promise<FaultReply>;
  clientCredentials(): Promise<FaultReply>;
  /** Mints an authorization code for `web` through the router (writes to the store). */
  mint(): Promise<{ code: string; grantId: string }>;
  /** Starts a device authorization and approves it; resolves the device_code. */
  approvedDevice(): Promise<string>;
  close(): Promise<void>;
}

/** Serves the authorization_code, refresh_token, device_code and client_credentials grants on the storage `storageFor(clock)` makes. */
export async function startFaultApp(storageFor: (clock: TestClock) => StorageAdapter): Promise<FaultApp> {
  const harness = createCodeTestApp((clock) => ({
    storage: storageFor(clock),
    grants: [authorizationCode(), refreshToken(), clientCredentials(), deviceCode({ verificationUri: 'https://id.example.test/device' })],
  }), CLIENTS);
  const http: Server = harness.app.listen(0, '127.0.0.1');
  await new Promise<void>((resolve) => http.once('listening', () => resolve()));
  const address = http.address();
  const base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;

  async function post(path: string, form: Record<string, string>, clientId: string): Promise<FaultReply> {
    const res = await fetch(`${base}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${clientId}:${SERVICE_SECRET}`).toString('base64')}` },
      body: new URLSearchParams(form).toString(),
    });
    const text = await res.text();
    return { status: res.status, text, headers: res.headers, body: JSON.parse(text) as Record<string, unknown> };
  }

  return {
    harness,
    storage: harness.storage,
    post,
    redeem: (code) => post('/connect/token', { grant_type: 'authorization_code', code, redirect_uri: REDIRECT }, 'web'),
    refresh: (token) => post('/connect/token', { grant_type: 'refresh_token', refresh_token: token }, 'web'),
    poll: (value) => post('/connect/token', { grant_type: DEVICE_GRANT, device_code: value }, 'tv'),
    clientCredentials: () => post('/connect/token', { grant_type: 'client_credentials' }, 'service'),
    mint: () => harness.tokenRouter.issueAuthorizationCode({ clientId: 'web', redirectUri: REDIRECT, scope: 'openid offline_access api:read', subject: 'user-1' }),
    async approvedDevice() {
      const started = await post('/connect/deviceauthorization', { scope: 'openid offline_access' }, 'tv');
      if (started.status !== 200) throw new Error(`device authorization answered ${started.status}: ${started.text}`);
      const decided = await harness.tokenRouter.deviceVerification.approve(started.body.user_code as string, { subject: 'user-1' }, { key: 'fault' });
      if (decided.status !== 'approved') throw new Error(`device approval answered ${decided.status}`);
      return started.body.device_code as string;
    },
    close: () => new Promise<void>((resolve) => http.close(() => resolve())),
  };
}

/**
 * The failure answer: 500 server_error, JSON, no-store, no stack or internals (nothing matching
 * `internals`, e.g. the store's name or its error codes), no token.
 */
export function expectServerError(reply: FaultReply, internals: RegExp): void {
  expect(reply.status).toBe(500);
  expect(reply.headers.get('content-type')).toMatch(/^application\/json/);
  expect(reply.headers.get('cache-control')).toBe('no-store');
  expect(reply.body.error).toBe('server_error');
  expect(Object.keys(reply.body).every((key) => key === 'error' || key === 'error_description')).toBe(true);
  expect(reply.text).not.toMatch(/\bat \S+ \(|stack/i);
  expect(reply.text).not.toMatch(internals);
  expect(reply.body.access_token).toBeUndefined();
  expect(reply.body.refresh_token).toBeUndefined();
}

/** Sends one redemption per code, one event-loop turn apart, and calls `crash` once the first answer is back. */
export async function redeemBurstAndCrash(app: FaultApp, codes: ReadonlyArray<{ code: string }>, crash: () => Promise<void>): Promise<FaultReply[]> {
  const replies: Array<Promise<FaultReply>> = [];
  for (const { code } of codes) {
    replies.push(app.redeem(code));
    await new Promise((resolve) => setImmediate(resolve));
  }
  await Promise.race(replies);
  await crash();
  return Promise.all(replies);
}
