// spec/grants/revoked-grant-redemption.spec.ts
// Issue 13 item 5: once storage.revokeGrant(grantId) has returned, nothing of that grant redeems:
// not its authorization code, not its approved device code (a user revoking a phished device
// approval), not its refresh tokens. Redemptions racing the revocation may win only if the
// tokens they got are dead afterwards (the revocation covers them): checked on a latency store.
import request from 'supertest';
import { authorizationCode, createMemoryStorage, deviceCode, refreshToken, type StorageAdapter } from '../../lib';
import { withLatency } from '../../lib/testing';
import { redeem } from '../helpers/code-flow';
import { basic, createCodeTestApp, SERVICE_SECRET, WEB_REDIRECT } from '../helpers/create-app';

const DEVICE = 'urn:ietf:params:oauth:grant-type:device_code';
const CLIENTS = [
  { client_id: 'web', client_secret: SERVICE_SECRET, grant_types: ['authorization_code', 'refresh_token', DEVICE], redirect_uris: [WEB_REDIRECT], scope: 'openid offline_access api' },
];
const WEB = { id: 'web', secret: SERVICE_SECRET };

function app(storage?: StorageAdapter) {
  return createCodeTestApp((clock) => ({
    grants: [authorizationCode(), refreshToken({ retryWindowSeconds: 0 }), deviceCode({ verificationUri: 'https://id.example.test/device' })],
    storage: storage ?? createMemoryStorage({ clock }),
  }), CLIENTS);
}
const mint = (harness: ReturnType<typeof app>) => harness.tokenRouter.issueAuthorizationCode({ clientId: 'web', redirectUri: WEB_REDIRECT, scope: 'openid offline_access api', subject: 'user-1' });
const refresh = (harness: ReturnType<typeof app>, token: string) => request(harness.app).post('/connect/token').set('Authorization', basic('web', SERVICE_SECRET)).type('form').send({ grant_type: 'refresh_token', refresh_token: token });

describe('a revoked grant redeems nothing', () => {
  it('an authorization code of a revoked grant: invalid_grant, no token', async () => {
    const harness = app();
    const minted = await mint(harness);
    await harness.storage.revokeGrant(minted.grantId, harness.clock(), harness.clock() + 3_600_000);
    const res = await redeem(harness.app, { code: minted.code, redirect_uri: WEB_REDIRECT }, WEB);
    expect(res.status).toBe(400);
    expect(res.body.error).toBe('invalid_grant');
    expect(harness.events.filter((event) => event.type === 'token.issued')).toEqual([]);
  });

  it('an approved device code whose grant was revoked before the next poll: invalid_grant, no token', async () => {
    const harness = app();
    const started = await request(harness.app).post('/connect/deviceauthorization').set('Authorization', basic('web', SERVICE_SECRET)).type('form').send('scope=api');
    await harness.tokenRouter.deviceVerification.approve(started.body.user_code, { subject: 'user-1' });
    const record = await harness.storage.findDeviceCode((await import('../../lib')).hashOpaqueToken(started.body.device_code));
    await harness.storage.revokeGrant(record!.grantId, harness.clock(), harness.clock() + 3_600_000);
    harness.clock.advance(5_000);
    const res = await request(harness.app).post('/connect/token').set('Authorization', basic('web', SERVICE_SECRET)).type('form').send({ grant_type: DEVICE, device_code: started.body.device_code });
    expect(res.body.error).toBe('invalid_grant');
    expect(harness.events.filter((event) => event.type === 'token.issued')).toEqual([]);
  });

  it('redemption racing revokeGrant on a latency store: a win never outlives the revocation', async () => {
    for (let trial = 0; trial < 20; trial += 1) {
      const storage = withLatency(createMemoryStorage(), () => Math.random() * 4);
      const harness = app(storage);
      const minted = await mint(harness);
      const [res] = await Promise.all([
        redeem(harness.app, { code: minted.code, redirect_uri: WEB_REDIRECT }, WEB),
        new Promise((resolve) => setTimeout(resolve, Math.random() * 6)).then(() => storage.revokeGrant(minted.grantId, harness.clock(), harness.clock() + 3_600_000)),
      ]);
      if (res.status === 200) {
        // It won the race: whatever it got is covered by the revocation.
        expect((await refresh(harness, res.body.refresh_token)).body.error).toBe('invalid_grant');
      } else {
        expect(res.body.error).toBe('invalid_grant');
      }
      // After revokeGrant returned, nothing of the grant redeems.
      const again = await mint(harness);
      await storage.revokeGrant(again.grantId, harness.clock(), harness.clock() + 3_600_000);
      expect((await redeem(harness.app, { code: again.code, redirect_uri: WEB_REDIRECT }, WEB)).body.error).toBe('invalid_grant');
    }
  });
});
