// spec/discovery.spec.ts
// tokenRouter.wellKnown: OpenID Provider metadata / RFC 8414 and the JWKS (security model rules O115, K95).
import { createPublicKey } from 'node:crypto';
import express from 'express';
import request from 'supertest';
import { authorizationCode, clientCredentials, createMemoryClientRegistry, createTokenRouter, introspection, refreshToken, revocation, TOKEN_EXCHANGE_GRANT_TYPE, tokenExchange } from '../lib';
import { basic, CODE_CLIENTS, createCodeTestApp, decodeJwt, ISSUER, SERVICE_SECRET, WEB_REDIRECT } from './helpers/create-app';
import { codeInput, redeem } from './helpers/code-flow';
import { rsaKey, keyPair } from './helpers/keys';
import type { PublicJwk } from '../lib';

const PRIVATE_JWK_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k', 'oth'];

describe('/.well-known/openid-configuration with revocation, introspection and token exchange enabled', () => {
  it('adds exactly their members to the computed ones, and nothing when they are off', async () => {
    const { app } = createCodeTestApp({
      grants: [authorizationCode(), clientCredentials(), refreshToken(), tokenExchange({ policy: () => false })],
      endpoints: [revocation(), introspection()],
    });
    const res = await request(app).get('/.well-known/openid-configuration');
    expect(res.body).toEqual({
      issuer: ISSUER,
      token_endpoint: `${ISSUER}/connect/token`,
      jwks_uri: `${ISSUER}/.well-known/jwks.json`,
      response_types_supported: ['code'],
      grant_types_supported: ['authorization_code', 'client_credentials', 'refresh_token', TOKEN_EXCHANGE_GRANT_TYPE],
      subject_types_supported: ['public'],
      id_token_signing_alg_values_supported: ['RS256'],
      token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'none', 'private_key_jwt', 'client_secret_jwt'],
      token_endpoint_auth_signing_alg_values_supported: ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'HS256', 'HS384', 'HS512'],
      dpop_signing_alg_values_supported: ['ES256', 'ES384', 'ES512', 'RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512'],
      code_challenge_methods_supported: ['S256'],
      revocation_endpoint: `${ISSUER}/connect/revocation`,
      revocation_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'none', 'private_key_jwt', 'client_secret_jwt'],
      introspection_endpoint: `${ISSUER}/connect/introspection`,
      introspection_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'private_key_jwt', 'client_secret_jwt'],
    });
    // Served where advertised; off routes are not served at all.
    expect((await request(app).post('/connect/revocation').type('form').send('token=x')).status).toBe(401);
    const { app: plain } = createCodeTestApp();
    expect((await request(plain).post('/connect/revocation').type('form').send('token=x')).status).toBe(404);
  });
});

describe('/.well-known/openid-configuration with the defaults', () => {
  const { app, tokenRouter } = createCodeTestApp();

  it('lists exactly the computed members', async () => {
    const res = await request(app).get('/.well-known/openid-configuration');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      issuer: ISSUER,
      token_endpoint: `${ISSUER}/connect/token`,
      jwks_uri: `${ISSUER}/.well-known/jwks.json`,
      response_types_supported: ['code'],
      grant_types_supported: ['authorization_code', 'client_credentials', 'refresh_token'],
      subject_types_supported: ['public'],
      id_token_signing_alg_values_supported: ['RS256'],
      token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'none', 'private_key_jwt', 'client_secret_jwt'],
      token_endpoint_auth_signing_alg_values_supported: ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'HS256', 'HS384', 'HS512'],
      dpop_signing_alg_values_supported: ['ES256', 'ES384', 'ES512', 'RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512'],
      code_challenge_methods_supported: ['S256'],
    });
  });

  it('is cacheable public JSON, readable cross-origin', async () => {
    const res = await request(app).get('/.well-known/openid-configuration');
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.headers['cache-control']).toBe('public, max-age=300');
    expect(res.headers['access-control-allow-origin']).toBe('*');
  });

  it('/.well-known/oauth-authorization-server (RFC 8414) serves the same document', async () => {
    const oidc = await request(app).get('/.well-known/openid-configuration');
    const oauth = await request(app).get('/.well-known/oauth-authorization-server');
    expect(oauth.status).toBe(200);
    expect(oauth.text).toBe(oidc.text);
  });

  it('tokenRouter.metadata() is the served document, frozen', async () => {
    const res = await request(app).get('/.well-known/openid-configuration');
    expect(tokenRouter.metadata()).toEqual(res.body);
    expect(Object.isFrozen(tokenRouter.metadata())).toBe(true);
  });

  it('token_endpoint and jwks_uri point at routes that are served', async () => {
    const metadata = tokenRouter.metadata() as { token_endpoint: string; jwks_uri: string };
    const jwks = await request(app).get(new URL(metadata.jwks_uri).pathname);
    expect(jwks.status).toBe(200);
    const token = await request(app).post(new URL(metadata.token_endpoint).pathname).set('Authorization', basic('service', SERVICE_SECRET)).type('form').send('grant_type=client_credentials');
    expect(token.status).toBe(200);
  });

  it('issuer is byte-equal to the iss of every token (access token and ID token)', async () => {
    const { code } = await tokenRouter.issueAuthorizationCode(codeInput());
    const res = await redeem(app, { code, redirect_uri: WEB_REDIRECT });
    expect(decodeJwt(res.body.access_token).payload.iss).toBe(tokenRouter.metadata().issuer);
    expect(decodeJwt(res.body.id_token).payload.iss).toBe(tokenRouter.metadata().issuer);
  });
});

