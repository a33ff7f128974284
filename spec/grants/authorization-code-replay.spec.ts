// spec/grants/authorization-code-replay.spec.ts
// Issue 13 item 7: a used code alone must not revoke the user's grant. Anyone who saw a used code
// (logs, history, Referer) could otherwise kill the user's refresh tokens with one request. A
// replay revokes only when the replaying request would have been valid for that code (client,
// redirect_uri, PKCE verifier); any other replay is invalid_grant without revocation, and reported.
import request from 'supertest';
import { authorizationCode, refreshToken } from '../../lib';
import { CHALLENGE, redeem, VERIFIER } from '../helpers/code-flow';
import { createCodeTestApp, SERVICE_SECRET, SPA_REDIRECT, WEB_REDIRECT } from '../helpers/create-app';

const CLIENTS = [
  { client_id: 'spa', token_endpoint_auth_method: 'none' as const, grant_types: ['authorization_code', 'refresh_token'], redirect_uris: [SPA_REDIRECT], scope: 'openid offline_access', refresh_token_policy: { type: 'sliding' as const, lifetime: 3600 } },
  { client_id: 'web', client_secret: SERVICE_SECRET, grant_types: ['authorization_code', 'refresh_token'], redirect_uris: [WEB_REDIRECT, 'https://web.example.com/other'], scope: 'openid offline_access' },
];
const SPA = { id: 'spa', public: true } as const;

async function usedCode(harness: ReturnType<typeof createCodeTestApp>) {
  const minted = await harness.tokenRouter.issueAuthorizationCode({ clientId: 'spa', redirectUri: SPA_REDIRECT, scope: 'openid offline_access', subject: 'user-1', codeChallenge: CHALLENGE, codeChallengeMethod: 'S256' });
  const first = await redeem(harness.app, { code: minted.code, redirect_uri: SPA_REDIRECT, code_verifier: VERIFIER }, SPA);
  expect(first.status).toBe(200);
  return { code: minted.code, refreshToken: first.body.refresh_token as string, grantId: minted.grantId };
}

const refreshWorks = async (harness: ReturnType<typeof createCodeTestApp>, token: string) =>
  (await request(harness.app).post('/connect/token').type('form').send({ grant_type: 'refresh_token', client_id: 'spa', refresh_token: token })).status === 200;

describe('authorization code replay: revoke only when the replay would have been valid', () => {
  it.each<[string, Record<string, string | undefined>]>([
    ['without a code_verifier', { redirect_uri: SPA_REDIRECT }],
    ['with a wrong code_verifier', { redirect_uri: SPA_REDIRECT, code_verifier: 'x'.repeat(43) }],
    ['with another redirect_uri', { redirect_uri: 'https://evil.example/cb', code_verifier: VERIFIER }],
  ])('a replay %s: invalid_grant, the user\'s tokens live on, the replay is reported unverified', async (_label, params) => {
    const harness = createCodeTestApp({ grants: [authorizationCode(), refreshToken()] }, CLIENTS);
    const used = await usedCode(harness);
    harness.events.length = 0;
    const replay = await redeem(harness.app, { code: used.code, ...params }, SPA);
    expect(replay.status).toBe(400);
    expect(replay.body.error).toBe('invalid_grant');
    expect(harness.events.filter((event) => event.type === 'grant.revoked')).toEqual([]);
    expect(harness.events).toContainEqual(expect.objectContaining({ type: 'authorization_code.replayed', grantId: used.grantId, detection: 'already_consumed', verified: false }));
    expect(await harness.storage.isGrantRevoked(used.grantId)).toBe(false);
    expect(await refreshWorks(harness, used.refreshToken)).toBe(true);
  });

  it('a replay that passes every check of the code revokes the grant (the code was stolen and used twice)', async () => {
    const harness = createCodeTestApp({ grants: [authorizationCode(), refreshToken()] }, CLIENTS);
    const used = await usedCode(harness);
    harness.events.length = 0;
    const replay = await redeem(harness.app, { code: used.code, redirect_uri: SPA_REDIRECT, code_verifier: VERIFIER }, SPA);
    expect(replay.body.error).toBe('invalid_grant');
    expect(harness.events).toContainEqual(expect.objectContaining({ type: 'authorization_code.replayed', verified: true }));
    expect(harness.events).toContainEqual(expect.objectContaining({ type: 'grant.revoked', grantId: used.grantId, reason: 'authorization_code_replay' }));
    expect(await refreshWorks(harness, used.refreshToken)).toBe(false);
  });

  it('a confidential client replaying its own code with the right redirect_uri revokes (it authenticated)', async () => {
    const harness = createCodeTestApp({ grants: [authorizationCode(), refreshToken()] }, CLIENTS);
    const minted = await harness.tokenRouter.issueAuthorizationCode({ clientId: 'web', redirectUri: WEB_REDIRECT, scope: 'openid offline_access', subject: 'u' });
    const web = { id: 'web', secret: SERVICE_SECRET };
    expect((await redeem(harness.app, { code: minted.code, redirect_uri: WEB_REDIRECT }, web)).status).toBe(200);
    const wrongUri = await redeem(harness.app, { code: minted.code, redirect_uri: 'https://web.example.com/other' }, web);
    expect(wrongUri.body.error).toBe('invalid_grant');
    expect(await harness.storage.isGrantRevoked(minted.grantId)).toBe(false);
    const sameUri = await redeem(harness.app, { code: minted.code, redirect_uri: WEB_REDIRECT }, web);
    expect(sameUri.body.error).toBe('invalid_grant');
    expect(await harness.storage.isGrantRevoked(minted.grantId)).toBe(true);
  });
});

describe('plain PKCE: a replay is never verified', () => {
  it('the verifier travelled in the authorization URL, so a replay with it does not revoke', async () => {
    const harness = createCodeTestApp({ grants: [authorizationCode({ allowPlainPkce: true }), refreshToken()] }, CLIENTS);
    const plain = 'p'.repeat(43);
    const minted = await harness.tokenRouter.issueAuthorizationCode({ clientId: 'spa', redirectUri: SPA_REDIRECT, scope: 'openid offline_access', subject: 'user-1', codeChallenge: plain, codeChallengeMethod: 'plain' });
    const first = await redeem(harness.app, { code: minted.code, redirect_uri: SPA_REDIRECT, code_verifier: plain }, SPA);
    expect(first.status).toBe(200);
    harness.events.length = 0;
    expect((await redeem(harness.app, { code: minted.code, redirect_uri: SPA_REDIRECT, code_verifier: plain }, SPA)).body.error).toBe('invalid_grant');
    expect(harness.events).toContainEqual(expect.objectContaining({ type: 'authorization_code.replayed', verified: false }));
    expect(await harness.storage.isGrantRevoked(minted.grantId)).toBe(false);
  });
});
