// spec/endpoint/transport-security.spec.ts
// Rules A3 and M105 (docs/security-model.md): plain HTTP is refused in production (requireHttps), and
// X-Forwarded-Proto / X-Forwarded-For count only through Express's `trust proxy` setting — for
// requireHttps, the request rate limit and the failure budgets alike.
import type { Express } from 'express';
import request from 'supertest';
import { basic, createTestApp, SERVICE_SECRET } from '../helpers/create-app';
import { authorizeDevice, createDeviceTestApp, TV } from '../helpers/device-flow';

const CC = 'grant_type=client_credentials';

function asService(app: Express, headers: Readonly<Record<string, string>> = {}, secret = SERVICE_SECRET): request.Test {
  const req = request(app).post('/connect/token').set('Authorization', basic('service', secret));
  for (const [name, value] of Object.entries(headers)) req.set(name, value);
  return req.type('form').send(CC);
}

/** Builds the app with NODE_ENV set as given (the default of requireHttps is read then). */
function createAppIn(nodeEnv: string | undefined, overrides: Parameters<typeof createTestApp>[0] = {}): ReturnType<typeof createTestApp> {
  const saved = process.env.NODE_ENV;
  if (nodeEnv === undefined) delete process.env.NODE_ENV;
  else process.env.NODE_ENV = nodeEnv;
  try {
    return createTestApp(overrides);
  } finally {
    process.env.NODE_ENV = saved;
  }
}

describe('requireHttps (rule A3)', () => {
  it('refuses plain HTTP with 400 invalid_request, JSON and no-store, before reading the body', async () => {
    const { app, events } = createTestApp({ requireHttps: true });
    const refused = await asService(app, {}, 'wrong-secret-0123456789');
    expect(refused.status).toBe(400);
    expect(refused.headers['content-type']).toMatch(/^application\/json/);
    expect(refused.headers['cache-control']).toBe('no-store');
    expect(refused.headers.pragma).toBe('no-cache');
    expect(refused.body).toEqual({ error: 'invalid_request', error_description: 'This endpoint must be called over HTTPS.' });
    expect(refused.body.access_token).toBeUndefined();
    // Nothing was authenticated (the body was never read): no client-auth event, one rejection.
    expect(events.map((event) => event.type)).toEqual(['request.rejected']);
    expect(events[0]).toMatchObject({ error: 'invalid_request' });
  });

  it('also guards the device authorization endpoint', async () => {
    const harness = createDeviceTestApp({}, { requireHttps: true });
    const refused = await authorizeDevice(harness.app, { scope: 'openid' }, TV);
    expect(refused.status).toBe(400);
    expect(refused.body.error).toBe('invalid_request');
    harness.app.set('trust proxy', 1);
    expect((await authorizeDevice(harness.app, { scope: 'openid' }, TV).set('X-Forwarded-Proto', 'https')).status).toBe(200);
  });

  it('a forged X-Forwarded-Proto: https does not satisfy it while trust proxy is off', async () => {
    const { app } = createTestApp({ requireHttps: true });
    expect((await asService(app, { 'X-Forwarded-Proto': 'https' })).status).toBe(400);
  });

  it('with app.set("trust proxy", 1), X-Forwarded-Proto from the proxy counts', async () => {
    const { app } = createTestApp({ requireHttps: true });
    app.set('trust proxy', 1);
    expect((await asService(app, { 'X-Forwarded-Proto': 'https' })).status).toBe(200);
    expect((await asService(app, { 'X-Forwarded-Proto': 'http' })).status).toBe(400);
    expect((await asService(app)).status).toBe(400);
  });

  it('defaults to on when NODE_ENV is "production" and off otherwise; an explicit value wins', async () => {
    expect((await asService(createAppIn('production').app)).status).toBe(400);
    expect((await asService(createAppIn('development').app)).status).toBe(200);
    expect((await asService(createAppIn(undefined).app)).status).toBe(200);
    expect((await asService(createAppIn('production', { requireHttps: false }).app)).status).toBe(200);
    expect((await asService(createAppIn('development', { requireHttps: true }).app)).status).toBe(400);
  });
});

describe('source address through trust proxy (rule M105)', () => {
  const limits = { bruteForce: { clientAuthFailures: { perIp: 2, backoff: false as const, windowMs: 60_000 } } };
  const fail = (app: Express, headers: Readonly<Record<string, string>>) => asService(app, headers, 'wrong-secret-0123456789');

  it('with trust proxy off, a forged X-Forwarded-For does not change the failure budget key', async () => {
    const { app, events } = createTestApp(limits);
    expect((await fail(app, { 'X-Forwarded-For': '198.51.100.1' })).status).toBe(401);
    expect((await fail(app, { 'X-Forwarded-For': '198.51.100.2' })).status).toBe(401);
    expect((await asService(app, { 'X-Forwarded-For': '198.51.100.3' })).status).toBe(429);
    const limited = events.find((event) => event.type === 'rate_limited');
    expect(limited?.ip).not.toBe('198.51.100.3');
    expect(limited?.ip).toMatch(/127\.0\.0\.1|::1/);
  });

  it('with trust proxy off, a forged X-Forwarded-For does not change the request rate limit key either', async () => {
    const { app } = createTestApp({ rateLimit: { limit: 1, windowMs: 60_000 } });
    expect((await asService(app, { 'X-Forwarded-For': '198.51.100.1' })).status).toBe(200);
    expect((await asService(app, { 'X-Forwarded-For': '198.51.100.2' })).status).toBe(429);
  });

  it('with trust proxy 1, the address the proxy appended is the key (entries the client prepends do not matter)', async () => {
    const { app, events } = createTestApp(limits);
    app.set('trust proxy', 1);
    expect((await fail(app, { 'X-Forwarded-For': '203.0.113.5' })).status).toBe(401);
    // The client forged a first entry; the proxy appended the real address last.
    expect((await fail(app, { 'X-Forwarded-For': '10.9.9.9, 203.0.113.5' })).status).toBe(401);
    expect((await asService(app, { 'X-Forwarded-For': '10.8.8.8, 203.0.113.5' })).status).toBe(429);
    expect(events.find((event) => event.type === 'rate_limited')).toMatchObject({ ip: '203.0.113.5' });
    // Another real address has its own budget.
    expect((await asService(app, { 'X-Forwarded-For': '203.0.113.5, 203.0.113.6' })).status).toBe(200);
  });
});