describe('discovery options', () => {
  const { app } = createCodeTestApp({
    discovery: {
      authorizationEndpoint: `${ISSUER}/authorize`,
      tokenEndpoint: 'https://tokens.example.test/oauth/token',
      jwksUri: 'https://keys.example.test/jwks',
      scopesSupported: ['openid', 'profile', 'api:read'],
      maxAgeSeconds: 60,
      metadata: {
        userinfo_endpoint: `${ISSUER}/userinfo`,
        end_session_endpoint: `${ISSUER}/logout`,
        claims_supported: ['sub', 'name'],
        issuer: 'https://evil.example.test',
        token_endpoint: 'https://evil.example.test/token',
        jwks_uri: 'https://evil.example.test/jwks',
        grant_types_supported: ['password'],
        code_challenge_methods_supported: ['plain'],
        subject_types_supported: ['pairwise'],
        token_endpoint_auth_methods_supported: ['private_key_jwt'],
        id_token_signing_alg_values_supported: ['none'],
        scopes_supported: ['admin'],
        authorization_endpoint: 'https://evil.example.test/authorize',
      },
    },
  });

  it('adds authorization_endpoint, scopes_supported and the host members; computed members cannot be overridden', async () => {
    const res = await request(app).get('/.well-known/openid-configuration');
    expect(res.body).toEqual({
      issuer: ISSUER,
      authorization_endpoint: `${ISSUER}/authorize`,
      token_endpoint: 'https://tokens.example.test/oauth/token',
      jwks_uri: 'https://keys.example.test/jwks',
      scopes_supported: ['openid', 'profile', 'api:read'],
      response_types_supported: ['code'],
      grant_types_supported: ['authorization_code', 'client_credentials', 'refresh_token'],
      subject_types_supported: ['public'],
      id_token_signing_alg_values_supported: ['RS256'],
      token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'none', 'private_key_jwt', 'client_secret_jwt'],
      token_endpoint_auth_signing_alg_values_supported: ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'HS256', 'HS384', 'HS512'],
      dpop_signing_alg_values_supported: ['ES256', 'ES384', 'ES512', 'RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512'],
      code_challenge_methods_supported: ['S256'],
      userinfo_endpoint: `${ISSUER}/userinfo`,
      end_session_endpoint: `${ISSUER}/logout`,
      claims_supported: ['sub', 'name'],
    });
  });

  it('maxAgeSeconds sets Cache-Control of both documents', async () => {
    expect((await request(app).get('/.well-known/openid-configuration')).headers['cache-control']).toBe('public, max-age=60');
    expect((await request(app).get('/.well-known/jwks.json')).headers['cache-control']).toBe('public, max-age=60');
  });

  it('code_challenge_methods_supported adds plain only with allowPlainPkce', async () => {
    const plain = createCodeTestApp({ grants: [authorizationCode({ allowPlainPkce: true }), clientCredentials()] });
    expect((await request(plain.app).get('/.well-known/openid-configuration')).body.code_challenge_methods_supported).toEqual(['S256', 'plain']);
  });

  it('subject_types_supported lists pairwise only when a pairwise salt is configured', async () => {
    const salted = createCodeTestApp({ subjects: { pairwiseSalt: 'pairwise-salt-0123456789abcdef-0123' } });
    expect((await request(salted.app).get('/.well-known/openid-configuration')).body.subject_types_supported).toEqual(['public', 'pairwise']);
  });

  it('an issuer with a trailing slash does not double the slash in the default endpoints', () => {
    const slashed = createCodeTestApp({ issuer: `${ISSUER}/` });
    expect(slashed.tokenRouter.metadata()).toMatchObject({ issuer: `${ISSUER}/`, token_endpoint: `${ISSUER}/connect/token`, jwks_uri: `${ISSUER}/.well-known/jwks.json` });
  });

  // Known limitation (README "Discovery and JWKS"): for an issuer with a path, RFC 8414 §3.1 places
  // the metadata at /.well-known/oauth-authorization-server/<path>; mounted at the issuer path the
  // wellKnown router serves OIDC Discovery's /<path>/.well-known/openid-configuration, which is right.
  it('an issuer with a path: OIDC location served, RFC 8414 path-inserted location not', async () => {
    const tenant = createTokenRouter({
      issuer: `${ISSUER}/tenant`,
      signingKeys: [{ kid: 'k', privateKey: rsaKey().privateKey }],
      clients: createMemoryClientRegistry([]),
      grants: [clientCredentials()],
      rateLimit: false,
    });
    const app = express();
    app.use('/tenant', tenant.wellKnown);
    const oidc = await request(app).get('/tenant/.well-known/openid-configuration');
    expect(oidc.status).toBe(200);
    expect(oidc.body.token_endpoint).toBe(`${ISSUER}/tenant/connect/token`);
    expect((await request(app).get('/.well-known/oauth-authorization-server/tenant')).status).toBe(404);
  });
});

