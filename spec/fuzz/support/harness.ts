// spec/fuzz/support/harness.ts
// The app the fuzz suites attack: every built-in grant (token exchange included), the device
// authorization, revocation and introspection endpoints, a storage that records every call, and
// pre-minted artefacts (codes, refresh tokens, device codes) in each state a request can meet them
// in, plus the tokens a request may present (see tokens.ts).
import http from 'node:http';
import request from 'supertest';
import {
  tnuIdProfileSwitch, authorizationCode, clientCredentials, createMemoryStorage, deviceCode, hashOpaqueToken, introspection, refreshToken, revocation, s256Challenge, TOKEN_EXCHANGE_GRANT_TYPE, tokenExchange,
  type MemoryClientDefinition, type MemoryStorage, type StorageAdapter, type TokenExchangeOptions, type TokenRouterOptions,
} from '../../../lib';
import { basic, createCodeTestApp, type CodeTestApp, type TestClock } from '../../helpers/create-app';
import { recordCalls, type RecordedCall } from '../../helpers/record-calls';
import { DEVICE_GRANT, VERIFICATION_URI } from '../../helpers/device-flow';
import { craftedTokens, PARTNER_ISSUER, PARTNER_KID, PARTNER_PUBLIC_KEY, presentedJwt, type MintedJwt, type PresentedToken, type TokenModel } from './tokens';

export { DEVICE_GRANT };

export const REDIRECT = 'https://fz.example.com/cb';
export const REDIRECT_2 = 'https://fz.example.com/other';
/** RFC 7636 Appendix B verifier. */
export const VERIFIER = 'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk';
/** Needs form-encoding in Basic and in the body (`+`, `%`, `:`, space, non-ASCII). */
export const CONF_SECRET = 'fz+sec%ret:wi th/ø€';
export const OTHER_SECRET = 'other-secret-0123456789abcdef';
export const TV_SECRET = 'tv-secret-0123456789abcdef';
export const GW_SECRET = 'gw-secret-0123456789abcdef';
export const RS_SECRET = 'rs-secret-0123456789abcdef';

const ALL_GRANTS = ['authorization_code', 'refresh_token', 'client_credentials', DEVICE_GRANT];

/** The one client the token-exchange policy permits. */
export const GATEWAY = 'fz-gw';
/** What the policy permits it (the most an exchanged token may carry). */
export const EXCHANGE_SCOPE: readonly string[] = ['api:read', 'api:write'];

/** Permits the gateway, for any verified subject, at most EXCHANGE_SCOPE; refuses everyone else. */
// A partner's user is mapped to a local subject (p-<sub>): a partner JWT never names one of ours.
const exchangePolicy: TokenExchangeOptions['policy'] = ({ client, subjectToken }) =>
  client.client_id === GATEWAY ? { scope: [...EXCHANGE_SCOPE], ...(subjectToken.issuer === PARTNER_ISSUER && { subject: `p-${subjectToken.subject}` }) } : false;

/**
 * The registry the fuzzed app uses. The oracle reads the same definitions, so a client's
 * secret, grant types and scopes are stated once.
 */
