// spec/endpoint/brute-force.spec.ts
// Failure budgets on top of the request rate limit (security model rules M102–M106, H72): completed failed
// client authentications per source, exponential back-off per (confidential client, source), and
// invalid_grant answers per (source, public client). 429 with the OAuth envelope, Retry-After and
// no-store; refused before any secret is compared; timed by the router's clock (back-off, not lockout).
import type { Express } from 'express';
import { MemoryStore } from 'express-rate-limit';
import request from 'supertest';
import { clientCredentials, ConfigurationError, createMemoryClientRegistry, createTokenRouter, type AuthorizationCodeInput, type MemoryClientDefinition, type TokenEndpointEvent, type TokenRouterOptions } from '../../lib';
import { CHALLENGE, codeInput, redeem, SPA, VERIFIER, WEB, type Caller } from '../helpers/code-flow';
import { basic, CODE_CLIENTS, createCodeTestApp, createTestApp, ISSUER, SERVICE_SECRET, SPA_REDIRECT, TEST_CLIENTS } from '../helpers/create-app';
import { approval, authorizeDevice, createDeviceTestApp, pollDevice, SECOND, startDevice, TV, TV_PUBLIC } from '../helpers/device-flow';
import { rsaKey } from '../helpers/keys';

const CC = 'grant_type=client_credentials';
const MINUTE = 60_000;
const WRONG = 'wrong-secret-0123456789';

/** client_credentials for `service`, from `ip` (X-Forwarded-For; the app trusts one proxy hop). */
function asService(app: Express, secret: string, ip?: string): request.Test {
  const req = request(app).post('/connect/token').set('Authorization', basic('service', secret));
  if (ip) req.set('X-Forwarded-For', ip);
  return req.type('form').send(CC);
}

/** A failed authentication in the body for `clientId`, from `ip`. */
function failAs(app: Express, clientId: string, ip?: string): request.Test {
  const req = request(app).post('/connect/token');
  if (ip) req.set('X-Forwarded-For', ip);
  return req.type('form').send(`${CC}&client_id=${encodeURIComponent(clientId)}&client_secret=wrong-guess-0123456789`);
}

function rateLimited(events: readonly TokenEndpointEvent[]): TokenEndpointEvent[] {
  return events.filter((event) => event.type === 'rate_limited');
}

function authFailures(events: readonly TokenEndpointEvent[]): TokenEndpointEvent[] {
  return events.filter((event) => event.type === 'client.authentication_failed');
}

/** A confidential client whose secret check records every secret it is asked to compare. */
function recordingClient(clientId: string, rightSecret: string): { client: MemoryClientDefinition; presented: string[] } {
  const presented: string[] = [];
  return {
    presented,
    client: {
      client_id: clientId,
      grant_types: ['client_credentials'],
      scope: 'api:read',
      verify_client_secret: (secret) => {
        presented.push(secret);
        return secret === rightSecret;
      },
    },
  };
}

