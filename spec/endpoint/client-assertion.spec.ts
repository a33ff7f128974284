// spec/endpoint/client-assertion.spec.ts
// JWT client authentication (RFC 7523 §2.2/§3, OIDC Core §9): private_key_jwt and client_secret_jwt
// through HTTP — the accepted assertion, every refused variant (one invalid_client answer, the
// reason only in the event), single-use jti (also 50 in parallel on a latency store), mixing methods.
import { randomUUID } from 'node:crypto';
import jwt from 'jsonwebtoken';
import request from 'supertest';
import { ConfigurationError, createMemoryClientRegistry, createMemoryStorage, createTokenRouter, revocation, type ClientJwk, type MemoryClientDefinition } from '../../lib';
import { basic, createCodeTestApp, createTestApp, ISSUER, SERVICE_SECRET } from '../helpers/create-app';
import { keyPair, rsaKey } from '../helpers/keys';
import { withLatency } from '../helpers/latency-storage';

const TOKEN_ENDPOINT = `${ISSUER}/connect/token`;
const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
const rsa = keyPair('rsa', { modulusLength: 2048 });
const ec = keyPair('ec', { namedCurve: 'P-256' });
const stranger = keyPair('rsa', { modulusLength: 2048 });
const HMAC_KEY = 'hmac-secret-of-the-client-0123456789abcdefghij';

const jwkOf = (key: typeof rsa.publicKey, kid: string): ClientJwk => ({ ...(key.export({ format: 'jwk' }) as ClientJwk), kid });

const CLIENTS: MemoryClientDefinition[] = [
  { client_id: 'pkjwt', token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [jwkOf(rsa.publicKey, 'rsa-1'), jwkOf(ec.publicKey, 'ec-1')] }, grant_types: ['client_credentials'], scope: 'api:read' },
  { client_id: 'pkjwt-es', token_endpoint_auth_method: 'private_key_jwt', token_endpoint_auth_signing_alg: 'ES256', jwks: { keys: [jwkOf(ec.publicKey, 'ec-1')] }, grant_types: ['client_credentials'], scope: 'api:read' },
  { client_id: 'csjwt', token_endpoint_auth_method: 'client_secret_jwt', client_secret_jwt_key: HMAC_KEY, grant_types: ['client_credentials'], scope: 'api:read' },
  { client_id: 'service', client_secret: SERVICE_SECRET, grant_types: ['client_credentials'], scope: 'api:read' },
];

interface AssertionOptions {
  readonly clientId?: string;
  readonly claims?: Record<string, unknown>;
  readonly key?: jwt.Secret;
  readonly alg?: jwt.Algorithm;
  readonly kid?: string | null;
}

function assertion(now: number, options: AssertionOptions = {}): string {
  const clientId = options.clientId ?? 'pkjwt';
  const iat = Math.floor(now / 1000);
  const payload = { iss: clientId, sub: clientId, aud: ISSUER, iat, exp: iat + 60, jti: randomUUID(), ...options.claims };
  const alg = options.alg ?? 'RS256';
  const kid = options.kid === null ? undefined : (options.kid ?? 'rsa-1');
  return jwt.sign(payload, options.key ?? rsa.privateKey, { algorithm: alg, ...(kid !== undefined && { keyid: kid }) });
}

function tokenRequest(app: Parameters<typeof request>[0], form: Record<string, string>, authorization?: string) {
  const req = request(app).post('/connect/token').type('form');
  if (authorization) req.set('Authorization', authorization);
  return req.send(new URLSearchParams({ grant_type: 'client_credentials', client_assertion_type: ASSERTION_TYPE, ...form }).toString());
}

