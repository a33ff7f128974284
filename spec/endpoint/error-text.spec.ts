// spec/endpoint/error-text.spec.ts
// Issue 13 item 9: error_description never repeats text the caller sent (a scope token, a
// parameter name): reflected caller text in an error body invites injection into whatever shows
// it (security model rules L98, L99). The descriptions still say what is wrong, in our own words.
import request from 'supertest';
import { authorizationCode, clientCredentials, refreshToken } from '../../lib';
import { basic, createCodeTestApp, SERVICE_SECRET, WEB_REDIRECT } from '../helpers/create-app';

const MARK = "<zqx>x'y";
const MARK_ENCODED = encodeURIComponent(MARK);

describe('error_description never echoes caller text', () => {
  const clients = [
    { client_id: 'svc', client_secret: SERVICE_SECRET, grant_types: ['client_credentials'], scope: 'api' },
    { client_id: 'web', client_secret: SERVICE_SECRET, grant_types: ['authorization_code', 'refresh_token'], redirect_uris: [WEB_REDIRECT], scope: 'openid offline_access api' },
  ];
  const harness = createCodeTestApp({ grants: [clientCredentials(), authorizationCode(), refreshToken()] }, clients);
  const post = (id: string, body: string) => request(harness.app).post('/connect/token').set('Authorization', basic(id, SERVICE_SECRET)).type('form').send(body);

  async function expectNoEcho(res: request.Response, error: string): Promise<void> {
    expect(res.status).toBe(400);
    expect(res.body.error).toBe(error);
    expect(typeof res.body.error_description).toBe('string');
    expect(res.text).not.toContain('zqx');
  }

  it('a scope outside the client registration (client_credentials)', async () => {
    const res = await post('svc', `grant_type=client_credentials&scope=api%20${MARK_ENCODED}`);
    await expectNoEcho(res, 'invalid_scope');
    expect(res.body.error_description).toBe('A requested scope is not allowed for this client.');
  });

  it('a scope wider than the code granted', async () => {
    const minted = await harness.tokenRouter.issueAuthorizationCode({ clientId: 'web', redirectUri: WEB_REDIRECT, scope: 'openid', subject: 'u' });
    const res = await post('web', `grant_type=authorization_code&code=${minted.code}&redirect_uri=${encodeURIComponent(WEB_REDIRECT)}&scope=openid%20${MARK_ENCODED}`);
    await expectNoEcho(res, 'invalid_scope');
    expect(res.body.error_description).toBe('A requested scope is not allowed for this authorization code (it may only narrow the granted scope).');
  });

  it('a repeated parameter with a name of the caller\'s', async () => {
    const res = await post('svc', `grant_type=client_credentials&${MARK_ENCODED}=1&${MARK_ENCODED}=2`);
    await expectNoEcho(res, 'invalid_request');
    expect(res.body.error_description).toBe('A parameter is repeated.');
  });

  it('a user-only scope with client_credentials names the rule, not the request', async () => {
    const res = await post('svc', 'grant_type=client_credentials&scope=openid');
    expect(res.body).toEqual({ error: 'invalid_scope', error_description: 'The scopes openid and offline_access need an end user and cannot be used with client_credentials.' });
  });
});
