// spec/endpoint/telenorid-switches.spec.ts
// Issue 14 item 5 (part): TelenorID+ compatibility switches, each opt-in with the default unchanged.
// - clientAuthentication.ignorePublicClientSecret: a public client that sends a (dummy) secret is
//   treated as the public client it is (IdentityServer's behaviour), instead of 401.
// - accessToken.scopeClaim: 'array': the access token's `scope` claim as a JSON array (TelenorID+
//   tokens carry one; APIs such as ASP.NET claim policies read it so). RFC 9068's string stays the default.
import request from 'supertest';
import { authorizationCode, clientCredentials, ConfigurationError, createMemoryClientRegistry, createTokenRouter } from '../../lib';
import { CHALLENGE, redeem, VERIFIER } from '../helpers/code-flow';
import { basic, createCodeTestApp, createTestApp, decodeJwt, SERVICE_SECRET, SPA_REDIRECT } from '../helpers/create-app';
import { rsaKey } from '../helpers/keys';

const SPA = [{ client_id: 'spa', token_endpoint_auth_method: 'none' as const, grant_types: ['authorization_code'], redirect_uris: [SPA_REDIRECT], scope: 'openid api' }];

describe('clientAuthentication.ignorePublicClientSecret', () => {
  async function redeemWithDummySecret(ignore: boolean | undefined) {
    const harness = createCodeTestApp({ grants: [authorizationCode()], ...(ignore !== undefined && { clientAuthentication: { ignorePublicClientSecret: ignore } }) }, SPA);
    const minted = await harness.tokenRouter.issueAuthorizationCode({ clientId: 'spa', redirectUri: SPA_REDIRECT, scope: 'openid', subject: 'u', codeChallenge: CHALLENGE, codeChallengeMethod: 'S256' });
    return redeem(harness.app, { code: minted.code, redirect_uri: SPA_REDIRECT, code_verifier: VERIFIER, client_secret: 'dummy-secret' }, { id: 'spa', public: true });
  }

  it('by default a public client sending a secret is refused (401)', async () => {
    expect((await redeemWithDummySecret(undefined)).status).toBe(401);
  });

  it('when on, the dummy secret is ignored and the public client is served as public (PKCE still required)', async () => {
    const res = await redeemWithDummySecret(true);
    expect(res.status).toBe(200);
    expect(decodeJwt(res.body.access_token).payload.client_id).toBe('spa');
  });

  it('never makes a secret optional for a confidential client', async () => {
    const harness = createTestApp({ clientAuthentication: { ignorePublicClientSecret: true } }, [{ client_id: 'svc', client_secret: SERVICE_SECRET, grant_types: ['client_credentials'] }]);
    const wrong = await request(harness.app).post('/connect/token').set('Authorization', basic('svc', 'dummy')).type('form').send('grant_type=client_credentials');
    expect(wrong.status).toBe(401);
  });
});

describe('accessToken.scopeClaim', () => {
  const post = (harness: ReturnType<typeof createTestApp>) => request(harness.app).post('/connect/token').set('Authorization', basic('svc', SERVICE_SECRET)).type('form').send('grant_type=client_credentials&scope=a b');
  const clients = [{ client_id: 'svc', client_secret: SERVICE_SECRET, grant_types: ['client_credentials'], scope: 'a b' }];

  it('is a space-separated string by default (RFC 9068 §2.2.3)', async () => {
    const res = await post(createTestApp({ grants: [clientCredentials()] }, clients));
    expect(decodeJwt(res.body.access_token).payload.scope).toBe('a b');
    expect(res.body.scope).toBe('a b');
  });

  it("is a JSON array with scopeClaim: 'array'; the response's scope stays a string (RFC 6749 §5.1)", async () => {
    const res = await post(createTestApp({ grants: [clientCredentials()], accessToken: { scopeClaim: 'array' } }, clients));
    expect(decodeJwt(res.body.access_token).payload.scope).toEqual(['a', 'b']);
    expect(res.body.scope).toBe('a b');
  });

  it('rejects another value at startup', () => {
    expect(() => createTokenRouter({ issuer: 'https://id.example.test', signingKeys: [{ kid: 'k', privateKey: rsaKey().pem }], clients: createMemoryClientRegistry([]), grants: [clientCredentials()], accessToken: { scopeClaim: 'list' as never } })).toThrow(ConfigurationError);
  });
});
