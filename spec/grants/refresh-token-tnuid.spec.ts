// spec/grants/refresh-token-tnuid.spec.ts
// The deprecated TelenorID+ profile switch: `tnuId` on a refresh_token request puts another
// profile of the same user into the access token (client flag update_access_token_claims,
// host hook verifyProfile, grant scope account.profiles), with Deprecation and Link
// rel="deprecation" headers (RFC 9745). Opt-in: refreshToken({ extensions: [tnuIdProfileSwitch(...)] });
// without it, tnuId is an unknown parameter and ignored (RFC 6749 §3.2).
import request from 'supertest';
import { authorizationCode, clientCredentials, hashOpaqueToken, PROFILE_SCOPE, refreshToken, tnuIdProfileSwitch, type ProfileSwitchContext, type ProfileSwitchOptions, type RefreshTokenGrantOptions } from '../../lib';
import { basic, decodeJwt, SERVICE_SECRET, type CodeTestApp } from '../helpers/create-app';
import { CHALLENGE, redeem, VERIFIER } from '../helpers/code-flow';
import { createRefreshTestApp, GRANT_SCOPE, redeemNewCode, refresh, REFRESH_CLIENTS, REFRESH_TOKEN_PATTERN, RT_REDIRECT, RT_SWITCH, RT_WEB, SECOND, startGrant, storedToken } from '../helpers/refresh-flow';

const SWITCH_SCOPE = `${GRANT_SCOPE} ${PROFILE_SCOPE}`;
const CLIENTS = [...REFRESH_CLIENTS, { client_id: 'service', client_secret: SERVICE_SECRET, grant_types: ['client_credentials'], scope: 'api:read' }];

/** The profiles each user owns, for verifyProfile. */
const PROFILES: Readonly<Record<string, readonly string[]>> = { 'user-1': ['tn-1', 'tn-2', 'tn-3'], 'user-2': ['tn-9'] };

function switchApp(profileSwitch: ProfileSwitchOptions | null | undefined, seen: ProfileSwitchContext[] = []): CodeTestApp {
  const options: RefreshTokenGrantOptions = profileSwitch === null ? {} : {
    extensions: [tnuIdProfileSwitch(profileSwitch ?? {
      verifyProfile: (context) => {
        seen.push(context);
        return (PROFILES[context.session.subject] ?? []).includes(context.tnuId);
      },
    })],
  };
  return createRefreshTestApp({ grants: [authorizationCode(), clientCredentials(), refreshToken(options)] }, CLIENTS);
}

function expectError(res: request.Response, status: number, error: string): void {
  expect(res.status).toBe(status);
  expect(res.body.error).toBe(error);
  expect(res.headers.deprecation).toBeUndefined();
}

describe('tnuId with any other grant_type → 400 invalid_request', () => {
  const harness = switchApp(undefined);

  it('authorization_code: refused, and the code is not burnt', async () => {
    const { code } = await harness.tokenRouter.issueAuthorizationCode({
      clientId: 'rt-switch', redirectUri: RT_REDIRECT, scope: SWITCH_SCOPE, subject: 'user-1', codeChallenge: CHALLENGE, codeChallengeMethod: 'S256',
    });
    const res = await redeem(harness.app, { code, redirect_uri: RT_REDIRECT, code_verifier: VERIFIER, tnuId: 'tn-2' }, RT_SWITCH);
    expectError(res, 400, 'invalid_request');
    expect((await harness.storage.findAuthorizationCode(hashOpaqueToken(code)))?.consumedAt).toBeUndefined();
    expect((await redeem(harness.app, { code, redirect_uri: RT_REDIRECT, code_verifier: VERIFIER }, RT_SWITCH)).status).toBe(200);
  });

  it('client_credentials: refused', async () => {
    const res = await request(harness.app).post('/connect/token').set('Authorization', basic('service', SERVICE_SECRET)).type('form')
      .send('grant_type=client_credentials&tnuId=tn-2');
    expectError(res, 400, 'invalid_request');
  });

  it('without the extension, tnuId is an unknown parameter: ignored (RFC 6749 §3.2) with any grant', async () => {
    const plain = switchApp(null);
    const res = await request(plain.app).post('/connect/token').set('Authorization', basic('service', SERVICE_SECRET)).type('form')
      .send('grant_type=client_credentials&tnuId=tn-2');
    expect(res.status).toBe(200);
  });
});

