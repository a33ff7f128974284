// spec/grants/token-exchange-claims-and-scope.spec.ts
// Review findings on what an exchanged token carries: scope beyond the subject token, `act`
// from the policy's claims, an ID token reachable through the exchanged refresh token, several
// `audience` values (RFC 8693 §2.1), and `act` missing from introspection.
import request from 'supertest';
import { TOKEN_TYPES } from '../../lib';
import { basic, decodeJwt, ISSUER, SERVICE_SECRET } from '../helpers/create-app';
import { refresh, RT_WEB, startGrant } from '../helpers/refresh-flow';
import { introspect } from '../token-service/helpers';
import { exchange, exchangeApp, GATEWAY, partnerJwt, TE_WEB } from '../helpers/token-exchange';

describe('exchanged token contents', () => {
  it('policy claims cannot set act on an impersonation token (TokenExchangeDecision.claims: "act included, never overridden")', async () => {
    const harness = exchangeApp(() => ({ scope: ['api:read'], claims: { act: { sub: 'someone-who-never-acted' }, may_act: { sub: 'x' } } }));
    const grant = await startGrant(harness, RT_WEB);
    const res = await exchange(harness.app, { subject_token: grant.body.access_token, subject_token_type: TOKEN_TYPES.accessToken });
    expect(res.status).toBe(200);
    expect(decodeJwt(res.body.access_token).payload.act).toBeUndefined();
  });

  it('an exchange never yields an ID token — also not one refresh later through the exchanged refresh token', async () => {
    const harness = exchangeApp(({ subjectToken }) => ({ scope: [...subjectToken.scope], refreshToken: true }));
    const grant = await startGrant(harness, RT_WEB);
    const family = await exchange(harness.app, { subject_token: grant.body.access_token, subject_token_type: TOKEN_TYPES.accessToken, requested_token_type: TOKEN_TYPES.refreshToken });
    expect(family.status).toBe(200);
    const refreshed = await refresh(harness.app, family.body.access_token, GATEWAY);
    expect(refreshed.status).toBe(200);
    // gateway never authenticated the user, yet receives an ID token (aud gateway) for user-1.
    expect(refreshed.body.id_token).toBeUndefined();
  });

  it('one audience parameter per request (decision): a repeated audience is 400 invalid_request; several targets go in repeated resource parameters', async () => {
    const seen: Array<readonly string[]> = [];
    const harness = exchangeApp(({ audience }) => { seen.push(audience); return { scope: ['api:read'] }; });
    const grant = await startGrant(harness, RT_WEB);
    const body = new URLSearchParams({ grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange', subject_token: grant.body.access_token, subject_token_type: TOKEN_TYPES.accessToken });
    body.append('audience', 'orders-service');
    body.append('audience', 'billing-service');
    const res = await request(harness.app).post('/connect/token').set('Authorization', basic('gateway', SERVICE_SECRET)).type('form').send(body.toString());
    expect([res.status, res.body.error]).toEqual([400, 'invalid_request']);
    expect(seen).toEqual([]);
  });

  it('introspection of a delegated token reports its act (RFC 8693 §4.1), so a resource server can tell it from the user\'s own', async () => {
    const harness = exchangeApp(() => ({ scope: ['api:read'] }));
    const grant = await startGrant(harness, TE_WEB);
    const actor = await request(harness.app).post('/connect/token').set('Authorization', basic('gateway', SERVICE_SECRET)).type('form').send('grant_type=client_credentials&scope=api:read');
    const delegated = await exchange(harness.app, { subject_token: grant.body.access_token, subject_token_type: TOKEN_TYPES.accessToken, actor_token: actor.body.access_token, actor_token_type: TOKEN_TYPES.accessToken });
    expect(decodeJwt(delegated.body.access_token).payload.act).toEqual({ sub: 'client:gateway' });
    const seen = await introspect(harness.app, delegated.body.access_token);
    expect(seen.body.active).toBe(true);
    expect(seen.body.act).toEqual({ sub: 'client:gateway' });
  });

  it('a subject token whose act is not an object (e.g. an array) is not nested into our signed token (RFC 8693 §4.1: act is a JSON object)', async () => {
    const harness = exchangeApp(() => ({ scope: ['api:read'] }));
    const subject = partnerJwt({ act: ['not', { sub: 'an-object' }] }, harness.clock);
    const res = await exchange(harness.app, { subject_token: subject, subject_token_type: TOKEN_TYPES.jwt, actor_token: partnerJwt({ sub: 'svc' }, harness.clock), actor_token_type: TOKEN_TYPES.jwt });
    if (res.status === 200) expect(Array.isArray((decodeJwt(res.body.access_token).payload.act as Record<string, unknown>).act)).toBe(false);
    else expect(res.body.error).toBe('invalid_request');
  });

  it('may_act naming the asking client the way our tokens name it (client:gateway) is honoured; a bare id is a user-namespace value', async () => {
    const harness = exchangeApp(() => ({ scope: ['api:read'], subject: 'user-1' }));
    // Our client_credentials tokens (and so act.sub of a client actor) name gateway "client:gateway".
    const clientForm = await exchange(harness.app, { subject_token: partnerJwt({ may_act: { sub: 'client:gateway', iss: ISSUER } }, harness.clock), subject_token_type: TOKEN_TYPES.jwt });
    expect(clientForm.status).toBe(200);
    // "gateway" without the prefix is a user subject (assertLocalSubject lets a user be called "gateway").
    const userForm = await exchange(harness.app, { subject_token: partnerJwt({ may_act: { sub: 'gateway', iss: ISSUER } }, harness.clock), subject_token_type: TOKEN_TYPES.jwt });
    expect(userForm.body.error).toBe('invalid_request');
  });
});
