// spec/dpop/resource-server-dpop.spec.ts
// tokenRouter.requireAccessToken with DPoP (RFC 9449 §7): a DPoP-bound access token is accepted
// only as `Authorization: DPoP <token>` with a proof of the key in cnf.jkt, made for this request
// (htm, htu) and this token (ath), used once; everything else is 401 with a DPoP challenge.
import { createHash, randomUUID, type KeyObject } from 'node:crypto';
import jwt from 'jsonwebtoken';
import request from 'supertest';
import type { MemoryClientDefinition } from '../../lib';
import { thumbprint } from '../../lib/dpop/proof';
import { basic, createCodeTestApp, SERVICE_SECRET } from '../helpers/create-app';
import { keyPair } from '../helpers/keys';

const HOST = 'id.example.test';
const API_URL = `http://${HOST}/api/me`;
const CLIENTS: MemoryClientDefinition[] = [{ client_id: 'svc', client_secret: SERVICE_SECRET, grant_types: ['client_credentials'], scope: 'api:read' }];

function holder(): { privateKey: KeyObject; jwk: Record<string, unknown>; jkt: string } {
  const { privateKey, publicKey } = keyPair('ec', { namedCurve: 'P-256' });
  const jwk = publicKey.export({ format: 'jwk' }) as Record<string, unknown>;
  return { privateKey, jwk, jkt: thumbprint(jwk) as string };
}

function proof(key: ReturnType<typeof holder>, nowMs: number, claims: Record<string, unknown>): string {
  return jwt.sign({ iat: Math.floor(nowMs / 1000), jti: randomUUID(), ...claims }, key.privateKey, { algorithm: 'ES256', header: { alg: 'ES256', typ: 'dpop+jwt', jwk: key.jwk } as jwt.JwtHeader });
}

const ath = (token: string) => createHash('sha256').update(token).digest('base64url');

function protectedApp() {
  const harness = createCodeTestApp({}, CLIENTS);
  harness.app.get('/api/me', harness.tokenRouter.requireAccessToken({ audience: 'https://id.example.test' }), (_req, res) => { res.json({ ok: true }); });
  return harness;
}

async function boundToken(harness: ReturnType<typeof protectedApp>, key: ReturnType<typeof holder>): Promise<string> {
  const res = await request(harness.app).post('/connect/token').set('Host', HOST).set('Authorization', basic('svc', SERVICE_SECRET))
    .set('DPoP', proof(key, harness.clock(), { htm: 'POST', htu: `http://${HOST}/connect/token` })).type('form').send('grant_type=client_credentials');
  expect(res.body.token_type).toBe('DPoP');
  return res.body.access_token as string;
}

const call = (harness: ReturnType<typeof protectedApp>, authorization: string, dpop?: string) => {
  const req = request(harness.app).get('/api/me').set('Host', HOST).set('Authorization', authorization);
  return dpop === undefined ? req : req.set('DPoP', dpop);
};

describe('requireAccessToken with DPoP-bound tokens', () => {
  const harness = protectedApp();
  const key = holder();
  const other = holder();

  it('DPoP scheme + a proof of the bound key for this request and token: 200', async () => {
    const token = await boundToken(harness, key);
    const res = await call(harness, `DPoP ${token}`, proof(key, harness.clock(), { htm: 'GET', htu: API_URL, ath: ath(token) }));
    expect(res.status).toBe(200);
  });

  it.each<[string, (token: string) => string | undefined]>([
    ['no proof', () => undefined],
    ['a proof of another key', (token) => proof(other, harness.clock(), { htm: 'GET', htu: API_URL, ath: ath(token) })],
    ['a proof without ath', () => proof(key, harness.clock(), { htm: 'GET', htu: API_URL })],
    ['a proof for another token (ath)', () => proof(key, harness.clock(), { htm: 'GET', htu: API_URL, ath: ath('another-token') })],
    ['a proof for another request (htm POST)', (token) => proof(key, harness.clock(), { htm: 'POST', htu: API_URL, ath: ath(token) })],
    ['a proof for another URL', (token) => proof(key, harness.clock(), { htm: 'GET', htu: `http://${HOST}/api/other`, ath: ath(token) })],
  ])('%s: 401 invalid_dpop_proof with a DPoP challenge', async (_what, makeProof) => {
    const token = await boundToken(harness, key);
    const res = await call(harness, `DPoP ${token}`, makeProof(token));
    expect(res.status).toBe(401);
    expect(res.body.error).toBe('invalid_dpop_proof');
    expect(res.headers['www-authenticate']).toMatch(/^DPoP realm="[^"]+", error="invalid_dpop_proof", error_description="[^"]+", algs="ES256 /);
  });

  it('a proof used twice: the second request is refused', async () => {
    const token = await boundToken(harness, key);
    const once = proof(key, harness.clock(), { htm: 'GET', htu: API_URL, ath: ath(token) });
    expect((await call(harness, `DPoP ${token}`, once)).status).toBe(200);
    expect((await call(harness, `DPoP ${token}`, once)).body.error).toBe('invalid_dpop_proof');
  });

  it('a bound token presented as Bearer, or a Bearer token presented as DPoP: 401 invalid_token', async () => {
    const token = await boundToken(harness, key);
    expect((await call(harness, `Bearer ${token}`)).body.error).toBe('invalid_token');
    const bearer = await request(harness.app).post('/connect/token').set('Authorization', basic('svc', SERVICE_SECRET)).type('form').send('grant_type=client_credentials');
    const res = await call(harness, `DPoP ${bearer.body.access_token}`, proof(key, harness.clock(), { htm: 'GET', htu: API_URL, ath: ath(bearer.body.access_token) }));
    expect(res.status).toBe(401);
    expect(res.body.error).toBe('invalid_token');
  });
});
