// spec/grants/refresh-token-race.spec.ts
// Atomic rotation of refresh tokens: 50 concurrent refreshes with one token, against the plain
// memory storage and one answering with 1–5 ms latency (a synchronous map hides races a
// networked store exposes), three runs each. With the retry window on, every request gets the
// one sealed successor pair; with it off, one wins and the family is revoked.
import type { Server } from 'node:http';
import { authorizationCode, createMemoryStorage, hashOpaqueToken, refreshToken, type MemoryStorage, type RefreshTokenGrantOptions, type StorageAdapter, type TokenEndpointEvent } from '../../lib';
import type { CodeTestApp } from '../helpers/create-app';
import { withLatency } from '../helpers/latency-storage';
import { createRefreshTestApp, refresh, REFRESH_TOKEN_PATTERN, RT_MOBILE, RT_REUSE, RT_WEB, startGrant, storedToken } from '../helpers/refresh-flow';

const PARALLEL = 50;

const storages: ReadonlyArray<readonly [string, (memory: MemoryStorage) => StorageAdapter]> = [
  ['memory storage', (memory) => memory],
  ['memory storage answering with 1–5 ms latency', (memory) => withLatency<StorageAdapter>(memory, () => 1 + Math.random() * 4)],
];

function count(events: readonly TokenEndpointEvent[], predicate: (event: TokenEndpointEvent) => boolean): number {
  return events.filter(predicate).length;
}

/** An app listening on a real port (so 50 requests really run concurrently), with its raw memory storage. */
function useServer(options: RefreshTokenGrantOptions, wrap: (memory: MemoryStorage) => StorageAdapter): () => { harness: CodeTestApp; server: Server; memory: MemoryStorage } {
  let memory: MemoryStorage;
  let harness: CodeTestApp;
  let server: Server;
  beforeAll(async () => {
    harness = createRefreshTestApp((clock) => {
      memory = createMemoryStorage({ clock });
      return { storage: wrap(memory), grants: [authorizationCode(), refreshToken(options)] };
    });
    server = harness.app.listen(0, '127.0.0.1');
    await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
    memory.close();
  });
  return () => ({ harness, server, memory });
}

describe.each(storages)('%s', (_name, wrap) => {
  describe('retry window on (default 5 s)', () => {
    const get = useServer({}, wrap);

    it.each([1, 2, 3])(`${PARALLEL} concurrent refreshes → all 200 with the same successor pair; exactly one child stored (run %i)`, async () => {
      const { harness, server, memory } = get();
      const { refreshToken: rt, grantId } = await startGrant({ app: server, tokenRouter: harness.tokenRouter }, RT_WEB);
      const before = memory.size().refreshTokens;
      harness.events.length = 0;
      const responses = await Promise.all(Array.from({ length: PARALLEL }, () => refresh(server, rt)));

      expect(responses.map((res) => res.status)).toEqual(Array(PARALLEL).fill(200));
      const successors = new Set(responses.map((res) => res.body.refresh_token as string));
      expect(successors.size).toBe(1);
      const [successor] = [...successors];
      expect(successor).toMatch(REFRESH_TOKEN_PATTERN);
      expect(new Set(responses.map((res) => res.body.access_token as string)).size).toBe(1);
      expect(new Set(responses.map((res) => res.body.id_token as string)).size).toBe(1);
      for (const res of responses) expect(res.body.expires_in).toBe(3600);

      expect(memory.size().refreshTokens).toBe(before + 1);
      expect(await storedToken(harness.storage, successor)).toMatchObject({ grantId, parentHash: hashOpaqueToken(rt) });
      expect((await storedToken(harness.storage, rt))?.consumedAt).toBe(harness.clock());
      expect(count(harness.events, (e) => e.type === 'token.issued')).toBe(1);
      expect(count(harness.events, (e) => e.type === 'refresh_token.retry_served')).toBe(PARALLEL - 1);
      expect(count(harness.events, (e) => e.type === 'grant.revoked' || e.type === 'refresh_token.reused')).toBe(0);
      expect(await harness.storage.isGrantRevoked(grantId)).toBe(false);
      // The one successor is live and rotates normally.
      const next = await refresh(server, successor);
      expect(next.status).toBe(200);
      expect(next.body.refresh_token).not.toBe(successor);
    });

    it.each([1, 2, 3])(`a public (sliding) client: ${PARALLEL} concurrent refreshes → one successor (run %i)`, async () => {
      const { harness, server, memory } = get();
      const { refreshToken: rt } = await startGrant({ app: server, tokenRouter: harness.tokenRouter }, RT_MOBILE);
      const before = memory.size().refreshTokens;
      const responses = await Promise.all(Array.from({ length: PARALLEL }, () => refresh(server, rt, RT_MOBILE)));
      expect(responses.every((res) => res.status === 200)).toBe(true);
      expect(new Set(responses.map((res) => res.body.refresh_token as string)).size).toBe(1);
      expect(memory.size().refreshTokens).toBe(before + 1);
    });

    it(`reuse policy: ${PARALLEL} concurrent refreshes → all 200, no refresh_token, nothing stored, the token still works`, async () => {
      const { harness, server, memory } = get();
      const { refreshToken: rt } = await startGrant({ app: server, tokenRouter: harness.tokenRouter }, RT_REUSE);
      const before = memory.size().refreshTokens;
      const responses = await Promise.all(Array.from({ length: PARALLEL }, () => refresh(server, rt, RT_REUSE)));
      expect(responses.every((res) => res.status === 200 && !('refresh_token' in res.body))).toBe(true);
      expect(new Set(responses.map((res) => res.body.access_token as string)).size).toBe(PARALLEL);
      expect(memory.size().refreshTokens).toBe(before);
      expect((await refresh(server, rt, RT_REUSE)).status).toBe(200);
    });
  });

  describe('retry window off (retryWindowSeconds: 0)', () => {
    const get = useServer({ retryWindowSeconds: 0 }, wrap);

    it.each([1, 2, 3])(`${PARALLEL} concurrent refreshes → exactly one 200, ${PARALLEL - 1} invalid_grant, and the family revoked (run %i)`, async () => {
      const { harness, server, memory } = get();
      const { refreshToken: rt, grantId } = await startGrant({ app: server, tokenRouter: harness.tokenRouter }, RT_WEB);
      const before = memory.size().refreshTokens;
      harness.events.length = 0;
      const responses = await Promise.all(Array.from({ length: PARALLEL }, () => refresh(server, rt)));

      const ok = responses.filter((res) => res.status === 200);
      const refused = responses.filter((res) => res.status === 400 && res.body.error === 'invalid_grant');
      expect(ok).toHaveLength(1);
      expect(refused).toHaveLength(PARALLEL - 1);
      expect(memory.size().refreshTokens).toBe(before + 1);
      expect(count(harness.events, (e) => e.type === 'token.issued')).toBe(1);
      expect(count(harness.events, (e) => e.type === 'refresh_token.retry_served')).toBe(0);
      expect(count(harness.events, (e) => e.type === 'grant.revoked' && e.grantId === grantId && e.reason === 'refresh_token_reuse')).toBeGreaterThanOrEqual(1);
      expect(await harness.storage.isGrantRevoked(grantId)).toBe(true);
      // Even the winner's new token is dead: the family is revoked.
      const winner = ok[0].body.refresh_token as string;
      expect(await storedToken(harness.storage, winner)).toMatchObject({ parentHash: hashOpaqueToken(rt), revokedAt: expect.any(Number) });
      const late = await refresh(server, winner);
      expect(late.status).toBe(400);
      expect(late.body.error).toBe('invalid_grant');
    });
  });
});
