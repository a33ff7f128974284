// spec/grants/token-exchange-custom-grant-subject.spec.ts
// Review finding: token exchange decides "client-level token" from the absence of grant_id
// (grant.ts ourJwt / isClientLevel). A custom grant's user token minted with
// ctx.issueTokens({ session }) — the defineGrant example in lib/contracts/grant.ts has no
// grantId — is taken for a client's own token: the policy is told there is no local subject,
// and a pairwise `sub` is carried to another client without `decision.subject`, which
// docs/token-service.md says the policy must give for a pairwise token.
import request from 'supertest';
import { authorizationCode, clientCredentials, defineGrant, refreshToken, TOKEN_TYPES, tokenExchange, type TokenExchangeRequest } from '../../lib';
import { basic, decodeJwt, SERVICE_SECRET } from '../helpers/create-app';
import { PAIRWISE_SALT, RT_REDIRECT } from '../helpers/refresh-flow';
import { createServiceApp } from '../token-service/helpers';
import { CLIENTS, exchange } from '../helpers/token-exchange';

const CUSTOM = 'urn:example:grant:trusted-device';
const customGrant = defineGrant({
  grantType: CUSTOM,
  parameters: {},
  allowPublicClients: false,
  async handle(ctx) {
    // As the defineGrant example does: a user token, no grantId.
    const tokens = await ctx.issueTokens({ scope: ctx.grantScope(ctx.requestedScope), session: { subject: 'user-1' } });
    return tokens.body;
  },
});

describe('token exchange of a custom grant\'s user token', () => {
  it('a pairwise user token without grant_id is not treated as a client-level token (the policy must map the subject)', async () => {
    const seen: TokenExchangeRequest[] = [];
    const harness = createServiceApp({
      grants: [authorizationCode(), clientCredentials(), refreshToken(), customGrant, tokenExchange({ policy: (req) => { seen.push(req); return { scope: ['api:read'] }; } })],
      subjects: { pairwiseSalt: PAIRWISE_SALT },
    }, {}, [...CLIENTS, { client_id: 'device-app', client_secret: SERVICE_SECRET, grant_types: [CUSTOM], subject_type: 'pairwise', redirect_uris: [RT_REDIRECT], scope: 'api:read' }]);
    const minted = await request(harness.app).post('/connect/token').set('Authorization', basic('device-app', SERVICE_SECRET)).type('form').send(`grant_type=${encodeURIComponent(CUSTOM)}&scope=api:read`);
    expect(minted.status).toBe(200);
    const pairwiseSub = decodeJwt(minted.body.access_token).payload.sub;
    expect(pairwiseSub).toBe(harness.tokenRouter.subjectFor({ client_id: 'device-app', subject_type: 'pairwise', redirect_uris: [RT_REDIRECT] }, 'user-1'));

    const res = await exchange(harness.app, { subject_token: minted.body.access_token, subject_token_type: TOKEN_TYPES.accessToken });
    // Today: 200, gateway's token carries device-app's pairwise identifier of user-1 as a client-level sub.
    expect([res.status, res.status === 200 ? decodeJwt(res.body.access_token).payload.sub : res.body.error]).toEqual([400, 'invalid_request']);
    // issueTokens stamps a grant_id on every end-user token, so it is told apart from a client's own.
    expect(typeof seen[0]?.subjectToken.claims.grant_id).toBe('string');
  });

  it('a public-subject user token without grant_id gives the policy its localSubject', async () => {
    const seen: TokenExchangeRequest[] = [];
    const harness = createServiceApp({
      grants: [authorizationCode(), clientCredentials(), refreshToken(), customGrant, tokenExchange({ policy: (req) => { seen.push(req); return { scope: ['api:read'] }; } })],
    }, {}, [...CLIENTS, { client_id: 'device-app', client_secret: SERVICE_SECRET, grant_types: [CUSTOM], scope: 'api:read' }]);
    const minted = await request(harness.app).post('/connect/token').set('Authorization', basic('device-app', SERVICE_SECRET)).type('form').send(`grant_type=${encodeURIComponent(CUSTOM)}&scope=api:read`);
    const res = await exchange(harness.app, { subject_token: minted.body.access_token, subject_token_type: TOKEN_TYPES.accessToken });
    expect(res.status).toBe(200);
    expect(seen[0].subjectToken.localSubject).toBe('user-1');
  });
});
