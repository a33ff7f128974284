// spec/grants/device-code-race.spec.ts
// Parallel device polls against one listening server (security model rules P120, H70): after approval
// exactly one poll gets tokens; while pending at most one poll is not slow_down and the stored
// interval stays capped; parallel device authorizations get distinct user codes. Every case runs
// with the memory storage and with the memory storage answering with 1–5 ms latency (project
// rule: a synchronous map hides races a networked store exposes).
import type { Server } from 'node:http';
import { createMemoryStorage, type MemoryStorage, type StorageAdapter } from '../../lib';
import { type CodeTestApp } from '../helpers/create-app';
import { approval, createDeviceTestApp, deviceRecord, pollDevice, SECOND, startApproved, startDevice } from '../helpers/device-flow';
import { withLatency } from '../helpers/latency-storage';

const PARALLEL = 50;

interface Variant {
  readonly name: string;
  readonly wrap: (memory: MemoryStorage) => StorageAdapter;
}

const variants: readonly Variant[] = [
  { name: 'memory storage', wrap: (memory) => memory },
  { name: 'memory storage answering with 1–5 ms latency', wrap: (memory) => withLatency<StorageAdapter>(memory, () => 1 + Math.random() * 4) },
];

describe.each(variants)('$name', ({ wrap }) => {
  let memory: MemoryStorage;
  let harness: CodeTestApp;
  let server: Server;

  beforeAll(async () => {
    harness = createDeviceTestApp({}, (clock) => {
      memory = createMemoryStorage({ clock });
      return { storage: wrap(memory) };
    });
    server = harness.app.listen(0, '127.0.0.1');
    await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
    memory.close();
  });

  const poll = (deviceCodeValue: string) => Promise.all(Array.from({ length: PARALLEL }, () => pollDevice(server, deviceCodeValue)));

  it.each([1, 2, 3])(`${PARALLEL} parallel polls after approval → exactly one 200; the rest 400 slow_down or invalid_grant (run %i)`, async () => {
    const started = await startApproved(harness, { scope: 'openid offline_access api:read' });
    harness.events.length = 0;
    const responses = await poll(started.device_code);
    const ok = responses.filter((res) => res.status === 200);
    expect(ok).toHaveLength(1);
    expect(ok[0].body.refresh_token).toEqual(expect.any(String));
    const losers = responses.filter((res) => res.status !== 200);
    expect(losers.every((res) => res.status === 400 && (res.body.error === 'slow_down' || res.body.error === 'invalid_grant'))).toBe(true);
    expect(harness.events.filter((e) => e.type === 'token.issued')).toHaveLength(1);
    expect((await deviceRecord(harness, started.device_code)).consumedAt).toBeDefined();
    // A loser that saw the code already redeemed is a replay and revokes the grant (H70); one
    // that came before the redemption is only slow_down. Either way the two stay consistent.
    const replayed = losers.some((res) => res.body.error === 'invalid_grant');
    expect(await harness.storage.isGrantRevoked(started.grantId)).toBe(replayed);
    expect(harness.events.some((e) => e.type === 'grant.revoked' && e.grantId === started.grantId)).toBe(replayed);
    // Whatever happened in the burst, the next poll is a replay.
    harness.clock.advance(61 * SECOND);
    expect((await pollDevice(server, started.device_code)).body.error).toBe('invalid_grant');
    expect(await harness.storage.isGrantRevoked(started.grantId)).toBe(true);
  });

  it.each([1, 2, 3])(`${PARALLEL} parallel polls while pending → at most one is not slow_down (run %i)`, async () => {
    const started = await startDevice(server);
    const responses = await poll(started.device_code);
    expect(responses.every((res) => res.status === 400)).toBe(true);
    const notSlowDown = responses.filter((res) => res.body.error !== 'slow_down');
    expect(notSlowDown.length).toBeLessThanOrEqual(1);
    expect(notSlowDown.every((res) => res.body.error === 'authorization_pending')).toBe(true);
    expect((await deviceRecord(harness, started.device_code)).lastPolledAt).toBe(harness.clock());
  });

  it('a burst after the last proper poll → all slow_down', async () => {
    const started = await startDevice(server);
    await pollDevice(server, started.device_code);
    harness.clock.advance(2 * SECOND);
    const responses = await poll(started.device_code);
    expect(responses.map((res) => res.body.error)).toEqual(Array.from({ length: PARALLEL }, () => 'slow_down'));
  });

  // The cap is applied inside the store's atomic poll step, so a burst cannot push past it.
  it('the 60 s cap holds under a burst of parallel too-early polls', async () => {
    const started = await startDevice(server);
    const interval = async () => (await deviceRecord(harness, started.device_code)).interval;
    await pollDevice(server, started.device_code);
    // Ten sequential slow_downs: 5 → 55.
    for (let i = 0; i < 10; i += 1) {
      harness.clock.advance(1 * SECOND);
      await pollDevice(server, started.device_code);
    }
    expect(await interval()).toBe(55);
    harness.clock.advance(1 * SECOND);
    const responses = await poll(started.device_code);
    expect(responses.every((res) => res.body.error === 'slow_down')).toBe(true);
    expect(await interval()).toBe(60);
  });

  it('the right decision reaches the device even while it bursts: approve during a burst, then one proper poll gets tokens', async () => {
    const started = await startDevice(server);
    const burst = poll(started.device_code);
    const decided = harness.tokenRouter.deviceVerification.approve(started.user_code, approval(), { key: 'race' });
    const [responses, decision] = await Promise.all([burst, decided]);
    expect(decision).toEqual({ status: 'approved' });
    expect(responses.filter((res) => res.status === 200).length).toBeLessThanOrEqual(1);
    if (responses.some((res) => res.status === 200)) return;
    harness.clock.advance(10 * 60 * SECOND);
    expect((await pollDevice(server, started.device_code)).status).toBe(200);
  });

  it(`${PARALLEL} parallel device authorizations → ${PARALLEL} distinct device and user codes, all stored`, async () => {
    const started = await Promise.all(Array.from({ length: PARALLEL }, () => startDevice(server, { scope: 'api:read' })));
    expect(new Set(started.map((s) => s.device_code)).size).toBe(PARALLEL);
    expect(new Set(started.map((s) => s.user_code)).size).toBe(PARALLEL);
    // One key per lookup: the limiter counts every attempt up front (right ones are given back after).
    const found = await Promise.all(started.map((s, i) => harness.tokenRouter.deviceVerification.lookup(s.user_code, { key: `race-lookup-${i}` })));
    expect(found.every((f) => f.status === 'pending')).toBe(true);
  });
});
