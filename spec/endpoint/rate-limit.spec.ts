// spec/endpoint/rate-limit.spec.ts
// express-rate-limit in front of the endpoint: JSON 429, Retry-After, keyed by IP + client.
import request from 'supertest';
import { MemoryStore } from 'express-rate-limit';
import { ClockedMemoryStore } from '../../lib/endpoint/brute-force';
import { basic, createTestApp, SERVICE_SECRET } from '../helpers/create-app';

const CC = 'grant_type=client_credentials';

describe('rate limiting', () => {
  it('is on by default with the documented limit (120 000 per minute per IP and client), counted on the router clock', async () => {
    // 120 000 requests would take minutes: the default store counts as usual, and each count is
    // reported as if 119 998 requests of that key had come before.
    const earlier = 120_000 - 2;
    const increment = ClockedMemoryStore.prototype.increment;
    const spy = jest.spyOn(ClockedMemoryStore.prototype, 'increment').mockImplementation(function (this: ClockedMemoryStore, key: string) {
      const info = increment.call(this, key);
      return { ...info, totalHits: info.totalHits + earlier };
    });
    try {
      // Failed authentications: the failure budget (bruteForce, brute-force.spec.ts) is off here.
      const { app, clock, events } = createTestApp({ rateLimit: undefined, bruteForce: false });
      const send = () => request(app).post('/connect/token').type('form').send(`${CC}&client_id=nobody&client_secret=x`);
      expect((await send()).status).toBe(401);
      expect((await send()).status).toBe(401);
      const limited = await send();
      expect(limited.status).toBe(429);
      expect(limited.headers['retry-after']).toBe('60');
      expect(events.filter((event) => event.type === 'rate_limited')).toEqual([expect.objectContaining({ clientId: 'nobody', limiter: 'rateLimit' })]);
      // Another client from the same address has its own count.
      expect((await request(app).post('/connect/token').set('Authorization', basic('service', SERVICE_SECRET)).type('form').send(CC)).status).toBe(200);
      // The window is a minute of the router's clock.
      clock.advance(60_000 - 1);
      expect((await send()).status).toBe(429);
      clock.advance(1);
      expect((await send()).status).toBe(401);
      expect(spy).toHaveBeenCalled();
    } finally {
      spy.mockRestore();
    }
  });

  it('answers 429 with the JSON envelope, no-store and Retry-After, and reports an event', async () => {
    const { app, events } = createTestApp({ rateLimit: { limit: 2, windowMs: 30_000 } });
    const send = () => request(app).post('/connect/token').set('Authorization', basic('service', SERVICE_SECRET)).type('form').send(CC);
    expect((await send()).status).toBe(200);
    expect((await send()).status).toBe(200);
    const limited = await send();
    expect(limited.status).toBe(429);
    expect(limited.headers['content-type']).toMatch(/^application\/json/);
    expect(limited.headers['cache-control']).toBe('no-store');
    expect(Number(limited.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(Number(limited.headers['retry-after'])).toBeLessThanOrEqual(30);
    expect(limited.body).toEqual({ error: 'temporarily_unavailable', error_description: expect.stringMatching(/retry after \d+ seconds/) });
    expect(limited.body.access_token).toBeUndefined();
    expect(events).toContainEqual(expect.objectContaining({ type: 'rate_limited', clientId: 'service', limiter: 'rateLimit' }));
  });

  it('keys by client: one client over its limit does not lock out another from the same address', async () => {
    const { app } = createTestApp({ rateLimit: { limit: 2, windowMs: 60_000 } });
    for (let i = 0; i < 3; i += 1) await request(app).post('/connect/token').type('form').send(`${CC}&client_id=attacker&client_secret=guess${i}`);
    expect((await request(app).post('/connect/token').type('form').send(`${CC}&client_id=attacker&client_secret=guess`)).status).toBe(429);
    expect((await request(app).post('/connect/token').set('Authorization', basic('service', SERVICE_SECRET)).type('form').send(CC)).status).toBe(200);
  });

  it('counts Basic and body identification of one client together', async () => {
    const { app } = createTestApp({ rateLimit: { limit: 2, windowMs: 60_000 } });
    await request(app).post('/connect/token').set('Authorization', basic('service', SERVICE_SECRET)).type('form').send(CC);
    await request(app).post('/connect/token').type('form').send(`${CC}&client_id=service&client_secret=${SERVICE_SECRET}`);
    expect((await request(app).post('/connect/token').set('Authorization', basic('service', SERVICE_SECRET)).type('form').send(CC)).status).toBe(429);
  });

  it('uses a store the host passes (shared limits across instances)', async () => {
    const store = new MemoryStore();
    const one = createTestApp({ rateLimit: { limit: 2, windowMs: 60_000, store } });
    const two = createTestApp({ rateLimit: { limit: 2, windowMs: 60_000, store, validate: { unsharedStore: false } } });
    const send = (app: typeof one.app) => request(app).post('/connect/token').set('Authorization', basic('service', SERVICE_SECRET)).type('form').send(CC);
    expect((await send(one.app)).status).toBe(200);
    expect((await send(two.app)).status).toBe(200);
    expect((await send(one.app)).status).toBe(429);
  });

  it('can be turned off', async () => {
    const { app } = createTestApp({ rateLimit: false, bruteForce: false });
    for (let i = 0; i < 310; i += 1) await request(app).post('/connect/token').type('form').send(`${CC}&client_id=nobody&client_secret=x`);
    expect((await request(app).post('/connect/token').type('form').send(`${CC}&client_id=nobody&client_secret=x`)).status).toBe(401);
  });
});
