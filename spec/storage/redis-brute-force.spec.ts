// spec/storage/redis-brute-force.spec.ts
// Failure budgets shared across instances (checklist M102, M103, P123): rate-limit-redis as the
// store of bruteForce.clientAuthFailures and bruteForce.grantFailures. Two routers, one Redis.
import type { Express } from 'express';
import request from 'supertest';
import { basic, createCodeTestApp, createTestApp, SERVICE_SECRET } from '../helpers/create-app';
import { codeInput, redeem } from '../helpers/code-flow';
import { describeWithRedis } from '../helpers/redis';
import { useRateLimitRedis } from '../helpers/redis-rate-limit-store';

const CC = 'grant_type=client_credentials';
const WRONG = 'wrong-secret-0123456789';

describeWithRedis('brute-force budgets shared through rate-limit-redis', (url) => {
  const redis = useRateLimitRedis(url, 'bf');
  /** One RedisStore per limiter and router; routers share counters through the prefix. */
  const redisStore = (kind: 'auth' | 'grant') => redis.store(`${kind}:`);

  const asService = (app: Express, secret: string, ip: string) =>
    request(app).post('/connect/token').set('Authorization', basic('service', secret)).set('X-Forwarded-For', ip).type('form').send(CC);

  function authApp(limits: { perIp?: number | false; perClientId?: number | false; windowMs: number }) {
    const harness = createTestApp({ bruteForce: { clientAuthFailures: { ...limits, store: redisStore('auth') }, grantFailures: false } });
    harness.app.set('trust proxy', 1);
    return harness;
  }

  it('two routers count failed authentications of one client_id together, from any address', async () => {
    const one = authApp({ perIp: 100, perClientId: 3, windowMs: 60_000 });
    const two = authApp({ perIp: 100, perClientId: 3, windowMs: 60_000 });
    expect((await asService(one.app, WRONG, '203.0.113.1')).status).toBe(401);
    expect((await asService(two.app, WRONG, '203.0.113.2')).status).toBe(401);
    expect((await asService(one.app, WRONG, '203.0.113.3')).status).toBe(401);
    const refused = await asService(two.app, SERVICE_SECRET, '192.0.2.10');
    expect(refused.status).toBe(429);
    expect(refused.headers['cache-control']).toBe('no-store');
    expect(refused.body).toEqual({ error: 'temporarily_unavailable', error_description: expect.stringMatching(/^Too many requests; retry after \d+ seconds\.$/) });
    expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(Number(refused.headers['retry-after'])).toBeLessThanOrEqual(60);
    expect(two.events).toContainEqual(expect.objectContaining({ type: 'rate_limited', clientId: 'service', limiter: 'bruteForce.clientAuthFailures.perClientId' }));
    expect((await asService(one.app, SERVICE_SECRET, '192.0.2.11')).status).toBe(429);
    // The counter lives in Redis with the window as its TTL; refusals gave their counts back.
    const key = `${redis.prefix()}auth:auth-client:service`;
    expect(await redis.client().get(key)).toBe('3');
    expect(await redis.client().pttl(key)).toBeGreaterThan(0);
  });

  it('two routers count failures from one address together; a success on one router gives back only its own count', async () => {
    const one = authApp({ perIp: 3, perClientId: false, windowMs: 60_000 });
    const two = authApp({ perIp: 3, perClientId: false, windowMs: 60_000 });
    const B = '198.51.100.20';
    expect((await asService(one.app, WRONG, B)).status).toBe(401);
    expect((await asService(two.app, WRONG, B)).status).toBe(401);
    // Successes from another address, and from B itself, on either router: B's count is unchanged.
    expect((await asService(one.app, SERVICE_SECRET, '198.51.100.10')).status).toBe(200);
    expect((await asService(two.app, SERVICE_SECRET, B)).status).toBe(200);
    expect(await redis.client().get(`${redis.prefix()}auth:auth-ip:${B}`)).toBe('2');
    expect(await redis.client().get(`${redis.prefix()}auth:auth-ip:198.51.100.10`)).toBe('0');
    expect((await asService(one.app, WRONG, B)).status).toBe(401);
    expect((await asService(two.app, SERVICE_SECRET, B)).status).toBe(429);
    expect((await asService(one.app, SERVICE_SECRET, B)).status).toBe(429);
  });

  it('the block ends with the Redis window (back-off, not lockout)', async () => {
    const one = authApp({ perIp: 1, perClientId: false, windowMs: 1000 });
    const two = authApp({ perIp: 1, perClientId: false, windowMs: 1000 });
    expect((await asService(one.app, WRONG, '198.51.100.30')).status).toBe(401);
    expect((await asService(two.app, SERVICE_SECRET, '198.51.100.30')).status).toBe(429);
    await new Promise((resolve) => setTimeout(resolve, 1100));
    expect((await asService(two.app, SERVICE_SECRET, '198.51.100.30')).status).toBe(200);
  });

  it('two routers share the invalid_grant budget of an address', async () => {
    const grantApp = () => {
      const harness = createCodeTestApp({ bruteForce: { clientAuthFailures: false, grantFailures: { perIp: 2, windowMs: 60_000, store: redisStore('grant') } } });
      harness.app.set('trust proxy', 1);
      return harness;
    };
    const one = grantApp();
    const two = grantApp();
    const guess = (app: Express) => redeem(app, { code: 'guessed-code-0123456789abcdefghij', redirect_uri: codeInput().redirectUri }).set('X-Forwarded-For', '198.51.100.66');
    expect((await guess(one.app)).body.error).toBe('invalid_grant');
    expect((await guess(two.app)).body.error).toBe('invalid_grant');
    const refused = await guess(one.app);
    expect(refused.status).toBe(429);
    expect(one.events).toContainEqual(expect.objectContaining({ type: 'rate_limited', limiter: 'bruteForce.grantFailures.perIp', ip: '198.51.100.66' }));
    expect((await guess(two.app)).status).toBe(429);
    expect(await redis.client().get(`${redis.prefix()}grant:grant-ip:198.51.100.66`)).toBe('2');
  });
});
