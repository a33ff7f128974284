// spec/token-service/revocation-oracle.spec.ts
// Review finding: the revocation endpoint tells a client that is not the owner whether a refresh
// token exists in storage, even when that token is no longer valid (rotated or revoked), while
// the same question about an invalid access token is answered 200 like any unknown value.
import { refresh, RT_MOBILE, RT_PUBLIC, RT_WEB, RT_WEB_B, startGrant } from '../helpers/refresh-flow';
import { createServiceApp, revoke } from './helpers';

describe('revocation answers about other clients\' invalid tokens', () => {
  it('another client\'s rotated (inactive) refresh token is answered like an unknown token (RFC 7009 §2.2)', async () => {
    const harness = createServiceApp();
    const grant = await startGrant(harness, RT_WEB);
    expect((await refresh(harness.app, grant.refreshToken)).status).toBe(200);
    const unknown = await revoke(harness.app, 'x'.repeat(43), RT_WEB_B);
    const rotated = await revoke(harness.app, grant.refreshToken, RT_WEB_B);
    expect(unknown.status).toBe(200);
    expect([rotated.status, rotated.body.error]).toEqual([unknown.status, unknown.body.error]);
  });

  it('a public client (client_id only, no secret) cannot probe whether a revoked refresh token of a confidential client existed', async () => {
    const harness = createServiceApp();
    const grant = await startGrant(harness, RT_WEB);
    expect((await revoke(harness.app, grant.refreshToken, RT_WEB)).status).toBe(200);
    // Anyone can name a public client; the answer still distinguishes "ever issued" from "never issued".
    const probe = await revoke(harness.app, grant.refreshToken, RT_PUBLIC);
    const control = await revoke(harness.app, 'y'.repeat(43), RT_MOBILE);
    expect([probe.status, probe.body.error]).toEqual([control.status, control.body.error]);
  });
});
