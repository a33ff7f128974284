// spec/storage/redis-cluster-ha.spec.ts
// The Redis adapter on a Redis Cluster of 3 primaries with one replica each (REDIS_CLUSTER_URLS
// from .ci/run, or six redis-servers this file starts): the conformance kit (with and without
// waitForReplicas, on an auto-pipelining Cluster client), the keys of one grant family, code and
// device request in one slot each, and MOVED redirects after a slot moved to another primary.
import { Cluster } from 'ioredis';
import { createRedisStorage, redisStorageKeys, type RedisStorage } from '../../lib/redis';
import { runStorageConformance } from '../../lib/testing';
import { startFaultApp, type FaultApp } from '../helpers/fault-app';
import { connectCluster, describeWithRedisCluster } from '../helpers/redis-cluster';
import { connectRedis, deleteKeysWithPrefix, freshPrefix, keysWithPrefix } from '../helpers/redis';

const WAIT = { replicas: 1, timeoutMs: 1000 } as const;

describeWithRedisCluster('Redis adapter on a 3-primary, 3-replica Redis Cluster', (handle) => {
  let cluster: Cluster;
  beforeAll(async () => {
    cluster = await connectCluster(handle().seeds, { enableAutoPipelining: true, redisOptions: { commandTimeout: 5000 } });
  });
  afterAll(async () => {
    await cluster?.quit();
  });

  it('is a cluster of 3 primaries with one replica each', async () => {
    const nodes = String(await cluster.nodes('master')[0].call('CLUSTER', 'NODES')).trim().split('\n');
    expect(nodes.filter((line) => /\bmaster\b/.test(line) && !/\bfail\b/.test(line))).toHaveLength(3);
    expect(nodes.filter((line) => /\bslave\b/.test(line) && !/\bfail\b/.test(line))).toHaveLength(3);
  });

  describe('conformance kit', () => {
    runStorageConformance<RedisStorage>({
      name: 'redis cluster 3+3',
      create: (clock) => createRedisStorage({ client: cluster, prefix: freshPrefix('c6'), clock }),
      destroy: (storage) => deleteKeysWithPrefix(cluster, storage.prefix),
    });
  });

  describe('conformance kit with waitForReplicas', () => {
    runStorageConformance<RedisStorage>({
      name: 'redis cluster 3+3 (waitForReplicas)',
      create: (clock) => createRedisStorage({ client: cluster, prefix: freshPrefix('c6w'), clock, waitForReplicas: WAIT }),
      destroy: (storage) => deleteKeysWithPrefix(cluster, storage.prefix),
    });
  });

  describe('key slots of what one grant writes', () => {
    const prefix = freshPrefix('slots');
    let app: FaultApp;
    beforeAll(async () => {
      app = await startFaultApp((clock) => createRedisStorage({ client: cluster, prefix, clock, waitForReplicas: WAIT }));
    });
    afterAll(async () => {
      await app?.close();
      await deleteKeysWithPrefix(cluster, prefix);
    });

    const keyslot = async (key: string) => Number(await cluster.call('CLUSTER', 'KEYSLOT', key));

    it('every key of one refresh-token family (tokens, envelopes, tombstone) is in one slot, the one its hash tag names', async () => {
      const { code, grantId } = await app.mint();
      const first = await app.redeem(code);
      expect(first.status).toBe(200);
      let token = first.body.refresh_token as string;
      for (let i = 0; i < 3; i++) {
        const next = await app.refresh(token);
        expect(next.status).toBe(200);
        token = next.body.refresh_token as string;
      }
      await app.storage.revokeGrant(grantId, Date.now(), Date.now() + 60_000);
      const keys = redisStorageKeys(prefix);
      const family = (await keysWithPrefix(cluster, prefix)).filter((key) => key.startsWith(keys.tombstone(grantId).replace(/revoked$/, '')));
      // 4 tokens, 3 retry envelopes (one per rotation), the tombstone.
      expect(family.filter((k) => k.includes(':rt:'))).toHaveLength(4);
      expect(family.filter((k) => k.includes(':env:'))).toHaveLength(3);
      expect(family).toContain(keys.tombstone(grantId));
      const slots = new Set(await Promise.all(family.map(keyslot)));
      expect(slots).toEqual(new Set([await keyslot(`{${grantId}}`)]));
    });

    it('the keys of every multi-key script share a slot: rotate (old, successor, tombstone, envelope) and readToken (a subset), also for grant ids with braces', async () => {
      const keys = redisStorageKeys(prefix);
      // Grant ids with braces are escaped, so their tag is never cut short.
      for (const grantId of ['g-1', 'weird}{id', '{}']) {
        const scriptKeys = [keys.token(grantId, 'old'), keys.token(grantId, 'new'), keys.tombstone(grantId), keys.envelope(grantId, 'old')];
        expect(new Set(await Promise.all(scriptKeys.map(keyslot))).size).toBe(1);
      }
      // Two families never share a tag: their tombstones are distinct keys (usually other slots).
      expect(keys.tombstone('a}')).not.toBe(keys.tombstone('a'));
    });

    it('a code, a device request and its user code live under their own keys, each used alone by its steps', async () => {
      const { code } = await app.mint();
      expect((await app.redeem(code)).status).toBe(200);
      const device = await app.approvedDevice();
      expect((await app.poll(device)).status).toBe(200);
      const all = await keysWithPrefix(cluster, prefix);
      const keys = redisStorageKeys(prefix);
      for (const kind of [keys.code(''), keys.device(''), keys.userCode('')]) expect(all.some((k) => k.startsWith(kind))).toBe(true);
    });
  });

  describe('MOVED: a slot moved to another primary under a client with a stale slot map', () => {
    for (const waitForReplicas of [undefined, WAIT]) {
      it(`consumes the code on its new primary${waitForReplicas ? ' and WAITs there (waitForReplicas)' : ''}`, async () => {
        const prefix = freshPrefix('moved');
        const storage = createRedisStorage({ client: cluster, prefix, waitForReplicas });
        const now = Date.now();
        const codeHash = `moved-${now}`;
        await storage.saveAuthorizationCode({ codeHash, clientId: 'web', redirectUri: 'https://web.example.com/cb', scope: ['openid'], subject: 'u', grantId: `g-${now}`, issuedAt: now, expiresAt: now + 60_000, authTime: now } as Parameters<RedisStorage['saveAuthorizationCode']>[0]);
        const key = redisStorageKeys(prefix).code(codeHash);
        await moveSlotOfKey(cluster, key);
        // The client still routes the slot to the old primary: it meets MOVED and follows it.
        expect(await storage.consumeAuthorizationCode(codeHash, now + 1)).toBe(true);
        expect(await storage.consumeAuthorizationCode(codeHash, now + 2)).toBe(false);
        expect((await storage.findAuthorizationCode(codeHash))?.consumedAt).toBe(now + 1);
        await deleteKeysWithPrefix(cluster, prefix);
      }, 30_000);
    }
  });
});