describe('/.well-known/jwks.json', () => {
  const ec256 = keyPair('ec', { namedCurve: 'P-256' }).privateKey;
  const ec384 = keyPair('ec', { namedCurve: 'P-384' }).privateKey;
  const { app, tokenRouter } = createCodeTestApp({
    signingKeys: [
      { kid: 'rsa-2026', alg: 'RS256', privateKey: rsaKey().privateKey },
      { kid: 'ec-p256', alg: 'ES256', privateKey: ec256 },
      { kid: 'ec-p384', alg: 'ES384', privateKey: ec384 },
    ],
  });

  it('lists every configured key, signing key first, with kid, alg, use sig and no private members', async () => {
    const res = await request(app).get('/.well-known/jwks.json');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/jwk-set\+json/);
    const keys = (res.body as { keys: PublicJwk[] }).keys;
    expect(keys.map((key) => [key.kid, key.alg, key.use, key.kty])).toEqual([
      ['rsa-2026', 'RS256', 'sig', 'RSA'],
      ['ec-p256', 'ES256', 'sig', 'EC'],
      ['ec-p384', 'ES384', 'sig', 'EC'],
    ]);
    for (const key of keys) {
      for (const member of PRIVATE_JWK_MEMBERS) expect(member in key).toBe(false);
      expect(createPublicKey({ key, format: 'jwk' }).type).toBe('public');
    }
    expect(keys[0]).toEqual({ kty: 'RSA', kid: 'rsa-2026', alg: 'RS256', use: 'sig', n: expect.any(String), e: 'AQAB' });
    expect(keys[1]).toEqual({ kty: 'EC', kid: 'ec-p256', alg: 'ES256', use: 'sig', crv: 'P-256', x: expect.any(String), y: expect.any(String) });
    expect(res.body).toEqual(tokenRouter.jwks());
  });

  it('id_token_signing_alg_values_supported lists the algorithms of the configured keys', () => {
    expect(tokenRouter.metadata().id_token_signing_alg_values_supported).toEqual(['RS256', 'ES256', 'ES384']);
  });

  // OpenID Connect Discovery §3 wants RS256 in id_token_signing_alg_values_supported: the library
  // advertises only algorithms it can sign with, so it warns at startup instead of lying.
  it('with only an ES384 key, RS256 is not advertised and a warning is logged', () => {
    const ecOnly = createCodeTestApp({ signingKeys: [{ kid: 'ec-p384', alg: 'ES384', privateKey: ec384 }] });
    expect(ecOnly.tokenRouter.metadata().id_token_signing_alg_values_supported).toEqual(['ES384']);
    expect(ecOnly.logged).toContainEqual(expect.objectContaining({ level: 'warn', message: expect.stringMatching(/RS256/) }));
  });

  it('the published RSA key is the public half of the configured private key', () => {
    const published = createPublicKey({ key: tokenRouter.jwks().keys[0], format: 'jwk' });
    expect(published.export({ format: 'pem', type: 'spki' })).toBe(rsaKey().publicKey.export({ format: 'pem', type: 'spki' }));
  });
});