describe('private_key_jwt and client_secret_jwt: accepted assertions', () => {
  const { app, clock, events } = createTestApp({}, CLIENTS);

  it('private_key_jwt with RS256 (kid rsa-1), aud = the issuer: a token for the client', async () => {
    events.length = 0;
    const res = await tokenRequest(app, { client_assertion: assertion(clock()) });
    expect(res.status).toBe(200);
    expect(events).toEqual([expect.objectContaining({ type: 'token.issued', clientId: 'pkjwt' })]);
  });

  it('aud may be the token endpoint URL; client_id in the body may be sent (and must match)', async () => {
    const res = await tokenRequest(app, { client_id: 'pkjwt', client_assertion: assertion(clock(), { claims: { aud: TOKEN_ENDPOINT } }) });
    expect(res.status).toBe(200);
  });

  it('ES256 with the client\'s registered algorithm', async () => {
    const res = await tokenRequest(app, { client_assertion: assertion(clock(), { clientId: 'pkjwt-es', key: ec.privateKey, alg: 'ES256', kid: 'ec-1' }) });
    expect(res.status).toBe(200);
  });

  it('client_secret_jwt with HS256 over the client\'s client_secret_jwt_key', async () => {
    const res = await tokenRequest(app, { client_assertion: assertion(clock(), { clientId: 'csjwt', key: HMAC_KEY, alg: 'HS256', kid: null }) });
    expect(res.status).toBe(200);
  });

  it('the revocation endpoint authenticates the same way (shared pipeline)', async () => {
    const withRevocation = createCodeTestApp({ endpoints: [revocation()] }, CLIENTS);
    const res = await request(withRevocation.app).post('/connect/revocation').type('form')
      .send(new URLSearchParams({ token: 'x', client_assertion_type: ASSERTION_TYPE, client_assertion: assertion(withRevocation.clock()) }).toString());
    expect(res.status).toBe(200);
  });
});

describe('private_key_jwt and client_secret_jwt: refused assertions are one invalid_client', () => {
  const { app, clock, events } = createTestApp({}, CLIENTS);
  const now = () => Math.floor(clock() / 1000);

  it.each<[string, () => string]>([
    ['signed by another key', () => assertion(clock(), { key: stranger.privateKey })],
    ['alg none', () => `${Buffer.from(JSON.stringify({ alg: 'none', kid: 'rsa-1' })).toString('base64url')}.${Buffer.from(JSON.stringify({ iss: 'pkjwt', sub: 'pkjwt', aud: ISSUER, exp: now() + 60, jti: 'n' })).toString('base64url')}.`],
    ['HS256 keyed with the client\'s public key (algorithm confusion)', () => assertion(clock(), { key: rsa.publicKey.export({ format: 'pem', type: 'spki' }).toString(), alg: 'HS256' })],
    ['ES256 for a client whose default algorithms it is not (RS256, PS256, ES256 are; this is ES384)', () => assertion(clock(), { key: keyPair('ec', { namedCurve: 'P-384' }).privateKey, alg: 'ES384', kid: 'ec-1' })],
    ['RS256 for a client registered for ES256 only', () => assertion(clock(), { clientId: 'pkjwt-es', kid: 'rsa-1' })],
    ['a kid the client does not have', () => assertion(clock(), { kid: 'unknown' })],
    ['aud of another server', () => assertion(clock(), { claims: { aud: 'https://other.example' } })],
    ['iss not the client', () => assertion(clock(), { claims: { iss: 'someone-else' } })],
    ['expired', () => assertion(clock(), { claims: { iat: now() - 600, exp: now() - 120 } })],
    ['without exp', () => jwt.sign({ iss: 'pkjwt', sub: 'pkjwt', aud: ISSUER, jti: randomUUID() }, rsa.privateKey, { algorithm: 'RS256', keyid: 'rsa-1' })],
    ['exp too far ahead (a long-lived assertion)', () => assertion(clock(), { claims: { exp: now() + 3600 } })],
    ['iat in the future', () => assertion(clock(), { claims: { iat: now() + 600 } })],
    ['nbf in the future', () => assertion(clock(), { claims: { nbf: now() + 600 } })],
    ['without jti', () => assertion(clock(), { claims: { jti: undefined } })],
    ['HS256 signed with a wrong secret (client_secret_jwt)', () => assertion(clock(), { clientId: 'csjwt', key: 'a-wrong-secret-0123456789abcdefghijklmno', alg: 'HS256', kid: null })],
    ['RS256 for a client_secret_jwt client', () => assertion(clock(), { clientId: 'csjwt' })],
  ])('%s → 401 invalid_client, reason invalid_client_assertion in the event only', async (_what, make) => {
    events.length = 0;
    const res = await tokenRequest(app, { client_assertion: make() });
    expect(res.status).toBe(401);
    expect(res.body).toEqual({ error: 'invalid_client', error_description: 'Client authentication failed.' });
    expect(events).toEqual([expect.objectContaining({ type: 'client.authentication_failed', reason: 'invalid_client_assertion' })]);
  });

  it('sub not the client: with client_id in the body the verification fails; without, the sub names an unknown client', async () => {
    events.length = 0;
    expect((await tokenRequest(app, { client_id: 'pkjwt', client_assertion: assertion(clock(), { claims: { sub: 'someone-else' } }) })).status).toBe(401);
    expect((await tokenRequest(app, { client_assertion: assertion(clock(), { claims: { sub: 'someone-else' } }) })).status).toBe(401);
    expect(events.map((event) => event.type === 'client.authentication_failed' && event.reason)).toEqual(['invalid_client_assertion', 'unknown_client']);
  });

  it('a client_id in the body that is not the assertion\'s iss/sub is refused', async () => {
    const res = await tokenRequest(app, { client_id: 'pkjwt-es', client_assertion: assertion(clock()) });
    expect(res.status).toBe(401);
  });

  it('garbage as the assertion is 401, never a 500', async () => {
    for (const value of ['garbage', 'a.b.c', '...', `${'x'.repeat(100)}.${'y'.repeat(100)}.z`]) {
      const res = await tokenRequest(app, { client_id: 'pkjwt', client_assertion: value });
      expect(res.status).toBe(401);
    }
  });
});

