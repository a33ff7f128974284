// spec/storage/redis-replicas.spec.ts
// waitForReplicas on a primary with one replica (redis-servers of this file): the conformance kit
// holds with it; while the replica does not acknowledge (SIGSTOP), every consuming or rotating
// request answers 500 server_error within the timeout with nothing issued, and the consume stands
// (a retry of the code is invalid_grant); once the replica is back, requests succeed again.
import type Redis from 'ioredis';
import { createRedisStorage, redisStorageKeys, ReplicationTimeoutError, type RedisStorage } from '../../lib/redis';
import { runStorageConformance } from '../../lib/testing';
import { expectServerError, startFaultApp, type FaultApp } from '../helpers/fault-app';
import { connectRedis, deleteKeysWithPrefix, describeWithRedis, FAIL_FAST, freshPrefix, keysWithPrefix, startRedisServer, type RedisServer } from '../helpers/redis';

const WAIT = { replicas: 1, timeoutMs: 300 } as const;

describeWithRedis('Redis adapter: waitForReplicas on a primary with one replica', () => {
  let primary: RedisServer;
  let replica: RedisServer;
  let client: Redis;

  beforeAll(async () => {
    primary = await startRedisServer();
    replica = await startRedisServer({ extraArgs: ['--replicaof', '127.0.0.1', String(primary.port)] });
    client = await connectRedis(primary.url, { ...FAIL_FAST, commandTimeout: 2000 });
    // Until the replica has synced: WAIT 1 answers 1.
    const deadline = Date.now() + 20_000;
    while (Number(await client.call('WAIT', '1', '200')) < 1) {
      if (Date.now() > deadline) throw new Error('replica did not sync');
    }
  }, 30_000);
  afterAll(async () => {
    client?.disconnect();
    await replica?.dispose();
    await primary?.dispose();
  });

  it('validates the option at creation, with every problem named', () => {
    const create = (waitForReplicas: unknown) => () => createRedisStorage({ client, waitForReplicas } as unknown as Parameters<typeof createRedisStorage>[0]);
    expect(create({ replicas: 0, timeoutMs: 100 })).toThrow(/waitForReplicas\.replicas must be a whole number, 1 or more/);
    expect(create({ replicas: 1.5, timeoutMs: 100 })).toThrow(/replicas must be a whole number/);
    expect(create({ replicas: 1, timeoutMs: 0 })).toThrow(/timeoutMs must be a whole number of ms, 1 or more .*wait forever/);
    expect(create({ replicas: 1 })).toThrow(/timeoutMs must be/);
    expect(create({ replicas: 1, timeoutMs: 100, retries: 2 })).toThrow(/Unknown option "createRedisStorage\.waitForReplicas\.retries"\. Known options: replicas, timeoutMs/);
    expect(create(5)).toThrow(/waitForReplicas must be an object/);
    // The client's commandTimeout is 2000 ms: a WAIT as long would be cut short by the client.
    expect(create({ replicas: 1, timeoutMs: 2000 })).toThrow(/timeoutMs \(2000\) must be below the client's commandTimeout \(2000\)/);
    expect(create({ replicas: 1, timeoutMs: 1999 })).not.toThrow();
  });

  it('fails the step when the connection closes between the write and its WAIT (a WAIT resent alone, on a connection that wrote nothing, would pass)', async () => {
    // Default client options: reconnect and resend unanswered commands.
    const own = await connectRedis(primary.url, { commandTimeout: 5_000, retryStrategy: () => 50 });
    const prefix = freshPrefix('replicas-reconnect');
    const storage = createRedisStorage({ client: own, prefix, waitForReplicas: { replicas: 1, timeoutMs: 3_000 } });
    const id = String(await own.call('CLIENT', 'ID'));
    replica.pause();
    try {
      const pending = storage.recordOneTimeUse('jti-reconnect', Date.UTC(2030, 0, 1));
      const settled = pending.then(() => 'resolved', (error: Error) => error.message);
      await new Promise((resolve) => setTimeout(resolve, 300)); // the write is done, its WAIT pending
      await client.call('CLIENT', 'KILL', 'ID', id);
      // A WAIT resent on the new connection would see the (frozen, connected) replica at once and
      // pass. ioredis 5.11 aborts a pipeline's unanswered tail itself; the adapter's own check
      // (its message) covers clients that resend it. Either way the step must not succeed.
      expect(await settled).toMatch(/connection closed between a write and its WAIT|aborted due to connection close/);
    } finally {
      replica.resume();
      own.disconnect();
    }
    await deleteKeysWithPrefix(client, prefix);
  }, 15_000);

  describe('the conformance kit with waitForReplicas', () => {
    runStorageConformance<RedisStorage>({
      name: 'redis primary+replica (waitForReplicas)',
      create: (clock) => createRedisStorage({ client, prefix: freshPrefix('replicas'), clock, waitForReplicas: { replicas: 1, timeoutMs: 1000 } }),
      destroy: (storage) => deleteKeysWithPrefix(client, storage.prefix),
    });
  });

  describe('through the token endpoint', () => {
    const prefix = freshPrefix('replicas-http');
    let app: FaultApp;
    beforeAll(async () => {
      app = await startFaultApp((clock) => createRedisStorage({ client, prefix, clock, waitForReplicas: WAIT }));
    });
    afterAll(async () => {
      replica.resume();
      await app?.close();
      await deleteKeysWithPrefix(client, prefix);
    });

    it('answers 500 with nothing issued while no replica acknowledges, and the consume stands', async () => {
      const healthy = await app.redeem((await app.mint()).code);
      expect(healthy.status).toBe(200);
      const refreshToken = healthy.body.refresh_token as string;
      const { code, grantId } = await app.mint();
      const device = await app.approvedDevice();

      replica.pause();
      try {
        const started = Date.now();
        const [redeemed, refreshed, polled] = await Promise.all([app.redeem(code), app.refresh(refreshToken), app.poll(device)]);
        for (const reply of [redeemed, refreshed, polled]) expectServerError(reply, /redis|WAIT|replica/i);
        // Bounded by the WAIT timeout (plus slack for a loaded machine), not by a client timeout.
        expect(Date.now() - started).toBeLessThan(1_800);
        // The grant stores its refresh token before the consume (so a crash never burns a code
        // without its family): that one record exists, but its value never left the endpoint.
        expect(await keysWithPrefix(client, redisStorageKeys(prefix).token(grantId, ''))).toHaveLength(1);
        // The storage call itself names the cause.
        await expect(app.storage.recordOneTimeUse('jti-while-paused', Date.UTC(2030, 0, 1))).rejects.toBeInstanceOf(ReplicationTimeoutError);
      } finally {
        replica.resume();
      }
      // The consume happened on the primary before WAIT gave up: the same code is now a replay.
      const retried = await app.redeem(code);
      expect([retried.status, retried.body.error]).toEqual([400, 'invalid_grant']);
      // …and as a replay it revokes the grant, so the stored, never-issued refresh token is dead too.
      expect(await app.storage.isGrantRevoked(grantId)).toBe(true);
      // The replica acknowledges again: a fresh code works.
      const fresh = await app.redeem((await app.mint()).code);
      expect(fresh.status).toBe(200);
    }, 20_000);
  });
}, { ownServers: true });