describe('failed client authentication limiter', () => {
  it('is on by default: 30 failures per address in 15 minutes, and back-off per (client, address) after 5 failures', async () => {
    const { app, clock, events } = createTestApp({ bruteForce: undefined });
    app.set('trust proxy', 1);
    // Per address: 30 failures (for 30 different client ids), then even the right secret waits.
    for (let i = 0; i < 30; i += 1) expect((await failAs(app, `guess-${i}`, '198.51.100.1')).status).toBe(401);
    const blocked = await asService(app, SERVICE_SECRET, '198.51.100.1');
    expect(blocked.status).toBe(429);
    expect(blocked.headers['retry-after']).toBe('900');
    // Back-off of one (client, address) pair: 5 failures are free, the next one starts a 1 s block.
    for (let i = 0; i < 6; i += 1) expect((await asService(app, WRONG, '203.0.113.1')).status).toBe(401);
    const backingOff = await asService(app, SERVICE_SECRET, '203.0.113.1');
    expect(backingOff.status).toBe(429);
    expect(backingOff.headers['retry-after']).toBe('1');
    expect(rateLimited(events).at(-1)).toMatchObject({ limiter: 'bruteForce.clientAuthFailures.backoff', clientId: 'service', ip: '203.0.113.1' });
    // No per-client budget: 100 more failures for the client from 100 addresses, and it still works.
    for (let i = 0; i < 100; i += 1) expect((await asService(app, WRONG, `192.0.2.${i + 100}`)).status).toBe(401);
    expect((await asService(app, SERVICE_SECRET, '192.0.2.1')).status).toBe(200);
    clock.advance(SECOND);
    expect((await asService(app, SERVICE_SECRET, '203.0.113.1')).status).toBe(200);
    // Back-off, not lockout: the address's window ends.
    clock.advance(15 * MINUTE - SECOND - 1);
    expect((await asService(app, SERVICE_SECRET, '198.51.100.1')).status).toBe(429);
    clock.advance(1);
    expect((await asService(app, SERVICE_SECRET, '198.51.100.1')).status).toBe(200);
  });

  it('answers 429 with the OAuth JSON envelope, no-store and Retry-After, and reports which limiter fired', async () => {
    const { app, events, clock } = createTestApp({ bruteForce: { clientAuthFailures: { perIp: 2, windowMs: MINUTE } } });
    expect((await failAs(app, 'service')).status).toBe(401);
    clock.advance(20 * SECOND);
    expect((await failAs(app, 'other')).status).toBe(401);
    const limited = await asService(app, SERVICE_SECRET);
    expect(limited.status).toBe(429);
    expect(limited.headers['content-type']).toMatch(/^application\/json/);
    expect(limited.headers['cache-control']).toBe('no-store');
    expect(limited.headers.pragma).toBe('no-cache');
    // The window started with the first failure, 20 s ago.
    expect(limited.headers['retry-after']).toBe('40');
    expect(limited.headers['www-authenticate']).toBeUndefined();
    expect(limited.body).toEqual({ error: 'temporarily_unavailable', error_description: 'Too many requests; retry after 40 seconds.' });
    expect(rateLimited(events)).toEqual([
      { type: 'rate_limited', at: clock(), clientId: 'service', ip: expect.any(String), limiter: 'bruteForce.clientAuthFailures.perIp' },
    ]);
    // A refusal is neither a failed authentication nor a rejected request.
    expect(authFailures(events)).toHaveLength(2);
    expect(events.filter((event) => event.type === 'request.rejected')).toHaveLength(0);
  });

  it('failures from many sources do not lock the client out from its own source; other clients at a backing-off source are unaffected', async () => {
    const { app, events } = createTestApp({ bruteForce: { clientAuthFailures: { perIp: 30, backoff: { afterFailures: 3, baseMs: 1000, maxMs: 15 * MINUTE }, windowMs: 15 * MINUTE } } });
    app.set('trust proxy', 1);
    // 20 attacking addresses, each until its own pair backs off: 80 failures for one client id.
    for (let n = 1; n <= 20; n += 1) {
      const ip = `203.0.113.${n}`;
      for (let i = 0; i < 4; i += 1) expect((await asService(app, WRONG, ip)).status).toBe(401);
      expect((await asService(app, WRONG, ip)).status).toBe(429);
    }
    expect(authFailures(events)).toHaveLength(80);
    expect(rateLimited(events)).toHaveLength(20);
    expect(new Set(rateLimited(events).map((event) => (event as { limiter: string }).limiter))).toEqual(new Set(['bruteForce.clientAuthFailures.backoff']));
    // The real client, from its own address, is never refused.
    for (let i = 0; i < 3; i += 1) expect((await asService(app, SERVICE_SECRET, '192.0.2.10')).status).toBe(200);
    // At an attacking address only the pair waits: another client there gets its token.
    const other = await request(app).post('/connect/token').set('X-Forwarded-For', '203.0.113.4').type('form').send(`${CC}&client_id=post-client&client_secret=${SERVICE_SECRET}`);
    expect(other.status).toBe(200);
    expect(rateLimited(events)).toHaveLength(20);
  });

  it('backs off per (confidential client, source): Retry-After doubles up to maxMs, nothing is compared while blocked, other sources are unaffected', async () => {
    const legacy = recordingClient('legacy', 'the-right-legacy-secret');
    const { app, clock, events } = createTestApp({ bruteForce: { clientAuthFailures: { perIp: 1000, backoff: { afterFailures: 2, baseMs: 1000, maxMs: 4000 }, windowMs: 15 * MINUTE } } }, [...TEST_CLIENTS, legacy.client]);
    app.set('trust proxy', 1);
    const A = '198.51.100.40';
    const send = (secret: string, ip = A) => request(app).post('/connect/token').set('Authorization', basic('legacy', secret)).set('X-Forwarded-For', ip).type('form').send(CC);
    expect((await send('guess-1')).status).toBe(401);
    expect((await send('guess-2')).status).toBe(401);
    // The failure after `afterFailures` starts the back-off: baseMs, then doubling, capped at maxMs.
    const retryAfters: string[] = [];
    for (let i = 3; i <= 6; i += 1) {
      expect((await send(`guess-${i}`)).status).toBe(401);
      const refused = await send('the-right-legacy-secret');
      expect(refused.status).toBe(429);
      expect(refused.body.error).toBe('temporarily_unavailable');
      retryAfters.push(refused.headers['retry-after']);
      // Blocked until the last millisecond of the back-off.
      const blockedMs = Number(refused.headers['retry-after']) * 1000;
      clock.advance(blockedMs - 1);
      expect((await send(`blocked-${i}`)).status).toBe(429);
      clock.advance(1);
    }
    expect(retryAfters).toEqual(['1', '2', '4', '4']);
    // Nothing was compared while blocked.
    expect(legacy.presented).toEqual(['guess-1', 'guess-2', 'guess-3', 'guess-4', 'guess-5', 'guess-6']);
    expect(rateLimited(events).every((event) => (event as { limiter: string }).limiter === 'bruteForce.clientAuthFailures.backoff')).toBe(true);
    expect(rateLimited(events)).toHaveLength(8);
    // Another source is unaffected, and the blocked pair gets in once its back-off ends.
    expect((await send('the-right-legacy-secret', '198.51.100.41')).status).toBe(200);
    expect((await send('the-right-legacy-secret')).status).toBe(200);
  });

  it('the back-off needs no reset on success: the client elsewhere succeeds, and the pair keeps backing off until its time is up', async () => {
    const { app, clock } = createTestApp({ bruteForce: { clientAuthFailures: { perIp: 1000, backoff: { afterFailures: 1, baseMs: 10_000, maxMs: MINUTE }, windowMs: 15 * MINUTE } } });
    app.set('trust proxy', 1);
    const attacker = '203.0.113.50';
    expect((await asService(app, WRONG, attacker)).status).toBe(401);
    expect((await asService(app, WRONG, attacker)).status).toBe(401);
    expect((await asService(app, SERVICE_SECRET, attacker)).status).toBe(429);
    // The real client's successes from its own address change nothing for the attacker's pair...
    for (let i = 0; i < 3; i += 1) expect((await asService(app, SERVICE_SECRET, '192.0.2.10')).status).toBe(200);
    clock.advance(5 * SECOND);
    const still = await asService(app, SERVICE_SECRET, attacker);
    expect(still.status).toBe(429);
    expect(still.headers['retry-after']).toBe('5');
    // ...and a success of the pair itself does not clear its failures: the next failure doubles.
    clock.advance(5 * SECOND);
    expect((await asService(app, SERVICE_SECRET, attacker)).status).toBe(200);
    expect((await asService(app, WRONG, attacker)).status).toBe(401);
    expect((await asService(app, SERVICE_SECRET, attacker)).headers['retry-after']).toBe('20');
  });

  it('an unknown client id backs off exactly like an existing one (no enumeration); requests without a secret are never refused', async () => {
    const { app, events } = createTestApp({ bruteForce: { clientAuthFailures: { perIp: 50, backoff: { afterFailures: 1, baseMs: 60_000, maxMs: 15 * MINUTE }, windowMs: 15 * MINUTE } } });
    // Existing confidential client and unknown id: 401, 401, then 429 — the same answers.
    const existing = [await asService(app, WRONG), await asService(app, WRONG), await asService(app, WRONG)].map((res) => res.status);
    const ghost = [await failAs(app, 'ghost'), await failAs(app, 'ghost'), await failAs(app, 'ghost')].map((res) => res.status);
    expect(existing).toEqual([401, 401, 429]);
    expect(ghost).toEqual(existing);
    // A public client that sent a secret backs off too, but its requests without a secret (the
    // real app, maybe behind the same NAT) are never refused by any budget.
    for (let i = 0; i < 3; i += 1) await request(app).post('/connect/token').type('form').send(`${CC}&client_id=public-app&client_secret=${WRONG}`);
    expect((await request(app).post('/connect/token').type('form').send(`${CC}&client_id=public-app`)).body.error).toBe('unauthorized_client');
    expect(rateLimited(events).every((event) => event.type === 'rate_limited' && event.limiter === 'bruteForce.clientAuthFailures.backoff')).toBe(true);
  });

  it('counts per address across client ids; other addresses are unaffected', async () => {
    const { app, events } = createTestApp({ bruteForce: { clientAuthFailures: { perIp: 3, backoff: false, windowMs: MINUTE } } });
    app.set('trust proxy', 1);
    for (const id of ['a', 'b', 'c']) expect((await failAs(app, id, '198.51.100.7')).status).toBe(401);
    expect((await asService(app, SERVICE_SECRET, '198.51.100.7')).status).toBe(429);
    expect(rateLimited(events).at(-1)).toMatchObject({ limiter: 'bruteForce.clientAuthFailures.perIp', ip: '198.51.100.7' });
    expect((await asService(app, SERVICE_SECRET, '198.51.100.8')).status).toBe(200);
  });

  it('refuses before any secret check while blocked, and lets the right secret in once the window ends', async () => {
    const legacy = recordingClient('legacy', 'the-right-legacy-secret');
    const { app, clock } = createTestApp({ bruteForce: { clientAuthFailures: { perIp: 2, backoff: false, windowMs: MINUTE } } }, [...TEST_CLIENTS, legacy.client]);
    const send = (secret: string) => request(app).post('/connect/token').set('Authorization', basic('legacy', secret)).type('form').send(CC);
    expect((await send('guess-1')).status).toBe(401);
    expect((await send('guess-2')).status).toBe(401);
    expect(legacy.presented).toEqual(['guess-1', 'guess-2']);
    const refused = await send('the-right-legacy-secret');
    expect(refused.status).toBe(429);
    expect(refused.headers['retry-after']).toBe('60');
    clock.advance(MINUTE - 1);
    expect((await send('the-right-legacy-secret')).status).toBe(429);
    expect((await send('guess-3')).status).toBe(429);
    // Nothing was compared while blocked.
    expect(legacy.presented).toEqual(['guess-1', 'guess-2']);
    clock.advance(1);
    expect((await send('the-right-legacy-secret')).status).toBe(200);
    expect(legacy.presented).toEqual(['guess-1', 'guess-2', 'the-right-legacy-secret']);
  });

  it('a parallel burst of wrong secrets from one source evaluates at most perIp secrets; the rest get 429', async () => {
    let compared = 0;
    let running = 0;
    let mostAtOnce = 0;
    const slow: MemoryClientDefinition = {
      client_id: 'slow',
      grant_types: ['client_credentials'],
      scope: 'api:read',
      // A slow hash (scrypt/argon2 in a real host): many guesses are in flight at once.
      verify_client_secret: async () => {
        compared += 1;
        running += 1;
        mostAtOnce = Math.max(mostAtOnce, running);
        await new Promise((resolve) => setTimeout(resolve, 30));
        running -= 1;
        return false;
      },
    };
    const { app, events } = createTestApp({ bruteForce: { clientAuthFailures: { perIp: 5, backoff: false, windowMs: MINUTE } } }, [...TEST_CLIENTS, slow]);
    // Every request must be answered (a request left waiting for a slot forever shows as "no answer").
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        request(app).post('/connect/token').set('Authorization', basic('slow', `guess-${i}`)).type('form').send(CC).timeout(3000).then((res) => String(res.status), () => 'no answer'),
      ),
    );
    const tally: Record<string, number> = {};
    for (const answer of answers) tally[answer] = (tally[answer] ?? 0) + 1;
    expect(tally).toEqual({ 401: 5, 429: 15 });
    expect(compared).toBe(5);
    expect(mostAtOnce).toBeLessThanOrEqual(5);
    expect(authFailures(events)).toHaveLength(5);
    expect(rateLimited(events)).toHaveLength(15);
  });

  it('concurrent valid requests spend nothing: a source with one failure left still serves a parallel burst of right secrets', async () => {
    let running = 0;
    let mostAtOnce = 0;
    const slowRight: MemoryClientDefinition = {
      client_id: 'slow-right',
      grant_types: ['client_credentials'],
      scope: 'api:read',
      verify_client_secret: async (secret) => {
        running += 1;
        mostAtOnce = Math.max(mostAtOnce, running);
        await new Promise((resolve) => setTimeout(resolve, 10));
        running -= 1;
        return secret === SERVICE_SECRET;
      },
    };
    const { app, events } = createTestApp({ bruteForce: { clientAuthFailures: { perIp: 3, backoff: false, windowMs: MINUTE } } }, [...TEST_CLIENTS, slowRight]);
    expect((await failAs(app, 'a')).status).toBe(401);
    expect((await failAs(app, 'b')).status).toBe(401);
    const statuses = await Promise.all(
      Array.from({ length: 10 }, () => request(app).post('/connect/token').set('Authorization', basic('slow-right', SERVICE_SECRET)).type('form').send(CC).then((res) => res.status)),
    );
    expect(statuses).toEqual(Array.from({ length: 10 }, () => 200));
    // One failure left: the comparisons ran one at a time rather than being refused.
    expect(mostAtOnce).toBe(1);
    expect(rateLimited(events)).toEqual([]);
    // The budget is unchanged: one more failure spends it.
    expect((await failAs(app, 'c')).status).toBe(401);
    expect((await asService(app, SERVICE_SECRET)).status).toBe(429);
  });

  it('a success resets nothing: not another address, nor its own earlier failures', async () => {
    const { app } = createTestApp({ bruteForce: { clientAuthFailures: { perIp: 3, backoff: false, windowMs: MINUTE } } });
    app.set('trust proxy', 1);
    const B = '198.51.100.20';
    const A = '198.51.100.10';
    expect((await failAs(app, 'service', B)).status).toBe(401);
    expect((await failAs(app, 'service', B)).status).toBe(401);
    // Successes from A (and from B itself) do not clear B's failures...
    expect((await asService(app, SERVICE_SECRET, A)).status).toBe(200);
    expect((await asService(app, SERVICE_SECRET, B)).status).toBe(200);
    expect((await asService(app, SERVICE_SECRET, B)).status).toBe(200);
    // ...so B's third failure spends its budget.
    expect((await failAs(app, 'service', B)).status).toBe(401);
    expect((await asService(app, SERVICE_SECRET, B)).status).toBe(429);
    expect((await asService(app, SERVICE_SECRET, A)).status).toBe(200);
  });

  it('a refusal is not a failure: retrying while backing off neither grows the back-off nor spends the address budget', async () => {
    const { app, clock } = createTestApp({ bruteForce: { clientAuthFailures: { perIp: 3, backoff: { afterFailures: 1, baseMs: 1000, maxMs: MINUTE }, windowMs: MINUTE } } });
    expect((await asService(app, WRONG)).status).toBe(401);
    expect((await asService(app, WRONG)).status).toBe(401);
    // The real client retries during the block: refused each time, and nothing is counted.
    for (let i = 0; i < 6; i += 1) {
      const refused = await asService(app, SERVICE_SECRET);
      expect(refused.status).toBe(429);
      expect(refused.headers['retry-after']).toBe('1');
    }
    clock.advance(SECOND);
    // Two failures in the address budget of 3, so the right secret is evaluated and accepted.
    expect((await asService(app, SERVICE_SECRET)).status).toBe(200);
    // The next failure is the pair's third: a 2 s back-off, not one grown by the refusals.
    expect((await asService(app, WRONG)).status).toBe(401);
    expect((await asService(app, SERVICE_SECRET)).headers['retry-after']).toBe('2');
  });

  it('counts only failures that presented a secret: no client id, no secret, or a malformed header (400) spend nothing', async () => {
    const { app } = createTestApp({ bruteForce: { clientAuthFailures: { perIp: 2, windowMs: MINUTE } } });
    for (let i = 0; i < 5; i += 1) {
      expect((await request(app).post('/connect/token').set('Authorization', 'Basic !!!').type('form').send(CC)).status).toBe(400);
      expect((await request(app).post('/connect/token').type('form').send(CC)).status).toBe(401);
    }
    expect((await asService(app, SERVICE_SECRET)).status).toBe(200);
    // Two wrong secrets spend the budget of 2.
    expect((await failAs(app, 'a')).status).toBe(401);
    expect((await failAs(app, 'b')).status).toBe(401);
    expect((await asService(app, SERVICE_SECRET)).status).toBe(429);
  });

  it('counts failures at the device authorization endpoint in the same budget', async () => {
    const harness = createDeviceTestApp({}, { bruteForce: { clientAuthFailures: { perIp: 3, windowMs: MINUTE } } });
    const wrong = { id: 'tv', secret: 'wrong-secret-0123456789' };
    expect((await authorizeDevice(harness.app, { scope: 'openid' }, wrong)).status).toBe(401);
    expect((await authorizeDevice(harness.app, { scope: 'openid' }, wrong)).status).toBe(401);
    expect((await pollDevice(harness.app, 'x'.repeat(43), wrong)).status).toBe(401);
    const refused = await authorizeDevice(harness.app, { scope: 'openid' }, TV);
    expect(refused.status).toBe(429);
    expect(refused.body.error).toBe('temporarily_unavailable');
    expect(Number(refused.headers['retry-after'])).toBe(60);
    expect((await pollDevice(harness.app, 'x'.repeat(43), TV)).status).toBe(429);
    expect(rateLimited(harness.events)).toHaveLength(2);
    harness.clock.advance(MINUTE);
    expect((await authorizeDevice(harness.app, { scope: 'openid' }, TV)).status).toBe(200);
  });

  it('can be turned off, as a whole or per part', async () => {
    for (const bruteForce of [false, { clientAuthFailures: false }] as const) {
      const { app } = createTestApp({ bruteForce });
      for (let i = 0; i < 35; i += 1) expect((await failAs(app, 'service')).status).toBe(401);
      expect((await asService(app, SERVICE_SECRET)).status).toBe(200);
    }
    // Back-off alone (no address budget), and the address budget alone (no back-off).
    const backoffOnly = createTestApp({ bruteForce: { clientAuthFailures: { perIp: false, backoff: { afterFailures: 1 } } } });
    for (let i = 0; i < 35; i += 1) expect((await failAs(backoffOnly.app, `guess-${i}`)).status).toBe(401);
    expect((await asService(backoffOnly.app, SERVICE_SECRET)).status).toBe(200);
    const perIpOnly = createTestApp({ bruteForce: { clientAuthFailures: { perIp: 10, backoff: false } } });
    for (let i = 0; i < 9; i += 1) expect((await failAs(perIpOnly.app, 'service')).status).toBe(401);
    expect((await asService(perIpOnly.app, SERVICE_SECRET)).status).toBe(200);
  });

  it('fails closed when the store fails: 500 server_error, and no secret is compared', async () => {
    const legacy = recordingClient('legacy', 'any-secret');
    const broken = new MemoryStore();
    broken.get = () => Promise.reject(new Error('store down'));
    const { app, logged } = createTestApp({ bruteForce: { clientAuthFailures: { store: broken } } }, [...TEST_CLIENTS, legacy.client]);
    const res = await request(app).post('/connect/token').set('Authorization', basic('legacy', 'any-secret')).type('form').send(CC);
    expect(res.status).toBe(500);
    expect(res.body).toEqual({ error: 'server_error' });
    expect(legacy.presented).toEqual([]);
    expect(logged).toContainEqual(expect.objectContaining({ level: 'error', details: expect.objectContaining({ errorMessage: 'store down' }) }));
    await broken.shutdown();
  });

  it('a store that fails to count a failure is logged; the request is still answered 401', async () => {
    const broken = new MemoryStore();
    broken.increment = () => Promise.reject(new Error('store cannot count'));
    const { app, logged } = createTestApp({ bruteForce: { clientAuthFailures: { perIp: 1, backoff: false, store: broken } } });
    expect((await asService(app, WRONG)).status).toBe(401);
    expect(logged).toContainEqual(expect.objectContaining({ level: 'error', message: expect.stringMatching(/failed to count a failure/), details: expect.objectContaining({ errorMessage: 'store cannot count' }) }));
    // Nothing was counted, so the right secret still gets in.
    expect((await asService(app, SERVICE_SECRET)).status).toBe(200);
    await broken.shutdown();
  });

  it('uses any express-rate-limit store the host passes (shared between two routers)', async () => {
    const store = new MemoryStore();
    const options = { bruteForce: { clientAuthFailures: { perIp: 2, windowMs: MINUTE, store } } };
    const one = createTestApp(options);
    const two = createTestApp(options);
    expect((await failAs(one.app, 'service')).status).toBe(401);
    expect((await failAs(two.app, 'service')).status).toBe(401);
    expect((await asService(one.app, SERVICE_SECRET)).status).toBe(429);
    expect((await asService(two.app, SERVICE_SECRET)).status).toBe(429);
    await store.shutdown();
  });
});

