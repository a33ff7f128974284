// spec/helpers/redis.ts
// Redis for the Redis adapter specs: REDIS_URL when set, else a redis-server this process starts,
// else the suites skip with a message — except under CI, where a missing Redis fails them.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Redis, { Cluster, type RedisOptions } from 'ioredis';

export const REDIS_SKIP_MESSAGE = 'Redis not available: set REDIS_URL (or install redis-server) to run the Redis adapter tests';

/** How this run gets a Redis, decided synchronously when the spec file is loaded. */
export type RedisMode = { readonly kind: 'url'; readonly url: string } | { readonly kind: 'local' } | { readonly kind: 'missing'; readonly reason: string };

let decided: RedisMode | undefined;

/** REDIS_URL (checked reachable), else a local redis-server binary, else missing. */
export function redisMode(): RedisMode {
  if (decided) return decided;
  const url = process.env.REDIS_URL;
  if (url) {
    decided = tcpReachable(url) ? { kind: 'url', url } : { kind: 'missing', reason: `REDIS_URL=${url} is not reachable` };
  } else {
    decided = hasRedisServerBinary() ? { kind: 'local' } : { kind: 'missing', reason: 'REDIS_URL is not set and redis-server is not installed' };
  }
  return decided;
}

/** Whether `redis-server` can be started here (the fault and cluster specs start their own). */
export function hasRedisServerBinary(): boolean {
  const probe = spawnSync('redis-server', ['--version'], { encoding: 'utf8', timeout: 5000 });
  return probe.status === 0 && /Redis server/.test(probe.stdout);
}

function tcpReachable(url: string): boolean {
  const { hostname, port } = new URL(url);
  const script = `const s=require('net').connect(${Number(port || 6379)},${JSON.stringify(hostname.replace(/^\[|\]$/g, '') || '127.0.0.1')});s.setTimeout(2000);s.on('connect',()=>process.exit(0));s.on('error',()=>process.exit(1));s.on('timeout',()=>process.exit(1));`;
  return spawnSync(process.execPath, ['-e', script], { timeout: 5000 }).status === 0;
}

/**
 * Registers `body` inside a describe block when a Redis is available; `url()` gives its URL from
 * beforeAll on. Without Redis the block holds one skipped test naming what to set — or, under CI,
 * one failing test: CI must run these specs. `ownServers`: the spec starts and stops its own
 * redis-server processes, so it needs the binary (REDIS_URL alone is not enough) and no shared URL.
 */
export function describeWithRedis(title: string, body: (url: () => string) => void, options: { ownServers?: boolean } = {}): void {
  let mode = redisMode();
  if (options.ownServers) {
    mode = hasRedisServerBinary() ? { kind: 'local' } : { kind: 'missing', reason: 'redis-server is not installed (this spec starts its own servers)' };
  }
  if (mode.kind === 'missing') {
    if (process.env.CI) {
      describe(title, () => {
        it('has a Redis to test against', () => {
          throw new Error(`${mode.reason}. CI must run the Redis specs: .ci/run installs redis-server and exports REDIS_URL.`);
        });
      });
    } else {
      console.warn(`${title}: ${REDIS_SKIP_MESSAGE} (${mode.reason}).`);
      describe(title, () => {
        it.skip(REDIS_SKIP_MESSAGE, () => undefined);
      });
    }
    return;
  }
  describe(title, () => {
    let url = mode.kind === 'url' ? mode.url : '';
    let local: RedisServer | undefined;
    beforeAll(async () => {
      if (mode.kind === 'local' && !options.ownServers) {
        local = await startRedisServer();
        url = local.url;
      }
    });
    body(() => {
      if (!url) throw new Error('Redis URL used before beforeAll ran');
      return url;
    });
    // Declared after the body's hooks, so it runs after them (jest runs afterAll hooks in
    // declaration order): the body's cleanup still has its Redis.
    afterAll(async () => {
      await local?.dispose();
    });
  });
}

/** A key prefix no other test uses. */
export function freshPrefix(label = 'test'): string {
  return `ete-${label}:${randomUUID().slice(0, 8)}:`;
}

/** Connects a client and waits until it is ready. */
export async function connectRedis(url: string, options: RedisOptions = {}): Promise<Redis> {
  const client = new Redis(url, { lazyConnect: true, ...options });
  await client.connect();
  return client;
}

/** Client options that make a down Redis fail requests at once instead of queueing them. */
export const FAIL_FAST: RedisOptions = {
  enableOfflineQueue: false,
  maxRetriesPerRequest: 1,
  connectTimeout: 1000,
  commandTimeout: 1000,
  retryStrategy: () => 100,
};

/** Every key under `prefix` (SCAN, test use only), on every master of a cluster. */
export async function keysWithPrefix(client: Redis | Cluster, prefix: string): Promise<string[]> {
  const nodes = client instanceof Cluster ? client.nodes('master') : [client];
  const found: string[] = [];
  for (const node of nodes) {
    let cursor = '0';
    do {
      const [next, batch] = await node.scan(cursor, 'MATCH', `${escapeGlob(prefix)}*`, 'COUNT', 1000);
      found.push(...batch);
      cursor = next;
    } while (cursor !== '0');
  }
  return found;
}

