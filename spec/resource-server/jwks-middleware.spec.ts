// spec/resource-server/jwks-middleware.spec.ts
// The standalone requireAccessToken({ issuer, jwks, audience, … }) through HTTP (supertest): an
// API in another app verifies the issuer's RFC 9068 access tokens against a JWKS object (or the
// host's key lookup), with the same RFC 6750 answers as the router's own middleware.
import { createPublicKey, type JsonWebKey, type KeyObject } from 'node:crypto';
import request from 'supertest';
import { ConfigurationError, requireAccessToken, type JwksAccessTokenOptions } from '../../lib';
import { basic, SERVICE_SECRET } from '../helpers/create-app';
import { ecKey, keyPair, rsaKey } from '../helpers/keys';
import { createServiceApp, RS } from '../token-service/helpers';
import { accessClaims, apiApp, challengeOf, INVALID_TOKEN_DESCRIPTION, signToken } from './helpers';

const ISSUER = 'https://issuer.example.test';
const API = 'https://api.example.test';
const NOW = Date.UTC(2026, 0, 1);
const bearer = (token: string) => `Bearer ${token}`;

function publicJwk(key: KeyObject, extra: Record<string, unknown> = {}): JsonWebKey {
  return { ...(key.type === 'public' ? key : createPublicKey(key)).export({ format: 'jwk' }), use: 'sig', ...extra };
}

describe('requireAccessToken (standalone): with the router\'s published JWKS', () => {
  it('accepts the router\'s access tokens in another app, with the claims on the request', async () => {
    const harness = createServiceApp();
    const token = (await request(harness.app).post('/connect/token').set('Authorization', basic(RS.id, SERVICE_SECRET)).type('form').send('grant_type=client_credentials&scope=api:read')).body.access_token as string;
    const issuer = harness.tokenRouter.metadata().issuer as string;
    const api = apiApp(requireAccessToken({ issuer, jwks: harness.tokenRouter.jwks(), audience: issuer, scope: 'api:read', clock: harness.clock }));
    const res = await request(api).get('/api').set('Authorization', bearer(token));
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ scheme: 'Bearer', tokenLength: token.length, sub: 'client:rs', client_id: 'rs', scopes: ['api:read'] });
    // The same answers as the router's middleware.
    const bare = await request(api).get('/api');
    expect([bare.status, bare.headers['www-authenticate'], bare.text]).toEqual([401, `Bearer realm="${issuer}"`, '']);
  });
});

