// spec/grants/token-exchange-outlives-revocation.spec.ts
// Review finding: tokens minted by a token exchange are not tied to the grant of the subject
// token. Revoking that grant (RFC 7009 §2.1 SHOULD: every token based on the same grant) leaves
// the exchanged access token active and the exchanged refresh family working, and an ID token
// of a revoked grant can still be exchanged.
import { createMemoryStorage, TOKEN_TYPES } from '../../lib';
import { decodeJwt } from '../helpers/create-app';
import { withLatency } from '../helpers/latency-storage';
import { redeem } from '../helpers/code-flow';
import { refresh, RT_REDIRECT, RT_WEB, startGrant } from '../helpers/refresh-flow';
import { CHALLENGE, VERIFIER } from '../helpers/code-flow';
import { introspect, revoke } from '../token-service/helpers';
import { exchange, exchangeApp, GATEWAY, TE_WEB } from '../helpers/token-exchange';

const permissive = () => ({ scope: ['api:read', 'offline_access'], refreshToken: true });

describe('exchanged tokens and revocation of the subject token\'s grant', () => {
  it('an access token exchanged from a grant\'s access token is inactive once that grant is revoked', async () => {
    const harness = exchangeApp(permissive);
    const grant = await startGrant(harness, RT_WEB);
    const exchanged = await exchange(harness.app, { subject_token: grant.body.access_token, subject_token_type: TOKEN_TYPES.accessToken, scope: 'api:read' });
    expect(exchanged.status).toBe(200);
    // The user (through rt-web) revokes the grant: the original access token goes inactive…
    expect((await revoke(harness.app, grant.refreshToken, RT_WEB)).status).toBe(200);
    expect((await introspect(harness.app, grant.body.access_token)).body).toEqual({ active: false });
    // …and so is the token derived from it by the exchange (it carries the same grant_id).
    expect(decodeJwt(exchanged.body.access_token).payload.grant_id).toBe(grant.grantId);
    expect((await introspect(harness.app, exchanged.body.access_token)).body).toEqual({ active: false });
  });

  it('a refresh token exchanged from a grant stops working once that grant is revoked', async () => {
    const harness = exchangeApp(permissive);
    const grant = await startGrant(harness, RT_WEB);
    const exchanged = await exchange(harness.app, { subject_token: grant.body.access_token, subject_token_type: TOKEN_TYPES.accessToken, requested_token_type: TOKEN_TYPES.refreshToken, scope: 'api:read offline_access' });
    expect(exchanged.status).toBe(200);
    expect((await revoke(harness.app, grant.refreshToken, RT_WEB)).status).toBe(200);
    // A new 14-day family, derived from a 1-hour access token of a revoked grant, keeps refreshing.
    expect((await refresh(harness.app, exchanged.body.access_token, GATEWAY)).body.error).toBe('invalid_grant');
  });

  it('a code replay (the grant revoked as a security response) also cuts the tokens exchanged from it', async () => {
    const harness = exchangeApp(permissive);
    const { code, grantId } = await harness.tokenRouter.issueAuthorizationCode({ clientId: 'rt-web', redirectUri: RT_REDIRECT, scope: 'openid offline_access api:read', subject: 'user-1', codeChallenge: CHALLENGE, codeChallengeMethod: 'S256' });
    const first = await redeem(harness.app, { code, redirect_uri: RT_REDIRECT, code_verifier: VERIFIER }, RT_WEB);
    expect(first.status).toBe(200);
    // The attacker who holds the first response launders the grant through an exchange…
    const laundered = await exchange(harness.app, { subject_token: first.body.access_token, subject_token_type: TOKEN_TYPES.accessToken, requested_token_type: TOKEN_TYPES.refreshToken, scope: 'api:read offline_access' });
    expect(laundered.status).toBe(200);
    // …then the code is replayed: the grant is revoked (RFC 6749 §4.1.2).
    expect((await redeem(harness.app, { code, redirect_uri: RT_REDIRECT, code_verifier: VERIFIER }, RT_WEB)).body.error).toBe('invalid_grant');
    expect(await harness.storage.isGrantRevoked(grantId)).toBe(true);
    expect((await refresh(harness.app, laundered.body.access_token, GATEWAY)).body.error).toBe('invalid_grant');
  });

  it('an ID token of a revoked grant cannot be exchanged', async () => {
    const harness = exchangeApp(() => ({ scope: ['api:read'] }));
    const grant = await startGrant(harness, TE_WEB);
    expect((await revoke(harness.app, grant.refreshToken, TE_WEB)).status).toBe(200);
    // The access token of the grant is refused…
    expect((await exchange(harness.app, { subject_token: grant.body.access_token, subject_token_type: TOKEN_TYPES.accessToken }, TE_WEB)).body.error).toBe('invalid_request');
    // …but its ID token (no grant_id, no revocation check) still mints a fresh access token.
    const res = await exchange(harness.app, { subject_token: grant.body.id_token ?? '', subject_token_type: TOKEN_TYPES.idToken }, TE_WEB);
    expect(res.body.error).toBe('invalid_request');
  });

  it('revocation racing an exchange of the refresh token (latency store): nothing the exchange issued works afterwards', async () => {
    for (let round = 0; round < 5; round += 1) {
      const harness = exchangeApp(permissive, {}, (clock) => ({ storage: withLatency(createMemoryStorage({ clock }), () => 1 + Math.random() * 4) }));
      const grant = await startGrant(harness, TE_WEB);
      const [exchanged, revoked] = await Promise.all([
        exchange(harness.app, { subject_token: grant.refreshToken, subject_token_type: TOKEN_TYPES.refreshToken, requested_token_type: TOKEN_TYPES.refreshToken, scope: 'api:read offline_access' }, TE_WEB),
        revoke(harness.app, grant.refreshToken, TE_WEB),
      ]);
      expect(revoked.status).toBe(200);
      if (exchanged.status === 200) {
        expect([round, (await refresh(harness.app, exchanged.body.access_token, TE_WEB)).body.error]).toEqual([round, 'invalid_grant']);
      } else {
        expect(exchanged.body.error).toBe('invalid_request');
      }
    }
  });
});
