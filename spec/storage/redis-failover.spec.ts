// spec/storage/redis-failover.spec.ts
// Failover of a Redis Cluster primary under the token endpoint, on throwaway 3+3 clusters of this
// file's own (it kills and promotes nodes). Redis replication is asynchronous: a primary answers a
// write before any replica has it, so a failover right after can lose it.
//
// 1. Deterministic: the replica of the code's primary is frozen (SIGSTOP, link cut), the code is redeemed,
//    the primary dies and the replica takes over (CLUSTER FAILOVER TAKEOVER) without the consume;
//    the old primary restarts empty as its replica.
//    Without waitForReplicas the same code is then accepted a second time (two 200s); with it, the
//    first redemption answered 500 (no replica acknowledged), so exactly one 200 is ever answered.
// 2. Under load with waitForReplicas: concurrent redemptions and refresh rotations while every
//    replica forces a failover (CLUSTER FAILOVER FORCE: no offset handshake, so in-flight writes may
//    be lost), then every code and token is tried once more: no code is answered 200 twice and no
//    refresh token yields two different successors. The same run without the option is recorded
//    (reported, not asserted: whether a write falls into the window depends on timing).
import type { Cluster, Redis } from 'ioredis';
import { createRedisStorage, redisStorageKeys, type WaitForReplicasOptions } from '../../lib/redis';
import { startFaultApp, type FaultApp, type FaultReply } from '../helpers/fault-app';
import { connectCluster, describeWithRedisCluster, waitForClusterReady, type RedisClusterHandle } from '../helpers/redis-cluster';
import { connectRedis, type RedisServer } from '../helpers/redis';
import { hashOpaqueToken } from '../../lib';

const WAIT: WaitForReplicasOptions = { replicas: 1, timeoutMs: 500 };
/** Client settings of a token endpoint meant to ride out a failover: fail fast, follow the new map. */
const CLIENT_OPTIONS = { enableOfflineQueue: true, retryDelayOnFailover: 200, retryDelayOnClusterDown: 200, redisOptions: { connectTimeout: 1000, commandTimeout: 3000, maxRetriesPerRequest: 2 } } as const;

interface Shard {
  readonly primary: RedisServer;
  readonly replica: RedisServer;
}

/** The primary serving `key` and its replica, among the servers this file started. */
async function shardOf(handle: RedisClusterHandle, key: string): Promise<Shard> {
  const any = await connectRedis(`redis://${handle.seeds[0]}`);
  try {
    const slot = Number(await any.call('CLUSTER', 'KEYSLOT', key));
    const lines = String(await any.call('CLUSTER', 'NODES')).trim().split('\n').map((line) => line.split(' '));
    const portOf = (fields: string[]) => Number(fields[1].split('@')[0].split(':')[1]);
    const owner = lines.find((f) => f[2].includes('master') && f.slice(8).some((range) => {
      const [lo, hi] = range.split('-').map(Number);
      return slot >= lo && slot <= (hi ?? lo);
    }));
    const replica = lines.find((f) => owner && f[3] === owner[0]);
    const server = (fields: string[] | undefined) => handle.servers?.find((s) => fields && s.port === portOf(fields));
    const [p, r] = [server(owner), server(replica)];
    if (!p || !r) throw new Error(`no primary/replica for slot ${slot}`);
    return { primary: p, replica: r };
  } finally {
    any.disconnect();
  }
}

