// spec/storage/redis-cluster.spec.ts
// The Redis adapter on Redis Cluster: a one-node cluster (all 16384 slots) started for this file,
// reached through ioredis' Cluster client. Cluster mode refuses a script or command whose keys hash
// to different slots (CROSSSLOT), so passing the conformance kit here proves the key design: every
// atomic step touches keys of one slot.
import { Cluster } from 'ioredis';
import { createRedisStorage, redisStorageKeys, type RedisStorage } from '../../lib/redis';
import { runStorageConformance } from '../../lib/testing';
import { deleteKeysWithPrefix, describeWithRedis, freshPrefix, startRedisServer, type RedisServer } from '../helpers/redis';

describeWithRedis('Redis storage adapter on Redis Cluster', () => {
  let server: RedisServer;
  let cluster: Cluster;
  beforeAll(async () => {
    server = await startRedisServer({ cluster: true });
    cluster = new Cluster([{ host: '127.0.0.1', port: server.port }], { lazyConnect: true });
    await cluster.connect();
  }, 30_000);
  afterAll(async () => {
    await cluster?.quit();
    await server?.dispose();
  });

  it('refuses a script whose keys are in different slots (the check the suite relies on)', async () => {
    const keys = redisStorageKeys('ete-x:');
    await expect(cluster.eval("return redis.call('EXISTS', KEYS[1], KEYS[2])", 2, keys.tokenIndex('a'), keys.tokenIndex('b'))).rejects.toThrow(/CROSSSLOT|slot/i);
    // Keys of one grant share the slot: the same call on a token and its grant's tombstone runs.
    await expect(cluster.eval("return redis.call('EXISTS', KEYS[1], KEYS[2])", 2, keys.token('g-1', 'a'), keys.tombstone('g-1'))).resolves.toBe(0);
  });

  runStorageConformance<RedisStorage>({
    name: 'redis cluster',
    create: (clock) => createRedisStorage({ client: cluster, prefix: freshPrefix('cluster'), clock }),
    destroy: (storage) => deleteKeysWithPrefix(cluster, storage.prefix),
  });
}, { ownServers: true });