describe('invalid_grant limiter', () => {
  const grantLimits = (perIp: number) => ({ bruteForce: { grantFailures: { perIp, windowMs: MINUTE } } });
  const SPA_B: Caller = { id: 'spa-b', public: true };
  /** The code clients, with refresh tokens for `spa` and a second public client. */
  const clients: MemoryClientDefinition[] = [
    ...CODE_CLIENTS.map((client) => (client.client_id === 'spa' ? { ...client, grant_types: ['authorization_code', 'refresh_token'] } : client)),
    { client_id: 'spa-b', token_endpoint_auth_method: 'none', grant_types: ['authorization_code'], redirect_uris: [SPA_REDIRECT], scope: 'openid api:read' },
  ];
  const spaInput: Partial<AuthorizationCodeInput> = { clientId: 'spa', redirectUri: SPA_REDIRECT, codeChallenge: CHALLENGE, codeChallengeMethod: 'S256' };
  /** A made-up code, from a public client (with a verifier) or a confidential one. */
  const bogusCode = (app: Express, caller: Caller, ip?: string) => {
    const publicCaller = !('secret' in caller);
    const req = redeem(app, { code: 'not-a-code-0123456789abcdefghij', redirect_uri: publicCaller ? SPA_REDIRECT : codeInput().redirectUri, code_verifier: publicCaller ? VERIFIER : undefined }, caller);
    if (ip) req.set('X-Forwarded-For', ip);
    return req;
  };

  it('counts invalid_grant per (source, public client) (codes and refresh tokens) and refuses before the grant runs', async () => {
    const harness = createCodeTestApp(grantLimits(3), clients);
    harness.app.set('trust proxy', 1);
    const guesser = '198.51.100.66';
    expect((await bogusCode(harness.app, SPA, guesser)).body.error).toBe('invalid_grant');
    expect((await bogusCode(harness.app, SPA, guesser)).body.error).toBe('invalid_grant');
    const refresh = await request(harness.app).post('/connect/token').set('X-Forwarded-For', guesser).type('form').send('grant_type=refresh_token&client_id=spa&refresh_token=guessed-refresh-token-0123456789');
    expect(refresh.body.error).toBe('invalid_grant');
    // A real code from the blocked (source, client): 429, and the code is not consumed.
    const { code } = await harness.tokenRouter.issueAuthorizationCode(codeInput(spaInput));
    const refused = await redeem(harness.app, { code, redirect_uri: SPA_REDIRECT, code_verifier: VERIFIER }, SPA).set('X-Forwarded-For', guesser);
    expect(refused.status).toBe(429);
    expect(refused.headers['cache-control']).toBe('no-store');
    expect(refused.headers['retry-after']).toBe('60');
    expect(refused.body).toEqual({ error: 'temporarily_unavailable', error_description: 'Too many requests; retry after 60 seconds.' });
    expect(rateLimited(harness.events)).toEqual([
      { type: 'rate_limited', at: harness.clock(), clientId: 'spa', ip: guesser, limiter: 'bruteForce.grantFailures.perIp' },
    ]);
    // Another public client, and a confidential one, from the same source have budgets of their own / none.
    expect((await bogusCode(harness.app, SPA_B, guesser)).body.error).toBe('invalid_grant');
    expect((await bogusCode(harness.app, WEB, guesser)).body.error).toBe('invalid_grant');
    // The same public client from elsewhere redeems the code.
    const elsewhere = await redeem(harness.app, { code, redirect_uri: SPA_REDIRECT, code_verifier: VERIFIER }, SPA).set('X-Forwarded-For', '192.0.2.1');
    expect(elsewhere.status).toBe(200);
    harness.clock.advance(MINUTE - 1);
    expect((await bogusCode(harness.app, SPA, guesser)).status).toBe(429);
    harness.clock.advance(1);
    expect((await bogusCode(harness.app, SPA, guesser)).body.error).toBe('invalid_grant');
  });

  it('never counts or refuses a confidential client; the default budget is 100 per (source, public client) in 15 minutes', async () => {
    const harness = createCodeTestApp({ bruteForce: undefined }, clients);
    // A busy backend whose users come back with expired refresh tokens: normal traffic.
    for (let i = 0; i < 150; i += 1) expect((await bogusCode(harness.app, WEB)).body.error).toBe('invalid_grant');
    for (let i = 0; i < 100; i += 1) expect((await bogusCode(harness.app, SPA)).body.error).toBe('invalid_grant');
    const refused = await bogusCode(harness.app, SPA);
    expect(refused.status).toBe(429);
    expect(refused.headers['retry-after']).toBe('900');
    expect((await bogusCode(harness.app, WEB)).body.error).toBe('invalid_grant');
    const { code } = await harness.tokenRouter.issueAuthorizationCode(codeInput());
    expect((await redeem(harness.app, { code, redirect_uri: codeInput().redirectUri })).status).toBe(200);
    expect(rateLimited(harness.events)).toHaveLength(1);
  });

  it('counts only invalid_grant: other errors and successes do not add up', async () => {
    const harness = createCodeTestApp(grantLimits(1), clients);
    for (let i = 0; i < 5; i += 1) {
      // invalid_request (missing code), invalid_scope, unsupported_grant_type, a success.
      expect((await redeem(harness.app, { redirect_uri: SPA_REDIRECT, code_verifier: VERIFIER }, SPA)).body.error).toBe('invalid_request');
      expect((await redeem(harness.app, { code: 'c'.repeat(43), redirect_uri: SPA_REDIRECT, code_verifier: VERIFIER, scope: 'bad"scope' }, SPA)).body.error).toBe('invalid_scope');
      expect((await request(harness.app).post('/connect/token').type('form').send('grant_type=password&client_id=spa')).body.error).toBe('unsupported_grant_type');
      const { code } = await harness.tokenRouter.issueAuthorizationCode(codeInput(spaInput));
      expect((await redeem(harness.app, { code, redirect_uri: SPA_REDIRECT, code_verifier: VERIFIER }, SPA)).status).toBe(200);
    }
    expect((await bogusCode(harness.app, SPA)).body.error).toBe('invalid_grant');
    expect((await bogusCode(harness.app, SPA)).status).toBe(429);
    expect((await redeem(harness.app, { code: 'x', redirect_uri: SPA_REDIRECT, code_verifier: VERIFIER }, SPA)).status).toBe(429);
    // A confidential client from the same source is not refused.
    expect((await bogusCode(harness.app, WEB)).body.error).toBe('invalid_grant');
  });

  it('normal device polling never trips a limiter (authorization_pending and slow_down are not invalid_grant)', async () => {
    // Every limiter on, with tight failure budgets and the default request rate limit; a public
    // device client, so that the invalid_grant budget applies to it.
    const harness = createDeviceTestApp({}, { rateLimit: undefined, bruteForce: { clientAuthFailures: { perIp: 1, backoff: { afterFailures: 1 } }, grantFailures: { perIp: 1 } } });
    const started = await startDevice(harness.app, { scope: 'openid api:read' }, TV_PUBLIC);
    const answers: string[] = [];
    for (let i = 0; i < 30; i += 1) {
      // A well-behaved device, and now and then an eager one (slow_down raises its interval).
      harness.clock.advance(i % 3 === 0 ? SECOND : 61 * SECOND);
      const res = await pollDevice(harness.app, started.device_code, TV_PUBLIC);
      expect(res.status).toBe(400);
      answers.push(res.body.error);
    }
    expect(new Set(answers)).toEqual(new Set(['authorization_pending', 'slow_down']));
    await harness.tokenRouter.deviceVerification.approve(started.user_code, approval(), { key: 'approver' });
    harness.clock.advance(61 * SECOND);
    expect((await pollDevice(harness.app, started.device_code, TV_PUBLIC)).status).toBe(200);
    expect(rateLimited(harness.events)).toEqual([]);
    // The budget is live: one invalid_grant spends it.
    expect((await pollDevice(harness.app, 'x'.repeat(43), TV_PUBLIC)).body.error).toBe('invalid_grant');
    expect((await pollDevice(harness.app, 'x'.repeat(43), TV_PUBLIC)).status).toBe(429);
  });

  it('can be turned off', async () => {
    const harness = createCodeTestApp({ bruteForce: { grantFailures: false } }, clients);
    for (let i = 0; i < 110; i += 1) expect((await bogusCode(harness.app, SPA)).status).toBe(400);
  });
});

