// spec/storage/redis.spec.ts
// The Redis adapter against the public conformance kit, on a real Redis (REDIS_URL, or a
// redis-server started for this file). Each test gets a fresh key prefix.
import type Redis from 'ioredis';
import { createRedisStorage, type RedisStorage } from '../../lib/redis';
import { runStorageConformance } from '../../lib/testing';
import { connectRedis, deleteKeysWithPrefix, describeWithRedis, freshPrefix } from '../helpers/redis';

describeWithRedis('Redis storage adapter', (url) => {
  let client: Redis;
  beforeAll(async () => {
    client = await connectRedis(url());
  });
  afterAll(async () => {
    await client?.quit();
  });

  runStorageConformance<RedisStorage>({
    name: 'redis',
    create: (clock) => createRedisStorage({ client, prefix: freshPrefix('conformance'), clock }),
    // The client is shared by the whole file: drop this test's keys, keep the connection.
    destroy: (storage) => deleteKeysWithPrefix(client, storage.prefix),
  });
});

// The README recommends enableAutoPipelining (commands of one event-loop turn share one write):
// the adapter's atomic steps must hold with it too.
describeWithRedis('Redis storage adapter on an auto-pipelining client', (url) => {
  let client: Redis;
  beforeAll(async () => {
    client = await connectRedis(url(), { enableAutoPipelining: true });
  });
  afterAll(async () => {
    await client?.quit();
  });

  runStorageConformance<RedisStorage>({
    name: 'redis (enableAutoPipelining)',
    create: (clock) => createRedisStorage({ client, prefix: freshPrefix('conformance-ap'), clock }),
    destroy: (storage) => deleteKeysWithPrefix(client, storage.prefix),
  });
});
