// spec/fuzz/support/harness.ts
// The app the fuzz suites attack: every built-in grant plus the device authorization endpoint,
// a storage that records every call, and pre-minted artefacts (codes, refresh tokens, device
// codes) in each state a request can meet them in.
import http from 'node:http';
import request from 'supertest';
import { tnuIdProfileSwitch, authorizationCode, clientCredentials, createMemoryStorage, deviceCode, hashOpaqueToken, refreshToken, s256Challenge, type MemoryClientDefinition, type MemoryStorage, type StorageAdapter, type TokenRouterOptions } from '../../../lib';
import { basic, createCodeTestApp, type CodeTestApp, type TestClock } from '../../helpers/create-app';
import { recordCalls, type RecordedCall } from '../../helpers/record-calls';
import { DEVICE_GRANT, VERIFICATION_URI } from '../../helpers/device-flow';

export { DEVICE_GRANT };

export const REDIRECT = 'https://fz.example.com/cb';
export const REDIRECT_2 = 'https://fz.example.com/other';
/** RFC 7636 Appendix B verifier. */
export const VERIFIER = 'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk';
/** Needs form-encoding in Basic and in the body (`+`, `%`, `:`, space, non-ASCII). */
export const CONF_SECRET = 'fz+sec%ret:wi th/ø€';
export const OTHER_SECRET = 'other-secret-0123456789abcdef';
export const TV_SECRET = 'tv-secret-0123456789abcdef';

const ALL_GRANTS = ['authorization_code', 'refresh_token', 'client_credentials', DEVICE_GRANT];

/**
 * The registry the fuzzed app uses. The oracle reads the same definitions, so a client's
 * secret, grant types and scopes are stated once.
 */
export const FUZZ_CLIENTS: readonly MemoryClientDefinition[] = [
  { client_id: 'fz-conf', client_secret: CONF_SECRET, grant_types: ALL_GRANTS, scope: 'openid offline_access api:read api:write', redirect_uris: [REDIRECT, REDIRECT_2] },
  { client_id: 'fz-other', client_secret: OTHER_SECRET, grant_types: ALL_GRANTS, scope: 'openid offline_access api:read api:write', redirect_uris: [REDIRECT] },
  { client_id: 'fz-public', token_endpoint_auth_method: 'none', grant_types: ['authorization_code', 'refresh_token', DEVICE_GRANT], scope: 'openid offline_access api:read', redirect_uris: [REDIRECT] },
  // No grant_types: authorization_code only (RFC 7591 default).
  { client_id: 'fz-code-only', client_secret: OTHER_SECRET, scope: 'api:read', redirect_uris: [REDIRECT] },
  // A device client with a default_scope: its device authorization may omit scope.
  { client_id: 'fz-tv', client_secret: TV_SECRET, grant_types: [DEVICE_GRANT], scope: 'api:read api:write', default_scope: 'api:read' },
];

export function clientById(id: string): MemoryClientDefinition | undefined {
  return FUZZ_CLIENTS.find((client) => client.client_id === id);
}

/** Where a pre-minted code, refresh token or device code stands. */
export type ArtefactState = 'live' | 'used' | 'rotated' | 'revoked' | 'pending' | 'denied';

export type ArtefactParameter = 'code' | 'refresh_token' | 'device_code';

export interface Artefact {
  readonly name: string;
  readonly parameter: ArtefactParameter;
  readonly grantType: string;
  readonly value: string;
  /** The digest the store is keyed by. */
  readonly hash: string;
  readonly owner: string;
  readonly grantId: string;
  readonly state: ArtefactState;
  /** The scope the artefact grants (a request may only narrow it). */
  readonly scope: readonly string[];
  /** authorization_code only. */
  readonly redirectUri?: string;
  readonly verifier?: string;
}

export interface FuzzHarness {
  readonly server: http.Server;
  readonly clock: TestClock;
  readonly app: CodeTestApp;
  /** The memory storage behind the recorder (reads here are not recorded). */
  readonly raw: MemoryStorage;
  /** Every storage call the router made, in order. */
  readonly calls: RecordedCall[];
  readonly artefacts: readonly Artefact[];
  /** Largest accepted body (the default 64 KiB). */
  readonly maxBodyBytes: number;
  close(): Promise<void>;
}