/** Deletes every key under `prefix` (test cleanup). */
export async function deleteKeysWithPrefix(client: Redis | Cluster, prefix: string): Promise<void> {
  for (const key of await keysWithPrefix(client, prefix)) await client.del(key);
}

function escapeGlob(value: string): string {
  return value.replace(/[*?[\]\\]/g, (c) => `\\${c}`);
}

/** A free TCP port on the loopback interface. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** A redis-server child process on loopback. */
export interface RedisServer {
  readonly port: number;
  readonly url: string;
  /** Its working directory (AOF files when `durable`). */
  readonly dir: string;
  /** SIGTERM and wait for exit: an orderly outage (data stays in `dir` when durable). */
  stop(): Promise<void>;
  /** SIGKILL and wait for exit: a crash. */
  kill(): Promise<void>;
  /** SIGSTOP: the process freezes (a hung node; a replica stops acknowledging). */
  pause(): void;
  /** SIGCONT after pause. */
  resume(): void;
  /** Starts it (again) on the same port and directory, after stop or kill. */
  restart(): Promise<void>;
  /** Stops it for good and removes its directory. */
  dispose(): Promise<void>;
}

export interface RedisServerOptions {
  /** AOF with fsync on every write, so a crash keeps every acknowledged write. */
  durable?: boolean;
  /** Cluster mode: `true` is one node serving all 16384 slots; `'join'` a node without slots, for `redis-cli --cluster create`. */
  cluster?: boolean | 'join';
  port?: number;
  /** More redis-server arguments (e.g. `--cluster-node-timeout`). */
  extraArgs?: readonly string[];
}

/** Starts redis-server on 127.0.0.1 (a free port unless given) in a temporary directory. */
export async function startRedisServer(options: RedisServerOptions = {}): Promise<RedisServer> {
  const port = options.port ?? (await freePort());
  const dir = mkdtempSync(join(tmpdir(), 'ete-redis-'));
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--dir', dir, '--daemonize', 'no', '--loglevel', 'warning'];
  args.push('--appendonly', options.durable ? 'yes' : 'no');
  if (options.durable) args.push('--appendfsync', 'always');
  // The bus port is set too: the default (port + 10000) does not exist for ports above 55535.
  if (options.cluster) args.push('--cluster-enabled', 'yes', '--cluster-config-file', join(dir, 'nodes.conf'), '--cluster-announce-ip', '127.0.0.1', '--cluster-port', String(await freePort()));
  args.push(...(options.extraArgs ?? []));
  let child: ChildProcess | undefined;
  let output = '';

  const start = async () => {
    output = '';
    const proc = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    child = proc;
    proc.stdout?.on('data', (chunk: Buffer) => { output += chunk.toString(); });
    proc.stderr?.on('data', (chunk: Buffer) => { output += chunk.toString(); });
    const deadline = Date.now() + 10_000;
    while (!(await ping(port))) {
      if (proc.exitCode !== null || Date.now() > deadline) {
        proc.kill('SIGKILL');
        throw new Error(`redis-server on port ${port} did not start:\n${output}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    if (options.cluster === true) await assignAllSlots(port);
  };
  const exit = async (signal: NodeJS.Signals) => {
    const proc = child;
    child = undefined;
    if (!proc || proc.exitCode !== null) return;
    proc.kill('SIGCONT'); // a paused server would never handle SIGTERM
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    proc.kill(signal);
    await exited;
  };
  const killOnExit = () => child?.kill('SIGKILL');
  process.once('exit', killOnExit);

  await start();
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    dir,
    stop: () => exit('SIGTERM'),
    pause: () => void child?.kill('SIGSTOP'),
    resume: () => void child?.kill('SIGCONT'),
    kill: () => exit('SIGKILL'),
    restart: async () => {
      await exit('SIGTERM');
      await start();
    },
    dispose: async () => {
      await exit('SIGTERM');
      process.removeListener('exit', killOnExit);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function assignAllSlots(port: number): Promise<void> {
  const client = await connectRedis(`redis://127.0.0.1:${port}`);
  try {
    const info = await client.call('CLUSTER', 'INFO');
    if (!String(info).includes('cluster_state:ok')) {
      if (String(info).includes('cluster_slots_assigned:0')) await client.call('CLUSTER', 'ADDSLOTSRANGE', '0', '16383');
      const deadline = Date.now() + 10_000;
      while (!String(await client.call('CLUSTER', 'INFO')).includes('cluster_state:ok')) {
        if (Date.now() > deadline) throw new Error('single-node cluster did not become ok');
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
  } finally {
    client.disconnect();
  }
}

/** PING over a raw socket: true on +PONG. */
function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = new Socket();
    let reply = '';
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once('error', () => done(false));
    socket.connect(port, '127.0.0.1', () => socket.write('PING\r\n'));
    socket.on('data', (chunk) => {
      reply += chunk.toString();
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG'));
    });
  });
}
