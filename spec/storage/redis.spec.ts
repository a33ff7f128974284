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