describe('bruteForce and requireHttps option validation', () => {
  const registry = createMemoryClientRegistry([]);
  const base = (): TokenRouterOptions => ({ issuer: ISSUER, signingKeys: [{ kid: 'k1', privateKey: rsaKey().pem }], clients: registry, grants: [clientCredentials()] });

  function problemsOf(patch: Record<string, unknown>): string {
    try {
      createTokenRouter({ ...base(), ...patch } as unknown as TokenRouterOptions);
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigurationError);
      return (error as ConfigurationError).message;
    }
    throw new Error('expected a ConfigurationError');
  }

  const store = () => new MemoryStore();
  const shared = store();

  it.each([
    ['a non-object bruteForce', { bruteForce: 'on' }, /bruteForce must be false or an object \{ clientAuthFailures\?, grantFailures\? \}/],
    ['a misspelt member', { bruteForce: { clientAuthFailure: { perIp: 5 } } }, /Unknown option "bruteForce\.clientAuthFailure"\. Known options: clientAuthFailures, grantFailures/],
    ['a misspelt budget', { bruteForce: { clientAuthFailures: { perIP: 5 } } }, /Unknown option "bruteForce\.clientAuthFailures\.perIP"\. Known options: perIp, backoff, windowMs, store/],
    ['the removed perClientId', { bruteForce: { clientAuthFailures: { perClientId: 100 } } }, /bruteForce\.clientAuthFailures\.perClientId was removed: .* see bruteForce\.clientAuthFailures\.backoff/],
    ['perClientId: false', { bruteForce: { clientAuthFailures: { perIp: 30, perClientId: false } } }, /bruteForce\.clientAuthFailures\.perClientId was removed/],
    ['a non-object part', { bruteForce: { grantFailures: 10 } }, /bruteForce\.grantFailures must be false or an object \{ perIp\?, windowMs\?, store\? \}/],
    ['a zero budget', { bruteForce: { clientAuthFailures: { perIp: 0 } } }, /bruteForce\.clientAuthFailures\.perIp must be at least 1 \(or false to not count per IP\)\./],
    ['a fractional back-off threshold', { bruteForce: { clientAuthFailures: { backoff: { afterFailures: 2.5 } } } }, /bruteForce\.clientAuthFailures\.backoff\.afterFailures must be a whole number of failures/],
    ['a non-object backoff', { bruteForce: { clientAuthFailures: { backoff: 5 } } }, /bruteForce\.clientAuthFailures\.backoff must be false or an object \{ afterFailures\?, baseMs\?, maxMs\? \}/],
    ['a misspelt backoff member', { bruteForce: { clientAuthFailures: { backoff: { afterFailure: 5 } } } }, /Unknown option "bruteForce\.clientAuthFailures\.backoff\.afterFailure"\. Known options: afterFailures, baseMs, maxMs/],
    ['a back-off base under 100 ms', { bruteForce: { clientAuthFailures: { backoff: { baseMs: 10 } } } }, /bruteForce\.clientAuthFailures\.backoff\.baseMs must be at least 100/],
    ['a back-off over 24 h', { bruteForce: { clientAuthFailures: { backoff: { maxMs: 2 * 86_400_000 } } } }, /bruteForce\.clientAuthFailures\.backoff\.maxMs must be at most 86400000/],
    ['a string budget', { bruteForce: { grantFailures: { perIp: '100' } } }, /bruteForce\.grantFailures\.perIp must be a whole number/],
    ['perIp: true', { bruteForce: { clientAuthFailures: { perIp: true } } }, /bruteForce\.clientAuthFailures\.perIp must be a whole number of failures, or false/],
    ['perIp and backoff both false', { bruteForce: { clientAuthFailures: { perIp: false, backoff: false } } }, /counts nothing with perIp and backoff both false; set clientAuthFailures: false/],
    ['grantFailures.perIp false', { bruteForce: { grantFailures: { perIp: false } } }, /bruteForce\.grantFailures\.perIp cannot be false .* set grantFailures: false/],
    ['a sub-second window', { bruteForce: { clientAuthFailures: { windowMs: 500 } } }, /bruteForce\.clientAuthFailures\.windowMs must be at least 1000/],
    ['a window over 24 h', { bruteForce: { grantFailures: { windowMs: 2 * 86_400_000 } } }, /bruteForce\.grantFailures\.windowMs must be at most 86400000: 24 h; a longer block is a lockout, not a back-off\./],
    ['a store without get/increment', { bruteForce: { clientAuthFailures: { store: {} } } }, /bruteForce\.clientAuthFailures\.store must be an express-rate-limit Store with get\(key\) and increment\(key\)/],
    ['an auth store without get', { bruteForce: { clientAuthFailures: { store: { increment: () => ({ totalHits: 1, resetTime: undefined }), decrement: () => undefined } } } }, /bruteForce\.clientAuthFailures\.store must be an express-rate-limit Store with get\(key\) and increment\(key\)/],
    ['a grant store without get', { bruteForce: { grantFailures: { store: { increment: () => ({ totalHits: 1, resetTime: undefined }), decrement: () => undefined } } } }, /bruteForce\.grantFailures\.store must be an express-rate-limit Store with get\(key\) and increment\(key\)/],
    ['the rateLimit store reused', { rateLimit: { store: shared }, bruteForce: { clientAuthFailures: { store: shared } } }, /bruteForce\.clientAuthFailures\.store is the same object as rateLimit\.store; .* its own instance/],
    ['one store for both limiters', { bruteForce: { clientAuthFailures: { store: shared }, grantFailures: { store: shared } } }, /are the same object; a store has one window/],
    ['a non-boolean requireHttps', { requireHttps: 'yes' }, /requireHttps must be true or false/],
  ])('rejects %s', (_what, patch, message) => {
    expect(problemsOf(patch)).toMatch(message);
  });

  it('lists every problem at once', () => {
    const message = problemsOf({ bruteForce: { clientAuthFailures: { perIp: 0, windowMs: 10 }, grantFailures: { perIp: -1 } } });
    expect(message).toMatch(/3 configuration problems/);
  });

  it('accepts the documented shapes', () => {
    const ok = (patch: Partial<TokenRouterOptions>) => expect(() => createTokenRouter({ ...base(), ...patch })).not.toThrow();
    ok({ bruteForce: false });
    ok({ bruteForce: {} });
    ok({ bruteForce: { clientAuthFailures: false, grantFailures: { perIp: 5 } } });
    ok({ bruteForce: { clientAuthFailures: { backoff: false, store: store() }, grantFailures: { store: store() } } });
    ok({ bruteForce: { clientAuthFailures: { perIp: false, backoff: { afterFailures: 3, baseMs: 500, maxMs: 60_000 } } } });
    // A store needs get and increment only (no decrement).
    ok({ bruteForce: { clientAuthFailures: { store: { get: () => undefined, increment: () => ({ totalHits: 1, resetTime: undefined }) } as never } } });
    ok({ requireHttps: true });
  });
});