export const FUZZ_CLIENTS: readonly MemoryClientDefinition[] = [
  { client_id: 'fz-conf', client_secret: CONF_SECRET, grant_types: ALL_GRANTS, scope: 'openid offline_access api:read api:write', redirect_uris: [REDIRECT, REDIRECT_2] },
  // May use token exchange, but the policy refuses it.
  { client_id: 'fz-other', client_secret: OTHER_SECRET, grant_types: [...ALL_GRANTS, TOKEN_EXCHANGE_GRANT_TYPE], scope: 'openid offline_access api:read api:write', redirect_uris: [REDIRECT] },
  // Token exchange registered, but public clients may not exchange (allowPublicClients is off).
  { client_id: 'fz-public', token_endpoint_auth_method: 'none', grant_types: ['authorization_code', 'refresh_token', DEVICE_GRANT, TOKEN_EXCHANGE_GRANT_TYPE], scope: 'openid offline_access api:read', redirect_uris: [REDIRECT] },
  // No grant_types: authorization_code only (RFC 7591 default).
  { client_id: 'fz-code-only', client_secret: OTHER_SECRET, scope: 'api:read', redirect_uris: [REDIRECT] },
  // A device client with a default_scope: its device authorization may omit scope.
  { client_id: 'fz-tv', client_secret: TV_SECRET, grant_types: [DEVICE_GRANT], scope: 'api:read api:write', default_scope: 'api:read' },
  // The gateway the exchange policy permits; it also has user tokens of its own (refresh and ID tokens are only exchangeable by their client).
  { client_id: GATEWAY, client_secret: GW_SECRET, grant_types: ['authorization_code', 'refresh_token', 'client_credentials', TOKEN_EXCHANGE_GRANT_TYPE], scope: 'openid offline_access api:read api:write', redirect_uris: [REDIRECT] },
  // A resource server allowed to introspect (RFC 7662; no authorize hook in the fuzz app).
  { client_id: 'fz-rs', client_secret: RS_SECRET, grant_types: ['client_credentials'], scope: 'api:read', introspection_allowed: true },
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
  /** The tokens a request may present, and which are revoked (updated by the checks as revocations are written). */
  readonly tokens: TokenModel;
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
      grants: [
        authorizationCode({ codeTtl: 600 }), clientCredentials(), refreshToken({ extensions: [tnuIdProfileSwitch({ verifyProfile: () => false })] }), deviceCode({ verificationUri: VERIFICATION_URI }),
        tokenExchange({ policy: exchangePolicy, trustedIssuers: [{ issuer: PARTNER_ISSUER, keys: [{ kid: PARTNER_KID, key: PARTNER_PUBLIC_KEY }], algorithms: ['ES256'] }] }),
      ],
      endpoints: [revocation(), introspection()],
      storage: recorded.storage,
      ...overrides,
    };
  }, [...FUZZ_CLIENTS]);
  if (!raw || !recorded) throw new Error('storage was not built');
  const server = http.createServer(app.app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { artefacts, tokens } = await mintArtefacts(app, server);
  return {
    server,
    clock: app.clock,
    app,
    raw,
    calls: recorded.calls,
    artefacts,
    maxBodyBytes: 64 * 1024,
    tokens,
    close: async () => {
      raw?.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

interface TokenBody {
  readonly access_token: string;
  readonly refresh_token?: string;
  readonly id_token?: string;
}

async function mintArtefacts(app: CodeTestApp, server: http.Server): Promise<{ artefacts: Artefact[]; tokens: TokenModel }> {
  const { tokenRouter, clock } = app;
  const challenge = s256Challenge(VERIFIER);
  const artefacts: Artefact[] = [];
  const jwts: MintedJwt[] = [];
  const refreshTokens: PresentedToken[] = [];
  const confAuth = basic('fz-conf', CONF_SECRET);

  const mint = async (clientId: string, scope: string) =>
    tokenRouter.issueAuthorizationCode({ clientId, redirectUri: REDIRECT, scope, subject: 'user-1', codeChallenge: challenge, codeChallengeMethod: 'S256' });
  const tokenRequest = async (params: Record<string, string>, authorization: string | undefined): Promise<TokenBody> => {
    const req = request(server).post('/connect/token').type('form');
    if (authorization) req.set('Authorization', authorization);
    const res = await req.send(new URLSearchParams(params).toString());
    if (res.status !== 200 || typeof res.body.access_token !== 'string') throw new Error(`setup: ${params.grant_type} failed: ${res.status} ${res.text}`);
    return res.body as TokenBody;
  };
  const redeemWith = async (code: string, authorization: string | undefined, clientId?: string): Promise<TokenBody> =>
    tokenRequest({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT, code_verifier: VERIFIER, ...(clientId !== undefined && { client_id: clientId }) }, authorization);
  const redeemCode = async (code: string) => {
    const body = await redeemWith(code, confAuth);
    if (typeof body.refresh_token !== 'string') throw new Error('setup: code redemption without a refresh token');
    return body;
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
  const presentedRefresh = (name: string, value: string, owner: string, grantId: string, scope: string, consumed = false): PresentedToken => ({
    // The gateway's grant is user-2's, every other one user-1's.
    name, kind: 'refresh_token', value, owner, grantId, consumed, claims: { sub: owner === GATEWAY ? 'user-2' : 'user-1', client_id: owner, scope },
  });
  const keep = (prefix: string, body: TokenBody, owner: string, grantId: string, scope: string) => {
    jwts.push({ name: `${prefix}-at`, kind: 'access_token', value: body.access_token });
    if (body.id_token) jwts.push({ name: `${prefix}-id`, kind: 'id_token', value: body.id_token });
    if (body.refresh_token) refreshTokens.push(presentedRefresh(`${prefix}-rt`, body.refresh_token, owner, grantId, scope));
  };

  // Authorization codes: live (confidential and public client) and already used.
  const live = await mint('fz-conf', GRANT_SCOPE);
  artefacts.push(code('code-live', 'live', live, 'fz-conf', GRANT_SCOPE));
  const livePublic = await mint('fz-public', 'openid api:read');
  artefacts.push(code('code-live-public', 'live', livePublic, 'fz-public', 'openid api:read'));
  const used = await mint('fz-conf', GRANT_SCOPE);
  keep('used-code', await redeemCode(used.code), 'fz-conf', used.grantId, GRANT_SCOPE);
  artefacts.push(code('code-used', 'used', used, 'fz-conf', GRANT_SCOPE));

  // Refresh tokens: a live one, a rotated parent (reusing it revokes its family) and one of a revoked family.
  const liveFamily = await mint('fz-conf', GRANT_SCOPE);
  const liveBody = await redeemCode(liveFamily.code);
  jwts.push({ name: 'live-family-at', kind: 'access_token', value: liveBody.access_token });
  artefacts.push(refresh('rt-live', 'live', liveBody.refresh_token as string, liveFamily.grantId));
  const rotatedFamily = await mint('fz-conf', GRANT_SCOPE);
  const rotatedParent = (await redeemCode(rotatedFamily.code)).refresh_token as string;
  const rotation = await refreshWith(rotatedParent);
  if (rotation.status !== 200) throw new Error('setup: rotation failed');
  keep('rotated-child', rotation.body as TokenBody, 'fz-conf', rotatedFamily.grantId, GRANT_SCOPE);
  artefacts.push(refresh('rt-rotated', 'rotated', rotatedParent, rotatedFamily.grantId));
  const deadFamily = await mint('fz-conf', GRANT_SCOPE);
  const deadBody = await redeemCode(deadFamily.code);
  jwts.push({ name: 'dead-family-at', kind: 'access_token', value: deadBody.access_token });
  const deadParent = deadBody.refresh_token as string;
  const deadChild = (await refreshWith(deadParent)).body.refresh_token as string;

  // Tokens for revocation, introspection and exchange: client-level ones, a public client's, the gateway's own.
  jwts.push({ name: 'cc-conf-at', kind: 'access_token', value: (await tokenRequest({ grant_type: 'client_credentials', scope: 'api:read' }, confAuth)).access_token });
  jwts.push({ name: 'cc-other-at', kind: 'access_token', value: (await tokenRequest({ grant_type: 'client_credentials' }, basic('fz-other', OTHER_SECRET))).access_token });
  jwts.push({ name: 'cc-gw-at', kind: 'access_token', value: (await tokenRequest({ grant_type: 'client_credentials', scope: 'api:read' }, basic(GATEWAY, GW_SECRET))).access_token });
  jwts.push({ name: 'cc-rs-at', kind: 'access_token', value: (await tokenRequest({ grant_type: 'client_credentials' }, basic('fz-rs', RS_SECRET))).access_token });
  // More client-level tokens: revocation targets that keep some tokens live through a longer run.
  for (let i = 2; i <= 5; i += 1) {
    jwts.push({ name: `cc-conf-at-${i}`, kind: 'access_token', value: (await tokenRequest({ grant_type: 'client_credentials' }, confAuth)).access_token });
    jwts.push({ name: `cc-other-at-${i}`, kind: 'access_token', value: (await tokenRequest({ grant_type: 'client_credentials' }, basic('fz-other', OTHER_SECRET))).access_token });
  }
  const publicGrant = await mint('fz-public', 'openid offline_access api:read');
  keep('public', await redeemWith(publicGrant.code, undefined, 'fz-public'), 'fz-public', publicGrant.grantId, 'openid offline_access api:read');
  const gatewayGrant = await tokenRouter.issueAuthorizationCode({ clientId: GATEWAY, redirectUri: REDIRECT, scope: GRANT_SCOPE, subject: 'user-2', codeChallenge: challenge, codeChallengeMethod: 'S256' });
  const gatewayBody = await redeemWith(gatewayGrant.code, basic(GATEWAY, GW_SECRET));
  keep('gw', gatewayBody, GATEWAY, gatewayGrant.grantId, GRANT_SCOPE);
  // Bystanders: a user grant of fz-conf and a gateway token that no request presents.
  const bystanderGrant = await mint('fz-conf', GRANT_SCOPE);
  const bystanderBody = await redeemCode(bystanderGrant.code);
  const bystanders: PresentedToken[] = [
    presentedJwt({ name: 'bystander-at', kind: 'access_token', value: bystanderBody.access_token }),
    presentedRefresh('bystander-rt', bystanderBody.refresh_token as string, 'fz-conf', bystanderGrant.grantId, GRANT_SCOPE),
    presentedJwt({ name: 'bystander-cc-gw-at', kind: 'access_token', value: (await tokenRequest({ grant_type: 'client_credentials' }, basic(GATEWAY, GW_SECRET))).access_token }),
  ];

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

  // The refresh-token artefacts are presentable tokens too.
  for (const artefact of artefacts.filter((a) => a.parameter === 'refresh_token')) {
    refreshTokens.push(presentedRefresh(artefact.name, artefact.value, artefact.owner, artefact.grantId, GRANT_SCOPE, artefact.state === 'rotated'));
  }
  const presented = [...jwts.map(presentedJwt), ...refreshTokens, ...craftedTokens(liveBody.access_token, Math.floor(clock() / 1000))];
  const names = new Set(presented.map((token) => token.name));
  if (names.size !== presented.length) throw new Error('setup: two presented tokens share a name');
  // The only revoked grant so far is the dead family's (the reuse above); nothing is on the revocation list.
  const revokedGrants = new Set<string>();
  for (const grantId of new Set(presented.map((token) => token.grantId).filter((id): id is string => id !== undefined))) {
    if (await app.storage.isGrantRevoked(grantId)) revokedGrants.add(grantId);
  }
  if (revokedGrants.size !== 1 || !revokedGrants.has(deadFamily.grantId)) throw new Error('setup: unexpected revoked grants');
  return { artefacts, tokens: { tokens: presented, bystanders, revokedJtis: new Set(), revokedGrants } };
}

/** Storage methods that only read. Every other method counts as a write (new methods included). */
export const READ_ONLY_STORAGE_METHODS: ReadonlySet<string> = new Set([
  'findAuthorizationCode',
  'findRefreshToken',
  'isGrantRevoked',
  'findDeviceCode',
  'findDeviceCodeByUserCode',
  'isAccessTokenRevoked',
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

/** Whether each presented token's jti is on the revocation list and its grant revoked, as stored. */
export async function snapshotRevocations(raw: MemoryStorage, model: TokenModel): Promise<string> {
  const out: string[] = [];
  for (const token of [...model.tokens, ...model.bystanders]) {
    if (token.jti !== undefined) out.push(`${token.name}:jti=${String(await raw.isAccessTokenRevoked(token.jti))}`);
    if (token.grantId !== undefined) out.push(`${token.name}:grant=${String(await raw.isGrantRevoked(token.grantId))}`);
  }
  return out.join(' ');
}
