// spec/storage/redis-fault.spec.ts
// The token endpoint on the Redis adapter when Redis goes away: a redis-server of its own (AOF,
// fsync on every write, so what Redis acknowledged survives a crash), stopped and crashed mid-run.
// While it is down every stateful grant answers a fast 500 server_error (JSON, no stack, no
// tokens); after a restart it recovers; and nothing was half-written.
import type { Server } from 'node:http';
import type Redis from 'ioredis';
import { authorizationCode, clientCredentials, deviceCode, hashOpaqueToken, refreshToken, type MemoryClientDefinition, type StorageAdapter } from '../../lib';
import { createRedisStorage, redisStorageKeys } from '../../lib/redis';
import { createCodeTestApp, SERVICE_SECRET, type CodeTestApp } from '../helpers/create-app';
import { connectRedis, describeWithRedis, FAIL_FAST, startRedisServer, type RedisServer } from '../helpers/redis';

const REDIRECT = 'https://web.example.com/cb';
const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';
const CLIENTS: MemoryClientDefinition[] = [
  { client_id: 'web', client_secret: SERVICE_SECRET, grant_types: ['authorization_code', 'refresh_token'], redirect_uris: [REDIRECT], scope: 'openid offline_access api:read' },
  { client_id: 'tv', client_secret: SERVICE_SECRET, grant_types: [DEVICE_GRANT, 'refresh_token'], scope: 'openid offline_access api:read' },
  { client_id: 'service', client_secret: SERVICE_SECRET, grant_types: ['client_credentials'], scope: 'api:read' },
];

interface Reply {
  readonly status: number;
  readonly text: string;
  readonly headers: Headers;
  readonly body: Record<string, unknown>;
}

