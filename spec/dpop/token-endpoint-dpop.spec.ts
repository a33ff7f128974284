// spec/dpop/token-endpoint-dpop.spec.ts
// DPoP at the token endpoint (RFC 9449): a valid proof binds the access token (cnf.jkt,
// token_type DPoP) and a public client's refresh family to its key; every invalid proof is
// 400 invalid_dpop_proof; a proof is single-use (also 50 in parallel on a latency store).
import { randomUUID, type KeyObject } from 'node:crypto';
import jwt from 'jsonwebtoken';
import request from 'supertest';
import { createMemoryStorage, type MemoryClientDefinition } from '../../lib';
import { thumbprint } from '../../lib/dpop/proof';
import { basic, createCodeTestApp, decodeJwt, SERVICE_SECRET } from '../helpers/create-app';
import { keyPair } from '../helpers/keys';
import { withLatency } from '../helpers/latency-storage';
import { CHALLENGE, VERIFIER } from '../helpers/code-flow';

const HOST = 'id.example.test';
const TOKEN_URL = `http://${HOST}/connect/token`;
const REDIRECT = 'https://app.example.test/cb';
const CLIENTS: MemoryClientDefinition[] = [
  { client_id: 'svc', client_secret: SERVICE_SECRET, grant_types: ['client_credentials'], scope: 'api:read' },
  { client_id: 'svc-dpop', client_secret: SERVICE_SECRET, grant_types: ['client_credentials'], scope: 'api:read', dpop_bound_access_tokens: true },
  { client_id: 'spa', token_endpoint_auth_method: 'none', grant_types: ['authorization_code', 'refresh_token'], redirect_uris: [REDIRECT], scope: 'openid offline_access api:read', refresh_token_policy: { type: 'sliding', lifetime: 86400, maxLifetime: 864000 } },
];

interface Holder {
  readonly privateKey: KeyObject;
  readonly jwk: Record<string, unknown>;
  readonly jkt: string;
}

function holder(): Holder {
  const { privateKey, publicKey } = keyPair('ec', { namedCurve: 'P-256' });
  const jwk = publicKey.export({ format: 'jwk' }) as Record<string, unknown>;
  return { privateKey, jwk, jkt: thumbprint(jwk) as string };
}

function proof(key: Holder, nowMs: number, overrides: { claims?: Record<string, unknown>; header?: Record<string, unknown>; signWith?: KeyObject | string; alg?: jwt.Algorithm } = {}): string {
  const iat = Math.floor(nowMs / 1000);
  const alg = overrides.alg ?? 'ES256';
  return jwt.sign({ htm: 'POST', htu: TOKEN_URL, iat, jti: randomUUID(), ...overrides.claims }, overrides.signWith ?? key.privateKey, {
    algorithm: alg,
    header: { alg, typ: 'dpop+jwt', jwk: key.jwk, ...overrides.header } as jwt.JwtHeader,
  });
}

function post(app: Parameters<typeof request>[0], form: Record<string, string>, dpop?: string | string[], auth?: string) {
  const req = request(app).post('/connect/token').set('Host', HOST).type('form');
  if (auth) req.set('Authorization', auth);
  // An array sends one DPoP header per value.
  if (dpop !== undefined) req.set('DPoP', dpop as string);
  return req.send(new URLSearchParams(form).toString());
}

const clientCredentials = (app: Parameters<typeof request>[0], dpop?: string | string[], id = 'svc') => post(app, { grant_type: 'client_credentials' }, dpop, basic(id, SERVICE_SECRET));

describe('DPoP-bound access tokens', () => {
  const harness = createCodeTestApp({}, CLIENTS);
  const key = holder();

  it('a valid proof: token_type DPoP and cnf.jkt = the key\'s RFC 7638 thumbprint', async () => {
    const res = await clientCredentials(harness.app, proof(key, harness.clock()));
    expect(res.status).toBe(200);
    expect(res.body.token_type).toBe('DPoP');
    expect(decodeJwt(res.body.access_token).payload.cnf).toEqual({ jkt: key.jkt });
  });

  it('without a proof: a Bearer token without cnf', async () => {
    const res = await clientCredentials(harness.app);
    expect(res.body.token_type).toBe('Bearer');
    expect(decodeJwt(res.body.access_token).payload.cnf).toBeUndefined();
  });

  it('a client registered with dpop_bound_access_tokens must send a proof', async () => {
    const res = await clientCredentials(harness.app, undefined, 'svc-dpop');
    expect(res.status).toBe(400);
    expect(res.body.error).toBe('invalid_request');
    expect((await clientCredentials(harness.app, proof(key, harness.clock()), 'svc-dpop')).body.token_type).toBe('DPoP');
  });

  it('discovery lists dpop_signing_alg_values_supported (asymmetric only)', () => {
    expect(harness.tokenRouter.metadata().dpop_signing_alg_values_supported).toEqual(['ES256', 'ES384', 'ES512', 'RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512']);
  });
});