describe('tnuId on refresh_token: who may switch', () => {
  it('a client without update_access_token_claims → unauthorized_client; the token is not used', async () => {
    const harness = switchApp(undefined);
    const { refreshToken: rt } = await startGrant(harness, RT_WEB, { scope: SWITCH_SCOPE });
    expectError(await refresh(harness.app, rt, RT_WEB, { tnuId: 'tn-2' }), 400, 'unauthorized_client');
    expect((await storedToken(harness.storage, rt))?.consumedAt).toBeUndefined();
    expect((await refresh(harness.app, rt, RT_WEB)).status).toBe(200);
  });

  it('the client flag without the tnuIdProfileSwitch extension: tnuId is ignored, no profile switch', async () => {
    const harness = switchApp(null);
    const { refreshToken: rt } = await startGrant(harness, RT_SWITCH, { scope: SWITCH_SCOPE });
    const res = await refresh(harness.app, rt, RT_SWITCH, { tnuId: 'tn-2' });
    expect(res.status).toBe(200);
    expect(decodeJwt(res.body.access_token).payload.tnuid).toBeUndefined();
    expect(res.headers.deprecation).toBeUndefined();
  });

  it(`a grant without ${PROFILE_SCOPE} → invalid_scope; the token is not used`, async () => {
    const harness = switchApp(undefined);
    const { refreshToken: rt } = await startGrant(harness, RT_SWITCH, { scope: GRANT_SCOPE });
    expectError(await refresh(harness.app, rt, RT_SWITCH, { tnuId: 'tn-2' }), 400, 'invalid_scope');
    expect((await refresh(harness.app, rt, RT_SWITCH)).status).toBe(200);
  });

  it('verifyProfile false (a profile of another user) → invalid_grant; the token is not used and nothing is revoked', async () => {
    const seen: ProfileSwitchContext[] = [];
    const harness = switchApp(undefined, seen);
    const { refreshToken: rt, grantId } = await startGrant(harness, RT_SWITCH, { scope: SWITCH_SCOPE, acr: 'urn:acr:2' });
    expectError(await refresh(harness.app, rt, RT_SWITCH, { tnuId: 'tn-9' }), 400, 'invalid_grant');
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ grantId, tnuId: 'tn-9', session: { subject: 'user-1', acr: 'urn:acr:2' } });
    expect(seen[0].client.client_id).toBe('rt-switch');
    expect(await harness.storage.isGrantRevoked(grantId)).toBe(false);
    expect((await storedToken(harness.storage, rt))?.consumedAt).toBeUndefined();
    expect((await refresh(harness.app, rt, RT_SWITCH)).status).toBe(200);
  });

  it('verifyProfile answering something truthy but not true → invalid_grant', async () => {
    const harness = switchApp({ verifyProfile: () => 'yes' as unknown as boolean });
    const { refreshToken: rt } = await startGrant(harness, RT_SWITCH, { scope: SWITCH_SCOPE });
    expectError(await refresh(harness.app, rt, RT_SWITCH, { tnuId: 'tn-2' }), 400, 'invalid_grant');
  });

  it('an unknown refresh token with tnuId → invalid_grant, verifyProfile not called', async () => {
    const seen: ProfileSwitchContext[] = [];
    const harness = switchApp(undefined, seen);
    expectError(await refresh(harness.app, 'A'.repeat(43), RT_SWITCH, { tnuId: 'tn-2' }), 400, 'invalid_grant');
    expect(seen).toHaveLength(0);
  });

  it('a tnuId over 256 characters → invalid_request', async () => {
    const harness = switchApp(undefined);
    const { refreshToken: rt } = await startGrant(harness, RT_SWITCH, { scope: SWITCH_SCOPE });
    expectError(await refresh(harness.app, rt, RT_SWITCH, { tnuId: 't'.repeat(257) }), 400, 'invalid_request');
  });
});

