// spec/storage/redis-cluster-multi-instance.spec.ts
// Two token-endpoint processes on one 3+3 Redis Cluster (REDIS_CLUSTER_URLS from .ci/run, or one
// started here), with waitForReplicas: the multi-instance tests of spec/helpers/redis-multi-instance.ts.
import { connectCluster, describeWithRedisCluster } from '../helpers/redis-cluster';
import { multiInstanceTests } from '../helpers/redis-multi-instance';

describeWithRedisCluster('Redis adapter: two instances sharing one Redis Cluster (waitForReplicas)', (handle) => {
  multiInstanceTests(async () => ({
    env: { REDIS_CLUSTER_URLS: handle().seeds.join(','), ETE_WAIT_REPLICAS: '1' },
    client: await connectCluster(handle().seeds),
  }));
});
