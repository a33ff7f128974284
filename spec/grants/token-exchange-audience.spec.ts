// spec/grants/token-exchange-audience.spec.ts
// Review finding (fixed): the requested `audience` and `resource` (RFC 8693 §2.1, RFC 8707) must
// reach the issued token's `aud`, or the exchange is refused with invalid_target — never a token for
// the default audience. The policy serves an audience by mapping it to resources of the router.
import { TOKEN_TYPES } from '../../lib';
import { decodeJwt, ISSUER, SERVICE_SECRET } from '../helpers/create-app';
import { RT_WEB, startGrant } from '../helpers/refresh-flow';
import { CLIENTS, exchange, exchangeApp } from '../helpers/token-exchange';

const ORDERS = 'https://orders.example/api';
const BILLING = 'https://billing.example/api';
const resourcesOption = { resources: { [ORDERS]: { scopes: ['orders:read'], accessTokenTtl: 300 }, [BILLING]: {} } };
const clients = CLIENTS.map((client) => (client.client_id === 'gateway' ? { ...client, client_secret: SERVICE_SECRET, resources: [ORDERS, BILLING] } : client));

describe('token exchange audience and resources', () => {
  it('an audience the policy maps to a resource becomes aud (with the resource\'s lifetime), not the default audience', async () => {
    const harness = exchangeApp(({ audience }) => ({ scope: ['orders:read'], resources: audience.includes('orders-service') ? [ORDERS] : [] }), {}, () => resourcesOption, {}, clients);
    const grant = await startGrant(harness, RT_WEB);
    const res = await exchange(harness.app, { subject_token: grant.body.access_token, subject_token_type: TOKEN_TYPES.accessToken, audience: 'orders-service' });
    expect(res.status).toBe(200);
    expect(res.body.expires_in).toBe(300);
    const { aud } = decodeJwt(res.body.access_token).payload;
    expect(aud).toBe(ORDERS);
    expect([aud].flat()).not.toContain(ISSUER);
  });

  it('an audience the policy does not map is invalid_target (never a token for the default audience)', async () => {
    const harness = exchangeApp(() => ({ scope: ['orders:read'] }), {}, () => resourcesOption, {}, clients);
    const grant = await startGrant(harness, RT_WEB);
    const res = await exchange(harness.app, { subject_token: grant.body.access_token, subject_token_type: TOKEN_TYPES.accessToken, audience: 'unknown-service' });
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ error: 'invalid_target', error_description: 'The requested audience is not served by this exchange.' });
  });

  it('resource parameters: within what the policy permits they become aud; others are invalid_target', async () => {
    const harness = exchangeApp(({ resources }) => ({ scope: ['orders:read'], resources: resources.length > 0 ? [ORDERS, BILLING] : [ORDERS] }), {}, () => resourcesOption, {}, clients);
    const grant = await startGrant(harness, RT_WEB);
    const both = await exchange(harness.app, { subject_token: grant.body.access_token, subject_token_type: TOKEN_TYPES.accessToken, resource: BILLING });
    expect(both.status).toBe(200);
    expect(decodeJwt(both.body.access_token).payload.aud).toBe(BILLING);
    const narrowPolicy = exchangeApp(() => ({ scope: ['orders:read'], resources: [ORDERS] }), {}, () => resourcesOption, {}, clients);
    const grant2 = await startGrant(narrowPolicy, RT_WEB);
    const refused = await exchange(narrowPolicy.app, { subject_token: grant2.body.access_token, subject_token_type: TOKEN_TYPES.accessToken, resource: BILLING });
    expect(refused.status).toBe(400);
    expect(refused.body.error).toBe('invalid_target');
    // Without a policy restriction, the client's registration decides.
    const open = exchangeApp(() => ({ scope: ['orders:read'] }), {}, () => resourcesOption, {}, clients);
    const grant3 = await startGrant(open, RT_WEB);
    expect(decodeJwt((await exchange(open.app, { subject_token: grant3.body.access_token, subject_token_type: TOKEN_TYPES.accessToken, resource: BILLING })).body.access_token).payload.aud).toBe(BILLING);
    expect((await exchange(open.app, { subject_token: grant3.body.access_token, subject_token_type: TOKEN_TYPES.accessToken, resource: 'https://not-registered.example/' })).body.error).toBe('invalid_target');
  });
});