/**
 * Moves the slot of `key` (with its keys) to another primary the way `redis-cli --cluster reshard`
 * does, without telling the client: its slot map stays stale until a MOVED reply.
 */
async function moveSlotOfKey(cluster: Cluster, key: string): Promise<void> {
  const slot = Number(await cluster.call('CLUSTER', 'KEYSLOT', key));
  const masters = cluster.nodes('master');
  const ids = await Promise.all(masters.map(async (m) => String(await m.call('CLUSTER', 'MYID'))));
  const owners = await Promise.all(masters.map(async (m) => Number(await m.call('CLUSTER', 'COUNTKEYSINSLOT', String(slot))) > 0));
  const from = owners.indexOf(true);
  const to = (from + 1) % masters.length;
  const source = await connectRedis(`redis://${masters[from].options.host}:${masters[from].options.port}`);
  const target = await connectRedis(`redis://${masters[to].options.host}:${masters[to].options.port}`);
  try {
    await target.call('CLUSTER', 'SETSLOT', String(slot), 'IMPORTING', ids[from]);
    await source.call('CLUSTER', 'SETSLOT', String(slot), 'MIGRATING', ids[to]);
    const moving = (await source.call('CLUSTER', 'GETKEYSINSLOT', String(slot), '1000')) as string[];
    if (moving.length > 0) await source.call('MIGRATE', String(masters[to].options.host), String(masters[to].options.port), '', '0', '5000', 'KEYS', ...moving);
    for (const node of [target, source]) await node.call('CLUSTER', 'SETSLOT', String(slot), 'NODE', ids[to]);
  } finally {
    source.disconnect();
    target.disconnect();
  }
}