describe('grant_types_supported matches what the token endpoint serves', () => {
  const UNLISTED = ['password', 'implicit', 'refresh_token', 'urn:ietf:params:oauth:grant-type:device_code', 'urn:ietf:params:oauth:grant-type:jwt-bearer', 'foo'];
  const clients = [...CODE_CLIENTS, { client_id: 'both', client_secret: SERVICE_SECRET, grant_types: ['authorization_code', 'client_credentials', 'refresh_token'], redirect_uris: [WEB_REDIRECT], scope: 'openid api:read offline_access' }];

  /** A request that succeeds for each built-in grant type when it is served (a fresh code for authorization_code). */
  async function tryGrant(harness: ReturnType<typeof createCodeTestApp>, grantType: string, served: boolean): Promise<request.Response> {
    const post = (body: string) => request(harness.app).post('/connect/token').set('Authorization', basic('both', SERVICE_SECRET)).type('form').send(body);
    if (grantType === 'refresh_token') {
      if (!served) return post('grant_type=refresh_token&refresh_token=unknown');
      const { code } = await harness.tokenRouter.issueAuthorizationCode(codeInput({ clientId: 'both', scope: 'openid offline_access' }));
      const first = await post(`grant_type=authorization_code&code=${code}&redirect_uri=${encodeURIComponent(WEB_REDIRECT)}`);
      return post(`grant_type=refresh_token&refresh_token=${first.body.refresh_token}`);
    }
    if (grantType !== 'authorization_code') return post(`grant_type=${encodeURIComponent(grantType)}`);
    const code = served ? (await harness.tokenRouter.issueAuthorizationCode(codeInput({ clientId: 'both' }))).code : 'A'.repeat(43);
    return post(`grant_type=authorization_code&code=${code}&redirect_uri=${encodeURIComponent(WEB_REDIRECT)}`);
  }

  describe.each([
    ['the default grants', {}],
    ['client_credentials only', { grants: [clientCredentials()] }],
    ['authorization_code only', { grants: [authorizationCode()] }],
  ])('%s', (_name, overrides) => {
    const harness = createCodeTestApp(overrides, clients);
    const listed = harness.tokenRouter.metadata().grant_types_supported as string[];

    it('each listed grant type is served', async () => {
      expect(listed.length).toBeGreaterThan(0);
      for (const grantType of listed) {
        const res = await tryGrant(harness, grantType, true);
        expect({ grantType, status: res.status }).toEqual({ grantType, status: 200 });
      }
    });

    it('each unlisted grant type gets unsupported_grant_type', async () => {
      const unlisted = [...UNLISTED, 'authorization_code', 'client_credentials'].filter((grantType) => !listed.includes(grantType));
      for (const grantType of unlisted) {
        const res = await tryGrant(harness, grantType, false);
        expect({ grantType, status: res.status, error: res.body.error }).toEqual({ grantType, status: 400, error: 'unsupported_grant_type' });
      }
    });
  });

  it('without the code grant, PKCE methods are not advertised (response_types_supported stays: OIDC requires it)', () => {
    const ccOnly = createCodeTestApp({ grants: [clientCredentials()] });
    expect(ccOnly.tokenRouter.metadata()).toMatchObject({ grant_types_supported: ['client_credentials'], response_types_supported: ['code'] });
    expect(ccOnly.tokenRouter.metadata()).not.toHaveProperty('code_challenge_methods_supported');
  });
});