describe('tnuId on refresh_token: the switch', () => {
  it('the access token carries tnuid = tnuId with sub and client_id unchanged; Deprecation and Link headers are sent', async () => {
    const harness = switchApp(undefined);
    const { refreshToken: rt, body } = await startGrant(harness, RT_SWITCH, { scope: SWITCH_SCOPE, claims: { access_token: { tnuid: 'tn-1' } } });
    expect(decodeJwt(body.access_token).payload.tnuid).toBe('tn-1');
    const res = await refresh(harness.app, rt, RT_SWITCH, { tnuId: 'tn-2' });
    expect(res.status).toBe(200);
    const at = decodeJwt(res.body.access_token).payload;
    expect(at).toMatchObject({ tnuid: 'tn-2', sub: 'user-1', client_id: 'rt-switch', scope: SWITCH_SCOPE });
    expect(res.headers.deprecation).toBe('@1654041600');
    expect(res.headers.link).toBe('<https://www.rfc-editor.org/rfc/rfc8693>; rel="deprecation"');
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.body.refresh_token).toMatch(REFRESH_TOKEN_PATTERN);
    expect(res.body.refresh_token).not.toBe(rt);
    // The ID token is about the user, not the profile: its sub is unchanged.
    expect(decodeJwt(res.body.id_token).payload.sub).toBe('user-1');
  });

  it('works with a narrowed scope that leaves account.profiles out (the grant holds it)', async () => {
    const harness = switchApp(undefined);
    const { refreshToken: rt } = await startGrant(harness, RT_SWITCH, { scope: SWITCH_SCOPE });
    const res = await refresh(harness.app, rt, RT_SWITCH, { tnuId: 'tn-3', scope: 'api:read' });
    expect(res.status).toBe(200);
    expect(decodeJwt(res.body.access_token).payload).toMatchObject({ tnuid: 'tn-3', scope: 'api:read', sub: 'user-1' });
  });

  it('custom deprecation and deprecationLink', async () => {
    const harness = switchApp({ verifyProfile: () => true, deprecation: '@1700000000', deprecationLink: 'https://id.example.test/docs/token-exchange' });
    const { refreshToken: rt } = await startGrant(harness, RT_SWITCH, { scope: SWITCH_SCOPE });
    const res = await refresh(harness.app, rt, RT_SWITCH, { tnuId: 'tn-2' });
    expect(res.headers.deprecation).toBe('@1700000000');
    expect(res.headers.link).toBe('<https://id.example.test/docs/token-exchange>; rel="deprecation"');
  });

  it('a refresh without tnuId has no Deprecation header', async () => {
    const harness = switchApp(undefined);
    const { refreshToken: rt } = await startGrant(harness, RT_SWITCH, { scope: SWITCH_SCOPE });
    const res = await refresh(harness.app, rt, RT_SWITCH);
    expect(res.status).toBe(200);
    expect(res.headers.deprecation).toBeUndefined();
    expect(res.headers.link).toBeUndefined();
  });

  // Pins current behaviour (see report): the switch is per access token and is not stored with
  // the family, so the next refresh without tnuId is back on the grant's own tnuid.
  it('the switch applies to that access token only: the next refresh without tnuId has the grant\'s tnuid', async () => {
    const harness = switchApp(undefined);
    const { refreshToken: rt } = await startGrant(harness, RT_SWITCH, { scope: SWITCH_SCOPE, claims: { access_token: { tnuid: 'tn-1' } } });
    const switched = await refresh(harness.app, rt, RT_SWITCH, { tnuId: 'tn-2' });
    const next = await refresh(harness.app, switched.body.refresh_token, RT_SWITCH);
    expect(decodeJwt(next.body.access_token).payload.tnuid).toBe('tn-1');
  });

  // Pins current behaviour (see report): a retry inside the window answers the sealed pair of
  // the first request whatever the retry asks, so a retry naming another profile silently gets
  // the first profile's access token, and no Deprecation header.
  it('a retry inside the window with another tnuId gets the first request\'s pair', async () => {
    const harness = switchApp(undefined);
    const { refreshToken: rt } = await startGrant(harness, RT_SWITCH, { scope: SWITCH_SCOPE });
    const first = await refresh(harness.app, rt, RT_SWITCH, { tnuId: 'tn-2' });
    harness.clock.advance(SECOND);
    const retry = await refresh(harness.app, rt, RT_SWITCH, { tnuId: 'tn-3' });
    expect(retry.status).toBe(200);
    expect(retry.body.access_token).toBe(first.body.access_token);
    expect(decodeJwt(retry.body.access_token).payload.tnuid).toBe('tn-2');
    expect(retry.headers.deprecation).toBeUndefined();
  });

  it('works for a confidential client in reuse mode too (no rotation)', async () => {
    const clients = [...CLIENTS, { ...REFRESH_CLIENTS[0], client_id: 'rt-switch-reuse', update_access_token_claims: true, refresh_token_policy: { type: 'absolute' as const, lifetime: 3600, rotation: 'reuse' as const } }];
    const harness = createRefreshTestApp({ grants: [authorizationCode(), refreshToken({ extensions: [tnuIdProfileSwitch({ verifyProfile: () => true })] })] }, clients);
    const caller = { id: 'rt-switch-reuse', secret: SERVICE_SECRET };
    const { body } = await redeemNewCode(harness, caller, { scope: SWITCH_SCOPE });
    const res = await refresh(harness.app, body.refresh_token, caller, { tnuId: 'tn-2' });
    expect(res.status).toBe(200);
    expect('refresh_token' in res.body).toBe(false);
    expect(decodeJwt(res.body.access_token).payload.tnuid).toBe('tn-2');
    expect(res.headers.deprecation).toBe('@1654041600');
  });
});
