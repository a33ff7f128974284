// spec/helpers/redis-rate-limit-store.ts
// Inside describeWithRedis: one ioredis client for the file, a fresh key prefix per test (its
// keys deleted afterwards), and rate-limit-redis stores on that client under the prefix.
import type Redis from 'ioredis';
import { RedisStore, type RedisReply } from 'rate-limit-redis';
import { connectRedis, deleteKeysWithPrefix, freshPrefix } from './redis';

export interface RateLimitRedisFixture {
  /** A new rate-limit-redis store (one per limiter, as express-rate-limit requires) under this test's prefix + `suffix`. */
  store(suffix?: string): RedisStore;
  /** This test's key prefix. */
  prefix(): string;
  /** The file's client, to look at the counters. */
  client(): Redis;
}

export function useRateLimitRedis(url: () => string, label: string): RateLimitRedisFixture {
  let client: Redis;
  let prefix = '';
  beforeAll(async () => {
    client = await connectRedis(url());
  });
  afterAll(async () => {
    await client?.quit();
  });
  beforeEach(() => {
    prefix = freshPrefix(label);
  });
  afterEach(async () => {
    await deleteKeysWithPrefix(client, prefix);
  });
  return {
    store: (suffix = '') => new RedisStore({ prefix: `${prefix}${suffix}`, sendCommand: (command: string, ...args: string[]) => client.call(command, ...args) as Promise<RedisReply> }),
    prefix: () => prefix,
    client: () => client,
  };
}
