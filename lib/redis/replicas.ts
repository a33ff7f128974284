// lib/redis/replicas.ts
// `waitForReplicas`: an atomic write followed by Redis `WAIT numreplicas timeout` on the connection
// that did the write, so the adapter only answers once that many replicas hold it (Redis
// replication is asynchronous: without WAIT, a primary that fails over right after answering may
// hand over to a replica that never saw the write, and a consumed code could be redeemed again).
//
// Why a two-command pipeline: WAIT counts the replicas that acknowledged the writes of *its own
// connection* (a fresh connection has written nothing, so WAIT there succeeds at once). Sent as
// [write, WAIT] in one pipeline, both go to one node over one connection: ioredis Cluster routes a
// pipeline by its keys (WAIT has none) and retries it as a whole only when every command failed
// alike. The cases where the WAIT could still land on another connection are refused:
// - a standalone client that reconnected between the two (ioredis resends unanswered commands on
//   the new connection): detected by counting the client's `close` events;
// - a write refused with a redirection (MOVED, ASK, TRYAGAIN, CLUSTERDOWN): nothing was written;
//   the pair is sent again after the slot map is refreshed;
// - NOSCRIPT (script cache flushed): nothing was written; the pair is sent again with EVAL.
// When fewer replicas acknowledge within the timeout, the step throws: the write stands on the
// primary (a code stays consumed), but no answer built on it leaves the endpoint (fail closed).
import type { Cluster, Redis } from 'ioredis';
import { checkKeys } from '../options/checks';

/** The `waitForReplicas` option of the Redis adapter. */
export interface WaitForReplicasOptions {
  /** Replicas that must acknowledge each consuming or rotating write (Redis `WAIT numreplicas`). A whole number, 1 or more. */
  readonly replicas: number;
  /** How long to wait for them, in ms (Redis `WAIT … timeout`). A whole number, 1 or more (0 would make Redis wait forever). */
  readonly timeoutMs: number;
}

/** Thrown when fewer replicas than required acknowledged a write in time (the request answers 500). */
export class ReplicationTimeoutError extends Error {
  constructor(
    /** How many replicas acknowledged the write in time. */
    readonly acknowledged: number,
    /** How many were required (`waitForReplicas.replicas`). */
    readonly required: number,
    /** How long WAIT waited, in ms. */
    readonly timeoutMs: number,
  ) {
    super(`Redis WAIT: ${acknowledged} of ${required} replica(s) acknowledged the write within ${timeoutMs} ms; the write stands on the primary but nothing built on it is answered`);
    this.name = 'ReplicationTimeoutError';
  }
}

type Arg = string | number;

/** One write: a script (by its Lua and key count) or a plain command. */
export type ReplicatedWrite =
  | { readonly script: { readonly lua: string; readonly sha: string; readonly numberOfKeys: number }; readonly args: readonly Arg[] }
  | { readonly command: 'set'; readonly args: readonly Arg[] };

/** Attempts for a write refused with a redirection before the step gives up (and answers 500). */
const REDIRECT_ATTEMPTS = 4;
const REDIRECT_PATTERN = /^(MOVED|ASK|TRYAGAIN|CLUSTERDOWN)\b/;

/** Validates the option (problems pushed as messages); returns it when valid. */
export function checkWaitForReplicas(value: unknown, client: Redis | Cluster | undefined, problems: string[]): WaitForReplicasOptions | undefined {
  if (value === undefined) return undefined;
  const at = 'createRedisStorage: waitForReplicas';
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    problems.push(`${at} must be an object { replicas, timeoutMs }.`);
    return undefined;
  }
  const before = problems.length;
  checkKeys(value as Record<string, unknown>, 'createRedisStorage.waitForReplicas', ['replicas', 'timeoutMs'], problems);
  const { replicas, timeoutMs } = value as Record<string, unknown>;
  if (typeof replicas !== 'number' || !Number.isInteger(replicas) || replicas < 1) problems.push(`${at}.replicas must be a whole number, 1 or more.`);
  if (typeof timeoutMs !== 'number' || !Number.isInteger(timeoutMs) || timeoutMs < 1) {
    problems.push(`${at}.timeoutMs must be a whole number of ms, 1 or more (Redis treats 0 as "wait forever").`);
  } else {
    // A client-side timeout shorter than WAIT's would cut every slow WAIT short with a less clear error.
    const commandTimeout = clientCommandTimeout(client);
    if (commandTimeout !== undefined && commandTimeout <= timeoutMs) {
      problems.push(`${at}.timeoutMs (${timeoutMs}) must be below the client's commandTimeout (${commandTimeout}), or every slow WAIT ends as a client timeout.`);
    }
  }
  return problems.length === before ? { replicas: replicas as number, timeoutMs: timeoutMs as number } : undefined;
}

