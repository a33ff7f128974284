// spec/endpoint/abuse-simulation.spec.ts
// Issue 13 items 1-3: the default limits never throttle legitimate traffic, and attacks cannot
// lock out users they are not. Simulations with the default limits on (rateLimit, bruteForce),
// timed by the injected clock:
// - a busy backend (50 requests/s from one IP for 15 simulated minutes, 5 % expired refresh
//   tokens, 5 % code exchanges) → zero 429;
// - 500 concurrent valid authentications against a registry that answers in 50 ms → zero 429;
// - 10,000 wrong-secret requests against a public and a confidential client from rotating
//   addresses → both clients still get tokens from their own addresses;
// - a parallel burst of wrong secrets from one address evaluates no more guesses than the budget.
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import express from 'express';
import request from 'supertest';
import {
  authorizationCode,
  clientCredentials,
  createMemoryClientRegistry,
  createMemoryStorage,
  createTokenRouter,
  hashClientSecret,
  refreshToken,
  type ClientRegistry,
  type RegisteredClient,
  type TokenEndpointEvent,
  type TokenRouterOptions,
} from '../../lib';
import { createClock, SERVICE_SECRET, WEB_REDIRECT } from '../helpers/create-app';
import { ecKey } from '../helpers/keys';

const SIGNING_KEY = ecKey().privateKey;
const basicOf = (id: string, secret: string) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;

/** A host app with the DEFAULT limits (only trust proxy set, so tests can vary the source address). */
function host(clients: ClientRegistry, extra: Partial<TokenRouterOptions> = {}) {
  const clock = createClock();
  const events: TokenEndpointEvent[] = [];
  const router = createTokenRouter({
    issuer: 'https://id.example.test',
    signingKeys: [{ kid: 'ec', alg: 'ES256', privateKey: SIGNING_KEY }],
    clients,
    storage: createMemoryStorage({ clock }),
    grants: [authorizationCode(), clientCredentials(), refreshToken({ retryWindowSeconds: 0 })],
    clock,
    onEvent: (event) => events.push(event),
    logger: { warn: () => undefined, error: () => undefined },
    ...extra,
  });
  const app = express();
  app.set('trust proxy', true);
  app.use('/connect', router);
  return { app, router, clock, events };
}

