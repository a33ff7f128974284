// spec/helpers/refresh-flow.ts
// Shared pieces of the refresh_token specs: clients with refresh policies, an app with the
// TelenorID+ named policies, starting a grant through the code flow, and the refresh request.
import type { Server } from 'node:http';
import type { Express } from 'express';
import request from 'supertest';
import { hashOpaqueToken, TELENORID_REFRESH_POLICIES, type AuthorizationCodeInput, type MemoryClientDefinition, type RefreshTokenRecord, type StorageAdapter, type TokenRouter, type TokenRouterOptions } from '../../lib';
import { basic, createCodeTestApp, SERVICE_SECRET, type CodeTestApp, type TestClock } from './create-app';
import { CHALLENGE, redeem, VERIFIER, type Caller } from './code-flow';

export const SECOND = 1000;
export const MINUTE = 60 * SECOND;
export const DAY = 24 * 3600 * SECOND;

/** Redirect URI of every refresh test client. */
export const RT_REDIRECT = 'https://rt.example.com/cb';
/** The registered scope of every refresh test client. */
export const RT_SCOPE = 'openid profile offline_access api:read api:write account.profiles';
/** What most grants in the refresh specs are started with. */
export const GRANT_SCOPE = 'openid offline_access api:read api:write';
export const PAIRWISE_SALT = 'refresh-pairwise-salt-0123456789abcdef';

/** Opaque refresh tokens: 32 random bytes, base64url without padding. */
export const REFRESH_TOKEN_PATTERN = /^[A-Za-z0-9_-]{43}$/;

const confidential = { client_secret: SERVICE_SECRET } as const;
const publicClient = { token_endpoint_auth_method: 'none' } as const;

function rtClient(client_id: string, extra: Partial<MemoryClientDefinition>): MemoryClientDefinition {
  return { client_id, grant_types: ['authorization_code', 'refresh_token'], redirect_uris: [RT_REDIRECT], scope: RT_SCOPE, ...extra };
}

/**
 * Clients of the refresh specs. Named policies refer to TELENORID_REFRESH_POLICIES, which
 * createRefreshTestApp registers in `refreshTokens.policies`.
 */
export const REFRESH_CLIENTS: MemoryClientDefinition[] = [
  // Confidential, no policy of its own → the default (absolute 14 days, rotating).
  rtClient('rt-web', confidential),
  rtClient('rt-web-b', confidential),
  rtClient('rt-reuse', { ...confidential, refresh_token_policy: { type: 'absolute', lifetime: 14 * 24 * 3600, rotation: 'reuse' } }),
  rtClient('rt-none', { ...confidential, refresh_token_policy: 'NoRefresh' }),
  rtClient('rt-inline-none', { ...confidential, refresh_token_policy: { type: 'none' } }),
  rtClient('rt-noreg', { ...confidential, grant_types: ['authorization_code'] }),
  rtClient('rt-capped', { ...confidential, refresh_token_policy: { type: 'sliding', lifetime: 10 * 24 * 3600, maxLifetime: 25 * 24 * 3600 } }),
  rtClient('rt-switch', { ...confidential, update_access_token_claims: true }),
  rtClient('rt-pairwise', { ...confidential, subject_type: 'pairwise' }),
  rtClient('rt-mobile', { ...publicClient, refresh_token_policy: 'Mobile' }),
  rtClient('rt-spa', { ...publicClient, refresh_token_policy: 'PublicWeb' }),
  // Public, no policy of its own → the default (none).
  rtClient('rt-public', publicClient),
  rtClient('rt-public-reuse', { ...publicClient, refresh_token_policy: { type: 'absolute', lifetime: 14 * 24 * 3600, rotation: 'reuse' } }),
];

export const RT_WEB: Caller = { id: 'rt-web', secret: SERVICE_SECRET };
export const RT_WEB_B: Caller = { id: 'rt-web-b', secret: SERVICE_SECRET };
export const RT_REUSE: Caller = { id: 'rt-reuse', secret: SERVICE_SECRET };
export const RT_CAPPED: Caller = { id: 'rt-capped', secret: SERVICE_SECRET };
export const RT_SWITCH: Caller = { id: 'rt-switch', secret: SERVICE_SECRET };
export const RT_PAIRWISE: Caller = { id: 'rt-pairwise', secret: SERVICE_SECRET };
export const RT_MOBILE: Caller = { id: 'rt-mobile', public: true };
export const RT_SPA: Caller = { id: 'rt-spa', public: true };
export const RT_PUBLIC: Caller = { id: 'rt-public', public: true };
export const RT_PUBLIC_REUSE: Caller = { id: 'rt-public-reuse', public: true };

