// spec/endpoint/resource-parameter.spec.ts
// The `resource` parameter (RFC 8707 §2) as the pipeline reads it: the one parameter that may
// repeat (every other repeat is still refused), syntax errors answered invalid_target without
// repeating caller text, bounded length and count, refused in the URL query, and its forms in a
// JSON body and in a body a host parsed before the router.
import express from 'express';
import request from 'supertest';
import { authorizationCode, clientCredentials, deviceCode, hashOpaqueToken, refreshToken } from '../../lib';
import { basic, decodeJwt, SERVICE_SECRET } from '../helpers/create-app';
import { VERIFICATION_URI } from '../helpers/device-flow';
import { BILLING, createResourceTestApp, form, ORDERS, REPORTS, resources, tokenRequest } from '../helpers/resource-flow';

const CC = ['grant_type', 'client_credentials'] as const;
const SYNTAX = 'A resource parameter is not an absolute URI without a fragment (RFC 8707 section 2).';

describe('the resource parameter may repeat; every other parameter still may not', () => {
  const { app } = createResourceTestApp();

  it('a repeated resource is accepted (RFC 8707 §2)', async () => {
    const res = await tokenRequest(app, 'rs-service', [CC, ...resources(ORDERS, BILLING, REPORTS)]);
    expect(res.status).toBe(200);
    expect(decodeJwt(res.body.access_token).payload.aud).toEqual([ORDERS, BILLING, REPORTS]);
  });

  it.each<[string, ReadonlyArray<readonly [string, string]>]>([
    ['grant_type', [CC, CC, ...resources(ORDERS)]],
    ['scope', [CC, ['scope', 'orders:read'], ['scope', 'orders:read'], ...resources(ORDERS)]],
    ['an unknown parameter', [CC, ['foo', '1'], ...resources(ORDERS), ['foo', '2']]],
    ['an empty repeat of scope', [CC, ['scope', 'orders:read'], ...resources(ORDERS, BILLING), ['scope', '']]],
  ])('with resource repeated too, a repeated %s is still invalid_request', async (_what, pairs) => {
    const res = await tokenRequest(app, 'rs-service', pairs);
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ error: 'invalid_request', error_description: 'A parameter is repeated.' });
  });

  it('an empty resource is treated as omitted (RFC 6749 §3.2)', async () => {
    const res = await tokenRequest(app, 'rs-service', [CC, ['resource', ''], ['scope', 'orders:read']]);
    expect(res.status).toBe(200);
    expect(decodeJwt(res.body.access_token).payload.aud).toBe('https://id.example.test');
    const mixed = await tokenRequest(app, 'rs-service', [CC, ['resource', ''], ...resources(ORDERS)]);
    expect(decodeJwt(mixed.body.access_token).payload.aud).toBe(ORDERS);
  });

  it('bracket names stay refused (resource[] is not a way to repeat)', async () => {
    const res = await tokenRequest(app, 'rs-service', [CC, ['resource[]', ORDERS]]);
    expect(res.body).toEqual({ error: 'invalid_request', error_description: 'Parameter names with brackets (arrays or objects) are not accepted.' });
  });

  it('the 64-parameter cap counts every resource', async () => {
    const res = await tokenRequest(app, 'rs-service', [CC, ...Array.from({ length: 64 }, () => ['resource', ORDERS] as const)]);
    expect(res.body).toEqual({ error: 'invalid_request', error_description: 'Too many parameters (at most 64).' });
  });
});