describe('requireAccessToken (standalone): verification', () => {
  const rsa = rsaKey();
  const ec = ecKey();
  const jwks = { keys: [publicJwk(rsa.publicKey, { kid: 'rsa-1', alg: 'RS256' }), publicJwk(ec.publicKey, { kid: 'ec-1' })] };
  const base: JwksAccessTokenOptions = { issuer: ISSUER, jwks, audience: API, scope: 'api:read', clock: () => NOW };
  const api = apiApp(requireAccessToken(base));
  const status = async (token: string) => (await request(api).get('/api').set('Authorization', bearer(token))).status;
  const claims = accessClaims(ISSUER, API, NOW);

  it('RS256 and ES256 keys of the JWKS, matched by kid', async () => {
    expect(await status(signToken(claims, rsa.privateKey, { kid: 'rsa-1' }))).toBe(200);
    expect(await status(signToken(claims, ec.privateKey, { kid: 'ec-1', alg: 'ES256' }))).toBe(200);
    const res = await request(api).get('/api').set('Authorization', bearer(signToken({ ...claims, aud: ['https://x.example.test', API], scope: 'api:read api:write' }, rsa.privateKey, { kid: 'rsa-1' })));
    expect(res.body).toMatchObject({ sub: 'user-1', client_id: 'some-client', scopes: ['api:read', 'api:write'] });
  });

  it.each<[string, () => string]>([
    ['another issuer', () => signToken({ ...claims, iss: 'https://evil.example.test' }, rsa.privateKey, { kid: 'rsa-1' })],
    ['another audience', () => signToken({ ...claims, aud: 'https://other.example.test' }, rsa.privateKey, { kid: 'rsa-1' })],
    ['typ JWT (an ID token)', () => signToken(claims, rsa.privateKey, { kid: 'rsa-1', typ: 'JWT' })],
    ['HS256 with the public key as secret', () => signToken(claims, rsa.publicKey.export({ format: 'pem', type: 'spki' }).toString(), { kid: 'rsa-1', alg: 'HS256' })],
    ['PS256 with a key the JWKS pins to RS256', () => signToken(claims, rsa.privateKey, { kid: 'rsa-1', alg: 'PS256' })],
    ['RS256 under the EC key\'s kid', () => signToken(claims, rsa.privateKey, { kid: 'ec-1' })],
    ['an unknown kid', () => signToken(claims, rsa.privateKey, { kid: 'rsa-2' })],
    ['no kid (no kid-less key in the set)', () => signToken(claims, rsa.privateKey)],
    ['another key under a known kid', () => signToken(claims, keyPair('rsa', { modulusLength: 2048 }).privateKey, { kid: 'rsa-1' })],
    ['a crit header', () => signToken(claims, rsa.privateKey, { kid: 'rsa-1', header: { crit: ['exp'] } })],
    ['no exp', () => signToken({ ...claims, exp: undefined }, rsa.privateKey, { kid: 'rsa-1' })],
    ['no client_id (RFC 9068 §2.2)', () => signToken({ ...claims, client_id: undefined }, rsa.privateKey, { kid: 'rsa-1' })],
    ['no jti', () => signToken({ ...claims, jti: undefined }, rsa.privateKey, { kid: 'rsa-1' })],
    ['expired beyond the skew', () => signToken({ ...claims, exp: NOW / 1000 - 5 }, rsa.privateKey, { kid: 'rsa-1' })],
    ['nbf beyond the skew', () => signToken({ ...claims, nbf: NOW / 1000 + 6 }, rsa.privateKey, { kid: 'rsa-1' })],
    ['iat beyond the skew', () => signToken({ ...claims, iat: NOW / 1000 + 6 }, rsa.privateKey, { kid: 'rsa-1' })],
    ['a cnf claim (sender-constrained)', () => signToken({ ...claims, cnf: { jkt: 'abc' } }, rsa.privateKey, { kid: 'rsa-1' })],
  ])('%s: 401 invalid_token', async (name, make) => {
    const res = await request(api).get('/api').set('Authorization', bearer(make()));
    expect(res.status).toBe(401);
    const description = name.includes('cnf') ? 'The access token is bound to a key and cannot be used as a bearer token.' : INVALID_TOKEN_DESCRIPTION;
    expect(res.headers['www-authenticate']).toBe(challengeOf(API, 'invalid_token', description));
    expect(res.body).toEqual({ error: 'invalid_token', error_description: description });
  });

  it('within the default skew of 5 s: exp just passed, nbf and iat just ahead', async () => {
    expect(await status(signToken({ ...claims, exp: NOW / 1000 - 4 }, rsa.privateKey, { kid: 'rsa-1' }))).toBe(200);
    expect(await status(signToken({ ...claims, nbf: NOW / 1000 + 5, iat: NOW / 1000 + 5 }, rsa.privateKey, { kid: 'rsa-1' }))).toBe(200);
  });

  it('a missing scope: 403 insufficient_scope with scope', async () => {
    const res = await request(api).get('/api').set('Authorization', bearer(signToken({ ...claims, scope: ['profile'] }, rsa.privateKey, { kid: 'rsa-1' })));
    expect(res.status).toBe(403);
    expect(res.headers['www-authenticate']).toBe(challengeOf(API, 'insufficient_scope', 'The access token does not carry the scope this resource requires.', 'api:read'));
  });

  it('a kid-less JWK verifies tokens without kid; algorithms narrows what is accepted', async () => {
    const guard = requireAccessToken({ issuer: ISSUER, jwks: { keys: [publicJwk(rsa.publicKey)] }, audience: API, algorithms: ['PS256'], clock: () => NOW });
    const app = apiApp(guard);
    expect((await request(app).get('/api').set('Authorization', bearer(signToken(claims, rsa.privateKey, { alg: 'PS256' })))).status).toBe(200);
    expect((await request(app).get('/api').set('Authorization', bearer(signToken(claims, rsa.privateKey, { alg: 'RS256' })))).status).toBe(401);
    expect((await request(app).get('/api').set('Authorization', bearer(signToken(claims, rsa.privateKey, { alg: 'PS256', kid: 'rsa-1' })))).status).toBe(401);
  });

  it('isRevoked: true (or anything but false) is 401; a throw goes to next(err)', async () => {
    const revoked = new Set<string>();
    let failing = false;
    const errors: unknown[] = [];
    const app = apiApp(requireAccessToken({
      ...base,
      isRevoked: async ({ jti }) => {
        if (failing) throw new Error('revocation list down');
        return revoked.has(jti);
      },
    }), errors);
    const token = signToken(claims, rsa.privateKey, { kid: 'rsa-1' });
    expect((await request(app).get('/api').set('Authorization', bearer(token))).status).toBe(200);
    revoked.add(claims.jti as string);
    expect((await request(app).get('/api').set('Authorization', bearer(token))).status).toBe(401);
    failing = true;
    const res = await request(app).get('/api').set('Authorization', bearer(token));
    expect(res.status).toBe(500);
    expect(errors).toEqual([expect.objectContaining({ message: 'revocation list down' })]);
    const sloppy = apiApp(requireAccessToken({ ...base, isRevoked: (() => undefined) as unknown as () => boolean }));
    expect((await request(sloppy).get('/api').set('Authorization', bearer(token))).status).toBe(401);
  });

  it('getKey: the host\'s own lookup, called with the kid; a private or unfit key counts as none', async () => {
    const asked: Array<string | undefined> = [];
    const errors: unknown[] = [];
    const app = apiApp(requireAccessToken({
      issuer: ISSUER,
      audience: API,
      clock: () => NOW,
      jwks: {
        getKey: async (kid) => {
          asked.push(kid);
          if (kid === 'broken') throw new Error('key cache down');
          return kid === 'rsa-1' ? rsa.publicKey : kid === 'private' ? rsa.privateKey : kid === 'ec' ? ec.publicKey : undefined;
        },
      },
    }), errors);
    const get = (kid: string) => request(app).get('/api').set('Authorization', bearer(signToken(claims, rsa.privateKey, { kid })));
    expect((await get('rsa-1')).status).toBe(200);
    expect((await get('unknown')).status).toBe(401);
    expect((await get('private')).status).toBe(401);
    expect((await get('ec')).status).toBe(401);
    expect((await get('broken')).status).toBe(500);
    expect(asked).toEqual(['rsa-1', 'unknown', 'private', 'ec', 'broken']);
    expect(errors).toEqual([expect.objectContaining({ message: 'key cache down' })]);
  });
});