const GRANT_SCOPE = 'openid offline_access api:read';

/**
 * Builds the app (limiters off, as createCodeTestApp has them, unless `overrides` turn them on)
 * and mints the artefacts (through HTTP where a client would, through the host
 * APIs where the host would). When it resolves, the clock stands 10 s after the minting, past
 * the refresh retry window, so a reused rotated token is reuse, not a retry.
 */
export async function createFuzzHarness(overrides: Partial<TokenRouterOptions> = {}): Promise<FuzzHarness> {
  let raw: MemoryStorage | undefined;
  let recorded: { storage: StorageAdapter; calls: RecordedCall[] } | undefined;
  const app = createCodeTestApp((clock) => {
    raw = createMemoryStorage({ clock });
    recorded = recordCalls(raw);
    return {
      grants: [authorizationCode({ codeTtl: 600 }), clientCredentials(), refreshToken({ extensions: [tnuIdProfileSwitch({ verifyProfile: () => false })] }), deviceCode({ verificationUri: VERIFICATION_URI })],
      storage: recorded.storage,
      ...overrides,
    };
  }, [...FUZZ_CLIENTS]);
  if (!raw || !recorded) throw new Error('storage was not built');
  const server = http.createServer(app.app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const artefacts = await mintArtefacts(app, server);
  return {
    server,
    clock: app.clock,
    app,
    raw,
    calls: recorded.calls,
    artefacts,
    maxBodyBytes: 64 * 1024,
    close: async () => {
      raw?.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

async function mintArtefacts(app: CodeTestApp, server: http.Server): Promise<Artefact[]> {
  const { tokenRouter, clock } = app;
  const challenge = s256Challenge(VERIFIER);
  const artefacts: Artefact[] = [];
  const confAuth = basic('fz-conf', CONF_SECRET);

  const mint = async (clientId: string, scope: string) =>
    tokenRouter.issueAuthorizationCode({ clientId, redirectUri: REDIRECT, scope, subject: 'user-1', codeChallenge: challenge, codeChallengeMethod: 'S256' });
  const redeemCode = async (code: string) => {
    const res = await request(server).post('/connect/token').set('Authorization', confAuth).type('form')
      .send(new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT, code_verifier: VERIFIER }).toString());
    if (res.status !== 200 || typeof res.body.refresh_token !== 'string') throw new Error(`setup: code redemption failed: ${res.status} ${res.text}`);
    return res.body.refresh_token as string;
  };
  const refreshWith = async (token: string) =>
    request(server).post('/connect/token').set('Authorization', confAuth).type('form')
      .send(new URLSearchParams({ grant_type: 'refresh_token', refresh_token: token }).toString());
  const code = (name: string, state: ArtefactState, issued: { code: string; grantId: string }, owner: string, scope: string): Artefact => ({
    name, parameter: 'code', grantType: 'authorization_code', value: issued.code, hash: hashOpaqueToken(issued.code), owner,
    grantId: issued.grantId, state, scope: scope.split(' '), redirectUri: REDIRECT, verifier: VERIFIER,
  });
  const refresh = (name: string, state: ArtefactState, value: string, grantId: string): Artefact => ({
    name, parameter: 'refresh_token', grantType: 'refresh_token', value, hash: hashOpaqueToken(value), owner: 'fz-conf', grantId, state, scope: GRANT_SCOPE.split(' '),
  });

  // Authorization codes: live (confidential and public client) and already used.
  const live = await mint('fz-conf', GRANT_SCOPE);
  artefacts.push(code('code-live', 'live', live, 'fz-conf', GRANT_SCOPE));
  const livePublic = await mint('fz-public', 'openid api:read');
  artefacts.push(code('code-live-public', 'live', livePublic, 'fz-public', 'openid api:read'));
  const used = await mint('fz-conf', GRANT_SCOPE);
  await redeemCode(used.code);
  artefacts.push(code('code-used', 'used', used, 'fz-conf', GRANT_SCOPE));

  // Refresh tokens: a live one, a rotated parent (reusing it revokes its family) and one of a revoked family.
  const liveFamily = await mint('fz-conf', GRANT_SCOPE);
  artefacts.push(refresh('rt-live', 'live', await redeemCode(liveFamily.code), liveFamily.grantId));
  const rotatedFamily = await mint('fz-conf', GRANT_SCOPE);
  const rotatedParent = await redeemCode(rotatedFamily.code);
  if ((await refreshWith(rotatedParent)).status !== 200) throw new Error('setup: rotation failed');
  artefacts.push(refresh('rt-rotated', 'rotated', rotatedParent, rotatedFamily.grantId));
  const deadFamily = await mint('fz-conf', GRANT_SCOPE);
  const deadParent = await redeemCode(deadFamily.code);
  const deadChild = (await refreshWith(deadParent)).body.refresh_token as string;

  // Device codes: approved (confidential and public client), pending, denied, and already redeemed.
  const device = async (name: string, owner: string, secret: string | undefined, scope: string, decide: 'approve' | 'deny' | 'none'): Promise<Artefact> => {
    const req = request(server).post('/connect/deviceauthorization').type('form');
    const body = new URLSearchParams({ scope });
    if (secret === undefined) body.set('client_id', owner);
    else req.set('Authorization', basic(owner, secret));
    const res = await req.send(body.toString());
    if (res.status !== 200) throw new Error(`setup: device authorization failed: ${res.status} ${res.text}`);
    const { device_code: value, user_code: userCode } = res.body as { device_code: string; user_code: string };
    if (decide === 'approve') await tokenRouter.deviceVerification.approve(userCode, { subject: 'user-1' }, { key: 'setup' });
    if (decide === 'deny') await tokenRouter.deviceVerification.deny(userCode, { key: 'setup' });
    const record = await app.storage.findDeviceCode(hashOpaqueToken(value));
    if (!record) throw new Error('setup: device code not stored');
    const state: ArtefactState = decide === 'approve' ? 'live' : decide === 'deny' ? 'denied' : 'pending';
    return { name, parameter: 'device_code', grantType: DEVICE_GRANT, value, hash: record.deviceCodeHash, owner, grantId: record.grantId, state, scope: scope.split(' ') };
  };
  artefacts.push(await device('device-approved', 'fz-conf', CONF_SECRET, GRANT_SCOPE, 'approve'));
  artefacts.push(await device('device-approved-public', 'fz-public', undefined, 'openid api:read', 'approve'));
  artefacts.push(await device('device-pending', 'fz-conf', CONF_SECRET, 'api:read', 'none'));
  artefacts.push(await device('device-denied', 'fz-conf', CONF_SECRET, 'api:read', 'deny'));
  const usedDevice = await device('device-used', 'fz-conf', CONF_SECRET, GRANT_SCOPE, 'approve');
  const poll = await request(server).post('/connect/token').set('Authorization', confAuth).type('form')
    .send(new URLSearchParams({ grant_type: DEVICE_GRANT, device_code: usedDevice.value }).toString());
  if (poll.status !== 200) throw new Error(`setup: device poll failed: ${poll.status} ${poll.text}`);
  artefacts.push({ ...usedDevice, state: 'used' });

  // Past the retry window: reusing the dead family's parent now revokes that family.
  clock.advance(10_000);
  if ((await refreshWith(deadParent)).status !== 400) throw new Error('setup: reuse was not refused');
  artefacts.push(refresh('rt-revoked', 'revoked', deadChild, deadFamily.grantId));
  return artefacts;
}

/** Storage methods that only read. Every other method counts as a write (new methods included). */
export const READ_ONLY_STORAGE_METHODS: ReadonlySet<string> = new Set([
  'findAuthorizationCode',
  'findRefreshToken',
  'isGrantRevoked',
  'findDeviceCode',
  'findDeviceCodeByUserCode',
  'size',
]);

/** The stored record of every artefact, serialised, to prove a rejected request changed none. */
export async function snapshotArtefacts(raw: MemoryStorage, artefacts: readonly Artefact[]): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const artefact of artefacts) {
    const record = artefact.parameter === 'code'
      ? await raw.findAuthorizationCode(artefact.hash)
      : artefact.parameter === 'refresh_token'
        ? await raw.findRefreshToken(artefact.hash)
        : await raw.findDeviceCode(artefact.hash);
    out.set(artefact.name, JSON.stringify(record ?? null));
  }
  return out;
}