describe('resource syntax (RFC 8707 §2): 400 invalid_target, the value never echoed', () => {
  const { app } = createResourceTestApp();

  it.each<[string, string]>([
    ['a relative reference', '/orders-marker'],
    ['a bare word', 'orders-marker'],
    ['a fragment', 'https://api.example.test/orders-marker#section'],
    ['an empty fragment', 'https://api.example.test/orders-marker#'],
    ['a space', 'https://api.example.test/orders marker'],
    ['a tab (which a URL parser would drop)', 'https://api.example.test/orders\tmarker'],
    ['a non-ASCII character', 'https://api.example.test/ordérs-marker'],
    ['a scheme without anything else', 'https:'],
    ['over 2048 characters', `https://api.example.test/orders-marker/${'a'.repeat(2048)}`],
  ])('%s', async (_what, value) => {
    const res = await tokenRequest(app, 'rs-service', [CC, ...resources(ORDERS), ['resource', value]]);
    expect(res.status).toBe(400);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.body).toEqual({ error: 'invalid_target', error_description: SYNTAX });
    expect(res.text).not.toContain('marker');
  });

  it('more than 10 resources → invalid_target', async () => {
    const eleven = Array.from({ length: 11 }, (_, i) => `https://api.example.test/r${i}`);
    const res = await tokenRequest(app, 'rs-service', [CC, ...resources(...eleven)]);
    expect(res.body).toEqual({ error: 'invalid_target', error_description: 'Too many resource parameters (at most 10).' });
    // Ten well-formed ones pass the syntax check (and are then judged against the client).
    const ten = await tokenRequest(app, 'rs-service', [CC, ...resources(...eleven.slice(1))]);
    expect(ten.body).toEqual({ error: 'invalid_target', error_description: 'A requested resource is not allowed for this client.' });
  });

  it('an absolute URI with a query and a URN are well-formed (RFC 8707 allows both)', async () => {
    const res = await tokenRequest(app, 'rs-service', [CC, ...resources('https://api.example.test/orders?tenant=a')]);
    expect(res.body.error_description).toBe('A requested resource is not allowed for this client.');
    expect((await tokenRequest(app, 'rs-service', [CC, ...resources(REPORTS)])).status).toBe(200);
  });

  it('syntax is checked before the grant runs, on every grant (here a bad refresh token is never looked up)', async () => {
    const res = await tokenRequest(app, 'rs-web', [['grant_type', 'refresh_token'], ['refresh_token', 'not-a-token'], ['resource', 'relative']]);
    expect(res.body).toEqual({ error: 'invalid_target', error_description: SYNTAX });
  });

  it('a resource in the URL query is refused like every token parameter (decision A2)', async () => {
    const res = await request(app).post(`/connect/token?resource=${encodeURIComponent(ORDERS)}`).set('Authorization', basic('rs-service', SERVICE_SECRET)).type('form').send(form([CC]));
    expect(res.status).toBe(400);
    expect(res.body.error).toBe('invalid_request');
  });
});

describe('resource in JSON bodies (deviceCode({ acceptJsonBodies: true }))', () => {
  const harness = createResourceTestApp({ grants: [deviceCode({ verificationUri: VERIFICATION_URI, acceptJsonBodies: true }), authorizationCode(), clientCredentials(), refreshToken()] });
  const json = (body: string) => request(harness.app).post('/connect/deviceauthorization').set('Authorization', basic('rs-tv', SERVICE_SECRET)).set('Content-Type', 'application/json').send(body);
  const stored = async (deviceCodeValue: string) => (await harness.storage.findDeviceCode(hashOpaqueToken(deviceCodeValue)))?.resources;

  it('one resource as a string', async () => {
    const res = await json(JSON.stringify({ scope: 'openid', resource: ORDERS }));
    expect(res.status).toBe(200);
    expect(await stored(res.body.device_code)).toEqual([ORDERS]);
  });

  it('several resources as an array of strings (JSON has no repeated keys)', async () => {
    const res = await json(`{"scope":"openid","resource":[ "${ORDERS}" , "${BILLING}" ]}`);
    expect(res.status).toBe(200);
    expect(await stored(res.body.device_code)).toEqual([ORDERS, BILLING]);
    const empty = await json('{"scope":"openid","resource":[]}');
    expect(empty.status).toBe(200);
    expect(await stored(empty.body.device_code)).toBeUndefined();
  });

  it.each<[string, string]>([
    ['a repeated resource key', `{"resource":"${ORDERS}","resource":"${BILLING}"}`],
    ['an array for another parameter', '{"scope":["openid"]}'],
    ['an array of numbers', '{"resource":[1]}'],
    ['a nested array', `{"resource":[["${ORDERS}"]]}`],
    ['an unterminated array', `{"resource":["${ORDERS}"}`],
  ])('%s → invalid_request', async (_what, body) => {
    const res = await json(body);
    expect(res.status).toBe(400);
    expect(res.body.error).toBe('invalid_request');
  });

  it('a malformed resource in JSON → invalid_target', async () => {
    const res = await json('{"scope":"openid","resource":["https://a.example/#x"]}');
    expect(res.body).toEqual({ error: 'invalid_target', error_description: SYNTAX });
  });
});

describe('resource in a body the host parsed before the router', () => {
  const { app: inner } = createResourceTestApp();
  const app = express();
  app.use(express.urlencoded({ extended: false }));
  app.use(inner);

  it('a repeated resource (an array from the host parser) is accepted; other repeats are still refused', async () => {
    const ok = await tokenRequest(app, 'rs-service', [CC, ...resources(ORDERS, BILLING)]);
    expect(ok.status).toBe(200);
    expect(decodeJwt(ok.body.access_token).payload.aud).toEqual([ORDERS, BILLING]);
    const one = await tokenRequest(app, 'rs-service', [CC, ...resources(BILLING)]);
    expect(decodeJwt(one.body.access_token).payload.aud).toBe(BILLING);
    const dup = await tokenRequest(app, 'rs-service', [CC, ...resources(ORDERS, BILLING), ['scope', 'a'], ['scope', 'b']]);
    expect(dup.body).toEqual({ error: 'invalid_request', error_description: 'A parameter is repeated.' });
  });
});
