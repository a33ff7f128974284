// spec/grants/client-credentials.spec.ts
// client_credentials (RFC 6749 §4.4) and the RFC 9068 JWT access token it returns (security model rules C28–C35, G63–G64, J80–J86).

import jwt from 'jsonwebtoken';
import request from 'supertest';
import { basic, createTestApp, decodeJwt, ISSUER, SERVICE_SECRET } from '../helpers/create-app';
import { rsaKey, keyPair } from '../helpers/keys';

function token(app: Parameters<typeof request>[0], body: string, id = 'service', secret = SERVICE_SECRET) {
  return request(app).post('/connect/token').set('Authorization', basic(id, secret)).type('form').send(body);
}

describe('client_credentials success', () => {
  const { app, clock, events } = createTestApp();

  it('returns access_token, token_type Bearer, integer expires_in and scope', async () => {
    const res = await token(app, 'grant_type=client_credentials&scope=api:read api:write');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ access_token: expect.any(String), token_type: 'Bearer', expires_in: 3600, scope: 'api:read api:write' });
    expect(res.body.refresh_token).toBeUndefined();
    expect(res.body.id_token).toBeUndefined();
  });

  it('issues an RFC 9068 JWT that verifies with the public key', async () => {
    const res = await token(app, 'grant_type=client_credentials&scope=api:read');
    const { header, payload } = decodeJwt(res.body.access_token);
    expect(header).toEqual({ alg: 'RS256', typ: 'at+jwt', kid: 'test-key' });
    const iat = Math.floor(clock() / 1000);
    expect(payload).toEqual({
      iss: ISSUER,
      sub: 'client:service',
      aud: ISSUER,
      client_id: 'service',
      iat,
      nbf: iat,
      exp: iat + 3600,
      jti: expect.any(String),
      scope: 'api:read',
    });
    expect((payload.exp as number) - (payload.iat as number)).toBe(res.body.expires_in);
    const verified = jwt.verify(res.body.access_token, rsaKey().publicKey, { algorithms: ['RS256'], issuer: ISSUER, clockTimestamp: iat }) as jwt.JwtPayload;
    expect(verified.sub).toBe('client:service');
  });

  it('gives every token a unique jti', async () => {
    const jtis = new Set<string>();
    for (let i = 0; i < 20; i += 1) jtis.add(decodeJwt((await token(app, 'grant_type=client_credentials')).body.access_token).payload.jti as string);
    expect(jtis.size).toBe(20);
  });

  it('reports token.issued with the jti and no token value', async () => {
    events.length = 0;
    const res = await token(app, 'grant_type=client_credentials&scope=api:read');
    const jti = decodeJwt(res.body.access_token).payload.jti;
    expect(events).toEqual([expect.objectContaining({ type: 'token.issued', grantType: 'client_credentials', clientId: 'service', subject: 'client:service', jti, scope: ['api:read'] })]);
    expect(JSON.stringify(events)).not.toContain(res.body.access_token);
  });
});

describe('client_credentials scope rules', () => {
  const { app } = createTestApp();

  it('grants every registered scope except openid/offline_access when scope is omitted, and says so', async () => {
    const res = await token(app, 'grant_type=client_credentials');
    expect(res.status).toBe(200);
    expect(res.body.scope).toBe('api:read api:write');
    expect(decodeJwt(res.body.access_token).payload.scope).toBe('api:read api:write');
  });

  it('grants default_scope when the client has one', async () => {
    const res = await token(app, 'grant_type=client_credentials', 'defaulted');
    expect(res.body.scope).toBe('api:read');
  });

  it('issues a token without scope for a client with no registered scope', async () => {
    const res = await token(app, 'grant_type=client_credentials', 'no-scope');
    expect(res.status).toBe(200);
    expect(res.body.scope).toBeUndefined();
    expect(decodeJwt(res.body.access_token).payload.scope).toBeUndefined();
  });

  it('rejects a scope the client is not registered for', async () => {
    const res = await token(app, 'grant_type=client_credentials&scope=api:read admin');
    expect(res.status).toBe(400);
    expect(res.body.error).toBe('invalid_scope');
  });

  it('rejects any scope for a client with no registered scope', async () => {
    const res = await token(app, 'grant_type=client_credentials&scope=api:read', 'no-scope');
    expect(res.body.error).toBe('invalid_scope');
  });

  it.each(['openid', 'offline_access'])('rejects %s: there is no end user', async (scope) => {
    const res = await token(app, `grant_type=client_credentials&scope=${scope}`);
    expect(res.status).toBe(400);
    expect(res.body.error).toBe('invalid_scope');
  });

  it.each(['api:read%22', 'api%5Cread', 'a%00b'])('rejects scope characters outside RFC 6749 §3.3 (%s)', async (scope) => {
    const res = await token(app, `grant_type=client_credentials&scope=${scope}`);
    expect(res.status).toBe(400);
    expect(res.body.error).toBe('invalid_scope');
    expect(res.body.error_description).toMatch(/^[\x20-\x21\x23-\x5b\x5d-\x7e]*$/);
  });

  it('drops duplicate scope tokens', async () => {
    const res = await token(app, 'grant_type=client_credentials&scope=api:read%20api:read');
    expect(res.body.scope).toBe('api:read');
  });
});

