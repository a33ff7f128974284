// spec/grants/client-subject-collision.spec.ts
// Issue 13 item 10 (RFC 9700 §4.15.1): a client_credentials token must never be mistaken for a
// user's token. By default its `sub` is `client:<client_id>`, and no user subject may take that
// form, so a client registered with an id equal to a user's subject still gets tokens a
// resource server can tell apart.
import request from 'supertest';
import { authorizationCode, clientCredentials } from '../../lib';
import { redeem } from '../helpers/code-flow';
import { basic, createCodeTestApp, decodeJwt, SERVICE_SECRET, WEB_REDIRECT } from '../helpers/create-app';

const CLIENTS = [
  // A client whose id equals a user's local subject.
  { client_id: 'alice', client_secret: SERVICE_SECRET, grant_types: ['client_credentials'], scope: 'api' },
  { client_id: 'web', client_secret: SERVICE_SECRET, grant_types: ['authorization_code'], redirect_uris: [WEB_REDIRECT], scope: 'openid api' },
];

describe('client tokens and user tokens never share a sub', () => {
  const harness = createCodeTestApp({ grants: [authorizationCode(), clientCredentials()] }, CLIENTS);

  it('the client "alice" and the user "alice" get different subs', async () => {
    const client = await request(harness.app).post('/connect/token').set('Authorization', basic('alice', SERVICE_SECRET)).type('form').send('grant_type=client_credentials');
    expect(client.status).toBe(200);
    const minted = await harness.tokenRouter.issueAuthorizationCode({ clientId: 'web', redirectUri: WEB_REDIRECT, scope: 'openid api', subject: 'alice' });
    const user = await redeem(harness.app, { code: minted.code, redirect_uri: WEB_REDIRECT }, { id: 'web', secret: SERVICE_SECRET });
    expect(user.status).toBe(200);
    expect(decodeJwt(client.body.access_token).payload).toMatchObject({ sub: 'client:alice', client_id: 'alice' });
    expect(decodeJwt(user.body.access_token).payload.sub).toBe('alice');
  });

  it('a user subject in the client form is refused by the host APIs (it could collide)', async () => {
    await expect(harness.tokenRouter.issueAuthorizationCode({ clientId: 'web', redirectUri: WEB_REDIRECT, scope: 'openid', subject: 'client:alice' })).rejects.toThrow(/subject must not start with "client:"/);
  });

  it('clientCredentials({ subject }) still chooses another form explicitly', async () => {
    const own = createCodeTestApp({ grants: [clientCredentials({ subject: (client) => `svc/${client.client_id}` })] }, CLIENTS);
    const res = await request(own.app).post('/connect/token').set('Authorization', basic('alice', SERVICE_SECRET)).type('form').send('grant_type=client_credentials');
    expect(decodeJwt(res.body.access_token).payload.sub).toBe('svc/alice');
  });
});