describe('invalid proofs are 400 invalid_dpop_proof', () => {
  const harness = createCodeTestApp({}, CLIENTS);
  const key = holder();
  const other = holder();
  const now = () => harness.clock();
  const seconds = () => Math.floor(now() / 1000);

  it.each<[string, () => string | string[]]>([
    ['typ JWT instead of dpop+jwt', () => proof(key, now(), { header: { typ: 'JWT' } })],
    ['an HMAC algorithm', () => proof(key, now(), { alg: 'HS256', signWith: 'a-shared-secret-0123456789abcdef' })],
    ['alg none', () => `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'dpop+jwt', jwk: key.jwk })).toString('base64url')}.${Buffer.from(JSON.stringify({ htm: 'POST', htu: TOKEN_URL, iat: seconds(), jti: 'x' })).toString('base64url')}.`],
    ['a jwk with private key material', () => proof(key, now(), { header: { jwk: { ...key.jwk, d: 'AAAA' } } })],
    ['signed by another key than its jwk', () => proof(key, now(), { signWith: other.privateKey })],
    ['htm GET', () => proof(key, now(), { claims: { htm: 'GET' } })],
    ['htu of another endpoint', () => proof(key, now(), { claims: { htu: `http://${HOST}/connect/revocation` } })],
    ['htu of another host', () => proof(key, now(), { claims: { htu: 'http://evil.example/connect/token' } })],
    ['iat two minutes old', () => proof(key, now(), { claims: { iat: seconds() - 120 } })],
    ['iat in the future', () => proof(key, now(), { claims: { iat: seconds() + 60 } })],
    ['no jti', () => proof(key, now(), { claims: { jti: undefined } })],
    ['two DPoP headers', () => [proof(key, now()), proof(key, now())]],
    ['garbage', () => 'not-a-jwt'],
  ])('%s', async (_what, make) => {
    const res = await clientCredentials(harness.app, make());
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ error: 'invalid_dpop_proof', error_description: 'The DPoP proof is invalid.' });
  });

  it('htu is compared after normalisation (case of scheme and host, default port) and without query', async () => {
    const res = await clientCredentials(harness.app, proof(key, now(), { claims: { htu: `HTTP://ID.EXAMPLE.TEST:80/connect/token?x=1` } }));
    expect(res.status).toBe(200);
  });

  it('a proof used twice: the second is refused', async () => {
    const once = proof(key, now());
    expect((await clientCredentials(harness.app, once)).status).toBe(200);
    expect((await clientCredentials(harness.app, once)).body.error).toBe('invalid_dpop_proof');
  });

  it('50 parallel requests with one proof on a storage with latency: exactly one token', async () => {
    const slow = createCodeTestApp((clock) => ({ storage: withLatency(createMemoryStorage({ clock }), () => 1 + Math.random() * 4) }), CLIENTS);
    const one = proof(key, slow.clock());
    const answers = await Promise.all(Array.from({ length: 50 }, () => clientCredentials(slow.app, one)));
    expect(answers.filter((res) => res.status === 200)).toHaveLength(1);
    expect(answers.filter((res) => res.body.error === 'invalid_dpop_proof')).toHaveLength(49);
  });
});

