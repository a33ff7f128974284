// spec/storage/redis-multi-instance.spec.ts
// Two token-endpoint processes on one standalone Redis (the tests: spec/helpers/redis-multi-instance.ts).
import { connectRedis, describeWithRedis } from '../helpers/redis';
import { multiInstanceTests } from '../helpers/redis-multi-instance';

describeWithRedis('Redis adapter: two instances sharing one Redis', (url) => {
  multiInstanceTests(async () => ({ env: { REDIS_URL: url() }, client: await connectRedis(url()) }));
});
