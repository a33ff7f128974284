// spec/helpers/redis-cluster.ts
// A Redis Cluster of 3 primaries with one replica each for the Redis high-availability specs:
// REDIS_CLUSTER_URLS (comma-separated host:port seeds, started by .ci/run) when set, else six
// redis-server processes this file starts, else the suites skip with a message — except under CI,
// where a missing cluster fails them. Specs that fail nodes over always start a cluster of their own.
import { spawn, spawnSync } from 'node:child_process';
import { Cluster, type ClusterOptions } from 'ioredis';
import { connectRedis, freePort, hasRedisServerBinary, REDIS_SKIP_MESSAGE, startRedisServer, type RedisServer } from './redis';

export const REDIS_CLUSTER_SKIP_MESSAGE = 'Redis Cluster not available: set REDIS_CLUSTER_URLS (or install redis-server and redis-cli) to run the Redis Cluster tests';

/** A running cluster: its seeds and, when this process started it, its nodes. */
export interface RedisClusterHandle {
  /** `host:port` of every node (seeds for a Cluster client). */
  readonly seeds: readonly string[];
  /** The nodes, when this process started them (undefined for REDIS_CLUSTER_URLS). */
  readonly servers?: readonly RedisServer[];
  /** Stops what this process started (nothing for REDIS_CLUSTER_URLS). */
  dispose(): Promise<void>;
}

export interface StartClusterOptions {
  /**
   * cluster-node-timeout in ms: how long a primary may be unreachable before its replica takes
   * over. Short for the failover spec; the default (15 s) otherwise.
   */
  nodeTimeoutMs?: number;
}

function hasRedisCli(): boolean {
  return spawnSync('redis-cli', ['--version'], { encoding: 'utf8', timeout: 5000 }).status === 0;
}

/** Starts 6 cluster-mode redis-servers and joins them as 3 primaries with one replica each. */
export async function startRedisCluster(options: StartClusterOptions = {}): Promise<RedisClusterHandle> {
  const extraArgs = ['--cluster-node-timeout', String(options.nodeTimeoutMs ?? 15_000), '--cluster-replica-validity-factor', '0'];
  const servers: RedisServer[] = [];
  try {
    for (let i = 0; i < 6; i++) servers.push(await startRedisServer({ cluster: 'join', port: await freePort(), extraArgs }));
    const seeds = servers.map((s) => `127.0.0.1:${s.port}`);
    await runRedisCli(['--cluster', 'create', ...seeds, '--cluster-replicas', '1', '--cluster-yes']);
    await waitForClusterReady(seeds);
    return {
      seeds,
      servers,
      dispose: async () => {
        await Promise.all(servers.map((s) => s.dispose()));
      },
    };
  } catch (error) {
    await Promise.all(servers.map((s) => s.dispose()));
    throw error;
  }
}

function runRedisCli(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('redis-cli', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => { output += chunk.toString(); });
    child.stderr.on('data', (chunk: Buffer) => { output += chunk.toString(); });
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve(output) : reject(new Error(`redis-cli ${args.join(' ')} exited with ${code}:\n${output}`))));
  });
}

/** Until every node reports cluster_state:ok and every replica's link to its primary is up. */
export async function waitForClusterReady(seeds: readonly string[], timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (const seed of seeds) {
    const node = await connectRedis(`redis://${seed}`);
    try {
      for (;;) {
        const info = String(await node.call('CLUSTER', 'INFO'));
        const replication = await node.info('replication');
        const linkDown = replication.includes('role:slave') && !replication.includes('master_link_status:up');
        if (info.includes('cluster_state:ok') && !linkDown) break;
        if (Date.now() > deadline) throw new Error(`cluster node ${seed} not ready:\n${info}\n${replication}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    } finally {
      node.disconnect();
    }
  }
}

/** A connected ioredis Cluster client on `seeds`. */
export async function connectCluster(seeds: readonly string[], options: ClusterOptions = {}): Promise<Cluster> {
  const nodes = seeds.map((seed) => {
    const [host, port] = seed.split(':');
    return { host, port: Number(port) };
  });
  const cluster = new Cluster(nodes, { lazyConnect: true, ...options });
  await cluster.connect();
  return cluster;
}

/** REDIS_CLUSTER_URLS, checked reachable by one cluster-mode PING. */
function clusterFromEnv(): { seeds: string[] } | { missing: string } | undefined {
  const value = process.env.REDIS_CLUSTER_URLS;
  if (!value) return undefined;
  const seeds = value.split(',').map((s) => s.trim().replace(/^redis:\/\//, '')).filter(Boolean);
  const probe = spawnSync('redis-cli', ['-c', '-h', seeds[0].split(':')[0], '-p', seeds[0].split(':')[1], 'CLUSTER', 'INFO'], { encoding: 'utf8', timeout: 5000 });
  if (probe.status !== 0 || !probe.stdout.includes('cluster_state:ok')) return { missing: `REDIS_CLUSTER_URLS=${value} is not a reachable cluster in state ok` };
  return { seeds };
}

/**
 * Registers `body` inside a describe block when a 3+3 Redis Cluster is available: REDIS_CLUSTER_URLS,
 * else (with `redis-server` and `redis-cli` installed) one this file starts in beforeAll. `seeds()`
 * gives its nodes from beforeAll on. Without one: one skipped test naming what to set — or, under
 * CI, one failing test. `ownCluster`: the spec always starts a throwaway cluster of its own (it
 * fails nodes over), so REDIS_CLUSTER_URLS alone is not enough.
 */
export function describeWithRedisCluster(
  title: string,
  body: (cluster: () => RedisClusterHandle) => void,
  options: { ownCluster?: boolean; start?: StartClusterOptions } = {},
): void {
  const fromEnv = options.ownCluster ? undefined : clusterFromEnv();
  let missing: string | undefined;
  if (fromEnv && 'missing' in fromEnv) missing = fromEnv.missing;
  else if (!fromEnv && !(hasRedisServerBinary() && hasRedisCli())) missing = 'redis-server or redis-cli is not installed (this spec starts its own cluster)';
  if (missing !== undefined) {
    const reason = missing;
    if (process.env.CI) {
      describe(title, () => {
        it('has a Redis Cluster to test against', () => {
          throw new Error(`${reason}. CI must run the Redis Cluster specs: .ci/run starts one and exports REDIS_CLUSTER_URLS.`);
        });
      });
    } else {
      console.warn(`${title}: ${REDIS_CLUSTER_SKIP_MESSAGE} (${reason}; ${REDIS_SKIP_MESSAGE}).`);
      describe(title, () => {
        it.skip(REDIS_CLUSTER_SKIP_MESSAGE, () => undefined);
      });
    }
    return;
  }
  describe(title, () => {
    let handle: RedisClusterHandle | undefined;
    beforeAll(async () => {
      handle = fromEnv && 'seeds' in fromEnv ? { seeds: fromEnv.seeds, dispose: async () => undefined } : await startRedisCluster(options.start);
    }, 60_000);
    body(() => {
      if (!handle) throw new Error('Redis Cluster used before beforeAll ran');
      return handle;
    });
    // After the body's hooks (jest runs afterAll hooks in declaration order).
    afterAll(async () => {
      await handle?.dispose();
    }, 30_000);
  });
}