describe('single-use jti', () => {
  it('an assertion used twice: the second is client_assertion_replayed', async () => {
    const { app, clock, events } = createTestApp({}, CLIENTS);
    const once = assertion(clock());
    expect((await tokenRequest(app, { client_assertion: once })).status).toBe(200);
    events.length = 0;
    const again = await tokenRequest(app, { client_assertion: once });
    expect(again.status).toBe(401);
    expect(events).toEqual([expect.objectContaining({ type: 'client.authentication_failed', reason: 'client_assertion_replayed', clientId: 'pkjwt' })]);
  });

  it('50 parallel requests with one assertion on a storage with latency: exactly one authenticates', async () => {
    const slow = createCodeTestApp((clock) => ({ storage: withLatency(createMemoryStorage({ clock }), () => 1 + Math.random() * 4) }), CLIENTS);
    const one = assertion(slow.clock());
    const answers = await Promise.all(Array.from({ length: 50 }, () => tokenRequest(slow.app, { client_assertion: one })));
    expect(answers.filter((res) => res.status === 200)).toHaveLength(1);
    expect(answers.filter((res) => res.status === 401)).toHaveLength(49);
  });

  it('the same jti from two clients is two uses (namespaced per client)', async () => {
    const { app, clock } = createTestApp({}, CLIENTS);
    const jti = randomUUID();
    expect((await tokenRequest(app, { client_assertion: assertion(clock(), { claims: { jti } }) })).status).toBe(200);
    expect((await tokenRequest(app, { client_assertion: assertion(clock(), { clientId: 'pkjwt-es', key: ec.privateKey, alg: 'ES256', kid: 'ec-1', claims: { jti } }) })).status).toBe(200);
  });
});