describe('requireAccessToken (standalone): options are checked when the middleware is created', () => {
  const rsa = rsaKey();
  const good = { issuer: ISSUER, audience: API, jwks: { keys: [publicJwk(rsa.publicKey, { kid: 'k' })] } };
  const problemsOf = (options: unknown): readonly string[] => {
    try {
      requireAccessToken(options as JwksAccessTokenOptions);
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigurationError);
      return (error as ConfigurationError).problems;
    }
    throw new Error('no ConfigurationError');
  };
  const privateJwk = { ...rsa.privateKey.export({ format: 'jwk' }), kid: 'k' };
  const weak = keyPair('rsa', { modulusLength: 1024 }).publicKey;

  it('accepts the good options', () => {
    expect(typeof requireAccessToken(good)).toBe('function');
  });

  it.each<[string, unknown, RegExp]>([
    ['an unknown key', { ...good, jwksUri: 'https://x' }, /Unknown option "requireAccessToken\(options\)\.jwksUri"/],
    ['no issuer', { ...good, issuer: undefined }, /issuer must be the issuer identifier/],
    ['no jwks', { ...good, jwks: undefined }, /jwks must be \{ keys: \[\.\.\.\] \} \(a JWKS\) or \{ getKey\(kid\) \}/],
    ['both keys and getKey', { ...good, jwks: { keys: [], getKey: () => undefined } }, /jwks must be/],
    ['a private JWK', { ...good, jwks: { keys: [privateJwk] } }, /has private members \(d\)/],
    ['an HMAC JWK', { ...good, jwks: { keys: [{ kty: 'oct', k: 'c2VjcmV0', kid: 'h' }] } }, /symmetric \(kty oct\) key/],
    ['a duplicate kid', { ...good, jwks: { keys: [good.jwks.keys[0], good.jwks.keys[0]] } }, /kid "k" is used twice/],
    ['a weak RSA key', { ...good, jwks: { keys: [publicJwk(weak, { kid: 'w' })] } }, /at least 2048 bits/],
    ['only encryption keys', { ...good, jwks: { keys: [publicJwk(rsa.publicKey, { kid: 'e', use: 'enc' })] } }, /has no key that can verify tokens/],
    ['a garbage JWK', { ...good, jwks: { keys: [{ kty: 'EC', crv: 'P-256', x: 'AA', y: 'AA' }] } }, /could not be parsed as a public JWK/],
    ['HS256 in algorithms', { ...good, algorithms: ['HS256'] }, /algorithms must list asymmetric JWS algorithms/],
    ['a skew over 30 s', { ...good, clockToleranceSeconds: 60 }, /clockToleranceSeconds must be at most 30/],
    ['no audience', { ...good, audience: undefined }, /audience is required/],
    ['isRevoked not a function', { ...good, isRevoked: true }, /isRevoked must be a function/],
  ])('%s', (_name, options, problem) => {
    expect(problemsOf(options)).toEqual(expect.arrayContaining([expect.stringMatching(problem)]));
  });

  it('skips keys it cannot use (EdDSA, encryption) when others remain', () => {
    expect(typeof requireAccessToken({ ...good, jwks: { keys: [...good.jwks.keys, publicJwk(rsa.publicKey, { kid: 'enc', use: 'enc' }), { kty: 'OKP', crv: 'Ed25519', x: '11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo', kid: 'ed' }] } })).toBe('function');
  });
});