describe('legitimate load under the default limits', () => {
  it('a busy backend: 50 requests/s from one IP for 15 simulated minutes, 5 % expired refresh tokens, 5 % code exchanges → zero 429', async () => {
    const clients = createMemoryClientRegistry([
      {
        client_id: 'backend',
        client_secret: SERVICE_SECRET,
        grant_types: ['authorization_code', 'refresh_token', 'client_credentials'],
        redirect_uris: [WEB_REDIRECT],
        scope: 'openid offline_access api',
        refresh_token_policy: { type: 'sliding', lifetime: 60 },
      },
    ]);
    const { app, router, clock } = host(clients);
    const server = app.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/connect/token`;
    const auth = basicOf('backend', SERVICE_SECRET);
    const post = async (body: Record<string, string>) => {
      const res = await fetch(base, { method: 'POST', headers: { authorization: auth, 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(body) });
      const json = (await res.json()) as Record<string, unknown>;
      return { status: res.status, json };
    };
    try {
      // Refresh tokens of users who come back after their 60 s sliding window: expired by then.
      const stale: string[] = [];
      for (let i = 0; i < 40; i += 1) {
        const minted = await router.issueAuthorizationCode({ clientId: 'backend', redirectUri: WEB_REDIRECT, scope: 'openid offline_access', subject: `user-${i}` });
        const res = await post({ grant_type: 'authorization_code', code: minted.code, redirect_uri: WEB_REDIRECT });
        stale.push(res.json.refresh_token as string);
      }
      clock.advance(120_000);
      const counts = new Map<number, number>();
      const total = 50 * 60 * 15;
      // Sent 10 at a time (the simulated clock still moves 20 ms per request, so the limiters see
      // 50 requests per simulated second): 45,000 one-by-one HTTP requests took ~2 minutes of wall
      // time and timed out on a loaded CI machine; a batch shifts simulated times by < 200 ms.
      const one = async (i: number) => {
        if (i % 20 === 0) {
          const res = await post({ grant_type: 'refresh_token', refresh_token: stale[(i / 20) % stale.length] });
          expect(res.json.error).toBe('invalid_grant');
          return res;
        }
        if (i % 20 === 1) {
          const minted = await router.issueAuthorizationCode({ clientId: 'backend', redirectUri: WEB_REDIRECT, scope: 'openid', subject: `user-${i}` });
          return post({ grant_type: 'authorization_code', code: minted.code, redirect_uri: WEB_REDIRECT });
        }
        return post({ grant_type: 'client_credentials' });
      };
      for (let start = 0; start < total; start += 10) {
        const batch: Array<Promise<{ status: number }>> = [];
        for (let i = start; i < Math.min(start + 10, total); i += 1) {
          clock.advance(20);
          batch.push(one(i));
        }
        for (const res of await Promise.all(batch)) counts.set(res.status, (counts.get(res.status) ?? 0) + 1);
      }
      expect(counts.get(429) ?? 0).toBe(0);
      expect(counts.get(200)).toBe(total - total / 20);
    } finally {
      server.closeAllConnections();
      server.close();
    }
  }, 180_000);

  it('500 concurrent valid authentications against a registry that answers in 50 ms → zero 429', async () => {
    const record: RegisteredClient = Object.freeze({ client_id: 'svc', client_secrets: Object.freeze([Object.freeze({ sha256: hashClientSecret(SERVICE_SECRET) })]), grant_types: Object.freeze(['client_credentials']), scope: 'api' });
    const slow: ClientRegistry = { findClient: (id) => new Promise((resolve) => setTimeout(() => resolve(id === 'svc' ? record : undefined), 50)) };
    const { app } = host(slow);
    const server = app.listen(0, '127.0.0.1');
    await once(server, 'listening');
    try {
      const answers = await Promise.all(Array.from({ length: 500 }, () => request(server).post('/connect/token').set('Authorization', basicOf('svc', SERVICE_SECRET)).type('form').send('grant_type=client_credentials')));
      const statuses = answers.map((res) => res.status);
      expect(statuses.filter((status) => status === 429)).toEqual([]);
      expect(statuses.every((status) => status === 200)).toBe(true);
    } finally {
      server.closeAllConnections();
      server.close();
    }
  }, 60_000);
});

describe('attacks cannot lock out users they are not', () => {
  it('10,000 wrong-secret requests against a public and a confidential client from rotating addresses: both still get tokens from their own addresses', async () => {
    const clients = createMemoryClientRegistry([
      { client_id: 'svc', client_secret: SERVICE_SECRET, grant_types: ['client_credentials'], scope: 'api' },
      { client_id: 'spa', token_endpoint_auth_method: 'none', grant_types: ['authorization_code', 'refresh_token'], redirect_uris: ['https://spa.example/cb'], scope: 'openid offline_access', refresh_token_policy: { type: 'sliding', lifetime: 600 } },
    ]);
    const { app, router, clock } = host(clients);
    const server = app.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/connect/token`;
    const send = (from: string, body: Record<string, string>, authorization?: string) =>
      fetch(base, { method: 'POST', headers: { 'x-forwarded-for': from, 'content-type': 'application/x-www-form-urlencoded', ...(authorization && { authorization }) }, body: new URLSearchParams(body) }).then(async (res) => ({ status: res.status, json: (await res.json()) as Record<string, unknown> }));
    try {
      // The public client's user signs in first and holds a refresh token.
      const minted = await router.issueAuthorizationCode({ clientId: 'spa', redirectUri: 'https://spa.example/cb', scope: 'openid offline_access', subject: 'user-1', codeChallenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', codeChallengeMethod: 'S256' });
      let spaToken = (await send('198.51.100.7', { grant_type: 'authorization_code', client_id: 'spa', code: minted.code, redirect_uri: 'https://spa.example/cb', code_verifier: 'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk' })).json.refresh_token as string;
      let refused = 0;
      for (let i = 0; i < 10_000; i += 1) {
        clock.advance(10);
        const from = `203.0.113.${i % 250}`;
        const res = i % 2 === 0
          ? await send(from, { grant_type: 'client_credentials' }, basicOf('svc', `wrong-secret-${i}`))
          : await send(from, { grant_type: 'refresh_token', client_id: 'spa', client_secret: 'guess', refresh_token: 'x'.repeat(43) });
        if (res.status === 429) refused += 1;
        else expect(res.status).toBe(401);
        if (i % 1000 === 999) {
          // The legitimate clients, each from its own address, keep working throughout.
          expect((await send('198.51.100.1', { grant_type: 'client_credentials' }, basicOf('svc', SERVICE_SECRET))).status).toBe(200);
          const refreshed = await send('198.51.100.7', { grant_type: 'refresh_token', client_id: 'spa', refresh_token: spaToken });
          expect(refreshed.status).toBe(200);
          spaToken = refreshed.json.refresh_token as string;
        }
      }
      // The attack itself was throttled (per source budgets and back-off), not waved through.
      expect(refused).toBeGreaterThan(0);
    } finally {
      server.closeAllConnections();
      server.close();
    }
  }, 180_000);

  it('a parallel burst of 200 wrong secrets from one address evaluates at most the budget (30), the rest get 429', async () => {
    const clients = createMemoryClientRegistry([{ client_id: 'svc', client_secret: SERVICE_SECRET, grant_types: ['client_credentials'], scope: 'api' }]);
    const { app, events } = host(clients, { bruteForce: { clientAuthFailures: { backoff: false } } });
    const server = app.listen(0, '127.0.0.1');
    await once(server, 'listening');
    try {
      const answers = await Promise.all(Array.from({ length: 200 }, (_, i) => request(server).post('/connect/token').set('Authorization', basicOf('svc', `wrong-${i}`)).type('form').send('grant_type=client_credentials')));
      const evaluated = events.filter((event) => event.type === 'client.authentication_failed').length;
      expect(evaluated).toBeLessThanOrEqual(30);
      expect(answers.filter((res) => res.status === 401)).toHaveLength(evaluated);
      expect(answers.filter((res) => res.status === 429)).toHaveLength(200 - evaluated);
    } finally {
      server.closeAllConnections();
      server.close();
    }
  }, 60_000);
});

describe('the burst bound holds on a store with latency', () => {
  it('300 parallel wrong secrets against a store answering in 1-6 ms evaluate at most the budget (30)', async () => {
    // A shared store (as rate-limit-redis would be) that takes its time: counts read during a
    // comparison elsewhere must not let a waiter take a slot the budget no longer has.
    const hits = new Map<string, number>();
    const later = <T>(value: () => T) => new Promise<T>((resolve) => setTimeout(() => resolve(value()), 1 + Math.random() * 5));
    const store = {
      init: () => undefined,
      get: (key: string) => later(() => (hits.has(key) ? { totalHits: hits.get(key) as number, resetTime: new Date(Date.now() + 60_000) } : undefined)),
      increment: (key: string) => later(() => {
        hits.set(key, (hits.get(key) ?? 0) + 1);
        return { totalHits: hits.get(key) as number, resetTime: new Date(Date.now() + 60_000) };
      }),
      decrement: async () => undefined,
      resetKey: async () => undefined,
    };
    const clients = createMemoryClientRegistry([{ client_id: 'svc', client_secret: SERVICE_SECRET, grant_types: ['client_credentials'], scope: 'api' }]);
    const { app, events } = host(clients, { bruteForce: { clientAuthFailures: { backoff: false, store } } });
    const server = app.listen(0, '127.0.0.1');
    await once(server, 'listening');
    try {
      const answers = await Promise.all(Array.from({ length: 300 }, (_, i) => request(server).post('/connect/token').set('Authorization', basicOf('svc', `wrong-${i}`)).type('form').send('grant_type=client_credentials')));
      const evaluated = events.filter((event) => event.type === 'client.authentication_failed').length;
      expect(evaluated).toBeLessThanOrEqual(30);
      expect(answers.filter((res) => res.status === 401)).toHaveLength(evaluated);
      expect(answers.filter((res) => res.status === 429)).toHaveLength(300 - evaluated);
    } finally {
      server.closeAllConnections();
      server.close();
    }
  }, 60_000);

  it('a neighbour spending the address budget with made-up clients does not block a public client at the same address', async () => {
    const clients = createMemoryClientRegistry([
      { client_id: 'spa', token_endpoint_auth_method: 'none', grant_types: ['authorization_code'], redirect_uris: ['https://spa.example/cb'], scope: 'openid' },
    ]);
    const { app, router } = host(clients);
    for (let i = 0; i < 40; i += 1) {
      const res = await request(app).post('/connect/token').set('X-Forwarded-For', '198.51.100.9').set('Authorization', basicOf(`made-up-${i}`, 'guess')).type('form').send('grant_type=client_credentials');
      expect([401, 429]).toContain(res.status);
    }
    const minted = await router.issueAuthorizationCode({ clientId: 'spa', redirectUri: 'https://spa.example/cb', scope: 'openid', subject: 'u', codeChallenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', codeChallengeMethod: 'S256' });
    const res = await request(app).post('/connect/token').set('X-Forwarded-For', '198.51.100.9').type('form')
      .send({ grant_type: 'authorization_code', client_id: 'spa', code: minted.code, redirect_uri: 'https://spa.example/cb', code_verifier: 'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk' });
    expect(res.status).toBe(200);
  });
});