function clientCommandTimeout(client: Redis | Cluster | undefined): number | undefined {
  if (!client || typeof client !== 'object') return undefined;
  const options = (client as { options?: { commandTimeout?: unknown; redisOptions?: { commandTimeout?: unknown } } }).options;
  const value = options?.commandTimeout ?? options?.redisOptions?.commandTimeout;
  return typeof value === 'number' ? value : undefined;
}

/** Runs writes followed by WAIT on the same connection (see the file header). */
export function createReplicatedWriter(client: Redis | Cluster, wait: WaitForReplicasOptions): (write: ReplicatedWrite) => Promise<unknown> {
  // Standalone (and Sentinel) clients reconnect and resend unanswered commands: a close between
  // the write and the WAIT's reply would let WAIT run on a connection that wrote nothing.
  const closes = isCluster(client) ? { count: 0 } : closeCounter(client);

  return async function replicated(write) {
    let useEval = false;
    for (let attempt = 1; ; attempt++) {
      const closesBefore = closes.count;
      const pipeline = client.pipeline();
      if ('script' in write) {
        const { lua, sha, numberOfKeys } = write.script;
        if (useEval) pipeline.eval(lua, numberOfKeys, ...write.args);
        else pipeline.evalsha(sha, numberOfKeys, ...write.args);
      } else {
        pipeline.call(write.command, ...write.args);
      }
      pipeline.wait(wait.replicas, wait.timeoutMs);
      const results = await pipeline.exec();
      if (!results || results.length !== 2) throw new Error('unexpected reply from a Redis [write, WAIT] pipeline');
      const [[writeError, reply], [waitError, acknowledged]] = results;
      if (writeError) {
        if (!useEval && writeError.message.startsWith('NOSCRIPT')) {
          useEval = true;
          continue;
        }
        if (REDIRECT_PATTERN.test(writeError.message) && attempt < REDIRECT_ATTEMPTS && isCluster(client)) {
          await refreshSlots(client);
          await new Promise((resolve) => setTimeout(resolve, 50 * attempt)); // a failover or slot move settles
          continue;
        }
        throw writeError;
      }
      if (waitError) throw waitError;
      if (closes.count !== closesBefore) throw new Error('the Redis connection closed between a write and its WAIT: replication of the write is unknown');
      if (typeof acknowledged !== 'number' || acknowledged < wait.replicas) {
        throw new ReplicationTimeoutError(typeof acknowledged === 'number' ? acknowledged : 0, wait.replicas, wait.timeoutMs);
      }
      return reply;
    }
  };
}

/** One `close` listener per client, shared by every adapter on it (no listener pile-up). */
const closeCounters = new WeakMap<Redis, { count: number }>();
function closeCounter(client: Redis): { count: number } {
  let counter = closeCounters.get(client);
  if (!counter) {
    const created = { count: 0 };
    client.on('close', () => { created.count += 1; });
    closeCounters.set(client, created);
    counter = created;
  }
  return counter;
}

function isCluster(client: Redis | Cluster): client is Cluster {
  return (client as { isCluster?: unknown }).isCluster === true;
}

function refreshSlots(cluster: Cluster): Promise<void> {
  return new Promise((resolve) => {
    // Errors are not fatal here: the next attempt meets the same redirection (or succeeds).
    cluster.refreshSlotsCache(() => resolve());
  });
}
