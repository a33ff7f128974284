// spec/storage/redis-rate-limit.spec.ts
// Shared rate limits across instances: rate-limit-redis as the express-rate-limit store of the
// token endpoint (`rateLimit.store`) and of the device verification's user-code attempt limiter
// (`deviceCode({ userCodeAttempts: { store } })`). Two routers, one Redis counter.
import request from 'supertest';
import { authorizationCode, deviceCode, refreshToken } from '../../lib';
import { basic, createCodeTestApp, createTestApp, SERVICE_SECRET } from '../helpers/create-app';
import { DEVICE_CLIENTS, DEVICE_PAIRWISE_SALT, VERIFICATION_URI } from '../helpers/device-flow';
import { describeWithRedis } from '../helpers/redis';
import { useRateLimitRedis } from '../helpers/redis-rate-limit-store';

const CC = 'grant_type=client_credentials';

describeWithRedis('shared rate limits with rate-limit-redis', (url) => {
  const redis = useRateLimitRedis(url, 'rl');
  /** A rate-limit-redis store on the ioredis client (one per limiter, as express-rate-limit requires). */
  const redisStore = () => redis.store();

  it('two routers count token requests against one Redis counter: the third request is refused on either', async () => {
    const one = createTestApp({ rateLimit: { limit: 2, windowMs: 60_000, store: redisStore() } });
    const two = createTestApp({ rateLimit: { limit: 2, windowMs: 60_000, store: redisStore() } });
    const send = (app: typeof one.app) => request(app).post('/connect/token').set('Authorization', basic('service', SERVICE_SECRET)).type('form').send(CC);
    expect((await send(one.app)).status).toBe(200);
    expect((await send(two.app)).status).toBe(200);
    const refused = await send(one.app);
    expect(refused.status).toBe(429);
    expect(refused.body).toEqual({ error: 'temporarily_unavailable', error_description: expect.stringMatching(/retry after \d+ seconds/) });
    expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect((await send(two.app)).status).toBe(429);
    expect(two.events).toContainEqual(expect.objectContaining({ type: 'rate_limited', clientId: 'service' }));
    // The counter lives in Redis, under the store's prefix, with the window as its TTL.
    const [key] = await redis.client().keys(`${redis.prefix()}*`);
    expect(key).toBeDefined();
    expect(await redis.client().get(key)).toBe('4');
    expect(await redis.client().pttl(key)).toBeGreaterThan(0);
  });

  it('keeps the router keying (IP + client): a client over its shared limit does not lock out another', async () => {
    const one = createTestApp({ rateLimit: { limit: 1, windowMs: 60_000, store: redisStore() } });
    const two = createTestApp({ rateLimit: { limit: 1, windowMs: 60_000, store: redisStore() } });
    await request(one.app).post('/connect/token').type('form').send(`${CC}&client_id=attacker&client_secret=guess`);
    expect((await request(two.app).post('/connect/token').type('form').send(`${CC}&client_id=attacker&client_secret=guess`)).status).toBe(429);
    expect((await request(two.app).post('/connect/token').set('Authorization', basic('service', SERVICE_SECRET)).type('form').send(CC)).status).toBe(200);
  });

  it('shares the device user-code attempt limit across routers (brute force spread over instances is still counted)', async () => {
    const device = () => createCodeTestApp(() => ({
      grants: [deviceCode({ verificationUri: VERIFICATION_URI, userCodeAttempts: { limit: 2, windowMs: 60_000, store: redisStore() } }), authorizationCode(), refreshToken()],
      subjects: { pairwiseSalt: DEVICE_PAIRWISE_SALT },
    }), DEVICE_CLIENTS);
    const one = device();
    const two = device();
    expect((await one.tokenRouter.deviceVerification.lookup('BBBB-BBBB', { key: '203.0.113.9' })).status).toBe('invalid');
    expect((await two.tokenRouter.deviceVerification.lookup('CCCC-CCCC', { key: '203.0.113.9' })).status).toBe('invalid');
    expect((await one.tokenRouter.deviceVerification.lookup('DDDD-DDDD', { key: '203.0.113.9' })).status).toBe('rate_limited');
    expect((await two.tokenRouter.deviceVerification.lookup('FFFF-FFFF', { key: '203.0.113.9' })).status).toBe('rate_limited');
    // Another key (user) is unaffected.
    expect((await two.tokenRouter.deviceVerification.lookup('GGGG-GGGG', { key: '198.51.100.7' })).status).toBe('invalid');
  });
});