describe('a public client\'s refresh family is bound to its DPoP key', () => {
  it('refresh needs a proof of the same key; the successor stays bound', async () => {
    const harness = createCodeTestApp({}, CLIENTS);
    const key = holder();
    const other = holder();
    const { code } = await harness.tokenRouter.issueAuthorizationCode({ clientId: 'spa', redirectUri: REDIRECT, scope: 'openid offline_access api:read', subject: 'user-1', codeChallenge: CHALLENGE, codeChallengeMethod: 'S256' });
    const redeemed = await post(harness.app, { grant_type: 'authorization_code', code, redirect_uri: REDIRECT, code_verifier: VERIFIER, client_id: 'spa' }, proof(key, harness.clock()));
    expect(redeemed.status).toBe(200);
    expect(redeemed.body.token_type).toBe('DPoP');
    const rt = redeemed.body.refresh_token as string;
    const refresh = (token: string, dpop?: string) => post(harness.app, { grant_type: 'refresh_token', refresh_token: token, client_id: 'spa' }, dpop);
    expect((await refresh(rt)).body.error).toBe('invalid_grant');
    expect((await refresh(rt, proof(other, harness.clock()))).body.error).toBe('invalid_grant');
    const ok = await refresh(rt, proof(key, harness.clock()));
    expect(ok.status).toBe(200);
    expect(ok.body.token_type).toBe('DPoP');
    expect((await refresh(ok.body.refresh_token, proof(other, harness.clock()))).body.error).toBe('invalid_grant');
    expect((await refresh(ok.body.refresh_token, proof(key, harness.clock()))).status).toBe(200);
  });

  it('without a proof at redemption the family is not bound (Bearer)', async () => {
    const harness = createCodeTestApp({}, CLIENTS);
    const { code } = await harness.tokenRouter.issueAuthorizationCode({ clientId: 'spa', redirectUri: REDIRECT, scope: 'openid offline_access api:read', subject: 'user-1', codeChallenge: CHALLENGE, codeChallengeMethod: 'S256' });
    const redeemed = await post(harness.app, { grant_type: 'authorization_code', code, redirect_uri: REDIRECT, code_verifier: VERIFIER, client_id: 'spa' });
    expect(redeemed.body.token_type).toBe('Bearer');
    expect((await post(harness.app, { grant_type: 'refresh_token', refresh_token: redeemed.body.refresh_token, client_id: 'spa' })).status).toBe(200);
  });
});

describe('dpop_jkt: an authorization code bound to a DPoP key (RFC 9449 §10)', () => {
  it('is redeemed only with a proof of that key', async () => {
    const harness = createCodeTestApp({}, CLIENTS);
    const key = holder();
    const other = holder();
    const mint = () => harness.tokenRouter.issueAuthorizationCode({ clientId: 'spa', redirectUri: REDIRECT, scope: 'openid api:read', subject: 'user-1', codeChallenge: CHALLENGE, codeChallengeMethod: 'S256', dpopJkt: key.jkt });
    const redeem = (code: string, dpop?: string) => post(harness.app, { grant_type: 'authorization_code', code, redirect_uri: REDIRECT, code_verifier: VERIFIER, client_id: 'spa' }, dpop);
    const first = await mint();
    expect((await redeem(first.code)).body).toEqual({ error: 'invalid_grant', error_description: 'The code is bound to a DPoP key; send a DPoP proof made with it.' });
    const second = await mint();
    expect((await redeem(second.code, proof(other, harness.clock()))).body.error).toBe('invalid_grant');
    const third = await mint();
    const ok = await redeem(third.code, proof(key, harness.clock()));
    expect(ok.status).toBe(200);
    expect(decodeJwt(ok.body.access_token).payload.cnf).toEqual({ jkt: key.jkt });
  });

  it('a malformed dpop_jkt is refused by the host API with invalid_request', async () => {
    const harness = createCodeTestApp({}, CLIENTS);
    await expect(harness.tokenRouter.issueAuthorizationCode({ clientId: 'spa', redirectUri: REDIRECT, scope: 'openid', subject: 'user-1', codeChallenge: CHALLENGE, codeChallengeMethod: 'S256', dpopJkt: 'not a thumbprint' }))
      .rejects.toMatchObject({ error: 'invalid_request' });
  });
});

