// spec/grants/custom-grant.spec.ts
// A host's own grant plugs in through the public API: declared parameters, DTO validation, response shaping.
import { IsIn, IsString, Length } from 'class-validator';
import request from 'supertest';
import { OAuthError, type GrantContext, type GrantStrategy } from '../../lib';
import { basic, createTestApp, decodeJwt, SERVICE_SECRET } from '../helpers/create-app';

const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';

class ExchangeParams {
  @IsString()
  @Length(10, 4096)
  subject_token!: string;

  @IsIn(['urn:ietf:params:oauth:token-type:access_token', 'urn:ietf:params:oauth:token-type:jwt'])
  subject_token_type!: string;
}

const seen: GrantContext[] = [];
const exchange: GrantStrategy = {
  grantType: TOKEN_EXCHANGE,
  parameters: {
    subject_token: { required: true, maxLength: 4096 },
    subject_token_type: { required: true },
    audience: { maxLength: 200, pattern: /^https:\/\/[a-z.]+$/, patternDescription: 'an https URL' },
  },
  paramsDto: ExchangeParams,
  allowPublicClients: false,
  async handle(ctx) {
    seen.push(ctx);
    if (ctx.params.subject_token === 'revoked-token-xx') throw new OAuthError('invalid_grant', 'The subject token is not active.');
    // Deliberately outside the guarantees (own subject, own claims): the unchecked services.
    const at = await ctx.unchecked.accessTokens.issue({ client: ctx.client, grantType: ctx.grantType, subject: 'user-from-subject-token', scope: ctx.requestedScope ?? [], act: { sub: ctx.client.clientId } });
    return { access_token: at.token, token_type: 'Bearer', expires_in: at.expiresIn, issued_token_type: 'urn:ietf:params:oauth:token-type:access_token', refresh_token: undefined, extra: null };
  },
};

describe('a custom grant', () => {
  const { app } = createTestApp({ grants: [exchange] }, [{ client_id: 'svc', client_secret: SERVICE_SECRET, grant_types: [TOKEN_EXCHANGE], scope: 'a' }]);
  const post = (body: string) => request(app).post('/connect/token').set('Authorization', basic('svc', SERVICE_SECRET)).type('form').send(`grant_type=${encodeURIComponent(TOKEN_EXCHANGE)}&${body}`);

  beforeEach(() => { seen.length = 0; });

  it('receives only its declared parameters and returns its own members (null/undefined dropped)', async () => {
    const res = await post('subject_token=subject-token-123&subject_token_type=urn:ietf:params:oauth:token-type:jwt&unrelated=x&code=y&scope=a');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ access_token: expect.any(String), token_type: 'Bearer', expires_in: 3600, issued_token_type: 'urn:ietf:params:oauth:token-type:access_token' });
    expect(seen[0].params).toEqual({ subject_token: 'subject-token-123', subject_token_type: 'urn:ietf:params:oauth:token-type:jwt' });
    expect(seen[0].requestedScope).toEqual(['a']);
    expect(seen[0].dto).toBeInstanceOf(ExchangeParams);
    expect(decodeJwt(res.body.access_token).payload).toMatchObject({ sub: 'user-from-subject-token', client_id: 'svc', act: { sub: 'svc' } });
  });

  it('gets invalid_request naming a missing required parameter', async () => {
    const res = await post('subject_token_type=urn:ietf:params:oauth:token-type:jwt');
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ error: 'invalid_request', error_description: 'The subject_token parameter is required.' });
    expect(seen).toHaveLength(0);
  });

  it('enforces maxLength before the grant runs', async () => {
    const res = await post(`subject_token=${'a'.repeat(5000)}&subject_token_type=urn:ietf:params:oauth:token-type:jwt`);
    expect(res.body.error_description).toBe('The subject_token parameter is too long.');
    expect(seen).toHaveLength(0);
  });

  it('enforces a declared pattern and explains it without echoing the value', async () => {
    const res = await post('subject_token=subject-token-123&subject_token_type=urn:ietf:params:oauth:token-type:jwt&audience=http://evil-marker');
    expect(res.body).toEqual({ error: 'invalid_request', error_description: 'The audience parameter is malformed (expected an https URL).' });
    expect(res.text).not.toContain('evil-marker');
  });

  it('runs the class-validator DTO', async () => {
    const short = await post('subject_token=short&subject_token_type=urn:ietf:params:oauth:token-type:jwt');
    expect(short.status).toBe(400);
    expect(short.body.error).toBe('invalid_request');
    expect(short.body.error_description).toMatch(/^The subject_token parameter is invalid/);
    const badType = await post('subject_token=subject-token-123&subject_token_type=urn:other');
    expect(badType.body.error_description).toMatch(/^The subject_token_type parameter is invalid/);
    expect(seen).toHaveLength(0);
  });

  it('lets the grant reject with its own OAuthError', async () => {
    const res = await post('subject_token=revoked-token-xx&subject_token_type=urn:ietf:params:oauth:token-type:jwt');
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ error: 'invalid_grant', error_description: 'The subject token is not active.' });
  });
});
