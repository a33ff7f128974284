// spec/storage/redis-fault.spec.ts
// The token endpoint on the Redis adapter when Redis goes away: a redis-server of its own (AOF,
// fsync on every write, so what Redis acknowledged survives a crash), stopped and crashed mid-run.
// While it is down every stateful grant answers a fast 500 server_error (JSON, no stack, no
// tokens); after a restart it recovers; and nothing was half-written.
import type Redis from 'ioredis';
import { hashOpaqueToken, type StorageAdapter } from '../../lib';
import { createRedisStorage, redisStorageKeys } from '../../lib/redis';
import { expectServerError as expectFailure, redeemBurstAndCrash, startFaultApp, type FaultApp, type FaultReply } from '../helpers/fault-app';
import { connectRedis, describeWithRedis, FAIL_FAST, startRedisServer, type RedisServer } from '../helpers/redis';

const INTERNALS = /redis|ioredis|ECONNREFUSED|Stream isn't writeable/i;

describeWithRedis('Redis adapter: Redis stopped and crashed mid-run', () => {
  let server: RedisServer;
  let client: Redis;
  let app: FaultApp;
  let storage: StorageAdapter;

  beforeAll(async () => {
    server = await startRedisServer({ durable: true });
    client = await connectRedis(server.url, FAIL_FAST);
    client.on('error', () => undefined); // connection errors while it is down are expected here
    app = await startFaultApp((clock) => createRedisStorage({ client, prefix: 'ete-fault:', clock }));
    storage = app.storage;
  }, 30_000);

  afterAll(async () => {
    await app?.close();
    client?.disconnect();
    await server?.dispose();
  });

  const redeem = (code: string) => app.redeem(code);
  const refresh = (token: string) => app.refresh(token);
  const poll = (deviceCodeValue: string) => app.poll(deviceCodeValue);
  const mint = () => app.mint();
  const expectServerError = (reply: FaultReply) => expectFailure(reply, INTERNALS);

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

  it('answers fast 500 server_error while Redis is down, issues nothing, then recovers with nothing half-written', async () => {
    // Up: a code to redeem during the outage, a refresh token, an approved device code.
    const pending = await mint();
    const first = await redeem((await mint()).code);
    expect(first.status).toBe(200);
    const rt = first.body.refresh_token as string;
    const deviceCodeValue = await app.approvedDevice();
    const loggedBefore = app.harness.logged.length;

    await server.stop();
    await untilDown();

    const started = Date.now();
    expectServerError(await redeem(pending.code));
    expectServerError(await refresh(rt));
    expectServerError(await poll(deviceCodeValue));
    expect(Date.now() - started).toBeLessThan(3_000); // fail fast: no offline queue, no retry loop
    await expect(mint()).rejects.toThrow();
    // Grants without storage keep working.
    expect((await app.clientCredentials()).status).toBe(200);
    // The cause reaches the logger (with its details), not the client.
    expect(app.harness.logged.slice(loggedBefore).filter((entry) => entry.level === 'error').length).toBeGreaterThanOrEqual(3);

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
    // Crash once the first answers come back, while the rest are in flight.
    const settled = await redeemBurstAndCrash(app, codes, () => server.kill());
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