describe('one method per request, the registered one', () => {
  const { app, clock } = createTestApp({}, CLIENTS);

  it('an assertion with HTTP Basic or a client_secret is 400 invalid_request', async () => {
    expect((await tokenRequest(app, { client_assertion: assertion(clock()) }, basic('service', SERVICE_SECRET))).body.error).toBe('invalid_request');
    expect((await tokenRequest(app, { client_assertion: assertion(clock()), client_secret: 'x' })).body.error).toBe('invalid_request');
  });

  it('client_assertion without its type, or another type, is 400 invalid_request', async () => {
    const noType = await request(app).post('/connect/token').type('form').send(new URLSearchParams({ grant_type: 'client_credentials', client_assertion: assertion(clock()) }).toString());
    expect(noType.body.error).toBe('invalid_request');
    expect((await tokenRequest(app, { client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:saml2-bearer', client_assertion: assertion(clock()) })).body.error).toBe('invalid_request');
  });

  it('a secret client presenting an assertion, or a JWT client presenting a secret, fails authentication', async () => {
    const asSecretClient = await tokenRequest(app, { client_assertion: assertion(clock(), { clientId: 'service' }) });
    expect(asSecretClient.status).toBe(401);
    const withSecret = await request(app).post('/connect/token').set('Authorization', basic('pkjwt', 'some-secret-0123456789')).type('form').send('grant_type=client_credentials');
    expect(withSecret.status).toBe(401);
    const asPublic = await request(app).post('/connect/token').type('form').send('grant_type=client_credentials&client_id=pkjwt');
    expect(asPublic.status).toBe(401);
  });

  it('the assertion in the URL query is refused', async () => {
    const res = await request(app).post(`/connect/token?client_assertion=${assertion(clock())}`).type('form').send('grant_type=client_credentials');
    expect(res.body.error).toBe('invalid_request');
  });
});

describe('JWT client authentication: records and discovery', () => {
  const base = { issuer: ISSUER, signingKeys: [{ kid: 'k', privateKey: rsaKey().privateKey }], storage: createMemoryStorage() };

  it('discovery lists both methods and the algorithms (never none)', () => {
    const metadata = createTokenRouter({ ...base, clients: createMemoryClientRegistry(CLIENTS) }).metadata();
    expect(metadata.token_endpoint_auth_methods_supported).toEqual(['client_secret_basic', 'client_secret_post', 'none', 'private_key_jwt', 'client_secret_jwt']);
    expect(metadata.token_endpoint_auth_signing_alg_values_supported).toEqual(['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'HS256', 'HS384', 'HS512']);
  });

  it('refuses records without keys, with private key material, with a client_secret_jwt digest only, or with alg none', () => {
    const problemsOf = (client: MemoryClientDefinition): string => {
      try {
        createMemoryClientRegistry([client]);
      } catch (error) {
        expect(error).toBeInstanceOf(ConfigurationError);
        return (error as ConfigurationError).problems.join('\n');
      }
      return '';
    };
    expect(problemsOf({ client_id: 'a', token_endpoint_auth_method: 'private_key_jwt' })).toContain('has neither jwks nor jwks_uri');
    expect(problemsOf({ client_id: 'b', token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [{ ...(rsa.privateKey.export({ format: 'jwk' }) as ClientJwk), kid: 'x' }] } })).toContain('private key material');
    expect(problemsOf({ client_id: 'c', token_endpoint_auth_method: 'client_secret_jwt', client_secret: 'a-secret-0123456789abcdef' })).toContain('an HMAC cannot be verified with a digest');
    expect(problemsOf({ client_id: 'd', token_endpoint_auth_method: 'private_key_jwt', token_endpoint_auth_signing_alg: 'none', jwks: { keys: [jwkOf(rsa.publicKey, 'r')] } })).toContain('never none');
    // RFC 7518 §3.2: the HMAC key is at least as long as the hash (bytes).
    expect(problemsOf({ client_id: 'e', token_endpoint_auth_method: 'client_secret_jwt', token_endpoint_auth_signing_alg: 'HS512', client_secret_jwt_key: 'k'.repeat(63) })).toContain('at least 64 bytes for HS512');
    expect(problemsOf({ client_id: 'f', token_endpoint_auth_method: 'client_secret_jwt', token_endpoint_auth_signing_alg: 'HS512', client_secret_jwt_key: 'k'.repeat(64) })).toBe('');
    expect(problemsOf({ client_id: 'g', token_endpoint_auth_method: 'client_secret_jwt', client_secret_jwt_key: 'k'.repeat(31) })).toContain('at least 32 bytes for HS256');
  });
});