/**
 * createCodeTestApp with the refresh clients, TELENORID_REFRESH_POLICIES registered as named
 * policies and a pairwise salt; `overrides` (or a function of the clock) win.
 */
export function createRefreshTestApp(
  overrides: Partial<TokenRouterOptions> | ((clock: TestClock) => Partial<TokenRouterOptions>) = {},
  clients: MemoryClientDefinition[] = REFRESH_CLIENTS,
): CodeTestApp {
  return createCodeTestApp((clock) => ({
    refreshTokens: { policies: TELENORID_REFRESH_POLICIES },
    subjects: { pairwiseSalt: PAIRWISE_SALT },
    ...(typeof overrides === 'function' ? overrides(clock) : overrides),
  }), clients);
}

/** The JSON body of a token response, as the specs read it. */
export interface TokenBody {
  readonly access_token: string;
  readonly token_type: string;
  readonly expires_in: number;
  readonly scope?: string;
  readonly refresh_token?: string;
  readonly id_token?: string;
}

/** A grant started through the code flow. */
export interface StartedGrant {
  readonly grantId: string;
  readonly body: TokenBody;
  /** The first refresh token (the test fails when none was issued). */
  readonly refreshToken: string;
}

/** Mints a code (with PKCE) for `caller` and redeems it. Resolves the body even without a refresh token. */
export async function redeemNewCode(
  harness: { readonly app: Express | Server; readonly tokenRouter: TokenRouter },
  caller: Caller,
  input: Partial<AuthorizationCodeInput> = {},
  tokenParams: Readonly<Record<string, string>> = {},
): Promise<{ grantId: string; body: TokenBody; code: string }> {
  const { code, grantId } = await harness.tokenRouter.issueAuthorizationCode({
    clientId: caller.id,
    redirectUri: RT_REDIRECT,
    scope: GRANT_SCOPE,
    subject: 'user-1',
    codeChallenge: CHALLENGE,
    codeChallengeMethod: 'S256',
    ...input,
  });
  const res = await redeem(harness.app, { code, redirect_uri: RT_REDIRECT, code_verifier: VERIFIER, ...tokenParams }, caller);
  if (res.status !== 200) throw new Error(`code redemption failed: ${res.status} ${JSON.stringify(res.body)}`);
  return { grantId, body: res.body as TokenBody, code };
}

/** Starts a grant whose code response must carry a refresh token. */
export async function startGrant(
  harness: { readonly app: Express | Server; readonly tokenRouter: TokenRouter },
  caller: Caller,
  input: Partial<AuthorizationCodeInput> = {},
): Promise<StartedGrant> {
  const { grantId, body } = await redeemNewCode(harness, caller, input);
  if (typeof body.refresh_token !== 'string') throw new Error(`no refresh_token in the code response: ${JSON.stringify(body)}`);
  return { grantId, body, refreshToken: body.refresh_token };
}

/** POST /connect/token with grant_type=refresh_token; `refresh_token` undefined leaves it out. */
export function refresh(
  target: Express | Server,
  refreshToken: string | undefined,
  caller: Caller = RT_WEB,
  params: Readonly<Record<string, string | undefined>> = {},
): request.Test {
  const body = new URLSearchParams({ grant_type: 'refresh_token' });
  if (refreshToken !== undefined) body.set('refresh_token', refreshToken);
  for (const [name, value] of Object.entries(params)) if (value !== undefined) body.set(name, value);
  const req = request(target).post('/connect/token').type('form');
  if ('secret' in caller) req.set('Authorization', basic(caller.id, caller.secret));
  else body.set('client_id', caller.id);
  return req.send(body.toString());
}

/** The stored record of a raw refresh token (looked up by its digest). */
export async function storedToken(storage: StorageAdapter, refreshToken: string): Promise<RefreshTokenRecord | undefined> {
  return storage.findRefreshToken(hashOpaqueToken(refreshToken));
}
