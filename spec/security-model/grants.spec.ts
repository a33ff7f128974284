// spec/security-model/grants.spec.ts
// Rules of docs/security-model.md (D, E, F and O ids) that had no test of their own: code
// entropy (D44), constant-time PKCE comparison (E49), what a refreshed access token stays bound
// to (F61), and the token-endpoint side of revocation (O116). Test names start with the rule id.
import { hashOpaqueToken, s256Challenge } from '../../lib';
import { createCodeTestApp, decodeJwt, SPA_REDIRECT } from '../helpers/create-app';
import { codeInput, redeem, SPA, VERIFIER } from '../helpers/code-flow';
import { createRefreshTestApp, DAY, refresh, REFRESH_CLIENTS, RT_WEB, RT_WEB_B, startGrant } from '../helpers/refresh-flow';

describe('D. authorization_code', () => {
  it('D44 codes carry 256 random bits: 200 minted codes are distinct, 43 base64url characters = 32 bytes, stored only as digests', async () => {
    const { tokenRouter, storage } = createCodeTestApp();
    const codes: string[] = [];
    for (let i = 0; i < 200; i += 1) codes.push((await tokenRouter.issueAuthorizationCode(codeInput())).code);
    expect(new Set(codes).size).toBe(200);
    for (const code of codes) {
      expect(code).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(Buffer.from(code, 'base64url')).toHaveLength(32);
    }
    // Looked up by digest only: the raw value finds nothing, its SHA-256 finds the record.
    expect(await storage.findAuthorizationCode(codes[0])).toBeUndefined();
    expect((await storage.findAuthorizationCode(hashOpaqueToken(codes[0])))?.codeHash).toBe(hashOpaqueToken(codes[0]));
  });
});

describe('E. PKCE', () => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const crypto = require('node:crypto') as typeof import('node:crypto');
  afterEach(() => jest.restoreAllMocks());

  it('E49 the verifier is compared in constant time: the same timingSafeEqual work on equal-length digests, whichever byte differs', async () => {
    const { app, tokenRouter } = createCodeTestApp();
    // A public client: no client secret is compared, so every timingSafeEqual call is PKCE's.
    const mint = async () => (await tokenRouter.issueAuthorizationCode(codeInput({ clientId: 'spa', redirectUri: SPA_REDIRECT, codeChallenge: s256Challenge(VERIFIER), codeChallengeMethod: 'S256' }))).code;
    const attempt = async (verifier: string) => {
      const code = await mint();
      const spy = jest.spyOn(crypto, 'timingSafeEqual');
      const res = await redeem(app, { code, redirect_uri: SPA_REDIRECT, code_verifier: verifier }, SPA);
      const calls = spy.mock.calls.map(([a, b]) => [(a as Buffer).length, (b as Buffer).length]);
      spy.mockRestore();
      return { res, calls };
    };
    const firstByte = await attempt(`X${VERIFIER.slice(1)}`);
    const lastByte = await attempt(`${VERIFIER.slice(0, 42)}X`);
    const right = await attempt(VERIFIER);
    expect(firstByte.res.body.error).toBe('invalid_grant');
    expect(lastByte.res.body.error).toBe('invalid_grant');
    expect(right.res.status).toBe(200);
    expect(firstByte.calls.length).toBeGreaterThanOrEqual(1);
    expect(lastByte.calls).toEqual(firstByte.calls);
    for (const [a, b] of [...firstByte.calls, ...lastByte.calls]) expect(a).toBe(b);
  });
});

describe('F. refresh_token', () => {
  it('F61 a refreshed access token stays bound to the client, audience, subject and scope of the grant', async () => {
    const clients = REFRESH_CLIENTS.map((client) => (client.client_id === 'rt-web' ? { ...client, access_token_audience: 'https://billing.example.test' } : client));
    const harness = createRefreshTestApp({ accessToken: { audience: 'https://api.example.test' } }, clients);
    const { refreshToken: rt, body } = await startGrant(harness, RT_WEB);
    const before = decodeJwt(body.access_token).payload;
    const res = await refresh(harness.app, rt);
    expect(res.status).toBe(200);
    const after = decodeJwt(res.body.access_token).payload;
    expect(after.aud).toBe('https://billing.example.test');
    for (const claim of ['iss', 'aud', 'sub', 'client_id', 'scope']) expect({ claim, value: after[claim] }).toEqual({ claim, value: before[claim] });
    // Another client cannot refresh it, and the scope cannot grow.
    expect((await refresh(harness.app, res.body.refresh_token, RT_WEB_B)).body.error).toBe('invalid_grant');
    expect((await refresh(harness.app, res.body.refresh_token, RT_WEB, { scope: 'api:read profile' })).body.error).toBe('invalid_scope');
  });
});

describe('O. adjacent endpoints: revocation as the token endpoint sees it', () => {
  // The RFC 7009 endpoint is not served by this library; a host's revocation endpoint revokes
  // through the storage's GrantStore.revokeGrant. What the token endpoint must then do is tested here.
  it('O116 a grant revoked by the host through storage.revokeGrant: its refresh tokens get invalid_grant, other grants keep working', async () => {
    const harness = createRefreshTestApp();
    const revoked = await startGrant(harness, RT_WEB);
    const other = await startGrant(harness, RT_WEB);
    const now = harness.clock();
    await harness.storage.revokeGrant(revoked.grantId, now, now + 30 * DAY);
    expect(await harness.storage.isGrantRevoked(revoked.grantId)).toBe(true);
    const res = await refresh(harness.app, revoked.refreshToken);
    expect(res.status).toBe(400);
    expect(res.body.error).toBe('invalid_grant');
    expect(res.body.refresh_token).toBeUndefined();
    expect((await refresh(harness.app, other.refreshToken)).status).toBe(200);
  });
});
