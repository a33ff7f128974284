// spec/storage/postgres-fault.spec.ts
// The token endpoint on the PostgreSQL adapter when the database goes away: a throwaway cluster of
// its own (fsync on), stopped, then crashed (immediate shutdown: no checkpoint, WAL recovery on
// the next start) in the middle of a burst. While it is down every stateful grant answers a fast
// 500 server_error (JSON, no stack, no tokens) and the process survives its pool's idle-client
// errors; when it returns the same pool recovers; and every 200 answered before a crash is durable.
import type { Pool } from 'pg';
import { hashOpaqueToken } from '../../lib';
import { createPostgresStorage, migratePostgresStorage, type PostgresStorage } from '../../lib/postgres';
import { expectServerError as expectFailure, redeemBurstAndCrash, startFaultApp, type FaultApp, type FaultReply } from '../helpers/fault-app';
import { createPool, describeWithPostgres, startPostgresServer, type PostgresServer } from '../helpers/postgres';

const INTERNALS = /postgres|\bpg\b|ECONNREFUSED|terminating connection|Connection terminated|SQL|relation/i;
const SCHEMA = 'ete_fault';

describeWithPostgres('PostgreSQL adapter: database stopped and crashed mid-run', () => {
  let server: PostgresServer;
  let pool: Pool;
  let app: FaultApp;
  let storage: PostgresStorage;
  let warn: jest.SpiedFunction<typeof process.emitWarning>;

  beforeAll(async () => {
    server = await startPostgresServer();
    // No 'error' listener of ours: the adapter must add one, or an idle client's error would crash jest.
    pool = createPool(server.url, { connectionTimeoutMillis: 1000, idleTimeoutMillis: 60_000 });
    await migratePostgresStorage(pool, { schema: SCHEMA });
    app = await startFaultApp((clock) => {
      storage = createPostgresStorage({ pool, schema: SCHEMA, clock, purgeIntervalMs: 0 });
      return storage;
    });
    warn = jest.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
  }, 90_000);

  afterAll(async () => {
    warn?.mockRestore();
    await app?.close();
    await pool?.end();
    await server?.dispose();
  });

  const expectServerError = (reply: FaultReply) => expectFailure(reply, INTERNALS);

  /** Waits until a query through the adapter's pool succeeds again. */
  async function untilBack(): Promise<void> {
    const deadline = Date.now() + 20_000;
    for (;;) {
      try {
        await pool.query('SELECT 1');
        return;
      } catch (error) {
        if (Date.now() > deadline) throw error;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  }

  it('answers fast 500 server_error while PostgreSQL is down, survives the pool\'s idle-client errors, issues nothing, then recovers with nothing half-written', async () => {
    const pending = await app.mint();
    const first = await app.redeem((await app.mint()).code);
    expect(first.status).toBe(200);
    const rt = first.body.refresh_token as string;
    const deviceCodeValue = await app.approvedDevice();
    // Several idle connections in the pool when the server goes: each one emits 'error' on the pool.
    await Promise.all(Array.from({ length: 4 }, () => pool.query('SELECT pg_sleep(0.05)')));
    expect(pool.idleCount).toBeGreaterThan(1);
    expect(pool.listenerCount('error')).toBe(1);
    const loggedBefore = app.harness.logged.length;

    await server.stop();

    const started = Date.now();
    expectServerError(await app.redeem(pending.code));
    expectServerError(await app.refresh(rt));
    expectServerError(await app.poll(deviceCodeValue));
    expect(Date.now() - started).toBeLessThan(3_000); // connection refused fails at once; no retry loop
    await expect(app.mint()).rejects.toThrow();
    // Grants without storage keep working.
    expect((await app.clientCredentials()).status).toBe(200);
    // The cause reaches the logger, not the client; the lost idle connections became warnings, not a crash.
    expect(app.harness.logged.slice(loggedBefore).filter((entry) => entry.level === 'error').length).toBeGreaterThanOrEqual(3);
    expect(warn.mock.calls.some(([message]) => /PostgreSQL pool error/.test(String(message)))).toBe(true);

    await server.start();
    await untilBack();

    // Nothing was written by the failed requests: each works now, exactly once.
    expect((await storage.findAuthorizationCode(hashOpaqueToken(pending.code)))?.consumedAt).toBeUndefined();
    expect((await storage.findRefreshToken(hashOpaqueToken(rt)))?.consumedAt).toBeUndefined();
    expect((await app.redeem(pending.code)).status).toBe(200);
    expect((await app.refresh(rt)).status).toBe(200);
    const polled = await app.poll(deviceCodeValue);
    expect(polled.status).toBe(200);
    expect(typeof polled.body.refresh_token).toBe('string');
  }, 90_000);

  it('a database crash in the middle of a burst: every token answered 200 is stored after recovery, every failure is a 500 with no tokens', async () => {
    const codes = await Promise.all(Array.from({ length: 80 }, () => app.mint()));
    const settled = await redeemBurstAndCrash(app, codes, () => server.crash());
    await server.start();
    await untilBack();

    let consumedWithoutAnswer = 0;
    for (const [i, reply] of settled.entries()) {
      const stored = await storage.findAuthorizationCode(hashOpaqueToken(codes[i].code));
      if (reply.status === 200) {
        // Answered ⇒ committed ⇒ recovered from the WAL: the code is consumed and the refresh token stored.
        expect(stored?.consumedAt).toEqual(expect.any(Number));
        expect((await storage.findRefreshToken(hashOpaqueToken(reply.body.refresh_token as string)))?.grantId).toBe(codes[i].grantId);
        expect((await app.refresh(reply.body.refresh_token as string)).status).toBe(200);
      } else {
        expectServerError(reply);
        // Committed but the answer was lost (or the issuing failed after the consume): the family
        // was stored before the code was consumed, so it exists.
        if (stored?.consumedAt !== undefined) {
          consumedWithoutAnswer += 1;
          expect((await pool.query(`SELECT 1 FROM "${SCHEMA}".refresh_tokens WHERE grant_id = $1`, [codes[i].grantId])).rowCount).toBeGreaterThan(0);
        }
      }
    }
    expect(settled.some((reply) => reply.status === 200)).toBe(true);
    expect(settled.some((reply) => reply.status === 500)).toBe(true);
    if (consumedWithoutAnswer > 0) console.warn(`postgres-fault: ${consumedWithoutAnswer} consumed code(s) answered 500 (commit raced the crash); each has its family`);
  }, 90_000);
}, { ownServer: true });
