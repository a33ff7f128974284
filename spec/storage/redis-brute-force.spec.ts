// spec/storage/redis-brute-force.spec.ts
// Failure budgets shared across instances (security model rules M102, M103, P123): rate-limit-redis as the
// store of bruteForce.clientAuthFailures (per source; get + increment, nothing given back) and
// bruteForce.grantFailures (per source and public client). Two routers, one Redis.
import type { Express } from 'express';
import request from 'supertest';
import { basic, createCodeTestApp, createTestApp, SERVICE_SECRET, SPA_REDIRECT } from '../helpers/create-app';
import { codeInput, redeem, SPA, VERIFIER, WEB, type Caller } from '../helpers/code-flow';
import { describeWithRedis } from '../helpers/redis';
import { useRateLimitRedis } from '../helpers/redis-rate-limit-store';

const CC = 'grant_type=client_credentials';
const WRONG = 'wrong-secret-0123456789';

describeWithRedis('brute-force budgets shared through rate-limit-redis', (url) => {
  const redis = useRateLimitRedis(url, 'bf');
  /** One RedisStore per limiter and router; routers share counters through the prefix. */
  const redisStore = (kind: 'auth' | 'grant') => redis.store(`${kind}:`);

  // Every request must be answered: a request left waiting (e.g. for a comparison slot) fails fast.
  const asService = (app: Express, secret: string, ip: string) =>
    request(app).post('/connect/token').set('Authorization', basic('service', secret)).set('X-Forwarded-For', ip).type('form').send(CC).timeout(5000);

  function authApp(limits: { perIp?: number | false; backoff?: false; windowMs: number }) {
    const harness = createTestApp({ bruteForce: { clientAuthFailures: { ...limits, store: redisStore('auth') }, grantFailures: false } });
    harness.app.set('trust proxy', 1);
    return harness;
  }

  it('two routers count completed failures from one address together, across client ids; the Redis counter has the window as its TTL', async () => {
    const one = authApp({ perIp: 3, backoff: false, windowMs: 60_000 });
    const two = authApp({ perIp: 3, backoff: false, windowMs: 60_000 });
    const A = '203.0.113.1';
    const failAs = (app: Express, clientId: string) =>
      request(app).post('/connect/token').set('X-Forwarded-For', A).type('form').send(`${CC}&client_id=${clientId}&client_secret=${WRONG}`).timeout(5000);
    expect((await failAs(one.app, 'service')).status).toBe(401);
    expect((await failAs(two.app, 'guess-1')).status).toBe(401);
    expect((await failAs(one.app, 'post-client')).status).toBe(401);
    const refused = await asService(two.app, SERVICE_SECRET, A);
    expect(refused.status).toBe(429);
    expect(refused.headers['cache-control']).toBe('no-store');
    expect(refused.body).toEqual({ error: 'temporarily_unavailable', error_description: expect.stringMatching(/^Too many requests; retry after \d+ seconds\.$/) });
    expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(Number(refused.headers['retry-after'])).toBeLessThanOrEqual(60);
    expect(two.events).toContainEqual(expect.objectContaining({ type: 'rate_limited', clientId: 'service', ip: A, limiter: 'bruteForce.clientAuthFailures.perIp' }));
    expect((await asService(one.app, SERVICE_SECRET, A)).status).toBe(429);
    // Another address has its own budget.
    expect((await asService(one.app, SERVICE_SECRET, '192.0.2.11')).status).toBe(200);
    // The counter lives in Redis with the window as its TTL; refusals counted nothing.
    const key = `${redis.prefix()}auth:auth-ip:${A}`;
    expect(await redis.client().get(key)).toBe('3');
    expect(await redis.client().pttl(key)).toBeGreaterThan(0);
  });

  it('successes on either router count nothing: a clean address has no counter, and B keeps its failures', async () => {
    const one = authApp({ perIp: 3, backoff: false, windowMs: 60_000 });
    const two = authApp({ perIp: 3, backoff: false, windowMs: 60_000 });
    const B = '198.51.100.20';
    expect((await asService(one.app, WRONG, B)).status).toBe(401);
    expect((await asService(two.app, WRONG, B)).status).toBe(401);
    // Successes from another address, and from B itself, on either router: B's count is unchanged.
    expect((await asService(one.app, SERVICE_SECRET, '198.51.100.10')).status).toBe(200);
    expect((await asService(two.app, SERVICE_SECRET, B)).status).toBe(200);
    expect(await redis.client().get(`${redis.prefix()}auth:auth-ip:${B}`)).toBe('2');
    expect(await redis.client().exists(`${redis.prefix()}auth:auth-ip:198.51.100.10`)).toBe(0);
    expect((await asService(one.app, WRONG, B)).status).toBe(401);
    expect((await asService(two.app, SERVICE_SECRET, B)).status).toBe(429);
    expect((await asService(one.app, SERVICE_SECRET, B)).status).toBe(429);
  });

  it('the block ends with the Redis window (back-off, not lockout)', async () => {
    const one = authApp({ perIp: 1, backoff: false, windowMs: 1000 });
    const two = authApp({ perIp: 1, backoff: false, windowMs: 1000 });
    expect((await asService(one.app, WRONG, '198.51.100.30')).status).toBe(401);
    expect((await asService(two.app, SERVICE_SECRET, '198.51.100.30')).status).toBe(429);
    await new Promise((resolve) => setTimeout(resolve, 1100));
    expect((await asService(two.app, SERVICE_SECRET, '198.51.100.30')).status).toBe(200);
  });

  it('two routers share the invalid_grant budget of a (source, public client); a confidential client is not counted', async () => {
    const grantApp = () => {
      const harness = createCodeTestApp({ bruteForce: { clientAuthFailures: false, grantFailures: { perIp: 2, windowMs: 60_000, store: redisStore('grant') } } });
      harness.app.set('trust proxy', 1);
      return harness;
    };
    const one = grantApp();
    const two = grantApp();
    const guess = (app: Express, caller: Caller = SPA) =>
      redeem(app, { code: 'guessed-code-0123456789abcdefghij', redirect_uri: 'secret' in caller ? codeInput().redirectUri : SPA_REDIRECT, code_verifier: 'secret' in caller ? undefined : VERIFIER }, caller).set('X-Forwarded-For', '198.51.100.66');
    expect((await guess(one.app)).body.error).toBe('invalid_grant');
    expect((await guess(two.app)).body.error).toBe('invalid_grant');
    const refused = await guess(one.app);
    expect(refused.status).toBe(429);
    expect(one.events).toContainEqual(expect.objectContaining({ type: 'rate_limited', clientId: 'spa', limiter: 'bruteForce.grantFailures.perIp', ip: '198.51.100.66' }));
    expect((await guess(two.app)).status).toBe(429);
    expect(await redis.client().get(`${redis.prefix()}grant:grant:198.51.100.66|spa`)).toBe('2');
    // The confidential client from the same address: never counted, never refused.
    for (let i = 0; i < 3; i += 1) expect((await guess(i % 2 ? one.app : two.app, WEB)).body.error).toBe('invalid_grant');
    expect(await redis.client().exists(`${redis.prefix()}grant:grant:198.51.100.66|web`)).toBe(0);
  });
});
