// spec/helpers/redis-multi-instance.ts
// The multi-instance tests of the Redis adapter: two token-endpoint processes
// (spec/fixtures/token-app.ts, same prefix, key and clients) on one Redis deployment — standalone
// (redis-multi-instance.spec.ts) or a 3+3 Cluster (redis-cluster-multi-instance.spec.ts).
// Concurrent redemptions split across both have exactly one winner, and refresh-token reuse on one
// instance revokes the family on the other.
import type { Cluster, Redis } from 'ioredis';
import { redisStorageKeys } from '../../lib/redis';
import { deleteKeysWithPrefix, freshPrefix, keysWithPrefix } from './redis';
import { keyPair } from './keys';
import { admin, post, redeem, refresh, startInstance, stopInstance, type Instance } from './token-app-process';

const RETRY_WINDOW_MS = 5_000;
const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';
const PARALLEL = 20;

/** What the instances connect to: their store environment and a client of the test's own. */
export interface MultiInstanceStore {
  /** REDIS_URL or REDIS_CLUSTER_URLS (and ETE_WAIT_REPLICAS if wanted) for the fixture. */
  readonly env: NodeJS.ProcessEnv;
  readonly client: Redis | Cluster;
}

/** Registers the multi-instance tests in the current describe block; `connect` runs in beforeAll. */
export function multiInstanceTests(connect: () => Promise<MultiInstanceStore>): void {
  const prefix = freshPrefix('multi');
  let a: Instance | undefined;
  let b: Instance | undefined;
  let redis: Redis | Cluster;

  const A = () => a as Instance;
  const B = () => b as Instance;
  /** Instance i of a burst: alternately A and B. */
  const split = (i: number) => (i % 2 === 0 ? A() : B());

  beforeAll(async () => {
    const store = await connect();
    redis = store.client;
    const { privateKey } = keyPair('rsa', { modulusLength: 2048 });
    // Only the store settings given: a REDIS_CLUSTER_URLS of the environment must not switch a standalone run to the cluster.
    const { REDIS_URL: _url, REDIS_CLUSTER_URLS: _cluster, ETE_WAIT_REPLICAS: _wait, ...inherited } = process.env;
    const env = { ...inherited, ...store.env, ETE_PREFIX: prefix, ETE_SIGNING_KEY: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString() };
    [a, b] = await Promise.all([startInstance('A', env), startInstance('B', env)]);
  }, 60_000);

  afterAll(async () => {
    await Promise.all([stopInstance(a), stopInstance(b)]);
    if (redis) {
      await deleteKeysWithPrefix(redis, prefix);
      await redis.quit();
    }
  });

  async function mintCode(on: Instance): Promise<{ code: string; grantId: string }> {
    return admin(on, '/code', {});
  }

  async function startGrant(): Promise<{ grantId: string; refreshToken: string }> {
    const { code, grantId } = await mintCode(A());
    const res = await redeem(B(), code);
    expect(res.status).toBe(200);
    return { grantId, refreshToken: res.body.refresh_token as string };
  }

  /** Moves both instances' clocks forward (each process has its own offset). */
  async function advance(ms: number): Promise<void> {
    await Promise.all([admin(A(), '/clock', { advanceMs: ms }), admin(B(), '/clock', { advanceMs: ms })]);
  }

  it('serves one key set from both instances, from separate processes', async () => {
    const [jwksA, jwksB] = await Promise.all([fetch(`${A().base}/.well-known/jwks.json`), fetch(`${B().base}/.well-known/jwks.json`)].map(async (p) => (await p).json()));
    expect(jwksA).toEqual(jwksB);
    expect(A().child.pid).not.toBe(B().child.pid);
  });

  it(`a code minted on A and redeemed ${PARALLEL} times at once across A and B: exactly one 200`, async () => {
    const { code } = await mintCode(A());
    const replies = await Promise.all(Array.from({ length: PARALLEL }, (_, i) => redeem(split(i), code)));
    const wins = replies.filter((r) => r.status === 200);
    expect(wins).toHaveLength(1);
    expect(typeof wins[0].body.access_token).toBe('string');
    for (const r of replies.filter((x) => x.status !== 200)) expect([r.status, r.body.error]).toEqual([400, 'invalid_grant']);
    expect(new Set(replies.map((r) => r.instance))).toEqual(new Set(['A', 'B']));
  });

  it(`a refresh token refreshed ${PARALLEL} times at once across A and B: one successor, handed to every retry`, async () => {
    const { grantId, refreshToken } = await startGrant();
    const replies = await Promise.all(Array.from({ length: PARALLEL }, (_, i) => refresh(split(i), refreshToken)));
    // Within the retry window every loser gets the winner's sealed pair: never a second successor.
    const successors = new Set(replies.filter((r) => r.status === 200).map((r) => r.body.refresh_token));
    expect(replies.every((r) => r.status === 200)).toBe(true);
    expect(successors.size).toBe(1);
    const stored = await keysWithPrefix(redis, redisStorageKeys(prefix).token(grantId, ''));
    expect(stored).toHaveLength(2); // the first token (now used) and its one successor
    // The successor works once, on either instance.
    const next = await refresh(A(), [...successors][0] as string);
    expect(next.status).toBe(200);
  });

  it('refresh-token reuse is detected across instances: rotate on A, replay the old token on B after the retry window → the family is revoked, also on A', async () => {
    const { grantId, refreshToken: first } = await startGrant();
    const rotated = await refresh(A(), first);
    expect(rotated.status).toBe(200);
    const second = rotated.body.refresh_token as string;
    await advance(RETRY_WINDOW_MS + 1_000);
    const replay = await refresh(B(), first);
    expect([replay.status, replay.body.error]).toEqual([400, 'invalid_grant']);
    expect(await redis.exists(redisStorageKeys(prefix).tombstone(grantId))).toBe(1);
    const afterRevocation = await refresh(A(), second);
    expect([afterRevocation.status, afterRevocation.body.error]).toEqual([400, 'invalid_grant']);
    expect(afterRevocation.body.access_token).toBeUndefined();
  });

  it(`a device code started on A, approved on B and polled ${PARALLEL} times at once across both: exactly one 200`, async () => {
    const started = await post(A(), '/connect/deviceauthorization', { scope: 'openid offline_access api:read' }, 'tv');
    expect(started.status).toBe(200);
    const decided = await admin<{ status: string }>(B(), '/approve', { user_code: started.body.user_code });
    expect(decided.status).toBe('approved');
    const replies = await Promise.all(Array.from({ length: PARALLEL }, (_, i) => post(split(i), '/connect/token', { grant_type: DEVICE_GRANT, device_code: started.body.device_code as string }, 'tv')));
    const wins = replies.filter((r) => r.status === 200);
    expect(wins).toHaveLength(1);
    expect(typeof wins[0].body.refresh_token).toBe('string');
    for (const r of replies.filter((x) => x.status !== 200)) expect(['slow_down', 'invalid_grant']).toContain(r.body.error);
  });

  it('user codes are unique across instances: 20 device authorizations started at once on A and B all get distinct codes that look up their own request', async () => {
    const replies = await Promise.all(Array.from({ length: PARALLEL }, (_, i) => post(split(i), '/connect/deviceauthorization', { scope: 'openid' }, 'tv')));
    expect(replies.every((r) => r.status === 200)).toBe(true);
    expect(new Set(replies.map((r) => r.body.user_code)).size).toBe(PARALLEL);
    // Approving on the other instance finds each one.
    const decisions = await Promise.all(replies.map((r, i) => admin<{ status: string }>(split(i + 1), '/approve', { user_code: r.body.user_code })));
    expect(decisions.every((d) => d.status === 'approved')).toBe(true);
  });
}
