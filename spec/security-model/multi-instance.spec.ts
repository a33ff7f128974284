// spec/security-model/multi-instance.spec.ts
// The multi-instance test rig (rule P130 of docs/security-model.md): two Express apps with their
// own routers, one shared store adapter answering with 1-5 ms latency, one injectable clock, and a
// start barrier (every request is built first, then all are released in the same tick). On it:
// parallel code redemption (P118), parallel refresh in strict mode (P119), parallel device polls
// after approval (P120), and revocation seen by the other instance at once (P123, P129). The
// Redis variant of the same cases is spec/storage/redis-multi-instance.spec.ts.
import type { Server } from 'node:http';
import request from 'supertest';
import { authorizationCode, createMemoryStorage, deviceCode, refreshToken, type MemoryStorage, type StorageAdapter } from '../../lib';
import { createClock, SERVICE_SECRET, type CodeTestApp, WEB_REDIRECT } from '../helpers/create-app';
import { codeInput, redeem } from '../helpers/code-flow';
import { approval, createDeviceTestApp, pollDevice, startApproved, VERIFICATION_URI } from '../helpers/device-flow';
import { refresh } from '../helpers/refresh-flow';
import { withLatency } from '../helpers/latency-storage';

const PARALLEL = 20;
const WEB = { id: 'web', secret: SERVICE_SECRET } as const;

describe('P130 two instances on one shared store, one clock, requests released together', () => {
  const clock = createClock();
  let memory: MemoryStorage;
  let a: CodeTestApp;
  let b: CodeTestApp;
  let servers: [Server, Server];

  /** Instance `i % 2`: requests alternate between A and B. */
  const instance = (i: number): Server => servers[i % 2];

  /** The start barrier: build every request first, then release them all in one tick. */
  function released(build: (target: Server, i: number) => request.Test): Promise<request.Response[]> {
    const tests = Array.from({ length: PARALLEL }, (_, i) => build(instance(i), i));
    return Promise.all(tests);
  }

  beforeAll(async () => {
    memory = createMemoryStorage({ clock });
    const storage = withLatency<StorageAdapter>(memory, () => 1 + Math.random() * 4);
    const make = () => createDeviceTestApp({}, {
      storage,
      clock,
      grants: [deviceCode({ verificationUri: VERIFICATION_URI }), authorizationCode(), refreshToken({ retryWindowSeconds: 0 })],
    });
    a = make();
    b = make();
    servers = [a.app.listen(0, '127.0.0.1'), b.app.listen(0, '127.0.0.1')];
    await Promise.all(servers.map((server) => new Promise<void>((resolve) => server.once('listening', () => resolve()))));
  });

  afterAll(async () => {
    for (const server of servers) server.closeAllConnections();
    await Promise.all(servers.map((server) => new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())))));
    memory.close();
  });

  it('P130 P118 one code redeemed in parallel across both instances: exactly one 200, the rest invalid_grant, the grant revoked', async () => {
    const { code, grantId } = await a.tokenRouter.issueAuthorizationCode(codeInput({ scope: 'openid offline_access api:read' }));
    const responses = await released((target) => redeem(target, { code, redirect_uri: WEB_REDIRECT }, WEB));
    expect(responses.filter((res) => res.status === 200)).toHaveLength(1);
    expect(responses.filter((res) => res.status === 400 && res.body.error === 'invalid_grant')).toHaveLength(PARALLEL - 1);
    expect(await memory.isGrantRevoked(grantId)).toBe(true);
    const winner = responses.find((res) => res.status === 200);
    expect((await refresh(servers[1], winner?.body.refresh_token, WEB)).body.error).toBe('invalid_grant');
  });

  it('P130 P119 one refresh token refreshed in parallel across both instances, strict mode: one 200, never two live children, the family revoked', async () => {
    const { code } = await b.tokenRouter.issueAuthorizationCode(codeInput({ scope: 'openid offline_access api:read' }));
    const first = await redeem(servers[0], { code, redirect_uri: WEB_REDIRECT }, WEB);
    const rt = first.body.refresh_token as string;
    const before = memory.size().refreshTokens;
    const responses = await released((target) => refresh(target, rt, WEB));
    const ok = responses.filter((res) => res.status === 200);
    expect(ok).toHaveLength(1);
    expect(responses.filter((res) => res.status === 400 && res.body.error === 'invalid_grant')).toHaveLength(PARALLEL - 1);
    expect(memory.size().refreshTokens).toBe(before + 1);
    for (const server of servers) expect((await refresh(server, ok[0].body.refresh_token, WEB)).body.error).toBe('invalid_grant');
  });

  it('P130 P120 an approved device code polled in parallel across both instances: exactly one 200', async () => {
    const started = await startApproved(a, { scope: 'openid offline_access api:read' }, approval());
    const issuedBefore = [...a.events, ...b.events].filter((e) => e.type === 'token.issued').length;
    const responses = await released((target) => pollDevice(target, started.device_code));
    expect(responses.filter((res) => res.status === 200)).toHaveLength(1);
    expect(responses.every((res) => res.status === 200 || (res.status === 400 && ['slow_down', 'invalid_grant'].includes(res.body.error)))).toBe(true);
    expect([...a.events, ...b.events].filter((e) => e.type === 'token.issued').length).toBe(issuedBefore + 1);
  });

  it('P130 P123 P129 a replay answered by one instance has revoked the grant for the other at once', async () => {
    const { code, grantId } = await a.tokenRouter.issueAuthorizationCode(codeInput({ scope: 'openid offline_access api:read' }));
    const first = await redeem(servers[0], { code, redirect_uri: WEB_REDIRECT }, WEB);
    expect(first.status).toBe(200);
    const replay = await redeem(servers[1], { code, redirect_uri: WEB_REDIRECT }, WEB);
    expect(replay.body.error).toBe('invalid_grant');
    const next = await refresh(servers[0], first.body.refresh_token, WEB);
    expect(next.status).toBe(400);
    expect(next.body.error).toBe('invalid_grant');
    expect(await a.storage.isGrantRevoked(grantId)).toBe(true);
    expect(await b.storage.isGrantRevoked(grantId)).toBe(true);
  });
});