describe('introspection of a DPoP-bound token (RFC 9449 §6.2)', () => {
  it('answers token_type DPoP and cnf.jkt, so the resource server can check the proof', async () => {
    const { introspection } = await import('../../lib');
    const clients: MemoryClientDefinition[] = [...CLIENTS, { client_id: 'rs', client_secret: SERVICE_SECRET, introspection_allowed: true, grant_types: ['client_credentials'] }];
    const harness = createCodeTestApp({ endpoints: [introspection()] }, clients);
    const key = holder();
    const introspect = (token: string) => request(harness.app).post('/connect/introspection').set('Authorization', basic('rs', SERVICE_SECRET)).type('form').send(new URLSearchParams({ token }).toString());
    const bound = (await clientCredentials(harness.app, proof(key, harness.clock()))).body.access_token as string;
    expect((await introspect(bound)).body).toEqual(expect.objectContaining({ active: true, token_type: 'DPoP', cnf: { jkt: key.jkt } }));
    const bearer = (await clientCredentials(harness.app)).body.access_token as string;
    const plain = (await introspect(bearer)).body;
    expect(plain).toEqual(expect.objectContaining({ active: true, token_type: 'Bearer' }));
    expect(plain.cnf).toBeUndefined();
  });
});

describe('DPoP proofs at the revocation endpoint', () => {
  it('a valid proof is accepted, an invalid one is invalid_dpop_proof, none is fine', async () => {
    const { revocation } = await import('../../lib');
    const harness = createCodeTestApp({ endpoints: [revocation()] }, CLIENTS);
    const key = holder();
    const revoke = (dpop?: string) => {
      const req = request(harness.app).post('/connect/revocation').set('Host', HOST).set('Authorization', basic('svc', SERVICE_SECRET)).type('form');
      if (dpop !== undefined) req.set('DPoP', dpop);
      return req.send('token=unknown');
    };
    const at = (htu: string) => proof(key, harness.clock(), { claims: { htu } });
    expect((await revoke(at(`http://${HOST}/connect/revocation`))).status).toBe(200);
    expect((await revoke(at(TOKEN_URL))).body.error).toBe('invalid_dpop_proof');
    expect((await revoke()).status).toBe(200);
  });
});

describe('server-provided DPoP nonces (RFC 9449 §8), with dpop.nonce', () => {
  const NONCE_SECRET = 'dpop-nonce-secret-0123456789abcdefghij';

  it('a proof without the nonce is use_dpop_nonce with DPoP-Nonce; the retry with it gets the token (and the next nonce)', async () => {
    const harness = createCodeTestApp({ dpop: { nonce: { secret: NONCE_SECRET } } }, CLIENTS);
    const key = holder();
    const first = await clientCredentials(harness.app, proof(key, harness.clock()));
    expect(first.status).toBe(400);
    expect(first.body).toEqual({ error: 'use_dpop_nonce', error_description: 'Use the server-provided DPoP nonce in the proof.' });
    const nonce = first.headers['dpop-nonce'];
    expect(nonce).toEqual(expect.any(String));
    const retry = await clientCredentials(harness.app, proof(key, harness.clock(), { claims: { nonce } }));
    expect(retry.status).toBe(200);
    expect(retry.body.token_type).toBe('DPoP');
    expect(retry.headers['dpop-nonce']).toBe(nonce);
  });

  it('a nonce from two windows ago, a made-up one, or another secret\'s is refused; a Bearer request needs none', async () => {
    const harness = createCodeTestApp({ dpop: { nonce: { secret: NONCE_SECRET, lifetimeSeconds: 60 } } }, CLIENTS);
    const otherServer = createCodeTestApp({ dpop: { nonce: { secret: 'another-secret-0123456789abcdefghijkl' } } }, CLIENTS);
    const key = holder();
    const nonce = (await clientCredentials(harness.app, proof(key, harness.clock()))).headers['dpop-nonce'];
    harness.clock.advance(60_000);
    expect((await clientCredentials(harness.app, proof(key, harness.clock(), { claims: { nonce } }))).status).toBe(200);
    harness.clock.advance(60_000);
    expect((await clientCredentials(harness.app, proof(key, harness.clock(), { claims: { nonce } }))).body.error).toBe('use_dpop_nonce');
    expect((await clientCredentials(harness.app, proof(key, harness.clock(), { claims: { nonce: 'made-up' } }))).body.error).toBe('use_dpop_nonce');
    const foreign = (await clientCredentials(otherServer.app, proof(key, otherServer.clock()))).headers['dpop-nonce'];
    expect((await clientCredentials(harness.app, proof(key, harness.clock(), { claims: { nonce: foreign } }))).body.error).toBe('use_dpop_nonce');
    expect((await clientCredentials(harness.app)).status).toBe(200);
  });

  it('bad options are startup errors naming the field', () => {
    expect(() => createCodeTestApp({ dpop: { nonce: { secret: 'short' } } }, CLIENTS)).toThrow(/dpop\.nonce\.secret must be a string of at least 32 characters/);
    expect(() => createCodeTestApp({ dpop: { nonce: { secret: NONCE_SECRET, lifetimeSeconds: 5 } } }, CLIENTS)).toThrow(/dpop\.nonce\.lifetimeSeconds/);
    expect(() => createCodeTestApp({ dpop: { nonces: true } as never }, CLIENTS)).toThrow(/Unknown option "dpop\.nonces"/);
  });
});

