// spec/review/exchange-audience.spec.ts
// Review finding: the requested `audience` (and RFC 8707 `resource`, which RFC 8693 §2.1 lists)
// never reaches the issued token. The policy sees `audience` but cannot narrow `aud` (it is a
// protected claim and the decision has no audience member), so a token asked for one service is
// accepted by every resource server that accepts the default audience.
import { TOKEN_TYPES } from '../../lib';
import { decodeJwt, ISSUER } from '../helpers/create-app';
import { RT_WEB, startGrant } from '../helpers/refresh-flow';
import { exchange, exchangeApp } from './helpers';

describe('review: token exchange audience', () => {
  it('a token requested with audience=orders-service is not valid for the default audience', async () => {
    const harness = exchangeApp(({ audience }) => ({ scope: ['orders:read'], claims: { aud: audience } }));
    const grant = await startGrant(harness, RT_WEB);
    const res = await exchange(harness.app, { subject_token: grant.body.access_token, subject_token_type: TOKEN_TYPES.accessToken, audience: 'orders-service' });
    expect(res.status).toBe(200);
    const { aud } = decodeJwt(res.body.access_token).payload;
    expect([aud].flat()).toContain('orders-service');
    expect([aud].flat()).not.toContain(ISSUER);
  });

  it('a resource parameter (RFC 8707, RFC 8693 §2.1) is not silently ignored', async () => {
    const harness = exchangeApp(() => ({ scope: ['orders:read'] }));
    const grant = await startGrant(harness, RT_WEB);
    const res = await exchange(harness.app, { subject_token: grant.body.access_token, subject_token_type: TOKEN_TYPES.accessToken, resource: 'https://orders.example/api' });
    // Either honoured (aud = the resource) or refused (invalid_target); not a token for the default audience.
    if (res.status === 200) expect([decodeJwt(res.body.access_token).payload.aud].flat()).toContain('https://orders.example/api');
    else expect(res.body.error).toBe('invalid_target');
  });
});
