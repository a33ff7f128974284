// spec/endpoint/brute-force.spec.ts
// Failure budgets on top of the request rate limit (checklist M102–M106, H72): failed client
// authentications per source IP and per client_id, invalid_grant answers per source IP. 429 with
// the OAuth envelope, Retry-After and no-store; refused before any secret is compared; a fixed
// window (back-off, not lockout) timed by the router's clock.
import type { Express } from 'express';
import { MemoryStore } from 'express-rate-limit';
import request from 'supertest';
import { clientCredentials, ConfigurationError, createMemoryClientRegistry, createTokenRouter, type MemoryClientDefinition, type TokenEndpointEvent, type TokenRouterOptions } from '../../lib';
import { redeem, codeInput, WEB } from '../helpers/code-flow';
import { basic, CODE_CLIENTS, createCodeTestApp, createTestApp, ISSUER, SERVICE_SECRET, TEST_CLIENTS } from '../helpers/create-app';
import { approval, authorizeDevice, createDeviceTestApp, pollDevice, SECOND, startDevice, TV } from '../helpers/device-flow';
import { rsaKey } from '../helpers/keys';

const CC = 'grant_type=client_credentials';
const MINUTE = 60_000;

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

describe('failed client authentication limiter', () => {
  it('is on by default: 30 failures per address and 100 per client id in 15 minutes', async () => {
    const { app, clock } = createTestApp({ bruteForce: undefined });
    app.set('trust proxy', 1);
    // Per address: 30 failures (for 30 different client ids), then even the right secret waits.
    for (let i = 0; i < 30; i += 1) expect((await failAs(app, `guess-${i}`, '198.51.100.1')).status).toBe(401);
    const blocked = await asService(app, SERVICE_SECRET, '198.51.100.1');
    expect(blocked.status).toBe(429);
    expect(blocked.headers['retry-after']).toBe('900');
    // Per client id: 100 failures from 100 addresses, then the client waits everywhere.
    for (let i = 0; i < 100; i += 1) expect((await asService(app, 'wrong-secret-0123456789', `203.0.113.${i + 1}`)).status).toBe(401);
    expect((await asService(app, SERVICE_SECRET, '192.0.2.1')).status).toBe(429);
    // Back-off, not lockout: the window ends.
    clock.advance(15 * MINUTE);
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
    expect(events.filter((event) => event.type === 'client.authentication_failed')).toHaveLength(2);
    expect(events.filter((event) => event.type === 'request.rejected')).toHaveLength(0);
  });

  it('counts per client_id across addresses; other clients at the same address are unaffected', async () => {
    const { app, events } = createTestApp({ bruteForce: { clientAuthFailures: { perIp: 100, perClientId: 3, windowMs: MINUTE } } });
    app.set('trust proxy', 1);
    for (const ip of ['203.0.113.1', '203.0.113.2', '203.0.113.3']) expect((await asService(app, 'wrong-secret-0123456789', ip)).status).toBe(401);
    expect((await asService(app, 'wrong-secret-0123456789', '203.0.113.4')).status).toBe(429);
    // The lockout-DoS trade-off: the real client, from its own address, waits too.
    expect((await asService(app, SERVICE_SECRET, '192.0.2.10')).status).toBe(429);
    expect(rateLimited(events).at(-1)).toMatchObject({ limiter: 'bruteForce.clientAuthFailures.perClientId', clientId: 'service', ip: '192.0.2.10' });
    const other = await request(app).post('/connect/token').set('X-Forwarded-For', '203.0.113.4').type('form').send(`${CC}&client_id=post-client&client_secret=${SERVICE_SECRET}`);
    expect(other.status).toBe(200);
  });

  it('counts per address across client ids; other addresses are unaffected', async () => {
    const { app, events } = createTestApp({ bruteForce: { clientAuthFailures: { perIp: 3, perClientId: 100, windowMs: MINUTE } } });
    app.set('trust proxy', 1);
    for (const id of ['a', 'b', 'c']) expect((await failAs(app, id, '198.51.100.7')).status).toBe(401);
    expect((await asService(app, SERVICE_SECRET, '198.51.100.7')).status).toBe(429);
    expect(rateLimited(events).at(-1)).toMatchObject({ limiter: 'bruteForce.clientAuthFailures.perIp', ip: '198.51.100.7' });
    expect((await asService(app, SERVICE_SECRET, '198.51.100.8')).status).toBe(200);
  });

  it('refuses before any secret check while blocked, and lets the right secret in once the window ends', async () => {
    const presented: string[] = [];
    const legacy: MemoryClientDefinition = {
      client_id: 'legacy',
      grant_types: ['client_credentials'],
      scope: 'api:read',
      verify_client_secret: (secret) => {
        presented.push(secret);
        return secret === 'the-right-legacy-secret';
      },
    };
    const { app, clock } = createTestApp({ bruteForce: { clientAuthFailures: { perIp: 50, perClientId: 2, windowMs: MINUTE } } }, [...TEST_CLIENTS, legacy]);
    const send = (secret: string) => request(app).post('/connect/token').set('Authorization', basic('legacy', secret)).type('form').send(CC);
    expect((await send('guess-1')).status).toBe(401);
    expect((await send('guess-2')).status).toBe(401);
    expect(presented).toEqual(['guess-1', 'guess-2']);
    const refused = await send('the-right-legacy-secret');
    expect(refused.status).toBe(429);
    expect(refused.headers['retry-after']).toBe('60');
    clock.advance(MINUTE - 1);
    expect((await send('the-right-legacy-secret')).status).toBe(429);
    expect((await send('guess-3')).status).toBe(429);
    // Nothing was compared while blocked.
    expect(presented).toEqual(['guess-1', 'guess-2']);
    clock.advance(1);
    expect((await send('the-right-legacy-secret')).status).toBe(200);
    expect(presented).toEqual(['guess-1', 'guess-2', 'the-right-legacy-secret']);
  });

  it('parallel guesses cannot slip under the budget: each is counted before its secret is compared', async () => {
    let compared = 0;
    const slow: MemoryClientDefinition = {
      client_id: 'slow',
      grant_types: ['client_credentials'],
      scope: 'api:read',
      // A slow hash (scrypt/argon2 in a real host): many guesses are in flight at once.
      verify_client_secret: async () => {
        compared += 1;
        await new Promise((resolve) => setTimeout(resolve, 30));
        return false;
      },
    };
    const { app } = createTestApp({ bruteForce: { clientAuthFailures: { perIp: 100, perClientId: 5, windowMs: MINUTE } } }, [...TEST_CLIENTS, slow]);
    const statuses = await Promise.all(
      Array.from({ length: 20 }, (_, i) => request(app).post('/connect/token').set('Authorization', basic('slow', `guess-${i}`)).type('form').send(CC).then((res) => res.status)),
    );
    expect(statuses.filter((status) => status === 401)).toHaveLength(5);
    expect(statuses.filter((status) => status === 429)).toHaveLength(15);
    expect(compared).toBe(5);
  });

  it('a success gives back only its own count: it never resets another address, nor its own earlier failures', async () => {
    const { app } = createTestApp({ bruteForce: { clientAuthFailures: { perIp: 3, perClientId: false, windowMs: MINUTE } } });
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

  it('a success does not reset the client id count either (failures from elsewhere stay counted)', async () => {
    const { app } = createTestApp({ bruteForce: { clientAuthFailures: { perIp: 100, perClientId: 3, windowMs: MINUTE } } });
    app.set('trust proxy', 1);
    expect((await asService(app, 'wrong-secret-0123456789', '203.0.113.1')).status).toBe(401);
    expect((await asService(app, 'wrong-secret-0123456789', '203.0.113.2')).status).toBe(401);
    expect((await asService(app, SERVICE_SECRET, '192.0.2.10')).status).toBe(200);
    expect((await asService(app, 'wrong-secret-0123456789', '203.0.113.3')).status).toBe(401);
    expect((await asService(app, SERVICE_SECRET, '192.0.2.10')).status).toBe(429);
  });

  it('a refusal is not a failure: a client blocked by its client_id budget keeps its own address budget', async () => {
    const { app, clock } = createTestApp({ bruteForce: { clientAuthFailures: { perIp: 3, perClientId: 2, windowMs: MINUTE } } });
    app.set('trust proxy', 1);
    expect((await asService(app, 'wrong-secret-0123456789', '203.0.113.66')).status).toBe(401);
    expect((await asService(app, 'wrong-secret-0123456789', '203.0.113.66')).status).toBe(401);
    clock.advance(30 * SECOND);
    // The real client retries during the attack: refused each time, and nothing is counted for its address.
    for (let i = 0; i < 6; i += 1) expect((await asService(app, SERVICE_SECRET, '192.0.2.10')).status).toBe(429);
    clock.advance(30 * SECOND);
    expect((await asService(app, SERVICE_SECRET, '192.0.2.10')).status).toBe(200);
  });

  it('counts a request without any client id per address, but not a malformed one (400)', async () => {
    const { app } = createTestApp({ bruteForce: { clientAuthFailures: { perIp: 2, windowMs: MINUTE } } });
    for (let i = 0; i < 5; i += 1) {
      const malformed = await request(app).post('/connect/token').set('Authorization', 'Basic !!!').type('form').send(CC);
      expect(malformed.status).toBe(400);
    }
    expect((await request(app).post('/connect/token').type('form').send(CC)).status).toBe(401);
    expect((await request(app).post('/connect/token').type('form').send(CC)).status).toBe(401);
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
  });

  it('fails closed when the store fails: 500 server_error, and no secret is compared', async () => {
    let compared = 0;
    const legacy: MemoryClientDefinition = {
      client_id: 'legacy',
      grant_types: ['client_credentials'],
      scope: 'api:read',
      verify_client_secret: () => {
        compared += 1;
        return true;
      },
    };
    const broken = new MemoryStore();
    broken.increment = () => Promise.reject(new Error('store down'));
    const { app, logged } = createTestApp({ bruteForce: { clientAuthFailures: { store: broken } } }, [...TEST_CLIENTS, legacy]);
    const res = await request(app).post('/connect/token').set('Authorization', basic('legacy', 'any-secret')).type('form').send(CC);
    expect(res.status).toBe(500);
    expect(res.body).toEqual({ error: 'server_error' });
    expect(compared).toBe(0);
    expect(logged).toContainEqual(expect.objectContaining({ level: 'error', details: expect.objectContaining({ errorMessage: 'store down' }) }));
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
  const bogusCode = (app: Express, ip?: string) => {
    const req = redeem(app, { code: 'not-a-code-0123456789abcdefghij', redirect_uri: codeInput().redirectUri, code_verifier: undefined });
    if (ip) req.set('X-Forwarded-For', ip);
    return req;
  };

  it('counts invalid_grant per address (codes and refresh tokens) and refuses before the grant runs', async () => {
    const clients = CODE_CLIENTS.map((client) => (client.client_id === 'web' ? { ...client, grant_types: ['authorization_code', 'refresh_token'] } : client));
    const harness = createCodeTestApp(grantLimits(3), clients);
    harness.app.set('trust proxy', 1);
    const guesser = '198.51.100.66';
    expect((await bogusCode(harness.app, guesser)).body.error).toBe('invalid_grant');
    expect((await bogusCode(harness.app, guesser)).body.error).toBe('invalid_grant');
    const refresh = await request(harness.app).post('/connect/token').set('Authorization', basic('web', SERVICE_SECRET)).set('X-Forwarded-For', guesser).type('form').send('grant_type=refresh_token&refresh_token=guessed-refresh-token-0123456789');
    expect(refresh.body.error).toBe('invalid_grant');
    // A real code from the blocked address: 429, and the code is not consumed.
    const { code } = await harness.tokenRouter.issueAuthorizationCode(codeInput());
    const refused = await redeem(harness.app, { code, redirect_uri: codeInput().redirectUri }).set('X-Forwarded-For', guesser);
    expect(refused.status).toBe(429);
    expect(refused.headers['cache-control']).toBe('no-store');
    expect(refused.headers['retry-after']).toBe('60');
    expect(refused.body).toEqual({ error: 'temporarily_unavailable', error_description: 'Too many requests; retry after 60 seconds.' });
    expect(rateLimited(harness.events)).toEqual([
      { type: 'rate_limited', at: harness.clock(), clientId: 'web', ip: guesser, limiter: 'bruteForce.grantFailures.perIp' },
    ]);
    const elsewhere = await redeem(harness.app, { code, redirect_uri: codeInput().redirectUri }).set('X-Forwarded-For', '192.0.2.1');
    expect(elsewhere.status).toBe(200);
    harness.clock.advance(MINUTE);
    expect((await bogusCode(harness.app, guesser)).body.error).toBe('invalid_grant');
  });

  it('counts only invalid_grant: other errors and successes do not add up', async () => {
    const harness = createCodeTestApp(grantLimits(1));
    for (let i = 0; i < 5; i += 1) {
      // invalid_request (missing code), invalid_scope, unsupported_grant_type, 401.
      expect((await redeem(harness.app, { redirect_uri: codeInput().redirectUri })).body.error).toBe('invalid_request');
      expect((await redeem(harness.app, { code: 'c'.repeat(43), redirect_uri: codeInput().redirectUri, scope: 'bad"scope' })).body.error).toBe('invalid_scope');
      expect((await request(harness.app).post('/connect/token').set('Authorization', basic('web', SERVICE_SECRET)).type('form').send('grant_type=password')).body.error).toBe('unsupported_grant_type');
      const { code } = await harness.tokenRouter.issueAuthorizationCode(codeInput());
      expect((await redeem(harness.app, { code, redirect_uri: codeInput().redirectUri })).status).toBe(200);
    }
    expect((await bogusCode(harness.app)).body.error).toBe('invalid_grant');
    expect((await bogusCode(harness.app)).status).toBe(429);
    expect((await redeem(harness.app, { code: 'x', redirect_uri: codeInput().redirectUri }, WEB)).status).toBe(429);
  });

  it('normal device polling never trips a limiter (authorization_pending and slow_down are not invalid_grant)', async () => {
    // Every limiter on, with tight failure budgets and the default request rate limit.
    const harness = createDeviceTestApp({}, { rateLimit: undefined, bruteForce: { clientAuthFailures: { perIp: 1, perClientId: 1 }, grantFailures: { perIp: 1 } } });
    const started = await startDevice(harness.app);
    const answers: string[] = [];
    for (let i = 0; i < 30; i += 1) {
      // A well-behaved device, and now and then an eager one (slow_down raises its interval).
      harness.clock.advance(i % 3 === 0 ? SECOND : 61 * SECOND);
      const res = await pollDevice(harness.app, started.device_code);
      expect(res.status).toBe(400);
      answers.push(res.body.error);
    }
    expect(new Set(answers)).toEqual(new Set(['authorization_pending', 'slow_down']));
    await harness.tokenRouter.deviceVerification.approve(started.user_code, approval(), { key: 'approver' });
    harness.clock.advance(61 * SECOND);
    expect((await pollDevice(harness.app, started.device_code)).status).toBe(200);
    expect(rateLimited(harness.events)).toEqual([]);
  });

  it('can be turned off', async () => {
    const harness = createCodeTestApp({ bruteForce: { grantFailures: false } });
    for (let i = 0; i < 110; i += 1) expect((await bogusCode(harness.app)).status).toBe(400);
  });
});

describe('bruteForce and requireHttps option validation', () => {
  const clients = createMemoryClientRegistry([]);
  const base = (): TokenRouterOptions => ({ issuer: ISSUER, signingKeys: [{ kid: 'k1', privateKey: rsaKey().pem }], clients, grants: [clientCredentials()] });

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
    ['a misspelt budget', { bruteForce: { clientAuthFailures: { perIP: 5 } } }, /Unknown option "bruteForce\.clientAuthFailures\.perIP"\. Known options: perIp, perClientId, windowMs, store/],
    ['a non-object part', { bruteForce: { grantFailures: 10 } }, /bruteForce\.grantFailures must be false or an object \{ perIp\?, windowMs\?, store\? \}/],
    ['a zero budget', { bruteForce: { clientAuthFailures: { perIp: 0 } } }, /bruteForce\.clientAuthFailures\.perIp must be at least 1 \(or false to not count per IP\)\./],
    ['a fractional budget', { bruteForce: { clientAuthFailures: { perClientId: 2.5 } } }, /bruteForce\.clientAuthFailures\.perClientId must be a whole number of failures/],
    ['a string budget', { bruteForce: { grantFailures: { perIp: '100' } } }, /bruteForce\.grantFailures\.perIp must be a whole number/],
    ['perIp: true', { bruteForce: { clientAuthFailures: { perIp: true } } }, /bruteForce\.clientAuthFailures\.perIp must be a whole number of failures, or false/],
    ['both budgets false', { bruteForce: { clientAuthFailures: { perIp: false, perClientId: false } } }, /counts nothing with perIp and perClientId both false; set clientAuthFailures: false/],
    ['grantFailures.perIp false', { bruteForce: { grantFailures: { perIp: false } } }, /bruteForce\.grantFailures\.perIp cannot be false .* set grantFailures: false/],
    ['a sub-second window', { bruteForce: { clientAuthFailures: { windowMs: 500 } } }, /bruteForce\.clientAuthFailures\.windowMs must be at least 1000/],
    ['a window over 24 h', { bruteForce: { grantFailures: { windowMs: 2 * 86_400_000 } } }, /bruteForce\.grantFailures\.windowMs must be at most 86400000: 24 h; a longer block is a lockout, not a back-off\./],
    ['a store without increment/decrement', { bruteForce: { clientAuthFailures: { store: {} } } }, /bruteForce\.clientAuthFailures\.store must be an express-rate-limit Store with increment\(key\) and decrement\(key\)/],
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
    ok({ bruteForce: { clientAuthFailures: { perClientId: false, store: store() }, grantFailures: { store: store() } } });
    ok({ requireHttps: true });
  });
});
