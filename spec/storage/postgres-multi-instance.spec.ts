// spec/storage/postgres-multi-instance.spec.ts
// Token-endpoint processes (spec/fixtures/token-app.ts) sharing one PostgreSQL schema, each with
// its own Pool: two instances migrating a fresh schema at once; 50 concurrent redemptions of one
// code, refreshes of one token and polls of one device code split across both, with exactly one
// winner; a restart (new processes, new pools) that keeps everything; and an instance killed
// (SIGKILL) in the middle of bursts of redemptions and refreshes: every 200 it answered is durable.
import type { Pool } from 'pg';
import { hashOpaqueToken } from '../../lib';
import { SCHEMA_VERSION } from '../../lib/postgres';
import { keyPair } from '../helpers/keys';
import { createPool, describeWithPostgres, dropSchema, freshSchema } from '../helpers/postgres';
import { admin, post, redeem, refresh, startInstance, stopInstance, type Instance, type Reply } from '../helpers/token-app-process';

const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';
const RETRY_WINDOW_MS = 5_000;
const PARALLEL = 50;

/** A reply, or `lost` when the connection died with the process. */
type Outcome = Reply | 'lost';

describeWithPostgres('PostgreSQL adapter: token-endpoint processes sharing one database', (url) => {
  const schema = freshSchema('multi');
  let env: NodeJS.ProcessEnv;
  let a: Instance | undefined;
  let b: Instance | undefined;
  let pool: Pool;

  const A = () => a as Instance;
  const B = () => b as Instance;
  /** Instance i of a burst: alternately A and B. */
  const split = (i: number) => (i % 2 === 0 ? A() : B());

  beforeAll(async () => {
    const { privateKey } = keyPair('rsa', { modulusLength: 2048 });
    env = { ...process.env, ETE_STORE: 'postgres', PG_URL: url(), ETE_SCHEMA: schema, ETE_SIGNING_KEY: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString() };
    // Both start on a schema that does not exist yet: their migrations race (advisory lock).
    [a, b] = await Promise.all([startInstance('A', env), startInstance('B', env)]);
    pool = createPool(url());
  }, 90_000);

  afterAll(async () => {
    await Promise.all([stopInstance(a), stopInstance(b)]);
    await pool?.end();
    await dropSchema(url(), schema);
  });

  async function startGrant(on: Instance, other: Instance): Promise<{ grantId: string; refreshToken: string }> {
    const { code, grantId } = await admin<{ code: string; grantId: string }>(on, '/code', {});
    const res = await redeem(other, code);
    expect(res.status).toBe(200);
    return { grantId, refreshToken: res.body.refresh_token as string };
  }

  async function rows(sql: string, values: unknown[] = []): Promise<Array<Record<string, unknown>>> {
    return (await pool.query(sql.replaceAll('$schema', `"${schema}"`), values)).rows;
  }

  it('two instances that started at once on an empty database migrated it once', async () => {
    expect(await rows('SELECT version FROM $schema.schema_version ORDER BY version')).toEqual(Array.from({ length: SCHEMA_VERSION }, (_, i) => ({ version: i + 1 })));
    expect(A().child.pid).not.toBe(B().child.pid);
  });

  it(`a code redeemed ${PARALLEL} times at once across A and B: exactly one 200; the losers' replays revoke the grant`, async () => {
    const { code, grantId } = await admin<{ code: string; grantId: string }>(A(), '/code', {});
    const replies = await Promise.all(Array.from({ length: PARALLEL }, (_, i) => redeem(split(i), code)));
    const wins = replies.filter((r) => r.status === 200);
    expect(wins).toHaveLength(1);
    for (const r of replies.filter((x) => x.status !== 200)) expect([r.status, r.body.error]).toEqual([400, 'invalid_grant']);
    expect(new Set(replies.map((r) => r.instance))).toEqual(new Set(['A', 'B']));
    // The winner's family is stored; every loser saw a consumed code (a replay) and revoked the grant.
    expect(await rows('SELECT grant_id FROM $schema.refresh_tokens WHERE token_hash = $1', [hashOpaqueToken(wins[0].body.refresh_token as string)])).toEqual([{ grant_id: grantId }]);
    expect(await rows('SELECT grant_id FROM $schema.revoked_grants WHERE grant_id = $1', [grantId])).toEqual([{ grant_id: grantId }]);
    expect((await refresh(A(), wins[0].body.refresh_token as string)).body.error).toBe('invalid_grant');
  });

  it(`a refresh token refreshed ${PARALLEL} times at once across A and B: one successor, handed to every retry`, async () => {
    const { grantId, refreshToken } = await startGrant(A(), B());
    const replies = await Promise.all(Array.from({ length: PARALLEL }, (_, i) => refresh(split(i), refreshToken)));
    expect(replies.map((r) => r.status)).toEqual(replies.map(() => 200));
    const successors = new Set(replies.map((r) => r.body.refresh_token));
    expect(successors.size).toBe(1);
    expect(await rows('SELECT count(*)::int AS n FROM $schema.refresh_tokens WHERE grant_id = $1', [grantId])).toEqual([{ n: 2 }]);
    expect((await refresh(B(), [...successors][0] as string)).status).toBe(200);
  });

  it(`a device code approved on B and polled ${PARALLEL} times at once across A and B: exactly one 200`, async () => {
    const started = await post(A(), '/connect/deviceauthorization', { scope: 'openid offline_access api:read' }, 'tv');
    expect(started.status).toBe(200);
    expect((await admin<{ status: string }>(B(), '/approve', { user_code: started.body.user_code })).status).toBe('approved');
    const replies = await Promise.all(Array.from({ length: PARALLEL }, (_, i) => post(split(i), '/connect/token', { grant_type: DEVICE_GRANT, device_code: started.body.device_code as string }, 'tv')));
    const wins = replies.filter((r) => r.status === 200);
    expect(wins).toHaveLength(1);
    expect(typeof wins[0].body.refresh_token).toBe('string');
    for (const r of replies.filter((x) => x.status !== 200)) expect(['slow_down', 'invalid_grant']).toContain(r.body.error);
  });

  it('refresh-token reuse on B after a rotation on A revokes the family for both', async () => {
    const { grantId, refreshToken: first } = await startGrant(A(), B());
    const rotated = await refresh(A(), first);
    expect(rotated.status).toBe(200);
    await Promise.all([admin(A(), '/clock', { advanceMs: RETRY_WINDOW_MS + 1_000 }), admin(B(), '/clock', { advanceMs: RETRY_WINDOW_MS + 1_000 })]);
    expect((await refresh(B(), first)).body.error).toBe('invalid_grant');
    expect(await rows('SELECT grant_id FROM $schema.revoked_grants WHERE grant_id = $1', [grantId])).toHaveLength(1);
    expect((await refresh(A(), rotated.body.refresh_token as string)).body.error).toBe('invalid_grant');
  });

  it('a restart keeps everything: new processes with new pools redeem what the old ones issued, and refuse what they consumed', async () => {
    const { refreshToken } = await startGrant(A(), B());
    const { code: consumed } = await admin<{ code: string }>(A(), '/code', {});
    expect((await redeem(B(), consumed)).status).toBe(200);
    const { code: unused } = await admin<{ code: string }>(B(), '/code', {});
    await Promise.all([stopInstance(a), stopInstance(b)]);
    [a, b] = await Promise.all([startInstance('A', env), startInstance('B', env)]);
    expect((await refresh(A(), refreshToken)).status).toBe(200);
    expect((await redeem(B(), consumed)).body.error).toBe('invalid_grant');
    expect((await redeem(A(), unused)).status).toBe(200);
  }, 90_000);

  /** Sends `count` requests one event-loop turn apart, SIGKILLs `victim` once the first answer is back, and collects every outcome. */
  async function burstAndKill(victim: Instance, count: number, send: (i: number) => Promise<Reply>): Promise<Outcome[]> {
    const outcomes: Array<Promise<Outcome>> = [];
    for (let i = 0; i < count; i += 1) {
      outcomes.push(send(i).catch((): Outcome => 'lost'));
      await new Promise((resolve) => setImmediate(resolve));
    }
    await Promise.race(outcomes);
    await stopInstance(victim, 'SIGKILL');
    return Promise.all(outcomes);
  }

  it('an instance killed (SIGKILL) in the middle of bursts of redemptions and refreshes: every 200 it answered is durable', async () => {
    const COUNT = 60;
    const codes = await Promise.all(Array.from({ length: COUNT }, () => admin<{ code: string; grantId: string }>(B(), '/code', {})));
    const redemptions = await burstAndKill(A(), COUNT, (i) => redeem(A(), codes[i].code));
    a = await startInstance('A', env);

    const answered = redemptions.filter((r): r is Reply => r !== 'lost' && r.status === 200);
    expect(answered.length).toBeGreaterThan(0);
    expect(redemptions.some((r) => r === 'lost')).toBe(true);
    for (const [i, r] of redemptions.entries()) {
      const [code] = await rows('SELECT consumed_at FROM $schema.authorization_codes WHERE code_hash = $1', [hashOpaqueToken(codes[i].code)]);
      if (r !== 'lost' && r.status === 200) {
        expect(code.consumed_at).not.toBeNull();
        expect(await rows('SELECT grant_id FROM $schema.refresh_tokens WHERE token_hash = $1', [hashOpaqueToken(r.body.refresh_token as string)])).toEqual([{ grant_id: codes[i].grantId }]);
      } else if (code.consumed_at !== null) {
        // Consumed without an answer (lost in the crash): the family was stored first, so it exists.
        expect((await rows('SELECT 1 FROM $schema.refresh_tokens WHERE grant_id = $1', [codes[i].grantId])).length).toBeGreaterThan(0);
      }
    }

    // Now refreshes: the tokens answered above, rotated in a burst on A, killed mid-way.
    const tokens = answered.map((r) => r.body.refresh_token as string);
    const refreshes = await burstAndKill(A(), tokens.length, (i) => refresh(A(), tokens[i]));
    a = await startInstance('A', env);
    const rotated = refreshes.filter((r): r is Reply => r !== 'lost' && r.status === 200);
    // Every successor answered with 200 is stored and works, on either instance.
    for (const r of rotated) expect((await refresh(B(), r.body.refresh_token as string)).status).toBe(200);
    // Every token whose refresh was lost is either untouched (refreshable now) or rotated with its successor stored.
    for (const [i, r] of refreshes.entries()) {
      if (r !== 'lost' && r.status === 200) continue;
      const [old] = await rows('SELECT consumed_at, grant_id FROM $schema.refresh_tokens WHERE token_hash = $1', [hashOpaqueToken(tokens[i])]);
      if (old.consumed_at === null) expect((await refresh(A(), tokens[i])).status).toBe(200);
      else expect((await rows('SELECT count(*)::int AS n FROM $schema.refresh_tokens WHERE grant_id = $1', [old.grant_id]))[0].n).toBe(2);
    }
  }, 120_000);
});