describeWithRedis('Redis adapter: Redis stopped and crashed mid-run', () => {
  let server: RedisServer;
  let client: Redis;
  let harness: CodeTestApp;
  let http: Server;
  let base: string;
  let storage: StorageAdapter;

  beforeAll(async () => {
    server = await startRedisServer({ durable: true });
    client = await connectRedis(server.url, FAIL_FAST);
    client.on('error', () => undefined); // connection errors while it is down are expected here
    harness = createCodeTestApp((clock) => ({
      storage: createRedisStorage({ client, prefix: 'ete-fault:', clock }),
      grants: [authorizationCode(), refreshToken(), clientCredentials(), deviceCode({ verificationUri: 'https://id.example.test/device' })],
    }), CLIENTS);
    storage = harness.storage;
    http = harness.app.listen(0, '127.0.0.1');
    await new Promise<void>((resolve) => http.once('listening', () => resolve()));
    const address = http.address();
    base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  }, 30_000);

  afterAll(async () => {
    await new Promise<void>((resolve) => http?.close(() => resolve()));
    client?.disconnect();
    await server?.dispose();
  });

  async function post(path: string, form: Record<string, string>, clientId: string): Promise<Reply> {
    const res = await fetch(`${base}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${clientId}:${SERVICE_SECRET}`).toString('base64')}` },
      body: new URLSearchParams(form).toString(),
    });
    const text = await res.text();
    return { status: res.status, text, headers: res.headers, body: JSON.parse(text) as Record<string, unknown> };
  }
  const redeem = (code: string) => post('/connect/token', { grant_type: 'authorization_code', code, redirect_uri: REDIRECT }, 'web');
  const refresh = (token: string) => post('/connect/token', { grant_type: 'refresh_token', refresh_token: token }, 'web');
  const poll = (deviceCodeValue: string) => post('/connect/token', { grant_type: DEVICE_GRANT, device_code: deviceCodeValue }, 'tv');
  const mint = () => harness.tokenRouter.issueAuthorizationCode({ clientId: 'web', redirectUri: REDIRECT, scope: 'openid offline_access api:read', subject: 'user-1' });

  async function approvedDevice(): Promise<string> {
    const started = await post('/connect/deviceauthorization', { scope: 'openid offline_access' }, 'tv');
    expect(started.status).toBe(200);
    expect((await harness.tokenRouter.deviceVerification.approve(started.body.user_code as string, { subject: 'user-1' }, { key: 'fault' })).status).toBe('approved');
    return started.body.device_code as string;
  }

  async function untilReady(): Promise<void> {
    const deadline = Date.now() + 15_000;
    while (client.status !== 'ready') {
      if (Date.now() > deadline) throw new Error(`client did not reconnect (status ${client.status})`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  async function untilDown(): Promise<void> {
    const deadline = Date.now() + 5_000;
    while (client.status === 'ready') {
      if (Date.now() > deadline) throw new Error('client did not notice that Redis stopped');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  /** The failure answer: 500 server_error, JSON, no-store, no stack or internals, no token. */
  function expectServerError(reply: Reply): void {
    expect(reply.status).toBe(500);
    expect(reply.headers.get('content-type')).toMatch(/^application\/json/);
    expect(reply.headers.get('cache-control')).toBe('no-store');
    expect(reply.body.error).toBe('server_error');
    expect(Object.keys(reply.body).every((key) => key === 'error' || key === 'error_description')).toBe(true);
    expect(reply.text).not.toMatch(/\bat \S+ \(|stack|redis|ioredis|ECONNREFUSED|Stream isn't writeable/i);
    expect(reply.body.access_token).toBeUndefined();
    expect(reply.body.refresh_token).toBeUndefined();
  }

  it('answers fast 500 server_error while Redis is down, issues nothing, then recovers with nothing half-written', async () => {
    // Up: a code to redeem during the outage, a refresh token, an approved device code.
    const pending = await mint();
    const first = await redeem((await mint()).code);
    expect(first.status).toBe(200);
    const rt = first.body.refresh_token as string;
    const deviceCodeValue = await approvedDevice();
    const loggedBefore = harness.logged.length;

    await server.stop();
    await untilDown();

    const started = Date.now();
    expectServerError(await redeem(pending.code));
    expectServerError(await refresh(rt));
    expectServerError(await poll(deviceCodeValue));
    expect(Date.now() - started).toBeLessThan(3_000); // fail fast: no offline queue, no retry loop
    await expect(mint()).rejects.toThrow();
    // Grants without storage keep working.
    expect((await post('/connect/token', { grant_type: 'client_credentials' }, 'service')).status).toBe(200);
    // The cause reaches the logger (with its details), not the client.
    expect(harness.logged.slice(loggedBefore).filter((entry) => entry.level === 'error').length).toBeGreaterThanOrEqual(3);

    await server.restart();
    await untilReady();

    // Nothing was written by the failed requests: the code is unconsumed, the refresh token
    // unrotated, the device code unconsumed — each works now, exactly once.
    expect((await storage.findAuthorizationCode(hashOpaqueToken(pending.code)))?.consumedAt).toBeUndefined();
    expect((await storage.findRefreshToken(hashOpaqueToken(rt)))?.consumedAt).toBeUndefined();
    const recovered = await redeem(pending.code);
    expect(recovered.status).toBe(200);
    expect((await refresh(rt)).status).toBe(200);
    const polled = await poll(deviceCodeValue);
    expect(polled.status).toBe(200);
    expect(typeof polled.body.refresh_token).toBe('string');
  }, 60_000);

  it('a crash in the middle of a burst: every token issued is stored, every failure is a 500 with no tokens', async () => {
    const codes = await Promise.all(Array.from({ length: 80 }, () => mint()));
    const replies: Array<Promise<Reply>> = [];
    for (const { code } of codes) {
      replies.push(redeem(code));
      await new Promise((resolve) => setImmediate(resolve));
    }
    // Crash once the first answers come back, while the rest are in flight.
    await Promise.race(replies);
    await server.kill();
    const settled = await Promise.all(replies);
    await server.restart();
    await untilReady();

    let consumedWithoutTokens = 0;
    for (const [i, reply] of settled.entries()) {
      const stored = await storage.findAuthorizationCode(hashOpaqueToken(codes[i].code));
      if (reply.status === 200) {
        // Issued ⇒ durable: the code is consumed and the refresh token's record is stored.
        expect(stored?.consumedAt).toEqual(expect.any(Number));
        const token = await storage.findRefreshToken(hashOpaqueToken(reply.body.refresh_token as string));
        expect(token?.grantId).toBe(codes[i].grantId);
      } else {
        expectServerError(reply);
        if (stored?.consumedAt !== undefined) {
          // The first refresh token is stored before the code is consumed: a consumed code always
          // has its family, even when the reply was lost in the crash.
          consumedWithoutTokens += 1;
          const familyKeys = await client.keys(`ete-fault:${redisStorageKeys('').token(codes[i].grantId, '*')}`);
          expect(familyKeys.length).toBeGreaterThan(0);
        }
      }
    }
    expect(settled.some((reply) => reply.status === 200)).toBe(true);
    expect(settled.some((reply) => reply.status === 500)).toBe(true);
    if (consumedWithoutTokens > 0) console.warn(`redis-fault: ${consumedWithoutTokens} consumed code(s) answered 500 (reply lost in the crash); each has its family`);
  }, 60_000);
});