/** Until `key` can be read on the replica (the write reached it). */
async function untilReplicated(replica: RedisServer, key: string): Promise<void> {
  const node = await connectRedis(replica.url);
  try {
    await node.call('READONLY');
    const deadline = Date.now() + 10_000;
    while ((await node.exists(key)) !== 1) {
      if (Date.now() > deadline) throw new Error(`${key} did not reach the replica`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  } finally {
    node.disconnect();
  }
}

async function role(server: RedisServer): Promise<string> {
  const node = await connectRedis(server.url);
  try {
    return /role:(\w+)/.exec(await node.info('replication'))?.[1] ?? 'unknown';
  } finally {
    node.disconnect();
  }
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function openApp(handle: RedisClusterHandle, waitForReplicas: WaitForReplicasOptions | undefined): Promise<{ app: FaultApp; cluster: Cluster }> {
  const cluster = await connectCluster(handle.seeds, CLIENT_OPTIONS);
  cluster.on('error', () => undefined); // node errors during the failover are expected here
  const app = await startFaultApp((clock) => createRedisStorage({ client: cluster, prefix: 'ete-failover:', clock, waitForReplicas }));
  return { app, cluster };
}

/** Freezes the code's replica, redeems, kills the primary, promotes the replica, redeems again. */
async function redeemAcrossLostWrite(handle: RedisClusterHandle, waitForReplicas: WaitForReplicasOptions | undefined): Promise<[FaultReply, FaultReply]> {
  const { app, cluster } = await openApp(handle, waitForReplicas);
  try {
    const { code } = await app.mint();
    const key = redisStorageKeys('ete-failover:').code(hashOpaqueToken(code));
    const shard = await shardOf(handle, key);
    await untilReplicated(shard.replica, key); // the code itself is on the replica…
    // …but nothing after it: frozen, and its link cut (else the kernel would still deliver what the
    // primary streams to it, and it would read that on resume).
    shard.replica.pause();
    const old = await connectRedis(shard.primary.url);
    await old.call('CLIENT', 'KILL', 'TYPE', 'replica');
    old.disconnect();
    const first = await app.redeem(code);
    await shard.primary.kill();
    shard.replica.resume();
    const promoted: Redis = await connectRedis(shard.replica.url);
    try {
      await promoted.call('CLUSTER', 'FAILOVER', 'TAKEOVER');
      await until('the replica serves as primary', async () => (await promoted.info('replication')).includes('role:master') && String(await promoted.call('CLUSTER', 'INFO')).includes('cluster_state:ok'));
    } finally {
      promoted.disconnect();
    }
    // The old primary comes back empty and rejoins as the new primary's replica (with
    // waitForReplicas, a primary without a replica fails every consume closed); then the client
    // reloads the slot map and the code is redeemed once more, on the new primary.
    await shard.primary.restart();
    await until('the old primary is a synced replica', async () => {
      const node = await connectRedis(shard.primary.url);
      try {
        const replication = await node.info('replication');
        return replication.includes('role:slave') && replication.includes('master_link_status:up');
      } finally {
        node.disconnect();
      }
    });
    await waitForClusterReady(handle.seeds);
    await new Promise<void>((resolve) => cluster.refreshSlotsCache(() => resolve()));
    // A synced link is not yet an acknowledging one: under load the rejoined replica's first
    // acknowledgements can miss a short WAIT, and the redemption would fail closed (500) for that
    // reason alone. Wait until a write on the new primary is acknowledged within a second.
    await until('the new primary has a replica that acknowledges writes', async () => {
      const node = await connectRedis(shard.replica.url);
      try {
        await node.set(`{${key}}:probe`, '1', 'PX', 5000);
        return Number(await node.call('WAIT', '1', '1000')) >= 1;
      } finally {
        node.disconnect();
      }
    });
    const second = await app.redeem(code);
    return [first, second];
  } finally {
    await app.close();
    cluster.disconnect();
  }
}



interface Tally {
  readonly answers: Map<string, FaultReply[]>;
}

interface LoadResult {
  readonly codes: Tally;
  readonly refreshes: Tally;
  /** Replicas that serve as primaries after the run (3 when every forced failover took place). */
  readonly promoted: number;
}

/** Redemptions and refreshes (3 each per credential, spread over ~1.5 s) while every replica forces a failover. */
async function loadAcrossForcedFailover(handle: RedisClusterHandle, waitForReplicas: WaitForReplicasOptions | undefined): Promise<LoadResult> {
  const { app, cluster } = await openApp(handle, waitForReplicas);
  try {
    const codes = await Promise.all(Array.from({ length: 30 }, () => app.mint()));
    const tokens: string[] = [];
    for (const { code } of await Promise.all(Array.from({ length: 15 }, () => app.mint()))) {
      const reply = await app.redeem(code);
      if (reply.status !== 200) throw new Error(`setup redemption answered ${reply.status}`);
      tokens.push(reply.body.refresh_token as string);
    }
    const codeAnswers = new Map<string, FaultReply[]>(codes.map(({ code }) => [code, []]));
    const tokenAnswers = new Map<string, FaultReply[]>(tokens.map((t) => [t, []]));
    const requests: Array<Promise<void>> = [];
    const send = (map: Map<string, FaultReply[]>, key: string, call: () => Promise<FaultReply>) => requests.push(call().then((r) => { map.get(key)?.push(r); }));
    const replicas: RedisServer[] = [];
    for (const server of handle.servers ?? []) if ((await role(server)) === 'slave') replicas.push(server);
    const failover = (async () => {
      await new Promise((resolve) => setTimeout(resolve, 50)); // while the first round is in flight
      // One shard after the other: simultaneous elections can split the primaries' votes, and an
      // election that fails is abandoned; a failover not done within 3 s is asked for again.
      for (const server of replicas) {
        const node = await connectRedis(server.url);
        try {
          for (let attempt = 0; attempt < 3 && (await role(server)) !== 'master'; attempt++) {
            await node.call('CLUSTER', 'FAILOVER', 'FORCE');
            await until('the replica is promoted', async () => (await role(server)) === 'master', 3_000).catch(() => undefined);
          }
        } finally {
          node.disconnect();
        }
      }
    })();
    for (let round = 0; round < 3; round++) {
      for (const { code } of codes) send(codeAnswers, code, () => app.redeem(code));
      for (const token of tokens) send(tokenAnswers, token, () => app.refresh(token));
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    await failover;
    await Promise.all(requests);
    // Once the new primaries serve: every credential once more (a lost consume would accept it again).
    await waitForClusterReady(handle.seeds);
    const promoted = (await Promise.all(replicas.map(role))).filter((r) => r === 'master').length;
    for (const { code } of codes) codeAnswers.get(code)?.push(await app.redeem(code));
    for (const token of tokens) tokenAnswers.get(token)?.push(await app.refresh(token));
    return { codes: { answers: codeAnswers }, refreshes: { answers: tokenAnswers }, promoted };
  } finally {
    await app.close();
    cluster.disconnect();
  }
}

/** Codes answered 200 more than once; refresh tokens that yielded more than one distinct successor; codes redeemed at all; answers by status. */
function doubleAcceptances(result: LoadResult): { codes: number; refreshTokens: number; codesRedeemed: number; statuses: Record<string, number> } {
  const statuses: Record<string, number> = {};
  let codes = 0;
  let refreshTokens = 0;
  for (const replies of [...result.codes.answers.values(), ...result.refreshes.answers.values()]) {
    for (const r of replies) statuses[r.status] = (statuses[r.status] ?? 0) + 1;
  }
  for (const replies of result.codes.answers.values()) if (replies.filter((r) => r.status === 200).length > 1) codes++;
  for (const replies of result.refreshes.answers.values()) {
    if (new Set(replies.filter((r) => r.status === 200).map((r) => r.body.refresh_token)).size > 1) refreshTokens++;
  }
  const codesRedeemed = [...result.codes.answers.values()].filter((replies) => replies.some((r) => r.status === 200)).length;
  return { codes, refreshTokens, codesRedeemed, statuses };
}

function expectOnlyJsonAnswers(result: LoadResult): void {
  expect(result.promoted).toBe(3); // every forced failover took place
  for (const replies of [...result.codes.answers.values(), ...result.refreshes.answers.values()]) {
    for (const r of replies) {
      expect([200, 400, 500]).toContain(r.status);
      if (r.status !== 200) expect(['invalid_grant', 'server_error']).toContain(r.body.error);
    }
  }
}


describeWithRedisCluster('Redis failover: a primary of a 3+3 cluster fails over under the token endpoint', (handle) => {
  it('without waitForReplicas, a consume lost with its primary: the same code is accepted twice, once on the old primary, once on the replica that took over', async () => {
    const [first, second] = await redeemAcrossLostWrite(handle(), undefined);
    expect(first.status).toBe(200);
    expect(second.status).toBe(200); // the documented window: an acknowledged write lost on failover
    expect(second.body.access_token).not.toBe(first.body.access_token);
  }, 60_000);

  it('with waitForReplicas, the same lost consume: the first redemption answers 500 (no replica acknowledged), so the code is accepted once', async () => {
    const [first, second] = await redeemAcrossLostWrite(handle(), WAIT);
    expect([first.status, first.body.error, first.body.access_token]).toEqual([500, 'server_error', undefined]);
    expect(second.status).toBe(200);
  }, 60_000);

  it('under load with waitForReplicas: no code is answered 200 twice and no refresh token yields two successors, across forced failovers of every primary', async () => {
    const result = await loadAcrossForcedFailover(handle(), WAIT);
    expectOnlyJsonAnswers(result);
    const doubles = doubleAcceptances(result);
    console.info(`failover under load with waitForReplicas: ${JSON.stringify(doubles)}`);
    expect([doubles.codes, doubles.refreshTokens]).toEqual([0, 0]);
    // The run did serve: most codes were redeemed once.
    // The run did serve across the failovers (most 500s come while new primaries have no replica yet).
    expect(doubles.codesRedeemed).toBeGreaterThan(5);
  }, 60_000);

  it('under load without waitForReplicas (recorded): answers every request with 200 or a JSON error across forced failovers; double acceptances are reported', async () => {
    const result = await loadAcrossForcedFailover(handle(), undefined);
    expectOnlyJsonAnswers(result);
    // Not asserted: whether an acknowledged write falls into the replication window is timing.
    console.info(`failover under load without waitForReplicas: ${JSON.stringify(doubleAcceptances(result))}`);
  }, 60_000);
}, { ownCluster: true, start: { nodeTimeoutMs: 2000 } });