describe('access token options', () => {
  it('uses accessToken.audience and accessToken.ttl', async () => {
    const { app } = createTestApp({ accessToken: { audience: ['https://api.example.test', 'urn:other'], ttl: 600 } });
    const res = await token(app, 'grant_type=client_credentials');
    expect(res.body.expires_in).toBe(600);
    const { payload } = decodeJwt(res.body.access_token);
    expect(payload.aud).toEqual(['https://api.example.test', 'urn:other']);
    expect((payload.exp as number) - (payload.iat as number)).toBe(600);
  });

  it('lets a client override audience and lifetime', async () => {
    const { app } = createTestApp({ accessToken: { audience: 'https://api.example.test' } }, [
      { client_id: 'svc', client_secret: SERVICE_SECRET, grant_types: ['client_credentials'], access_token_audience: 'https://billing.example.test', access_token_ttl: 120 },
    ]);
    const res = await token(app, 'grant_type=client_credentials', 'svc');
    expect(res.body.expires_in).toBe(120);
    expect(decodeJwt(res.body.access_token).payload.aud).toBe('https://billing.example.test');
  });

  it('adds claims from the hook but never lets it override protected claims', async () => {
    const seen: unknown[] = [];
    const { app } = createTestApp({
      accessToken: {
        claims: async (context) => {
          seen.push({ grantType: context.grantType, subject: context.subject, scope: context.scope, clientId: context.client.client_id });
          return { tenant: 'acme', iss: 'https://evil.example', sub: 'admin', scope: 'everything', client_id: 'other', exp: 9999999999 };
        },
      },
    });
    const res = await token(app, 'grant_type=client_credentials&scope=api:read');
    const { payload } = decodeJwt(res.body.access_token);
    expect(payload.tenant).toBe('acme');
    expect(payload).toMatchObject({ iss: ISSUER, sub: 'client:service', scope: 'api:read', client_id: 'service' });
    expect(payload.exp).toBe((payload.iat as number) + 3600);
    expect(seen).toEqual([{ grantType: 'client_credentials', subject: 'client:service', scope: ['api:read'], clientId: 'service' }]);
  });

  it('lets the host choose the client_credentials subject', async () => {
    const { clientCredentials } = await import('../../lib');
    const { app } = createTestApp({ grants: [clientCredentials({ subject: (client) => `client:${client.client_id}` })] });
    const res = await token(app, 'grant_type=client_credentials');
    expect(decodeJwt(res.body.access_token).payload).toMatchObject({ sub: 'client:service', client_id: 'service' });
  });

  it.each([
    ['RS384', () => keyPair('rsa', { modulusLength: 2048 })],
    ['RS512', () => keyPair('rsa', { modulusLength: 2048 })],
    ['PS256', () => keyPair('rsa', { modulusLength: 2048 })],
    ['PS384', () => keyPair('rsa', { modulusLength: 2048 })],
    ['PS512', () => keyPair('rsa', { modulusLength: 2048 })],
    ['ES256', () => keyPair('ec', { namedCurve: 'P-256' })],
    ['ES384', () => keyPair('ec', { namedCurve: 'P-384' })],
    ['ES512', () => keyPair('ec', { namedCurve: 'P-521' })],
  ] as const)('signs with %s when configured (verified by jsonwebtoken, an independent JWS implementation)', async (alg, make) => {
    const pair = make();
    const { app } = createTestApp({ signingKeys: [{ kid: `k-${alg}`, alg, privateKey: pair.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString() }] });
    const res = await token(app, 'grant_type=client_credentials');
    expect(decodeJwt(res.body.access_token).header).toEqual({ alg, typ: 'at+jwt', kid: `k-${alg}` });
    expect(() => jwt.verify(res.body.access_token, pair.publicKey, { algorithms: [alg], ignoreExpiration: true, ignoreNotBefore: true })).not.toThrow();
  });

  it('signs with the first of several keys', async () => {
    const second = keyPair('rsa', { modulusLength: 2048 });
    const { app } = createTestApp({ signingKeys: [{ kid: 'active', privateKey: rsaKey().privateKey }, { kid: 'retiring', privateKey: second.privateKey }] });
    const res = await token(app, 'grant_type=client_credentials');
    expect(decodeJwt(res.body.access_token).header.kid).toBe('active');
  });
});