describe('review fixes', () => {
  it('a rotated DPoP-bound refresh token presented without the key neither revokes the family nor gets a retry', async () => {
    const harness = createCodeTestApp({}, CLIENTS);
    const key = holder();
    const { code } = await harness.tokenRouter.issueAuthorizationCode({ clientId: 'spa', redirectUri: REDIRECT, scope: 'openid offline_access api:read', subject: 'user-1', codeChallenge: CHALLENGE, codeChallengeMethod: 'S256' });
    const redeemed = await post(harness.app, { grant_type: 'authorization_code', code, redirect_uri: REDIRECT, code_verifier: VERIFIER, client_id: 'spa' }, proof(key, harness.clock()));
    const first = redeemed.body.refresh_token as string;
    const rotated = await post(harness.app, { grant_type: 'refresh_token', refresh_token: first, client_id: 'spa' }, proof(key, harness.clock()));
    expect(rotated.status).toBe(200);
    harness.events.length = 0;
    // The old (rotated) token without a proof: refused, and nothing is revoked.
    expect((await post(harness.app, { grant_type: 'refresh_token', refresh_token: first, client_id: 'spa' })).body.error).toBe('invalid_grant');
    expect(harness.events.filter((event) => event.type === 'grant.revoked' || event.type === 'refresh_token.reused' || event.type === 'refresh_token.retry_served')).toEqual([]);
    expect((await post(harness.app, { grant_type: 'refresh_token', refresh_token: rotated.body.refresh_token, client_id: 'spa' }, proof(key, harness.clock()))).status).toBe(200);
  });

  it('a junk Host does not lift the htu binding', async () => {
    const harness = createCodeTestApp({}, CLIENTS);
    const key = holder();
    const res = await request(harness.app).post('/connect/token').set('Host', 'exa mple:99999').set('Authorization', basic('svc', SERVICE_SECRET))
      .set('DPoP', proof(key, harness.clock(), { claims: { htu: 'not a url' } })).type('form').send('grant_type=client_credentials');
    expect(res.status).toBe(400);
  });

  it('an RSA proof key with an unusual exponent or a huge modulus is refused before any verification', async () => {
    const harness = createCodeTestApp({}, CLIENTS);
    const key = holder();
    const rsaJwk = { kty: 'RSA', e: 'AQAAAQ', n: 'x'.repeat(600) };
    expect((await clientCredentials(harness.app, proof(key, harness.clock(), { header: { jwk: rsaJwk } }))).body.error).toBe('invalid_dpop_proof');
    expect((await clientCredentials(harness.app, proof(key, harness.clock(), { header: { jwk: { kty: 'RSA', e: 'AQAB', n: 'x'.repeat(800) } } }))).body.error).toBe('invalid_dpop_proof');
  });

  it('a storage without recordOneTimeUse: proofs are invalid_dpop_proof (never a 500), and startup warns', async () => {
    const logged: string[] = [];
    const harness = createCodeTestApp((clock) => {
      const { recordOneTimeUse: _drop, ...storage } = createMemoryStorage({ clock });
      return { storage: storage as never, logger: { warn: (message: string) => logged.push(message), error: () => undefined } };
    }, CLIENTS);
    expect(logged.some((message) => message.includes('recordOneTimeUse'))).toBe(true);
    const res = await clientCredentials(harness.app, proof(holder(), harness.clock()));
    expect(res.status).toBe(400);
    expect(res.body.error).toBe('invalid_dpop_proof');
  });
});
