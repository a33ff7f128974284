// spec/grants/token-exchange-trusted-issuer.spec.ts
// Review findings on trusted-issuer JWTs as subject tokens: the partner's `sub`, `client_id`/`azp`,
// `acr`/`amr`/`auth_time` are taken as if they were this server's, and a malformed partner `sub`
// is a 500.
import { TOKEN_TYPES, type TokenExchangeOptions } from '../../lib';
import { decodeJwt } from '../helpers/create-app';
import { refresh } from '../helpers/refresh-flow';
import { introspect } from '../token-service/helpers';
import { exchange, exchangeApp, GATEWAY, partnerJwt } from '../helpers/token-exchange';

// The policy of docs/token-service.md ("Token exchange"), with the client id of this test setup.
const documentedPolicy: TokenExchangeOptions['policy'] = async ({ client, subjectToken }) => {
  if (client.client_id !== 'gateway' || subjectToken.clientId !== 'web') return false;
  return { scope: ['orders:read'] };
};

describe('trusted-issuer JWTs and this server\'s namespaces', () => {
  it('the documented policy does not let a trusted partner mint a token for a local user by claiming client_id "web"', async () => {
    const harness = exchangeApp(documentedPolicy);
    // The partner names one of OUR users and OUR client: both are read as ours (ExchangedToken.clientId / localSubject).
    const forged = partnerJwt({ sub: 'user-1', client_id: 'web' }, harness.clock);
    const res = await exchange(harness.app, { subject_token: forged, subject_token_type: TOKEN_TYPES.jwt });
    expect([res.status, res.status === 200 ? decodeJwt(res.body.access_token).payload.sub : res.body.error]).toEqual([400, 'invalid_request']);
  });

  it('a partner JWT whose sub is in the client form (client:…) does not yield a token with a client-level sub', async () => {
    const harness = exchangeApp(() => ({ scope: ['api:read'] }));
    const res = await exchange(harness.app, { subject_token: partnerJwt({ sub: 'client:rs' }, harness.clock), subject_token_type: TOKEN_TYPES.jwt });
    // assertLocalSubject forbids "client:" for users; here the partner's value becomes our sub as is.
    if (res.status === 200) {
      expect((await introspect(harness.app, res.body.access_token)).body.sub).not.toBe('client:rs');
    } else {
      expect(res.body.error).toBe('invalid_request');
    }
  });

  it('a partner JWT\'s acr / amr / auth_time are not asserted under our issuer (nor stored in a refresh family)', async () => {
    // The policy maps the partner's user to ours (a partner sub is never taken as a local subject).
    const harness = exchangeApp(({ subjectToken }) => ({ scope: ['api:read', 'offline_access'], refreshToken: true, subject: `partner-${subjectToken.subject}` }));
    const claims = { acr: 'urn:example:loa:4', amr: ['hwk', 'mfa'], auth_time: Math.floor(harness.clock() / 1000) };
    const access = await exchange(harness.app, { subject_token: partnerJwt(claims, harness.clock), subject_token_type: TOKEN_TYPES.jwt, scope: 'api:read' });
    expect(access.status).toBe(200);
    const payload = decodeJwt(access.body.access_token).payload;
    expect({ iss: payload.iss, acr: payload.acr, amr: payload.amr, auth_time: payload.auth_time }).toEqual({ iss: 'https://id.example.test', acr: undefined, amr: undefined, auth_time: undefined });
    const family = await exchange(harness.app, { subject_token: partnerJwt(claims, harness.clock), subject_token_type: TOKEN_TYPES.jwt, requested_token_type: TOKEN_TYPES.refreshToken, scope: 'api:read offline_access' });
    const refreshed = await refresh(harness.app, family.body.access_token, GATEWAY);
    expect(decodeJwt(refreshed.body.access_token).payload.acr).toBeUndefined();
  });

  it.each([
    ['longer than 255 characters', 'u'.repeat(300)],
    ['with a non-ASCII character', 'bjørn@partner.example'],
    ['with a trailing space', 'partner-user '],
    ['empty', ''],
  ])('a partner JWT whose sub is %s is 400 invalid_request, not a 500', async (_what, sub) => {
    const harness = exchangeApp(() => ({ scope: ['api:read'] }));
    const res = await exchange(harness.app, { subject_token: partnerJwt({ sub }, harness.clock), subject_token_type: TOKEN_TYPES.jwt });
    expect([res.status, res.body.error]).toEqual([400, 'invalid_request']);
  });

  it('a refresh family exchanged for a partner sub that is not a valid local subject does not 500 on every refresh', async () => {
    const harness = exchangeApp(() => ({ scope: ['api:read', 'offline_access'], refreshToken: true }));
    const family = await exchange(harness.app, { subject_token: partnerJwt({ sub: 'bjørn@partner.example' }, harness.clock), subject_token_type: TOKEN_TYPES.jwt, requested_token_type: TOKEN_TYPES.refreshToken, scope: 'api:read offline_access' });
    if (family.status === 200) {
      const refreshed = await refresh(harness.app, family.body.access_token, GATEWAY);
      expect(refreshed.status).toBe(200);
    } else {
      expect([family.status, family.body.error]).toEqual([400, 'invalid_request']);
    }
  });
});
